// DEC and IDEC in the scikit-learn estimator style: hyperparameters in the constructor, `fit`
// runs the whole pipeline (denoising autoencoder pretraining → k-means with nInit restarts on
// the code → the clustering phase), `predict` / `predictProba` / `transform` apply it, and the
// fitted state (centres, histories, metrics, timings) is inspectable.

import { join } from "node:path";
import { DEFAULTS, resolveConfig, startDefaults, trainingRecord, type ResolvedConfig } from "../config.js";
import { DEVICES, Rng, chunksOf, gatherRows, isMatrix, type Device, type Matrix, type Rows } from "../engine/index.js";
import { CENTERS, INIT_NAMES, NOISE_KINDS, StudentTAssignment } from "../nn/index.js";
import { kmeans } from "../cluster/kmeans.js";
import { manifoldClusters, mixtureClusters } from "../cluster/manifold.js";
import { nearestCentres } from "../cluster/nearest-centres.js";
import { evaluateClustering, type ClusteringScores, type PartialLabels } from "../cluster/metrics.js";
import type { Clusterer } from "../cluster/clusterer.js";
import { internalScores, type InternalScores } from "../cluster/internal-scores.js";
import { Autoencoder } from "./autoencoder.js";
// model-dir.js imports this module too: the cycle is safe, as each side uses the other only inside functions.
import {
  loadModel,
  readTrainingMetrics,
  saveModel,
  writeModelDir,
  type DECModel,
  type LoadModelOptions,
  type SaveModelOptions,
} from "./model-dir.js";
import {
  INPUT_SCALINGS,
  chooseScaling,
  foldScaling,
  standardize,
  type InputScaling,
  type Standardizer,
} from "./input-scaling.js";
import { CLUSTERING_METHODS } from "./objectives.js";
import { pretrainAutoencoder, type EpochRecord, type PretrainOptions } from "./pretrain.js";
import {
  SoftAssigner,
  trainClustering,
  type ClusteringOptions,
  type ClusteringResult,
  type StopReason,
  type TrainingState,
  type UpdateRecord,
} from "./dec-training.js";
import {
  checkResume,
  checkStateTensors,
  loadCheckpoint,
  saveCheckpoint,
  type Checkpoint,
  type CheckpointRecord,
} from "./checkpoint.js";
import { dataFingerprint, type DataFingerprint } from "./data-fingerprint.js";
import {
  confidenceQuantiles,
  labelsWithOutliers,
  outlierThreshold,
  rowConfidence,
  thresholdForRate,
  type OutlierOptions,
} from "./outliers.js";
import type { InitName } from "../nn/index.js";

export interface DECConfig extends ClusteringOptions {
  /** Number of clusters. */
  k: number;
  /** Layer sizes after the input (default the paper's 500, 500, 2000, 10). */
  hidden?: readonly number[];
  init?: InitName;
  normalizeCode?: boolean;
  /** Pretraining (default: end-to-end, 50 epochs, masking noise 0.3, Adam 1e-3). */
  pretrain?: PretrainOptions;
  /**
   * How the centres start: "kmeans" on the code (the paper), "manifold": a UMAP layout of the
   * code clustered by a Gaussian mixture, the mean code per cluster (after N2D), or "gmm": the
   * Gaussian mixture fitted to the code itself. Default "kmeans". Both mixture starts hold the
   * mixture's posteriors as DEC's target at first (the `manifold` settings).
   */
  centerInit?: CenterInit;
  /** Settings of the mixture starts (defaults: MANIFOLD_START_DEFAULTS; the code's own mixture is held DEFAULTS.mixtureStart.holdEpochs). */
  manifold?: ManifoldOptions;
  /**
   * Standardise the features while training, folded into the model at the end (see
   * input-scaling.ts): "none" (default), "standardize", or "auto" (when the features' scales
   * differ by more than AUTO_SPREAD). In-memory data only; a RowSource trains unscaled.
   */
  inputScaling?: InputScaling;
  /** k-means restarts on the code (default 20, as DEC). */
  nInit?: number;
  /**
   * Run the initial k-means on this many rows of the code, drawn with the seeded generator, when
   * there are more (then every row goes to its nearest centre); bounds k-means' memory and time on
   * very large data. Default: all rows.
   */
  kmeansSample?: number;
  seed?: number;
  threads?: number;
  device?: Device;
}

export type CenterInit = "kmeans" | "manifold" | "gmm";
export const CENTER_INITS: readonly CenterInit[] = ["kmeans", "manifold", "gmm"];

