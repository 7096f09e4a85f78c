// The manifold start (after N2D): exact kNN against a brute-force reference, seeded UMAP (same seed,
// same layout), UMAP + GMM against k-means on digits, and resuming inside the anchored updates. The
// default preset end to end through the CLI (beats k-means on the raw data; model.onnx predicts the
// library's labels) is in cli-train.test.ts.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readDataset } from "../src/io/dataset.js";
import { blockRows, exactKnn } from "../src/cluster/knn.js";
import { umapEmbedding, manifoldClusters, mixtureClusters, clusterMeans } from "../src/cluster/manifold.js";
import { evaluateClustering } from "../src/cluster/metrics.js";
import { kmeans } from "../src/cluster/kmeans.js";
import { DEC } from "../src/dec/dec-model.js";
import { Rng, type Matrix } from "../src/engine/index.js";

const digits = await readDataset(new URL("./fixtures/digits.csv", import.meta.url).pathname);
const dir = mkdtempSync(join(tmpdir(), "deepclust-manifold-"));

function head(X: Matrix, n: number): Matrix {
  return { data: X.data.slice(0, n * X.cols), rows: n, cols: X.cols };
}

test("exactKnn gives every row's nearest neighbours, itself first, as a brute-force float64 search does", async () => {
  const X = head(digits.X, 1000);
  assert.ok(blockRows(X.rows) < X.rows, "the queries span more than one GEMM block");
  const k = 8;
  const knn = await exactKnn(X, k, 1);
  for (let i = 0; i < X.rows; i += 7) {
    const d = Array.from({ length: X.rows }, (_, j) => {
      let s = 0;
      for (let c = 0; c < X.cols; c++) s += (X.data[i * X.cols + c]! - X.data[j * X.cols + c]!) ** 2;
      return { j, d: Math.sqrt(s) };
    }).sort((a, b) => a.d - b.d || (a.j === i ? -1 : b.j === i ? 1 : 0));
    assert.equal(knn.indices[i * k], i, `row ${i} first`);
    for (let r = 1; r < k; r++) {
      // Ties may order differently; the distances must agree.
      assert.ok(
        Math.abs(knn.distances[i * k + r]! - d[r]!.d) < 1e-4,
        `row ${i}, neighbour ${r}: ${knn.distances[i * k + r]} vs ${d[r]!.d}`,
      );
    }
  }
});

test("UMAP is seeded: the same seed gives the same layout, another seed another", async () => {
  const X = head(digits.X, 300);
  const a = await umapEmbedding(X, { nComponents: 3, nEpochs: 50, seed: 3, threads: 1 });
  const b = await umapEmbedding(X, { nComponents: 3, nEpochs: 50, seed: 3, threads: 1 });
  const c = await umapEmbedding(X, { nComponents: 3, nEpochs: 50, seed: 4, threads: 1 });
  assert.deepEqual([a.rows, a.cols], [300, 3]);
  assert.deepEqual(a.data, b.data);
  assert.notDeepEqual(a.data, c.data);
});

test("UMAP + Gaussian mixture on digits' pixels beats k-means on them (the manifold's gain, no autoencoder)", async () => {
  const y = digits.labels!;
  const mc = await manifoldClusters(digits.X, 10, { seed: 0, threads: 1, nEpochs: 200 });
  const km = await kmeans(digits.X, { k: 10, nInit: 10, seed: 0, threads: 1 });
  const m = evaluateClustering(y, mc.labels);
  const k = evaluateClustering(y, km.labels);
  assert.ok(m.acc > k.acc && m.nmi > k.nmi, `manifold ${JSON.stringify(m)} vs k-means ${JSON.stringify(k)}`);
  // The centres are the mean rows of the mixture's clusters.
  const c0 = Array.from({ length: digits.X.cols }, (_, j) => {
    let s = 0;
    let n = 0;
    for (let i = 0; i < digits.X.rows; i++) {
      if (mc.labels[i] !== 0) continue;
      s += digits.X.data[i * digits.X.cols + j]!;
      n++;
    }
    return s / n;
  });
  for (let j = 0; j < c0.length; j++) assert.ok(Math.abs(mc.centers[j]! - c0[j]!) < 1e-5);
});

test("a run resumed from a checkpoint taken while the mixture's posteriors are the target ends as the uninterrupted run", async () => {
  const X = digits.X;
  const config = {
    k: 10,
    hidden: [32, 10],
    seed: 5,
    threads: 1,
    centerInit: "manifold" as const,
    manifold: { nEpochs: 30, selfTrain: true, anchorUpdates: 5 },
    pretrain: { epochs: 3 },
    updateInterval: 10,
    tol: 0,
  };
  const ckpt = join(dir, "ckpt");
  // Checkpoints every 2 updates; the last one before max-iter 30 is at iteration 10 (update 2 of the 5 anchored).
  await new DEC({ ...config, maxIter: 30 }).fit(X, { checkpoint: { dir: ckpt, every: 2 } });
  const resumed = await new DEC({ ...config, maxIter: 80 }).fit(X, { resumeFrom: ckpt });
  const whole = await new DEC({ ...config, maxIter: 80 }).fit(X);
  assert.equal(resumed.history.length, whole.history.length);
  assert.deepEqual(resumed.centers, whole.centers);
  assert.deepEqual(resumed.labels, whole.labels);
});

