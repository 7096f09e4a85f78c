// CSV datasets, streamed through csv-parse (quoted fields with commas and newlines, "" escapes,
// BOM, CRLF). Two layouts:
// - the reference implementation format: an embeddings column holding a JSON array string per row;
// - "wide": one numeric column per dimension, besides id/text/label columns.
// The layout is decided from the header and the first data row; the rows come in chunks.

import { createReadStream } from "node:fs";
import { pipeline } from "node:stream";
import { CsvError, parse } from "csv-parse";
import type { FormatChunk, ReadChunksOptions, ReadDatasetOptions } from "./dataset.js";
import { DatasetBuilder } from "./dataset-builder.js";
import { findConventional, LABEL_NAMES, listNames, requireColumn } from "./dataset-columns.js";
import { InputError } from "./errors.js";

/** Columns that are never dimensions of a wide CSV ("" and "Unnamed: 0" are pandas' index). */
const WIDE_NON_DIMENSIONS = new Set(["id", "text", "", "unnamed: 0"]);

type Layout =
  | { kind: "json"; embeddings: number; label: number; passthrough: number[] }
  | { kind: "wide"; dims: number[]; dimNames: string[]; label: number; passthrough: number[] };

/** The rows of a CSV/TSV file in chunks of at most `options.chunkRows` (default: one chunk). */
export async function* readCsvChunks(
  file: string,
  options: ReadChunksOptions,
  size: number,
  delimiter: string,
): AsyncGenerator<FormatChunk> {
  const builder = new DatasetBuilder(file, options);
  let bytesRead = 0; // approximately: field lengths plus separators
  builder.estimateRows = () => (builder.rows < 1024 ? 0 : (size / bytesRead) * builder.rows * 1.02); // 0: no guess yet
  const source = createReadStream(file, { highWaterMark: 1 << 20 });
  const parser = parse({ bom: true, delimiter, relax_column_count: true, skip_empty_lines: true });
  pipeline(source, parser, () => {}); // a read error surfaces through the iterator below
  let header: string[] | undefined;
  let layout: Layout | undefined;
  const take = (h: string[], l: Layout): FormatChunk => {
    const c = builder.takeChunk();
    return {
      ...c,
      labels: l.label >= 0 ? c.labels : null,
      labelsColumn: l.label >= 0 ? h[l.label]! : null,
      embeddingsColumn: l.kind === "json" ? h[l.embeddings]! : null,
      totalRows: null,
    };
  };
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (header === undefined) {
        header = checkHeader(file, record);
        continue;
      }
      if (record.length !== header.length) throw fieldCountError(file, header, record, builder.rows + 1);
      layout ??= planLayout(file, header, record, options);
      for (const field of record) bytesRead += field.length + 1;
      if (layout.label >= 0) builder.label(record[layout.label]);
      for (const i of layout.passthrough) builder.passthrough(header[i]!, record[i]);
      if (layout.kind === "json") builder.pushJsonText(record[layout.embeddings]!, header[layout.embeddings]!);
      else builder.pushFields(record, layout.dims, layout.dimNames);
      if (builder.full) break;
      if (builder.chunkReady) yield take(header, layout);
    }
  } catch (e) {
    if (e instanceof CsvError)
      throw new InputError(file, `malformed CSV (${e.message})`, header === undefined ? undefined : builder.rows + 1);
    throw e;
  } finally {
    source.destroy();
  }
  if (header === undefined) throw new InputError(file, "the file is empty (no header line)");
  if (layout === undefined) throw new InputError(file, "no data rows (only a header)");
  if (builder.pending > 0) yield take(header, layout);
}

