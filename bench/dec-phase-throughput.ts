// The DEC / IDEC clustering phase: deepclust vs PyTorch (bench/reference/dec_phase_torch.py,
// Debian python3-torch) in one invocation. Both run the paper's loop on the same MNIST rows with
// the paper's 784→500→500→2000→10 encoder and k = 10: SGD lr 0.01 momentum 0.9, batch 256, the
// target P over the full dataset every --update-interval iterations (and at the start and end),
// the same number of iterations, and a final pass that assigns every row. PyTorch's knobs are
// swept (bench/torch-sweep.ts) and its best median is the peer, its out-of-the-box run beside it;
// deepclust runs at 1 and 2 threads. Rounds alternate the order; every figure is a median.
//
//   node --import tsx bench/dec-phase-throughput.ts                       (DEC, 3 rounds: ~10 minutes)
//   node --import tsx bench/dec-phase-throughput.ts --methods dec,idec
//   node --import tsx bench/dec-phase-throughput.ts --quick               (one round, fewer rows)

import { execFileSync } from "node:child_process";
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeNpy } from "../src/index.js";
import { BASE_ENV, compareBest, machine, median, sweepConfigs, type PeerConfig } from "./torch-sweep.js";
import { cpuName } from "./cpu.js";
import { mnistTrainImages } from "./mnist.js";

const { values: opts } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    methods: { type: "string", default: "dec" },
    rows: { type: "string" },
    iterations: { type: "string", default: "280" },
    "update-interval": { type: "string", default: "140" },
    results: { type: "string", default: "bench/results/dec-phase-throughput.jsonl" },
  },
});
const quick = opts.quick!;
const rounds = Number(opts.rounds ?? (quick ? 1 : 3));
const rows = Number(opts.rows ?? (quick ? 3000 : 10_000));
const iterations = Number(quick ? 70 : opts.iterations);
const interval = Number(quick ? 35 : opts["update-interval"]);
const dims = "500,500,2000,10";
const cpu = cpuName();
const tmp = mkdtempSync(join(tmpdir(), "deepclust-dec-phase-"));

interface Result {
  iterations_per_s: number;
  peak_rss_mb: number;
}

function run(c: PeerConfig, data: string, method: string): Result {
  const common = [
    "--data",
    data,
    "--dims",
    dims,
    "--k",
    "10",
    "--method",
    method,
    "--iterations",
    String(iterations),
    "--update-interval",
    String(interval),
    "--threads",
    String(c.threads),
  ];
  const [cmd, args] =
    c.engine === "pytorch"
      ? ["/usr/bin/python3", ["bench/reference/dec_phase_torch.py", ...common, "--blas-threads", String(c.blasThreads)]]
      : [process.execPath, ["--import", "tsx", "bench/dec-phase-worker.ts", ...common]];
  const out = execFileSync(cmd, args, {
    env: { ...BASE_ENV, ...c.env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return JSON.parse(out.trim().split("\n").at(-1)!) as Result;
}

mkdirSync("bench/results", { recursive: true });
const lines: string[] = [];
try {
  const data = join(tmp, "mnist.npy");
  writeNpy(data, mnistTrainImages(rows));
  for (const method of opts.methods!.split(",")) {
    if (method !== "dec" && method !== "idec") throw new Error(`--methods: unknown '${method}' (dec, idec)`);
    const all = sweepConfigs();
    const runs = new Map<string, Result[]>(all.map((c) => [c.label, []]));
    for (let round = 0; round < rounds; round++)
      for (const c of round % 2 === 0 ? all : [...all].reverse()) {
        const r = run(c, data, method);
        runs.get(c.label)!.push(r);
        process.stderr.write(
          `${method} round ${round + 1}: ${c.label}: ${r.iterations_per_s.toFixed(2)} iterations/s\n`,
        );
      }
    const medians = all.map((c) => ({
      engine: c.engine,
      label: c.label,
      iterations_per_s: median(runs.get(c.label)!.map((r) => r.iterations_per_s)),
      peak_rss_mb: median(runs.get(c.label)!.map((r) => r.peak_rss_mb)),
    }));
    const comparison = compareBest(medians, (m) => m.iterations_per_s);
    const { deepclustBest: ours, pytorchBest: torch, pytorchOutOfTheBox: ootb, ratio } = comparison;
    const setting = { method, rows, dims: `784,${dims}`, k: 10, batch: 256, iterations, updateInterval: interval };
    appendFileSync(
      opts.results!,
      JSON.stringify({
        ...setting,
        rounds,
        ...machine(),
        ...comparison,
        medians,
        raw: Object.fromEntries(runs),
      }) + "\n",
    );
    lines.push(
      `${method.toUpperCase()} phase, MNIST ${rows} × 784, 784→${dims}, k = 10, batch 256, ${iterations} iterations, P every ${interval}; medians of ${rounds} alternating round(s); ${cpu}`,
      `  deepclust best: ${ours.iterations_per_s.toFixed(2)} iterations/s (${ours.label})`,
      `  pytorch   best: ${torch.iterations_per_s.toFixed(2)} iterations/s (${torch.label}); out of the box ${ootb.iterations_per_s.toFixed(2)}`,
      `  ratio deepclust/pytorch at its best: ${ratio.toFixed(2)}×`,
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(lines.join("\n"));
console.log(`(details: ${opts.results})`);
