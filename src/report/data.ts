// What the report shows, assembled from a model directory (config.json, metrics.json) and,
// optionally, a data file run through the model: plain JSON-able values, no chart or HTML here.
//
// The 2-D map is of the learned code (the model's transform) of at most `maxPoints` rows: a
// uniform random subsample drawn from Rng(seed), the run's seed by default, so the same model and
// data always give the same map.

import type { ChooseKResult } from "../cluster/choose-k.js";
import { DEFAULTS } from "../config.js";
import { basename, resolve } from "node:path";
import { Rng, argmaxRows, gatherRows, rowSlice, type Matrix } from "../engine/index.js";
import { TopicsBuilder, type ClusterTopic } from "../text/topics.js";
import {
  clusterSizes,
  clusteringAccuracy,
  contingencyMatrix,
  evaluateClustering,
  labelledSubset,
  type PartialLabels,
} from "../cluster/metrics.js";
import { internalScores, type InternalScores } from "../cluster/internal-scores.js";
import type { DECModel } from "../dec/model-dir.js";
import { thresholdForRate } from "../dec/outliers.js";
import { CENTER_INITS, startName, startStage } from "../dec/dec-model.js";
import type { Dataset } from "../io/index.js";
import { embed2d, type MapMethod } from "./embed2d.js";

/** The report's defaults (defined in config.ts). */
export const REPORT_DEFAULTS = DEFAULTS.report;
/** Rows assigned per call: bounds the memory of q (rows × k) on large data. */
const PREDICT_CHUNK_ROWS = 16_384;
/** Longest pass-through text shown in a map tooltip (characters). */
export const TOOLTIP_TEXT_CHARS = 280;

export interface ReportOptions {
  /** Rows to assign, map and (with labels) score; none: the report shows the training record only. */
  dataset?: Dataset | null;
  /** Default "umap". */
  map?: MapMethod;
  /** Most rows on the map (default 5000). */
  maxPoints?: number;
  /** Seed of the subsample and of UMAP (default: the training run's seed). */
  seed?: number;
}

export interface ScoreRow {
  name: string;
  acc: number;
  nmi: number;
  ari: number;
}

/** Internal scores of one clustering (no labels needed), in the model's code space. */
export interface InternalScoreRow {
  name: string;
  silhouette: number;
  /** Rows the silhouette is of (a seeded sample when fewer than the rows scored). */
  silhouetteRows: number;
  /** Rows scored. */
  rows: number;
  calinskiHarabasz: number;
  daviesBouldin: number;
}

export interface MapPoint {
  x: number;
  y: number;
  cluster: number;
  label?: string;
  id?: string;
  text?: string;
}

/** The threshold line of the confidence chart. */
export interface ConfidenceThreshold {
  value: number;
  /** "model": the model's outlier threshold (config.json `outliers`); "reference": the training quantile at DEFAULTS.outliers.referenceRate. */
  kind: "model" | "reference";
  /** The training outlier rate it stands for (null: a threshold given as such). */
  rate: number | null;
}

export interface ConfidenceData {
  /** Rows of the data, and how many are shown (the map's subsample). */
  rows: number;
  shown: number;
  seed: number;
  /** The confidence (max q) of each shown row, with its argmax cluster. */
  points: Array<{ cluster: number; confidence: number }>;
  /** The line drawn: the model's threshold, else the training reference quantile, else null (no training record). */
  threshold: ConfidenceThreshold | null;
  /** Rows of the data (all of them, not just the shown) below the model's threshold; null without one. */
  outliers: number | null;
}

export interface MappingRow {
  cluster: number;
  size: number;
  /** The true class the Hungarian mapping assigns to the cluster (null: unmatched, when k > classes). */
  label: string | null;
  /** Rows of the cluster that belong to that class. */
  matched: number;
}

export interface ContingencyCell {
  label: string;
  cluster: number;
  /** The column's name on the heatmap: "cluster → class" ("cluster" when unmatched). */
  column: string;
  count: number;
  mapped: boolean;
}

export interface ContingencyData {
  /** Rows of the heatmap: the true classes, sorted as the metrics sort them. */
  classes: string[];
  /** Columns, in display order: matched clusters by their class, then the unmatched ones. */
  columns: string[];
  cells: ContingencyCell[];
  mapping: MappingRow[];
  /** Matched rows / rows: the clustering accuracy. */
  accuracy: number;
  /** Rows left out for want of a label (the table and the mapping count the labelled rows only). */
  unlabelled: number;
}

