// File to file: a model applied to a data file of any size. predictFile reads a chunk of rows,
// assigns it, writes it through the atomic prediction writer (the output appears whole or not at
// all), so its memory does not grow with the file; evaluateFile streams the same way and keeps
// only the labels and the clusters. `deepclust predict` and `evaluate` are these two functions.

import { DEFAULTS } from "../config.js";
import { NonFiniteValueError, argmaxRows, type Matrix } from "../engine/index.js";
import { InputError } from "../io/errors.js";
import { readDatasetChunks, type DatasetChunk, type ReadDatasetOptions, type RowLabels } from "../io/dataset.js";
import { finalizeLabels } from "../io/dataset-builder.js";
import { createPredictionWriter, type PredictionWriter } from "../io/predictions.js";
import { nonFiniteInputError } from "../io/matrix-file.js";
import type { SentenceEncoder } from "../text/sentence-encoder.js";
import { checkMinConfidence, markOutliers } from "../dec/outliers.js";

/** What predictFile and evaluateFile need of a model: a fitted DEC, or a DECModel from loadModel. */
export interface SoftClusterer {
  readonly k: number;
  readonly inputDim: number;
  predictProba(X: Matrix, batchSize?: number): Promise<Matrix>;
}

export interface StreamOptions extends Pick<ReadDatasetOptions, "embeddingsColumn" | "labelsColumn" | "labelsFile"> {
  /** Rows per inference batch (default DEFAULTS.predictBatchSize). */
  batchSize?: number;
  /** Called once the first chunk is read, with the file's row count when the format knows it (else null). */
  onStart?: (totalRows: number | null) => void;
  /** Called after each chunk with the rows done so far. */
  onProgress?: (rows: number) => void;
  /** The input is texts (a model trained from texts): embedded by this encoder, a chunk at a time. */
  encoder?: SentenceEncoder;
  /** With `encoder`: the column (JSONL: key) of the texts (default "text"). */
  textColumn?: string;
}

export interface PredictFileOptions extends StreamOptions {
  /** Also write every cluster's probability q (CSV: p0 … p{k-1}; JSONL: a 'probabilities' array). */
  proba?: boolean;
  /** Called with a warning that does not stop the run (a JSONL key first seen after the first chunk). */
  onWarning?: (message: string) => void;
  /**
   * Rows whose confidence (max q) is below this get cluster -1 (outliers); null or absent: none.
   * A model's stored default or an outlier rate resolve to this through model.outlierThreshold.
   */
  minConfidence?: number | null;
}

export interface PredictFileSummary {
  rows: number;
  k: number;
  clusterSizes: number[];
  clustersFound: number;
  /** Rows marked as outliers (cluster -1), not counted in clusterSizes. */
  outliers: number;
  /** The threshold applied (null: none). */
  minConfidence: number | null;
  /** Over every row, outliers included. */
  meanConfidence: number;
  seconds: number;
  rowsPerSecond: number;
}

/**
 * Rows read, assigned and written per step: bounds the memory of the rows, of q and of the output
 * text: about 32 MiB of float32 vectors (10,922 rows of 768), at most 16,384 rows, at least 256.
 * 8 MiB chunks lowered the peak by about 60 MiB (freed chunks linger until a garbage collection)
 * but took about 30 % more CPU time on a CSV (more alternations between parser and onnxruntime).
 */
export function chunkRowsFor(dim: number): number {
  return Math.max(256, Math.min(16_384, Math.floor((32 << 20) / (4 * dim))));
}

/**
 * Assigns every row of `input` to a cluster and writes `output` (.csv or .jsonl): the input's other
 * columns (id, text, labels …), cluster, confidence (= max q), and with `proba` every q. The file
 * is written to a temporary name and renamed at the end; on an error nothing is left behind.
 */
export async function predictFile(
  model: SoftClusterer,
  input: string,
  output: string,
  options: PredictFileOptions = {},
): Promise<PredictFileSummary> {
  const t0 = performance.now();
  const k = model.k;
  const sizes = new Array<number>(k).fill(0);
  const minConfidence =
    options.minConfidence === undefined || options.minConfidence === null
      ? null
      : checkMinConfidence(options.minConfidence);
  let outliers = 0;
  let confidenceSum = 0;
  let rows = 0;
  let writer: PredictionWriter | undefined;
  let columns: string[] = [];
  const dropped = new Set<string>();
  const chunkRows = chunkRowsFor(model.inputDim);
  try {
    for await (const chunk of chunksOf(model, input, options)) {
      if (writer === undefined) {
        // The output columns are the first chunk's (a JSONL key first seen later is not copied).
        columns = chunkColumnNames(chunk);
        writer = await createPredictionWriter(output, {
          passthrough: columns,
          ...(options.proba ? { probabilities: k } : {}),
        });
        options.onStart?.(chunk.totalRows);
      }
      for (const name of Object.keys(chunk.passthrough)) {
        if (!columns.includes(name) && !dropped.has(name)) {
          dropped.add(name);
          options.onWarning?.(
            `${input}: key '${name}' first appears in rows ${chunk.firstRow + 1}–${chunk.firstRow + chunk.X.rows}, after the output columns were taken from the first ${chunkRows} rows; it is not copied to ${output}`,
          );
        }
      }
      const q = await assignChunk(model, chunk, options.batchSize);
      const { index: labels, max: confidence } = argmaxRows(q);
      outliers += markOutliers(labels, confidence, minConfidence);
      for (let i = 0; i < labels.length; i++) {
        if (labels[i]! >= 0) sizes[labels[i]!]!++;
        confidenceSum += confidence[i]!;
      }
      await writer.write({
        labels,
        confidence,
        passthrough: chunkColumns(chunk, columns),
        ...(options.proba ? { probabilities: q } : {}),
      });
      rows += chunk.X.rows;
      options.onProgress?.(rows);
    }
    await writer!.commit();
  } catch (e) {
    await writer?.abort();
    throw e;
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    rows,
    k,
    clusterSizes: sizes,
    clustersFound: sizes.filter((s) => s > 0).length,
    outliers,
    minConfidence,
    meanConfidence: confidenceSum / rows,
    seconds,
    rowsPerSecond: rows / seconds,
  };
}

