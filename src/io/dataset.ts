// Reads an embeddings dataset from CSV, JSONL, NPY (or IDX) or Parquet: whole, into one row-major
// matrix plus optional labels and pass-through columns (readDataset), or streamed in chunks of rows
// (readDatasetChunks), through the same per-format readers and checks. The format comes from the
// extension, else from the content. Every problem is an InputError naming the file and, where there
// is one, the row and column. Rows are data rows counted from 1: a CSV header is not counted, so
// row N is the matrix's row N − 1 whatever the format (see dataset-builder.ts).

import { closeSync, openSync, readSync, statSync } from "node:fs";
import { extname } from "node:path";
import type { Matrix } from "../engine/index.js";
import { InputError, openError } from "./errors.js";
import { finalizeLabels } from "./dataset-builder.js";
import { readMatrixChunks } from "./dataset-matrix.js";
import { checkLabelCount, labelCount, loadLabelsFile, readLabelsFile } from "./npy-labels.js";

export type DatasetFormat = "csv" | "tsv" | "jsonl" | "npy" | "idx" | "parquet";

/**
 * Ground-truth labels, one per row: all numbers (when every label is an integer) or all strings;
 * null where a row's label is missing (an empty cell, NA, NaN, null …: see MISSING_LABELS).
 */
export type RowLabels = (number | string | null)[];

export interface Dataset {
  file: string;
  format: DatasetFormat;
  X: Matrix;
  /** One label per row (null: missing); null when the data has no labels. */
  labels: RowLabels | null;
  labelsColumn: string | null;
  /** null for formats without named columns (NPY) and for wide CSV (one column per dimension). */
  embeddingsColumn: string | null;
  /** Every other column (e.g. id, text) as strings, to be copied into the predictions. */
  passthrough: Record<string, string[]>;
}

export interface ReadDatasetOptions {
  /** The column (JSONL/Parquet: key) holding the vectors; default `embeddings`, else auto-detected. */
  embeddingsColumn?: string;
  /**
   * The labels column; default `labels` or `label` when present. null: no labels (a column with
   * one of those names is then an ordinary pass-through column).
   */
  labelsColumn?: string | null;
  /** Labels in a separate file (one per row): a 1-D .npy of integers (or floats, NaN: missing), IDX labels, or text with one label per line. */
  labelsFile?: string;
  /** Keep only the first `limit` rows (the rest of the file is not read). */
  limit?: number;
  /** The model's input dimension: a file with another is rejected before it is read through. */
  expectedDim?: number;
}

/** Rows per chunk when none is asked for: 16,384 rows of 768 float32 values are 48 MiB. */
export const DEFAULT_CHUNK_ROWS = 16_384;

export interface ReadChunksOptions extends ReadDatasetOptions {
  /** Most rows per chunk (default DEFAULT_CHUNK_ROWS); the last chunk may hold fewer. */
  chunkRows?: number;
  /**
   * .npy and IDX: read into two buffers in turn instead of a new one per chunk (less garbage), so a
   * chunk's X is overwritten once the chunk after the next is read: use each chunk before taking
   * the next but one, and do not keep it. Default false.
   */
  reuseBuffers?: boolean;
  /**
   * .npy: reject NaN/±Inf as they are read (default true). A caller that checks the values itself
   * (DECModel.predictProba does, inside its graph) turns it off so the rows are not scanned twice.
   */
  checkFinite?: boolean;
}

/** Consecutive rows of a dataset file, as readDatasetChunks hands them out. */
export interface DatasetChunk {
  file: string;
  format: DatasetFormat;
  /** The chunk's first row in the file, counted from 0: its row i is row firstRow + i + 1 in messages. */
  firstRow: number;
  X: Matrix;
  /**
   * The chunk's labels as written in the file ("" for a null; finalizeLabels turns them into
   * RowLabels, as readDataset does); null without labels.
   */
  labels: string[] | null;
  labelsColumn: string | null;
  embeddingsColumn: string | null;
  /**
   * Every other column (e.g. id, text), one string per row of the chunk. JSONL: every key seen so
   * far in the file, "" in the rows without it (a key first seen later joins later chunks).
   */
  passthrough: Record<string, string[]>;
  /** The rows the file holds (after `limit`) when the format says so up front (NPY, IDX, Parquet); null for CSV and JSONL. */
  totalRows: number | null;
}

/** A chunk as a format's reader yields it (readDatasetChunks adds the file and the format). */
export type FormatChunk = Omit<DatasetChunk, "file" | "format">;

const EXTENSIONS: Record<string, DatasetFormat> = {
  ".csv": "csv",
  ".tsv": "tsv",
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".npy": "npy",
  ".parquet": "parquet",
  ".pq": "parquet",
};

/**
 * Streams a dataset file: its rows in chunks of at most `chunkRows`, read as they are handed out, so
 * only about one chunk is held at a time whatever the file's size (a Parquet file without an offset
 * index is read a row group at a time). The checks and messages are readDataset's: an error names
 * the file, the row (counted over the whole file) and the column, and comes when the reader gets
 * there, after the chunks before it. The dimension is taken from the first row (or the header)
 * and held to on every later row, and to `expectedDim` when given. Labels from `labelsFile` are
 * read first (they are small) and sliced per chunk.
 */