/** Whether the start is a Gaussian mixture (of the layout or of the code), whose posteriors DEC can hold. */
export function isMixtureStart(init: CenterInit | undefined): boolean {
  return init === "manifold" || init === "gmm";
}

/** How the start is named in tables: the clustering that gives DEC its initial centres. */
export function startName(init: CenterInit | undefined): string {
  return `AE + ${startStage(init)}`;
}

/** The start's own stage, as progress lines and timings name it. */
export function startStage(init: CenterInit | undefined): string {
  return init === "manifold" ? "UMAP + GMM" : init === "gmm" ? "GMM" : "k-means";
}

export interface ManifoldOptions {
  nComponents?: number;
  nNeighbors?: number;
  minDist?: number;
  nEpochs?: number;
  /** Gaussian-mixture restarts on the layout. */
  restarts?: number;
  /**
   * false (default): the mixture's posteriors stay the target until the labels settle (tol) or
   * `holdEpochs` epochs have passed, so the encoder and centres learn to reproduce the manifold's
   * clusters. true: they are the target for `anchorUpdates` updates, then DEC's own target(Q)
   * takes over (see ClusteringHooks.anchor).
   */
  selfTrain?: boolean;
  anchorUpdates?: number;
  /**
   * The held phase's budget in epochs of clustering iterations (rows / batch each), checked at
   * target updates; Infinity: until the labels settle. Chosen on the tuning seeds: the labels reach
   * the mixture's within tens of epochs, then mostly drift with SGD's noise (BENCHMARKS.md).
   */
  holdEpochs?: number;
  /** Above this many rows the layout is of a seeded sample of this many (default MANIFOLD_MAX_ROWS). */
  maxRows?: number;
}

/** Rows above which the manifold start lays out a seeded sample (exact kNN costs rows² · code dims). */
export const MANIFOLD_MAX_ROWS = DEFAULTS.manifold.maxRows;

/** The manifold start's settings when not given (defined in config.ts). */
export const MANIFOLD_START_DEFAULTS: Required<ManifoldOptions> = DEFAULTS.manifold;

/**
 * The resolved training options as config.json's `training` records them.
 * @deprecated use resolveConfig (and trainingRecord) from the package root; kept for one release.
 */
export function trainingConfig(c: DECConfig, rows: number) {
  return trainingRecord(resolveConfig(c, rows));
}

export interface FitOptions {
  /** Ground truth, for evaluation only (unless selectBestByLabels); null: a row without a label (scored on the labelled rows). */
  labels?: PartialLabels;
  /** Skip pretraining and start from this autoencoder (its weights are copied, not changed). */
  autoencoder?: Autoencoder;
  /**
   * Skip pretraining and go on from `DEC#pretrain(X)` of a DEC with the same configuration but
   * for k, on this same X: the fit is then the one that pretraining itself would have given, bit
   * for bit (how `train -k auto` pretrains once for choosing k and for training).
   */
  pretrained?: Pretrained;
  onPretrainEpoch?: (e: EpochRecord) => void;
  onUpdate?: (u: UpdateRecord) => void;
  /** Save a resumable checkpoint into `dir` every `every` target updates. */
  checkpoint?: { dir: string; every: number };
  /**
   * Resume the clustering phase from a checkpoint directory (pretraining and k-means are skipped).
   * Only the run that wrote it can continue: other data or options throw an InputError (see checkResume).
   */
  resumeFrom?: string;
}

/** An autoencoder pretrained by {@link DEC#pretrain}, with what a fit needs to go on from it. */
export interface Pretrained {
  /** The data it was pretrained on (the very object), and that data as the autoencoder takes it (standardised when `scaling`). */
  readonly data: Rows;
  readonly input: Rows;
  readonly autoencoder: Autoencoder;
  readonly scaling: Standardizer | null;
  readonly history: EpochRecord[];
  readonly seconds: number;
  /** The run's generator after pretraining, and the settings that pretraining depended on. */
  readonly rngState: ReturnType<Rng["getState"]>;
  readonly settings: string;
}

export interface Timings {
  pretrainSeconds: number;
  kmeansSeconds: number;
  clusteringSeconds: number;
}

