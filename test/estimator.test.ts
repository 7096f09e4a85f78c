// The DEC estimator's scikit-learn surface: fitPredict, save, and DEC.load returning a DEC that
// predicts what the saved one did; KMeans and DEC both as a Clusterer.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, type Matrix } from "../src/engine/index.js";
import { DEC } from "../src/dec/index.js";
import { KMeans, type Clusterer } from "../src/cluster/index.js";

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
