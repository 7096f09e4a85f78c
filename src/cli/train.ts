// deepclust train: the whole pipeline on an embeddings file (denoising autoencoder pretraining,
// k-means on the code, the DEC/IDEC clustering phase), written as a model directory, with the
// comparison a user needs to judge it: k-means on the raw data vs DEC's start (AE + k-means, or
// AE + UMAP + GMM) vs DEC.

import { Command, InvalidArgumentError, Option } from "commander";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { DEFAULTS, resolveConfig, type ResolvedConfig } from "../config.js";
import { Rng, executionProviders, type Device, type Matrix, type Rows } from "../engine/index.js";
import { NOISE_KINDS, INIT_NAMES, type InitName, type NoiseKind } from "../nn/index.js";
import { kmeans, evaluateClustering, type ClusteringScores } from "../cluster/index.js";
import { INPUT_SCALINGS, AUTO_SPREAD, type InputScaling } from "../dec/input-scaling.js";
import {
  DEC,
  CLUSTERING_METHODS,
  OBJECTIVES,
  CENTER_INITS,
  trainingSummary,
  startStage,
  isMixtureStart,
  type CenterInit,
  type ClusteringMethod,
  type DECConfig,
  type FitOptions,
  type TargetMode,
  type TrainingSummary,
  type UpdateRecord,
} from "../dec/index.js";
import { PRESET_NAMES, PRESET_SUMMARIES, presetConfig, type PresetName, type RecipeOverrides } from "../dec/presets.js";
import { saveModel, loadModel, MODEL_DIR, MODEL_FILES } from "../dec/model-dir.js";
import { CHECKPOINT_DIR } from "../dec/checkpoint.js";
import {
  assertSeparateOutputs,
  checkOutputDir,
  InputError,
  ParquetSource,
  readLabelsFile,
  samePath,
  type Dataset,
  type RowLabels,
} from "../io/index.js";
import { openTrainingSource, shuffleBlockFor, type OutOfCoreSource } from "../pipeline/training-source.js";
import { datasetTopics } from "../pipeline/topics-file.js";
import type { EmbeddingRecord } from "../pipeline/text-source.js";
import { loadTexts } from "./texts.js";
import { chooseKOnData, type ChosenK } from "../pipeline/choose-k.js";
import { seedStability, type SeedStability } from "../pipeline/seed-stability.js";
import {
  selectionJson,
  selectionLines,
  selectionOptions,
  selectionProgress,
  withSelectionOptions,
  type SelectionCliOptions,
} from "./choose-k.js";
import type { ClusterTopic } from "../text/topics.js";
import { REPORT_FILE, writeReport } from "../report/index.js";
import {
  choice,
  deviceOption,
  dims,
  float,
  int,
  layerSizes,
  minConfidenceOption,
  outlierOptions,
  outlierRateOption,
  threadsOption,
} from "./options.js";
import { createProgress, type Progress } from "./progress.js";
import { UsageError } from "./errors.js";
import {
  checkK,
  labelledCount,
  labelledText,
  labelOptions,
  labelsColumnHelp,
  labelsOf,
  labelsSource,
  loadDataset,
  percent,
  printJson,
  scoreCells,
  internalScoresLine,
  seconds,
  sizesLine,
  table,
  usableLabels,
  warn,
  type DataCliOptions,
} from "./common.js";

interface TrainCliOptions extends DataCliOptions, SelectionCliOptions {
  /** -k: a number, or "auto" (choose it, as choose-k does). */
  clusters: number | "auto";
  /** --stability n: train n seeds in all and compare their labelings (unset: off). */
  stability?: number;
  preset: PresetName;
  // Unset: the preset's value.
  dims?: number[];
  method?: ClusteringMethod;
  target?: TargetMode;
  pretrainEpochs?: number;
  pretrainLr?: number;
  pretrainOptimizer?: "adam" | "sgd";
  pretrainMomentum?: number;
  noise?: NoiseKind;
  noiseFactor?: number;
  normalizeCode: boolean;
  init?: CenterInit | InitName;
  weightInit: InitName;
  inputScaling?: InputScaling;
  umapComponents?: number;
  umapNeighbors?: number;
  umapEpochs?: number;
  gmmRestarts?: number;
  anchorUpdates?: number;
  holdEpochs?: number;
  selfTrain: boolean;
  batchSize: number;
  updateInterval?: number;
  tol?: number;
  maxIter: number;
  optimizer?: "sgd" | "adam";
  lr?: number;
  momentum?: number;
  encoderLr?: number;
  clip?: number;
  freezeEncoder: boolean;
  shuffle: boolean;
  gamma: number;
  alpha: number;
  nInit: number;
  selectBestByLabels: boolean;
  baseline: boolean;
  seed: number;
  threads: number;
  device: Device;
  out: string;
  force: boolean;
  checkpointEvery?: number;
  checkpointDir?: string;
  resume?: string;
  report: boolean;
  outOfCore: boolean;
  memoryBudget?: number;
  shuffleBlock?: number;
  kmeansSample?: number;
  json: boolean;
  embedModel?: string;
  textColumn: string;
  minConfidence?: number;
  outlierRate?: number;
}

const MAX_WARNINGS_SHOWN = 10;
/** Top terms per cluster in the summary. */
const TERMS_SHOWN = 6;

/** -k's value: an integer ≥ 1, or auto. */
function clustersArg(v: string): number | "auto" {
  return v === "auto" ? "auto" : int("-k", 1)(v);
}

