// The engine: shape-checked graph building, ONNX serialisation run by onnxruntime, preallocated
// outputs, the ping-pong parameter store, execution providers, and the seeded generator.

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CompiledGraph,
  DeviceUnavailableError,
  Graph,
  GraphError,
  Rng,
  StateStore,
  Tensor,
  executionProviders,
  nextName,
} from "../src/engine/index.js";

test("op helpers infer shapes and reject mismatches at build time", () => {
  const g = new Graph("shapes");
  const x = g.input("x", "float32", ["batch", 5]);
  const w = g.input("w", "float32", [3, 5]);
  const y = g.gemm(x, w, { transB: true });
  assert.deepEqual(y.shape, ["batch", 3]);
  assert.deepEqual(g.reduceSum(y, [0]).shape, [3]);
  assert.deepEqual(g.reduceSum(y, [1], true).shape, ["batch", 1]);
  assert.throws(() => g.gemm(x, w), GraphError, "inner dims 5 vs 3");
  assert.throws(() => g.add(y, g.input("z", "float32", [4])), /do not broadcast/);
  assert.throws(() => g.input("x", "float32", [1]), /already used/);
});

test("a built graph runs in onnxruntime and writes into preallocated outputs", async () => {
  const g = new Graph("affine");
  const x = g.input("x", "float32", ["batch", 2]);
  const w = g.input("w", "float32", [3, 2]);
  const b = g.input("b", "float32", [3]);
  g.output(g.relu(g.gemm(x, w, { transB: true }, b)), "y");
  g.output(g.sumAll(x), "total");
  const s = await CompiledGraph.create(g, { threads: 1 });
  const out = Tensor.zeros([2, 3]);
  const r = await s.run(
    {
      x: new Tensor(Float32Array.from([1, 2, 3, 4]), [2, 2]),
      w: new Tensor(Float32Array.from([1, 0, 0, 1, -1, -1]), [3, 2]),
      b: new Tensor(Float32Array.from([0, 0.5, 0]), [3]),
    },
    { y: out },
  );
  assert.equal(r.y, out.data, "the output came back in the caller's buffer");
  assert.deepEqual([...out.data], [1, 2.5, 0, 3, 4.5, 0]);
  assert.deepEqual([...(r.total as Float32Array)], [10]);
  await assert.rejects(s.run({ x: new Tensor(new Float32Array(2), [1, 2]) }), /missing input 'w'/);
  await s.release();
});

test("the state store feeds the current buffer and fetches the successor into the other", async () => {
  const g = new Graph("inc");
  const v = g.input("v", "float32", [3]);
  g.output(g.add(v, g.scalar(1)), nextName("v"));
  const s = await CompiledGraph.create(g, { threads: 1 });
  const store = new StateStore();
  store.define("v", [3], Float32Array.from([1, 2, 3]));
  const seen = new Set<Float32Array>();
  for (let i = 0; i < 4; i++) {
    const feeds: Record<string, Tensor> = {};
    const fetches: Record<string, Tensor> = {};
    store.bind("v", feeds, fetches);
    seen.add(feeds.v!.data as Float32Array).add(fetches[nextName("v")]!.data as Float32Array);
    await s.run(feeds, fetches);
    store.flip(["v"]);
  }
  assert.deepEqual([...store.value("v")], [5, 6, 7]);
  assert.equal(seen.size, 2, "only two buffers are ever used");
  assert.throws(() => store.value("w"), /unknown state 'w'/);
  await s.release();
});

test("an unavailable execution provider fails with a message that says how to enable it", () => {
  assert.deepEqual(executionProviders("cpu"), ["cpu"]);
  assert.throws(
    () => executionProviders("cuda"),
    (e: unknown) =>
      e instanceof DeviceUnavailableError &&
      /ONNXRUNTIME_NODE_INSTALL=cuda12/.test(e.message) &&
      /--device cpu/.test(e.message),
  );
});

test("the generator is reproducible, restorable and roughly uniform/normal", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 5 }, () => a.u32());
  assert.deepEqual(
    xs,
    Array.from({ length: 5 }, () => b.u32()),
  );
  assert.notDeepEqual(
    xs,
    Array.from({ length: 5 }, () => new Rng(43).u32()),
  );
  const st = a.getState();
  const next = [a.uniform(), a.normal(), a.normal()];
  a.setState(st);
  assert.deepEqual([a.uniform(), a.normal(), a.normal()], next);
  const bulk = new Uint32Array(4);
  const c = new Rng(9);
  const d = new Rng(9);
  c.fillUint32(bulk);
  assert.deepEqual([...bulk], [d.u32(), d.u32(), d.u32(), d.u32()], "bulk and scalar paths give the same stream");
  const r = new Rng(1);
  let s = 0;
  let s2 = 0;
  const n = 200_000;
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(s / n) < 0.01 && Math.abs(s2 / n - 1) < 0.02);
  const p = new Rng(5).permutation(1000);
  assert.deepEqual(
    [...p].sort((x, y) => x - y),
    Array.from({ length: 1000 }, (_, i) => i),
  );
});