export class DEC implements Clusterer {
  readonly config: Readonly<DECConfig>;
  private ae: Autoencoder | null = null;
  /** The fingerprint checkResume took, so that the fit after it on the same X hashes it once (fit clears it). */
  private fingerprinted: { X: Rows; labels: PartialLabels | undefined; data: DataFingerprint } | null = null;
  private assigner: SoftAssigner | null = null;
  /** Per-epoch pretraining losses. */
  pretrainHistory: EpochRecord[] = [];
  /** One record per target update: loss, delta-label, cluster sizes, warnings, metrics. */
  history: UpdateRecord[] = [];
  /** k-means on the pretrained code: the AE+k-means baseline and DEC's starting point. */
  initLabels: Int32Array | null = null;
  initInertia = NaN;
  initMetrics: ClusteringScores | null = null;
  /** Training-set labels and metrics after the clustering phase. */
  labels: Int32Array | null = null;
  metrics: ClusteringScores | null = null;
  /**
   * The final clustering's internal scores in the code space on the training rows (silhouette on a
   * seeded sample of DEFAULTS.scores.silhouetteSample rows when there are more); null when undefined.
   */
  internalScores: InternalScores | null = null;
  iterations = 0;
  converged = false;
  stopReason: StopReason | null = null;
  timings: Timings = { pretrainSeconds: 0, kmeansSeconds: 0, clusteringSeconds: 0 };
  /**
   * The training rows' confidence (max q) at the end of the fit, as DEFAULTS.outliers.quantilePoints
   * quantiles at probabilities 0 … 1 (config.json `confidence`): what turns an outlier rate into a
   * threshold. Null before a fit, and for a loaded model that does not record them.
   */
  confidenceQuantiles: number[] | null = null;
  /** The standardisation the fit trained with (already folded into the weights), or null. */
  scaling: Standardizer | null = null;
  /** Set by DEC.load: predictions go through the loaded model's fixed-weights graph. */
  private loaded: DECModel | null = null;
  /** DEC.load: the directory's metrics.json, which save() writes back. */
  private savedMetrics: Record<string, unknown> | null = null;

  constructor(config: DECConfig) {
    checkConfig(config);
    this.config = { ...config };
  }

  /** The number of clusters. */
  get k(): number {
    return this.config.k;
  }

  /** The input dimension of the fitted model. */
  get inputDim(): number {
    return this.autoencoder.inputDim;
  }

  get autoencoder(): Autoencoder {
    if (!this.ae) throw new Error("DEC is not fitted yet: call fit(X) first");
    return this.ae;
  }

  /** Cluster centres in the code space (k × code dim). */
  get centers(): Float32Array {
    return this.autoencoder.params.value(CENTERS).slice();
  }

