// Averages bench/results/mnist-dec-seed*.json into the table that goes into BENCHMARKS.md.

import { readdirSync, readFileSync } from "node:fs";

interface Scores {
  acc: number;
  nmi: number;
  ari: number;
}
const runs = readdirSync("bench/results")
  .filter((f) => /^mnist-dec-seed\d+\.json$/.test(f))
  .map((f) => JSON.parse(readFileSync(`bench/results/${f}`, "utf8")));
if (runs.length === 0) throw new Error("no bench/results/mnist-dec-seed*.json yet: run bench/mnist-dec.ts first");
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (xs: number[]) => `${mean(xs).toFixed(3)} (${xs.map((x) => x.toFixed(3)).join(", ")})`;
const rows: Array<[string, Scores[], number[]]> = [
  [
    "k-means on pixels (20 restarts)",
    runs.map((r) => r.stages["kmeans-pixels"]),
    runs.map((r) => r.stages["kmeans-pixels"].seconds),
  ],
  [
    "AE + k-means (20 restarts)",
    runs.map((r) => r.stages["kmeans-code"]),
    runs.map((r) => r.stages["kmeans-code"].seconds),
  ],
  ["DEC", runs.map((r) => r.results.dec), runs.map((r) => r.results.dec.timings.clusteringSeconds)],
  ["IDEC", runs.map((r) => r.results.idec), runs.map((r) => r.results.idec.timings.clusteringSeconds)],
];
const recipe = (r: { pretrainOptimizer?: string; idecOptimizer?: string }) =>
  `pretraining ${r.pretrainOptimizer ?? "adam"}, IDEC ${r.idecOptimizer ?? "sgd"}`;
if (new Set(runs.map(recipe)).size > 1)
  throw new Error(`the seeds' files come from different recipes: ${runs.map(recipe).join("; ")}`);
console.log(
  `MNIST-70k, seeds ${runs.map((r) => r.seed).join(", ")}; ${recipe(runs[0])}; pretraining ${runs[0].epochs} epochs: ${fmt(runs.map((r) => r.stages.pretrain.seconds))} s`,
);
console.log("| method | ACC | NMI | ARI | stage time (s) |");
console.log("|---|---|---|---|---|");
for (const [name, s, t] of rows)
  console.log(
    `| ${name} | ${fmt(s.map((x) => x.acc))} | ${fmt(s.map((x) => x.nmi))} | ${fmt(s.map((x) => x.ari))} | ${fmt(t)} |`,
  );
console.log(
  `peak RSS (MB): ${fmt(runs.map((r) => Math.max(...Object.values(r.stages as Record<string, { peakRssMb?: number }>).map((s) => s.peakRssMb ?? 0))))}`,
);