test("above maxRows the manifold start lays out a seeded sample: its centres start DEC's own target on every row", async () => {
  const config = {
    k: 10,
    hidden: [32, 10],
    seed: 2,
    threads: 1,
    centerInit: "manifold" as const,
    manifold: { nEpochs: 50, maxRows: 600 },
    pretrain: { epochs: 3 },
    maxIter: 40,
  };
  const a = await new DEC(config).fit(digits.X, { labels: digits.labels! });
  const b = await new DEC(config).fit(digits.X, { labels: digits.labels! });
  assert.equal(a.initLabels!.length, digits.X.rows);
  assert.deepEqual(a.centers, b.centers, "seeded");
  assert.ok(a.history.length > 1);
});

test("the held target stops at its epoch budget (holdEpochs), or runs to the label tolerance when the budget is Infinity", async () => {
  const X = digits.X;
  // 1,797 rows at batch 256: 3 epochs are ⌈3 · 1797 / 256⌉ = 22 iterations; updates every 10 → stops at 30.
  const base = {
    k: 10,
    hidden: [32, 10],
    seed: 4,
    threads: 1,
    centerInit: "manifold" as const,
    pretrain: { epochs: 3 },
    updateInterval: 10,
    tol: 1e-9,
    maxIter: 200,
  };
  const held = await new DEC({ ...base, manifold: { nEpochs: 30, holdEpochs: 3 } }).fit(X);
  assert.equal(held.stopReason, "hold");
  assert.equal(held.iterations, 30);
  assert.equal(held.converged, false);
  const unbounded = await new DEC({ ...base, manifold: { nEpochs: 30, holdEpochs: Infinity } }).fit(X);
  assert.notEqual(unbounded.stopReason, "hold");
  assert.ok(unbounded.iterations > 30, `ran ${unbounded.iterations} iterations`);
  // The same start: the budget only ends the run earlier.
  assert.deepEqual(held.initLabels, unbounded.initLabels);
});

test("a negative or NaN holdEpochs is refused before pretraining", async () => {
  for (const holdEpochs of [-1, Number.NaN]) {
    const dec = new DEC({
      k: 3,
      hidden: [8, 2],
      seed: 0,
      threads: 1,
      centerInit: "manifold",
      manifold: { holdEpochs },
      pretrain: { epochs: 1 },
    });
    await assert.rejects(dec.fit(head(digits.X, 60)), /holdEpochs must be ≥ 0/);
  }
});

/** Two Gaussian clusters in 2-D, a narrow one (sd 0.3) beside a broad one (sd 1.5): k-means' boundary is halfway, the Bayes rule's near the narrow one. */
function unequalSpreads(perCluster: number, seed: number): { X: Matrix; y: Int32Array } {
  const rng = new Rng(seed);
  const n = 2 * perCluster;
  const data = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i < perCluster ? 0 : 1;
    const sd = c === 0 ? 0.3 : 1.5;
    y[i] = c;
    data[i * 2] = c * 2.5 + sd * rng.normal();
    data[i * 2 + 1] = sd * rng.normal();
  }
  return { X: { data, rows: n, cols: 2 }, y };
}

test("--init gmm's mixture of the rows themselves places the boundary between unequal clusters where k-means cannot", async () => {
  const { X, y } = unequalSpreads(400, 3);
  const gmm = await mixtureClusters(X, 2, { restarts: 4, seed: 1, threads: 1 });
  const km = await kmeans(X, { k: 2, nInit: 10, seed: 1, threads: 1 });
  const gmmAcc = evaluateClustering(y, gmm.labels).acc;
  const kmAcc = evaluateClustering(y, km.labels).acc;
  assert.ok(gmmAcc > kmAcc + 0.04, `mixture ACC ${gmmAcc} against k-means ${kmAcc}`);
  const again = await mixtureClusters(X, 2, { restarts: 4, seed: 1, threads: 1 });
  assert.deepEqual(again.labels, gmm.labels, "seeded");
  // The centres are the mean row of each of the mixture's clusters.
  assert.deepEqual(gmm.centers, clusterMeans(X, gmm.labels, 2));
});

test("DEC with centerInit gmm starts from the mixture of the code and holds its posteriors as the target", async () => {
  const base = {
    k: 10,
    hidden: [32, 10],
    seed: 4,
    threads: 1,
    centerInit: "gmm" as const,
    pretrain: { epochs: 3 },
    updateInterval: 10,
    tol: 1e-9,
    maxIter: 200,
    manifold: { holdEpochs: 3 },
  };
  const a = await new DEC(base).fit(digits.X, { labels: digits.labels! });
  const b = await new DEC(base).fit(digits.X, { labels: digits.labels! });
  assert.equal(a.stopReason, "hold");
  assert.equal(a.iterations, 30);
  assert.deepEqual(a.labels, b.labels, "seeded");
  // The start is the code's own mixture: refitting it from the pretrained code and the generator's
  // state after pretraining gives the same partition.
  const pre = await new DEC(base).pretrain(digits.X);
  const code = await pre.autoencoder.encode(pre.input as Matrix);
  const rng = new Rng(0);
  rng.setState(pre.rngState);
  const mixture = await mixtureClusters(code, 10, { restarts: 4, seed: rng.fork(), threads: 1 });
  assert.deepEqual(a.initLabels, mixture.labels);
  // A k-means start on the same code is another partition.
  const km = await new DEC({ ...base, centerInit: "kmeans" }).fit(digits.X, { labels: digits.labels! });
  assert.notDeepEqual(km.initLabels, a.initLabels);
});
