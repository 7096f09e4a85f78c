// Named recipes: every setting of the pipeline that decides the quality of a clustering (autoencoder
// shape, pretraining, the centres' start, the clustering phase), in one place. The default is the
// recipe that won bench/quality-suite.ts (BENCHMARKS.md, "Quality suite"); the others reproduce the
// reference implementation and the paper. Every setting stays overridable on its own.

import { DEFAULTS, definedOnly, optimizerOf, startDefaults } from "../config.js";
import type { InitName, NoiseKind, NoiseSpec } from "../nn/index.js";
import type { OptimizerConfig } from "./optimizers.js";
import type { ClusteringMethod, TargetMode } from "./dec-training.js";
import { isMixtureStart, type CenterInit, type DECConfig, type ManifoldOptions } from "./dec-model.js";
import type { InputScaling } from "./input-scaling.js";

export type PresetName = "manifold" | "paper" | "reference";
export const PRESET_NAMES: readonly PresetName[] = ["manifold", "paper", "reference"];
/** Chosen by the quality suite (see BENCHMARKS.md; defined in config.ts). */
export const DEFAULT_PRESET: PresetName = DEFAULTS.preset;

export const PRESET_SUMMARIES: Record<PresetName, string> = {
  manifold:
    "features standardised when their scales differ more than 10-fold, autoencoder scaled to the input (w = clamp(2·dims, 64, 500): w, w, 4w (≤ 2000), 10), Adam 1e-3 without noise for about 8,000 steps (20–100 epochs, but at least 1,000 steps), " +
    `centres from UMAP + Gaussian mixture on the code (after N2D; on inputs of at most ${DEFAULTS.mixtureStart.maxCols} features, a Gaussian mixture of the code itself), whose posteriors stay DEC's target until the labels settle or ${DEFAULTS.manifold.holdEpochs} epochs (${DEFAULTS.mixtureStart.holdEpochs} from the code's mixture) have passed`,
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

/**
 * The manifold recipe's start: UMAP + Gaussian mixture on the code, except on narrow inputs (at most
 * DEFAULTS.mixtureStart.maxCols features), whose groups the code keeps about as Gaussian as the input
 * and UMAP's neighbour graph cuts apart where they overlap: a mixture of the code itself there.
 */
export function scaledStart(cols: number): CenterInit {
  return cols <= DEFAULTS.mixtureStart.maxCols ? "gmm" : "manifold";
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

export const MANIFOLD_RECIPE_START: Required<ManifoldOptions> = DEFAULTS.manifold;

export function presetRecipe(name: PresetName, shape: DataShape): Recipe {
  const cl = DEFAULTS.clustering;
  const dec = { method: cl.method, optimizer: cl.optimizer, tol: cl.tol };
  const noNoise: NoiseSpec = { kind: "none", factor: 0 };
  switch (name) {
    case "manifold": {
      const start = scaledStart(shape.cols);
      return {
        preset: name,
        hidden: scaledHidden(shape.cols),
        inputScaling: "auto",
        pretrainEpochs: scaledEpochs(shape.rows, shape.batchSize),
        pretrainOptimizer: optimizerOf("adam"),
        noise: noNoise,
        centerInit: start,
        manifold: { ...startDefaults(start) },
        target: "full",
        ...dec,
      };
    }
    case "paper":
      return {
        preset: name,
        hidden: [...DEFAULTS.hidden],
        inputScaling: "none",
        pretrainEpochs: DEFAULTS.pretrain.epochs,
        pretrainOptimizer: optimizerOf("sgd", 1),
        noise: noNoise,
        centerInit: "kmeans",
        manifold: null,
        target: "full",
        ...dec,
      };
    case "reference":
      return {
        preset: name,
        hidden: [...DEFAULTS.referenceHidden],
        inputScaling: "none",
        pretrainEpochs: DEFAULTS.pretrain.epochs,
        pretrainOptimizer: optimizerOf("adam"),
        noise: DEFAULTS.pretrain.noise,
        centerInit: "kmeans",
        manifold: null,
        target: "batch",
        ...dec,
      };
  }
}

/** Settings that replace a preset's own (the command line's flags); each unset one keeps the preset's. */
export interface RecipeOverrides {
  /** Layer sizes after the input. */
  hidden?: readonly number[];
  weightInit?: InitName;
  centerInit?: CenterInit;
  inputScaling?: InputScaling;
  /** Settings of the manifold start; those unset keep the preset's (else DEFAULTS.manifold). */
  manifold?: ManifoldOptions;
  pretrainEpochs?: number;
  /** Another optimizer type starts from DEFAULTS.learningRate's rate for it, unless pretrainLr is given. */
  pretrainOptimizer?: "adam" | "sgd";
  pretrainLr?: number;
  pretrainMomentum?: number;
  /** Another noise kind starts from DEFAULTS.pretrain.noise's factor, unless noiseFactor is given. */
  noise?: NoiseKind;
  noiseFactor?: number;
  method?: ClusteringMethod;
  target?: TargetMode;
  tol?: number;
  optimizer?: "adam" | "sgd";
  lr?: number;
  momentum?: number;
}

/** A preset's recipe for data of this shape, with `overrides` applied setting by setting. */
export function resolveRecipe(
  name: PresetName,
  shape: DataShape,
  overrides: RecipeOverrides = {},
): Recipe & { weightInit: InitName } {
  const o = overrides;
  const recipe = presetRecipe(name, shape);
  const centerInit = o.centerInit ?? recipe.centerInit;
  const noiseKind = o.noise ?? recipe.noise.kind;
  const noiseFactor =
    o.noiseFactor ??
    (noiseKind === recipe.noise.kind && noiseKind !== "none" ? recipe.noise.factor : DEFAULTS.pretrain.noise.factor);
  // Another start than the recipe's begins from that start's own defaults.
  const start = recipe.manifold && centerInit === recipe.centerInit ? recipe.manifold : startDefaults(centerInit);
  return {
    preset: name,
    hidden: o.hidden ? [...o.hidden] : recipe.hidden,
    weightInit: o.weightInit ?? DEFAULTS.weightInit,
    inputScaling: o.inputScaling ?? recipe.inputScaling,
    pretrainEpochs: o.pretrainEpochs ?? recipe.pretrainEpochs,
    pretrainOptimizer: overrideOptimizer(
      recipe.pretrainOptimizer,
      o.pretrainOptimizer,
      o.pretrainLr,
      o.pretrainMomentum,
    ),
    noise: { kind: noiseKind, factor: noiseFactor },
    centerInit,
    // minDist and maxRows have no flag of their own, but stay settable from the library.
    manifold: isMixtureStart(centerInit) ? { ...start, ...definedOnly(o.manifold ?? {}) } : null,
    method: o.method ?? recipe.method,
    target: o.target ?? recipe.target,
    optimizer: overrideOptimizer(recipe.optimizer, o.optimizer, o.lr, o.momentum),
    tol: o.tol ?? recipe.tol,
  };
}

/** The preset's optimizer, or one of another type (its default rate unless `lr`), with `lr` / `momentum` when given. */
function overrideOptimizer(
  preset: OptimizerConfig,
  type: "adam" | "sgd" | undefined,
  lr: number | undefined,
  momentum: number | undefined,
): OptimizerConfig {
  const t = type ?? preset.type;
  const rate = lr ?? (t === preset.type ? preset.lr : undefined);
  const presetMomentum = preset.type === "sgd" ? preset.momentum : undefined;
  return optimizerOf(t, rate, momentum ?? presetMomentum ?? DEFAULTS.momentum);
}

/**
 * A DEC configuration for `k` clusters on data of this shape from a preset, with `overrides`
 * applied (the library's way to the CLI's recipe: `deepclust train` builds its configuration here).
 */
export function presetConfig(
  name: PresetName,
  data: { rows: number; cols: number },
  k: number,
  batchSize: number = DEFAULTS.clustering.batchSize,
  overrides: RecipeOverrides = {},
): DECConfig {
  const r = resolveRecipe(name, { rows: data.rows, cols: data.cols, batchSize }, overrides);
  return {
    k,
    hidden: r.hidden,
    init: r.weightInit,
    inputScaling: r.inputScaling,
    centerInit: r.centerInit,
    ...(r.manifold ? { manifold: r.manifold } : {}),
    pretrain: {
      mode: DEFAULTS.pretrain.mode,
      epochs: r.pretrainEpochs,
      batchSize,
      optimizer: r.pretrainOptimizer,
      noise: r.noise,
    },
    method: r.method,
    target: r.target,
    optimizer: r.optimizer,
    tol: r.tol,
    batchSize,
  };
}
