// SGD with momentum, PyTorch's exact semantics (torch.optim.SGD):
//   d = g (+ wd·p); buf ← d on the first step, else momentum·buf + (1−dampening)·d;
//   d ← d + momentum·buf if nesterov, else buf;  p ← p − lr·d
// The first-step special case is a scalar input (the coefficient of d), since buf starts at zero.
// Without dampening that coefficient is 1 on every step, so the graph leaves the multiply out: one
// pass less over the parameters per step, the same values bit for bit.

import type { Graph, Value } from "../../engine/index.js";
import type { Param } from "../module.js";
import { BaseOptimizer, type BaseOptions, type OptimizerUpdate } from "./optimizer.js";

export interface SgdOptions extends BaseOptions {
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
}

export class SGD extends BaseOptimizer {
  readonly kind = "sgd";
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;

  constructor(options: SgdOptions) {
    super(options);
    this.momentum = options.momentum ?? 0;
    this.dampening = options.dampening ?? 0;
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new RangeError("Nesterov momentum requires momentum > 0 and dampening = 0");
    }
  }

  /** Whether d enters the buffer scaled (1 − dampening after the first step); without dampening it enters as is. */
  private get scaledGradient(): boolean {
    return this.momentum !== 0 && this.dampening !== 0;
  }

  slotNames(p: Param): string[] {
    return this.momentum ? [`sgd.momentum_buffer/${p.name}`] : [];
  }

  scalarInputs(groups: readonly string[]): string[] {
    return [...(this.scaledGradient ? ["sgd.grad_coef"] : []), ...groups.map((gr) => `sgd.lr/${gr}`)];
  }

  scalarValues(t: number, groups: readonly string[]): Record<string, number> {
    const out: Record<string, number> = {};
    if (this.scaledGradient) out["sgd.grad_coef"] = t === 1 ? 1 : 1 - this.dampening;
    for (const gr of groups) out[`sgd.lr/${gr}`] = this.lrAt(gr, t);
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
    let d = this.decayed(g, param, grad);
    const newSlots: Value[] = [];
    if (this.momentum) {
      const buf = g.add(
        g.mul(slots[0]!, g.scalar(this.momentum)),
        this.scaledGradient ? g.mul(d, s["sgd.grad_coef"]!) : d,
        "sgd_buf",
      );
      newSlots.push(buf);
      d = this.nesterov ? g.add(d, g.mul(buf, g.scalar(this.momentum))) : buf;
    }
    const p2 = g.sub(param, g.mul(d, s[`sgd.lr/${p.group}`]!), "sgd_p");
    return { param: p2, slots: newSlots };
  }
}
