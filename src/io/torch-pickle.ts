// Reading a PyTorch state_dict saved with torch.save (the zip format of PyTorch ≥ 1.6) without
// Python and without executing anything.
//
// The archive holds `<name>/data.pkl` (a pickle, protocol 2), `<name>/data/<key>` (each storage's
// raw bytes), `<name>/version` and, from PyTorch 2.1 on, `<name>/byteorder`. The pickle describes
// an OrderedDict of tensors; each tensor is a call of torch._utils._rebuild_tensor_v2 on a storage
// reference (a persistent id: ('storage', torch.FloatStorage, key, location, numel)), an offset,
// a size and a stride.
//
// A pickle is a program: its GLOBAL and REDUCE opcodes import and call any Python function, which
// is how a malicious .pth runs code on the machine that loads it. This unpickler is a restricted
// interpreter for the opcodes a state_dict uses. It imports nothing and calls nothing: the few
// globals a state_dict needs (collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// torch._utils._rebuild_parameter, the torch.*Storage types) are names it recognises and builds
// plain data for; any other global, and any opcode outside the list, stops the read with an error
// that names it.

import { DEFAULTS } from "../config.js";
import { statSync, type Stats } from "node:fs";
import { InputError } from "./errors.js";
import { bytesSource, fileSource, ZipArchive, type ByteSource } from "./zip-archive.js";

/** Element types of torch storages, by the storage class that names them in the pickle. */
const STORAGE_TYPES = {
  FloatStorage: { dtype: "float32", bytes: 4 },
  DoubleStorage: { dtype: "float64", bytes: 8 },
  HalfStorage: { dtype: "float16", bytes: 2 },
  BFloat16Storage: { dtype: "bfloat16", bytes: 2 },
  LongStorage: { dtype: "int64", bytes: 8 },
  IntStorage: { dtype: "int32", bytes: 4 },
  ShortStorage: { dtype: "int16", bytes: 2 },
  CharStorage: { dtype: "int8", bytes: 1 },
  ByteStorage: { dtype: "uint8", bytes: 1 },
  BoolStorage: { dtype: "bool", bytes: 1 },
} as const;

export type TorchDtype = (typeof STORAGE_TYPES)[keyof typeof STORAGE_TYPES]["dtype"];

/** The dtypes whose tensors can be read (converted to float32). */
export const READABLE_DTYPES: readonly TorchDtype[] = ["float32", "float64"];

/** One tensor of a state_dict: its layout, and its values on demand. */
export interface TorchTensor {
  readonly shape: readonly number[];
  readonly dtype: TorchDtype;
  /** Elements between consecutive indices of each dimension, in the storage. */
  readonly stride: readonly number[];
  readonly storageOffset: number;
  /** The values in row-major order as float32 (float64 is rounded); other dtypes throw. */
  read(): Float32Array;
}

export interface TorchStateDict {
  /** The tensors, in the file's order. */
  readonly tensors: ReadonlyMap<string, TorchTensor>;
  /** The archive's top-level folder (torch.save names it after the file). */
  readonly archiveName: string;
}

// ---- Python values the unpickler builds ------------------------------------------------------

class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
type PyKey = string | number | bigint | boolean | null;
class PyDict {
  readonly map = new Map<PyKey, PyValue>();
  /** What BUILD set on it (an OrderedDict's attributes, e.g. a state_dict's _metadata). */
  attributes: PyValue = null;
}
/** A global the unpickler recognised; it is never imported, only compared by name. */
class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}
class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: TorchDtype,
    readonly itemBytes: number,
    readonly numel: number,
  ) {}
}
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}
type PyValue = PyKey | PyTuple | PyValue[] | PyDict | PyGlobal | StorageRef | TensorRef;

