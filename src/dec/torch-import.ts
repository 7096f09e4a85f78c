// Importing a model trained with the reference PyTorch DEC module: its state_dict (torch.save'd)
// becomes an autoencoder plus cluster centres and the config.json of a model directory.
//
// The state_dict names say the architecture: encoder.0.weight [h1, d], encoder.0.bias [h1],
// encoder.2.weight [h2, h1], … (nn.Sequential of Linear layers with a ReLU between them, so the
// Linear indices are 0, 2, 4, …; the last layer is linear), assignment.cluster_centers [k, code],
// and optionally the mirrored decoder.0.weight [h_last, code], …. Any other tensor is an error:
// a layer deepclust would silently skip would change the predictions.

import { DEFAULTS } from "../config.js";
import { resolve } from "node:path";
import { Rng, type SessionOptions } from "../engine/index.js";
import { CENTERS } from "../nn/index.js";
import { InputError } from "../io/errors.js";
import {
  DEFAULT_TORCH_LIMITS,
  formatBytes,
  readTorchStateDict,
  type TorchLimits,
  type TorchTensor,
} from "../io/torch-pickle.js";
import { Autoencoder } from "./autoencoder.js";
import { modelConfig, type ModelConfig } from "./model-dir.js";

export interface TorchImportOptions extends Partial<TorchLimits> {
  /** Student-t degrees of freedom (not part of a state_dict; the reference implementation uses 1). */
  alpha?: number;
  session?: SessionOptions;
}

export interface TorchImport {
  /** The weights, with the centres under CENTERS; decoder parameters NaN when `hasDecoder` is false. */
  autoencoder: Autoencoder;
  config: ModelConfig;
  hasDecoder: boolean;
  /** The state_dict's tensor names and shapes, in the file's order. */
  tensors: Record<string, number[]>;
}

/** Reads a reference DEC state_dict and checks that it is one. Throws InputError. */
export function importTorchStateDict(file: string, options: TorchImportOptions = {}): TorchImport {
  const alpha = options.alpha ?? DEFAULTS.clustering.alpha;
  if (!(alpha > 0) || !Number.isFinite(alpha)) throw new RangeError(`alpha must be a positive number, got ${alpha}`);
  const maxImportBytes = options.maxImportBytes ?? DEFAULT_TORCH_LIMITS.maxImportBytes;
  const { tensors } = readTorchStateDict(file, { maxTensorBytes: options.maxTensorBytes, maxImportBytes });
  const fail = (message: string) => new InputError(file, message);
  const shapeOf = (t: TorchTensor) => `[${t.shape.join(", ")}]`;

  const encoder = linearStack(tensors, "encoder", fail);
  if (encoder.length === 0)
    throw fail(
      `no encoder weights: a DEC state_dict has encoder.0.weight, encoder.0.bias, … (it has ${[...tensors.keys()].join(", ") || "no tensors"})`,
    );
  const dims = [encoder[0]!.inFeatures];
  encoder.forEach((l, i) => {
    if (l.inFeatures !== dims[i])
      throw fail(
        `encoder.${l.index}.weight is ${shapeOf(l.weight)}: its input size ${l.inFeatures} does not match the previous layer's output ${dims[i]}`,
      );
    dims.push(l.outFeatures);
  });
  const L = encoder.length;
  const codeDim = dims[L]!;

  const centers = tensors.get(CENTERS);
  if (!centers) throw fail(`no '${CENTERS}': a DEC state_dict holds the cluster centres [k, ${codeDim}]`);
  if (centers.shape.length !== 2 || centers.shape[1] !== codeDim || centers.shape[0]! < 1)
    throw fail(
      `'${CENTERS}' is ${shapeOf(centers)}, expected [k, ${codeDim}] (k ≥ 1; ${codeDim} = the encoder's output size)`,
    );
  const k = centers.shape[0]!;

  const decoder = linearStack(tensors, "decoder", fail);
  const hasDecoder = decoder.length > 0;
  if (hasDecoder) {
    if (decoder.length !== L)
      throw fail(
        `the decoder has ${decoder.length} Linear layers, the encoder ${L}: deepclust's decoder mirrors the encoder`,
      );
    decoder.forEach((l, j) => {
      const [out, inp] = [dims[L - j - 1]!, dims[L - j]!];
      if (l.outFeatures !== out || l.inFeatures !== inp)
        throw fail(`decoder.${l.index}.weight is ${shapeOf(l.weight)}, the mirrored decoder needs [${out}, ${inp}]`);
    });
  }

  const known = new Set([CENTERS, ...[...encoder, ...decoder].flatMap((l) => [l.weightName, l.biasName])]);
  const unknown = [...tensors.keys()].filter((n) => !known.has(n));
  if (unknown.length)
    throw fail(
      `tensors that are not part of the reference DEC module: ${unknown.join(", ")} (expected encoder.*, decoder.* Linear layers and ${CENTERS})`,
    );

  // The autoencoder holds a decoder whether or not the file has one (NaN when absent): its size
  // is checked before it is allocated.
  const params = 2 * encoder.reduce((s, l) => s + l.outFeatures * (l.inFeatures + 1), 0) + k * codeDim;
  if (4 * params > maxImportBytes) {
    const decoderNote = hasDecoder ? "" : ", its decoder (absent from the file, held as NaN) included";
    throw fail(
      `the model has ${params} float32 parameters (${formatBytes(4 * params)}${decoderNote}), over the limit of ${formatBytes(maxImportBytes)} ` +
        "for the whole import (raise it with --max-import-mib, or maxImportBytes in the library)",
    );
  }
  const ae = new Autoencoder({ dims }, new Rng(0), options.session ?? {});
  const read = (name: string) => tensors.get(name)!.read();
  for (const l of [...encoder, ...decoder]) {
    ae.params.set(l.weightName, read(l.weightName));
    ae.params.set(l.biasName, read(l.biasName));
  }
  // No decoder in the file: none is invented. NaN marks its parameters as absent (writeModelDir
  // leaves them out of model.safetensors; loadModel restores the NaN).
  if (!hasDecoder)
    for (const p of ae.decoderParams) ae.params.set(p.name, new Float32Array(ae.params.value(p.name).length).fill(NaN));
  ae.params.define(CENTERS, [k, codeDim], read(CENTERS));
  for (const p of [...ae.encoderParams, ...(hasDecoder ? ae.decoderParams : [])]) {
    if (!ae.params.value(p.name).every(Number.isFinite)) throw fail(`tensor '${p.name}' holds NaN or infinite values`);
  }
  if (!ae.params.value(CENTERS).every(Number.isFinite)) throw fail(`tensor '${CENTERS}' holds NaN or infinite values`);

  const config = modelConfig(ae, {
    k,
    alpha,
    method: "dec",
    decoder: hasDecoder,
    training: { source: "pytorch", file: resolve(file), format: "torch.save state_dict" },
  });
  return {
    autoencoder: ae,
    config,
    hasDecoder,
    tensors: Object.fromEntries([...tensors].map(([n, t]) => [n, [...t.shape]])),
  };
}

