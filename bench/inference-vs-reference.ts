// Inference against the reference (issue 5): vectors per second of cluster assignment on N × 768
// vectors through the reference architecture 768 → 256 → 32, k = 10, in one invocation —
//   (a) the deepclust library: loadModel + predictProba over the in-memory matrix in batches
//       (+ argmax), at every batch size of --batches (the fastest is reported, and 1024);
//   (a, int8) the library at precision "int8" (the encoder's GEMMs in 8-bit integers), and (b, int8)
//       the CLI with --precision int8, both also checked against float32's labels;
//   (a') the same model.onnx run by onnxruntime-node directly (what examples/onnx-inference.mjs
//       and any other ONNX Runtime do), for comparison with the library's own session;
//   (b) the deepclust CLI, file in → file out: `deepclust predict model data.npy --out preds.csv
//       --json` as a child process (its rows/s and peakRssMb);
//   (c) the reference's infer_embeddings (torch.no_grad, batches of 1024, encoder → Student-t q →
//       argmax) in PyTorch, bench/reference/infer_reference.py: only the inference loop over the
//       in-memory matrix (and, for information, PyTorch at the other batch sizes), and separately
//       file in → file out (np.load + infer + write a CSV of cluster and confidence);
//   (d) latency of one call on 1 vector and on 256 vectors (median and p99 of --latency-calls
//       calls after --warmup), through the library and through PyTorch.
// Every engine runs in its own child process, on the same .npy and the same weights. PyTorch runs at
// its best: first its knobs are swept over the inference loop (bench/torch-sweep.ts: torch threads
// 1/2 × OpenBLAS threads 1/2 × OMP_WAIT_POLICY × the OpenBLAS kernel, plus out of the box), --rounds
// alternating rounds, and the configuration with the best median at batch 1024 (the reference's
// batch) runs every PyTorch step after it; its out-of-the-box file-to-file run is reported beside
// it. Then every engine runs --rounds times with the order reversed every other round. Each figure
// is the median over the rounds (within a round, the median of --passes passes after a warm-up).
// Prints a table with the ratios deepclust / reference and writes
// bench/results/inference-vs-reference.json.
//
//   npm run build && node --import tsx bench/inference-vs-reference.ts [--rows 1000000]
//       [--threads N (default: one per CPU)] [--batches 1024,4096] [--rounds 3]
//       [--passes 2] [--latency-calls 200] [--warmup 20] [--dist dist] [--out FILE] [--keep]
//
// The weights are fixed seeded random ones (PyTorch's default Linear init from deepclust's Rng,
// seed 0; the 10 centres at the codes of 10 random vectors), written as a deepclust model
// directory with writeModelDir; the PyTorch side loads the same tensors from that directory's
// model.safetensors (the reference's state_dict names), and the script checks that both engines
// assign the same clusters. The data are a pool of 4,096 random normal rows repeated to N rows
// (the values do not change the work), written to a temporary directory that is deleted
// afterwards. PyTorch is Debian's (/usr/bin/python3); Debian's OpenBLAS 0.3.21 may misdetect an
// AVX-512 CPU, which the sweep's OPENBLAS_CORETYPE setting covers.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import ort from "onnxruntime-node";
import type { Matrix } from "../src/index.js";
import { snapshotBuild, writeRepeatedNpy } from "./generated-data.js";
import { BASE_ENV, OUT_OF_THE_BOX, median as medianOf, sweepConfigs, type PeerConfig } from "./torch-sweep.js";
import { cpuName } from "./cpu.js";

type Lib = typeof import("../src/index.js");
const lib = async (dist: string): Promise<Lib> =>
  (await import(pathToFileURL(join(resolve(dist), "index.js")).href)) as Lib;

const { values: opts } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    dims: { type: "string", default: "768" },
    hidden: { type: "string", default: "256,32" },
    k: { type: "string", default: "10" },
    threads: { type: "string" },
    batches: { type: "string", default: "1024,4096" },
    rounds: { type: "string", default: "3" },
    passes: { type: "string", default: "2" },
    "latency-calls": { type: "string", default: "200" },
    warmup: { type: "string", default: "20" },
    dist: { type: "string", default: "dist" },
    python: { type: "string", default: "/usr/bin/python3" },
    out: { type: "string", default: "bench/results/inference-vs-reference.json" },
    keep: { type: "boolean", default: false },
    // Internal: the deepclust children.
    worker: { type: "string" },
    model: { type: "string" },
    data: { type: "string" },
    "save-prefix": { type: "string" },
    precision: { type: "string", default: "fp32" },
  },
});

