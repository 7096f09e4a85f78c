// A Parquet file as a RowSource: the embeddings column is decoded a whole row group at a time, on
// demand, into float32, and the last few decoded row groups are kept (least recently used goes
// first), so training on a file larger than RAM holds a few row groups, not the file. Read in a
// block-shuffled order whose block is the row-group size (shuffledOrder(rng, n, rowGroupBlock)),
// every row group is decoded once per pass.
//
// RowSource is synchronous and hyparquet's reading API is async (it fetches through an
// AsyncBuffer), so this reads the bytes itself with fs.readSync and decodes them with hyparquet's
// synchronous building blocks, the ones its own readColumn is made of (exported as
// hyparquet/src/*.js): parquetMetadata on the footer, then per column chunk parquetHeader and page
// by page decompression, dictionaries and encodings. A list<float>/list<double> column (the usual
// layout) goes from each page's repetition/definition levels and values straight into the rows
// (decodeList); any other column readDataset accepts (lists of integers, JSON strings) goes through
// hyparquet's own row assembly, readPage + assembleNested, a page at a time (decodeValues). Either
// way only one page's decoded values are held besides the float32 rows, and a list that runs on
// into the next page (a v1 data page may end mid-row) is carried over. The checks and messages are
// readDataset's: rows go through (decodeValues), or on any doubt fall back to (decodeList),
// DatasetBuilder and the Parquet reader's pushVector, which name the file, the row counted over
// the whole file, and the column.

import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { parquetMetadata, parquetSchema, type FileMetaData, type RowGroup, type SchemaTree } from "hyparquet";
import { assembleNested } from "hyparquet/src/assemble.js";
import { parquetHeader, readPage } from "hyparquet/src/column.js";
import { convert, convertWithDictionary, DEFAULT_PARSERS } from "hyparquet/src/convert.js";
import { decompressPage, readDataPage, readDataPageV2 } from "hyparquet/src/datapage.js";
import { getTreePath, isFlatColumn, isListLike } from "hyparquet/src/schema.js";
import { compressors } from "hyparquet-compressors";
import type { RowSource } from "../engine/index.js";
import type { ReadDatasetOptions, RowLabels } from "./dataset.js";
import { DatasetBuilder, finalizeLabels } from "./dataset-builder.js";
import { pickEmbeddings, pickLabels, pushVector } from "./dataset-parquet.js";
import { InputError, openError } from "./errors.js";

type ColumnDecoder = Parameters<typeof readPage>[2];
type Decoded = Parameters<typeof readPage>[3] & ArrayLike<unknown>;

export interface ParquetSourceOptions {
  /** The column holding the vectors (default: `embeddings`, else detected, as readDataset does). */
  embeddingsColumn?: string;
  /**
   * The block of the block-shuffled order the rows will be read in (default: rowGroupBlock): the
   * cache keeps every row group that two consecutive blocks touch, so each is decoded once per pass.
   */
  blockRows?: number;
  /** Row groups kept decoded; default: enough for two blocks of `blockRows` (2 when blocks are row groups). */
  cachedGroups?: number;
  /** Decode a list<float>/list<double> column through hyparquet's row assembly too (slower; for tests). */
  generalDecoder?: boolean;
}

/** Decoding counters: row groups decoded, bytes read, and what the cache holds now and at most. */
export interface ParquetSourceStats {
  groupsDecoded: number;
  bytesRead: number;
  cachedGroups: number;
  cachedBytes: number;
  peakCachedGroups: number;
  peakCachedBytes: number;
}

