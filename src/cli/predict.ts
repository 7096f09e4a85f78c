// deepclust predict / evaluate: apply a model directory to new data.
// predict writes one output row per input row (pass-through columns, cluster, confidence = max q,
// optionally every q); it streams: reads a chunk of rows, assigns it, writes it through the atomic
// prediction writer, so its memory does not grow with the file. evaluate scores the model's
// clusters against the data's labels, streaming the same way (it keeps labels and clusters only).

import { Command } from "commander";
import { resolve } from "node:path";
import { DEVICES, NonFiniteValueError, type Device, type Matrix } from "../engine/index.js";
import { evaluateClustering } from "../cluster/index.js";
import { loadModel, modelInputFiles, type DECModel } from "../dec/model-dir.js";
import { hardLabels } from "../dec/dec-training.js";
import {
  createPredictionWriter,
  InputError,
  nonFiniteInputError,
  type DatasetChunk,
  type PredictionWriter,
  type RowLabels,
} from "../io/index.js";
import { finalizeLabels } from "../io/dataset-builder.js";
import { choice, int } from "./options.js";
import { createProgress } from "./progress.js";
import { PRECISION_HELP, PRECISIONS, type Precision } from "./precision.js";
import { UsageError } from "./errors.js";
import {
  checkPredictionsPath,
  chunkColumnNames,
  chunkColumns,
  classCount,
  clusterSizes,
  hardAssignments,
  labelledCount,
  labelsColumnHelp,
  labelsSource,
  NO_LABELS_COLUMN,
  noLabelsError,
  printJson,
  scoreLines,
  seconds,
  sizesLine,
  streamDataset,
  warn,
  type DataCliOptions,
} from "./common.js";

interface ApplyCliOptions extends DataCliOptions {
  batchSize: number;
  threads: number;
  device: Device;
  precision: Precision;
  json: boolean;
}

interface PredictCliOptions extends ApplyCliOptions {
  out: string;
  proba: boolean;
  force: boolean;
}

/**
 * Rows read, assigned and written per step: bounds the memory of the rows, of q and of the output
 * text: about 32 MiB of float32 vectors (10,922 rows of 768), at most 16,384 rows, at least 256.
 * 8 MiB chunks lowered the peak by about 60 MiB (freed chunks linger until a garbage collection)
 * but took about 30 % more CPU time on a CSV (more alternations between parser and onnxruntime).
 */
export function chunkRowsFor(dim: number): number {
  return Math.max(256, Math.min(16_384, Math.floor((32 << 20) / (4 * dim))));
}

function withApplyOptions(cmd: Command): Command {
  return cmd
    .option(
      "--embeddings-column <name>",
      "column (JSONL: key) holding the vectors (default: 'embeddings', else detected)",
    )
    .option("--batch-size <n>", "rows per inference batch", int("--batch-size", 1), 1024)
    .option("--threads <n>", "compute threads (0 = one per core)", int("--threads"), 0)
    .option("--device <name>", `execution provider: ${DEVICES.join(", ")}`, choice("--device", DEVICES), "cpu")
    .option("--precision <p>", PRECISION_HELP, choice("--precision", PRECISIONS), "fp32")
    .option("--json", "print one JSON summary on stdout and nothing else", false);
}

export function predictCommand(): Command {
  return withApplyOptions(
    new Command("predict")
      .description("Assign every row of a data file to a cluster with a trained model")
      .argument("<model-dir>", "a model directory written by `deepclust train`")
      .argument("<data>", "embeddings of the model's input dimension: CSV, JSONL, .npy or Parquet")
      .option(
        "--out <file>",
        "predictions file, .csv or .jsonl: the input's other columns (id, text, labels …), cluster, confidence (= max q)",
        "predictions.csv",
      )
      .option(
        "--labels-column <name>",
        `column holding ground-truth labels (not needed): copied to the output as written, after the other columns (default: 'labels' or 'label' when present; ${NO_LABELS_COLUMN}: no labels column, every column is copied in its place)`,
      )
      .option(
        "--proba",
        "also write every cluster's probability q (CSV: columns p0 … p{k-1}; JSONL: a 'probabilities' array)",
        false,
      )
      .option(
        "--force",
        "replace --out if it exists (never an input: the data, the labels file or the model's files)",
        false,
      ),
  ).action(async (modelDir: string, data: string, o: PredictCliOptions) => predict(modelDir, data, o));
}

