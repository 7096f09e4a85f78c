// Each preset resolves to the settings its documentation (docs/command-line.md "Presets", PRESET_SUMMARIES) gives,
// for the data's shape; the CLI records them in config.json, and a flag overrides its one setting.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { presetRecipe, presetConfig, resolveRecipe, DEFAULT_PRESET } from "../src/dec/presets.js";

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const digits = new URL("./fixtures/digits.csv", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "deepclust-presets-"));

test("manifold (the default): an autoencoder scaled to the input, Adam without noise for about 8,000 steps, UMAP + GMM start (a GMM of the code on narrow inputs) held as the target", () => {
  assert.equal(DEFAULT_PRESET, "manifold");
  const mnist = presetRecipe("manifold", { rows: 70_000, cols: 784, batchSize: 256 });
  assert.deepEqual(mnist.hidden, [500, 500, 2000, 10]);
  assert.equal(mnist.pretrainEpochs, 29); // 8,000 steps / 274 per epoch
  assert.deepEqual(mnist.pretrainOptimizer, { type: "adam", lr: 1e-3 });
  assert.deepEqual(mnist.noise, { kind: "none", factor: 0 });
  assert.equal(mnist.inputScaling, "auto");
  assert.equal(mnist.centerInit, "manifold");
  assert.deepEqual(mnist.manifold, {
    nComponents: 10,
    nNeighbors: 20,
    minDist: 0,
    nEpochs: 200,
    restarts: 4,
    selfTrain: false,
    anchorUpdates: 10,
    holdEpochs: 30,
    maxRows: 200_000,
  });
  assert.deepEqual([mnist.method, mnist.target, mnist.tol], ["dec", "full", 0.001]);
  assert.deepEqual(mnist.optimizer, { type: "sgd", lr: 0.01, momentum: 0.9 });
  const reuters = presetRecipe("manifold", { rows: 6018, cols: 100, batchSize: 256 });
  assert.deepEqual([reuters.hidden, reuters.pretrainEpochs], [[200, 200, 800, 10], 100]);
  assert.equal(reuters.centerInit, "manifold");
  // Inputs of at most 20 features start from a Gaussian mixture of the code, with the same held phase.
  const tabular = presetRecipe("manifold", { rows: 20_000, cols: 16, batchSize: 256 });
  assert.deepEqual([tabular.hidden, tabular.pretrainEpochs], [[64, 64, 256, 10], 100]);
  assert.deepEqual([tabular.centerInit, tabular.manifold], ["gmm", { ...mnist.manifold, holdEpochs: 100 }]);
  // Choosing the other start begins from that start's own defaults.
  const layoutOnNarrow = resolveRecipe(
    "manifold",
    { rows: 20_000, cols: 16, batchSize: 256 },
    { centerInit: "manifold" },
  );
  assert.deepEqual(layoutOnNarrow.manifold, mnist.manifold);
  const mixtureOnWide = resolveRecipe("manifold", { rows: 6018, cols: 100, batchSize: 256 }, { centerInit: "gmm" });
  assert.equal(mixtureOnWide.manifold!.holdEpochs, 100);
  assert.equal(presetRecipe("manifold", { rows: 569, cols: 20, batchSize: 256 }).centerInit, "gmm");
  assert.equal(presetRecipe("manifold", { rows: 569, cols: 21, batchSize: 256 }).centerInit, "manifold");
  // Small data: at least 1,000 steps, however many epochs that takes.
  const iris = presetRecipe("manifold", { rows: 150, cols: 4, batchSize: 256 });
  assert.deepEqual([iris.hidden, iris.pretrainEpochs], [[64, 64, 256, 10], 1000]);
  assert.equal(presetRecipe("manifold", { rows: 1797, cols: 64, batchSize: 256 }).pretrainEpochs, 125); // 8 steps per epoch
  const big = presetRecipe("manifold", { rows: 2_000_000, cols: 768, batchSize: 256 });
  assert.deepEqual([big.hidden, big.pretrainEpochs], [[500, 500, 2000, 10], 20]);
});

test("paper and reference resolve to the DEC paper's and the reference implementation's settings", () => {
  const paper = presetRecipe("paper", { rows: 6018, cols: 100, batchSize: 256 });
  assert.deepEqual(
    [paper.hidden, paper.pretrainEpochs, paper.inputScaling, paper.centerInit, paper.target],
    [[500, 500, 2000, 10], 50, "none", "kmeans", "full"],
  );
  assert.deepEqual(paper.pretrainOptimizer, { type: "sgd", lr: 1, momentum: 0.9 });
  assert.deepEqual(paper.noise, { kind: "none", factor: 0 });
  const ref = presetRecipe("reference", { rows: 6018, cols: 100, batchSize: 256 });
  assert.deepEqual(
    [ref.hidden, ref.pretrainEpochs, ref.inputScaling, ref.centerInit, ref.target],
    [[256, 32], 50, "none", "kmeans", "batch"],
  );
  assert.deepEqual(ref.pretrainOptimizer, { type: "adam", lr: 1e-3 });
  assert.deepEqual(ref.noise, { kind: "mask", factor: 0.3 });
  // The library's route to the same recipe.
  const c = presetConfig("reference", { rows: 6018, cols: 100 }, 10);
  assert.deepEqual(
    [c.k, c.hidden, c.target, c.centerInit, c.pretrain?.epochs, c.pretrain?.noise],
    [10, [256, 32], "batch", "kmeans", 50, { kind: "mask", factor: 0.3 }],
  );
});

test("the CLI records a preset's settings in config.json, and a flag overrides only its own", () => {
  const out = join(dir, "ref");
  const r = spawnSync(
    process.execPath,
    [
      cli,
      "train",
      digits,
      "-k",
      "10",
      "--preset",
      "reference",
      "--pretrain-epochs",
      "2",
      "--max-iter",
      "20",
      "--threads",
      "1",
      "--no-report",
      "--no-baseline",
      "--out",
      out,
      "--json",
    ],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
  assert.deepEqual(config.dims, [64, 256, 32]);
  const t = config.training;
  assert.deepEqual([t.centerInit, t.target, t.inputScaling, t.pretrain.epochs], ["kmeans", "batch", "none", 2]);
  assert.deepEqual(t.pretrain.optimizer, { type: "adam", lr: 1e-3 });
  assert.deepEqual(t.pretrain.noise, { kind: "mask", factor: 0.3 });
  assert.equal(JSON.parse(r.stdout).preset, "reference");
});
