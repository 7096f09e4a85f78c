// 2-D maps of the learned code for the report: UMAP (deepclust's port of umap-js, seeded, the one
// the manifold start uses) or PCA. Both run on at most a few thousand rows (the report subsamples
// first).

import type { Matrix } from "../engine/index.js";
import { umapEmbedding } from "../cluster/manifold.js";

export type MapMethod = "umap" | "pca";
export const MAP_METHODS: readonly MapMethod[] = ["umap", "pca"];

/** UMAP settings: umap-learn's defaults, with its large-dataset epoch count (fast, and plenty for a picture). */
export const UMAP_SETTINGS = { nNeighbors: 15, minDist: 0.1, nEpochs: 200 } as const;

/** Fewer rows than this: UMAP's neighbour graph is meaningless, so PCA is used instead. */
export const UMAP_MIN_ROWS = 16;

/**
 * The rows of X in two dimensions (rows × 2, row-major), the method that actually ran, and why
 * it is not the one asked for: UMAP falls back to PCA on too few rows or a degenerate layout.
 */
export async function embed2d(
  X: Matrix,
  method: MapMethod,
  seed: number,
): Promise<{ xy: Float64Array; method: MapMethod; note?: string }> {
  if (method === "pca") return { xy: pca2d(X), method };
  if (X.rows < UMAP_MIN_ROWS)
    return {
      xy: pca2d(X),
      method: "pca",
      note: `The map uses PCA: UMAP needs at least ${UMAP_MIN_ROWS} rows, the data has ${X.rows}.`,
    };
  try {
    return { xy: await umap2d(X, seed), method };
  } catch (e) {
    if (!(e instanceof RangeError && e.message.includes("not finite"))) throw e; // the layout is not finite (many identical rows)
  }
  return { xy: pca2d(X), method: "pca", note: "The map uses PCA: UMAP's layout of these rows was not finite." };
}

/** UMAP to 2-D; every random choice (initialisation, negative sampling) comes from the seed (neighbours are exact). */
export async function umap2d(X: Matrix, seed: number): Promise<Float64Array> {
  const layout = await umapEmbedding(X, {
    nComponents: 2,
    nNeighbors: UMAP_SETTINGS.nNeighbors,
    minDist: UMAP_SETTINGS.minDist,
    nEpochs: UMAP_SETTINGS.nEpochs,
    seed,
  });
  return layout.data;
}

/**
 * Projection onto the first two principal components (power iteration with deflation on the
 * d × d covariance, float64). Deterministic: a fixed start vector, and each component's sign is
 * chosen so that its largest-magnitude entry is positive.
 */
export function pca2d(X: Matrix): Float64Array {
  const { rows: n, cols: d, data } = X;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= Math.max(n, 1);
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = data[i * d + j]! - mean[j]!;
    for (let a = 0; a < d; a++) {
      const ra = row[a]!;
      if (ra === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b]! += ra * row[b]!;
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) cov[a * d + b] = cov[b * d + a]!;

  const components: Float64Array[] = [];
  for (let c = 0; c < Math.min(2, d); c++) {
    let v = new Float64Array(d).map((_, j) => 1 + j / d);
    for (let it = 0; it < 500; it++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) {
        let s = 0;
        for (let b = 0; b < d; b++) s += cov[a * d + b]! * v[b]!;
        w[a] = s;
      }
      for (const u of components) {
        const dot = w.reduce((s, x, j) => s + x * u[j]!, 0);
        for (let j = 0; j < d; j++) w[j]! -= dot * u[j]!;
      }
      const norm = Math.hypot(...w);
      if (!(norm > 0)) {
        v = new Float64Array(d); // no variance left: the component is zero
        break;
      }
      for (let j = 0; j < d; j++) w[j]! /= norm;
      const change = w.reduce((s, x, j) => s + Math.abs(x - v[j]!), 0);
      v = w;
      if (change < 1e-10) break;
    }
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(v[j]!) > Math.abs(v[big]!)) big = j;
    if (v[big]! < 0) v = v.map((x) => -x);
    components.push(v);
  }
  const out = new Float64Array(n * 2);
  for (let i = 0; i < n; i++) {
    components.forEach((u, c) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += (data[i * d + j]! - mean[j]!) * u[j]!;
      out[2 * i + c] = s;
    });
  }
  return out;
}
