// Fully connected layer with PyTorch's layout: weight [out, in], bias [out], y = x·Wᵀ + b.

import type { Value } from "../engine/index.js";
import { BuildContext, type Forward, type Layer, type Param } from "./module.js";
import { biasInit, initializers, type InitName } from "./init.js";

export class Dense implements Layer {
  readonly weight: Param;
  readonly bias: Param;
  readonly params: readonly Param[];

  constructor(
    readonly prefix: string,
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly group: string,
    init: InitName = "torch",
  ) {
    this.weight = { name: `${prefix}.weight`, shape: [outFeatures, inFeatures], init: initializers[init], group };
    this.bias = { name: `${prefix}.bias`, shape: [outFeatures], init: biasInit(init), group };
    this.params = [this.weight, this.bias];
  }

  forward(ctx: BuildContext, x: Value): Forward {
    const { g } = ctx;
    const q = ctx.quantized(this.weight);
    if (q) {
      const y = g.dynamicQuantizeMatMul(x, q.w, q.scale, q.zeroPoint, ctx.param(this.bias), this.prefix);
      return {
        y,
        backward: () => {
          throw new Error(`${this.prefix}: an int8 layer has no gradient (quantized graphs are for inference)`);
        },
      };
    }
    const w = ctx.param(this.weight);
    const y = g.gemm(x, w, { transB: true }, ctx.param(this.bias), this.prefix);
    return {
      y,
      backward: (dy, needInputGrad) => {
        ctx.grad(this.weight, g.gemm(dy, x, { transA: true }, null, `d_${this.weight.name}`)); // dW = dyᵀ·x
        // db = Σ_rows dy, as a GEMV with a row of ones: MLAS runs it far faster than ReduceSum over axis 0.
        ctx.grad(this.bias, g.reshape(g.matmul(g.onesRow(dy), dy), [this.outFeatures], `d_${this.bias.name}`));
        return needInputGrad ? g.matmul(dy, w, `d_${this.prefix}_in`) : null; // dx = dy·W
      },
    };
  }
}
