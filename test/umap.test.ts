// src/cluster/umap.ts against umap-js 1.4, the implementation it replaces for speed: the same kNN
// lists and the same random source must give the same fuzzy graph and the same layout, bit for bit.

import { test } from "node:test";
import assert from "node:assert/strict";
import { UMAP } from "umap-js";
import { readDataset } from "../src/io/dataset.js";
import { exactKnn } from "../src/cluster/knn.js";
import { fuzzySimplicialSet, UmapLayout, defaultLayoutEpochs } from "../src/cluster/umap.js";
import { Rng, type Matrix } from "../src/engine/index.js";

const digits = await readDataset(new URL("./fixtures/digits.csv", import.meta.url).pathname);

function rowsOf(X: Matrix): number[][] {
  return Array.from({ length: X.rows }, (_, i) => Array.from(X.data.subarray(i * X.cols, (i + 1) * X.cols)));
}

async function both(X: Matrix, nNeighbors: number, o: { nComponents: number; minDist: number; nEpochs?: number }, seed: number) {
  const knn = await exactKnn(X, nNeighbors, 1);
  const n = X.rows;
  const ref = new UMAP({ ...o, nNeighbors, random: ((r) => () => r.uniform())(new Rng(seed)) });
  ref.setPrecomputedKNN(
    Array.from({ length: n }, (_, i) => Array.from(knn.indices.subarray(i * nNeighbors, (i + 1) * nNeighbors))),
    Array.from({ length: n }, (_, i) => Array.from(knn.distances.subarray(i * nNeighbors, (i + 1) * nNeighbors))),
  );
  const epochs = ref.initializeFit(rowsOf(X));
  const graph = fuzzySimplicialSet(knn.indices, knn.distances, n, nNeighbors);
  const rng = new Rng(seed);
  const ours = new UmapLayout(graph, { ...o, random: () => rng.uniform() });
  return { ref, epochs, graph, ours };
}

test("the fuzzy graph equals umap-js's, entry for entry in the same order", async () => {
  const X = { data: digits.X.data.slice(0, 300 * 64), rows: 300, cols: 64 };
  const { ref, graph } = await both(X, 15, { nComponents: 2, minDist: 0.1 }, 1);
  const entries = (ref as unknown as { graph: { getAll(): { row: number; col: number; value: number }[] } }).graph.getAll();
  assert.equal(graph.vals.length, entries.length);
  for (let e = 0; e < entries.length; e++) {
    assert.equal(graph.rows[e], entries[e]!.row);
    assert.equal(graph.cols[e], entries[e]!.col);
    assert.equal(graph.vals[e], entries[e]!.value, `edge ${e}`);
  }
});

test("the layout equals umap-js's bit for bit after every epoch (digits, 10 components, min_dist 0)", async () => {
  const X = { data: digits.X.data.slice(0, 400 * 64), rows: 400, cols: 64 };
  const { ref, epochs, ours } = await both(X, 20, { nComponents: 10, minDist: 0 }, 7);
  assert.equal(epochs, defaultLayoutEpochs(400));
  assert.equal(ours.nEpochs, epochs);
  const check = (label: string) => {
    const Y = ref.getEmbedding();
    for (let i = 0; i < 400; i++) for (let j = 0; j < 10; j++) assert.equal(ours.embedding[i * 10 + j], Y[i]![j], `${label}: row ${i}, component ${j}`);
  };
  check("initial layout");
  for (let e = 1; e <= epochs; e++) {
    ref.step();
    ours.step();
    if (e % 50 === 0 || e === epochs) check(`epoch ${e}`);
  }
});

test("duplicate rows (zero distances beyond the row itself) follow umap-js too", async () => {
  const base = digits.X.data.slice(0, 120 * 64);
  const data = new Float32Array(240 * 64);
  data.set(base);
  data.set(base, 120 * 64); // every row twice
  const X = { data, rows: 240, cols: 64 };
  const { ref, ours } = await both(X, 10, { nComponents: 2, minDist: 0.1, nEpochs: 30 }, 2);
  for (let e = 0; e < 30; e++) {
    ref.step();
    ours.step();
  }
  const Y = ref.getEmbedding();
  for (let i = 0; i < 240; i++) for (let j = 0; j < 2; j++) assert.equal(ours.embedding[i * 2 + j], Y[i]![j]);
});
