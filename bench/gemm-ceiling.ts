// The float32 ceiling of inference (issue 5): how fast each engine multiplies matrices on this
// machine, in one invocation —
//   (1) the encoder's two matrix products alone, x[batch, 768] · W1[768, 256] · W2[256, 32], over
//       --rows rows in batches of 1024 (the reference's batch): no bias, ReLU or assignment, so
//       this is the floor of the float32 work that any predict of the reference architecture
//       does, as vectors/s and GFLOP/s;
//   (2) one square 2048³ product: the engine's best-case GEMM rate on this machine.
// deepclust's side is onnxruntime (MLAS), in this process; the reference's is PyTorch (Debian's
// OpenBLAS), bench/reference/gemm_ceiling.py in a child process; same threads, --rounds rounds
// each, alternating, median round reported (and the best median rate as the machine's peak). The ratio of (1) bounds what float32 inference can
// gain over the reference: if onnxruntime's GEMMs alone are not 2× PyTorch's, no float32
// predict on it is.
//
//   npm run build && node --import tsx bench/gemm-ceiling.ts [--threads N] [--rows 262144] [--rounds 3]

import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { CompiledGraph, Graph, Rng, Tensor } from "../src/index.js";
import { cpuName } from "./cpu.js";

const { values: opts } = parseArgs({
  options: {
    dims: { type: "string", default: "768,256,32" },
    rows: { type: "string", default: "262144" },
    batch: { type: "string", default: "1024" },
    square: { type: "string", default: "2048" },
    rounds: { type: "string", default: "3" },
    threads: { type: "string" },
    python: { type: "string", default: "/usr/bin/python3" },
    out: { type: "string", default: "bench/results/gemm-ceiling.json" },
  },
});
const dims = opts.dims!.split(",").map(Number);
const [rows, batch, square, rounds] = [opts.rows, opts.batch, opts.square, opts.rounds].map(Number) as [
  number,
  number,
  number,
  number,
];
const threads = Number(opts.threads ?? cpus().length);
for (const [name, v] of Object.entries({
  rows,
  batch,
  square,
  rounds,
  threads,
  ...Object.fromEntries(dims.map((d, i) => [`dims[${i}]`, d])),
}))
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`--${name} must be a positive integer, got ${v}`);
if (rows % batch !== 0) throw new Error(`--rows must be a multiple of --batch (${batch})`);
const flopsPerRow = dims.slice(1).reduce((s, d, i) => s + 2 * dims[i]! * d, 0);
const rng = new Rng(0);
const normal = (n: number, scale = 1) => Float32Array.from({ length: n }, () => scale * rng.normal());

/** A graph of chained MatMuls with constant weights: x[batch, dims[0]] → … → [batch, dims.at(-1)]. */
async function chain(sizes: number[]): Promise<CompiledGraph> {
  const g = new Graph("gemm_chain");
  let z = g.input("x", "float32", ["batch", sizes[0]!]);
  for (let i = 0; i + 1 < sizes.length; i++)
    z = g.matmul(
      z,
      g.constant(normal(sizes[i]! * sizes[i + 1]!, 1 / Math.sqrt(sizes[i]!)), [sizes[i]!, sizes[i + 1]!], `w${i}`),
    );
  g.output(z, "z");
  return CompiledGraph.create(g, { threads });
}

const pool = normal(4096 * dims[0]!);
const encoder = await chain(dims);
const out = new Float32Array(batch * dims.at(-1)!);
async function encoderPass(n: number): Promise<void> {
  const per = Math.max(1, Math.floor(4096 / batch));
  for (let s = 0, i = 0; s < n; s += batch, i++) {
    const from = (i % per) * batch * dims[0]!;
    await encoder.run(
      { x: new Tensor(pool.subarray(from, from + batch * dims[0]!), [batch, dims[0]!]) },
      { z: new Tensor(out, [batch, dims.at(-1)!]) },
      ["z"],
    );
  }
}
const sq = await chain([square, square, square]);
const A = new Tensor(normal(square * square), [square, square]);

