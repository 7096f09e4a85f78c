// The DEC estimator's scikit-learn surface: fitPredict, save, and DEC.load returning a DEC that
// predicts what the saved one did; KMeans and DEC both as a Clusterer; the file-level functions the
// CLI is a shell over (predictFile, clusterLabelledFile, openTrainingSource, trainingSummary).

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, type Matrix } from "../src/engine/index.js";
import { DEC, type DECConfig } from "../src/dec/index.js";
import { KMeans, type Clusterer } from "../src/cluster/index.js";
import { NpySource, writeNpy } from "../src/io/index.js";
import { trainingSummary } from "../src/dec/index.js";
import { clusterLabelledFile, openTrainingSource, predictFile, shuffleBlockFor } from "../src/pipeline/index.js";
import { DEFAULTS, resolveConfig } from "../src/config.js";

function blobs(rows: number, cols: number, seed: number): Matrix {
  const rng = new Rng(seed);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) data[i * cols + j] = (i % 4) * 3 * ((j % 2) * 2 - 1) + rng.normal();
  return { data, rows, cols };
}

const small = { k: 4, hidden: [16, 3], threads: 1, seed: 3, updateInterval: 10, maxIter: 60, pretrain: { epochs: 20 } };

test("save then DEC.load gives a DEC with the same configuration, weights, record and predictions", async () => {
  const X = blobs(400, 8, 1);
  const Y = blobs(100, 8, 2);
  const dec = await new DEC({ ...small, method: "idec" }).fit(X);
  const dir = join(mkdtempSync(join(tmpdir(), "deepclust-estimator-")), "model");
  try {
    dec.save(dir);
    const back = DEC.load(dir);
    assert.ok(back instanceof DEC);
    assert.equal(back.labels, null, "the training rows' labels are not saved");
    assert.equal(back.k, dec.k);
    assert.deepEqual(back.config.hidden, [16, 3]);
    assert.equal(back.config.method, "idec");
    assert.equal(back.config.seed, 3);
    assert.deepEqual(back.centers, dec.centers);
    assert.deepEqual(back.history, JSON.parse(JSON.stringify(dec.history)));
    assert.equal(back.iterations, dec.iterations);
    assert.equal(back.stopReason, dec.stopReason);
    for (const data of [X, Y]) {
      assert.deepEqual(await back.predict(data), await dec.predict(data));
      const [q1, q2] = [await back.predictProba(data), await dec.predictProba(data)];
      for (let i = 0; i < q1.data.length; i++) assert.ok(Math.abs(q1.data[i]! - q2.data[i]!) < 1e-5, `q[${i}]`);
      assert.deepEqual((await back.transform(data)).data, (await dec.transform(data)).data);
    }
    // Saving the loaded model writes the same weights and record.
    const again = join(dir, "..", "again");
    back.save(again);
    for (const f of ["model.safetensors", "metrics.json"])
      assert.deepEqual(readFileSync(join(again, f)), readFileSync(join(dir, f)), f);
    assert.deepEqual(await DEC.load(again).predict(Y), await dec.predict(Y));
    // fit on a loaded model trains afresh, from the recorded configuration.
    const refit = await back.fit(X);
    assert.deepEqual(refit.labels, dec.labels);
    await back.release();
    assert.deepEqual(await back.predict(Y), await dec.predict(Y), "predicts again after release");
  } finally {
    rmSync(join(dir, ".."), { recursive: true, force: true });
  }
});

test("KMeans and DEC are both Clusterers: fitPredict is fit's labels, and predict agrees on the training rows", async () => {
  const X = blobs(300, 6, 4);
  const run = async (c: Clusterer) => {
    const labels = await c.fitPredict(X);
    assert.equal(labels.length, X.rows);
    assert.ok(labels.every((l) => l >= 0 && l < c.k));
    assert.deepEqual(await c.predict(X), labels);
    return labels;
  };
  await run(new KMeans({ k: 4, seed: 0 }));
  const dec = new DEC({ ...small, method: "dec" });
  assert.deepEqual(await run(dec), dec.labels);
});