const threads = Number(opts.threads ?? cpus().length);
const batches = opts.batches!.split(",").map(Number);
const passes = Number(opts.passes);
const latencyCalls = Number(opts["latency-calls"]);
const warmup = Number(opts.warmup);
for (const [name, v] of Object.entries({
  threads,
  passes,
  latencyCalls,
  warmup: warmup + 1,
  ...Object.fromEntries(batches.map((b, i) => [`batches[${i}]`, b])),
}))
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`--${name} must be a positive integer, got ${v}`);

interface Throughput {
  batch: number;
  seconds: number[];
  rows_per_s_first: number;
  rows_per_s: number;
}
interface Latency {
  rows: number;
  calls: number;
  warmup: number;
  median_ms: number;
  p99_ms: number;
  min_ms: number;
  max_ms: number;
}
interface LoopResult {
  engine: string;
  rows: number;
  load_s: number;
  throughput: Throughput[];
  latency?: Latency[];
  peak_rss_mb: number;
}

const median = (sorted: number[]) =>
  sorted.length % 2
    ? sorted[(sorted.length - 1) / 2]!
    : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
/** Nearest-rank quantile of an ascending array (as infer_reference.py). */
const quantile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;

/** Times `run(batch)` over all rows at every batch size: one warm-up on the first 4 batches, then --passes passes. */
async function timeBatches(rows: number, run: (b: number, limit: number) => Promise<unknown>): Promise<Throughput[]> {
  const out: Throughput[] = [];
  for (const b of batches) {
    await run(b, Math.min(rows, 4 * b));
    const seconds: number[] = [];
    for (let p = 0; p < passes; p++) {
      const t = performance.now();
      await run(b, rows);
      seconds.push((performance.now() - t) / 1000);
    }
    out.push({ batch: b, seconds, rows_per_s_first: rows / seconds[0]!, rows_per_s: rows / Math.min(...seconds) });
    process.stderr.write(
      `  batch ${b}: best ${Math.round(rows / Math.min(...seconds)).toLocaleString("en-US")} rows/s\n`,
    );
  }
  return out;
}

/** Latency of `call(start, n)` on n rows (different rows each call): median and p99 over --latency-calls calls after --warmup. */
async function timeLatency(
  rows: number,
  n: number,
  call: (start: number, n: number) => Promise<unknown>,
): Promise<Latency> {
  const span = Math.max(1, rows - n);
  for (let c = 0; c < warmup; c++) await call((c * n) % span, n);
  const ms: number[] = [];
  for (let c = 0; c < latencyCalls; c++) {
    const start = ((warmup + c) * n) % span;
    const t = performance.now();
    await call(start, n);
    ms.push(performance.now() - t);
  }
  ms.sort((x, y) => x - y);
  return {
    rows: n,
    calls: latencyCalls,
    warmup,
    median_ms: median(ms),
    p99_ms: quantile(ms, 0.99),
    min_ms: ms[0]!,
    max_ms: ms.at(-1)!,
  };
}

const rowsOf = (X: Matrix, start: number, n: number): Matrix => ({
  data: X.data.subarray(start * X.cols, (start + n) * X.cols),
  rows: n,
  cols: X.cols,
});
const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

// ---------------------------------------------------------------------------------------------
// The deepclust children.

if (opts.worker === "lib") {
  // (a) the library: loadModel + predictProba in batches, then argmax (hardLabels), as predict does.
  const L = await lib(opts.dist!);
  const t0 = performance.now();
  const X = L.readNpy(opts.data!);
  const load_s = (performance.now() - t0) / 1000;
  const precision = opts.precision as "fp32" | "int8";
  const model = L.loadModel(opts.model!, { threads, precision });
  const throughput = await timeBatches(X.rows, async (b, limit) =>
    L.hardLabels(await model.predictProba(limit === X.rows ? X : rowsOf(X, 0, limit), b)),
  );
  if (opts["save-prefix"]) {
    const q = await model.predictProba(X, 1024);
    writeFileSync(opts["save-prefix"] + ".labels.i32", L.hardLabels(q));
    writeFileSync(opts["save-prefix"] + ".q.f32", q.data);
  }
  // One call of the public API on n vectors: predict = predictProba (batch 1024) + argmax.
  const latency = [
    await timeLatency(X.rows, 1, (s, n) => model.predict(rowsOf(X, s, n))),
    await timeLatency(X.rows, 256, (s, n) => model.predict(rowsOf(X, s, n))),
  ];
  await model.release();
  console.log(
    JSON.stringify({
      engine: `deepclust-library-${precision}`,
      rows: X.rows,
      load_s,
      throughput,
      latency,
      peak_rss_mb: peakRssMb(),
    } satisfies LoopResult),
  );
  process.exit(0);
}

