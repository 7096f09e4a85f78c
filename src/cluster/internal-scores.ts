// Internal (unsupervised) clustering scores, defined exactly as scikit-learn 1.2 defines them:
// the silhouette (per row and its mean), Calinski–Harabasz and Davies–Bouldin. They need no
// ground truth, so they judge a clustering of unlabelled data (and compare k for one data set).
//
// The silhouette needs every pairwise distance, O(n² d): it runs as blocked GEMMs in onnxruntime.
// The rows are sorted by cluster; per square tile of rows × rows (on and above the diagonal: the
// distances are symmetric), one GEMM of the augmented rows [q, ‖q‖², 1]·[−2x, 1, ‖x‖²] gives the
// squared distances, clamped at 0 and square-rooted, and GEMMs with the tile's one-hot cluster
// membership ([rows, the clusters the tile spans]) sum them per cluster for both sides' rows, so
// only those small sums come back to JavaScript, where the tiles' sums add up in float64.
//
// Precision: float64 throughout. In float32 the expansion ‖q‖² + ‖x‖² − 2 q·x loses the small
// distances to cancellation (a row's distance to itself or to a near duplicate comes out as
// √(ε·‖x‖²), about 1e-3 for ‖x‖ ≈ 10), which moved silhouettes by up to 3e-5 on the committed
// fixture; float64 matches scikit-learn (which itself upcasts float32 for these distances) to
// 1e-15. The speed it costs is measured in BENCHMARKS.md ("Silhouette").
// Calinski–Harabasz and Davies–Bouldin are O(n d) and run in float64 JavaScript.

import { CompiledGraph, Graph, Rng, Tensor, type Matrix } from "../engine/index.js";
import { DEFAULTS } from "../config.js";

export interface SilhouetteOptions {
  /** Score a seeded random subset of this many rows (without replacement, as scikit-learn's sample_size); undefined/null, 0 or >= rows: exact. */
  sampleSize?: number | null;
  /** Seed of the subset (default DEFAULTS.seed). */
  seed?: number;
  /** onnxruntime intra-op threads, 0 = default. */
  threads?: number;
}

export interface InternalScores {
  /** Mean silhouette in [-1, 1]: higher is better. NaN when a sample drew fewer than 2 clusters. */
  silhouette: number;
  /** Rows the silhouette was computed on: rows when exact, else the sample size. */
  silhouetteRows: number;
  /** Between- over within-cluster dispersion, scaled by degrees of freedom: higher is better. */
  calinskiHarabasz: number;
  /** Mean over clusters of the worst (spread_i + spread_j) / centroid distance: lower is better, 0 at best. */
  daviesBouldin: number;
}

interface EncodedLabels {
  /** Index of each row's label among the sorted distinct labels. */
  codes: Int32Array;
  /** Rows per label. */
  counts: Float64Array;
}

function encodeLabels(labels: ArrayLike<number>, rows: number, what: string): EncodedLabels {
  if (labels.length !== rows) throw new RangeError(`${what}: X has ${rows} rows but there are ${labels.length} labels`);
  const index = new Map<number, number>();
  for (let i = 0; i < rows; i++) {
    const v = labels[i]!;
    if (!Number.isFinite(v)) throw new RangeError(`${what}: label of row ${i + 1} is ${v}, not a number`);
    index.set(v, 0);
  }
  const classes = [...index.keys()].sort((a, b) => a - b);
  classes.forEach((c, i) => index.set(c, i));
  const codes = new Int32Array(rows);
  const counts = new Float64Array(classes.length);
  for (let i = 0; i < rows; i++) {
    const c = index.get(labels[i]!)!;
    codes[i] = c;
    counts[c]!++;
  }
  return { codes, counts };
}

/** scikit-learn's check_number_of_labels: 2 <= labels <= rows − 1. */
function validLabelCount(k: number, rows: number): boolean {
  return k >= 2 && k <= rows - 1;
}

function checkLabelCount(k: number, rows: number, what: string): void {
  if (!validLabelCount(k, rows))
    throw new RangeError(`${what}: number of labels is ${k}; valid values are 2 to rows - 1 = ${rows - 1} (inclusive)`);
}