export function trainCommand(): Command {
  const cmd = new Command("train")
    .description("Train a DEC / IDEC clustering model on an embeddings file and write it as a model directory")
    .argument(
      "<data>",
      "embeddings: CSV (an 'embeddings' column of JSON arrays, or one numeric column per dimension), JSONL, .npy or Parquet",
    )
    .requiredOption(
      "-k, --clusters <n|auto>",
      "number of clusters (1 ≤ k ≤ rows), or auto: choose it first as deepclust choose-k does (on the same pretraining; the --k-* options), and record the evidence",
      clustersArg,
    )
    .option(
      "--preset <name>",
      `the recipe every unset option below comes from: ${PRESET_NAMES.map((n) => `${n} (${PRESET_SUMMARIES[n]})`).join("; ")}`,
      choice("--preset", PRESET_NAMES),
      DEFAULTS.preset,
    )
    .addOption(
      new Option(
        "--dims <list>",
        "autoencoder layer sizes after the input, e.g. 256,32 or the paper's 500,500,2000,10 (the full form 768,256,32 is accepted when it starts with the input dim) (default: the preset's)",
      ).argParser(dims),
    )
    .option(
      "--method <name>",
      `${CLUSTERING_METHODS.map((m) => `${m} (${OBJECTIVES[m].summary})`).join(" or ")} (default: the preset's)`,
      choice("--method", CLUSTERING_METHODS),
    )
    .option(
      "--init <name>",
      `how the centres start: ${CENTER_INITS.join(", ")} (manifold: UMAP of the code + Gaussian mixture, after N2D; gmm: a Gaussian mixture on the code itself) (default: the preset's)`,
      choice("--init", [...CENTER_INITS, ...INIT_NAMES]),
    )
    .option(
      "--target <mode>",
      "full: target P from the whole dataset every --update-interval iterations (the paper); batch: P from each batch (the reference implementation) (default: the preset's)",
      choice("--target", ["full", "batch"] as const),
    )
    .option(
      "--pretrain-epochs <n>",
      "autoencoder pretraining epochs (0: no pretraining) (default: the preset's)",
      int("--pretrain-epochs", 0),
    )
    .option(
      "--pretrain-optimizer <name>",
      "adam, or sgd with momentum (default: the preset's)",
      choice("--pretrain-optimizer", ["adam", "sgd"] as const),
    )
    .option(
      "--pretrain-lr <f>",
      `learning rate of the pretraining optimizer (default: the preset's, else ${DEFAULTS.learningRate.adam} for adam, ${DEFAULTS.learningRate.sgd} for sgd)`,
      float("--pretrain-lr", { min: 0 }),
    )
    .option(
      "--pretrain-momentum <f>",
      `momentum of --pretrain-optimizer sgd (default: the preset's, else ${DEFAULTS.momentum})`,
      float("--pretrain-momentum", { min: 0, max: 1 }),
    )
    .option(
      "--noise <kind>",
      `input corruption during pretraining: ${NOISE_KINDS.join(", ")} (default: the preset's)`,
      choice("--noise", NOISE_KINDS),
    )
    .option(
      "--noise-factor <f>",
      `mask: probability of zeroing a value; gaussian: multiple of each feature's std (default: the preset's, else ${DEFAULTS.pretrain.noise.factor})`,
      float("--noise-factor", { min: 0 }),
    )
    .option(
      "--umap-components <n>",
      `--init manifold: UMAP output dimensions (default ${DEFAULTS.manifold.nComponents})`,
      int("--umap-components", 1),
    )
    .option(
      "--umap-neighbors <n>",
      `--init manifold: neighbours of UMAP's graph (default ${DEFAULTS.manifold.nNeighbors})`,
      int("--umap-neighbors", 2),
    )
    .option(
      "--umap-epochs <n>",
      `--init manifold: UMAP layout epochs (default ${DEFAULTS.manifold.nEpochs})`,
      int("--umap-epochs", 1),
    )
    .option(
      "--gmm-restarts <n>",
      `--init manifold or gmm: Gaussian-mixture restarts (on the layout or the code) (default ${DEFAULTS.manifold.restarts})`,
      int("--gmm-restarts", 1),
    )
    .option(
      "--self-train",
      "--init manifold or gmm: after --anchor-updates target updates with the mixture's posteriors as the target, go on with DEC's own target (default: keep the mixture's until the labels settle or --hold-epochs)",
      false,
    )
    .option(
      "--hold-epochs <n>",
      `--init manifold or gmm: most epochs of clustering iterations with the mixture's posteriors held as the target, or 'inf' (until the labels settle) (default ${DEFAULTS.manifold.holdEpochs}; ${DEFAULTS.mixtureStart.holdEpochs} with --init gmm)`,
      holdEpochsArg,
    )
    .option(
      "--anchor-updates <n>",
      `--init manifold or gmm with --self-train: target updates with the mixture's posteriors as the target (default ${DEFAULTS.manifold.anchorUpdates})`,
      int("--anchor-updates", 1),
    )
    .option(
      "--input-scaling <mode>",
      `standardise the features while training, folded into the saved model: ${INPUT_SCALINGS.join(", ")} (auto: when the features' scales differ more than ${AUTO_SPREAD}-fold) (default: the preset's)`,
      choice("--input-scaling", INPUT_SCALINGS),
    )
    .option(
      "--normalize-code",
      "L2-normalise the code before the decoder during pretraining (the reference implementation's quirk; never at inference)",
      false,
    )
    .option(
      "--weight-init <name>",
      `weight initialisation: ${INIT_NAMES.join(", ")}`,
      choice("--weight-init", INIT_NAMES),
      DEFAULTS.weightInit,
    )
    .option(
      "--batch-size <n>",
      "minibatch size of pretraining and clustering",
      int("--batch-size", 1),
      DEFAULTS.clustering.batchSize,
    )
    .option(
      "--update-interval <n>",
      "iterations between target updates and label-change checks (default: about half an epoch, within [10, 140])",
      int("--update-interval", 1),
    )
    .option(
      "--tol <f>",
      "stop when fewer than this fraction of points changed cluster since the last update (0: run --max-iter iterations) (default: the preset's)",
      float("--tol", { min: 0, max: 1 }),
    )
    .option("--max-iter <n>", "most clustering iterations (batches)", int("--max-iter", 0), DEFAULTS.clustering.maxIter)
    .option(
      "--optimizer <name>",
      "optimizer of the clustering phase: sgd (with momentum, the paper) or adam (default: the preset's)",
      choice("--optimizer", ["sgd", "adam"] as const),
    )
    .option(
      "--lr <f>",
      `learning rate of the clustering phase (default: the preset's, else ${DEFAULTS.learningRate.sgd} with sgd, ${DEFAULTS.learningRate.adam} with adam)`,
      float("--lr", { min: 0 }),
    )
    .option(
      "--momentum <f>",
      `SGD momentum (default: the preset's, else ${DEFAULTS.momentum})`,
      float("--momentum", { min: 0, max: 1 }),
    )
    .option(
      "--encoder-lr <f>",
      "learning rate of the encoder in the clustering phase, e.g. the reference implementation's 1e-6 (default: --lr)",
      float("--encoder-lr", { min: 0 }),
    )
    .option(
      "--clip <f>",
      "clip the global gradient norm to this (default: no clipping; the reference implementation: 1)",
      float("--clip", { min: 0 }),
    )
    .option("--freeze-encoder", "train the cluster centres only; the encoder stays as pretrained", false)
    .option(
      "--no-shuffle",
      "iterate batches in the data's own order, each pass ending with a partial batch (the reference implementation) (default: reshuffle every pass)",
    )
    .option(
      "--gamma <f>",
      "IDEC: weight of the clustering loss in L_rec + γ·L_KL",
      float("--gamma", { min: 0 }),
      DEFAULTS.clustering.gamma,
    )
    .option(
      "--alpha <f>",
      "Student-t degrees of freedom of the soft assignment",
      float("--alpha", { min: Number.MIN_VALUE }),
      DEFAULTS.clustering.alpha,
    )
    .option(
      "--n-init <n>",
      "k-means restarts (best inertia wins), for the cluster initialisation and the raw-data baseline",
      int("--n-init", 1),
      DEFAULTS.kmeans.nInit,
    )
    .option(
      "--select-best-by-labels",
      "keep the state with the best ACC against the labels (the reference implementation's model selection: SUPERVISED, it uses the labels)",
      false,
    )
    .option("--no-baseline", "skip k-means on the raw data (default: run it when there are labels)")
    .option(
      "--seed <n>",
      "seed of every random choice (initialisation, shuffling, noise, k-means)",
      int("--seed"),
      DEFAULTS.seed,
    )
    .addOption(threadsOption())
    .addOption(deviceOption())
    .option(
      "--embeddings-column <name>",
      "column (JSONL: key) holding the vectors (default: 'embeddings', else detected)",
    )
    .option(
      "--embed-model <dir>",
      "the data is texts: embed them first with this model folder (see deepclust embed); the model directory records it, and predict, evaluate and topics then take texts",
    )
    .option(
      "--text-column <name>",
      "with --embed-model: column (JSONL: key) holding the texts",
      DEFAULTS.embed.textColumn,
    )
    .option("--labels-column <name>", labelsColumnHelp("used for evaluation only (scores on the labelled rows)"))
    .option("--labels-file <file>", "ground-truth labels in a separate file, one per row (.npy, IDX, or text)")
    .option("--out <dir>", `model directory to write (${Object.values(MODEL_FILES).join(", ")})`, DEFAULTS.modelDir)
    .option(
      "--force",
      "replace --out (and the checkpoint directory) if it exists and is deepclust's (never an input, a directory holding one, or the working directory)",
      false,
    )
    .option(
      "--checkpoint-every <n>",
      "save a resumable checkpoint every n target updates into --checkpoint-dir, kept after the run (default: no checkpoints)",
      int("--checkpoint-every", 1),
    )
    .option("--checkpoint-dir <dir>", "where checkpoints go (default: <out>.checkpoint)")
    .option(
      "--resume <dir>",
      "resume the clustering phase from a checkpoint directory; the data and options must be the checkpoint's (checked: only --threads, --device and --max-iter may change); pretraining and k-means are skipped (default: start from scratch)",
    )
    .option(
      "--no-report",
      `skip the HTML report (default: write <out>/${REPORT_FILE} from the training data; see deepclust report)`,
    )
    .option(
      "--out-of-core",
      "read a .npy or Parquet file from disk while training instead of loading it (Parquet: a row group at a time) (default: only when the file is larger than --memory-budget)",
      false,
    )
    .option(
      "--memory-budget <MB>",
      "a .npy or Parquet file larger than this trains out of core (default: half the free memory)",
      int("--memory-budget", 0),
    )
    .option(
      "--kmeans-sample <rows>",
      "run the initial k-means on this many seeded rows of the code, then assign every row (default: all rows)",
      int("--kmeans-sample", 1),
    )
    .option(
      "--shuffle-block <rows>",
      `block-shuffled passes, reading blocks of this many consecutive rows (default out of core: ${DEFAULTS.outOfCoreBlockRows} for .npy, the row-group size for Parquet; in memory: a true permutation; 0: a true permutation, not for Parquet out of core)`,
      int("--shuffle-block", 0),
    )
    .option(
      "--stability <n>",
      "also train with the next n − 1 seeds (n trainings in all) and report how much the labelings agree: pairwise ARI, and each cluster's best-match Jaccard across seeds (default: off)",
      int("--stability", 2),
    )
    .addOption(
      minConfidenceOption(
        "store a default outlier threshold in the model: predict and serve give rows whose confidence (max q) is below F the cluster -1",
      ),
    )
    .addOption(
      outlierRateOption(
        "store a default outlier threshold in the model: the confidence that R of the training rows fall below (predict and serve give them cluster -1)",
      ),
    )
    .option("--json", "print one JSON summary on stdout and nothing else", false);
  return withSelectionOptions(cmd, "--k-range", "--k-step")
    .addHelpText(
      "after",
      `
Prints k-means on the raw data vs DEC's start (AE + k-means, or AE + UMAP + GMM) vs DEC (ACC, NMI, ARI when the data has labels),
cluster sizes and the time of each stage, and warns about collapsed or empty clusters.
Labels are used for evaluation only, unless --select-best-by-labels.

Example:
  deepclust train train.csv -k 10 --dims 256,32 --out model
  deepclust predict model test.csv --out predictions.csv`,
    )
    .action(async (data: string, o: TrainCliOptions) => train(data, o));
}

