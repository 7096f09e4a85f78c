// deepclust embed: sentence embeddings of a file of texts, computed locally with a model folder in
// the Hugging Face layout (nothing is downloaded), written in the reference implementation's CSV format (every input
// column, then `embeddings`), as JSON Lines, or as a float32 .npy. Streams the file.

import { Command } from "commander";
import { resolve } from "node:path";
import { DEFAULTS } from "../config.js";
import type { Device } from "../engine/index.js";
import { checkOutputFile } from "../io/output-paths.js";
import { embedFile } from "../pipeline/embed-file.js";
import { POOLINGS, SentenceEncoder, type Pooling } from "../text/sentence-encoder.js";
import { choice, deviceOption, int, threadsOption } from "./options.js";
import { createProgress } from "./progress.js";
import { printJson, seconds } from "./common.js";

interface EmbedCliOptions {
  model: string;
  out: string;
  textColumn: string;
  pooling: Pooling;
  normalize: boolean;
  maxLength?: number;
  batchSize: number;
  threads: number;
  device: Device;
  force: boolean;
  json: boolean;
}

export function embedCommand(): Command {
  return new Command("embed")
    .description(
      "Sentence embeddings of texts with a local model folder (Hugging Face layout, ONNX); nothing is downloaded",
    )
    .argument("<texts>", "a CSV/TSV, JSONL or Parquet file with a text column, or a .txt file with one text per line")
    .requiredOption(
      "--model <dir>",
      "model folder: config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx (BERT, MiniLM, mpnet, bge, e5 …)",
    )
    .requiredOption(
      "--out <file>",
      "embeddings: .csv (input columns + 'embeddings', the reference implementation's format), .jsonl, .parquet (list<float>) or .npy",
    )
    .option("--text-column <name>", "column (JSONL: key) holding the texts", DEFAULTS.embed.textColumn)
    .option(
      "--pooling <p>",
      "mean: the mean of the last hidden state over the real tokens (the reference implementation's); cls: the first token's",
      choice("--pooling", POOLINGS),
      DEFAULTS.embed.pooling,
    )
    .option("--normalize", "L2-normalise every embedding", DEFAULTS.embed.normalize)
    .option(
      "--max-length <n>",
      "most tokens per text; longer texts are truncated (default: the model's limit)",
      int("--max-length", 2),
    )
    .option(
      "--batch-size <n>",
      "texts per onnxruntime call (texts are batched by length)",
      int("--batch-size", 1),
      DEFAULTS.embed.batchSize,
    )
    .addOption(threadsOption())
    .addOption(deviceOption())
    .option("--force", "replace --out if it exists (never the input)", false)
    .option("--json", "print one JSON summary on stdout and nothing else", false)
    .addHelpText(
      "after",
      `
Example:
  deepclust embed news.csv --model ./all-MiniLM-L6-v2 --out news-embeddings.csv
  deepclust train news-embeddings.csv -k 20`,
    )
    .action(async (texts: string, o: EmbedCliOptions) => embed(texts, o));
}

async function embed(input: string, o: EmbedCliOptions): Promise<void> {
  checkOutputFile({ path: o.out, flag: "--out" }, { inputs: [input], force: o.force });
  const progress = createProgress({ json: o.json });
  const encoder = await SentenceEncoder.load(o.model, {
    pooling: o.pooling,
    normalize: o.normalize,
    batchSize: o.batchSize,
    threads: o.threads,
    device: o.device,
    ...(o.maxLength !== undefined ? { maxLength: o.maxLength } : {}),
  });
  progress.start("embed", null, "texts");
  let summary;
  try {
    summary = await embedFile(encoder, input, o.out, {
      textColumn: o.textColumn,
      onProgress: (rows) => progress.update(rows),
    });
  } finally {
    progress.stop();
    await encoder.release();
  }
  const result = {
    input: resolve(input),
    out: resolve(o.out),
    model: { dir: resolve(o.model), ...encoder.info },
    ...summary,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 102.4) / 10,
  };
  if (o.json) return printJson(result);
  progress.log(
    `embedded ${summary.rows} texts of ${input} with ${encoder.info.name} (${encoder.info.pooling} pooling${encoder.info.normalize ? ", normalised" : ""}, ${summary.dim} dims, at most ${encoder.info.maxLength} tokens) in ${seconds(summary.seconds)} (${Math.round(summary.textsPerSecond)} texts/s)`,
  );
  progress.log(`wrote ${o.out}`);
}
