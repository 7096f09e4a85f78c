// How the cost of `deepclust train` and `deepclust predict` grows with N, k and d. For each
// configuration it writes a seeded Gaussian mixture (k well-separated components, unit noise) as a
// float32 .npy with a labels .npy to a temporary directory, runs the built CLI (`npm run build`
// first) as child processes with --json, and records time per stage and peak RSS; the files are
// deleted afterwards. Results: bench/results/scaling.json and a plot, docs/scaling.svg (Vega-Lite,
// rendered to SVG here).
//
//   node --import tsx bench/scaling.ts [--threads 2] [--quick]
//
// The schedule is fixed so that every stage's cost per unit of work can be compared across sizes:
// architecture d → 256 → 32, 1 pretraining epoch (mask noise 0.2), k-means with 20 restarts on the
// code, 300 DEC iterations of batch 256 with the target over the full dataset every 100 (so 3 full
// passes of q), no raw-data baseline, no report. Expected growth: pretraining, the target updates
// and predict are linear in N (and in d through the first layer); k-means is linear in N·k per
// Lloyd iteration; the DEC iterations themselves do not depend on N.

import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as vega from "vega";
import * as vl from "vega-lite";
import { Rng, npyHeader } from "../src/index.js";

const { values: a } = parseArgs({
  options: {
    threads: { type: "string", default: "2" },
    quick: { type: "boolean", default: false },
  },
});
const threads = Number(a.threads);
const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;

interface Config {
  rows: number;
  d: number;
  k: number;
}
// Growth in N at the reference's d = 768, k = 10; then k and d varied at N = 100k.
const configs: Config[] = a.quick
  ? [
      { rows: 2_000, d: 64, k: 5 },
      { rows: 10_000, d: 64, k: 5 },
    ]
  : [
      { rows: 10_000, d: 768, k: 10 },
      { rows: 100_000, d: 768, k: 10 },
      { rows: 1_000_000, d: 768, k: 10 },
      { rows: 100_000, d: 768, k: 100 },
      { rows: 100_000, d: 100, k: 10 },
    ];

/** A k-component Gaussian mixture, written in blocks so that 1M × 768 never sits in memory. */
function writeMixture(dir: string, { rows, d, k }: Config): { data: string; labels: string } {
  const rng = new Rng(1234);
  const centres = Float32Array.from({ length: k * d }, () => 4 * rng.normal());
  const data = join(dir, "data.npy");
  const labelsFile = join(dir, "labels.npy");
  const fd = openSync(data, "w");
  const labels = new Int32Array(rows);
  writeSync(fd, npyHeader([rows, d], "<f4"));
  const block = 8192;
  const buf = new Float32Array(block * d);
  for (let s = 0; s < rows; s += block) {
    const n = Math.min(block, rows - s);
    for (let i = 0; i < n; i++) {
      const c = rng.int(k);
      labels[s + i] = c;
      for (let j = 0; j < d; j++) buf[i * d + j] = centres[c * d + j]! + rng.normal();
    }
    writeSync(fd, new Uint8Array(buf.buffer, 0, n * d * 4));
  }
  closeSync(fd);
  writeFileSync(labelsFile, Buffer.concat([npyHeader([rows], "<i4"), Buffer.from(labels.buffer)]));
  return { data, labels: labelsFile };
}

