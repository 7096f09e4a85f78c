// train --stability: the labelings of several seeds compared — the pairwise ARI and each cluster's
// best-match Jaccard — checked on hand-counted labelings, and end to end: the ARI the command
// reports equals the ARI of the predictions of the two models trained separately.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { ari, labelingStability } from "../src/index.js";

test("labelingStability: pairwise ARI and best-match Jaccard, counted by hand", () => {
  const a = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1]);
  const b = Int32Array.from([1, 1, 1, 0, 0, 0, 0, 0]); // cluster names swapped, one row moved
  const s = labelingStability([a, b, a], 2);
  // Cluster 0 of a (rows 0–3) best matches b's 1 (rows 0–2): 3 / 4; cluster 1 (rows 4–7) matches b's 0 (rows 3–7): 4 / 5.
  assert.deepEqual(s.clusters[0]!.jaccard, [0.75, 1]);
  assert.deepEqual(s.clusters[1]!.jaccard, [0.8, 1]);
  assert.equal(s.clusters[0]!.mean, 0.875);
  assert.equal(s.clusters[0]!.min, 0.75);
  assert.deepEqual(
    s.clusters.map((c) => c.size),
    [4, 4],
  );
  assert.equal(s.pairwiseAri[0]![1], ari(a, b));
  assert.equal(s.pairwiseAri[0]![2], 1);
  assert.equal(s.minAri, ari(a, b));
  assert.ok(Math.abs(s.meanAri - (2 * ari(a, b) + 1) / 3) < 1e-15);
  assert.throws(() => labelingStability([a], 2), /at least two/);
});

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const digits = new URL("./fixtures/digits.csv", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "deepclust-stability-"));
const SMALL = ["--dims", "64,10", "--pretrain-epochs", "5", "--max-iter", "50", "--init", "kmeans", "--threads", "1"];
function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test("train --stability 2 reports the ARI between its model and the next seed's, as trained on their own", () => {
  const out = run("train", digits, "-k", "10", ...SMALL, "--stability", "2", "--out", "m0", "--no-report");
  assert.match(out, /stability over seeds 0, 1: pairwise ARI mean/);
  assert.match(out, /best-match Jaccard/);
  run("train", digits, "-k", "10", ...SMALL, "--seed", "1", "--out", "m1", "--no-report");
  const metrics = JSON.parse(readFileSync(join(dir, "m0", "metrics.json"), "utf8")) as {
    stability: { seeds: number[]; pairwiseAri: number[][]; meanAri: number; clusters: { mean: number }[] };
  };
  const st = metrics.stability;
  assert.deepEqual(st.seeds, [0, 1]);
  assert.equal(st.clusters.length, 10);
  for (const c of st.clusters) assert.ok(c.mean >= 0 && c.mean <= 1);
  const clusters = (m: string) => {
    run("predict", m, digits, "--out", `${m}.csv`);
    const rows = parse(readFileSync(join(dir, `${m}.csv`)), { columns: true }) as { cluster: string }[];
    return rows.map((r) => Number(r.cluster));
  };
  const expected = ari(clusters("m0"), clusters("m1"));
  assert.ok(Math.abs(st.pairwiseAri[0]![1]! - expected) < 1e-12, `${st.pairwiseAri[0]![1]} vs ${expected}`);
  assert.equal(st.meanAri, st.pairwiseAri[0]![1]);
});