async function train(data: string, o: TrainCliOptions): Promise<void> {
  const progress = createProgress({ json: o.json });
  const out = o.out.replace(/(.)[/\\]+$/, "$1");
  if (o.resume !== undefined && !existsSync(o.resume))
    throw new UsageError(`--resume ${o.resume}: no such checkpoint directory`);
  if (o.checkpointDir !== undefined && o.checkpointEvery === undefined)
    throw new UsageError("--checkpoint-dir needs --checkpoint-every");
  const checkpointDir = o.checkpointEvery !== undefined ? (o.checkpointDir ?? `${out}.checkpoint`) : undefined;
  outlierOptions(o); // both at once fails here, before any work
  checkOutputs(data, o, out, checkpointDir);
  executionProviders(o.device); // an unavailable device fails here, before any work

  if (o.embedModel !== undefined) {
    if (o.outOfCore) throw new UsageError("--embed-model trains in memory: leave out --out-of-core");
    if (o.labelsFile !== undefined)
      throw new UsageError("--embed-model reads labels from a column of the texts' file, not --labels-file");
    const { ds, embedding } = await loadTexts(data, o, progress);
    if (o.clusters !== "auto") checkK(o.clusters, ds);
    const d = { file: data, X: ds.X, ds, source: null, labels: labelsOf(ds, o), labelsColumn: ds.labelsColumn };
    return trainOn(d, o, out, checkpointDir, progress, embedding);
  }
  const source = openTrainingSource(data, {
    outOfCore: o.outOfCore,
    ...(o.memoryBudget !== undefined ? { memoryBudgetMb: o.memoryBudget } : {}),
    ...(o.shuffleBlock !== undefined ? { shuffleBlock: o.shuffleBlock } : {}),
    ...(o.embeddingsColumn !== undefined ? { embeddingsColumn: o.embeddingsColumn } : {}),
    resuming: o.resume !== undefined,
  });
  try {
    await trainOn(await readTrainingData(data, o, source), o, out, checkpointDir, progress);
  } finally {
    source?.close();
  }
}

