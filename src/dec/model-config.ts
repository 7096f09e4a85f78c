// config.json of a model directory: its fields, and the check of a file read back. Every field a
// consumer uses (predict, evaluate, serve, export, report, the library) is checked with its type
// here, so a hand-edited or corrupt file fails at load with the file and the field named, never
// later as a JavaScript TypeError or as NaN predictions.

import { readFileSync } from "node:fs";
import { InputError } from "../io/errors.js";
import { CLUSTERING_METHODS, isClusteringMethod, type ClusteringMethod } from "./objectives.js";
import type { ConfidenceRecord, OutlierDefault } from "./outliers.js";

export const MODEL_FORMAT = "deepclust-model";
/**
 * 2: config.json records the SHA-256 of model.onnx and of the weights it was exported from
 * (onnx.sha256, onnx.weightsSha256). Version 1 directories are still read, without that check.
 */
export const MODEL_FORMAT_VERSION = 2;

import { DEEPCLUST_VERSION } from "../version.js";

export { DEEPCLUST_VERSION };

export interface ModelConfig {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  deepclustVersion: string;
  inputDim: number;
  /** Encoder layer sizes, input first, e.g. [768, 256, 32]; the decoder mirrors them. */
  dims: number[];
  k: number;
  /** Student-t degrees of freedom of the soft assignment. */
  alpha: number;
  /** Whether the code was L2-normalised before the decoder during pretraining (never at inference). */
  normalizeCode: boolean;
  method: ClusteringMethod;
  /**
   * Whether model.safetensors holds the decoder.* weights (absent: true). False for a model imported
   * from an encoder-only PyTorch state_dict: it predicts, transforms and exports like any other,
   * but has no decoder; a loaded one's decoder parameters are NaN, so any use of them shows.
   */
  decoder?: boolean;
  /** Every hyperparameter the model was fitted with, defaults resolved. */
  training: Record<string, unknown>;
  /** Where the training data came from (free-form: file, rows, columns), when known. */
  data: Record<string, unknown> | null;
  /** Cluster id → the training label it matches best (Hungarian mapping), when labels were given. */
  labelMapping: Record<string, string | number> | null;
  onnx: OnnxEntry;
  createdAt: string;
  /**
   * Trained from texts (train --embed-model): the embedding model, which predict, evaluate and
   * topics use to embed texts the same way (its folder, name, SHA-256 of model.onnx, dimension,
   * pooling, normalisation, most tokens). Absent for a model trained on embeddings.
   */
  embedding?: {
    dir: string;
    name: string;
    sha256: string;
    dim: number;
    pooling: "mean" | "cls";
    normalize: boolean;
    maxLength: number;
  };
  /**
   * The training rows' confidence (max q) at evenly spaced probabilities 0 … 1, which turns an
   * outlier rate into a threshold (see outliers.ts). Absent in a model trained before deepclust
   * recorded it, or imported from PyTorch.
   */
  confidence?: ConfidenceRecord;
  /** The default outlier threshold (train --min-confidence / --outlier-rate): predict and serve apply it unless told otherwise. */
  outliers?: OutlierDefault;
}

export interface OnnxEntry {
  file: string;
  input: string;
  outputs: readonly string[];
  opset: number;
  /**
   * SHA-256 (hex) of model.onnx, and of the model.safetensors it was exported from: loading
   * checks both, so a stale model.onnx or one from another model is caught (format version 2 on;
   * absent in version 1). Written by writeModelDir and by `deepclust export` into the directory.
   */
  sha256?: string;
  weightsSha256?: string;
}

/**
 * Checks config.json's contents (`value`, parsed JSON) field by field and returns them as a
 * ModelConfig (the same object: fields deepclust does not know are kept).
 */