  /**
   * X: a matrix in memory, or a RowSource (e.g. io's NpySource) for data larger than RAM — then
   * minibatches are gathered from it and every full pass (the code for k-means, the target updates,
   * the final labels) reads it in chunks; `shuffleBlock` makes both phases read it block by block.
   * `y`: ground-truth labels, as scikit-learn's fit(X, y): scored against, never trained on (unless
   * selectBestByLabels); `options`: callbacks, checkpoints, a given autoencoder. The older
   * fit(X, { labels, … }) still works.
   */
  async fit(Xin: Rows, y?: PartialLabels | FitOptions, more: FitOptions = {}): Promise<this> {
    const options = fitOptions(y, more);
    // A loaded model trains afresh from this configuration.
    await this.loaded?.release();
    this.loaded = null;
    this.savedMetrics = null;
    const c = this.config;
    // A given autoencoder was trained on the raw inputs: no scaling then.
    const X = options.pretrained
      ? this.adoptScaling(options.pretrained, Xin)
      : this.scaledInput(Xin, options.autoencoder === undefined);
    if (c.k > X.rows) throw new RangeError(`k = ${c.k} is more than the ${X.rows} rows of the data`);
    if (options.labels && options.labels.length !== X.rows)
      throw new RangeError(`${options.labels.length} labels for ${X.rows} rows`);
    const r = resolveConfig(c, X.rows);
    const rng = new Rng(r.seed);
    const session = { threads: r.threads, device: r.device };
    const dims = [X.cols, ...r.hidden];
    const ae = new Autoencoder({ dims, init: r.init, normalizeCode: r.normalizeCode }, rng, session);
    this.ae = ae;
    if (options.pretrained) {
      if (options.pretrained.settings !== pretrainSettings(r, X))
        throw new RangeError(
          "the pretrained autoencoder was pretrained with other settings (layers, pretraining, seed or scaling) than this DEC's",
        );
      if (options.resumeFrom !== undefined) throw new RangeError("give either pretrained or resumeFrom, not both");
    }
    const evaluate = options.labels ? (pred: Int32Array) => evaluateClustering(options.labels!, pred) : undefined;

    const shapes = Object.fromEntries([
      ...ae.allParams.map((p) => [p.name, p.shape] as const),
      [CENTERS, [c.k, ae.codeDim]],
    ]);
    // The data's fingerprint, checked on resume and recorded in every checkpoint: one pass over X.
    const record =
      options.resumeFrom !== undefined || options.checkpoint ? this.checkpointRecord(Xin, options.labels) : null;
    this.fingerprinted = null; // a later fit hashes its data afresh (X may have changed in place)
    let resume: TrainingState | undefined;
    let centers: Float32Array;
    let anchor: { target: Float32Array; updates: number; maxEpochs?: number } | undefined;
    const m = { ...startDefaults(r.centerInit), ...c.manifold };
    const anchorUpdates = !isMixtureStart(r.centerInit) ? 0 : m.selfTrain ? m.anchorUpdates : Infinity;
    if (!(m.holdEpochs >= 0))
      throw new RangeError(`manifold.holdEpochs must be ≥ 0 (Infinity: until the labels settle), got ${m.holdEpochs}`);
    const holdBudget = anchorUpdates === Infinity && Number.isFinite(m.holdEpochs) ? { maxEpochs: m.holdEpochs } : {};
    if (options.resumeFrom !== undefined) {
      resume = this.checkResumeRecord(options.resumeFrom, record!).state;
      const sizes = Object.fromEntries(Object.entries(shapes).map(([n, s]) => [n, s.reduce((a, b) => a * b, 1)]));
      checkStateTensors(join(options.resumeFrom, "state.safetensors"), "param/", resume.params, sizes);
      centers = resume.params[CENTERS]!;
      // Saved during the anchored updates, P is the anchor itself: the resumed run goes on with it.
      if (anchorUpdates > resume.history.length && resume.p)
        anchor = { target: resume.p, updates: anchorUpdates, ...holdBudget };
    } else {
      const start = await this.pretrainAndStart(ae, X, rng, r, options, evaluate);
      centers = start.centers;
      if (start.resp && anchorUpdates > 0)
        anchor = { target: Float32Array.from(start.resp), updates: anchorUpdates, ...holdBudget };
    }

    const t0 = performance.now();
    const result: ClusteringResult = await trainClustering(ae, X, centers, rng, c, {
      ...(options.onUpdate ? { onUpdate: options.onUpdate } : {}),
      ...(evaluate ? { evaluate } : {}),
      ...(anchor ? { anchor } : {}),
      ...(resume ? { resume, resumeFile: join(options.resumeFrom!, "state.safetensors") } : {}),
      ...(options.checkpoint
        ? {
            checkpointEvery: options.checkpoint.every,
            onCheckpoint: (s: TrainingState) => saveCheckpoint(options.checkpoint!.dir, s, shapes, record!),
          }
        : {}),
    });
    this.timings.clusteringSeconds = (performance.now() - t0) / 1000;
    // On the code of the weights trained (before adopt folds any input scaling into them).
    this.internalScores = await internalScores(await ae.encode(X), result.labels, {
      sampleSize: DEFAULTS.scores.silhouetteSample,
      seed: r.seed,
      threads: r.threads,
    });
    this.adopt(result, ae, r.alpha, evaluate);
    return this;
  }

  /**
   * Pretraining (or the given autoencoder's weights), then the centres' start on the code: k-means
   * (on a sample with kmeansSample) or the manifold start. Records the start's labels, inertia,
   * scores and timings; returns the centres and, from the mixture, the posteriors to anchor on.
   */
  private async pretrainAndStart(
    ae: Autoencoder,
    X: Rows,
    rng: Rng,
    r: ResolvedConfig,
    options: FitOptions,
    evaluate: ((pred: Int32Array) => ClusteringScores) | undefined,
  ): Promise<{ centers: Float32Array; resp: ArrayLike<number> | null }> {
    const c = this.config;
    let t0 = performance.now();
    if (options.pretrained) {
      const p = options.pretrained;
      for (const param of ae.allParams) ae.params.set(param.name, p.autoencoder.params.value(param.name));
      rng.setState(p.rngState);
      this.pretrainHistory = p.history;
    } else if (options.autoencoder) {
      if (options.autoencoder.dims.join() !== ae.dims.join())
        throw new RangeError(
          `the given autoencoder is ${options.autoencoder.dims.join("→")}, the model is ${ae.dims.join("→")}`,
        );
      for (const p of ae.allParams) ae.params.set(p.name, options.autoencoder.params.value(p.name));
    } else {
      this.pretrainHistory = await this.runPretraining(ae, X, rng, options.onPretrainEpoch);
    }
    this.timings.pretrainSeconds = options.pretrained?.seconds ?? (performance.now() - t0) / 1000;
    t0 = performance.now();
    const code = await ae.encode(X);
    const km = isMixtureStart(r.centerInit)
      ? await this.mixtureStart(code, rng, r.centerInit === "manifold")
      : c.kmeansSample !== undefined && code.rows > c.kmeansSample
        ? await kmeansOnSample(code, c.kmeansSample, c.k, rng, r.nInit, r.threads)
        : await kmeans(code, { k: c.k, nInit: r.nInit, seed: rng.fork(), threads: r.threads });
    this.timings.kmeansSeconds = (performance.now() - t0) / 1000;
    this.initLabels = km.labels;
    this.initInertia = km.inertia;
    this.initMetrics = evaluate ? evaluate(km.labels) : null;
    return { centers: km.centers, resp: "resp" in km && km.resp ? km.resp : null };
  }

