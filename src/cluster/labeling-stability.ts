// How much several clusterings of the same rows agree: the adjusted Rand index of every pair, and
// for each cluster of the first (the model kept) its best-match Jaccard index in each of the
// others, |A ∩ B| / |A ∪ B| of the cluster and its best-overlapping cluster there (Hennig 2007's
// cluster-wise stability, over seeds instead of bootstrap resamples). A cluster near 1 is found
// whatever the seed; one well below about 0.6 is not to be trusted.

import { ari } from "./metrics.js";

export interface LabelingStability {
  /** ARI of every pair, n × n (1 on the diagonal). */
  pairwiseAri: number[][];
  /** Mean and minimum ARI over the pairs. */
  meanAri: number;
  minAri: number;
  /** Per cluster of the first labeling: its size, and its best-match Jaccard in each other labeling, their mean and minimum. */
  clusters: Array<{ cluster: number; size: number; jaccard: number[]; mean: number; min: number }>;
}

/** Labelings of the same rows with cluster indices 0..k−1 (the first is the reference); at least two. */
export function labelingStability(labelings: readonly Int32Array[], k: number): LabelingStability {
  if (labelings.length < 2) throw new RangeError("stability needs at least two labelings");
  const n = labelings[0]!.length;
  for (const l of labelings) if (l.length !== n) throw new RangeError("labelings of different lengths");
  const m = labelings.length;
  const pairwiseAri = Array.from({ length: m }, () => new Array<number>(m).fill(1));
  const pairs: number[] = [];
  for (let a = 0; a < m; a++)
    for (let b = a + 1; b < m; b++) {
      const v = ari(labelings[a]!, labelings[b]!);
      pairwiseAri[a]![b] = pairwiseAri[b]![a] = v;
      pairs.push(v);
    }
  const ref = labelings[0]!;
  const sizes = new Array<number>(k).fill(0);
  for (const c of ref) sizes[c]!++;
  const clusters = sizes.map((size, cluster) => ({ cluster, size, jaccard: [] as number[], mean: NaN, min: NaN }));
  for (const other of labelings.slice(1)) {
    const kk = Math.max(k, ...other) + 1;
    const overlap = new Float64Array(k * kk);
    const otherSizes = new Float64Array(kk);
    for (let i = 0; i < n; i++) {
      overlap[ref[i]! * kk + other[i]!]!++;
      otherSizes[other[i]!]!++;
    }
    for (const c of clusters) {
      let best = 0;
      for (let j = 0; j < kk; j++) {
        const inter = overlap[c.cluster * kk + j]!;
        const union = c.size + otherSizes[j]! - inter;
        if (union > 0) best = Math.max(best, inter / union);
      }
      c.jaccard.push(best);
    }
  }
  for (const c of clusters) {
    c.mean = c.jaccard.reduce((s, v) => s + v, 0) / c.jaccard.length;
    c.min = Math.min(...c.jaccard);
  }
  return {
    pairwiseAri,
    meanAri: pairs.reduce((s, v) => s + v, 0) / pairs.length,
    minAri: Math.min(...pairs),
    clusters,
  };
}
