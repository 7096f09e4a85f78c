// One k-means run, as scikit-learn 1.2 does it with algorithm="lloyd": greedy k-means++ seeding,
// Lloyd iterations that stop on unchanged labels or when the squared centre shift summed over
// centres falls to tol × the mean per-feature variance, a final E-step so the labels match the
// centres, and empty clusters moved to the points farthest from their centres. A Lane holds the
// compiled kernels for one data set and runs restarts one after another (lanes.ts runs several
// lanes in parallel).

import { Rng, type RngState } from "../engine/random.js";
import { AssignKernel, SeedingKernel, type PreparedData } from "./kernels.js";

/** First index i with cum[i] ≥ v (numpy.searchsorted, side="left"), clipped to the last index. */
function searchSorted(cum: Float64Array, v: number): number {
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cum[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** scikit-learn's number of local k-means++ trials per centre. */
export function seedingTrials(k: number): number {
  return 2 + Math.floor(Math.log(k));
}

/**
 * Greedy k-means++ (as scikit-learn does it): the first centre uniformly, then for each next
 * centre 2 + ⌊ln k⌋ candidates sampled with probability ∝ D(x)², keeping the candidate that
 * minimises the potential Σ D(x)². Returns the chosen row indices.
 */
export async function seedIndices(seeding: SeedingKernel, n: number, k: number, rng: Rng): Promise<Int32Array> {
  const chosen = new Int32Array(k);
  chosen[0] = rng.int(n);
  await seeding.init(chosen[0]!);
  const trials = seeding.trials;
  const cum = new Float64Array(n);
  const ids = new Int32Array(trials);
  const pots = new Float64Array(trials);
  for (let c = 1; c < k; c++) {
    const total = seeding.cumulative(cum);
    for (let t = 0; t < trials; t++) ids[t] = searchSorted(cum, rng.uniform() * total);
    await seeding.evaluate(ids, pots);
    let best = 0;
    for (let t = 1; t < trials; t++) if (pots[t]! < pots[best]!) best = t;
    await seeding.accept(best);
    chosen[c] = ids[best]!;
  }
  return chosen;
}

/** Centred starting centres (float64) from row indices of the prepared data. */
function rowsAsCentres(data: PreparedData, rows: Int32Array): Float64Array {
  const { d, w, xa } = data;
  const centres = new Float64Array(rows.length * d);
  rows.forEach((r, c) => centres.set(xa.subarray(r * w, r * w + d), c * d));
  return centres;
}

/**
 * Clusters left empty by an E-step take the points farthest from their assigned centres, as
 * scikit-learn relocates them: each such point leaves its cluster's sums and alone forms the
 * empty cluster's (its label is not changed). Returns whether anything moved.
 */
function relocateEmpty(
  data: PreparedData,
  c32: Float32Array,
  labels: Int32Array,
  sums: Float64Array,
  counts: Float64Array,
): boolean {
  const { n, d, w, xa } = data;
  const empty: number[] = [];
  counts.forEach((c, j) => c === 0 && empty.push(j));
  if (empty.length === 0) return false;
  const dist = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const l = labels[i]!;
    let s = 0;
    for (let q = 0; q < d; q++) s += (xa[i * w + q]! - c32[l * d + q]!) ** 2;
    dist[i] = s;
  }
  const far = Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => dist[b]! - dist[a]! || a - b)
    .slice(0, empty.length);
  empty.forEach((j, e) => {
    const i = far[e]!;
    const from = labels[i]!;
    counts[from]!--;
    counts[j] = 1;
    for (let q = 0; q < d; q++) {
      sums[from * d + q]! -= xa[i * w + q]!;
      sums[j * d + q] = xa[i * w + q]!;
    }
  });
  return true;
}

/** Sums and counts from scratch, once a relocation has decoupled them from the labels. */
function resum(data: PreparedData, labels: Int32Array, sums: Float64Array, counts: Float64Array): void {
  const { n, d, w, xa } = data;
  sums.fill(0);
  counts.fill(0);
  for (let i = 0; i < n; i++) {
    const l = labels[i]!;
    counts[l]!++;
    for (let q = 0; q < d; q++) sums[l * d + q]! += xa[i * w + q]!;
  }
}

