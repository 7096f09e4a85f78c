// src/cluster/umap.ts against umap-js 1.4, the implementation it replaces for speed: the same kNN
// lists and the same random source must give the same fuzzy graph, bit for bit, and the same layout
// up to the ulps of one changed power function.

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

async function both(
  X: Matrix,
  nNeighbors: number,
  o: { nComponents: number; minDist: number; nEpochs?: number },
  seed: number,
) {
  const knn = await exactKnn(X, nNeighbors, 1);
  const n = X.rows;
  const ref = new UMAP({
    ...o,
    nNeighbors,
    random: (
      (r) => () =>
        r.uniform()
    )(new Rng(seed)),
  });
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
  const entries = (
    ref as unknown as { graph: { getAll(): { row: number; col: number; value: number }[] } }
  ).graph.getAll();
  assert.equal(graph.vals.length, entries.length);
  for (let e = 0; e < entries.length; e++) {
    assert.equal(graph.rows[e], entries[e]!.row);
    assert.equal(graph.cols[e], entries[e]!.col);
    assert.equal(graph.vals[e], entries[e]!.value, `edge ${e}`);
  }
});

/** Largest |ours − umap-js| over the layout. */
function maxDiff(ours: Float64Array, ref: UMAP, dim: number): number {
  let worst = 0;
  ref
    .getEmbedding()
    .forEach((row, i) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(ours[i * dim + j]! - v)))));
  return worst;
}

/** Mean share of each row's 10 nearest neighbours in the layout that carry its label. */
function labelAgreement(
  Y: ArrayLike<number>,
  dim: number,
  labels: readonly (string | number | null)[],
  n: number,
): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const d2 = Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let c = 0; c < dim; c++) s += (Y[i * dim + c]! - Y[j * dim + c]!) ** 2;
      return [j === i ? Infinity : s, j] as const;
    }).sort((x, y) => x[0] - y[0]);
    total += d2.slice(0, 10).filter(([, j]) => labels[j] === labels[i]).length / 10;
  }
  return total / n;
}

// The port computes d^(2b) as exp(b·ln d²) where umap-js calls Math.pow (faster, equal to a
// few ulps). SGD amplifies ulps, so the layouts agree to 1e-12 for the first ten epochs, then drift
// apart, and from there on they can only be compared by what they preserve.
test("the layout follows umap-js's epoch by epoch (digits, 10 components, min_dist 0), and ends as good", async () => {
  const X = { data: digits.X.data.slice(0, 400 * 64), rows: 400, cols: 64 };
  const { ref, epochs, ours } = await both(X, 20, { nComponents: 10, minDist: 0 }, 7);
  assert.equal(epochs, defaultLayoutEpochs(400));
  assert.equal(ours.nEpochs, epochs);
  assert.equal(maxDiff(ours.embedding, ref, 10), 0, "initial layout");
  for (let e = 1; e <= epochs; e++) {
    ref.step();
    ours.step();
    if (e <= 10) assert.ok(maxDiff(ours.embedding, ref, 10) < 1e-12, `epoch ${e}: ${maxDiff(ours.embedding, ref, 10)}`);
  }
  const labels = digits.labels!.slice(0, 400);
  const refScore = labelAgreement(Float64Array.from(ref.getEmbedding().flat()), 10, labels, 400);
  const ourScore = labelAgreement(ours.embedding, 10, labels, 400);
  assert.ok(refScore > 0.8, `umap-js's layout keeps neighbours' labels: ${refScore}`);
  assert.ok(Math.abs(ourScore - refScore) < 0.02, `ours ${ourScore} vs umap-js ${refScore}`);
});

test("duplicate rows (zero distances beyond the row itself) follow umap-js too", async () => {
  const base = digits.X.data.slice(0, 120 * 64);
  const data = new Float32Array(240 * 64);
  data.set(base);
  data.set(base, 120 * 64); // every row twice
  const X = { data, rows: 240, cols: 64 };
  const { ref, ours } = await both(X, 10, { nComponents: 2, minDist: 0.1, nEpochs: 30 }, 2);
  // Coincident points make the first epochs more chaotic than above: ulps grow 10× per epoch.
  for (let e = 1; e <= 3; e++) {
    ref.step();
    ours.step();
    assert.ok(maxDiff(ours.embedding, ref, 2) < 1e-10, `epoch ${e}: ${maxDiff(ours.embedding, ref, 2)}`);
  }
});