export class ParquetSource implements RowSource {
  readonly rows: number;
  readonly cols: number;
  /** The column the vectors come from. */
  readonly embeddingsColumn: string;
  /** Rows of each row group, in file order. */
  readonly rowGroupRows: readonly number[];
  /** Row groups kept decoded. */
  readonly cachedGroups: number;
  /** Whether the embeddings column is a list of FLOAT/DOUBLE decoded straight from its levels (else through hyparquet's row assembly). */
  readonly fastPath: boolean;
  readonly stats: ParquetSourceStats = {
    groupsDecoded: 0,
    bytesRead: 0,
    cachedGroups: 0,
    cachedBytes: 0,
    peakCachedGroups: 0,
    peakCachedBytes: 0,
  };
  private fd: number | null;
  private readonly groups: RowGroup[];
  /** First row of each row group, and the total rows at the end. */
  private readonly starts: number[];
  private readonly schema: SchemaTree;
  private cache: { g: number; data: Float32Array }[] = [];
  private dim = 0;
  /** The embeddings column's levels when it is a plain list of FLOAT/DOUBLE (decoded without JS arrays); null: the general path. */
  private readonly listLayout: ListLayout | null;

  private constructor(
    readonly file: string,
    fd: number,
    metadata: FileMetaData,
    options: ParquetSourceOptions,
  ) {
    this.fd = fd;
    this.schema = parquetSchema(metadata);
    const names = this.schema.children.map((c) => c.element.name);
    this.embeddingsColumn = names[pickEmbeddings(file, this.schema.children, options)]!;
    this.listLayout = options.generalDecoder
      ? null
      : listLayout(this.schema.children.find((c) => c.element.name === this.embeddingsColumn)!);
    this.fastPath = this.listLayout !== null;
    this.groups = metadata.row_groups;
    this.rowGroupRows = this.groups.map((g) => Number(g.num_rows));
    this.starts = [0];
    for (const n of this.rowGroupRows) this.starts.push(this.starts.at(-1)! + n);
    this.rows = this.starts.at(-1)!;
    if (this.rows === 0) throw new InputError(file, "no data rows");
    const block = options.blockRows ?? this.rowGroupBlock;
    if (!(Number.isInteger(block) && block >= 1))
      throw new RangeError(`blockRows must be an integer ≥ 1, got ${block}`);
    const cached = options.cachedGroups ?? Math.max(2, 2 * this.groupsPerBlock(block));
    if (!(Number.isInteger(cached) && cached >= 1))
      throw new RangeError(`cachedGroups must be an integer ≥ 1, got ${cached}`);
    this.cachedGroups = cached;
    // The dimension comes from the first row, as in readDataset: decode the first row group now.
    this.groupData(this.groupOf(0));
    this.cols = this.dim;
  }

