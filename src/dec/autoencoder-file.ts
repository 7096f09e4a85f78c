// Saving and loading a pretrained autoencoder: weights as safetensors with the reference implementation's
// PyTorch names and layouts, architecture in the file's metadata.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Rng } from "../engine/index.js";
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
import { Autoencoder } from "./autoencoder.js";
import type { SessionOptions } from "../engine/index.js";

/** The directory `deepclust pretrain --out` writes: the weights and a JSON record of the run. */
export const PRETRAIN_FILES = { weights: "autoencoder.safetensors", record: "pretrain.json" } as const;
export const PRETRAIN_FORMAT = "deepclust-pretrain";

/** A pretraining output directory, as --force may replace it: its two files and nothing else. */
export const PRETRAIN_DIR: OwnedDirKind = {
  description: `a deepclust pretraining directory (${PRETRAIN_FILES.record} and ${PRETRAIN_FILES.weights} only)`,
  recognise: (dir) => {
    if (!holdsOnly(dir, Object.values(PRETRAIN_FILES), PRETRAIN_FILES.record)) return false;
    const record = readJsonObject(join(dir, PRETRAIN_FILES.record));
    // Records written before the format field: the fields only pretrain.json has.
    return (
      record?.format === PRETRAIN_FORMAT ||
      (record !== null && "reconstructionMse" in record && "meanPredictorMse" in record)
    );
  },
};

/** Writes a pretraining directory (replacing one only when `replace` and it is recognisably one). */
export function savePretrainDir(dir: string, ae: Autoencoder, record: Record<string, unknown>, replace: boolean): void {
  writeDirAtomically(dir, replace ? PRETRAIN_DIR : null, (tmp) => {
    saveAutoencoder(ae, join(tmp, PRETRAIN_FILES.weights));
    writeFileSync(
      join(tmp, PRETRAIN_FILES.record),
      JSON.stringify({ format: PRETRAIN_FORMAT, ...record }, null, 2) + "\n",
    );
  });
}

export function saveAutoencoder(ae: Autoencoder, file: string): void {
  const tensors: Record<string, NamedTensor> = {};
  for (const p of ae.allParams) tensors[p.name] = { shape: p.shape, data: ae.params.value(p.name) };
  writeSafetensors(file, tensors, {
    format: "deepclust-autoencoder",
    dims: JSON.stringify(ae.dims),
    normalize_code: String(ae.normalizeCode),
  });
}

export function loadAutoencoder(file: string, rng: Rng, session: SessionOptions = {}): Autoencoder {
  const { tensors, metadata } = readSafetensors(file);
  let dims: unknown;
  try {
    dims = JSON.parse(metadata.dims ?? "");
  } catch {
    throw new InputError(file, "no architecture in the metadata (was it written by deepclust?)");
  }
  if (!Array.isArray(dims) || dims.length < 2 || !dims.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new InputError(
      file,
      `metadata field 'dims' must be a list of at least 2 positive integers, got ${metadata.dims}`,
    );
  }
  // The sizes must fit in the file before they size any allocation.
  const held = Object.values(tensors).reduce((n, t) => n + t.data.length, 0);
  const needed = dims.slice(1).reduce((n: number, d: number, i) => n + 2 * d * dims[i] + d + dims[i], 0); // encoder and decoder
  if (needed > held)
    throw new InputError(file, `metadata dims [${dims.join(", ")}] need ${needed} weights, the file holds ${held}`);
  const ae = new Autoencoder({ dims, normalizeCode: metadata.normalize_code === "true" }, rng, session);
  for (const p of ae.allParams) {
    const t = tensors[p.name];
    if (!t) throw new InputError(file, `tensor '${p.name}' is missing`);
    if (t.shape.join(",") !== p.shape.join(","))
      throw new InputError(file, `tensor '${p.name}' has shape [${t.shape}], expected [${p.shape}]`);
    ae.params.set(p.name, t.data);
  }
  return ae;
}
