// A stack of layers; backward runs the layers' rules in reverse.

import type { Value } from "../engine/index.js";
import { BuildContext, type Forward, type Layer, type Param } from "./module.js";

export class Sequential implements Layer {
  readonly params: readonly Param[];
  constructor(readonly layers: readonly Layer[]) {
    this.params = layers.flatMap((l) => l.params);
  }
  forward(ctx: BuildContext, x: Value): Forward {
    const backs: Array<Forward["backward"]> = [];
    let h = x;
    for (const layer of this.layers) {
      const f = layer.forward(ctx, h);
      backs.push(f.backward);
      h = f.y;
    }
    return {
      y: h,
      backward: (dy, needInputGrad) => {
        let d: Value | null = dy;
        for (let i = backs.length - 1; i >= 0 && d; i--) d = backs[i]!(d, i > 0 || needInputGrad);
        return d;
      },
    };
  }
}