export interface ReportData {
  title: string;
  generatedAt: string;
  model: {
    dir: string | null;
    inputDim: number;
    dims: number[];
    k: number;
    alpha: number;
    method: string;
    deepclustVersion: string;
    createdAt: string;
    seed: number;
    trainingFile: string | null;
    trainingRows: number | null;
    /** Training rows with a label (the training scores are over these), when recorded. */
    trainingLabelled: number | null;
    iterations: number | null;
    converged: boolean | null;
    /** "tol", "max-iter" or "hold" (the held target's budget), when recorded. */
    stopReason: string | null;
    selectedIteration: number | null;
  };
  /** labelled: the rows with a label (scored; the rest are unlabelled), 0 without labels. */
  data: { file: string; rows: number; labelsColumn: string | null; hasLabels: boolean; labelled: number } | null;
  pretrain: Array<{ epoch: number; stage: string; loss: number }>;
  updates: Array<{
    iteration: number;
    kl: number | null;
    rec: number | null;
    deltaLabel: number | null;
    nonEmpty: number;
    acc: number | null;
    nmi: number | null;
    ari: number | null;
  }>;
  scores: ScoreRow[];
  /** Silhouette, Calinski–Harabasz and Davies–Bouldin in the code space: of the training run (metrics.json) and of the data. */
  internal: InternalScoreRow[];
  timings: Array<{ stage: string; seconds: number }>;
  sizes: { source: "data" | "training"; counts: number[] } | null;
  map: { method: MapMethod; rows: number; shown: number; seed: number; points: MapPoint[] } | null;
  /** Each cluster's confidence distribution over the data, with the outlier threshold (or a reference). */
  confidence: ConfidenceData | null;
  contingency: ContingencyData | null;
  /** What each cluster is about (c-TF-IDF terms, the most confident texts), when the data has a text column. */
  topics: ClusterTopic[] | null;
  /** -k auto: the selection that chose k, as metrics.json records it. */
  chooseK: ChooseKResult | null;
  notes: string[];
}

type Json = Record<string, unknown>;

/** metrics.json's internalScores, when recorded (a model trained before they were has none). */
function internalOf(v: unknown): InternalScores | null {
  const o = obj(v);
  const silhouette = num(o?.silhouette);
  const silhouetteRows = num(o?.silhouetteRows);
  const calinskiHarabasz = num(o?.calinskiHarabasz);
  const daviesBouldin = num(o?.daviesBouldin);
  return silhouette !== null && silhouetteRows !== null && calinskiHarabasz !== null && daviesBouldin !== null
    ? { silhouette, silhouetteRows, calinskiHarabasz, daviesBouldin }
    : null;
}

