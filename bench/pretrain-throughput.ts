// Autoencoder pretraining throughput and memory: deepclust vs the PyTorch reference
// (bench/reference/pretrain_torch.py, Debian python3-torch) in one invocation, same data,
// same architecture, batch 256, masking noise 0.3, Adam 1e-3. PyTorch's knobs are swept (torch
// intra-op threads 1/2 × OpenBLAS threads 1/2 × OMP_WAIT_POLICY unset/PASSIVE × the OpenBLAS
// kernel auto-detected or the CPU's own) and its best configuration (highest median) is the peer;
// its out-of-the-box run (no variables set, no thread calls) is reported beside it. deepclust runs
// at 1 and 2 threads and its best is compared. Rounds alternate which engine goes first; every
// figure is the median of the rounds.
//
//   npm run bench:pretrain                              (3 rounds, both architectures: ~20 minutes)
//   npm run bench:pretrain -- --quick                   (one round, smaller data, a smoke test)
//   npm run bench:pretrain -- --archs reference --rounds 5

import { execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync, mkdirSync, openSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Rng, npyHeader, writeNpy } from "../src/index.js";
import { BASE_ENV, compareBest, machine, median, sweepConfigs, type PeerConfig } from "./torch-sweep.js";
import { cpuName } from "./cpu.js";
import { mnistTrainImages } from "./mnist.js";

const { values: opts } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    rounds: { type: "string" },
    archs: { type: "string", default: "reference,paper" },
    memory: { type: "boolean", default: true },
    results: { type: "string", default: "bench/results/pretrain-throughput.jsonl" },
  },
  allowNegative: true,
});
const quick = opts.quick!;
const rounds = Number(opts.rounds ?? (quick ? 1 : 3));
const tmp = mkdtempSync(join(tmpdir(), "deepclust-bench-"));
const cpu = cpuName();

interface Result {
  engine: string;
  threads: number;
  samples_per_s: number;
  peak_rss_mb: number;
  final_loss: number;
}

/** N×768 float32 Gaussian-mixture "embeddings", streamed to a .npy without holding them twice. */
function syntheticNpy(file: string, rows: number, cols: number, seed: number): void {
  const rng = new Rng(seed);
  const k = 100;
  const centres = Float32Array.from({ length: k * cols }, () => rng.normal());
  const fd = openSync(file, "w");
  writeSync(fd, npyHeader([rows, cols]));
  const chunk = new Float32Array(4096 * cols);
  for (let r = 0; r < rows; r += 4096) {
    const n = Math.min(4096, rows - r);
    for (let i = 0; i < n; i++) {
      const c = rng.int(k);
      for (let j = 0; j < cols; j++) chunk[i * cols + j] = 0.5 * centres[c * cols + j]! + 0.3 * rng.normal();
    }
    writeSync(fd, new Uint8Array(chunk.buffer, 0, n * cols * 4));
  }
  closeSync(fd);
}

