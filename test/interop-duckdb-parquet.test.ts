// Parquet files written by DuckDB (@duckdb/node-api, a writer independent of hyparquet), made here
// with SQL COPY ... TO: list<float>, list<double> and fixed-size FLOAT[8] embeddings; snappy, zstd,
// gzip, brotli, LZ4 and no compression; Parquet format v1 and v2 (DuckDB's v2 uses
// BYTE_STREAM_SPLIT floats and DELTA integers); three row groups (DuckDB cuts them at multiples of
// 2,048 rows); dictionary-encoded string labels, integer labels, a text column with nulls; and
// nulls, empty and ragged lists and NaN where they are errors. readDataset (whole and in chunks)
// and the out-of-core ParquetSource (both decoders) must give what DuckDB reads back from the
// same file, and name the same row and column in an error.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { Rng } from "../src/engine/index.js";
import { InputError, ParquetSource, readDataset, readDatasetChunks } from "../src/io/index.js";

const ROWS = 4500;
const DIMS = 8;
const dir = mkdtempSync(join(tmpdir(), "deepclust-duckdb-"));
let duck: DuckDBInstance;
let db: DuckDBConnection;

before(async () => {
  // One thread: rows are written in order. No extension is installed from the network.
  duck = await DuckDBInstance.create(":memory:", { threads: "1", autoinstall_known_extensions: "false" });
  db = await duck.connect();
});
after(() => {
  db.closeSync();
  duck.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

async function query(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS();
}

/** Writes the rows of `select` (over i in 0..ROWS-1) with DuckDB to a Parquet file in `dir`. */
async function write(name: string, select: string, options = ""): Promise<string> {
  const f = join(dir, name);
  await db.run(
    `COPY (SELECT ${select} FROM range(${ROWS}) t(i) ORDER BY i) TO '${f}' (FORMAT parquet, ROW_GROUP_SIZE 2048${options})`,
  );
  return f;
}

/** Values of several magnitudes and both signs, different in every row and dimension. */
const value = "sin(i * 0.7 + j * 1.3) * pow(10, (i + j) % 5 - 2)";

const cases = [
  { codec: "snappy", version: "v1", type: "FLOAT[]", labels: "string" },
  { codec: "zstd", version: "v2", type: "FLOAT[]", labels: "string" },
  { codec: "gzip", version: "v1", type: "DOUBLE[]", labels: "integer" },
  { codec: "uncompressed", version: "v2", type: "DOUBLE[]", labels: "integer" },
  { codec: "brotli", version: "v1", type: `FLOAT[${DIMS}]`, labels: "string" },
  { codec: "lz4_raw", version: "v2", type: `FLOAT[${DIMS}]`, labels: "integer" },
] as const;

test("DuckDB's Parquet files (every codec, format v1 and v2, list and fixed-size float/double) read to DuckDB's own values", async () => {
  for (const c of cases) {
    const what = `${c.type} ${c.codec} ${c.version}`;
    const label = c.labels === "string" ? "['sports', 'politics', 'science'][i % 3 + 1]" : "(i * 7 % 5 - 2)::INTEGER";
    const f = await write(
      `${c.codec}-${c.version}-${c.type.replace(/\W/g, "")}.parquet`,
      `i AS id, CASE WHEN i % 7 = 3 THEN NULL ELSE 'doc ' || i END AS text, list_transform(range(${DIMS}), j -> ${value})::${c.type} AS embeddings, ${label} AS label`,
      `, COMPRESSION ${c.codec}, PARQUET_VERSION ${c.version}`,
    );
    // What the file is, by DuckDB's account.
    const meta = await query(
      `SELECT row_group_id, row_group_num_rows, path_in_schema, compression, encodings FROM parquet_metadata('${f}')`,
    );
    const groups = [...new Map(meta.map((m) => [m.row_group_id, Number(m.row_group_num_rows)])).values()];
    assert.deepEqual(groups, [2048, 2048, 404], what);
    assert.ok(
      meta.every((m) => m.compression === c.codec.toUpperCase()),
      `${what}: ${meta.map((m) => m.compression).join()}`,
    );
    if (c.labels === "string")
      assert.ok(
        meta.some((m) => m.path_in_schema === "label" && /DICTIONARY/.test(String(m.encodings))),
        `${what}: dictionary labels`,
      );
    // DuckDB's read-back, in file order.
    const back = await query(
      `SELECT id, text, embeddings::DOUBLE[] AS e, label FROM read_parquet('${f}', file_row_number = true) ORDER BY file_row_number`,
    );
    assert.equal(back.length, ROWS);
    const want = Float32Array.from(back.flatMap((r) => r.e as number[]));
    const labels = back.map((r) => r.label as string | number);
    const passthrough = { id: back.map((r) => String(r.id)), text: back.map((r) => (r.text as string | null) ?? "") };

    const ds = await readDataset(f);
    assert.deepEqual(
      [ds.format, ds.X.rows, ds.X.cols, ds.embeddingsColumn, ds.labelsColumn],
      ["parquet", ROWS, DIMS, "embeddings", "label"],
      what,
    );
    assert.deepEqual(ds.X.data, want, what);
    assert.deepEqual(ds.labels, labels, what);
    assert.deepEqual(ds.passthrough, passthrough, what);

    let next = 0;
    for await (const chunk of readDatasetChunks(f, { chunkRows: 1000 })) {
      assert.equal(chunk.firstRow, next);
      assert.deepEqual(
        chunk.X.data,
        want.subarray(next * DIMS, (next + chunk.X.rows) * DIMS),
        `${what} chunk at ${next}`,
      );
      assert.deepEqual(chunk.labels, labels.slice(next, next + chunk.X.rows).map(String));
      next += chunk.X.rows;
    }
    assert.equal(next, ROWS);

    const rng = new Rng(7);
    const index = Uint32Array.from({ length: 600 }, () => rng.int(ROWS));
    for (const generalDecoder of [false, true]) {
      const src = ParquetSource.open(f, { generalDecoder });
      try {
        assert.equal(src.fastPath, !generalDecoder, `${what}: the list<float/double> fast path`);
        assert.deepEqual([src.rows, src.cols, src.rowGroupRows], [ROWS, DIMS, [2048, 2048, 404]]);
        const all = new Float32Array(ROWS * DIMS);
        src.readRange(0, ROWS, all);
        assert.deepEqual(all, want, `${what} ParquetSource generalDecoder=${generalDecoder}`);
        const got = new Float32Array(index.length * DIMS);
        src.gather(index, 0, index.length, got);
        index.forEach((r, i) =>
          assert.deepEqual(got.subarray(i * DIMS, (i + 1) * DIMS), want.subarray(r * DIMS, (r + 1) * DIMS)),
        );
        assert.deepEqual(src.readLabels(), { column: "label", labels });
      } finally {
        src.close();
      }
    }
  }
});

test("errors in DuckDB's files: null vector, null element, empty and ragged lists, NaN — the same row and column from every reader", async () => {
  const vector = (type: string) => `list_transform(range(${DIMS}), j -> ${value})::${type}`;
  const errors = [
    {
      name: "null-vector",
      select: `CASE WHEN i = 3000 THEN NULL ELSE ${vector("FLOAT[]")} END AS embeddings, 'x' AS label`,
      message: "row 3001, column 'embeddings': missing vector (null)",
    },
    {
      name: "null-element",
      select: `list_transform(range(${DIMS}), j -> CASE WHEN i = 4100 AND j = 5 THEN NULL ELSE ${value} END)::FLOAT[] AS embeddings, 'x' AS label`,
      message: "row 4101, column 'embeddings': non-numeric value null (dimension 6)",
    },
    {
      name: "empty-list",
      select: `CASE WHEN i = 2100 THEN []::DOUBLE[] ELSE ${vector("DOUBLE[]")} END AS embeddings, 'x' AS label`,
      message: "row 2101, column 'embeddings': expected 8 values, got 0",
    },
    {
      name: "ragged",
      select: `list_transform(range(CASE WHEN i = 2500 THEN ${DIMS + 1} ELSE ${DIMS} END), j -> ${value})::DOUBLE[] AS embeddings, 'x' AS label`,
      message: "row 2501, column 'embeddings': expected 8 values, got 9",
    },
    {
      name: "nan",
      select: `list_transform(range(${DIMS}), j -> CASE WHEN i = 3333 AND j = 2 THEN 'NaN'::DOUBLE ELSE ${value} END)::FLOAT[] AS embeddings, 'x' AS label`,
      message: "row 3334, column 'embeddings': value NaN is not finite (dimension 3)",
    },
  ];
  for (const e of errors) {
    const f = await write(`${e.name}.parquet`, `i AS id, ${e.select}`);
    const expected = `${f}, ${e.message}`;
    const isExpected = (err: unknown) => {
      assert.ok(err instanceof InputError, String(err));
      assert.equal(err.message, expected);
      return true;
    };
    await assert.rejects(readDataset(f), isExpected, e.name);
    for (const generalDecoder of [false, true]) {
      assert.throws(() => {
        const src = ParquetSource.open(f, { generalDecoder });
        try {
          src.readRange(0, ROWS, new Float32Array(ROWS * DIMS));
          src.readLabels();
        } finally {
          src.close();
        }
      }, isExpected);
    }
  }
});

test("a null label in DuckDB's file is a missing label, at its row, from every reader", async () => {
  const f = await write(
    "null-label.parquet",
    `i AS id, list_transform(range(${DIMS}), j -> ${value})::FLOAT[] AS embeddings, CASE WHEN i = 4321 THEN NULL ELSE 'c' || (i % 4) END AS label`,
  );
  const expected = Array.from({ length: ROWS }, (_, i) => (i === 4321 ? null : `c${i % 4}`));
  assert.deepEqual((await readDataset(f)).labels, expected);
  for (const generalDecoder of [false, true]) {
    const src = ParquetSource.open(f, { generalDecoder });
    try {
      assert.deepEqual(src.readLabels()?.labels, expected, `generalDecoder ${generalDecoder}`);
    } finally {
      src.close();
    }
  }
});
