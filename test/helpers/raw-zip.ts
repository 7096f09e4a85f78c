// A zip writer for tests that need archives no zip library writes: headers that lie about sizes or
// CRCs, a local header that disagrees with the central directory, duplicate or `..` names, and the
// ZIP64 records that torch.save writes for files over 4 GiB (forced here on small entries).

import { crc32, deflateRawSync } from "node:zlib";

export interface RawEntry {
  name: string;
  /** The bytes as stored in the archive (compressed when method is 8). */
  payload: Uint8Array;
  /** 0 stored (default), 8 deflated, or anything to test refusal. */
  method?: number;
  flags?: number;
  /** Declared uncompressed size (default: payload.length). */
  size?: number;
  /** Declared CRC-32 (default: that of the payload). */
  crc?: number;
  /** Local header fields that differ from the central directory's. */
  local?: { name?: string; size?: number };
}

export function stored(name: string, data: Uint8Array): RawEntry {
  return { name, payload: data };
}

export function deflated(name: string, data: Uint8Array): RawEntry {
  return { name, payload: deflateRawSync(data), method: 8, size: data.length, crc: crc32(data) >>> 0 };
}

const U32 = 0xffffffff;

export function rawZip(entries: RawEntry[], { zip64 = false } = {}): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    offset += b.length;
  };
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const localName = Buffer.from(e.local?.name ?? e.name);
    const size = e.size ?? e.payload.length;
    const crc = e.crc ?? crc32(e.payload) >>> 0;
    const method = e.method ?? 0;
    const flags = e.flags ?? 0x800;
    const at = offset;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(zip64 ? 45 : 20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(zip64 ? U32 : e.payload.length, 18);
    local.writeUInt32LE(zip64 ? U32 : (e.local?.size ?? size), 22);
    local.writeUInt16LE(localName.length, 26);
    const localExtra = zip64 ? zip64Extra([e.local?.size ?? size, e.payload.length]) : Buffer.alloc(0);
    local.writeUInt16LE(localExtra.length, 28);
    push(Buffer.concat([local, localName, localExtra, e.payload]));

    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(zip64 ? 45 : 20, 4);
    cd.writeUInt16LE(zip64 ? 45 : 20, 6);
    cd.writeUInt16LE(flags, 8);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(zip64 ? U32 : e.payload.length, 20);
    cd.writeUInt32LE(zip64 ? U32 : size, 24);
    cd.writeUInt16LE(name.length, 28);
    const extra = zip64 ? zip64Extra([size, e.payload.length, at]) : Buffer.alloc(0);
    cd.writeUInt16LE(extra.length, 30);
    cd.writeUInt32LE(zip64 ? U32 : at, 42);
    central.push(Buffer.concat([cd, name, extra]));
  }
  const start = offset;
  for (const c of central) push(c);
  const directorySize = offset - start;
  if (zip64) {
    const recordAt = offset;
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4);
    record.writeUInt16LE(45, 12);
    record.writeUInt16LE(45, 14);
    record.writeBigUInt64LE(BigInt(entries.length), 24);
    record.writeBigUInt64LE(BigInt(entries.length), 32);
    record.writeBigUInt64LE(BigInt(directorySize), 40);
    record.writeBigUInt64LE(BigInt(start), 48);
    push(record);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(recordAt), 8);
    locator.writeUInt32LE(1, 16);
    push(locator);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  eocd.writeUInt32LE(zip64 ? U32 : directorySize, 12);
  eocd.writeUInt32LE(zip64 ? U32 : start, 16);
  push(eocd);
  return new Uint8Array(Buffer.concat(parts));
}

/** The ZIP64 extended information field holding `values` as 64-bit integers. */
function zip64Extra(values: number[]): Buffer {
  const b = Buffer.alloc(4 + 8 * values.length);
  b.writeUInt16LE(0x0001, 0);
  b.writeUInt16LE(8 * values.length, 2);
  values.forEach((v, i) => b.writeBigUInt64LE(BigInt(v), 4 + 8 * i));
  return b;
}
