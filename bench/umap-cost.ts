// What the manifold start's UMAP costs, and deepclust's port (src/cluster/umap.ts) against umap-js,
// the library it replaces: the same exact kNN lists (GEMM + TopK in onnxruntime) go to both, then
// each builds the fuzzy graph and runs the layout epochs. Each variant must give the same layout in
// every round (the run fails otherwise); the port's differs from umap-js's by the ulps of its power
// function, amplified by SGD (test/umap.test.ts). Data: a seeded
// 10-cluster Gaussian mixture, rows × 10 (the shape of an autoencoder's code). One process per
// variant and round (peak RSS is per process), alternating, medians over the rounds.
//
//   node --import tsx bench/umap-cost.ts                          # 20,000 rows, 3 rounds, 2 threads
//   node --import tsx bench/umap-cost.ts --rows 70000 --variants port --rounds 3

import { spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { UMAP } from "umap-js";
import { Rng } from "../src/engine/index.js";
import { exactKnn } from "../src/cluster/knn.js";
import { fuzzySimplicialSet, UmapLayout } from "../src/cluster/umap.js";
import { cpuName } from "./cpu.js";

const { values: a } = parseArgs({
  options: {
    variant: { type: "string" },
    variants: { type: "string", default: "port,umap-js" },
    rows: { type: "string", default: "20000" },
    rounds: { type: "string", default: "3" },
    epochs: { type: "string", default: "200" },
    threads: { type: "string", default: "2" },
    results: { type: "string", default: "bench/results/umap-cost.jsonl" },
  },
});
const n = Number(a.rows);
const epochs = Number(a.epochs);

interface Run {
  variant: string;
  knnSeconds: number;
  graphSeconds: number;
  layoutSeconds: number;
  peakRssMb: number;
  hash: string;
}

if (!a.variant) {
  const variants = a.variants!.split(",");
  const runs: Run[] = [];
  for (let round = 0; round < Number(a.rounds); round++)
    for (const v of round % 2 ? [...variants].reverse() : variants) {
      const r = spawnSync(
        process.execPath,
        [
          "--import",
          "tsx",
          "bench/umap-cost.ts",
          "--variant",
          v,
          "--rows",
          String(n),
          "--epochs",
          String(epochs),
          "--threads",
          a.threads!,
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
      );
      if (r.status !== 0) throw new Error(`${v} failed`);
      const run = JSON.parse(r.stdout) as Run;
      console.error(
        `round ${round + 1} ${v}: graph ${run.graphSeconds.toFixed(2)} s, layout ${run.layoutSeconds.toFixed(2)} s, ${Math.round(run.peakRssMb)} MiB`,
      );
      runs.push(run);
    }
  for (const v of variants) {
    const hashes = new Set(runs.filter((r) => r.variant === v).map((r) => r.hash));
    if (hashes.size !== 1) throw new Error(`${v}'s layout differs between rounds: ${[...hashes].join(", ")}`);
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)]!;
  const summary = {
    rows: n,
    epochs,
    threads: Number(a.threads),
    cpu: cpuName(),
    date: new Date().toISOString(),
    rounds: Number(a.rounds),
    deterministic: true,
    medians: Object.fromEntries(
      variants.map((v) => {
        const rs = runs.filter((r) => r.variant === v);
        return [
          v,
          {
            knnSeconds: median(rs.map((r) => r.knnSeconds)),
            graphSeconds: median(rs.map((r) => r.graphSeconds)),
            layoutSeconds: median(rs.map((r) => r.layoutSeconds)),
            peakRssMb: median(rs.map((r) => r.peakRssMb)),
          },
        ];
      }),
    ),
    runs,
  };
  mkdirSync("bench/results", { recursive: true });
  appendFileSync(a.results!, JSON.stringify(summary) + "\n");
  console.log(JSON.stringify(summary.medians, null, 2));
} else {
  const d = 10;
  const rng = new Rng(0);
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = (j === i % 10 ? 4 : 0) + rng.normal();
  const t = () => performance.now() / 1000;
  let t0 = t();
  const knn = await exactKnn({ data, rows: n, cols: d }, 20, Number(a.threads));
  const knnSeconds = t() - t0;
  const layoutRng = new Rng(1);
  const random = () => layoutRng.uniform();
  let embedding: Float64Array;
  let graphSeconds: number;
  t0 = t();
  if (a.variant === "port") {
    const graph = fuzzySimplicialSet(knn.indices, knn.distances, n, 20);
    const layout = new UmapLayout(graph, { nComponents: 10, minDist: 0, nEpochs: epochs, random });
    graphSeconds = t() - t0;
    t0 = t();
    while (layout.currentEpoch < layout.nEpochs) layout.step();
    embedding = layout.embedding;
  } else {
    const umap = new UMAP({ nComponents: 10, nNeighbors: 20, minDist: 0, nEpochs: epochs, random });
    umap.setPrecomputedKNN(
      Array.from({ length: n }, (_, i) => Array.from(knn.indices.subarray(i * 20, (i + 1) * 20))),
      Array.from({ length: n }, (_, i) => Array.from(knn.distances.subarray(i * 20, (i + 1) * 20))),
    );
    const rows = Array.from({ length: n }, (_, i) => Array.from(data.subarray(i * d, (i + 1) * d)));
    umap.initializeFit(rows);
    graphSeconds = t() - t0;
    t0 = t();
    for (let e = 0; e < epochs; e++) umap.step();
    embedding = Float64Array.from(umap.getEmbedding().flat());
  }
  const layoutSeconds = t() - t0;
  // FNV-1a over the layout's bytes: equal hashes ⇔ (practically) identical layouts.
  const bytes = new Uint8Array(embedding.buffer, embedding.byteOffset, embedding.byteLength);
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  const run: Run = {
    variant: a.variant,
    knnSeconds,
    graphSeconds,
    layoutSeconds,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    hash: h.toString(16),
  };
  console.log(JSON.stringify(run));
}
