// Texts to embed, streamed a chunk of rows at a time: a CSV or TSV with a text column (every column
// kept, as strings), JSON Lines with a text key (every key kept), Parquet with a string column
// (every column kept; a range of rows decoded at a time), or a plain text file with one document
// per line (kept as a `text` column). A row whose text is missing is an InputError naming
// the file, the row and the column.

import { createReadStream } from "node:fs";
import { extname } from "node:path";
import { createInterface } from "node:readline";
import { parse } from "csv-parse";
import { open } from "node:fs/promises";
import { InputError, openError } from "./errors.js";

export interface TextChunk {
  /** The row of the first text in the file (0-based, not counting a header). */
  firstRow: number;
  texts: string[];
  /** Every field of each row, as read (the text too). */
  records: Array<Record<string, unknown>>;
}

export const TEXT_FORMATS = [".csv", ".tsv", ".jsonl", ".ndjson", ".txt", ".parquet", ".pq"];

export async function* readTextChunks(
  file: string,
  options: { textColumn: string; chunkRows: number },
): AsyncGenerator<TextChunk> {
  const ext = extname(file).toLowerCase();
  if (!TEXT_FORMATS.includes(ext))
    throw new InputError(file, `cannot read texts from '${ext || "(no extension)"}': use ${TEXT_FORMATS.join(", ")}`);
  if (ext === ".parquet" || ext === ".pq") {
    yield* chunksOfRecords(file, parquetRecords(file, options.chunkRows), options);
    return;
  }
  const stream = createReadStream(file);
  const opened = new Promise<void>((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", (e) => reject(openError(file, e)));
  });
  await opened;
  const rows: AsyncIterable<Record<string, unknown>> =
    ext === ".csv" || ext === ".tsv"
      ? stream.pipe(
          parse({ columns: true, delimiter: ext === ".tsv" ? "\t" : ",", bom: true, relax_column_count: false }),
        )
      : ext === ".txt"
        ? lines(stream, false, (l) => ({ [options.textColumn]: l }))
        : lines(stream, true, (l, row) => jsonRecord(file, l, row));
  try {
    yield* chunksOfRecords(file, rows, options);
  } catch (e) {
    if (e instanceof InputError) throw e;
    const err = e as { code?: string; lines?: number; message: string };
    throw new InputError(file, `not valid ${ext.slice(1).toUpperCase()} (${err.message})`, err.lines);
  } finally {
    stream.destroy();
  }
}

/** Records in chunks of texts; a record without a string text is an InputError at its row. */
async function* chunksOfRecords(
  file: string,
  rows: AsyncIterable<Record<string, unknown>>,
  options: { textColumn: string; chunkRows: number },
): AsyncGenerator<TextChunk> {
  let chunk: TextChunk = { firstRow: 0, texts: [], records: [] };
  let row = 0;
  for await (const record of rows) {
    const text = record[options.textColumn];
    if (typeof text !== "string") {
      const has = Object.keys(record);
      throw new InputError(
        file,
        text === undefined
          ? `no text column '${options.textColumn}' (the row has ${has.map((c) => `'${c}'`).join(", ") || "no fields"}); name it with --text-column`
          : `the text is ${JSON.stringify(text)}, not a string`,
        row + 1,
        options.textColumn,
      );
    }
    chunk.texts.push(text);
    chunk.records.push(record);
    row++;
    if (chunk.texts.length === options.chunkRows) {
      yield chunk;
      chunk = { firstRow: row, texts: [], records: [] };
    }
  }
  if (chunk.texts.length) yield chunk;
}

/** A Parquet file's rows as objects, a range of `chunkRows` rows decoded at a time (hyparquet). */
async function* parquetRecords(file: string, chunkRows: number): AsyncGenerator<Record<string, unknown>> {
  let fh;
  try {
    fh = await open(file, "r");
  } catch (e) {
    throw openError(file, e);
  }
  try {
    // The Parquet reader loads with the first Parquet file.
    const [{ parquetMetadataAsync, parquetReadObjects }, { compressors }, { fileBuffer }] = await Promise.all([
      import("hyparquet"),
      import("hyparquet-compressors"),
      import("./dataset-parquet.js"),
    ]);
    const buffer = fileBuffer(fh, (await fh.stat()).size);
    let metadata;
    try {
      metadata = await parquetMetadataAsync(buffer);
    } catch (e) {
      throw new InputError(file, `not a readable Parquet file (${(e as Error).message})`);
    }
    const total = Number(metadata.num_rows);
    for (let rowStart = 0; rowStart < total; rowStart += chunkRows) {
      const rows = await parquetReadObjects({
        file: buffer,
        metadata,
        rowStart,
        rowEnd: Math.min(total, rowStart + chunkRows),
        compressors,
      });
      yield* rows as Array<Record<string, unknown>>;
    }
  } finally {
    await fh.close();
  }
}

/** The file's lines as records; `skipBlank`: a blank line is not a row (JSONL), else it is an empty text. */
async function* lines(
  stream: NodeJS.ReadableStream,
  skipBlank: boolean,
  record: (line: string, row: number) => Record<string, unknown>,
): AsyncGenerator<Record<string, unknown>> {
  let row = 0;
  for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
    row++;
    if (skipBlank && line.trim() === "") continue;
    yield record(line, row);
  }
}

function jsonRecord(file: string, line: string, row: number): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new InputError(file, `not valid JSON (${(e as Error).message})`, row);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new InputError(file, "expected a JSON object", row);
  return v as Record<string, unknown>;
}