/**
 * Before any work: --out is never an input, never holds one, is not the working directory or above
 * it, and an existing one is replaced (--force) only when it is a model directory; the same for
 * the checkpoint directory, which may be the --resume directory itself (read whole before it is
 * rewritten).
 */
function checkOutputs(data: string, o: TrainCliOptions, out: string, checkpointDir: string | undefined): void {
  const inputs = [data, o.labelsFile, o.resume].filter((f): f is string => f !== undefined);
  const model = { path: out, flag: "--out" };
  checkOutputDir(model, { inputs, force: o.force, kind: MODEL_DIR });
  if (checkpointDir === undefined) return;
  const checkpoint = {
    path: checkpointDir,
    flag: o.checkpointDir !== undefined ? "--checkpoint-dir" : "the checkpoint directory (<out>.checkpoint)",
  };
  assertSeparateOutputs(model, checkpoint);
  if (o.resume !== undefined && samePath(checkpointDir, o.resume)) return;
  checkOutputDir(checkpoint, { inputs, force: o.force, kind: CHECKPOINT_DIR });
}

/** The training data: loaded whole (ds), or read from disk (source), with its labels. */
interface TrainingData {
  file: string;
  X: Rows;
  ds: Dataset | null;
  source: OutOfCoreSource | null;
  labels: RowLabels | null;
  labelsColumn: string | null;
}

async function readTrainingData(data: string, o: TrainCliOptions, source: OutOfCoreSource | null) {
  if (!source) {
    const ds = await loadDataset(data, o);
    if (o.clusters !== "auto") checkK(o.clusters, ds);
    return { file: data, X: ds.X, ds, source, labels: labelsOf(ds, o), labelsColumn: ds.labelsColumn };
  }
  const lo = labelOptions(o);
  let labels: RowLabels | null = null;
  let labelsColumn: string | null = null;
  if (lo.labelsFile !== undefined) {
    if (source instanceof ParquetSource && o.labelsColumn !== undefined)
      throw new InputError(data, "give either a labels column or a labels file, not both");
    labels = readLabelsFile(lo.labelsFile, source.rows, data, false);
  } else if (source instanceof ParquetSource) {
    const column = source.readLabels(lo); // one small column, read a row group at a time
    labels = column?.labels ?? null;
    labelsColumn = column?.column ?? null;
  }
  if (o.clusters !== "auto" && o.clusters > source.rows)
    throw new InputError(data, `k = ${o.clusters} clusters is more than the ${source.rows} data rows`);
  labels = usableLabels(labels, labelsSource(data, labelsColumn, o));
  return { file: data, X: source, ds: null, source, labels, labelsColumn } satisfies TrainingData;
}

/** The command line's options once k is known (given, or chosen by -k auto). */
type KnownK = TrainCliOptions & { clusters: number };

