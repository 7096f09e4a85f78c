// Internal clustering scores against scikit-learn 1.2 on a committed fixture
// (test/fixtures/gen_sklearn_internal_scores.py), the blocked silhouette against a direct
// per-pair float64 loop over several tiles, scikit-learn's invalid cases, and the seeded sample.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Rng, type Matrix } from "../src/engine/index.js";
import {
  calinskiHarabaszScore,
  daviesBouldinScore,
  internalScores,
  silhouetteSamples,
  silhouetteScore,
} from "../src/cluster/index.js";
import { silhouetteSamplesWith } from "../src/cluster/internal-scores.js";

interface Case {
  name: string;
  rows: number;
  cols: number;
  X: number[];
  labels: number[];
  silhouette: number;
  calinskiHarabasz: number;
  daviesBouldin: number;
  silhouetteSamples?: number[];
}
const fixture = JSON.parse(
  readFileSync(new URL("./fixtures/sklearn_internal_scores.json", import.meta.url), "utf8"),
) as { cases: Case[] };
const matrixOf = (c: Case): Matrix => ({ data: Float32Array.from(c.X), rows: c.rows, cols: c.cols });
const caseNamed = (name: string) => fixture.cases.find((c) => c.name === name)!;

/** |got − want| ≤ 1e-6, relative for values above 1 (Calinski–Harabasz runs into the thousands). */
const close = (got: number, want: number, what: string) =>
  assert.ok(Math.abs(got - want) <= 1e-6 * Math.max(1, Math.abs(want)), `${what}: ${got} vs scikit-learn ${want}`);

for (const c of fixture.cases) {
  test(`internal scores (${c.name}, ${c.rows} × ${c.cols}) match scikit-learn to 1e-6`, async () => {
    const X = matrixOf(c);
    if (c.silhouetteSamples) {
      const s = await silhouetteSamples(X, c.labels);
      assert.equal(s.length, c.rows);
      s.forEach((v, i) => close(v, c.silhouetteSamples![i]!, `silhouette of row ${i}`));
    }
    close(await silhouetteScore(X, c.labels), c.silhouette, "silhouette");
    close(calinskiHarabaszScore(X, c.labels), c.calinskiHarabasz, "Calinski-Harabasz");
    close(daviesBouldinScore(X, c.labels), c.daviesBouldin, "Davies-Bouldin");
    const all = await internalScores(X, c.labels);
    assert.ok(all);
    close(all.silhouette, c.silhouette, "internalScores silhouette");
    assert.equal(all.silhouetteRows, c.rows);
    close(all.calinskiHarabasz, c.calinskiHarabasz, "internalScores CH");
    close(all.daviesBouldin, c.daviesBouldin, "internalScores DB");
  });
}

test("a row alone in its cluster has silhouette 0", async () => {
  const c = caseNamed("singleton");
  const s = await silhouetteSamples(matrixOf(c), c.labels);
  assert.equal(s[7], 0);
});

/** Per-row silhouette straight from its definition, one pair at a time in float64. */
function directSilhouette(X: Matrix, labels: ArrayLike<number>): Float64Array {
  const { rows: n, cols: d } = X;
  const out = new Float64Array(n);
  const size = new Map<number, number>();
  for (let i = 0; i < n; i++) size.set(labels[i]!, (size.get(labels[i]!) ?? 0) + 1);
  for (let i = 0; i < n; i++) {
    const sums = new Map<number, number>();
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += (X.data[i * d + t]! - X.data[j * d + t]!) ** 2;
      sums.set(labels[j]!, (sums.get(labels[j]!) ?? 0) + Math.sqrt(s));
    }
    const own = labels[i]!;
    if (size.get(own)! === 1) continue;
    const a = sums.get(own)! / (size.get(own)! - 1);
    let b = Infinity;
    for (const [c, s] of sums) if (c !== own) b = Math.min(b, s / size.get(c)!);
    out[i] = (b - a) / Math.max(a, b);
  }
  return out;
}

function blobs(n: number, d: number, k: number, seed: number): { X: Matrix; labels: Int32Array } {
  const rng = new Rng(seed);
  const centers = Array.from({ length: k * d }, () => 8 * rng.normal());
  const data = new Float32Array(n * d);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.int(k);
    labels[i] = c * 3 + 1; // non-contiguous ids
    for (let t = 0; t < d; t++) data[i * d + t] = centers[c * d + t]! + 2 * rng.normal();
  }
  return { X: { data, rows: n, cols: d }, labels };
}

