// Outliers: a row whose confidence (max_j q_ij) is below a threshold gets the cluster -1 instead
// of its argmax. The threshold is given (minConfidence), or derived from a target share of
// outliers (outlierRate R): the R-quantile of the training rows' confidences, which training
// records in config.json as `confidence.quantiles` (the distribution at evenly spaced
// probabilities). A model may also store a default threshold (`outliers`), which applies unless
// the caller gives another; minConfidence 0 turns it off. model.onnx is unchanged (q and argmax):
// another engine applies the threshold itself (docs/model-onnx.md).

import { DEFAULTS } from "../config.js";
import { argmaxRows, type Matrix } from "../engine/index.js";
import { OUTLIER_CLUSTER } from "../cluster/internal-scores.js";

export { OUTLIER_CLUSTER };

/** What predict takes to mark outliers; at most one of the two. */
export interface OutlierOptions {
  /** Rows whose confidence (max q) is below this get cluster -1; in [0, 1], 0: none (turns a model's stored default off). */
  minConfidence?: number;
  /** The share of training rows that would be outliers, in [0, 1): the threshold is that quantile of the training confidences. */
  outlierRate?: number;
}

/** config.json's `confidence`: the training rows' confidences at probabilities 0, 1/(n-1), …, 1 (float64, exact). */
export interface ConfidenceRecord {
  quantiles: number[];
}

/** config.json's `outliers`: the model's default threshold, and the training rate it came from (null: given as a threshold). */
export interface OutlierDefault {
  minConfidence: number;
  rate: number | null;
}

/** What the threshold is resolved against: a model's config.json fields. */
export interface OutlierRecord {
  confidence?: ConfidenceRecord | undefined;
  outliers?: OutlierDefault | undefined;
}

/** max_j q_ij per row, in float64. */
export function rowConfidence(q: Matrix): Float64Array {
  return Float64Array.from(argmaxRows(q).max);
}

/**
 * The distribution of `confidence` as `points` quantiles at probabilities i / (points - 1): sorted,
 * then linear interpolation between order statistics (numpy.quantile's default, "linear").
 */
export function confidenceQuantiles(
  confidence: ArrayLike<number>,
  points: number = DEFAULTS.outliers.quantilePoints,
): number[] {
  if (!(Number.isSafeInteger(points) && points >= 2))
    throw new RangeError(`quantile points must be an integer ≥ 2, got ${points}`);
  const n = confidence.length;
  if (n === 0) throw new RangeError("no rows: the confidence distribution is empty");
  const sorted = Float64Array.from(confidence).sort();
  return Array.from({ length: points }, (_, i) => interpolate(sorted, i / (points - 1)));
}

/** The p-quantile of sorted values (or of evenly spaced quantiles), linear between neighbours. */
function interpolate(sorted: ArrayLike<number>, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * The threshold for a target outlier rate R: the R-quantile of the training confidences, linear
 * between the stored quantiles, so that about R of the training rows fall below it.
 */
export function thresholdForRate(record: ConfidenceRecord | undefined | null, rate: number): number {
  checkOutlierRate(rate);
  if (!record)
    throw new RangeError(
      "an outlier rate needs the training confidences (config.json 'confidence.quantiles'), which this model does not record (trained before deepclust recorded them, or imported with import-torch): give a confidence threshold (minConfidence, --min-confidence) instead",
    );
  return interpolate(record.quantiles, rate);
}

/** `v` when it is a number in [0, 1], else a RangeError naming `name`. */
export function checkMinConfidence(v: unknown, name = "minConfidence"): number {
  if (!(typeof v === "number" && v >= 0 && v <= 1))
    throw new RangeError(`${name} must be a number in [0, 1] (a confidence, max q), got ${JSON.stringify(v)}`);
  return v;
}

/** `v` when it is a number in [0, 1), else a RangeError naming `name`. */
export function checkOutlierRate(v: unknown, name = "outlierRate"): number {
  if (!(typeof v === "number" && v >= 0 && v < 1))
    throw new RangeError(`${name} must be a number in [0, 1) (a share of the training rows), got ${JSON.stringify(v)}`);
  return v;
}

/**
 * The threshold a prediction applies: options.minConfidence, or the threshold of options.outlierRate,
 * or else the model's stored default; null when there is none (or it is 0: nothing is below it).
 * Both options at once is a RangeError.
 */
export function outlierThreshold(record: OutlierRecord, options: OutlierOptions = {}): number | null {
  const { minConfidence, outlierRate } = options;
  if (minConfidence !== undefined && outlierRate !== undefined)
    throw new RangeError(
      "give either a confidence threshold (minConfidence) or an outlier rate (outlierRate), not both",
    );
  const t =
    minConfidence !== undefined
      ? checkMinConfidence(minConfidence)
      : outlierRate !== undefined
        ? thresholdForRate(record.confidence, outlierRate)
        : (record.outliers?.minConfidence ?? DEFAULTS.outliers.minConfidence);
  return t !== null && t > 0 ? t : null;
}

/** Sets the cluster of every row whose confidence is below `minConfidence` to -1; returns how many. */
export function markOutliers(labels: Int32Array, confidence: ArrayLike<number>, minConfidence: number | null): number {
  if (minConfidence === null) return 0;
  let n = 0;
  for (let i = 0; i < labels.length; i++) {
    if (confidence[i]! < minConfidence) {
      labels[i] = OUTLIER_CLUSTER;
      n++;
    }
  }
  return n;
}

/** Hard labels of q with outliers marked: argmax, or -1 below the threshold. */
export function labelsWithOutliers(q: Matrix, minConfidence: number | null): Int32Array {
  const { index, max } = argmaxRows(q);
  markOutliers(index, max, minConfidence);
  return index;
}

/** config.json's `outliers` for a threshold option given at training (null: none). */
export function outlierDefault(record: OutlierRecord, options: OutlierOptions): OutlierDefault | null {
  if (options.minConfidence === undefined && options.outlierRate === undefined) return null;
  const t = outlierThreshold({ confidence: record.confidence }, options);
  return t === null ? null : { minConfidence: t, rate: options.outlierRate ?? null };
}