async function trainOn(
  d: TrainingData,
  given: TrainCliOptions,
  out: string,
  checkpointDir: string | undefined,
  progress: Progress,
  embedding?: EmbeddingRecord,
): Promise<void> {
  if (given.selectBestByLabels && !d.labels)
    throw new UsageError("--select-best-by-labels needs labels (a labels column or --labels-file)");
  if (given.clusters === "auto" && given.resume !== undefined)
    throw new UsageError("--resume continues a run of a known k: give -k the number that run chose, not auto");
  const chosen = given.clusters === "auto" ? await chooseKForTraining(d, given, progress) : null;
  const o: KnownK = { ...given, clusters: chosen ? chosen.selection.recommended : (given.clusters as number) };
  const config = decConfig(d, o);
  const resolved = resolveConfig(config, d.X.rows);
  describeRun(d, o, resolved, progress);

  const dec = new DEC(config);
  // A checkpoint of another run (other data or options) is refused here, before any work.
  if (o.resume !== undefined) dec.checkResume(o.resume, d.X, d.labels ?? undefined);
  const baseline = d.labels && o.baseline && d.ds ? await rawBaseline(d.ds.X, d.labels, o, progress) : null;
  await dec.fit(d.X, {
    ...(d.labels ? { labels: d.labels } : {}),
    ...(chosen ? { pretrained: chosen.pretrained } : {}),
    ...(o.resume !== undefined ? { resumeFrom: o.resume } : {}),
    ...(checkpointDir !== undefined ? { checkpoint: { dir: checkpointDir, every: o.checkpointEvery! } } : {}),
    ...progressHooks(resolved, progress),
  });
  progress.stop();
  const stability = o.stability !== undefined ? await trainSeeds(config, d, dec, o, progress) : null;
  if (dec.scaling)
    progress.log(
      `input scaling: ${d.X.cols} features standardised while training (their scales differ more than ${AUTO_SPREAD}-fold, or --input-scaling standardize); folded into the saved model, which takes raw inputs`,
    );

  const run = saveRun(dec, d, o, out, { baseline, embedding, chosen, stability });
  const written = o.report && d.ds ? await trainingReport(out, d.ds, o, progress) : null;
  const report = written?.file ?? null;
  // The report computed them when it was written; else (no report, or out of core: none) here.
  const topics = written ? written.topics : d.ds ? await datasetTopics(dec, d.ds) : null;
  if (o.json) return printJson({ ...jsonSummary(d, o, out, run, report, topics), chooseK: run.chooseK, stability });
  printSummary(
    dec,
    run.fitted,
    { baseline, labels: d.labels, topics, o, out, report, totalSeconds: run.timings.totalSeconds, stability },
    progress,
  );
  if (run.outliers)
    progress.log(
      `outliers: predict and serve give cluster -1 to rows whose confidence is below ${run.outliers.minConfidence.toFixed(4)}${run.outliers.rate !== null ? ` (${percent(run.outliers.rate, 1)} of the training rows)` : ""}`,
    );
}

/** Writes the model directory; returns the fit's summary, the baseline's record and the timings it holds. */
function saveRun(
  dec: DEC,
  d: TrainingData,
  o: TrainCliOptions,
  out: string,
  extra: {
    baseline: Baseline | null;
    embedding: EmbeddingRecord | undefined;
    /** -k auto's selection, --stability's comparison (null: not asked). */
    chosen: ChosenK | null;
    stability: SeedStability | null;
  },
) {
  const { baseline, embedding, chosen, stability } = extra;
  const fitted = trainingSummary(dec);
  const chooseK = chosen ? selectionJson(chosen.selection) : null;
  const baselineRecord = baseline && {
    acc: baseline.acc,
    nmi: baseline.nmi,
    ari: baseline.ari,
    inertia: baseline.inertia,
  };
  const timings = {
    baselineSeconds: baseline?.seconds ?? 0,
    ...dec.timings,
    totalSeconds: (baseline?.seconds ?? 0) + fitted.timings.totalSeconds,
  };
  const labelled = d.labels ? labelledCount(d.labels) : 0;
  const outliers = outlierOptions(o);
  const saved = saveModel(out, dec, {
    overwrite: o.force,
    ...(Object.keys(outliers).length ? { outliers } : {}),
    ...(embedding ? { embedding } : {}),
    ...(d.labels ? { labels: d.labels } : {}),
    data: dataRecord(d, o, labelled),
    metrics: {
      baseline: baselineRecord,
      selectedIteration: fitted.result.selectedIteration,
      resumedFrom: o.resume ? resolve(o.resume) : null,
      timings,
      /** -k auto: the selection that chose k (null: k was given). */
      chooseK,
      /** --stability: the labelings of the other seeds against this model's (null: not asked). */
      stability,
    },
  });
  return { fitted, baselineRecord, timings, labelled, chooseK, outliers: saved.outliers ?? null };
}

/** What --json prints: the run's summary, with where the data came from and what was written. */
function jsonSummary(
  d: TrainingData,
  o: TrainCliOptions,
  out: string,
  run: ReturnType<typeof saveRun>,
  report: string | null,
  topics: ClusterTopic[] | null,
) {
  const { fitted, labelled } = run;
  return {
    data: resolve(d.file),
    rows: d.X.rows,
    dims: fitted.dims,
    k: fitted.k,
    method: fitted.method,
    preset: o.preset,
    inputStandardised: fitted.inputStandardised,
    labelsColumn: d.labelsColumn,
    /** Rows with a label: the scores are over these (null: no labels). */
    labelled: d.labels ? labelled : null,
    unlabelled: d.labels ? d.X.rows - labelled : null,
    outOfCore: d.source !== null,
    options: fitted.options,
    baseline: run.baselineRecord,
    aeKmeans: fitted.start.metrics ? { ...fitted.start.metrics, inertia: fitted.start.inertia } : null,
    dec: { ...(fitted.result.metrics ?? {}), ...fitted.result, metrics: undefined },
    supervisedModelSelection: o.selectBestByLabels,
    clusterSizes: fitted.clusterSizes,
    nonEmptyClusters: fitted.nonEmptyClusters,
    /** The default outlier threshold stored in the model (--min-confidence / --outlier-rate), else null. */
    outliers: run.outliers,
    warnings: fitted.warnings,
    timings: run.timings,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 102.4) / 10,
    out: resolve(out),
    report: report ? resolve(report) : null,
    /** What each cluster is about, when the data has a text column (see deepclust topics). */
    topics,
  };
}

