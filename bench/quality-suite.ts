// The quality suite: deepclust's default command, each named preset and the PyTorch reference
// pipeline (bench/reference/dec_reference.py) on labelled datasets of several kinds, with k-means on
// the raw data and AE + k-means beside them. ACC / NMI / ARI mean ± sd over seeds, wall time and
// peak RSS per run. Every run appends one JSON line to bench/results/quality-suite.jsonl (a run
// already there is skipped, so the suite can be run in parts); --table prints the tables.
//
//   bash bench/datasets/build.sh                  # once: Brown, scikit-learn's tabular sets, mixtures
//   npm run build
//   node --import tsx bench/quality-suite.ts --seeds report            # every dataset but MNIST
//   node --import tsx bench/quality-suite.ts --seeds report --datasets mnist --methods default
//   node --import tsx bench/quality-suite.ts --table --seeds report
//
// Seeds: "tune" (0, 1) chose the default recipe; "report" (10, 11, 12; MNIST's default also 13, 14)
// are the ones reported, never looked at while choosing. Held out entirely (not here, not in tuning,
// not in tests): Fashion-MNIST, UCI letter recognition, OpenCV's digits.png.
//
// Methods (each its own process, 2 threads; k is the number of classes):
//   default    deepclust train <data> -k K                 (the default preset)
//   paper      deepclust train … --preset paper            (only on sets of ≤ --paper-max-rows rows: minutes per run above)
//   reference  deepclust train … --preset reference        (its AE + k-means start is the "AE + k-means" column)
//   torch-ref  dec_reference.py --k K                       (its last epoch; its label-selected best epoch beside it)
// k-means on the raw data (20 restarts) comes from the default run's baseline (same seed).

