// Which start a data set wants, on TUNING seeds only (reporting seeds are refused): the default
// preset's autoencoder is pretrained as `deepclust train` does (input scaling included), then three
// partitions of its code are compared, each with its ACC/NMI and the unsupervised scores of the
// code it could be chosen by: the manifold start (UMAP of the code + Gaussian mixture, the default),
// a Gaussian mixture fitted to the code directly, and k-means on the code. One JSON line per data
// set and seed, with k-means and a Gaussian mixture of the (scaled) input beside them.
//
// A fourth partition refits the mixture to the code from the manifold start's clusters (their
// weights, means and covariances as EM's start), and the two mixtures on the code record their
// mean log-likelihood: whether the likelihood can tell which start a data set wants.
//
//   node --import tsx bench/diagnostics/start-choice.ts --datasets gmm-large-k,digits --seeds 0,1

import { appendFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  Autoencoder,
  MANIFOLD_START_DEFAULTS,
  Rng,
  calinskiHarabaszScore,
  chooseScaling,
  daviesBouldinScore,
  evaluateClustering,
  gaussianMixture,
  kmeans,
  manifoldClusters,
  presetRecipe,
  pretrainAutoencoder,
  readDataset,
  silhouetteScore,
  standardize,
  type Matrix,
} from "../../src/index.js";
import { symmetricEigen } from "../../src/cluster/symmetric-eigen.js";
import { cpuName } from "../cpu.js";
import { mnistImages, mnistLabels } from "../mnist.js";

const { values: a } = parseArgs({
  options: {
    datasets: { type: "string", default: "gmm-large-k" },
    seeds: { type: "string", default: "0,1" },
    results: { type: "string", default: "bench/results/start-choice.jsonl" },
  },
});
const FILES: Record<string, string> = { digits: "test/fixtures/digits.csv", reuters: "examples/reuters/train.csv" };

async function load(name: string): Promise<{ X: Matrix; y: Int32Array }> {
  if (name === "mnist") return { X: mnistImages(), y: mnistLabels() };
  const ds = await readDataset(FILES[name] ?? `bench/datasets/data/${name}.csv`);
  const names = [...new Set(ds.labels!.map(String))];
  return { X: ds.X, y: Int32Array.from(ds.labels!, (l) => names.indexOf(String(l))) };
}

const score = async (code: Matrix, labels: Int32Array, seed: number) => ({
  silhouette: await silhouetteScore(code, labels, { sampleSize: 10_000, seed, threads: 2 }),
  calinskiHarabasz: calinskiHarabaszScore(code, labels),
  daviesBouldin: daviesBouldinScore(code, labels),
});
/** The Gaussian mixture whose components are the clusters of `labels`: EM's start from a partition. */
function mixtureOf(X: Matrix, labels: Int32Array, k: number) {
  const d = X.cols;
  const weights = new Float64Array(k);
  const means = new Float64Array(k * d);
  for (let i = 0; i < X.rows; i++) {
    weights[labels[i]!]!++;
    for (let j = 0; j < d; j++) means[labels[i]! * d + j]! += X.data[i * d + j]!;
  }
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) means[c * d + j]! /= Math.max(1, weights[c]!);
  const cov = new Float64Array(k * d * d);
  for (let i = 0; i < X.rows; i++) {
    const c = labels[i]!;
    for (let p = 0; p < d; p++)
      for (let q = 0; q < d; q++)
        cov[c * d * d + p * d + q]! +=
          (X.data[i * d + p]! - means[c * d + p]!) * (X.data[i * d + q]! - means[c * d + q]!);
  }
  const precisions = new Float64Array(k * d * d);
  for (let c = 0; c < k; c++) {
    const C = cov.subarray(c * d * d, (c + 1) * d * d).map((v) => v / Math.max(1, weights[c]!));
    for (let p = 0; p < d; p++) C[p * d + p]! += 1e-6;
    const { values, vectors } = symmetricEigen(C, d);
    for (let p = 0; p < d; p++)
      for (let q = 0; q < d; q++) {
        let s = 0;
        for (let e = 0; e < d; e++) s += (vectors[p * d + e]! * vectors[q * d + e]!) / values[e]!;
        precisions[c * d * d + p * d + q] = s;
      }
    weights[c]! /= X.rows;
  }
  return { weights, means, precisions };
}