function runJson<T>(args: string[]): T {
  const r = spawnSync(process.execPath, [cli, ...args, "--json"], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`deepclust ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

interface TrainSummary {
  timings: { pretrainSeconds: number; kmeansSeconds: number; clusteringSeconds: number };
  peakRssMb: number;
  dec: { acc: number };
}
interface PredictSummary {
  seconds: number;
  rowsPerSecond: number;
  peakRssMb: number;
}

const results = [];
for (const c of configs) {
  const dir = mkdtempSync(join(tmpdir(), "deepclust-scaling-"));
  try {
    const t0 = performance.now();
    const files = writeMixture(dir, c);
    const genSeconds = (performance.now() - t0) / 1000;
    const model = join(dir, "model");
    const train = runJson<TrainSummary>([
      "train",
      files.data,
      "--labels-file",
      files.labels,
      "-k",
      String(c.k),
      "--dims",
      "256,32",
      "--pretrain-epochs",
      "1",
      "--noise",
      "mask",
      "--noise-factor",
      "0.2",
      "--max-iter",
      "300",
      "--update-interval",
      "100",
      "--tol",
      "0",
      "--no-baseline",
      "--no-report",
      "--threads",
      String(threads),
      "--out",
      model,
    ]);
    const predict = runJson<PredictSummary>([
      "predict",
      model,
      files.data,
      "--out",
      join(dir, "predictions.csv"),
      "--threads",
      String(threads),
    ]);
    const r = {
      ...c,
      pretrainSecondsPerEpoch: train.timings.pretrainSeconds,
      kmeansSeconds: train.timings.kmeansSeconds,
      decSeconds: train.timings.clusteringSeconds,
      trainPeakRssMb: train.peakRssMb,
      acc: train.dec.acc,
      predictSeconds: predict.seconds,
      predictRowsPerSecond: predict.rowsPerSecond,
      predictPeakRssMb: predict.peakRssMb,
    };
    results.push(r);
    console.log(
      `N=${c.rows} d=${c.d} k=${c.k} (data written in ${genSeconds.toFixed(1)} s): pretrain ${r.pretrainSecondsPerEpoch.toFixed(1)} s/epoch, ` +
        `k-means ${r.kmeansSeconds.toFixed(1)} s, DEC 300 it ${r.decSeconds.toFixed(1)} s, train peak ${r.trainPeakRssMb.toFixed(0)} MB, ` +
        `predict ${Math.round(r.predictRowsPerSecond)} rows/s (${r.predictSeconds.toFixed(1)} s), predict peak ${r.predictPeakRssMb.toFixed(0)} MB, ACC ${r.acc.toFixed(3)}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  "\n| N | d | k | pretrain (s/epoch) | k-means, 20 restarts (s) | DEC, 300 it + 3 target passes (s) | train peak RSS (MB) | predict (rows/s) | predict peak RSS (MB) |",
);
console.log("|---|---|---|---|---|---|---|---|---|");
for (const r of results) {
  console.log(
    `| ${r.rows.toLocaleString("en")} | ${r.d} | ${r.k} | ${r.pretrainSecondsPerEpoch.toFixed(1)} | ${r.kmeansSeconds.toFixed(1)} | ${r.decSeconds.toFixed(1)} | ${r.trainPeakRssMb.toFixed(0)} | ${Math.round(r.predictRowsPerSecond).toLocaleString("en")} | ${r.predictPeakRssMb.toFixed(0)} |`,
  );
}

if (!a.quick) {
  mkdirSync("bench/results", { recursive: true });
  writeFileSync(
    "bench/results/scaling.json",
    JSON.stringify({ date: new Date().toISOString(), threads, results }, null, 2) + "\n",
  );
}
// The plot: seconds per stage against N (log-log) for d = 768, k = 10.
const growth = results.filter((r) => r.d === configs[0]!.d && r.k === configs[0]!.k);
const stages = growth.flatMap((r) => [
  { N: r.rows, stage: "pretrain (1 epoch)", seconds: r.pretrainSecondsPerEpoch },
  { N: r.rows, stage: "k-means (20 restarts)", seconds: r.kmeansSeconds },
  { N: r.rows, stage: "DEC (300 it, 3 targets)", seconds: r.decSeconds },
  { N: r.rows, stage: "predict", seconds: r.predictSeconds },
]);
const spec: vl.TopLevelSpec = {
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  title: `deepclust cost per stage vs N (d = ${configs[0]!.d}, k = ${configs[0]!.k}, ${threads} threads)`,
  width: 420,
  height: 280,
  data: { values: stages },
  mark: { type: "line", point: true },
  encoding: {
    x: { field: "N", type: "quantitative", scale: { type: "log" }, title: "rows N" },
    y: { field: "seconds", type: "quantitative", scale: { type: "log" }, title: "seconds" },
    color: { field: "stage", type: "nominal" },
  },
};
const svg = await new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" }).toSVG();
const plot = a.quick ? join(tmpdir(), "deepclust-scaling.svg") : "docs/scaling.svg";
mkdirSync("docs", { recursive: true });
writeFileSync(plot, svg);
console.log(`plot: ${plot}`);
