// Dataset readers: the reference CSV format and its variants, wide CSV, JSONL, NPY + labels,
// Parquet, and every input error with the exact file/row/column it names. Rows in errors are
// data rows counted from 1 (the CSV header is not a row).

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { parquetWriteFile } from "hyparquet-writer";
import {
  InputError,
  readDataset,
  validateFinite,
  npyHeader,
  writeNpy,
  type ReadDatasetOptions,
} from "../src/io/index.js";

const dir = mkdtempSync(join(tmpdir(), "deepclust-io-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
function file(name: string, content: string | Buffer): string {
  const f = join(dir, `${++fileCounter}-${name}`);
  writeFileSync(f, content);
  return f;
}

/** Rejects with an InputError whose whole message is `message` (a string) or matches it. */
async function rejects(f: string, options: ReadDatasetOptions, message: string | RegExp): Promise<void> {
  await assert.rejects(readDataset(f, options), (e: unknown) => {
    assert.ok(e instanceof InputError, `expected an InputError, got ${String(e)}`);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  });
}

const f32 = (xs: number[]) => Array.from(Float32Array.from(xs));

test("reference CSV: JSON-array embeddings, integer labels as numbers, other columns passed through", async () => {
  const f = file("ref.csv", 'id,embeddings,labels\n7,"[0.1, -0.2, 3]",2\n8,"[4,5e-3,-6.5]",0\n');
  const ds = await readDataset(f);
  assert.equal(ds.format, "csv");
  assert.deepEqual([ds.X.rows, ds.X.cols], [2, 3]);
  assert.deepEqual(Array.from(ds.X.data), f32([0.1, -0.2, 3, 4, 5e-3, -6.5]));
  assert.deepEqual(ds.labels, [2, 0]);
  assert.equal(ds.embeddingsColumn, "embeddings");
  assert.equal(ds.labelsColumn, "labels");
  assert.deepEqual(ds.passthrough, { id: ["7", "8"] });
});

test("labels: 'label' is detected; non-integer labels make every label a string", async () => {
  const words = await readDataset(file("words.csv", 'embeddings,label\n"[1,2]",sports\n"[3,4]",politics\n'));
  assert.deepEqual(words.labels, ["sports", "politics"]);
  assert.equal(words.labelsColumn, "label");
  const mixed = await readDataset(file("mixed.csv", 'embeddings,labels\n"[1,2]",1\n"[3,4]",b\n"[5,6]",-3\n'));
  assert.deepEqual(mixed.labels, ["1", "b", "-3"]);
  const negative = await readDataset(file("neg.csv", 'embeddings,labels\n"[1,2]",-1\n"[3,4]",12\n'));
  assert.deepEqual(negative.labels, [-1, 12]);
  const floats = await readDataset(file("floatlabels.csv", 'embeddings,labels\n"[1,2]",1.5\n"[3,4]",2\n'));
  assert.deepEqual(floats.labels, ["1.5", "2"]);
  const none = await readDataset(file("nolabels.csv", 'embeddings,topic\n"[1,2]",a\n'));
  assert.equal(none.labels, null);
  assert.equal(none.labelsColumn, null);
  assert.deepEqual(none.passthrough, { topic: ["a"] });
  const named = await readDataset(file("named.csv", 'embeddings,topic\n"[1,2]",a\n'), { labelsColumn: "topic" });
  assert.deepEqual(named.labels, ["a"]);
});

test("the embeddings column is auto-detected when it is not called 'embeddings', or named by the user", async () => {
  const f = file("vec.csv", 'id,text,vec,labels\n1,hello,"[1,2,3]",0\n2,"[not an array, just text","[4,5,6]",1\n');
  const ds = await readDataset(f);
  assert.equal(ds.embeddingsColumn, "vec");
  assert.deepEqual(Array.from(ds.X.data), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(ds.passthrough, { id: ["1", "2"], text: ["hello", "[not an array, just text"] });

  const two = file("two.csv", 'a,b\n"[1,2]","[3,4,5]"\n');
  await rejects(two, {}, `${two}: several columns hold JSON arrays ('a', 'b'); name the embeddings column`);
  const b = await readDataset(two, { embeddingsColumn: "b" });
  assert.deepEqual([b.X.cols, b.embeddingsColumn], [3, "b"]);
  assert.deepEqual(b.passthrough, { a: ["[1,2]"] });
  // Of two array columns, the one of numbers wins.
  const tags = await readDataset(file("tags.csv", 'tags,emb\n"[""x"",""y""]","[1,2]"\n'));
  assert.equal(tags.embeddingsColumn, "emb");
});

test("a column the user names must exist: the error lists the columns there are", async () => {
  const f = file("cols.csv", 'id,embeddings,labels\n1,"[1]",0\n');
  await rejects(
    f,
    { embeddingsColumn: "emb" },
    `${f}, column 'emb': not found (the file has columns 'id', 'embeddings', 'labels')`,
  );
  await rejects(
    f,
    { labelsColumn: "y" },
    `${f}, column 'y': not found (the file has columns 'id', 'embeddings', 'labels')`,
  );
});

test("wide CSV: one numeric column per dimension, with id/text/label columns set aside", async () => {
  const f = file("wide.csv", 'id,x0,x1,x2,text,label\na,1,2,3,hi,5\nb,-1.5,0,1e-3,"there, you",6\n');
  const ds = await readDataset(f);
  assert.deepEqual([ds.X.rows, ds.X.cols], [2, 3]);
  assert.deepEqual(Array.from(ds.X.data), f32([1, 2, 3, -1.5, 0, 1e-3]));
  assert.deepEqual(ds.labels, [5, 6]);
  assert.equal(ds.embeddingsColumn, null);
  assert.equal(ds.labelsColumn, "label");
  assert.deepEqual(ds.passthrough, { id: ["a", "b"], text: ["hi", "there, you"] });
  // pandas' unnamed index column is not a dimension.
  const pandas = await readDataset(file("pandas.csv", ",a,b\n0,1,2\n1,3,4\n"));
  assert.deepEqual([pandas.X.cols, Object.keys(pandas.passthrough)], [2, [""]]);
  // pandas' default column names for a bare array are a header, not data.
  const numbered = await readDataset(file("numbered.csv", "0,1,2\n0.5,1,2\n"));
  assert.deepEqual([numbered.X.rows, numbered.X.cols], [1, 3]);
  const tsv = await readDataset(file("wide.tsv", "x0\tx1\tlabel\n1\t2\tz\n"));
  assert.deepEqual([Array.from(tsv.X.data), tsv.labels, tsv.format], [[1, 2], ["z"], "tsv"]);
});

test("wide CSV errors name the column: text in a dimension, an empty cell, NaN", async () => {
  const text = file("widetext.csv", "x0,title,label\n1,hello,0\n");
  await rejects(
    text,
    {},
    `${text}, row 1, column 'title': non-numeric value "hello": with no embeddings column (JSON arrays), every column except id, text and the labels must be a number; name the embeddings column if it is this one`,
  );
  const later = file("widelater.csv", "x0,x1\n1,2\n3,abc\n");
  await rejects(later, {}, `${later}, row 2, column 'x1': non-numeric value "abc"`);
  const empty = file("wideempty.csv", "x0,x1\n1,2\n3,\n");
  await rejects(empty, {}, `${empty}, row 2, column 'x1': empty value`);
  const nan = file("widenan.csv", "x0,x1\n1,nan\n");
  await rejects(nan, {}, `${nan}, row 1, column 'x1': value nan is not finite`);
  const inf = file("wideinf.csv", "x0,x1\n1,2\n-Infinity,2\n");
  await rejects(inf, {}, `${inf}, row 2, column 'x0': value -Infinity is not finite`);
  const big = file("widebig.csv", "x0,x1\n1,1e39\n");
  await rejects(big, {}, `${big}, row 1, column 'x1': value 1e39 overflows float32`);
  const nothing = file("widenothing.csv", "id,text,label\n1,a,2\n");
  await rejects(
    nothing,
    {},
    `${nothing}: no embeddings: no 'embeddings' column, no column of JSON arrays, and no numeric columns (the file has columns 'id', 'text', 'label')`,
  );
});

test("quoted CSV fields keep commas, quotes and newlines; row numbers count records, not lines", async () => {
  const f = file(
    "quoted.csv",
    'id,text,embeddings,labels\r\n1,"Hello, ""world""\r\nsecond line","[1,2]",0\r\n2,"multi\nline\ntext","[3,4]",1\r\n3,plain,"[5]",1\r\n',
  );
  await rejects(f, {}, `${f}, row 3, column 'embeddings': expected 2 values, got 1`);
  const ok = await readDataset(f, { limit: 2 });
  assert.deepEqual(ok.passthrough.text, ['Hello, "world"\r\nsecond line', "multi\nline\ntext"]);
  assert.deepEqual(ok.labels, [0, 1]);
  assert.deepEqual(Array.from(ok.X.data), [1, 2, 3, 4]);
});

test("a BOM and blank lines are ignored", async () => {
  const ds = await readDataset(file("bom.csv", '\uFEFFembeddings,labels\n"[1,2]",0\n\n"[3,4]",1\n\n'));
  assert.deepEqual([ds.X.rows, ds.embeddingsColumn, ds.labels], [2, "embeddings", [0, 1]]);
});

test("a 10,000-row CSV is read exactly, growing the matrix past its first size estimate", async () => {
  const n = 10000;
  const d = 16;
  const value = (i: number, j: number) => (i === 0 ? 0.123456789012345 * (j + 1) : ((i * 31 + j * 7) % 1000) / 250 - 2);
  let text = "id,embeddings,labels,text\n";
  for (let i = 0; i < n; i++) {
    const v = Array.from({ length: d }, (_, j) => value(i, j));
    text += `${i},"${JSON.stringify(v)}",${i % 10},"row ${i}, ok"\n`;
  }
  // 10,000 rows outgrow the first allocation (1024 rows); the long first row skews any estimate.
  const ds = await readDataset(file("big.csv", text));
  assert.deepEqual([ds.X.rows, ds.X.cols, ds.X.data.length], [n, d, n * d]);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      if (ds.X.data[i * d + j] !== Math.fround(value(i, j)))
        assert.fail(`row ${i + 1}, dimension ${j + 1}: ${ds.X.data[i * d + j]} ≠ ${value(i, j)}`);
    }
  }
  assert.equal(ds.labels!.length, n);
  assert.ok(ds.labels!.every((l, i) => l === i % 10));
  assert.equal(ds.passthrough.text![9999], "row 9999, ok");
  assert.equal(ds.passthrough.id![4321], "4321");
});

test("limit keeps the first rows of the vectors, labels and pass-through columns", async () => {
  const f = file("limit.csv", 'id,embeddings,labels\n1,"[1]",0\n2,"[2]",1\n3,"[3]",0\n4,broken,1\n');
  const ds = await readDataset(f, { limit: 2 });
  assert.deepEqual(
    [Array.from(ds.X.data), ds.labels, ds.passthrough.id],
    [
      [1, 2],
      [0, 1],
      ["1", "2"],
    ],
  );
});

test("the real digits fixture: 1797 rows × 64, labels 0–9 as numbers", async () => {
  const ds = await readDataset("test/fixtures/digits.csv");
  assert.deepEqual([ds.X.rows, ds.X.cols], [1797, 64]);
  assert.equal(ds.embeddingsColumn, "embeddings");
  assert.equal(ds.labelsColumn, "labels");
  assert.ok(ds.labels!.every((l) => typeof l === "number" && Number.isInteger(l) && l >= 0 && l <= 9));
  assert.deepEqual(new Set(ds.labels), new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  assert.deepEqual(Array.from(ds.X.data.subarray(0, 4)), [0, 0, 0.3125, 0.8125]);
  assert.deepEqual(Object.keys(ds.passthrough), ["id"]);
  assert.equal(ds.passthrough.id![1796], "1796");
  assert.ok(ds.X.data.every((v) => v >= 0 && v <= 1));
});

test("errors: missing file, empty file, header only, duplicate header, headerless data", async () => {
  const missing = join(dir, "nope.csv");
  await rejects(missing, {}, `${missing}: file not found`);
  await rejects(dir, {}, `${dir}: is a directory, not a data file`);
  const empty = file("empty.csv", "");
  await rejects(empty, {}, `${empty}: the file is empty`);
  const blank = file("blank.csv", "\n\n");
  await rejects(blank, {}, `${blank}: the file is empty (no header line)`);
  const headerOnly = file("header.csv", "id,embeddings,labels\n");
  await rejects(headerOnly, {}, `${headerOnly}: no data rows (only a header)`);
  const dup = file("dup.csv", 'id,embeddings,id\n1,"[1]",2\n');
  await rejects(dup, {}, `${dup}, column 'id': duplicate column name in the header (fields 1 and 3)`);
  const noHeader = file("noheader.csv", "0.5,2,3\n4,5,6\n");
  await rejects(
    noHeader,
    {},
    `${noHeader}: the first line holds data, not column names: add a header line (e.g. id,embeddings,labels)`,
  );
});

test("errors in the embeddings column: unparsable, ragged, non-numeric, NaN/Inf, wrong dimension", async () => {
  const cases: [string, string][] = [
    ['"[0.1, 0.2"', "unterminated JSON array (no closing ']'; is the field cut short?)"],
    ['"[0.1 0.2 0.3]"', 'values must be separated by commas, got "0.1 0.2 0.3" (numpy\'s str() output?)'],
    ['"[0.1, abc]"', 'non-numeric value "abc" (dimension 2)'],
    ['"[0.1, ""abc""]"', 'non-numeric value "abc" (dimension 2)'],
    ['"[0.1, null]"', "non-numeric value null (dimension 2)"],
    ['"[0.1, [1]]"', "non-numeric value [1] (dimension 2)"],
    ['"[0.1, NaN]"', "value NaN is not finite (dimension 2)"],
    ['"[-Infinity, 1]"', "value -Infinity is not finite (dimension 1)"],
    ['"[1e39, 1]"', "value 1e+39 overflows float32 (dimension 1)"],
    ['"{""a"": 1}"', `expected a JSON array of numbers like [0.1, -0.2], got '{"a": 1}'`],
    ["0.5", "expected a JSON array of numbers like [0.1, -0.2], got '0.5'"],
    ['""', "empty value (expected a JSON array of numbers)"],
    ['"[]"', "expected 2 values, got 0"],
  ];
  for (const [cell, message] of cases) {
    const f = file("bad.csv", `id,embeddings,labels\n1,"[1, 2]",0\n2,${cell},1\n`);
    await rejects(f, {}, `${f}, row 2, column 'embeddings': ${message}`);
  }
  const syntax = file("syntax.csv", 'embeddings\n"[0.1,,0.2]"\n');
  await rejects(
    syntax,
    {},
    new RegExp(`^${escape(syntax)}, row 1, column 'embeddings': unparsable JSON array \\(.+\\)$`),
  );
  const emptyFirst = file("emptyfirst.csv", 'embeddings\n"[]"\n');
  await rejects(emptyFirst, {}, `${emptyFirst}, row 1, column 'embeddings': empty vector`);
  const ragged = file("ragged.csv", 'embeddings,labels\n"[1,2,3]",0\n"[1,2]",0\n');
  await rejects(ragged, {}, `${ragged}, row 2, column 'embeddings': expected 3 values, got 2`);
  const dim = file("dim.csv", 'embeddings\n"[1,2,3]"\n');
  await rejects(
    dim,
    { expectedDim: 768 },
    `${dim}, row 1, column 'embeddings': 3 dimensions, but the model expects 768`,
  );
  assert.equal((await readDataset(dim, { expectedDim: 3 })).X.cols, 3);
  // An empty label cell is a missing label, not an error (test/labels-missing.test.ts).
  const emptyLabel = file("emptylabel.csv", 'embeddings,labels\n"[1]",0\n"[2]",\n');
  assert.deepEqual((await readDataset(emptyLabel)).labels, [0, null]);
});

test("errors in the CSV structure: field counts (with the unquoted-array hint) and malformed quoting", async () => {
  const unquoted = file("unquoted.csv", "id,embeddings,labels\n1,[0.1,0.2],0\n");
  await rejects(
    unquoted,
    {},
    `${unquoted}, row 1: expected 3 fields like the header, got 4; quote the embeddings field ("[0.1, 0.2]")`,
  );
  const short = file("short.csv", 'id,embeddings,labels\n1,"[1]",0\n2,"[1]"\n');
  await rejects(short, {}, `${short}, row 2: expected 3 fields like the header, got 2`);
  const open = file("open.csv", 'id,embeddings\n1,"[1]"\n2,"[1, 2\n');
  await rejects(open, {}, new RegExp(`^${escape(open)}, row 2: malformed CSV \\(.*[Qq]uote.*\\)$`));
});

test("JSONL: embedding/label keys, other keys passed through, blank lines skipped", async () => {
  const f = file(
    "data.jsonl",
    '{"id": 7, "text": "a, b", "embedding": [1, 2.5], "label": "x"}\n\n{"id": 8, "embedding": "[3, 4]", "label": "y", "extra": {"k": true}}\n',
  );
  const ds = await readDataset(f);
  assert.equal(ds.format, "jsonl");
  assert.deepEqual(Array.from(ds.X.data), [1, 2.5, 3, 4]);
  assert.deepEqual(ds.labels, ["x", "y"]);
  assert.deepEqual([ds.embeddingsColumn, ds.labelsColumn], ["embedding", "label"]);
  assert.deepEqual(ds.passthrough, { id: ["7", "8"], text: ["a, b", ""], extra: ["", '{"k":true}'] });
  const ints = await readDataset(file("ints.ndjson", '{"vector": [1], "labels": 3}\n{"vector": [2], "labels": 4}\n'));
  assert.deepEqual([ints.labels, ints.embeddingsColumn, ints.labelsColumn], [[3, 4], "vector", "labels"]);
  const named = await readDataset(file("named.jsonl", '{"e": [1], "y": 1}\n'), {
    embeddingsColumn: "e",
    labelsColumn: "y",
  });
  assert.deepEqual([Array.from(named.X.data), named.labels], [[1], [1]]);
  // Sniffed from the content when the extension says nothing.
  assert.equal((await readDataset(file("data.txt", '{"embedding": [1]}\n'))).format, "jsonl");
});

test("JSONL errors name the row (data rows, blank lines not counted) and the key", async () => {
  const bad = file("bad.jsonl", '{"embedding": [1, 2], "label": 0}\n\n{"embedding": [1, 2], "label": 0\n');
  await rejects(bad, {}, new RegExp(`^${escape(bad)}, row 2: not valid JSON \\(.+\\)$`));
  const missing = file("missing.jsonl", '{"embedding": [1, 2], "label": 0}\n{"label": 0}\n');
  await rejects(missing, {}, `${missing}, row 2, column 'embedding': missing (the object has keys 'label')`);
  const noLabel = file("nolabel.jsonl", '{"embedding": [1, 2], "label": 0}\n{"embedding": [1, 2]}\n');
  assert.deepEqual((await readDataset(noLabel)).labels, [0, null], "an absent label is missing, not an error");
  const ragged = file("ragged.jsonl", '{"embedding": [1, 2]}\n{"embedding": [1]}\n');
  await rejects(ragged, {}, `${ragged}, row 2, column 'embedding': expected 2 values, got 1`);
  const text = file("text.jsonl", '{"embedding": [1, "x"]}\n');
  await rejects(text, {}, `${text}, row 1, column 'embedding': non-numeric value "x" (dimension 2)`);
  const none = file("none.jsonl", '{"x": [1]}\n');
  await rejects(
    none,
    {},
    `${none}, row 1: no embeddings key (looked for 'embeddings', 'embedding', 'vector', 'vectors'; the first object has keys 'x'); name it`,
  );
  const arr = file("arr.jsonl", "[1, 2]\n");
  await rejects(arr, {}, `${arr}, row 1: expected a JSON object like {"embedding": [...], "label": 3}`);
  const blank = file("blank.jsonl", "\n \n");
  await rejects(blank, {}, `${blank}: no data rows (only blank lines)`);
  const dim = file("dim.jsonl", '{"embedding": [1, 2]}\n');
  await rejects(
    dim,
    { expectedDim: 768 },
    `${dim}, row 1, column 'embedding': 2 dimensions, but the model expects 768`,
  );
  const named = file("named.jsonl", '{"embedding": [1, 2]}\n');
  await rejects(named, { labelsColumn: "y" }, `${named}, column 'y': not found (the file has keys 'embedding')`);
});

/** A 1-D .npy of the given dtype ('<i8', '<i4', '<f8', ...). */
function npy1d(descr: string, values: number[]): Buffer {
  const data =
    descr === "<i8"
      ? Buffer.from(BigInt64Array.from(values.map(BigInt)).buffer)
      : descr === "<i4"
        ? Buffer.from(Int32Array.from(values).buffer)
        : descr === "|u1"
          ? Buffer.from(Uint8Array.from(values).buffer)
          : Buffer.from(Float64Array.from(values).buffer);
  return Buffer.concat([npyHeader([values.length], descr), data]);
}

test("NPY: a 2-D float matrix with labels from a 1-D integer .npy or a text file", async () => {
  const x = join(dir, "x.npy");
  writeNpy(x, { data: Float32Array.from([1, 2, 3, 4, 5, 6]), rows: 3, cols: 2 });
  const plain = await readDataset(x);
  assert.deepEqual(
    [plain.format, plain.X.rows, plain.X.cols, plain.labels, plain.embeddingsColumn],
    ["npy", 3, 2, null, null],
  );
  for (const descr of ["<i8", "<i4", "|u1"]) {
    const ds = await readDataset(x, { labelsFile: file(`y${descr.slice(1)}.npy`, npy1d(descr, [2, 0, 1])) });
    assert.deepEqual(ds.labels, [2, 0, 1]);
  }
  const text = await readDataset(x, { labelsFile: file("y.txt", "cat\ndog\ncat\n") });
  assert.deepEqual(text.labels, ["cat", "dog", "cat"]);
  const textInts = await readDataset(x, { labelsFile: file("yi.txt", "3\r\n1\r\n2") });
  assert.deepEqual(textInts.labels, [3, 1, 2]);
  const limited = await readDataset(x, { labelsFile: file("y3.npy", npy1d("<i8", [9, 8, 7])), limit: 2 });
  assert.deepEqual([limited.X.rows, limited.labels], [2, [9, 8]]);
  await rejects(x, { expectedDim: 768 }, `${x}: 2 dimensions, but the model expects 768`);
});

test("NPY label files: count mismatch, float labels, missing file", async () => {
  const x = join(dir, "x2.npy");
  writeNpy(x, { data: Float32Array.from([1, 2, 3, 4]), rows: 2, cols: 2 });
  const few = file("few.npy", npy1d("<i8", [1]));
  await rejects(x, { labelsFile: few }, `${few}: 1 labels for the 2 rows of ${x}`);
  const many = file("many.txt", "a\nb\nc\n");
  await rejects(x, { labelsFile: many }, `${many}: 3 labels for the 2 rows of ${x}`);
  const floats = file("floats.npy", npy1d("<f8", [1, 2.5]));
  await rejects(
    x,
    { labelsFile: floats },
    `${floats}, row 2: label 2.5 is not a whole number (float labels must be integers, or NaN for a missing label)`,
  );
  const complex = file("complex.npy", Buffer.concat([npyHeader([2], "<c8"), Buffer.alloc(16)]));
  await rejects(
    x,
    { labelsFile: complex },
    `${complex}: labels must be integers, whole floats (NaN: missing) or strings; got dtype '<c8': save them with y.astype(int) or y.astype(str)`,
  );
  const gone = join(dir, "gone.npy");
  await rejects(x, { labelsFile: gone }, `${gone}: file not found`);
  const gap = file("gap.txt", "a\n\nb\n");
  await rejects(x, { labelsFile: gap }, `${gap}: 3 labels for the 2 rows of ${x}`); // the empty line is a (missing) label
  await rejects(
    x,
    { labelsColumn: "labels" },
    `${x}: a .npy file has no named columns (labelsColumn 'labels'); give labels as a labels file`,
  );
  await rejects(
    x,
    { labelsColumn: "labels", labelsFile: few },
    `${x}: give either a labels column or a labels file, not both`,
  );
});

/** A Parquet file with a 3-level list column (pyarrow's layout) of the given element type. */
function writeParquet(
  name: string,
  opts: {
    element: "FLOAT" | "DOUBLE";
    vectors: (number[] | null)[];
    labels?: (number | string)[];
    column?: string;
    rowGroupSize?: number;
  },
): string {
  const f = join(dir, `${++fileCounter}-${name}`);
  const column = opts.column ?? "embedding";
  const n = opts.vectors.length;
  const labelType =
    opts.labels && typeof opts.labels[0] === "string"
      ? { type: "BYTE_ARRAY" as const, converted_type: "UTF8" as const }
      : { type: "INT32" as const };
  parquetWriteFile({
    filename: f,
    rowGroupSize: opts.rowGroupSize ?? 1000,
    columnData: [
      { name: "id", data: Array.from({ length: n }, (_, i) => `id${i}`) },
      { name: column, data: opts.vectors },
      ...(opts.labels ? [{ name: "label", data: opts.labels }] : []),
    ],
    schema: [
      { name: "root", num_children: opts.labels ? 3 : 2 },
      { name: "id", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
      { name: column, repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
      { name: "list", repetition_type: "REPEATED", num_children: 1 },
      { name: "element", type: opts.element, repetition_type: "OPTIONAL" },
      ...(opts.labels ? [{ name: "label", repetition_type: "OPTIONAL" as const, ...labelType }] : []),
    ],
  });
  return f;
}

test("Parquet: list<float> and list<double> columns over several row groups, labels, pass-through", async () => {
  const vectors = Array.from({ length: 7 }, (_, i) => [i, -i / 3, i * 0.25]);
  for (const element of ["FLOAT", "DOUBLE"] as const) {
    const f = writeParquet(`v-${element}.parquet`, {
      element,
      vectors,
      labels: vectors.map((_, i) => i % 3),
      rowGroupSize: 3,
    });
    const ds = await readDataset(f);
    assert.equal(ds.format, "parquet");
    assert.deepEqual([ds.X.rows, ds.X.cols], [7, 3]);
    assert.deepEqual(Array.from(ds.X.data), f32(vectors.flat()));
    assert.deepEqual(ds.labels, [0, 1, 2, 0, 1, 2, 0]);
    assert.deepEqual([ds.embeddingsColumn, ds.labelsColumn], ["embedding", "label"]);
    assert.deepEqual(ds.passthrough.id, ["id0", "id1", "id2", "id3", "id4", "id5", "id6"]);
    const limited = await readDataset(f, { limit: 4 });
    assert.deepEqual([limited.X.rows, limited.labels, limited.passthrough.id!.length], [4, [0, 1, 2, 0], 4]);
  }
  // Any name: the single list-of-numbers column is the embeddings; string labels stay strings.
  const f = writeParquet("named.parquet", {
    element: "FLOAT",
    vectors: [[1, 2]],
    labels: ["sports"],
    column: "clip_vec",
  });
  const ds = await readDataset(f);
  assert.deepEqual([ds.embeddingsColumn, ds.labels, Array.from(ds.X.data)], ["clip_vec", ["sports"], [1, 2]]);
});

test("Parquet errors: column not found, null vector (row counted across row groups), ragged, NaN, not Parquet", async () => {
  const f = writeParquet("nulls.parquet", {
    element: "DOUBLE",
    vectors: [[1, 2], [3, 4], [5, 6], null],
    rowGroupSize: 2,
  });
  await rejects(f, {}, `${f}, row 4, column 'embedding': missing vector (null)`);
  await rejects(
    f,
    { embeddingsColumn: "vec" },
    `${f}, column 'vec': not found (the file has columns 'id', 'embedding')`,
  );
  const ragged = writeParquet("ragged.parquet", { element: "DOUBLE", vectors: [[1, 2], [3, 4], [5]], rowGroupSize: 2 });
  await rejects(ragged, {}, `${ragged}, row 3, column 'embedding': expected 2 values, got 1`);
  const nan = writeParquet("nan.parquet", { element: "DOUBLE", vectors: [[1, NaN]] });
  await rejects(nan, {}, `${nan}, row 1, column 'embedding': value NaN is not finite (dimension 2)`);
  const dim = writeParquet("dim.parquet", { element: "FLOAT", vectors: [[1, 2]] });
  await rejects(
    dim,
    { expectedDim: 768 },
    `${dim}, row 1, column 'embedding': 2 dimensions, but the model expects 768`,
  );
  const fake = file("fake.parquet", "PAR1 this is not really parquet PAR1");
  await rejects(fake, {}, new RegExp(`^${escape(fake)}: not a readable Parquet file \\(.+\\)$`));
});

test("Parquet through hyparquet-compressors: a gzip-compressed file reads like a snappy one", async () => {
  const f = join(dir, "gzip.parquet");
  parquetWriteFile({
    filename: f,
    codec: "GZIP",
    compressors: { GZIP: (input: Uint8Array) => new Uint8Array(gzipSync(input)) },
    columnData: [
      {
        name: "vec",
        data: [
          [1, 2],
          [3, 4],
        ],
      },
    ],
    schema: [
      { name: "root", num_children: 1 },
      { name: "vec", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
      { name: "list", repetition_type: "REPEATED", num_children: 1 },
      { name: "element", type: "FLOAT", repetition_type: "OPTIONAL" },
    ],
  });
  const ds = await readDataset(f);
  assert.deepEqual([Array.from(ds.X.data), ds.embeddingsColumn], [[1, 2, 3, 4], "vec"]);
});

test("IDX images with IDX labels (the MNIST files), found by content", async () => {
  const images = file("images", Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 255, 51, 102]));
  const labels = file("labels", Buffer.from([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]));
  const ds = await readDataset(images, { labelsFile: labels });
  assert.deepEqual([ds.format, ds.X.rows, ds.X.cols, ds.labels], ["idx", 2, 2, [7, 3]]);
  assert.deepEqual(Array.from(ds.X.data), f32([0, 1, 0.2, 0.4]));
});

test("a column named __proto__ is an ordinary pass-through column", async () => {
  const ds = await readDataset(file("proto.csv", '__proto__,embeddings\nx,"[1]"\n'));
  assert.deepEqual(Object.keys(ds.passthrough), ["__proto__"]);
  assert.deepEqual(ds.passthrough["__proto__"], ["x"]);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

test("validateFinite finds a NaN or ±Inf in every position (each of the four sums and the tail) and names its row and dimension", () => {
  const rows = 7;
  const cols = 3; // 21 values: five groups of four and a tail of one
  for (const bad of [NaN, Infinity, -Infinity]) {
    for (let at = 0; at < rows * cols; at++) {
      const data = Float32Array.from({ length: rows * cols }, (_, i) => (i % 5) - 2.5);
      data[at] = bad;
      const m = { data, rows, cols };
      assert.throws(
        () => validateFinite("m.npy", m, 10),
        (e: unknown) => {
          assert.ok(e instanceof InputError);
          assert.match(
            e.message,
            new RegExp(`row ${10 + Math.floor(at / cols) + 1}, column 'dimension ${(at % cols) + 1}'`),
          );
          return true;
        },
      );
    }
  }
  const big = Float32Array.from({ length: 1001 }, (_, i) => (i % 2 ? 3.4e38 : -3.4e38));
  validateFinite("m.npy", { data: big, rows: 1, cols: 1001 });
});
