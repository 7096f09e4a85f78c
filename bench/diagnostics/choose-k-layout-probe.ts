// The probe that led to choose-k's layout criterion: the six criteria computed on the UMAP layout of
// the pretrained code (the manifold start's settings, seed 0, every row) instead of on the code, for
// the tuning sets of bench/choose-k-accuracy.ts (their files and true k must exist: run its
// `--set tune` first). One JSON line per data set; the choices are compared with the code's in
// BENCHMARKS.md ("Choosing k", step 4). Candidates 2..60, as the accuracy runs.
//
//   node --import tsx bench/diagnostics/choose-k-layout-probe.ts mix-1000 mix-1001 … iris wine breast-cancer

import { appendFileSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { CRITERIA, DEC, chooseK, kRange, presetConfig, readDataset, umapEmbedding } from "../../src/index.js";

const { values: a, positionals: names } = parseArgs({
  allowPositionals: true,
  options: {
    truth: { type: "string", default: "bench/results/choose-k-accuracy.jsonl" },
    results: { type: "string", default: "bench/results/choose-k-layout-probe.jsonl" },
  },
});

const truth = new Map<string, number>();
for (const line of readFileSync(a.truth!, "utf8").split("\n").filter(Boolean)) {
  const r = JSON.parse(line) as { set: string; dataset: string; k: number };
  if (r.set === "tune") truth.set(r.dataset, r.k);
}

for (const name of names) {
  const file = name.startsWith("mix-") ? `bench/datasets/data/choose-k-${name}.npy` : `bench/datasets/data/${name}.csv`;
  const { X } = await readDataset(file);
  const t0 = performance.now();
  const { k: _k, ...config } = presetConfig("manifold", X, 2);
  const pretrained = await new DEC({ ...config, k: 2, seed: 0, threads: 0 }).pretrain(X, {});
  const code = await pretrained.autoencoder.encode(pretrained.input);
  const layout = await umapEmbedding(code, { seed: 0 });
  const L = { rows: layout.rows, cols: layout.cols, data: Float32Array.from(layout.data) };
  const selection = await chooseK(L, { ks: kRange(2, 60), seed: 0, threads: 0, layout: false });
  const choices = Object.fromEntries(CRITERIA.slice(0, 6).map((c) => [c, selection.criteria[c].choice]));
  const rec = { dataset: name, k: truth.get(name), choices, seconds: (performance.now() - t0) / 1000 };
  appendFileSync(a.results!, JSON.stringify(rec) + "\n");
  console.log(`${name}: true ${rec.k}, on the layout ${JSON.stringify(choices)} (${rec.seconds.toFixed(1)} s)`);
}
