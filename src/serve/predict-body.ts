// The body of POST /v1/predict, {"embeddings": [[...], ...], "proba"?: true, "minConfidence"?: F,
// "outlierRate"?: R}, read as it arrives.
//
// The rows go straight into a Float32Array, each checked as it comes: a request holds 4 bytes per
// number instead of its JSON text and a JS array of it, a request with too many rows is refused at
// row maxRows + 1 instead of after its whole body, and the work per chunk is bounded (the server
// serves other requests between chunks).
//
// JSON.parse still does all the parsing. A small scanner only follows strings and nesting, to cut
// the 'embeddings' array after the last row completed in each chunk and parse each piece as an
// array of rows; the rest of the body (every field but the rows) is kept as a skeleton, with
// "embeddings": [] in place of the rows, and parsed at the end. The body is valid JSON exactly when
// the skeleton and every piece are: the first piece a list of rows, every later one a ',' and a
// list of rows, none empty (",,", or a trailing ",") unless the rows end there.

import type { Matrix } from "../engine/matrix.js";
import { maxRowBytes } from "./defaults.js";
import { RequestError } from "./request-error.js";

export const BODY_SHAPE = `{"embeddings": [[...], ...], "proba"?: true, "minConfidence"?: F, "outlierRate"?: R}`;

/**
 * Values per block of rows (1 MiB of float32). The rows are kept in blocks rather than one array
 * grown by doubling: memory follows the rows received, and no copy of a large array blocks the event
 * loop while a body arrives (only one, into a single array, at its end, when it spans blocks).
 */
const BLOCK_VALUES = 1 << 18;

/** Most bytes of the body outside 'embeddings' ('proba' and its value take a few). */
const SKELETON_LIMIT = 64 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

export interface PredictBody {
  /** The body with "embeddings": [] in place of its rows (for the schema). */
  fields: unknown;
  /** The rows of 'embeddings', or null when it is not an array. */
  rows: Matrix | null;
}

/** Reads one body: `write` each chunk as it arrives, then `end`. Both throw a RequestError for a bad body. */
export class PredictBodyReader {
  /** Body bytes before the current chunk. */
  private offset = 0;
  private started = false;
  private depth = 0;
  private inString = false;
  private escaped = false;

  // From the pool of small buffers: only the bytes written are read.
  private skeleton = Buffer.allocUnsafe(256);
  private skeletonLength = 0;
  /** Skeleton offsets of the last string at depth 1, and whether it is the last token (a key if ':' follows). */
  private stringStart = 0;
  private stringEnd = 0;
  private lastWasString = false;
  /** The field whose value is being read. */
  private field: string | null = null;
  private rowsComeNext = false;

  /** Inside the 'embeddings' array. */
  private inRows = false;
  /** The 'embeddings' array: its skeleton offset (of "[]"), and its first and past-the-end body offsets. */
  private rowsAt = -1;
  private rowsStart = 0;
  private rowsEnd = 0;
  /** In the current chunk: where the bytes of 'embeddings' not yet parsed start, and the end of the last row completed. */
  private from = 0;
  private lastClose = -1;
  /** Bytes of 'embeddings' after the last piece, from earlier chunks, and the body offset of the first. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingStart = 0;
  private pieces = 0;
  private readonly maxElementBytes: number;

  /** Full blocks of rows, then the block being filled (grown by doubling up to blockRows rows). */
  private readonly blocks: Float32Array[] = [];
  private block = new Float32Array(0);
  private blockFill = 0;
  private readonly blockRows: number;
  private rows = 0;

  constructor(
    private readonly d: number,
    private readonly maxRows: number,
  ) {
    this.maxElementBytes = maxRowBytes(d);
    this.blockRows = Math.max(1, Math.floor(BLOCK_VALUES / d));
  }

