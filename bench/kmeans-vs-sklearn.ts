// k-means time and inertia: deepclust vs scikit-learn (bench/reference/kmeans_sklearn.py,
// Debian python3-sklearn) side by side on the same data, k-means++ with n_init = 20, Lloyd:
//   - MNIST-70k (train + test) projected onto its top 10 principal axes, k = 10;
//   - the first 20,000 of those rows on the top 32 axes, k = 100 (the reference's k and code size).
// Rounds alternate the engines, round r with seed r in both; each engine's best time counts (the
// machine is shared and noisy) and inertias are compared as means over the seeds.
// scikit-learn runs with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset, and also with
// OPENBLAS_CORETYPE=SkylakeX when the CPU has AVX-512 (OpenBLAS 0.3.21 misdetects it; see
// bench/reference/README.md); the better of the two is the reference.
//
//   node --import tsx bench/kmeans-vs-sklearn.ts [--rounds 3] [--threads 0] [--quick]
//
// --threads N gives both engines N threads (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS for
// scikit-learn); 0, the default, lets both use every core.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CompiledGraph, Graph, Rng, Tensor, type Matrix } from "../src/engine/index.js";
import { writeNpy } from "../src/io/index.js";
import { kmeans } from "../src/cluster/index.js";
import { cpuName } from "./cpu.js";
import { mnistImages } from "./mnist.js";

const { values: opts } = parseArgs({
  options: {
    rounds: { type: "string" },
    threads: { type: "string", default: "0" },
    quick: { type: "boolean", default: false },
  },
});
const quick = opts.quick!;
const rounds = Number(opts.rounds ?? (quick ? 1 : 3));
const threads = Number(opts.threads);
const N_INIT = 20;

/**
 * Top-m principal axes by orthogonal (subspace) iteration on the covariance, X'X v − n·μ(μ'v),
 * with the products in onnxruntime and Gram–Schmidt in float64. Returns D × m, row-major.
 */
async function principalAxes(
  X: Matrix,
  m: number,
  iterations: number,
): Promise<{ axes: Float32Array; mean: Float64Array; project: (rows: number, dims: number) => Promise<Matrix> }> {
  const { rows: n, cols: D } = X;
  const g = new Graph("pca");
  const x = g.input("x", "float32", [n, D]);
  const v = g.input("v", "float32", [D, m]);
  const y = g.matmul(x, v, "y");
  g.output(y, "y");
  g.output(g.gemm(x, y, { transA: true }), "z");
  const graph = await CompiledGraph.create(g, { threads });
  const xt = Tensor.float32(X.data, [n, D]);
  const mean = new Float64Array(D);
  for (let i = 0; i < n; i++) for (let p = 0; p < D; p++) mean[p]! += X.data[i * D + p]!;
  for (let p = 0; p < D; p++) mean[p]! /= n;
  const rng = new Rng(1);
  const V = Tensor.float32(
    Float32Array.from({ length: D * m }, () => rng.normal()),
    [D, m],
  );
  for (let it = 0; it < iterations; it++) {
    const z = (await graph.run({ x: xt, v: V }, {}, ["z"])).z as Float32Array;
    const cols = Array.from({ length: m }, (_, j) => {
      let muV = 0;
      for (let p = 0; p < D; p++) muV += mean[p]! * V.data[p * m + j]!;
      return Float64Array.from({ length: D }, (_, p) => z[p * m + j]! - n * mean[p]! * muV);
    });
    cols.forEach((c, j) => {
      for (let i = 0; i < j; i++) {
        let dot = 0;
        for (let p = 0; p < D; p++) dot += c[p]! * cols[i]![p]!;
        for (let p = 0; p < D; p++) c[p]! -= dot * cols[i]![p]!;
      }
      const norm = Math.hypot(...c);
      for (let p = 0; p < D; p++) V.data[p * m + j] = c[p]! /= norm;
    });
  }
  const project = async (rows: number, dims: number): Promise<Matrix> => {
    const yAll = (await graph.run({ x: xt, v: V }, {}, ["y"])).y as Float32Array;
    const shift = Array.from({ length: dims }, (_, j) => {
      let s = 0;
      for (let p = 0; p < D; p++) s += mean[p]! * V.data[p * m + j]!;
      return s;
    });
    const out = new Float32Array(rows * dims);
    for (let i = 0; i < rows; i++) for (let j = 0; j < dims; j++) out[i * dims + j] = yAll[i * m + j]! - shift[j]!;
    return { data: out, rows, cols: dims };
  };
  return { axes: V.data, mean, project };
}

interface SklearnResult {
  best_seconds: number;
  seconds: number[];
  inertia: number;
  inertia_f64: number;
  n_iter: number;
  openblas_core?: string;
  openblas_coretype_env: string | null;
  openmp_threads?: number;
}

const cpuFlags = readFileSync("/proc/cpuinfo", "utf8");
const cores = [null, /\bavx512f\b/.test(cpuFlags) ? "SkylakeX" : /\bavx2\b/.test(cpuFlags) ? "Haswell" : null].filter(
  (c, i, a) => a.indexOf(c) === i,
);

