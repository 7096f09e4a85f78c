// External clustering metrics, defined exactly as scikit-learn 1.2 defines them (including its
// special cases): clustering accuracy with the optimal one-to-one mapping (Hungarian algorithm on
// the contingency matrix), normalised mutual information (arithmetic mean normalisation) and the
// adjusted Rand index. Labels may be any numbers or strings; all arithmetic is float64, and the
// contingency table is kept sparse so NMI and ARI scale to many distinct labels.

import { linearSumAssignment } from "./hungarian.js";

/** A labelling: one label per sample, numbers or strings. */
export type Labels = ArrayLike<number | string>;
export type Label = number | string;
/** Ground truth with gaps: null marks a sample without a label (unlabelled). */
export type PartialLabels = ArrayLike<Label | null>;

interface Encoded {
  /** Index of each sample's label in `classes`. */
  codes: Int32Array;
  /** The distinct labels, sorted (numbers ascending, strings by code unit), as numpy.unique does. */
  classes: Label[];
}

function encode(labels: Labels, what: string): Encoded {
  const n = labels.length;
  const index = new Map<Label, number>();
  for (let i = 0; i < n; i++) {
    const v = labels[i]!;
    if (typeof v === "number" ? Number.isNaN(v) : typeof v !== "string")
      throw new TypeError(`${what}[${i}] is ${String(v)}: labels must be numbers or strings`);
    index.set(v, 0);
  }
  const classes = [...index.keys()].sort((a, b) =>
    typeof a === "number" && typeof b === "number" ? a - b : a < b ? -1 : a > b ? 1 : 0,
  );
  classes.forEach((c, i) => index.set(c, i));
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) codes[i] = index.get(labels[i]!)!;
  return { codes, classes };
}

function checkPair(yTrue: PartialLabels, yPred: Labels, what: string): void {
  if (yTrue.length !== yPred.length)
    throw new RangeError(`${what}: yTrue has ${yTrue.length} labels, yPred has ${yPred.length}`);
}

/** The non-zero cells of the contingency table in row-major order, with the margins. */
interface SparseContingency {
  n: number;
  trueClasses: Label[];
  predClasses: Label[];
  rows: Int32Array;
  cols: Int32Array;
  counts: Float64Array;
  /** Row sums (samples per true class) and column sums (samples per predicted cluster). */
  a: Float64Array;
  b: Float64Array;
}

function sparseContingency(yTrue: Labels, yPred: Labels): SparseContingency {
  const t = encode(yTrue, "yTrue");
  const p = encode(yPred, "yPred");
  const n = t.codes.length;
  const kp = p.classes.length;
  // Cell keys t·kp + p are exact integers in float64 (< 2⁵³); sorting groups equal cells.
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = t.codes[i]! * kp + p.codes[i]!;
  keys.sort();
  const rows: number[] = [];
  const cols: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < n;) {
    let j = i + 1;
    while (j < n && keys[j] === keys[i]) j++;
    rows.push(Math.floor(keys[i]! / kp));
    cols.push(keys[i]! % kp);
    counts.push(j - i);
    i = j;
  }
  const a = new Float64Array(t.classes.length);
  const b = new Float64Array(kp);
  counts.forEach((c, z) => {
    a[rows[z]!]! += c;
    b[cols[z]!]! += c;
  });
  return {
    n,
    trueClasses: t.classes,
    predClasses: p.classes,
    rows: Int32Array.from(rows),
    cols: Int32Array.from(cols),
    counts: Float64Array.from(counts),
    a,
    b,
  };
}

export interface ContingencyMatrix {
  /** Row labels: the distinct true labels, sorted. */
  trueLabels: Label[];
  /** Column labels: the distinct predicted labels, sorted. */
  predLabels: Label[];
  /** trueLabels.length × predLabels.length, row-major: samples with that true and predicted label. */
  counts: Float64Array;
}

const MAX_DENSE_CELLS = 1 << 24;