export async function* readDatasetChunks(file: string, options: ReadChunksOptions = {}): AsyncGenerator<DatasetChunk> {
  const chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!(Number.isInteger(chunkRows) && chunkRows >= 1))
    throw new RangeError(`chunkRows must be an integer ≥ 1, got ${chunkRows}`);
  const { format, chunks } = openChunks(file, { ...options, chunkRows });
  const fileLabels = options.labelsFile !== undefined ? loadLabelsFile(options.labelsFile) : null;
  const labels = fileLabels && fileLabels.map((l) => (l === null ? "" : String(l)));
  let rows = 0;
  for await (const c of chunks) {
    rows = c.firstRow + c.X.rows;
    if (labels !== null) {
      if (labels.length < rows) {
        // Count the rows, for the message readDataset gives.
        for await (const rest of chunks) rows = rest.firstRow + rest.X.rows;
        checkLabelCount(options.labelsFile!, labelCount(fileLabels!, rows), rows, file, options.limit !== undefined);
      }
      c.labels = labels.slice(c.firstRow, rows);
      c.labelsColumn = null;
    }
    yield { file, format, ...c };
  }
  if (rows === 0) throw new InputError(file, "no data rows");
  if (labels !== null)
    checkLabelCount(options.labelsFile!, labelCount(fileLabels!, rows), rows, file, options.limit !== undefined);
}

/** Reads a whole dataset file into one matrix (the rows of readDatasetChunks, as one chunk). */
export async function readDataset(file: string, options: ReadDatasetOptions = {}): Promise<Dataset> {
  const { format, chunks } = openChunks(file, { ...options, chunkRows: Infinity });
  let ds: Dataset | undefined;
  for await (const c of chunks) {
    if (ds !== undefined) throw new Error("readDataset: more than one chunk");
    ds = {
      file,
      format,
      X: c.X,
      labels: c.labels && finalizeLabels(c.labels),
      labelsColumn: c.labelsColumn,
      embeddingsColumn: c.embeddingsColumn,
      passthrough: c.passthrough,
    };
  }
  if (ds === undefined || ds.X.rows === 0) throw new InputError(file, "no data rows");
  if (options.labelsFile !== undefined) {
    ds.labels = readLabelsFile(options.labelsFile, ds.X.rows, file, options.limit !== undefined);
    ds.labelsColumn = null;
  }
  return ds;
}

// The checks before any row is read (options, the file exists and is not empty), the format, and
// the format's chunk reader (lazy: nothing more is read until the first chunk is asked for).
function openChunks(
  file: string,
  options: ReadChunksOptions,
): { format: DatasetFormat; chunks: AsyncGenerator<FormatChunk> } {
  if (options.labelsFile !== undefined && options.labelsColumn !== undefined) {
    throw new InputError(file, "give either a labels column or a labels file, not both");
  }
  const size = fileSize(file);
  const format = EXTENSIONS[extname(file).toLowerCase()] ?? sniff(file);
  switch (format) {
    case "csv":
    case "tsv":
      return {
        format,
        chunks: later(async () =>
          (await import("./dataset-csv.js")).readCsvChunks(file, options, size, format === "tsv" ? "\t" : ","),
        ),
      };
    case "jsonl":
      return {
        format,
        chunks: later(async () => (await import("./dataset-jsonl.js")).readJsonlChunks(file, options, size)),
      };
    case "parquet":
      return {
        format,
        chunks: later(async () => (await import("./dataset-parquet.js")).readParquetChunks(file, options, size)),
      };
    case "npy":
    case "idx":
      return { format, chunks: readMatrixChunks(file, format, options) };
  }
}

/**
 * A reader whose module (and its parser: csv-parse, hyparquet) is imported when the first chunk is
 * asked for, so that a process reading .npy never loads them (start-up time of the CLI).
 */
async function* later(open: () => Promise<AsyncGenerator<FormatChunk>>): AsyncGenerator<FormatChunk> {
  yield* await open();
}

function fileSize(file: string): number {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    throw openError(file, e);
  }
  if (st.isDirectory()) throw new InputError(file, "is a directory, not a data file");
  if (st.size === 0) throw new InputError(file, "the file is empty");
  return st.size;
}

// Unknown extension: magic numbers for the binary formats, '{' for JSONL, CSV otherwise.
function sniff(file: string): DatasetFormat {
  const head = Buffer.alloc(64);
  const fd = openSync(file, "r");
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const b = head.subarray(0, n);
  if (b.toString("latin1", 0, 6) === "\x93NUMPY") return "npy";
  if (b.toString("latin1", 0, 4) === "PAR1") return "parquet";
  if (b[0] === 0 && b[1] === 0 && b[2] === 0x08) return "idx";
  if (b[0] === 0x1f && b[1] === 0x8b) throw new InputError(file, "gzip-compressed; decompress it first (gunzip)");
  const text = b
    .toString("utf8")
    .replace(/^\uFEFF/, "")
    .trimStart();
  return text.startsWith("{") ? "jsonl" : "csv";
}
