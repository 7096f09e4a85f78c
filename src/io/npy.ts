// NumPy .npy files (format 1.0–3.0), 2-D little-endian float32/float64, C order. Hand-written
// because later readers stream rows from disk in chunks, which the npm parsers (whole-buffer
// only) do not do; the format is a short text header followed by raw data.

import { openSync, readSync, closeSync, fstatSync, writeFileSync, renameSync, rmSync } from "node:fs";
import type { Matrix } from "../engine/index.js";
import { InputError } from "./errors.js";

export interface NpyHeader {
  dtype: "<f4" | "<f8";
  rows: number;
  cols: number;
  dataOffset: number;
}

export function readNpyHeader(file: string, fd: number): NpyHeader {
  const pre = Buffer.alloc(12);
  readSync(fd, pre, 0, 12, 0);
  if (pre.toString("latin1", 0, 6) !== "\x93NUMPY") throw new InputError(file, "not a .npy file (bad magic string)");
  const major = pre[6]!;
  const headerLen = major === 1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const hb = Buffer.alloc(headerLen);
  readSync(fd, hb, 0, headerLen, start);
  const header = hb.toString(major === 3 ? "utf8" : "latin1");
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shape === undefined) throw new InputError(file, `unreadable .npy header: ${header.trim()}`);
  if (descr !== "<f4" && descr !== "<f8") throw new InputError(file, `dtype ${descr} is not supported (use float32 '<f4' or float64 '<f8')`);
  if (fortran === "True") throw new InputError(file, "Fortran-ordered arrays are not supported (save with np.ascontiguousarray)");
  const dims = shape.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  if (dims.length !== 2) throw new InputError(file, `expected a 2-D array (rows × dims), got shape (${dims.join(", ")})`);
  return { dtype: descr, rows: dims[0]!, cols: dims[1]!, dataOffset: start + headerLen };
}

/** Reads a whole 2-D .npy into a float32 matrix (float64 is converted). */
export function readNpy(file: string): Matrix {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw new InputError(file, `cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    const h = readNpyHeader(file, fd);
    const n = h.rows * h.cols;
    const bytesPer = h.dtype === "<f4" ? 4 : 8;
    const expected = h.dataOffset + n * bytesPer;
    const size = fstatSync(fd).size;
    if (size < expected) throw new InputError(file, `truncated: header says ${h.rows}×${h.cols}, file has ${size} of ${expected} bytes`);
    const out = new Float32Array(n);
    if (h.dtype === "<f4") {
      readSync(fd, new Uint8Array(out.buffer), 0, n * 4, h.dataOffset);
    } else {
      const chunkRows = Math.max(1, Math.floor((8 << 20) / (h.cols * 8)));
      const buf = new Float64Array(chunkRows * h.cols);
      for (let r = 0; r < h.rows; r += chunkRows) {
        const rows = Math.min(chunkRows, h.rows - r);
        readSync(fd, new Uint8Array(buf.buffer, 0, rows * h.cols * 8), 0, rows * h.cols * 8, h.dataOffset + r * h.cols * 8);
        for (let i = 0; i < rows * h.cols; i++) out[r * h.cols + i] = buf[i]!;
      }
    }
    return { data: out, rows: h.rows, cols: h.cols };
  } finally {
    closeSync(fd);
  }
}

/** Writes a float32 matrix as .npy (format 1.0), through a temporary file and a rename. */
export function writeNpy(file: string, m: Matrix): void {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${m.rows}, ${m.cols}), }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const pre = Buffer.alloc(10);
  pre.write("\x93NUMPY", 0, "latin1");
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, Buffer.concat([pre, Buffer.from(header, "latin1"), Buffer.from(m.data.buffer, m.data.byteOffset, m.rows * m.cols * 4)]));
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
