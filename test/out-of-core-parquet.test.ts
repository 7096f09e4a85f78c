// Training on a Parquet file read from disk a row group at a time (ParquetSource): the rows equal
// readDataset's over several row groups (equal ones with a short last one, unequal ones, v1 data
// pages that end mid-list, every column layout the fast path and the general path take); a bad
// value in a later row group fails with readDataset's message (its row counted over the whole file);
// the decoded row groups held stay bounded; and DEC from Parquet equals DEC from the same rows in a
// .npy out of core bit for bit (same seed, same blocks), in the library and from the CLI.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetWriteFile } from "hyparquet-writer";
import { ByteWriter } from "hyparquet-writer/src/bytewriter.js";
import { writePageHeader } from "hyparquet-writer/src/datapage.js";
import { writeRleBitPackedHybrid } from "hyparquet-writer/src/encoding.js";
import { writeMetadata } from "hyparquet-writer/src/metadata.js";
import { Rng, gatherRows, shuffledOrder } from "../src/engine/index.js";
import { DEC } from "../src/dec/index.js";
import { InputError, NpySource, ParquetSource, writeNpy, type ParquetSourceOptions } from "../src/io/index.js";
import { readDataset } from "../src/io/dataset.js";

const dir = mkdtempSync(join(tmpdir(), "deepclust-ooc-parquet-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const digits = await readDataset(new URL("./fixtures/digits.csv", import.meta.url).pathname);
const X = digits.X; // 1797 × 64
const y = digits.labels as number[];
const rowsOf = (m: { data: Float32Array; cols: number }) =>
  Array.from({ length: m.data.length / m.cols }, (_, i) => Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
let counter = 0;

type Element = "FLOAT" | "DOUBLE";
interface WriteOptions {
  rowGroupSize: number | number[];
  element?: Element;
  /** The list column: pyarrow's 3-level optional list (default), or a required list of required elements. */
  required?: boolean;
  labels?: (number | string | null)[];
}

/** A Parquet file of id, embedding (list<float|double>) and optionally label, through hyparquet-writer (v2 data pages). */
function writeParquet(name: string, vectors: (number[] | null)[], opts: WriteOptions): string {
  const f = join(dir, `${++counter}-${name}`);
  const opt = opts.required ? ("REQUIRED" as const) : ("OPTIONAL" as const);
  parquetWriteFile({
    filename: f,
    rowGroupSize: opts.rowGroupSize,
    columnData: [
      { name: "id", data: vectors.map((_, i) => `id${i}`) },
      { name: "embedding", data: vectors },
      ...(opts.labels ? [{ name: "label", data: opts.labels }] : []),
    ],
    schema: [
      { name: "root", num_children: opts.labels ? 3 : 2 },
      { name: "id", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
      { name: "embedding", repetition_type: opt, converted_type: "LIST", num_children: 1 },
      { name: "list", repetition_type: "REPEATED", num_children: 1 },
      { name: "element", type: opts.element ?? "FLOAT", repetition_type: opt },
      ...(opts.labels ? [{ name: "label", type: "INT32" as const, repetition_type: "OPTIONAL" as const }] : []),
    ],
  });
  return f;
}

/**
 * A Parquet file with one 3-level list<float> column `embedding` (optional list, optional elements)
 * written as v1 data pages (pyarrow's default) of `pageValues` values each, cut wherever that falls:
 * mid-list, so a row runs on into the next page. Uncompressed, PLAIN; row groups of `groupRows`.
 */
function writeV1Pages(name: string, vectors: (number[] | null)[], groupRows: number, pageValues: number): string {
  const f = join(dir, `${++counter}-${name}`);
  const w = new ByteWriter();
  w.appendUint32(0x31524150);
  const rowGroups = [];
  for (let start = 0; start < vectors.length; start += groupRows) {
    const rows = vectors.slice(start, start + groupRows);
    const reps: number[] = [];
    const defs: number[] = [];
    const values: number[] = [];
    for (const v of rows) {
      if (v === null) {
        reps.push(0);
        defs.push(0);
        continue;
      }
      v.forEach((x, i) => {
        reps.push(i === 0 ? 0 : 1);
        defs.push(3);
        values.push(x);
      });
    }
    const offset = w.offset;
    for (let p = 0, vi = 0; p < reps.length; p += pageValues) {
      const pageReps = reps.slice(p, p + pageValues);
      const pageDefs = defs.slice(p, p + pageValues);
      const body = new ByteWriter();
      for (const [levels, width] of [
        [pageReps, 1],
        [pageDefs, 2],
      ] as const) {
        const run = new ByteWriter();
        writeRleBitPackedHybrid(run, levels, width);
        body.appendUint32(run.offset);
        body.appendBytes(run.getBytes());
      }
      for (const d of pageDefs) if (d === 3) body.appendFloat32(values[vi++]!);
      writePageHeader(w, {
        type: "DATA_PAGE",
        uncompressed_page_size: body.offset,
        compressed_page_size: body.offset,
        data_page_header: {
          num_values: pageReps.length,
          encoding: "PLAIN",
          definition_level_encoding: "RLE",
          repetition_level_encoding: "RLE",
        },
      });
      w.appendBytes(body.getBytes());
    }
    const size = BigInt(w.offset - offset);
    rowGroups.push({
      columns: [
        {
          file_offset: BigInt(offset),
          meta_data: {
            type: "FLOAT" as const,
            encodings: ["PLAIN" as const, "RLE" as const],
            path_in_schema: ["embedding", "list", "element"],
            codec: "UNCOMPRESSED" as const,
            num_values: BigInt(reps.length),
            total_uncompressed_size: size,
            total_compressed_size: size,
            data_page_offset: BigInt(offset),
          },
        },
      ],
      total_byte_size: size,
      num_rows: BigInt(rows.length),
    });
  }
  writeMetadata(w, {
    version: 2,
    schema: [
      { name: "root", num_children: 1 },
      { name: "embedding", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
      { name: "list", repetition_type: "REPEATED", num_children: 1 },
      { name: "element", type: "FLOAT", repetition_type: "OPTIONAL" },
    ],
    num_rows: BigInt(vectors.length),
    row_groups: rowGroups,
    metadata_length: 0,
  });
  w.appendUint32(0x31524150);
  writeFileSync(f, new Uint8Array(w.getBuffer()));
  return f;
}

/** Every row of the source, by readRange in pieces that straddle row groups and by gather in a random order. */
function assertSameRows(
  f: string,
  want: { data: Float32Array; rows: number; cols: number },
  options: ParquetSourceOptions = {},
): ParquetSource {
  const src = ParquetSource.open(f, options);
  assert.deepEqual([src.rows, src.cols], [want.rows, want.cols]);
  const c = want.cols;
  for (const piece of [want.rows, 7, 300]) {
    const got = new Float32Array(want.rows * c);
    for (let s = 0; s < want.rows; s += piece) src.readRange(s, Math.min(piece, want.rows - s), got.subarray(s * c));
    assert.deepEqual(got, want.data, `readRange in pieces of ${piece}`);
  }
  // Random rows (a row group decoded per miss: fine for 60 rows), then every row in a block-shuffled order.
  const random = new Rng(3).permutation(want.rows);
  for (const [index, from, to] of [
    [random, 10, 70],
    [shuffledOrder(new Rng(4), want.rows, src.rowGroupBlock), 0, want.rows],
  ] as const) {
    const got = new Float32Array((to - from) * c);
    const expected = new Float32Array((to - from) * c);
    src.gather(index, from, to, got);
    gatherRows(want, index, from, to, expected);
    assert.deepEqual(got, expected, "gather");
  }
  assert.equal(src.fastPath, !options.generalDecoder);
  return src;
}

test("ParquetSource: readRange and gather equal readDataset's rows, row groups of 256 with a short last one", async () => {
  const f = writeParquet("digits.parquet", rowsOf(X), { rowGroupSize: 256, labels: y });
  const ds = await readDataset(f);
  assert.deepEqual(ds.X, X);
  for (const options of [{}, { generalDecoder: true }, { cachedGroups: 1 }]) {
    const src = assertSameRows(f, ds.X, options);
    assert.deepEqual(src.rowGroupRows, [256, 256, 256, 256, 256, 256, 256, 5]);
    assert.equal(src.rowGroupBlock, 256); // blocks are the row groups
    assert.equal(src.embeddingsColumn, "embedding");
    assert.deepEqual(src.readLabels(), { column: "label", labels: y });
    assert.equal(src.readLabels({ labelsFile: "y.txt" }), null);
    src.close();
  }
});

test("ParquetSource: unequal row groups, list<double>, required lists, v1 pages that end mid-list", async () => {
  const vectors = rowsOf(X).slice(0, 700);
  const want = { data: X.data.slice(0, 700 * X.cols), rows: 700, cols: X.cols };
  // hyparquet-writer takes a list of row-group sizes (the last repeats): 100, 300, 50, 50, 50, …
  const unequal = writeParquet("unequal.parquet", vectors, { rowGroupSize: [100, 300, 50] });
  for (const options of [{}, { generalDecoder: true }]) {
    const src = assertSameRows(unequal, want, options);
    assert.deepEqual(src.rowGroupRows, [100, 300, 50, 50, 50, 50, 50, 50]);
    assert.equal(src.rowGroupBlock, 300); // not all equal: the largest
    assert.equal(src.groupsPerBlock(300), 5); // rows [300, 600) lie in row groups 2–6
    assert.equal(src.cachedGroups, 10); // two such blocks
    src.close();
  }
  const doubles = vectors.map((v) => v.map((x) => x + 1 / 3)); // rounded to float32 on reading
  const f64 = writeParquet("double.parquet", doubles, { rowGroupSize: 64, element: "DOUBLE" });
  assert.deepEqual((await readDataset(f64)).X.data, Float32Array.from(doubles.flat()));
  assertSameRows(f64, (await readDataset(f64)).X).close();
  assertSameRows(f64, (await readDataset(f64)).X, { generalDecoder: true }).close();
  const required = writeParquet("required.parquet", vectors, { rowGroupSize: 128, required: true });
  assertSameRows(required, want).close();
  // v1 pages of 100 values: every page but a few ends inside a 64-value list.
  const v1 = writeV1Pages("v1.parquet", vectors, 128, 100);
  assert.deepEqual((await readDataset(v1)).X, want);
  assertSameRows(v1, want).close();
  assertSameRows(v1, want, { generalDecoder: true }).close();
});

/** ParquetSource fails, when it reaches the bad row group, with exactly readDataset's InputError. */
async function assertSameError(f: string, message: string, touch: (src: ParquetSource) => void): Promise<void> {
  await assert.rejects(readDataset(f), (e: unknown) => e instanceof InputError && e.message === message);
  for (const generalDecoder of [false, true]) {
    const src = ParquetSource.open(f, { generalDecoder });
    assert.throws(
      () => touch(src),
      (e: unknown) => {
        assert.ok(e instanceof InputError, String(e));
        assert.equal(e.message, message, `generalDecoder ${generalDecoder}`);
        return true;
      },
    );
    src.close();
  }
}

test("errors in a later row group name the row counted over the whole file and the column, as readDataset does", async () => {
  const vectors: (number[] | null)[] = Array.from({ length: 20 }, (_, i) => [i, i + 0.5, -i]);
  const bad = (name: string, row: number, v: number[] | null, opts: Partial<WriteOptions> = {}) => {
    const copy = vectors.slice();
    copy[row] = v;
    return writeParquet(name, copy, { rowGroupSize: 4, ...opts });
  };
  const all = (src: ParquetSource) => src.readRange(0, src.rows, new Float32Array(src.rows * src.cols));
  // Row 7 (index 6) is in row group 2; the source opens (it decodes group 1) and fails on reaching it.
  const nan = bad("nan.parquet", 6, [6, NaN, -6]);
  await assertSameError(nan, `${nan}, row 7, column 'embedding': value NaN is not finite (dimension 2)`, all);
  await assertSameError(nan, `${nan}, row 7, column 'embedding': value NaN is not finite (dimension 2)`, (src) =>
    src.gather([0, 19, 6], 0, 3, new Float32Array(9)),
  );
  const inf = bad("inf.parquet", 9, [9, 9, Infinity]);
  await assertSameError(inf, `${inf}, row 10, column 'embedding': value Infinity is not finite (dimension 3)`, all);
  const big = bad("overflow.parquet", 13, [1e39, 0, 0], { element: "DOUBLE" });
  await assertSameError(big, `${big}, row 14, column 'embedding': value 1e+39 overflows float32 (dimension 1)`, all);
  const ragged = bad("ragged.parquet", 11, [1, 2]);
  await assertSameError(ragged, `${ragged}, row 12, column 'embedding': expected 3 values, got 2`, all);
  const empty = bad("empty.parquet", 17, []);
  await assertSameError(empty, `${empty}, row 18, column 'embedding': expected 3 values, got 0`, all);
  const nullRow = bad("null.parquet", 5, null);
  await assertSameError(nullRow, `${nullRow}, row 6, column 'embedding': missing vector (null)`, all);
  const nullElement = writeParquet(
    "null-element.parquet",
    vectors.map((v, i) => (i === 8 ? [8, null as unknown as number, 8] : v)),
    { rowGroupSize: 4 },
  );
  await assertSameError(
    nullElement,
    `${nullElement}, row 9, column 'embedding': non-numeric value null (dimension 2)`,
    all,
  );
  // The first row sets the dimension; an error there comes from open(), like readDataset's.
  const first = bad("first.parquet", 0, []);
  await assert.rejects(readDataset(first), { message: `${first}, row 1, column 'embedding': empty vector` });
  assert.throws(() => ParquetSource.open(first), { message: `${first}, row 1, column 'embedding': empty vector` });
  // Labels: a missing one (null) in row group 3 is missing in readLabels as in readDataset.
  const labels = writeParquet("labels.parquet", vectors, {
    rowGroupSize: 4,
    labels: vectors.map((_, i) => (i === 10 ? null : i % 2)),
  });
  const expected = vectors.map((_, i) => (i === 10 ? null : i % 2));
  assert.deepEqual((await readDataset(labels)).labels, expected);
  const src = ParquetSource.open(labels);
  assert.deepEqual(src.readLabels(), { column: "label", labels: expected });
  assert.throws(() => src.readLabels({ labelsColumn: "class" }), {
    message: `${labels}, column 'class': not found (the file has columns 'id', 'embedding', 'label')`,
  });
  src.close();
  // Not Parquet; a named column that is not there.
  const fake = join(dir, "fake.parquet");
  writeFileSync(fake, "PAR1 this is not really parquet PAR1");
  assert.throws(
    () => ParquetSource.open(fake),
    (e: unknown) => e instanceof InputError && e.message.startsWith(`${fake}: not a readable Parquet file (`),
  );
  assert.throws(() => ParquetSource.open(nan, { embeddingsColumn: "vec" }), {
    message: `${nan}, column 'vec': not found (the file has columns 'id', 'embedding')`,
  });
});

test("the decoded row groups held stay bounded: a few row groups, each decoded once per block-shuffled pass", () => {
  const f = writeParquet("bounded.parquet", rowsOf(X), { rowGroupSize: 64 }); // 29 row groups, the last of 5 rows
  const src = ParquetSource.open(f);
  assert.equal(src.rowGroupRows.length, 29);
  assert.equal(src.cachedGroups, 2);
  const groupBytes = 64 * X.cols * 4;
  const batch = new Float32Array(256 * X.cols);
  const passes = 3;
  for (let pass = 0; pass < passes; pass++) {
    const order = shuffledOrder(new Rng(pass), X.rows, src.rowGroupBlock);
    for (let s = 0; s < X.rows; s += 256) src.gather(order, s, Math.min(X.rows, s + 256), batch);
    assert.ok(src.stats.cachedGroups <= 2 && src.stats.cachedBytes <= 2 * groupBytes, JSON.stringify(src.stats));
  }
  assert.equal(src.stats.peakCachedGroups, 2);
  assert.ok(src.stats.peakCachedBytes <= 2 * groupBytes, JSON.stringify(src.stats));
  // Once per pass (plus the first row group, decoded by open(), when the first pass starts elsewhere).
  assert.ok(src.stats.groupsDecoded <= passes * 29 + 1, JSON.stringify(src.stats));
  // Walking the rows in chunks (k-means' code, P, the labels) decodes each row group once too.
  const before = src.stats.groupsDecoded;
  src.readRange(0, X.rows, new Float32Array(X.rows * X.cols));
  assert.ok(src.stats.groupsDecoded - before <= 29);
  assert.ok(src.stats.peakCachedBytes <= 2 * groupBytes);
  src.close();
  assert.equal(src.stats.cachedBytes, 0);
});

const config = {
  k: 10,
  hidden: [64, 10],
  threads: 1,
  seed: 4,
  tol: 0,
  maxIter: 150,
  updateInterval: 30,
  nInit: 4,
  pretrain: { epochs: 4 },
  shuffleBlock: 256,
};

test("DEC on the Parquet file read from disk equals DEC on the same rows in a .npy read from disk, bit for bit", async () => {
  const parquet = writeParquet("dec.parquet", rowsOf(X), { rowGroupSize: 256 });
  const npy = join(dir, "dec.npy");
  writeNpy(npy, X);
  const fromNpy = NpySource.open(npy, { cacheBlockRows: 256 });
  const fromParquet = ParquetSource.open(parquet);
  const a = await new DEC(config).fit(fromNpy, { labels: y });
  const b = await new DEC(config).fit(fromParquet, { labels: y });
  assert.deepEqual(
    b.pretrainHistory.map((e) => e.loss),
    a.pretrainHistory.map((e) => e.loss),
  );
  assert.deepEqual(b.initLabels, a.initLabels);
  assert.deepEqual(b.labels, a.labels);
  assert.deepEqual(b.centers, a.centers);
  assert.deepEqual(b.metrics, a.metrics);
  assert.ok(fromParquet.stats.peakCachedGroups <= 2);
  fromNpy.close();
  fromParquet.close();
});

test("deepclust train --out-of-core on Parquet: labels from its column, blocks of a row group, the model of the .npy run", () => {
  const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
  const parquet = writeParquet("cli.parquet", rowsOf(X), { rowGroupSize: 200, labels: y });
  const npy = join(dir, "cli.npy");
  writeNpy(npy, X);
  const labelsFile = join(dir, "labels.txt");
  writeFileSync(labelsFile, y.join("\n") + "\n");
  const args = [
    "-k",
    "10",
    "--dims",
    "64,10",
    "--pretrain-epochs",
    "3",
    "--max-iter",
    "60",
    "--n-init",
    "2",
    "--threads",
    "1",
    "--json",
    "--no-report",
  ];
  const run = (data: string, ...extra: string[]) => {
    const r = spawnSync(process.execPath, [cli, "train", data, ...args, ...extra], { encoding: "utf8", cwd: dir });
    return { status: r.status, stderr: r.stderr, summary: r.status === 0 ? (JSON.parse(r.stdout) as Summary) : null };
  };
  type Summary = {
    outOfCore: boolean;
    rows: number;
    labelsColumn: string | null;
    options: { shuffleBlock?: number };
    aeKmeans: { acc: number };
    dec: { acc: number; nmi: number };
    clusterSizes: number[];
  };
  const pq = run(parquet, "--out", "m-pq", "--out-of-core");
  assert.equal(pq.status, 0, pq.stderr);
  const np = run(npy, "--out", "m-npy", "--out-of-core", "--shuffle-block", "200", "--labels-file", labelsFile);
  assert.equal(np.status, 0, np.stderr);
  assert.equal(pq.summary!.outOfCore, true);
  assert.equal(pq.summary!.labelsColumn, "label");
  assert.equal(pq.summary!.options.shuffleBlock, 200); // the row-group size
  assert.deepEqual(
    [pq.summary!.aeKmeans, pq.summary!.dec, pq.summary!.clusterSizes],
    [np.summary!.aeKmeans, np.summary!.dec, np.summary!.clusterSizes],
  );
  assert.deepEqual(
    readFileSync(join(dir, "m-pq", "model.safetensors")),
    readFileSync(join(dir, "m-npy", "model.safetensors")),
  );
  const written = JSON.parse(readFileSync(join(dir, "m-pq", "config.json"), "utf8")) as {
    data: { format: string; embeddingsColumn: string | null; labelsColumn: string | null };
  };
  assert.deepEqual(
    [written.data.format, written.data.embeddingsColumn, written.data.labelsColumn],
    ["parquet", "embedding", "label"],
  );
  // Larger than a 0 MB budget: out of core without the flag; the labels file instead of the column.
  const budget = run(parquet, "--out", "m-budget", "--memory-budget", "0", "--labels-file", labelsFile);
  assert.equal(budget.status, 0, budget.stderr);
  assert.deepEqual(
    [budget.summary!.outOfCore, budget.summary!.labelsColumn, budget.summary!.dec],
    [true, null, pq.summary!.dec],
  );
  // A true permutation cannot be read a row group at a time; a bad row fails with exit code 2 and its row.
  const perm = run(parquet, "--out", "m-perm", "--out-of-core", "--shuffle-block", "0");
  assert.equal(perm.status, 2);
  assert.match(perm.stderr, /--shuffle-block 0 .* needs a \.npy/);
  const vectors: number[][] = rowsOf(X);
  vectors[450] = vectors[450]!.map((v, i) => (i === 3 ? NaN : v));
  const nan = writeParquet("cli-nan.parquet", vectors, { rowGroupSize: 200 });
  const failed = run(nan, "--out", "m-nan", "--out-of-core");
  assert.equal(failed.status, 2, failed.stderr);
  assert.match(
    failed.stderr,
    new RegExp(`${nan.replace(/[.]/g, "\\.")}, row 451, column 'embedding': value NaN is not finite \\(dimension 4\\)`),
  );
});
