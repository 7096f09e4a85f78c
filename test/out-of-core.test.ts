// Training on data read from disk (issue 5: larger than RAM): NpySource gathers the right rows
// (sorted/coalesced reads and the block cache), block-shuffled orders, P from the cluster
// frequencies equals the full-data P, and DEC on an on-disk .npy matches DEC in memory — the
// same pretraining and k-means exactly, the same final labels up to P's float rounding — and is
// reproducible for a seed; the CLI trains out of core with --labels-file.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CompiledGraph, Graph, Rng, Tensor, gatherRows, shuffledOrder } from "../src/engine/index.js";
import { targetDistribution } from "../src/nn/index.js";
import { DEC, targetFromFrequencies } from "../src/dec/index.js";
import { NpySource, writeNpy } from "../src/io/index.js";
import { readDataset } from "../src/io/dataset.js";

const dir = mkdtempSync(join(tmpdir(), "deepclust-ooc-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const digits = await readDataset(new URL("./fixtures/digits.csv", import.meta.url).pathname);
const X = digits.X;
const y = digits.labels as number[];
const file = join(dir, "digits.npy");
writeNpy(file, X);

test("NpySource gathers the right rows, with coalesced reads and with the block cache", () => {
  const rng = new Rng(5);
  const index = Uint32Array.from({ length: 700 }, () => rng.int(X.rows));
  index.set([3, 4, 5, 5, 4, 1796, 0], 10); // adjacent runs, duplicates, both ends
  const want = new Float32Array(690 * X.cols);
  gatherRows(X, index, 10, 700, want);
  for (const options of [
    {},
    { cacheBlockRows: 100 },
    { cacheBlockRows: 4096 },
    { cacheBlockRows: 7, cachedBlocks: 1 },
  ]) {
    const src = NpySource.open(file, options);
    const got = new Float32Array(690 * X.cols);
    src.gather(index, 10, 700, got);
    assert.deepEqual(got, want, JSON.stringify(options));
    const range = new Float32Array(50 * X.cols);
    src.readRange(1747, 50, range);
    assert.deepEqual(range, X.data.subarray(1747 * X.cols));
    src.close();
  }
  // Sorted, coalesced reads: a sorted batch of adjacent rows is one read.
  const src = NpySource.open(file);
  src.gather(
    Uint32Array.from({ length: 256 }, (_, i) => 1000 + i),
    0,
    256,
    new Float32Array(256 * X.cols),
  );
  assert.equal(src.stats.reads, 1);
  src.close();
});

test("a block-shuffled order is a permutation that visits whole blocks, reproducible for a seed", () => {
  const n = 1000;
  const a = shuffledOrder(new Rng(1), n, 64);
  assert.deepEqual(
    [...a].sort((x, y) => x - y),
    Array.from({ length: n }, (_, i) => i),
  );
  for (let s = 0; s < n;) {
    const b = Math.floor(a[s]! / 64);
    const size = Math.min(64, n - b * 64);
    for (let i = s; i < s + size; i++) assert.equal(Math.floor(a[i]! / 64), b);
    s += size;
  }
  assert.deepEqual(shuffledOrder(new Rng(1), n, 64), a);
  assert.notDeepEqual(shuffledOrder(new Rng(2), n, 64), a);
  assert.deepEqual(shuffledOrder(new Rng(1), n), new Rng(1).permutation(n)); // no block: the permutation as before
});

test("P from the cluster frequencies equals the full-data P", async () => {
  const rng = new Rng(2);
  const rows = 5000;
  const k = 7;
  const q = new Float32Array(rows * k);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += q[i * k + j] = rng.uniform() ** 3 + 1e-4;
    for (let j = 0; j < k; j++) q[i * k + j]! /= s;
  }
  const g = new Graph("target");
  g.output(targetDistribution(g, g.input("q", "float32", ["n", k])), "p");
  const c = await CompiledGraph.create(g, { threads: 1 });
  const full = (await c.runOne({ q: new Tensor(q, [rows, k]) }, "p")) as Float32Array;
  await c.release();
  const p = targetFromFrequencies({ data: q, rows, cols: k });
  let worst = 0;
  for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i]! - full[i]!) / full[i]!);
  assert.ok(worst < 1e-5, `largest relative difference ${worst}`);
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
};

