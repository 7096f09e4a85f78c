// A model trained from texts (train --embed-model) takes texts: the commands that apply a model
// open the embedding model it recorded (or --embed-model's folder, which must be the same model).

import type { DECModel } from "../dec/model-dir.js";
import type { Device } from "../engine/index.js";
import type { SentenceEncoder } from "../text/sentence-encoder.js";
import { UsageError } from "./errors.js";

export const EMBED_MODEL_HELP =
  "for a model trained from texts: the embedding model's folder (default: the one it was trained with; another model is refused)";

/** The encoder for a model trained from texts, else null (and --embed-model is refused). */
export async function encoderFor(
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
