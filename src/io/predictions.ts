// Prediction files: pass-through columns (id, text, ...), then `cluster`, `confidence` (max q),
// then optionally the whole distribution q: columns p0..p{k-1} in CSV, one `probabilities` array
// in JSONL. The format follows the extension (.csv, .jsonl/.ndjson).
//
// A file is written under a temporary name in the same directory and renamed when complete
// (rename within a directory is atomic), so an interrupted or failed run never leaves a
// half-written file at the path the user asked for. The temporary file is removed on failure,
// on abort(), and at process exit (process.exit(), e.g. from the CLI's SIGINT handler).

import { rmSync } from "node:fs";
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { stringify } from "csv-stringify/sync";
import type { Matrix } from "../engine/index.js";
import { InputError } from "./errors.js";

export interface Predictions {
  labels: Int32Array;
  /** max_j q_ij per row. */
  confidence: Float32Array;
  /** The soft assignment q (rows × k), written when given. */
  probabilities?: Matrix;
  /** Columns copied from the input, one string per row, written first in this order. */
  passthrough?: Record<string, string[]>;
}

export interface PredictionHeader {
  /** Names of the pass-through columns every chunk will carry, in output order. */
  passthrough?: readonly string[];
  /** k, when every chunk carries probabilities; omit to write none. */
  probabilities?: number;
}

export interface PredictionWriter {
  readonly file: string;
  /** Rows written so far. */
  readonly rows: number;
  /** Appends rows; chunks may be any size (they are written in slices of a few thousand rows). */
  write(chunk: Predictions): Promise<void>;
  /** Flushes to disk and renames the temporary file to `file`. */
  commit(): Promise<void>;
  /** Removes the temporary file; `file` is left as it was. Safe to call after a failure or twice. */
  abort(): Promise<void>;
}

type Format = "csv" | "jsonl";

const SLICE_ROWS = 4096;

export async function writePredictions(file: string, predictions: Predictions): Promise<void> {
  const header: PredictionHeader = { passthrough: Object.keys(predictions.passthrough ?? {}) };
  if (predictions.probabilities) header.probabilities = predictions.probabilities.cols;
  const writer = await createPredictionWriter(file, header);
  try {
    await writer.write(predictions);
    await writer.commit();
  } catch (e) {
    await writer.abort();
    throw e;
  }
}

