// Bounds on the sizes a data file may declare, checked before anything is allocated from them: a
// corrupt header or a runaway row gets a message naming the file, not a RangeError from V8.

import { constants } from "node:buffer";
import { InputError } from "./errors.js";

/**
 * Most values in one row. Embedding models give a few thousand and raw 512×512 RGB images
 * 786,432; a row of millions (a whole column pasted into one cell, a corrupt header) is refused
 * before it sizes a matrix of rows × its length.
 */
export const MAX_DIMENSIONS = 1 << 20;

/** Most elements of one typed array (V8's limit: 2^32 in Node 20). */
export const MAX_ARRAY_VALUES = constants.MAX_LENGTH;

/** Refuses a row of more than MAX_DIMENSIONS values. */
export function checkDimensions(file: string, n: number, row?: number, column?: string): void {
  if (n > MAX_DIMENSIONS)
    throw new InputError(
      file,
      `${n} dimensions per row, more than deepclust accepts (${MAX_DIMENSIONS}); is this one embedding vector per row?`,
      row,
      column,
    );
}