export interface FileClusters {
  /** Every row's cluster. */
  clusters: Int32Array;
  /** Every row's label (null: missing). */
  labels: RowLabels;
  /** The labels' column, or null for a labels file. */
  labelsColumn: string | null;
}

/**
 * Every row's cluster and label, streamed (the vectors are not kept). The file must have labels
 * (a column, or options.labelsFile); one without any throws an InputError naming the columns it has.
 */
export async function clusterLabelledFile(
  model: SoftClusterer,
  input: string,
  options: StreamOptions = {},
): Promise<FileClusters> {
  const truthText: string[] = [];
  const predicted: Int32Array[] = [];
  let labelsColumn: string | null = null;
  let rows = 0;
  for await (const chunk of chunksOf(model, input, options)) {
    if (chunk.labels === null) throw noLabelsError(chunk);
    if (rows === 0) options.onStart?.(chunk.totalRows);
    labelsColumn = chunk.labelsColumn;
    predicted.push(argmaxRows(await assignChunk(model, chunk, options.batchSize)).index);
    for (const label of chunk.labels) truthText.push(label);
    rows += chunk.X.rows;
    options.onProgress?.(rows);
  }
  const clusters = concatenated(predicted, rows);
  return { clusters, labels: finalizeLabels(truthText), labelsColumn };
}

/** The chunks' clusters as one array of `rows`. */
export function concatenated(parts: readonly Int32Array[], rows: number): Int32Array {
  const all = new Int32Array(rows);
  let offset = 0;
  for (const p of parts) {
    all.set(p, offset);
    offset += p.length;
  }
  return all;
}

/** The InputError for data that has no labels to score against, listing the columns it has. */
export function noLabelsError(ds: Pick<DatasetChunk, "file" | "embeddingsColumn" | "passthrough">): InputError {
  const columns = [...(ds.embeddingsColumn ? [ds.embeddingsColumn] : []), ...Object.keys(ds.passthrough)];
  const has = columns.length ? ` (the file has columns ${columns.map((c) => `'${c}'`).join(", ")})` : "";
  return new InputError(
    ds.file,
    `no labels: no 'labels' or 'label' column${has}; name one with --labels-column, or give --labels-file`,
  );
}

/** The file's chunks, each used before the next is read (so the reader reuses its buffers). */
export function chunksOf(model: SoftClusterer, input: string, options: StreamOptions): AsyncGenerator<DatasetChunk> {
  if (options.encoder) {
    if (options.encoder.dim !== model.inputDim)
      throw new RangeError(
        `the embedding model gives ${options.encoder.dim} dimensions, the clustering model takes ${model.inputDim}`,
      );
    if (options.labelsFile !== undefined)
      throw new InputError(
        options.labelsFile,
        "a labels file is not read with texts: give the labels as a column of the texts' file",
      );
    const { encoder, textColumn, labelsColumn } = options;
    // Loaded only for texts: predicting embeddings keeps its start-up and memory as they were.
    return (async function* () {
      const { embeddedChunks } = await import("./text-source.js");
      yield* embeddedChunks(encoder, input, {
        ...(textColumn !== undefined ? { textColumn } : {}),
        ...(labelsColumn !== undefined ? { labelsColumn } : {}),
      });
    })();
  }
  return readDatasetChunks(input, {
    ...(options.embeddingsColumn !== undefined ? { embeddingsColumn: options.embeddingsColumn } : {}),
    ...(options.labelsColumn !== undefined ? { labelsColumn: options.labelsColumn } : {}),
    ...(options.labelsFile !== undefined ? { labelsFile: options.labelsFile } : {}),
    expectedDim: model.inputDim,
    chunkRows: chunkRowsFor(model.inputDim),
    reuseBuffers: true,
    // The model checks the values are finite inside its graph (faster than scanning them here).
    checkFinite: false,
  });
}

/** q of a chunk; a NaN/±Inf in it is reported at its row and dimension of the file. */
export async function assignChunk(model: SoftClusterer, chunk: DatasetChunk, batchSize?: number): Promise<Matrix> {
  try {
    return await model.predictProba(chunk.X, batchSize ?? DEFAULTS.predictBatchSize);
  } catch (e) {
    throw e instanceof NonFiniteValueError ? nonFiniteInputError(chunk.file, e, chunk.firstRow) : e;
  }
}

/** The output's pass-through columns: the input's other columns, then its labels column. */
export function chunkColumnNames(chunk: DatasetChunk): string[] {
  const names = Object.keys(chunk.passthrough);
  if (chunk.labels && chunk.labelsColumn && !names.includes(chunk.labelsColumn)) names.push(chunk.labelsColumn);
  return names;
}

/** A chunk's values of the columns `names` (chunkColumnNames of the first chunk); a column it lacks is empty. */
export function chunkColumns(chunk: DatasetChunk, names: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of names) {
    const own = Object.hasOwn(chunk.passthrough, name) ? chunk.passthrough[name] : undefined;
    const values =
      own ?? (name === chunk.labelsColumn ? chunk.labels : null) ?? new Array<string>(chunk.X.rows).fill("");
    Object.defineProperty(out, name, { value: values, enumerable: true });
  }
  return out;
}