/** @internal What the silhouette's GEMMs run in (bench/silhouette-scale.ts compares them). */
export type SilhouettePrecision = "float32" | "float64" | "mixed";

/** What the silhouette runs in: float64 (the header says why). */
const SILHOUETTE_PRECISION: SilhouettePrecision = "float64";

/** @internal Engine knobs for benchmarks: the float type and the tile of distances per call. */
export interface SilhouetteEngineOptions {
  threads?: number;
  precision?: SilhouettePrecision;
  /** Rows per side of the square distance tiles (default SILHOUETTE_TILE_ROWS). */
  tileRows?: number;
  /** Sort the rows by cluster before tiling (default true; false is the earlier layout, kept for bench/diagnostics/silhouette-tiles.ts). */
  sortRows?: boolean;
}

/**
 * Rows per side of the square distance tiles (a 768 × 768 float64 tile is 4.5 MiB). Of 512, 768
 * and 1,024, 768 was the fastest on 30,000 and 100,000 rows at k = 10 and within 7 % of 512 at
 * k = 50; smaller tiles pay onnxruntime's per-run cost more often (BENCHMARKS.md, "Silhouette").
 */
export const SILHOUETTE_TILE_ROWS = 768;

/** Rows sorted by cluster (stable): sorted position → original row, with each position's cluster. */
function sortByCluster(codes: Int32Array, counts: Float64Array): { order: Int32Array; sortedCodes: Int32Array } {
  const k = counts.length;
  const next = new Int32Array(k);
  for (let c = 1; c < k; c++) next[c] = next[c - 1]! + counts[c - 1]!;
  const order = new Int32Array(codes.length);
  const sortedCodes = new Int32Array(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const at = next[codes[i]!]!++;
    order[at] = i;
    sortedCodes[at] = codes[i]!;
  }
  return { order, sortedCodes };
}

/**
 * Per row and cluster, the sum of the row's Euclidean distances to the cluster's rows: [rows, k],
 * row-major, float64. The blocked GEMM core of the silhouette.
 *
 * The rows are sorted by cluster first, so a tile of consecutive rows spans one cluster or a few
 * neighbouring ones: its one-hot membership has that span's columns, not k. Summing a tile's
 * distances per cluster is then a GEMM with 1–3 columns instead of k: against unsorted rows, 1.5×
 * faster on 30,000 rows at k = 10, 3× at k = 50, where the unsorted layout's cost grew with k.
 *
 * The distance matrix is symmetric, so only the tiles on and above the diagonal are computed: a
 * tile D of rows I × rows J gives the sums of I's rows over J's clusters (D · M_J) and those of
 * J's rows over I's clusters (M_Iᵀ · D, which keeps the big operand untransposed), M being the
 * membership. Half the distances and square roots of the full matrix, which are most of the time.
 */
