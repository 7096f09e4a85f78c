// Finite-difference gradient checks: the backward rules emitted into ONNX graphs (float32) against
// central differences of an independent float64 reference forward pass.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng, StateStore, Tensor, type Value } from "../src/engine/index.js";
import {
  CENTERS,
  Dense,
  L2Normalize,
  ReLU,
  Sequential,
  StudentTAssignment,
  computeGradients,
  klDivergence,
  mse,
  type BuildContext,
  type Layer,
} from "../src/nn/index.js";
import { Autoencoder } from "../src/dec/autoencoder.js";
import {
  closeness,
  forward64,
  kl64,
  mse64,
  numericGrad,
  studentT64,
  type Op,
  type Params64,
} from "./helpers/reference64.js";

const ROWS = 4;

function randn(rng: Rng, n: number, scale = 1, awayFromZero = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = rng.normal() * scale;
    if (Math.abs(v) < awayFromZero) v = Math.sign(v || 1) * (awayFromZero + Math.abs(v));
    a[i] = v;
  }
  return a;
}

function to64(store: StateStore): Params64 {
  const p: Params64 = {};
  for (const n of store.names()) p[n] = Float64Array.from(store.value(n));
  return p;
}

/** Checks d/dparams and d/dx of loss = Σ net(x) ⊙ R, which isolates the layer's backward rule. */
async function probeCheck(
  net: Layer,
  ops: Op[],
  inDim: number,
  outDim: number,
  x32: Float32Array,
  store: StateStore,
): Promise<void> {
  const rng = new Rng(7);
  const R = randn(rng, ROWS * outDim);
  const { grads, loss } = await computeGradients(
    {
      name: "probe",
      params: net.params,
      inputs: [
        { name: "x", shape: [ROWS, inDim] },
        { name: "r", shape: [ROWS, outDim] },
      ],
      objective: (ctx: BuildContext, i: Readonly<Record<string, Value>>) => {
        const f = net.forward(ctx, i.x!);
        return { loss: ctx.g.sumAll(ctx.g.mul(f.y, i.r!)), backward: () => ({ x: f.backward(i.r!, true)! }) };
      },
    },
    store,
    { x: new Tensor(x32, [ROWS, inDim]), r: new Tensor(R, [ROWS, outDim]) },
  );
  const p64 = to64(store);
  const x64 = Float64Array.from(x32);
  const f = () => forward64(ops, p64, x64, ROWS, inDim).y.reduce((s, v, k) => s + v * R[k]!, 0);
  assert.ok(Math.abs(loss - f()) < 1e-4 * Math.max(1, Math.abs(f())), `loss ${loss} vs reference ${f()}`);
  for (const name of [...net.params.map((p) => p.name), "x"]) {
    const target = name === "x" ? x64 : p64[name]!;
    const numeric = numericGrad(f, target);
    const c = closeness(grads[name]!, numeric, 2e-3, 2e-4);
    assert.ok(c <= 1, `gradient of ${name} differs from finite differences (closeness ${c.toFixed(2)})`);
  }
}

function denseStore(layers: Dense[], rng: Rng): StateStore {
  const s = new StateStore();
  for (const l of layers)
    for (const p of l.params)
      s.define(
        p.name,
        p.shape,
        p.init(
          rng,
          p.shape.reduce((a, b) => a * b, 1),
          l.inFeatures,
          l.outFeatures,
        ),
      );
  return s;
}

test("Dense backward matches finite differences (weight, bias, input)", async () => {
  const rng = new Rng(1);
  const d = new Dense("fc", 5, 3, "g");
  await probeCheck(
    d,
    [{ kind: "dense", w: "fc.weight", b: "fc.bias", inF: 5, outF: 3 }],
    5,
    3,
    randn(rng, ROWS * 5),
    denseStore([d], rng),
  );
});

test("ReLU backward matches finite differences", async () => {
  const rng = new Rng(2);
  await probeCheck(new ReLU(), [{ kind: "relu" }], 6, 6, randn(rng, ROWS * 6, 1, 0.05), new StateStore());
});

test("L2 normalisation backward matches finite differences", async () => {
  const rng = new Rng(3);
  await probeCheck(new L2Normalize(), [{ kind: "l2n" }], 5, 5, randn(rng, ROWS * 5), new StateStore());
});

test("Dense→ReLU→Dense stack backward matches finite differences", async () => {
  const rng = new Rng(4);
  const a = new Dense("l0", 6, 4, "g");
  const b = new Dense("l1", 4, 3, "g");
  const store = denseStore([a, b], rng);
  await probeCheck(
    new Sequential([a, new ReLU(), b]),
    [
      { kind: "dense", w: "l0.weight", b: "l0.bias", inF: 6, outF: 4 },
      { kind: "relu" },
      { kind: "dense", w: "l1.weight", b: "l1.bias", inF: 4, outF: 3 },
    ],
    6,
    3,
    randn(rng, ROWS * 6),
    store,
  );
});

