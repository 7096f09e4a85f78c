// safetensors (the Hugging Face weights format): an 8-byte little-endian header length, a JSON
// header of {name: {dtype, shape, data_offsets}}, then the raw little-endian tensors. Written by
// hand: the format is 30 lines and no npm package writes it. Files go through a temp + rename.

import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { InputError } from "./errors.js";

export interface NamedTensor {
  shape: readonly number[];
  data: Float32Array;
}

export function encodeSafetensors(tensors: Record<string, NamedTensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const names = Object.keys(tensors).sort();
  for (const name of names) {
    const t = tensors[name]!;
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`tensor ${name}: shape [${t.shape.join(",")}] needs ${n} values, has ${t.data.length}`);
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8); // keep the data 8-byte aligned
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const parts: Buffer[] = [head, Buffer.from(json)];
  for (const name of names) {
    const d = tensors[name]!.data;
    parts.push(Buffer.from(d.buffer as ArrayBuffer, d.byteOffset, d.byteLength));
  }
  return Buffer.concat(parts);
}

export function writeSafetensors(file: string, tensors: Record<string, NamedTensor>, metadata: Record<string, string> = {}): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, encodeSafetensors(tensors, metadata));
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function readSafetensors(file: string): { tensors: Record<string, NamedTensor>; metadata: Record<string, string> } {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new InputError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (buf.length < 8) throw new InputError(file, "not a safetensors file (too short)");
  const len = Number(buf.readBigUInt64LE(0));
  if (8 + len > buf.length) throw new InputError(file, "not a safetensors file (header length past the end)");
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(buf.toString("utf8", 8, 8 + len));
  } catch {
    throw new InputError(file, "not a safetensors file (header is not JSON)");
  }
  const metadata = (header.__metadata__ ?? {}) as unknown as Record<string, string>;
  const tensors: Record<string, NamedTensor> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    if (info.dtype !== "F32") throw new InputError(file, `tensor ${name} has dtype ${info.dtype}; only F32 is supported`);
    const [a, b] = info.data_offsets;
    const bytes = buf.subarray(8 + len + a, 8 + len + b);
    const data = new Float32Array(bytes.length / 4);
    new Uint8Array(data.buffer).set(bytes);
    tensors[name] = { shape: info.shape, data };
  }
  return { tensors, metadata };
}
