// Pieces the commands share: reading a dataset with the common column options, checking k and
// output paths, and the plain-text tables and numbers the commands print.

import { extname } from "node:path";
// Modules, not the barrels: every command loads this file, and start-up time is paid per module
// (the barrels would bring the Parquet reader and ONNX Runtime to commands that don't need them).
import { checkOutputFile } from "../io/output-paths.js";
import { InputError } from "../io/errors.js";
import { readDataset, type Dataset, type ReadDatasetOptions, type RowLabels } from "../io/dataset.js";
import type { ClusteringScores, InternalScores } from "../cluster/index.js";
import { UsageError } from "./errors.js";

export interface DataCliOptions {
  embeddingsColumn?: string;
  /** A column name, or NO_LABELS_COLUMN. */
  labelsColumn?: string;
  labelsFile?: string;
}

/** The --labels-column value that turns labels off: a 'labels' column is then an ordinary column (predict copies it in its place). */
export const NO_LABELS_COLUMN = "none";

/** --labels-column's help: `use` says what the labels are for in the command. */
export function labelsColumnHelp(use: string): string {
  return `column holding ground-truth labels, ${use}; empty cells, NA, NaN, null … are missing labels (default: 'labels' or 'label' when present; ${NO_LABELS_COLUMN}: no labels)`;
}

export async function loadDataset(file: string, o: DataCliOptions, extra: ReadDatasetOptions = {}): Promise<Dataset> {
  return readDataset(file, { ...columnOptions(o), ...extra });
}

/** The dataset in chunks of rows (readDatasetChunks with the common column options). */
function columnOptions(o: DataCliOptions): ReadDatasetOptions {
  return {
    ...(o.embeddingsColumn !== undefined ? { embeddingsColumn: o.embeddingsColumn } : {}),
    ...labelOptions(o),
  };
}

/** readDataset's label options from --labels-column (NO_LABELS_COLUMN: labelsColumn null) and --labels-file. */
export function labelOptions(o: DataCliOptions): Pick<ReadDatasetOptions, "labelsColumn" | "labelsFile"> {
  const off = o.labelsColumn === NO_LABELS_COLUMN;
  if (off && o.labelsFile !== undefined)
    throw new UsageError(`--labels-column ${NO_LABELS_COLUMN} turns labels off; leave it out to use --labels-file`);
  return {
    ...(o.labelsColumn !== undefined ? { labelsColumn: off ? null : o.labelsColumn } : {}),
    ...(o.labelsFile !== undefined ? { labelsFile: o.labelsFile } : {}),
  };
}

/** Where labels came from, for messages: "file, column 'labels'" or the labels file. */
export function labelsSource(file: string, labelsColumn: string | null, o: DataCliOptions): string {
  return labelsColumn !== null ? `${file}, column '${labelsColumn}'` : (o.labelsFile ?? file);
}

/** Rows that have a label (not null). */
export function labelledCount(labels: RowLabels): number {
  let n = 0;
  for (const l of labels) if (l !== null) n++;
  return n;
}

/**
 * Labels to score against: as they are when at least one is present; null when every one is
 * missing, as data without labels, with a warning naming `source`.
 */
export function usableLabels(labels: RowLabels | null, source: string): RowLabels | null {
  if (labels === null || labelledCount(labels) > 0) return labels;
  warn(
    `${source}: every label is missing (empty, NA, NaN, null …), so the data counts as unlabelled: no ACC / NMI / ARI`,
  );
  return null;
}

/** "950 labelled of 1000 rows (50 unlabelled)": what scores over partially labelled data are computed on. */
export function labelledText(labelled: number, rows: number): string {
  return `${labelled} labelled of ${rows} rows (${rows - labelled} unlabelled)`;
}

/** The labels of a dataset to score against (null: the row's label is missing), or null without labels or with every label missing (usableLabels). */
export function labelsOf(ds: Dataset, o: DataCliOptions): RowLabels | null {
  return usableLabels(ds.labels, labelsSource(ds.file, ds.labelsColumn, o));
}

/** The error for data without labels (no labels column, no labels file), listing the columns there are. */
/**
 * Fails before any work when a predictions file could not or must not be written: its extension,
 * its directory, an input (`inputs`, whatever --force says), or an existing file without --force.
 */
export function checkPredictionsPath(file: string, inputs: readonly (string | undefined)[], force: boolean): void {
  const ext = extname(file).toLowerCase();
  if (![".csv", ".jsonl", ".ndjson"].includes(ext))
    throw new InputError(file, `cannot write predictions as '${ext || "(no extension)"}'; use .csv or .jsonl`);
  checkOutputFile({ path: file, flag: "--out" }, { inputs: inputs.filter((f): f is string => f !== undefined), force });
}

export function checkK(k: number, ds: Dataset): void {
  if (k > ds.X.rows) throw new InputError(ds.file, `k = ${k} clusters is more than the ${ds.X.rows} data rows`);
}

/** Pass-through columns for an output file: the input's other columns, then its labels (see also pipeline/predict-file.ts, chunkColumnNames). */
export function outputColumns(ds: Dataset): Record<string, string[]> {
  const cols: Record<string, string[]> = { ...ds.passthrough };
  if (ds.labels && ds.labelsColumn && !(ds.labelsColumn in cols))
    cols[ds.labelsColumn] = ds.labels.map((l) => (l === null ? "" : String(l)));
  return cols;
}

