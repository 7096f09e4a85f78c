// DEC's clustering layer and target distribution (Xie et al. 2016, eqs. 1–3).
//   q_ij = (1 + ‖z_i − μ_j‖²/α)^(−(α+1)/2) / Σ_j' (…)      Student-t soft assignment
//   p_ij = (q_ij²/f_j) / Σ_j' (q_ij'²/f_j'),  f_j = Σ_i q_ij   sharpened target

import type { Graph, Value } from "../engine/index.js";
import { BuildContext, type Forward, type Layer, type Param } from "./module.js";
import { initializers } from "./init.js";

export const CENTERS = "assignment.cluster_centers";

export class StudentTAssignment implements Layer {
  readonly centers: Param;
  readonly params: readonly Param[];
  /** The exponent −(α+1)/2. */
  private readonly exponent: number;

  constructor(
    readonly k: number,
    readonly dim: number,
    readonly alpha = 1,
    group = "centers",
  ) {
    if (!(alpha > 0)) throw new RangeError(`alpha (Student-t degrees of freedom) must be > 0, got ${alpha}`);
    this.centers = { name: CENTERS, shape: [k, dim], init: initializers.glorot, group };
    this.params = [this.centers];
    this.exponent = -(alpha + 1) / 2;
  }

  forward(ctx: BuildContext, z: Value): Forward {
    const { g } = ctx;
    const mu = ctx.param(this.centers);
    // ‖z−μ‖² = ‖z‖² − 2 z·μᵀ + ‖μ‖², one GEMM; clamped at 0 against rounding.
    const zz = g.reduceSumSquare(z, [1], true);
    const mm = g.reduceSumSquare(mu, [1], false);
    const d = g.max(g.add(g.gemm(z, mu, { transB: true, alpha: -2 }, mm), zz), g.scalar(0), "sqdist");
    const base =
      this.alpha === 1 ? g.add(d, g.scalar(1)) : g.add(g.div(d, g.scalar(this.alpha)), g.scalar(1), "t_base");
    const num =
      this.exponent === -1 ? g.reciprocal(base, "t_kernel") : g.pow(base, g.scalar(this.exponent), "t_kernel");
    const s = g.reduceSum(num, [1], true);
    const q = g.div(num, s, "q");
    return {
      y: q,
      backward: (dq, needInputGrad) => {
        // through the row normalisation, the kernel, then the squared distance
        const dnum = g.div(g.sub(dq, g.reduceSum(g.mul(dq, q), [1], true)), s);
        const dd = g.mul(dnum, g.div(g.mul(num, g.scalar(this.exponent / this.alpha)), base), "d_sqdist");
        // d‖z−μ‖²/dμ_j = −2(z_i − μ_j): dμ = 2(μ ⊙ Σ_i dd_ij − ddᵀz)
        const colSum = g.reshape(g.matmul(g.onesRow(dd), dd), [this.k, 1]);
        ctx.grad(
          this.centers,
          g.mul(g.sub(g.mul(mu, colSum), g.gemm(dd, z, { transA: true })), g.scalar(2), `d_${CENTERS}`),
        );
        if (!needInputGrad) return null;
        return g.mul(g.sub(g.mul(z, g.reduceSum(dd, [1], true)), g.matmul(dd, mu)), g.scalar(2), "d_code");
      },
    };
  }
}

/** The target distribution P from Q (rows: points, columns: clusters), as graph ops. */
export function targetDistribution(g: Graph, q: Value): Value {
  const f = g.reduceSum(q, [0], true);
  const w = g.div(g.mul(q, q), f);
  return g.div(w, g.reduceSum(w, [1], true), "p");
}