  /**
   * Pretraining alone, exactly as fit(X) would run it (k plays no part in it): for choosing k on
   * the code (`chooseKOnData`) and then fit(X, y, { pretrained }) with the chosen k, so the
   * autoencoder is pretrained once.
   */
  async pretrain(Xin: Rows, options: Pick<FitOptions, "onPretrainEpoch"> = {}): Promise<Pretrained> {
    const X = this.scaledInput(Xin, true);
    const r = resolveConfig(this.config, X.rows);
    const rng = new Rng(r.seed);
    const ae = new Autoencoder({ dims: [X.cols, ...r.hidden], init: r.init, normalizeCode: r.normalizeCode }, rng, {
      threads: r.threads,
      device: r.device,
    });
    const t0 = performance.now();
    const history = await this.runPretraining(ae, X, rng, options.onPretrainEpoch);
    return {
      data: Xin,
      input: X,
      autoencoder: ae,
      scaling: this.scaling,
      history,
      seconds: (performance.now() - t0) / 1000,
      rngState: rng.getState(),
      settings: pretrainSettings(r, X),
    };
  }

  /** The autoencoder's pretraining with this configuration's settings (fit's and pretrain's). */
  private runPretraining(ae: Autoencoder, X: Rows, rng: Rng, onEpoch: FitOptions["onPretrainEpoch"]) {
    const shuffleBlock = this.config.pretrain?.shuffleBlock ?? this.config.shuffleBlock;
    return pretrainAutoencoder(ae, X, rng, {
      ...this.config.pretrain,
      ...(shuffleBlock !== undefined ? { shuffleBlock } : {}),
      ...(onEpoch ? { onEpoch } : {}),
    });
  }

  /** fit's input from a pretrained start: the same data, standardised as it was. */
  private adoptScaling(p: Pretrained, X: Rows): Rows {
    if (p.data !== X) throw new RangeError("the pretrained autoencoder was pretrained on other data than fit's X");
    this.scaling = p.scaling;
    return p.input;
  }

  /** The clustering phase's outcome as the fitted state; predictions then go through the trained weights. */
  private adopt(
    result: ClusteringResult,
    ae: Autoencoder,
    alpha: number,
    evaluate: ((pred: Int32Array) => ClusteringScores) | undefined,
  ): void {
    this.history = result.history;
    this.labels = result.labels;
    this.iterations = result.iterations;
    this.converged = result.converged;
    this.stopReason = result.stopReason;
    this.metrics = evaluate ? evaluate(result.labels) : null;
    // A float32 q may pass 1 by an ulp (a product with a reciprocal): a confidence is at most 1.
    this.confidenceQuantiles = confidenceQuantiles(rowConfidence(result.q)).map((v) => Math.min(1, v));
    if (this.scaling) foldScaling(ae, this.scaling);
    this.assigner = new SoftAssigner(
      ae,
      new StudentTAssignment(this.config.k, ae.codeDim, alpha),
      () => ae.params.tensor(CENTERS),
      true,
    );
  }

