// Gaussian mixture (full covariances, EM) against scikit-learn 1.2's GaussianMixture
// (test/fixtures/gen_sklearn_gmm.py): from the same start, the same iterations, convergence flag,
// lower bound, weights, means, covariances and labels. Plus seeding and input checks.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { gaussianMixture } from "../src/cluster/gmm.js";
import { EmPasses } from "../src/cluster/gmm-steps.js";

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

test("GMM: the same fit on 1 and 2 threads, bit for bit (the EM passes' chunks do not depend on threads)", async () => {
  const c = fixture.cases[2]!;
  const X = { data: Float64Array.from(c.data), rows: c.rows, cols: c.cols };
  const one = await gaussianMixture(X, { k: c.k, nInit: 2, seed: 3, threads: 1 });
  const two = await gaussianMixture(X, { k: c.k, nInit: 2, seed: 3, threads: 2 });
  assert.equal(one.lowerBound, two.lowerBound);
  assert.deepEqual(one.covariances, two.covariances);
  assert.deepEqual(one.resp, two.resp);
});

test("GMM's EM pass: chunks of rows add up to the one-chunk pass", async () => {
  const c = fixture.cases[2]!;
  const { rows: n, cols: d, k } = c;
  const x = Float64Array.from(c.data);
  const whole = await EmPasses.create(x, n, d, k, 1);
  const chunked = await EmPasses.create(x, n, d, k, 1, 7 * k * d); // 7 rows a chunk
  // Arbitrary but valid parameters: M_j = diag(1 + j/10), means at rows j, weights 1/k.
  const w = new Float64Array((d + 1) * k * d);
  const bias = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const s = (1 + j / 10) * Math.SQRT1_2;
    for (let a = 0; a < d; a++) {
      w[a * k * d + j * d + a] = s;
      w[d * k * d + j * d + a] = -s * (x[j * d + a]! - whole.mean[a]!);
    }
    bias[j] = Math.log(1 / k) + d * Math.log(1 + j / 10) - (d / 2) * Math.log(2 * Math.PI);
  }
  const a = await whole.eStep({ w, bias });
  const b = await chunked.eStep({ w, bias });
  close([b.bound], [a.bound], 1e-12, "bound");
  close(chunked.resp, Array.from(whole.resp), 1e-12, "responsibilities");
  for (const key of ["s0", "s1", "s2"] as const) close(b.sums[key], Array.from(a.sums[key]), 1e-12, key);
  await Promise.all([whole.release(), chunked.release()]);
});

test("GMM refuses bad k and non-finite values", async () => {
  const X = { data: Float64Array.from([0, 1, 2, NaN]), rows: 2, cols: 2 };
  await assert.rejects(gaussianMixture(X, { k: 3 }), /k must be an integer in 1\.\.2/);
  await assert.rejects(gaussianMixture(X, { k: 1 }), /row 1, column 1 is not finite/);
});