function typeName(v: PyValue): string {
  if (v === null) return "None";
  if (typeof v === "string") return "str";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "bigint") return "int";
  if (Array.isArray(v)) return "list";
  if (v instanceof PyTuple) return "tuple";
  if (v instanceof PyDict) return "dict";
  if (v instanceof PyGlobal) return v.qualified;
  if (v instanceof StorageRef) return "storage";
  return "tensor";
}

/** "an int", "a tuple", "None": a value's type for messages. */
function describe(v: PyValue): string {
  const t = typeName(v);
  return t === "None" ? t : /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

// ---- The globals a state_dict needs ------------------------------------------------------------

const ORDERED_DICT = "collections.OrderedDict";
const REBUILD_TENSOR = "torch._utils._rebuild_tensor_v2";
const REBUILD_PARAMETER = "torch._utils._rebuild_parameter";

function allowedGlobal(module: string, name: string): boolean {
  const q = `${module}.${name}`;
  return (
    q === ORDERED_DICT ||
    q === REBUILD_TENSOR ||
    q === REBUILD_PARAMETER ||
    (module === "torch" && Object.hasOwn(STORAGE_TYPES, name))
  );
}

// ---- Opcodes -----------------------------------------------------------------------------------

/** Every pickle opcode by byte, for error messages (only some are implemented). */
const OPCODE_NAMES: Record<number, string> = {
  0x28: "MARK",
  0x2e: "STOP",
  0x30: "POP",
  0x31: "POP_MARK",
  0x32: "DUP",
  0x46: "FLOAT",
  0x49: "INT",
  0x4a: "BININT",
  0x4b: "BININT1",
  0x4c: "LONG",
  0x4d: "BININT2",
  0x4e: "NONE",
  0x50: "PERSID",
  0x51: "BINPERSID",
  0x52: "REDUCE",
  0x53: "STRING",
  0x54: "BINSTRING",
  0x55: "SHORT_BINSTRING",
  0x56: "UNICODE",
  0x58: "BINUNICODE",
  0x61: "APPEND",
  0x62: "BUILD",
  0x63: "GLOBAL",
  0x64: "DICT",
  0x7d: "EMPTY_DICT",
  0x65: "APPENDS",
  0x67: "GET",
  0x68: "BINGET",
  0x69: "INST",
  0x6a: "LONG_BINGET",
  0x6c: "LIST",
  0x5d: "EMPTY_LIST",
  0x6f: "OBJ",
  0x70: "PUT",
  0x71: "BINPUT",
  0x72: "LONG_BINPUT",
  0x73: "SETITEM",
  0x74: "TUPLE",
  0x29: "EMPTY_TUPLE",
  0x75: "SETITEMS",
  0x47: "BINFLOAT",
  0x80: "PROTO",
  0x81: "NEWOBJ",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
  0x85: "TUPLE1",
  0x86: "TUPLE2",
  0x87: "TUPLE3",
  0x88: "NEWTRUE",
  0x89: "NEWFALSE",
  0x8a: "LONG1",
  0x8b: "LONG4",
  0x42: "BINBYTES",
  0x43: "SHORT_BINBYTES",
  0x8c: "SHORT_BINUNICODE",
  0x8d: "BINUNICODE8",
  0x8e: "BINBYTES8",
  0x8f: "EMPTY_SET",
  0x90: "ADDITEMS",
  0x91: "FROZENSET",
  0x92: "NEWOBJ_EX",
  0x93: "STACK_GLOBAL",
  0x94: "MEMOIZE",
  0x95: "FRAME",
  0x96: "BYTEARRAY8",
  0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
};

const utf8 = new TextDecoder("utf-8", { fatal: true });

class PickleError extends Error {}

/**
 * Runs the restricted unpickler over `bytes` and returns the top-level value; storages (BINPERSID)
 * become references to the archive's data/<key> entries. Throws PickleError naming the offending
 * opcode or global.
 */
function unpickle(bytes: Uint8Array): PyValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let stack: PyValue[] = [];
  const marks: PyValue[][] = [];
  const memo = new Map<number, PyValue>();
  const storages = new Map<string, StorageRef>();

  const need = (n: number, what: string) => {
    if (pos + n > bytes.length) throw new PickleError(`truncated pickle: ${what} runs past the end at byte ${pos}`);
  };
  const u8 = () => {
    need(1, "an argument");
    return bytes[pos++]!;
  };
  const u16 = () => {
    need(2, "an argument");
    pos += 2;
    return view.getUint16(pos - 2, true);
  };
  const u32 = () => {
    need(4, "an argument");
    pos += 4;
    return view.getUint32(pos - 4, true);
  };
  const u64 = () => {
    need(8, "an argument");
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) throw new PickleError(`length ${v} at byte ${pos - 8} is past the end of the pickle`);
    return Number(v);
  };
  const text = (n: number) => {
    need(n, "a string");
    const s = utf8.decode(bytes.subarray(pos, pos + n));
    pos += n;
    return s;
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new PickleError(`truncated pickle: GLOBAL at byte ${pos} has no end of line`);
    const s = utf8.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): PyValue => {
    if (stack.length === 0) throw new PickleError(`stack underflow at byte ${pos - 1}`);
    return stack.pop()!;
  };
  const top = (): PyValue => {
    if (stack.length === 0) throw new PickleError(`stack underflow at byte ${pos - 1}`);
    return stack.at(-1)!;
  };
  const popMark = (): PyValue[] => {
    const items = stack;
    const prev = marks.pop();
    if (!prev) throw new PickleError(`no MARK before byte ${pos - 1}`);
    stack = prev;
    return items;
  };
  const key = (k: PyValue): PyKey => {
    if (k === null || ["string", "number", "bigint", "boolean"].includes(typeof k)) return k as PyKey;
    throw new PickleError(`unsupported dict key of type ${typeName(k)} at byte ${pos - 1}`);
  };
  const setItems = (target: PyValue, items: PyValue[]) => {
    if (!(target instanceof PyDict)) throw new PickleError(`SETITEM(S) on ${describe(target)} at byte ${pos - 1}`);
    if (items.length % 2) throw new PickleError(`SETITEMS with an odd number of items at byte ${pos - 1}`);
    for (let i = 0; i < items.length; i += 2) target.map.set(key(items[i]!), items[i + 1]!);
  };
  const appendItems = (target: PyValue, items: PyValue[]) => {
    if (!Array.isArray(target)) throw new PickleError(`APPEND(S) on ${describe(target)} at byte ${pos - 1}`);
    target.push(...items);
  };
  const memoGet = (i: number) => {
    if (!memo.has(i)) throw new PickleError(`memo entry ${i} read before it was written (byte ${pos})`);
    return memo.get(i)!;
  };
  const global = (module: string, name: string) => {
    if (!allowedGlobal(module, name)) throw new DisallowedGlobal(module, name);
    return new PyGlobal(module, name);
  };
  const int = (v: PyValue, what: string): number => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
      throw new PickleError(
        `${what} must be a non-negative integer, got ${describe(v)}${typeof v === "object" && v !== null ? "" : ` ${String(v)}`}`,
      );
    return v;
  };
  const ints = (v: PyValue, what: string): number[] => {
    if (!(v instanceof PyTuple)) throw new PickleError(`${what} must be a tuple, got ${describe(v)}`);
    return v.items.map((x) => int(x, what));
  };
  const reduce = (fn: PyValue, args: PyValue): PyValue => {
    if (!(fn instanceof PyGlobal)) throw new PickleError(`REDUCE calls ${describe(fn)} at byte ${pos - 1}`);
    if (!(args instanceof PyTuple))
      throw new PickleError(`REDUCE of ${fn.qualified} with ${describe(args)} as arguments at byte ${pos - 1}`);
    const a = args.items;
    switch (fn.qualified) {
      case ORDERED_DICT: {
        const d = new PyDict();
        if (a.length === 0) return d;
        if (a.length === 1 && Array.isArray(a[0])) {
          for (const pair of a[0]) {
            if (!(pair instanceof PyTuple) || pair.items.length !== 2)
              throw new PickleError("OrderedDict items must be (key, value) pairs");
            d.map.set(key(pair.items[0]!), pair.items[1]!);
          }
          return d;
        }
        throw new PickleError(`OrderedDict called with ${a.length} arguments`);
      }
      case REBUILD_TENSOR: {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (a.length < 6 || a.length > 7)
          throw new PickleError(`${REBUILD_TENSOR} called with ${a.length} arguments, expected 6 or 7`);
        const [storage, offset, size, stride] = a;
        if (!(storage instanceof StorageRef))
          throw new PickleError(`${REBUILD_TENSOR}: the first argument is ${describe(storage!)}, not a storage`);
        const shape = ints(size!, "a tensor's size");
        const strides = ints(stride!, "a tensor's stride");
        if (shape.length !== strides.length)
          throw new PickleError(`a tensor's size [${shape}] and stride [${strides}] differ in length`);
        return new TensorRef(storage, int(offset!, "a storage offset"), shape, strides);
      }
      case REBUILD_PARAMETER: {
        // (data, requires_grad, backward_hooks): a Parameter is its tensor here.
        if (a.length !== 3 || !(a[0] instanceof TensorRef))
          throw new PickleError(`${REBUILD_PARAMETER} called without a tensor`);
        return a[0];
      }
      default:
        throw new PickleError(`${fn.qualified} cannot be called (REDUCE at byte ${pos - 1})`);
    }
  };
  const persistentLoad = (pid: PyValue): StorageRef => {
    // ('storage', storage_type, key, location, numel)
    const t = pid instanceof PyTuple ? pid.items : [];
    const [tag, type, k, , numel] = t;
    if (t.length !== 5 || tag !== "storage" || !(type instanceof PyGlobal) || typeof k !== "string") {
      throw new PickleError("a persistent id that is not a torch storage reference");
    }
    const info = STORAGE_TYPES[type.name as keyof typeof STORAGE_TYPES];
    if (type.module !== "torch" || !info) throw new PickleError(`storage type ${type.qualified} is not supported`);
    // torch.save numbers its storages; a key is only ever looked up as the entry data/<key>.
    if (!/^[\w.-]+$/.test(k) || k === "." || k === "..")
      throw new PickleError(`storage key '${k}' is not a plain name`);
    const size = int(numel!, "a storage's size");
    const known = storages.get(k);
    if (known) {
      if (known.dtype !== info.dtype || known.numel !== size) {
        throw new PickleError(
          `storage ${k} is referenced as ${known.numel} ${known.dtype} elements and as ${size} ${info.dtype} elements`,
        );
      }
      return known;
    }
    const ref = new StorageRef(k, info.dtype, info.bytes, size);
    storages.set(k, ref);
    return ref;
  };

  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: {
        // PROTO
        const proto = u8();
        if (proto < 2 || proto > 5) throw new PickleError(`pickle protocol ${proto} is not supported`);
        break;
      }
      case 0x95: // FRAME (protocol 4+): only a length hint
        u64();
        break;
      case 0x2e: {
        // STOP
        const result = pop();
        if (stack.length || marks.length) throw new PickleError(`items left on the stack at STOP (byte ${at})`);
        return result;
      }
      case 0x28: // MARK
        marks.push(stack);
        stack = [];
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x64: {
        // DICT
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x6c: {
        // LIST (popMark first: it replaces `stack`)
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x74: {
        // TUPLE
        const items = popMark();
        stack.push(new PyTuple(items));
        break;
      }
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const n = op - 0x84;
        if (stack.length < n) throw new PickleError(`stack underflow at byte ${at}`);
        stack.push(new PyTuple(stack.splice(stack.length - n, n)));
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x4a: // BININT
        need(4, "BININT");
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: {
        // LONG1: n-byte little-endian two's complement
        const n = u8();
        need(n, "LONG1");
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[pos + i]!);
        if (n > 0 && bytes[pos + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        pos += n;
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT: big-endian float64
        need(8, "BINFLOAT");
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string")
          throw new PickleError(`STACK_GLOBAL without two strings at byte ${at}`);
        stack.push(global(module, name));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(reduce(fn, args));
        break;
      }
      case 0x62: {
        // BUILD: only an OrderedDict's attributes (a state_dict's _metadata)
        const state = pop();
        const obj = top();
        if (!(obj instanceof PyDict) || !(state instanceof PyDict))
          throw new PickleError(`BUILD of ${describe(obj)} from ${describe(state)} is not supported (byte ${at})`);
        obj.attributes = state;
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop()));
        break;
      default: {
        const name = OPCODE_NAMES[op];
        throw new PickleError(
          `opcode ${name ?? "(unknown)"} (0x${op.toString(16).padStart(2, "0")}) at byte ${at} is not allowed: a state_dict pickle does not use it`,
        );
      }
    }
  }
}