  write(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) i = this.inRows ? this.scanRows(chunk, i) : this.scanSkeleton(chunk, i);
    if (this.inRows) {
      // Parse up to the last row completed in this chunk; keep the rest for the next.
      if (this.lastClose >= 0) this.parsePiece(chunk, this.from, this.lastClose + 1, false);
      if (this.from < chunk.length) {
        this.pending.push(chunk.subarray(this.from));
        this.pendingBytes += chunk.length - this.from;
        if (this.pendingBytes > this.maxElementBytes) {
          throw new RequestError(
            400,
            `embeddings[${this.rows}] (from byte ${this.pendingStart}) takes over ${this.maxElementBytes} bytes of JSON, more than a row of ${this.d} numbers`,
          );
        }
      }
      this.from = 0;
    }
    this.offset += chunk.length;
  }

  /**
   * Scans the rows from chunk[i] to the chunk's end or the end of 'embeddings' (then returns the
   * position after it). Only quotes, brackets and braces matter here, and they are few (two per
   * row), so the scan jumps from one to the next with indexOf rather than reading every byte.
   */
  private scanRows(chunk: Buffer, i: number): number {
    const n = chunk.length;
    const find = (c: number, at: number) => {
      const j = chunk.indexOf(c, at);
      return j < 0 ? n : j;
    };
    let quote = -1;
    let open = -1;
    let close = -1;
    let openBrace = -1;
    let closeBrace = -1;
    while (i < n) {
      if (this.inString) {
        i = this.skipString(chunk, i);
        continue;
      }
      if (quote < i) quote = find(QUOTE, i);
      if (open < i) open = find(OPEN_BRACKET, i);
      if (close < i) close = find(CLOSE_BRACKET, i);
      if (openBrace < i) openBrace = find(OPEN_BRACE, i);
      if (closeBrace < i) closeBrace = find(CLOSE_BRACE, i);
      const j = Math.min(quote, open, close, openBrace, closeBrace);
      if (j === n) return n;
      const c = chunk[j]!;
      i = j + 1;
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_BRACKET || c === OPEN_BRACE) this.depth++;
      else if (this.depth > 3) this.depth--;
      else if (this.depth === 3) {
        // A row (an element of 'embeddings') ends here.
        this.depth = 2;
        this.lastClose = j;
      } else if (c === CLOSE_BRACE) throw malformed(`'}' at position ${this.offset + j} closes 'embeddings', an array`);
      else {
        if (this.lastClose >= 0) this.parsePiece(chunk, this.from, this.lastClose + 1, false);
        this.parsePiece(chunk, this.from, j, true);
        this.inRows = false;
        this.depth = 1;
        this.rowsEnd = this.offset + j + 1;
        return i;
      }
    }
    return n;
  }

  /** Skips a string of the rows from chunk[i]: returns the position after its closing quote, or the chunk's end. */
  private skipString(chunk: Buffer, i: number): number {
    for (; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.escaped) this.escaped = false;
      else if (c === BACKSLASH) this.escaped = true;
      else if (c === QUOTE) {
        this.inString = false;
        return i + 1;
      }
    }
    return i;
  }

  /** Scans the skeleton from chunk[i], byte by byte, to the chunk's end or the start of the rows (then returns the position after '['). */
  private scanSkeleton(chunk: Buffer, i: number): number {
    for (; i < chunk.length; i++) {
      const c = chunk[i]!;
      this.keep(c);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.depth === 1) {
            this.stringEnd = this.skeletonLength;
            this.lastWasString = true;
          }
        }
        continue;
      }
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
      if (!this.started) {
        this.started = true;
        if (c !== OPEN_BRACE) throw notAnObject(c, this.offset + i);
      }
      const wasString = this.lastWasString;
      this.lastWasString = false;
      if (this.rowsComeNext) {
        this.rowsComeNext = false;
        if (c === OPEN_BRACKET) {
          // The rows: "[]" in the skeleton, the rows themselves parsed piece by piece.
          this.keep(CLOSE_BRACKET);
          this.rowsAt = this.skeletonLength - 2;
          this.rowsStart = this.offset + i;
          this.inRows = true;
          this.depth = 2;
          this.from = i + 1;
          this.lastClose = -1;
          this.pendingStart = this.offset + i + 1;
          return i + 1;
        }
      }
      if (c === QUOTE) {
        this.inString = true;
        if (this.depth === 1) this.stringStart = this.skeletonLength - 1;
      } else if (c === OPEN_BRACKET || c === OPEN_BRACE) this.depth++;
      else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) this.depth--;
      else if (c === COLON && this.depth === 1 && wasString) {
        this.field = this.key();
        if (this.field === "embeddings") {
          if (this.rowsAt >= 0) throw new RequestError(400, `field 'embeddings' given twice: send ${BODY_SHAPE}`);
          this.rowsComeNext = true;
        }
      }
    }
    return i;
  }

  end(): PredictBody {
    if (!this.started) throw new RequestError(400, `empty body: send ${BODY_SHAPE}`);
    if (this.inRows) throw malformed(`the body ends inside 'embeddings' (after ${this.rows} rows)`);
    let fields: unknown;
    try {
      fields = JSON.parse(this.skeleton.toString("utf8", 0, this.skeletonLength));
    } catch (e) {
      // Positions in the skeleton → in the body: after "[]" they are further by the rows' length.
      const shift = this.rowsEnd - this.rowsStart - 2;
      throw malformed(
        atPosition((e as Error).message, (p) => (this.rowsAt >= 0 && p > this.rowsAt + 1 ? p + shift : p)),
      );
    }
    return { fields, rows: this.rowsAt >= 0 ? { data: this.values(), rows: this.rows, cols: this.d } : null };
  }

  /** The rows' values in one array. */
  private values(): Float32Array {
    const last = this.block.subarray(0, this.blockFill * this.d);
    if (this.blocks.length === 0) return last;
    const out = new Float32Array(this.rows * this.d);
    let at = 0;
    for (const b of [...this.blocks, last]) {
      out.set(b, at);
      at += b.length;
    }
    return out;
  }

  /** Appends a byte of the skeleton. */
  private keep(c: number): void {
    if (this.skeletonLength === this.skeleton.length) {
      if (this.skeletonLength >= SKELETON_LIMIT) {
        const f = this.field;
        if (f !== null && !["embeddings", "proba", "minConfidence", "outlierRate"].includes(f))
          throw new RequestError(400, `unknown field '${f}': send ${BODY_SHAPE}`);
        throw new RequestError(
          400,
          `the body besides 'embeddings' takes over ${SKELETON_LIMIT} bytes: send ${BODY_SHAPE}`,
        );
      }
      const grown = Buffer.allocUnsafe(Math.min(2 * this.skeleton.length, SKELETON_LIMIT));
      this.skeleton.copy(grown);
      this.skeleton = grown;
    }
    this.skeleton[this.skeletonLength++] = c;
  }

  /** The last string of depth 1, decoded; null if it is not a valid JSON string (the skeleton's parse will say so). */
  private key(): string | null {
    try {
      return JSON.parse(this.skeleton.toString("utf8", this.stringStart, this.stringEnd)) as string;
    } catch {
      return null;
    }
  }

  /** Parses bytes of 'embeddings' (the pending ones, then chunk[from, to)) as rows, and starts a new piece after `to`. */
  /**
   * Parses bytes of 'embeddings' (the pending ones, then chunk[from, to)) as rows; the next piece
   * starts at `to`. A piece after the first starts with the ',' after the previous piece's last row.
   */
  private parsePiece(chunk: Buffer, from: number, to: number, last: boolean): void {
    const bytes =
      this.pending.length > 0 ? Buffer.concat([...this.pending, chunk.subarray(from, to)]) : chunk.subarray(from, to);
    let start = this.pendingStart;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingStart = this.offset + to;
    this.from = to;
    this.lastClose = -1;
    let text = bytes.toString("utf8");
    if (this.pieces > 0) {
      const rest = text.trimStart();
      if (rest === "" && last) return;
      start += text.length - rest.length;
      if (rest[0] !== ",")
        throw malformed(`expected ',' or ']' after embeddings[${this.rows - 1}] at position ${start}`);
      text = rest.slice(1);
      start++;
    }
    let items: unknown[];
    try {
      items = JSON.parse(`[${text}]`) as unknown[];
    } catch (e) {
      throw malformed(atPosition((e as Error).message, (p) => start + p - 1));
    }
    if (items.length === 0 && (!last || this.pieces > 0)) {
      throw malformed(`a missing row in 'embeddings' (',,' or a ',' before ']') at position ${start}`);
    }
    this.pieces++;
    for (const row of items) this.add(row);
  }

  private add(row: unknown): void {
    if (this.rows === this.maxRows) {
      throw new RequestError(
        413,
        `too many rows: more than ${this.maxRows}, the limit per request (split the request, or raise --max-rows)`,
      );
    }
    const d = this.d;
    if ((this.blockFill + 1) * d > this.block.length) {
      if (this.blockFill === this.blockRows) {
        this.blocks.push(this.block);
        this.block = new Float32Array(0);
        this.blockFill = 0;
      }
      const grown = new Float32Array(
        Math.min(this.blockRows, this.maxRows - this.rows + this.blockFill, Math.max(1, 2 * this.blockFill)) * d,
      );
      grown.set(this.block.subarray(0, this.blockFill * d));
      this.block = grown;
    }
    copyRow(row, this.rows, d, this.block, this.blockFill * d);
    this.blockFill++;
    this.rows++;
  }
}

