// Optimizers emit their update rule into the step graph. Learning rates and bias corrections
// are scalar graph inputs fed every step, so schedules and per-group rates need no recompilation.

import type { Graph, Value } from "../../engine/index.js";
import type { Param } from "../module.js";

export interface OptimizerUpdate {
  param: Value;
  slots: Value[];
}

export interface Optimizer {
  readonly kind: string;
  /** Names of the optimizer-state tensors kept for `p` (same shape as p, zero-initialised). */
  slotNames(p: Param): string[];
  /** Names of the scalar inputs the update reads for these groups. */
  scalarInputs(groups: readonly string[]): string[];
  /** Values of those scalars for step `t` (1-based, as PyTorch counts). */
  scalarValues(t: number, groups: readonly string[]): Record<string, number>;
  /** Emits p ← update(p, grad, slots). */
  update(
    g: Graph,
    p: Param,
    param: Value,
    grad: Value,
    slots: readonly Value[],
    scalars: Readonly<Record<string, Value>>,
  ): OptimizerUpdate;
  /** Learning rate of a parameter group (changeable between steps). */
  lr(group: string): number;
  setLr(group: string, lr: number): void;
}

export interface BaseOptions {
  /** Learning rate of every group without its own. */
  lr: number;
  /** Per-group learning rates, e.g. { encoder: 1e-6, centers: 1e-5 }. */
  groupLr?: Record<string, number>;
  /** L2 penalty added to the gradient (PyTorch's coupled weight_decay). */
  weightDecay?: number;
  /** Learning-rate multiplier at step t (1-based), e.g. a step decay; default constant 1. */
  schedule?: (t: number) => number;
}

export abstract class BaseOptimizer implements Optimizer {
  abstract readonly kind: string;
  private readonly rates: Map<string, number>;
  protected readonly weightDecay: number;

  constructor(protected readonly options: BaseOptions) {
    if (!(options.lr >= 0)) throw new RangeError(`learning rate must be ≥ 0, got ${options.lr}`);
    this.rates = new Map(Object.entries(options.groupLr ?? {}));
    this.weightDecay = options.weightDecay ?? 0;
  }

  lr(group: string): number {
    return this.rates.get(group) ?? this.options.lr;
  }

  /** The learning rate of `group` at step t, schedule applied. */
  protected lrAt(group: string, t: number): number {
    return this.lr(group) * (this.options.schedule?.(t) ?? 1);
  }
  setLr(group: string, lr: number): void {
    this.rates.set(group, lr);
  }

  /** grad + weightDecay·param, applied after clipping as PyTorch does. */
  protected decayed(g: Graph, param: Value, grad: Value): Value {
    return this.weightDecay ? g.add(grad, g.mul(param, g.scalar(this.weightDecay))) : grad;
  }

  abstract slotNames(p: Param): string[];
  abstract scalarInputs(groups: readonly string[]): string[];
  abstract scalarValues(t: number, groups: readonly string[]): Record<string, number>;
  abstract update(
    g: Graph,
    p: Param,
    param: Value,
    grad: Value,
    slots: readonly Value[],
    scalars: Readonly<Record<string, Value>>,
  ): OptimizerUpdate;
}