class DisallowedGlobal extends PickleError {
  constructor(module: string, name: string) {
    const whole = module === "__main__" || module.startsWith("torch.nn.");
    super(
      `global '${module}.${name}' is not allowed: only a state_dict of tensors can be imported ` +
        `(allowed: ${ORDERED_DICT}, ${REBUILD_TENSOR}, ${REBUILD_PARAMETER}, torch.*Storage); nothing in the file was executed` +
        (whole ? ". This looks like a whole pickled module (torch.save(model)): save model.state_dict() instead" : ""),
    );
  }
}

// ---- Tensors -----------------------------------------------------------------------------------

/** Row-major float32 values of a tensor, gathered through its offset and strides. */
function gather(t: TensorRef, bytes: Uint8Array, name: string): Float32Array {
  const { storage, shape, stride, offset } = t;
  if (!READABLE_DTYPES.includes(storage.dtype)) {
    throw new PickleError(
      `tensor '${name}' is ${storage.dtype}; only ${READABLE_DTYPES.join(" and ")} tensors can be imported (convert with .float() before saving)`,
    );
  }
  if (bytes.length !== storage.numel * storage.itemBytes) {
    throw new PickleError(
      `storage ${storage.key} of tensor '${name}' has ${bytes.length} bytes, its ${storage.numel} ${storage.dtype} elements need ${storage.numel * storage.itemBytes}`,
    );
  }
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (n === 0) return out;
  // checkLayout has kept the last index inside the storage and n within the limits.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const get =
    storage.dtype === "float64"
      ? (i: number) => view.getFloat64(8 * i, true)
      : (i: number) => view.getFloat32(4 * i, true);
  // An odometer over the indices, innermost dimension fastest: any stride, including the
  // non-contiguous ones of a transposed or sliced view, reads correctly.
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let src = offset;
  for (let i = 0; i < n; i++) {
    out[i] = get(src);
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) {
        src += stride[d]!;
        break;
      }
      src -= (shape[d]! - 1) * stride[d]!;
      index[d] = 0;
    }
  }
  return out;
}

