// deepclust choose-k: which number of clusters the data supports. The autoencoder is pretrained
// once (as `train` would), then every candidate k is clustered by k-means on the code and scored
// by six criteria, and by k-means on the code's UMAP layout for a seventh; the table shows them,
// each criterion's own choice, and the recommendation.
// `train -k auto` runs the same selection (these options) and trains with the recommended k.

import { Command, InvalidArgumentError, Option } from "commander";
import { resolve } from "node:path";
import { DEFAULTS } from "../config.js";
import type { Device } from "../engine/index.js";
import { computedCriteria, kRange, type ChooseKResult, type CriterionName } from "../cluster/choose-k.js";
import type { DECConfig, Pretrained } from "../dec/dec-model.js";
import { PRESET_NAMES, presetConfig, type PresetName } from "../dec/presets.js";
import {
  chooseKOnData,
  refineCandidates,
  type ChooseKOnDataOptions,
  type RefinedCandidate,
} from "../pipeline/choose-k.js";
import { writeChooseKPage } from "../report/choose-k-page.js";
import type { Dataset } from "../io/index.js";
import { checkOutputFile } from "../io/index.js";
import { choice, deviceOption, dims, int, layerSizes, threadsOption } from "./options.js";
import { createProgress, type Progress } from "./progress.js";
import { loadDataset, printJson, seconds, table, type DataCliOptions } from "./common.js";
import { loadTexts } from "./texts.js";

/** The selection's options, shared by choose-k and train -k auto. */
export interface SelectionCliOptions {
  kRange: KRangeArg;
  kStep: number;
  kNInit: number;
  kSample: number | null;
  gapReferences: number;
  stabilityRuns: number;
  /** --no-k-layout: skip the layout's criterion. */
  kLayout: boolean;
}

interface ChooseKCliOptions extends DataCliOptions, Omit<SelectionCliOptions, "kRange" | "kStep"> {
  /** --k and --step: the candidates (train's --k-range and --k-step). */
  k: KRangeArg;
  step: number;
  preset: PresetName;
  dims?: number[];
  pretrainEpochs?: number;
  refine: "none" | "dec";
  seed: number;
  threads: number;
  device: Device;
  embedModel?: string;
  textColumn: string;
  out?: string;
  force: boolean;
  json: boolean;
}

export interface KRangeArg {
  from: number;
  to: number;
}

/** `a..b` (or one number a, or `a-b`): the candidate range of k. */
export function kRangeArg(v: string): KRangeArg {
  const m = /^\s*(\d+)\s*(?:(?:\.\.|-)\s*(\d+))?\s*$/.exec(v);
  const from = m ? Number(m[1]) : NaN;
  const to = m?.[2] !== undefined ? Number(m[2]) : from;
  if (!m || from < 2 || to < from)
    throw new InvalidArgumentError(`expected a range of k such as 2..30 (integers, 2 ≤ from ≤ to), got '${v}'`);
  return { from, to };
}

const c = DEFAULTS.chooseK;
const DEFAULT_RANGE = `${c.from}..${c.to}`;

/** The selection's options on a command: train's `--k-range` and `--k-step` are choose-k's `--k` and `--step`. */
export function withSelectionOptions(cmd: Command, rangeFlag: string, stepFlag: string): Command {
  return cmd
    .addOption(
      new Option(`${rangeFlag} <from..to>`, "candidate numbers of clusters")
        .argParser(kRangeArg)
        .default(kRangeArg(DEFAULT_RANGE), DEFAULT_RANGE),
    )
    .option(`${stepFlag} <n>`, "step between candidates (the last is always tried)", int(stepFlag, 1), c.step)
    .option("--k-n-init <n>", "k-means restarts per candidate", int("--k-n-init", 1), c.nInit)
    .addOption(
      new Option(
        "--k-sample <rows>",
        "score the candidates on a seeded sample of this many rows of the code ('all': every row)",
      )
        .argParser(sampleArg)
        .default(c.sampleSize, String(c.sampleSize)),
    )
    .option(
      "--gap-references <n>",
      "reference data sets of the gap statistic",
      int("--gap-references", 1),
      c.gapReferences,
    )
    .option(
      "--stability-runs <n>",
      "bootstrap resamples of the stability criterion",
      int("--stability-runs", 1),
      c.stabilityRuns,
    )
    .addOption(
      new Option(
        "--no-k-layout",
        "skip the layout's criterion (a UMAP layout of the sample, k-means on it per candidate: a few seconds on 10,000 rows); the recommendation then falls back on the code's criteria",
      ).default(c.layout),
    );
}

function sampleArg(v: string): number | null {
  if (v === "all") return null;
  return int("--k-sample", 10)(v);
}

/** The library's options from the command line's. */
export function selectionOptions(o: SelectionCliOptions): Omit<ChooseKOnDataOptions, "onPretrainEpoch"> {
  return {
    ks: kRange(o.kRange.from, o.kRange.to, o.kStep),
    nInit: o.kNInit,
    sampleSize: o.kSample,
    gapReferences: o.gapReferences,
    stabilityRuns: o.stabilityRuns,
    layout: o.kLayout,
  };
}

