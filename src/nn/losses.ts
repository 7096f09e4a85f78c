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
  const loss = g.div(
    g.reduceSumSquare(
      diff,
      diff.shape.map((_, i) => i),
      false,
    ),
    numel,
    "mse",
  );
  return {
    loss,
    grad: (weight) => {
      const scale = g.div(weight ? g.mul(g.scalar(2), weight) : g.scalar(2), numel);
      return g.mul(diff, scale, "d_mse");
    },
  };
}

/** Smallest p and q entering a logarithm: float32's smallest normal, so log stays finite. */
const TINY = 1.2e-38;

/**
 * KL(P‖Q) averaged over rows (PyTorch's kl_div(q.log(), p, reduction="batchmean")). P is a
 * constant target: no gradient flows into it.
 */
export function klDivergence(g: Graph, p: Value, q: Value): LossResult {
  const n = g.dimSize(q, 0);
  const logRatio = g.sub(g.log(g.max(p, g.scalar(TINY))), g.log(g.max(q, g.scalar(TINY))));
  const loss = g.div(g.sumAll(g.mul(p, logRatio)), n, "kl");
  return {
    loss,
    // d/dq = −p / (N·q)
    grad: (weight) => g.div(g.neg(p), g.mul(q, weight ? g.div(n, weight) : n), "d_kl"),
  };
}
