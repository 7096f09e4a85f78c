// A trained model as a directory, the unit that `deepclust train` writes and `predict`,
// `evaluate` and `export` read:
//
//   config.json        architecture (input dim, encoder dims, k, alpha, normalizeCode, method),
//                      training hyperparameters, deepclust version, cluster → label mapping, the
//                      SHA-256 of model.onnx and of the weights it was exported from (checked at load)
//   model.safetensors  encoder.*, decoder.*, assignment.cluster_centers with the reference implementation's
//                      PyTorch names and layouts (Linear weights [out, in]): load_state_dict-able
//   model.onnx         the inference graph with the weights baked in (see model-onnx.ts)
//   metrics.json       pretraining and clustering histories, timings, throughput, init and final
//                      metrics when labels were given, the final clusters' internal scores (code space)
//
// The directory is written under a temporary name and renamed into place, so a failed or
// interrupted save never leaves a half-written model. A loaded model (DECModel) predicts exactly
// as the DEC estimator it was saved from: the same weights through the same inference graph.

import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { CompiledGraph, Rng, type Matrix, type SessionOptions } from "../engine/index.js";
import { CENTERS } from "../nn/index.js";
import { clusterSizes, clusteringAccuracy, labelledSubset, type PartialLabels } from "../cluster/metrics.js";
import {
  decodeSafetensors,
  encodeSafetensors,
  holdsOnly,
  readJsonObject,
  writeDirAtomically,
  type NamedTensor,
  type OwnedDirKind,
} from "../io/index.js";
import { InputError } from "../io/errors.js";
import { Autoencoder } from "./autoencoder.js";
import type { ClusteringMethod } from "./dec-training.js";
import {
  labelsWithOutliers,
  outlierDefault,
  outlierThreshold,
  thresholdForRate,
  type OutlierOptions,
} from "./outliers.js";
import type { DEC } from "./dec-model.js";
import { DEFAULTS, resolveConfig, trainingRecord } from "../config.js";
import {
  DEEPCLUST_VERSION,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  readModelConfig,
  type ModelConfig,
} from "./model-config.js";
import {
  exportOnnx,
  inferenceGraph,
  INPUT_SUM,
  ONNX_INPUT,
  ONNX_OPSET,
  ONNX_OUTPUTS,
  PRECISIONS,
  type Precision,
} from "./model-onnx.js";

export { MODEL_FORMAT, MODEL_FORMAT_VERSION, type ModelConfig } from "./model-config.js";
export const MODEL_FILES = {
  config: "config.json",
  weights: "model.safetensors",
  onnx: "model.onnx",
  metrics: "metrics.json",
} as const;
/** The HTML report `deepclust train` and `deepclust report` write into a model directory. */
export const MODEL_REPORT_FILE = "report.html";

/**
 * A model directory, as --force may replace it: config.json of deepclust's format, and nothing but
 * the files deepclust writes there (a directory the user keeps other files in is never deleted).
 */
export const MODEL_DIR: OwnedDirKind = {
  description:
    "a deepclust model directory (config.json of format 'deepclust-model' and only the files deepclust writes)",
  recognise: (dir) =>
    holdsOnly(dir, [...Object.values(MODEL_FILES), MODEL_REPORT_FILE], MODEL_FILES.config) &&
    readJsonObject(join(dir, MODEL_FILES.config))?.format === MODEL_FORMAT,
};

/**
 * Whether `file` is a model directory's own `name` (e.g. its report.html or model.onnx), which
 * deepclust may rewrite without --force: only that file is replaced, never the directory.
 */
export function isModelFile(file: string, name: string): boolean {
  return basename(file) === name && readJsonObject(join(dirname(file), MODEL_FILES.config))?.format === MODEL_FORMAT;
}

/** The files of a model directory that a command reading the model takes as inputs (never to be overwritten by its output). */
export function modelInputFiles(dir: string): string[] {
  return [dir, ...Object.values(MODEL_FILES).map((f) => join(dir, f))];
}

export interface SaveModelOptions {
  /** Replace `dir` if it exists and is a model directory (default: refuse). */
  overwrite?: boolean;
  /** The training labels (null: unlabelled row): stored as the cluster → label mapping of config.json. */
  labels?: PartialLabels;
  /** Recorded in config.json `data` (e.g. the file, rows and column names). */
  data?: Record<string, unknown>;
  /** Extra entries for metrics.json (e.g. a baseline's scores). */
  metrics?: Record<string, unknown>;
  /** The embedding model of a model trained from texts (config.json's `embedding`). */
  embedding?: ModelConfig["embedding"];
  /**
   * A default outlier threshold that predict and serve apply (config.json's `outliers`): a
   * confidence, or a training outlier rate turned into one (needs the fit's confidence quantiles).
   */
  outliers?: OutlierOptions;
}