interface RunResult {
  centres: Float64Array;
  labels: Int32Array;
  nIter: number;
}

/** Lloyd iterations from centred initial centres, with scikit-learn's stopping rules. */
async function lloyd(
  kernel: AssignKernel,
  data: PreparedData,
  init: Float64Array,
  maxIter: number,
  tolAbs: number,
): Promise<RunResult> {
  const { n, d } = data;
  const k = kernel.k;
  let centres = init;
  const labels = new Int32Array(n).fill(-1);
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  let strict = false;
  let nIter = maxIter;
  for (let it = 0; it < maxIter; it++) {
    const c32 = kernel.setCentres(centres);
    const changed = await kernel.step(labels, sums, counts);
    const relocated = relocateEmpty(data, c32, labels, sums, counts);
    const next = new Float64Array(k * d);
    let shift = 0;
    for (let j = 0; j < k; j++) {
      // A cluster emptied by relocation keeps its (zero) sum as its centre, as scikit-learn's does.
      const scale = counts[j]! > 0 ? 1 / counts[j]! : 1;
      for (let q = 0; q < d; q++) {
        const v = sums[j * d + q]! * scale;
        next[j * d + q] = v;
        shift += (v - centres[j * d + q]!) ** 2;
      }
    }
    centres = next;
    // Relocation decouples the sums from the labels; rebuild them for the next incremental step.
    if (relocated) resum(data, labels, sums, counts);
    if (changed === 0 || shift <= tolAbs) {
      strict = changed === 0;
      nIter = it + 1;
      break;
    }
  }
  // Unless the labels stopped changing, they belong to the previous centres: assign once more.
  if (!strict) {
    kernel.setCentres(centres);
    await kernel.step(labels, null, null);
  }
  return { centres, labels, nIter };
}

/** Sum of squared distances (float64) of the centred rows to their float32 centres. */
function inertiaOf(data: PreparedData, c32: Float32Array, labels: Int32Array): number {
  const { n, d, w, xa } = data;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const l = labels[i]!;
    let s = 0;
    for (let q = 0; q < d; q++) s += (xa[i * w + q]! - c32[l * d + q]!) ** 2;
    total += s;
  }
  return total;
}

export interface LaneConfig {
  k: number;
  maxIter: number;
  /** Absolute tolerance: tol × the data's mean per-feature variance. */
  tolAbs: number;
  /** onnxruntime intra-op threads of this lane. */
  threads: number;
  /** Whether restarts seed themselves with k-means++ (otherwise they are given centres). */
  seeding: boolean;
}

/** How a restart starts: a k-means++ seeding from this generator state, or given centred centres. */
export type RestartStart = { rng: RngState } | { centres: Float64Array };

export interface RestartResult {
  restart: number;
  /** Centred, float64, k × d. */
  centres: Float64Array;
  labels: Int32Array;
  inertia: number;
  nIter: number;
}

/** The compiled kernels for one data set, running restarts one after another. */
export class Lane {
  private constructor(
    private readonly data: PreparedData,
    private readonly config: LaneConfig,
    private readonly assign: AssignKernel,
    private readonly seeding: SeedingKernel | null,
  ) {}

  static async create(data: PreparedData, config: LaneConfig): Promise<Lane> {
    const assign = await AssignKernel.create(data, config.k, config.threads);
    const seeding = config.seeding ? await SeedingKernel.create(data, seedingTrials(config.k), config.threads) : null;
    return new Lane(data, config, assign, seeding);
  }

  async run(restart: number, start: RestartStart): Promise<RestartResult> {
    let init: Float64Array;
    if ("centres" in start) {
      init = start.centres;
    } else {
      if (!this.seeding) throw new Error("this lane was created without k-means++ seeding");
      const rng = new Rng(0);
      rng.setState({ s: start.rng, spare: null });
      init = rowsAsCentres(this.data, await seedIndices(this.seeding, this.data.n, this.config.k, rng));
    }
    const run = await lloyd(this.assign, this.data, init, this.config.maxIter, this.config.tolAbs);
    return { restart, ...run, inertia: inertiaOf(this.data, this.assign.setCentres(run.centres), run.labels) };
  }

  async release(): Promise<void> {
    await this.assign.release();
    await this.seeding?.release();
  }
}
