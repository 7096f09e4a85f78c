// k-means as scikit-learn 1.2 does it with algorithm="lloyd" (the run itself: lloyd.ts), the best
// of nInit k-means++ restarts by inertia, run in parallel lanes (lanes.ts). Distances are GEMMs
// in onnxruntime (kernels.ts); sums, centres and inertia are float64 on the JS side. Every
// random choice comes from the seeded Rng. This file: options, validation and the public API.

import { Rng } from "../engine/random.js";
import { DEFAULTS } from "../config.js";
import type { Matrix } from "../engine/matrix.js";
import type { Clusterer } from "./clusterer.js";
import { SeedingKernel, prepareData } from "./kernels.js";
import { seedIndices, seedingTrials, type RestartStart } from "./lloyd.js";
import { runRestarts } from "./lanes.js";

/** k-means' defaults, shared by the library, DEC's centre initialisation and the CLI's --help (defined in config.ts). */
export const KMEANS_DEFAULTS = DEFAULTS.kmeans;

export interface KMeansOptions {
  /** Number of clusters, 1 ≤ k ≤ rows. */
  k: number;
  /**
   * Restarts from independent k-means++ seedings; the lowest inertia wins. Default 20 (what DEC
   * uses; scikit-learn's own default is 10), or 1 when `init` is given.
   */
  nInit?: number;
  /** Lloyd iterations per restart (default 300). */
  maxIter?: number;
  /** Convergence tolerance relative to the data's mean per-feature variance (default 1e-4). */
  tol?: number;
  /** A seed, or the run's generator (each restart forks it). Default 0. */
  seed?: number | Rng;
  /**
   * CPU threads (default 0: one per core). Restarts run in parallel lanes (the main thread and
   * worker threads) that share them; a single run gives them all to onnxruntime.
   */
  threads?: number;
  /** Fixed starting centres (k × cols, row-major) instead of k-means++; a single run. */
  init?: Float32Array;
}

export interface KMeansResult {
  /** k × cols, row-major. */
  centers: Float32Array;
  /** Nearest-centre index of every row. */
  labels: Int32Array;
  /** Sum of squared distances of the rows to their centres (float64). */
  inertia: number;
  /** Lloyd iterations of the winning run. */
  nIter: number;
}

interface Resolved {
  k: number;
  nInit: number;
  maxIter: number;
  tol: number;
  rng: Rng;
  threads: number;
  init: Float32Array | undefined;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`k-means: ${name} must be a positive integer, got ${v}`);
  return v;
}

function resolve(X: Matrix, o: KMeansOptions): Resolved {
  const { rows, cols, data } = X;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1 || data.length !== rows * cols)
    throw new RangeError(
      `k-means: X must be a non-empty rows×cols matrix (got ${rows}×${cols} with ${data.length} values)`,
    );
  if (!Number.isInteger(o.k) || o.k < 1 || o.k > rows)
    throw new RangeError(`k-means: k must be an integer in [1, rows=${rows}], got ${o.k}`);
  for (let i = 0; i < data.length; i++)
    if (!Number.isFinite(data[i]!))
      throw new RangeError(
        `k-means: X has a non-finite value (${data[i]}) at row ${Math.floor(i / cols)}, column ${i % cols}`,
      );
  const tol = o.tol ?? KMEANS_DEFAULTS.tol;
  if (!(tol >= 0) || !Number.isFinite(tol))
    throw new RangeError(`k-means: tol must be a finite number ≥ 0, got ${tol}`);
  const threads = o.threads ?? DEFAULTS.threads;
  if (!Number.isInteger(threads) || threads < 0)
    throw new RangeError(`k-means: threads must be an integer ≥ 0 (0 = one per core), got ${threads}`);
  if (o.init !== undefined) {
    if (o.init.length !== o.k * cols)
      throw new RangeError(
        `k-means: init must hold k×cols = ${o.k}×${cols} = ${o.k * cols} values, got ${o.init.length}`,
      );
    if (!o.init.every(Number.isFinite)) throw new RangeError("k-means: init has a non-finite value");
    if (o.nInit !== undefined && o.nInit !== 1)
      throw new RangeError(
        `k-means: nInit=${o.nInit} with fixed init centres would repeat one run; omit init or nInit`,
      );
  }
  return {
    k: o.k,
    nInit: positiveInt("nInit", o.nInit ?? (o.init ? 1 : KMEANS_DEFAULTS.nInit)),
    maxIter: positiveInt("maxIter", o.maxIter ?? KMEANS_DEFAULTS.maxIter),
    tol,
    rng: o.seed instanceof Rng ? o.seed : new Rng(o.seed ?? DEFAULTS.seed),
    threads,
    init: o.init,
  };
}

