// Reads an embeddings dataset from CSV, JSONL, NPY (or IDX) or Parquet into one row-major matrix
// plus optional labels and pass-through columns. The format comes from the extension, else from
// the content. Every problem is an InputError naming the file and, where there is one, the row
// and column. Rows are data rows counted from 1: a CSV header is not counted, so row N is the
// matrix's row N − 1 whatever the format (see dataset-builder.ts).

import { closeSync, openSync, readSync, statSync } from "node:fs";
import { extname } from "node:path";
import type { Matrix } from "../engine/index.js";
import { InputError } from "./errors.js";
import { readMatrix } from "./matrix-file.js";
import { readCsvDataset } from "./dataset-csv.js";
import { readJsonlDataset } from "./dataset-jsonl.js";
import { readParquetDataset } from "./dataset-parquet.js";
import { readLabelsFile } from "./npy-labels.js";

export type DatasetFormat = "csv" | "tsv" | "jsonl" | "npy" | "idx" | "parquet";

export interface Dataset {
  file: string;
  format: DatasetFormat;
  X: Matrix;
  /** One label per row: numbers when every label is an integer, else strings. */
  labels: (number | string)[] | null;
  labelsColumn: string | null;
  /** null for formats without named columns (NPY) and for wide CSV (one column per dimension). */
  embeddingsColumn: string | null;
  /** Every other column (e.g. id, text) as strings, to be copied into the predictions. */
  passthrough: Record<string, string[]>;
}

export interface ReadDatasetOptions {
  /** The column (JSONL/Parquet: key) holding the vectors; default `embeddings`, else auto-detected. */
  embeddingsColumn?: string;
  /** The labels column; default `labels` or `label` when present. */
  labelsColumn?: string;
  /** Labels in a separate file (one per row): a 1-D .npy of integers, IDX labels, or text with one label per line. */
  labelsFile?: string;
  /** Keep only the first `limit` rows (the rest of the file is not read). */
  limit?: number;
  /** The model's input dimension: a file with another is rejected before it is read through. */
  expectedDim?: number;
}

const EXTENSIONS: Record<string, DatasetFormat> = {
  ".csv": "csv",
  ".tsv": "tsv",
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".npy": "npy",
  ".parquet": "parquet",
  ".pq": "parquet",
};

export async function readDataset(file: string, options: ReadDatasetOptions = {}): Promise<Dataset> {
  if (options.labelsFile !== undefined && options.labelsColumn !== undefined) {
    throw new InputError(file, "give either a labels column or a labels file, not both");
  }
  const size = fileSize(file);
  const format = EXTENSIONS[extname(file).toLowerCase()] ?? sniff(file);
  let ds: Dataset;
  switch (format) {
    case "csv":
    case "tsv":
      ds = { format, ...(await readCsvDataset(file, options, size, format === "tsv" ? "\t" : ",")) };
      break;
    case "jsonl":
      ds = { format, ...(await readJsonlDataset(file, options, size)) };
      break;
    case "parquet":
      ds = { format, ...(await readParquetDataset(file, options, size)) };
      break;
    case "npy":
    case "idx":
      ds = readMatrixDataset(file, format, options);
      break;
  }
  if (ds.X.rows === 0) throw new InputError(file, "no data rows");
  if (options.labelsFile !== undefined) {
    ds.labels = readLabelsFile(options.labelsFile, ds.X.rows, file, options.limit !== undefined);
    ds.labelsColumn = null;
  }
  return ds;
}

function readMatrixDataset(file: string, format: DatasetFormat, options: ReadDatasetOptions): Dataset {
  const X = readMatrix(file, options.limit !== undefined ? { limit: options.limit } : {});
  if (options.expectedDim !== undefined && X.cols !== options.expectedDim) {
    throw new InputError(file, `${X.cols} dimensions, but the model expects ${options.expectedDim}`);
  }
  for (const [name, value] of [["embeddingsColumn", options.embeddingsColumn], ["labelsColumn", options.labelsColumn]] as const) {
    if (value !== undefined) throw new InputError(file, `a ${format === "npy" ? ".npy" : "IDX"} file has no named columns (${name} '${value}'); give labels as a labels file`);
  }
  return { file, format, X, labels: null, labelsColumn: null, embeddingsColumn: null, passthrough: {} };
}

function fileSize(file: string): number {
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, code === "ENOENT" ? "file not found" : `cannot open (${code ?? String(e)})`);
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
  const text = b.toString("utf8").replace(/^\uFEFF/, "").trimStart();
  return text.startsWith("{") ? "jsonl" : "csv";
}
