// Streaming dataset reads (readDatasetChunks): for every format, the chunks put together equal
// readDataset's whole-file read, with chunk sizes that do not divide the row count; chunks are
// consecutive and full but the last; an error midway names the same file/row/column as the
// whole-file read, after the chunks before it were handed out.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetWriteFile } from "hyparquet-writer";
import {
  InputError,
  readDataset,
  readDatasetChunks,
  npyHeader,
  writeNpy,
  type DatasetChunk,
  type ReadChunksOptions,
} from "../src/io/index.js";
import { finalizeLabels } from "../src/io/dataset-builder.js";

const dir = mkdtempSync(join(tmpdir(), "deepclust-stream-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const N = 53;
const D = 5;
/** Exactly representable in float32, distinct per row and dimension. */
const value = (i: number, j: number) => ((i * 37 + j * 11) % 97) / 8 - 6;
const vector = (i: number) => Array.from({ length: D }, (_, j) => value(i, j));
const label = (i: number) => (i % 4 === 3 ? "007" : String(i % 3));

let counter = 0;
function file(name: string, content: string | Buffer): string {
  const f = join(dir, `${++counter}-${name}`);
  writeFileSync(f, content);
  return f;
}

interface Collected {
  chunks: DatasetChunk[];
  data: number[];
  labels: string[] | null;
  passthrough: Record<string, string[]>;
}

/** Every chunk, checked for continuity and size, and their rows put together. */
async function collect(f: string, options: ReadChunksOptions): Promise<Collected> {
  const chunks: DatasetChunk[] = [];
  for await (const c of readDatasetChunks(f, options)) chunks.push(c);
  const out: Collected = { chunks, data: [], labels: chunks[0]!.labels === null ? null : [], passthrough: {} };
  let row = 0;
  chunks.forEach((c, i) => {
    assert.equal(c.firstRow, row, `chunk ${i} starts where the previous ended`);
    assert.equal(c.X.data.length, c.X.rows * c.X.cols);
    if (i < chunks.length - 1) assert.equal(c.X.rows, options.chunkRows, `chunk ${i} is full`);
    else assert.ok(c.X.rows >= 1 && c.X.rows <= options.chunkRows!, "the last chunk holds the rest");
    out.data.push(...c.X.data);
    if (out.labels) out.labels.push(...c.labels!);
    // A column missing from early chunks (a JSONL key seen later) reads "" there.
    for (const [name, values] of Object.entries(c.passthrough)) {
      const col = (out.passthrough[name] ??= new Array<string>(row).fill(""));
      while (col.length < row) col.push("");
      col.push(...values);
      assert.equal(values.length, c.X.rows, `column ${name} of chunk ${i}`);
    }
    row += c.X.rows;
  });
  for (const col of Object.values(out.passthrough)) while (col.length < row) col.push("");
  return out;
}

/** Chunked reads with several chunk sizes equal the whole-file read. */
async function assertSameAsWhole(f: string, options: ReadChunksOptions = {}, totalKnown = false): Promise<void> {
  const whole = await readDataset(f, options);
  for (const chunkRows of [1, 7, 20, 52, 1000]) {
    const got = await collect(f, { ...options, chunkRows });
    const expectedChunks = Math.ceil(whole.X.rows / chunkRows);
    assert.equal(got.chunks.length, expectedChunks, `${f}, chunkRows ${chunkRows}: chunk count`);
    assert.deepEqual(got.data, Array.from(whole.X.data), `chunkRows ${chunkRows}: vectors`);
    assert.deepEqual(
      got.labels === null ? null : finalizeLabels(got.labels),
      whole.labels,
      `chunkRows ${chunkRows}: labels`,
    );
    assert.deepEqual(got.passthrough, whole.passthrough, `chunkRows ${chunkRows}: pass-through columns`);
    for (const c of got.chunks) {
      assert.deepEqual(
        [c.format, c.file, c.X.cols, c.labelsColumn, c.embeddingsColumn],
        [whole.format, f, whole.X.cols, whole.labelsColumn, whole.embeddingsColumn],
      );
      assert.equal(c.totalRows, totalKnown ? whole.X.rows : null);
    }
  }
}

const csvText = (() => {
  let t = "id,text,embeddings,labels\n";
  for (let i = 0; i < N; i++)
    t += `${i},"row ${i}, ""quoted""${i % 5 === 0 ? "\nsecond line" : ""}","${JSON.stringify(vector(i))}",${label(i)}\n`;
  return t;
})();

test("CSV (reference and wide layouts) and TSV: the chunks equal the whole file", async () => {
  await assertSameAsWhole(file("ref.csv", csvText));
  let wide = "id,x0,x1,x2,x3,x4,label\n";
  for (let i = 0; i < N; i++) wide += `${i},${vector(i).join(",")},${label(i)}\n`;
  await assertSameAsWhole(file("wide.csv", wide));
  await assertSameAsWhole(file("wide.tsv", wide.replaceAll(",", "\t")));
});

test("JSONL: the chunks equal the whole file; a key first seen midway is a column from then on", async () => {
  let text = "";
  for (let i = 0; i < N; i++) {
    const rec: Record<string, unknown> = { id: i, embedding: vector(i), label: label(i) };
    if (i >= 30 && i % 2 === 0) rec.late = { n: i };
    text += JSON.stringify(rec) + (i % 9 === 0 ? "\n\n" : "\n");
  }
  const f = file("data.jsonl", text);
  await assertSameAsWhole(f);
  const chunks: DatasetChunk[] = [];
  for await (const c of readDatasetChunks(f, { chunkRows: 20 })) chunks.push(c);
  assert.deepEqual(
    chunks.map((c) => Object.keys(c.passthrough)),
    [["id"], ["id", "late"], ["id", "late"]],
  );
  assert.deepEqual(chunks[1]!.passthrough.late!.slice(8, 12), ["", "", '{"n":30}', ""]);
});

test("CSV and JSONL with reuseBuffers: the same rows and passthrough, through two alternating buffers", async () => {
  const csv = file("reuse.csv", csvText);
  const whole = await readDataset(csv);
  let jsonl = "";
  for (let i = 0; i < N; i++) jsonl += JSON.stringify({ id: i, embedding: vector(i) }) + "\n";
  const json = file("reuse.jsonl", jsonl);
  for (const f of [csv, json])
    for (const chunkRows of [1, 7, 20, 1000]) {
      const seen: number[] = [];
      const ids: string[] = [];
      const buffers = new Set<ArrayBufferLike>();
      // Each chunk is used before the next is taken, as the option requires.
      for await (const c of readDatasetChunks(f, { chunkRows, reuseBuffers: true })) {
        seen.push(...c.X.data);
        ids.push(...c.passthrough.id!);
        buffers.add(c.X.data.buffer);
      }
      assert.deepEqual(seen, Array.from(whole.X.data), `${f}, chunkRows ${chunkRows}`);
      assert.deepEqual(ids, whole.passthrough.id);
      // The first chunk's buffer grows by doubling; from the second chunk on, two buffers take turns.
      assert.ok(buffers.size <= 3, `${buffers.size} buffers for chunkRows ${chunkRows}`);
    }
});

test("NPY (float32 and float64) and IDX: the chunks equal the whole file, and the total is known up front", async () => {
  const X = { data: Float32Array.from({ length: N * D }, (_, k) => value(Math.floor(k / D), k % D)), rows: N, cols: D };
  const f4 = join(dir, "x.npy");
  writeNpy(f4, X);
  await assertSameAsWhole(f4, {}, true);
  await assertSameAsWhole(
    f4,
    { labelsFile: file("y.txt", Array.from({ length: N }, (_, i) => label(i)).join("\n")) },
    true,
  );
  // float64: the same header with '<f8' and the values widened.
  const f8 = file("x8.npy", Buffer.concat([npyHeader([N, D], "<f8"), Buffer.from(Float64Array.from(X.data).buffer)]));
  await assertSameAsWhole(f8, {}, true);
  const pixels = Buffer.from(Array.from({ length: N * 4 }, (_, k) => (k * 29) % 256));
  const idx = file("images", Buffer.concat([Buffer.from([0, 0, 8, 3, 0, 0, 0, N, 0, 0, 0, 2, 0, 0, 0, 2]), pixels]));
  await assertSameAsWhole(idx, {}, true);
});

test("NPY with reuseBuffers: the same rows through two alternating buffers; stopping early and errors behave", async () => {
  const X = { data: Float32Array.from({ length: N * D }, (_, k) => value(Math.floor(k / D), k % D)), rows: N, cols: D };
  const f = join(dir, "reuse.npy");
  writeNpy(f, X);
  for (const chunkRows of [1, 7, 20, 1000]) {
    const seen: number[] = [];
    const buffers = new Set<ArrayBufferLike>();
    // Each chunk is used before the next is taken, as the option requires.
    for await (const c of readDatasetChunks(f, { chunkRows, reuseBuffers: true })) {
      seen.push(...c.X.data);
      buffers.add(c.X.data.buffer);
    }
    assert.deepEqual(seen, Array.from(X.data), `chunkRows ${chunkRows}`);
    assert.ok(buffers.size <= 2, `${buffers.size} buffers for chunkRows ${chunkRows}`);
  }
  // Stopping after the first chunk while the next read is in flight: no error, the file is closed.
  for await (const c of readDatasetChunks(f, { chunkRows: 7, reuseBuffers: true })) {
    assert.equal(c.firstRow, 0);
    break;
  }
  // A NaN in row 30: the chunks before it come out, then readDataset's error.
  const bad = Float32Array.from(X.data);
  bad[29 * D + 2] = NaN;
  const fb = join(dir, "reuse-bad.npy");
  writeNpy(fb, { data: bad, rows: N, cols: D });
  const firstRows: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const c of readDatasetChunks(fb, { chunkRows: 7, reuseBuffers: true })) firstRows.push(c.firstRow);
    })(),
    (e: unknown) => e instanceof InputError && e.row === 30 && e.column === "dimension 3",
  );
  assert.deepEqual(firstRows, [0, 7, 14, 21]);
});

