// Parquet datasets through hyparquet (pure JS, maintained): a list-of-numbers column (pyarrow's
// list<float>/list<double>, also a fixed-size list, which Parquet stores as a list) or a string
// column of JSON arrays, plus an optional label column. Rows are read a range at a time: a chunk's
// worth when the file has an offset index (page locations; pyarrow's write_page_index=True, Spark,
// hyparquet-writer), else a whole row group, so only that range's decoded values are held besides
// the chunk. hyparquet-compressors adds the codecs beyond snappy (polars writes zstd by default).

import { open, type FileHandle } from "node:fs/promises";
import {
  parquetMetadataAsync,
  parquetRead,
  parquetSchema,
  type AsyncBuffer,
  type ColumnData,
  type FileMetaData,
  type RowGroup,
  type SchemaTree,
} from "hyparquet";
import { compressors } from "hyparquet-compressors";
import type { FormatChunk, ReadChunksOptions, ReadDatasetOptions } from "./dataset.js";
import { DatasetBuilder } from "./dataset-builder.js";
import { EMBEDDING_NAMES, findConventional, LABEL_NAMES, listNames, requireColumn } from "./dataset-columns.js";
import { InputError } from "./errors.js";

/** The rows of a Parquet file in chunks of at most `options.chunkRows` (default: one chunk). */
export async function* readParquetChunks(
  file: string,
  options: ReadChunksOptions,
  size: number,
): AsyncGenerator<FormatChunk> {
  const fh = await open(file, "r");
  try {
    const buffer = fileBuffer(fh, size);
    let metadata: FileMetaData;
    try {
      metadata = await parquetMetadataAsync(buffer);
    } catch (e) {
      throw new InputError(file, `not a readable Parquet file (${(e as Error).message})`);
    }
    const top = parquetSchema(metadata).children;
    const names = top.map((c) => c.element.name);
    const embeddings = names[pickEmbeddings(file, top, options)]!;
    const label = pickLabels(file, names, options);
    const passthrough = names.filter((n) => n !== embeddings && n !== label);
    const columns = [embeddings, ...(label !== null ? [label] : []), ...passthrough];

    const builder = new DatasetBuilder(file, options);
    const total = Math.min(Number(metadata.num_rows), builder.limit);
    builder.estimateRows = () => total;
    const take = (): FormatChunk => {
      const c = builder.takeChunk();
      return {
        ...c,
        labels: label !== null ? c.labels : null,
        labelsColumn: label,
        embeddingsColumn: embeddings,
        totalRows: total,
      };
    };
    let groupStart = 0;
    for (const group of metadata.row_groups) {
      const start = groupStart;
      groupStart += Number(group.num_rows);
      const end = Math.min(groupStart, start + builder.limit - builder.rows);
      // With an offset index (page locations), a row range reads only the pages it overlaps:
      // windows of a chunk. Without one, every range would read the whole column chunk, so the
      // group is read once.
      const window =
        Number.isFinite(builder.chunkRows) && hasOffsetIndex(group, columns) ? builder.chunkRows : end - start;
      for (let rowStart = start; rowStart < end; rowStart += window) {
        const rowEnd = Math.min(end, rowStart + window);
        const chunks = new Map<string, ColumnData[]>();
        try {
          await parquetRead({
            file: buffer,
            metadata,
            columns,
            rowStart,
            rowEnd,
            useOffsetIndex: true,
            compressors,
            onChunk: (c) => {
              const list = chunks.get(c.columnName);
              if (list) list.push(c);
              else chunks.set(c.columnName, [c]);
            },
          });
        } catch (e) {
          throw new InputError(file, `cannot decode rows ${rowStart + 1}–${rowEnd} (${(e as Error).message})`);
        }
        const column = (name: string) => gather(chunks.get(name) ?? [], rowStart, rowEnd);
        const vectors = column(embeddings);
        const labels = label !== null ? column(label) : null;
        const others = passthrough.map((n) => [n, column(n)] as const);
        chunks.clear();
        for (let i = 0; i < rowEnd - rowStart; i++) {
          if (labels !== null) builder.label(labels[i]);
          for (const [n, values] of others) builder.passthrough(n, values[i]);
          pushVector(builder, vectors[i], embeddings);
          if (builder.chunkReady) yield take();
        }
      }
      if (builder.full) break;
    }
    if (builder.pending > 0) yield take();
  } finally {
    await fh.close();
  }
}

