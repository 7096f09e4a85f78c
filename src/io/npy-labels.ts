// Labels kept apart from the vectors (the .npy workflow: X.npy + y.npy): a 1-D NumPy array of
// integers, IDX labels (MNIST), or a text file with one label per line. Separate from npy.ts,
// whose reader is for 2-D float matrices only.

import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { InputError } from "./errors.js";
import { finalizeLabels } from "./dataset-builder.js";
import { IdxError, readIdxLabels } from "./idx.js";
import { readNpyPreamble } from "./npy.js";

type IntArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

const INT_DTYPES: Record<string, { bytes: number; view: (b: ArrayBuffer) => IntArray }> = {
  i1: { bytes: 1, view: (b) => new Int8Array(b) },
  u1: { bytes: 1, view: (b) => new Uint8Array(b) },
  i2: { bytes: 2, view: (b) => new Int16Array(b) },
  u2: { bytes: 2, view: (b) => new Uint16Array(b) },
  i4: { bytes: 4, view: (b) => new Int32Array(b) },
  u4: { bytes: 4, view: (b) => new Uint32Array(b) },
  i8: { bytes: 8, view: (b) => new BigInt64Array(b) },
  u8: { bytes: 8, view: (b) => new BigUint64Array(b) },
};

/**
 * One label per data row. `limited`: the data was cut to its first rows (a `limit`), so extra
 * labels are dropped instead of rejected.
 */
export function readLabelsFile(file: string, rows: number, dataFile: string, limited: boolean): (number | string)[] {
  const labels = loadLabelsFile(file);
  checkLabelCount(file, labels.length, rows, dataFile, limited);
  return labels.length > rows ? labels.slice(0, rows) : labels;
}

/** Every label of a labels file, however many rows the data has (readLabelsFile checks the count). */
export function loadLabelsFile(file: string): (number | string)[] {
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
  return readTextLabels(file, buf.toString("utf8"));
}

/** One label per row: fewer is an error, and more unless the data was cut short (`limited`). */
export function checkLabelCount(file: string, labels: number, rows: number, dataFile: string, limited: boolean): void {
  if (labels < rows || (labels > rows && !limited)) throw new InputError(file, `${labels} labels for the ${rows} rows of ${dataFile}`);
}

function readIdx(file: string): number[] {
  try {
    return Array.from(readIdxLabels(file));
  } catch (e) {
    throw e instanceof IdxError ? new InputError(file, e.message.replace(`${file}: `, "")) : e;
  }
}

function readTextLabels(file: string, text: string): (number | string)[] {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === "") lines.pop();
  lines.forEach((line, i) => {
    if (line.trim() === "") throw new InputError(file, "empty label", i + 1);
  });
  return finalizeLabels(lines.map((l) => l.trim()));
}

function readNpyLabels(file: string): number[] {
  const fd = openSync(file, "r");
  try {
    const { descr, shape: dims, dataOffset: offset } = readNpyPreamble(file, fd);
    if (!(dims.length === 1 || (dims.length === 2 && dims[1] === 1))) throw new InputError(file, `expected a 1-D array of labels, got shape (${dims.join(", ")})`);
    const kind = /^[<|]([iu][1248])$/.exec(descr)?.[1];
    const dtype = kind !== undefined ? INT_DTYPES[kind] : undefined;
    if (dtype === undefined) throw new InputError(file, `labels must be little-endian integers (e.g. '<i8'), got dtype '${descr}'; save them with y.astype(int)`);
    const n = dims[0]!;
    const size = fstatSync(fd).size;
    if (size < offset + n * dtype.bytes) throw new InputError(file, `truncated: header says ${n} labels, file has ${size - offset} bytes of data`);
    const raw = new ArrayBuffer(n * dtype.bytes);
    readSync(fd, new Uint8Array(raw), 0, raw.byteLength, offset);
    const values = dtype.view(raw);
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const v = Number(values[i]!);
      if (!Number.isSafeInteger(v)) throw new InputError(file, `label ${values[i]} is beyond 2^53`, i + 1);
      out[i] = v;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}
