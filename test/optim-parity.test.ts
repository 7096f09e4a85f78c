// One-step and ten-step parity with PyTorch optimizers (Adam, SGD with momentum/dampening/
// Nesterov, weight decay, two learning-rate groups, global-norm clipping) on a committed fixture
// written by test/fixtures/gen_optim_parity.py (Debian python3-torch).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Rng, Tensor } from "../src/engine/index.js";
import { Adam, SGD, TrainingStep, mse, type Optimizer } from "../src/nn/index.js";
import { Autoencoder } from "../src/dec/autoencoder.js";
import { closeness } from "./helpers/reference64.js";

interface Case {
  name: string;
  optimizer:
    | { type: "adam"; betas: [number, number]; eps: number; weightDecay: number }
    | { type: "sgd"; momentum: number; dampening: number; nesterov: boolean; weightDecay: number };
  groups: { encoder: number; decoder: number };
  clip: { maxNorm: number } | null;
  losses: number[];
  gradNorms: number[];
  after1: Record<string, number[]>;
  after10: Record<string, number[]>;
}
const fixture = JSON.parse(readFileSync(new URL("./fixtures/optim_parity.json", import.meta.url), "utf8")) as {
  dims: number[];
  batchShape: [number, number];
  batches: number[][];
  initial: Record<string, { shape: number[]; data: number[] }>;
  cases: Case[];
};

function optimizerFor(c: Case): Optimizer {
  const groupLr = { encoder: c.groups.encoder, decoder: c.groups.decoder };
  const o = c.optimizer;
  return o.type === "adam"
    ? new Adam({ lr: 0, groupLr, betas: o.betas, eps: o.eps, weightDecay: o.weightDecay })
    : new SGD({
        lr: 0,
        groupLr,
        momentum: o.momentum,
        dampening: o.dampening,
        nesterov: o.nesterov,
        weightDecay: o.weightDecay,
      });
}

async function setup(c: Case) {
  const ae = new Autoencoder({ dims: fixture.dims }, new Rng(0));
  for (const [name, t] of Object.entries(fixture.initial)) ae.params.set(name, Float32Array.from(t.data));
  const net = ae.autoencoder();
  const step = await TrainingStep.compile(
    {
      name: c.name,
      params: net.params,
      inputs: [{ name: "x", shape: ["batch", fixture.batchShape[1]] }],
      objective: (ctx, i) => {
        const f = net.forward(ctx, i.x!);
        const l = mse(ctx.g, f.y, i.x!);
        return { loss: l.loss, backward: () => void f.backward(l.grad(), false) };
      },
      optimizer: optimizerFor(c),
      clipNorm: c.clip?.maxNorm ?? null,
    },
    ae.params,
    { threads: 1 },
  );
  return { ae, step };
}

function assertMatches(ae: Autoencoder, expected: Record<string, number[]>, when: string): void {
  for (const [name, want] of Object.entries(expected)) {
    const k = closeness(ae.params.value(name), want, 1e-5, 1e-7);
    assert.ok(k <= 1, `${name} after ${when} differs from PyTorch (closeness ${k.toFixed(2)})`);
  }
}

for (const c of fixture.cases) {
  test(`${c.name}: 1 and 10 steps match PyTorch to 1e-5 relative`, async () => {
    const { ae, step } = await setup(c);
    for (let s = 0; s < 10; s++) {
      const r = await step.run({ x: new Tensor(Float32Array.from(fixture.batches[s]!), fixture.batchShape) });
      assert.ok(
        Math.abs(r.loss - c.losses[s]!) <= 1e-5 * Math.abs(c.losses[s]!),
        `step ${s + 1} loss ${r.loss} vs torch ${c.losses[s]}`,
      );
      if (c.clip)
        assert.ok(
          Math.abs(r.gradNorm! - c.gradNorms[s]!) <= 1e-5 * c.gradNorms[s]!,
          `step ${s + 1} grad norm ${r.gradNorm} vs ${c.gradNorms[s]}`,
        );
      if (s === 0) assertMatches(ae, c.after1, "1 step");
    }
    assertMatches(ae, c.after10, "10 steps");
    await step.release();
  });

  test(`${c.name}: 10 steps in one run (one Scan over stacked batches) match PyTorch`, async () => {
    const { ae, step } = await setup(c);
    const [b, d] = fixture.batchShape;
    const r = await step.runSteps({ x: new Tensor(Float32Array.from(fixture.batches.flat()), [10, b, d]) });
    c.losses.forEach((l, s) =>
      assert.ok(Math.abs(r.losses[s]! - l) <= 1e-5 * l, `step ${s + 1} loss ${r.losses[s]} vs torch ${l}`),
    );
    assert.equal(step.t, 10);
    assertMatches(ae, c.after10, "10 steps in one run");
    await step.release();
  });
}

test("a step decay schedule multiplies the learning rate like PyTorch's StepLR stepped per iteration", async () => {
  const { makeOptimizer } = await import("../src/dec/optimizers.js");
  const sgd = makeOptimizer({ type: "sgd", lr: 0.1, momentum: 0.9, stepDecay: { every: 2, gamma: 0.1 } });
  const lrs = [1, 2, 3, 4, 5].map((t) => sgd.scalarValues(t, ["encoder"])["sgd.lr/encoder"]!);
  [0.1, 0.1, 0.01, 0.01, 0.001].forEach((want, i) =>
    assert.ok(Math.abs(lrs[i]! - want) < 1e-12, `step ${i + 1}: ${lrs[i]}`),
  );
});
