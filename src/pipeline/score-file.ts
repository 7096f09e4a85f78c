// A model's clusters of a data file, scored: with labels, ACC/NMI/ARI need the labels; with or
// without them, the internal scores (silhouette, Calinski–Harabasz, Davies–Bouldin) need the
// points, here the model's code (small: code dims per row) and optionally the input vectors (as
// large as the file's vectors). The file is streamed a chunk at a time; only the clusters, the
// labels and the chosen spaces' vectors are kept. `deepclust evaluate` is this function.

import { DEFAULTS } from "../config.js";
import type { Matrix } from "../engine/index.js";
import { argmaxRows } from "../engine/index.js";
import { internalScores, type InternalScores } from "../cluster/internal-scores.js";
import { finalizeLabels } from "../io/dataset-builder.js";
import type { RowLabels } from "../io/dataset.js";
import {
  assignChunk,
  chunksOf,
  concatenated,
  noLabelsError,
  type SoftClusterer,
  type StreamOptions,
} from "./predict-file.js";

/** Where the internal scores are computed: the model's code, the input vectors, or both. */
export type ScoreSpace = "code" | "input" | "both";
export const SCORE_SPACES: readonly ScoreSpace[] = ["code", "input", "both"];

/** What scoreFile needs of a model: clusters (predictProba) and the code (transform), as a DECModel has. */
export interface EncodingClusterer extends SoftClusterer {
  transform(X: Matrix): Promise<Matrix>;
}

export interface ScoreFileOptions extends StreamOptions {
  /** Default DEFAULTS.scores.space ("code"). "input" and "both" keep the input vectors in memory. */
  space?: ScoreSpace;
  /** Silhouette of a seeded sample of this many rows when there are more (default DEFAULTS.scores.silhouetteSample; 0 or null: exact). */
  silhouetteSample?: number | null;
  /** Seed of the silhouette's sample (default DEFAULTS.seed). */
  seed?: number;
  /** onnxruntime threads of the silhouette (0: every core). */
  threads?: number;
}

export interface InternalScoresBySpace {
  /** In the model's code space; null when undefined (fewer than 2 clusters found, or one row per cluster). */
  code?: InternalScores | null;
  /** In the input space. */
  input?: InternalScores | null;
}

export interface FileScores {
  /** Every row's cluster. */
  clusters: Int32Array;
  /** Every row's label (null: missing), or null when the data has no labels. */
  labels: RowLabels | null;
  /** The labels' column, or null for a labels file or no labels. */
  labelsColumn: string | null;
  internal: InternalScoresBySpace;
}

/** Appends rows to a growing float32 buffer (chunks are reused by the reader, so they are copied). */
class RowCollector {
  private data = new Float32Array(0);
  rows = 0;
  cols = -1;
  add(m: Matrix): void {
    if (this.cols < 0) this.cols = m.cols;
    const need = (this.rows + m.rows) * m.cols;
    if (need > this.data.length) {
      const grown = new Float32Array(Math.max(need, this.data.length * 2));
      grown.set(this.data.subarray(0, this.rows * this.cols));
      this.data = grown;
    }
    this.data.set(m.data.subarray(0, m.rows * m.cols), this.rows * this.cols);
    this.rows += m.rows;
  }
  matrix(): Matrix {
    return { data: this.data.subarray(0, this.rows * this.cols), rows: this.rows, cols: Math.max(0, this.cols) };
  }
}

/**
 * Every row's cluster and label (if the data has labels), and the internal scores of the clusters
 * in the chosen space(s). Labels named explicitly (options.labelsColumn, options.labelsFile) must
 * be there: their absence throws the InputError naming the file's columns.
 */
export async function scoreFile(
  model: EncodingClusterer,
  input: string,
  options: ScoreFileOptions = {},
): Promise<FileScores> {
  const space = options.space ?? DEFAULTS.scores.space;
  const explicitLabels =
    (options.labelsColumn !== undefined && options.labelsColumn !== null) || options.labelsFile !== undefined;
  const code = space === "input" ? null : new RowCollector();
  const points = space === "code" ? null : new RowCollector();
  const truthText: string[] = [];
  const predicted: Int32Array[] = [];
  let labelsColumn: string | null = null;
  let hasLabels: boolean | null = null;
  let rows = 0;
  for await (const chunk of chunksOf(model, input, options)) {
    if (chunk.labels === null && explicitLabels) throw noLabelsError(chunk);
    if (rows === 0) {
      options.onStart?.(chunk.totalRows);
      hasLabels = chunk.labels !== null;
      labelsColumn = chunk.labelsColumn;
    }
    predicted.push(argmaxRows(await assignChunk(model, chunk, options.batchSize)).index);
    if (hasLabels && chunk.labels) for (const label of chunk.labels) truthText.push(label);
    code?.add(await model.transform(chunk.X));
    points?.add(chunk.X);
    rows += chunk.X.rows;
    options.onProgress?.(rows);
  }
  const clusters = concatenated(predicted, rows);
  const scoreOptions = {
    sampleSize: options.silhouetteSample === undefined ? DEFAULTS.scores.silhouetteSample : options.silhouetteSample,
    seed: options.seed ?? DEFAULTS.seed,
    threads: options.threads ?? DEFAULTS.threads,
  };
  const internal: InternalScoresBySpace = {};
  if (code) internal.code = await internalScores(code.matrix(), clusters, scoreOptions);
  if (points) internal.input = await internalScores(points.matrix(), clusters, scoreOptions);
  return {
    clusters,
    labels: hasLabels ? finalizeLabels(truthText) : null,
    labelsColumn: hasLabels ? labelsColumn : null,
    internal,
  };
}