/** Writes a fitted DEC estimator as a model directory. */
export function saveModel(dir: string, dec: DEC, options: SaveModelOptions = {}): ModelConfig {
  const ae = dec.autoencoder;
  if (!dec.labels) throw new Error("DEC is not fitted yet: call fit(X) first");
  const c = dec.config;
  const rows = dec.labels.length;
  const training = trainingRecord(resolveConfig(c, rows));
  const batchSize = training.batchSize;
  const confidence = dec.confidenceQuantiles ? { quantiles: dec.confidenceQuantiles } : undefined;
  const outliers = options.outliers ? outlierDefault({ confidence }, options.outliers) : null;
  const config = modelConfig(ae, {
    k: c.k,
    alpha: training.alpha,
    method: training.method,
    training,
    data: options.data ?? null,
    labelMapping: options.labels ? labelMapping(options.labels, dec.labels) : null,
    ...(options.embedding ? { embedding: options.embedding } : {}),
    ...(confidence ? { confidence } : {}),
    ...(outliers ? { outliers } : {}),
  });
  const t = dec.timings;
  const pretrainSeconds = dec.pretrainHistory.reduce((s, e) => s + e.seconds, 0);
  const pretrainSamples = dec.pretrainHistory.reduce((s, e) => s + e.samplesPerSecond * e.seconds, 0);
  const metrics = {
    rows,
    iterations: dec.iterations,
    converged: dec.converged,
    stopReason: dec.stopReason,
    initInertia: Number.isFinite(dec.initInertia) ? dec.initInertia : null,
    initMetrics: dec.initMetrics,
    metrics: dec.metrics,
    internalScores: dec.internalScores,
    clusterSizes: clusterSizes(dec.labels, c.k),
    timings: { ...t, totalSeconds: t.pretrainSeconds + t.kmeansSeconds + t.clusteringSeconds },
    throughput: {
      pretrainSamplesPerSecond: pretrainSeconds > 0 ? pretrainSamples / pretrainSeconds : null,
      clusteringIterationsPerSecond: t.clusteringSeconds > 0 ? dec.iterations / t.clusteringSeconds : null,
      clusteringSamplesPerSecond:
        t.clusteringSeconds > 0 ? (dec.iterations * Math.min(batchSize, rows)) / t.clusteringSeconds : null,
    },
    pretrainHistory: dec.pretrainHistory,
    history: dec.history,
    ...options.metrics,
  };
  return writeModelDir(dir, ae, config, metrics, options.overwrite ?? false);
}

/** The config.json of a model whose weights (and centres, under CENTERS) are in `ae`. */
export function modelConfig(
  ae: Autoencoder,
  fields: {
    k: number;
    alpha: number;
    method: ClusteringMethod;
    decoder?: boolean;
    training?: Record<string, unknown>;
    data?: Record<string, unknown> | null;
    labelMapping?: Record<string, string | number> | null;
    embedding?: ModelConfig["embedding"];
    confidence?: ModelConfig["confidence"];
    outliers?: ModelConfig["outliers"];
  },
): ModelConfig {
  return {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    deepclustVersion: DEEPCLUST_VERSION,
    inputDim: ae.inputDim,
    dims: [...ae.dims],
    k: fields.k,
    alpha: fields.alpha,
    normalizeCode: ae.normalizeCode,
    method: fields.method,
    decoder: fields.decoder ?? true,
    training: fields.training ?? {},
    data: fields.data ?? null,
    labelMapping: fields.labelMapping ?? null,
    onnx: { file: MODEL_FILES.onnx, input: ONNX_INPUT, outputs: ONNX_OUTPUTS, opset: ONNX_OPSET },
    createdAt: new Date().toISOString(),
    ...(fields.embedding ? { embedding: fields.embedding } : {}),
    ...(fields.confidence ? { confidence: fields.confidence } : {}),
    ...(fields.outliers ? { outliers: fields.outliers } : {}),
  };
}

/**
 * Writes the four files of a model directory from an autoencoder holding the weights and the
 * centres (e.g. a fitted DEC's, or one built from imported PyTorch weights). Returns config.json
 * as written: `config` with the SHA-256 of model.onnx and of model.safetensors added.
 */