if (opts.worker === "ort") {
  // (a') model.onnx run by onnxruntime-node directly (weights baked in as initializers).
  const L = await lib(opts.dist!);
  const t0 = performance.now();
  const X = L.readNpy(opts.data!);
  const load_s = (performance.now() - t0) / 1000;
  const session = await ort.InferenceSession.create(join(opts.model!, "model.onnx"), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    executionMode: "sequential",
  });
  const labels = new Int32Array(X.rows);
  const runRows = async (start: number, n: number, into: Int32Array) => {
    const out = await session.run({
      embeddings: new ort.Tensor("float32", X.data.subarray(start * X.cols, (start + n) * X.cols), [n, X.cols]),
    });
    const l = out.labels!.data as BigInt64Array;
    for (let i = 0; i < n; i++) into[start + i] = Number(l[i]);
  };
  const throughput = await timeBatches(X.rows, async (b, limit) => {
    for (let s = 0; s < limit; s += b) await runRows(s, Math.min(b, limit - s), labels);
  });
  const latency = [
    await timeLatency(X.rows, 1, (s, n) => runRows(s, n, labels)),
    await timeLatency(X.rows, 256, (s, n) => runRows(s, n, labels)),
  ];
  await session.release();
  console.log(
    JSON.stringify({
      engine: "onnxruntime-node-model.onnx",
      rows: X.rows,
      load_s,
      throughput,
      latency,
      peak_rss_mb: peakRssMb(),
    } satisfies LoopResult),
  );
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// The parent.

const N = Number(opts.rows);
const d = Number(opts.dims);
const hidden = opts.hidden!.split(",").map(Number);
const k = Number(opts.k);
const rounds = Number(opts.rounds);
if (!(
  Number.isInteger(N) &&
  N >= 1024 &&
  Number.isInteger(d) &&
  d > 0 &&
  Number.isInteger(k) &&
  k > 1 &&
  Number.isInteger(rounds) &&
  rounds > 0 &&
  hidden.every((h) => Number.isInteger(h) && h > 0)
))
  throw new Error("--rows (≥ 1024), --dims, --hidden, --k and --rounds must be positive integers");

const py = spawnSync(opts.python!, ["-c", "import torch, numpy; print(torch.__version__)"], { encoding: "utf8" });
if (py.status !== 0)
  throw new Error(`${opts.python} cannot import torch and numpy (apt-get install python3-torch): ${py.stderr}`);

const tmp = mkdtempSync(join(tmpdir(), "deepclust-infer-vs-ref-"));
const cleanup = () =>
  opts.keep ? process.stderr.write(`kept ${tmp}\n`) : rmSync(tmp, { recursive: true, force: true });
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

const { dist, cli, build } = snapshotBuild(opts.dist!, tmp);

const cpuModel = cpuName();

const log = (s: string) => process.stderr.write(s + "\n");
const loadBefore = loadavg();
log(
  `inference vs the reference: ${N.toLocaleString("en-US")} × ${d}, ${[d, ...hidden].join("→")}, k = ${k}, ${threads} threads, ${rounds} round(s); load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`,
);

// The model: seeded random weights, written as a deepclust model directory.
const L = await lib(dist);
const rng = new L.Rng(0);
const randomMatrix = (rows: number, cols: number): Matrix => {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return { data, rows, cols };
};
const modelDir = join(tmp, "model");
{
  const ae = new L.Autoencoder({ dims: [d, ...hidden] }, rng, { threads: 1 });
  const centres = await ae.encode(randomMatrix(k, d));
  ae.params.define(L.CENTERS, [k, hidden.at(-1)!], centres.data);
  L.writeModelDir(
    modelDir,
    ae,
    L.modelConfig(ae, {
      k,
      alpha: 1,
      method: "dec",
      data: { note: "seeded random weights (bench/inference-vs-reference.ts)" },
    }),
    null,
  );
}

// The data: a pool of random rows repeated to N rows, as a float32 .npy written a block at a time.
const dataFile = join(tmp, "data.npy");
{
  const pool = randomMatrix(4096, d);
  writeRepeatedNpy(dataFile, N, pool);
  log(`wrote ${dataFile} (${((N * d * 4) / 2 ** 30).toFixed(2)} GiB)`);
}

