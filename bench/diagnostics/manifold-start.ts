// One dataset, one seed, stage by stage (a tuning-seed diagnostic; reporting seeds never run
// here): pretrain an autoencoder (--dims, --epochs, --popt sgd|adam, --plr, --noise none|<mask
// fraction>), k-means on its code, the manifold start (UMAP + GMM) on its code, then DEC/IDEC from
// that start with the mixture's posteriors held for --anchor target updates (0: DEC's own target
// from the start; the default recipe holds them until the labels settle). Prints one JSON line.
// The MNIST row of BENCHMARKS.md's tuning table ("SGD-pretrained AE, 50 epochs", seed 0):
//
//   node --import tsx bench/diagnostics/manifold-start.ts --data mnist --epochs 50 --popt sgd --plr 1 --anchor 10

import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  Autoencoder,
  Rng,
  DEC,
  kmeans,
  evaluateClustering,
  readDataset,
  pretrainAutoencoder,
  saveAutoencoder,
  loadAutoencoder,
  type Matrix,
} from "../../src/index.js";
import { manifoldClusters } from "../../src/cluster/manifold.js";
import { mnistImages, mnistLabels } from "../mnist.js";
const { values: a } = parseArgs({
  options: {
    data: { type: "string", default: "digits" },
    rows: { type: "string", default: "70000" },
    dims: { type: "string", default: "500,500,2000,10" },
    epochs: { type: "string", default: "50" },
    popt: { type: "string", default: "sgd" },
    plr: { type: "string", default: "1" },
    noise: { type: "string", default: "none" },
    seed: { type: "string", default: "0" },
    method: { type: "string", default: "dec" },
    init: { type: "string", default: "manifold" },
    comps: { type: "string", default: "10" },
    nn: { type: "string", default: "20" },
    uepochs: { type: "string" },
    cache: { type: "string" },
    "max-iter": { type: "string", default: "20000" },
    lr: { type: "string" },
    tol: { type: "string", default: "0.001" },
    ui: { type: "string" },
    anchor: { type: "string" },
  },
});
let X: Matrix;
let y: ArrayLike<number | string | null>;
if (a.data === "mnist") {
  const n = Math.min(Number(a.rows), 70000);
  const images = mnistImages();
  X = { data: images.data.subarray(0, n * 784), rows: n, cols: 784 };
  y = mnistLabels().subarray(0, n);
} else {
  const ds = await readDataset(a.data === "digits" ? "test/fixtures/digits.csv" : a.data);
  X = ds.X;
  y = ds.labels as never;
}
const k = new Set(Array.from(y as ArrayLike<unknown>)).size;
const seed = Number(a.seed);
const dims = [X.cols, ...a.dims!.split(",").map(Number)];
const t = () => performance.now() / 1000;
const out: Record<string, unknown> = {
  data: a.data,
  rows: X.rows,
  k,
  seed,
  dims: dims.join(","),
  epochs: a.epochs,
  popt: a.popt,
  plr: a.plr,
  noise: a.noise,
  init: a.init,
  method: a.method,
};
let t0 = t();
const rng = new Rng(seed);
let ae: Autoencoder;
if (a.cache && existsSync(a.cache)) ae = loadAutoencoder(a.cache, rng, { threads: 2 });
else {
  ae = new Autoencoder({ dims, init: "torch", normalizeCode: false }, rng, { threads: 2 });
  await pretrainAutoencoder(ae, X, rng, {
    epochs: Number(a.epochs),
    optimizer:
      a.popt === "sgd" ? { type: "sgd", lr: Number(a.plr), momentum: 0.9 } : { type: "adam", lr: Number(a.plr) },
    noise:
      a.noise === "none"
        ? ({ kind: "none", factor: 0 } as never)
        : ({ kind: "mask", factor: Number(a.noise) } as never),
  });
  if (a.cache) saveAutoencoder(ae, a.cache);
}
out.pretrainS = t() - t0;
const code = await ae.encode(X);
t0 = t();
const km = await kmeans(code, { k, nInit: 20, seed, threads: 2 });
out.kmeansCode = evaluateClustering(y as never, km.labels);
out.kmeansS = t() - t0;
console.error(JSON.stringify(out));
t0 = t();
if (a.init === "manifold" || a.init === "both") {
  const mc = await manifoldClusters(code, k, {
    seed,
    threads: 2,
    nComponents: Number(a.comps),
    nNeighbors: Number(a.nn),
    ...(a.uepochs ? { nEpochs: Number(a.uepochs) } : {}),
  });
  out.manifold = evaluateClustering(y as never, mc.labels);
  out.manifoldS = t() - t0;
  console.error(JSON.stringify(out));
}
t0 = t();
const dec = new DEC({
  k,
  hidden: dims.slice(1),
  seed,
  threads: 2,
  centerInit: a.init === "kmeans" ? "kmeans" : "manifold",
  manifold: {
    selfTrain: true,
    anchorUpdates: Number(a.anchor ?? 0),
    nComponents: Number(a.comps),
    nNeighbors: Number(a.nn),
    ...(a.uepochs ? { nEpochs: Number(a.uepochs) } : {}),
  },
  method: a.method as "dec",
  maxIter: Number(a["max-iter"]),
  tol: Number(a.tol),
  ...(a.ui ? { updateInterval: Number(a.ui) } : {}),
  ...(a.lr ? { optimizer: { type: "sgd", lr: Number(a.lr), momentum: 0.9 } } : {}),
});
await dec.fit(X, { autoencoder: ae, labels: y as never });
out.decInit = dec.initMetrics;
out.decStart = dec.history[0]?.metrics;
out.dec = dec.metrics;
out.decS = t() - t0;
out.iters = dec.iterations;
out.trace = dec.history
  .map((h) => [h.iteration, h.metrics?.acc.toFixed(3), h.deltaLabel?.toFixed(4)])
  .filter((_, i) => i % 3 === 0);
console.log(JSON.stringify(out));
