// Every default of deepclust, in one place: the estimator, the command line (its --help shows
// these values), the model directory's record and the report all read them from here, so they
// cannot drift apart. Presets (dec/presets.ts) choose recipes on top of these; what a preset does
// not set falls back to DEFAULTS. This module imports types only, so anything may import it.

import type { Device } from "./engine/device.js";
import type { InitName, NoiseSpec } from "./nn/index.js";
import type { OptimizerConfig } from "./dec/optimizers.js";
import type { ClusteringMethod } from "./dec/objectives.js";
import type { TargetMode } from "./dec/dec-training.js";
import type { PretrainMode, PretrainOptions } from "./dec/pretrain.js";
import type { InputScaling } from "./dec/input-scaling.js";
import type { CenterInit, DECConfig, ManifoldOptions } from "./dec/dec-model.js";
import type { PresetName } from "./dec/presets.js";
import type { MapMethod } from "./report/embed2d.js";
import type { ScoreSpace } from "./pipeline/score-file.js";

/** The learning rate each optimizer gets when only its type is chosen. */
const LEARNING_RATES = { sgd: 0.01, adam: 0.001 } as const;
const MOMENTUM = 0.9;
/** The column (JSONL: key) of the texts, wherever texts are read (topics, embed, training from texts). */
const TEXT_COLUMN = "text";

