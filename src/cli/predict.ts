// deepclust predict / evaluate: apply a model directory to new data.
// predict writes one output row per input row (pass-through columns, cluster, confidence = max q,
// optionally every q), assigning and writing in chunks through the atomic prediction writer;
// evaluate scores the model's clusters against the data's labels.

import { Command } from "commander";
import { resolve } from "node:path";
import { DEVICES, rowSlice, type Device } from "../engine/index.js";
import { evaluateClustering } from "../cluster/index.js";
import { loadModel, type DECModel } from "../dec/model-dir.js";
import { createPredictionWriter } from "../io/index.js";
import { choice, int } from "./options.js";
import { createProgress } from "./progress.js";
import { checkPredictionsPath, clusterSizes, distinctCount, hardAssignments, loadDataset, outputColumns, printJson, requireLabels, rowsOf, scoreLines, seconds, sizesLine, type DataCliOptions } from "./common.js";

interface ApplyCliOptions extends DataCliOptions {
  batchSize: number;
  threads: number;
  device: Device;
  json: boolean;
}

interface PredictCliOptions extends ApplyCliOptions {
  out: string;
  proba: boolean;
}

/** Rows assigned and written per step: bounds the memory of q and of the output text. */
const CHUNK_ROWS = 16_384;

function withApplyOptions(cmd: Command): Command {
  return cmd
    .option("--embeddings-column <name>", "column (JSONL: key) holding the vectors (default: 'embeddings', else detected)")
    .option("--batch-size <n>", "rows per inference batch", int("--batch-size", 1), 1024)
    .option("--threads <n>", "compute threads (0 = one per core)", int("--threads"), 0)
    .option("--device <name>", `execution provider: ${DEVICES.join(", ")}`, choice("--device", DEVICES), "cpu")
    .option("--json", "print one JSON summary on stdout and nothing else", false);
}

export function predictCommand(): Command {
  return withApplyOptions(
    new Command("predict")
      .description("Assign every row of a data file to a cluster with a trained model")
      .argument("<model-dir>", "a model directory written by `deepclust train`")
      .argument("<data>", "embeddings of the model's input dimension: CSV, JSONL, .npy or Parquet")
      .option("--out <file>", "predictions file, .csv or .jsonl: the input's other columns (id, text, labels …), cluster, confidence (= max q)", "predictions.csv")
      .option("--proba", "also write every cluster's probability q (CSV: columns p0 … p{k-1}; JSONL: a 'probabilities' array)", false),
  ).action(async (modelDir: string, data: string, o: PredictCliOptions) => predict(modelDir, data, o));
}

export function evaluateCommand(): Command {
  return withApplyOptions(
    new Command("evaluate")
      .description("Score a trained model's clusters against the labels of a data file: ACC, NMI, ARI")
      .argument("<model-dir>", "a model directory written by `deepclust train`")
      .argument("<data>", "embeddings with ground-truth labels: CSV, JSONL, .npy (with --labels-file) or Parquet")
      .option("--labels-column <name>", "column holding the ground-truth labels (default: 'labels' or 'label')")
      .option("--labels-file <file>", "ground-truth labels in a separate file, one per row (.npy, IDX, or text)"),
  ).action(async (modelDir: string, data: string, o: ApplyCliOptions) => evaluate(modelDir, data, o));
}

async function openModelAndData(modelDir: string, data: string, o: ApplyCliOptions) {
  const model = loadModel(modelDir, { threads: o.threads, device: o.device });
  const ds = await loadDataset(data, o, { expectedDim: model.inputDim });
  return { model, ds };
}

async function predict(modelDir: string, data: string, o: PredictCliOptions): Promise<void> {
  const progress = createProgress({ json: o.json });
  checkPredictionsPath(o.out);
  const t0 = performance.now();
  const { model, ds } = await openModelAndData(modelDir, data, o);
  const X = ds.X;
  const k = model.k;
  const columns = outputColumns(ds);
  const writer = await createPredictionWriter(o.out, { passthrough: Object.keys(columns), ...(o.proba ? { probabilities: k } : {}) });
  const sizes = new Array<number>(k).fill(0);
  let confidenceSum = 0;
  try {
    progress.start("predict", X.rows, "rows");
    for (let from = 0; from < X.rows; from += CHUNK_ROWS) {
      const to = Math.min(X.rows, from + CHUNK_ROWS);
      const q = await model.predictProba(rowSlice(X, from, to), o.batchSize);
      const { labels, confidence } = hardAssignments(q);
      for (let i = 0; i < labels.length; i++) {
        sizes[labels[i]!]!++;
        confidenceSum += confidence[i]!;
      }
      await writer.write({ labels, confidence, passthrough: rowsOf(columns, from, to), ...(o.proba ? { probabilities: q } : {}) });
      progress.update(to);
    }
    progress.stop();
    await writer.commit();
  } catch (e) {
    progress.stop();
    await writer.abort();
    throw e;
  } finally {
    await model.release();
  }
  const secs = (performance.now() - t0) / 1000;
  const summary = {
    model: resolve(modelDir),
    data: resolve(data),
    out: resolve(o.out),
    rows: X.rows,
    k,
    clustersFound: sizes.filter((s) => s > 0).length,
    clusterSizes: sizes,
    meanConfidence: confidenceSum / X.rows,
    probabilities: o.proba,
    seconds: secs,
    rowsPerSecond: X.rows / secs,
  };
  if (o.json) return printJson(summary);
  progress.log(`assigned ${X.rows} rows of ${data} to ${k} clusters in ${seconds(secs)} (mean confidence ${summary.meanConfidence.toFixed(4)})`);
  progress.log(sizesLine(sizes));
  progress.log(`wrote ${o.out}`);
}

async function evaluate(modelDir: string, data: string, o: ApplyCliOptions): Promise<void> {
  const progress = createProgress({ json: o.json });
  const { model, ds } = await openModelAndData(modelDir, data, o);
  const truth = requireLabels(ds);
  let pred: Int32Array;
  try {
    pred = await model.predict(ds.X);
  } finally {
    await model.release();
  }
  const summary = scoreSummary(model, truth, pred, { model: resolve(modelDir), data: resolve(data), labelsColumn: ds.labelsColumn });
  if (o.json) return printJson(summary);
  for (const line of scoreLines(summary)) progress.log(line);
  progress.log(sizesLine(summary.clusterSizes));
}

function scoreSummary(model: DECModel, truth: number[] | string[], pred: Int32Array, extra: Record<string, unknown>) {
  const scores = evaluateClustering(truth, pred);
  const sizes = clusterSizes(pred, model.k);
  return { ...extra, n: pred.length, k: model.k, clustersFound: sizes.filter((s) => s > 0).length, classes: distinctCount(truth), ...scores, clusterSizes: sizes };
}
