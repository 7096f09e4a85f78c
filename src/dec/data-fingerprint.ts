// A fingerprint of training data: its shape and a SHA-256 of its float32 values in row order, so
// that a checkpoint can tell the data it was written for from other data (fewer or more rows, other
// values, the same rows in another order). One sequential pass; a RowSource is read in chunks.

import { createHash } from "node:crypto";
import { chunksOf, type Rows } from "../engine/index.js";
import type { PartialLabels } from "../cluster/metrics.js";

export interface DataFingerprint {
  rows: number;
  cols: number;
  /** SHA-256 (hex) of the values as float32 bytes (little-endian, as held in memory), row after row. */
  sha256: string;
  /** SHA-256 of the labels as a JSON array, when labels were given (they matter to selectBestByLabels only). */
  labelsSha256: string | null;
}

export function dataFingerprint(X: Rows, labels?: PartialLabels): DataFingerprint {
  const hash = createHash("sha256");
  for (const { m } of chunksOf(X)) hash.update(new Uint8Array(m.data.buffer, m.data.byteOffset, m.rows * m.cols * 4));
  const labelsSha256 = labels
    ? createHash("sha256")
        .update(JSON.stringify(Array.from(labels)))
        .digest("hex")
    : null;
  return { rows: X.rows, cols: X.cols, sha256: hash.digest("hex"), labelsSha256 };
}
