// Where the training data's rows come from: a Matrix in memory, or a RowSource that reads them on
// demand (an on-disk .npy, io/npy-source.ts; a Parquet file a row group at a time,
// io/parquet-source.ts), so that data larger than RAM trains with bounded memory. The algorithm
// only ever gathers minibatches by index and walks the rows in chunks; a Matrix takes the same
// paths it always took (no copies, identical results).

import { gatherRows, type Matrix } from "./matrix.js";
import type { Rng } from "./random.js";

/** Rows read on demand, row-major float32, `cols` values per row. */
export interface RowSource {
  readonly rows: number;
  readonly cols: number;
  /** Copies rows index[from..to) into `dst` (row-major, contiguous), like gatherRows. */
  gather(index: ArrayLike<number>, from: number, to: number, dst: Float32Array): void;
  /** Copies rows [start, start + count) into `out`. */
  readRange(start: number, count: number, out: Float32Array): void;
}

/** Training data: a matrix in memory, or rows read on demand. */
export type Rows = Matrix | RowSource;

export function isMatrix(x: Rows): x is Matrix {
  return (x as Partial<Matrix>).data instanceof Float32Array;
}

/** gatherRows on either kind of data. */
export function gatherFrom(x: Rows, index: ArrayLike<number>, from: number, to: number, dst: Float32Array): void {
  if (isMatrix(x)) gatherRows(x, index, from, to, dst);
  else x.gather(index, from, to, dst);
}

/** Rows per chunk when walking a RowSource: 16,384 rows of 768 float32 values are 48 MiB (a multiple of the 1024-row inference batch). */
export const SOURCE_CHUNK_ROWS = 16_384;

/**
 * The rows in consecutive chunks: a Matrix yields itself whole (no copy); a RowSource yields
 * `chunkRows` rows at a time, read into one reused buffer (valid until the next chunk).
 */
export function* chunksOf(x: Rows, chunkRows = SOURCE_CHUNK_ROWS): Generator<{ start: number; m: Matrix }> {
  if (isMatrix(x)) {
    yield { start: 0, m: x };
    return;
  }
  const buf = new Float32Array(Math.min(chunkRows, x.rows) * x.cols);
  for (let start = 0; start < x.rows; start += chunkRows) {
    const n = Math.min(chunkRows, x.rows - start);
    const data = buf.subarray(0, n * x.cols);
    x.readRange(start, n, data);
    yield { start, m: { data, rows: n, cols: x.cols } };
  }
}

/**
 * The visiting order of one pass over n rows. Without `block`: a uniform random permutation
 * (rng.permutation, as always). With `block`: block-shuffled — the rows are cut into blocks of
 * `block` consecutive rows, the blocks are visited in a random order and the rows of each block in
 * a random order, so a reader that caches a block (NpySource) reads the file in large sequential
 * pieces instead of one random row at a time. The price: a minibatch holds rows of one block (two at
 * a block boundary) rather than of the whole dataset, so batches are less independent when the file's
 * row order is not random (e.g. sorted by class); shuffle such a file once, or use a larger block.
 */
export function shuffledOrder(rng: Rng, n: number, block?: number): Uint32Array {
  if (block === undefined) return rng.permutation(n);
  if (!(Number.isInteger(block) && block >= 1))
    throw new RangeError(`shuffle block must be an integer ≥ 1, got ${block}`);
  const order = new Uint32Array(n);
  const blocks = rng.permutation(Math.ceil(n / block));
  let o = 0;
  for (const b of blocks) {
    const start = b * block;
    const size = Math.min(block, n - start);
    const within = rng.permutation(size);
    for (let i = 0; i < size; i++) order[o++] = start + within[i]!;
  }
  return order;
}
