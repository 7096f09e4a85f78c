// Adam with PyTorch's exact semantics (torch.optim.Adam, amsgrad off):
//   m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,
//   p ← p − (lr/(1−β1ᵗ)) · m / (√v/√(1−β2ᵗ) + ε)
// The two bias corrections are per-step scalar inputs.

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
  }

  slotNames(p: Param): string[] {
    return [`adam.exp_avg/${p.name}`, `adam.exp_avg_sq/${p.name}`];
  }

  scalarInputs(groups: readonly string[]): string[] {
    return ["adam.bias_correction2_sqrt", ...groups.map((gr) => `adam.step_size/${gr}`)];
  }

  scalarValues(t: number, groups: readonly string[]): Record<string, number> {
    const out: Record<string, number> = { "adam.bias_correction2_sqrt": Math.sqrt(1 - this.beta2 ** t) };
    const bc1 = 1 - this.beta1 ** t;
    for (const gr of groups) out[`adam.step_size/${gr}`] = this.lr(gr) / bc1;
    return out;
  }

  update(g: Graph, p: Param, param: Value, grad: Value, slots: readonly Value[], s: Readonly<Record<string, Value>>): OptimizerUpdate {
    const [m, v] = slots as [Value, Value];
    const gr = this.decayed(g, param, grad);
    const m2 = g.add(g.mul(m, g.scalar(this.beta1)), g.mul(gr, g.scalar(1 - this.beta1)), "adam_m");
    const v2 = g.add(g.mul(v, g.scalar(this.beta2)), g.mul(g.mul(gr, gr), g.scalar(1 - this.beta2)), "adam_v");
    const denom = g.add(g.div(g.sqrt(v2), s["adam.bias_correction2_sqrt"]!), g.scalar(this.eps), "adam_denom");
    const p2 = g.sub(param, g.mul(g.div(m2, denom), s[`adam.step_size/${p.group}`]!), "adam_p");
    return { param: p2, slots: [m2, v2] };
  }
}
