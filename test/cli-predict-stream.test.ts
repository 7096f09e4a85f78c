// `deepclust predict` streams (the built CLI, as a user runs it; `npm test` builds dist/ first):
// a file of many chunks gives the same assignments as the whole matrix in process; a bad row
// 50,000 stops it with exit code 2, a message naming the row and column, and no output left; and
// its peak memory stays under 500 MiB on a .npy larger than that, and below what loading a CSV
// would take. Models have random weights: no training is needed to test the data path.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { Rng, type Matrix } from "../src/engine/index.js";
import { CENTERS } from "../src/nn/index.js";
import { Autoencoder, loadModel, modelConfig, writeModelDir } from "../src/dec/index.js";
import { npyHeader, readDataset, writeNpy } from "../src/io/index.js";

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "deepclust-predict-stream-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const rng = new Rng(11);

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", maxBuffer: 1 << 24 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function randomRows(rows: number, cols: number): Matrix {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return { data, rows, cols };
}

/** A model directory d → 16 → 4, k = 3, random weights, centres at the codes of three random rows. */
async function randomModel(name: string, d: number): Promise<string> {
  const ae = new Autoencoder({ dims: [d, 16, 4] }, rng, { threads: 1 });
  const centres = await ae.encode(randomRows(3, d));
  ae.params.define(CENTERS, [3, 4], centres.data);
  const out = join(dir, name);
  writeModelDir(out, ae, modelConfig(ae, { k: 3, alpha: 1, method: "dec" }), null);
  return out;
}

/** A .npy of `rows` × `cols` float32 written a block at a time (the block repeats), never whole in memory. */
function writeLargeNpy(file: string, rows: number, cols: number, block: Matrix): void {
  const fd = openSync(file, "w");
  try {
    writeSync(fd, npyHeader([rows, cols]));
    for (let r = 0; r < rows; r += block.rows)
      writeSync(fd, new Uint8Array(block.data.buffer, 0, Math.min(block.rows, rows - r) * cols * 4));
  } finally {
    closeSync(fd);
  }
}

/** The reference CSV: id, embeddings (a JSON array), labels. */
function csvOf(
  X: Matrix,
  vectorText: (i: number) => string = (i) => JSON.stringify(Array.from(X.data.subarray(i * X.cols, (i + 1) * X.cols))),
): string {
  const lines = ["id,embeddings,labels"];
  for (let i = 0; i < X.rows; i++) lines.push(`id${i},"${vectorText(i)}",${i % 7}`);
  return lines.join("\n") + "\n";
}

interface Summary {
  rows: number;
  clusterSizes: number[];
  peakRssMb: number;
}

function summary(r: ReturnType<typeof run>): Summary {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Summary;
}

const D = 8;
const small = await randomModel("model-8", D);

test("a CSV and a JSONL of several chunks: the same clusters as the whole matrix in process, pass-through columns kept", async () => {
  const X = randomRows(40_000, D); // chunks of 16,384 rows at d = 8: three chunks
  const csv = join(dir, "many.csv");
  writeFileSync(csv, csvOf(X));
  const model = loadModel(small, { threads: 1 });
  const expected = await model.predict((await readDataset(csv)).X);
  await model.release();

  const out = join(dir, "many-predictions.csv");
  const s = summary(run("predict", small, csv, "--out", out, "--threads", "1", "--json"));
  assert.equal(s.rows, X.rows);
  const rows = parse(readFileSync(out), { columns: true }) as Record<string, string>[];
  assert.equal(rows.length, X.rows);
  assert.deepEqual(Object.keys(rows[0]!), ["id", "labels", "cluster", "confidence"]);
  rows.forEach((r, i) => {
    if (r.id !== `id${i}` || r.labels !== String(i % 7) || Number(r.cluster) !== expected[i])
      assert.fail(`row ${i + 1}: ${JSON.stringify(r)}, expected cluster ${expected[i]}`);
  });
  assert.deepEqual(
    s.clusterSizes,
    [0, 1, 2].map((c) => expected.filter((l) => l === c).length),
  );

  const jsonl = join(dir, "many.jsonl");
  writeFileSync(
    jsonl,
    Array.from({ length: X.rows }, (_, i) =>
      JSON.stringify({ id: i, embedding: Array.from(X.data.subarray(i * D, (i + 1) * D)) }),
    ).join("\n") + "\n",
  );
  const outJsonl = join(dir, "many-predictions.jsonl");
  summary(run("predict", small, jsonl, "--out", outJsonl, "--threads", "1", "--json"));
  const lines = readFileSync(outJsonl, "utf8").trim().split("\n");
  assert.equal(lines.length, X.rows);
  lines.forEach((l, i) => {
    const r = JSON.parse(l) as { id: string; cluster: number };
    if (r.id !== String(i) || r.cluster !== expected[i]) assert.fail(`row ${i + 1}: ${l}`);
  });
});

