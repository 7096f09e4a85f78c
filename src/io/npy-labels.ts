// Labels kept apart from the vectors (the .npy workflow: X.npy + y.npy): a 1-D NumPy array of
// integers or strings (or of floats, NaN for a missing label, as pandas leaves an integer column
// with gaps), IDX labels (MNIST), or a text file with one label per line (an empty line, NA, NaN …
// is a missing label, as in a labels column). Separate from npy.ts, whose reader is for 2-D float
// matrices only.

import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { InputError } from "./errors.js";
import type { RowLabels } from "./dataset.js";
import { finalizeLabels } from "./dataset-builder.js";
import { IdxError, readIdxLabels } from "./idx.js";
import { readNpyPreamble } from "./npy.js";

type LabelArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

const DTYPES: Record<string, { bytes: number; view: (b: ArrayBuffer) => LabelArray }> = {
  i1: { bytes: 1, view: (b) => new Int8Array(b) },
  u1: { bytes: 1, view: (b) => new Uint8Array(b) },
  i2: { bytes: 2, view: (b) => new Int16Array(b) },
  u2: { bytes: 2, view: (b) => new Uint16Array(b) },
  i4: { bytes: 4, view: (b) => new Int32Array(b) },
  u4: { bytes: 4, view: (b) => new Uint32Array(b) },
  i8: { bytes: 8, view: (b) => new BigInt64Array(b) },
  u8: { bytes: 8, view: (b) => new BigUint64Array(b) },
  f4: { bytes: 4, view: (b) => new Float32Array(b) },
  f8: { bytes: 8, view: (b) => new Float64Array(b) },
};

/**
 * One label per data row. `limited`: the data was cut to its first rows (a `limit`), so extra
 * labels are dropped instead of rejected.
 */
export function readLabelsFile(file: string, rows: number, dataFile: string, limited: boolean): RowLabels {
  const labels = loadLabelsFile(file);
  checkLabelCount(file, labelCount(labels, rows), rows, dataFile, limited);
  return labels.length > rows ? labels.slice(0, rows) : labels;
}

/** Every label of a labels file, however many rows the data has (readLabelsFile checks the count). */
export function loadLabelsFile(file: string): RowLabels {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, code === "ENOENT" ? "file not found" : `cannot read (${code ?? String(e)})`);
  }
  if (buf.length === 0) throw new InputError(file, "the file is empty");
  if (buf.toString("latin1", 0, 6) === "\x93NUMPY") return readNpyLabels(file);
  if (buf[0] === 0 && buf[1] === 0 && buf[2] === 0x08 && buf[3] === 1) return readIdx(file);
  return readTextLabels(buf.toString("utf8"));
}

/**
 * The labels that count against `rows`: missing labels past the last row are not counted (a text
 * file's blank lines at its end).
 */
export function labelCount(labels: RowLabels, rows: number): number {
  let n = labels.length;
  while (n > rows && labels[n - 1] === null) n--;
  return n;
}

/** One label per row: fewer is an error, and more unless the data was cut short (`limited`). */
export function checkLabelCount(file: string, labels: number, rows: number, dataFile: string, limited: boolean): void {
  if (labels < rows || (labels > rows && !limited))
    throw new InputError(file, `${labels} labels for the ${rows} rows of ${dataFile}`);
}

function readIdx(file: string): number[] {
  try {
    return Array.from(readIdxLabels(file));
  } catch (e) {
    throw e instanceof IdxError ? new InputError(file, e.message.replace(`${file}: `, "")) : e;
  }
}

// One label per line; the line break after the last line ends it (it does not start an empty one).
function readTextLabels(text: string): RowLabels {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  return finalizeLabels(lines.map((l) => l.trim()));
}