/**
 * -k auto: pretrains as this run will, chooses k on the code (choose-k's criteria and
 * recommendation) and shows the table; the run then trains from the same pretraining with the
 * recommended k.
 */
async function chooseKForTraining(d: TrainingData, o: TrainCliOptions, progress: Progress): Promise<ChosenK> {
  const { k: _k, ...config } = decConfig(d, { ...o, clusters: DEFAULTS.chooseK.from });
  const chosen = await chooseKOnData(config, d.X, { ...selectionOptions(o), ...selectionProgress(progress) });
  progress.stop();
  if (!o.json) for (const line of selectionLines(chosen.selection)) progress.log(line);
  return chosen;
}

/** The estimator's configuration: the preset's recipe for this data, with the options given on the command line. */
function decConfig(d: TrainingData, o: KnownK): DECConfig {
  const shape = { rows: d.X.rows, cols: d.X.cols };
  const base = presetConfig(o.preset, shape, o.clusters, o.batchSize, recipeOverrides(o, d.X.cols));
  const shuffleBlock = shuffleBlockFor(d.source, o.shuffleBlock);
  return {
    ...base,
    normalizeCode: o.normalizeCode,
    nInit: o.nInit,
    ...(o.kmeansSample !== undefined ? { kmeansSample: o.kmeansSample } : {}),
    seed: o.seed,
    threads: o.threads,
    device: o.device,
    alpha: o.alpha,
    gamma: o.gamma,
    ...(o.updateInterval !== undefined ? { updateInterval: o.updateInterval } : {}),
    maxIter: o.maxIter,
    ...(o.encoderLr !== undefined ? { groupLr: { encoder: o.encoderLr } } : {}),
    clipNorm: o.clip ?? null,
    freezeEncoder: o.freezeEncoder,
    shuffle: o.shuffle,
    selectBestByLabels: o.selectBestByLabels,
    ...(shuffleBlock ? { shuffleBlock } : {}),
  };
}

/**
 * The recipe settings given on the command line (the rest come from --preset). `--init
 * torch|paper|glorot` (weight initialisation, before --weight-init) still works, with a note.
 */
function recipeOverrides(o: TrainCliOptions, cols: number): RecipeOverrides {
  let weightInit = o.weightInit;
  let centerInit: CenterInit | undefined;
  if (o.init !== undefined && (INIT_NAMES as readonly string[]).includes(o.init)) {
    warn(
      `--init ${o.init} is a weight initialisation: use --weight-init ${o.init} (--init now chooses how the centres start: ${CENTER_INITS.join(" or ")})`,
    );
    weightInit = o.init as InitName;
  } else if (o.init !== undefined) centerInit = o.init as CenterInit;
  const given = <T extends object>(v: T) =>
    Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined && x !== false)) as Partial<T>;
  return given({
    hidden: o.dims ? layerSizes(o.dims, cols).slice(1) : undefined,
    weightInit,
    centerInit,
    inputScaling: o.inputScaling,
    manifold: given({
      nComponents: o.umapComponents,
      nNeighbors: o.umapNeighbors,
      nEpochs: o.umapEpochs,
      restarts: o.gmmRestarts,
      selfTrain: o.selfTrain,
      anchorUpdates: o.anchorUpdates,
      holdEpochs: o.holdEpochs,
    }),
    pretrainEpochs: o.pretrainEpochs,
    pretrainOptimizer: o.pretrainOptimizer,
    pretrainLr: o.pretrainLr,
    pretrainMomentum: o.pretrainMomentum,
    noise: o.noise,
    noiseFactor: o.noiseFactor,
    method: o.method,
    target: o.target,
    tol: o.tol,
    optimizer: o.optimizer,
    lr: o.lr,
    momentum: o.momentum,
  });
}

/** Warns of start options that the chosen start does not use (the run goes on without them). */
function unusedStartOptions(o: TrainCliOptions, start: CenterInit): void {
  const named = (flags: [string, unknown][]) => flags.filter(([, v]) => v !== undefined && v !== false).map(([f]) => f);
  const layout = named([
    ["--umap-components", o.umapComponents],
    ["--umap-neighbors", o.umapNeighbors],
    ["--umap-epochs", o.umapEpochs],
  ]);
  if (layout.length && start !== "manifold")
    warn(
      `${layout.join(", ")}: only --init manifold lays out the code with UMAP; this run starts from ${startStage(start)}, so they are unused`,
    );
  const mixture = named([
    ["--gmm-restarts", o.gmmRestarts],
    ["--hold-epochs", o.holdEpochs],
    ["--self-train", o.selfTrain],
    ["--anchor-updates", o.anchorUpdates],
  ]);
  if (mixture.length && !isMixtureStart(start))
    warn(
      `${mixture.join(", ")}: only the mixture starts (--init manifold or gmm) use them; this run starts from k-means, so they are unused`,
    );
}

