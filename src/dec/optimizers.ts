// The optimizer settings of both training phases (pretraining and the clustering phase) and how
// they become an nn optimizer; and how many steps one onnxruntime run takes.

import { Adam, SGD, type Optimizer } from "../nn/index.js";
import { DEFAULTS } from "../config.js";

export interface OptimizerConfig {
  type: "adam" | "sgd";
  lr: number;
  momentum?: number;
  weightDecay?: number;
  /** Multiply the learning rate by `gamma` every `every` iterations (the paper: ÷10 every 20k). */
  stepDecay?: { every: number; gamma: number };
}

export function makeOptimizer(c: OptimizerConfig, groupLr?: Record<string, number>): Optimizer {
  const decay = c.stepDecay;
  const base = {
    lr: c.lr,
    weightDecay: c.weightDecay ?? 0,
    ...(groupLr ? { groupLr } : {}),
    // PyTorch's StepLR stepped once per iteration: lr·γ^⌊(t−1)/every⌋.
    ...(decay ? { schedule: (t: number) => decay.gamma ** Math.floor((t - 1) / decay.every) } : {}),
  };
  return c.type === "adam" ? new Adam(base) : new SGD({ ...base, momentum: c.momentum ?? DEFAULTS.momentum });
}

/** Steps per onnxruntime run: state crosses into JS once per run (see nn/training-step.ts). */
export const STEPS_PER_RUN = 16;