interface Child {
  stdout: string;
  wall_s: number;
  /** Peak RSS from /usr/bin/time, when available. */
  peak_rss_mb: number | null;
}
const haveTime = existsSync("/usr/bin/time");
function child(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Child {
  const timeFile = join(tmp, "time.txt");
  const argv = haveTime ? ["/usr/bin/time", "-f", "%e %M", "-o", timeFile, cmd, ...args] : [cmd, ...args];
  const t = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), {
    env,
    encoding: "utf8",
    maxBuffer: 1 << 26,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const wall = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status})`);
  let rss: number | null = null;
  if (haveTime) rss = Number(readFileSync(timeFile, "utf8").trim().split("\n").at(-1)!.split(" ")[1]) / 1024;
  return { stdout: r.stdout, wall_s: wall, peak_rss_mb: rss };
}
const lastJson = <T>(s: string): T => JSON.parse(s.trim().split("\n").at(-1)!) as T;
const fmt = (v: number) => Math.round(v).toLocaleString("en-US");
/** Rows/s at `batch`: per round the median of its passes, then the median over the rounds. */
const medianAt = (rs: LoopResult[], batch: number) => {
  const perRound = rs.map((r) => {
    const t = r.throughput.find((x) => x.batch === batch)!;
    return r.rows / medianOf(t.seconds);
  });
  return { batch, rows_per_s: medianOf(perRound), rounds: perRound };
};
/** The batch with the highest median. */
const bestBatch = (rs: LoopResult[]) =>
  batches.map((b) => medianAt(rs, b)).reduce((a, b) => (b.rows_per_s > a.rows_per_s ? b : a));

interface CliSummary {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  peakRssMb: number;
}
interface PyFile {
  rows: number;
  seconds: number;
  rows_per_s: number;
  load_s: number;
  infer_s: number;
  write_s: number;
  peak_rss_mb: number;
  threads: unknown;
}
interface PyLoop extends LoopResult {
  threads: { torch_threads: number; openblas_core: string | null };
  torch: string;
}

type Step =
  "library" | "library-int8" | "onnx" | "pytorch-loop" | "cli" | "cli-int8" | "pytorch-file" | "pytorch-file-ootb";
const ORDER: Step[] = [
  "library",
  "library-int8",
  "onnx",
  "pytorch-loop",
  "cli",
  "cli-int8",
  "pytorch-file",
  "pytorch-file-ootb",
];
type CliResult = CliSummary & { process_wall_s: number; time_peak_rss_mb: number | null };
const results = {
  library: [] as LoopResult[],
  "library-int8": [] as LoopResult[],
  onnx: [] as LoopResult[],
  "pytorch-loop": [] as PyLoop[],
  cli: [] as CliResult[],
  "cli-int8": [] as CliResult[],
  "pytorch-file": [] as (PyFile & { process_wall_s: number; time_peak_rss_mb: number | null })[],
  "pytorch-file-ootb": [] as (PyFile & { process_wall_s: number; time_peak_rss_mb: number | null })[],
};
const commands: Record<Step, string> = {} as Record<Step, string>;
const self = [
  "--import",
  "tsx",
  "bench/inference-vs-reference.ts",
  "--dist",
  dist,
  "--model",
  modelDir,
  "--data",
  dataFile,
  "--threads",
  String(threads),
  "--batches",
  opts.batches!,
  "--passes",
  String(passes),
  "--latency-calls",
  String(latencyCalls),
  "--warmup",
  String(warmup),
];
const pyScript = "bench/reference/infer_reference.py";
const agreement: Record<string, unknown> = {};

// PyTorch at its best: every configuration of the sweep over the inference loop, alternating rounds.
const pyArgs = (c: PeerConfig) => ["--threads", String(c.threads), "--blas-threads", String(c.blasThreads)];
const pyEnvOf = (c: PeerConfig): NodeJS.ProcessEnv => ({ ...BASE_ENV, ...c.env });
const torchConfigs = sweepConfigs().filter((c) => c.engine === "pytorch");
const sweep = new Map<string, PyLoop[]>(torchConfigs.map((c) => [c.label, []]));
for (let round = 0; round < rounds; round++)
  for (const c of round % 2 === 0 ? torchConfigs : [...torchConfigs].reverse()) {
    const args = [
      pyScript,
      "--mode",
      "loop",
      "--model",
      modelDir,
      "--data",
      dataFile,
      ...pyArgs(c),
      "--batches",
      opts.batches!,
      "--passes",
      String(passes),
      "--latency-calls",
      "0",
    ];
    sweep.get(c.label)!.push(lastJson<PyLoop>(child(opts.python!, args, pyEnvOf(c)).stdout));
    log(
      `sweep round ${round + 1}/${rounds}: ${c.label}: ${batches.map((b) => `${b}: ${fmt(medianAt(sweep.get(c.label)!.slice(-1), b).rows_per_s)}`).join(", ")} rows/s`,
    );
  }
const sweepMedians = torchConfigs.map((c) => ({
  label: c.label,
  ...Object.fromEntries(batches.map((b) => [`batch_${b}`, medianAt(sweep.get(c.label)!, b).rows_per_s])),
}));
const refBatch = batches.includes(1024) ? 1024 : batches[0]!;
const torchBest = torchConfigs.reduce((a, b) =>
  medianAt(sweep.get(b.label)!, refBatch).rows_per_s > medianAt(sweep.get(a.label)!, refBatch).rows_per_s ? b : a,
);
const torchOotb = torchConfigs.find((c) => c.label === OUT_OF_THE_BOX)!;
log(`PyTorch at its best (median at batch ${refBatch}): ${torchBest.label}`);

for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? ORDER : [...ORDER].reverse();
  const first = round === 0;
  for (const step of order) {
    log(`round ${round + 1}/${rounds}: ${step}`);
    if (step === "library" || step === "library-int8" || step === "onnx") {
      const save = first && step !== "onnx" ? ["--save-prefix", join(tmp, step === "library" ? "lib" : "int8")] : [];
      const args = [
        ...self,
        "--worker",
        step === "onnx" ? "ort" : "lib",
        ...(step === "library-int8" ? ["--precision", "int8"] : []),
        ...save,
      ];
      commands[step] = `node ${args.join(" ")}`;
      results[step].push(lastJson<LoopResult>(child(process.execPath, args).stdout));
    } else if (step === "pytorch-loop") {
      const args = [
        pyScript,
        "--mode",
        "loop",
        "--model",
        modelDir,
        "--data",
        dataFile,
        ...pyArgs(torchBest),
        "--batches",
        opts.batches!,
        "--passes",
        String(passes),
        "--latency-calls",
        String(latencyCalls),
        "--warmup",
        String(warmup),
        ...(first ? ["--save-prefix", join(tmp, "ref")] : []),
      ];
      commands[step] = `${Object.entries(torchBest.env)
        .map(([n, v]) => `${n}=${v} `)
        .join("")}${opts.python} ${args.join(" ")}`;
      results[step].push(lastJson<PyLoop>(child(opts.python!, args, pyEnvOf(torchBest)).stdout));
    } else if (step === "cli" || step === "cli-int8") {
      const out = join(tmp, step === "cli" ? "preds-cli.csv" : "preds-cli-int8.csv");
      const args = [
        cli,
        "predict",
        modelDir,
        dataFile,
        "--out",
        out,
        "--json",
        "--force",
        "--threads",
        String(threads),
        ...(step === "cli-int8" ? ["--precision", "int8"] : []),
      ];
      commands[step] = `node ${args.join(" ")}`;
      const c = child(process.execPath, args);
      const s = lastJson<CliSummary>(c.stdout);
      if (s.rows !== N) throw new Error(`predict assigned ${s.rows} rows, expected ${N}`);
      results[step].push({
        rows: s.rows,
        seconds: s.seconds,
        rowsPerSecond: s.rowsPerSecond,
        peakRssMb: s.peakRssMb,
        process_wall_s: c.wall_s,
        time_peak_rss_mb: c.peak_rss_mb,
      });
    } else {
      const config = step === "pytorch-file" ? torchBest : torchOotb;
      const out = join(tmp, step === "pytorch-file" ? "preds-ref.csv" : "preds-ref-ootb.csv");
      const args = [
        pyScript,
        "--mode",
        "file",
        "--model",
        modelDir,
        "--data",
        dataFile,
        ...pyArgs(config),
        "--out",
        out,
      ];
      commands[step] = `${Object.entries(config.env)
        .map(([n, v]) => `${n}=${v} `)
        .join("")}${opts.python} ${args.join(" ")}`;
      const c = child(opts.python!, args, pyEnvOf(config));
      results[step].push({ ...lastJson<PyFile>(c.stdout), process_wall_s: c.wall_s, time_peak_rss_mb: c.peak_rss_mb });
    }
  }
  if (first) {
    // Same weights, same clusters: the library's and PyTorch's labels and q (batch 1024), and the
    // two predictions files.
    const bytes = (f: string) => readFileSync(join(tmp, f));
    const li = new Int32Array(bytes("lib.labels.i32").buffer.slice(0));
    const ri = new Int32Array(bytes("ref.labels.i32").buffer.slice(0));
    const lq = new Float32Array(bytes("lib.q.f32").buffer.slice(0));
    const rq = new Float32Array(bytes("ref.q.f32").buffer.slice(0));
    /** Rows with the same label, and the largest difference of q, between two engines' outputs. */
    const compare = (la: Int32Array, lb: Int32Array, qa: Float32Array, qb: Float32Array) => {
      let same = 0;
      for (let i = 0; i < N; i++) if (la[i] === lb[i]) same++;
      let maxDq = 0;
      for (let i = 0; i < qa.length; i++) maxDq = Math.max(maxDq, Math.abs(qa[i]! - qb[i]!));
      return { same, maxDq };
    };
    const { same, maxDq } = compare(li, ri, lq, rq);
    const clusterColumn = (f: string) => {
      const lines = readFileSync(join(tmp, f), "utf8").trimEnd().split("\n");
      const col = lines[0]!.split(",").indexOf("cluster");
      return lines.slice(1).map((l) => l.split(",")[col]);
    };
    const a = clusterColumn("preds-cli.csv");
    const b = clusterColumn("preds-ref.csv");
    let sameFiles = 0;
    for (let i = 0; i < N; i++) if (a[i] === b[i]) sameFiles++;
    const sizes = new Array<number>(k).fill(0);
    for (const l of li) sizes[l]!++;
    // int8 against float32 (the library's): labels and q.
    const i8 = new Int32Array(bytes("int8.labels.i32").buffer.slice(0));
    const i8q = new Float32Array(bytes("int8.q.f32").buffer.slice(0));
    const { same: sameInt8, maxDq: maxDqInt8 } = compare(li, i8, lq, i8q);
    Object.assign(agreement, {
      int8_vs_fp32_labels_equal_fraction: sameInt8 / N,
      int8_vs_fp32_max_abs_q_difference: maxDqInt8,
    });
    log(
      `int8 vs float32 (random weights): labels ${((100 * sameInt8) / N).toFixed(4)} % equal, max |Δq| ${maxDqInt8.toExponential(2)}`,
    );
    rmSync(join(tmp, "int8.q.f32"));
    Object.assign(agreement, {
      labels_equal_fraction: same / N,
      max_abs_q_difference: maxDq,
      prediction_files_cluster_equal_fraction: sameFiles / N,
      cli_rows: a.length,
      reference_rows: b.length,
      cluster_sizes: sizes,
    });
    log(
      `agreement: labels ${((100 * same) / N).toFixed(4)} %, max |Δq| ${maxDq.toExponential(2)}, predictions files ${((100 * sameFiles) / N).toFixed(4)} %; cluster sizes ${sizes.join(" ")}`,
    );
    rmSync(join(tmp, "lib.q.f32"));
    rmSync(join(tmp, "ref.q.f32"));
  }
}
rmSync(dataFile, { force: true });

// ---------------------------------------------------------------------------------------------
// Summary: medians over the rounds.

const medianLatency = (rs: LoopResult[], n: number) => {
  const ls = rs.map((r) => r.latency!.find((l) => l.rows === n)!);
  return { rows: n, median_ms: medianOf(ls.map((l) => l.median_ms)), p99_ms: medianOf(ls.map((l) => l.p99_ms)) };
};
const libBest = bestBatch(results.library);
const lib1024 = medianAt(results.library, refBatch);
const onnxBest = bestBatch(results.onnx);
const ref1024 = medianAt(results["pytorch-loop"], refBatch);
const refBest = bestBatch(results["pytorch-loop"]);
const medianCli = (rs: CliResult[]) => ({
  rowsPerSecond: medianOf(rs.map((r) => r.rowsPerSecond)),
  peakRssMb: medianOf(rs.map((r) => r.peakRssMb)),
  process_wall_s: medianOf(rs.map((r) => r.process_wall_s)),
});
const cliBest = medianCli(results.cli);
const cliInt8Best = medianCli(results["cli-int8"]);
const int8Best = bestBatch(results["library-int8"]);
const int8At1024 = medianAt(results["library-int8"], refBatch);
const medianPyFile = (rs: (typeof results)["pytorch-file"]) => ({
  rows_per_s: medianOf(rs.map((r) => r.rows_per_s)),
  peak_rss_mb: medianOf(rs.map((r) => r.peak_rss_mb)),
  process_wall_s: medianOf(rs.map((r) => r.process_wall_s)),
});
const pyFileBest = medianPyFile(results["pytorch-file"]);
const pyFileOotb = medianPyFile(results["pytorch-file-ootb"]);
const lat = (n: number) => ({
  library: medianLatency(results.library, n),
  libraryInt8: medianLatency(results["library-int8"], n),
  onnx: medianLatency(results.onnx, n),
  pytorch: medianLatency(results["pytorch-loop"], n),
});
const lat1 = lat(1);
const lat256 = lat(256);

const ms = (v: number) => (v < 1 ? v.toFixed(3) : v.toFixed(2));
const x = (v: number) => `${v.toFixed(2)}×`;
const table = [
  "| measure | deepclust | reference (PyTorch) | deepclust / reference |",
  "|---|---|---|---|",
  `| **(a) library at batch ${refBatch}, equal batch** | ${fmt(lib1024.rows_per_s)} vectors/s | ${fmt(ref1024.rows_per_s)} vectors/s | **${x(lib1024.rows_per_s / ref1024.rows_per_s)}** |`,
  ...batches
    .filter((b) => b !== refBatch)
    .map(
      (b) =>
        `| (a) library at batch ${b}, equal batch | ${fmt(medianAt(results.library, b).rows_per_s)} vectors/s | ${fmt(medianAt(results["pytorch-loop"], b).rows_per_s)} vectors/s | ${x(medianAt(results.library, b).rows_per_s / medianAt(results["pytorch-loop"], b).rows_per_s)} |`,
    ),
  `| (a) both at their best batch | ${fmt(libBest.rows_per_s)} (batch ${libBest.batch}) | ${fmt(refBest.rows_per_s)} (batch ${refBest.batch}) | ${x(libBest.rows_per_s / refBest.rows_per_s)} |`,
  `| (a') model.onnx in onnxruntime-node directly, best batch | ${fmt(onnxBest.rows_per_s)} vectors/s (batch ${onnxBest.batch}) | ${fmt(ref1024.rows_per_s)} (batch ${refBatch}) | ${x(onnxBest.rows_per_s / ref1024.rows_per_s)} |`,
  `| (b/c) file in → file out: \`deepclust predict\` vs np.load + infer + CSV | ${fmt(cliBest.rowsPerSecond)} vectors/s, peak RSS ${fmt(cliBest.peakRssMb)} MiB | ${fmt(pyFileBest.rows_per_s)} vectors/s, peak RSS ${fmt(pyFileBest.peak_rss_mb)} MiB | **${x(cliBest.rowsPerSecond / pyFileBest.rows_per_s)}** (RSS ${x(cliBest.peakRssMb / pyFileBest.peak_rss_mb)}) |`,
  `| (b/c) same, whole process (start-up included) | ${cliBest.process_wall_s.toFixed(2)} s | ${pyFileBest.process_wall_s.toFixed(2)} s | ${x(cliBest.process_wall_s / pyFileBest.process_wall_s)} (time) |`,
  `| (b/c) against PyTorch out of the box | ${fmt(cliBest.rowsPerSecond)} vectors/s | ${fmt(pyFileOotb.rows_per_s)} vectors/s, peak RSS ${fmt(pyFileOotb.peak_rss_mb)} MiB | ${x(cliBest.rowsPerSecond / pyFileOotb.rows_per_s)} |`,
  `| (a, int8) library \`precision: "int8"\`, best batch vs the reference's 1024 | ${fmt(int8Best.rows_per_s)} vectors/s (batch ${int8Best.batch}) | ${fmt(ref1024.rows_per_s)} vectors/s (batch ${refBatch}) | **${x(int8Best.rows_per_s / ref1024.rows_per_s)}** |`,
  `| (a, int8) library int8 at batch ${refBatch} | ${fmt(int8At1024.rows_per_s)} vectors/s | ${fmt(ref1024.rows_per_s)} vectors/s | ${x(int8At1024.rows_per_s / ref1024.rows_per_s)} |`,
  `| (b/c, int8) file in → file out: \`deepclust predict --precision int8\` vs np.load + infer + CSV | ${fmt(cliInt8Best.rowsPerSecond)} vectors/s, peak RSS ${fmt(cliInt8Best.peakRssMb)} MiB | ${fmt(pyFileBest.rows_per_s)} vectors/s | **${x(cliInt8Best.rowsPerSecond / pyFileBest.rows_per_s)}** |`,
  `| (b/c, int8) same, whole process (start-up included) | ${cliInt8Best.process_wall_s.toFixed(2)} s | ${pyFileBest.process_wall_s.toFixed(2)} s | ${x(cliInt8Best.process_wall_s / pyFileBest.process_wall_s)} (time) |`,
  `| (d) latency, 1 vector: median / p99 | ${ms(lat1.library.median_ms)} / ${ms(lat1.library.p99_ms)} ms | ${ms(lat1.pytorch.median_ms)} / ${ms(lat1.pytorch.p99_ms)} ms | ${x(lat1.library.median_ms / lat1.pytorch.median_ms)} / ${x(lat1.library.p99_ms / lat1.pytorch.p99_ms)} (time) |`,
  `| (d) latency, 256 vectors: median / p99 | ${ms(lat256.library.median_ms)} / ${ms(lat256.library.p99_ms)} ms | ${ms(lat256.pytorch.median_ms)} / ${ms(lat256.pytorch.p99_ms)} ms | ${x(lat256.library.median_ms / lat256.pytorch.median_ms)} / ${x(lat256.library.p99_ms / lat256.pytorch.p99_ms)} (time) |`,
  `| (d, int8) latency through the library at int8, 1 / 256 vectors: median | ${ms(lat1.libraryInt8.median_ms)} / ${ms(lat256.libraryInt8.median_ms)} ms | ${ms(lat1.pytorch.median_ms)} / ${ms(lat256.pytorch.median_ms)} ms | ${x(lat1.libraryInt8.median_ms / lat1.pytorch.median_ms)} / ${x(lat256.libraryInt8.median_ms / lat256.pytorch.median_ms)} (time) |`,
  `| (d) latency through model.onnx directly, 1 / 256 vectors: median | ${ms(lat1.onnx.median_ms)} / ${ms(lat256.onnx.median_ms)} ms | | |`,
];
const loadAfter = loadavg();
const perBatch = (name: string, rs: LoopResult[]) =>
  `${name}: ` + batches.map((b) => `${b}: ${fmt(medianAt(rs, b).rows_per_s)}`).join(", ");