function runSklearn(file: string, k: number, core: string | null, seed: number): SklearnResult {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (core) env.OPENBLAS_CORETYPE = core;
  // The same thread budget for both: scikit-learn's OpenMP loop and OpenBLAS (k-means++).
  if (threads > 0) env.OMP_NUM_THREADS = env.OPENBLAS_NUM_THREADS = String(threads);
  const args = [
    "bench/reference/kmeans_sklearn.py",
    "--data",
    file,
    "--k",
    String(k),
    "--n-init",
    String(N_INIT),
    "--seed",
    String(seed),
  ];
  const out = execFileSync("/usr/bin/python3", args, { env, encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").at(-1)!) as SklearnResult;
}

interface OurResult {
  seconds: number;
  inertia: number;
  nIter: number;
}

async function runOurs(X: Matrix, k: number, seed: number): Promise<OurResult> {
  const t0 = performance.now();
  const r = await kmeans(X, { k, nInit: N_INIT, seed, threads });
  return { seconds: (performance.now() - t0) / 1000, inertia: r.inertia, nIter: r.nIter };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Standard error of the mean (0 for a single value). */
const stderr = (xs: number[]) =>
  xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1) / xs.length);

const tmp = mkdtempSync(join(tmpdir(), "deepclust-kmeans-"));
const t0 = performance.now();
const images = mnistImages();
const pca = await principalAxes(images, 32, quick ? 8 : 20);
const sets = [
  { name: "MNIST-70k PCA-10", X: await pca.project(images.rows, 10), k: 10 },
  { name: "MNIST-20k PCA-32", X: await pca.project(20_000, 32), k: 100 },
].map((s) => ({ ...s, file: join(tmp, `${s.X.rows}x${s.X.cols}.npy`) }));
for (const s of sets) writeNpy(s.file, s.X);
process.stderr.write(`data ready in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);

const report: Record<string, unknown> = {
  date: new Date().toISOString(),
  cpu: cpuName(),
  cores: cpus().length,
  node: process.version,
  threads,
  rounds,
  nInit: N_INIT,
  sets: [],
};
const lines: string[] = [];
for (const s of sets) {
  // Round r uses seed r in both engines: the best-of-20 inertia depends on the random stream, so
  // inertias are compared as means over the same number of seeds; times as each engine's best.
  const ours: OurResult[] = [];
  const theirs = new Map<string | null, SklearnResult[]>(cores.map((c) => [c, []]));
  for (let round = 0; round < rounds; round++) {
    const o = await runOurs(s.X, s.k, round);
    ours.push(o);
    process.stderr.write(
      `${s.name} seed ${round}: deepclust ${o.seconds.toFixed(2)} s, inertia ${o.inertia.toFixed(1)}\n`,
    );
    for (const core of cores) {
      const r = runSklearn(s.file, s.k, core, round);
      theirs.get(core)!.push(r);
      process.stderr.write(
        `${s.name} seed ${round}: sklearn (OpenBLAS ${r.openblas_core ?? "?"}) ${r.best_seconds.toFixed(2)} s, inertia ${r.inertia_f64.toFixed(1)}\n`,
      );
    }
  }
  const oursBest = Math.min(...ours.map((o) => o.seconds));
  const byCore = [...theirs.values()].map((runs) => ({ runs, best: Math.min(...runs.map((r) => r.best_seconds)) }));
  const ref = byCore.reduce((a, b) => (b.best < a.best ? b : a));
  const oursInertia = mean(ours.map((o) => o.inertia));
  // scikit-learn's own inertia_ is a float32 sum; its float64 recomputation compares with ours.
  const refInertia = mean(ref.runs.map((r) => r.inertia_f64));
  const timeRatio = oursBest / ref.best;
  const inertiaRatio = oursInertia / refInertia;
  // Both run the same algorithm from different random streams: a higher mean within two standard
  // errors of the difference is seed noise, not a worse k-means.
  const noise = 2 * Math.hypot(stderr(ours.map((o) => o.inertia)), stderr(ref.runs.map((r) => r.inertia_f64)));
  const inertiaVerdict =
    oursInertia <= refInertia
      ? "lower: met"
      : oursInertia - refInertia <= noise
        ? `equal within seed noise (2 SE = ${noise.toFixed(1)}): met`
        : "higher: NOT met";
  const core = ref.runs[0]!.openblas_core;
  (report.sets as unknown[]).push({
    name: s.name,
    rows: s.X.rows,
    cols: s.X.cols,
    k: s.k,
    deepclust: ours,
    sklearn: Object.fromEntries([...theirs].map(([c, r]) => [c ?? "auto", r])),
    best: { deepclustSeconds: oursBest, sklearnSeconds: ref.best, sklearnCore: core },
    meanInertia: { deepclust: oursInertia, sklearn: refInertia },
    timeRatio,
    inertiaRatio,
    inertiaVerdict,
  });
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(", ");
  lines.push(
    `${s.name}: ${s.X.rows}×${s.X.cols}, k=${s.k}, n_init=${N_INIT}, Lloyd, seeds 0..${rounds - 1}`,
    `  deepclust best ${oursBest.toFixed(2)} s (threads ${threads || "all cores"}); inertia mean ${oursInertia.toFixed(1)} (${fmt(ours.map((o) => o.inertia))})`,
    `  sklearn   best ${ref.best.toFixed(2)} s (OpenBLAS ${core}, ${ref.runs[0]!.openmp_threads ?? "?"} OpenMP threads); inertia mean ${refInertia.toFixed(1)} (${fmt(ref.runs.map((r) => r.inertia_f64))})`,
    `  time deepclust/sklearn ${timeRatio.toFixed(2)}× (target ≤ 1: ${timeRatio <= 1 ? "met" : "NOT met"}); mean inertia ratio ${inertiaRatio.toFixed(6)} (${inertiaVerdict})`,
  );
}
rmSync(tmp, { recursive: true, force: true });
mkdirSync("bench/results", { recursive: true });
const file = `bench/results/kmeans-vs-sklearn${threads > 0 ? `-threads${threads}` : ""}${quick ? "-quick" : ""}.json`;
writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
console.log(lines.join("\n"));
console.log(`(details: ${file})`);
