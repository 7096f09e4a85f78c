// What the manifold start's UMAP costs on 70,000 rows of a 10-d code, and where: deepclust's exact
// kNN (GEMM + TopK in onnxruntime) against umap-js's own approximate search (RP trees + NN-descent),
// then umap-js's graph construction (fuzzy simplicial set, plus the search graph it builds for
// transform) and its layout epochs. Data: a seeded 10-cluster Gaussian mixture, 70,000 × 10
// (the shape of MNIST's code). One process per variant (peak RSS is per process).
//
//   node --import tsx bench/umap-cost.ts                  # both variants, one after the other
//   node --import tsx bench/umap-cost.ts --variant exact  # one

import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { UMAP } from "umap-js";
import { Rng } from "../src/engine/index.js";
import { exactKnn } from "../src/cluster/knn.js";

const { values: a } = parseArgs({ options: { variant: { type: "string" }, rows: { type: "string", default: "70000" }, threads: { type: "string", default: "2" } } });
const n = Number(a.rows);
if (!a.variant) {
  for (const v of ["exact", "umap-js"]) {
    const r = spawnSync(process.execPath, ["--import", "tsx", "bench/umap-cost.ts", "--variant", v, "--rows", String(n), "--threads", a.threads!], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    process.stdout.write(r.stdout);
  }
} else {
  const d = 10;
  const rng = new Rng(0);
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = (j === i % 10 ? 4 : 0) + rng.normal();
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from(data.subarray(i * d, (i + 1) * d)));
  const t = () => performance.now() / 1000;
  const umap = new UMAP({ nComponents: 10, nNeighbors: 20, minDist: 0, nEpochs: 200, random: () => rng.uniform() });
  const stages: Record<string, number> = {};
  let t0 = t();
  if (a.variant === "exact") {
    const knn = await exactKnn({ data, rows: n, cols: d }, 20, Number(a.threads));
    const ki: number[][] = [];
    const kd: number[][] = [];
    for (let i = 0; i < n; i++) {
      ki.push(Array.from(knn.indices.subarray(i * 20, (i + 1) * 20)));
      kd.push(Array.from(knn.distances.subarray(i * 20, (i + 1) * 20)));
    }
    umap.setPrecomputedKNN(ki, kd);
    stages.knnSeconds = t() - t0;
  }
  t0 = t();
  const epochs = umap.initializeFit(rows);
  stages[a.variant === "exact" ? "graphSeconds" : "knnAndGraphSeconds"] = t() - t0;
  t0 = t();
  for (let e = 0; e < epochs; e++) umap.step();
  stages.layoutSeconds = t() - t0;
  console.log(JSON.stringify({ variant: a.variant, rows: n, dims: d, epochs, ...stages, peakRssMb: process.resourceUsage().maxRSS / 1024, cpu: cpus()[0]?.model, threads: Number(a.threads) }));
}