export const DEFAULTS = {
  /** The recipe `deepclust train` uses (chosen by bench/quality-suite.ts; BENCHMARKS.md). */
  preset: "manifold" as PresetName,
  /** Layer sizes after the input for a DEC built without a preset: the DEC paper's. */
  hidden: [500, 500, 2000, 10] as readonly number[],
  /** The reference implementation's layer sizes after the input (its preset, and `deepclust pretrain`'s default). */
  referenceHidden: [256, 32] as readonly number[],
  /** Weight initialisation: PyTorch's nn.Linear default. */
  weightInit: "torch" as InitName,
  normalizeCode: false,
  centerInit: "kmeans" as CenterInit,
  inputScaling: "none" as InputScaling,
  seed: 0,
  /** 0: one compute thread per core. */
  threads: 0,
  device: "cpu" as Device,
  learningRate: LEARNING_RATES,
  momentum: MOMENTUM,
  pretrain: {
    mode: "end-to-end" as PretrainMode,
    epochs: 50,
    batchSize: 256,
    optimizer: { type: "adam", lr: LEARNING_RATES.adam } as OptimizerConfig,
    noise: { kind: "mask", factor: 0.3 } as NoiseSpec,
  },
  kmeans: {
    /** Restarts from independent k-means++ seedings (what DEC uses; scikit-learn's own default is 10). */
    nInit: 20,
    maxIter: 300,
    tol: 1e-4,
  },
  /** Choosing k (`deepclust choose-k`, `train -k auto`): cluster/choose-k.ts. */
  chooseK: {
    /** Candidates 2..30 every 1. */
    from: 2,
    to: 30,
    step: 1,
    /** k-means restarts per candidate on the data; the gap's references and the resamples get referenceNInit. */
    nInit: 10,
    referenceNInit: 1,
    /** The criteria are computed on a seeded sample of at most this many rows (null: all). */
    sampleSize: 10_000 as number | null,
    gapReferences: 10,
    stabilityRuns: 5,
    /** Stability's choice: the largest k within this of the best mean ARI (0.05 found the true k on 5 of the 15 tuning sets, 0.02 on 3: bench/choose-k-rules.ts). */
    stabilityTolerance: 0.05,
    /** The layout's criterion (a UMAP layout of the sample, k-means on it per candidate): on, as the recommendation leans on it. */
    layout: true,
    /** choose-k --refine: none, or dec (a clustering phase per candidate). */
    refine: "none" as "none" | "dec",
  },
  clustering: {
    method: "dec" as ClusteringMethod,
    /** Student-t degrees of freedom of the soft assignment. */
    alpha: 1,
    /** IDEC: weight of the clustering loss in L_rec + γ·L_KL. */
    gamma: 0.1,
    target: "full" as TargetMode,
    tol: 0.001,
    maxIter: 20_000,
    batchSize: 256,
    optimizer: { type: "sgd", lr: LEARNING_RATES.sgd, momentum: MOMENTUM } as OptimizerConfig,
    shuffle: true,
    freezeEncoder: false,
    selectBestByLabels: false,
  },
  /** The manifold start (N2D's n_neighbors 20 and min_dist 0; 10 components). */
  manifold: {
    nComponents: 10,
    nNeighbors: 20,
    minDist: 0,
    restarts: 4,
    nEpochs: 200,
    selfTrain: false,
    anchorUpdates: 10,
    holdEpochs: 30,
    /** Rows above which the layout is of a seeded sample (exact kNN costs rows² · code dims). */
    maxRows: 200_000,
  } satisfies Required<ManifoldOptions>,
  /**
   * The start from a Gaussian mixture of the code itself (`--init gmm`). The default recipe uses it
   * on inputs of at most `maxCols` features (twice the code's 10 dimensions), and its posteriors are
   * held for at most `holdEpochs` epochs: the encoder and centres need longer to reproduce a
   * mixture of the code than one of the layout. Both chosen on the tuning seeds (BENCHMARKS.md,
   * "The start on narrow inputs").
   */
  mixtureStart: { maxCols: 20, holdEpochs: 100 },
  /** The UMAP layout's own constants: umap-learn's defaults. */
  umap: { negativeSampleRate: 5, spread: 1, learningRate: 1, repulsionStrength: 1 },
  /** Gaussian mixtures: scikit-learn's GaussianMixture defaults. */
  gmm: { nInit: 1, maxIter: 100, tol: 1e-3, regCovar: 1e-6 },
  /** Inference precision of a loaded model (int8: dynamically quantised products; see docs/int8.md). */
  precision: "fp32" as "fp32" | "int8",
  /** Cluster topics: terms and representative texts per cluster, words and word pairs, English stop words. */
  topics: {
    top: 10,
    examples: 3,
    ngrams: 2 as 1 | 2,
    stopWords: "en" as string | null,
    minLength: 2,
    textColumn: TEXT_COLUMN,
  },
  /** Sentence embeddings (deepclust embed): mean pooling as the reference implementation, texts per call. */
  embed: {
    pooling: "mean" as "mean" | "cls",
    normalize: false,
    batchSize: 32,
    maxLength: 512,
    textColumn: TEXT_COLUMN,
    /** Texts read, embedded and written per step (bounds memory). */
    chunkRows: 1024,
  },
  /**
   * Internal scores (evaluate, train's metrics.json, the report): the silhouette is of a seeded
   * sample of this many rows when there are more (0: always exact). Exact costs rows² distances:
   * 10,000 rows of a 10-d code take about half a second on 2 cores, 100,000 rows 100× that
   * (BENCHMARKS.md, "Silhouette"); a mean of 10,000 per-row silhouettes has a standard error of
   * about 0.003 for a typical per-row spread of 0.3. Calinski–Harabasz and Davies–Bouldin always
   * use every row.
   */
  scores: {
    silhouetteSample: 10_000,
    /** evaluate's space for them: the model's code (small); the input space keeps the input vectors in memory. */
    space: "code" as ScoreSpace,
  },
  /**
   * Outliers (cluster -1): rows whose confidence (max q) is below a threshold. Training records the
   * distribution of its rows' confidence as this many quantiles (probabilities 0, 1/(n-1), …, 1) in
   * config.json; no threshold unless one is asked for. The report draws, for a model without a
   * threshold, the quantile of the training confidences at referenceRate as a reference line.
   */
  outliers: { quantilePoints: 1001, minConfidence: null as number | null, referenceRate: 0.05 },
  /** Rows per inference batch (predict, evaluate, the library's predictProba). */
  predictBatchSize: 1024,
  /** Training data read from disk: rows per block (65,536 × 768 float32 = 192 MiB; two are kept). */
  outOfCoreBlockRows: 65_536,
  /** `deepclust serve` and the library's createServer. */
  serve: {
    port: 8080,
    host: "127.0.0.1",
    /** onnxruntime calls in flight at once (more only helps with several sessions). */
    maxConcurrent: 1,
    /** Most rows per onnxruntime call. */
    maxBatch: 256,
    /** Longest wait for more rows before a batch runs, in milliseconds. */
    maxWaitMs: 2,
    /** Most rows in one request. */
    maxRows: 10_000,
    /** Longest wait for a request's headers, in ms (Node's own 60 s lets a silent client hold a socket that long). */
    headersTimeoutMs: 10_000,
    /** Longest wait for a whole request, body included, in ms: a client that stalls mid-body is answered 408 and cut off. */
    requestTimeoutMs: 30_000,
    /**
     * How long an idle keep-alive connection stays open, in ms: longer than the 60 s idle time-out of
     * common load balancers, so that a balancer never sends a request on a connection the server is closing.
     */
    keepAliveTimeoutMs: 72_000,
    /** On SIGTERM, how long the requests in flight have to finish, in ms; then the connections still open are closed. */
    shutdownTimeoutMs: 10_000,
  },
  /** The HTML report: the 2-D map's method and its most points. */
  report: { map: "umap" as MapMethod, maxPoints: 5000 },
  /** Blocks of rows an out-of-core .npy keeps read (the one being used and the next). */
  outOfCoreCachedBlocks: 2,
  /** `import-torch`'s refusals: far above a DEC model (784→500→500→2000→10 with its decoder is 13 MiB), far below a bomb. */
  torchLimits: { maxTensorBytes: 1024 * 2 ** 20, maxImportBytes: 2048 * 2 ** 20 },
  /** Where `deepclust train` writes the model. */
  modelDir: "model",
  /** Where `deepclust predict` writes. */
  predictionsFile: "predictions.csv",
} as const;