function checkHeader(file: string, record: string[]): string[] {
  const names = record.map((n) => n.trim());
  // Numbers where names belong mean no header, except pandas' default names 0, 1, 2, ...
  const numeric = names.every((n) => n !== "" && Number.isFinite(Number(n)));
  const pandasNames = names.every((n, i) => n === String(i)) || names.every((n, i) => n === String(i + 1));
  if ((numeric && !pandasNames) || names.some((n) => n.startsWith("["))) {
    throw new InputError(
      file,
      "the first line holds data, not column names: add a header line (e.g. id,embeddings,labels)",
      undefined,
    );
  }
  const seen = new Map<string, number>();
  names.forEach((n, i) => {
    const first = seen.get(n);
    if (first !== undefined)
      throw new InputError(
        file,
        `duplicate column name in the header (fields ${first + 1} and ${i + 1})`,
        undefined,
        n,
      );
    seen.set(n, i);
  });
  return names;
}

function fieldCountError(file: string, header: string[], record: string[], row: number): InputError {
  // An unquoted JSON array is split at its commas: the usual cause of too many fields.
  const hint =
    record.length > header.length && record.some((f) => f.trimStart().startsWith("["))
      ? '; quote the embeddings field ("[0.1, 0.2]")'
      : "";
  return new InputError(file, `expected ${header.length} fields like the header, got ${record.length}${hint}`, row);
}

function planLayout(file: string, header: string[], first: string[], options: ReadDatasetOptions): Layout {
  // A column with a conventional labels name is labels, or (labels off, or taken from elsewhere)
  // passed through: never a dimension of a wide file.
  const conventional = findConventional(header, LABEL_NAMES);
  let label = -1;
  if (typeof options.labelsColumn === "string") label = requireColumn(file, header, options.labelsColumn);
  else if (options.labelsColumn === undefined && options.labelsFile === undefined) label = conventional;

  let embeddings = -1;
  if (options.embeddingsColumn !== undefined) embeddings = requireColumn(file, header, options.embeddingsColumn);
  else if (header.includes("embeddings")) embeddings = header.indexOf("embeddings");
  else embeddings = detectJsonColumn(file, header, first, label);
  if (embeddings >= 0) {
    if (embeddings === label)
      throw new InputError(file, "is both the embeddings and the labels column", undefined, header[label]);
    const passthrough = header.map((_, i) => i).filter((i) => i !== embeddings && i !== label);
    return { kind: "json", embeddings, label, passthrough };
  }

  const passthrough: number[] = [];
  const dims: number[] = [];
  header.forEach((name, i) => {
    if (i === label) return;
    (WIDE_NON_DIMENSIONS.has(name.toLowerCase()) || i === conventional ? passthrough : dims).push(i);
  });
  if (dims.length === 0) {
    throw new InputError(
      file,
      `no embeddings: no 'embeddings' column, no column of JSON arrays, and no numeric columns (the file has columns ${listNames(header)})`,
    );
  }
  // A text column in a wide file: say what the reader was looking for, not only "non-numeric".
  for (const i of dims) {
    const v = first[i]!.trim();
    if (v !== "" && Number.isNaN(Number(v)) && !/^[-+]?(nan|inf|infinity)$/i.test(v)) {
      throw new InputError(
        file,
        `non-numeric value ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}: with no embeddings column (JSON arrays), every column except id, text and the labels must be a number; name the embeddings column if it is this one`,
        1,
        header[i],
      );
    }
  }
  return { kind: "wide", dims, dimNames: dims.map((i) => header[i]!), label, passthrough };
}

// The single column whose first value is a JSON array; with several, the ones that parse as
// numbers decide, and an ambiguity is the user's to settle.
function detectJsonColumn(file: string, header: string[], first: string[], label: number): number {
  const candidates = header.map((_, i) => i).filter((i) => i !== label && first[i]!.trimStart().startsWith("["));
  if (candidates.length <= 1) return candidates[0] ?? -1;
  const numeric = candidates.filter((i) => {
    try {
      const v: unknown = JSON.parse(first[i]!);
      return Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number");
    } catch {
      return false;
    }
  });
  if (numeric.length === 1) return numeric[0]!;
  throw new InputError(
    file,
    `several columns hold JSON arrays (${listNames((numeric.length > 0 ? numeric : candidates).map((i) => header[i]!))}); name the embeddings column`,
  );
}
