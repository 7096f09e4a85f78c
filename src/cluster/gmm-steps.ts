// The Gaussian mixture's EM passes over the rows, as onnxruntime graphs in float64. They are the
// whole O(n·k·d²) cost of a fit; gmm.ts keeps the k small d × d factorisations.
//
// The rows are centred on their mean first (x̃ = x − x̄), which keeps the sums below accurate. One
// run per chunk of rows does an E-step and the following M-step's sums, each one GEMM:
//  - E: log N(x | μ_j, Σ_j) + log w_j = bias_j − ½‖M_j (x̃ − μ̃_j)‖², with M_j = L_j⁻¹ (Σ_j = L_j L_jᵀ),
//    for all components at once as [x̃, 1] · [M_1ᵀ … M_kᵀ; −M_1μ̃_1 … −M_kμ̃_k] (scikit-learn's
//    formulation, the means folded in); then the row's log-sum-exp and the responsibilities r.
//  - M: rᵀ · [x̃, 1, x̃_a x̃_b (a ≥ b)] gives every component's Σ r x̃, Σ r and Σ r x̃ x̃ᵀ. Its
//    covariance Σ r x̃x̃ᵀ/N − μ̃μ̃ᵀ cancels where a component is tight and far from x̄; in float64 the
//    error stays near 1e-14·max‖x̃‖², far below reg_covar on a UMAP layout's scale.
// The chunks are sized from n, k and d only, so a fit adds its sums in the same order on any
// machine and thread count.

import { CompiledGraph, Graph, Tensor, type TensorData } from "../engine/index.js";

/** Values of a chunk's rows × (k·d) intermediate. */
const CHUNK_VALUES = 1 << 20;

/** A fit's parameters in the form the passes read them (means in centred coordinates). */
export interface StepParams {
  /** (d + 1) × (k·d): column block j is [M_jᵀ; −(M_j μ̃_j)ᵀ], scaled by 1/√2 so that the squared norm comes out halved. */
  w: Float64Array;
  /** k: log w_j + log det M_j − (d/2)·log 2π. */
  bias: Float64Array;
}

/** The M-step's sums over all rows, in centred coordinates. */
export interface StepSums {
  /** k: Σ r. */
  s0: Float64Array;
  /** k × d: Σ r x̃. */
  s1: Float64Array;
  /** k × d × d, lower triangle filled: Σ r x̃ x̃ᵀ. */
  s2: Float64Array;
}

interface Chunk {
  rows: number;
  xa: Tensor;
  moments: Tensor;
  resp: Tensor<Float64Array>;
  lse: Tensor<Float64Array>;
}

/** Width of a row of the moments matrix [x̃, 1, x̃_a x̃_b for a ≥ b]. */
function momentWidth(d: number): number {
  return d + 1 + (d * (d + 1)) / 2;
}

/** E-step, then the M-step's sums of its responsibilities. */
function emGraph(k: number, d: number): Graph {
  const g = new Graph("gmm_em");
  const xa = g.input("xa", "float64", ["r", d + 1]);
  const moments = g.input("moments", "float64", ["r", momentWidth(d)]);
  const w = g.input("w", "float64", [d + 1, k * d]);
  const bias = g.input("bias", "float64", [k]);
  const y = g.matmul(xa, w, "y");
  const y3 = g.node("Reshape", [y, g.ints([0, k, d])], [{ dtype: "float64", shape: ["r", k, d] }])[0]!;
  const logp = g.sub(bias, g.reduceSumSquare(y3, [2], false), "logp"); // [r, k]
  const max = g.reduceMax(logp, [1], true, "max");
  const e = g.exp(g.sub(logp, max));
  const s = g.reduceSum(e, [1], true);
  g.output(g.add(max, g.log(s)), "lse"); // [r, 1]
  const resp = g.output(g.div(e, s), "resp");
  g.output(g.gemm(resp, moments, { transA: true }), "sums"); // [k, width]
  return g;
}

/** The M-step's sums of given responsibilities (the first M-step, from k-means' hard labels). */
function momentGraph(k: number, d: number): Graph {
  const g = new Graph("gmm_moments");
  const resp = g.input("resp", "float64", ["r", k]);
  const moments = g.input("moments", "float64", ["r", momentWidth(d)]);
  g.output(g.gemm(resp, moments, { transA: true }), "sums");
  return g;
}