test("the tiled silhouette equals a direct per-pair float64 loop on 3,000 rows (several tiles, symmetric halves)", async () => {
  // Rows are sorted by cluster and tiled: 6 clusters of about 500 rows give tiles inside one
  // cluster and tiles across two; 40 clusters of about 75 give tiles across 6–7.
  for (const k of [6, 40]) {
    const { X, labels } = blobs(3000, 5, k, 7);
    const want = directSilhouette(X, labels);
    // The default tile (768: 4 × 4 tiles, the last of 696 rows), uneven ones (7 × 7, the last of
    // 300) and one tile holding every cluster.
    for (const tile of [{}, { tileRows: 450 }, { tileRows: 3000 }]) {
      const got = await silhouetteSamplesWith(X, labels, tile);
      let worst = 0;
      for (let i = 0; i < X.rows; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      assert.ok(worst <= 1e-9, `k ${k}, tile ${JSON.stringify(tile)}: worst difference ${worst}`);
    }
  }
});

test("scikit-learn's invalid cases throw RangeError with a clear message", async () => {
  const X: Matrix = { data: Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]), rows: 4, cols: 2 };
  const one = [5, 5, 5, 5];
  const each = [0, 1, 2, 3];
  for (const labels of [one, each]) {
    await assert.rejects(silhouetteScore(X, labels), /number of labels is \d; valid values are 2 to rows - 1 = 3/);
    await assert.rejects(silhouetteSamples(X, labels), RangeError);
    assert.throws(() => calinskiHarabaszScore(X, labels), /Calinski-Harabasz: number of labels is/);
    assert.throws(() => daviesBouldinScore(X, labels), /Davies-Bouldin: number of labels is/);
    assert.equal(await internalScores(X, labels), null);
  }
  await assert.rejects(silhouetteScore(X, [0, 1, 0]), /X has 4 rows but there are 3 labels/);
  assert.throws(() => calinskiHarabaszScore(X, [0, 1]), /X has 4 rows but there are 2 labels/);
  assert.throws(() => daviesBouldinScore(X, [0, 1, 0, 1, 0]), RangeError);
  await assert.rejects(internalScores(X, [0, 1]), RangeError);
  await assert.rejects(silhouetteScore(X, [0, 1, NaN, 1]), /label of row 3 is NaN/);
  await assert.rejects(silhouetteScore(X, [0, 1, 0, 1], { sampleSize: -1 }), /sampleSize/);
});

test("internalScores leaves outliers (-1) out, and is null when fewer than 2 clusters remain", async () => {
  const c = caseNamed("blobs-3");
  const X = matrixOf(c);
  // Rows labelled -1 are appended: the scores are those of the original rows.
  const extra = 5;
  const data = new Float32Array((c.rows + extra) * c.cols);
  data.set(X.data);
  for (let i = c.rows * c.cols; i < data.length; i++) data[i] = 100 + i;
  const labels = [...c.labels, ...Array<number>(extra).fill(-1)];
  const s = await internalScores({ data, rows: c.rows + extra, cols: c.cols }, labels);
  assert.ok(s);
  close(s.silhouette, c.silhouette, "silhouette without outliers");
  close(s.calinskiHarabasz, c.calinskiHarabasz, "CH without outliers");
  close(s.daviesBouldin, c.daviesBouldin, "DB without outliers");
  assert.equal(s.silhouetteRows, c.rows);
  const mostlyOutliers = labels.map((l, i) => (i < 3 ? 0 : -1));
  assert.equal(await internalScores({ data, rows: c.rows + extra, cols: c.cols }, mostlyOutliers), null);
});

test("the sampled silhouette is seeded: same seed, same value; another seed, another subset; close to exact", async () => {
  const c = caseNamed("sampled");
  const X = matrixOf(c);
  const a = await silhouetteScore(X, c.labels, { sampleSize: 500, seed: 1 });
  const b = await silhouetteScore(X, c.labels, { sampleSize: 500, seed: 1 });
  const other = await silhouetteScore(X, c.labels, { sampleSize: 500, seed: 2 });
  assert.equal(a, b);
  assert.notEqual(a, other);
  // The mean of 500 per-row silhouettes (their spread is 0.1 here) is within a few standard errors.
  for (const v of [a, other]) assert.ok(Math.abs(v - c.silhouette) < 0.03, `sampled ${v} vs exact ${c.silhouette}`);
  // A sample as large as the data (or 0, or null) is the exact score.
  close(await silhouetteScore(X, c.labels, { sampleSize: c.rows }), c.silhouette, "sampleSize = rows");
  close(await silhouetteScore(X, c.labels, { sampleSize: 0 }), c.silhouette, "sampleSize = 0");
  close(await silhouetteScore(X, c.labels, { sampleSize: null }), c.silhouette, "sampleSize = null");
  const s = await internalScores(X, c.labels, { sampleSize: 500, seed: 1 });
  assert.ok(s);
  assert.equal(s.silhouette, a);
  assert.equal(s.silhouetteRows, 500);
  close(s.calinskiHarabasz, c.calinskiHarabasz, "CH uses every row");
});
