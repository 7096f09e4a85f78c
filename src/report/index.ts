// The HTML report of a model directory: training curves, cluster sizes, the score table, a 2-D
// map of the learned code and, with labels, the contingency matrix with the Hungarian mapping.
//   data.ts   what is shown (from config.json, metrics.json and a data file run through the model)
//   specs.ts  the Vega-Lite charts
//   html.ts   the self-contained page

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MODEL_FILES, MODEL_REPORT_FILE, type DECModel } from "../dec/model-dir.js";
import { InputError } from "../io/errors.js";
import { writeFileAtomically } from "../io/atomic-file.js";

export { writeFileAtomically };
import { assembleReport, type ReportData, type ReportOptions } from "./data.js";
import { reportCharts, type Chart } from "./specs.js";
import { renderReportHtml } from "./html.js";

export {
  assembleReport,
  contingencyReport,
  subsampleIndices,
  REPORT_DEFAULTS,
  type ReportData,
  type ReportOptions,
} from "./data.js";
export { reportCharts, type Chart } from "./specs.js";
export { renderReportHtml, escapeHtml, jsonForScript } from "./html.js";
export { embed2d, pca2d, umap2d, MAP_METHODS, type MapMethod } from "./embed2d.js";

/** The report's file name inside a model directory (what `deepclust train` writes). */
export const REPORT_FILE = MODEL_REPORT_FILE;

/** metrics.json of a model directory, or null when there is none (e.g. a hand-built directory). */
export function readTrainingMetrics(dir: string): Record<string, unknown> | null {
  const file = join(dir, MODEL_FILES.metrics);
  if (!existsSync(file)) return null;
  try {
    const v = JSON.parse(readFileSync(file, "utf8")) as unknown;
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch (e) {
    throw new InputError(file, `cannot read (${(e as Error).message})`);
  }
}

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
