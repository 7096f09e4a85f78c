// Texts as embeddings: a file of texts read through a SentenceEncoder, as the in-memory Dataset
// that training takes or as the DatasetChunks that prediction streams, so that every command that
// reads embeddings reads texts too. And the check that a model trained from texts is applied
// with the embedding model it was trained with (its ONNX file's SHA-256).

import { DEFAULTS } from "../config.js";
import type { Matrix } from "../engine/matrix.js";
import { InputError } from "../io/errors.js";
import { finalizeLabels } from "../io/dataset-builder.js";
import { findConventional, LABEL_NAMES } from "../io/dataset-columns.js";
import type { Dataset, DatasetChunk, DatasetFormat } from "../io/dataset.js";
import { readTextChunks } from "../io/text-rows.js";
import { SentenceEncoder, type EmbeddingModelInfo, type SentenceEncoderOptions } from "../text/sentence-encoder.js";
import { existsSync } from "node:fs";
import { extname } from "node:path";

export interface TextSourceOptions {
  /** The column (JSONL: key) of the texts (default "text"; a .txt file's lines are its texts). */
  textColumn?: string;
  /** The labels column (default `labels` or `label` when present); null: no labels. */
  labelsColumn?: string | null;
  /** Texts per chunk (default DEFAULTS.embed.chunkRows). */
  chunkRows?: number;
  /** Called after each chunk is embedded, with the texts done. */
  onProgress?: (rows: number) => void;
}

/** What a model directory records of the embedding model it was trained from: its info and folder. */
export type EmbeddingRecord = EmbeddingModelInfo & { dir: string };

/** The embedded chunks of a file of texts, shaped as readDatasetChunks's (the text stays a pass-through column). */
export async function* embeddedChunks(
  encoder: SentenceEncoder,
  file: string,
  options: TextSourceOptions = {},
): AsyncGenerator<DatasetChunk> {
  const textColumn = options.textColumn ?? DEFAULTS.embed.textColumn;
  let labelsColumn: string | null | undefined;
  let rows = 0;
  for await (const chunk of readTextChunks(file, {
    textColumn,
    chunkRows: options.chunkRows ?? DEFAULTS.embed.chunkRows,
  })) {
    if (labelsColumn === undefined) labelsColumn = chooseLabels(file, Object.keys(chunk.records[0] ?? {}), options);
    const passthrough: Record<string, string[]> = {};
    for (const name of Object.keys(chunk.records[0] ?? {}))
      if (name !== labelsColumn) passthrough[name] = chunk.records.map((r) => cell(r[name]));
    const X: Matrix = await encoder.embed(chunk.texts);
    rows += chunk.texts.length;
    options.onProgress?.(rows);
    yield {
      file,
      format: formatOf(file),
      firstRow: chunk.firstRow,
      X,
      labels: labelsColumn ? chunk.records.map((r) => cell(r[labelsColumn!])) : null,
      labelsColumn: labelsColumn ?? null,
      embeddingsColumn: null,
      passthrough,
      totalRows: null,
    };
  }
}

/** A whole file of texts, embedded, as an in-memory Dataset (what `train --embed-model` trains on). */
export async function readTextDataset(
  encoder: SentenceEncoder,
  file: string,
  options: TextSourceOptions = {},
): Promise<Dataset> {
  const parts: Matrix[] = [];
  const labels: string[] = [];
  const passthrough: Record<string, string[]> = {};
  let labelsColumn: string | null = null;
  for await (const chunk of embeddedChunks(encoder, file, options)) {
    parts.push({ data: chunk.X.data.slice(), rows: chunk.X.rows, cols: chunk.X.cols });
    labelsColumn = chunk.labelsColumn;
    if (chunk.labels) labels.push(...chunk.labels);
    for (const [name, values] of Object.entries(chunk.passthrough)) (passthrough[name] ??= []).push(...values);
  }
  const rows = parts.reduce((n, p) => n + p.rows, 0);
  if (rows === 0) throw new InputError(file, "no texts");
  const data = new Float32Array(rows * encoder.dim);
  let offset = 0;
  for (const p of parts) {
    data.set(p.data, offset);
    offset += p.data.length;
  }
  return {
    file,
    format: formatOf(file),
    X: { data, rows, cols: encoder.dim },
    labels: labelsColumn ? finalizeLabels(labels) : null,
    labelsColumn,
    embeddingsColumn: null,
    passthrough,
  };
}

/**
 * The SentenceEncoder a model trained from texts was trained with: from `dir` when given, else
 * from the folder it recorded. Another model (its model.onnx's SHA-256 differs) is refused.
 */
export async function openRecordedEncoder(
  recorded: EmbeddingRecord,
  modelDir: string,
  dir: string | undefined,
  options: SentenceEncoderOptions = {},
): Promise<SentenceEncoder> {
  if (dir === undefined && !existsSync(recorded.dir))
    throw new InputError(
      modelDir,
      `trained from texts embedded with ${recorded.name}, whose folder ${recorded.dir} is not there: give a copy of it with --embed-model`,
    );
  const encoder = await SentenceEncoder.load(dir ?? recorded.dir, {
    ...options,
    pooling: recorded.pooling,
    normalize: recorded.normalize,
    maxLength: recorded.maxLength,
  });
  if (encoder.info.sha256 !== recorded.sha256) {
    await encoder.release();
    throw new InputError(
      dir ?? recorded.dir,
      `this embedding model (model.onnx SHA-256 ${encoder.info.sha256.slice(0, 12)}…) is not the one ${modelDir} was trained with (${recorded.name}, ${recorded.sha256.slice(0, 12)}…): its embeddings would not match the clusters; give that model's folder with --embed-model`,
    );
  }
  return encoder;
}

function chooseLabels(file: string, names: string[], options: TextSourceOptions): string | null {
  if (options.labelsColumn === null) return null;
  if (options.labelsColumn !== undefined) {
    if (!names.includes(options.labelsColumn))
      throw new InputError(
        file,
        `not found (the file has ${names.map((n) => `'${n}'`).join(", ")})`,
        undefined,
        options.labelsColumn,
      );
    return options.labelsColumn;
  }
  const i = findConventional(names, LABEL_NAMES);
  return i < 0 ? null : names[i]!;
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return "";
  return typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);
}

function formatOf(file: string): DatasetFormat {
  const ext = extname(file).toLowerCase();
  return ext === ".tsv" ? "tsv" : ext === ".jsonl" || ext === ".ndjson" ? "jsonl" : "csv";
}
