// deepclust pretrain: denoising autoencoder pretraining on a matrix file; writes the weights
// (safetensors, PyTorch names) and a JSON record of the run into an output directory.

import { DEFAULTS } from "../config.js";
import { Command, Option } from "commander";
import { join, resolve } from "node:path";
import { Rng, type Device, type Matrix } from "../engine/index.js";
import { INIT_NAMES, NOISE_KINDS, type InitName, type NoiseKind } from "../nn/index.js";
import {
  Autoencoder,
  PRETRAIN_DIR,
  PRETRAIN_FILES,
  pretrainAutoencoder,
  reconstructionError,
  savePretrainDir,
  type PretrainMode,
} from "../dec/index.js";
import { checkOutputDir, readMatrix } from "../io/index.js";
import { choice, deviceOption, dims, float, int, layerSizes, threadsOption } from "./options.js";
import { createProgress } from "./progress.js";

interface PretrainCliOptions {
  dims: number[];
  mode: PretrainMode;
  epochs: number;
  layerEpochs?: number;
  batchSize: number;
  optimizer: "adam" | "sgd";
  lr: number;
  momentum: number;
  noise: NoiseKind;
  noiseFactor: number;
  normalizeCode: boolean;
  init: InitName;
  limit?: number;
  seed: number;
  threads: number;
  device: Device;
  out?: string;
  force: boolean;
  json: boolean;
}

/** Per-column-mean predictor's MSE: the bar a useful autoencoder must clear. */
function meanPredictorMse(X: Matrix): number {
  const mean = new Float64Array(X.cols);
  for (let r = 0; r < X.rows; r++) for (let c = 0; c < X.cols; c++) mean[c]! += X.data[r * X.cols + c]!;
  for (let c = 0; c < X.cols; c++) mean[c]! /= X.rows;
  let s = 0;
  for (let r = 0; r < X.rows; r++) for (let c = 0; c < X.cols; c++) s += (X.data[r * X.cols + c]! - mean[c]!) ** 2;
  return s / (X.rows * X.cols);
}

