// Clustering metrics against scikit-learn 1.2 on a committed fixture of random and edge-case
// label pairs (test/fixtures/gen_sklearn_metrics.py), and the Hungarian algorithm against
// brute force.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Rng } from "../src/engine/index.js";
import {
  ari,
  clusteringAccuracy,
  contingencyMatrix,
  evaluateClustering,
  linearSumAssignment,
  nmi,
  type Labels,
} from "../src/cluster/index.js";

interface Case {
  name: string;
  yTrue: (number | string)[];
  yPred: (number | string)[];
  nmi: number;
  ari: number;
  acc: number | null;
}
const fixture = JSON.parse(readFileSync(new URL("./fixtures/sklearn_metrics.json", import.meta.url), "utf8")) as {
  cases: Case[];
};

const close = (got: number, want: number, what: string) =>
  assert.ok(Math.abs(got - want) <= 1e-9, `${what}: ${got} vs scikit-learn ${want}`);

fixture.cases.forEach((c, i) => {
  test(`metrics #${i} (${c.name}, n=${c.yTrue.length}) match scikit-learn to 1e-9`, () => {
    const yTrue = c.yTrue as Labels;
    const yPred = c.yPred as Labels;
    close(nmi(yTrue, yPred), c.nmi, "NMI");
    close(ari(yTrue, yPred), c.ari, "ARI");
    if (c.acc === null) {
      assert.throws(() => clusteringAccuracy(yTrue, yPred), /no labels/);
      return;
    }
    const { accuracy, mapping } = clusteringAccuracy(yTrue, yPred);
    close(accuracy, c.acc, "ACC");
    // The mapping is one-to-one and realises the accuracy.
    const kt = new Set(c.yTrue).size;
    const kp = new Set(c.yPred).size;
    assert.equal(mapping.size, Math.min(kt, kp));
    assert.equal(new Set(mapping.values()).size, mapping.size);
    const hits = c.yPred.filter((p, s) => mapping.get(p) === c.yTrue[s]).length;
    assert.equal(hits / c.yTrue.length, accuracy);
  });
});

test("typed-array labels give the same scores as plain arrays", () => {
  const c = fixture.cases.find((x) => x.name.startsWith("n=3000"))!;
  const yTrue = Int32Array.from(c.yTrue as number[]);
  const yPred = Float64Array.from(c.yPred as number[]);
  assert.deepEqual(evaluateClustering(yTrue, yPred), {
    acc: c.acc,
    nmi: nmi(c.yTrue as number[], c.yPred as number[]),
    ari: ari(c.yTrue as number[], c.yPred as number[]),
  });
});

test("contingencyMatrix: sorted labels, counts by (true, predicted)", () => {
  const m = contingencyMatrix(["b", "a", "b", "c", "a"], [2, -1, 2, 2, 7]);
  assert.deepEqual(m.trueLabels, ["a", "b", "c"]);
  assert.deepEqual(m.predLabels, [-1, 2, 7]);
  assert.deepEqual([...m.counts], [1, 0, 1, 0, 2, 0, 0, 1, 0]);
});

test("metrics reject mismatched lengths and non-labels", () => {
  assert.throws(() => nmi([1, 2], [1]), /yTrue has 2 labels, yPred has 1/);
  assert.throws(() => ari([NaN, 1], [1, 1]), /yTrue\[0\] is NaN/);
  assert.throws(() => clusteringAccuracy([1, 2], [1, null as unknown as number]), /yPred\[1\] is null/);
});

/** Best assignment by trying every injection of the smaller side into the larger. */
function bruteForce(cost: Float64Array, rows: number, cols: number, maximize: boolean): number {
  const sign = maximize ? -1 : 1;
  const small = Math.min(rows, cols);
  const big = Math.max(rows, cols);
  const at = (s: number, b: number) => (rows <= cols ? cost[s * cols + b]! : cost[b * cols + s]!);
  let best = Infinity;
  const used = new Array<boolean>(big).fill(false);
  const walk = (s: number, acc: number) => {
    if (s === small) {
      best = Math.min(best, sign * acc);
      return;
    }
    for (let b = 0; b < big; b++) {
      if (used[b]) continue;
      used[b] = true;
      walk(s + 1, acc + at(s, b));
      used[b] = false;
    }
  };
  walk(0, 0);
  return sign * best;
}

test("linearSumAssignment is optimal on random rectangular matrices (brute force)", () => {
  const rng = new Rng(7);
  for (let trial = 0; trial < 300; trial++) {
    const rows = 1 + rng.int(6);
    const cols = 1 + rng.int(6);
    const integer = trial % 2 === 0;
    const cost = Float64Array.from({ length: rows * cols }, () => (integer ? rng.int(5) : rng.normal() * 10));
    const maximize = trial % 3 === 0;
    const { rowInd, colInd } = linearSumAssignment(cost, rows, cols, maximize);
    assert.equal(rowInd.length, Math.min(rows, cols));
    assert.equal(new Set(rowInd).size, rowInd.length);
    assert.equal(new Set(colInd).size, colInd.length);
    for (let z = 1; z < rowInd.length; z++) assert.ok(rowInd[z - 1]! < rowInd[z]!, "rows ascending");
    let total = 0;
    rowInd.forEach((r, z) => (total += cost[r * cols + colInd[z]!]!));
    const want = bruteForce(cost, rows, cols, maximize);
    assert.ok(
      Math.abs(total - want) <= 1e-9 * Math.max(1, Math.abs(want)),
      `${rows}×${cols} maximize=${maximize}: ${total} vs optimum ${want}`,
    );
  }
});

test("linearSumAssignment rejects bad shapes and non-finite costs", () => {
  assert.throws(() => linearSumAssignment([1, 2, 3], 2, 2), /2×2 = 4 values, got 3/);
  assert.throws(() => linearSumAssignment([1, Infinity], 1, 2), /cost\[1\] is Infinity/);
  assert.deepEqual(linearSumAssignment([], 0, 3), { rowInd: new Int32Array(0), colInd: new Int32Array(0) });
});
