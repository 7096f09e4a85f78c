// The Gaussian mixture's fit time, this tree against an earlier commit's implementation, on the
// manifold start's data: a UMAP layout (10 components, 20 neighbours, min_dist 0, seed 0) of
// gmm-large-k (20,000 × 16), k = 40, 4 restarts (the default start's settings). The earlier
// gmm.ts is imported from a checkout of that commit (`git worktree add /tmp/before <commit>`).
// Rounds alternate the two; medians, and each side's lower bound and EM iterations (the same fit
// is expected: the passes change the arithmetic's order, not the algorithm).
//
//   git worktree add /tmp/gmm-before b983847 && ln -s "$PWD/node_modules" /tmp/gmm-before/node_modules
//   node --import tsx bench/diagnostics/gmm-fit-time.ts --before /tmp/gmm-before [--rounds 3]

import { appendFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { gaussianMixture, readDataset, umapEmbedding, type GaussianMixtureResult } from "../../src/index.js";
import { median } from "../torch-sweep.js";
import { cpuName } from "../cpu.js";

const { values: a } = parseArgs({
  options: {
    before: { type: "string" },
    data: { type: "string", default: "bench/datasets/data/gmm-large-k.csv" },
    k: { type: "string", default: "40" },
    rounds: { type: "string", default: "3" },
    results: { type: "string", default: "bench/results/gmm-fit-time.jsonl" },
  },
});
if (!a.before) throw new Error("--before <checkout of the earlier commit> is required");
type Fit = typeof gaussianMixture;
const earlier = (await import(pathToFileURL(resolve(a.before, "src/cluster/gmm.ts")).href)) as { gaussianMixture: Fit };
const k = Number(a.k);
const ds = await readDataset(a.data!);
const layout = await umapEmbedding(ds.X, { seed: 0 });
const sides: Array<{ name: string; fit: Fit }> = [
  { name: "before", fit: earlier.gaussianMixture },
  { name: "this tree", fit: gaussianMixture },
];
const runs = new Map<string, Array<{ seconds: number; result: GaussianMixtureResult }>>(sides.map((s) => [s.name, []]));
for (let round = 0; round < Number(a.rounds); round++) {
  for (const s of round % 2 === 0 ? sides : [...sides].reverse()) {
    const t0 = performance.now();
    const result = await s.fit(layout, { k, nInit: 4, seed: 5, regCovar: 1e-6 });
    runs.get(s.name)!.push({ seconds: (performance.now() - t0) / 1000, result });
  }
  console.error(
    `round ${round + 1}: ${sides.map((s) => `${s.name} ${runs.get(s.name)!.at(-1)!.seconds.toFixed(2)} s`).join(", ")}`,
  );
}
const summary = sides.map((s) => {
  const r = runs.get(s.name)!;
  return {
    side: s.name,
    medianSeconds: median(r.map((x) => x.seconds)),
    seconds: r.map((x) => x.seconds),
    lowerBound: r[0]!.result.lowerBound,
    nIter: r[0]!.result.nIter,
  };
});
const [before, now] = [runs.get("before")![0]!.result, runs.get("this tree")![0]!.result];
let differ = 0;
for (let i = 0; i < before.labels.length; i++) if (before.labels[i] !== now.labels[i]) differ++;
const rec = {
  data: a.data,
  rows: layout.rows,
  cols: layout.cols,
  k,
  before: execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: a.before, encoding: "utf8" }).trim(),
  commit: execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim(),
  cpu: cpuName(),
  date: new Date().toISOString(),
  summary,
  labelsThatDiffer: differ,
  boundDifference: Math.abs(before.lowerBound - now.lowerBound),
};
appendFileSync(join(a.results!), JSON.stringify(rec) + "\n");
console.log(
  `${summary.map((s) => `${s.side} (${s.side === "before" ? rec.before : rec.commit}) ${s.medianSeconds.toFixed(2)} s, bound ${s.lowerBound}, ${s.nIter} EM iterations`).join("; ")}; labels that differ: ${differ}; ${rec.cpu}`,
);
