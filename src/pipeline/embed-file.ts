// Texts in, embeddings out, file to file: each chunk of texts is embedded and written before the
// next is read, so memory stays bounded whatever the file's length. `deepclust embed` is this.

import { DEFAULTS } from "../config.js";
import { createEmbeddingWriter, type EmbeddingWriter } from "../io/embeddings-writer.js";
import { readTextChunks } from "../io/text-rows.js";
import type { SentenceEncoder } from "../text/sentence-encoder.js";

export interface EmbedFileOptions {
  /** The column (JSONL: key) of the texts (default "text"; a .txt file's lines are its texts). */
  textColumn?: string;
  /** Texts read and embedded per step (default 1024). */
  chunkRows?: number;
  onProgress?: (rows: number) => void;
}

export interface EmbedFileSummary {
  rows: number;
  dim: number;
  seconds: number;
  textsPerSecond: number;
}

export async function embedFile(
  encoder: SentenceEncoder,
  input: string,
  output: string,
  options: EmbedFileOptions = {},
): Promise<EmbedFileSummary> {
  const t0 = performance.now();
  let writer: EmbeddingWriter | undefined;
  try {
    writer = await createEmbeddingWriter(output, encoder.dim);
    for await (const chunk of readTextChunks(input, {
      textColumn: options.textColumn ?? DEFAULTS.embed.textColumn,
      chunkRows: options.chunkRows ?? DEFAULTS.embed.chunkRows,
    })) {
      await writer.write(chunk.records, await encoder.embed(chunk.texts));
      options.onProgress?.(writer.rows);
    }
    await writer.commit();
  } catch (e) {
    await writer?.abort();
    throw e;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { rows: writer.rows, dim: encoder.dim, seconds, textsPerSecond: writer.rows / seconds };
}