/** A Parquet file of N rows: id, a list<float> embedding, a label; with or without an offset index. */
function parquet(
  name: string,
  offsetIndex: boolean,
  vectors: (number[] | null)[] = Array.from({ length: N }, (_, i) => vector(i)),
): string {
  const f = join(dir, `${++counter}-${name}`);
  parquetWriteFile({
    filename: f,
    rowGroupSize: 20,
    pageSize: 200, // several pages per row group: a range reads only the pages it needs
    columnData: [
      { name: "id", data: vectors.map((_, i) => `id${i}`), offsetIndex },
      { name: "embedding", data: vectors, offsetIndex },
      { name: "label", data: vectors.map((_, i) => label(i)), offsetIndex },
    ],
    schema: [
      { name: "root", num_children: 3 },
      { name: "id", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
      { name: "embedding", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
      { name: "list", repetition_type: "REPEATED", num_children: 1 },
      { name: "element", type: "FLOAT", repetition_type: "OPTIONAL" },
      { name: "label", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
    ],
  });
  return f;
}

test("Parquet with and without an offset index (row groups of 20): the chunks equal the whole file", async () => {
  await assertSameAsWhole(parquet("indexed.parquet", true), {}, true);
  await assertSameAsWhole(parquet("plain.parquet", false), {}, true);
});

test("limit: chunks stop at the limit, and the total says so", async () => {
  for (const f of [file("limit.csv", csvText), parquet("limit.parquet", true)]) {
    const got = await collect(f, { limit: 23, chunkRows: 7 });
    assert.deepEqual(
      got.chunks.map((c) => c.X.rows),
      [7, 7, 7, 2],
    );
    assert.deepEqual(
      got.data,
      Array.from({ length: 23 * D }, (_, k) => value(Math.floor(k / D), k % D)),
    );
  }
  const npy = join(dir, "limit.npy");
  writeNpy(npy, { data: new Float32Array(N * D), rows: N, cols: D });
  const got = await collect(npy, { limit: 23, chunkRows: 10 });
  assert.deepEqual([got.chunks.map((c) => c.X.rows), got.chunks[0]!.totalRows], [[10, 10, 3], 23]);
});

/** The whole-file read and the chunked read fail with the same message; the chunks before the bad row come first. */
async function assertSameError(
  f: string,
  options: ReadChunksOptions,
  message: string | RegExp,
  rowsBefore: number,
): Promise<void> {
  let wholeMessage = "";
  await assert.rejects(readDataset(f, options), (e: unknown) => {
    assert.ok(e instanceof InputError, String(e));
    wholeMessage = e.message;
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
  let rows = 0;
  await assert.rejects(
    (async () => {
      for await (const c of readDatasetChunks(f, options)) rows += c.X.rows;
    })(),
    (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.equal(e.message, wholeMessage);
      return true;
    },
  );
  assert.equal(rows, rowsBefore, `${f}: rows handed out before the error`);
}

test("errors midway name the row and column counted over the whole file, after the chunks before them", async () => {
  const lines = csvText.split("\n");
  // Row 40 is the 41st record; rows with a quoted newline span two lines, so find it by its id.
  const at = lines.findIndex((l) => l.startsWith("39,"));
  const withRow40 = (replace: (line: string) => string) =>
    [...lines.slice(0, at), replace(lines[at]!), ...lines.slice(at + 1)].join("\n");
  const ragged = file(
    "ragged.csv",
    withRow40((l) => l.replace(/"\[[^\]]*\]"/, '"[1,2,3,4]"')),
  );
  await assertSameError(
    ragged,
    { chunkRows: 7 },
    `${ragged}, row 40, column 'embeddings': expected 5 values, got 4`,
    35,
  );
  const nan = file(
    "nan.csv",
    withRow40((l) => l.replace(/"\[[^,]*,/, '"[NaN,')),
  );
  await assertSameError(
    nan,
    { chunkRows: 7 },
    `${nan}, row 40, column 'embeddings': value NaN is not finite (dimension 1)`,
    35,
  );
  const short = file(
    "short.csv",
    withRow40((l) => l.replace(/,[^,]*$/, "")),
  );
  await assertSameError(short, { chunkRows: 10 }, `${short}, row 40: expected 4 fields like the header, got 3`, 30);
  const dim = file("dim.csv", csvText);
  await assertSameError(
    dim,
    { chunkRows: 7, expectedDim: 768 },
    `${dim}, row 1, column 'embeddings': 5 dimensions, but the model expects 768`,
    0,
  );

  let jsonl = "";
  for (let i = 0; i < N; i++)
    jsonl += i === 39 ? '{"embedding": [1, 2, 3, 4, "x"]}\n' : `${JSON.stringify({ embedding: vector(i) })}\n`;
  const badJsonl = file("bad.jsonl", jsonl);
  await assertSameError(
    badJsonl,
    { chunkRows: 7 },
    `${badJsonl}, row 40, column 'embedding': non-numeric value "x" (dimension 5)`,
    35,
  );

  const X = { data: new Float32Array(N * D).fill(0.5), rows: N, cols: D };
  X.data[39 * D + 2] = Infinity;
  const npy = join(dir, "inf.npy");
  writeNpy(npy, X);
  await assertSameError(
    npy,
    { chunkRows: 7 },
    `${npy}, row 40, column 'dimension 3': value Infinity is not finite`,
    35,
  );
  await assertSameError(npy, { chunkRows: 7, expectedDim: 768 }, `${npy}: 5 dimensions, but the model expects 768`, 0);

  const vectors: (number[] | null)[] = Array.from({ length: N }, (_, i) => vector(i));
  vectors[39] = null;
  for (const indexed of [true, false]) {
    const pq = parquet(`null-${indexed}.parquet`, indexed, vectors);
    await assertSameError(pq, { chunkRows: 7 }, `${pq}, row 40, column 'embedding': missing vector (null)`, 35);
  }
});

test("labels from a file: sliced per chunk; too few or too many give readDataset's message", async () => {
  const x = join(dir, "labelled.npy");
  writeNpy(x, { data: new Float32Array(N * D), rows: N, cols: D });
  const got = await collect(x, {
    chunkRows: 10,
    labelsFile: file("y.txt", Array.from({ length: N }, (_, i) => `c${i}`).join("\n")),
  });
  assert.deepEqual(
    got.labels,
    Array.from({ length: N }, (_, i) => `c${i}`),
  );
  assert.equal(got.chunks[0]!.labelsColumn, null);
  const few = file("few.txt", "a\nb\nc\n");
  await assertSameError(x, { chunkRows: 10, labelsFile: few }, `${few}: 3 labels for the ${N} rows of ${x}`, 0);
  const many = file("many.txt", Array.from({ length: N + 1 }, () => "a").join("\n"));
  await assertSameError(
    x,
    { chunkRows: 10, labelsFile: many },
    `${many}: ${N + 1} labels for the ${N} rows of ${x}`,
    N,
  );
  // With a limit, extra labels are dropped, as readDataset does.
  assert.equal((await collect(x, { chunkRows: 10, labelsFile: many, limit: 12 })).labels!.length, 12);
});

test("no data, bad options", async () => {
  const headerOnly = file("header.csv", "id,embeddings\n");
  await assertSameError(headerOnly, { chunkRows: 5 }, `${headerOnly}: no data rows (only a header)`, 0);
  const missing = join(dir, "missing.csv");
  await assertSameError(missing, { chunkRows: 5 }, `${missing}: file not found`, 0);
  const f = file("ok.csv", csvText);
  await assert.rejects(readDatasetChunks(f, { chunkRows: 0 }).next(), /chunkRows must be an integer ≥ 1, got 0/);
  // Stopping early is fine: the file is closed, and a new read starts from the top.
  for await (const c of readDatasetChunks(f, { chunkRows: 4 })) {
    assert.equal(c.firstRow, 0);
    break;
  }
  assert.equal((await collect(f, { chunkRows: 4 })).chunks.length, Math.ceil(N / 4));
});
