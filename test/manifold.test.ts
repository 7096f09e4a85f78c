// The manifold start (after N2D): exact kNN against a brute-force reference, seeded UMAP (same seed,
// same layout), and the whole path on scikit-learn's digits through the built CLI: the default
// preset (--init manifold) beats k-means on the raw data, and model.onnx predicts the library's labels.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { readDataset } from "../src/io/dataset.js";
import { exactKnn } from "../src/cluster/knn.js";
import { umapEmbedding, manifoldClusters } from "../src/cluster/manifold.js";
import { evaluateClustering } from "../src/cluster/metrics.js";
import { kmeans } from "../src/cluster/kmeans.js";
import { loadModel } from "../src/dec/model-dir.js";
import type { Matrix } from "../src/engine/index.js";

const digitsFile = new URL("./fixtures/digits.csv", import.meta.url).pathname;
const digits = await readDataset(digitsFile);
const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "deepclust-manifold-"));

function head(X: Matrix, n: number): Matrix {
  return { data: X.data.slice(0, n * X.cols), rows: n, cols: X.cols };
}

test("exactKnn gives every row's nearest neighbours, itself first, as a brute-force float64 search does", async () => {
  const X = head(digits.X, 400);
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
      assert.ok(Math.abs(knn.distances[i * k + r]! - d[r]!.d) < 1e-4, `row ${i}, neighbour ${r}: ${knn.distances[i * k + r]} vs ${d[r]!.d}`);
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
    for (let i = 0; i < digits.X.rows; i++) if (mc.labels[i] === 0) (s += digits.X.data[i * digits.X.cols + j]!), n++;
    return s / n;
  });
  for (let j = 0; j < c0.length; j++) assert.ok(Math.abs(mc.centers[j]! - c0[j]!) < 1e-5);
});

test("train --init manifold on digits: DEC beats k-means on the raw data, and model.onnx predicts the library's labels", async () => {
  const out = join(dir, "model");
  const r = spawnSync(process.execPath, [cli, "train", digitsFile, "-k", "10", "--init", "manifold", "--pretrain-epochs", "40", "--threads", "1", "--no-report", "--out", out, "--json"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { baseline: { acc: number; nmi: number }; aeKmeans: { acc: number; nmi: number }; dec: { acc: number; nmi: number } };
  assert.ok(s.dec.acc > s.baseline.acc && s.dec.nmi > s.baseline.nmi, `DEC ${JSON.stringify(s.dec)} vs k-means on the pixels ${JSON.stringify(s.baseline)}`);
  const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as { training: { centerInit: string; manifold: { nNeighbors: number; minDist: number } } };
  assert.equal(config.training.centerInit, "manifold");
  assert.deepEqual([config.training.manifold.nNeighbors, config.training.manifold.minDist], [20, 0]);

  const model = loadModel(out, { threads: 1 });
  const labels = await model.predict(digits.X);
  const session = await ort.InferenceSession.create(join(out, "model.onnx"), { intraOpNumThreads: 1 });
  const res = await session.run({ embeddings: new ort.Tensor("float32", digits.X.data, [digits.X.rows, digits.X.cols]) });
  await session.release();
  assert.deepEqual(Array.from(res.labels!.data as BigInt64Array, Number), Array.from(labels));
  assert.ok(evaluateClustering(digits.labels!, labels).acc === s.dec.acc, "the saved model's labels are the training labels");
});