function agreement(a: Int32Array, b: Int32Array): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

for (const shuffleBlock of [undefined, 256]) {
  test(`DEC on the .npy read from disk matches DEC in memory (${shuffleBlock ? `block-shuffled, blocks of ${shuffleBlock}` : "true permutation"})`, async () => {
    const c = { ...config, ...(shuffleBlock ? { shuffleBlock } : {}) };
    const mem = await new DEC(c).fit(X, { labels: y });
    const src = NpySource.open(file, shuffleBlock ? { cacheBlockRows: shuffleBlock } : {});
    const disk = await new DEC(c).fit(src, { labels: y });
    assert.deepEqual(
      disk.pretrainHistory.map((e) => e.loss),
      mem.pretrainHistory.map((e) => e.loss),
    );
    assert.deepEqual(disk.initLabels, mem.initLabels);
    // The training phases differ only in how P is rounded (targetFromFrequencies vs one graph).
    assert.ok(agreement(disk.labels!, mem.labels!) > 0.99, `label agreement ${agreement(disk.labels!, mem.labels!)}`);
    assert.ok(Math.abs(disk.metrics!.acc - mem.metrics!.acc) < 0.01);
    assert.deepEqual(await disk.predict(src), disk.labels); // predictions read in chunks
    if (shuffleBlock) {
      const again = await new DEC(c).fit(src, { labels: y });
      assert.deepEqual(again.labels, disk.labels);
      assert.deepEqual(again.centers, disk.centers);
    }
    src.close();
  });
}

test("k-means on a seeded sample of the code assigns every row and is reproducible", async () => {
  const c = { ...config, kmeansSample: 600, maxIter: 0 };
  const a = await new DEC(c).fit(X, { labels: y });
  const b = await new DEC(c).fit(X, { labels: y });
  assert.equal(a.initLabels!.length, X.rows);
  assert.deepEqual(a.initLabels, b.initLabels);
  assert.equal(a.initInertia, b.initInertia);
  const all = await new DEC({ ...config, maxIter: 0 }).fit(X, { labels: y });
  assert.ok(
    a.initInertia < 1.1 * all.initInertia,
    `inertia ${a.initInertia} on a sample vs ${all.initInertia} on all rows`,
  );
});

test("deepclust train --out-of-core trains from the .npy on disk, with --labels-file", () => {
  const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
  const labelsFile = join(dir, "labels.txt");
  writeFileSync(labelsFile, y.join("\n") + "\n");
  const args = [
    "train",
    file,
    "-k",
    "10",
    "--labels-file",
    labelsFile,
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
  const run = (...extra: string[]) => {
    const r = spawnSync(process.execPath, [cli, ...args, ...extra], { encoding: "utf8", cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as {
      outOfCore: boolean;
      rows: number;
      aeKmeans: { acc: number };
      dec: { acc: number };
      clusterSizes: number[];
    };
  };
  const ooc = run("--out", "m-ooc", "--out-of-core", "--shuffle-block", "0");
  const mem = run("--out", "m-mem");
  const budget = run("--out", "m-budget", "--memory-budget", "0", "--shuffle-block", "128"); // larger than a 0 MB budget: out of core
  assert.equal(ooc.outOfCore, true);
  assert.equal(mem.outOfCore, false);
  assert.equal(ooc.rows, X.rows);
  assert.equal(ooc.aeKmeans.acc, mem.aeKmeans.acc); // same pretraining and k-means
  assert.ok(Math.abs(ooc.dec.acc - mem.dec.acc) < 0.02);
  assert.equal(budget.outOfCore, true);
  assert.equal(
    budget.clusterSizes.reduce((a, b) => a + b, 0),
    X.rows,
  );
  assert.ok(JSON.parse(readFileSync(join(dir, "m-ooc", "metrics.json"), "utf8")));
});