export class EmPasses {
  private constructor(
    private readonly em: CompiledGraph,
    private readonly momentPass: CompiledGraph,
    private readonly chunks: Chunk[],
    readonly n: number,
    readonly k: number,
    readonly d: number,
    /** The column means x̄ the rows were centred on. */
    readonly mean: Float64Array,
    /** n × k responsibilities of the latest pass (the chunks' buffers are views of it). */
    readonly resp: Float64Array,
  ) {}

  /** Compiles the passes for the rows of x (n × d, float64); `chunkValues` bounds a chunk's rows × k × d. */
  static async create(
    x: Float64Array,
    n: number,
    d: number,
    k: number,
    threads: number,
    chunkValues = CHUNK_VALUES,
  ): Promise<EmPasses> {
    const [em, momentPass] = await Promise.all([
      CompiledGraph.create(emGraph(k, d), { threads }),
      CompiledGraph.create(momentGraph(k, d), { threads }),
    ]);
    const mean = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) mean[a]! += x[i * d + a]!;
    for (let a = 0; a < d; a++) mean[a]! /= n;
    const w = momentWidth(d);
    const xa = new Float64Array(n * (d + 1));
    const moments = new Float64Array(n * w);
    const v = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < d; a++) v[a] = x[i * d + a]! - mean[a]!;
      xa.set(v, i * (d + 1));
      xa[i * (d + 1) + d] = 1;
      const row = i * w;
      moments.set(v, row);
      moments[row + d] = 1;
      for (let a = 0, q = row + d + 1; a < d; a++) for (let b = 0; b <= a; b++) moments[q++] = v[a]! * v[b]!;
    }
    const step = Math.max(1, Math.floor(chunkValues / (k * d)));
    const resp = new Float64Array(n * k);
    const lse = new Float64Array(n);
    const chunks: Chunk[] = [];
    for (let from = 0; from < n; from += step) {
      const rows = Math.min(step, n - from);
      chunks.push({
        rows,
        xa: new Tensor(xa.subarray(from * (d + 1), (from + rows) * (d + 1)), [rows, d + 1]),
        moments: new Tensor(moments.subarray(from * w, (from + rows) * w), [rows, w]),
        resp: new Tensor(resp.subarray(from * k, (from + rows) * k), [rows, k]),
        lse: new Tensor(lse.subarray(from, from + rows), [rows, 1]),
      });
    }
    return new EmPasses(em, momentPass, chunks, n, k, d, mean, resp);
  }

  /** Unpacks the chunks' summed [k, width] GEMM outputs. */
  private unpack(total: Float64Array): StepSums {
    const { k, d } = this;
    const w = momentWidth(d);
    const s0 = new Float64Array(k);
    const s1 = new Float64Array(k * d);
    const s2 = new Float64Array(k * d * d);
    for (let j = 0; j < k; j++) {
      const row = j * w;
      for (let a = 0; a < d; a++) s1[j * d + a] = total[row + a]!;
      s0[j] = total[row + d]!;
      for (let a = 0, q = row + d + 1; a < d; a++) for (let b = 0; b <= a; b++) s2[j * d * d + a * d + b] = total[q++]!;
    }
    return { s0, s1, s2 };
  }

  private static accumulate(total: Float64Array, out: TensorData): void {
    const part = out as Float64Array;
    for (let i = 0; i < total.length; i++) total[i]! += part[i]!;
  }

  /** E-step under `p` (responsibilities into `this.resp`); returns the mean log-likelihood and the next M-step's sums. */
  async eStep(p: StepParams): Promise<{ bound: number; sums: StepSums }> {
    const { k, d } = this;
    const fixed = { w: new Tensor(p.w, [d + 1, k * d]), bias: new Tensor(p.bias, [k]) };
    const total = new Float64Array(k * momentWidth(d));
    let bound = 0;
    for (const c of this.chunks) {
      const out = await this.em.run({ ...fixed, xa: c.xa, moments: c.moments }, { resp: c.resp, lse: c.lse });
      for (let i = 0; i < c.rows; i++) bound += c.lse.data[i]!;
      EmPasses.accumulate(total, out.sums!);
    }
    return { bound: bound / this.n, sums: this.unpack(total) };
  }

  /** The M-step's sums of the responsibilities in `this.resp`. */
  async moments(): Promise<StepSums> {
    const total = new Float64Array(this.k * momentWidth(this.d));
    for (const c of this.chunks)
      EmPasses.accumulate(total, (await this.momentPass.run({ resp: c.resp, moments: c.moments })).sums!);
    return this.unpack(total);
  }

  async release(): Promise<void> {
    await Promise.all([this.em.release(), this.momentPass.release()]);
  }
}
