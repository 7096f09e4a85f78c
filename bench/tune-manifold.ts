// Tuning of the manifold recipe's clustering phase on the TUNING seeds only (0, 1): per dataset and
// seed, the default preset's autoencoder is pretrained once and the manifold start (UMAP + GMM)
// computed once; then the clustering phase runs from that same start with the mixture's posteriors
// held as the target for 0 updates (plain DEC from the manifold's centres) or 10, with DEC or IDEC.
// (Holding it for good converges to the mixture's own labels: the "manifold" column.)
//
//   node --import tsx bench/tune-manifold.ts [--datasets digits,reuters,…] [--seeds 0,1]
//
// Reporting seeds (bench/quality-suite.ts) are never run here.

import { parseArgs } from "node:util";
import { appendFileSync } from "node:fs";
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
} from "../src/index.js";

const { values: a } = parseArgs({
  options: {
    datasets: { type: "string", default: "digits,reuters,wine,gmm-overlap,gmm-imbalanced" },
    seeds: { type: "string", default: "0,1" },
    skip: { type: "string", default: "" },
    out: { type: "string", default: "bench/results/tune-manifold.jsonl" },
  },
});
const FILES: Record<string, string> = { digits: "test/fixtures/digits.csv", reuters: "examples/reuters/train.csv" };
const file = (n: string) => FILES[n] ?? `bench/datasets/data/${n}.csv`;
const VARIANTS = [
  { name: "dec-anchor0", method: "dec" as const, anchor: 0 },
  { name: "dec-anchor10", method: "dec" as const, anchor: 10 },
  { name: "idec-anchor10", method: "idec" as const, anchor: 10 },
  { name: "dec-hold", method: "dec" as const, anchor: Infinity },
];
for (const name of a.datasets!.split(",")) {
  const ds = await readDataset(file(name));
  const y = ds.labels!;
  const k = new Set(y).size;
  for (const seed of a.seeds!.split(",").map(Number)) {
    if (a.skip!.split(",").includes(`${name}/${seed}`)) continue;
    if (seed >= 10) throw new Error("seeds ≥ 10 are reporting seeds");
    const recipe = presetRecipe("manifold", { rows: ds.X.rows, cols: ds.X.cols, batchSize: 256 });
    const rng = new Rng(seed);
    const ae = new Autoencoder({ dims: [ds.X.cols, ...recipe.hidden], init: "torch", normalizeCode: false }, rng, {
      threads: 2,
    });
    await pretrainAutoencoder(ae, ds.X, rng, {
      epochs: recipe.pretrainEpochs,
      optimizer: recipe.pretrainOptimizer,
      noise: recipe.noise,
    });
    const code = await ae.encode(ds.X);
    const raw = evaluateClustering(y, (await kmeans(ds.X, { k, nInit: 20, seed, threads: 2 })).labels);
    const aeKm = evaluateClustering(y, (await kmeans(code, { k, nInit: 20, seed, threads: 2 })).labels);
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
    const start = evaluateClustering(y, mc.labels);
    const weights = ae.params.snapshot();
    const rec: Record<string, unknown> = { dataset: name, seed, raw, aeKm, manifold: start };
    for (const v of VARIANTS) {
      for (const [n, w] of Object.entries(weights)) ae.params.set(n, w);
      try {
        const r = await trainClustering(
          ae,
          ds.X,
          mc.centers,
          new Rng(seed + 1000),
          { method: v.method, optimizer: recipe.optimizer, tol: recipe.tol, target: "full" },
          v.anchor > 0 ? { anchor: { target: Float32Array.from(mc.mixture.resp), updates: v.anchor } } : {},
        );
        rec[v.name] = { ...evaluateClustering(y, r.labels), iterations: r.iterations };
      } catch (e) {
        rec[v.name] = { error: (e as Error).message };
      }
    }
    appendFileSync(a.out!, JSON.stringify(rec) + "\n");
    console.log(
      JSON.stringify(rec, (key, val) =>
        typeof val === "number" && !Number.isInteger(val) ? Number(val.toFixed(3)) : val,
      ),
    );
  }
}
