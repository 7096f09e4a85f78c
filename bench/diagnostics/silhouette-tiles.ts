// The exact silhouette's tiling (src/cluster/internal-scores.ts): rows sorted by cluster, so a
// tile's per-cluster sums are GEMMs over the 1–3 clusters it spans, against the earlier unsorted
// rows (sums over all k clusters per tile), at several tile sizes and two k. Data: k Gaussian
// blobs in 10 dimensions, as bench/silhouette-scale.ts. Each round runs every variant once, in
// rotated order; medians per variant, and the largest per-row difference from the first variant.
//
//   node --import tsx bench/diagnostics/silhouette-tiles.ts [--rows 30000] [--ks 10,50] [--rounds 3]

import { appendFileSync } from "node:fs";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { silhouetteSamplesWith, type SilhouetteEngineOptions } from "../../src/cluster/internal-scores.js";
import { median } from "../torch-sweep.js";
import { cpuName } from "../cpu.js";
import { blobs } from "../blobs.js";

const { values: a } = parseArgs({
  options: {
    rows: { type: "string", default: "30000" },
    ks: { type: "string", default: "10,50" },
    rounds: { type: "string", default: "3" },
    variants: { type: "string", default: "unsorted:1024,sorted:512,sorted:768,sorted:1024" },
    results: { type: "string", default: "bench/results/silhouette-tiles.jsonl" },
  },
});
const n = Number(a.rows);
const d = 10;
const rounds = Number(a.rounds);
const variants = a.variants.split(",").map((v) => {
  const [layout, tile] = v.split(":");
  if ((layout !== "sorted" && layout !== "unsorted") || !Number(tile)) throw new Error(`bad variant ${v}`);
  return { name: v, options: { sortRows: layout === "sorted", tileRows: Number(tile) } as SilhouetteEngineOptions };
});

const cpu = cpuName();
for (const k of a.ks.split(",").map(Number)) {
  const { X, labels } = blobs(n, k, d);
  const seconds: Record<string, number[]> = {};
  const reference: { values?: Float64Array } = {};
  const worst: Record<string, number> = {};
  for (let r = 0; r < rounds; r++)
    for (let v = 0; v < variants.length; v++) {
      const { name, options } = variants[(v + r) % variants.length]!;
      const t = performance.now();
      const s = await silhouetteSamplesWith(X, labels, options);
      (seconds[name] ??= []).push((performance.now() - t) / 1000);
      if (name === variants[0]!.name) reference.values ??= s;
      else if (reference.values) {
        let m = worst[name] ?? 0;
        for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(s[i]! - reference.values[i]!));
        worst[name] = m;
      }
    }
  const medians = Object.fromEntries(variants.map(({ name }) => [name, median(seconds[name]!)]));
  const line = {
    date: new Date().toISOString(),
    cpu,
    cores: cpus().length,
    rows: n,
    d,
    k,
    rounds,
    medians,
    seconds,
    worstDifference: worst,
  };
  console.log(`k ${k}: ${variants.map(({ name }) => `${name} ${medians[name]!.toFixed(2)} s`).join(", ")}`);
  appendFileSync(a.results, JSON.stringify(line) + "\n");
}
