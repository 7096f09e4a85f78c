// deepclust topics: what each cluster of a trained model is about, on a data file with a text
// column: its size, its top words and word pairs by class-based TF-IDF, its most representative
// texts, its mean confidence, and with labels its majority class and purity. Streams the file.

import { Command } from "commander";
import { resolve } from "node:path";
import { DEFAULTS } from "../config.js";
import type { Device } from "../engine/index.js";
import { topicsOfFile } from "../pipeline/topics-file.js";
import type { ClusterTopic } from "../text/topics.js";
import { deviceOption, int, threadsOption } from "./options.js";
import { createProgress } from "./progress.js";
import { EMBED_MODEL_HELP, openModel } from "./texts.js";
import { labelOptions, labelsColumnHelp, percent, printJson, type DataCliOptions } from "./common.js";

/** --stop-words' spelling of "keep every word". */
const NO_STOP_WORDS = "none";

interface TopicsCliOptions extends DataCliOptions {
  embedModel?: string;
  textColumn: string;
  top: number;
  examples: number;
  ngrams: 1 | 2;
  stopWords: string;
  threads: number;
  device: Device;
  json: boolean;
}

export function topicsCommand(): Command {
  return new Command("topics")
    .description("What each cluster is about: top terms (c-TF-IDF), representative texts, purity with labels")
    .argument("<model-dir>", "a model directory written by `deepclust train`")
    .argument("<data>", "embeddings with a text column: CSV, JSONL or Parquet")
    .option("--text-column <name>", "column (JSONL: key) holding the texts", DEFAULTS.topics.textColumn)
    .option("--top <n>", "terms per cluster", int("--top", 1), DEFAULTS.topics.top)
    .option(
      "--examples <n>",
      "representative texts per cluster (the most confident)",
      int("--examples", 0),
      DEFAULTS.topics.examples,
    )
    .option(
      "--ngrams <n>",
      "1: words; 2: words and pairs of neighbouring words",
      int("--ngrams", 1),
      DEFAULTS.topics.ngrams,
    )
    .option(
      "--stop-words <lang>",
      "stop words left out: an ISO 639-1 code of stopwords-iso's lists, or none",
      DEFAULTS.topics.stopWords ?? NO_STOP_WORDS,
    )
    .option(
      "--embeddings-column <name>",
      "column (JSONL: key) holding the vectors (default: 'embeddings', else detected)",
    )
    .option("--labels-column <name>", labelsColumnHelp("for each cluster's majority class and purity"))
    .option("--embed-model <dir>", EMBED_MODEL_HELP)
    .addOption(threadsOption())
    .addOption(deviceOption())
    .option("--json", "print one JSON object on stdout and nothing else", false)
    .addHelpText(
      "after",
      `
A term's weight in a cluster is its frequency among the cluster's terms times log(1 + A / f), with A
the mean number of terms per cluster and f the term's count in all clusters (BERTopic's c-TF-IDF).

Example:
  deepclust train examples/reuters/train.csv -k 10 --out model
  deepclust topics model examples/reuters/train.csv`,
    )
    .action(async (modelDir: string, data: string, o: TopicsCliOptions) => topics(modelDir, data, o));
}

async function topics(modelDir: string, data: string, o: TopicsCliOptions): Promise<void> {
  if (o.ngrams !== 1 && o.ngrams !== 2) throw new RangeError(`--ngrams must be 1 or 2, got ${o.ngrams}`);
  const progress = createProgress({ json: o.json });
  const t0 = performance.now();
  const { model, encoder, release } = await openModel(modelDir, o);
  let result;
  try {
    result = await topicsOfFile(model, data, {
      ...(encoder ? { encoder } : {}),
      ...(o.embeddingsColumn !== undefined ? { embeddingsColumn: o.embeddingsColumn } : {}),
      ...labelOptions(o),
      textColumn: o.textColumn,
      top: o.top,
      examples: o.examples,
      ngrams: o.ngrams,
      stopWords: o.stopWords === NO_STOP_WORDS ? null : o.stopWords,
      onStart: (total) => progress.start("topics", total, "rows"),
      onProgress: (rows) => progress.update(rows),
    });
  } finally {
    progress.stop();
    await release();
  }
  const seconds = (performance.now() - t0) / 1000;
  /** The process's peak resident memory (maximum RSS), in MiB. */
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 102.4) / 10;
  if (o.json)
    return printJson({
      model: resolve(modelDir),
      data: resolve(data),
      textColumn: o.textColumn,
      seconds,
      peakRssMb,
      ...result,
    });
  progress.log(
    `${result.rows} rows of ${data} in ${model.k} clusters; terms from column '${o.textColumn}' (${result.vocabulary} distinct words and pairs)`,
  );
  for (const t of result.clusters) for (const line of describe(t)) progress.log(line);
}

/** A cluster's lines: its header (size, confidence, majority), its terms, its examples. */
function describe(t: ClusterTopic): string[] {
  const header = [
    `cluster ${t.cluster}: ${t.size} rows`,
    t.meanConfidence !== null ? `mean confidence ${t.meanConfidence.toFixed(3)}` : null,
    t.majority !== null ? `majority '${t.majority}' (${percent(t.purity!)})` : null,
  ].filter(Boolean);
  const lines = ["", header.join(", ")];
  if (t.terms.length) lines.push(`  terms: ${t.terms.map((w) => w.term).join(", ")}`);
  for (const e of t.examples) lines.push(`  • ${clip(e.text, 110)} (row ${e.row + 1}, q ${e.confidence.toFixed(3)})`);
  return lines;
}

function clip(text: string, n: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= n ? flat : `${flat.slice(0, n - 1)}…`;
}
