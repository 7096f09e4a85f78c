// Embedding files, written a chunk of rows at a time under a temporary name and renamed when
// complete (an interrupted run leaves nothing at the path asked for):
//   .csv / .tsv  the input's columns, then `embeddings` (a JSON array per row: the reference implementation's format);
//   .jsonl       each input object with an `embeddings` array added;
//   .npy         the float32 matrix alone (rows × dim); its header is written last, with the row count;
//   .parquet     the input's columns as strings, then `embeddings` as list<float> (hyparquet-writer),
//                one row group per chunk.

import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { stringify } from "csv-stringify/sync";
import type { Matrix } from "../engine/matrix.js";
import { InputError } from "./errors.js";
import { npyHeader } from "./npy.js";
import { formatFloat32 } from "./predictions.js";

export const EMBEDDING_OUTPUTS = [".csv", ".tsv", ".jsonl", ".ndjson", ".npy", ".parquet"];
export const EMBEDDINGS_COLUMN = "embeddings";
/** Bytes kept for the .npy header: room for any row count, rewritten at the end. */
const NPY_HEADER_BYTES = 128;

export interface EmbeddingWriter {
  readonly rows: number;
  /** Appends rows: their records (the input's fields) and their embeddings, in order. */
  write(records: ReadonlyArray<Record<string, unknown>>, embeddings: Matrix): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

let counter = 0;

export async function createEmbeddingWriter(file: string, dim: number): Promise<EmbeddingWriter> {
  const ext = extname(file).toLowerCase();
  if (!EMBEDDING_OUTPUTS.includes(ext))
    throw new InputError(
      file,
      `cannot write embeddings as '${ext || "(no extension)"}'; use ${EMBEDDING_OUTPUTS.join(", ")}`,
    );
  const tmp = join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${++counter}`);
  if (ext === ".parquet") return parquetEmbeddingWriter(file, tmp, dim);
  let fh: FileHandle;
  try {
    fh = await open(tmp, "wx");
  } catch (e) {
    throw new InputError(file, `cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let rows = 0;
  let columns: string[] | null = null;
  const delimiter = ext === ".tsv" ? "\t" : ",";
  if (ext === ".npy") await fh.write(Buffer.alloc(NPY_HEADER_BYTES, 0x20));
  const vector = (m: Matrix, i: number) => {
    const parts = new Array<string>(m.cols);
    for (let j = 0; j < m.cols; j++) parts[j] = formatFloat32(m.data[i * m.cols + j]!);
    return `[${parts.join(",")}]`;
  };
  return {
    get rows() {
      return rows;
    },
    async write(records, m) {
      checkChunk(records, m, dim);
      if (ext === ".npy") {
        await fh.write(new Uint8Array(m.data.buffer, m.data.byteOffset, m.rows * m.cols * 4));
      } else if (ext === ".jsonl" || ext === ".ndjson") {
        const lines = records.map((r, i) => {
          // The input's own embeddings (if any) are replaced; the new array is the last key.
          const { [EMBEDDINGS_COLUMN]: _old, ...rest } = r;
          const head = JSON.stringify(rest);
          return `${head.length > 2 ? `${head.slice(0, -1)},` : "{"}"${EMBEDDINGS_COLUMN}":${vector(m, i)}}`;
        });
        await fh.write(lines.join("\n") + "\n");
      } else {
        if (columns === null) {
          columns = Object.keys(records[0] ?? {}).filter((c) => c !== EMBEDDINGS_COLUMN);
          await fh.write(stringify([[...columns, EMBEDDINGS_COLUMN]], { delimiter }));
        }
        const cols = columns;
        await fh.write(
          stringify(
            records.map((r, i) => [...cols.map((c) => String(r[c] ?? "")), vector(m, i)]),
            { delimiter },
          ),
        );
      }
      rows += m.rows;
    },
    async commit() {
      if (ext === ".npy") {
        const header = npyHeader([rows, dim]);
        if (header.length > NPY_HEADER_BYTES) throw new Error("npy header larger than reserved");
        // Pad the real header to the reserved size: spaces before its closing newline keep it valid.
        const padded = Buffer.concat([
          header.subarray(0, header.length - 1),
          Buffer.alloc(NPY_HEADER_BYTES - header.length, 0x20),
          Buffer.from("\n"),
        ]);
        padded.writeUInt16LE(NPY_HEADER_BYTES - 10, 8);
        await fh.write(padded, 0, padded.length, 0);
      } else if (columns === null && ext !== ".jsonl" && ext !== ".ndjson") {
        await fh.write(stringify([[EMBEDDINGS_COLUMN]], { delimiter }));
      }
      await fh.close();
      await rename(tmp, file);
    },
    async abort() {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
    },
  };
}

/** Parquet: the string columns of the first chunk's records, then `embeddings` as list<float>; a row group per chunk. */
async function parquetEmbeddingWriter(file: string, tmp: string, dim: number): Promise<EmbeddingWriter> {
  const { ParquetWriter, fileWriter } = await import("hyparquet-writer");
  let writer: InstanceType<typeof ParquetWriter> | null = null;
  let columns: string[] = [];
  let rows = 0;
  const open = (first: Record<string, unknown>) => {
    columns = Object.keys(first).filter((c) => c !== EMBEDDINGS_COLUMN);
    writer = new ParquetWriter({
      writer: fileWriter(tmp),
      schema: [
        { name: "root", num_children: columns.length + 1 },
        ...columns.map((name) => ({
          name,
          type: "BYTE_ARRAY" as const,
          converted_type: "UTF8" as const,
          repetition_type: "OPTIONAL" as const,
        })),
        { name: EMBEDDINGS_COLUMN, repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
        { name: "list", repetition_type: "REPEATED", num_children: 1 },
        { name: "element", type: "FLOAT", repetition_type: "REQUIRED" },
      ],
    });
    return writer;
  };
  return {
    get rows() {
      return rows;
    },
    async write(records, m) {
      checkChunk(records, m, dim);
      if (m.rows === 0) return;
      const w = writer ?? open(records[0]!);
      const text = (v: unknown) =>
        v === null || v === undefined
          ? null
          : typeof v === "string"
            ? v
            : typeof v === "object"
              ? JSON.stringify(v)
              : String(v);
      await w.write({
        columnData: [
          ...columns.map((name) => ({ name, data: records.map((r) => text(r[name])) })),
          {
            name: EMBEDDINGS_COLUMN,
            data: Array.from({ length: m.rows }, (_, i) => Array.from(m.data.subarray(i * dim, (i + 1) * dim))),
          },
        ],
        rowGroupSize: m.rows,
      });
      rows += m.rows;
    },
    async commit() {
      if (!writer) throw new InputError(file, "no rows to write: a Parquet file needs its columns from the first row");
      await (writer as InstanceType<typeof ParquetWriter>).finish();
      await rename(tmp, file);
    },
    async abort() {
      await rm(tmp, { force: true });
    },
  };
}

/** A chunk's records and embeddings must pair up, at the writer's dimension. */
function checkChunk(records: ReadonlyArray<unknown>, m: Matrix, dim: number): void {
  if (m.cols !== dim || m.rows !== records.length)
    throw new RangeError(`${records.length} records and ${m.rows} × ${m.cols} embeddings (dim ${dim})`);
}
