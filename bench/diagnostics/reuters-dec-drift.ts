// Why DEC's clustering phase loses ACC to its own start on the Reuters example (issue 14): per
// target update, ACC and the share of the largest cluster, for DEC from the reference preset's
// start (256, 32 autoencoder, k-means centres, P = target(Q)) and for the default recipe's
// (manifold start, the mixture's posteriors as the target). The classes are very unbalanced (earn
// is 49 % of the stories): target(Q) divides q² by each cluster's frequency, which moves points out
// of large clusters, so DEC splits earn further and ACC falls; the held manifold target has no
// such term. Seeds 0 and 1 (tuning seeds).
//
//   node --import tsx bench/diagnostics/reuters-dec-drift.ts

import {
  Autoencoder,
  Rng,
  evaluateClustering,
  kmeans,
  pretrainAutoencoder,
  readDataset,
  trainClustering,
  presetRecipe,
  manifoldClusters,
  MANIFOLD_START_DEFAULTS,
} from "../../src/index.js";

const ds = await readDataset("examples/reuters/train.csv");
const y = ds.labels!;
const k = 10;
const truthShare = Math.max(...[...new Set(y)].map((c) => y.filter((v) => v === c).length)) / y.length;
console.log(`largest class: ${(100 * truthShare).toFixed(1)} % of ${y.length} rows`);
for (const seed of [0, 1]) {
  for (const preset of ["reference", "manifold"] as const) {
    const r = presetRecipe(preset, { rows: ds.X.rows, cols: ds.X.cols, batchSize: 256 });
    const rng = new Rng(seed);
    const ae = new Autoencoder({ dims: [ds.X.cols, ...r.hidden], init: "torch", normalizeCode: false }, rng, {
      threads: 2,
    });
    await pretrainAutoencoder(ae, ds.X, rng, {
      epochs: r.pretrainEpochs,
      optimizer: r.pretrainOptimizer,
      noise: r.noise,
    });
    const code = await ae.encode(ds.X);
    let centers: Float32Array;
    let anchor: { target: Float32Array; updates: number } | undefined;
    if (preset === "manifold") {
      const m = MANIFOLD_START_DEFAULTS;
      const mc = await manifoldClusters(code, k, {
        nComponents: m.nComponents,
        nNeighbors: m.nNeighbors,
        minDist: m.minDist,
        nEpochs: m.nEpochs,
        restarts: m.restarts,
        seed: rng.fork(),
        threads: 2,
      });
      centers = mc.centers;
      anchor = { target: Float32Array.from(mc.mixture.resp), updates: Infinity };
    } else centers = (await kmeans(code, { k, nInit: 20, seed: rng.fork(), threads: 2 })).centers;
    // The same full-dataset P for both, so that only the target's definition differs.
    const res = await trainClustering(
      ae,
      ds.X,
      centers,
      rng,
      { method: "dec", target: "full", optimizer: r.optimizer, tol: r.tol },
      { evaluate: (p) => evaluateClustering(y, p), ...(anchor ? { anchor } : {}) },
    );
    const h = res.history;
    const row = (u: (typeof h)[number]) =>
      `ACC ${u.metrics!.acc.toFixed(3)}, largest cluster ${((100 * Math.max(...u.clusterSizes)) / y.length).toFixed(1)} %`;
    console.log(
      `seed ${seed}, ${preset === "reference" ? "reference start, P = target(Q)" : "manifold start, P = the mixture's posteriors"}: start ${row(h[0]!)} → end (${res.iterations} iterations) ${row(h.at(-1)!)}`,
    );
  }
}
