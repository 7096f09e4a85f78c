// Checkpoints of the clustering phase: everything needed to resume to the same result as an
// uninterrupted run (weights, optimizer state, P, iteration, batch order, RNG state, history).
// Tensors go to state.safetensors, the rest to state.json; the directory is written under a
// temporary name and renamed, so a crash never leaves a half-written checkpoint.
//
// A checkpoint continues one run only: state.json records that run's data (a fingerprint) and its
// resolved options, and checkResume refuses other data or options with every difference listed,
// before any state is copied (the batch order, labels and P are per row; the weights' shapes follow
// the options).

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  holdsOnly,
  readJsonObject,
  readSafetensors,
  writeDirAtomically,
  writeSafetensors,
  type NamedTensor,
  type OwnedDirKind,
} from "../io/index.js";
import { InputError } from "../io/errors.js";
import type { TrainingState } from "./dec-training.js";
import type { DataFingerprint } from "./data-fingerprint.js";

/** -2 added the data fingerprint and the options; a -1 checkpoint cannot be checked and is refused. */
const FORMAT = "deepclust-clustering-checkpoint-2";
const OLDER_FORMATS = ["deepclust-clustering-checkpoint-1"];
const FILES = { state: "state.json", tensors: "state.safetensors" } as const;

/** A checkpoint directory, as a run may replace it: state.json of a deepclust checkpoint format, and only the checkpoint's files. */
export const CHECKPOINT_DIR: OwnedDirKind = {
  description: "a deepclust checkpoint directory (state.json of a deepclust checkpoint and state.safetensors only)",
  recognise: (dir) => {
    if (!holdsOnly(dir, Object.values(FILES), FILES.state)) return false;
    const format = readJsonObject(join(dir, FILES.state))?.format;
    return typeof format === "string" && (format === FORMAT || OLDER_FORMATS.includes(format));
  },
};

/**
 * Options that may differ on resume: threads and the device change where a run computes (results
 * may then differ in the last bits from an uninterrupted run's); maxIter only moves the end (a
 * resumed run with a larger maxIter ends where an uninterrupted run with it ends), as long as it
 * is not below the checkpoint's iteration.
 */
export const RESUME_MAY_DIFFER: readonly string[] = ["threads", "device", "maxIter"];

/** What a checkpoint was written for: the data and the resolved options (plain JSON). */
export interface CheckpointRecord {
  data: DataFingerprint;
  config: Record<string, unknown>;
}

export interface Checkpoint extends CheckpointRecord {
  state: TrainingState;
}

export function saveCheckpoint(
  dir: string,
  state: TrainingState,
  shapes: Record<string, readonly number[]>,
  record: CheckpointRecord,
): void {
  const tensors: Record<string, NamedTensor> = {};
  const shape = (n: string, d: Float32Array) => shapes[n] ?? [d.length];
  for (const [n, d] of Object.entries(state.params)) tensors[`param/${n}`] = { shape: shape(n, d), data: d };
  for (const [n, d] of Object.entries(state.slots)) tensors[`slot/${n}`] = { shape: [d.length], data: d };
  if (state.p) tensors.p = { shape: [state.p.length], data: state.p };
  if (state.best)
    for (const [n, d] of Object.entries(state.best.params)) tensors[`best/${n}`] = { shape: shape(n, d), data: d };
  const { params: _p, slots: _s, p: _pp, best, ...rest } = state;
  const meta = {
    format: FORMAT,
    data: record.data,
    config: record.config,
    ...rest,
    best: best ? { acc: best.acc, iteration: best.iteration } : null,
  };
  writeDirAtomically(dir, CHECKPOINT_DIR, (tmp) => {
    writeSafetensors(join(tmp, FILES.tensors), tensors);
    writeFileSync(join(tmp, FILES.state), JSON.stringify(meta));
  });
}

type Meta = Omit<TrainingState, "params" | "slots" | "p" | "best"> &
  CheckpointRecord & { format: string; best: { acc: number; iteration: number } | null };

export function loadCheckpoint(dir: string): Checkpoint {
  const file = join(dir, FILES.state);
  let meta: Meta;
  try {
    meta = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new InputError(file, `cannot read a checkpoint (${(e as Error).message})`);
  }
  if (typeof meta !== "object" || meta === null || Array.isArray(meta))
    throw new InputError(
      file,
      `not a deepclust clustering checkpoint (expected a JSON object, got ${JSON.stringify(meta)})`,
    );
  if (OLDER_FORMATS.includes(meta.format)) {
    const why =
      "without a record of its training data and options, so it cannot be checked against this run; train again";
    throw new InputError(
      file,
      `this checkpoint was written by an older deepclust (format ${meta.format}) ${why} (new checkpoints resume)`,
    );
  }
  if (meta.format !== FORMAT)
    throw new InputError(file, `not a deepclust clustering checkpoint (format ${String(meta.format)})`);
  const { tensors } = readSafetensors(join(dir, FILES.tensors));
  const pick = (prefix: string) =>
    Object.fromEntries(
      Object.entries(tensors)
        .filter(([n]) => n.startsWith(prefix))
        .map(([n, t]) => [n.slice(prefix.length), t.data]),
    );
  const { format: _f, data, config, best, ...rest } = meta;
  return {
    data,
    config,
    state: {
      ...rest,
      params: pick("param/"),
      slots: pick("slot/"),
      p: tensors.p?.data ?? null,
      best: best ? { ...best, params: pick("best/") } : null,
    },
  };
}

