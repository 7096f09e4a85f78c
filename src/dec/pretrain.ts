// Denoising autoencoder pretraining.
//   end-to-end (default, the reference implementation's): corrupt the input, reconstruct the clean input, MSE, Adam.
//   layerwise (the paper's): each encoder layer with its mirrored decoder layer trained as a one-
//   hidden-layer denoising autoencoder on the clean output of the layers below, then the whole
//   stack fine-tuned end to end without noise.

import {
  CompiledGraph,
  Graph,
  Rng,
  Tensor,
  gatherFrom,
  isMatrix,
  shuffledOrder,
  type Matrix,
  type Rows,
  type Value,
} from "../engine/index.js";
import {
  BuildContext,
  ReLU,
  Sequential,
  TrainingStep,
  corrupt,
  mse,
  paramInputs,
  type Layer,
  type NoiseSpec,
} from "../nn/index.js";
import type { Autoencoder } from "./autoencoder.js";
import { DEFAULTS } from "../config.js";
import { makeOptimizer, STEPS_PER_RUN, type OptimizerConfig } from "./optimizers.js";

export type PretrainMode = "end-to-end" | "layerwise";

export interface PretrainOptions {
  mode?: PretrainMode;
  /** End-to-end epochs (also the fine-tuning epochs after layerwise pretraining). Default 50. */
  epochs?: number;
  /** Epochs per layer in layerwise mode (default: `epochs`). */
  layerEpochs?: number;
  batchSize?: number;
  optimizer?: OptimizerConfig;
  noise?: NoiseSpec;
  /** Noise during the fine-tuning stage of layerwise mode (the paper: none). */
  finetuneNoise?: NoiseSpec;
  clipNorm?: number | null;
  /** Training steps per onnxruntime run (default STEPS_PER_RUN); results do not depend on it. */
  stepsPerRun?: number;
  /** Block-shuffled epochs with blocks of this many rows (see shuffledOrder; for data read from disk). Default: a true permutation. */
  shuffleBlock?: number;
  onEpoch?: (e: EpochRecord) => void;
}

export interface EpochRecord {
  stage: string;
  epoch: number;
  epochs: number;
  /** Mean training loss over the epoch's batches (on corrupted inputs), per sample. */
  loss: number;
  seconds: number;
  samplesPerSecond: number;
}

/** Pretraining's defaults (kept here under their old name; defined in config.ts). */
export const PRETRAIN_DEFAULTS = DEFAULTS.pretrain;

export interface EpochOptions {
  stage: string;
  epochs: number;
  batchSize: number;
  noise: NoiseSpec;
  rng: Rng;
  stepsPerRun?: number;
  shuffleBlock?: number | undefined;
  onEpoch?: ((e: EpochRecord) => void) | undefined;
}

/**
 * Runs `epochs` shuffled passes of `step` over X (in memory, or a RowSource read from disk). Up to
 * `stepsPerRun` batches (clean, and their corrupted copies) are gathered into one reused
 * [K, batch, d] buffer per run; the last, partial batch runs on its own.
 */
export async function trainEpochs(step: TrainingStep, X: Rows, opts: EpochOptions): Promise<EpochRecord[]> {
  const { batchSize, noise, rng } = opts;
  const K = Math.max(1, opts.stepsPerRun ?? STEPS_PER_RUN);
  const buffers = new Map<string, { clean: Tensor<Float32Array>; noisy: Tensor<Float32Array> }>();
  const buffersFor = (k: number, rows: number) => {
    const key = `${k}x${rows}`;
    let b = buffers.get(key);
    if (!b) {
      const clean = Tensor.zeros([k, rows, X.cols]);
      b = { clean, noisy: noise.kind === "none" ? clean : Tensor.zeros([k, rows, X.cols]) };
      buffers.set(key, b);
    }
    return b;
  };
  const history: EpochRecord[] = [];
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    const t0 = performance.now();
    const order = shuffledOrder(rng, X.rows, opts.shuffleBlock);
    let lossSum = 0;
    for (let start = 0; start < X.rows;) {
      const full = Math.floor((X.rows - start) / batchSize);
      const k = full > 0 ? Math.min(K, full) : 1;
      const rows = full > 0 ? batchSize : X.rows - start;
      const { clean, noisy } = buffersFor(k, rows);
      const per = rows * X.cols;
      for (let i = 0; i < k; i++) {
        const from = start + i * rows;
        const dst = clean.data.subarray(i * per, (i + 1) * per);
        gatherFrom(X, order, from, from + rows, dst);
        if (noisy !== clean) corrupt(noise, dst, rows, X.cols, rng, noisy.data.subarray(i * per, (i + 1) * per));
      }
      const r = await step.runSteps({ x_in: noisy, x_target: clean });
      for (let i = 0; i < k; i++) {
        const loss = r.losses[i]!;
        if (!Number.isFinite(loss))
          throw new Error(`${opts.stage}: loss became ${loss} at epoch ${epoch} (try a lower learning rate)`);
        lossSum += loss * rows;
      }
      start += k * rows;
    }
    const seconds = (performance.now() - t0) / 1000;
    const rec: EpochRecord = {
      stage: opts.stage,
      epoch,
      epochs: opts.epochs,
      loss: lossSum / X.rows,
      seconds,
      samplesPerSecond: X.rows / seconds,
    };
    history.push(rec);
    opts.onEpoch?.(rec);
  }
  return history;
}

