// deepclust train: the whole pipeline on an embeddings file (denoising autoencoder pretraining,
// k-means on the code, the DEC/IDEC clustering phase), written as a model directory, with the
// comparison a user needs to judge it: k-means on the raw data vs DEC's start (AE + k-means, or
// AE + UMAP + GMM) vs DEC.

import { Command, InvalidArgumentError, Option } from "commander";
import { existsSync, statSync } from "node:fs";
import { freemem } from "node:os";
import { extname, join, resolve } from "node:path";
import { Rng, DEVICES, executionProviders, type Device, type Rows } from "../engine/index.js";
import { NOISE_KINDS, INIT_NAMES, type InitName, type NoiseKind } from "../nn/index.js";
import { KMEANS_DEFAULTS, kmeans, evaluateClustering, type ClusteringScores } from "../cluster/index.js";
import { INPUT_SCALINGS, AUTO_SPREAD, type InputScaling } from "../dec/input-scaling.js";
import {
  DEC,
  startName,
  PRETRAIN_DEFAULTS,
  CLUSTERING_DEFAULTS,
  CLUSTERING_METHODS,
  OBJECTIVES,
  CENTER_INITS,
  defaultUpdateInterval,
  type CenterInit,
  type ClusteringMethod,
  type DECConfig,
  type ManifoldOptions,
  type OptimizerConfig,
  type TargetMode,
  type UpdateRecord,
} from "../dec/index.js";
import {
  DEFAULT_PRESET,
  MANIFOLD_RECIPE_START,
  PRESET_NAMES,
  PRESET_SUMMARIES,
  presetRecipe,
  type DataShape,
  type PresetName,
} from "../dec/presets.js";
import { saveModel, loadModel, MODEL_DIR, MODEL_FILES } from "../dec/model-dir.js";
import { CHECKPOINT_DIR } from "../dec/checkpoint.js";
import {
  assertSeparateOutputs,
  checkOutputDir,
  InputError,
  NpySource,
  ParquetSource,
  readLabelsFile,
  samePath,
  type Dataset,
  type RowLabels,
} from "../io/index.js";
import { REPORT_FILE, writeReport } from "../report/index.js";
import { choice, dims, float, int, layerSizes } from "./options.js";
import { createProgress, type Progress } from "./progress.js";
import { UsageError } from "./errors.js";
import {
  checkK,
  clusterSizes,
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
  seconds,
  sizesLine,
  table,
  usableLabels,
  warn,
  type DataCliOptions,
} from "./common.js";

interface TrainCliOptions extends DataCliOptions {
  clusters: number;
  preset: PresetName;
  // Unset: the preset's value.
  dims?: number[];
  method?: ClusteringMethod;
  target?: TargetMode;
  pretrainEpochs?: number;
  pretrainLr?: number;
  pretrainOptimizer?: "adam" | "sgd";
  pretrainMomentum: number;
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
  momentum: number;
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
}

const DEFAULT_OUT = "model";
/** Rows per block read from disk by out-of-core training: 65,536 × 768 float32 = 192 MiB (two are kept). */
const OUT_OF_CORE_BLOCK = 65_536;
const DEFAULT_LR = { sgd: 0.01, adam: 0.001 };
const MAX_WARNINGS_SHOWN = 10;

