// The k-means hot loops. Distances are GEMMs in onnxruntime (MLAS, on the lane's threads); the
// M-step's sums stay in JS, in float64.
//
// Rows are stored augmented, x̃ = [x, 1, ‖x‖²], so that one bias-free GEMM gives
//  - for the E-step, with c̃ = [−2c, ‖c‖², 0]: x̃·c̃ = ‖c‖² − 2x·c, the squared distance up to
//    ‖x‖², which is the same for every centre and so irrelevant to the argmin;
//  - for k-means++, with c̃ = [−2c, ‖c‖², 1]: the full squared distance.
// (A bias-free GEMM measured 20–25 % faster than Gemm with a broadcast bias.)
// Rows go through in chunks so the rows × k (E-step) and rows × T (k-means++) distance matrices
// stay bounded. The graphs' bytes are constants (kernel-models.ts; kernel-graphs.ts builds them).

import { CompiledGraph } from "../engine/session.js";
import { Tensor } from "../engine/tensor.js";
import type { Matrix } from "../engine/matrix.js";
import { kernelModel } from "./kernel-models.js";

const MAX_CHUNK_VALUES = 1 << 22;

/** The data as the kernels read it; built once per fit by {@link prepareData}. */
export interface PreparedData {
  readonly n: number;
  readonly d: number;
  /** Row stride of `xa`: d + 2. */
  readonly w: number;
  /** n × w: [x − mean, 1, ‖x − mean‖²] per row (centred as scikit-learn does, for accurate float32 distances). */
  readonly xa: Float32Array;
  /** Column means (float64). */
  readonly mean: Float64Array;
  /** Mean of the per-feature (population) variances: the scale of k-means' tolerance. */
  readonly meanVariance: number;
}

export function prepareData(X: Matrix): PreparedData {
  const { rows: n, cols: d, data } = X;
  const w = d + 2;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let q = 0; q < d; q++) mean[q]! += data[i * d + q]!;
  for (let q = 0; q < d; q++) mean[q]! /= n;
  const xa = new Float32Array(n * w);
  const sq = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let q = 0; q < d; q++) {
      const v = (xa[i * w + q] = Math.fround(data[i * d + q]! - mean[q]!));
      s += v * v;
      sq[q]! += v * v;
    }
    xa[i * w + d] = 1;
    xa[i * w + d + 1] = s;
  }
  let meanVariance = 0;
  for (let q = 0; q < d; q++) meanVariance += sq[q]! / n;
  return { n, d, w, xa, mean, meanVariance: meanVariance / d };
}

/** Writes c̃ = [−2c, ‖c‖², last] (float32; ‖c‖² of the float32-rounded c) into `dst` at row `j`. */
function augmentCentre(
  src: ArrayLike<number>,
  from: number,
  d: number,
  last: number,
  dst: Float32Array,
  j: number,
): void {
  const w = d + 2;
  let s = 0;
  for (let q = 0; q < d; q++) {
    const v = Math.fround(src[from + q]!);
    dst[j * w + q] = -2 * v;
    s += v * v;
  }
  dst[j * w + d] = s;
  dst[j * w + d + 1] = last;
}

export function chunks(n: number, width: number, maxValues = MAX_CHUNK_VALUES): { from: number; rows: number }[] {
  const step = Math.max(1, Math.floor(maxValues / width));
  const out = [];
  for (let from = 0; from < n; from += step) out.push({ from, rows: Math.min(step, n - from) });
  return out;
}

function rowsTensor(data: PreparedData, from: number, rows: number): Tensor {
  return Tensor.float32(data.xa.subarray(from * data.w, (from + rows) * data.w), [rows, data.w]);
}

/**
 * Applies one chunk's changed labels (rows `moved` of the chunk, now in clusters `to`) to
 * `labels`, moving those rows between the float64 sums and counts when given.
 */
