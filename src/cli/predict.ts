// deepclust predict / evaluate: apply a model directory to new data.
// predict writes one output row per input row (pass-through columns, cluster, confidence = max q,
// optionally every q); it streams: reads a chunk of rows, assigns it, writes it through the atomic
// prediction writer, so its memory does not grow with the file. evaluate scores the model's
// clusters: against the data's labels when it has them (ACC, NMI, ARI), and always by the internal
// scores (silhouette, Calinski–Harabasz, Davies–Bouldin) of the model's code, streaming the same way
// (it keeps the labels, the clusters and the code; the input vectors only for --space input/both).

import { Command } from "commander";
import { resolve } from "node:path";
import { DEFAULTS } from "../config.js";
import type { Device } from "../engine/index.js";
import { evaluateClustering } from "../cluster/index.js";
import { modelInputFiles, type DECModel } from "../dec/model-dir.js";
import { InputError, type RowLabels } from "../io/index.js";
import { predictFile, type PredictFileSummary } from "../pipeline/predict-file.js";
import { SCORE_SPACES, scoreFile, type FileScores, type ScoreSpace } from "../pipeline/score-file.js";
import {
  choice,
  deviceOption,
  int,
  minConfidenceOption,
  outlierRateOption,
  outlierOptions,
  threadsOption,
} from "./options.js";
import { EMBED_MODEL_HELP, openModel } from "./texts.js";
import type { SentenceEncoder } from "../text/sentence-encoder.js";
import { createProgress } from "./progress.js";
import { PRECISION_HELP, PRECISIONS, type Precision } from "./precision.js";
import { UsageError } from "./errors.js";
import {
  checkPredictionsPath,
  classCount,
  clusterSizes,
  labelledCount,
  labelOptions,
  labelsColumnHelp,
  labelsSource,
  NO_LABELS_COLUMN,
  printJson,
  scoreLines,
  seconds,
  sizesLine,
  warn,
  type DataCliOptions,
} from "./common.js";

interface ApplyCliOptions extends DataCliOptions {
  embedModel?: string;
  textColumn: string;
  batchSize: number;
  threads: number;
  device: Device;
  precision: Precision;
  json: boolean;
}

interface EvaluateCliOptions extends ApplyCliOptions {
  space: ScoreSpace;
  silhouetteSample: number;
  seed: number;
}

interface PredictCliOptions extends ApplyCliOptions {
  out: string;
  proba: boolean;
  force: boolean;
  minConfidence?: number;
  outlierRate?: number;
}

function withApplyOptions(cmd: Command): Command {
  return cmd
    .option(
      "--embeddings-column <name>",
      "column (JSONL: key) holding the vectors (default: 'embeddings', else detected)",
    )
    .option("--batch-size <n>", "rows per inference batch", int("--batch-size", 1), DEFAULTS.predictBatchSize)
    .addOption(threadsOption())
    .addOption(deviceOption())
    .option("--precision <p>", PRECISION_HELP, choice("--precision", PRECISIONS), DEFAULTS.precision)
    .option("--embed-model <dir>", EMBED_MODEL_HELP)
    .option(
      "--text-column <name>",
      "for a model trained from texts: column (JSONL: key) holding the texts",
      DEFAULTS.embed.textColumn,
    )
    .option("--json", "print one JSON summary on stdout and nothing else", false);
}