// ---- The archive -------------------------------------------------------------------------------

/**
 * How much a state_dict may make the reader allocate. A tensor's size is that of its float32 values
 * or, where larger, of the storage it is read from (a float64 storage, or a big storage under a small
 * view): a 1.8 KB file of stride-0 tensors (torch.ones(1).expand(50000, 50000)) would otherwise
 * materialise 10 GB. Both are checked on the pickle's shapes, before any data is read.
 */
export interface TorchLimits {
  /** Bytes of one tensor. */
  maxTensorBytes: number;
  /** Bytes of all the tensors together (a model built from them is held to it too). */
  maxImportBytes: number;
}

const MiB = 2 ** 20;
/** Far above a DEC model, far below a bomb (defined in config.ts). */
export const DEFAULT_TORCH_LIMITS: Readonly<TorchLimits> = DEFAULTS.torchLimits;
/** data.pkl of a state_dict takes about 150 bytes a tensor; its objects take many times its size. */
const MAX_PICKLE_BYTES = 16 * MiB;

/** "9536.7 MiB", "1280 bytes" under 1 MiB, "4.19e+18 MiB" for sizes only a hostile shape has. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "more than 1e308 bytes";
  if (n < MiB) return `${Math.floor(n)} bytes`;
  return n / MiB < 1e9 ? `${+(n / MiB).toFixed(1)} MiB` : `${(n / MiB).toExponential(2)} MiB`;
}

/** Reads a state_dict written by torch.save(model.state_dict(), file). Throws InputError. */
export function readTorchStateDict(file: string, limits: Partial<TorchLimits> = {}): TorchStateDict {
  let stat: Stats;
  try {
    stat = statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, code === "ENOENT" ? "file not found" : `cannot read (${code ?? String(e)})`);
  }
  if (stat.isDirectory()) throw new InputError(file, "is a directory, not a .pth file");
  return readArchive(fileSource(file, stat.size), file, limits);
}

