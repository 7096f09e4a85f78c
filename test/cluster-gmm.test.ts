// Gaussian mixture (full covariances, EM) against scikit-learn 1.2's GaussianMixture
// (test/fixtures/gen_sklearn_gmm.py): from the same start, the same iterations, convergence flag,
// lower bound, weights, means, covariances and labels. Plus seeding and input checks.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gaussianMixture } from "../src/cluster/gmm.js";

interface Case {
  name: string;
  k: number;
  tol: number;
  maxIter: number;
  rows: number;
  cols: number;
  data: number[];
  init: { weights: number[]; means: number[]; precisions: number[] };
  weights: number[];
  means: number[];
  covariances: number[];
  labels: number[];
  lowerBound: number;
  nIter: number;
  converged: boolean;
}
const fixture = JSON.parse(readFileSync(new URL("./fixtures/sklearn_gmm.json", import.meta.url), "utf8")) as {
  cases: Case[];
};

function close(actual: ArrayLike<number>, expected: number[], tol: number, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    assert.ok(err <= tol, `${what}[${i}]: ${actual[i]} vs scikit-learn ${expected[i]} (${err.toExponential(2)})`);
  }
}

for (const c of fixture.cases) {
  test(`GMM matches scikit-learn from the same start: ${c.name}`, async () => {
    const X = { data: Float64Array.from(c.data), rows: c.rows, cols: c.cols };
    const init = {
      weights: Float64Array.from(c.init.weights),
      means: Float64Array.from(c.init.means),
      precisions: Float64Array.from(c.init.precisions),
    };
    const r = await gaussianMixture(X, { k: c.k, tol: c.tol, maxIter: c.maxIter, init });
    assert.equal(r.nIter, c.nIter, "EM iterations");
    assert.equal(r.converged, c.converged, "converged");
    close([r.lowerBound], [c.lowerBound], 1e-6, "lower bound");
    close(r.weights, c.weights, 1e-6, "weights");
    close(r.means, c.means, 1e-6, "means");
    close(r.covariances, c.covariances, 1e-6, "covariances");
    assert.deepEqual(Array.from(r.labels), c.labels, "labels");
  });
}

test("GMM with k-means starts: seeded, restarts never lower the bound, posteriors sum to 1", async () => {
  const c = fixture.cases[2]!;
  const X = { data: Float64Array.from(c.data), rows: c.rows, cols: c.cols };
  const a = await gaussianMixture(X, { k: c.k, nInit: 1, seed: 7, threads: 1 });
  const b = await gaussianMixture(X, { k: c.k, nInit: 1, seed: 7, threads: 1 });
  assert.deepEqual(a.means, b.means);
  assert.deepEqual(a.labels, b.labels);
  const many = await gaussianMixture(X, { k: c.k, nInit: 4, seed: 7, threads: 1 });
  assert.ok(many.lowerBound >= a.lowerBound - 1e-12, `${many.lowerBound} < ${a.lowerBound}`);
  for (let i = 0; i < X.rows; i++) {
    let s = 0;
    for (let j = 0; j < c.k; j++) s += many.resp[i * c.k + j]!;
    assert.ok(Math.abs(s - 1) < 1e-9);
  }
  // On well-separated blobs the fitted mixture reaches at least scikit-learn's bound from its start.
  assert.ok(many.lowerBound >= c.lowerBound - 1e-3, `${many.lowerBound} vs ${c.lowerBound}`);
});

test("GMM refuses bad k and non-finite values", async () => {
  const X = { data: Float64Array.from([0, 1, 2, NaN]), rows: 2, cols: 2 };
  await assert.rejects(gaussianMixture(X, { k: 3 }), /k must be an integer in 1\.\.2/);
  await assert.rejects(gaussianMixture(X, { k: 1 }), /row 1, column 1 is not finite/);
});