/**
 * Target updates about every half epoch, within [10, 140]: 140 on MNIST-70k with batch 256, as in
 * the best-known Keras implementation of DEC; small datasets update every 10 iterations.
 */
export function defaultUpdateInterval(rows: number, batchSize: number): number {
  return Math.min(140, Math.max(10, Math.round(rows / (2 * batchSize))));
}

/** The mixture starts' settings when not given: the manifold start's, the code's mixture held longer. */
export function startDefaults(init: CenterInit): Required<ManifoldOptions> {
  return init === "gmm" ? { ...DEFAULTS.manifold, holdEpochs: DEFAULTS.mixtureStart.holdEpochs } : DEFAULTS.manifold;
}

/** The layout's settings, which the code's own mixture (`gmm`) does not use. */
const LAYOUT_SETTINGS = ["nComponents", "nNeighbors", "minDist", "nEpochs"] as const;

/** The start's settings as config.json records them: those it uses (the gmm start has no layout). */
function startRecord(init: "manifold" | "gmm", m: Required<ManifoldOptions>): StartRecord {
  if (init === "manifold") return m;
  const used: StartRecord = { ...m };
  for (const key of LAYOUT_SETTINGS) delete used[key];
  return used;
}
type LayoutSetting = (typeof LAYOUT_SETTINGS)[number];
type StartRecord = Omit<Required<ManifoldOptions>, LayoutSetting> &
  Partial<Pick<Required<ManifoldOptions>, LayoutSetting>>;

/** A DECConfig with every default filled in, as fit runs it. */
export type ResolvedConfig = ReturnType<typeof resolveConfig>;

/**
 * `config` with every default filled in. `rows` (of the training data) resolves the update
 * interval. The estimator trains with exactly this, and config.json records it.
 */
export function resolveConfig(config: DECConfig, rows: number) {
  const c = config;
  const { onEpoch: _onEpoch, ...pretrain } = { ...DEFAULTS.pretrain, ...c.pretrain } as PretrainOptions &
    typeof DEFAULTS.pretrain;
  const cl = DEFAULTS.clustering;
  const batchSize = c.batchSize ?? cl.batchSize;
  const centerInit = c.centerInit ?? DEFAULTS.centerInit;
  return {
    k: c.k,
    hidden: [...(c.hidden ?? DEFAULTS.hidden)],
    init: c.init ?? DEFAULTS.weightInit,
    normalizeCode: c.normalizeCode ?? DEFAULTS.normalizeCode,
    centerInit,
    inputScaling: c.inputScaling ?? DEFAULTS.inputScaling,
    ...(centerInit === "manifold" || centerInit === "gmm"
      ? { manifold: startRecord(centerInit, { ...startDefaults(centerInit), ...c.manifold }) }
      : {}),
    pretrain,
    nInit: c.nInit ?? DEFAULTS.kmeans.nInit,
    /** null: k-means on every row of the code. */
    kmeansSample: c.kmeansSample ?? null,
    method: c.method ?? cl.method,
    alpha: c.alpha ?? cl.alpha,
    gamma: c.gamma ?? cl.gamma,
    target: c.target ?? cl.target,
    batchSize,
    updateInterval: c.updateInterval ?? defaultUpdateInterval(rows, Math.min(batchSize, rows)),
    tol: c.tol ?? cl.tol,
    maxIter: c.maxIter ?? cl.maxIter,
    optimizer: c.optimizer ?? cl.optimizer,
    groupLr: c.groupLr ?? null,
    clipNorm: c.clipNorm ?? null,
    freezeEncoder: c.freezeEncoder ?? cl.freezeEncoder,
    shuffle: c.shuffle ?? cl.shuffle,
    /** null: in memory, a true permutation each pass. */
    shuffleBlock: c.shuffleBlock ?? null,
    selectBestByLabels: c.selectBestByLabels ?? cl.selectBestByLabels,
    seed: c.seed ?? DEFAULTS.seed,
    threads: c.threads ?? DEFAULTS.threads,
    device: c.device ?? DEFAULTS.device,
  };
}

/** `o` without its undefined fields, so that spreading it over defaults keeps the defaults' values. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** An optimizer of `type` with `lr` (else DEFAULTS.learningRate's for it) and, for SGD, `momentum`. */
export function optimizerOf(type: "sgd" | "adam", lr?: number, momentum: number = MOMENTUM): OptimizerConfig {
  const rate = lr ?? LEARNING_RATES[type];
  return type === "sgd" ? { type, lr: rate, momentum } : { type, lr: rate };
}

/**
 * What config.json's `training` records of a resolved configuration: everything but k, the layer
 * sizes and normalizeCode, which the file holds at its top level.
 */
export function trainingRecord(resolved: ResolvedConfig) {
  const { k: _k, hidden: _hidden, normalizeCode: _normalizeCode, ...training } = resolved;
  return training;
}