export function pretrainCommand(): Command {
  return new Command("pretrain")
    .description("Pretrain a denoising autoencoder on a matrix of vectors (.npy, or IDX images such as MNIST)")
    .argument("<data>", "input file: a 2-D float32/float64 .npy (rows × dims) or an IDX image file")
    .addOption(
      new Option(
        "--dims <list>",
        "layer sizes after the input, e.g. 256,32 or the paper's 500,500,2000,10 (768,256,32 also accepted)",
      )
        .argParser(dims)
        .default([...DEFAULTS.referenceHidden], DEFAULTS.referenceHidden.join(",")),
    )
    .option(
      "--mode <mode>",
      "end-to-end (the reference implementation) or layerwise (the paper: greedy layer-wise, then fine-tuning)",
      choice("--mode", ["end-to-end", "layerwise"] as const),
      DEFAULTS.pretrain.mode,
    )
    .option(
      "--epochs <n>",
      "end-to-end epochs (fine-tuning epochs in layerwise mode)",
      int("--epochs", 1),
      DEFAULTS.pretrain.epochs,
    )
    .option("--layer-epochs <n>", "epochs per layer in layerwise mode (default: --epochs)", int("--layer-epochs", 1))
    .option("--batch-size <n>", "minibatch size", int("--batch-size", 1), DEFAULTS.pretrain.batchSize)
    .option(
      "--optimizer <name>",
      "adam or sgd (with momentum)",
      choice("--optimizer", ["adam", "sgd"] as const),
      DEFAULTS.pretrain.optimizer.type,
    )
    .option("--lr <f>", "learning rate", float("--lr", { min: 0 }), DEFAULTS.pretrain.optimizer.lr)
    .option("--momentum <f>", "SGD momentum", float("--momentum", { min: 0, max: 1 }), DEFAULTS.momentum)
    .option(
      "--noise <kind>",
      `input corruption: ${NOISE_KINDS.join(", ")}`,
      choice("--noise", NOISE_KINDS),
      DEFAULTS.pretrain.noise.kind,
    )
    .option(
      "--noise-factor <f>",
      "mask: probability of zeroing a value; gaussian: multiple of each feature's std",
      float("--noise-factor", { min: 0 }),
      DEFAULTS.pretrain.noise.factor,
    )
    .option(
      "--normalize-code",
      "L2-normalise the code before the decoder during pretraining (the reference implementation's quirk)",
      false,
    )
    .option(
      "--init <name>",
      `weight initialisation: ${INIT_NAMES.join(", ")} (torch = PyTorch's nn.Linear default; paper = N(0, 0.01²))`,
      choice("--init", INIT_NAMES),
      DEFAULTS.weightInit,
    )
    .option("--limit <n>", "use only the first n rows", int("--limit", 1))
    .option(
      "--seed <n>",
      "seed of every random choice (initialisation, shuffling, noise)",
      int("--seed"),
      DEFAULTS.seed,
    )
    .addOption(threadsOption())
    .addOption(deviceOption())
    .option("--out <dir>", "write autoencoder.safetensors and pretrain.json here")
    .option(
      "--force",
      "replace --out if it exists and is a pretraining directory (never an input, nor a directory holding one)",
      false,
    )
    .option("--json", "print one JSON summary on stdout and nothing else", false)
    .action(async (data: string, o: PretrainCliOptions) => {
      const progress = createProgress({ json: o.json });
      if (o.out) checkOutputDir({ path: o.out, flag: "--out" }, { inputs: [data], force: o.force, kind: PRETRAIN_DIR });
      const X = readMatrix(data, o.limit !== undefined ? { limit: o.limit } : {});
      const sizes = layerSizes(o.dims, X.cols);
      const rng = new Rng(o.seed);
      const ae = new Autoencoder({ dims: sizes, init: o.init, normalizeCode: o.normalizeCode }, rng, {
        threads: o.threads,
        device: o.device,
      });
      progress.log(
        `pretraining ${sizes.join("→")} on ${X.rows} × ${X.cols} from ${data} (${o.mode}, ${o.noise} noise ${o.noiseFactor}, ${o.optimizer} lr ${o.lr})`,
      );
      const t0 = performance.now();
      let stage = "";
      const history = await pretrainAutoencoder(ae, X, rng, {
        mode: o.mode,
        epochs: o.epochs,
        ...(o.layerEpochs !== undefined ? { layerEpochs: o.layerEpochs } : {}),
        batchSize: o.batchSize,
        optimizer: { type: o.optimizer, lr: o.lr, momentum: o.momentum },
        noise: { kind: o.noise, factor: o.noiseFactor },
        onEpoch: (e) => {
          if (e.stage !== stage) {
            stage = e.stage;
            progress.start(stage, e.epochs, "epochs");
          }
          progress.update(e.epoch, `loss ${e.loss.toFixed(5)} | ${Math.round(e.samplesPerSecond)} samples/s`);
          if (e.epoch === e.epochs) progress.stop();
        },
      });
      const seconds = (performance.now() - t0) / 1000;
      const mse = await reconstructionError(ae, X);
      const baseline = meanPredictorMse(X);
      const summary = {
        data: resolve(data),
        rows: X.rows,
        dims: sizes,
        options: {
          mode: o.mode,
          epochs: o.epochs,
          layerEpochs: o.layerEpochs ?? null,
          batchSize: o.batchSize,
          optimizer: o.optimizer,
          lr: o.lr,
          noise: o.noise,
          noiseFactor: o.noiseFactor,
          normalizeCode: o.normalizeCode,
          init: o.init,
          seed: o.seed,
          threads: o.threads,
          device: o.device,
        },
        reconstructionMse: mse,
        meanPredictorMse: baseline,
        seconds,
        samplesPerSecond: history.reduce((s, e) => s + e.samplesPerSecond, 0) / history.length,
        history,
        out: o.out ? resolve(o.out) : null,
      };
      if (o.out) savePretrainDir(o.out, ae, summary, o.force);
      if (o.json) {
        process.stdout.write(JSON.stringify(summary) + "\n");
        return;
      }
      progress.log(
        `final loss ${history.at(-1)!.loss.toFixed(5)} after ${history.length} epochs in ${seconds.toFixed(1)} s (${Math.round(summary.samplesPerSecond)} samples/s)`,
      );
      progress.log(
        `reconstruction MSE ${mse.toFixed(5)} (clean inputs) vs ${baseline.toFixed(5)} for predicting each feature's mean`,
      );
      if (o.out) progress.log(`wrote ${join(o.out, PRETRAIN_FILES.weights)} and ${join(o.out, PRETRAIN_FILES.record)}`);
    });
}
