// Saving and loading a pretrained autoencoder: weights as safetensors with the reference's
// PyTorch names and layouts, architecture in the file's metadata.

import type { Rng } from "../engine/index.js";
import { readSafetensors, writeSafetensors, type NamedTensor } from "../io/index.js";
import { InputError } from "../io/errors.js";
import { Autoencoder } from "./autoencoder.js";
import type { SessionOptions } from "../engine/index.js";

export function saveAutoencoder(ae: Autoencoder, file: string): void {
  const tensors: Record<string, NamedTensor> = {};
  for (const p of ae.allParams) tensors[p.name] = { shape: p.shape, data: ae.params.value(p.name) };
  writeSafetensors(file, tensors, { format: "deepclust-autoencoder", dims: JSON.stringify(ae.dims), normalize_code: String(ae.normalizeCode) });
}

export function loadAutoencoder(file: string, rng: Rng, session: SessionOptions = {}): Autoencoder {
  const { tensors, metadata } = readSafetensors(file);
  let dims: number[];
  try {
    dims = JSON.parse(metadata.dims ?? "");
  } catch {
    throw new InputError(file, "no architecture in the metadata (was it written by deepclust?)");
  }
  const ae = new Autoencoder({ dims, normalizeCode: metadata.normalize_code === "true" }, rng, session);
  for (const p of ae.allParams) {
    const t = tensors[p.name];
    if (!t) throw new InputError(file, `tensor '${p.name}' is missing`);
    if (t.shape.join(",") !== p.shape.join(",")) throw new InputError(file, `tensor '${p.name}' has shape [${t.shape}], expected [${p.shape}]`);
    ae.params.set(p.name, t.data);
  }
  return ae;
}
