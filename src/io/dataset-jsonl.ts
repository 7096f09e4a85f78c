// JSONL datasets: one JSON object per line, {"embedding": [...], "label": ..., ...}. Lines are
// streamed (readline), each parsed once, and handed out in chunks; the vector may also be a JSON
// array string, as in the CSV format. Keys other than the vector and the label are passed through:
// a key first seen in a later row is a column from that chunk on ("" in the rows without it).

import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type { FormatChunk, ReadChunksOptions, ReadDatasetOptions } from "./dataset.js";
import { DatasetBuilder } from "./dataset-builder.js";
import { EMBEDDING_NAMES, findConventional, LABEL_NAMES, listNames, requireColumn } from "./dataset-columns.js";
import { InputError } from "./errors.js";

/** The rows of a JSONL file in chunks of at most `options.chunkRows` (default: one chunk). */
export async function* readJsonlChunks(
  file: string,
  options: ReadChunksOptions,
  size: number,
): AsyncGenerator<FormatChunk> {
  const builder = new DatasetBuilder(file, options);
  let bytesRead = 0;
  builder.estimateRows = () => (builder.rows < 1024 ? 0 : (size / bytesRead) * builder.rows * 1.02); // 0: no guess yet
  const source = createReadStream(file, { highWaterMark: 1 << 20 });
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  let embeddingsKey: string | undefined;
  let labelKey: string | null = null;
  const take = (key: string): FormatChunk => {
    const c = builder.takeChunk();
    return {
      ...c,
      labels: labelKey !== null ? c.labels : null,
      labelsColumn: labelKey,
      embeddingsColumn: key,
      totalRows: null,
    };
  };
  try {
    for await (const raw of lines) {
      const line = builder.rows === 0 ? raw.replace(/^\uFEFF/, "") : raw;
      if (line.trim() === "") continue;
      const row = builder.rows + 1;
      bytesRead += line.length + 1;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch (e) {
        throw new InputError(file, `not valid JSON (${(e as Error).message})`, row);
      }
      if (typeof obj !== "object" || obj === null || Array.isArray(obj))
        throw new InputError(file, 'expected a JSON object like {"embedding": [...], "label": 3}', row);
      const rec = obj as Record<string, unknown>;
      if (embeddingsKey === undefined) {
        const keys = Object.keys(rec);
        embeddingsKey = pickEmbeddingsKey(file, keys, options);
        if (typeof options.labelsColumn === "string")
          labelKey = keys[requireColumn(file, keys, options.labelsColumn, "keys")]!;
        else if (options.labelsColumn === undefined && options.labelsFile === undefined)
          labelKey = keys[findConventional(keys, LABEL_NAMES)] ?? null;
      }
      if (labelKey !== null) builder.label(rec[labelKey]);
      for (const key in rec) {
        if (key !== embeddingsKey && key !== labelKey) builder.passthrough(key, rec[key]);
      }
      const v = rec[embeddingsKey];
      if (Array.isArray(v)) builder.pushValues(v, embeddingsKey);
      else if (typeof v === "string") builder.pushJsonText(v, embeddingsKey);
      else if (v === undefined)
        throw new InputError(file, `missing (the object has keys ${listNames(Object.keys(rec))})`, row, embeddingsKey);
      else
        throw new InputError(
          file,
          `expected an array of numbers, got ${JSON.stringify(v)?.slice(0, 60)}`,
          row,
          embeddingsKey,
        );
      if (builder.full) break;
      if (builder.chunkReady) yield take(embeddingsKey);
    }
  } finally {
    lines.close();
    source.destroy();
  }
  if (embeddingsKey === undefined) throw new InputError(file, "no data rows (only blank lines)");
  if (builder.pending > 0) yield take(embeddingsKey);
}

function pickEmbeddingsKey(file: string, keys: string[], options: ReadDatasetOptions): string {
  if (options.embeddingsColumn !== undefined) return keys[requireColumn(file, keys, options.embeddingsColumn, "keys")]!;
  const i = findConventional(keys, EMBEDDING_NAMES);
  if (i < 0)
    throw new InputError(
      file,
      `no embeddings key (looked for ${listNames(EMBEDDING_NAMES)}; the first object has keys ${listNames(keys)}); name it`,
      1,
    );
  return keys[i]!;
}