/** The internal scores of the data's clusters in the code space (the code computed a chunk at a time). */
async function codeInternalScores(
  model: DECModel,
  X: Matrix,
  clusters: Int32Array,
  seed: number,
): Promise<InternalScores | null> {
  let code: Float32Array | null = null;
  let cols = 0;
  for (let from = 0; from < X.rows; from += PREDICT_CHUNK_ROWS) {
    const to = Math.min(X.rows, from + PREDICT_CHUNK_ROWS);
    const c = await model.transform(rowSlice(X, from, to));
    cols = c.cols;
    code ??= new Float32Array(X.rows * cols);
    code.set(c.data, from * cols);
  }
  return internalScores({ data: code!, rows: X.rows, cols }, clusters, {
    sampleSize: DEFAULTS.scores.silhouetteSample,
    seed,
  });
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Json | null =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : null;
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function scores(v: unknown): { acc: number; nmi: number; ari: number } | null {
  const o = obj(v);
  const acc = num(o?.acc);
  const nmi = num(o?.nmi);
  const ari = num(o?.ari);
  return acc !== null && nmi !== null && ari !== null ? { acc, nmi, ari } : null;
}

/** Up to `max` row indices out of n, ascending: all of them, or a uniform sample drawn from Rng(seed). */
export function subsampleIndices(n: number, max: number, seed: number): Uint32Array {
  if (n <= max) return Uint32Array.from({ length: n }, (_, i) => i);
  return new Rng(seed).permutation(n).slice(0, max).sort();
}

/**
 * The contingency table of true classes × all k clusters (empty clusters included), with the
 * Hungarian mapping that clustering accuracy uses: the same mapping, so the same accuracy. Rows
 * without a label (null) are left out: every count, size and the accuracy are of labelled rows.
 */
export function contingencyReport(labels: PartialLabels, allClusters: Int32Array, k: number): ContingencyData {
  const subset = labelledSubset(labels, allClusters);
  const truth = subset.yTrue;
  const clusters = subset.yPred as ArrayLike<number>;
  const { trueLabels, predLabels, counts } = contingencyMatrix(truth, clusters);
  const { accuracy, mapping } = clusteringAccuracy(truth, clusters);
  const kp = predLabels.length;
  const column = new Map<number, number>(predLabels.map((c, j) => [Number(c), j]));
  const classes = trueLabels.map(String);
  const classIndex = new Map(trueLabels.map((l, i) => [l, i]));
  const count = (i: number, cluster: number) => {
    const j = column.get(cluster);
    return j === undefined ? 0 : counts[i * kp + j]!;
  };
  const mapped = new Map<number, number>(); // cluster → class index
  for (const [c, l] of mapping) mapped.set(Number(c), classIndex.get(l)!);
  const sizes = clusterSizes(clusters, k);
  const clustersInOrder = Array.from({ length: k }, (_, c) => c).sort(
    (a, b) => (mapped.get(a) ?? Infinity) - (mapped.get(b) ?? Infinity) || a - b,
  );
  const name = (c: number) => (mapped.has(c) ? `${c} → ${classes[mapped.get(c)!]}` : String(c));
  const cells: ContingencyCell[] = [];
  for (let i = 0; i < classes.length; i++) {
    for (const c of clustersInOrder)
      cells.push({ label: classes[i]!, cluster: c, column: name(c), count: count(i, c), mapped: mapped.get(c) === i });
  }
  const mappingRows = Array.from({ length: k }, (_, c): MappingRow => {
    const i = mapped.get(c);
    return {
      cluster: c,
      size: sizes[c]!,
      label: i === undefined ? null : classes[i]!,
      matched: i === undefined ? 0 : count(i, c),
    };
  });
  return {
    classes,
    columns: clustersInOrder.map(name),
    cells,
    mapping: mappingRows,
    accuracy,
    unlabelled: allClusters.length - clusters.length,
  };
}

/**
 * The confidence chart's data: the shown rows' confidence and cluster (argmax: the distribution
 * each cluster's rows have, outliers included), and the line to draw: the model's threshold, or
 * for a model without one the training confidences' quantile at DEFAULTS.outliers.referenceRate,
 * labelled as a reference, so that a reader sees where a threshold of that rate would cut.
 */
export function confidenceData(
  model: DECModel,
  confidence: Float32Array,
  clusters: Int32Array,
  shownRows: Uint32Array,
  seed: number,
): ConfidenceData {
  const stored = model.config.outliers;
  const reference = DEFAULTS.outliers.referenceRate;
  const threshold: ConfidenceThreshold | null = stored
    ? { value: stored.minConfidence, kind: "model", rate: stored.rate }
    : model.config.confidence
      ? { value: thresholdForRate(model.config.confidence, reference), kind: "reference", rate: reference }
      : null;
  let outliers: number | null = null;
  if (stored) {
    outliers = 0;
    for (const c of confidence) if (c < stored.minConfidence) outliers++;
  }
  const round = (v: number) => Math.round(v * 1e5) / 1e5;
  const points = Array.from(shownRows, (row) => ({ cluster: clusters[row]!, confidence: round(confidence[row]!) }));
  return { rows: confidence.length, shown: points.length, seed, points, threshold, outliers };
}

/** A column of the data's pass-through columns by name, case-insensitively. */
function passthroughColumn(ds: Dataset, name: string): string[] | null {
  const key = Object.keys(ds.passthrough).find((c) => c.toLowerCase() === name);
  return key === undefined ? null : ds.passthrough[key]!;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Everything the report shows. `metrics` is metrics.json (null or {} for a model without a training record). */
export async function assembleReport(
  model: DECModel,
  metrics: Json | null,
  options: ReportOptions = {},
): Promise<ReportData> {
  const config = model.config;
  const training = obj(config.training) ?? {};
  const m = metrics ?? {};
  const notes: string[] = [];
  const seed = options.seed ?? num(training.seed) ?? DEFAULTS.seed;
  const method = String(config.method ?? DEFAULTS.clustering.method);
  const name = method.toUpperCase();

  let epoch = 0;
  const pretrain = arr(m.pretrainHistory)
    .map(obj)
    .filter((e): e is Json => e !== null && num(e.loss) !== null)
    .map((e) => ({ epoch: ++epoch, stage: String(e.stage ?? "pretrain"), loss: num(e.loss)! }));

  const updates = arr(m.history)
    .map(obj)
    .filter((u): u is Json => u !== null && num(u.iteration) !== null)
    .map((u) => {
      const s = scores(u.metrics);
      const sizes = arr(u.clusterSizes);
      return {
        iteration: num(u.iteration)!,
        kl: num(u.lossKl) ?? (u.lossRec === undefined ? num(u.loss) : null),
        rec: num(u.lossRec),
        deltaLabel: num(u.deltaLabel),
        nonEmpty: num(u.nonEmpty) ?? sizes.filter((x) => typeof x === "number" && x > 0).length,
        acc: s?.acc ?? null,
        nmi: s?.nmi ?? null,
        ari: s?.ari ?? null,
      };
    });

  const scoreRows: ScoreRow[] = [];
  const baseline = scores(m.baseline);
  const init = scores(m.initMetrics);
  const final = scores(m.metrics);
  const selectedIteration = num(m.selectedIteration);
  if (baseline) scoreRows.push({ name: "k-means (raw data)", ...baseline });
  const centerInit = CENTER_INITS.find((c) => c === obj(config.training)?.centerInit) ?? DEFAULTS.centerInit;
  if (init) scoreRows.push({ name: startName(centerInit), ...init });
  if (final) scoreRows.push({ name: selectedIteration !== null ? `${name} (selected by labels)` : name, ...final });
  const internal: InternalScoreRow[] = [];
  const trainedInternal = internalOf(m.internalScores);
  const trainedRows = num(m.rows);
  if (trainedInternal && trainedRows !== null) internal.push({ name, rows: trainedRows, ...trainedInternal });

  const t = obj(m.timings) ?? {};
  const timings = (
    [
      ["k-means (raw data)", t.baselineSeconds],
      ["pretraining", t.pretrainSeconds],
      [`${startStage(centerInit)} (code)`, t.kmeansSeconds],
      [name, t.clusteringSeconds],
      ["total", t.totalSeconds],
    ] as const
  )
    .map(([stage, s]) => ({ stage, seconds: num(s) }))
    .filter((x): x is { stage: string; seconds: number } => x.seconds !== null && x.seconds > 0);

  const trainingData = obj(config.data);
  const trainingFile = typeof trainingData?.file === "string" ? trainingData.file : null;
  let sizes: ReportData["sizes"] = null;
  let map: ReportData["map"] = null;
  let contingency: ContingencyData | null = null;
  let data: ReportData["data"] = null;
  let topics: ReportData["topics"] = null;
  let confidence: ConfidenceData | null = null;

  const ds = options.dataset ?? null;
  if (ds) {
    const X = ds.X;
    const labelled = ds.labels ? ds.labels.reduce((n: number, l) => n + (l === null ? 0 : 1), 0) : 0;
    const labels = labelled > 0 ? ds.labels : null;
    if (ds.labels && !labels)
      notes.push(
        `Every label${ds.labelsColumn ? ` in column '${ds.labelsColumn}'` : ""} is missing (empty, NA, NaN, null …): the data counts as unlabelled.`,
      );
    data = {
      file: resolve(ds.file),
      rows: X.rows,
      labelsColumn: labels ? ds.labelsColumn : null,
      hasLabels: labels !== null,
      labelled,
    };
    const texts = passthroughColumn(ds, "text");
    const clusters = new Int32Array(X.rows);
    const rowConfidence = new Float32Array(X.rows);
    const topicsBuilder = texts ? new TopicsBuilder(model.k) : null;
    for (let from = 0; from < X.rows; from += PREDICT_CHUNK_ROWS) {
      const to = Math.min(X.rows, from + PREDICT_CHUNK_ROWS);
      const { index, max } = argmaxRows(await model.predictProba(rowSlice(X, from, to))); // q of one chunk at a time
      clusters.set(index, from);
      rowConfidence.set(max, from);
      topicsBuilder?.add(texts!.slice(from, to), index, max, labels ? labels.slice(from, to) : null, from);
    }
    topics = topicsBuilder?.topics() ?? null;
    const counts = new Array<number>(model.k).fill(0);
    for (const c of clusters) counts[c]!++;
    sizes = { source: "data", counts };

    if (labels) {
      contingency = contingencyReport(labels, clusters, model.k);
      if (trainingFile === null || resolve(trainingFile) !== data.file)
        scoreRows.push({ name: `${name} on ${basename(ds.file)}`, ...evaluateClustering(labels, clusters) });
    }
    if (trainingFile === null || resolve(trainingFile) !== data.file || !trainedInternal) {
      const scored = await codeInternalScores(model, X, clusters, seed);
      if (scored) internal.push({ name: `${name} on ${basename(ds.file)}`, rows: X.rows, ...scored });
    }

    const maxPoints = Math.max(1, options.maxPoints ?? REPORT_DEFAULTS.maxPoints);
    const index = subsampleIndices(X.rows, maxPoints, seed);
    const sub: Matrix = { data: new Float32Array(index.length * X.cols), rows: index.length, cols: X.cols };
    gatherRows(X, index, 0, index.length, sub.data);
    const code = await model.transform(sub);
    const { xy, method: used, note } = await embed2d(code, options.map ?? REPORT_DEFAULTS.map, seed);
    if (note) notes.push(note);
    const ids = passthroughColumn(ds, "id");
    const round = (v: number) => Math.round(v * 1e4) / 1e4;
    const points = Array.from(index, (row, i): MapPoint => ({
      x: round(xy[2 * i]!),
      y: round(xy[2 * i + 1]!),
      cluster: clusters[row]!,
      ...(labels && labels[row] !== null ? { label: String(labels[row]) } : {}),
      ...(ids ? { id: ids[row]! } : {}),
      ...(texts ? { text: truncate(texts[row]!, TOOLTIP_TEXT_CHARS) } : {}),
    }));
    map = { method: used, rows: X.rows, shown: points.length, seed, points };
    confidence = confidenceData(model, rowConfidence, clusters, index, seed);
  } else {
    const counts = arr(m.clusterSizes).map(num);
    if (counts.length === model.k && counts.every((c) => c !== null))
      sizes = { source: "training", counts: counts as number[] };
    notes.push("No data given (--data): the report has no map of the code and no contingency table.");
  }

  return {
    title: config.data && trainingFile ? `${name} on ${basename(trainingFile)}` : `${name} model`,
    generatedAt: new Date().toISOString(),
    model: {
      dir: model.dir ? resolve(model.dir) : null,
      inputDim: config.inputDim,
      dims: [...config.dims],
      k: config.k,
      alpha: config.alpha,
      method,
      deepclustVersion: String(config.deepclustVersion ?? ""),
      createdAt: String(config.createdAt ?? ""),
      seed: num(training.seed) ?? DEFAULTS.seed,
      trainingFile,
      trainingRows: num(trainingData?.rows) ?? num(m.rows),
      trainingLabelled: num(trainingData?.labelled),
      iterations: num(m.iterations),
      converged: typeof m.converged === "boolean" ? m.converged : null,
      stopReason: typeof m.stopReason === "string" ? m.stopReason : null,
      selectedIteration,
    },
    data,
    pretrain,
    updates,
    scores: scoreRows,
    internal,
    timings,
    sizes,
    map,
    confidence,
    contingency,
    topics,
    chooseK: chooseKRecord(m.chooseK),
    notes,
  };
}

/** metrics.json's chooseK when it has the shape the section draws (else null: an older or foreign file). */
function chooseKRecord(v: unknown): ChooseKResult | null {
  const o = obj(v);
  if (!o || num(o.recommended) === null || !Array.isArray(o.ks) || !obj(o.criteria)) return null;
  return {
    ks: arr(o.ks) as number[],
    rows: num(o.rows) ?? 0,
    sampleRows: num(o.sampleRows) ?? 0,
    inertia: arr(o.inertia) as number[],
    gapStandardError: arr(o.gapStandardError) as number[],
    stabilitySd: arr(o.stabilitySd) as number[],
    criteria: o.criteria as ChooseKResult["criteria"],
    recommended: num(o.recommended)!,
    reason: String(o.reason ?? ""),
    votes: (obj(o.votes) ?? {}) as ChooseKResult["votes"],
    seconds: num(o.seconds) ?? 0,
  };
}