/** Whether every column read has page locations (an offset index) in this row group. */
function hasOffsetIndex(group: RowGroup, columns: readonly string[]): boolean {
  return group.columns.every((c) => {
    const name = c.meta_data?.path_in_schema[0];
    return (
      name === undefined ||
      !columns.includes(name) ||
      (c.offset_index_offset !== undefined && (c.offset_index_length ?? 0) > 0)
    );
  });
}

/** One row's decoded embeddings value (a list of numbers, or a JSON array string) into the builder, with its checks. */
export function pushVector(builder: DatasetBuilder, v: unknown, column: string): void {
  if (typeof v === "string") builder.pushJsonText(v, column);
  else if (v !== null && v !== undefined && typeof v === "object" && "length" in v)
    builder.pushValues(v as ArrayLike<unknown>, column);
  else
    throw new InputError(
      builder.file,
      v === null || v === undefined ? "missing vector (null)" : `expected a list of numbers, got ${String(v)}`,
      builder.rows + 1,
      column,
    );
}

/** The labels column: the user's (it must exist); else a conventional name unless labels are off (null) or in a labels file; else none. */
export function pickLabels(file: string, names: readonly string[], options: ReadDatasetOptions): string | null {
  if (typeof options.labelsColumn === "string") return names[requireColumn(file, names, options.labelsColumn)]!;
  if (options.labelsColumn === undefined && options.labelsFile === undefined)
    return names[findConventional(names, LABEL_NAMES)] ?? null;
  return null;
}

/** The embeddings column: the user's; else a conventional name; else the one list-of-numbers column. */
export function pickEmbeddings(file: string, top: SchemaTree[], options: ReadDatasetOptions): number {
  const names = top.map((c) => c.element.name);
  if (options.embeddingsColumn !== undefined) return requireColumn(file, names, options.embeddingsColumn);
  const conventional = findConventional(names, EMBEDDING_NAMES);
  if (conventional >= 0) return conventional;
  const lists = top.map((c, i) => (isNumericList(c) ? i : -1)).filter((i) => i >= 0);
  if (lists.length === 1) return lists[0]!;
  if (lists.length === 0)
    throw new InputError(
      file,
      `no list-of-numbers column for the embeddings (the file has columns ${listNames(names)}); name it`,
    );
  throw new InputError(
    file,
    `several list-of-numbers columns (${listNames(lists.map((i) => names[i]!))}); name the embeddings column`,
  );
}

function isNumericList(node: SchemaTree): boolean {
  const e = node.element;
  const isList = e.converted_type === "LIST" || e.logical_type?.type === "LIST" || e.repetition_type === "REPEATED";
  if (!isList) return false;
  let leaf = node;
  while (leaf.children.length === 1) leaf = leaf.children[0]!;
  if (leaf.children.length > 0) return false;
  const t = leaf.element.type;
  return (
    t === "FLOAT" || t === "DOUBLE" || t === "INT32" || t === "INT64" || leaf.element.logical_type?.type === "FLOAT16"
  );
}

// Values of one column for rows [rowStart, rowEnd); chunks may extend past the range.
function gather(chunks: ColumnData[], rowStart: number, rowEnd: number): unknown[] {
  const out = new Array<unknown>(rowEnd - rowStart);
  for (const c of chunks) {
    for (let r = Math.max(c.rowStart, rowStart); r < Math.min(c.rowEnd, rowEnd); r++)
      out[r - rowStart] = c.columnData[r - c.rowStart];
  }
  return out;
}

export function fileBuffer(fh: FileHandle, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const out = new Uint8Array(end - start);
      let done = 0;
      while (done < out.length) {
        const { bytesRead } = await fh.read(out, done, out.length - done, start + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return out.buffer;
    },
  };
}