// A 1-D .npy of integers or floats (either byte order; a float must be whole, or NaN for a missing
// label), of unicode strings ('<U', UTF-32) or of byte strings ('|S', read as UTF-8); strings that
// all are integers become numbers, as in a text file, and missing spellings (NA, …) are missing.
function readNpyLabels(file: string): RowLabels {
  const fd = openSync(file, "r");
  try {
    const { descr, shape: dims, dataOffset: offset } = readNpyPreamble(file, fd);
    if (!(dims.length === 1 || (dims.length === 2 && dims[1] === 1)))
      throw new InputError(file, `expected a 1-D array of labels, got shape (${dims.join(", ")})`);
    const num = /^([<>|])([iuf][1248])$/.exec(descr);
    const dtype = num !== null ? DTYPES[num[2]!] : undefined;
    const text = /^([<>|])([US])(\d+)$/.exec(descr);
    if (dtype === undefined && text === null) {
      const why = /^[<>|]?O$/.test(descr)
        ? "an object array holds pickled Python objects, which are not read"
        : "labels must be integers, whole floats (NaN: missing) or strings";
      throw new InputError(file, `${why}; got dtype '${descr}': save them with y.astype(int) or y.astype(str)`);
    }
    const n = dims[0]!;
    const bytes = dtype !== undefined ? dtype.bytes : (text![2] === "U" ? 4 : 1) * Number(text![3]);
    const size = fstatSync(fd).size;
    if (size < offset + n * bytes)
      throw new InputError(file, `truncated: header says ${n} labels, file has ${size - offset} bytes of data`);
    const raw = new ArrayBuffer(n * bytes);
    readSync(fd, new Uint8Array(raw), 0, raw.byteLength, offset);
    if (dtype === undefined)
      return finalizeLabels(
        decodeStrings(file, raw, n, bytes, text![2] === "U" ? (text![1] === ">" ? "utf-32be" : "utf-32le") : "utf-8"),
      );
    if (num![1] === ">") new Uint8Array(raw).set(byteSwapped(new Uint8Array(raw), bytes));
    const values = dtype.view(raw);
    const out = new Array<number | null>(n);
    for (let i = 0; i < n; i++) {
      const v = Number(values[i]!);
      if (Number.isNaN(v))
        out[i] = null; // floats only
      else if (Number.isSafeInteger(v)) out[i] = v;
      else if (Number.isInteger(v) || typeof values[i] === "bigint")
        throw new InputError(file, `label ${values[i]} is beyond 2^53`, i + 1);
      else
        throw new InputError(
          file,
          `label ${values[i]} is not a whole number (float labels must be integers, or NaN for a missing label)`,
          i + 1,
        );
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

/** Big-endian items of `size` bytes in little-endian order (what the typed arrays read). */
function byteSwapped(b: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += size) for (let j = 0; j < size; j++) out[i + j] = b[i + size - 1 - j]!;
  return out;
}

/** Fixed-width strings, NumPy's way: each item padded with trailing NULs, which are not part of it. */
function decodeStrings(
  file: string,
  raw: ArrayBuffer,
  n: number,
  bytes: number,
  encoding: "utf-32le" | "utf-32be" | "utf-8",
): string[] {
  const out = new Array<string>(n);
  const all = new Uint8Array(raw);
  const unit = encoding === "utf-8" ? 1 : 4;
  for (let i = 0; i < n; i++) {
    const item = all.subarray(i * bytes, (i + 1) * bytes);
    let end = item.length;
    while (end >= unit && item.subarray(end - unit, end).every((b) => b === 0)) end -= unit;
    const s = decodeText(item.subarray(0, end), encoding);
    if (s === null) throw new InputError(file, "not a valid UTF-32 string", i + 1);
    out[i] = s.trim(); // "" and the missing spellings become missing in finalizeLabels
  }
  return out;
}

/** null: a UTF-32 code beyond Unicode's range. */
function decodeText(b: Uint8Array, encoding: "utf-32le" | "utf-32be" | "utf-8"): string | null {
  if (encoding === "utf-8") return Buffer.from(b.buffer, b.byteOffset, b.length).toString("utf8");
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  let s = "";
  for (let o = 0; o < b.length; o += 4) {
    const code = view.getUint32(o, encoding === "utf-32le");
    if (code > 0x10ffff) return null;
    s += String.fromCodePoint(code);
  }
  return s;
}