export function predictCommand(): Command {
  return withApplyOptions(
    new Command("predict")
      .description("Assign every row of a data file to a cluster with a trained model")
      .argument("<model-dir>", "a model directory written by `deepclust train`")
      .argument("<data>", "embeddings of the model's input dimension: CSV, JSONL, .npy or Parquet")
      .option(
        "--out <file>",
        "predictions file, .csv or .jsonl: the input's other columns (id, text, labels …), cluster, confidence (= max q)",
        DEFAULTS.predictionsFile,
      )
      .option(
        "--labels-column <name>",
        `column holding ground-truth labels (not needed): copied to the output as written, after the other columns (default: 'labels' or 'label' when present; ${NO_LABELS_COLUMN}: no labels column, every column is copied in its place)`,
      )
      .option(
        "--proba",
        "also write every cluster's probability q (CSV: columns p0 … p{k-1}; JSONL: a 'probabilities' array)",
        false,
      )
      .option(
        "--force",
        "replace --out if it exists (never an input: the data, the labels file or the model's files)",
        false,
      )
      .addOption(
        minConfidenceOption(
          "rows whose confidence (max q) is below F get cluster -1 (outliers) (default: the model's threshold, if train stored one; 0: none)",
        ),
      )
      .addOption(
        outlierRateOption(
          "cluster -1 for rows below the confidence that R of the training rows fall below (the threshold from the training confidences config.json records)",
        ),
      ),
  ).action(async (modelDir: string, data: string, o: PredictCliOptions) => predict(modelDir, data, o));
}

export function evaluateCommand(): Command {
  return withApplyOptions(
    new Command("evaluate")
      .description(
        "Score a trained model's clusters of a data file: silhouette, Calinski-Harabasz and Davies-Bouldin of the model's code; with labels, also ACC, NMI, ARI",
      )
      .argument("<model-dir>", "a model directory written by `deepclust train`")
      .argument(
        "<data>",
        "embeddings of the model's input dimension, with or without ground-truth labels: CSV, JSONL, .npy or Parquet",
      )
      .option(
        "--labels-column <name>",
        labelsColumnHelp("scored against on the labelled rows; a column named here must exist"),
      )
      .option(
        "--labels-file <file>",
        "ground-truth labels in a separate file, one per row (.npy, IDX, or text; NaN, NA or an empty line: missing)",
      )
      .option(
        "--space <space>",
        "where the internal scores are computed: code (the model's encoder output), input (the data's vectors: keeps them all in memory), or both",
        choice("--space", SCORE_SPACES),
        DEFAULTS.scores.space,
      )
      .option(
        "--silhouette-sample <n>",
        "the silhouette is of a seeded sample of this many rows when there are more (0: exact, over every pair of rows)",
        int("--silhouette-sample"),
        DEFAULTS.scores.silhouetteSample,
      )
      .option("--seed <n>", "seed of the silhouette's sample", int("--seed"), DEFAULTS.seed),
  ).action(async (modelDir: string, data: string, o: EvaluateCliOptions) => evaluate(modelDir, data, o));
}

async function predict(modelDir: string, data: string, o: PredictCliOptions): Promise<void> {
  const progress = createProgress({ json: o.json });
  checkPredictionsPath(o.out, [data, o.labelsFile, ...modelInputFiles(modelDir)], o.force);
  const asked = outlierOptions(o);
  const { model, encoder, release } = await openModel(modelDir, o);
  let result: PredictFileSummary;
  try {
    let minConfidence: number | null;
    try {
      minConfidence = model.outlierThreshold(asked);
    } catch (e) {
      throw e instanceof RangeError ? new UsageError(`${modelDir}: ${e.message}`) : e;
    }
    result = await predictFile(model, data, o.out, {
      minConfidence,
      ...streamOptions(o, encoder),
      proba: o.proba,
      onStart: (total) => progress.start("predict", total, "rows"),
      onProgress: (rows) => progress.update(rows),
      onWarning: warn,
    });
  } finally {
    progress.stop();
    await release();
  }
  const summary = {
    model: resolve(modelDir),
    data: resolve(data),
    out: resolve(o.out),
    rows: result.rows,
    k: result.k,
    clustersFound: result.clustersFound,
    clusterSizes: result.clusterSizes,
    /** Rows given cluster -1 (confidence below minConfidence), not in clusterSizes. */
    outliers: result.outliers,
    /** The threshold applied (null: none): --min-confidence, --outlier-rate's, or the model's default. */
    minConfidence: result.minConfidence,
    meanConfidence: result.meanConfidence,
    probabilities: o.proba,
    precision: o.precision,
    seconds: result.seconds,
    rowsPerSecond: result.rowsPerSecond,
    /** The process's peak resident memory (maximum RSS), in MiB. */
    peakRssMb: peakRssMb(),
  };
  if (o.json) return printJson(summary);
  progress.log(
    `assigned ${result.rows} rows of ${data} to ${result.k} clusters in ${seconds(result.seconds)} (mean confidence ${summary.meanConfidence.toFixed(4)}, peak memory ${summary.peakRssMb} MiB)`,
  );
  progress.log(sizesLine(result.clusterSizes));
  if (result.minConfidence !== null)
    progress.log(
      `outliers (cluster -1, confidence < ${result.minConfidence.toFixed(4)}): ${result.outliers} rows (${((100 * result.outliers) / Math.max(1, result.rows)).toFixed(1)} %)`,
    );
  progress.log(`wrote ${o.out}`);
}