export function writeModelDir(
  dir: string,
  ae: Autoencoder,
  config: ModelConfig,
  metrics: Record<string, unknown> | null,
  overwrite = false,
): ModelConfig {
  if (!ae.params.has(CENTERS)) throw new Error(`the autoencoder holds no cluster centres ('${CENTERS}')`);
  if (ae.params.dims(CENTERS)[0] !== config.k)
    throw new Error(`config says k = ${config.k}, the centres are ${ae.params.dims(CENTERS).join(" × ")}`);
  const tensors: Record<string, NamedTensor> = {};
  for (const p of savedParams(ae, config)) tensors[p.name] = { shape: p.shape, data: ae.params.value(p.name) };
  tensors[CENTERS] = { shape: ae.params.dims(CENTERS), data: ae.params.value(CENTERS) };
  // Never write what loadModel would refuse to read back.
  for (const [name, t] of Object.entries(tensors))
    if (!t.data.every(Number.isFinite))
      throw new Error(`tensor '${name}' holds NaN or infinite values: not saving the model`);
  const weights = encodeSafetensors(tensors, {
    format: MODEL_FORMAT,
    dims: JSON.stringify(ae.dims),
    k: String(config.k),
    alpha: String(config.alpha),
  });
  const onnx = exportOnnx(ae, config.alpha);
  const written = withOnnxHashes(config, onnx, sha256(weights));
  writeDirAtomically(dir, overwrite ? MODEL_DIR : null, (tmp) => {
    writeFileSync(join(tmp, MODEL_FILES.config), configText(written));
    writeFileSync(join(tmp, MODEL_FILES.weights), weights);
    writeFileSync(join(tmp, MODEL_FILES.onnx), onnx);
    writeFileSync(join(tmp, MODEL_FILES.metrics), JSON.stringify(metrics ?? {}, null, 2) + "\n");
  });
  return written;
}

/**
 * Rewrites <dir>/model.onnx with `onnx` (the float32 graph exported from `model`'s weights) and
 * records its hashes in config.json (a version 1 directory becomes version 2). Each file goes
 * through a temporary file and a rename, model.onnx first: an interruption between the two
 * renames leaves hashes that do not match, which loadModel reports, never a silent mismatch.
 */
export function replaceModelOnnx(model: DECModel, onnx: Uint8Array): ModelConfig {
  const dir = model.dir;
  if (dir === null || model.weightsSha256 === null)
    throw new Error("replaceModelOnnx: the model was not loaded from a model directory");
  const config = withOnnxHashes(model.config, onnx, model.weightsSha256);
  const files = [
    [join(dir, MODEL_FILES.onnx), onnx],
    [join(dir, MODEL_FILES.config), configText(config)],
  ] as const;
  const tmp = (file: string) => `${file}.tmp-${process.pid}`;
  try {
    for (const [file, bytes] of files) writeFileSync(tmp(file), bytes);
    for (const [file] of files) renameSync(tmp(file), file);
  } catch (e) {
    for (const [file] of files) rmSync(tmp(file), { force: true });
    throw e;
  }
  return config;
}

function withOnnxHashes(config: ModelConfig, onnx: Uint8Array, weightsSha256: string): ModelConfig {
  return {
    ...config,
    formatVersion: Math.max(config.formatVersion, MODEL_FORMAT_VERSION),
    onnx: { ...config.onnx, sha256: sha256(onnx), weightsSha256 },
  };
}

function configText(config: ModelConfig): string {
  const text = JSON.stringify(config, null, 2) + "\n";
  // The confidence quantiles on one line, not a thousand.
  return text.replace(
    /("quantiles": )\[([^\]]*)\]/,
    (_, key: string, values: string) =>
      `${key}[${values
        .trim()
        .split(/\s*,\s*/)
        .join(", ")}]`,
  );
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** How a loaded model runs: onnxruntime's session options and the inference precision. */
export interface LoadModelOptions extends SessionOptions {
  /** "int8": the encoder's GEMMs in 8-bit integers (about 2× faster on CPUs with VNNI; q changes slightly). Default "fp32". */
  precision?: Precision;
  /**
   * Check model.onnx against the SHA-256 hashes config.json records (default true): a model.onnx
   * that is stale or from another model is an InputError. `deepclust export` turns it off for the
   * model.onnx it is about to replace.
   */
  checkOnnx?: boolean;
}