test("a bad row 50,000 stops predict with exit 2 naming the row and column; no output is left and an old file is kept", () => {
  const n = 60_000;
  const X = randomRows(n, D);
  const bad = join(dir, "bad");
  mkdirSync(bad);
  const csv = join(bad, "bad.csv");
  writeFileSync(
    csv,
    csvOf(X, (i) => (i === 49_999 ? "[1, 2, 3]" : JSON.stringify(Array.from(X.data.subarray(i * D, (i + 1) * D))))),
  );
  const jsonl = join(bad, "bad.jsonl");
  writeFileSync(
    jsonl,
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({ embedding: i === 49_999 ? "oops" : Array.from(X.data.subarray(i * D, (i + 1) * D)) }),
    ).join("\n") + "\n",
  );
  const npy = join(bad, "bad.npy");
  X.data[49_999 * D + 4] = NaN;
  writeNpy(npy, X);
  const outDir = join(dir, "out");
  mkdirSync(outDir);
  const previous = join(outDir, "kept.csv");
  writeFileSync(previous, "an earlier run's predictions\n");
  const cases: Array<[string, string, RegExp]> = [
    [csv, "p.csv", /bad\.csv, row 50000, column 'embeddings': expected 8 values, got 3/],
    [
      jsonl,
      "p.jsonl",
      /bad\.jsonl, row 50000, column 'embedding': expected a JSON array of numbers like \[0\.1, -0\.2\], got 'oops'/,
    ],
    [npy, "p.csv", /bad\.npy, row 50000, column 'dimension 5': value NaN is not finite/],
    [npy, "kept.csv", /bad\.npy, row 50000/],
  ];
  for (const [data, out, message] of cases) {
    const r = run("predict", small, data, "--out", join(outDir, out), "--threads", "1", "--force"); // --force: an old file is replaced only by a complete run
    assert.equal(r.code, 2, `${data} → exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, "");
    assert.deepEqual(readdirSync(outDir), ["kept.csv"], `${data}: no output or temporary file is left`);
    assert.equal(readFileSync(previous, "utf8"), "an earlier run's predictions\n");
  }
});

const WIDE = 768;
const wide = await randomModel("model-768", WIDE);

test("peak memory stays under 500 MiB on a 200,000 × 768 .npy (586 MiB)", (t) => {
  const npy = join(dir, "large.npy");
  const out = join(dir, "large-predictions.csv");
  try {
    writeLargeNpy(npy, 200_000, WIDE, randomRows(5_000, WIDE));
    const bytes = statSync(npy).size;
    assert.ok(bytes > 500 * 2 ** 20, `the input (${bytes} bytes) is larger than the 500 MiB budget`);
    const s = summary(run("predict", wide, npy, "--out", out, "--json"));
    assert.equal(s.rows, 200_000);
    t.diagnostic(`peak RSS ${s.peakRssMb} MiB for a ${(bytes / 2 ** 20).toFixed(0)} MiB .npy`);
    assert.ok(s.peakRssMb > 0 && s.peakRssMb < 500, `peak RSS ${s.peakRssMb} MiB`);
    assert.equal(
      s.clusterSizes.reduce((a, b) => a + b, 0),
      200_000,
    );
  } finally {
    rmSync(npy, { force: true });
    rmSync(out, { force: true });
  }
});

test("a CSV is streamed too: peak memory below the size of its vectors as a float32 matrix", (t) => {
  // 100,000 rows of 768 one-digit values: 148 MiB of text, 293 MiB as a matrix (loading it whole
  // took 445 MiB before predict streamed).
  const rows = 100_000;
  const csv = join(dir, "large.csv");
  const out = join(dir, "large-csv-predictions.csv");
  try {
    const fd = openSync(csv, "w");
    writeSync(fd, "id,embeddings,labels\n");
    const digits = Array.from({ length: 10 }, (_, s) =>
      Array.from({ length: WIDE }, (_, j) => (s * 7 + j * 13) % 10).join(","),
    );
    for (let r = 0; r < rows; r += 1000) {
      let text = "";
      for (let i = r; i < r + 1000; i++) text += `${i},"[${digits[i % 10]}]",${i % 10}\n`;
      writeSync(fd, text);
    }
    closeSync(fd);
    const matrixMb = (rows * WIDE * 4) / 2 ** 20;
    const s = summary(run("predict", wide, csv, "--out", out, "--json"));
    assert.equal(s.rows, rows);
    t.diagnostic(`peak RSS ${s.peakRssMb} MiB; the matrix would be ${matrixMb.toFixed(0)} MiB`);
    assert.ok(s.peakRssMb < matrixMb, `peak RSS ${s.peakRssMb} MiB, the matrix alone is ${matrixMb.toFixed(0)} MiB`);
  } finally {
    rmSync(csv, { force: true });
    rmSync(out, { force: true });
  }
});
