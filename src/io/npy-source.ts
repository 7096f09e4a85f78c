// A 2-D .npy file as a RowSource: rows are read on demand with positional reads, so training on a
// file larger than RAM holds only the rows it is working on. Two ways to gather a minibatch:
//   - no block cache (default): the batch's indices are sorted and runs of adjacent rows are read
//     with one read each — right for a true random permutation, one small read per row otherwise;
//   - block cache (cacheBlockRows = B): rows are read a whole block of B consecutive rows at a time
//     and the last `cachedBlocks` blocks are kept — right for a block-shuffled order
//     (shuffledOrder(rng, n, B)), under which every block is read once per pass, sequentially.
// A Fortran-ordered file (column-major) costs one read per column for each of these reads, so
// there the block cache matters more: without it, every row of a true permutation is `cols` reads.

import { DEFAULTS } from "../config.js";
import { closeSync } from "node:fs";
import type { RowSource } from "../engine/index.js";
import { npyItemSize, openNpy, readNpyRowsSync, type NpyHeader } from "./npy.js";

export interface NpySourceOptions {
  /** Read and keep whole blocks of this many rows (use the same B as the block-shuffled order). Default: no cache. */
  cacheBlockRows?: number;
  /** Blocks kept (least recently used goes first); default 2, enough for a batch that straddles two blocks. */
  cachedBlocks?: number;
}

export class NpySource implements RowSource {
  readonly rows: number;
  readonly cols: number;
  /** Bytes and read calls so far (for benchmarks). */
  readonly stats = { bytesRead: 0, reads: 0 };
  private fd: number | null;
  private readonly header: NpyHeader;
  private readonly block: number | undefined;
  private readonly maxBlocks: number;
  private cache: { b: number; data: Float32Array }[] = [];
  private scratch = new Float32Array(0);

  private constructor(fd: number, header: NpyHeader, options: NpySourceOptions) {
    this.fd = fd;
    this.header = header;
    this.rows = header.rows;
    this.cols = header.cols;
    const b = options.cacheBlockRows;
    if (b !== undefined && !(Number.isInteger(b) && b >= 1))
      throw new RangeError(`cacheBlockRows must be an integer ≥ 1, got ${b}`);
    this.block = b;
    this.maxBlocks = Math.max(1, options.cachedBlocks ?? DEFAULTS.outOfCoreCachedBlocks);
  }

  /** Opens `file` (checks its header and size; throws InputError like readNpy). Call close() when done. */
  static open(file: string, options: NpySourceOptions = {}): NpySource {
    const { fd, header } = openNpy(file);
    try {
      return new NpySource(fd, header, options);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  readRange(start: number, count: number, out: Float32Array): void {
    if (start < 0 || count < 0 || start + count > this.rows)
      throw new RangeError(`rows [${start}, ${start + count}) are outside the ${this.rows} rows`);
    if (out.length < count * this.cols)
      throw new RangeError(`output holds ${out.length} values, ${count * this.cols} needed`);
    readNpyRowsSync(this.openFd(), this.header, start, count, out);
    this.stats.bytesRead += count * this.cols * npyItemSize(this.header);
    this.stats.reads++;
  }

  gather(index: ArrayLike<number>, from: number, to: number, dst: Float32Array): void {
    const c = this.cols;
    if (this.block !== undefined) {
      for (let i = from; i < to; i++) {
        const r = index[i]!;
        const data = this.blockOf(Math.floor(r / this.block));
        const o = (r % this.block) * c;
        dst.set(data.subarray(o, o + c), (i - from) * c);
      }
      return;
    }
    // Sorted positions; runs of equal or adjacent rows are read at once, then scattered.
    const pos = Array.from({ length: to - from }, (_, i) => from + i).sort((a, b) => index[a]! - index[b]!);
    for (let s = 0; s < pos.length;) {
      let e = s + 1;
      while (e < pos.length && index[pos[e]!]! - index[pos[e - 1]!]! <= 1) e++;
      const first = index[pos[s]!]!;
      const n = index[pos[e - 1]!]! - first + 1;
      if (this.scratch.length < n * c) this.scratch = new Float32Array(n * c);
      this.readRange(first, n, this.scratch);
      for (let j = s; j < e; j++) {
        const o = (index[pos[j]!]! - first) * c;
        dst.set(this.scratch.subarray(o, o + c), (pos[j]! - from) * c);
      }
      s = e;
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.cache = [];
  }

  private openFd(): number {
    if (this.fd === null) throw new Error("the .npy source is closed");
    return this.fd;
  }

  // Block b of the cache, read on a miss into the least recently used block's buffer.
  private blockOf(b: number): Float32Array {
    const at = this.cache.findIndex((x) => x.b === b);
    if (at === 0) return this.cache[0]!.data;
    if (at > 0) {
      const [hit] = this.cache.splice(at, 1);
      this.cache.unshift(hit!);
      return hit!.data;
    }
    const B = this.block!;
    const evicted = this.cache.length >= this.maxBlocks ? this.cache.pop()! : null;
    const data = evicted?.data ?? new Float32Array(Math.min(B, this.rows) * this.cols);
    const start = b * B;
    this.readRange(start, Math.min(B, this.rows - start), data);
    this.cache.unshift({ b, data });
    return data;
  }
}
