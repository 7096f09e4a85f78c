// Named columns of a table file (CSV, TSV or JSONL), streamed, as strings: what `deepclust
// metrics` reads from a predictions file (a true-label column and a predicted-cluster column).
// No embeddings are involved, so this is not a dataset reader. Every value must be present, except
// in the columns named `mayBeMissing` (true labels), where a null, absent or empty value reads "".

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { pipeline } from "node:stream";
import { extname } from "node:path";
import { CsvError, parse } from "csv-parse";
import { requireColumn } from "./dataset-columns.js";
import { InputError, openError } from "./errors.js";

export async function readColumns(
  file: string,
  names: readonly string[],
  mayBeMissing: readonly string[] = [],
): Promise<Record<string, string[]>> {
  let size: number;
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw new InputError(file, "is a directory, not a data file");
    size = st.size;
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw openError(file, e);
  }
  if (size === 0) throw new InputError(file, "the file is empty");
  const ext = extname(file).toLowerCase();
  const out = Object.fromEntries(names.map((n) => [n, [] as string[]]));
  const optional = new Set(mayBeMissing);
  if (ext === ".jsonl" || ext === ".ndjson") await readJsonl(file, names, out, optional);
  else if (ext === ".csv" || ext === ".tsv" || ext === ".txt" || ext === "")
    await readCsv(file, names, out, ext === ".tsv" ? "\t" : ",", optional);
  else throw new InputError(file, `cannot read columns from a '${ext}' file; use .csv, .tsv or .jsonl`);
  if (out[names[0]!]!.length === 0) throw new InputError(file, "no data rows");
  return out;
}

function cell(file: string, v: unknown, row: number, column: string, optional: ReadonlySet<string>): string {
  if ((v === null || v === undefined) && optional.has(column)) return "";
  if (v === null || v === undefined) throw new InputError(file, "missing value", row, column);
  const s = typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);
  if (s.trim() === "" && !optional.has(column)) throw new InputError(file, "empty value", row, column);
  return s.trim();
}

async function readCsv(
  file: string,
  names: readonly string[],
  out: Record<string, string[]>,
  delimiter: string,
  optional: ReadonlySet<string>,
): Promise<void> {
  const source = createReadStream(file, { highWaterMark: 1 << 20 });
  const parser = parse({ bom: true, delimiter, relax_column_count: true, skip_empty_lines: true });
  pipeline(source, parser, () => {});
  let index: number[] | undefined;
  let width = 0;
  let row = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (index === undefined) {
        const header = record.map((h) => h.trim());
        index = names.map((n) => requireColumn(file, header, n));
        width = header.length;
        continue;
      }
      row++;
      if (record.length !== width)
        throw new InputError(file, `expected ${width} fields like the header, got ${record.length}`, row);
      names.forEach((n, i) => out[n]!.push(cell(file, record[index![i]!], row, n, optional)));
    }
  } catch (e) {
    if (e instanceof CsvError)
      throw new InputError(file, `malformed CSV (${e.message})`, index === undefined ? undefined : row + 1);
    throw e;
  } finally {
    source.destroy();
  }
  if (index === undefined) throw new InputError(file, "the file is empty (no header line)");
}

async function readJsonl(
  file: string,
  names: readonly string[],
  out: Record<string, string[]>,
  optional: ReadonlySet<string>,
): Promise<void> {
  const seen = new Set<string>();
  const source = createReadStream(file, { highWaterMark: 1 << 20 });
  const lines = createInterface({ input: source, crlfDelay: Infinity });
  let row = 0;
  try {
    for await (const raw of lines) {
      const line = row === 0 ? raw.replace(/^\uFEFF/, "") : raw;
      if (line.trim() === "") continue;
      row++;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch (e) {
        throw new InputError(file, `not valid JSON (${(e as Error).message})`, row);
      }
      if (typeof obj !== "object" || obj === null || Array.isArray(obj))
        throw new InputError(file, "expected a JSON object per line", row);
      const rec = obj as Record<string, unknown>;
      for (const n of names) {
        if (Object.hasOwn(rec, n)) seen.add(n);
        else if (!optional.has(n)) requireColumn(file, Object.keys(rec), n, "keys");
        out[n]!.push(cell(file, rec[n], row, n, optional));
      }
    }
  } finally {
    lines.close();
    source.destroy();
  }
  // A key that may be missing from some rows must still be somewhere (a typo is not "all missing").
  for (const n of optional)
    if (row > 0 && !seen.has(n)) throw new InputError(file, "not found in any row", undefined, n);
}