interface Result {
  encoder_rows_per_s: number;
  encoder_gflops: number;
  square_gflops: number;
}
async function ort(): Promise<Result> {
  await encoderPass(4 * batch);
  let t = performance.now();
  await encoderPass(rows);
  const encS = (performance.now() - t) / 1000;
  await sq.runOne({ x: A });
  t = performance.now();
  await sq.runOne({ x: A });
  const sqS = (performance.now() - t) / 1000;
  // the square graph is two products: A·W0 then ·W1
  return {
    encoder_rows_per_s: rows / encS,
    encoder_gflops: (rows * flopsPerRow) / encS / 1e9,
    square_gflops: (2 * 2 * square ** 3) / sqS / 1e9,
  };
}
function torch(): Result {
  const cpu = readFileSync("/proc/cpuinfo", "utf8");
  const core = /\bavx512f\b/.test(cpu) ? "SkylakeX" : /\bavx2\b/.test(cpu) ? "Haswell" : undefined;
  const r = spawnSync(
    opts.python!,
    [
      "bench/reference/gemm_ceiling.py",
      "--dims",
      dims.join(","),
      "--rows",
      String(rows),
      "--batch",
      String(batch),
      "--square",
      String(square),
      "--rounds",
      "1",
      "--threads",
      String(threads),
    ],
    {
      encoding: "utf8",
      env: { ...process.env, ...(core ? { OPENBLAS_CORETYPE: core } : {}) },
    },
  );
  if (r.status !== 0) throw new Error(`gemm_ceiling.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Result;
}

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)]!;
// Comparisons use the median round (issue 15's rule). The machine's peak, the denominator of
// training's fraction of it, is the best of the four median rates (two engines × two measures):
// a single fastest round is too often a burst of this shared host's clock.
const mid = (rs: Result[]): Result => ({
  encoder_rows_per_s: median(rs.map((r) => r.encoder_rows_per_s)),
  encoder_gflops: median(rs.map((r) => r.encoder_gflops)),
  square_gflops: median(rs.map((r) => r.square_gflops)),
});
const runs = { onnxruntime: [] as Result[], pytorch: [] as Result[] };
for (let round = 0; round < rounds; round++) {
  // alternate which engine goes first
  if (round % 2 === 0) {
    runs.onnxruntime.push(await ort());
    runs.pytorch.push(torch());
  } else {
    runs.pytorch.push(torch());
    runs.onnxruntime.push(await ort());
  }
  process.stderr.write(
    `round ${round + 1}/${rounds}: onnxruntime ${Math.round(runs.onnxruntime.at(-1)!.encoder_rows_per_s).toLocaleString("en-US")} rows/s, pytorch ${Math.round(runs.pytorch.at(-1)!.encoder_rows_per_s).toLocaleString("en-US")} rows/s\n`,
  );
}
const [o, p] = [mid(runs.onnxruntime), mid(runs.pytorch)];
const peak = Math.max(o.encoder_gflops, o.square_gflops, p.encoder_gflops, p.square_gflops);
const f = (x: number) => Math.round(x).toLocaleString("en-US");
console.log(
  `float32 GEMM ceiling, ${threads} threads (${cpuName()}), medians of ${rounds} rounds; machine peak (best median GEMM rate): ${peak.toFixed(0)} GFLOP/s`,
);
console.log(`| measure | onnxruntime (deepclust) | PyTorch (reference) | ratio |`);
console.log(`|---|---|---|---|`);
console.log(
  `| encoder products ${dims.join("→")} alone, batch ${batch} | ${f(o.encoder_rows_per_s)} vectors/s (${o.encoder_gflops.toFixed(0)} GFLOP/s) | ${f(p.encoder_rows_per_s)} vectors/s (${p.encoder_gflops.toFixed(0)} GFLOP/s) | **${(o.encoder_rows_per_s / p.encoder_rows_per_s).toFixed(2)}×** |`,
);
console.log(
  `| square ${square}³ product | ${o.square_gflops.toFixed(0)} GFLOP/s | ${p.square_gflops.toFixed(0)} GFLOP/s | ${(o.square_gflops / p.square_gflops).toFixed(2)}× |`,
);
writeFileSync(
  opts.out!,
  JSON.stringify(
    {
      date: new Date().toISOString(),
      command: `node --import tsx bench/gemm-ceiling.ts ${process.argv.slice(2).join(" ")}`.trim(),
      threads,
      dims,
      batch,
      rows,
      square,
      cpu: cpuName(),
      statistic: "median of rounds",
      peak_gflops: peak,
      onnxruntime: o,
      pytorch: p,
      ratio_encoder: o.encoder_rows_per_s / p.encoder_rows_per_s,
      runs,
    },
    null,
    2,
  ) + "\n",
);
await encoder.release();
await sq.release();