/** readTorchStateDict on the bytes of a file; `file` names the source in errors. */
export function parseTorchStateDict(
  bytes: Uint8Array,
  file: string,
  limits: Partial<TorchLimits> = {},
): TorchStateDict {
  return readArchive(bytesSource(bytes), file, limits);
}

function readArchive(source: ByteSource, file: string, given: Partial<TorchLimits>): TorchStateDict {
  const limits: TorchLimits = {
    maxTensorBytes: given.maxTensorBytes ?? DEFAULT_TORCH_LIMITS.maxTensorBytes,
    maxImportBytes: given.maxImportBytes ?? DEFAULT_TORCH_LIMITS.maxImportBytes,
  };
  for (const [name, v] of Object.entries(limits))
    if (!(v > 0)) throw new RangeError(`${name} must be a positive number of bytes, got ${v}`);
  if (source.size === 0) throw new InputError(file, "the file is empty");
  const head = source.read(0, Math.min(4, source.size));
  const isZip = head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5);
  if (!isZip) {
    if (head[0] === 0x80)
      throw new InputError(
        file,
        "a legacy (pre-zip) torch.save file: load it in PyTorch and save it again with torch.save(state_dict, path) (PyTorch ≥ 1.6, without _use_new_zipfile_serialization=False)",
      );
    throw new InputError(file, "not a PyTorch file: torch.save writes a zip archive, this file is not one");
  }
  const zip = ZipArchive.open(source, file);
  const names = [...zip.entries.keys()];
  const pickles = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    const script = names.some((n) => /(^|\/)(constants\.pkl|code\/)/.test(n));
    throw new InputError(
      file,
      pickles.length > 1
        ? "the archive holds more than one data.pkl"
        : script
          ? "a TorchScript archive (torch.jit.save), not a state_dict: save model.state_dict() with torch.save"
          : "a zip archive without data.pkl: not a torch.save file",
    );
  }
  const prefix = pickles[0]!.slice(0, -"data.pkl".length);
  const order = zip.entries.get(`${prefix}byteorder`);
  if (order !== undefined) {
    const o = utf8.decode(zip.read(order, { maxSize: 16 })).trim();
    if (o !== "little") throw new InputError(file, `byteorder is '${o}': only little-endian files are supported`);
  }

  let root: PyValue;
  try {
    root = unpickle(zip.read(zip.entries.get(pickles[0]!)!, { maxSize: MAX_PICKLE_BYTES }));
  } catch (e) {
    if (e instanceof PickleError) throw new InputError(file, e.message);
    if (e instanceof TypeError) throw new InputError(file, `data.pkl: invalid text (${e.message})`);
    throw e;
  }
  if (!(root instanceof PyDict))
    throw new InputError(file, `the pickle holds ${describe(root)}, not a state_dict (a dict of tensors)`);
  const tensors = new Map<string, TorchTensor>();
  let total = 0;
  for (const [k, v] of root.map) {
    if (typeof k !== "string") throw new InputError(file, `state_dict key ${String(k)} is not a string`);
    if (!(v instanceof TensorRef)) {
      const hint = v instanceof PyDict ? " (a training checkpoint? save model.state_dict() itself)" : "";
      throw new InputError(file, `state_dict entry '${k}' is ${describe(v)}, not a tensor${hint}`);
    }
    const bytes = checkLayout(v, k, limits, file);
    total += bytes;
    if (total > limits.maxImportBytes) {
      throw new InputError(
        file,
        `the tensors up to '${k}' take ${formatBytes(total)} (as float32, or as their storages where larger), ` +
          `over the limit of ${formatBytes(limits.maxImportBytes)} for the whole import (raise it with --max-import-mib, or maxImportBytes in the library)`,
      );
    }
    const storageFile = `${prefix}data/${v.storage.key}`;
    tensors.set(k, {
      shape: v.shape,
      dtype: v.storage.dtype,
      stride: v.stride,
      storageOffset: v.offset,
      read: () => {
        const entry = zip.entries.get(storageFile);
        if (!entry) throw new InputError(file, `tensor '${k}': storage ${storageFile} is missing from the archive`);
        const data = zip.read(entry, { size: v.storage.numel * v.storage.itemBytes });
        try {
          return gather(v, data, k);
        } catch (e) {
          throw e instanceof PickleError ? new InputError(file, e.message) : e;
        }
      },
    });
  }
  return { tensors, archiveName: prefix.slice(0, -1) };
}

