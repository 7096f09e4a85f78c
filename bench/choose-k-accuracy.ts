// How often `deepclust choose-k` recommends the true number of classes: per criterion and for the
// recommendation, the hit rate (k̂ = k) and the mean |k̂ − k|, on labelled data whose number of
// classes is known. Each run is the whole command (pretraining included) in its own process, with
// candidates 2..60 for every data set (the range does not depend on the true k). One JSON line per
// run goes to bench/results/choose-k-accuracy.jsonl (a run already there is skipped); --table
// prints the summary.
//
//   bash bench/datasets/build.sh && npm run build
//   node --import tsx bench/choose-k-accuracy.ts --set tune     # chose the criteria's rules and the vote
//   node --import tsx bench/choose-k-accuracy.ts --set report   # reported: never run while choosing
//   node --import tsx bench/choose-k-accuracy.ts --table --set report
//
// Sets: "tune" = 36 generated mixtures (generator seeds 1000–1035; the first run used 1000–1011)
// and scikit-learn's wine (3), iris (3) and breast cancer (2); "report" = 24 generated mixtures
// (seeds 0–23, k from 2 to 50, varied dimension, size, imbalance and overlap), scikit-learn's
// digits (10), the bundled Reuters example (10) and MNIST-70k (10); "holdout" = 24 more mixtures
// (seeds 2000–2023), run once with the vote after "report" had been looked at; "fresh" = 36 more
// mixtures (seeds 3000–3035), run once after the recommendation rule was changed on the other 90;
// "fresh2" = 48 more (seeds 4000–4047), run once after the rule was changed again on all 126;
// "fresh3" = 36 more (seeds 5000–5035), run once after the layout's criterion and the rule that leans
// on it were chosen on "tune"; "fresh4" = 36 more (seeds 6000–6035), run once after the rule became
// the layout's choice alone, on "tune" and "fresh3" (see BENCHMARKS.md). Held out entirely: Fashion-MNIST, UCI letter recognition, OpenCV's digits.png.

import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  CRITERIA,
  CRITERION_RULES,
  recommendK,
  Rng,
  writeNpy,
  type CriterionName,
  type CriterionResult,
} from "../src/index.js";
import { cpuName } from "./cpu.js";

const { values: a } = parseArgs({
  options: {
    set: { type: "string", default: "report" },
    only: { type: "string" },
    results: { type: "string", default: "bench/results/choose-k-accuracy.jsonl" },
    table: { type: "boolean", default: false },
    threads: { type: "string", default: "2" },
    range: { type: "string", default: "2..60" },
  },
});

const DATA = "bench/datasets/data";
const MIXTURE_KS = [2, 3, 4, 5, 6, 7, 8, 10, 12, 15, 20, 25, 30, 40, 50];

interface Dataset {
  name: string;
  file: string;
  k: number;
  kind: string;
}

/**
 * A Gaussian mixture drawn from `seed`: k from MIXTURE_KS, dimension 2–50, 1,000–8,000 rows (at
 * least 40 per cluster), cluster weights from equal to 10-fold imbalanced, per-cluster diagonal
 * scales, and centres spread by a separation factor from overlapping to clear.
 */