/**
 * Throws an InputError (naming dir/state.json) that lists every difference between the run that
 * wrote `checkpoint` and this one (`now`): rows, columns, the values (and the labels, when either
 * run selects by labels), and each resolved option except RESUME_MAY_DIFFER, as "field:
 * checkpoint X, now Y"; and when now.config.maxIter is below the checkpoint's iteration.
 */
export function checkResume(dir: string, checkpoint: Checkpoint, now: CheckpointRecord): void {
  const then = checkpoint.data;
  const data = now.data;
  const differences: string[] = [];
  const differ = (field: string, a: unknown, b: unknown) =>
    differences.push(`${field}: checkpoint ${show(a)}, now ${show(b)}`);
  if (then.rows !== data.rows) differ("rows", then.rows, data.rows);
  if (then.cols !== data.cols) differ("columns", then.cols, data.cols);
  if (then.rows === data.rows && then.cols === data.cols && then.sha256 !== data.sha256) {
    const values = `checkpoint sha256 ${then.sha256.slice(0, 12)}…, now sha256 ${data.sha256.slice(0, 12)}…`;
    differences.push(`data values: ${values} (other values, or the same rows in another order)`);
  }
  const selectsByLabels = checkpoint.config.selectBestByLabels || now.config.selectBestByLabels;
  if (selectsByLabels && then.labelsSha256 !== data.labelsSha256) {
    const hash = (h: string | null) => (h ? `sha256 ${h.slice(0, 12)}…` : null);
    differ("labels (they select the model)", hash(then.labelsSha256), hash(data.labelsSha256));
  }
  compareFields("", checkpoint.config, plainJson(now.config), differ);
  const maxIter = now.config.maxIter;
  if (typeof maxIter === "number" && maxIter < checkpoint.state.iteration) {
    differences.push(
      `maxIter: the checkpoint is at iteration ${checkpoint.state.iteration}, now ${maxIter} (it may grow, not fall below that)`,
    );
  }
  if (differences.length === 0) return;
  throw new InputError(
    join(dir, FILES.state),
    `this checkpoint was written by a run on other data or with other options, so resuming would not continue that run:\n  ${differences.join("\n  ")}\n` +
      `Resume with that run's data and options (only ${RESUME_MAY_DIFFER.join(", ")} may change), or train from scratch.`,
  );
}

/** Calls differ(path, a, b) for every field that differs; objects on both sides are compared field by field. */
type Differ = (field: string, a: unknown, b: unknown) => void;
function compareFields(path: string, a: Record<string, unknown>, b: Record<string, unknown>, differ: Differ): void {
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const field = path ? `${path}.${key}` : key;
    if (!path && RESUME_MAY_DIFFER.includes(key)) continue;
    const x = a[key] ?? null;
    const y = b[key] ?? null;
    if (isObject(x) && isObject(y)) compareFields(field, x, y, differ);
    else if (canonical(x) !== canonical(y)) differ(field, x, y);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** JSON with sorted keys, so that key order does not count as a difference. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (isObject(v))
    return `{${Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(",")}}`;
  return JSON.stringify(v ?? null);
}

/** The value as state.json holds it (undefined fields dropped). */
function plainJson(v: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(v));
}

function show(v: unknown): string {
  if (v === null || v === undefined) return "none";
  if (Array.isArray(v)) return v.join(",");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

/**
 * Throws an InputError naming dir/state.safetensors and the tensor when the checkpoint's tensors
 * under `prefix` are not exactly `expected` (name → number of values): a damaged or edited checkpoint
 * (checkResume has already refused other options, which would change the shapes).
 */
export function checkStateTensors(
  file: string,
  prefix: string,
  got: Record<string, Float32Array>,
  expected: Record<string, number>,
): void {
  for (const [name, size] of Object.entries(expected)) {
    const t = got[name];
    if (!t) throw new InputError(file, `tensor '${prefix}${name}' is missing`);
    if (t.length !== size)
      throw new InputError(file, `tensor '${prefix}${name}' holds ${t.length} values, the model needs ${size}`);
  }
  for (const name of Object.keys(got))
    if (!(name in expected)) throw new InputError(file, `tensor '${prefix}${name}' is not part of the model`);
}