/**
 * Checks a tensor's layout against its storage and the per-tensor limit, from the pickle alone;
 * returns its size in bytes (float32 values, or its storage where larger).
 */
function checkLayout(t: TensorRef, name: string, limits: TorchLimits, file: string): number {
  const { storage, shape, stride, offset } = t;
  const fail = (message: string) => new InputError(file, `tensor '${name}' ${message}`);
  // A zero dimension first: an overflowing product times 0 would be NaN and pass every check.
  const numel = shape.includes(0) ? 0 : shape.reduce((a, b) => a * b, 1);
  const values = 4 * numel;
  const storageBytes = storage.numel * storage.itemBytes;
  const raise = "(raise it with --max-tensor-mib, or maxTensorBytes in the library)";
  if (values > limits.maxTensorBytes) {
    const expanded = stride.some((s, d) => s === 0 && shape[d]! > 1);
    const strided = expanded
      ? ` from a storage of ${storage.numel} element${storage.numel === 1 ? "" : "s"} (stride [${stride}])`
      : "";
    throw fail(
      `[${shape}] takes ${formatBytes(values)} as float32${strided}, over the limit of ${formatBytes(limits.maxTensorBytes)} a tensor ${raise}`,
    );
  }
  if (storageBytes > limits.maxTensorBytes) {
    const over = `over the limit of ${formatBytes(limits.maxTensorBytes)} a tensor ${raise}`;
    throw fail(
      `is read from storage ${storage.key} of ${storage.numel} ${storage.dtype} elements (${formatBytes(storageBytes)}), ${over}`,
    );
  }
  if (numel > 0) {
    const last = offset + shape.reduce((s, d, i) => s + (d - 1) * stride[i]!, 0);
    if (last >= storage.numel) {
      throw fail(
        `(offset ${offset}, size [${shape}], stride [${stride}]) reaches element ${last}, past the end of its storage of ${storage.numel} elements`,
      );
    }
  }
  return Math.max(values, storageBytes);
}