async function evaluate(modelDir: string, data: string, o: EvaluateCliOptions): Promise<void> {
  const progress = createProgress({ json: o.json });
  const { model, encoder, release } = await openModel(modelDir, o);
  let found: FileScores;
  try {
    found = await scoreFile(model, data, {
      ...streamOptions(o, encoder),
      space: o.space,
      silhouetteSample: o.silhouetteSample,
      seed: o.seed,
      threads: o.threads,
      onStart: (total) => progress.start("evaluate", total, "rows"),
      onProgress: (rows) => progress.update(rows),
    });
  } finally {
    progress.stop();
    await release();
  }
  const { clusters: pred, labels: truth, labelsColumn, internal } = found;
  const where = { model: resolve(modelDir), data: resolve(data), labelsColumn };
  let summary: ReturnType<typeof scoreSummary> | ReturnType<typeof unlabelledSummary>;
  if (truth === null) summary = unlabelledSummary(model, pred, where);
  else {
    if (labelledCount(truth) === 0)
      throw new InputError(
        labelsSource(data, labelsColumn, o),
        `every one of the ${pred.length} labels is missing (empty, NA, NaN, null …): nothing to score against`,
      );
    summary = scoreSummary(model, truth, pred, where);
  }
  const full = { ...summary, internal };
  if (o.json) return printJson(full);
  for (const line of scoreLines(full)) progress.log(line);
  progress.log(sizesLine(summary.clusterSizes));
}

/** Without labels: the rows, the clusters found and their sizes (the internal scores are added by evaluate). */
function unlabelledSummary(model: DECModel, pred: Int32Array, extra: Record<string, unknown>) {
  const sizes = clusterSizes(pred, model.k);
  return {
    ...extra,
    n: pred.length,
    k: model.k,
    clustersFound: sizes.filter((s) => s > 0).length,
    clusterSizes: sizes,
  };
}

/** The library's stream options from the command line's (with an encoder: the input is texts). */
function streamOptions(o: ApplyCliOptions, encoder: SentenceEncoder | null) {
  return {
    ...(encoder ? { encoder, textColumn: o.textColumn } : {}),
    ...(o.embeddingsColumn !== undefined ? { embeddingsColumn: o.embeddingsColumn } : {}),
    ...labelOptions(o),
    batchSize: o.batchSize,
  };
}

/** The peak resident set size of this process so far, in MiB, to 0.1. */
function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 102.4) / 10;
}

/** Scores over the labelled rows (n: every row; labelled, unlabelled: how many have a label and not). */
function scoreSummary(model: DECModel, truth: RowLabels, pred: Int32Array, extra: Record<string, unknown>) {
  const scores = evaluateClustering(truth, pred);
  const sizes = clusterSizes(pred, model.k);
  const labelled = labelledCount(truth);
  return {
    ...extra,
    n: pred.length,
    labelled,
    unlabelled: pred.length - labelled,
    k: model.k,
    clustersFound: sizes.filter((s) => s > 0).length,
    classes: classCount(truth),
    ...scores,
    clusterSizes: sizes,
  };
}