/** The contingency table of two labellings (scikit-learn's contingency_matrix, dense). */
/** How many rows each of the k clusters holds (labels in [0, k)). */
export function clusterSizes(labels: ArrayLike<number>, k: number): number[] {
  const sizes = new Array<number>(k).fill(0);
  for (let i = 0; i < labels.length; i++) sizes[labels[i]!]!++;
  return sizes;
}

export function contingencyMatrix(yTrue: Labels, yPred: Labels): ContingencyMatrix {
  checkPair(yTrue, yPred, "contingencyMatrix");
  const s = sparseContingency(yTrue, yPred);
  const kt = s.trueClasses.length;
  const kp = s.predClasses.length;
  if (kt * kp > MAX_DENSE_CELLS)
    throw new RangeError(`contingencyMatrix: ${kt} true × ${kp} predicted labels is too large for a dense table`);
  const counts = new Float64Array(kt * kp);
  s.counts.forEach((c, z) => (counts[s.rows[z]! * kp + s.cols[z]!] = c));
  return { trueLabels: s.trueClasses, predLabels: s.predClasses, counts };
}

export interface AccuracyResult {
  /** Fraction of samples whose predicted cluster maps to their true label. */
  accuracy: number;
  /**
   * Predicted label → true label under the optimal one-to-one mapping. When there are more
   * predicted clusters than true labels, the unmatched clusters are absent (their samples count
   * as errors).
   */
  mapping: Map<Label, Label>;
}

/**
 * Clustering accuracy: the best one-to-one mapping of predicted clusters to true labels
 * (Hungarian algorithm on the contingency table, maximising matched samples), and the fraction
 * of samples it gets right. The numbers of clusters and labels may differ.
 */
export function clusteringAccuracy(yTrue: Labels, yPred: Labels): AccuracyResult {
  checkPair(yTrue, yPred, "clusteringAccuracy");
  if (yTrue.length === 0)
    throw new RangeError("clusteringAccuracy: no labels (accuracy of an empty labelling is undefined)");
  const { trueLabels, predLabels, counts } = contingencyMatrix(yTrue, yPred);
  const kt = trueLabels.length;
  const kp = predLabels.length;
  // Transposed to predicted × true, so the assignment reads as the mapping.
  const w = new Float64Array(kp * kt);
  for (let i = 0; i < kt; i++) for (let j = 0; j < kp; j++) w[j * kt + i] = counts[i * kp + j]!;
  const { rowInd, colInd } = linearSumAssignment(w, kp, kt, true);
  let matched = 0;
  const mapping = new Map<Label, Label>();
  rowInd.forEach((r, z) => {
    matched += w[r * kt + colInd[z]!]!;
    mapping.set(predLabels[r]!, trueLabels[colInd[z]!]!);
  });
  return { accuracy: matched / yTrue.length, mapping };
}

function entropyOf(margin: Float64Array, n: number): number {
  if (margin.length <= 1) return 0;
  let h = 0;
  const logN = Math.log(n);
  for (const c of margin) if (c > 0) h -= (c / n) * (Math.log(c) - logN);
  return h;
}

function mutualInformation(s: SparseContingency): number {
  if (s.a.length === 1 || s.b.length === 1) return 0;
  const n = s.n;
  const logN = Math.log(n);
  let mi = 0;
  for (let z = 0; z < s.counts.length; z++) {
    const c = s.counts[z]!;
    const pnm = c / n;
    const term = pnm * (Math.log(c) - logN) + pnm * (-Math.log(s.a[s.rows[z]!]! * s.b[s.cols[z]!]!) + logN + logN);
    // scikit-learn zeroes terms below machine epsilon before summing.
    if (Math.abs(term) >= Number.EPSILON) mi += term;
  }
  return Math.max(mi, 0);
}