interface Linear {
  index: number;
  weightName: string;
  biasName: string;
  weight: TorchTensor;
  inFeatures: number;
  outFeatures: number;
}

/** The Linear layers `<prefix>.0`, `<prefix>.2`, … (weight [out, in] and bias [out]), in order. */
function linearStack(tensors: ReadonlyMap<string, TorchTensor>, prefix: string, fail: (m: string) => Error): Linear[] {
  const pattern = new RegExp(`^${prefix}\\.(\\d+)\\.(weight|bias)$`);
  const indices = [...new Set([...tensors.keys()].flatMap((n) => pattern.exec(n)?.[1] ?? []).map(Number))].sort(
    (a, b) => a - b,
  );
  return indices.map((index, i) => {
    if (index !== 2 * i)
      throw fail(
        `${prefix} Linear layers at indices ${indices.join(", ")}: expected 0, 2, 4, … (nn.Sequential of Linear with a ReLU between them)`,
      );
    const weightName = `${prefix}.${index}.weight`;
    const biasName = `${prefix}.${index}.bias`;
    const weight = tensors.get(weightName);
    const bias = tensors.get(biasName);
    if (!weight || !bias)
      throw fail(`${weight ? biasName : weightName} is missing (a Linear layer has a weight and a bias)`);
    if (weight.shape.length !== 2 || weight.shape.some((d) => d < 1))
      throw fail(`${weightName} is [${weight.shape.join(", ")}], expected a Linear weight [out, in]`);
    const [outFeatures, inFeatures] = weight.shape as [number, number];
    if (bias.shape.length !== 1 || bias.shape[0] !== outFeatures)
      throw fail(`${biasName} is [${bias.shape.join(", ")}], expected [${outFeatures}]`);
    return { index, weightName, biasName, weight: weight, inFeatures, outFeatures };
  });
}
