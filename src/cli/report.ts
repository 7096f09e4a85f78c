// deepclust report: one self-contained HTML file about a model directory (training curves, cluster
// sizes, scores, a 2-D map of the code of --data, and with labels the contingency matrix).

import { DEFAULTS } from "../config.js";
import { Command } from "commander";
import { join, resolve } from "node:path";
import { isModelFile, loadModel, modelInputFiles } from "../dec/model-dir.js";
import { checkOutputFile } from "../io/index.js";
import { MAP_METHODS, REPORT_FILE, writeReport, type MapMethod } from "../report/index.js";
import { choice, int, threadsOption } from "./options.js";
import { createProgress } from "./progress.js";
import { labelsColumnHelp, loadDataset, printJson, seconds, type DataCliOptions } from "./common.js";

interface ReportCliOptions extends DataCliOptions {
  data?: string;
  out?: string;
  map: MapMethod;
  maxPoints: number;
  seed?: number;
  threads: number;
  force: boolean;
  json: boolean;
}

export function reportCommand(): Command {
  return new Command("report")
    .description(
      "Write an HTML report of a model directory: training curves, cluster sizes, scores, a 2-D map of the code, the contingency matrix",
    )
    .argument("<model-dir>", "a model directory written by `deepclust train`")
    .option(
      "--data <file>",
      "rows to assign and map (CSV, JSONL, .npy or Parquet); with labels, also the contingency matrix (default: none, training record only)",
    )
    .option("--out <file>", `the HTML file to write (default: <model-dir>/${REPORT_FILE})`)
    .option(
      "--map <method>",
      `2-D map of the code: umap (umap-js, seeded) or pca (instant)`,
      choice("--map", MAP_METHODS),
      DEFAULTS.report.map,
    )
    .option(
      "--max-points <n>",
      "most rows on the map: a seeded uniform subsample of --data beyond this",
      int("--max-points", 1),
      DEFAULTS.report.maxPoints,
    )
    .option("--seed <n>", "seed of the subsample and of UMAP (default: the training run's seed)", int("--seed"))
    .option(
      "--embeddings-column <name>",
      "column (JSONL: key) holding the vectors (default: 'embeddings', else detected)",
    )
    .option("--labels-column <name>", labelsColumnHelp("for the contingency matrix and scores (of the labelled rows)"))
    .option("--labels-file <file>", "ground-truth labels in a separate file, one per row (.npy, IDX, or text)")
    .addOption(threadsOption())
    .option(
      "--force",
      `replace --out if it exists (not needed for a model directory's own ${REPORT_FILE}; never an input)`,
      false,
    )
    .option("--json", "print one JSON summary on stdout and nothing else", false)
    .addHelpText(
      "after",
      `
The file is self-contained (vega, vega-lite and vega-embed are inlined): it opens offline.
The map is UMAP of the model's code of at most --max-points rows of --data (with a text or id
column, its tooltip shows them). \`deepclust train\` writes <out>/${REPORT_FILE} from the training data.

Example:
  deepclust report model --data test.csv --out test-report.html`,
    )
    .action(async (modelDir: string, o: ReportCliOptions) => report(modelDir, o));
}

async function report(modelDir: string, o: ReportCliOptions): Promise<void> {
  const progress = createProgress({ json: o.json });
  const t0 = performance.now();
  const out = o.out ?? join(modelDir, REPORT_FILE);
  // A model directory's own report.html is deepclust's to rewrite; any other existing file needs --force.
  const owned = (file: string) => isModelFile(file, REPORT_FILE);
  checkOutputFile(
    { path: out, flag: "--out" },
    {
      inputs: [o.data, o.labelsFile, ...modelInputFiles(modelDir)].filter((f): f is string => f !== undefined),
      force: o.force,
      owned,
    },
  );
  const model = loadModel(modelDir, { threads: o.threads });
  try {
    const ds = o.data !== undefined ? await loadDataset(o.data, o, { expectedDim: model.inputDim }) : null;
    progress.status(ds ? `assigning ${ds.X.rows} rows and mapping the code (${o.map})…` : "writing the report…");
    const r = await writeReport(out, model, {
      dataset: ds,
      map: o.map,
      maxPoints: o.maxPoints,
      ...(o.seed !== undefined ? { seed: o.seed } : {}),
    });
    const secs = (performance.now() - t0) / 1000;
    if (o.json) {
      printJson({
        model: resolve(modelDir),
        data: ds ? resolve(ds.file) : null,
        out: resolve(out),
        charts: r.charts.map((c) => c.id),
        map: r.data.map ? { method: r.data.map.method, shown: r.data.map.shown, rows: r.data.map.rows } : null,
        bytes: Buffer.byteLength(r.html),
        seconds: secs,
      });
      return;
    }
    progress.log(
      `wrote ${out} (${r.charts.length} charts, ${(Buffer.byteLength(r.html) / 1e6).toFixed(1)} MB) in ${seconds(secs)}`,
    );
  } finally {
    await model.release();
  }
}