/** metrics.json of a model directory, or null when there is none (e.g. a hand-built directory). */
export function readTrainingMetrics(dir: string): Record<string, unknown> | null {
  const file = join(dir, MODEL_FILES.metrics);
  if (!existsSync(file)) return null;
  try {
    const v = JSON.parse(readFileSync(file, "utf8")) as unknown;
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch (e) {
    throw new InputError(file, `cannot read (${(e as Error).message})`);
  }
}

/** A fitted DEC / IDEC model read from a model directory: predict, predictProba, transform. */
export class DECModel {
  private readonly assigner: FixedWeightsAssigner;
  readonly precision: Precision;

  constructor(
    readonly config: ModelConfig,
    /** The weights, with the cluster centres under CENTERS. */
    readonly autoencoder: Autoencoder,
    /** The directory it was loaded from, if any. */
    readonly dir: string | null = null,
    precision: Precision = DEFAULTS.precision,
    /** SHA-256 of the model.safetensors it was loaded from, if any. */
    readonly weightsSha256: string | null = null,
  ) {
    const ae = autoencoder;
    this.precision = precision;
    this.assigner = new FixedWeightsAssigner(ae, config.alpha, config.k, precision);
  }

  get k(): number {
    return this.config.k;
  }
  get inputDim(): number {
    return this.autoencoder.inputDim;
  }
  /** Cluster centres in the code space (k × code dim). */
  get centers(): Float32Array {
    return this.autoencoder.params.value(CENTERS).slice();
  }
  /** Cluster id → training label, when the model was trained with labels. */
  get labelMapping(): Record<string, string | number> | null {
    return this.config.labelMapping;
  }

  /** Soft assignments q (rows × k). A NaN or ±Inf in X throws NonFiniteValueError (its row and column). */
  async predictProba(X: Matrix, batchSize = 1024): Promise<Matrix> {
    return this.assigner.predictProba(X, batchSize);
  }

  /**
   * Hard cluster labels: argmax q, or -1 for an outlier: a row whose confidence (max q) is below
   * options.minConfidence, below the threshold of options.outlierRate, or else below the model's
   * stored default (config.json `outliers`; minConfidence 0 turns it off).
   */
  async predict(X: Matrix, options: OutlierOptions = {}): Promise<Int32Array> {
    const t = this.outlierThreshold(options);
    return labelsWithOutliers(await this.predictProba(X), t);
  }

  /** The confidence threshold below which about `rate` of the training rows fall (config.json `confidence`). */
  confidenceThreshold(rate: number): number {
    return thresholdForRate(this.config.confidence, rate);
  }

  /** The threshold predict applies with these options (null: none); a RangeError for bad or conflicting options. */
  outlierThreshold(options: OutlierOptions = {}): number | null {
    return outlierThreshold(this.config, options);
  }

  /** The code (encoder output). */
  async transform(X: Matrix): Promise<Matrix> {
    return this.autoencoder.encode(X);
  }

  /** model.onnx as bytes (int8: the quantized graph, which needs onnxruntime). */
  toOnnx(precision: Precision = DEFAULTS.precision): Uint8Array {
    return exportOnnx(this.autoencoder, this.config.alpha, precision);
  }

  /** Frees the onnxruntime sessions. */
  async release(): Promise<void> {
    await this.assigner.release();
  }
}

/**
 * q through model.onnx's graph (int8: the quantized one), the weights baked in as constants: a
 * loaded model's weights do not change, and onnxruntime packs constant weights once instead of
 * on every run. The graph also checks its input is finite (see encodeChecked).
 */
class FixedWeightsAssigner {
  private compiled: Promise<CompiledGraph> | undefined;
  constructor(
    private readonly ae: Autoencoder,
    private readonly alpha: number,
    private readonly k: number,
    private readonly precision: Precision,
  ) {}

  async predictProba(X: Matrix, batchSize = 1024): Promise<Matrix> {
    if (X.cols !== this.ae.inputDim)
      throw new RangeError(`data has ${X.cols} columns, the model expects ${this.ae.inputDim}`);
    this.compiled ??= CompiledGraph.create(
      inferenceGraph(this.ae, this.alpha, { precision: this.precision, labels: false, inputSum: true }),
      this.ae.session,
    );
    return (await this.compiled).runRows(X, ONNX_INPUT, ONNX_OUTPUTS[0], this.k, {}, batchSize, INPUT_SUM);
  }

  async release(): Promise<void> {
    if (this.compiled) await (await this.compiled).release();
    this.compiled = undefined;
  }
}

/** Reads a model directory written by saveModel / `deepclust train`. */
export function loadModel(dir: string, options: LoadModelOptions = {}): DECModel {
  const { precision = "fp32", checkOnnx = true, ...session } = options;
  if (!PRECISIONS.includes(precision))
    throw new RangeError(`precision must be one of ${PRECISIONS.join(", ")}, got ${JSON.stringify(precision)}`);
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new InputError(dir, "model directory not found");
  }
  if (!st.isDirectory())
    throw new InputError(
      dir,
      "is a file, not a model directory (give the directory that `deepclust train --out` wrote)",
    );
  const configFile = join(dir, MODEL_FILES.config);
  const config = readModelConfig(configFile);
  const { dims, k } = config;

  const weightsFile = join(dir, MODEL_FILES.weights);
  let bytes: Buffer;
  try {
    bytes = readFileSync(weightsFile);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      weightsFile,
      code === "ENOENT" ? "not found (the model directory is incomplete)" : `cannot read (${code ?? String(e)})`,
    );
  }
  const { tensors } = decodeSafetensors(weightsFile, bytes);
  // The encoder and the centres are always saved: config.json's sizes must fit in the file before
  // they size any allocation.
  const needed = 4 * (dims.slice(1).reduce((n, d, i) => n + d * dims[i]! + d, 0) + k * dims.at(-1)!);
  if (needed > bytes.length)
    throw new InputError(
      configFile,
      `dims [${dims.join(", ")}] and k ${k} need ${needed} bytes of weights, ${weightsFile} has ${bytes.length}`,
    );
  const ae = new Autoencoder({ dims, normalizeCode: config.normalizeCode }, new Rng(0), session);
  const expect = (name: string, shape: readonly number[]) => {
    const t = tensors[name];
    if (!t) throw new InputError(weightsFile, `tensor '${name}' is missing`);
    if (t.shape.join(",") !== shape.join(","))
      throw new InputError(
        weightsFile,
        `tensor '${name}' has shape [${t.shape.join(", ")}], the config needs [${shape.join(", ")}]`,
      );
    return t.data;
  };
  for (const p of savedParams(ae, config)) ae.params.set(p.name, expect(p.name, p.shape));
  if (config.decoder === false)
    for (const p of ae.decoderParams) ae.params.set(p.name, new Float32Array(ae.params.value(p.name).length).fill(NaN));
  ae.params.define(CENTERS, [k, ae.codeDim], expect(CENTERS, [k, ae.codeDim]));
  const weightsSha256 = sha256(bytes);
  if (checkOnnx) checkOnnxFile(dir, config, weightsSha256);
  return new DECModel(config, ae, dir, precision, weightsSha256);
}

