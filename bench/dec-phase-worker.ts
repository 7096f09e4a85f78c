// Child process of bench/dec-phase-throughput.ts: deepclust's DEC/IDEC clustering phase alone (no
// pretraining: the encoder keeps its initial weights; centres from one k-means run, not timed),
// the paper's loop with P over the full dataset every --update-interval iterations, tolerance
// off so every run takes exactly --iterations steps. Prints one JSON line.
// Run alone: node --import tsx bench/dec-phase-worker.ts --data x.npy --dims 500,500,2000,10 --k 10 --threads 2

import { parseArgs } from "node:util";
import { DEC, readNpy } from "../src/index.js";

const { values: a } = parseArgs({
  options: {
    data: { type: "string" },
    dims: { type: "string", default: "500,500,2000,10" },
    k: { type: "string", default: "10" },
    method: { type: "string", default: "dec" },
    iterations: { type: "string", default: "280" },
    "update-interval": { type: "string", default: "140" },
    threads: { type: "string", default: "2" },
    seed: { type: "string", default: "0" },
  },
});
if (!a.data) throw new Error("--data is required");
const X = readNpy(a.data);
const iterations = Number(a.iterations);
const dec = new DEC({
  k: Number(a.k),
  hidden: a.dims!.split(",").map(Number),
  pretrain: { epochs: 0 },
  centerInit: "kmeans",
  nInit: 1,
  method: a.method as "dec" | "idec",
  target: "full",
  optimizer: { type: "sgd", lr: 0.01, momentum: 0.9 },
  batchSize: 256,
  updateInterval: Number(a["update-interval"]),
  maxIter: iterations,
  tol: 0,
  seed: Number(a.seed),
  threads: Number(a.threads),
});
await dec.fit(X);
if (dec.iterations !== iterations) throw new Error(`ran ${dec.iterations} iterations, not ${iterations}`);
const seconds = dec.timings.clusteringSeconds;
console.log(
  JSON.stringify({
    engine: "deepclust",
    method: a.method,
    rows: X.rows,
    iterations,
    threads: Number(a.threads),
    seconds,
    iterations_per_s: iterations / seconds,
    clusters_found: new Set(dec.labels!).size,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  }),
);
