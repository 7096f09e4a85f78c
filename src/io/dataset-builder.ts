// Accumulates a dataset row by row, as every streaming reader (CSV, JSONL, Parquet) produces it:
// vectors go straight into a growing Float32Array (no arrays of arrays), labels and pass-through
// columns into string columns. It owns the checks that every format shares, so a ragged row or a
// NaN reads the same whatever the file type. The rows are handed out in chunks of at most
// `chunkRows` (takeChunk); with the default (no limit) the whole file is one chunk.
//
// Rows in errors are data rows counted from 1 over the whole file (a CSV header is not counted; a
// JSONL blank line is not a row): row N is the file's matrix row N − 1, the row pandas shows at
// index N − 1, whichever chunk holds it.

import type { Matrix } from "../engine/index.js";
import type { RowLabels } from "./dataset.js";
import { InputError } from "./errors.js";
import { checkDimensions, MAX_ARRAY_VALUES } from "./limits.js";

/** A growth without a row estimate takes 1024 rows, fewer when those would be more than this (rows over 16,384 values). */
const BLIND_ALLOCATION_BYTES = 64 << 20;

export interface BuilderOptions {
  limit?: number;
  expectedDim?: number;
  /** Most rows per chunk (default: unbounded, one chunk). */
  chunkRows?: number;
  /**
   * The file's row the first pushed row is (default 0), for a reader that starts mid-file (a Parquet
   * row group read on its own): rows, `limit` and `estimateRows` count from the file's start.
   */
  firstRow?: number;
  /** The dimension, when earlier rows of the file established it: a row with another is ragged. */
  cols?: number;
  /**
   * Chunks take turns between two buffers instead of a new one each (as readDatasetChunks's
   * reuseBuffers): a chunk's X is overwritten once the chunk after the next is built. A CSV of
   * 768-d vectors otherwise leaves 32 MiB of garbage per chunk, and the process's peak memory then
   * depends on when the collector runs.
   */
  reuseBuffers?: boolean;
}

/** Rows [firstRow, firstRow + X.rows) of a file, as the builder collected them. */
export interface BuiltChunk {
  firstRow: number;
  X: Matrix;
  /** The labels as written in the file (see finalizeLabels). */
  labels: string[];
  passthrough: Record<string, string[]>;
}

export class DatasetBuilder {
  /** Rows pushed so far, over the whole file. */
  rows: number;
  cols: number;
  /** The first row held (rows before it were handed out by takeChunk). */
  private start: number;
  private data = new Float32Array(0);
  private capacityRows = 0;
  /** reuseBuffers: the buffer of the chunk handed out last, and the one free for the next chunk. */
  private handedOut: ArrayBuffer | null = null;
  private spare: ArrayBuffer | null = null;
  /**
   * How many rows the file probably holds (at most `limit` is used), asked each time the matrix
   * must grow: exact for Parquet, an extrapolation from the bytes read so far for text formats.
   * A good answer means one allocation instead of a series of doublings.
   */
  estimateRows: () => number = () => 0;
  private labelValues: string[] = [];
  private readonly columns = new Map<string, string[]>();
  readonly limit: number;
  readonly chunkRows: number;

  constructor(
    readonly file: string,
    private readonly options: BuilderOptions = {},
  ) {
    this.limit = options.limit ?? Infinity;
    if (!(this.limit >= 1)) throw new RangeError(`limit must be ≥ 1, got ${options.limit}`);
    this.chunkRows = options.chunkRows ?? Infinity;
    if (!(this.chunkRows >= 1)) throw new RangeError(`chunkRows must be ≥ 1, got ${options.chunkRows}`);
    this.rows = this.start = options.firstRow ?? 0;
    this.cols = options.cols ?? 0;
  }

  get full(): boolean {
    return this.rows >= this.limit;
  }

  /** Rows held and not yet handed out. */
  get pending(): number {
    return this.rows - this.start;
  }

  /** A whole chunk is held: take it before pushing more. */
  get chunkReady(): boolean {
    return this.rows - this.start >= this.chunkRows;
  }

