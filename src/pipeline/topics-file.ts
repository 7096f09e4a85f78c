// The topics of a model's clusters on a data file with a text column, streamed: each chunk's rows
// are assigned (q), their texts counted into the clusters' terms, and the most confident kept as
// examples; the texts themselves are not held. `deepclust topics` is this function.

import { DEFAULTS } from "../config.js";
import { argmaxRows, rowSlice } from "../engine/matrix.js";
import type { Dataset } from "../io/dataset.js";
import { isMissingLabel } from "../io/dataset-builder.js";
import { InputError } from "../io/errors.js";
import { TopicsBuilder, type ClusterTopic, type TopicOptions } from "../text/topics.js";
import { assignChunk, chunkRowsFor, chunksOf, type SoftClusterer, type StreamOptions } from "./predict-file.js";

export interface FileTopicsOptions extends StreamOptions, TopicOptions {
  /** The column (JSONL: key) of the texts (default "text"). */
  textColumn?: string;
}

export interface FileTopics {
  rows: number;
  /** The labels' column, or null without labels (then no majority or purity). */
  labelsColumn: string | null;
  /** Distinct words and word pairs counted. */
  vocabulary: number;
  clusters: ClusterTopic[];
}

export async function topicsOfFile(
  model: SoftClusterer,
  input: string,
  options: FileTopicsOptions = {},
): Promise<FileTopics> {
  const textColumn = options.textColumn ?? DEFAULTS.topics.textColumn;
  const builder = new TopicsBuilder(model.k, options);
  let rows = 0;
  let labelsColumn: string | null = null;
  for await (const chunk of chunksOf(model, input, options)) {
    const texts = Object.hasOwn(chunk.passthrough, textColumn) ? chunk.passthrough[textColumn] : undefined;
    if (texts === undefined) {
      const has = Object.keys(chunk.passthrough);
      throw new InputError(
        input,
        `no text column '${textColumn}' (the file has ${has.length ? has.map((c) => `'${c}'`).join(", ") : "no text columns"}); name it with --text-column`,
        undefined,
        textColumn,
      );
    }
    if (rows === 0) options.onStart?.(chunk.totalRows);
    labelsColumn = chunk.labelsColumn;
    const { index, max } = argmaxRows(await assignChunk(model, chunk, options.batchSize));
    // A chunk's labels are as written: an empty cell, NA, NaN … is a row without one.
    const labels = chunk.labels ? chunk.labels.map((l) => (isMissingLabel(l) ? null : l)) : null;
    builder.add(texts, index, max, labels, chunk.firstRow);
    rows += chunk.X.rows;
    options.onProgress?.(rows);
  }
  return { rows, labelsColumn, vocabulary: builder.vocabularySize, clusters: builder.topics() };
}

/**
 * The topics of a model's clusters on a dataset in memory with a text column (`textColumn`,
 * matched without regard to case), or null when it has none.
 */
export async function datasetTopics(
  model: SoftClusterer,
  ds: Dataset,
  options: TopicOptions & { textColumn?: string; batchSize?: number } = {},
): Promise<ClusterTopic[] | null> {
  const wanted = (options.textColumn ?? DEFAULTS.topics.textColumn).toLowerCase();
  const column = Object.keys(ds.passthrough).find((c) => c.toLowerCase() === wanted);
  if (column === undefined) return null;
  const texts = ds.passthrough[column]!;
  const builder = new TopicsBuilder(model.k, options);
  const step = chunkRowsFor(ds.X.cols);
  for (let from = 0; from < ds.X.rows; from += step) {
    const to = Math.min(ds.X.rows, from + step);
    const q = await model.predictProba(rowSlice(ds.X, from, to), options.batchSize ?? DEFAULTS.predictBatchSize);
    const { index, max } = argmaxRows(q);
    builder.add(texts.slice(from, to), index, max, ds.labels ? ds.labels.slice(from, to) : null, from);
  }
  return builder.topics();
}