test("predictFile, clusterLabelledFile and trainingSummary: the library's file-to-file prediction and account of a fit", async () => {
  const X = blobs(400, 8, 1);
  const truth = Array.from({ length: X.rows }, (_, i) => i % 4);
  const dec = await new DEC(small).fit(X, { labels: truth });
  const dir = mkdtempSync(join(tmpdir(), "deepclust-predict-file-"));
  try {
    const csv = join(dir, "data.csv");
    const lines = ["id,embeddings,labels"];
    for (let i = 0; i < X.rows; i++)
      lines.push(`r${i},"${JSON.stringify(Array.from(X.data.subarray(i * 8, (i + 1) * 8)))}",${truth[i]}`);
    writeFileSync(csv, lines.join("\n") + "\n");
    const out = join(dir, "predictions.jsonl");
    let started: number | null = -1;
    const done: number[] = [];
    const s = await predictFile(dec, csv, out, {
      proba: true,
      onStart: (total) => (started = total),
      onProgress: (rows) => done.push(rows),
    });
    const expected = await dec.predict(X);
    const written = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string; labels: string; cluster: number; probabilities: number[] });
    assert.deepEqual(
      written.map((r) => r.cluster),
      Array.from(expected),
    );
    assert.deepEqual([written[7]!.id, written[7]!.labels, written[7]!.probabilities.length], ["r7", "3", 4]);
    assert.equal(s.rows, X.rows);
    assert.equal(
      s.clusterSizes.reduce((a, b) => a + b, 0),
      X.rows,
    );
    assert.deepEqual([started, done.at(-1)], [null, X.rows]); // a CSV's row count is not known before it is read
    // An existing output is replaced only whole: a failing run leaves the old file as it was.
    const before = readFileSync(out);
    await assert.rejects(predictFile(dec, join(dir, "missing.csv"), out), /missing\.csv/);
    assert.deepEqual(readFileSync(out), before);

    const found = await clusterLabelledFile(dec, csv);
    assert.deepEqual(found.clusters, expected);
    assert.equal(found.labelsColumn, "labels");
    assert.deepEqual(found.labels.slice(0, 5), [0, 1, 2, 3, 0]); // numeric labels read as numbers

    const summary = trainingSummary(dec);
    assert.deepEqual([summary.rows, summary.k, summary.dims], [400, 4, [8, 16, 3]]);
    assert.deepEqual(summary.options, resolveConfig(small, 400));
    assert.equal(summary.result.iterations, dec.iterations);
    assert.deepEqual(summary.result.metrics, dec.metrics);
    assert.equal(summary.start.name, "AE + k-means");
    assert.equal(
      summary.clusterSizes.reduce((a, b) => a + b, 0),
      400,
    );
    assert.equal(summary.timings.totalSeconds > 0, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("openTrainingSource: in memory below the budget, from disk above it or when asked, refused for other formats", () => {
  const dir = mkdtempSync(join(tmpdir(), "deepclust-training-source-"));
  try {
    const npy = join(dir, "x.npy");
    writeNpy(npy, blobs(300, 8, 4));
    assert.equal(openTrainingSource(npy), null, "300 rows fit in half the free memory");
    const budget = openTrainingSource(npy, { memoryBudgetMb: 0 });
    assert.ok(budget instanceof NpySource && budget.rows === 300);
    budget.close();
    const asked = openTrainingSource(npy, { outOfCore: true, shuffleBlock: 64 });
    assert.ok(asked instanceof NpySource);
    assert.equal(shuffleBlockFor(asked, undefined), DEFAULTS.outOfCoreBlockRows);
    assert.equal(shuffleBlockFor(asked, 64), 64);
    assert.equal(shuffleBlockFor(null, undefined), undefined, "in memory: a true permutation");
    asked.close();
    assert.throws(() => openTrainingSource(npy, { outOfCore: true, resuming: true }), /--resume is not supported/);
    const csv = join(dir, "x.csv");
    writeFileSync(csv, "a,b\n1,2\n");
    assert.equal(openTrainingSource(csv, { memoryBudgetMb: 0 }), null, "a CSV loads whole");
    assert.throws(() => openTrainingSource(csv, { outOfCore: true }), /reads \.npy and Parquet files only/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("one validation of the hyperparameters, at construction, naming the setting; fit(X, y) as scikit-learn's", async () => {
  const bad: Array<[Record<string, unknown>, RegExp]> = [
    [{ k: 0 }, /DEC: k must be an integer ≥ 1, got 0/],
    [{ k: 3, hidden: [16, 0] }, /DEC: hidden must be a non-empty list of positive integers/],
    [{ k: 3, batchSize: 2.5 }, /DEC: batchSize must be an integer ≥ 1, got 2\.5/],
    [{ k: 3, tol: 2 }, /DEC: tol must be a fraction in \[0, 1\], got 2/],
    [{ k: 3, alpha: 0 }, /DEC: alpha must be a positive number, got 0/],
    [{ k: 3, method: "kmeans" }, /DEC: method must be one of dec, idec, got "kmeans"/],
    [{ k: 3, centerInit: "random" }, /DEC: centerInit must be one of kmeans, manifold/],
    [{ k: 3, optimizer: { type: "sgd", lr: -1 } }, /DEC: optimizer\.lr must be a positive number, got -1/],
    [{ k: 3, pretrain: { noise: { kind: "salt", factor: 0.1 } } }, /DEC: pretrain\.noise\.kind must be one of/],
    [{ k: 3, device: "tpu" }, /DEC: device must be one of cpu, cuda, got "tpu"/],
  ];
  for (const [config, message] of bad)
    assert.throws(() => new DEC(config as unknown as DECConfig), message, JSON.stringify(config));
  assert.doesNotThrow(() => new DEC({ k: 3, tol: 0, maxIter: 0, gamma: 0, seed: 0, threads: 0 }));

  // fit(X, y) scores against y exactly as fit(X, { labels: y }) does, and trains the same model.
  const X = blobs(200, 8, 5);
  const y = Array.from({ length: X.rows }, (_, i) => i % 4);
  const config = { ...small, maxIter: 20, pretrain: { epochs: 5 } };
  const a = await new DEC(config).fit(X, y);
  const b = await new DEC(config).fit(X, { labels: y });
  assert.ok(a.metrics !== null);
  assert.deepEqual(a.metrics, b.metrics);
  assert.deepEqual(a.centers, b.centers);
  assert.deepEqual(await new DEC(config).fitPredict(X, y), a.labels);
  await assert.rejects(new DEC(config).fit(X, y, { labels: y }), /labels given twice/);
});
