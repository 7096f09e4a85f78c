// The HTML report of a model directory: training curves, cluster sizes, the score table, a 2-D
// map of the learned code and, with labels, the contingency matrix with the Hungarian mapping.
//   data.ts   what is shown (from config.json, metrics.json and a data file run through the model)
//   specs.ts  the Vega-Lite charts
//   html.ts   the self-contained page

import { MODEL_REPORT_FILE, readTrainingMetrics, type DECModel } from "../dec/model-dir.js";
import { writeFileAtomically } from "../io/atomic-file.js";

// readTrainingMetrics moved to the model directory's module; re-exported here for the report's callers.
export { readTrainingMetrics } from "../dec/model-dir.js";

export { writeFileAtomically };
import { assembleReport, type ReportData, type ReportOptions } from "./data.js";
import { reportCharts, type Chart } from "./specs.js";
import { renderReportHtml } from "./html.js";

export {
  assembleReport,
  contingencyReport,
  confidenceData,
  subsampleIndices,
  REPORT_DEFAULTS,
  type ConfidenceData,
  type ConfidenceThreshold,
  type ReportData,
  type ReportOptions,
  type InternalScoreRow,
} from "./data.js";
export { reportCharts, confidenceChart, type Chart } from "./specs.js";
export { renderReportHtml, escapeHtml, jsonForScript } from "./html.js";
export { embed2d, pca2d, umap2d, MAP_METHODS, type MapMethod } from "./embed2d.js";
export { chooseKSection, renderChooseKPage, writeChooseKPage } from "./choose-k-page.js";

/** The report's file name inside a model directory (what `deepclust train` writes). */
export const REPORT_FILE = MODEL_REPORT_FILE;

export interface BuiltReport {
  html: string;
  data: ReportData;
  charts: Chart[];
}

/** The report of a loaded model as an HTML string (with the data and charts it shows). */
export async function buildReport(
  model: DECModel,
  metrics: Record<string, unknown> | null,
  options: ReportOptions = {},
): Promise<BuiltReport> {
  const data = await assembleReport(model, metrics, options);
  const charts = reportCharts(data);
  return { html: renderReportHtml(data, charts), data, charts };
}

/** Builds the report of `model` (metrics.json read from its directory) and writes it atomically to `file`. */
export async function writeReport(file: string, model: DECModel, options: ReportOptions = {}): Promise<BuiltReport> {
  const metrics = model.dir ? readTrainingMetrics(model.dir) : null;
  const report = await buildReport(model, metrics, options);
  writeFileAtomically(file, report.html);
  return report;
}
