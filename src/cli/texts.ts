// A model trained from texts (train --embed-model) takes texts: the commands that apply a model
// open the embedding model it recorded (or --embed-model's folder, which must be the same model).

import { loadModel, type DECModel } from "../dec/model-dir.js";
import type { Precision } from "../dec/model-onnx.js";
import type { Device } from "../engine/index.js";
import type { SentenceEncoder } from "../text/sentence-encoder.js";
import { UsageError } from "./errors.js";
import { labelOptions } from "./common.js";
import type { Progress } from "./progress.js";
import type { Dataset } from "../io/index.js";
import type { EmbeddingRecord } from "../pipeline/text-source.js";
import { resolve } from "node:path";

export const EMBED_MODEL_HELP =
  "for a model trained from texts: the embedding model's folder (default: the one it was trained with; another model is refused)";

/**
 * A model directory loaded for applying, with the encoder of its embedding model when it was
 * trained from texts (else null); `release` frees both. When the encoder cannot be opened, the
 * model is released before the error is thrown.
 */
export async function openModel(
  modelDir: string,
  o: { embedModel?: string; threads: number; device: Device; precision?: Precision },
): Promise<{ model: DECModel; encoder: SentenceEncoder | null; release: () => Promise<void> }> {
  const model = loadModel(modelDir, {
    threads: o.threads,
    device: o.device,
    ...(o.precision !== undefined ? { precision: o.precision } : {}),
  });
  let encoder: SentenceEncoder | null;
  try {
    encoder = await encoderFor(model, modelDir, o);
  } catch (e) {
    await model.release();
    throw e;
  }
  const release = async () => {
    await model.release();
    await encoder?.release();
  };
  return { model, encoder, release };
}

/** The encoder for a model trained from texts, else null (and --embed-model is refused). */
async function encoderFor(
  model: DECModel,
  modelDir: string,
  o: { embedModel?: string; threads: number; device: Device },
): Promise<SentenceEncoder | null> {
  const recorded = model.config.embedding;
  if (!recorded) {
    if (o.embedModel !== undefined)
      throw new UsageError(`${modelDir} was trained on embeddings, not texts: leave out --embed-model`);
    return null;
  }
  // Loaded only for a model trained from texts (the tokenizer and the text readers).
  const { openRecordedEncoder } = await import("../pipeline/text-source.js");
  return openRecordedEncoder(recorded, modelDir, o.embedModel, { threads: o.threads, device: o.device });
}

/**
 * Texts embedded with the model folder `o.embedModel` (a progress bar over the texts), as a
 * dataset, with the embedding model's record for the model directory.
 */
export async function loadTexts(
  data: string,
  o: { embedModel?: string; textColumn: string; labelsColumn?: string; threads: number; device: Device },
  progress: Progress,
): Promise<{ ds: Dataset; embedding: EmbeddingRecord }> {
  const { SentenceEncoder } = await import("../text/sentence-encoder.js");
  const { readTextDataset } = await import("../pipeline/text-source.js");
  const encoder = await SentenceEncoder.load(o.embedModel!, { threads: o.threads, device: o.device });
  try {
    progress.start(`embedding with ${encoder.info.name}`, null, "texts");
    const labelsColumn = labelOptions(o).labelsColumn;
    const ds = await readTextDataset(encoder, data, {
      textColumn: o.textColumn,
      ...(labelsColumn !== undefined ? { labelsColumn } : {}),
      onProgress: (rows) => progress.update(rows),
    });
    return { ds, embedding: { ...encoder.info, dir: resolve(o.embedModel!) } };
  } finally {
    progress.stop();
    await encoder.release();
  }
}