export async function createPredictionWriter(file: string, header: PredictionHeader): Promise<PredictionWriter> {
  const format = formatOf(file);
  const passthrough = [...(header.passthrough ?? [])];
  const k = header.probabilities ?? 0;
  const probabilityNames = Array.from({ length: k }, (_, j) => `p${j}`);
  const outputNames = [
    "cluster",
    "confidence",
    ...(format === "csv" ? probabilityNames : k > 0 ? ["probabilities"] : []),
  ];
  for (const name of passthrough) {
    if (outputNames.includes(name))
      throw new InputError(
        file,
        "a pass-through column of the input has the name of an output column; rename it in the input",
        undefined,
        name,
      );
  }
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${++tmpCounter}`);
  let fh: FileHandle;
  try {
    fh = await open(tmp, "wx");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(
      file,
      code === "ENOENT" ? "cannot write: the directory does not exist" : `cannot write (${code ?? String(e)})`,
    );
  }
  pending.add(tmp);
  registerExitCleanup();

  let rows = 0;
  let state: "open" | "committed" | "aborted" | "failed" = "open";
  const handle = fh;
  const emit = async (text: string) => {
    const buf = Buffer.from(text, "utf8");
    for (let off = 0; off < buf.length;) off += (await handle.write(buf, off, buf.length - off)).bytesWritten;
  };
  const guard = async <T>(f: () => Promise<T>): Promise<T> => {
    if (state !== "open") throw new Error(`prediction writer for ${file} is ${state}`);
    try {
      return await f();
    } catch (e) {
      state = "failed";
      throw e;
    }
  };
  const abort = async () => {
    if (state === "committed" || state === "aborted") return;
    state = "aborted";
    await handle.close().catch(() => {});
    await rm(tmp, { force: true });
    pending.delete(tmp);
  };

  const writer: PredictionWriter = {
    file,
    get rows() {
      return rows;
    },
    write: (chunk) =>
      guard(async () => {
        checkChunk(chunk, passthrough, k);
        for (let from = 0; from < chunk.labels.length; from += SLICE_ROWS) {
          const to = Math.min(chunk.labels.length, from + SLICE_ROWS);
          await emit(
            format === "csv" ? csvRows(chunk, passthrough, k, from, to) : jsonlRows(chunk, passthrough, k, from, to),
          );
        }
        rows += chunk.labels.length;
      }),
    commit: () =>
      guard(async () => {
        await handle.sync();
        await handle.close();
        await rename(tmp, file);
        pending.delete(tmp);
        state = "committed";
      }).catch(async (e: unknown) => {
        await abort();
        throw e;
      }),
    abort,
  };
  if (format === "csv") {
    try {
      await emit(stringify([[...passthrough, ...outputNames]]));
    } catch (e) {
      await abort();
      throw e;
    }
  }
  return writer;
}

function formatOf(file: string): Format {
  const ext = extname(file).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".jsonl" || ext === ".ndjson") return "jsonl";
  throw new InputError(file, `cannot write predictions as '${ext || "(no extension)"}'; use .csv or .jsonl`);
}

function checkChunk(c: Predictions, passthrough: string[], k: number): void {
  const n = c.labels.length;
  if (c.confidence.length !== n)
    throw new RangeError(`predictions: ${n} labels but ${c.confidence.length} confidences`);
  if (k > 0) {
    if (!c.probabilities)
      throw new RangeError(`predictions: the header promises ${k} probabilities per row; the chunk has none`);
    if (c.probabilities.rows !== n || c.probabilities.cols !== k)
      throw new RangeError(
        `predictions: probabilities are ${c.probabilities.rows}×${c.probabilities.cols}, expected ${n}×${k}`,
      );
  }
  for (const name of passthrough) {
    const col = c.passthrough?.[name];
    if (!col) throw new RangeError(`predictions: the chunk lacks pass-through column '${name}'`);
    if (col.length !== n)
      throw new RangeError(`predictions: pass-through column '${name}' has ${col.length} values for ${n} rows`);
  }
}

function csvRows(c: Predictions, passthrough: string[], k: number, from: number, to: number): string {
  const q = c.probabilities?.data;
  const columns = passthrough.map((name) => c.passthrough![name]!);
  let out = "";
  for (let i = from; i < to; i++) {
    // Numbers never need quoting; only the pass-through text goes through csv-stringify's quoting.
    let line = "";
    for (const col of columns) line += `${csvField(col[i]!)},`;
    line += `${c.labels[i]},${formatFloat32(c.confidence[i]!)}`;
    for (let j = 0; j < k; j++) line += `,${formatFloat32(q![i * k + j]!)}`;
    out += `${line}\n`;
  }
  return out;
}

/** A text field as csv-stringify writes it (quoted when it holds a delimiter, quote or line break); plain text passes through without a call. */
function csvField(v: string): string {
  return NEEDS_QUOTES.test(v) ? stringify([[v]]).slice(0, -1) : v;
}
const NEEDS_QUOTES = /[",\r\n]/;

function jsonlRows(c: Predictions, passthrough: string[], k: number, from: number, to: number): string {
  const keys = passthrough.map((name) => `${JSON.stringify(name)}:`);
  const q = c.probabilities?.data;
  let out = "";
  for (let i = from; i < to; i++) {
    let line = "{";
    for (let p = 0; p < passthrough.length; p++)
      line += `${keys[p]}${JSON.stringify(c.passthrough![passthrough[p]!]![i])},`;
    line += `"cluster":${c.labels[i]},"confidence":${jsonNumber(c.confidence[i]!)}`;
    if (k > 0) {
      const values = new Array<string>(k);
      for (let j = 0; j < k; j++) values[j] = jsonNumber(q![i * k + j]!);
      line += `,"probabilities":[${values.join(",")}]`;
    }
    out += `${line}}\n`;
  }
  return out;
}

function jsonNumber(x: number): string {
  return Number.isFinite(x) ? formatFloat32(x) : "null";
}

/** The shortest decimal that reads back as the same float32 (0.1f → "0.1", not "0.10000000149011612"). */
export function formatFloat32(x: number): string {
  const f = Math.fround(x);
  if (f >= 1e-3 && f < 1) return formatUnitFloat32(f);
  if (!Number.isFinite(f) || f === 0) return String(f);
  // ≤ 6 digits covers round values (trailing zeros drop in String()); 9 always round-trips.
  for (let p = 6; p < 9; p++) {
    const s = f.toPrecision(p);
    if (Math.fround(Number(s)) === f) return String(Number(s));
  }
  return String(Number(f.toPrecision(9)));
}

/**
 * formatFloat32 for 0.001 ≤ f < 1 (confidences and most probabilities), four times faster: the
 * nearest decimal with p significant digits is m / 10^d with m = round(f · 10^d), and m / 10^d in
 * float64 is exactly what parsing that decimal gives (m and 10^d are exact, the division is
 * correctly rounded), so the round-trip test needs no string. Same strings as toPrecision's path.
 */
function formatUnitFloat32(f: number): string {
  let zeros = 0; // zeros between the point and the first significant digit
  while (f < POW10_NEG[zeros + 1]!) zeros++;
  for (let p = 1; p <= 9; p++) {
    const d = zeros + p;
    const m = Math.round(f * POW10[d]!);
    if (Math.fround(m / POW10[d]!) !== f) continue;
    if (m >= POW10[d]!) return "1"; // rounded up to 1 (not reached for f < 1 in float32, kept for safety)
    const digits = String(m).padStart(d, "0");
    let end = digits.length;
    while (end > 1 && digits.charCodeAt(end - 1) === 48) end--; // trailing zeros
    return `0.${digits.slice(0, end)}`;
  }
  return String(Number(f.toPrecision(9)));
}
const POW10 = Array.from({ length: 16 }, (_, i) => 10 ** i);
const POW10_NEG = Array.from({ length: 16 }, (_, i) => Number(`1e-${i}`));

// Temporary files still open; removed if the process exits before commit or abort.
const pending = new Set<string>();
let tmpCounter = 0;
let cleanupRegistered = false;

function registerExitCleanup(): void {
  if (cleanupRegistered) return;
  cleanupRegistered = true;
  process.once("exit", () => {
    for (const tmp of pending) rmSync(tmp, { force: true });
  });
}