async function clusterDistanceSums(
  X: Matrix,
  codes: Int32Array,
  counts: Float64Array,
  options: SilhouetteEngineOptions,
): Promise<Float64Array> {
  const { rows: n, cols: d } = X;
  const k = counts.length;
  const precision = options.precision ?? SILHOUETTE_PRECISION;
  const gemmType = precision === "float32" ? "float32" : "float64";
  const sumType = precision === "float64" ? "float64" : "float32";
  const GemmArr = gemmType === "float64" ? Float64Array : Float32Array;
  const SumArr = sumType === "float64" ? Float64Array : Float32Array;
  // Rows augmented so that one GEMM gives the squared distances: [q, ‖q‖², 1] · [−2x, 1, ‖x‖²].
  const e = d + 2;
  const g = new Graph("silhouette");
  const q = g.input("q", gemmType, ["a", e]);
  const x = g.input("x", gemmType, ["b", e]);
  const memberQ = g.input("member_q", sumType, ["a", "span_q"]);
  const memberX = g.input("member_x", sumType, ["b", "span_x"]);
  // Rounding can make a zero distance slightly negative: Relu clamps it before the square root.
  let d2 = g.relu(g.gemm(q, x, { transB: true }));
  if (sumType !== gemmType) d2 = g.cast(d2, sumType);
  const dist = g.sqrt(d2);
  g.output(g.matmul(dist, memberX), "sums_q");
  g.output(g.gemm(memberQ, dist, { transA: true }), "sums_x");
  const compiled = await CompiledGraph.create(g, { threads: options.threads ?? DEFAULTS.threads });

  const { order, sortedCodes } =
    options.sortRows === false
      ? { order: Int32Array.from(codes, (_, i) => i), sortedCodes: codes }
      : sortByCluster(codes, counts);
  const query = new GemmArr(n * e);
  const other = new GemmArr(n * e);
  for (let r = 0; r < n; r++) {
    const i = order[r]!;
    let s = 0;
    for (let j = 0; j < d; j++) {
      const v = X.data[i * d + j]!;
      query[r * e + j] = v;
      other[r * e + j] = -2 * v;
      s += v * v;
    }
    query[r * e + d] = s;
    query[r * e + d + 1] = 1;
    other[r * e + d] = 1;
    other[r * e + d + 1] = s;
  }
  const t = Math.max(1, Math.min(n, options.tileRows ?? SILHOUETTE_TILE_ROWS));
  const tiles: Array<{
    from: number;
    rows: number;
    first: number;
    span: number;
    q: Tensor;
    x: Tensor;
    member: Tensor;
  }> = [];
  for (let from = 0; from < n; from += t) {
    const to = Math.min(n, from + t);
    let first = k;
    let last = 0;
    for (let r = from; r < to; r++) {
      first = Math.min(first, sortedCodes[r]!);
      last = Math.max(last, sortedCodes[r]!);
    }
    const span = last - first + 1;
    const member = new SumArr((to - from) * span);
    for (let r = from; r < to; r++) member[(r - from) * span + sortedCodes[r]! - first] = 1;
    tiles.push({
      from,
      rows: to - from,
      first,
      span,
      q: new Tensor(query.subarray(from * e, to * e), [to - from, e]),
      x: new Tensor(other.subarray(from * e, to * e), [to - from, e]),
      member: new Tensor(member, [to - from, span]),
    });
  }
  // Each tile's partial sums land on its span of clusters, in the rows' original order.
  const sums = new Float64Array(n * k);
  try {
    for (let a = 0; a < tiles.length; a++) {
      const I = tiles[a]!;
      for (let b = a; b < tiles.length; b++) {
        const J = tiles[b]!;
        const out = await compiled.run(
          { q: I.q, x: J.x, member_q: I.member, member_x: J.member },
          {},
          a === b ? ["sums_q"] : ["sums_q", "sums_x"],
        );
        const toI = out.sums_q as Float32Array | Float64Array; // [I.rows, J.span]
        for (let i = 0; i < I.rows; i++)
          for (let c = 0; c < J.span; c++) sums[order[I.from + i]! * k + J.first + c]! += toI[i * J.span + c]!;
        // On the diagonal, sums_q already holds every pair of the tile.
        if (a === b) continue;
        const toJ = out.sums_x as Float32Array | Float64Array; // [I.span, J.rows]
        for (let c = 0; c < I.span; c++)
          for (let j = 0; j < J.rows; j++) sums[order[J.from + j]! * k + I.first + c]! += toJ[c * J.rows + j]!;
      }
    }
  } finally {
    await compiled.release();
  }
  return sums;
}

/** @internal silhouetteSamples with the engine knobs (precision, block size) exposed for benchmarks. */
export async function silhouetteSamplesWith(
  X: Matrix,
  labels: ArrayLike<number>,
  options: SilhouetteEngineOptions = {},
): Promise<Float64Array> {
  const { codes, counts } = encodeLabels(labels, X.rows, "silhouette");
  const k = counts.length;
  checkLabelCount(k, X.rows, "silhouette");
  const sums = await clusterDistanceSums(X, codes, counts, options);
  const out = new Float64Array(X.rows);
  for (let i = 0; i < X.rows; i++) {
    const own = codes[i]!;
    // A row alone in its cluster scores 0 (scikit-learn's convention).
    if (counts[own]! <= 1) continue;
    const a = sums[i * k + own]! / (counts[own]! - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own) b = Math.min(b, sums[i * k + c]! / counts[c]!);
    const s = (b - a) / Math.max(a, b);
    out[i] = Number.isNaN(s) ? 0 : s; // 0/0 for a row whose distances are all 0: nan_to_num
  }
  return out;
}

