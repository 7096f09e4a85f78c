// Manifold clustering after N2D (McConville et al. 2020): a UMAP layout of the rows (here: an
// autoencoder's code) with a few components and min_dist 0, clustered by a Gaussian mixture. The
// layout pulls each cluster's local neighbourhoods together, which the Euclidean geometry of the
// code alone does not; the mixture then finds clusters k-means would cut. Used to start DEC.

import { Rng, type Matrix } from "../engine/index.js";
import { DEFAULTS } from "../config.js";
import { exactKnn } from "./knn.js";
import { fuzzySimplicialSet, UmapLayout } from "./umap.js";
import { gaussianMixture, type GaussianMixtureResult } from "./gmm.js";

export interface UmapOptions {
  /** Output dimensions (default 10). */
  nComponents?: number;
  /** Neighbours of the graph (default 20, N2D's). */
  nNeighbors?: number;
  /** Minimum distance between laid-out points (default 0: tight clusters, for clustering). */
  minDist?: number;
  /** Layout epochs (default: umap-js's own, 200 above 7,500 rows, up to 500 below). */
  nEpochs?: number;
  seed?: number | Rng;
  threads?: number;
  /** Called after every layout epoch with (epoch, epochs). */
  onEpoch?: (epoch: number, epochs: number) => void;
}

/** The layout's and the mixture's defaults (defined in config.ts). */
export const MANIFOLD_DEFAULTS = {
  nComponents: DEFAULTS.manifold.nComponents,
  nNeighbors: DEFAULTS.manifold.nNeighbors,
  minDist: DEFAULTS.manifold.minDist,
  restarts: DEFAULTS.manifold.restarts,
} as const;

/**
 * The UMAP layout of X (rows × nComponents, float64). Neighbours are exact (exactKnn), every other
 * random choice (initial layout, negative sampling) comes from the seed, so the same seed gives
 * the same layout.
 */
export async function umapEmbedding(
  X: Matrix,
  o: UmapOptions = {},
): Promise<{ data: Float64Array; rows: number; cols: number }> {
  const n = X.rows;
  const nNeighbors = Math.min(o.nNeighbors ?? MANIFOLD_DEFAULTS.nNeighbors, n - 1);
  const nComponents = o.nComponents ?? MANIFOLD_DEFAULTS.nComponents;
  if (n < 3 || nNeighbors < 2) throw new RangeError(`UMAP needs at least 3 rows, got ${n}`);
  const rng = o.seed instanceof Rng ? o.seed : new Rng(o.seed ?? DEFAULTS.seed);
  const knn = await exactKnn(X, nNeighbors, o.threads ?? DEFAULTS.threads);
  const graph = fuzzySimplicialSet(knn.indices, knn.distances, n, nNeighbors);
  const layout = new UmapLayout(graph, {
    nComponents,
    minDist: o.minDist ?? MANIFOLD_DEFAULTS.minDist,
    ...(o.nEpochs !== undefined ? { nEpochs: o.nEpochs } : {}),
    random: () => rng.uniform(),
  });
  while (layout.currentEpoch < layout.nEpochs) {
    const done = layout.step();
    o.onEpoch?.(done, layout.nEpochs);
  }
  const data = layout.embedding;
  for (let i = 0; i < data.length; i++)
    if (!Number.isFinite(data[i]!))
      throw new RangeError("UMAP's layout is not finite (degenerate data: many identical rows?)");
  return { data, rows: n, cols: nComponents };
}

export interface ManifoldClusters {
  /** Cluster of every row (the mixture's most probable component). */
  labels: Int32Array;
  /** Mean of X's rows per cluster (k × cols, float32): the starting centres in X's own space. */
  centers: Float32Array;
  embedding: { data: Float64Array; rows: number; cols: number };
  mixture: GaussianMixtureResult;
}

/** UMAP of X, then a Gaussian mixture with k components on the layout (best of `restarts`), then per-cluster means of X. */
export async function manifoldClusters(
  X: Matrix,
  k: number,
  o: UmapOptions & { restarts?: number } = {},
): Promise<ManifoldClusters> {
  const rng = o.seed instanceof Rng ? o.seed : new Rng(o.seed ?? DEFAULTS.seed);
  const embedding = await umapEmbedding(X, { ...o, seed: rng.fork() });
  const mixture = await gaussianMixture(embedding, {
    k,
    nInit: o.restarts ?? MANIFOLD_DEFAULTS.restarts,
    seed: rng.fork(),
    threads: o.threads ?? DEFAULTS.threads,
    regCovar: 1e-6,
  });
  const labels = mixture.labels;
  return { labels, centers: clusterMeans(X, labels, k), embedding, mixture };
}

/**
 * A Gaussian mixture with k components fitted to X itself (best of `restarts`), without a layout:
 * the start for data whose groups are Gaussian-like in X (deepclust's `--init gmm`). Returned as
 * manifoldClusters returns its clusters, the embedding being X itself in float64.
 */
export async function mixtureClusters(
  X: Matrix,
  k: number,
  o: { restarts?: number; seed?: number | Rng; threads?: number } = {},
): Promise<ManifoldClusters> {
  const rng = o.seed instanceof Rng ? o.seed : new Rng(o.seed ?? DEFAULTS.seed);
  const mixture = await gaussianMixture(X, {
    k,
    nInit: o.restarts ?? MANIFOLD_DEFAULTS.restarts,
    seed: rng.fork(),
    threads: o.threads ?? DEFAULTS.threads,
    regCovar: 1e-6,
  });
  const embedding = { data: Float64Array.from(X.data), rows: X.rows, cols: X.cols };
  return { labels: mixture.labels, centers: clusterMeans(X, mixture.labels, k), embedding, mixture };
}

/** Mean row per label (k × cols); an empty cluster keeps the overall mean. */
export function clusterMeans(X: Matrix, labels: Int32Array, k: number): Float32Array {
  const d = X.cols;
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  const all = new Float64Array(d);
  for (let i = 0; i < X.rows; i++) {
    const l = labels[i]!;
    counts[l]!++;
    for (let j = 0; j < d; j++) {
      sums[l * d + j]! += X.data[i * d + j]!;
      all[j]! += X.data[i * d + j]!;
    }
  }
  const out = new Float32Array(k * d);
  for (let c = 0; c < k; c++)
    for (let j = 0; j < d; j++) out[c * d + j] = counts[c]! > 0 ? sums[c * d + j]! / counts[c]! : all[j]! / X.rows;
  return out;
}