  /** Makes room for the next row of `n` values and returns its offset; checks the dimension. */
  private reserve(n: number, column: string | undefined): number {
    const row = this.rows + 1;
    if (this.cols === 0) {
      if (n === 0) throw new InputError(this.file, "empty vector", row, column);
      const expected = this.options.expectedDim;
      if (expected !== undefined && n !== expected)
        throw new InputError(this.file, `${n} dimensions, but the model expects ${expected}`, row, column);
      checkDimensions(this.file, n, row, column);
      this.cols = n;
    } else if (n !== this.cols) {
      throw new InputError(this.file, `expected ${this.cols} values, got ${n}`, row, column);
    }
    const held = this.rows - this.start;
    if (held === this.capacityRows) {
      const cap = this.capacityRows;
      const guess = Math.ceil(this.estimateRows()) - this.start;
      // Grow by at least a quarter even when the guess is barely above: no quadratic copying.
      const blind = Math.max(1, Math.min(1024, Math.floor(BLIND_ALLOCATION_BYTES / (4 * this.cols))));
      const wanted = Math.min(
        guess > cap ? Math.max(guess, Math.ceil(cap * 1.25)) : Math.max(blind, cap * 2),
        this.limit - this.start,
        this.chunkRows,
      );
      const next = Math.min(wanted, Math.floor(MAX_ARRAY_VALUES / this.cols));
      if (next <= held)
        throw new InputError(
          this.file,
          `more than ${held} rows of ${this.cols} values do not fit in one array (at most ${MAX_ARRAY_VALUES} values); read it in chunks, or convert it to .npy`,
          row,
          column,
        );
      const values = next * this.cols;
      const grown =
        this.spare && this.spare.byteLength >= values * 4
          ? new Float32Array(this.spare, 0, values)
          : new Float32Array(values);
      if (grown.buffer === this.spare) this.spare = null;
      grown.set(this.data);
      this.data = grown;
      this.capacityRows = next;
    }
    return held * this.cols;
  }

  /** A row given as already-decoded values (a JSON array, a Parquet list). */
  pushValues(values: ArrayLike<unknown>, column: string): void {
    const off = this.reserve(values.length, column);
    const d = this.data;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v === "number") d[off + i] = v;
      else if (typeof v === "bigint") d[off + i] = Number(v);
      else
        throw new InputError(this.file, `non-numeric value ${describe(v)} (dimension ${i + 1})`, this.rows + 1, column);
    }
    this.checkFinite(off, column, values);
    this.rows++;
  }

  /** A row given as a JSON array string, e.g. "[0.013, -0.2, ...]" (the reference implementation CSV format). */
  pushJsonText(text: string, column: string): void {
    let values: unknown;
    try {
      values = JSON.parse(text);
    } catch (e) {
      throw new InputError(this.file, diagnoseJsonArray(text, (e as Error).message), this.rows + 1, column);
    }
    if (!Array.isArray(values))
      throw new InputError(
        this.file,
        `expected a JSON array of numbers like [0.1, -0.2], got ${raw(text)}`,
        this.rows + 1,
        column,
      );
    this.pushValues(values, column);
  }

  /** A row spread over numeric text fields (a "wide" CSV): one dimension per column. */
  pushFields(record: readonly string[], indices: readonly number[], names: readonly string[]): void {
    const off = this.reserve(indices.length, undefined);
    const d = this.data;
    for (let i = 0; i < indices.length; i++) {
      const s = record[indices[i]!]!;
      const v = Number(s);
      // Number("") and Number("  ") are 0: an empty cell is a missing value, not zero.
      if (Number.isNaN(v) || s.trim() === "") {
        const problem =
          s.trim() === ""
            ? "empty value"
            : isNanToken(s)
              ? `value ${s.trim()} is not finite`
              : `non-numeric value ${describe(s)}`;
        throw new InputError(this.file, problem, this.rows + 1, names[i]);
      }
      d[off + i] = v;
    }
    this.checkFinite(off, names, record, indices);
    this.rows++;
  }

  // NaN/±Inf, including finite float64 values beyond float32's range (1e39 becomes Infinity).
  private checkFinite(
    off: number,
    column: string | readonly string[],
    source: ArrayLike<unknown>,
    indices?: readonly number[],
  ): void {
    const d = this.data;
    for (let i = 0; i < this.cols; i++) {
      const v = d[off + i]!;
      if (v - v === 0) continue;
      const original = String(indices ? source[indices[i]!] : source[i]);
      const what = Number.isFinite(Number(original))
        ? `value ${original.trim()} overflows float32`
        : `value ${original.trim()} is not finite`;
      if (typeof column === "string")
        throw new InputError(this.file, `${what} (dimension ${i + 1})`, this.rows + 1, column);
      throw new InputError(this.file, what, this.rows + 1, column[i]);
    }
  }

  /**
   * The label of the row being added, as written (call before pushing its vector); a null or absent
   * one reads "". A missing label (see MISSING_LABELS) is kept as written: finalizeLabels marks it.
   */
  label(value: unknown): void {
    this.labelValues.push(cellText(value));
  }

  /** A pass-through value; rows that lack the column read "" (JSONL keys may come and go). */
  passthrough(column: string, value: unknown): void {
    const held = this.rows - this.start;
    let col = this.columns.get(column);
    if (col === undefined) {
      col = [];
      this.columns.set(column, col);
    }
    while (col.length < held) col.push("");
    col[held] = cellText(value);
  }

  /**
   * Hands out the rows held (vectors, labels as written, pass-through columns) and starts the next
   * chunk. A pass-through column seen once stays in every later chunk ("" where rows lack it).
   */
  takeChunk(): BuiltChunk {
    const n = this.rows - this.start;
    const size = n * this.cols;
    // A close estimate leaves a few percent of slack: keep it (a view) rather than hold the data
    // twice while copying; a poor one would waste memory for the chunk's lifetime, so copy.
    const reuse = this.options.reuseBuffers === true;
    const data =
      reuse || this.data.length - size <= this.data.length / 16
        ? this.data.subarray(0, size)
        : this.data.slice(0, size);
    if (reuse) {
      // The chunk before this one is done with: its buffer serves the chunk after this one.
      this.spare = this.handedOut;
      this.handedOut = data.buffer as ArrayBuffer;
    }
    const passthrough: Record<string, string[]> = {};
    for (const [name, col] of this.columns) {
      while (col.length < n) col.push("");
      col.length = n;
      // defineProperty: a column called "__proto__" stays a column.
      Object.defineProperty(passthrough, name, { value: col, enumerable: true, writable: true, configurable: true });
      this.columns.set(name, []);
    }
    const chunk: BuiltChunk = {
      firstRow: this.start,
      X: { data, rows: n, cols: this.cols },
      labels: this.labelValues,
      passthrough,
    };
    this.start = this.rows;
    this.data = new Float32Array(0);
    this.capacityRows = 0;
    this.labelValues = [];
    return chunk;
  }
}