export function evaluateCommand(): Command {
  return withApplyOptions(
    new Command("evaluate")
      .description("Score a trained model's clusters against the labels of a data file: ACC, NMI, ARI")
      .argument("<model-dir>", "a model directory written by `deepclust train`")
      .argument("<data>", "embeddings with ground-truth labels: CSV, JSONL, .npy (with --labels-file) or Parquet")
      .option("--labels-column <name>", labelsColumnHelp("scored against on the labelled rows"))
      .option(
        "--labels-file <file>",
        "ground-truth labels in a separate file, one per row (.npy, IDX, or text; NaN, NA or an empty line: missing)",
      ),
  ).action(async (modelDir: string, data: string, o: ApplyCliOptions) => evaluate(modelDir, data, o));
}

async function predict(modelDir: string, data: string, o: PredictCliOptions): Promise<void> {
  const progress = createProgress({ json: o.json });
  checkPredictionsPath(o.out, [data, o.labelsFile, ...modelInputFiles(modelDir)], o.force);
  const t0 = performance.now();
  const model = loadModel(modelDir, { threads: o.threads, device: o.device, precision: o.precision });
  const k = model.k;
  const sizes = new Array<number>(k).fill(0);
  let confidenceSum = 0;
  let rows = 0;
  let writer: PredictionWriter | undefined;
  let columns: string[] = [];
  const dropped = new Set<string>();
  try {
    // Read a chunk, assign it, write it: one chunk's rows, probabilities and output text are held
    // at a time, whatever the size of the file.
    const chunkRows = chunkRowsFor(model.inputDim);
    // Each chunk is used before the next is taken, so the reader may reuse its buffers.
    // The model checks the values are finite inside its graph (faster than scanning them here).
    for await (const chunk of streamDataset(data, o, {
      expectedDim: model.inputDim,
      chunkRows,
      reuseBuffers: true,
      checkFinite: false,
    })) {
      if (writer === undefined) {
        // The output columns are the first chunk's (a JSONL key first seen later is not copied).
        columns = chunkColumnNames(chunk);
        writer = await createPredictionWriter(o.out, {
          passthrough: columns,
          ...(o.proba ? { probabilities: k } : {}),
        });
        progress.start("predict", chunk.totalRows, "rows");
      }
      for (const name of Object.keys(chunk.passthrough)) {
        if (!columns.includes(name) && !dropped.has(name)) {
          dropped.add(name);
          warn(
            `${data}: key '${name}' first appears in rows ${chunk.firstRow + 1}–${chunk.firstRow + chunk.X.rows}, after the output columns were taken from the first ${chunkRows} rows; it is not copied to ${o.out}`,
          );
        }
      }
      const q = await assignChunk(model, chunk, o.batchSize);
      const { labels, confidence } = hardAssignments(q);
      for (let i = 0; i < labels.length; i++) {
        sizes[labels[i]!]!++;
        confidenceSum += confidence[i]!;
      }
      await writer.write({
        labels,
        confidence,
        passthrough: chunkColumns(chunk, columns),
        ...(o.proba ? { probabilities: q } : {}),
      });
      rows += chunk.X.rows;
      progress.update(rows);
    }
    progress.stop();
    await writer!.commit();
  } catch (e) {
    progress.stop();
    await writer?.abort();
    throw e;
  } finally {
    await model.release();
  }
  const secs = (performance.now() - t0) / 1000;
  const summary = {
    model: resolve(modelDir),
    data: resolve(data),
    out: resolve(o.out),
    rows,
    k,
    clustersFound: sizes.filter((s) => s > 0).length,
    clusterSizes: sizes,
    meanConfidence: confidenceSum / rows,
    probabilities: o.proba,
    precision: o.precision,
    seconds: secs,
    rowsPerSecond: rows / secs,
    /** The process's peak resident memory (maximum RSS), in MiB. */
    peakRssMb: peakRssMb(),
  };
  if (o.json) return printJson(summary);
  progress.log(
    `assigned ${rows} rows of ${data} to ${k} clusters in ${seconds(secs)} (mean confidence ${summary.meanConfidence.toFixed(4)}, peak memory ${summary.peakRssMb} MiB)`,
  );
  progress.log(sizesLine(sizes));
  progress.log(`wrote ${o.out}`);
}