  /**
   * The mixture starts. With `layout`, the manifold start: UMAP + Gaussian mixture on the code; its labels, the mean code per cluster,
   * the k-means inertia of that partition and the mixture's posteriors (the anchored target). Above
   * maxRows rows (default MANIFOLD_MAX_ROWS) the layout (exact kNN is quadratic) is of a seeded sample: its clusters
   * give the centres, every row goes to its nearest, and there are no posteriors to hold, so DEC's
   * own target trains from those centres. Without `layout` (`--init gmm`) the mixture is fitted to
   * the code itself, on the same rows.
   */
  private async mixtureStart(code: Matrix, rng: Rng, layout: boolean) {
    const c = this.config;
    const m = { ...DEFAULTS.manifold, ...c.manifold };
    const options = {
      nComponents: m.nComponents,
      nNeighbors: m.nNeighbors,
      minDist: m.minDist,
      nEpochs: m.nEpochs,
      restarts: m.restarts,
      seed: rng.fork(),
      threads: c.threads ?? DEFAULTS.threads,
    };
    const clusters = layout ? manifoldClusters : mixtureClusters;
    const d = code.cols;
    if (code.rows > m.maxRows) {
      const pick = rng.fork().permutation(code.rows).subarray(0, m.maxRows).sort();
      const sample = new Float32Array(m.maxRows * d);
      gatherRows(code, pick, 0, m.maxRows, sample);
      const mc = await clusters({ data: sample, rows: m.maxRows, cols: d }, c.k, options);
      const { labels, inertia } = nearestCentres(code, mc.centers, c.k);
      return { labels, centers: mc.centers, inertia };
    }
    const mc = await clusters(code, c.k, options);
    let inertia = 0;
    for (let i = 0; i < code.rows; i++) {
      const l = mc.labels[i]!;
      for (let j = 0; j < d; j++) inertia += (code.data[i * d + j]! - mc.centers[l * d + j]!) ** 2;
    }
    return { labels: mc.labels, centers: mc.centers, inertia, resp: mc.mixture.resp };
  }

  /** The data training runs on: X itself, or its standardised copy (this.scaling records which). */
  private scaledInput(X: Rows, allowed: boolean): Rows {
    this.scaling = allowed && isMatrix(X) ? chooseScaling(X, this.config.inputScaling ?? DEFAULTS.inputScaling) : null;
    return this.scaling && isMatrix(X) ? standardize(X, this.scaling) : X;
  }

  /**
   * Checks that the checkpoint in `dir` was written by a run of this configuration on this data
   * (and these labels, when selecting by them), as fit(X, { resumeFrom: dir }) does first; throws
   * an InputError listing every difference. Lets a caller fail before other work (one pass over X).
   */
  checkResume(dir: string, X: Rows, labels?: PartialLabels): void {
    this.checkResumeRecord(dir, this.checkpointRecord(X, labels));
  }

  private checkResumeRecord(dir: string, record: CheckpointRecord): Checkpoint {
    const checkpoint = loadCheckpoint(dir);
    checkResume(dir, checkpoint, record);
    return checkpoint;
  }

  private checkpointRecord(X: Rows, labels?: PartialLabels): CheckpointRecord {
    const r = resolveConfig(this.config, X.rows);
    const { kmeansSample, shuffleBlock, ...training } = trainingRecord(r);
    const config = { k: r.k, dims: r.hidden, normalizeCode: r.normalizeCode, kmeansSample, shuffleBlock, ...training };
    const f = this.fingerprinted;
    const data = f !== null && f.X === X && f.labels === labels ? f.data : dataFingerprint(X, labels);
    this.fingerprinted = { X, labels, data };
    return { data, config };
  }

  /** Soft assignments q (rows × k). A NaN or ±Inf in an in-memory X throws NonFiniteValueError (its row and column). */
  async predictProba(X: Rows): Promise<Matrix> {
    if (this.loaded) return predictProbaOfRows(this.loaded, X);
    if (!this.assigner) throw new Error("DEC is not fitted yet: call fit(X) first");
    return this.assigner.predictProba(X);
  }

  /** fit(X), then the clusters of X's own rows (the labels of the fitted run). */
  async fitPredict(X: Rows, y?: PartialLabels | FitOptions, options: FitOptions = {}): Promise<Int32Array> {
    await this.fit(X, y, options);
    return this.labels!;
  }

  /**
   * Writes the fitted model as a model directory (config.json, model.safetensors, model.onnx,
   * metrics.json): what `deepclust train` writes, read back by {@link DEC.load}.
   */
  save(dir: string, options: SaveModelOptions = {}): void {
    // A loaded model has no training labels to derive the record from: it keeps the one it was saved with.
    if (this.loaded)
      writeModelDir(dir, this.loaded.autoencoder, this.loaded.config, this.savedMetrics, options.overwrite);
    else saveModel(dir, this, options);
  }