  /**
   * Opens `file` and reads its footer (row groups, schema) and its first row group; throws an
   * InputError like readDataset (not Parquet, no such column, a bad first row group). Call close().
   */
  static open(file: string, options: ParquetSourceOptions = {}): ParquetSource {
    let fd: number;
    try {
      fd = openSync(file, "r");
    } catch (e) {
      throw openError(file, e);
    }
    try {
      return new ParquetSource(file, fd, readFooter(file, fd), options);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /**
   * The block to shuffle by: the row-group size when every row group but the last has it (the last
   * may be shorter), so that blocks are row groups; otherwise the largest row group.
   */
  get rowGroupBlock(): number {
    const sizes = this.rowGroupRows.filter((n) => n > 0);
    const first = sizes[0] ?? 1;
    const uniform = sizes.every((n, i) => n === first || (i === sizes.length - 1 && n < first));
    return uniform ? first : sizes.reduce((a, b) => Math.max(a, b), 1);
  }

  /** The most row groups that one block of `block` consecutive rows overlaps. */
  groupsPerBlock(block: number): number {
    let most = 0;
    let g = 0;
    for (let start = 0; start < this.rows; start += block) {
      const end = Math.min(this.rows, start + block);
      while (this.starts[g + 1]! <= start) g++;
      let last = g;
      while (this.starts[last + 1]! < end) last++;
      let span = 0;
      for (let h = g; h <= last; h++) if (this.rowGroupRows[h]! > 0) span++;
      most = Math.max(most, span);
    }
    return most;
  }

  readRange(start: number, count: number, out: Float32Array): void {
    if (start < 0 || count < 0 || start + count > this.rows)
      throw new RangeError(`rows [${start}, ${start + count}) are outside the ${this.rows} rows`);
    const c = this.cols;
    if (out.length < count * c) throw new RangeError(`output holds ${out.length} values, ${count * c} needed`);
    for (let r = start; r < start + count;) {
      const g = this.groupOf(r);
      const data = this.groupData(g);
      const end = Math.min(start + count, this.starts[g + 1]!);
      out.set(data.subarray((r - this.starts[g]!) * c, (end - this.starts[g]!) * c), (r - start) * c);
      r = end;
    }
  }

  gather(index: ArrayLike<number>, from: number, to: number, dst: Float32Array): void {
    const c = this.cols;
    let g = -1;
    let data: Float32Array = new Float32Array(0);
    let lo = 0;
    let hi = 0;
    for (let i = from; i < to; i++) {
      const r = index[i]!;
      if (r < lo || r >= hi) {
        if (!(r >= 0 && r < this.rows)) throw new RangeError(`row ${r} is outside the ${this.rows} rows`);
        g = this.groupOf(r);
        data = this.groupData(g);
        lo = this.starts[g]!;
        hi = this.starts[g + 1]!;
      }
      const o = (r - lo) * c;
      dst.set(data.subarray(o, o + c), (i - from) * c);
    }
  }

  /**
   * The labels column's values, read a row group at a time, as readDataset reads them (numbers when
   * every label is an integer; null where one is missing: a Parquet null, NaN, "", NA …): the
   * user's `labelsColumn`, else `labels`/`label` when present and neither `labelsColumn: null` nor
   * a `labelsFile` is given. null: none.
   */
  readLabels(
    options: Pick<ReadDatasetOptions, "labelsColumn" | "labelsFile"> = {},
  ): { column: string; labels: RowLabels } | null {
    const column = pickLabels(
      this.file,
      this.schema.children.map((c) => c.element.name),
      options,
    );
    if (column === null) return null;
    const builder = new DatasetBuilder(this.file);
    let seen = 0;
    for (let g = 0; g < this.groups.length; g++) {
      for (const values of this.columnPages(g, column)) {
        if (seen + values.length > this.starts[g + 1]!) this.rowCountMismatch(g, column);
        for (let i = 0; i < values.length; i++) builder.label(values[i]);
        seen += values.length;
      }
      if (seen !== this.starts[g + 1]) this.rowCountMismatch(g, column);
    }
    return { column, labels: finalizeLabels(builder.takeChunk().labels) };
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.cache = [];
    this.stats.cachedGroups = this.stats.cachedBytes = 0;
  }

  // The row group holding row r (binary search over the first rows; empty groups are never chosen).
  private groupOf(r: number): number {
    let lo = 0;
    let hi = this.groups.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= r) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  // Row group g's vectors, decoded on a miss; the least recently used group goes when the cache is full.
  private groupData(g: number): Float32Array {
    const at = this.cache.findIndex((x) => x.g === g);
    if (at === 0) return this.cache[0]!.data;
    if (at > 0) {
      const [hit] = this.cache.splice(at, 1);
      this.cache.unshift(hit!);
      return hit!.data;
    }
    if (this.cache.length >= this.cachedGroups) this.cache.pop(); // first: the group being decoded counts too
    const data = this.decode(g);
    this.cache.unshift({ g, data });
    const s = this.stats;
    s.cachedGroups = this.cache.length;
    s.cachedBytes = this.cache.reduce((sum, x) => sum + x.data.byteLength, 0);
    s.peakCachedGroups = Math.max(s.peakCachedGroups, s.cachedGroups);
    s.peakCachedBytes = Math.max(s.peakCachedBytes, s.cachedBytes);
    return data;
  }

  // Row group g's embeddings column as float32 rows, with the in-memory reader's checks.
  private decode(g: number): Float32Array {
    const data = this.listLayout === null ? this.decodeValues(g) : this.decodeList(g, this.listLayout);
    this.stats.groupsDecoded++;
    return data;
  }

  // Any column readDataset reads (lists of any number type, JSON strings): each page's rows in
  // hyparquet's shape, through DatasetBuilder.
  private decodeValues(g: number): Float32Array {
    const start = this.starts[g]!;
    const end = this.starts[g + 1]!;
    const column = this.embeddingsColumn;
    const builder = new DatasetBuilder(this.file, {
      firstRow: start,
      limit: end,
      ...(this.dim > 0 ? { cols: this.dim } : {}),
    });
    builder.estimateRows = () => end; // exact: one allocation of the group's rows
    for (const values of this.columnPages(g, column)) {
      if (builder.rows + values.length > end) this.rowCountMismatch(g, column);
      for (let i = 0; i < values.length; i++) pushVector(builder, values[i], column);
    }
    if (builder.rows !== end) this.rowCountMismatch(g, column);
    this.dim = builder.cols;
    return builder.takeChunk().X.data;
  }

  /**
   * A list<float>/list<double> column (the usual layout, pyarrow's among them) without building
   * JS arrays: each page's repetition and definition levels and values, as hyparquet decodes them,
   * go straight into the rows. A row that is anything but `cols` present, finite values (null, an
   * empty list, a null element, ragged, NaN/±Inf, beyond float32), and the file's first row, which
   * sets the dimension, go through DatasetBuilder as hyparquet's value, so it accepts or rejects
   * them with readDataset's message.
   */
  private decodeList(g: number, layout: ListLayout): Float32Array {
    const start = this.starts[g]!;
    const end = this.starts[g + 1]!;
    const column = this.embeddingsColumn;
    const { reader, decoder } = this.columnChunk(g, column);
    let out = new Float32Array(this.dim > 0 ? (end - start) * this.dim : 0);
    let rowBuf = new Float64Array(Math.max(this.dim, 64));
    let row = start - 1; // the row being assembled
    let isNull = false;
    let count = 0;
    let firstNull = -1; // the first null element of the row
    const finish = () => {
      if (row < start) return;
      const dim = this.dim;
      if (!isNull && firstNull < 0 && count === dim && dim > 0) {
        const o = (row - start) * dim;
        let bad = 0; // v * 0 is 0 for a finite v, NaN for NaN/±Inf (beyond float32: Inf once stored)
        for (let j = 0; j < dim; j++) {
          out[o + j] = rowBuf[j]!;
          bad += out[o + j]! * 0;
        }
        if (bad === 0) return;
      }
      // The builder's way: the row as hyparquet gives it (null, or its values with nulls).
      const value = isNull ? null : Array.from(rowBuf.subarray(0, count), (v, j) => (j === firstNull ? null : v));
      const builder = new DatasetBuilder(this.file, {
        firstRow: row,
        limit: row + 1,
        ...(dim > 0 ? { cols: dim } : {}),
      });
      pushVector(builder, value, column);
      if (dim === 0) {
        this.dim = builder.cols;
        out = new Float32Array((end - start) * this.dim);
      }
      out.set(builder.takeChunk().X.data, (row - start) * this.dim);
    };
    const { repDef, maxDef } = layout;
    let dictionary: Decoded | undefined;
    try {
      while (reader.offset < reader.view.byteLength - 1) {
        const header = parquetHeader(reader);
        if (header.type === "DICTIONARY_PAGE") {
          const { data } = readPage(reader, header, decoder, dictionary, undefined, 0);
          if (data) dictionary = convert(data, decoder);
          continue;
        }
        const bytes = new Uint8Array(
          reader.view.buffer,
          reader.view.byteOffset + reader.offset,
          header.compressed_page_size,
        );
        reader.offset += header.compressed_page_size;
        let page: ReturnType<typeof readDataPage>;
        let encoding: string;
        if (header.type === "DATA_PAGE" && header.data_page_header) {
          page = readDataPage(
            decompressPage(bytes, Number(header.uncompressed_page_size), decoder.codec, decoder.compressors),
            header.data_page_header,
            decoder,
          );
          encoding = header.data_page_header.encoding;
        } else if (header.type === "DATA_PAGE_V2" && header.data_page_header_v2) {
          page = readDataPageV2(bytes, header, decoder);
          encoding = header.data_page_header_v2.encoding;
        } else {
          throw new Error(`parquet unsupported page type: ${header.type}`);
        }
        const values = convertWithDictionary(
          page.dataPage,
          dictionary,
          encoding as Parameters<typeof convertWithDictionary>[2],
          decoder,
        ) as ArrayLike<number>;
        const reps = page.repetitionLevels;
        const defs = page.definitionLevels?.length ? page.definitionLevels : null;
        let vi = 0;
        for (let i = 0; i < reps.length; i++) {
          const def = defs !== null ? defs[i]! : maxDef;
          if (reps[i] === 0) {
            finish();
            if (++row >= end) this.rowCountMismatch(g, column);
            isNull = def < repDef - 1;
            count = 0;
            firstNull = -1;
          } else if (row < start) {
            throw new Error("the column chunk starts in the middle of a list");
          }
          if (def < repDef) continue; // a null or empty list: no element
          if (count === rowBuf.length) {
            const grown = new Float64Array(2 * count);
            grown.set(rowBuf);
            rowBuf = grown;
          }
          if (def === maxDef) rowBuf[count++] = values[vi++]!;
          else {
            if (firstNull < 0) firstNull = count;
            rowBuf[count++] = 0;
          }
        }
      }
      finish();
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(this.file, `cannot decode rows ${start + 1}–${end} (${(e as Error).message})`);
    }
    if (row !== end - 1) this.rowCountMismatch(g, column);
    return out;
  }

  private rowCountMismatch(g: number, column: string): never {
    throw new InputError(
      this.file,
      `row group ${g + 1} holds ${this.rowGroupRows[g]} rows, but its column does not decode to as many values`,
      undefined,
      column,
    );
  }

  /**
   * A top-level column of row group g, decoded a page at a time: yields each page's complete rows
   * in their final shape (a list column: one array per row; null for a null row). hyparquet's
   * readColumn loop, minus holding every page: a list whose values run on into the next page (a
   * v1 data page may end mid-row) is carried into the next page's assembly.
   */
  private *columnPages(g: number, column: string): Generator<Decoded> {
    const start = this.starts[g]!;
    const end = this.starts[g + 1]!;
    const { reader, decoder, meta, top, schemaPath } = this.columnChunk(g, column);
    const flat = isFlatColumn(schemaPath);
    let dictionary: Decoded | undefined;
    let carry: unknown[] | undefined; // the last row so far, which may go on in the next page
    const complete = (rows: unknown[]): Decoded => {
      if (flat) return rows;
      const parts = new Map([[meta.path_in_schema.join("."), rows]]);
      assembleNested(parts, top, DEFAULT_PARSERS);
      return parts.get(column)!;
    };
    try {
      while (reader.offset < reader.view.byteLength - 1) {
        const header = parquetHeader(reader);
        if (header.type === "DICTIONARY_PAGE") {
          const { data } = readPage(reader, header, decoder, dictionary, undefined, 0);
          if (data) dictionary = convert(data, decoder);
          continue;
        }
        const { data } = readPage(reader, header, decoder, dictionary, flat ? undefined : carry, 0);
        if (!data || data.length === 0) continue;
        if (flat) {
          yield data;
          continue;
        }
        const rows = data as unknown[];
        if (rows.length > 1) yield complete(rows.slice(0, -1));
        carry = [rows.at(-1)];
      }
      if (carry) yield complete(carry);
    } catch (e) {
      if (e instanceof InputError) throw e;
      throw new InputError(this.file, `cannot decode rows ${start + 1}–${end} (${(e as Error).message})`);
    }
  }

  // The bytes of row group g's chunk of a top-level column, and how to decode them.
  private columnChunk(g: number, column: string) {
    const chunks = this.groups[g]!.columns.filter((c) => c.meta_data?.path_in_schema[0] === column);
    if (chunks.length !== 1)
      throw new InputError(
        this.file,
        `expected a list of numbers, got a column of ${chunks.length} fields`,
        undefined,
        column,
      );
    const chunk = chunks[0]!;
    const meta = chunk.meta_data!;
    if (chunk.file_path)
      throw new InputError(
        this.file,
        `the column chunk of rows ${this.starts[g]! + 1}–${this.starts[g + 1]} is in another file (${chunk.file_path}), which is not supported`,
        undefined,
        column,
      );
    const top = this.schema.children.find((c) => c.element.name === column)!;
    const schemaPath = getTreePath(this.schema, meta.path_in_schema);
    const decoder: ColumnDecoder = {
      ...meta,
      pathInSchema: meta.path_in_schema,
      element: schemaPath.at(-1)!.element,
      schemaPath,
      compressors,
      parsers: DEFAULT_PARSERS,
    };
    const bytes = this.read(
      Number(meta.dictionary_page_offset || meta.data_page_offset),
      Number(meta.total_compressed_size),
    );
    const reader = { view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), offset: 0 };
    return { reader, decoder, meta, top, schemaPath };
  }

  private read(position: number, length: number): Uint8Array {
    if (this.fd === null) throw new Error("the Parquet source is closed");
    const out = readBytes(this.file, this.fd, position, length);
    this.stats.bytesRead += length;
    return out;
  }
}

/**
 * The definition levels of a list of FLOAT/DOUBLE with one repeated level, in the shapes whose
 * rows hyparquet assembles as plain lists: a LIST group over a repeated group over the element (the
 * standard 3-level list), a LIST group over a repeated element (2-level), or a repeated element.
 * A row's first entry with a level below repDef − 1 is a null list, repDef − 1 an empty one; an
 * entry from repDef up to maxDef is a null element, maxDef a value. null: another shape.
 */
interface ListLayout {
  repDef: number;
  maxDef: number;
}

function listLayout(top: SchemaTree): ListLayout | null {
  const path: SchemaTree[] = [top];
  while (path.at(-1)!.children.length === 1) path.push(path.at(-1)!.children[0]!);
  const leaf = path.at(-1)!;
  if (
    leaf.children.length > 0 ||
    (leaf.element.type !== "FLOAT" && leaf.element.type !== "DOUBLE") ||
    leaf.element.logical_type ||
    leaf.element.converted_type
  )
    return null;
  const repeated = path.map((n) => n.element.repetition_type === "REPEATED");
  const shape =
    path.length === 1
      ? repeated[0]
      : (path.length === 2 || path.length === 3) && isListLike(top) && !repeated[0] && repeated[1] && !repeated[2];
  if (!shape) return null;
  let def = 0;
  let repDef = 0;
  for (const n of path) {
    if (n.element.repetition_type !== "REQUIRED") def++;
    if (n.element.repetition_type === "REPEATED") repDef = def;
  }
  return { repDef, maxDef: def };
}

// The file's metadata, from its footer: [metadata][4-byte length]["PAR1"].
function readFooter(file: string, fd: number): FileMetaData {
  const size = fstatSync(fd).size;
  if (size === 0) throw new InputError(file, "the file is empty");
  try {
    const tail = readBytes(file, fd, Math.max(0, size - 8), Math.min(8, size));
    let footer = tail;
    if (size >= 8) {
      const length = new DataView(tail.buffer, tail.byteOffset, 8).getUint32(0, true);
      if (length + 8 <= size) footer = readBytes(file, fd, size - 8 - length, length + 8);
    }
    return parquetMetadata(footer);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(file, `not a readable Parquet file (${(e as Error).message})`);
  }
}

function readBytes(file: string, fd: number, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let done = 0; done < length;) {
    const n = readSync(fd, out, done, Math.min(length - done, 1 << 30), position + done);
    if (n === 0) throw new InputError(file, `the file ends before byte ${position + length} (truncated?)`);
    done += n;
  }
  return out;
}
