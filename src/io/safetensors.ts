// safetensors (the Hugging Face weights format): an 8-byte little-endian header length, a JSON
// header of {name: {dtype, shape, data_offsets}}, then the raw little-endian tensors. Written by
// hand: the format is 30 lines and no npm package writes it. Files go through a temp + rename.

import { readFileSync } from "node:fs";
import { InputError } from "./errors.js";
import { writeFileAtomically } from "./atomic-file.js";

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
    if (n !== t.data.length)
      throw new Error(`tensor ${name}: shape [${t.shape.join(",")}] needs ${n} values, has ${t.data.length}`);
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

export function writeSafetensors(
  file: string,
  tensors: Record<string, NamedTensor>,
  metadata: Record<string, string> = {},
): void {
  writeFileAtomically(file, encodeSafetensors(tensors, metadata));
}

/**
 * Reads a safetensors file of F32 tensors. The header is checked as strictly as the reference implementation
 * implementation checks it (every tensor an object with a dtype, a shape of non-negative integers
 * and data_offsets that tile the data section: no overlap, no gap, nothing missing), and every
 * value must be finite: deepclust reads weights, centres and optimizer state, where NaN or ±Inf is
 * corruption that would otherwise surface later as NaN predictions. Every problem is an
 * InputError naming the file and the tensor or field (and, for a value, its index).
 */
export function readSafetensors(file: string): SafetensorsContents {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new InputError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return decodeSafetensors(file, buf);
}

export interface SafetensorsContents {
  tensors: Record<string, NamedTensor>;
  metadata: Record<string, string>;
}

/** readSafetensors on bytes already read; `file` names them in messages. */
export function decodeSafetensors(file: string, buf: Uint8Array): SafetensorsContents {
  const { metadata, entries, dataStart } = parseHeader(file, buf);
  const tensors: Record<string, NamedTensor> = {};
  for (const { name, shape, begin, end } of entries) {
    const data = new Float32Array((end - begin) / 4);
    new Uint8Array(data.buffer).set(buf.subarray(dataStart + begin, dataStart + end));
    checkFinite(file, name, shape, data);
    // defineProperty: a tensor called "__proto__" stays a tensor.
    Object.defineProperty(tensors, name, {
      value: { shape, data },
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return { tensors, metadata };
}

/** The spec's limit; a larger "length" means the file is something else. */
const MAX_HEADER_BYTES = 100_000_000;

interface Entry {
  name: string;
  shape: number[];
  begin: number;
  end: number;
}

function parseHeader(
  file: string,
  buf: Uint8Array,
): { metadata: Record<string, string>; entries: Entry[]; dataStart: number } {
  const fail = (message: string) => new InputError(file, message);
  if (buf.length < 8) throw fail(`not a safetensors file (${buf.length} bytes; the header length alone takes 8)`);
  const len = Buffer.from(buf.buffer, buf.byteOffset, 8).readBigUInt64LE(0);
  if (len > BigInt(MAX_HEADER_BYTES))
    throw fail(`not a safetensors file (its first 8 bytes give a header of ${len} bytes)`);
  const dataStart = 8 + Number(len);
  if (dataStart > buf.length)
    throw fail(`truncated: the header is ${len} bytes, the file has ${buf.length - 8} after the header length`);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + 8, Number(len)).toString("utf8"));
  } catch {
    throw fail("not a safetensors file (the header is not JSON)");
  }
  if (!isObject(header)) throw fail(`not a safetensors file (the header is ${describe(header)}, not a JSON object)`);
  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (!isObject(info))
        throw fail(`header field '__metadata__' must be an object of strings, got ${describe(info)}`);
      for (const [key, value] of Object.entries(info)) {
        if (typeof value !== "string")
          throw fail(`header field '__metadata__.${key}' must be a string, got ${describe(value)}`);
        Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const bad = (field: string, expected: string, got: unknown) =>
      fail(`tensor '${name}': field '${field}' must be ${expected}, got ${describe(got)}`);
    if (!isObject(info))
      throw fail(`tensor '${name}': expected an object {dtype, shape, data_offsets}, got ${describe(info)}`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== "string") throw bad("dtype", "a string", dtype);
    if (dtype !== "F32") throw fail(`tensor '${name}' has dtype ${dtype}; only F32 is supported`);
    if (!Array.isArray(shape) || !shape.every(isCount)) throw bad("shape", "a list of non-negative integers", shape);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0]! > offsets[1]!)
      throw bad("data_offsets", "[begin, end] with 0 ≤ begin ≤ end", offsets);
    const [begin, end] = offsets as [number, number];
    const values = (shape as number[]).reduce((a, b) => a * b, 1);
    if (values * 4 !== end - begin)
      throw fail(
        `tensor '${name}': shape [${shape.join(", ")}] takes ${values * 4} bytes of F32, its data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    entries.push({ name, shape: shape as number[], begin, end });
  }
  // The tensors must tile the data section, as the reference implementation requires.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (let i = 0; i < sorted.length; i++) {
    const t = sorted[i]!;
    if (t.begin < covered)
      throw fail(
        `tensors '${sorted[i - 1]!.name}' and '${t.name}' overlap (bytes ${t.begin} to ${covered} of the data)`,
      );
    if (t.begin > covered)
      throw fail(`bytes ${covered} to ${t.begin} of the data belong to no tensor (before '${t.name}')`);
    covered = t.end;
  }
  const held = buf.length - dataStart;
  if (covered > held) throw fail(`truncated: the header says ${covered} bytes of tensor data, the file has ${held}`);
  if (covered < held)
    throw fail(
      `${held - covered} bytes after the last tensor's data (not a safetensors file, or more than one joined)`,
    );
  return { metadata, entries, dataStart };
}

/** Rejects NaN/±Inf, naming the tensor and the first offending value's index (from 0, as in PyTorch). */
function checkFinite(file: string, name: string, shape: readonly number[], data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v === 0) continue;
    const index: number[] = [];
    for (let d = shape.length - 1, rest = i; d >= 0; d--) {
      index.unshift(rest % shape[d]!);
      rest = Math.floor(rest / shape[d]!);
    }
    const where = shape.length === 2 ? `row ${index[0]}, column ${index[1]}` : `index [${index.join(", ")}]`;
    throw new InputError(
      file,
      `tensor '${name}' holds ${v} at ${where} (counted from 0: ${name}[${index.join(", ")}]); its values must be finite`,
    );
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}
