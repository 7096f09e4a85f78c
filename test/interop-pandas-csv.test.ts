// CSV files written by pandas' DataFrame.to_csv (test/fixtures/pandas/, made by
// gen_pandas_csv.py with Debian's pandas): the reference format with pandas' index column and
// quoted text, CRLF line ends, a UTF-8 BOM, the wide layout (CSV and TSV), and NaN as pandas
// writes it. readDataset, whole and in chunks, must give what pandas reads back (expected.json).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError, readDataset, readDatasetChunks } from "../src/io/index.js";

interface Expected {
  pandas: string;
  files: Record<
    string,
    {
      rows: number;
      dims: number;
      float32: number[];
      labels: (number | string)[];
      passthrough: Record<string, string[]>;
    }
  >;
  nan: Record<string, { row: number; column: string; dimension?: number }>;
}

const fixtures = new URL("./fixtures/pandas/", import.meta.url).pathname;
const expected = JSON.parse(readFileSync(join(fixtures, "expected.json"), "utf8")) as Expected;

test("the fixtures are what they say: pandas' index column, quoted text, CRLF, a BOM", () => {
  const text = (name: string) => readFileSync(join(fixtures, name), "utf8");
  assert.ok(text("reference.csv").startsWith(",text,embeddings,labels\n"));
  assert.match(text("reference.csv"), /"she said ""hi"""/);
  assert.match(text("reference.csv"), /"two\nlines"/);
  assert.ok(text("crlf.csv").startsWith("id,text,embeddings,label\r\n"));
  assert.ok(text("bom.csv").startsWith("\uFEFF,text"));
  assert.ok(text("wide.tsv").startsWith("0\t1\t2\t3\t4\t5\tlabel\n"));
});

test("readDataset reads each pandas CSV to pandas' values, labels and text columns", async () => {
  for (const [name, want] of Object.entries(expected.files)) {
    const ds = await readDataset(join(fixtures, name));
    assert.deepEqual([ds.X.rows, ds.X.cols], [want.rows, want.dims], name);
    assert.deepEqual(Array.from(ds.X.data), Array.from(Float32Array.from(want.float32)), name);
    assert.deepEqual(ds.labels, want.labels, name);
    assert.deepEqual(ds.passthrough, want.passthrough, name);
  }
  const crlf = await readDataset(join(fixtures, "crlf.csv"));
  assert.deepEqual([crlf.embeddingsColumn, crlf.labelsColumn], ["embeddings", "label"]);
  assert.ok(crlf.passthrough.text!.includes('comma, "quote" and\nnewline'));
  const wide = await readDataset(join(fixtures, "wide.csv"));
  assert.deepEqual([wide.embeddingsColumn, wide.labelsColumn], [null, "label"]);
});

test("in chunks: the same rows, labels and text, whatever the chunk size", async () => {
  for (const [name, want] of Object.entries(expected.files)) {
    for (const chunkRows of [1, 5, 64]) {
      const values: number[] = [];
      const labels: string[] = [];
      const passthrough: Record<string, string[]> = {};
      for await (const c of readDatasetChunks(join(fixtures, name), { chunkRows })) {
        values.push(...c.X.data);
        labels.push(...c.labels!);
        for (const [k, v] of Object.entries(c.passthrough)) (passthrough[k] ??= []).push(...v);
      }
      assert.deepEqual(values, Array.from(Float32Array.from(want.float32)), `${name} in chunks of ${chunkRows}`);
      assert.deepEqual(labels, want.labels.map(String));
      assert.deepEqual(passthrough, want.passthrough);
    }
  }
});

test("a NaN as pandas writes it (an empty field, or NaN in the JSON) is refused, naming the row and column", async () => {
  for (const [name, { row, column, dimension }] of Object.entries(expected.nan)) {
    const f = join(fixtures, name);
    await assert.rejects(readDataset(f), (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.ok(e.message.startsWith(`${f}, row ${row}, column '${column}'`), e.message);
      if (dimension !== undefined) assert.match(e.message, new RegExp(`NaN .*\\(dimension ${dimension}\\)$`));
      return true;
    });
  }
});
