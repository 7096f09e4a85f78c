// Exact silhouette at scale: deepclust's tiled float64 GEMMs in onnxruntime vs scikit-learn's
// silhouette_score (bench/reference/silhouette_sklearn.py, Debian python3-sklearn) on the same
// synthetic data: 10 Gaussian blobs in 10 dimensions (k = 10), float32.
//   - the ratio at --ratio-rows rows (default 30,000): scikit-learn's exact silhouette of 100,000
//     rows takes minutes per run (its per-row bincount loop), too long for 3 rounds of 3 thread
//     settings; rounds alternate the engines, and scikit-learn runs with OMP_NUM_THREADS =
//     OPENBLAS_NUM_THREADS = 1, = 2, and unset (its default); the best of 1 and 2 is the reference;
//   - deepclust alone at --rows rows (default 100,000), exact;
//   - with --precision, the same exact silhouette in float32 and in "mixed" (float64 distances,
//     float32 square roots and sums) at --ratio-rows, for the float64 choice in internal-scores.ts.
//
//   node --import tsx bench/silhouette-scale.ts [--rounds 3] [--rows 100000] [--ratio-rows 30000] [--precision]
//
// Results: one JSON line appended to bench/results/silhouette-scale.jsonl; see BENCHMARKS.md.

import { execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeNpy, type Matrix } from "../src/index.js";
import { silhouetteSamplesWith, type SilhouettePrecision } from "../src/cluster/internal-scores.js";
import { cpuName } from "./cpu.js";
import { blobs } from "./blobs.js";

const { values: opts } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    rows: { type: "string", default: "100000" },
    "ratio-rows": { type: "string", default: "30000" },
    precision: { type: "boolean", default: false },
  },
});
const rounds = Number(opts.rounds);
const bigRows = Number(opts.rows);
const ratioRows = Number(opts["ratio-rows"]);
const d = 10;
const k = 10;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const head = (m: Matrix, n: number): Matrix => ({ data: m.data.subarray(0, n * m.cols), rows: n, cols: m.cols });

async function ours(X: Matrix, labels: Int32Array, precision: SilhouettePrecision = "float64") {
  const t = performance.now();
  const s = await silhouetteSamplesWith(X, labels, { precision });
  const seconds = (performance.now() - t) / 1000;
  let sum = 0;
  for (const v of s) sum += v;
  return { seconds, silhouette: sum / s.length };
}

const { X, labels } = blobs(Math.max(bigRows, ratioRows), k, d);
const dir = mkdtempSync(join(tmpdir(), "deepclust-silhouette-"));
const xFile = join(dir, "x.npy");
const yFile = join(dir, "y.npy");
writeNpy(xFile, X);
writeNpy(yFile, { data: Float32Array.from(labels), rows: labels.length, cols: 1 });
const script = new URL("./reference/silhouette_sklearn.py", import.meta.url).pathname;

function sklearn(threads: "1" | "2" | "default"): { seconds: number; silhouette: number } {
  const env = { ...process.env };
  delete env.OMP_NUM_THREADS;
  delete env.OPENBLAS_NUM_THREADS;
  if (threads !== "default") env.OMP_NUM_THREADS = env.OPENBLAS_NUM_THREADS = threads;
  const out = execFileSync(
    "/usr/bin/python3",
    [script, "--data", xFile, "--labels", yFile, "--rows", String(ratioRows)],
    { env, encoding: "utf8" },
  );
  return JSON.parse(out.trim().split("\n").at(-1)!) as { seconds: number; silhouette: number };
}

const cpu = cpuName();
const small = head(X, ratioRows);
const smallLabels = labels.subarray(0, ratioRows);
const times: Record<string, number[]> = { deepclust: [], sklearn1: [], sklearn2: [], sklearnDefault: [], big: [] };
const values: Record<string, number> = {};
for (let r = 0; r < rounds; r++) {
  const a = await ours(small, smallLabels);
  times.deepclust!.push(a.seconds);
  values.deepclust = a.silhouette;
  for (const [key, threads] of [
    ["sklearn1", "1"],
    ["sklearn2", "2"],
    ["sklearnDefault", "default"],
  ] as const) {
    const s = sklearn(threads);
    times[key]!.push(s.seconds);
    values[key] = s.silhouette;
  }
  const b = await ours(head(X, bigRows), labels.subarray(0, bigRows));
  times.big!.push(b.seconds);
  values.big = b.silhouette;
  console.error(
    `round ${r + 1}: deepclust ${a.seconds.toFixed(2)} s | sklearn 1 thread ${times.sklearn1!.at(-1)!.toFixed(2)} s, 2 threads ${times.sklearn2!.at(-1)!.toFixed(2)} s, default ${times.sklearnDefault!.at(-1)!.toFixed(2)} s (${ratioRows} rows) | deepclust ${b.seconds.toFixed(2)} s (${bigRows} rows)`,
  );
}
const precisions: Record<string, { seconds: number[]; silhouette: number }> = {};
if (opts.precision)
  for (let r = 0; r < rounds; r++)
    for (const p of ["float64", "mixed", "float32"] as const) {
      const o = await ours(small, smallLabels, p);
      (precisions[p] ??= { seconds: [], silhouette: o.silhouette }).seconds.push(o.seconds);
    }
rmSync(dir, { recursive: true, force: true });

const med = Object.fromEntries(Object.entries(times).map(([key, v]) => [key, median(v)]));
const sklearnBest = Math.min(med.sklearn1!, med.sklearn2!);
const result = {
  date: new Date().toISOString(),
  cpu,
  cores: (await import("node:os")).availableParallelism(),
  d,
  k,
  rounds,
  ratioRows,
  bigRows,
  medianSeconds: med,
  sklearnBestThreads: med.sklearn1! <= med.sklearn2! ? 1 : 2,
  ratio: sklearnBest / med.deepclust!,
  silhouette: values,
  maxDifferenceVsSklearn: Math.abs(values.deepclust! - values.sklearn1!),
  times,
  ...(opts.precision
    ? {
        precision: Object.fromEntries(
          Object.entries(precisions).map(([p, v]) => [
            p,
            { medianSeconds: median(v.seconds), silhouette: v.silhouette, seconds: v.seconds },
          ]),
        ),
      }
    : {}),
};
appendFileSync(new URL("./results/silhouette-scale.jsonl", import.meta.url), JSON.stringify(result) + "\n");
console.log(JSON.stringify(result, null, 1));