const cpu = cpuName();
for (const name of a.datasets!.split(",")) {
  const { X: raw, y } = await load(name);
  const k = new Set(y).size;
  for (const seed of a.seeds!.split(",").map(Number)) {
    if (seed >= 10) throw new Error("seeds ≥ 10 are reporting seeds: this diagnostic runs tuning seeds only");
    const recipe = presetRecipe("manifold", { rows: raw.rows, cols: raw.cols, batchSize: 256 });
    const scaling = chooseScaling(raw, recipe.inputScaling);
    const X = scaling ? standardize(raw, scaling) : raw;
    const rng = new Rng(seed);
    const t0 = performance.now();
    const ae = new Autoencoder({ dims: [X.cols, ...recipe.hidden], init: "torch", normalizeCode: false }, rng, {
      threads: 2,
    });
    await pretrainAutoencoder(ae, X, rng, {
      epochs: recipe.pretrainEpochs,
      optimizer: recipe.pretrainOptimizer,
      noise: recipe.noise,
    });
    const code = await ae.encode(X);
    const pretrainSeconds = (performance.now() - t0) / 1000;
    const m = MANIFOLD_START_DEFAULTS;
    const manifold = (
      await manifoldClusters(code, k, {
        nComponents: m.nComponents,
        nNeighbors: m.nNeighbors,
        minDist: m.minDist,
        nEpochs: m.nEpochs,
        restarts: m.restarts,
        seed: rng.fork(),
        threads: 2,
      })
    ).labels;
    const codeGmm = await gaussianMixture(code, { k, nInit: m.restarts, seed: rng.fork(), threads: 2, regCovar: 1e-6 });
    const refit = await gaussianMixture(code, {
      k,
      seed: rng.fork(),
      regCovar: 1e-6,
      init: mixtureOf(code, manifold, k),
    });
    const starts: Record<string, Int32Array> = {
      manifold,
      codeGmm: codeGmm.labels,
      manifoldRefit: refit.labels,
      codeKmeans: (await kmeans(code, { k, nInit: 20, seed, threads: 2 })).labels,
    };
    const rec: Record<string, unknown> = {
      dataset: name,
      seed,
      k,
      rows: X.rows,
      hidden: recipe.hidden,
      scaled: scaling !== null,
      pretrainSeconds,
      rawKmeans: evaluateClustering(y, (await kmeans(X, { k, nInit: 20, seed, threads: 2 })).labels),
      // The input's own mixture: where the groups are Gaussian in the input, the ceiling of both starts.
      rawGmm: evaluateClustering(
        y,
        (await gaussianMixture(X, { k, nInit: m.restarts, seed: seed + 1, threads: 2, regCovar: 1e-6 })).labels,
      ),
    };
    for (const [s, labels] of Object.entries(starts))
      rec[s] = { ...evaluateClustering(y, labels), ...(await score(code, labels, seed)) };
    rec.lowerBound = { codeGmm: codeGmm.lowerBound, manifoldRefit: refit.lowerBound };
    rec.cpu = cpu;
    rec.date = new Date().toISOString();
    appendFileSync(a.results!, JSON.stringify(rec) + "\n");
    const f = (r: unknown) => {
      const o = r as Record<string, number>;
      return `${o.acc!.toFixed(3)}/${o.nmi!.toFixed(3)}${o.silhouette !== undefined ? ` sil ${o.silhouette.toFixed(3)} ch ${o.calinskiHarabasz!.toFixed(0)} db ${o.daviesBouldin!.toFixed(3)}` : ""}`;
    };
    console.log(
      `${name} seed ${seed}: raw km ${f(rec.rawKmeans)} | raw GMM ${f(rec.rawGmm)} | manifold ${f(rec.manifold)} | code GMM ${f(rec.codeGmm)} | code km ${f(rec.codeKmeans)} | refit ${f(rec.manifoldRefit)} | bounds GMM ${codeGmm.lowerBound.toFixed(4)} refit ${refit.lowerBound.toFixed(4)}`,
    );
  }
}