/**
 * model.onnx against config.json's hashes: it must be the file that was written, exported from
 * the weights model.safetensors holds. Not checked: a version 1 directory (no hashes), and a
 * directory without model.onnx (inference compiles its own graph from the weights).
 */
function checkOnnxFile(dir: string, config: ModelConfig, weightsSha256: string): void {
  const { sha256: expected, weightsSha256: exportedFrom } = config.onnx;
  const onnxFile = join(dir, MODEL_FILES.onnx);
  if (expected === undefined || exportedFrom === undefined || !existsSync(onnxFile)) return;
  let onnx: Buffer;
  try {
    onnx = readFileSync(onnxFile);
  } catch (e) {
    throw new InputError(onnxFile, `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const why =
    sha256(onnx) !== expected
      ? `its SHA-256 is not the one ${MODEL_FILES.config} records`
      : exportedFrom !== weightsSha256
        ? `it was exported from other weights than ${MODEL_FILES.weights} holds`
        : null;
  if (why !== null)
    throw new InputError(
      onnxFile,
      `does not match ${MODEL_FILES.config} and ${MODEL_FILES.weights} (${why}): stale, or from another model; re-export it with \`deepclust export ${dir}\``,
    );
}

/** The weights model.safetensors holds: the encoder's, and the decoder's unless config.decoder is false. */
function savedParams(ae: Autoencoder, config: ModelConfig) {
  return config.decoder === false ? ae.encoderParams : ae.allParams;
}

/** Cluster id → the label it matches under the best one-to-one mapping (ACC's Hungarian mapping), over the labelled rows. */
export function labelMapping(trueLabels: PartialLabels, clusters: Int32Array): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  const { yTrue, yPred } = labelledSubset(trueLabels, clusters);
  const { mapping } = clusteringAccuracy(yTrue, yPred);
  for (const [cluster, label] of [...mapping].sort((a, b) => Number(a[0]) - Number(b[0]))) out[String(cluster)] = label;
  return out;
}
