// Global-norm gradient clipping, torch.nn.utils.clip_grad_norm_ (L2 norm over all gradients):
// coef = min(1, max_norm / (‖g‖ + 1e-6)), every gradient scaled by coef.

import type { Graph, Value } from "../../engine/index.js";

export function globalNorm(g: Graph, grads: readonly Value[]): Value {
  return g.sqrt(
    g.sum(
      grads.map((gr) =>
        g.reduceSumSquare(
          gr,
          gr.shape.map((_, i) => i),
          false,
        ),
      ),
    ),
    "grad_norm",
  );
}

export function clipByGlobalNorm(g: Graph, grads: readonly Value[], norm: Value, maxNorm: number): Value[] {
  const coef = g.min(g.div(g.scalar(maxNorm), g.add(norm, g.scalar(1e-6))), g.scalar(1), "clip_coef");
  return grads.map((gr) => g.mul(gr, coef, "clipped"));
}