function applyMoves(
  moved: Int32Array,
  to: Int32Array,
  from: number,
  labels: Int32Array,
  sums: Float64Array | null,
  counts: Float64Array | null,
  data: PreparedData,
): void {
  const { d, w, xa } = data;
  for (let t = 0; t < moved.length; t++) {
    const i = from + moved[t]!;
    const l = to[t]!;
    const p = labels[i]!;
    labels[i] = l;
    if (!sums || !counts) continue;
    const o = i * w;
    if (p >= 0) {
      counts[p]!--;
      for (let q = 0, s = p * d; q < d; q++, s++) sums[s]! -= xa[o + q]!;
    }
    counts[l]!++;
    for (let q = 0, s = l * d; q < d; q++, s++) sums[s]! += xa[o + q]!;
  }
}

/**
 * The Lloyd step: nearest centre of every row (float32 GEMM + ArgMin in onnxruntime), and the
 * M-step's float64 per-centre sums and counts kept up to date incrementally. The graph compares
 * the new labels with the previous ones and returns only the rows that changed: late iterations
 * move a few rows, and neither the copy of every label nor a scan of them in JS is paid.
 */
export class AssignKernel {
  private readonly c: Tensor<Float32Array>;
  private readonly parts: { from: number; rows: number; x: Tensor }[];

  private constructor(
    private readonly graph: CompiledGraph,
    private readonly data: PreparedData,
    readonly k: number,
  ) {
    this.c = Tensor.float32(new Float32Array(k * data.w), [k, data.w]);
    this.parts = chunks(data.n, k).map(({ from, rows }) => ({ from, rows, x: rowsTensor(data, from, rows) }));
  }

  static async create(data: PreparedData, k: number, threads: number): Promise<AssignKernel> {
    return new AssignKernel(await CompiledGraph.create(kernelModel("assign"), { threads }), data, k);
  }

  /** Sets the centres (k × d, centred, float64); returns them as float32, the values distances use. */
  setCentres(centres: Float64Array): Float32Array {
    const { d } = this.data;
    const out = new Float32Array(this.k * d);
    for (let j = 0; j < this.k; j++) {
      augmentCentre(centres, j * d, d, 0, this.c.data, j);
      out.set(centres.subarray(j * d, j * d + d), j * d);
    }
    return out;
  }

  /**
   * Assigns every row to its nearest centre. `labels` holds the previous labels on entry (−1 for
   * none) and the new ones on return. With `sums` (k × d) and `counts` (k), every row whose label
   * changed moves between them in float64: late iterations move few rows, so this costs far less
   * than re-summing. Returns the number of changed labels.
   */
  async step(labels: Int32Array, sums: Float64Array | null, counts: Float64Array | null): Promise<number> {
    let changed = 0;
    for (const { from, rows, x } of this.parts) {
      const previous = new Tensor(labels.subarray(from, from + rows), [rows]);
      const r = await this.graph.run({ x, c: this.c, previous }, {}, ["moved", "to"]);
      const moved = r.moved as Int32Array;
      applyMoves(moved, r.to as Int32Array, from, labels, sums, counts, this.data);
      changed += moved.length;
    }
    return changed;
  }

  release(): Promise<void> {
    return this.graph.release();
  }
}

/**
 * The k-means++ distance step: for T candidate rows, each candidate's potential
 * Σ min(closest, ‖x − cand‖²) (float32 within a chunk, float64 across), and per chunk the
 * distances of the chunk's least-potential candidate, which is almost always the one greedy
 * k-means++ accepts: only that row of the T × n distances comes back (onnxruntime-node copies
 * every output it returns). A chunk whose pick differs from the accepted candidate (only possible
 * with several chunks) computes the accepted one's distances again on its own.
 */
export class SeedingKernel {
  private readonly cand: Tensor<Float32Array>;
  private readonly one: { cand: Tensor<Float32Array>; pot: Tensor<Float32Array>; pick: Tensor<Int32Array> };
  private readonly ids: Int32Array;
  private readonly parts: {
    from: number;
    rows: number;
    x: Tensor;
    closest: Tensor<Float32Array>;
    best: Tensor<Float32Array>;
    pot: Tensor<Float32Array>;
    pick: Tensor<Int32Array>;
  }[];