import { execFileSync, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { writeNpy } from "../src/index.js";
import { cpuName } from "./cpu.js";
import { mnistImages, mnistLabels } from "./mnist.js";

const { values: a } = parseArgs({
  options: {
    seeds: { type: "string", default: "report" },
    datasets: { type: "string" },
    methods: { type: "string", default: "default,paper,reference,torch-ref" },
    results: { type: "string", default: "bench/results/quality-suite.jsonl" },
    table: { type: "boolean", default: false },
    threads: { type: "string", default: "2" },
    // --preset paper (500-500-2000-10, 50 epochs) costs minutes per run on more than a few thousand rows.
    "paper-max-rows": { type: "string", default: "2000" },
    // Tuning: run the default command with these extra flags, recorded as method <variant>.
    variant: { type: "string" },
    args: { type: "string", default: "" },
    // Print mean ACC / NMI of these methods side by side (tuning comparisons).
    compare: { type: "string" },
  },
});

const DATA = "bench/datasets/data";
interface Dataset {
  name: string;
  rows: number;
  kind: string;
  file: string;
  labelsFile?: string;
  k: number;
  /** Seeds beyond the three reporting ones (the MNIST target asks for five). */
  extraReportSeeds?: number[];
}
const DATASETS: Dataset[] = [
  {
    name: "mnist",
    rows: 70000,
    kind: "images, 70,000 × 784",
    file: `${DATA}/mnist70k.npy`,
    labelsFile: `${DATA}/mnist70k-labels.txt`,
    k: 10,
    extraReportSeeds: [13, 14],
  },
  { name: "digits", rows: 1797, kind: "images, 1,797 × 64 (scikit-learn)", file: "test/fixtures/digits.csv", k: 10 },
  {
    name: "reuters",
    rows: 6018,
    kind: "text, 6,018 × 100 (the bundled example)",
    file: "examples/reuters/train.csv",
    k: 10,
  },
  { name: "brown", rows: 6544, kind: "text, 6,544 × 100 (Brown genres)", file: `${DATA}/brown.csv`, k: 15 },
  { name: "wine", rows: 178, kind: "tabular, 178 × 13", file: `${DATA}/wine.csv`, k: 3 },
  { name: "breast-cancer", rows: 569, kind: "tabular, 569 × 30", file: `${DATA}/breast-cancer.csv`, k: 2 },
  { name: "iris", rows: 150, kind: "tabular, 150 × 4", file: `${DATA}/iris.csv`, k: 3 },
  { name: "gmm-balanced", rows: 6000, kind: "mixture, 6,000 × 32, k = 8", file: `${DATA}/gmm-balanced.csv`, k: 8 },
  {
    name: "gmm-imbalanced",
    rows: 10000,
    kind: "mixture, 10,000 × 64, k = 20, sizes 22:1",
    file: `${DATA}/gmm-imbalanced.csv`,
    k: 20,
  },
  {
    name: "gmm-overlap",
    rows: 4000,
    kind: "mixture, 4,000 × 10, k = 5, overlapping",
    file: `${DATA}/gmm-overlap.csv`,
    k: 5,
  },
  { name: "gmm-large-k", rows: 20000, kind: "mixture, 20,000 × 16, k = 40", file: `${DATA}/gmm-large-k.csv`, k: 40 },
];
const TUNE_SEEDS = [0, 1];
const REPORT_SEEDS = [10, 11, 12];

interface Scores {
  acc: number;
  nmi: number;
  ari: number;
}
interface RunRecord {
  dataset: string;
  /** The run's error, when it failed (then there are no scores). */
  failed?: string;
  method: string;
  seed: number;
  scores: Scores;
  /** k-means on the raw data and the method's own start (AE + k-means, or the manifold's mixture). */
  baseline?: Scores | null;
  start?: Scores | null;
  /** torch-ref: the label-selected best epoch (supervised; shown for reference only). */
  selectedByLabels?: Scores | null;
  /** The CLI's stage times (baseline k-means, pretraining, the start, the clustering phase). */
  stages?: Record<string, number>;
  /** Clustering iterations and why the phase stopped (tol, max-iter, hold), when the CLI reports them. */
  iterations?: number;
  stopReason?: string;
  seconds: number;
  peakRssMb: number;
  cpu: string;
  /** Threads per run (missing in the first records: 2 unless BENCHMARKS.md says otherwise). */
  threads?: number;
  commit: string;
  date: string;
}

const cpu = cpuName();
const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
const threads = a.threads!;

function readRecords(): RunRecord[] {
  if (!existsSync(a.results!)) return [];
  return readFileSync(a.results!, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RunRecord);
}

/** Runs a command under /usr/bin/time; its stdout, wall seconds and peak RSS (MiB). */
function timed(cmd: string, args: string[]): { stdout: string; seconds: number; peakRssMb: number } {
  const t0 = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "__MAXRSS_KB=%M", cmd, ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  const seconds = (performance.now() - t0) / 1000;
  const rss = /__MAXRSS_KB=(\d+)/.exec(r.stderr ?? "");
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${(r.stderr ?? "").slice(-3000)}`);
  return { stdout: r.stdout, seconds, peakRssMb: rss ? Number(rss[1]) / 1024 : NaN };
}

function prepareMnist(d: Dataset): void {
  if (existsSync(d.file) && existsSync(d.labelsFile!)) return;
  mkdirSync(DATA, { recursive: true });
  writeNpy(d.file, mnistImages());
  writeFileSync(d.labelsFile!, mnistLabels().join("\n") + "\n");
}

function runOne(d: Dataset, method: string, seed: number): RunRecord {
  const out = mkdtempSync(join(tmpdir(), "quality-suite-"));
  try {
    const base = {
      dataset: d.name,
      method,
      seed,
      cpu,
      threads: Number(threads),
      commit,
      date: new Date().toISOString(),
    };
    if (method === "torch-ref") {
      if (d.labelsFile) throw new Error("torch-ref reads CSV files only");
      const r = timed("/usr/bin/python3", [
        "bench/reference/dec_reference.py",
        "--data",
        d.file,
        "--k",
        String(d.k),
        "--seed",
        String(seed),
        "--threads",
        threads,
      ]);
      const j = JSON.parse(r.stdout) as { last_epoch_metrics: Scores; metrics: Scores; init_metrics: Scores };
      return {
        ...base,
        scores: pick(j.last_epoch_metrics),
        start: pick(j.init_metrics),
        selectedByLabels: pick(j.metrics),
        seconds: r.seconds,
        peakRssMb: r.peakRssMb,
      };
    }
    const preset =
      method === "default" ? [] : method === a.variant ? a.args!.split(" ").filter(Boolean) : ["--preset", method];
    const labels = d.labelsFile ? ["--labels-file", d.labelsFile] : [];
    const r = timed(process.execPath, [
      "dist/cli/main.js",
      "train",
      d.file,
      "-k",
      String(d.k),
      ...preset,
      ...labels,
      "--seed",
      String(seed),
      "--threads",
      threads,
      "--out",
      join(out, "model"),
      "--no-report",
      "--json",
      ...(method === "default" || method === a.variant ? [] : ["--no-baseline"]),
    ]);
    const j = JSON.parse(r.stdout) as {
      dec: Scores & { iterations?: number; stopReason?: string };
      baseline: Scores | null;
      aeKmeans: Scores | null;
      timings: Record<string, number>;
    };
    const stop = {
      ...(j.dec.iterations !== undefined ? { iterations: j.dec.iterations } : {}),
      ...(j.dec.stopReason ? { stopReason: j.dec.stopReason } : {}),
    };
    return {
      ...base,
      scores: pick(j.dec),
      baseline: j.baseline ? pick(j.baseline) : null,
      start: j.aeKmeans ? pick(j.aeKmeans) : null,
      ...stop,
      stages: j.timings,
      seconds: r.seconds,
      peakRssMb: r.peakRssMb,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const pick = (s: Scores): Scores => ({ acc: s.acc, nmi: s.nmi, ari: s.ari });

function seedsFor(d: Dataset, method: string): number[] {
  if (a.seeds === "tune") return TUNE_SEEDS;
  if (a.seeds === "report")
    return method === "default" && d.extraReportSeeds ? [...REPORT_SEEDS, ...d.extraReportSeeds] : REPORT_SEEDS;
  return a.seeds!.split(",").map(Number);
}

const wanted = a.datasets
  ? DATASETS.filter((d) => a.datasets!.split(",").includes(d.name))
  : DATASETS.filter((d) => d.name !== "mnist");
const methods = a.variant ? [a.variant] : a.methods!.split(",");

if (!a.table) {
  mkdirSync("bench/results", { recursive: true });
  const done = new Set(readRecords().map((r) => `${r.dataset}/${r.method}/${r.seed}/${r.commit}`));
  for (const d of wanted) {
    if (d.name === "mnist") prepareMnist(d);
    if (!existsSync(d.file)) throw new Error(`${d.file} is missing: run bash bench/datasets/build.sh`);
    for (const method of methods) {
      if (method === "torch-ref" && d.labelsFile) continue;
      if (method === "paper" && d.rows > Number(a["paper-max-rows"])) continue;
      for (const seed of seedsFor(d, method)) {
        if (done.has(`${d.name}/${method}/${seed}/${commit}`)) continue;
        let rec: RunRecord;
        try {
          rec = runOne(d, method, seed);
        } catch (e) {
          // A run that fails (e.g. SGD at lr 1 diverging on unscaled data) is a result too: recorded, shown as failed.
          const message =
            (e as Error).message.split("\n").find((l) => l.startsWith("deepclust:") || l.includes("Error")) ??
            (e as Error).message.slice(0, 200);
          appendFileSync(
            a.results!,
            JSON.stringify({
              dataset: d.name,
              method,
              seed,
              failed: message,
              cpu,
              threads: Number(threads),
              commit,
              date: new Date().toISOString(),
            }) + "\n",
          );
          console.error(`${d.name} ${method} seed ${seed}: FAILED ${message}`);
          continue;
        }
        appendFileSync(a.results!, JSON.stringify(rec) + "\n");
        console.error(
          `${d.name} ${method} seed ${seed}: ACC ${rec.scores.acc.toFixed(3)} NMI ${rec.scores.nmi.toFixed(3)} (${rec.seconds.toFixed(1)} s, ${Math.round(rec.peakRssMb)} MiB)`,
        );
      }
    }
  }
}

// Tables over the chosen seeds: the latest record of each (dataset, method, seed).
const latest = new Map<string, RunRecord>();
for (const r of readRecords()) latest.set(`${r.dataset}/${r.method}/${r.seed}`, r);
const meanSd = (xs: number[]) => {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / Math.max(1, xs.length - 1));
  return { m, sd, n: xs.length };
};
const fmt = (xs: number[]) =>
  xs.length
    ? `${meanSd(xs).m.toFixed(3)} ± ${meanSd(xs).sd.toFixed(3)}${xs.length < 3 ? ` (n = ${xs.length})` : ""}`
    : "–";
const COLUMNS: Array<{ title: string; method?: string; values: (d: Dataset, metric: keyof Scores) => number[] }> = [
  { title: "k-means (raw)", values: (d, m) => runs(d, "default").flatMap((r) => (r.baseline ? [r.baseline[m]] : [])) },
  {
    title: "AE + k-means (256-32 AE)",
    values: (d, m) => runs(d, "reference").flatMap((r) => (r.start ? [r.start[m]] : [])),
  },
  {
    title: "reference pipeline (PyTorch)",
    method: "torch-ref",
    values: (d, m) => runs(d, "torch-ref").map((r) => r.scores[m]),
  },
  { title: "--preset reference", method: "reference", values: (d, m) => runs(d, "reference").map((r) => r.scores[m]) },
  { title: "--preset paper", method: "paper", values: (d, m) => runs(d, "paper").map((r) => r.scores[m]) },
  { title: "**default**", method: "default", values: (d, m) => runs(d, "default").map((r) => r.scores[m]) },
];
function runs(d: Dataset, method: string): RunRecord[] {
  return seedsFor(d, method).flatMap((s) => {
    const r = latest.get(`${d.name}/${method}/${s}`);
    return r && !r.failed ? [r] : [];
  });
}
const failedRuns = (d: Dataset, method: string) =>
  seedsFor(d, method).filter((s) => latest.get(`${d.name}/${method}/${s}`)?.failed).length;
const shown = a.datasets ? wanted : DATASETS;
const lines: string[] = [];
for (const metric of ["acc", "nmi", "ari"] as const) {
  lines.push(`\n${metric.toUpperCase()} (mean ± sd over seeds ${a.seeds}):\n`);
  lines.push(`| dataset | ${COLUMNS.map((c) => c.title).join(" | ")} |`);
  lines.push(`|---|${COLUMNS.map(() => "---").join("|")}|`);
  for (const d of shown)
    lines.push(
      `| ${d.name} (${d.kind}) | ${COLUMNS.map((c) => {
        const f = c.method ? failedRuns(d, c.method) : 0;
        return fmt(c.values(d, metric)) + (f ? ` (${f} failed)` : "");
      }).join(" | ")} |`,
    );
}
lines.push(`\nTime (s) and peak RSS (MiB) per run, median over seeds:\n`);
const methodsShown = ["torch-ref", "reference", "paper", "default"];
lines.push(`| dataset | ${methodsShown.map((m) => `${m} s | ${m} MiB`).join(" | ")} |`);
lines.push(`|---|${methodsShown.map(() => "---|---").join("|")}|`);
const median = (xs: number[]) => (xs.length ? [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)]! : NaN);
for (const d of shown)
  lines.push(
    `| ${d.name} | ${methodsShown
      .map((m) => {
        const rs = runs(d, m);
        return rs.length
          ? `${median(rs.map((r) => r.seconds)).toFixed(1)} | ${Math.round(median(rs.map((r) => r.peakRssMb)))}`
          : "– | –";
      })
      .join(" | ")} |`,
  );
if (a.compare) {
  const ms = a.compare.split(",");
  lines.push(`\nACC / NMI means over seeds ${a.seeds}:\n`);
  lines.push(`| dataset | k-means raw | ${ms.join(" | ")} |`);
  lines.push(`|---|---|${ms.map(() => "---").join("|")}|`);
  const mean = (xs: number[]) => (xs.length ? (xs.reduce((x, y) => x + y, 0) / xs.length).toFixed(3) : "–");
  for (const d of shown) {
    const base = ms.flatMap((m) => runs(d, m)).flatMap((r) => (r.baseline ? [r] : []));
    const raw = [...new Map(base.map((r) => [r.seed, r.baseline!])).values()];
    lines.push(
      `| ${d.name} | ${mean(raw.map((b) => b.acc))} / ${mean(raw.map((b) => b.nmi))} | ${ms.map((m) => `${mean(runs(d, m).map((r) => r.scores.acc))} / ${mean(runs(d, m).map((r) => r.scores.nmi))} (${mean(runs(d, m).map((r) => r.seconds))} s)`).join(" | ")} |`,
    );
  }
}
const cpusSeen = [...new Set([...latest.values()].map((r) => r.cpu))];
const threadsSeen = [...new Set([...latest.values()].map((r) => r.threads ?? 2))];
lines.push(`\nCPU: ${cpusSeen.join("; ")}; threads per run: ${threadsSeen.join(", ")} (each record has its own).`);
console.log(lines.join("\n"));
// The committed table is the full reporting one; a tuning comparison or one data set only prints.
if (a.table && a.seeds === "report" && !a.datasets && a.results === "bench/results/quality-suite.jsonl")
  writeFileSync("bench/results/quality-suite-table.md", lines.join("\n") + "\n");