/**
 * The label texts that mean "no label", after trimming: pandas' default `na_values` (read_csv, as
 * of pandas 2.0), so a labels column pandas reads as NaN is missing here too. A null (JSON, Parquet)
 * or absent value reads "" and so is missing as well; so is a float NaN label ("NaN").
 */
export const MISSING_LABELS: ReadonlySet<string> = new Set([
  "",
  "#N/A",
  "#N/A N/A",
  "#NA",
  "-1.#IND",
  "-1.#QNAN",
  "-NaN",
  "-nan",
  "1.#IND",
  "1.#QNAN",
  "<NA>",
  "N/A",
  "NA",
  "NULL",
  "NaN",
  "None",
  "n/a",
  "nan",
  "null",
]);

/** Whether a label as written (see DatasetBuilder.label) is missing: one of MISSING_LABELS once trimmed. */
export function isMissingLabel(text: string): boolean {
  return MISSING_LABELS.has(text.trim());
}

/**
 * Labels as written → labels: a missing one (isMissingLabel) becomes null; integers stay numbers
 * when every other label is one, otherwise all labels are strings ("007" ≠ "7").
 */
export function finalizeLabels(values: readonly string[]): RowLabels {
  const present = values.map((s) => (isMissingLabel(s) ? null : s));
  for (const s of present) {
    if (s !== null && !/^-?\d{1,15}$/.test(s)) return present;
  }
  return present.map((s) => (s === null ? null : Number(s)));
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (v instanceof Date) return v.toISOString();
  return typeof v === "object" ? JSON.stringify(v, bigintToNumber) : String(v);
}

function bigintToNumber(_key: string, v: unknown): unknown {
  return typeof v === "bigint" ? Number(v) : v;
}

function isNanToken(s: string): boolean {
  return /^\s*[-+]?(nan|inf|infinity)\s*$/i.test(s);
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === null) return "null";
  return clip(JSON.stringify(v) ?? String(v));
}

/** A value as the user typed it, shortened. */
function raw(s: string): string {
  return `'${s.length > 40 ? `${s.slice(0, 40)}…` : s}'`;
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

/**
 * Why a text is not a JSON array of numbers, in the user's terms. Runs only after JSON.parse
 * failed, so it can afford to scan: it names NaN/Infinity (Python's json.dumps writes them),
 * numpy's space-separated str() output, and a missing bracket, before falling back to the
 * parser's own message.
 */
export function diagnoseJsonArray(text: string, parserMessage: string): string {
  const t = text.trim();
  if (t === "") return "empty value (expected a JSON array of numbers)";
  if (!t.startsWith("[")) return `expected a JSON array of numbers like [0.1, -0.2], got ${raw(t)}`;
  if (!t.endsWith("]")) return `unterminated JSON array (no closing ']'; is the field cut short?)`;
  const parts = t.slice(1, -1).split(",");
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!.trim();
    if (isNanToken(p)) return `value ${p} is not finite (dimension ${i + 1})`;
    if (/^[-+]?(\d|\.\d)/.test(p) && /\s/.test(p))
      return `values must be separated by commas, got ${describe(p)} (numpy's str() output?)`;
    if (p !== "" && Number.isNaN(Number(p))) return `non-numeric value ${describe(p)} (dimension ${i + 1})`;
  }
  return `unparsable JSON array (${parserMessage})`;
}