const lines = [
  "",
  table.join("\n"),
  "",
  "vectors/s by batch (medians over the rounds):",
  "  " + perBatch("library", results.library),
  "  " + perBatch("library int8", results["library-int8"]),
  "  " + perBatch("model.onnx", results.onnx),
  "  " + perBatch("PyTorch", results["pytorch-loop"]),
  `agreement (round 1, batch 1024): labels ${(100 * (agreement.labels_equal_fraction as number)).toFixed(4)} % equal, max |Δq| ${(agreement.max_abs_q_difference as number).toExponential(2)}; predictions files ${(100 * (agreement.prediction_files_cluster_equal_fraction as number)).toFixed(4)} % equal`,
  `int8 vs float32 (library, random weights): labels ${(100 * (agreement.int8_vs_fp32_labels_equal_fraction as number)).toFixed(4)} % equal, max |Δq| ${(agreement.int8_vs_fp32_max_abs_q_difference as number).toExponential(2)}`,
  `PyTorch ${results["pytorch-loop"][0]!.torch} at its best: ${torchBest.label} (OpenBLAS core ${results["pytorch-loop"][0]!.threads.openblas_core}); out of the box: ${fmt(medianAt(sweep.get(OUT_OF_THE_BOX)!, refBatch).rows_per_s)} vectors/s at batch ${refBatch}; load average before ${loadBefore.map((l) => l.toFixed(2)).join(" ")}, after ${loadAfter.map((l) => l.toFixed(2)).join(" ")}`,
];
console.log(lines.join("\n"));

