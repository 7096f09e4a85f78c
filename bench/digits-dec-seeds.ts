// DEC on scikit-learn's digits (test/fixtures/digits.csv) over several seeds, beside k-means on
// the raw pixels: how much DEC's outcome depends on the seed on a small, easy dataset. Uses the
// configuration of the end-to-end test (test/dec.test.ts) and of `npm start`.
//
//   node --import tsx bench/digits-dec-seeds.ts [--seeds 0,1,2]

import { parseArgs } from "node:util";
import { DEC, Rng, evaluateClustering, kmeans, readDataset } from "../src/index.js";

const { values: a } = parseArgs({ options: { seeds: { type: "string", default: "0,1,2" } } });
const { X, labels } = await readDataset(new URL("../test/fixtures/digits.csv", import.meta.url).pathname);
const y = labels!;
const raw = evaluateClustering(y, (await kmeans(X, { k: 10, nInit: 20, seed: new Rng(0) })).labels);
console.log(
  `k-means on the raw pixels (20 restarts): ACC ${raw.acc.toFixed(3)} NMI ${raw.nmi.toFixed(3)} ARI ${raw.ari.toFixed(3)}`,
);
console.log("seed | AE+k-means ACC | DEC ACC | DEC NMI | DEC ARI | iterations");
for (const seed of a.seeds!.split(",").map(Number)) {
  const m = await new DEC({
    k: 10,
    hidden: [256, 256, 10],
    threads: 1,
    seed,
    updateInterval: 50,
    pretrain: { epochs: 500, noise: { kind: "none", factor: 0 } },
  }).fit(X, { labels: y });
  console.log(
    `${seed} | ${m.initMetrics!.acc.toFixed(3)} | ${m.metrics!.acc.toFixed(3)} | ${m.metrics!.nmi.toFixed(3)} | ${m.metrics!.ari.toFixed(3)} | ${m.iterations}`,
  );
}
