// .npy files written by NumPy itself (test/fixtures/numpy/, made by gen_numpy_files.py with
// Debian's NumPy): float32/float64, C and Fortran order, big-endian, header versions 2.0 and 3.0,
// and label files of integers (both byte orders) and strings. Every reader — readDataset, the
// chunked reader, readMatrix, the out-of-core NpySource — must give the values NumPy gives
// (expected.json), and DEC trained from disk on any layout is the same model.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../src/engine/index.js";
import { DEC } from "../src/dec/index.js";
import { InputError, NpySource, readDataset, readDatasetChunks, readMatrix, readNpy } from "../src/io/index.js";

interface Expected {
  numpy: string;
  shape: [number, number];
  float32: number[];
  vectors: Record<string, { descr: string; fortran_order: boolean }>;
  labels: Record<string, { descr: string; labels: (number | string)[] }>;
}

const fixtures = new URL("./fixtures/numpy/", import.meta.url).pathname;
const expected = JSON.parse(readFileSync(join(fixtures, "expected.json"), "utf8")) as Expected;
const [ROWS, COLS] = expected.shape;
const want = Float32Array.from(expected.float32);
const vectorFiles = Object.keys(expected.vectors);
const dir = mkdtempSync(join(tmpdir(), "deepclust-numpy-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Values equal as NumPy's float32 conversion gives them, -0 included (deepEqual compares with Object.is). */
function assertRows(got: ArrayLike<number>, firstRow: number, rows: number, what: string): void {
  assert.deepEqual(
    Array.from(got).slice(0, rows * COLS),
    Array.from(want.subarray(firstRow * COLS, (firstRow + rows) * COLS)),
    what,
  );
}

test("the fixtures hold every layout NumPy writes that the readers take", () => {
  const layouts = new Set(Object.values(expected.vectors).map((v) => `${v.descr} ${v.fortran_order ? "F" : "C"}`));
  for (const l of ["<f4 C", "<f8 C", "<f4 F", "<f8 F", ">f4 C", ">f8 C", ">f8 F"]) assert.ok(layouts.has(l), l);
  assert.ok(want.some((v) => Object.is(v, -0)));
});

test("readDataset, readMatrix and readNpy read every NumPy layout to NumPy's float32 values", async () => {
  for (const name of vectorFiles) {
    const f = join(fixtures, name);
    const ds = await readDataset(f);
    assert.deepEqual([ds.format, ds.X.rows, ds.X.cols, ds.labels], ["npy", ROWS, COLS, null], name);
    assertRows(ds.X.data, 0, ROWS, name);
    assertRows(readMatrix(f).data, 0, ROWS, `readMatrix ${name}`);
    assertRows(readNpy(f).data, 0, ROWS, `readNpy ${name}`);
    const limited = await readDataset(f, { limit: 11 });
    assert.equal(limited.X.rows, 11);
    assertRows(limited.X.data, 0, 11, `limit ${name}`);
  }
});

test("the chunked reader gives the same rows in chunks, with and without reused buffers", async () => {
  for (const name of vectorFiles) {
    for (const reuseBuffers of [false, true]) {
      let next = 0;
      for await (const c of readDatasetChunks(join(fixtures, name), { chunkRows: 8, reuseBuffers })) {
        assert.equal(c.firstRow, next);
        assert.equal(c.totalRows, ROWS);
        assertRows(c.X.data, c.firstRow, c.X.rows, `${name} chunk at ${c.firstRow}`);
        next += c.X.rows;
      }
      assert.equal(next, ROWS);
    }
  }
});

test("NpySource (out of core) gathers and reads ranges of every layout, with and without the block cache", () => {
  const rng = new Rng(3);
  const index = Uint32Array.from({ length: 120 }, () => rng.int(ROWS));
  index.set([0, 1, 2, 2, 1, ROWS - 1, ROWS - 2], 5); // adjacent runs, duplicates, both ends
  for (const name of vectorFiles) {
    for (const options of [{}, { cacheBlockRows: 6 }, { cacheBlockRows: 4, cachedBlocks: 1 }, { cacheBlockRows: 64 }]) {
      const src = NpySource.open(join(fixtures, name), options);
      assert.deepEqual([src.rows, src.cols], [ROWS, COLS]);
      const got = new Float32Array(index.length * COLS);
      src.gather(index, 0, index.length, got);
      index.forEach((r, i) =>
        assertRows(got.subarray(i * COLS, (i + 1) * COLS), r, 1, `${name} ${JSON.stringify(options)} row ${r}`),
      );
      const range = new Float32Array(9 * COLS);
      src.readRange(ROWS - 9, 9, range);
      assertRows(range, ROWS - 9, 9, `${name} readRange`);
      src.close();
    }
  }
});

test("DEC trained from disk is the same model whatever the file's dtype, byte order and order", async () => {
  const config = {
    k: 3,
    hidden: [4, 2],
    threads: 1,
    seed: 2,
    tol: 0,
    maxIter: 20,
    updateInterval: 5,
    batchSize: 8,
    pretrain: { epochs: 3, batchSize: 8 },
    shuffleBlock: 8,
  };
  const fit = async (name: string) => {
    const src = NpySource.open(join(fixtures, name), { cacheBlockRows: 8 });
    try {
      return await new DEC(config).fit(src);
    } finally {
      src.close();
    }
  };
  const reference = await fit("x_f4.npy");
  assert.ok(new Set(reference.labels).size > 1, "the model uses more than one cluster");
  for (const name of ["x_f4_fortran.npy", "x_f8_big_endian_fortran.npy", "x_f4_big_endian.npy"]) {
    const m = await fit(name);
    assert.deepEqual(m.labels, reference.labels, name);
    assert.deepEqual(m.centers, reference.centers, name);
  }
});

test("label files from NumPy: integers of either byte order, whole floats, unicode and byte strings", async () => {
  const x = join(fixtures, "x_f4.npy");
  const readable = Object.entries(expected.labels).filter(([name]) => name !== "y_object.npy");
  assert.ok(readable.some(([, v]) => v.descr.startsWith(">")) && readable.some(([, v]) => v.descr.startsWith("<U")));
  for (const [name, { labels }] of readable) {
    const ds = await readDataset(x, { labelsFile: join(fixtures, name) });
    assert.deepEqual(ds.labels, labels, name);
    const chunked: string[] = [];
    for await (const c of readDatasetChunks(x, { labelsFile: join(fixtures, name), chunkRows: 10 }))
      chunked.push(...c.labels!);
    assert.deepEqual(chunked, labels.map(String), `${name} in chunks`);
  }
  const fortran = await readDataset(join(fixtures, "x_f8_big_endian_fortran.npy"), {
    labelsFile: join(fixtures, "y_str.npy"),
  });
  assert.deepEqual(fortran.labels, expected.labels["y_str.npy"]!.labels);
});

test("an object (pickled) label file is refused, naming the file and how to save it", async () => {
  const x = join(fixtures, "x_f4.npy");
  for (const [name, why] of [
    ["y_object.npy", "an object array holds pickled Python objects, which are not read; got dtype '|O'"],
  ] as const) {
    const f = join(fixtures, name);
    await assert.rejects(readDataset(x, { labelsFile: f }), (e: unknown) => {
      assert.ok(e instanceof InputError);
      assert.equal(e.message, `${f}: ${why}: save them with y.astype(int) or y.astype(str)`);
      return true;
    });
  }
});

/** A .npy of `rows` × `cols` with value(i, j) at row i, column j, in the given order and dtype. */
function writeLarge(
  name: string,
  descr: "<f4" | ">f8",
  fortran: boolean,
  rows: number,
  cols: number,
  value: (i: number, j: number) => number,
): string {
  const f = join(dir, name);
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? "True" : "False"}, 'shape': (${rows}, ${cols}), }`;
  header += " ".repeat((64 - ((10 + header.length + 1) % 64)) % 64) + "\n";
  const pre = Buffer.from([0x93, ...Buffer.from("NUMPY", "latin1"), 1, 0, 0, 0]);
  pre.writeUInt16LE(header.length, 8);
  const item = descr === "<f4" ? 4 : 8;
  const data = Buffer.alloc(rows * cols * item);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const at = (fortran ? j * rows + i : i * cols + j) * item;
      if (item === 4) data.writeFloatLE(value(i, j), at);
      else data.writeDoubleBE(value(i, j), at);
    }
  }
  writeFileSync(f, Buffer.concat([pre, Buffer.from(header, "latin1"), data]));
  return f;
}

test("files past one read (16 MiB per column or per range) are read in pieces to the right rows", () => {
  const value = (i: number, j: number) => ((i * 31 + j * 17) % 4093) - 2046;
  const check = (f: string, rows: number, cols: number) => {
    const m = readNpy(f);
    assert.deepEqual([m.rows, m.cols], [rows, cols]);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++)
        if (m.data[i * cols + j] !== value(i, j)) assert.fail(`${f}: row ${i} column ${j} is ${m.data[i * cols + j]}`);
    // Out of core, a range that starts past the first row: its pieces start mid-file.
    const src = NpySource.open(f);
    const out = new Float32Array((rows - 3) * cols);
    src.readRange(3, rows - 3, out);
    src.close();
    for (let i = 3; i < rows; i++)
      for (let j = 0; j < cols; j++)
        if (out[(i - 3) * cols + j] !== value(i, j)) assert.fail(`${f}: readRange: row ${i} column ${j}`);
  };
  // 4,200,000 float32 per column (16.8 MB) in Fortran order; 1,100,000 × 2 big-endian float64 (17.6 MB) in C order.
  const fortran = writeLarge("large-fortran-f4.npy", "<f4", true, 4_200_000, 2, value);
  check(fortran, 4_200_000, 2);
  rmSync(fortran);
  const big = writeLarge("large-big-endian-f8.npy", ">f8", false, 1_100_000, 2, value);
  check(big, 1_100_000, 2);
});