function mixture(seed: number): { X: Float32Array; rows: number; cols: number; k: number; desc: string } {
  const r = new Rng(seed);
  const k = MIXTURE_KS[r.int(MIXTURE_KS.length)]!;
  const d = [2, 5, 10, 20, 50][r.int(5)]!;
  const rows = Math.max(40 * k * 2, [1000, 2000, 4000, 8000][r.int(4)]!);
  const imbalance = [1, 3, 10][r.int(3)]!;
  const separation = [2.5, 3.5, 5][r.int(3)]!;
  // Centres ~ N(0, s²) per dimension, s chosen so the typical nearest-centre distance grows with
  // `separation` in units of the clusters' spread whatever d and k are.
  const spread = (separation * Math.pow(k, 1 / Math.min(d, 10))) / Math.sqrt(2);
  const centres = Float64Array.from({ length: k * d }, () => r.normal() * spread);
  const scales = Float64Array.from({ length: k * d }, () => 0.5 + r.uniform());
  const weights = Array.from({ length: k }, (_, j) => Math.pow(imbalance, -j / Math.max(1, k - 1)));
  const total = weights.reduce((x, y) => x + y, 0);
  const counts = weights.map((w) => Math.max(20, Math.round((rows * w) / total)));
  const n = counts.reduce((x, y) => x + y, 0);
  const X = new Float32Array(n * d);
  let i = 0;
  counts.forEach((c, j) => {
    for (let t = 0; t < c; t++, i++)
      for (let q = 0; q < d; q++) X[i * d + q] = centres[j * d + q]! + scales[j * d + q]! * r.normal();
  });
  return { X, rows: n, cols: d, k, desc: `k=${k} d=${d} n=${n} imbalance=${imbalance} separation=${separation}` };
}

function mixtureSet(seeds: number[]): Dataset[] {
  mkdirSync(DATA, { recursive: true });
  return seeds.map((seed) => {
    const m = mixture(seed);
    const file = join(DATA, `choose-k-mix-${seed}.npy`);
    if (!existsSync(file)) writeNpy(file, { data: m.X, rows: m.rows, cols: m.cols });
    return { name: `mix-${seed}`, file, k: m.k, kind: m.desc };
  });
}

function datasets(set: string): Dataset[] {
  if (set === "tune")
    return [
      ...mixtureSet(Array.from({ length: 36 }, (_, i) => 1000 + i)),
      { name: "wine", file: join(DATA, "wine.csv"), k: 3, kind: "tabular 178 × 13" },
      { name: "iris", file: join(DATA, "iris.csv"), k: 3, kind: "tabular 150 × 4" },
      { name: "breast-cancer", file: join(DATA, "breast-cancer.csv"), k: 2, kind: "tabular 569 × 30" },
    ];
  if (set === "report")
    return [
      ...mixtureSet(Array.from({ length: 24 }, (_, i) => i)),
      { name: "digits", file: "test/fixtures/digits.csv", k: 10, kind: "images 1,797 × 64" },
      { name: "reuters", file: "examples/reuters/train.csv", k: 10, kind: "text 6,018 × 100" },
      { name: "mnist", file: join(DATA, "mnist70k.npy"), k: 10, kind: "images 70,000 × 784" },
    ];
  if (set === "holdout") return mixtureSet(Array.from({ length: 24 }, (_, i) => 2000 + i));
  if (set === "fresh") return mixtureSet(Array.from({ length: 36 }, (_, i) => 3000 + i));
  if (set === "fresh2") return mixtureSet(Array.from({ length: 48 }, (_, i) => 4000 + i));
  if (set === "fresh3") return mixtureSet(Array.from({ length: 36 }, (_, i) => 5000 + i));
  if (set === "fresh4") return mixtureSet(Array.from({ length: 36 }, (_, i) => 6000 + i));
  throw new Error(`--set tune, report, holdout, fresh, fresh2, fresh3 or fresh4, got ${set}`);
}

interface Record_ {
  set: string;
  dataset: string;
  kind: string;
  k: number;
  recommended: number;
  choices: Record<string, number | null>;
  /** The whole selection (every criterion's value per k), so other rules can be compared on it. */
  selection: unknown;
  seconds: number;
  commit: string;
  cpu: string;
  date: string;
}

function readRecords(): Record_[] {
  if (!existsSync(a.results!)) return [];
  return readFileSync(a.results!, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record_);
}

const set = a.set!;
const all = datasets(set).filter((d) => !a.only || a.only.split(",").includes(d.name));
const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
const cpu = cpuName();