  private constructor(
    private readonly graph: CompiledGraph,
    private readonly data: PreparedData,
    readonly trials: number,
    chunkValues: number,
  ) {
    this.cand = Tensor.float32(new Float32Array(trials * data.w), [trials, data.w]);
    this.one = {
      cand: Tensor.float32(new Float32Array(data.w), [1, data.w]),
      pot: Tensor.zeros([1]),
      pick: new Tensor(new Int32Array(1), [1]),
    };
    this.ids = new Int32Array(trials);
    this.parts = chunks(data.n, trials, chunkValues).map(({ from, rows }) => ({
      from,
      rows,
      x: rowsTensor(data, from, rows),
      closest: Tensor.zeros([1, rows]),
      best: Tensor.zeros([1, rows]),
      pot: Tensor.zeros([trials]),
      pick: new Tensor(new Int32Array(1), [1]),
    }));
  }

  /** `chunkValues` bounds the rows × T distances of one run (tests make it small to get several chunks). */
  static async create(
    data: PreparedData,
    trials: number,
    threads: number,
    chunkValues = MAX_CHUNK_VALUES,
  ): Promise<SeedingKernel> {
    const graph = await CompiledGraph.create(kernelModel("seeding"), { threads });
    return new SeedingKernel(graph, data, trials, chunkValues);
  }

  /** The closest squared distance of every row to the accepted centres (float32, a copy). */
  closestDistances(): Float32Array {
    const out = new Float32Array(this.data.n);
    for (const p of this.parts) out.set(p.closest.data, p.from);
    return out;
  }

  /** Sets the closest distances to those from the single centre at row `index`. */
  async init(index: number): Promise<void> {
    for (const p of this.parts) {
      p.closest.data.fill(Infinity);
      await this.distancesTo(p, index);
      [p.closest, p.best] = [p.best, p.closest];
    }
  }

  /** Potentials of the candidate rows `ids` (length = trials), written to `pots`. */
  async evaluate(ids: Int32Array, pots: Float64Array): Promise<void> {
    const { d, w, xa } = this.data;
    this.ids.set(ids);
    for (let t = 0; t < this.trials; t++) augmentCentre(xa, ids[t]! * w, d, 1, this.cand.data, t);
    pots.fill(0);
    for (const p of this.parts) {
      await this.graph.run({ x: p.x, cand: this.cand, closest: p.closest }, { pot: p.pot, pick: p.pick, best: p.best });
      for (let t = 0; t < this.trials; t++) pots[t]! += p.pot.data[t]!;
    }
  }

  /** Makes candidate `t` of the last {@link evaluate} a centre: its distances become the closest ones. */
  async accept(t: number): Promise<void> {
    for (const p of this.parts) {
      if (p.pick.data[0] !== t) await this.distancesTo(p, this.ids[t]!);
      [p.closest, p.best] = [p.best, p.closest];
    }
  }

  /** min(closest, distance to row `index`) of the chunk's rows, into its `best`. */
  private async distancesTo(p: (typeof this.parts)[number], index: number): Promise<void> {
    const { d, w, xa } = this.data;
    augmentCentre(xa, index * w, d, 1, this.one.cand.data, 0);
    await this.graph.run(
      { x: p.x, cand: this.one.cand, closest: p.closest },
      { pot: this.one.pot, pick: this.one.pick, best: p.best },
    );
  }

  /** Fills `cumsum` (length n) with the running float64 sum of the closest distances; returns the total. */
  cumulative(cumsum: Float64Array): number {
    let s = 0;
    for (const p of this.parts) {
      const c = p.closest.data;
      for (let i = 0; i < p.rows; i++) cumsum[p.from + i] = s += c[i]!;
    }
    return s;
  }

  release(): Promise<void> {
    return this.graph.release();
  }
}
