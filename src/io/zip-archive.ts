// Reading single entries of a zip archive (the container of torch.save files), without trusting it.
//
// The central directory is parsed first (ZIP64 included: torch.save writes its records); an entry is
// then read only when asked for, and only if its declared size is the size the caller expects. A
// deflated entry is inflated with its declared size as a hard cap, so a zip bomb (an entry whose
// stream inflates to far more than its header says) stops at the declared size, and its CRC-32 is
// checked. The local header must agree with the central directory on the name, the method and, when
// it records them, the sizes and CRC. Bytes are read from the file at the entries' offsets, so
// entries nobody asks for are never read.

import { closeSync, openSync, readSync } from "node:fs";
import { crc32, inflateRawSync } from "node:zlib";
import { InputError } from "./errors.js";

/** Random access to the archive's bytes. */
export interface ByteSource {
  readonly size: number;
  /** `length` bytes from `offset`; throws if they are not all there. */
  read(offset: number, length: number): Uint8Array;
}

export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (offset, length) => {
      if (offset + length > bytes.length)
        throw new RangeError(`bytes ${offset}..${offset + length} are past the end (${bytes.length})`);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** A file of `size` bytes, opened for each read (a torch state_dict reads its tensors lazily). */
export function fileSource(file: string, size: number): ByteSource {
  return {
    size,
    read: (offset, length) => {
      const out = new Uint8Array(length);
      let fd: number;
      try {
        fd = openSync(file, "r");
      } catch (e) {
        throw new InputError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
      try {
        let done = 0;
        while (done < length) {
          const n = readSync(fd, out, done, length - done, offset + done);
          if (n === 0)
            throw new InputError(
              file,
              `the file ended at byte ${offset + done}, before byte ${offset + length} (it changed while being read?)`,
            );
          done += n;
        }
      } finally {
        closeSync(fd);
      }
      return out;
    },
  };
}

export interface ZipEntry {
  readonly name: string;
  /** The name as the central directory spells it (compared with the local header's). */
  readonly rawName: Uint8Array;
  /** 0 stored, 8 deflated. */
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  /** The uncompressed size the central directory declares. */
  readonly size: number;
  readonly localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_EOCD = 0x06064b50;
const ZIP64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const ZIP64_EXTRA = 0x0001;
const FLAG_ENCRYPTED = 0x0001;
const FLAG_DATA_DESCRIPTOR = 0x0008;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A zip archive's central directory, and its entries on demand. Errors are InputErrors naming `file`. */
export class ZipArchive {
  private constructor(
    private readonly source: ByteSource,
    private readonly file: string,
    /** Entries in the central directory's order. */
    readonly entries: ReadonlyMap<string, ZipEntry>,
    /** Where the central directory starts: every entry's data lies before it. */
    private readonly directoryOffset: number,
  ) {}

  static open(source: ByteSource, file: string): ZipArchive {
    const fail = (message: string) => new InputError(file, `corrupt zip archive: ${message}`);
    const { size } = source;
    // The end-of-central-directory record: 22 bytes, then a comment of up to 65535 bytes.
    const tailStart = Math.max(0, size - 22 - U16_MAX);
    const tail = source.read(tailStart, size - tailStart);
    const tv = view(tail);
    let at = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tv.getUint32(i, true) === EOCD && i + 22 + tv.getUint16(i + 20, true) === tail.length) {
        at = i;
        break;
      }
    }
    if (at < 0) throw fail("no end of central directory record (a truncated file?)");
    const eocdOffset = tailStart + at;
    let disk = tv.getUint16(at + 4, true);
    let directoryDisk = tv.getUint16(at + 6, true);
    let count = tv.getUint16(at + 10, true);
    let directorySize = tv.getUint32(at + 12, true);
    let directoryOffset = tv.getUint32(at + 16, true);
    if (count === U16_MAX || directorySize === U32_MAX || directoryOffset === U32_MAX) {
      // ZIP64: a locator just before the record points at the 64-bit end-of-central-directory record.
      if (eocdOffset < 20) throw fail("ZIP64 sizes without a ZIP64 locator");
      const loc = view(source.read(eocdOffset - 20, 20));
      if (loc.getUint32(0, true) !== ZIP64_LOCATOR) throw fail("ZIP64 sizes without a ZIP64 locator");
      const recordOffset = u64(loc, 8, "the ZIP64 record's offset", fail);
      if (recordOffset + 56 > eocdOffset - 20)
        throw fail(`the ZIP64 end of central directory record at byte ${recordOffset} is out of place`);
      const rec = view(source.read(recordOffset, 56));
      if (rec.getUint32(0, true) !== ZIP64_EOCD)
        throw fail(`no ZIP64 end of central directory record at byte ${recordOffset}`);
      disk = rec.getUint32(16, true);
      directoryDisk = rec.getUint32(20, true);
      count = u64(rec, 32, "the number of entries", fail);
      directorySize = u64(rec, 40, "the central directory's size", fail);
      directoryOffset = u64(rec, 48, "the central directory's offset", fail);
    }
    if (disk !== 0 || directoryDisk !== 0) throw fail("a multi-part (spanned) archive");
    if (directoryOffset + directorySize > eocdOffset) {
      throw fail(
        `the central directory (${directorySize} bytes at byte ${directoryOffset}) runs past its end record at byte ${eocdOffset}`,
      );
    }

    const dir = source.read(directoryOffset, directorySize);
    const dv = view(dir);
    const entries = new Map<string, ZipEntry>();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > dir.length || dv.getUint32(p, true) !== CENTRAL)
        throw fail(`central directory entry ${i} at byte ${directoryOffset + p} is not one`);
      const flags = dv.getUint16(p + 8, true);
      const method = dv.getUint16(p + 10, true);
      const crc = dv.getUint32(p + 16, true);
      let compressedSize = dv.getUint32(p + 20, true);
      let uncompressed = dv.getUint32(p + 24, true);
      const nameLength = dv.getUint16(p + 28, true);
      const extraLength = dv.getUint16(p + 30, true);
      const commentLength = dv.getUint16(p + 32, true);
      let entryDisk = dv.getUint16(p + 34, true);
      let localHeaderOffset = dv.getUint32(p + 42, true);
      const end = p + 46 + nameLength + extraLength + commentLength;
      if (end > dir.length) throw fail(`central directory entry ${i} runs past the directory's end`);
      const rawName = dir.subarray(p + 46, p + 46 + nameLength);
      const name = decodeName(rawName, fail);
      // ZIP64 extended information: the 64-bit values of the fields saturated above, in this order.
      const extra = dir.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength);
      const z64 = findExtra(extra, ZIP64_EXTRA);
      if (z64) {
        const zv = view(z64);
        let q = 0;
        const next = (what: string) => {
          if (q + 8 > z64.length) throw fail(`entry '${name}': its ZIP64 field lacks ${what}`);
          q += 8;
          return u64(zv, q - 8, `entry '${name}': ${what}`, fail);
        };
        if (uncompressed === U32_MAX) uncompressed = next("the size");
        if (compressedSize === U32_MAX) compressedSize = next("the compressed size");
        if (localHeaderOffset === U32_MAX) localHeaderOffset = next("the offset");
        if (entryDisk === U16_MAX) {
          if (q + 4 > z64.length) throw fail(`entry '${name}': its ZIP64 field lacks the disk number`);
          entryDisk = zv.getUint32(q, true);
        }
      } else if (uncompressed === U32_MAX || compressedSize === U32_MAX || localHeaderOffset === U32_MAX) {
        throw fail(`entry '${name}' has saturated 32-bit sizes and no ZIP64 field`);
      }
      if (entryDisk !== 0) throw fail(`entry '${name}' is on another disk of a spanned archive`);
      if (entries.has(name)) throw fail(`two entries are named '${name}'`);
      if (localHeaderOffset + 30 + compressedSize > directoryOffset) {
        throw fail(
          `entry '${name}' (${compressedSize} bytes at byte ${localHeaderOffset}) runs into the central directory`,
        );
      }
      entries.set(name, {
        name,
        rawName,
        method,
        flags,
        crc32: crc,
        compressedSize,
        size: uncompressed,
        localHeaderOffset,
      });
      p = end;
    }
    return new ZipArchive(source, file, entries, directoryOffset);
  }

  /**
   * The bytes of `entry`, which must declare `size` bytes (or at most `maxSize`, for an entry whose
   * size is not known in advance); it is read or inflated up to that size and no further, and its
   * CRC-32 checked.
   */
  read(entry: ZipEntry, limit: { size: number } | { maxSize: number }): Uint8Array {
    const fail = (message: string) => new InputError(this.file, `zip entry '${entry.name}': ${message}`);
    const mib = (n: number) => (n >= 2 ** 20 ? `${n} bytes (${(n / 2 ** 20).toFixed(1)} MiB)` : `${n} bytes`);
    if ("size" in limit && entry.size !== limit.size)
      throw fail(`declares ${mib(entry.size)}, the data it holds needs ${mib(limit.size)}`);
    if ("maxSize" in limit && entry.size > limit.maxSize)
      throw fail(`declares ${mib(entry.size)}, more than the ${mib(limit.maxSize)} allowed for it`);
    if (entry.flags & FLAG_ENCRYPTED) throw fail("is encrypted");
    if (entry.method !== 0 && entry.method !== 8)
      throw fail(`uses compression method ${entry.method}; only stored (0) and deflated (8) entries can be read`);
    if (entry.method === 0 && entry.compressedSize !== entry.size) {
      throw fail(`is stored, yet its compressed size ${entry.compressedSize} is not its size ${entry.size}`);
    }

    const local = view(this.source.read(entry.localHeaderOffset, 30));
    if (local.getUint32(0, true) !== LOCAL) throw fail(`no local header at byte ${entry.localHeaderOffset}`);
    const nameLength = local.getUint16(26, true);
    const extraLength = local.getUint16(28, true);
    const dataOffset = entry.localHeaderOffset + 30 + nameLength + extraLength;
    if (dataOffset + entry.compressedSize > this.directoryOffset)
      throw fail("its data runs into the central directory");
    const localName = this.source.read(entry.localHeaderOffset + 30, nameLength);
    if (Buffer.compare(localName, entry.rawName) !== 0) {
      throw fail(
        `its local header names '${Buffer.from(localName).toString("latin1")}' (the central directory and the local header disagree)`,
      );
    }
    const localFlags = local.getUint16(6, true);
    if (local.getUint16(8, true) !== entry.method || localFlags & FLAG_ENCRYPTED) {
      throw fail("its local header disagrees with the central directory on the method or encryption");
    }
    if (!(localFlags & FLAG_DATA_DESCRIPTOR)) {
      // Without a data descriptor the local header records the CRC and sizes (0xFFFFFFFF: in its ZIP64 field).
      const [crc, compressed, size] = [local.getUint32(14, true), local.getUint32(18, true), local.getUint32(22, true)];
      if (
        crc !== entry.crc32 ||
        (compressed !== U32_MAX && compressed !== entry.compressedSize) ||
        (size !== U32_MAX && size !== entry.size)
      ) {
        throw fail(
          `its local header (CRC ${hex(crc)}, ${compressed} bytes compressed, ${size} bytes) disagrees with the central directory ` +
            `(CRC ${hex(entry.crc32)}, ${entry.compressedSize}, ${entry.size})`,
        );
      }
    }

    const raw = this.source.read(dataOffset, entry.compressedSize);
    let data: Uint8Array;
    if (entry.method === 0) data = raw;
    else {
      try {
        // maxOutputLength stops zlib as soon as its output passes the declared size.
        data = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === "ERR_BUFFER_TOO_LARGE")
          throw fail(`inflates to more than its declared ${mib(entry.size)} (a zip bomb?); stopped there`);
        throw fail(`corrupt deflate data (${err.message})`);
      }
      if (data.length > entry.size)
        throw fail(`inflates to more than its declared ${mib(entry.size)} (a zip bomb?); stopped there`);
      if (data.length < entry.size) throw fail(`inflates to ${data.length} bytes, its header declares ${entry.size}`);
    }
    const actual = crc32(data) >>> 0;
    if (actual !== entry.crc32)
      throw fail(
        `CRC-32 mismatch: the data has ${hex(actual)}, the archive records ${hex(entry.crc32)} (a damaged or altered file)`,
      );
    return data;
  }
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

function u64(v: DataView, at: number, what: string, fail: (m: string) => Error): number {
  const n = v.getBigUint64(at, true);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw fail(`${what} (${n}) is out of range`);
  return Number(n);
}

/** The data of the extra field with header id `id`, if the entry has one. */
function findExtra(extra: Uint8Array, id: number): Uint8Array | undefined {
  const v = view(extra);
  for (let p = 0; p + 4 <= extra.length;) {
    const length = v.getUint16(p + 2, true);
    if (v.getUint16(p, true) === id) return extra.subarray(p + 4, Math.min(extra.length, p + 4 + length));
    p += 4 + length;
  }
  return undefined;
}

/**
 * An entry name as text. Names that are not plain relative paths (absolute, with a `..` segment, a
 * backslash or a NUL) never come from torch.save and are refused rather than looked up.
 */
function decodeName(bytes: Uint8Array, fail: (m: string) => Error): string {
  let name: string;
  try {
    name = utf8.decode(bytes);
  } catch {
    name = Buffer.from(bytes).toString("latin1");
  }
  if (name === "" || name.startsWith("/") || /[\\\0]/.test(name) || name.split("/").includes("..")) {
    throw fail(`the entry name '${name}' is not a plain relative path`);
  }
  return name;
}