export function checkModelConfig(file: string, value: unknown): ModelConfig {
  if (!isObject(value)) throw new InputError(file, `expected a JSON object, got ${describe(value)}`);
  const c = value;
  if (c.format !== MODEL_FORMAT) throw new InputError(file, `not a deepclust model (format ${describe(c.format)})`);
  const field = fieldChecker(file, c);
  const version = field("formatVersion", "a positive integer", isPositiveInteger);
  if (version > MODEL_FORMAT_VERSION)
    throw new InputError(
      file,
      `model format version ${version} is newer than this deepclust (${DEEPCLUST_VERSION}) reads; upgrade deepclust`,
    );
  field("deepclustVersion", "a string", isString);
  const inputDim = field("inputDim", "a positive integer", isPositiveInteger);
  const dims = field(
    "dims",
    "a list of at least 2 positive integers (the encoder's layer sizes)",
    (v): v is number[] => Array.isArray(v) && v.length >= 2 && v.every(isPositiveInteger),
  );
  if (dims[0] !== inputDim)
    throw new InputError(file, `field 'dims' must start with inputDim (${inputDim}), got ${describe(dims)}`);
  const k = field("k", "a positive integer", isPositiveInteger);
  field("alpha", "a positive number", (v): v is number => typeof v === "number" && v > 0 && Number.isFinite(v));
  field("normalizeCode", "true or false", isBoolean);
  field("method", `one of ${CLUSTERING_METHODS.join(", ")}`, isClusteringMethod);
  if (c.decoder !== undefined) field("decoder", "true or false (or absent)", isBoolean);
  field("training", "an object", isObject);
  field("data", "an object or null", (v): v is Record<string, unknown> | null => v === null || isObject(v));
  const mapping = field(
    "labelMapping",
    "an object or null",
    (v): v is Record<string, unknown> | null => v === null || isObject(v),
  );
  if (mapping !== null) {
    for (const [cluster, label] of Object.entries(mapping)) {
      if (!(/^\d+$/.test(cluster) && Number(cluster) < k))
        throw new InputError(file, `field 'labelMapping' has key '${cluster}', not a cluster id (0 to ${k - 1})`);
      if (!(typeof label === "string" || (typeof label === "number" && Number.isFinite(label)))) {
        throw new InputError(
          file,
          `field 'labelMapping.${cluster}' must be a string or a number, got ${describe(label)}`,
        );
      }
    }
  }
  const onnx = field("onnx", "an object {file, input, outputs, opset}", isObject);
  const sub = fieldChecker(file, onnx, "onnx.");
  sub("file", "a string", isString);
  sub("input", "a string", isString);
  sub("outputs", "a list of strings", (v): v is string[] => Array.isArray(v) && v.every(isString));
  sub("opset", "a positive integer", isPositiveInteger);
  // Version 1 predates the hashes; from version 2 on they are required, so that deleting them does not skip the check.
  if (version >= 2 || onnx.sha256 !== undefined || onnx.weightsSha256 !== undefined) {
    sub("sha256", "a SHA-256 in hex (64 characters)", isSha256);
    sub("weightsSha256", "a SHA-256 in hex (64 characters)", isSha256);
  }
  field("createdAt", "a string", isString);
  if (c.embedding !== undefined) {
    const e = field(
      "embedding",
      "an object {dir, name, sha256, dim, pooling, normalize, maxLength} (or absent)",
      isObject,
    );
    const sub = fieldChecker(file, e, "embedding.");
    sub("dir", "a string", isString);
    sub("name", "a string", isString);
    sub("sha256", "a SHA-256 in hex (64 characters)", isSha256);
    const dim = sub("dim", "a positive integer", isPositiveInteger);
    if (dim !== inputDim)
      throw new InputError(file, `field 'embedding.dim' (${dim}) must equal inputDim (${inputDim})`);
    sub("pooling", "mean or cls", (v): v is string => v === "mean" || v === "cls");
    sub("normalize", "true or false", isBoolean);
    sub("maxLength", "a positive integer", isPositiveInteger);
  }
  if (c.confidence !== undefined) {
    const conf = field("confidence", "an object {quantiles} (or absent)", isObject);
    fieldChecker(file, conf, "confidence.")(
      "quantiles",
      "a list of at least 2 non-decreasing numbers in [0, 1]",
      (v): v is number[] =>
        Array.isArray(v) &&
        v.length >= 2 &&
        v.every((x, i) => typeof x === "number" && x >= 0 && x <= 1 && (i === 0 || x >= (v[i - 1] as number))),
    );
  }
  if (c.outliers !== undefined) {
    const o = field("outliers", "an object {minConfidence, rate} (or absent)", isObject);
    const sub = fieldChecker(file, o, "outliers.");
    sub("minConfidence", "a number in [0, 1]", (v): v is number => typeof v === "number" && v >= 0 && v <= 1);
    sub(
      "rate",
      "a number in [0, 1) or null",
      (v): v is number | null => v === null || (typeof v === "number" && v >= 0 && v < 1),
    );
  }
  return c as unknown as ModelConfig;
}

/** Reads and checks config.json (`file`). */
export function readModelConfig(file: string): ModelConfig {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      file,
      code === "ENOENT"
        ? "not found: is this a deepclust model directory?"
        : `cannot read (${code ?? (e as Error).message})`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InputError(file, `not valid JSON (${(e as Error).message})`);
  }
  return checkModelConfig(file, value);
}

/** `field(name, expected, test)`: obj[name] when it passes `test`, else an InputError naming the field. */
function fieldChecker(file: string, obj: Record<string, unknown>, prefix = "") {
  return <T>(name: string, expected: string, test: (v: unknown) => v is T): T => {
    const v = obj[name];
    if (!test(v)) throw new InputError(file, `field '${prefix}${name}' must be ${expected}, got ${describe(v)}`);
    return v;
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isPositiveInteger(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) > 0;
}

function isString(v: unknown): v is string {
  return typeof v === "string";
}

function isBoolean(v: unknown): v is boolean {
  return typeof v === "boolean";
}

function isSha256(v: unknown): v is string {
  return typeof v === "string" && /^[0-9a-f]{64}$/.test(v);
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing (the field is missing)";
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}
