// NumPy .npy files (format 1.0–3.0), 2-D float32/float64, little- or big-endian, C or Fortran
// order (what np.save writes for a transposed array or pandas' DataFrame.to_numpy()). Hand-written
// because later readers stream rows from disk in chunks, which the npm parsers (whole-buffer only)
// do not do; the format is a short text header followed by raw data.

import { openSync, read, readSync, closeSync, fstatSync } from "node:fs";
import { promisify } from "node:util";
import type { Matrix } from "../engine/index.js";
import { InputError } from "./errors.js";
import { writeFileAtomically } from "./atomic-file.js";
import { checkDimensions, MAX_ARRAY_VALUES } from "./limits.js";

export interface NpyHeader {
  dtype: "<f4" | "<f8" | ">f4" | ">f8";
  /** Column-major data: row i's values lie `rows` items apart, so a row range is read column by column. */
  fortranOrder: boolean;
  rows: number;
  cols: number;
  dataOffset: number;
}

export function readNpyHeader(file: string, fd: number): NpyHeader {
  const { descr, fortranOrder, shape, dataOffset } = readNpyPreamble(file, fd);
  if (descr !== "<f4" && descr !== "<f8" && descr !== ">f4" && descr !== ">f8") {
    throw new InputError(file, `dtype ${descr} is not supported (use float32 or float64: X.astype(np.float32))`);
  }
  if (shape.length !== 2)
    throw new InputError(file, `expected a 2-D array (rows × dims), got shape (${shape.join(", ")})`);
  checkDimensions(file, shape[1]!);
  return { dtype: descr, fortranOrder, rows: shape[0]!, cols: shape[1]!, dataOffset };
}