const outFile = resolve(opts.out!);
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(
  outFile,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      command: `node --import tsx bench/inference-vs-reference.ts ${process.argv.slice(2).join(" ")}`.trim(),
      machine: {
        cpus: cpus().length,
        cpu: cpuModel,
        node: process.version,
        load_average_before: loadBefore,
        load_average_after: loadAfter,
      },
      build,
      config: {
        rows: N,
        dims: [d, ...hidden],
        k,
        alpha: 1,
        weights:
          "seeded random (deepclust Rng seed 0, PyTorch default Linear init; centres = codes of 10 random normal vectors)",
        data: "4,096 random normal rows repeated",
        threads,
        batches,
        passes,
        rounds,
        latency_calls: latencyCalls,
        warmup,
        pytorch_best: torchBest,
        statistic: "median over rounds of the median over passes",
      },
      summary: {
        library_best: libBest,
        library_1024: lib1024,
        onnx_direct_best: onnxBest,
        reference_1024: ref1024,
        pytorch_best_batch: refBest,
        ratio_library_best_vs_reference_1024: libBest.rows_per_s / ref1024.rows_per_s,
        ratio_library_1024_vs_reference_1024: lib1024.rows_per_s / ref1024.rows_per_s,
        ratio_library_best_vs_pytorch_best: libBest.rows_per_s / refBest.rows_per_s,
        library_int8_best: int8Best,
        library_int8_1024: int8At1024,
        ratio_library_int8_best_vs_reference_1024: int8Best.rows_per_s / ref1024.rows_per_s,
        cli_int8_file_to_file: cliInt8Best,
        ratio_cli_int8_vs_reference_file_to_file: cliInt8Best.rowsPerSecond / pyFileBest.rows_per_s,
        cli_file_to_file: cliBest,
        reference_file_to_file: pyFileBest,
        reference_file_to_file_out_of_the_box: pyFileOotb,
        ratio_cli_vs_reference_out_of_the_box_file_to_file: cliBest.rowsPerSecond / pyFileOotb.rows_per_s,
        ratio_cli_vs_reference_file_to_file: cliBest.rowsPerSecond / pyFileBest.rows_per_s,
        latency_1: lat1,
        latency_256: lat256,
      },
      agreement,
      pytorch_sweep: sweepMedians,
      commands,
      results,
      table,
    },
    null,
    2,
  ) + "\n",
);
log(`wrote ${outFile}`);
