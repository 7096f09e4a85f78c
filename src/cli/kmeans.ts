// deepclust kmeans: k-means (k-means++ restarts, best inertia) on the raw embeddings, the baseline
// every deep clustering result should be compared with; scored when the data has labels.

import { DEFAULTS } from "../config.js";
import { Command } from "commander";
import { resolve } from "node:path";
// Modules, not the barrels: this command's whole run is timed against scikit-learn's fit, start-up
// included, and the barrels would load UMAP and the Parquet reader (see main.ts).
import { Rng } from "../engine/random.js";
import type { Matrix } from "../engine/matrix.js";
import { kmeans } from "../cluster/kmeans.js";
import { evaluateClustering } from "../cluster/metrics.js";
import { createPredictionWriter } from "../io/predictions.js";
import { int, threadsOption } from "./options.js";
import { createProgress } from "./progress.js";
import {
  checkK,
  checkPredictionsPath,
  classCount,
  clusterSizes,
  labelledCount,
  labelsColumnHelp,
  labelsOf,
  loadDataset,
  outputColumns,
  printJson,
  rowsOf,
  scoreLines,
  seconds,
  sizesLine,
  type DataCliOptions,
} from "./common.js";

interface KMeansCliOptions extends DataCliOptions {
  clusters: number;
  nInit: number;
  maxIter: number;
  seed: number;
  threads: number;
  out?: string;
  force: boolean;
  json: boolean;
}

const CHUNK_ROWS = 16_384;

export function kmeansCommand(): Command {
  return new Command("kmeans")
    .description("k-means on the raw embeddings (the baseline for DEC); ACC, NMI, ARI when the data has labels")
    .argument("<data>", "embeddings: CSV, JSONL, .npy or Parquet")
    .requiredOption("-k, --clusters <n>", "number of clusters (1 ≤ k ≤ rows)", int("-k", 1))
    .option("--n-init <n>", "k-means++ restarts; the lowest inertia wins", int("--n-init", 1), DEFAULTS.kmeans.nInit)
    .option("--max-iter <n>", "Lloyd iterations per restart", int("--max-iter", 1), DEFAULTS.kmeans.maxIter)
    .option("--seed <n>", "seed of the k-means++ seedings", int("--seed"), DEFAULTS.seed)
    .addOption(threadsOption())
    .option(
      "--embeddings-column <name>",
      "column (JSONL: key) holding the vectors (default: 'embeddings', else detected)",
    )
    .option("--labels-column <name>", labelsColumnHelp("for scoring (on the labelled rows)"))
    .option("--labels-file <file>", "ground-truth labels in a separate file, one per row (.npy, IDX, or text)")
    .option(
      "--out <file>",
      "also write the assignments, .csv or .jsonl: the input's other columns, cluster, confidence (the Student-t soft assignment, α = 1, to the point's centre)",
    )
    .option("--force", "replace --out if it exists (never an input: the data or the labels file)", false)
    .option("--json", "print one JSON summary on stdout and nothing else", false)
    .action(async (data: string, o: KMeansCliOptions) => run(data, o));
}

async function run(data: string, o: KMeansCliOptions): Promise<void> {
  const progress = createProgress({ json: o.json });
  if (o.out !== undefined) checkPredictionsPath(o.out, [data, o.labelsFile], o.force);
  const ds = await loadDataset(data, o);
  checkK(o.clusters, ds);
  const X = ds.X;
  const labels = labelsOf(ds, o);
  const labelled = labels ? labelledCount(labels) : 0;
  progress.status(`k-means, k = ${o.clusters}, ${o.nInit} restarts on ${X.rows} × ${X.cols} from ${data}…`);
  const t0 = performance.now();
  const km = await kmeans(X, {
    k: o.clusters,
    nInit: o.nInit,
    maxIter: o.maxIter,
    seed: new Rng(o.seed),
    threads: o.threads,
  });
  const secs = (performance.now() - t0) / 1000;
  if (o.out !== undefined) await writeAssignments(o.out, X, km.centers, km.labels, outputColumns(ds));
  const sizes = clusterSizes(km.labels, o.clusters);
  const summary = {
    data: resolve(data),
    n: X.rows,
    k: o.clusters,
    clustersFound: sizes.filter((s) => s > 0).length,
    ...(labels
      ? {
          labelled,
          unlabelled: X.rows - labelled,
          classes: classCount(labels),
          ...evaluateClustering(labels, km.labels),
        }
      : {}),
    labelsColumn: ds.labelsColumn,
    inertia: km.inertia,
    nIter: km.nIter,
    nInit: o.nInit,
    seed: o.seed,
    clusterSizes: sizes,
    seconds: secs,
    out: o.out !== undefined ? resolve(o.out) : null,
  };
  if (o.json) return printJson(summary);
  for (const line of scoreLines(summary)) progress.log(line);
  if (!labels) progress.log("no labels: ACC / NMI / ARI not computed (give --labels-column or --labels-file)");
  progress.log(
    `inertia ${km.inertia.toPrecision(6)} after ${km.nIter} iterations of the best restart, ${seconds(secs)}`,
  );
  progress.log(sizesLine(sizes));
  if (o.out !== undefined) progress.log(`wrote ${o.out}`);
}

/** Writes cluster and confidence q_i,label (Student-t, α = 1, as DEC would soft-assign to these centres). */
async function writeAssignments(
  file: string,
  X: Matrix,
  centers: Float32Array,
  labels: Int32Array,
  columns: Record<string, string[]>,
): Promise<void> {
  const k = centers.length / X.cols;
  const d = X.cols;
  const writer = await createPredictionWriter(file, { passthrough: Object.keys(columns) });
  try {
    const kernel = new Float64Array(k);
    for (let from = 0; from < X.rows; from += CHUNK_ROWS) {
      const to = Math.min(X.rows, from + CHUNK_ROWS);
      const confidence = new Float32Array(to - from);
      for (let i = from; i < to; i++) {
        let sum = 0;
        for (let j = 0; j < k; j++) {
          let s = 0;
          for (let c = 0; c < d; c++) s += (X.data[i * d + c]! - centers[j * d + c]!) ** 2;
          sum += kernel[j] = 1 / (1 + s);
        }
        confidence[i - from] = kernel[labels[i]!]! / sum;
      }
      await writer.write({ labels: labels.subarray(from, to), confidence, passthrough: rowsOf(columns, from, to) });
    }
    await writer.commit();
  } catch (e) {
    await writer.abort();
    throw e;
  }
}
