// The silhouette benchmarks' data (bench/silhouette-scale.ts, bench/diagnostics/silhouette-tiles.ts):
// k Gaussian blobs in d dimensions, centres N(0, 4²) per coordinate, unit spread, from a fixed seed.

import { Rng, type Matrix } from "../src/index.js";

/** n rows of k blobs in d dimensions; labels 0..k−1 in order of generation. */
export function blobs(n: number, k: number, d: number): { X: Matrix; labels: Int32Array } {
  const rng = new Rng(2026);
  const centres = Array.from({ length: k * d }, () => 4 * rng.normal());
  const data = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(k);
    labels[i] = c;
    for (let j = 0; j < d; j++) data[i * d + j] = centres[c * d + j]! + rng.normal();
  }
  return { X: { data, rows: n, cols: d }, labels };
}