async function evaluate(modelDir: string, data: string, o: ApplyCliOptions): Promise<void> {
  const progress = createProgress({ json: o.json });
  if (o.labelsColumn === NO_LABELS_COLUMN && o.labelsFile === undefined)
    throw new UsageError(
      `evaluate scores the clusters against labels: --labels-column ${NO_LABELS_COLUMN} leaves none (name the labels column, or give --labels-file)`,
    );
  const model = loadModel(modelDir, { threads: o.threads, device: o.device, precision: o.precision });
  // Streamed too: only the labels and the clusters (small) are kept from each chunk.
  const truthText: string[] = [];
  const predicted: Int32Array[] = [];
  let labelsColumn: string | null = null;
  let rows = 0;
  try {
    for await (const chunk of streamDataset(data, o, {
      expectedDim: model.inputDim,
      chunkRows: chunkRowsFor(model.inputDim),
      reuseBuffers: true,
      checkFinite: false,
    })) {
      if (chunk.labels === null) throw noLabelsError(chunk);
      if (rows === 0) progress.start("evaluate", chunk.totalRows, "rows");
      labelsColumn = chunk.labelsColumn;
      predicted.push(hardLabels(await assignChunk(model, chunk)));
      for (const label of chunk.labels) truthText.push(label);
      rows += chunk.X.rows;
      progress.update(rows);
    }
    progress.stop();
  } catch (e) {
    progress.stop();
    throw e;
  } finally {
    await model.release();
  }
  const pred = new Int32Array(rows);
  let offset = 0;
  for (const p of predicted) {
    pred.set(p, offset);
    offset += p.length;
  }
  const truth = finalizeLabels(truthText);
  if (labelledCount(truth) === 0)
    throw new InputError(
      labelsSource(data, labelsColumn, o),
      `every one of the ${rows} labels is missing (empty, NA, NaN, null …): nothing to score against`,
    );
  const summary = scoreSummary(model, truth, pred, { model: resolve(modelDir), data: resolve(data), labelsColumn });
  if (o.json) return printJson(summary);
  for (const line of scoreLines(summary)) progress.log(line);
  progress.log(sizesLine(summary.clusterSizes));
}

/** q of a chunk; a NaN/±Inf in it is reported at its row and dimension of the file. */
async function assignChunk(model: DECModel, chunk: DatasetChunk, batchSize?: number): Promise<Matrix> {
  try {
    return await model.predictProba(chunk.X, batchSize);
  } catch (e) {
    throw e instanceof NonFiniteValueError ? nonFiniteInputError(chunk.file, e, chunk.firstRow) : e;
  }
}

/** The peak resident set size of this process so far, in MiB, to 0.1. */
function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 102.4) / 10;
}

/** Scores over the labelled rows (n: every row; labelled, unlabelled: how many have a label and not). */
function scoreSummary(model: DECModel, truth: RowLabels, pred: Int32Array, extra: Record<string, unknown>) {
  const scores = evaluateClustering(truth, pred);
  const sizes = clusterSizes(pred, model.k);
  const labelled = labelledCount(truth);
  return {
    ...extra,
    n: pred.length,
    labelled,
    unlabelled: pred.length - labelled,
    k: model.k,
    clustersFound: sizes.filter((s) => s > 0).length,
    classes: classCount(truth),
    ...scores,
    clusterSizes: sizes,
  };
}