export function chooseKCommand(): Command {
  const cmd = new Command("choose-k")
    .description(
      "Recommend a number of clusters: pretrain the autoencoder once, then k-means on its code for every candidate k, scored by silhouette, Calinski–Harabasz, Davies–Bouldin, the gap statistic, bootstrap stability and the inertia curve's knee, and k-means on the code's UMAP layout, scored by Davies–Bouldin there",
    )
    .argument("<data>", "embeddings (CSV, JSONL, .npy or Parquet), or texts with --embed-model");
  withSelectionOptions(cmd, "--k", "--step");
  return cmd
    .option(
      "--refine <method>",
      "none, or dec: also train DEC from each candidate's start and score its clusters (silhouette, Calinski–Harabasz and Davies–Bouldin of the trained code; the other criteria stay k-means'); one clustering phase per candidate",
      choice("--refine", ["none", "dec"] as const),
      DEFAULTS.chooseK.refine,
    )
    .option(
      "--preset <name>",
      `the autoencoder's recipe, as in train: ${PRESET_NAMES.join(", ")}`,
      choice("--preset", PRESET_NAMES),
      DEFAULTS.preset,
    )
    .addOption(
      new Option("--dims <list>", "autoencoder layer sizes after the input (default: the preset's)").argParser(dims),
    )
    .option(
      "--pretrain-epochs <n>",
      "autoencoder pretraining epochs (default: the preset's)",
      int("--pretrain-epochs", 0),
    )
    .option("--seed <n>", "seed of every random choice", int("--seed"), DEFAULTS.seed)
    .addOption(threadsOption())
    .addOption(deviceOption())
    .option(
      "--embeddings-column <name>",
      "column (JSONL: key) holding the vectors (default: 'embeddings', else detected)",
    )
    .option("--embed-model <dir>", "the data is texts: embed them first with this model folder (see deepclust embed)")
    .option(
      "--text-column <name>",
      "with --embed-model: column (JSONL: key) holding the texts",
      DEFAULTS.embed.textColumn,
    )
    .option(
      "--labels-column <name>",
      "the labels column: not used to choose k (--refine dec reports each candidate's ACC against it)",
    )
    .option("--out <file>", "also write an HTML page with every criterion plotted against k (default: none)")
    .option("--force", "replace --out if it exists", false)
    .option("--json", "print one JSON object on stdout and nothing else", false)
    .addHelpText(
      "after",
      `
The recommendation is the layout's Davies–Bouldin choice: k-means on the code's UMAP layout (the
manifold start's), the candidate whose clusters are most compact and apart there, unless that is
the largest candidate (still falling: no minimum). Without it, or with --no-k-layout:
Calinski–Harabasz's choice when it peaks inside the range of k (a best value at the smallest or
largest candidate is no peak), else the k chosen by the most criteria (a tie: the best mean rank,
then the smaller k). Each criterion's own choice is listed beside it.

Example:
  deepclust choose-k train.csv --k 2..20 --out choose-k.html
  deepclust train train.csv -k auto --k-range 2..20`,
    )
    .action(async (data: string, o: ChooseKCliOptions) => run(data, o));
}

async function run(data: string, o: ChooseKCliOptions): Promise<void> {
  const progress = createProgress({ json: o.json });
  if (o.out !== undefined)
    checkOutputFile(
      { path: o.out, flag: "--out" },
      { inputs: [data, ...(o.embedModel !== undefined ? [o.embedModel] : [])], force: o.force },
    );
  const ds: Dataset = o.embedModel !== undefined ? (await loadTexts(data, o, progress)).ds : await loadDataset(data, o);
  const config = selectionConfig(o, ds);
  const chosen = await chooseKOnData(config, ds.X, {
    ...selectionOptions({ ...o, kRange: o.k, kStep: o.step }),
    ...selectionProgress(progress),
  });
  const { selection } = chosen;
  const refined = o.refine === "dec" ? await refine(config, ds, chosen.pretrained, selection, progress) : null;
  progress.stop();
  if (o.out !== undefined)
    await writeChooseKPage(o.out, selection, { title: `choose-k: ${data}`, data: resolve(data), refined });
  const summary = {
    data: resolve(data),
    dims: [ds.X.cols, ...chosen.pretrained.autoencoder.dims.slice(1)],
    preset: o.preset,
    seed: o.seed,
    pretrainSeconds: chosen.pretrained.seconds,
    ...selectionJson(selection),
    refined,
    out: o.out !== undefined ? resolve(o.out) : null,
  };
  if (o.json) return printJson(summary);
  for (const line of selectionLines(selection)) progress.log(line);
  if (refined) progress.log(`DEC from each candidate's start: ${refinedLine(refined)}`);
  if (o.out !== undefined) progress.log(`wrote ${o.out}`);
}

