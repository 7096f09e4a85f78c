// Checkpoints of the clustering phase: everything needed to resume to the same result as an
// uninterrupted run (weights, optimizer state, P, iteration, batch order, RNG state, history).
// Tensors go to state.safetensors, the rest to state.json; the directory is written under a
// temporary name and renamed, so a crash never leaves a half-written checkpoint.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readSafetensors, writeDirAtomically, writeSafetensors, type NamedTensor } from "../io/index.js";
import { InputError } from "../io/errors.js";
import type { TrainingState } from "./dec-training.js";

const FORMAT = "deepclust-clustering-checkpoint-1";

export function saveCheckpoint(dir: string, state: TrainingState, shapes: Record<string, readonly number[]>): void {
  const tensors: Record<string, NamedTensor> = {};
  const shape = (n: string, d: Float32Array) => shapes[n] ?? [d.length];
  for (const [n, d] of Object.entries(state.params)) tensors[`param/${n}`] = { shape: shape(n, d), data: d };
  for (const [n, d] of Object.entries(state.slots)) tensors[`slot/${n}`] = { shape: [d.length], data: d };
  if (state.p) tensors.p = { shape: [state.p.length], data: state.p };
  if (state.best) for (const [n, d] of Object.entries(state.best.params)) tensors[`best/${n}`] = { shape: shape(n, d), data: d };
  const { params: _p, slots: _s, p: _pp, best, ...rest } = state;
  const meta = { format: FORMAT, ...rest, best: best ? { acc: best.acc, iteration: best.iteration } : null };
  writeDirAtomically(dir, true, (tmp) => {
    writeSafetensors(join(tmp, "state.safetensors"), tensors);
    writeFileSync(join(tmp, "state.json"), JSON.stringify(meta));
  });
}

export function loadCheckpoint(dir: string): TrainingState {
  const file = join(dir, "state.json");
  let meta: Omit<TrainingState, "params" | "slots" | "p" | "best"> & { format: string; best: { acc: number; iteration: number } | null };
  try {
    meta = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new InputError(file, `cannot read a checkpoint (${(e as Error).message})`);
  }
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) throw new InputError(file, `not a deepclust clustering checkpoint (expected a JSON object, got ${JSON.stringify(meta)})`);
  if (meta.format !== FORMAT) throw new InputError(file, `not a deepclust clustering checkpoint (format ${String(meta.format)})`);
  const { tensors } = readSafetensors(join(dir, "state.safetensors"));
  const pick = (prefix: string) => Object.fromEntries(Object.entries(tensors).filter(([n]) => n.startsWith(prefix)).map(([n, t]) => [n.slice(prefix.length), t.data]));
  const { format: _f, best, ...rest } = meta;
  return {
    ...rest,
    params: pick("param/"),
    slots: pick("slot/"),
    p: tensors.p?.data ?? null,
    best: best ? { ...best, params: pick("best/") } : null,
  };
}