/** What is about to run, before any work: the data, the autoencoder, how the rows are read. */
function describeRun(d: TrainingData, o: KnownK, r: ResolvedConfig, progress: Progress): void {
  const { X, labels, labelsColumn } = d;
  const sizes = [X.cols, ...r.hidden];
  progress.log(
    `${r.method.toUpperCase()} on ${X.rows} × ${X.cols} from ${d.file}: autoencoder ${sizes.join("→")}, k = ${o.clusters}${labels ? `, labels from ${labelsColumn ? `column '${labelsColumn}'` : o.labelsFile}` : ", no labels"}`,
  );
  if (o.kmeansSample !== undefined && r.centerInit !== "kmeans")
    warn(
      `--kmeans-sample applies to --init kmeans; the mixture starts fit at most ${r.manifold!.maxRows} rows (a seeded sample above that)`,
    );
  unusedStartOptions(o, r.centerInit);
  const shuffleBlock = shuffleBlockFor(d.source, o.shuffleBlock);
  if (d.source)
    progress.log(
      `out of core: rows are read from disk${shuffleBlock ? ` in blocks of ${shuffleBlock} (block-shuffled passes)` : " (a true permutation, one read per run of rows)"}; no raw-data k-means baseline${o.report ? ", no report (run deepclust report on a sample)" : ""}`,
    );
  if (d.source instanceof ParquetSource) {
    const parquet = d.source;
    const largest = parquet.rowGroupRows.reduce((a, b) => Math.max(a, b), 0);
    progress.log(
      `Parquet: ${parquet.rowGroupRows.length} row groups of up to ${largest} rows, decoded one at a time; up to ${parquet.cachedGroups} kept decoded (about ${Math.ceil((parquet.cachedGroups * largest * X.cols * 4) / 2 ** 20)} MiB)`,
    );
    if (shuffleBlock! < largest)
      warn(
        `--shuffle-block ${shuffleBlock} is smaller than the row groups (${largest} rows): each row group is decoded about ${Math.ceil(largest / shuffleBlock!)} times per pass; the default (the row-group size) decodes each once`,
      );
  }
  if (o.selectBestByLabels) {
    const note =
      "--select-best-by-labels: supervised model selection — the state with the best ACC against the ground-truth labels is kept, so the labels choose the model and its scores are optimistic";
    if (o.json) warn(note);
    else progress.log(note);
  }
}

type Baseline = ClusteringScores & { inertia: number; seconds: number };

/** k-means on the raw data: the baseline DEC must beat (scored only against labels). */
async function rawBaseline(X: Matrix, labels: RowLabels, o: KnownK, progress: Progress): Promise<Baseline> {
  const t0 = performance.now();
  progress.status(`k-means on the raw data (${o.nInit} restarts)…`);
  const km = await kmeans(X, { k: o.clusters, nInit: o.nInit, seed: new Rng(o.seed), threads: o.threads });
  return { ...evaluateClustering(labels, km.labels), inertia: km.inertia, seconds: (performance.now() - t0) / 1000 };
}

/** fit's callbacks that drive the progress bars: one per pretraining stage, one for the clustering phase. */
function progressHooks(r: ResolvedConfig, progress: Progress): Pick<FitOptions, "onPretrainEpoch" | "onUpdate"> {
  let stage = "";
  let clusteringStarted = false;
  return {
    onPretrainEpoch: (e) => {
      if (e.stage !== stage) {
        stage = e.stage;
        progress.start(stage, e.epochs, "epochs");
      }
      progress.update(e.epoch, `loss ${e.loss.toFixed(5)} | ${Math.round(e.samplesPerSecond)} samples/s`);
      if (e.epoch === e.epochs) {
        progress.stop();
        progress.status(
          r.centerInit === "manifold"
            ? "UMAP of the code, then a Gaussian mixture…"
            : r.centerInit === "gmm"
              ? "a Gaussian mixture on the code…"
              : `k-means on the code (${r.nInit} restarts)…`,
        );
      }
    },
    onUpdate: (u: UpdateRecord) => {
      if (!clusteringStarted) {
        clusteringStarted = true;
        progress.start(r.method.toUpperCase(), r.maxIter, "iterations");
      }
      const info = [
        u.deltaLabel !== null ? `Δlabel ${percent(u.deltaLabel, 2)}` : null,
        u.loss !== null ? `loss ${u.loss.toFixed(5)}` : null,
        `${u.nonEmpty}/${r.k} clusters`,
        u.metrics ? `ACC ${u.metrics.acc.toFixed(4)}` : null,
      ].filter(Boolean);
      progress.update(u.iteration, info.join(" | "));
    },
  };
}

/** config.json's record of where the training data came from. */
function dataRecord(d: TrainingData, o: TrainCliOptions, labelled: number): Record<string, unknown> {
  const parquet = d.source instanceof ParquetSource ? d.source : null;
  return {
    file: resolve(d.file),
    format: d.ds?.format ?? (parquet ? "parquet" : "npy"),
    rows: d.X.rows,
    embeddingsColumn: d.ds?.embeddingsColumn ?? parquet?.embeddingsColumn ?? null,
    labelsColumn: d.labelsColumn,
    ...(o.labelsFile ? { labelsFile: resolve(o.labelsFile) } : {}),
    ...(d.labels ? { labelled } : {}),
  };
}