export function rowsOf(cols: Record<string, string[]>, from: number, to: number): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(cols))
    Object.defineProperty(out, name, { value: values.slice(from, to), enumerable: true });
  return out;
}

export { clusterSizes } from "../cluster/metrics.js";

export function distinctCount(labels: ArrayLike<unknown>): number {
  return new Set(Array.from(labels)).size;
}

/** Distinct labels, a missing one (null) not counted: the true classes. */
export function classCount(labels: ArrayLike<unknown>): number {
  const set = new Set(Array.from(labels));
  set.delete(null);
  return set.size;
}

/** Left-aligned first column, right-aligned numbers. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join("  ")
      .trimEnd(),
  );
}

export function scoreCells(s: ClusteringScores | null | undefined): string[] {
  return s ? [s.acc, s.nmi, s.ari].map((v) => v.toFixed(4)) : ["–", "–", "–"];
}

/** ACC / NMI / ARI (when scored), n, the labelled rows scored, clusters found and true classes, as aligned lines. */
export function scoreLines(s: {
  n: number;
  labelled?: number;
  clustersFound: number;
  k?: number;
  classes?: number;
  acc?: number;
  nmi?: number;
  ari?: number;
  /** Internal scores by space (evaluate). */
  internal?: { code?: InternalScores | null; input?: InternalScores | null };
}): string[] {
  const rows: string[][] = [];
  if (s.acc !== undefined && s.nmi !== undefined && s.ari !== undefined)
    rows.push(["ACC", s.acc.toFixed(4)], ["NMI", s.nmi.toFixed(4)], ["ARI", s.ari.toFixed(4)]);
  const notes: string[] = [];
  for (const space of ["code", "input"] as const) {
    const scores = s.internal?.[space];
    if (scores === undefined) continue;
    if (scores === null) {
      rows.push([`internal scores (${space})`, "undefined: fewer than 2 clusters, or one row per cluster"]);
      continue;
    }
    rows.push(
      [`silhouette (${space})`, scores.silhouette.toFixed(4)],
      [`Calinski-Harabasz (${space})`, scores.calinskiHarabasz.toFixed(1)],
      [`Davies-Bouldin (${space})`, scores.daviesBouldin.toFixed(4)],
    );
    if (scores.silhouetteRows < s.n && notes.length === 0)
      notes.push(`silhouette on a seeded sample of ${scores.silhouetteRows} of the ${s.n} rows`);
  }
  rows.push(
    ["n", String(s.n)],
    ["clusters found", s.k !== undefined ? `${s.clustersFound} (k = ${s.k})` : String(s.clustersFound)],
  );
  if (s.classes !== undefined) rows.push(["true classes", String(s.classes)]);
  // Said only when some rows had no label: otherwise n is what was scored.
  return [
    ...table(rows),
    ...(s.labelled !== undefined && s.labelled < s.n ? [`scored on ${labelledText(s.labelled, s.n)}`] : []),
    ...notes,
  ];
}

/** One line of internal scores: "silhouette 0.4123 (sample of 10000 rows), Calinski-Harabasz 1234.5, Davies-Bouldin 0.8123". */
export function internalScoresLine(s: InternalScores | null, rows: number): string {
  if (s === null) return "internal scores undefined (fewer than 2 clusters found)";
  const sample = s.silhouetteRows < rows ? ` (seeded sample of ${s.silhouetteRows} rows)` : "";
  return `silhouette ${s.silhouette.toFixed(4)}${sample}, Calinski-Harabasz ${s.calinskiHarabasz.toFixed(1)}, Davies-Bouldin ${s.daviesBouldin.toFixed(4)}`;
}

export function seconds(s: number): string {
  return s < 10
    ? `${s.toFixed(2)} s`
    : s < 600
      ? `${s.toFixed(1)} s`
      : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function percent(x: number, digits = 1): string {
  return `${(100 * x).toFixed(digits)} %`;
}

/** "k clusters: sizes 180 175 …" with the largest and smallest called out. */
export function sizesLine(sizes: readonly number[]): string {
  const n = sizes.reduce((a, b) => a + b, 0);
  const nonEmpty = sizes.filter((s) => s > 0).length;
  const shown = sizes.length <= 30 ? sizes.join(" ") : `${sizes.slice(0, 30).join(" ")} … (${sizes.length - 30} more)`;
  const extremes =
    n > 0 ? `; largest ${percent(Math.max(...sizes) / n)}, smallest ${percent(Math.min(...sizes) / n)}` : "";
  return `cluster sizes (${nonEmpty} of ${sizes.length} non-empty${extremes}): ${shown}`;
}

/** The --json output: one object on one line, nothing else on stdout. */
export function printJson(summary: unknown): void {
  process.stdout.write(JSON.stringify(summary) + "\n");
}

/** Human-readable lines that must reach the user even with --json (warnings): stderr. */
export function warn(line: string): void {
  process.stderr.write(`warning: ${line}\n`);
}