  /**
   * Reads a model directory (every file checked, as loadModel does) as a fitted DEC: the same
   * weights, centres and configuration, its training record (history, iterations, stop reason,
   * scores) from metrics.json, and the saved estimator's predictions. The training rows' labels are
   * not saved, so `labels` stays null. `fit` on it trains afresh.
   */
  static load(dir: string, options: LoadModelOptions = {}): DEC {
    const model = loadModel(dir, options);
    const dec = new DEC(configOf(model));
    dec.ae = model.autoencoder;
    dec.loaded = model;
    dec.confidenceQuantiles = model.config.confidence?.quantiles ?? null;
    // metrics.json as saveModel writes it; a field another writer left out (import-torch) stays unset.
    const record = readTrainingMetrics(dir) ?? {};
    dec.savedMetrics = record;
    const is = <T>(v: unknown, check: (v: unknown) => boolean): T | undefined => (check(v) ? (v as T) : undefined);
    const isScores = (v: unknown) => v !== null && typeof v === "object";
    dec.history = is<UpdateRecord[]>(record.history, Array.isArray) ?? [];
    dec.pretrainHistory = is<EpochRecord[]>(record.pretrainHistory, Array.isArray) ?? [];
    dec.iterations = is<number>(record.iterations, Number.isInteger) ?? 0;
    dec.converged = record.converged === true;
    dec.stopReason = is<StopReason>(record.stopReason, (v) => typeof v === "string") ?? null;
    dec.metrics = is<ClusteringScores>(record.metrics, isScores) ?? null;
    dec.initMetrics = is<ClusteringScores>(record.initMetrics, isScores) ?? null;
    dec.initInertia = is<number>(record.initInertia, (v) => typeof v === "number") ?? NaN;
    dec.internalScores = is<InternalScores>(record.internalScores, isScores) ?? null;
    return dec;
  }

  /** Frees the onnxruntime sessions that predictions compiled; the next prediction compiles them again. */
  async release(): Promise<void> {
    await this.loaded?.release();
    await this.assigner?.release();
  }

  /**
   * Hard cluster labels: argmax q, or -1 for an outlier: a row whose confidence (max q) is below
   * options.minConfidence, or below the threshold of options.outlierRate (see confidenceThreshold);
   * a loaded model's stored default threshold applies when neither is given (minConfidence 0: none).
   */
  async predict(X: Rows, options: OutlierOptions = {}): Promise<Int32Array> {
    const t = this.outlierThreshold(options);
    return labelsWithOutliers(await this.predictProba(X), t);
  }

  /** The confidence threshold below which about `rate` (in [0, 1)) of the training rows fall. */
  confidenceThreshold(rate: number): number {
    return thresholdForRate(this.confidenceQuantiles ? { quantiles: this.confidenceQuantiles } : null, rate);
  }

  /** The threshold predict applies with these options (null: none); a RangeError for bad or conflicting options. */
  outlierThreshold(options: OutlierOptions = {}): number | null {
    return outlierThreshold(
      {
        ...(this.confidenceQuantiles ? { confidence: { quantiles: this.confidenceQuantiles } } : {}),
        ...(this.loaded?.config.outliers ? { outliers: this.loaded.config.outliers } : {}),
      },
      options,
    );
  }

  /** The code (encoder output). */
  async transform(X: Rows): Promise<Matrix> {
    return this.autoencoder.encode(X);
  }
}

/** k-means on `m` seeded rows of the code, then every row to its nearest centre (labels and inertia over all rows, float64). */
async function kmeansOnSample(code: Matrix, m: number, k: number, rng: Rng, nInit: number, threads: number) {
  if (!(Number.isInteger(m) && m >= k)) throw new RangeError(`kmeansSample must be an integer ≥ k = ${k}, got ${m}`);
  const pick = rng.fork().permutation(code.rows).subarray(0, m).sort();
  const sample = new Float32Array(m * code.cols);
  gatherRows(code, pick, 0, m, sample);
  const km = await kmeans({ data: sample, rows: m, cols: code.cols }, { k, nInit, seed: rng.fork(), threads });
  return { ...km, ...nearestCentres(code, km.centers, k) };
}

/** What pretraining depends on, as a string to compare: the layers, their start, pretraining's settings, the seed, the input's shape and scaling. */
function pretrainSettings(r: ResolvedConfig, X: Rows): string {
  const { hidden, init, normalizeCode, inputScaling, pretrain, seed, shuffleBlock } = r;
  return JSON.stringify({
    hidden,
    init,
    normalizeCode,
    inputScaling,
    pretrain,
    seed,
    shuffleBlock,
    rows: X.rows,
    cols: X.cols,
  });
}

