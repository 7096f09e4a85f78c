// What crossing the JS boundary costs: onnxruntime-node copies every graph output (including
// "preallocated" ones) back into JavaScript memory, so a training step that returns its updated
// weights and optimizer state pays a copy of all of them. This runs pretraining with K = 1
// (state crosses every step) and K = 16 (once per 16 steps, the default) on both benchmark
// architectures, and times the raw output copy of an onnxruntime call.
//
//   node --import tsx bench/steps-per-run.ts

import { Autoencoder, CompiledGraph, Graph, Rng, Tensor, pretrainAutoencoder } from "../src/index.js";
import { mnistTrainImages } from "./mnist.js";

const X = mnistTrainImages(8192);

async function msPerStep(dims: number[], stepsPerRun: number): Promise<number> {
  const rng = new Rng(0);
  const ae = new Autoencoder({ dims }, rng, { threads: 2 });
  const h = await pretrainAutoencoder(ae, X, rng, { epochs: 3, stepsPerRun });
  const timed = h.slice(1);
  return (timed.reduce((s, e) => s + e.seconds, 0) / (timed.length * (X.rows / 256))) * 1000;
}

console.log("architecture                 state floats   K=1 ms/step   K=16 ms/step   saved");
for (const dims of [
  [784, 256, 32],
  [784, 500, 500, 2000, 10],
]) {
  const ae = new Autoencoder({ dims }, new Rng(0));
  const floats = 3 * ae.allParams.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0); // weights + Adam m, v
  const one = await msPerStep(dims, 1);
  const many = await msPerStep(dims, 16);
  console.log(
    `${dims.join("→").padEnd(28)} ${String(floats).padStart(12)}   ${one.toFixed(2).padStart(11)}   ${many.toFixed(2).padStart(12)}   ${(((one - many) / one) * 100).toFixed(0)} %`,
  );
}

// Raw cost of returning an output: Relu over N floats, returning the result vs only its sum.
const N = 4_000_000;
const g = new Graph("copy");
const a = g.input("a", "float32", [N]);
const r = g.relu(a);
g.output(r, "out");
g.output(g.sumAll(r), "sum");
const s = await CompiledGraph.create(g, { threads: 2 });
const x = new Tensor(
  Float32Array.from({ length: N }, (_, i) => (i % 7) - 3),
  [N],
);
const out = Tensor.zeros([N]);
const time = async (f: () => Promise<unknown>) => {
  for (let i = 0; i < 3; i++) await f();
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) await f();
  return (performance.now() - t0) / 20;
};
const sumOnly = await time(() => s.run({ a: x }, {}, ["sum"]));
const withOut = await time(() => s.run({ a: x }, { out }, ["out"]));
console.log(
  `returning ${N} floats (16 MB) from a call: +${(withOut - sumOnly).toFixed(2)} ms (${(((withOut - sumOnly) * 1e6) / N).toFixed(2)} ns/float)`,
);