for (const normalizeCode of [false, true]) {
  test(`full autoencoder with MSE matches finite differences (normalizeCode=${normalizeCode})`, async () => {
    const rng = new Rng(5);
    const dims = [7, 5, 4, 3];
    const ae = new Autoencoder({ dims, normalizeCode }, rng);
    const net = ae.autoencoder();
    const xin = randn(rng, ROWS * 7);
    const target = randn(rng, ROWS * 7);
    const { grads, loss } = await computeGradients(
      {
        name: "ae",
        params: net.params,
        inputs: [
          { name: "x_in", shape: ["batch", 7] },
          { name: "x_target", shape: ["batch", 7] },
        ],
        objective: (ctx, i) => {
          const f = net.forward(ctx, i.x_in!);
          const l = mse(ctx.g, f.y, i.x_target!);
          return {
            loss: l.loss,
            backward: () => ({ x_in: f.backward(l.grad(), true)!, x_target: ctx.g.neg(l.grad()) }),
          };
        },
      },
      ae.params,
      { x_in: new Tensor(xin, [ROWS, 7]), x_target: new Tensor(target, [ROWS, 7]) },
    );
    const ops: Op[] = [];
    ae.encoderLayers.forEach((l, k) => {
      ops.push({ kind: "dense", w: l.weight.name, b: l.bias.name, inF: l.inFeatures, outF: l.outFeatures });
      if (k < ae.encoderLayers.length - 1) ops.push({ kind: "relu" });
    });
    if (normalizeCode) ops.push({ kind: "l2n" });
    ae.decoderLayers.forEach((l, k) => {
      ops.push({ kind: "dense", w: l.weight.name, b: l.bias.name, inF: l.inFeatures, outF: l.outFeatures });
      if (k < ae.decoderLayers.length - 1) ops.push({ kind: "relu" });
    });
    const p64 = to64(ae.params);
    const x64 = Float64Array.from(xin);
    const t64 = Float64Array.from(target);
    const f = () => mse64(forward64(ops, p64, x64, ROWS, 7).y, t64);
    assert.ok(Math.abs(loss - f()) < 1e-5 * Math.max(1, f()), `loss ${loss} vs ${f()}`);
    for (const name of ae.allParams.map((p) => p.name)) {
      const c = closeness(grads[name]!, numericGrad(f, p64[name]!), 2e-3, 1e-5);
      assert.ok(c <= 1, `gradient of ${name}: closeness ${c.toFixed(2)}`);
    }
    assert.ok(closeness(grads.x_in!, numericGrad(f, x64), 2e-3, 1e-5) <= 1, "gradient of the input");
    assert.ok(closeness(grads.x_target!, numericGrad(f, t64), 2e-3, 1e-5) <= 1, "gradient of the MSE target");
  });
}

for (const alpha of [1, 2.5]) {
  test(`Student-t assignment backward (code and centres) matches finite differences (alpha=${alpha})`, async () => {
    const rng = new Rng(8);
    const k = 4;
    const dim = 3;
    const layer = new StudentTAssignment(k, dim, alpha);
    const store = new StateStore();
    store.define(CENTERS, [k, dim], randn(rng, k * dim));
    const z = randn(rng, ROWS * dim);
    const R = randn(rng, ROWS * k);
    const { grads, loss } = await computeGradients(
      {
        name: "assign",
        params: layer.params,
        inputs: [
          { name: "z", shape: [ROWS, dim] },
          { name: "r", shape: [ROWS, k] },
        ],
        objective: (ctx, i) => {
          const f = layer.forward(ctx, i.z!);
          return { loss: ctx.g.sumAll(ctx.g.mul(f.y, i.r!)), backward: () => ({ z: f.backward(i.r!, true)! }) };
        },
      },
      store,
      { z: new Tensor(z, [ROWS, dim]), r: new Tensor(R, [ROWS, k]) },
    );
    const z64 = Float64Array.from(z);
    const mu64 = Float64Array.from(store.value(CENTERS));
    const f = () => studentT64(z64, mu64, ROWS, k, dim, alpha).reduce((s, v, i) => s + v * R[i]!, 0);
    assert.ok(Math.abs(loss - f()) < 1e-5 * Math.max(1, Math.abs(f())));
    assert.ok(closeness(grads.z!, numericGrad(f, z64), 2e-3, 1e-5) <= 1, "gradient of the code");
    assert.ok(closeness(grads[CENTERS]!, numericGrad(f, mu64), 2e-3, 1e-5) <= 1, "gradient of the centres");
  });
}

test("KL(P‖Q) through the Student-t assignment matches finite differences; P gets no gradient", async () => {
  const rng = new Rng(9);
  const k = 5;
  const dim = 2;
  const layer = new StudentTAssignment(k, dim, 1);
  const store = new StateStore();
  store.define(CENTERS, [k, dim], randn(rng, k * dim));
  const z = randn(rng, ROWS * dim);
  const p = Float32Array.from({ length: ROWS * k }, () => 0.05 + rng.uniform());
  for (let i = 0; i < ROWS; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += p[i * k + j]!;
    for (let j = 0; j < k; j++) p[i * k + j]! /= s;
  }
  const { grads, loss } = await computeGradients(
    {
      name: "kl",
      params: layer.params,
      inputs: [
        { name: "z", shape: ["batch", dim] },
        { name: "p", shape: ["batch", k] },
      ],
      objective: (ctx, i) => {
        const f = layer.forward(ctx, i.z!);
        const l = klDivergence(ctx.g, i.p!, f.y);
        return { loss: l.loss, backward: () => ({ z: f.backward(l.grad(), true)! }) };
      },
    },
    store,
    { z: new Tensor(z, [ROWS, dim]), p: new Tensor(p, [ROWS, k]) },
  );
  const z64 = Float64Array.from(z);
  const mu64 = Float64Array.from(store.value(CENTERS));
  const p64 = Float64Array.from(p);
  const f = () => kl64(p64, studentT64(z64, mu64, ROWS, k, dim, 1), ROWS);
  assert.ok(Math.abs(loss - f()) < 1e-5 * Math.max(1, f()), `loss ${loss} vs ${f()}`);
  assert.ok(closeness(grads.z!, numericGrad(f, z64), 2e-3, 1e-6) <= 1, "gradient of the code");
  assert.ok(closeness(grads[CENTERS]!, numericGrad(f, mu64), 2e-3, 1e-6) <= 1, "gradient of the centres");
});