/** Per-row silhouette (scikit-learn's silhouette_samples; 0 for a row in a singleton cluster). Exact, blocked GEMM in onnxruntime. */
export function silhouetteSamples(
  X: Matrix,
  labels: ArrayLike<number>,
  options: { threads?: number } = {},
): Promise<Float64Array> {
  return silhouetteSamplesWith(X, labels, { ...(options.threads !== undefined ? { threads: options.threads } : {}) });
}

/** Rows a silhouette with `sampleSize` scores: all of them unless a smaller positive sample is asked for. */
function sampledRows(rows: number, sampleSize: number | null | undefined): number {
  if (sampleSize === undefined || sampleSize === null || sampleSize === 0) return rows;
  if (!Number.isInteger(sampleSize) || sampleSize < 0)
    throw new RangeError(`silhouette: sampleSize must be a non-negative integer, got ${sampleSize}`);
  return Math.min(rows, sampleSize);
}

/** The seeded subset (without replacement) of `size` of the rows 0..rows-1, as X and labels. */
function sampleRows(
  X: Matrix,
  labels: ArrayLike<number>,
  size: number,
  seed: number,
): { X: Matrix; labels: Float64Array } {
  const pick = new Rng(seed).permutation(X.rows).subarray(0, size);
  const d = X.cols;
  const data = new Float32Array(size * d);
  const sub = new Float64Array(size);
  for (let i = 0; i < size; i++) {
    const r = pick[i]!;
    data.set(X.data.subarray(r * d, r * d + d), i * d);
    sub[i] = labels[r]!;
  }
  return { X: { data, rows: size, cols: d }, labels: sub };
}

function mean(values: Float64Array): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** Mean silhouette (scikit-learn's silhouette_score), exact or on a seeded sample of rows. */
export async function silhouetteScore(
  X: Matrix,
  labels: ArrayLike<number>,
  options: SilhouetteOptions = {},
): Promise<number> {
  if (labels.length !== X.rows)
    throw new RangeError(`silhouette: X has ${X.rows} rows but there are ${labels.length} labels`);
  const size = sampledRows(X.rows, options.sampleSize);
  const threads = options.threads !== undefined ? { threads: options.threads } : {};
  if (size === X.rows) return mean(await silhouetteSamples(X, labels, threads));
  const s = sampleRows(X, labels, size, options.seed ?? DEFAULTS.seed);
  return mean(await silhouetteSamples(s.X, s.labels, threads));
}

/** Per-cluster means (float64) of the rows, with the overall mean. */
function centroids(X: Matrix, codes: Int32Array, counts: Float64Array): { means: Float64Array; overall: Float64Array } {
  const { rows: n, cols: d } = X;
  const k = counts.length;
  const means = new Float64Array(k * d);
  const overall = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const c = codes[i]!;
    for (let j = 0; j < d; j++) {
      const v = X.data[i * d + j]!;
      means[c * d + j]! += v;
      overall[j]! += v;
    }
  }
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) means[c * d + j]! /= counts[c]!;
  for (let j = 0; j < d; j++) overall[j]! /= n;
  return { means, overall };
}

/** scikit-learn's calinski_harabasz_score: (between dispersion / (k − 1)) / (within dispersion / (n − k)); 1 when within is 0. */
export function calinskiHarabaszScore(X: Matrix, labels: ArrayLike<number>): number {
  const { codes, counts } = encodeLabels(labels, X.rows, "Calinski-Harabasz");
  const k = counts.length;
  const { rows: n, cols: d } = X;
  checkLabelCount(k, n, "Calinski-Harabasz");
  const { means, overall } = centroids(X, codes, counts);
  let extra = 0;
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += (means[c * d + j]! - overall[j]!) ** 2;
    extra += counts[c]! * s;
  }
  let intra = 0;
  for (let i = 0; i < n; i++) {
    const c = codes[i]!;
    for (let j = 0; j < d; j++) intra += (X.data[i * d + j]! - means[c * d + j]!) ** 2;
  }
  return intra === 0 ? 1 : (extra * (n - k)) / (intra * (k - 1));
}