/** The human-readable account of a finished run: how it stopped, the scores table, sizes, times, warnings. */
function printSummary(
  dec: DEC,
  s: TrainingSummary,
  run: {
    baseline: Baseline | null;
    labels: RowLabels | null;
    topics: ClusterTopic[] | null;
    o: TrainCliOptions;
    out: string;
    report: string | null;
    totalSeconds: number;
    stability: SeedStability | null;
  },
  progress: Progress,
): void {
  const { baseline, labels, o, out, report } = run;
  const name = s.method.toUpperCase();
  const last = dec.history.at(-1);
  const lastDelta = last?.deltaLabel != null ? ` (last Δlabel ${percent(last.deltaLabel, 2)})` : "";
  const stop =
    s.result.stopReason === "tol"
      ? `converged: ${percent(last?.deltaLabel ?? 0, 2)} of the points changed cluster, below --tol ${percent(s.options.tol, 2)}`
      : s.result.stopReason === "hold"
        ? `held the mixture's target for --hold-epochs ${s.options.manifold?.holdEpochs}${lastDelta}`
        : `stopped at --max-iter ${s.options.maxIter}${lastDelta}`;
  if (dec.pretrainHistory.length) {
    const p = dec.pretrainHistory.at(-1)!;
    progress.log(`pretraining: ${dec.pretrainHistory.length} epochs, final loss ${p.loss.toFixed(5)}`);
  }
  if (o.resume) progress.log(`resumed from ${o.resume}: pretraining and k-means were skipped`);
  progress.log(`${name}: ${s.result.iterations} iterations, ${stop}`);
  if (s.result.selectedIteration !== null)
    progress.log(
      `model selection (supervised, uses the labels): kept the state of iteration ${s.result.selectedIteration}`,
    );
  if (labels) {
    progress.log("");
    for (const line of table([
      ["", "ACC", "NMI", "ARI"],
      ["k-means (raw data)", ...(baseline ? scoreCells(baseline) : ["skipped", "", ""])],
      [s.start.name, ...scoreCells(s.start.metrics)],
      [name + (o.selectBestByLabels ? " (selected by labels)" : ""), ...scoreCells(s.result.metrics)],
    ]))
      progress.log(line);
    const labelled = labelledCount(labels);
    if (labelled < s.rows) progress.log(`scored on ${labelledText(labelled, s.rows)}`);
    progress.log("");
  } else {
    progress.log(
      "no labels: ACC / NMI / ARI not computed (give --labels-column or --labels-file to score the clustering)",
    );
  }
  progress.log(`internal scores (code space): ${internalScoresLine(s.result.internalScores, s.rows)}`);
  progress.log(sizesLine(s.clusterSizes));
  if (run.topics) {
    progress.log(`top terms per cluster (deepclust topics ${out} <data> for more):`);
    for (const t of run.topics) {
      const majority = t.majority !== null ? ` — ${t.majority} (${percent(t.purity!, 0)})` : "";
      progress.log(
        `  ${t.cluster}: ${
          t.terms
            .slice(0, TERMS_SHOWN)
            .map((w) => w.term)
            .join(", ") || "–"
        }${majority}`,
      );
    }
  }
  if (run.stability) for (const line of stabilityLines(run.stability)) progress.log(line);
  const t = s.timings;
  const stages = [
    ...(baseline ? [`k-means raw ${seconds(baseline.seconds)}`] : []),
    `pretrain ${seconds(t.pretrainSeconds)}`,
    `${startStage(s.options.centerInit)} ${seconds(t.kmeansSeconds)}`,
    `${name} ${seconds(t.clusteringSeconds)}`,
  ];
  progress.log(`time: ${stages.join(" | ")} | total ${seconds(run.totalSeconds)}`);
  for (const w of s.warnings.slice(0, MAX_WARNINGS_SHOWN)) warn(`iteration ${w.iteration}: ${w.message}`);
  if (s.warnings.length > MAX_WARNINGS_SHOWN)
    warn(`… and ${s.warnings.length - MAX_WARNINGS_SHOWN} more (see ${out}/${MODEL_FILES.metrics})`);
  progress.log(`wrote ${out}/ (${[...Object.values(MODEL_FILES), ...(report ? [REPORT_FILE] : [])].join(", ")})`);
}

/** A per-cluster best-match Jaccard below this is flagged as unstable (Hennig 2007: below 0.6, a cluster is not to be trusted). */
const UNSTABLE_JACCARD = 0.6;

/** --stability n: the same configuration with the next n − 1 seeds. */
async function trainSeeds(config: DECConfig, d: TrainingData, dec: DEC, o: KnownK, progress: Progress) {
  const seeds = Array.from({ length: o.stability! - 1 }, (_, i) => o.seed + 1 + i);
  progress.start(`stability: training seeds ${seeds.join(", ")}`, seeds.length, "seeds");
  const s = await seedStability(config, d.X, dec.labels!, seeds, (_seed, done) => progress.update(done));
  progress.stop();
  return s;
}

function stabilityLines(s: SeedStability): string[] {
  const unstable = s.clusters.filter((c) => c.mean < UNSTABLE_JACCARD).map((c) => c.cluster);
  return [
    `stability over seeds ${s.seeds.join(", ")}: pairwise ARI mean ${s.meanAri.toFixed(4)}, min ${s.minAri.toFixed(4)} (${seconds(s.seconds)})`,
    `per cluster, best-match Jaccard in the other seeds' clusterings (mean): ${s.clusters.map((c) => `${c.cluster}: ${c.mean.toFixed(2)}`).join("  ")}`,
    unstable.length
      ? `unstable clusters (mean Jaccard < ${UNSTABLE_JACCARD}): ${unstable.join(", ")}`
      : `every cluster is found again by every seed (mean Jaccard ≥ ${UNSTABLE_JACCARD})`,
  ];
}

/** --hold-epochs: a number ≥ 0, or "inf". */
function holdEpochsArg(v: string): number {
  if (v === "inf") return Infinity;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0)
    throw new InvalidArgumentError(`--hold-epochs must be a number ≥ 0 or 'inf', got '${v}'`);
  return n;
}

/**
 * Writes <out>/report.html from the training data. The model is saved by then, so a failure here
 * is a warning (rerun `deepclust report`), not a failed training run.
 */
async function trainingReport(
  out: string,
  ds: Dataset,
  o: TrainCliOptions,
  progress: Progress,
): Promise<{ file: string; topics: ClusterTopic[] | null } | null> {
  const file = join(out, REPORT_FILE);
  progress.status("writing the report…");
  const model = loadModel(out, { threads: o.threads });
  try {
    const { data } = await writeReport(file, model, { dataset: ds });
    return { file, topics: data.topics };
  } catch (e) {
    warn(
      `the report was not written (${e instanceof Error ? e.message : String(e)}); run: deepclust report ${out} --data <data>`,
    );
    return null;
  } finally {
    await model.release();
  }
}
