// Named recipes: every setting of the pipeline that decides the quality of a clustering (autoencoder
// shape, pretraining, the centres' start, the clustering phase), in one place. The default is the
// recipe that won bench/quality-suite.ts (BENCHMARKS.md, "Quality suite"); the others reproduce the
// reference implementation and the paper. Every setting stays overridable on its own.

import type { NoiseSpec } from "../nn/index.js";
import type { OptimizerConfig } from "./optimizers.js";
import type { ClusteringMethod, TargetMode } from "./dec-training.js";
import { MANIFOLD_START_DEFAULTS, type CenterInit, type DECConfig, type ManifoldOptions } from "./dec-model.js";
import type { InputScaling } from "./input-scaling.js";

export type PresetName = "manifold" | "paper" | "reference";
export const PRESET_NAMES: readonly PresetName[] = ["manifold", "paper", "reference"];
/** Chosen by the quality suite (see BENCHMARKS.md). */
export const DEFAULT_PRESET: PresetName = "manifold";

export const PRESET_SUMMARIES: Record<PresetName, string> = {
  manifold:
    "features standardised when their scales differ more than 10-fold, autoencoder scaled to the input (w = clamp(2·dims, 64, 500): w, w, 4w (≤ 2000), 10), Adam 1e-3 without noise for about 8,000 steps (20–100 epochs, but at least 1,000 steps), " +
    "centres from UMAP + Gaussian mixture on the code (after N2D), whose posteriors stay DEC's target until the labels settle or 30 epochs have passed",
  paper:
    "the DEC paper's 500, 500, 2000, 10 autoencoder, SGD lr 1 momentum 0.9 without noise, 50 epochs, k-means centres, DEC with P over the full dataset",
  reference:
    "the reference implementation's 256, 32 autoencoder, Adam 1e-3 with masking noise 0.3, 50 epochs, k-means centres, DEC with a per-batch target",
};

/** Every setting a preset fixes. */
export interface Recipe {
  preset: PresetName;
  /** Layer sizes after the input. */
  hidden: number[];
  inputScaling: InputScaling;
  pretrainEpochs: number;
  pretrainOptimizer: OptimizerConfig;
  noise: NoiseSpec;
  centerInit: CenterInit;
  manifold: Required<ManifoldOptions> | null;
  method: ClusteringMethod;
  target: TargetMode;
  optimizer: OptimizerConfig;
  tol: number;
}

/** The data a recipe scales to. */
export interface DataShape {
  rows: number;
  cols: number;
  batchSize: number;
}

/**
 * Pretraining steps the manifold recipe aims for, within [minEpochs, maxEpochs] epochs, and at least
 * minSteps steps: the epoch cap bounds the time on mid-sized data, but on a few hundred rows (one to three
 * batches an epoch) it left 100–300 Adam steps, an autoencoder far from trained (on iris the start
 * then lost to k-means on the raw data). The floor was chosen on tuning seeds
 * (bench/diagnostics/pretrain-floor.ts; BENCHMARKS.md, "Pretraining floor").
 */
export const MANIFOLD_PRETRAIN = { steps: 8_000, minEpochs: 20, maxEpochs: 100, minSteps: 1_000 } as const;

/** w, w, 4w (at most 2000), 10 with w = 2 × the input dims clamped to [64, 500]: the paper's shape on 784-d pixels or 768-d sentence embeddings, smaller for narrow inputs. */
export function scaledHidden(cols: number): number[] {
  const w = Math.min(500, Math.max(64, 8 * Math.round((2 * cols) / 8)));
  return [w, w, Math.min(2000, 4 * w), 10];
}

/** Epochs that make about MANIFOLD_PRETRAIN.steps steps of `batchSize` on `rows` rows, clamped, and at least `minSteps` steps. */
export function scaledEpochs(rows: number, batchSize: number, minSteps: number = MANIFOLD_PRETRAIN.minSteps): number {
  const stepsPerEpoch = Math.ceil(rows / Math.min(batchSize, rows));
  const clamped = Math.min(
    MANIFOLD_PRETRAIN.maxEpochs,
    Math.max(MANIFOLD_PRETRAIN.minEpochs, Math.round(MANIFOLD_PRETRAIN.steps / stepsPerEpoch)),
  );
  return Math.max(clamped, Math.ceil(minSteps / stepsPerEpoch));
}

export const MANIFOLD_RECIPE_START: Required<ManifoldOptions> = MANIFOLD_START_DEFAULTS;

export function presetRecipe(name: PresetName, shape: DataShape): Recipe {
  const dec = {
    method: "dec" as const,
    optimizer: { type: "sgd", lr: 0.01, momentum: 0.9 } as OptimizerConfig,
    tol: 0.001,
  };
  switch (name) {
    case "manifold":
      return {
        preset: name,
        hidden: scaledHidden(shape.cols),
        inputScaling: "auto",
        pretrainEpochs: scaledEpochs(shape.rows, shape.batchSize),
        pretrainOptimizer: { type: "adam", lr: 1e-3 },
        noise: { kind: "none", factor: 0 },
        centerInit: "manifold",
        manifold: { ...MANIFOLD_RECIPE_START },
        target: "full",
        ...dec,
      };
    case "paper":
      return {
        preset: name,
        hidden: [500, 500, 2000, 10],
        inputScaling: "none",
        pretrainEpochs: 50,
        pretrainOptimizer: { type: "sgd", lr: 1, momentum: 0.9 },
        noise: { kind: "none", factor: 0 },
        centerInit: "kmeans",
        manifold: null,
        target: "full",
        ...dec,
      };
    case "reference":
      return {
        preset: name,
        hidden: [256, 32],
        inputScaling: "none",
        pretrainEpochs: 50,
        pretrainOptimizer: { type: "adam", lr: 1e-3 },
        noise: { kind: "mask", factor: 0.3 },
        centerInit: "kmeans",
        manifold: null,
        target: "batch",
        ...dec,
      };
  }
}

/** A DEC configuration for `k` clusters on data of this shape from a preset (the library's way to the CLI's default recipe). */
export function presetConfig(
  name: PresetName,
  data: { rows: number; cols: number },
  k: number,
  batchSize = 256,
): DECConfig {
  const r = presetRecipe(name, { rows: data.rows, cols: data.cols, batchSize });
  return {
    k,
    hidden: r.hidden,
    inputScaling: r.inputScaling,
    centerInit: r.centerInit,
    ...(r.manifold ? { manifold: r.manifold } : {}),
    pretrain: { epochs: r.pretrainEpochs, batchSize, optimizer: r.pretrainOptimizer, noise: r.noise },
    method: r.method,
    target: r.target,
    optimizer: r.optimizer,
    tol: r.tol,
    batchSize,
  };
}
