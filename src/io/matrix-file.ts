// Reads a numeric matrix from a file, choosing the reader by content: NumPy .npy or IDX images.
// (CSV/JSONL/Parquet embeddings files join here with the data readers.)

import { closeSync, openSync, readSync } from "node:fs";
import type { Matrix } from "../engine/index.js";
import { InputError } from "./errors.js";
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
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, code === "ENOENT" ? "file not found" : `cannot open (${code ?? String(e)})`);
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
  if (options.limit !== undefined && options.limit < m.rows) m = { data: m.data.subarray(0, options.limit * m.cols), rows: options.limit, cols: m.cols };
  if (m.rows === 0) throw new InputError(file, "no rows");
  return m;
}

/**
 * Rejects NaN/±Inf, naming the first offending row and column (1-based, as a user counts); `m` is
 * the file's rows from `firstRow` (0-based) on.
 */
export function validateFinite(file: string, m: Matrix, firstRow = 0): void {
  const d = m.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i]!)) {
      const row = firstRow + Math.floor(i / m.cols) + 1;
      throw new InputError(file, `value ${d[i]} is not finite`, row, `dimension ${(i % m.cols) + 1}`);
    }
  }
}
