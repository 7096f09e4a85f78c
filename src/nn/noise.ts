// Input corruption for denoising autoencoders, drawn from the run's generator so runs repeat.
//   mask:     each value kept with probability 1−f, zeroed otherwise (no rescaling, as the reference implementation)
//   gaussian: x + ε·f·σ_j, ε ~ N(0,1), σ_j the per-feature standard deviation of the batch (unbiased)
// It runs in JS while the step graph is not running: the cost is measured by the benchmark.

import type { Rng } from "../engine/index.js";

export type NoiseKind = "mask" | "gaussian" | "none";
export const NOISE_KINDS: readonly NoiseKind[] = ["mask", "gaussian", "none"];

export interface NoiseSpec {
  kind: NoiseKind;
  /** f: masking probability, or the multiple of the feature std. Default 0.3 (the reference implementation). */
  factor: number;
}

/** Writes the corrupted copy of `src` (rows×cols) into `dst`. */
export function corrupt(
  noise: NoiseSpec,
  src: Float32Array,
  rows: number,
  cols: number,
  rng: Rng,
  dst: Float32Array,
): void {
  const n = rows * cols;
  if (noise.kind === "none" || noise.factor === 0) {
    dst.set(src.subarray(0, n));
    return;
  }
  if (noise.kind === "mask") return maskNoise(noise.factor, src, n, rng, dst);
  return gaussianNoise(noise.factor, src, rows, cols, rng, dst);
}

let words = new Uint32Array(0);

function maskNoise(f: number, src: Float32Array, n: number, rng: Rng, dst: Float32Array): void {
  if (!(f >= 0 && f <= 1)) throw new RangeError(`mask noise factor must be in [0, 1], got ${f}`);
  // Two 16-bit uniforms per 32-bit word; P(drop) = round(f·65536)/65536, within 8e-6 of f.
  const threshold = Math.round(f * 65536);
  const nWords = (n + 1) >>> 1;
  if (words.length < nWords) words = new Uint32Array(nWords);
  const w = words.subarray(0, nWords);
  rng.fillUint32(w);
  const half = n >>> 1;
  // Branch-free: keep = 1 unless u < threshold (the sign bit of u − threshold). A 30 % random
  // branch mispredicts often enough to cost 3× the whole loop.
  for (let k = 0; k < half; k++) {
    const r = w[k]!;
    const i = 2 * k;
    dst[i] = src[i]! * (1 - (((r & 0xffff) - threshold) >>> 31));
    dst[i + 1] = src[i + 1]! * (1 - (((r >>> 16) - threshold) >>> 31));
  }
  if (n & 1) dst[n - 1] = src[n - 1]! * (1 - (((w[half]! & 0xffff) - threshold) >>> 31));
}

function gaussianNoise(f: number, src: Float32Array, rows: number, cols: number, rng: Rng, dst: Float32Array): void {
  const mean = new Float64Array(cols);
  const m2 = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) mean[c]! += src[o + c]!;
  }
  for (let c = 0; c < cols; c++) mean[c]! /= rows;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) {
      const d = src[o + c]! - mean[c]!;
      m2[c]! += d * d;
    }
  }
  const scale = new Float64Array(cols);
  for (let c = 0; c < cols; c++) scale[c] = rows > 1 ? f * Math.sqrt(m2[c]! / (rows - 1)) : 0;
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let c = 0; c < cols; c++) dst[o + c] = src[o + c]! + rng.normal() * scale[c]!;
  }
}
