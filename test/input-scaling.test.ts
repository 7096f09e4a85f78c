// Input standardisation folded into the model: the folded encoder on raw x computes what the
// trained one computed on (x − μ) / σ; "auto" standardises mixed-unit tabular data (scikit-learn's
// wine) and not
// pixels; and on wine the default recipe beats k-means on the raw values, which proline dominates.
// test/fixtures/wine.csv is the wine.csv that bench/datasets/build_tabular.py writes (scikit-learn's load_wine).

import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, type Matrix } from "../src/engine/index.js";
import { Autoencoder } from "../src/dec/autoencoder.js";
import { DEC } from "../src/dec/dec-model.js";
import { chooseScaling, featureStats, foldScaling, standardize } from "../src/dec/input-scaling.js";
import { readDataset } from "../src/io/dataset.js";
import { kmeans } from "../src/cluster/kmeans.js";
import { evaluateClustering } from "../src/cluster/metrics.js";

const wine = await readDataset(new URL("./fixtures/wine.csv", import.meta.url).pathname);
const digits = await readDataset(new URL("./fixtures/digits.csv", import.meta.url).pathname);

test("folding the standardizer: the encoder on raw x equals the trained encoder on (x − μ) / σ", async () => {
  const X = wine.X;
  const s = featureStats(X);
  const ae = new Autoencoder({ dims: [X.cols, 16, 4], init: "torch", normalizeCode: false }, new Rng(1), {
    threads: 1,
  });
  const before = await ae.encode(standardize(X, s));
  foldScaling(ae, s);
  const after = await ae.encode(X);
  let worst = 0;
  for (let i = 0; i < before.data.length; i++)
    worst = Math.max(worst, Math.abs(before.data[i]! - after.data[i]!) / Math.max(1, Math.abs(before.data[i]!)));
  assert.ok(worst < 1e-4, `largest relative difference ${worst}`);
});

test("auto standardises mixed units (wine) and leaves one-scale data (digits' pixels) alone", () => {
  assert.notEqual(chooseScaling(wine.X, "auto"), null);
  assert.equal(chooseScaling(digits.X, "auto"), null);
  assert.equal(chooseScaling(wine.X, "none"), null);
  const s = chooseScaling(digits.X, "standardize")!;
  // A constant pixel keeps scale 1 (no division by zero).
  assert.ok(Array.from(s.scale).every((v) => v > 0 && Number.isFinite(v)));
});

test("DEC with input scaling on wine beats k-means on the raw values; the saved weights take raw inputs", async () => {
  const y = wine.labels!;
  const raw = evaluateClustering(y, (await kmeans(wine.X, { k: 3, nInit: 20, seed: 0, threads: 1 })).labels);
  const dec = await new DEC({
    k: 3,
    hidden: [64, 64, 256, 10],
    inputScaling: "auto",
    centerInit: "manifold",
    pretrain: { epochs: 100, optimizer: { type: "adam", lr: 1e-3 }, noise: { kind: "none", factor: 0 } },
    seed: 0,
    threads: 1,
  }).fit(wine.X, { labels: y });
  assert.notEqual(dec.scaling, null);
  assert.ok(
    dec.metrics!.acc > raw.acc && dec.metrics!.nmi > raw.nmi,
    `DEC ${JSON.stringify(dec.metrics)} vs k-means ${JSON.stringify(raw)}`,
  );
  const predicted = await dec.predict(wine.X as Matrix);
  const same = predicted.reduce((n, l, i) => n + (l === dec.labels![i] ? 1 : 0), 0);
  assert.equal(same, wine.X.rows, "the folded model predicts the training labels from raw inputs");
});
