// The contract every layer and loss follows: forward emits its ops and returns a backward rule
// that, given the gradient of the output, emits the ops for the input gradient and reports the
// gradients of its parameters. Backward ops are emitted only when a training graph asks for them,
// so the same layer code builds inference graphs too.

import type { Graph, Value } from "../engine/index.js";
import type { Initializer } from "./init.js";
import type { QuantizedWeightValues } from "./quantize.js";

export interface Param {
  /** PyTorch state_dict name, e.g. "encoder.0.weight". */
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Initializer;
  /** Parameter group (per-group learning rates), e.g. "encoder", "decoder", "centers". */
  readonly group: string;
}

/**
 * A backward rule: dy ↦ dx. Parameter gradients are reported to the context; dx is only built
 * when `needInputGrad` (the first layer of a network skips its largest GEMM this way).
 */
export type Backward = (dy: Value, needInputGrad: boolean) => Value | null;

export interface Forward {
  y: Value;
  backward: Backward;
}

/** What a layer sees while it is being built into a graph. */
export class BuildContext {
  private readonly grads = new Map<string, Value[]>();
  constructor(
    readonly g: Graph,
    private readonly paramValues: ReadonlyMap<string, Value>,
    /** Weights to apply as int8 (inference graphs only; see quantize.ts), by parameter name. */
    private readonly int8Weights: ReadonlyMap<string, QuantizedWeightValues> = new Map(),
  ) {}

  /** The int8 form of a weight when this graph runs it quantized, else undefined. */
  quantized(p: Param): QuantizedWeightValues | undefined {
    return this.int8Weights.get(p.name);
  }

  param(p: Param): Value {
    const v = this.paramValues.get(p.name);
    if (!v) throw new Error(`parameter '${p.name}' is not an input of graph ${this.g.name}`);
    return v;
  }

  /** Records a gradient contribution; contributions to the same parameter are summed. */
  grad(p: Param, dv: Value): void {
    const list = this.grads.get(p.name) ?? [];
    list.push(dv);
    this.grads.set(p.name, list);
  }

  gradOf(name: string): Value | undefined {
    const list = this.grads.get(name);
    if (!list) return undefined;
    return list.length === 1 ? list[0] : this.g.sum(list, `grad_${name}`);
  }
}

export interface Layer {
  readonly params: readonly Param[];
  forward(ctx: BuildContext, x: Value): Forward;
}

/** Adds graph inputs for `params` and returns the name → value map a BuildContext needs. */
export function paramInputs(g: Graph, params: readonly Param[]): Map<string, Value> {
  const m = new Map<string, Value>();
  for (const p of params) m.set(p.name, g.input(p.name, "float32", p.shape));
  return m;
}
