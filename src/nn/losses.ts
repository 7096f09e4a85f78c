// Losses return a scalar value and the gradient of that scalar with respect to the prediction.

import type { Graph, Value } from "../engine/index.js";

export interface LossResult {
  loss: Value;
  /** d loss / d prediction, scaled by `weight` (for weighted sums of losses such as IDEC's). */
  grad(weight?: Value): Value;
}

/** Mean squared error over all elements, PyTorch's nn.MSELoss() (reduction "mean"). */
export function mse(g: Graph, pred: Value, target: Value): LossResult {
  const diff = g.sub(pred, target, "mse_diff");
  const numel = g.numel(pred);
  const loss = g.div(g.reduceSumSquare(diff, diff.shape.map((_, i) => i), false), numel, "mse");
  return {
    loss,
    grad: (weight) => {
      const scale = g.div(weight ? g.mul(g.scalar(2), weight) : g.scalar(2), numel);
      return g.mul(diff, scale, "d_mse");
    },
  };
}
