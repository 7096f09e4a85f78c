// How k-means' E-step picks the nearest centre: onnxruntime's ArgMin over each row of the n × k
// scores (kernels.ts), TopK(1) over the same, and ArgMin over axis 0 of the transposed k × n scores,
// on the 20,000 × 16 mixture with k = 26 at one thread (a lane's setting), with the centres at
// random rows. Rounds rotate the graphs; medians of the per-step times. Also checks that all
// give the same labels on centre sets with exact ties (a duplicated centre).
//
//   bash bench/datasets/build.sh && node --import tsx bench/diagnostics/kmeans-argmin.ts [--rounds 5]

import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { Graph, type Value } from "../../src/engine/graph.js";
import { CompiledGraph } from "../../src/engine/session.js";
import { Tensor } from "../../src/engine/tensor.js";
import { Rng } from "../../src/engine/random.js";
import { prepareData } from "../../src/cluster/kernels.js";
import { readDataset } from "../../src/index.js";
import { median } from "../torch-sweep.js";
import { cpuName } from "../cpu.js";

const { values: a } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    results: { type: "string", default: "bench/results/kmeans-argmin.jsonl" },
  },
});
const rounds = Number(a.rounds);
const src = "bench/datasets/data/gmm-large-k.csv";
if (!existsSync(src)) throw new Error(`${src} is missing: run bash bench/datasets/build.sh`);
const data = prepareData((await readDataset(src)).X);
const k = 26;
const { n, w } = data;
const x = Tensor.float32(data.xa, [n, w]);

type Variant = "argmin" | "topk" | "argmin-transposed";
const VARIANTS: Variant[] = ["argmin", "topk", "argmin-transposed"];

function graph(nearest: Variant): Graph {
  const g = new Graph(nearest);
  const rows = g.input("x", "float32", ["n", w]);
  const cent = g.input("c", "float32", [k, w]);
  let idx: Value;
  if (nearest === "argmin-transposed") {
    const s = g.gemm(cent, rows, { transB: true });
    idx = g.node("ArgMin", [s], [{ dtype: "int64", shape: ["n"] }], { axis: 0, keepdims: 0 })[0]!;
  } else if (nearest === "argmin") {
    const s = g.gemm(rows, cent, { transB: true });
    idx = g.node("ArgMin", [s], [{ dtype: "int64", shape: ["n"] }], { axis: 1, keepdims: 0 })[0]!;
  } else {
    const s = g.gemm(rows, cent, { transB: true });
    const out = g.node(
      "TopK",
      [s, g.ints([1])],
      [
        { dtype: "float32", shape: ["n", 1] },
        { dtype: "int64", shape: ["n", 1] },
      ],
      { axis: 1, largest: 0, sorted: 1 },
    );
    idx = g.reshape(out[1]!, [-1]);
  }
  g.output(g.cast(idx, "int32"), "labels");
  return g;
}

/** Augmented centres (see kernels.ts) at random rows, centre 5 a copy of centre 3 (exact ties). */
function centres(rng: Rng): Tensor<Float32Array> {
  const c = new Float32Array(k * w);
  for (let j = 0; j < k; j++) {
    const r = rng.int(n);
    let sq = 0;
    for (let q = 0; q < w - 2; q++) {
      const v = data.xa[r * w + q]!;
      c[j * w + q] = -2 * v;
      sq += v * v;
    }
    c[j * w + w - 2] = sq;
  }
  c.copyWithin(5 * w, 3 * w, 4 * w);
  return Tensor.float32(c, [k, w]);
}

const engines = {} as Record<Variant, CompiledGraph>;
for (const v of VARIANTS) engines[v] = await CompiledGraph.create(graph(v), { threads: 1 });
const rng = new Rng(0);
let differing = 0;
for (let t = 0; t < 100; t++) {
  const c = centres(rng);
  const labels: Int32Array[] = [];
  for (const v of VARIANTS) {
    const o = new Tensor(new Int32Array(n), [n]);
    await engines[v].run({ x, c }, { labels: o });
    labels.push(o.data);
  }
  for (let i = 0; i < n; i++) if (labels.some((l) => l[i] !== labels[0]![i])) differing++;
}

const c = centres(rng);
const out = new Tensor(new Int32Array(n), [n]);
const ms: Record<Variant, number[]> = { argmin: [], topk: [], "argmin-transposed": [] };
const steps = 500;
for (let r = 0; r < rounds; r++) {
  for (let j = 0; j < VARIANTS.length; j++) {
    const name = VARIANTS[(r + j) % VARIANTS.length]!;
    for (let i = 0; i < 50; i++) await engines[name].run({ x, c }, { labels: out });
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await engines[name].run({ x, c }, { labels: out });
    ms[name].push((performance.now() - t0) / steps);
  }
}
const msPerStep = Object.fromEntries(VARIANTS.map((v) => [v, median(ms[v])])) as Record<Variant, number>;
const record = {
  date: new Date().toISOString(),
  cpu: cpuName(),
  shape: [n, data.d],
  k,
  threads: 1,
  rounds,
  msPerStep,
  raw: ms,
  rowsDiffering: differing,
};
console.log(
  `E-step on ${n} × ${data.d}, k = ${k}, 1 thread, medians of ${rounds} rounds (ms per step): ${VARIANTS.map((v) => `${v} ${msPerStep[v].toFixed(3)}`).join(", ")}; rows whose labels differ on 100 centre sets with ties: ${differing}`,
);
mkdirSync("bench/results", { recursive: true });
appendFileSync(a.results!, JSON.stringify(record) + "\n");