/** q of a loaded model over a matrix or, a chunk at a time, a RowSource. */
async function predictProbaOfRows(model: DECModel, X: Rows): Promise<Matrix> {
  if (isMatrix(X)) return model.predictProba(X);
  const q = new Float32Array(X.rows * model.k);
  for (const { start, m } of chunksOf(X)) q.set((await model.predictProba(m)).data, start * model.k);
  return { data: q, rows: X.rows, cols: model.k };
}

/** The DEC configuration a model directory records: sizes and method from config.json, the rest from its training record. */
function configOf(model: DECModel): DECConfig {
  const c = model.config;
  // Resolved settings as trainingConfig wrote them; null there means "not set".
  const training = Object.fromEntries(Object.entries(c.training ?? {}).filter(([, v]) => v !== null));
  return {
    ...(training as Partial<DECConfig>),
    k: c.k,
    hidden: c.dims.slice(1),
    normalizeCode: c.normalizeCode,
    method: c.method,
    alpha: c.alpha,
  };
}

/** fit's options from fit(X, y, options) or the older fit(X, options). */
function fitOptions(y: PartialLabels | FitOptions | undefined, options: FitOptions): FitOptions {
  if (y === undefined) return options;
  const isLabels = Array.isArray(y) || ArrayBuffer.isView(y);
  if (!isLabels) return { ...(y as FitOptions), ...options };
  if (options.labels !== undefined) throw new RangeError("DEC.fit: labels given twice (as y and as options.labels)");
  return { ...options, labels: y as PartialLabels };
}

/**
 * The one check of a configuration, at construction: every setting given has a valid type and
 * range, or a RangeError names it, what it must be and what it was. Settings left out are fine
 * (resolveConfig fills them from DEFAULTS).
 */
export function checkConfig(c: DECConfig): void {
  const fail = (name: string, must: string, value: unknown): never => {
    throw new RangeError(`DEC: ${name} must be ${must}, got ${JSON.stringify(value) ?? String(value)}`);
  };
  const int = (name: string, v: unknown, min: number) => {
    if (v !== undefined && !(Number.isSafeInteger(v) && (v as number) >= min)) fail(name, `an integer ≥ ${min}`, v);
  };
  const num = (name: string, v: unknown, ok: (x: number) => boolean, must: string) => {
    if (v !== undefined && !(typeof v === "number" && ok(v))) fail(name, must, v);
  };
  const oneOf = (name: string, v: unknown, values: readonly string[]) => {
    if (v !== undefined && !values.includes(v as string)) fail(name, `one of ${values.join(", ")}`, v);
  };
  int("k", c.k, 1);
  if (c.hidden !== undefined && !(c.hidden.length >= 1 && c.hidden.every((h) => Number.isSafeInteger(h) && h >= 1)))
    fail("hidden", "a non-empty list of positive integers (the layer sizes after the input)", c.hidden);
  for (const name of ["batchSize", "nInit", "updateInterval", "kmeansSample", "stepsPerRun"] as const)
    int(name, c[name], 1);
  for (const name of ["maxIter", "seed", "threads"] as const) int(name, c[name], 0);
  int("pretrain.epochs", c.pretrain?.epochs, 0);
  int("pretrain.batchSize", c.pretrain?.batchSize, 1);
  int("shuffleBlock", c.shuffleBlock, 0);
  num("alpha", c.alpha, (x) => x > 0 && Number.isFinite(x), "a positive number");
  num("gamma", c.gamma, (x) => x >= 0 && Number.isFinite(x), "a number ≥ 0");
  num("tol", c.tol, (x) => x >= 0 && x <= 1, "a fraction in [0, 1]");
  for (const [name, o] of [
    ["optimizer", c.optimizer],
    ["pretrain.optimizer", c.pretrain?.optimizer],
  ] as const) {
    if (o === undefined) continue;
    oneOf(`${name}.type`, o.type, ["adam", "sgd"]);
    num(`${name}.lr`, o.lr, (x) => x > 0 && Number.isFinite(x), "a positive number");
    num(`${name}.momentum`, o.momentum, (x) => x >= 0 && x <= 1, "a number in [0, 1]");
  }
  oneOf("method", c.method, CLUSTERING_METHODS);
  oneOf("target", c.target, ["full", "batch"]);
  oneOf("centerInit", c.centerInit, CENTER_INITS);
  oneOf("inputScaling", c.inputScaling, INPUT_SCALINGS);
  oneOf("init", c.init, INIT_NAMES);
  oneOf("device", c.device, DEVICES);
  oneOf("pretrain.noise.kind", c.pretrain?.noise?.kind, NOISE_KINDS);
}