function run(c: PeerConfig, data: string, dims: string, epochs: number): Result {
  const args =
    c.engine === "pytorch"
      ? [
          "bench/reference/pretrain_torch.py",
          "--data",
          data,
          "--dims",
          dims,
          "--threads",
          String(c.threads),
          "--blas-threads",
          String(c.blasThreads),
          "--epochs",
          String(epochs),
        ]
      : [
          "--import",
          "tsx",
          "bench/pretrain-worker.ts",
          "--data",
          data,
          "--dims",
          dims,
          "--threads",
          String(c.threads),
          "--epochs",
          String(epochs + 1),
        ];
  const out = execFileSync(c.engine === "pytorch" ? "/usr/bin/python3" : process.execPath, args, {
    env: { ...BASE_ENV, ...c.env },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return JSON.parse(out.trim().split("\n").at(-1)!) as Result;
}

const synthRows = quick ? 20_000 : 60_000;
const mnistRows = quick ? 5_000 : 15_000;
const ARCHS = {
  reference: {
    name: "reference 768→256→32",
    rows: synthRows,
    dims: "256,32",
    epochs: quick ? 1 : 2,
    data: () => {
      const f = join(tmp, "synthetic-768.npy");
      syntheticNpy(f, synthRows, 768, 1);
      return f;
    },
  },
  paper: {
    name: "paper 784→500→500→2000→10 (MNIST)",
    rows: mnistRows,
    dims: "500,500,2000,10",
    epochs: 1,
    data: () => {
      const f = join(tmp, "mnist-784.npy");
      writeNpy(f, mnistTrainImages(mnistRows));
      return f;
    },
  },
} as const;

mkdirSync("bench/results", { recursive: true });
const lines: string[] = [];
try {
  for (const key of opts.archs!.split(",") as (keyof typeof ARCHS)[]) {
    const arch = ARCHS[key];
    if (!arch) throw new Error(`--archs: unknown '${key}' (reference, paper)`);
    const data = arch.data();
    const all = sweepConfigs();
    const runs = new Map<string, Result[]>(all.map((c) => [c.label, []]));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? all : [...all].reverse(); // alternate which engine goes first
      for (const c of order) {
        const r = run(c, data, arch.dims, arch.epochs);
        runs.get(c.label)!.push(r);
        process.stderr.write(`${arch.name} round ${round + 1}: ${c.label}: ${r.samples_per_s.toFixed(0)} samples/s\n`);
      }
    }
    const medians = all.map((c) => ({
      engine: c.engine,
      label: c.label,
      samples_per_s: median(runs.get(c.label)!.map((r) => r.samples_per_s)),
      peak_rss_mb: median(runs.get(c.label)!.map((r) => r.peak_rss_mb)),
    }));
    const comparison = compareBest(medians, (m) => m.samples_per_s);
    const { deepclustBest: ours, pytorchBest: torch, pytorchOutOfTheBox: ootb, ratio } = comparison;
    appendFileSync(
      opts.results!,
      JSON.stringify({
        arch: arch.name,
        rows: arch.rows,
        batch: 256,
        noise: "mask 0.3",
        rounds,
        ...machine(),
        ...comparison,
        medians,
        raw: Object.fromEntries(runs),
      }) + "\n",
    );
    lines.push(
      `${arch.name}, N=${arch.rows}, batch 256, mask noise 0.3, Adam; medians of ${rounds} alternating round(s); ${cpu}`,
      `  deepclust best: ${ours.samples_per_s.toFixed(0)} samples/s (${ours.label})`,
      `  pytorch   best: ${torch.samples_per_s.toFixed(0)} samples/s (${torch.label}); out of the box ${ootb.samples_per_s.toFixed(0)} samples/s`,
      `  ratio deepclust/pytorch at its best: ${ratio.toFixed(2)}×`,
    );
  }

  if (opts.memory) {
    // Memory: one epoch on a larger N×768 set, against the target 1.5 × data + 200 MB.
    const memRows = quick ? 100_000 : 300_000;
    const big = join(tmp, "synthetic-big.npy");
    syntheticNpy(big, memRows, 768, 2);
    const dataMb = (memRows * 768 * 4) / 2 ** 20;
    const mem = run({ engine: "deepclust", label: "", threads: 2, env: {} }, big, "256,32", 0);
    const memTorch = run({ engine: "pytorch", label: "", threads: 1, blasThreads: 2, env: {} }, big, "256,32", 1);
    const bound = 1.5 * dataMb + 200;
    appendFileSync(
      opts.results!,
      JSON.stringify({
        memory: {
          rows: memRows,
          data_mb: dataMb,
          deepclust_peak_rss_mb: mem.peak_rss_mb,
          pytorch_peak_rss_mb: memTorch.peak_rss_mb,
          bound_mb: bound,
        },
        cpu,
        date: new Date().toISOString(),
      }) + "\n",
    );
    lines.push(
      `memory: pretraining on ${memRows}×768 float32 (${dataMb.toFixed(0)} MB of data)`,
      `  deepclust peak RSS ${mem.peak_rss_mb.toFixed(0)} MB (target ≤ 1.5×data + 200 MB = ${bound.toFixed(0)} MB: ${mem.peak_rss_mb <= bound ? "met" : "NOT met"}); pytorch peak RSS ${memTorch.peak_rss_mb.toFixed(0)} MB`,
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(lines.join("\n"));
console.log(`(details: ${opts.results})`);
