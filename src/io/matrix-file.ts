// Reads a numeric matrix from a file, choosing the reader by content: NumPy .npy or IDX images.
// (CSV/JSONL/Parquet embeddings files join here with the data readers.)

import { closeSync, openSync, readSync } from "node:fs";
import { assertFiniteRows, NonFiniteValueError, type Matrix } from "../engine/matrix.js";
import { InputError, openError } from "./errors.js";
import { readIdxImages, IdxError } from "./idx.js";
import { readNpy } from "./npy.js";

export interface ReadMatrixOptions {
  /** Keep only the first `limit` rows. */
  limit?: number;
}

function magic(file: string): Buffer {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw openError(file, e);
  }
  try {
    const b = Buffer.alloc(6);
    const n = readSync(fd, b, 0, 6, 0);
    return b.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export function readMatrix(file: string, options: ReadMatrixOptions = {}): Matrix {
  const head = magic(file);
  if (head.length === 0) throw new InputError(file, "the file is empty");
  let m: Matrix;
  if (head.toString("latin1", 0, 6) === "\x93NUMPY") {
    m = readNpy(file);
  } else if (head[0] === 0 && head[1] === 0 && head[2] === 0x08) {
    try {
      m = readIdxImages(file);
    } catch (e) {
      throw e instanceof IdxError ? new InputError(file, e.message.replace(`${file}: `, "")) : e;
    }
  } else {
    throw new InputError(file, "unrecognised format (expected a NumPy .npy file or IDX images)");
  }
  validateFinite(file, m);
  if (options.limit !== undefined && options.limit < m.rows)
    m = { data: m.data.subarray(0, options.limit * m.cols), rows: options.limit, cols: m.cols };
  if (m.rows === 0) throw new InputError(file, "no rows");
  return m;
}

/**
 * Rejects NaN/±Inf, naming the first offending row and column (1-based, as a user counts); `m` is
 * the file's rows from `firstRow` (0-based) on.
 */
export function validateFinite(file: string, m: Matrix, firstRow = 0): void {
  if (allFinite(m.data)) return;
  try {
    assertFiniteRows(m);
  } catch (e) {
    throw e instanceof NonFiniteValueError ? nonFiniteInputError(file, e, firstRow) : e;
  }
}

/** The InputError for a NonFiniteValueError in the rows of `file` from `firstRow` (0-based) on. */
export function nonFiniteInputError(file: string, e: NonFiniteValueError, firstRow = 0): InputError {
  return new InputError(file, `value ${e.value} is not finite`, firstRow + e.row + 1, `dimension ${e.col + 1}`);
}

/**
 * x·0 is ±0 for every finite x and NaN for NaN or ±Inf, so the sums stay 0 exactly when all values
 * are finite. Branch-free with four independent sums: about twice as fast as testing each value
 * with Number.isFinite (0.7 s instead of 1.35 s on 1M × 768), the first place predict spent time.
 */
function allFinite(d: Float32Array): boolean {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n4 = d.length & ~3;
  for (let i = 0; i < n4; i += 4) {
    s0 += d[i]! * 0;
    s1 += d[i + 1]! * 0;
    s2 += d[i + 2]! * 0;
    s3 += d[i + 3]! * 0;
  }
  for (let i = n4; i < d.length; i++) s0 += d[i]! * 0;
  return s0 + s1 + s2 + s3 === 0;
}