/** Reconstruction objective: net(x_in) vs x_target under MSE. */
function reconstruction(net: Layer) {
  return (ctx: BuildContext, inputs: Readonly<Record<string, Value>>) => {
    const f = net.forward(ctx, inputs.x_in!);
    const l = mse(ctx.g, f.y, inputs.x_target!);
    return { loss: l.loss, backward: () => void f.backward(l.grad(), false) };
  };
}

function dataInputs(dim: number) {
  return [
    { name: "x_in", shape: ["batch", dim] },
    { name: "x_target", shape: ["batch", dim] },
  ];
}

/** Pretrains `ae` in place on X and returns the per-epoch history. */
export async function pretrainAutoencoder(
  ae: Autoencoder,
  X: Rows,
  rng: Rng,
  options: PretrainOptions = {},
): Promise<EpochRecord[]> {
  if (X.cols !== ae.inputDim)
    throw new RangeError(`data has ${X.cols} columns, the autoencoder expects ${ae.inputDim}`);
  const mode = options.mode ?? PRETRAIN_DEFAULTS.mode;
  const epochs = options.epochs ?? PRETRAIN_DEFAULTS.epochs;
  const batchSize = options.batchSize ?? PRETRAIN_DEFAULTS.batchSize;
  const optConfig = options.optimizer ?? PRETRAIN_DEFAULTS.optimizer;
  const noise = options.noise ?? PRETRAIN_DEFAULTS.noise;
  if (!(batchSize >= 1)) throw new RangeError(`batch size must be ≥ 1, got ${batchSize}`);
  const history: EpochRecord[] = [];
  const common = {
    batchSize,
    rng,
    onEpoch: options.onEpoch,
    shuffleBlock: options.shuffleBlock,
    ...(options.stepsPerRun ? { stepsPerRun: options.stepsPerRun } : {}),
  };

  if (mode === "layerwise") {
    // Each stage trains on the previous layer's output of every row, held in memory.
    if (!isMatrix(X))
      throw new RangeError(
        "layerwise pretraining needs the data in memory (it keeps each layer's output of every row); use end-to-end pretraining for data read from disk",
      );
    const L = ae.encoderLayers.length;
    let H: Matrix = X;
    for (let i = 0; i < L; i++) {
      const enc = ae.encoderLayers[i]!;
      const dec = ae.decoderLayers[L - 1 - i]!;
      // ReLU after the encoder layer except for the code; after the decoder layer except the one that reconstructs the data.
      const net = new Sequential([enc, ...(i < L - 1 ? [new ReLU()] : []), dec, ...(i > 0 ? [new ReLU()] : [])]);
      const step = await TrainingStep.compile(
        {
          name: `pretrain_layer_${i}`,
          params: net.params,
          inputs: dataInputs(H.cols),
          objective: reconstruction(net),
          optimizer: makeOptimizer(optConfig),
          clipNorm: options.clipNorm ?? null,
        },
        ae.params,
        ae.session,
      );
      history.push(
        ...(await trainEpochs(step, H, {
          ...common,
          stage: `layer ${i + 1}/${L}`,
          epochs: options.layerEpochs ?? epochs,
          noise,
        })),
      );
      await step.release();
      if (i < L - 1) H = await ae.encodeTo(X, i + 1);
    }
  }

  const finetuneNoise = mode === "layerwise" ? (options.finetuneNoise ?? { kind: "none", factor: 0 }) : noise;
  const net = ae.autoencoder();
  const step = await TrainingStep.compile(
    {
      name: "pretrain",
      params: net.params,
      inputs: dataInputs(X.cols),
      objective: reconstruction(net),
      optimizer: makeOptimizer(optConfig),
      clipNorm: options.clipNorm ?? null,
    },
    ae.params,
    ae.session,
  );
  history.push(
    ...(await trainEpochs(step, X, {
      ...common,
      stage: mode === "layerwise" ? "fine-tune" : "pretrain",
      epochs,
      noise: finetuneNoise,
    })),
  );
  await step.release();
  return history;
}

/** Mean squared reconstruction error of clean inputs (no noise), computed in batches. */
export async function reconstructionError(ae: Autoencoder, X: Matrix, batchSize = 1024): Promise<number> {
  const g = new Graph("reconstruction_error");
  const net = ae.autoencoder();
  const ctx = new BuildContext(g, paramInputs(g, net.params));
  const x = g.input("x", "float32", ["batch", X.cols]);
  const y = net.forward(ctx, x).y;
  g.output(g.sumAll(g.mul(g.sub(y, x), g.sub(y, x))), "sse");
  const compiled = await CompiledGraph.create(g, ae.session);
  const feeds: Record<string, Tensor> = {};
  for (const p of net.params) feeds[p.name] = ae.params.tensor(p.name);
  let sse = 0;
  for (let s = 0; s < X.rows; s += batchSize) {
    const e = Math.min(X.rows, s + batchSize);
    feeds.x = new Tensor(X.data.subarray(s * X.cols, e * X.cols), [e - s, X.cols]);
    sse += (await compiled.runOne(feeds, "sse"))[0]!;
  }
  await compiled.release();
  return sse / (X.rows * X.cols);
}