/**
 * The rows of a request as one float32 matrix, every value checked: an array of `d` finite
 * numbers per row, at least one row and at most `maxRows`.
 */
export function toMatrix(rows: unknown[], d: number, maxRows: number): Matrix {
  const n = rows.length;
  if (n === 0) throw new RequestError(400, "'embeddings' is empty: give at least one row");
  if (n > maxRows)
    throw new RequestError(
      413,
      `too many rows: ${n}, the limit is ${maxRows} per request (split the request, or raise --max-rows)`,
    );
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) copyRow(rows[i], i, d, data, i * d);
  return { data, rows: n, cols: d };
}

/** Copies row `i` of a request into out[at, at + d), checking that it is an array of `d` numbers finite in float32. */
function copyRow(row: unknown, i: number, d: number, out: Float32Array, at: number): void {
  if (!Array.isArray(row))
    throw new RequestError(400, `embeddings[${i}] is ${describe(row)}, not an array of ${d} numbers`);
  if (row.length !== d) throw new RequestError(400, `embeddings[${i}] has dimension ${row.length}, expected ${d}`);
  for (let j = 0; j < d; j++) {
    const v: unknown = row[j];
    if (typeof v !== "number") {
      const hint =
        typeof v === "string" && /^[+-]?(nan|inf(inity)?)$/i.test(v.trim())
          ? ": NaN and infinities are not allowed"
          : "";
      throw new RequestError(400, `embeddings[${i}][${j}] is ${describe(v)}, not a number${hint}`);
    }
    out[at + j] = v;
    if (!Number.isFinite(out[at + j]!))
      throw new RequestError(400, `embeddings[${i}][${j}] = ${v} is not finite in float32 (|x| must be below 3.4e38)`);
  }
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (typeof v === "object") return "an object";
  if (v === undefined) return "missing";
  return `${typeof v} ${String(v)}`;
}

function malformed(message: string): RequestError {
  return new RequestError(400, `malformed JSON: ${message}`);
}

/** JSON.parse's message with its position moved to where it is in the body. */
function atPosition(message: string, toBody: (p: number) => number): string {
  return message
    .replace(/position (\d+)/, (_, p: string) => `position ${toBody(Number(p))}`)
    .replace(/ \(line \d+ column \d+\)/, "");
}

/** The error for a body whose first byte `c` is not '{'. */
function notAnObject(c: number, position: number): RequestError {
  // The first byte of another JSON value: a valid body, but not an object.
  if (
    c === OPEN_BRACKET ||
    c === QUOTE ||
    c === 0x2d ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x74 ||
    c === 0x66 ||
    c === 0x6e
  ) {
    return new RequestError(400, `the body must be a JSON object: ${BODY_SHAPE}`);
  }
  return malformed(
    `unexpected ${JSON.stringify(String.fromCharCode(c))} at position ${position}, expected ${BODY_SHAPE}`,
  );
}
