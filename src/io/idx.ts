// IDX files (the MNIST distribution format): big-endian header, then raw uint8 data.

import { fstatSync, readFileSync, readSync } from "node:fs";
import type { Matrix } from "../engine/index.js";

export class IdxError extends Error {}

function parse(file: string): { dims: number[]; data: Uint8Array } {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new IdxError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) throw new IdxError(`${file}: not an IDX file (bad magic number)`);
  if (buf[2] !== 0x08)
    throw new IdxError(`${file}: only unsigned-byte IDX data is supported (type 0x${buf[2]!.toString(16)})`);
  const rank = buf[3]!;
  const dims = Array.from({ length: rank }, (_, i) => buf.readUInt32BE(4 + 4 * i));
  const offset = 4 + 4 * rank;
  const n = dims.reduce((a, b) => a * b, 1);
  if (buf.length - offset !== n)
    throw new IdxError(`${file}: header says ${n} values, file holds ${buf.length - offset}`);
  return { dims, data: new Uint8Array(buf.buffer, buf.byteOffset + offset, n) };
}

/**
 * The header of IDX images read from an open file: images (rows), pixels per image (cols) and
 * where the pixels start. Checks what readIdxImages checks, without reading the pixels.
 */
export function readIdxImagesHeader(file: string, fd: number): { rows: number; cols: number; dataOffset: number } {
  const head = Buffer.alloc(4 + 4 * 255);
  const got = readSync(fd, head, 0, head.length, 0);
  if (got < 4 || head[0] !== 0 || head[1] !== 0) throw new IdxError(`${file}: not an IDX file (bad magic number)`);
  if (head[2] !== 0x08)
    throw new IdxError(`${file}: only unsigned-byte IDX data is supported (type 0x${head[2]!.toString(16)})`);
  const rank = head[3]!;
  const offset = 4 + 4 * rank;
  if (got < offset) throw new IdxError(`${file}: truncated header`);
  const dims = Array.from({ length: rank }, (_, i) => head.readUInt32BE(4 + 4 * i));
  const n = dims.reduce((a, b) => a * b, 1);
  const held = fstatSync(fd).size - offset;
  if (held !== n) throw new IdxError(`${file}: header says ${n} values, file holds ${held}`);
  if (dims.length < 2) throw new IdxError(`${file}: expected images (rank ≥ 2), got rank ${dims.length}`);
  return { rows: dims[0]!, cols: dims.slice(1).reduce((a, b) => a * b, 1), dataOffset: offset };
}

/** Images as rows of pixels scaled to [0, 1]; `limit` keeps the first rows only. */
export function readIdxImages(file: string, limit = Infinity): Matrix {
  const { dims, data } = parse(file);
  if (dims.length < 2) throw new IdxError(`${file}: expected images (rank ≥ 2), got rank ${dims.length}`);
  const rows = Math.min(dims[0]!, limit);
  const cols = dims.slice(1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) out[i] = data[i]! / 255;
  return { data: out, rows, cols };
}

export function readIdxLabels(file: string, limit = Infinity): Int32Array {
  const { dims, data } = parse(file);
  if (dims.length !== 1) throw new IdxError(`${file}: expected labels (rank 1), got rank ${dims.length}`);
  return Int32Array.from(data.subarray(0, Math.min(dims[0]!, limit)));
}
