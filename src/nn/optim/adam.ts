// Adam with PyTorch's exact semantics (torch.optim.Adam: coupled L2 weight decay, amsgrad off):
//   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,  p ← p − (lr/(1−β1ᵗ)) · m / (√v/√(1−β2ᵗ) + ε)
//
// The update is memory-bound (one pass over every parameter per element-wise op), so it is
// written with the fewest passes: the moments are stored divided by (1−β1) and (1−β2), and
// every constant folds into two per-step scalars. The same quantity up to float rounding:
//   m̃ ← β1·m̃ + g,  ṽ ← β2·ṽ + g²,  p ← p − c·m̃ / (√ṽ + ε̃)
//   c = lr·(1−β1)/(1−β1ᵗ) · √(1−β2ᵗ)/√(1−β2),   ε̃ = ε·√(1−β2ᵗ)/√(1−β2)
// (10 element-wise ops per tensor instead of PyTorch's 13 as written.)

import type { Graph, Value } from "../../engine/index.js";
import type { Param } from "../module.js";
import { BaseOptimizer, type BaseOptions, type OptimizerUpdate } from "./optimizer.js";

export interface AdamOptions extends BaseOptions {
  betas?: [number, number];
  eps?: number;
}

export class Adam extends BaseOptimizer {
  readonly kind = "adam";
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;

  constructor(options: AdamOptions) {
    super(options);
    [this.beta1, this.beta2] = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    if (!(this.beta1 >= 0 && this.beta1 < 1 && this.beta2 >= 0 && this.beta2 < 1))
      throw new RangeError(`Adam betas must be in [0, 1), got ${options.betas}`);
  }

  /** m̃ = exp_avg/(1−β1) and ṽ = exp_avg_sq/(1−β2). */
  slotNames(p: Param): string[] {
    return [`adam.m/${p.name}`, `adam.v/${p.name}`];
  }

  scalarInputs(groups: readonly string[]): string[] {
    return ["adam.eps", ...groups.map((gr) => `adam.step/${gr}`)];
  }

  scalarValues(t: number, groups: readonly string[]): Record<string, number> {
    const k = Math.sqrt(1 - this.beta2 ** t) / Math.sqrt(1 - this.beta2);
    const out: Record<string, number> = { "adam.eps": this.eps * k };
    const m = (1 - this.beta1) / (1 - this.beta1 ** t);
    for (const gr of groups) out[`adam.step/${gr}`] = this.lrAt(gr, t) * m * k;
    return out;
  }

  update(
    g: Graph,
    p: Param,
    param: Value,
    grad: Value,
    slots: readonly Value[],
    s: Readonly<Record<string, Value>>,
  ): OptimizerUpdate {
    const [m, v] = slots as [Value, Value];
    const gr = this.decayed(g, param, grad);
    const m2 = g.add(g.mul(m, g.scalar(this.beta1)), gr, "adam_m");
    const v2 = g.add(g.mul(v, g.scalar(this.beta2)), g.mul(gr, gr), "adam_v");
    const denom = g.add(g.sqrt(v2), s["adam.eps"]!, "adam_denom");
    const p2 = g.sub(param, g.mul(g.div(m2, denom), s[`adam.step/${p.group}`]!), "adam_p");
    return { param: p2, slots: [m2, v2] };
  }
}
