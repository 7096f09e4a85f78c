// deepclust's reference configuration (per-batch target, Adam with two groups, clipping, fixed
// order) against the reference's own DEC loop in PyTorch over several epochs
// (test/fixtures/gen_reference_loop.py): the batches must follow the data's order, each epoch
// ending with a partial batch, as the reference's DataLoader(shuffle=False) hands them out.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Rng } from "../src/engine/index.js";
import { CENTERS } from "../src/nn/index.js";
import { Autoencoder } from "../src/dec/autoencoder.js";
import { trainClustering } from "../src/dec/dec-training.js";
import { closeness } from "./helpers/reference64.js";

const fx = JSON.parse(readFileSync(new URL("./fixtures/reference_loop.json", import.meta.url), "utf8")) as {
  n: number;
  d: number;
  k: number;
  batchSize: number;
  encoderLr: number;
  centersLr: number;
  clip: number;
  x: number[];
  initial: Record<string, { shape: number[]; data: number[] }>;
  epochs: Array<{ loss: number; params: Record<string, number[]> }>;
};
const CENTERS_NAME = "assignment.cluster_centers";

test("the reference configuration follows the reference's DEC loop epoch by epoch (fixed order, partial last batch)", async () => {
  const ae = new Autoencoder({ dims: [fx.d, 5, 3] }, new Rng(0), { threads: 1 });
  for (const [name, t] of Object.entries(fx.initial))
    if (name !== CENTERS_NAME) ae.params.set(name, Float32Array.from(t.data));
  const X = { data: Float32Array.from(fx.x), rows: fx.n, cols: fx.d };
  const perEpoch = Math.ceil(fx.n / fx.batchSize); // 16, 16, 16 and 2 rows
  const epochs: Array<{ loss: number | null; params: Record<string, Float32Array> }> = [];
  const r = await trainClustering(
    ae,
    X,
    Float32Array.from(fx.initial[CENTERS_NAME]!.data),
    new Rng(1),
    {
      target: "batch",
      optimizer: { type: "adam", lr: fx.centersLr },
      groupLr: { encoder: fx.encoderLr },
      clipNorm: fx.clip,
      shuffle: false,
      batchSize: fx.batchSize,
      updateInterval: perEpoch,
      maxIter: perEpoch * fx.epochs.length,
      tol: 0,
    },
    {
      onUpdate: (rec) => {
        if (rec.iteration === 0) return;
        const params: Record<string, Float32Array> = {};
        for (const name of Object.keys(fx.initial))
          params[name] = ae.params.value(name === CENTERS_NAME ? CENTERS : name).slice();
        epochs.push({ loss: rec.loss, params });
      },
    },
  );
  assert.equal(r.iterations, perEpoch * fx.epochs.length);
  assert.equal(epochs.length, fx.epochs.length);
  fx.epochs.forEach((want, e) => {
    const got = epochs[e]!;
    assert.ok(
      Math.abs(got.loss! - want.loss) <= 1e-4 * want.loss,
      `epoch ${e + 1}: mean loss ${got.loss} vs PyTorch ${want.loss}`,
    );
    for (const [name, w] of Object.entries(want.params)) {
      const c = closeness(got.params[name]!, w, 1e-4, 1e-6);
      assert.ok(c <= 1, `epoch ${e + 1}: ${name} differs from PyTorch (closeness ${c.toFixed(2)})`);
    }
  });
});