/**
 * k-means++ seeding on its own (scikit-learn's `kmeans_plusplus`): k rows of X chosen by greedy
 * k-means++, as `centers` (k × cols) and their row `indices`.
 */
export async function kmeansPlusPlus(
  X: Matrix,
  k: number,
  options: Pick<KMeansOptions, "seed" | "threads"> = {},
): Promise<{ centers: Float32Array; indices: Int32Array }> {
  const o = resolve(X, { ...options, k });
  const data = prepareData(X);
  const seeding = await SeedingKernel.create(data, seedingTrials(k), o.threads);
  try {
    const indices = await seedIndices(seeding, data.n, k, o.rng);
    const centers = new Float32Array(k * X.cols);
    indices.forEach((r, c) => centers.set(X.data.subarray(r * X.cols, (r + 1) * X.cols), c * X.cols));
    return { centers, indices };
  } finally {
    await seeding.release();
  }
}

/** Fitted result plus the training mean (which predict uses to centre new rows). */
export interface KMeansFit extends KMeansResult {
  mean: Float64Array;
}

/** Runs k-means on the rows of X: `nInit` k-means++ restarts (or one run from `init`), best inertia. */
export async function kmeans(X: Matrix, options: KMeansOptions): Promise<KMeansResult> {
  const { mean: _mean, ...result } = await fitKMeans(X, options);
  return result;
}

export async function fitKMeans(X: Matrix, options: KMeansOptions): Promise<KMeansFit> {
  const o = resolve(X, options);
  const data = prepareData(X);
  const { d, mean } = data;
  let starts: RestartStart[];
  if (o.init) {
    const centres = new Float64Array(o.k * d);
    for (let i = 0; i < centres.length; i++) centres[i] = o.init[i]! - mean[i % d]!;
    starts = [{ centres }];
  } else {
    // Forked up front, in order: each restart's stream does not depend on which lane runs it.
    starts = Array.from({ length: o.nInit }, () => ({ rng: o.rng.fork().getState().s }));
  }
  const { best } = await runRestarts(
    data,
    { k: o.k, maxIter: o.maxIter, tolAbs: o.tol * data.meanVariance, seeding: !o.init },
    starts,
    o.threads,
  );
  const centers = new Float32Array(o.k * d);
  for (let i = 0; i < centers.length; i++) centers[i] = best.centres[i]! + mean[i % d]!;
  return { centers, labels: best.labels, inertia: best.inertia, nIter: best.nIter, mean };
}

/**
 * k-means in the scikit-learn estimator style: hyperparameters in the constructor, `fit` learns
 * `centers`, `labels`, `inertia` and `nIter`; `predict` assigns new rows to the nearest centre.
 *
 * ```ts
 * const km = await new KMeans({ k: 10, seed: 1 }).fit(X);
 * km.inertia; const labels = await km.predict(Y);
 * ```
 */
export class KMeans implements Clusterer {
  readonly options: Readonly<KMeansOptions>;
  private result: KMeansFit | null = null;

  constructor(options: KMeansOptions) {
    this.options = { ...options };
  }

  get k(): number {
    return this.options.k;
  }

  private get fitted(): KMeansFit {
    if (!this.result) throw new Error("KMeans is not fitted yet: call fit(X) first");
    return this.result;
  }
  /** k × cols centres, row-major. */
  get centers(): Float32Array {
    return this.fitted.centers;
  }
  /** Labels of the training rows. */
  get labels(): Int32Array {
    return this.fitted.labels;
  }
  get inertia(): number {
    return this.fitted.inertia;
  }
  get nIter(): number {
    return this.fitted.nIter;
  }

  async fit(X: Matrix): Promise<this> {
    this.result = await fitKMeans(X, this.options);
    return this;
  }

  async fitPredict(X: Matrix): Promise<Int32Array> {
    return (await this.fit(X)).labels;
  }

  /** Index of the nearest fitted centre for every row of X. */
  async predict(X: Matrix): Promise<Int32Array> {
    const { centers, mean } = this.fitted;
    if (X.cols !== mean.length)
      throw new RangeError(`KMeans.predict: X has ${X.cols} columns, the model was fitted on ${mean.length}`);
    if (X.data.length !== X.rows * X.cols)
      throw new RangeError(`KMeans.predict: X needs ${X.rows * X.cols} values, got ${X.data.length}`);
    if (X.rows === 0) return new Int32Array(0);
    // Imported here: the ONNX builder it needs is not loaded for fitting (kernel-graphs.ts).
    const { assignRows } = await import("./kernel-graphs.js");
    return assignRows(X, centers, this.k, mean, this.options.threads ?? DEFAULTS.threads);
  }
}