/** numpy.allclose(values, 0): every |value| <= 1e-8 (its default atol). */
function allNearZero(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (Math.abs(values[i]!) > 1e-8) return false;
  return true;
}

/** scikit-learn's davies_bouldin_score: mean over clusters of max_j (s_i + s_j) / ‖c_i − c_j‖; 0 when all spreads or all centroid distances are 0. */
export function daviesBouldinScore(X: Matrix, labels: ArrayLike<number>): number {
  const { codes, counts } = encodeLabels(labels, X.rows, "Davies-Bouldin");
  const k = counts.length;
  const { rows: n, cols: d } = X;
  checkLabelCount(k, n, "Davies-Bouldin");
  const { means } = centroids(X, codes, counts);
  const spread = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const c = codes[i]!;
    let s = 0;
    for (let j = 0; j < d; j++) s += (X.data[i * d + j]! - means[c * d + j]!) ** 2;
    spread[c]! += Math.sqrt(s);
  }
  for (let c = 0; c < k; c++) spread[c]! /= counts[c]!;
  const between = new Float64Array(k * k);
  for (let a = 0; a < k; a++)
    for (let b = a + 1; b < k; b++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (means[a * d + j]! - means[b * d + j]!) ** 2;
      between[a * k + b] = between[b * k + a] = Math.sqrt(s);
    }
  if (allNearZero(spread) || allNearZero(between)) return 0;
  let total = 0;
  for (let a = 0; a < k; a++) {
    let worst = 0;
    for (let b = 0; b < k; b++) {
      if (b === a) continue;
      // Coincident centroids count as infinitely far apart (scikit-learn's convention).
      const dist = between[a * k + b]!;
      if (dist !== 0) worst = Math.max(worst, (spread[a]! + spread[b]!) / dist);
    }
    total += worst;
  }
  return total / k;
}

/** The cluster of an outlier (a row no cluster claims: predict's -1), left out of internalScores. */
export const OUTLIER_CLUSTER = -1;

/** All three; null when they are undefined (fewer than 2 distinct labels, or as many labels as rows). Rows labelled -1 (outliers) are left out. */
export async function internalScores(
  X: Matrix,
  labels: ArrayLike<number>,
  options: SilhouetteOptions = {},
): Promise<InternalScores | null> {
  if (labels.length !== X.rows)
    throw new RangeError(`internal scores: X has ${X.rows} rows but there are ${labels.length} labels`);
  let kept = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] !== OUTLIER_CLUSTER) kept++;
  let data = X;
  let lab: ArrayLike<number> = labels;
  if (kept < X.rows) {
    const d = X.cols;
    const sub = new Float32Array(kept * d);
    const subLabels = new Float64Array(kept);
    for (let i = 0, o = 0; i < X.rows; i++)
      if (labels[i] !== OUTLIER_CLUSTER) {
        sub.set(X.data.subarray(i * d, i * d + d), o * d);
        subLabels[o++] = labels[i]!;
      }
    data = { data: sub, rows: kept, cols: d };
    lab = subLabels;
  }
  const distinct = new Set<number>();
  for (let i = 0; i < lab.length; i++) distinct.add(lab[i]!);
  if (!validLabelCount(distinct.size, data.rows)) return null;
  const rows = sampledRows(data.rows, options.sampleSize);
  let silhouette: number;
  try {
    silhouette = await silhouetteScore(data, lab, options);
  } catch (e) {
    // A sample can draw fewer than 2 clusters (or one row per cluster) when the clusters are tiny.
    if (!(e instanceof RangeError) || rows === data.rows) throw e;
    silhouette = NaN;
  }
  return {
    silhouette,
    silhouetteRows: rows,
    calinskiHarabasz: calinskiHarabaszScore(data, lab),
    daviesBouldin: daviesBouldinScore(data, lab),
  };
}
