// Element-wise and row-wise activations with their backward rules.

import type { Value } from "../engine/index.js";
import { BuildContext, type Forward, type Layer } from "./module.js";

export class ReLU implements Layer {
  readonly params = [];
  forward(ctx: BuildContext, x: Value): Forward {
    const { g } = ctx;
    const y = g.relu(x);
    // dx = dy·[y > 0] (the subgradient at 0 is 0, as in PyTorch). Cast+Mul runs about twice as
    // fast as Where in onnxruntime's CPU kernels.
    return { y, backward: (dy) => g.mul(dy, g.cast(g.greater(y, g.scalar(0)), "float32"), "d_relu") };
  }
}

/**
 * Row-wise L2 normalisation y = x / max(‖x‖, eps), PyTorch's F.normalize. The reference applies it
 * to the code inside the autoencoder only (a quirk offered as `normalizeCode`).
 */
export class L2Normalize implements Layer {
  readonly params = [];
  constructor(readonly eps = 1e-12) {}
  forward(ctx: BuildContext, x: Value): Forward {
    const { g } = ctx;
    const norm = g.max(g.sqrt(g.reduceSumSquare(x, [1], true)), g.scalar(this.eps), "norm");
    const y = g.div(x, norm, "l2n");
    // dx = (dy − y·⟨dy, y⟩) / ‖x‖ (for ‖x‖ > eps, the only case that occurs with real codes).
    return {
      y,
      backward: (dy) => g.div(g.sub(dy, g.mul(y, g.reduceSum(g.mul(dy, y), [1], true))), norm, "d_l2n"),
    };
  }
}
