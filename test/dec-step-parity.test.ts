// One DEC / IDEC step against PyTorch (test/fixtures/gen_dec_step.py): the batch's soft
// assignment q, the KL loss with a given (full-dataset) or per-batch target, the gradient norm,
// and every parameter after one SGD or Adam step, including IDEC and a frozen encoder.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Rng, Tensor } from "../src/engine/index.js";
import { CENTERS } from "../src/nn/index.js";
import { Autoencoder } from "../src/dec/autoencoder.js";
import { SoftAssigner, compileClusteringStep } from "../src/dec/dec-training.js";
import { closeness } from "./helpers/reference64.js";

interface Case {
  name: string;
  alpha: number;
  target: "full" | "batch";
  method: "dec" | "idec";
  gamma?: number;
  trainable: string[];
  optimizer: { type: "sgd"; momentum: number } | { type: "adam" };
  groups: Record<string, number>;
  clip: { maxNorm: number } | null;
  p: number[];
  q: number[];
  loss: number;
  lossRec?: number;
  lossKl?: number;
  gradNorm: number;
  after1: Record<string, number[]>;
}
const fx = JSON.parse(readFileSync(new URL("./fixtures/dec_step.json", import.meta.url), "utf8")) as {
  dims: number[];
  k: number;
  batchShape: [number, number];
  x: number[];
  initial: Record<string, { shape: number[]; data: number[] }>;
  cases: Case[];
};

for (const c of fx.cases) {
  test(`${c.name}: one ${c.method.toUpperCase()} step (target ${c.target}, alpha ${c.alpha}) matches PyTorch`, async () => {
    const ae = new Autoencoder({ dims: fx.dims }, new Rng(0), { threads: 1 });
    ae.params.define(CENTERS, fx.initial[CENTERS]!.shape, Float32Array.from(fx.initial[CENTERS]!.data));
    for (const [name, t] of Object.entries(fx.initial)) ae.params.set(name, Float32Array.from(t.data));
    const o = c.optimizer;
    const { step, assignment } = await compileClusteringStep(ae, fx.k, {
      method: c.method,
      alpha: c.alpha,
      ...(c.gamma !== undefined ? { gamma: c.gamma } : {}),
      target: c.target,
      optimizer: o.type === "sgd" ? { type: "sgd", lr: 0, momentum: o.momentum } : { type: "adam", lr: 0 },
      groupLr: c.groups,
      clipNorm: c.clip?.maxNorm ?? null,
      freezeEncoder: !c.trainable.some((n) => n.startsWith("encoder.")),
    });
    const [rows, d] = fx.batchShape;
    const x = new Tensor(Float32Array.from(fx.x), [rows, d]);

    const q = await new SoftAssigner(ae, assignment, () => ae.params.tensor(CENTERS)).predictProba({
      data: x.data as Float32Array,
      rows,
      cols: d,
    });
    assert.ok(closeness(q.data, c.q, 1e-5, 1e-7) <= 1, "soft assignment q");

    const r = await step.run(c.target === "full" ? { x, p: new Tensor(Float32Array.from(c.p), [rows, fx.k]) } : { x });
    assert.ok(Math.abs(r.loss - c.loss) <= 1e-5 * c.loss, `loss ${r.loss} vs torch ${c.loss}`);
    if (c.lossRec !== undefined) {
      assert.ok(Math.abs(r.metrics.loss_rec! - c.lossRec) <= 1e-5 * c.lossRec, "reconstruction part");
      assert.ok(Math.abs(r.metrics.loss_kl! - c.lossKl!) <= 1e-5 * c.lossKl!, "clustering part");
    }
    if (c.clip)
      assert.ok(Math.abs(r.gradNorm! - c.gradNorm) <= 1e-5 * c.gradNorm, `grad norm ${r.gradNorm} vs ${c.gradNorm}`);
    for (const [name, want] of Object.entries(c.after1)) {
      const k = closeness(ae.params.value(name), want, 1e-5, 1e-7);
      assert.ok(k <= 1, `${name} after one step differs from PyTorch (closeness ${k.toFixed(2)})`);
    }
    await step.release();
  });
}