/** The preset's recipe for this data (k is chosen, so any value stands in). */
function selectionConfig(o: ChooseKCliOptions, ds: Dataset): Omit<DECConfig, "k"> {
  const overrides = {
    ...(o.dims ? { hidden: layerSizes(o.dims, ds.X.cols).slice(1) } : {}),
    ...(o.pretrainEpochs !== undefined ? { pretrainEpochs: o.pretrainEpochs } : {}),
  };
  const { k: _k, ...config } = presetConfig(o.preset, ds.X, 2, DEFAULTS.clustering.batchSize, overrides);
  return { ...config, seed: o.seed, threads: o.threads, device: o.device };
}

/** Progress of pretraining (epochs), of the candidates, and of the layout's criterion (UMAP epochs, then candidates). */
export function selectionProgress(
  progress: Progress,
): Pick<ChooseKOnDataOptions, "onPretrainEpoch" | "onPretrained" | "onCandidate" | "onLayout"> {
  let stage = "";
  return {
    onPretrainEpoch: (e) => {
      if (e.stage !== stage) {
        stage = e.stage;
        progress.start(stage, e.epochs, "epochs");
      }
      progress.update(e.epoch, `loss ${e.loss.toFixed(5)}`);
    },
    onPretrained: () => progress.stop(),
    onCandidate: (k, done, total) => {
      if (done === 1) progress.start("choosing k", total, "candidates");
      progress.update(done, `k = ${k}`);
    },
    onLayout: (stage, done, total) => {
      if (done === 1)
        progress.start(
          stage === "umap" ? "UMAP layout" : "k-means on the layout",
          total,
          stage === "umap" ? "epochs" : "candidates",
        );
      progress.update(done);
    },
  };
}

/** --refine dec: DEC from each candidate's start, with a progress bar over the candidates. */
async function refine(
  config: Omit<DECConfig, "k">,
  ds: Dataset,
  pretrained: Pretrained,
  selection: ChooseKResult,
  progress: Progress,
): Promise<RefinedCandidate[]> {
  progress.start("DEC per candidate", selection.ks.length, "candidates");
  return refineCandidates(config, ds.X, pretrained, selection.ks, {
    labels: ds.labels,
    onCandidate: (k, done) => progress.update(done, `k = ${k}`),
  });
}

function refinedLine(refined: RefinedCandidate[]): string {
  const best = (key: "silhouette" | "calinskiHarabasz", sign: number) =>
    refined.reduce((b, r) => ((r[key] ?? -Infinity) * sign > (b[key] ?? -Infinity) * sign ? r : b)).k;
  const db = refined.reduce((b, r) => ((r.daviesBouldin ?? Infinity) < (b.daviesBouldin ?? Infinity) ? r : b)).k;
  return `silhouette chooses ${best("silhouette", 1)}, Calinski–Harabasz ${best("calinskiHarabasz", 1)}, Davies–Bouldin ${db}`;
}

/** The selection as choose-k --json prints it and metrics.json records it. */
export function selectionJson(s: ChooseKResult) {
  return {
    recommended: s.recommended,
    reason: s.reason,
    ks: s.ks,
    rows: s.rows,
    sampleRows: s.sampleRows,
    criteria: s.criteria,
    inertia: s.inertia,
    gapStandardError: s.gapStandardError,
    stabilitySd: s.stabilitySd,
    votes: s.votes,
    seconds: s.seconds,
  };
}

const HEADERS: Record<CriterionName, string> = {
  silhouette: "silhouette",
  calinskiHarabasz: "Calinski–H.",
  daviesBouldin: "Davies–B.",
  gap: "gap",
  stability: "stability",
  knee: "inertia",
  layoutDaviesBouldin: "layout D–B.",
};

/** The table (a * marks each criterion's choice, ← the recommendation), the choices and the reason. */
export function selectionLines(s: ChooseKResult): string[] {
  const fmt = (name: CriterionName, v: number | null, i: number): string => {
    if (v === null) return "–";
    const text =
      name === "calinskiHarabasz" || name === "knee"
        ? v.toPrecision(5)
        : name === "gap"
          ? `${v.toFixed(3)}±${s.gapStandardError[i]!.toFixed(3)}`
          : v.toFixed(4);
    return s.criteria[name].choice === s.ks[i] ? `${text}*` : `${text} `;
  };
  const shown = computedCriteria(s.criteria);
  const rows = [
    ["k", ...shown.map((n) => `${HEADERS[n]} `), ""],
    ...s.ks.map((k, i) => [
      String(k),
      ...shown.map((n) => fmt(n, s.criteria[n].values[i] ?? null, i)),
      k === s.recommended ? "← recommended" : "",
    ]),
  ];
  const sampled = s.sampleRows < s.rows ? ` (a seeded sample of ${s.sampleRows} of the ${s.rows} rows)` : "";
  return [
    `k-means on the code${shown.includes("layoutDaviesBouldin") ? " and on its UMAP layout" : ""} for k = ${s.ks[0]}..${s.ks.at(-1)}${sampled} in ${seconds(s.seconds)}; * marks each criterion's choice`,
    ...table(rows),
    `choices: ${shown.map((n) => `${HEADERS[n].trim()} ${s.criteria[n].choice ?? "none"}`).join(", ")}`,
    `recommended k = ${s.recommended}: ${s.reason}`,
  ];
}