/** The fields of any .npy header (the shape checked to be non-negative integers), and where the data starts: for the 2-D and the 1-D (labels) readers alike. */
export function readNpyPreamble(
  file: string,
  fd: number,
): { descr: string; fortranOrder: boolean; shape: number[]; dataOffset: number } {
  const pre = Buffer.alloc(12);
  readSync(fd, pre, 0, 12, 0);
  if (pre.toString("latin1", 0, 6) !== "\x93NUMPY") throw new InputError(file, "not a .npy file (bad magic string)");
  const major = pre[6]!;
  if (major < 1 || major > 3)
    throw new InputError(file, `.npy format version ${major}.${pre[7]} is not supported (1.0–3.0 are)`);
  const headerLen = major === 1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const hb = Buffer.alloc(Math.min(headerLen, Math.max(0, fstatSync(fd).size - start)));
  readSync(fd, hb, 0, hb.length, start);
  const header = hb.toString(major === 3 ? "utf8" : "latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined)
    throw new InputError(file, `unreadable .npy header: ${clip(header.trim())}`);
  const fields = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const shape = fields.map(Number);
  if (!fields.every((f) => /^\d+$/.test(f)) || !shape.every(Number.isSafeInteger))
    throw new InputError(file, `the header's 'shape' must hold non-negative integers, got (${shapeText.trim()})`);
  return { descr, fortranOrder: fortran === "True", shape, dataOffset: start + headerLen };
}

function clip(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

/** Opens a 2-D .npy, reads its header and checks that the file holds all the data it announces. */
export function openNpy(file: string): { fd: number; header: NpyHeader } {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw new InputError(file, `cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const h = readNpyHeader(file, fd);
    const expected = h.dataOffset + h.rows * h.cols * npyItemSize(h);
    const size = fstatSync(fd).size;
    if (size < expected)
      throw new InputError(file, `truncated: header says ${h.rows}×${h.cols}, file has ${size} of ${expected} bytes`);
    return { fd, header: h };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

export function npyItemSize(h: NpyHeader): number {
  return h.dtype.endsWith("4") ? 4 : 8;
}

const readAsync = promisify(read);

/** Bytes per read: large reads in one call are capped by the OS (and by Node at 2 GiB). */
const READ_BYTES = 16 << 20;

/**
 * Rows [start, start + count) of an opened .npy into `out` (float32; float64 is converted), in
 * reads of a few MiB: no more than `out` and one read buffer are ever held. Fortran order takes
 * one read per column (the rows' values in each column are adjacent), so it pays for small row
 * ranges: reading one row costs `cols` reads.
 */
export async function readNpyRows(
  fd: number,
  h: NpyHeader,
  start: number,
  count: number,
  out: Float32Array,
): Promise<void> {
  for (const piece of npyPieces(h, start, count, out))
    piece.done((await readAsync(fd, piece.target, 0, piece.target.length, piece.position)).bytesRead);
}

/** readNpyRows with synchronous reads on a file descriptor. */
export function readNpyRowsSync(fd: number, h: NpyHeader, start: number, count: number, out: Float32Array): void {
  for (const piece of npyPieces(h, start, count, out))
    piece.done(readSync(fd, piece.target, 0, piece.target.length, piece.position));
}

interface NpyPiece {
  /** Where one read goes: the output's own bytes (little-endian float32, C order) or a scratch buffer. */
  target: Uint8Array;
  position: number;
  /** Call with the bytes read: checks the count and converts the values into the output. */
  done(bytesRead: number): void;
}

// The reads that copy rows into `out`, one at a time (the scratch buffer is reused). A run is a
// stretch of the file whose values go to out[at], out[at + stride], ...: the whole row range in C
// order, one column of it in Fortran order.
function* npyPieces(h: NpyHeader, start: number, count: number, out: Float32Array): Generator<NpyPiece> {
  const item = npyItemSize(h);
  const runs = h.fortranOrder
    ? Array.from({ length: h.cols }, (_, j) => ({
        position: h.dataOffset + (j * h.rows + start) * item,
        items: count,
        at: j,
        stride: h.cols,
      }))
    : [{ position: h.dataOffset + start * h.cols * item, items: count * h.cols, at: 0, stride: 1 }];
  const direct = h.dtype === "<f4" && !h.fortranOrder;
  const largest = runs.reduce((m, r) => Math.max(m, r.items * item), 0);
  const scratch = direct ? null : new ArrayBuffer(Math.min(largest, READ_BYTES));
  const convert = scratch === null ? null : converter(h.dtype, scratch);
  for (const run of runs) {
    const total = run.items * item;
    for (let off = 0; off < total; off += READ_BYTES) {
      const n = Math.min(READ_BYTES, total - off);
      const position = run.position + off;
      const first = run.at + (off / item) * run.stride;
      yield {
        target: scratch === null ? new Uint8Array(out.buffer, out.byteOffset + off, n) : new Uint8Array(scratch, 0, n),
        position,
        done(bytesRead) {
          if (bytesRead !== n) throw new Error(`short read (${bytesRead} of ${n} bytes at offset ${position})`);
          convert?.(n / item, out, first, run.stride);
        },
      };
    }
  }
}

/** Copies `items` values from the start of `scratch` into out[at], out[at + stride], ... as float32. */
function converter(
  dtype: NpyHeader["dtype"],
  scratch: ArrayBuffer,
): (items: number, out: Float32Array, at: number, stride: number) => void {
  if (dtype === "<f4" || dtype === "<f8") {
    const values = dtype === "<f4" ? new Float32Array(scratch) : new Float64Array(scratch);
    return (items, out, at, stride) => {
      for (let i = 0, o = at; i < items; i++, o += stride) out[o] = values[i]!;
    };
  }
  const view = new DataView(scratch);
  if (dtype === ">f4") {
    return (items, out, at, stride) => {
      for (let i = 0, o = at; i < items; i++, o += stride) out[o] = view.getFloat32(4 * i, false);
    };
  }
  return (items, out, at, stride) => {
    for (let i = 0, o = at; i < items; i++, o += stride) out[o] = view.getFloat64(8 * i, false);
  };
}

/** Reads a whole 2-D .npy into a float32 matrix (float64 is converted). */
export function readNpy(file: string): Matrix {
  const { fd, header: h } = openNpy(file);
  try {
    if (h.rows * h.cols > MAX_ARRAY_VALUES)
      throw new InputError(
        file,
        `${h.rows} × ${h.cols} values do not fit in one array (at most ${MAX_ARRAY_VALUES}); read it in chunks (readDatasetChunks, NpySource)`,
      );
    const out = new Float32Array(h.rows * h.cols);
    readNpyRowsSync(fd, h, 0, h.rows, out);
    return { data: out, rows: h.rows, cols: h.cols };
  } finally {
    closeSync(fd);
  }
}

/**
 * The header of a format-1.0 .npy holding a C-ordered array of `shape` and dtype `descr`, padded so
 * that the data starts on a 64-byte boundary; the raw little-endian values follow it.
 */
export function npyHeader(shape: readonly number[], descr = "<f4"): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  header += " ".repeat((64 - ((10 + header.length + 1) % 64)) % 64) + "\n";
  const pre = Buffer.alloc(10);
  pre.write("\x93NUMPY", 0, "latin1");
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, "latin1")]);
}

/** Writes a float32 matrix as .npy (format 1.0), through a temporary file and a rename. */
export function writeNpy(file: string, m: Matrix): void {
  writeFileAtomically(
    file,
    Buffer.concat([npyHeader([m.rows, m.cols]), Buffer.from(m.data.buffer, m.data.byteOffset, m.rows * m.cols * 4)]),
  );
}