if (a.table) {
  printTable(readRecords().filter((r) => r.set === set));
} else {
  const done = new Set(readRecords().map((r) => `${r.set}/${r.dataset}/${r.commit}`));
  for (const d of all) {
    if (done.has(`${set}/${d.name}/${commit}`)) continue;
    const t0 = performance.now();
    const run = spawnSync(
      process.execPath,
      ["dist/cli/main.js", "choose-k", d.file, "--k", a.range!, "--json", "--threads", a.threads!],
      { encoding: "utf8", maxBuffer: 1 << 26 },
    );
    if (run.status !== 0) {
      console.error(`${d.name}: exit ${run.status}\n${run.stderr}`);
      continue;
    }
    const out = JSON.parse(run.stdout) as Record<string, unknown> & {
      recommended: number;
      criteria: Record<string, { choice: number | null }>;
    };
    const rec: Record_ = {
      set,
      dataset: d.name,
      kind: d.kind,
      k: d.k,
      recommended: out.recommended,
      choices: Object.fromEntries(CRITERIA.map((c) => [c, out.criteria[c]!.choice])),
      selection: {
        ks: out.ks,
        criteria: out.criteria,
        gapStandardError: out.gapStandardError,
        stabilitySd: out.stabilitySd,
        inertia: out.inertia,
      },
      seconds: (performance.now() - t0) / 1000,
      commit,
      cpu,
      date: new Date().toISOString(),
    };
    appendFileSync(a.results!, JSON.stringify(rec) + "\n");
    console.log(
      `${d.name} (${d.kind}): true ${d.k}, recommended ${rec.recommended}; ${CRITERIA.map((c) => `${c} ${rec.choices[c]}`).join(", ")} (${rec.seconds.toFixed(0)} s)`,
    );
  }
  printTable(readRecords().filter((r) => r.set === set && r.commit === commit));
}

/** The shipped recommendation rule applied to a record's selection. */
function shipped(r: Record_): number {
  const s = r.selection as { ks: number[]; criteria: Record<CriterionName, CriterionResult> };
  // Recorded before the layout's criterion: without it (recommendK's rule for that case).
  const none = { values: s.ks.map(() => null), choice: null, rule: CRITERION_RULES.layoutDaviesBouldin };
  return recommendK(s.ks, { ...s.criteria, layoutDaviesBouldin: s.criteria.layoutDaviesBouldin ?? none }).recommended;
}

function printTable(records: Record_[]): void {
  if (!records.length) return console.log("no records");
  // The latest record of each data set.
  const latest = new Map<string, Record_>();
  for (const r of records) latest.set(r.dataset, r);
  const rs = [...latest.values()];
  const rows = [
    // Only the criteria these records have (the layout's is missing from those made before it).
    ...CRITERIA.filter((c) => rs.some((r) => c in r.choices)).map(
      (c) => [c, (r: Record_) => r.choices[c] ?? null] as const,
    ),
    // Replayed from the recorded selection: records made under an earlier rule count under the
    // shipped one.
    ["recommendation", (r: Record_) => shipped(r)] as const,
  ];
  console.log(
    `set ${set}: ${rs.length} data sets (${rs[0]!.cpu}; commits ${[...new Set(rs.map((r) => r.commit))].join(", ")})`,
  );
  console.log("| criterion | hits | hit rate | mean abs(k̂ − k) |");
  console.log("|---|---|---|---|");
  for (const [name, pick] of rows) {
    const hits = rs.filter((r) => pick(r) === r.k).length;
    const err = rs.reduce((s, r) => s + Math.abs((pick(r) ?? 0) - r.k), 0) / rs.length;
    console.log(`| ${name} | ${hits}/${rs.length} | ${(hits / rs.length).toFixed(2)} | ${err.toFixed(2)} |`);
  }
  console.log("\n| data | true k | recommended | " + CRITERIA.join(" | ") + " |");
  console.log("|---|---|---|" + CRITERIA.map(() => "---").join("|") + "|");
  for (const r of rs)
    console.log(
      `| ${r.dataset} (${r.kind}) | ${r.k} | ${shipped(r)} | ${CRITERIA.map((c) => r.choices[c] ?? "–").join(" | ")} |`,
    );
}