/**
 * Normalised mutual information with arithmetic-mean normalisation, MI / ((H(true) + H(pred)) / 2)
 * (scikit-learn's default). Two labellings that each have a single cluster (or no samples)
 * score 1; otherwise zero mutual information scores 0.
 */
export function nmi(yTrue: Labels, yPred: Labels): number {
  checkPair(yTrue, yPred, "nmi");
  const s = sparseContingency(yTrue, yPred);
  const kt = s.trueClasses.length;
  const kp = s.predClasses.length;
  if ((kt === 1 && kp === 1) || (kt === 0 && kp === 0)) return 1;
  const mi = mutualInformation(s);
  if (mi === 0) return 0;
  return mi / ((entropyOf(s.a, s.n) + entropyOf(s.b, s.n)) / 2);
}

/** Largest n whose n² pair counts stay exact in float64. */
const MAX_ARI_SAMPLES = 94_906_265;

/**
 * Adjusted Rand index (scikit-learn's adjusted_rand_score): the Rand index over sample pairs,
 * corrected for chance. Identical partitions (including none, or all singletons on both sides)
 * score 1; it can be negative.
 */
export function ari(yTrue: Labels, yPred: Labels): number {
  checkPair(yTrue, yPred, "ari");
  const n = yTrue.length;
  if (n > MAX_ARI_SAMPLES)
    throw new RangeError(`ari: at most ${MAX_ARI_SAMPLES} samples (exact pair counts), got ${n}`);
  const s = sparseContingency(yTrue, yPred);
  // Pair confusion matrix as scikit-learn builds it: exact integers below 2⁵³.
  let sumSquares = 0;
  let sumRow = 0;
  let sumCol = 0;
  s.counts.forEach((c, z) => {
    sumSquares += c * c;
    sumCol += c * s.b[s.cols[z]!]!;
    sumRow += c * s.a[s.rows[z]!]!;
  });
  const tp = BigInt(sumSquares - n);
  const fp = BigInt(sumCol - sumSquares);
  const fn = BigInt(sumRow - sumSquares);
  const tn = BigInt(n) * BigInt(n) - fp - fn - BigInt(sumSquares);
  if (fn === 0n && fp === 0n) return 1;
  // Products of pair counts exceed 2⁵³; BigInt keeps them exact, and Number() rounds once, as
  // Python's int-to-float conversion does.
  return (2 * Number(tp * tn - fn * fp)) / Number((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
}

export interface ClusteringScores {
  acc: number;
  nmi: number;
  ari: number;
}

/**
 * The samples that have a true label (yTrue not null), with their predictions: what the scores of
 * partially labelled data are computed on. Without gaps, the inputs themselves.
 */
export function labelledSubset(yTrue: PartialLabels, yPred: Labels): { yTrue: Labels; yPred: Labels } {
  checkPair(yTrue, yPred, "labelledSubset");
  let labelled = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] !== null) labelled++;
  if (labelled === yTrue.length) return { yTrue: yTrue as Labels, yPred };
  const t = new Array<Label>(labelled);
  const p = new Array<Label>(labelled);
  for (let i = 0, j = 0; i < yTrue.length; i++) {
    const v = yTrue[i]!;
    if (v === null) continue;
    t[j] = v;
    p[j++] = yPred[i]!;
  }
  return { yTrue: t, yPred: p };
}

/**
 * ACC, NMI and ARI of a predicted labelling against the truth, over the labelled samples: a null
 * true label leaves its sample out (labelledSubset). At least one sample must be labelled.
 */
export function evaluateClustering(yTrue: PartialLabels, yPred: Labels): ClusteringScores {
  const s = labelledSubset(yTrue, yPred);
  if (s.yTrue.length === 0 && yTrue.length > 0)
    throw new RangeError(`evaluateClustering: none of the ${yTrue.length} samples has a label`);
  return { acc: clusteringAccuracy(s.yTrue, s.yPred).accuracy, nmi: nmi(s.yTrue, s.yPred), ari: ari(s.yTrue, s.yPred) };
}