export function trainCommand(): Command {
  return new Command("train")
    .description("Train a DEC / IDEC clustering model on an embeddings file and write it as a model directory")
    .argument(
      "<data>",
      "embeddings: CSV (an 'embeddings' column of JSON arrays, or one numeric column per dimension), JSONL, .npy or Parquet",
    )
    .requiredOption("-k, --clusters <n>", "number of clusters (1 ≤ k ≤ rows)", int("-k", 1))
    .option(
      "--preset <name>",
      `the recipe every unset option below comes from: ${PRESET_NAMES.map((n) => `${n} (${PRESET_SUMMARIES[n]})`).join("; ")}`,
      choice("--preset", PRESET_NAMES),
      DEFAULT_PRESET,
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
      `how the centres start: ${CENTER_INITS.join(" or ")} (UMAP of the code + Gaussian mixture, after N2D) (default: the preset's)`,
      choice("--init", [...CENTER_INITS, ...INIT_NAMES]),
    )
    .option(
      "--target <mode>",
      "full: target P from the whole dataset every --update-interval iterations (the paper); batch: P from each batch (the reference) (default: the preset's)",
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
      "learning rate of the pretraining optimizer (default: the preset's, else 0.001 for adam, 0.01 for sgd)",
      float("--pretrain-lr", { min: 0 }),
    )
    .option(
      "--pretrain-momentum <f>",
      "momentum of --pretrain-optimizer sgd",
      float("--pretrain-momentum", { min: 0, max: 1 }),
      0.9,
    )
    .option(
      "--noise <kind>",
      `input corruption during pretraining: ${NOISE_KINDS.join(", ")} (default: the preset's)`,
      choice("--noise", NOISE_KINDS),
    )
    .option(
      "--noise-factor <f>",
      "mask: probability of zeroing a value; gaussian: multiple of each feature's std (default: the preset's, else 0.3)",
      float("--noise-factor", { min: 0 }),
    )
    .option(
      "--umap-components <n>",
      `--init manifold: UMAP output dimensions (default ${MANIFOLD_RECIPE_START.nComponents})`,
      int("--umap-components", 1),
    )
    .option(
      "--umap-neighbors <n>",
      `--init manifold: neighbours of UMAP's graph (default ${MANIFOLD_RECIPE_START.nNeighbors})`,
      int("--umap-neighbors", 2),
    )
    .option(
      "--umap-epochs <n>",
      `--init manifold: UMAP layout epochs (default ${MANIFOLD_RECIPE_START.nEpochs})`,
      int("--umap-epochs", 1),
    )
    .option(
      "--gmm-restarts <n>",
      `--init manifold: Gaussian-mixture restarts on the layout (default ${MANIFOLD_RECIPE_START.restarts})`,
      int("--gmm-restarts", 1),
    )
    .option(
      "--self-train",
      "--init manifold: after --anchor-updates target updates with the mixture's posteriors as the target, go on with DEC's own target (default: keep the mixture's until the labels settle or --hold-epochs)",
      false,
    )
    .option(
      "--hold-epochs <n>",
      `--init manifold: most epochs of clustering iterations with the mixture's posteriors held as the target, or 'inf' (until the labels settle) (default ${MANIFOLD_RECIPE_START.holdEpochs})`,
      holdEpochsArg,
    )
    .option(
      "--anchor-updates <n>",
      `--init manifold --self-train: target updates with the mixture's posteriors as the target (default ${MANIFOLD_RECIPE_START.anchorUpdates})`,
      int("--anchor-updates", 1),
    )
    .option(
      "--input-scaling <mode>",
      `standardise the features while training, folded into the saved model: ${INPUT_SCALINGS.join(", ")} (auto: when the features' scales differ more than ${AUTO_SPREAD}-fold) (default: the preset's)`,
      choice("--input-scaling", INPUT_SCALINGS),
    )
    .option(
      "--normalize-code",
      "L2-normalise the code before the decoder during pretraining (the reference's quirk; never at inference)",
      false,
    )
    .option(
      "--weight-init <name>",
      `weight initialisation: ${INIT_NAMES.join(", ")}`,
      choice("--weight-init", INIT_NAMES),
      "torch",
    )
    .option(
      "--batch-size <n>",
      "minibatch size of pretraining and clustering",
      int("--batch-size", 1),
      CLUSTERING_DEFAULTS.batchSize,
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
    .option("--max-iter <n>", "most clustering iterations (batches)", int("--max-iter", 0), CLUSTERING_DEFAULTS.maxIter)
    .option(
      "--optimizer <name>",
      "optimizer of the clustering phase: sgd (with momentum, the paper) or adam (default: the preset's)",
      choice("--optimizer", ["sgd", "adam"] as const),
    )
    .option(
      "--lr <f>",
      `learning rate of the clustering phase (default: ${DEFAULT_LR.sgd} with sgd, ${DEFAULT_LR.adam} with adam)`,
      float("--lr", { min: 0 }),
    )
    .option("--momentum <f>", "SGD momentum", float("--momentum", { min: 0, max: 1 }), 0.9)
    .option(
      "--encoder-lr <f>",
      "learning rate of the encoder in the clustering phase, e.g. the reference's 1e-6 (default: --lr)",
      float("--encoder-lr", { min: 0 }),
    )
    .option(
      "--clip <f>",
      "clip the global gradient norm to this (default: no clipping; the reference: 1)",
      float("--clip", { min: 0 }),
    )
    .option("--freeze-encoder", "train the cluster centres only; the encoder stays as pretrained", false)
    .option(
      "--no-shuffle",
      "iterate batches in the data's own order, each pass ending with a partial batch (the reference) (default: reshuffle every pass)",
    )
    .option(
      "--gamma <f>",
      "IDEC: weight of the clustering loss in L_rec + γ·L_KL",
      float("--gamma", { min: 0 }),
      CLUSTERING_DEFAULTS.gamma,
    )
    .option(
      "--alpha <f>",
      "Student-t degrees of freedom of the soft assignment",
      float("--alpha", { min: Number.MIN_VALUE }),
      CLUSTERING_DEFAULTS.alpha,
    )
    .option(
      "--n-init <n>",
      "k-means restarts (best inertia wins), for the cluster initialisation and the raw-data baseline",
      int("--n-init", 1),
      KMEANS_DEFAULTS.nInit,
    )
    .option(
      "--select-best-by-labels",
      "keep the state with the best ACC against the labels (the reference's model selection: SUPERVISED, it uses the labels)",
      false,
    )
    .option("--no-baseline", "skip k-means on the raw data (default: run it when there are labels)")
    .option("--seed <n>", "seed of every random choice (initialisation, shuffling, noise, k-means)", int("--seed"), 0)
    .option("--threads <n>", "compute threads (0 = one per core)", int("--threads"), 0)
    .option("--device <name>", `execution provider: ${DEVICES.join(", ")}`, choice("--device", DEVICES), "cpu")
    .option(
      "--embeddings-column <name>",
      "column (JSONL: key) holding the vectors (default: 'embeddings', else detected)",
    )
    .option("--labels-column <name>", labelsColumnHelp("used for evaluation only (scores on the labelled rows)"))
    .option("--labels-file <file>", "ground-truth labels in a separate file, one per row (.npy, IDX, or text)")
    .option("--out <dir>", `model directory to write (${Object.values(MODEL_FILES).join(", ")})`, DEFAULT_OUT)
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
      `block-shuffled passes, reading blocks of this many consecutive rows (default out of core: ${OUT_OF_CORE_BLOCK} for .npy, the row-group size for Parquet; in memory: a true permutation; 0: a true permutation, not for Parquet out of core)`,
      int("--shuffle-block", 0),
    )
    .option("--json", "print one JSON summary on stdout and nothing else", false)
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
  checkOutputs(data, o, out, checkpointDir);
  executionProviders(o.device); // an unavailable device fails here, before any work

  const source = openOutOfCore(data, o);
  try {
    await trainOn(data, o, out, checkpointDir, source, progress);
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

/** The rows read from disk while training: a .npy a block at a time, a Parquet file a row group at a time. */
type OutOfCoreSource = NpySource | ParquetSource;

/** The .npy or Parquet file as an on-disk row source when it trains out of core (--out-of-core, or larger than --memory-budget), else null. */
function openOutOfCore(data: string, o: TrainCliOptions): OutOfCoreSource | null {
  const ext = extname(data).toLowerCase();
  const isNpy = ext === ".npy";
  const isParquet = ext === ".parquet" || ext === ".pq";
  let size = 0;
  try {
    size = statSync(data).size;
  } catch {
    return null; // loadDataset reports the missing file
  }
  const budget = (o.memoryBudget ?? Math.floor(freemem() / 2 / 2 ** 20)) * 2 ** 20;
  if (!o.outOfCore && size <= budget) return null;
  if (!isNpy && !isParquet) {
    if (o.outOfCore)
      throw new UsageError(
        `--out-of-core reads .npy and Parquet files only; convert ${data} to a float32 .npy (rows × dims) or to Parquet`,
      );
    return null; // other formats load whole, as before
  }
  if (o.resume !== undefined)
    throw new UsageError("--resume is not supported out of core yet (train in memory, or without --resume)");
  if (isParquet) {
    if (o.shuffleBlock === 0) {
      throw new UsageError(
        `--shuffle-block 0 (a true permutation) reads random rows: out of core that needs a .npy, since a Parquet file is decoded a whole row group at a time (leave --shuffle-block out to shuffle by row group, or convert ${data} to a float32 .npy)`,
      );
    }
    if (o.labelsFile !== undefined && o.labelsColumn !== undefined)
      throw new InputError(data, "give either a labels column or a labels file, not both");
    return ParquetSource.open(data, {
      ...(o.embeddingsColumn !== undefined ? { embeddingsColumn: o.embeddingsColumn } : {}),
      ...(o.shuffleBlock !== undefined ? { blockRows: o.shuffleBlock } : {}),
    });
  }
  const block = o.shuffleBlock ?? OUT_OF_CORE_BLOCK;
  return NpySource.open(data, block > 0 ? { cacheBlockRows: block } : {});
}

async function trainOn(
  data: string,
  o: TrainCliOptions,
  out: string,
  checkpointDir: string | undefined,
  source: OutOfCoreSource | null,
  progress: Progress,
): Promise<void> {
  let ds: Dataset | null = null;
  let X: Rows;
  let labels: RowLabels | null = null;
  let labelsColumn: string | null = null;
  const parquet = source instanceof ParquetSource ? source : null;
  if (source) {
    X = source;
    const lo = labelOptions(o);
    if (lo.labelsFile !== undefined) labels = readLabelsFile(lo.labelsFile, source.rows, data, false);
    else if (parquet) {
      const column = parquet.readLabels(lo); // one small column, read a row group at a time
      labels = column?.labels ?? null;
      labelsColumn = column?.column ?? null;
    }
    labels = usableLabels(labels, labelsSource(data, labelsColumn, o));
    if (o.clusters > source.rows)
      throw new InputError(data, `k = ${o.clusters} clusters is more than the ${source.rows} data rows`);
  } else {
    ds = await loadDataset(data, o);
    X = ds.X;
    labels = labelsOf(ds, o);
    labelsColumn = ds.labelsColumn;
    checkK(o.clusters, ds);
  }
  const shuffleBlock = source
    ? (o.shuffleBlock ?? (parquet ? parquet.rowGroupBlock : OUT_OF_CORE_BLOCK))
    : o.shuffleBlock;
  if (o.selectBestByLabels && !labels)
    throw new UsageError("--select-best-by-labels needs labels (a labels column or --labels-file)");
  const batchSize = Math.min(o.batchSize, X.rows);
  const r = resolveRecipe(o, { rows: X.rows, cols: X.cols, batchSize });
  const sizes = r.sizes;
  const updateInterval = o.updateInterval ?? defaultUpdateInterval(X.rows, batchSize);

  if (o.kmeansSample !== undefined && r.centerInit === "manifold")
    warn(
      `--kmeans-sample applies to --init kmeans; the manifold start lays out at most ${r.manifold!.maxRows} rows (a seeded sample above that)`,
    );
  const config: DECConfig = {
    k: o.clusters,
    hidden: sizes.slice(1),
    init: r.weightInit,
    inputScaling: r.inputScaling,
    centerInit: r.centerInit,
    ...(r.manifold ? { manifold: r.manifold } : {}),
    normalizeCode: o.normalizeCode,
    pretrain: {
      mode: "end-to-end",
      epochs: r.pretrainEpochs,
      batchSize: o.batchSize,
      optimizer: r.pretrainOptimizer,
      noise: r.noise,
    },
    nInit: o.nInit,
    ...(o.kmeansSample !== undefined ? { kmeansSample: o.kmeansSample } : {}),
    seed: o.seed,
    threads: o.threads,
    device: o.device,
    method: r.method,
    alpha: o.alpha,
    gamma: o.gamma,
    target: r.target,
    updateInterval,
    tol: r.tol,
    maxIter: o.maxIter,
    batchSize: o.batchSize,
    optimizer: r.optimizer,
    ...(o.encoderLr !== undefined ? { groupLr: { encoder: o.encoderLr } } : {}),
    clipNorm: o.clip ?? null,
    freezeEncoder: o.freezeEncoder,
    shuffle: o.shuffle,
    selectBestByLabels: o.selectBestByLabels,
    ...(shuffleBlock ? { shuffleBlock } : {}),
  };
  const name = r.method.toUpperCase();
  const labelled = labels ? labelledCount(labels) : 0;
  progress.log(
    `${name} on ${X.rows} × ${X.cols} from ${data}: autoencoder ${sizes.join("→")}, k = ${o.clusters}${labels ? `, labels from ${labelsColumn ? `column '${labelsColumn}'` : o.labelsFile}` : ", no labels"}`,
  );
  if (source)
    progress.log(
      `out of core: rows are read from disk${shuffleBlock ? ` in blocks of ${shuffleBlock} (block-shuffled passes)` : " (a true permutation, one read per run of rows)"}; no raw-data k-means baseline${o.report ? ", no report (run deepclust report on a sample)" : ""}`,
    );
  if (parquet) {
    const groups = parquet.rowGroupRows;
    const largest = groups.reduce((a, b) => Math.max(a, b), 0);
    progress.log(
      `Parquet: ${groups.length} row groups of up to ${largest} rows, decoded one at a time; up to ${parquet.cachedGroups} kept decoded (about ${Math.ceil((parquet.cachedGroups * largest * X.cols * 4) / 2 ** 20)} MiB)`,
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

  const dec = new DEC(config);
  // A checkpoint of another run (other data or options) is refused here, before any work.
  if (o.resume !== undefined) dec.checkResume(o.resume, X, labels ?? undefined);

  // k-means on the raw data: the baseline DEC must beat (scored only against labels).
  let baseline: (ClusteringScores & { inertia: number; seconds: number }) | null = null;
  if (labels && o.baseline && ds) {
    const t0 = performance.now();
    progress.status(`k-means on the raw data (${o.nInit} restarts)…`);
    const km = await kmeans(ds.X, { k: o.clusters, nInit: o.nInit, seed: new Rng(o.seed), threads: o.threads });
    baseline = {
      ...evaluateClustering(labels, km.labels),
      inertia: km.inertia,
      seconds: (performance.now() - t0) / 1000,
    };
  }

  const warnings: Array<{ iteration: number; message: string }> = [];
  let stage = "";
  let decStarted = false;
  await dec.fit(X, {
    ...(labels ? { labels } : {}),
    ...(o.resume !== undefined ? { resumeFrom: o.resume } : {}),
    ...(checkpointDir !== undefined ? { checkpoint: { dir: checkpointDir, every: o.checkpointEvery! } } : {}),
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
            : `k-means on the code (${o.nInit} restarts)…`,
        );
      }
    },
    onUpdate: (u: UpdateRecord) => {
      if (!decStarted) {
        decStarted = true;
        progress.start(name, o.maxIter, "iterations");
      }
      for (const message of u.warnings) warnings.push({ iteration: u.iteration, message });
      const info = [
        u.deltaLabel !== null ? `Δlabel ${percent(u.deltaLabel, 2)}` : null,
        u.loss !== null ? `loss ${u.loss.toFixed(5)}` : null,
        `${u.nonEmpty}/${o.clusters} clusters`,
        u.metrics ? `ACC ${u.metrics.acc.toFixed(4)}` : null,
      ].filter(Boolean);
      progress.update(u.iteration, info.join(" | "));
    },
  });
  progress.stop();

  if (dec.scaling)
    progress.log(
      `input scaling: ${X.cols} features standardised while training (their scales differ more than ${AUTO_SPREAD}-fold, or --input-scaling standardize); folded into the saved model, which takes raw inputs`,
    );
  const finalSizes = clusterSizes(dec.labels!, o.clusters);
  const selected = o.selectBestByLabels ? selectedIteration(dec.history) : null;
  const timings = {
    baselineSeconds: baseline?.seconds ?? 0,
    ...dec.timings,
    totalSeconds:
      (baseline?.seconds ?? 0) +
      dec.timings.pretrainSeconds +
      dec.timings.kmeansSeconds +
      dec.timings.clusteringSeconds,
  };
  const baselineRecord = baseline
    ? { acc: baseline.acc, nmi: baseline.nmi, ari: baseline.ari, inertia: baseline.inertia }
    : null;
  saveModel(out, dec, {
    overwrite: o.force,
    ...(labels ? { labels } : {}),
    data: {
      file: resolve(data),
      format: ds?.format ?? (parquet ? "parquet" : "npy"),
      rows: X.rows,
      embeddingsColumn: ds?.embeddingsColumn ?? parquet?.embeddingsColumn ?? null,
      labelsColumn,
      ...(o.labelsFile ? { labelsFile: resolve(o.labelsFile) } : {}),
      ...(labels ? { labelled } : {}),
    },
    metrics: {
      baseline: baselineRecord,
      selectedIteration: selected,
      resumedFrom: o.resume ? resolve(o.resume) : null,
      timings,
    },
  });
  const report = o.report && ds ? await trainingReport(out, ds, o, progress) : null;

  const summary = {
    data: resolve(data),
    rows: X.rows,
    dims: sizes,
    k: o.clusters,
    method: r.method,
    preset: o.preset,
    inputStandardised: dec.scaling !== null,
    labelsColumn,
    /** Rows with a label: the scores are over these (null: no labels). */
    labelled: labels ? labelled : null,
    unlabelled: labels ? X.rows - labelled : null,
    outOfCore: source !== null,
    options: config,
    baseline: baselineRecord,
    aeKmeans: dec.initMetrics ? { ...dec.initMetrics, inertia: dec.initInertia } : null,
    dec: {
      ...(dec.metrics ?? {}),
      iterations: dec.iterations,
      converged: dec.converged,
      stopReason: dec.stopReason,
      selectedIteration: selected,
    },
    supervisedModelSelection: o.selectBestByLabels,
    clusterSizes: finalSizes,
    nonEmptyClusters: finalSizes.filter((s) => s > 0).length,
    warnings,
    timings,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 102.4) / 10,
    out: resolve(out),
    report: report ? resolve(report) : null,
  };
  if (o.json) {
    printJson(summary);
    return;
  }

  const last = dec.history.at(-1);
  const lastDelta = last?.deltaLabel != null ? ` (last Δlabel ${percent(last.deltaLabel, 2)})` : "";
  const stop =
    dec.stopReason === "tol"
      ? `converged: ${percent(last?.deltaLabel ?? 0, 2)} of the points changed cluster, below --tol ${percent(r.tol, 2)}`
      : dec.stopReason === "hold"
        ? `held the mixture's target for --hold-epochs ${r.manifold?.holdEpochs}${lastDelta}`
        : `stopped at --max-iter ${o.maxIter}${lastDelta}`;
  if (dec.pretrainHistory.length) {
    const p = dec.pretrainHistory.at(-1)!;
    progress.log(`pretraining: ${dec.pretrainHistory.length} epochs, final loss ${p.loss.toFixed(5)}`);
  }
  if (o.resume) progress.log(`resumed from ${o.resume}: pretraining and k-means were skipped`);
  progress.log(`${name}: ${dec.iterations} iterations, ${stop}`);
  if (selected !== null)
    progress.log(`model selection (supervised, uses the labels): kept the state of iteration ${selected}`);
  if (labels) {
    progress.log("");
    for (const line of table([
      ["", "ACC", "NMI", "ARI"],
      ["k-means (raw data)", ...(baseline ? scoreCells(baseline) : ["skipped", "", ""])],
      [startName(r.centerInit), ...scoreCells(dec.initMetrics)],
      [name + (o.selectBestByLabels ? " (selected by labels)" : ""), ...scoreCells(dec.metrics)],
    ]))
      progress.log(line);
    if (labelled < X.rows) progress.log(`scored on ${labelledText(labelled, X.rows)}`);
    progress.log("");
  } else {
    progress.log(
      "no labels: ACC / NMI / ARI not computed (give --labels-column or --labels-file to score the clustering)",
    );
  }
  progress.log(sizesLine(finalSizes));
  const stages = [
    ...(baseline ? [`k-means raw ${seconds(baseline.seconds)}`] : []),
    `pretrain ${seconds(dec.timings.pretrainSeconds)}`,
    `${r.centerInit === "manifold" ? "UMAP + GMM" : "k-means"} ${seconds(dec.timings.kmeansSeconds)}`,
    `${name} ${seconds(dec.timings.clusteringSeconds)}`,
  ];
  progress.log(`time: ${stages.join(" | ")} | total ${seconds(timings.totalSeconds)}`);
  for (const w of warnings.slice(0, MAX_WARNINGS_SHOWN)) warn(`iteration ${w.iteration}: ${w.message}`);
  if (warnings.length > MAX_WARNINGS_SHOWN)
    warn(`… and ${warnings.length - MAX_WARNINGS_SHOWN} more (see ${out}/${MODEL_FILES.metrics})`);
  progress.log(`wrote ${out}/ (${[...Object.values(MODEL_FILES), ...(report ? [REPORT_FILE] : [])].join(", ")})`);
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
 * The options as the run uses them: each one given on the command line, else the preset's value
 * for this data's shape. `--init torch|paper|glorot` (weight initialisation, before --weight-init)
 * still works, with a note.
 */
function resolveRecipe(o: TrainCliOptions, shape: DataShape) {
  const recipe = presetRecipe(o.preset, shape);
  let weightInit = o.weightInit;
  let centerInit = recipe.centerInit;
  if (o.init !== undefined && (INIT_NAMES as readonly string[]).includes(o.init)) {
    warn(
      `--init ${o.init} is a weight initialisation: use --weight-init ${o.init} (--init now chooses how the centres start: ${CENTER_INITS.join(" or ")})`,
    );
    weightInit = o.init as InitName;
  } else if (o.init !== undefined) centerInit = o.init as CenterInit;
  const pretrainType = o.pretrainOptimizer ?? recipe.pretrainOptimizer.type;
  const pretrainLr =
    o.pretrainLr ??
    (pretrainType === recipe.pretrainOptimizer.type ? recipe.pretrainOptimizer.lr : DEFAULT_LR[pretrainType]);
  const noiseKind = o.noise ?? recipe.noise.kind;
  const noiseFactor =
    o.noiseFactor ??
    (noiseKind === recipe.noise.kind && noiseKind !== "none" ? recipe.noise.factor : PRETRAIN_DEFAULTS.noise.factor);
  const optimizerType = o.optimizer ?? recipe.optimizer.type;
  const lr = o.lr ?? (optimizerType === recipe.optimizer.type ? recipe.optimizer.lr : DEFAULT_LR[optimizerType]);
  const manifoldStart = recipe.manifold ?? MANIFOLD_RECIPE_START;
  const manifold: Required<ManifoldOptions> | null =
    centerInit === "manifold"
      ? {
          nComponents: o.umapComponents ?? manifoldStart.nComponents,
          nNeighbors: o.umapNeighbors ?? manifoldStart.nNeighbors,
          minDist: manifoldStart.minDist,
          nEpochs: o.umapEpochs ?? manifoldStart.nEpochs,
          restarts: o.gmmRestarts ?? manifoldStart.restarts,
          selfTrain: o.selfTrain || manifoldStart.selfTrain,
          anchorUpdates: o.anchorUpdates ?? manifoldStart.anchorUpdates,
          holdEpochs: o.holdEpochs ?? manifoldStart.holdEpochs,
          maxRows: manifoldStart.maxRows,
        }
      : null;
  return {
    sizes: o.dims ? layerSizes(o.dims, shape.cols) : [shape.cols, ...recipe.hidden],
    weightInit,
    centerInit,
    inputScaling: o.inputScaling ?? recipe.inputScaling,
    manifold,
    pretrainEpochs: o.pretrainEpochs ?? recipe.pretrainEpochs,
    pretrainOptimizer: (pretrainType === "sgd"
      ? { type: "sgd", lr: pretrainLr, momentum: o.pretrainMomentum }
      : { type: "adam", lr: pretrainLr }) as OptimizerConfig,
    noise: { kind: noiseKind, factor: noiseFactor },
    method: o.method ?? recipe.method,
    target: o.target ?? recipe.target,
    tol: o.tol ?? recipe.tol,
    optimizer: (optimizerType === "sgd"
      ? { type: "sgd", lr, momentum: o.momentum }
      : { type: "adam", lr }) as OptimizerConfig,
  };
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
): Promise<string | null> {
  const file = join(out, REPORT_FILE);
  progress.status("writing the report…");
  const model = loadModel(out, { threads: o.threads });
  try {
    await writeReport(file, model, { dataset: ds });
    return file;
  } catch (e) {
    warn(
      `the report was not written (${e instanceof Error ? e.message : String(e)}); run: deepclust report ${out} --data <data>`,
    );
    return null;
  } finally {
    await model.release();
  }
}

/** The update whose state --select-best-by-labels kept: the first with the best ACC. */
function selectedIteration(history: readonly UpdateRecord[]): number | null {
  let best: UpdateRecord | null = null;
  for (const h of history) if (h.metrics && (!best || h.metrics.acc > best.metrics!.acc)) best = h;
  return best?.iteration ?? null;
}
