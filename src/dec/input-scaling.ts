// Per-feature standardisation of the input, folded into the model afterwards. Tabular data often
// mixes scales (scikit-learn's wine: proline in the hundreds, hue around 1): an autoencoder trained
// on it reconstructs the largest feature and ignores the rest, and SGD steps sized for unit-scale
// data diverge. Training runs on (x − μ) / σ; at the end μ and σ are folded into the first encoder
// layer (W·diag(1/σ), b − W·diag(1/σ)·μ) and the decoder's output layer, so the saved model takes
// raw inputs and predict, serve, export and model.onnx are unchanged.

import type { Matrix } from "../engine/index.js";
import type { Autoencoder } from "./autoencoder.js";

export type InputScaling = "none" | "standardize" | "auto";
export const INPUT_SCALINGS: readonly InputScaling[] = ["none", "standardize", "auto"];

/**
 * "auto" standardises when the features' standard deviations spread over more than this factor
 * (largest over median): mixed units, not pixels or embeddings, whose features share one scale.
 */
export const AUTO_SPREAD = 10;

export interface Standardizer {
  mean: Float64Array;
  /** Per-feature standard deviation (1 for a constant feature). */
  scale: Float64Array;
}

/** Mean and standard deviation of every column (float64, population sd as scikit-learn's StandardScaler). */
export function featureStats(X: Matrix): Standardizer {
  const { rows: n, cols: d, data } = X;
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      const v = data[i * d + j]! - mean[j]!;
      m2[j]! += v * v;
    }
  const scale = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    const sd = Math.sqrt(m2[j]! / n);
    scale[j] = sd > 0 ? sd : 1;
  }
  return { mean, scale };
}

/** The standardizer the mode asks for on this data, or null for none. */
export function chooseScaling(X: Matrix, mode: InputScaling): Standardizer | null {
  if (mode === "none") return null;
  const s = featureStats(X);
  if (mode === "standardize") return s;
  const sds = Array.from(s.scale)
    .filter((v, j) => v !== 1 || s.mean[j] !== 0)
    .sort((a, b) => a - b);
  if (sds.length < 2) return null;
  const median = sds[Math.floor(sds.length / 2)]!;
  return sds.at(-1)! / median > AUTO_SPREAD ? s : null;
}

/** (X − μ) / σ as a new matrix. */
export function standardize(X: Matrix, s: Standardizer): Matrix {
  const { rows: n, cols: d, data } = X;
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) out[i * d + j] = (data[i * d + j]! - s.mean[j]!) / s.scale[j]!;
  return { data: out, rows: n, cols: d };
}

/**
 * Folds the standardizer into the autoencoder's first encoder layer and its output layer, so that
 * the model applied to raw x computes what it computed on (x − μ) / σ. Float64 arithmetic, one
 * float32 rounding per weight.
 */
export function foldScaling(ae: Autoencoder, s: Standardizer): void {
  const first = ae.encoderLayers[0]!;
  const W = ae.params.value(first.weight.name);
  const b = ae.params.value(first.bias.name);
  const out = first.outFeatures;
  const d = first.inFeatures;
  const W2 = new Float32Array(W.length);
  const b2 = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let shift = 0;
    for (let j = 0; j < d; j++) {
      const w = W[o * d + j]! / s.scale[j]!;
      W2[o * d + j] = w;
      shift += w * s.mean[j]!;
    }
    b2[o] = b[o]! - shift;
  }
  ae.params.set(first.weight.name, W2);
  ae.params.set(first.bias.name, b2);
  // Output layer: x̂ = σ ⊙ (V h + c) + μ.
  const last = ae.decoderLayers.at(-1)!;
  const V = ae.params.value(last.weight.name);
  const c = ae.params.value(last.bias.name);
  const h = last.inFeatures;
  const V2 = new Float32Array(V.length);
  const c2 = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    for (let q = 0; q < h; q++) V2[j * h + q] = V[j * h + q]! * s.scale[j]!;
    c2[j] = c[j]! * s.scale[j]! + s.mean[j]!;
  }
  ae.params.set(last.weight.name, V2);
  ae.params.set(last.bias.name, c2);
}
