// The bundled example as a user meets it (`npm test` builds dist/ first): the built CLI trains on
// examples/reuters/train.csv, predicts examples/reuters/test.csv with its id and text columns
// passed through, scores the test split, and names its clusters' topics. It runs npm start's own
// training command (the default preset, IDEC), and asserts that it beats k-means on the raw
// vectors: on the training split against k-means fitted there, on the test split against those
// k-means centres assigning the test rows.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { evaluateClustering } from "../src/cluster/metrics.js";
import { kmeans } from "../src/cluster/kmeans.js";
import { readDataset } from "../src/io/dataset.js";

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const example = new URL("../examples/reuters/", import.meta.url).pathname;
const train = join(example, "train.csv");
const testCsv = join(example, "test.csv");
const dir = mkdtempSync(join(tmpdir(), "deepclust-example-"));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: dir });
  assert.equal(r.status, 0, `deepclust ${args.join(" ")}\n${r.stderr}`);
  return r.stdout;
}

type Row = Record<string, string>;
const read = (f: string): Row[] => parse(readFileSync(f), { columns: true }) as Row[];

test("the committed example has the documented shape and stays small", () => {
  const rows = [...read(train), ...read(testCsv)];
  assert.equal(rows.length, 7522);
  assert.deepEqual(Object.keys(rows[0]!), ["id", "text", "embeddings", "labels"]);
  assert.equal(new Set(rows.map((r) => r.labels)).size, 10);
  assert.equal(new Set(rows.map((r) => r.id)).size, rows.length, "ids are unique across the splits");
  for (const r of rows.slice(0, 200)) {
    assert.equal((JSON.parse(r.embeddings!) as number[]).length, 100);
    assert.ok(r.text!.length <= 200);
  }
  assert.ok(statSync(train).size + statSync(testCsv).size <= 15e6);
});

test("train → predict → evaluate on the example through the built CLI; IDEC beats k-means on both splits", async () => {
  const model = join(dir, "model");
  const summary = JSON.parse(
    run("train", train, "-k", "10", "--method", "idec", "--no-report", "--out", model, "--json"),
  ) as {
    rows: number;
    baseline: { acc: number; nmi: number };
    dec: { acc: number; nmi: number };
  };
  assert.equal(summary.rows, 6018);
  assert.ok(
    summary.dec.acc > summary.baseline.acc && summary.dec.nmi > summary.baseline.nmi,
    `IDEC ${JSON.stringify(summary.dec)} vs k-means ${JSON.stringify(summary.baseline)}`,
  );

  const out = join(dir, "test-predictions.csv");
  run("predict", model, testCsv, "--out", out);
  const truth = read(testCsv);
  const pred = read(out);
  assert.equal(pred.length, truth.length);
  assert.deepEqual(Object.keys(pred[0]!).slice(0, 4), ["id", "text", "labels", "cluster"]);
  assert.deepEqual(
    pred.map((r) => r.id),
    truth.map((r) => r.id),
  );
  for (const r of pred) assert.ok(Number(r.confidence) > 0 && Number(r.confidence) <= 1);

  const scores = JSON.parse(run("evaluate", model, testCsv, "--json")) as {
    n: number;
    acc: number;
    nmi: number;
    ari: number;
  };
  assert.equal(scores.n, truth.length);
  const fromPredictions = evaluateClustering(
    truth.map((r) => r.labels!),
    pred.map((r) => Number(r.cluster)),
  );
  assert.ok(Math.abs(scores.acc - fromPredictions.acc) < 1e-12 && Math.abs(scores.nmi - fromPredictions.nmi) < 1e-12);
  // k-means on the training vectors (the same 20 restarts and seed as train's baseline), its centres assigning the test rows.
  const trainSet = await readDataset(train);
  const testSet = await readDataset(testCsv);
  const km = await kmeans(trainSet.X, { k: 10, nInit: 20, seed: 0, threads: 1 });
  const nearest = Array.from({ length: testSet.X.rows }, (_, i) => {
    let best = 0;
    let bd = Infinity;
    for (let j = 0; j < 10; j++) {
      let d = 0;
      for (let c = 0; c < testSet.X.cols; c++)
        d += (testSet.X.data[i * testSet.X.cols + c]! - km.centers[j * testSet.X.cols + c]!) ** 2;
      if (d < bd) [bd, best] = [d, j];
    }
    return best;
  });
  const kmTest = evaluateClustering(
    truth.map((r) => r.labels!),
    Int32Array.from(nearest),
  );
  assert.ok(
    scores.acc > kmTest.acc && scores.nmi > kmTest.nmi,
    `test split: IDEC ${JSON.stringify(scores)} vs k-means centres ${JSON.stringify(kmTest)}`,
  );
  assert.ok(!existsSync(`${out}.tmp`));

  // What the clusters are about: those that the crude, interest, coffee or sugar stories make up
  // the most of name the obvious words among their top terms.
  const topics = JSON.parse(run("topics", model, testCsv, "--json")) as {
    clusters: Array<{ cluster: number; terms: Array<{ term: string }>; majority: string; purity: number }>;
  };
  const obvious: Record<string, string[]> = {
    crude: ["oil", "crude", "opec"],
    interest: ["rate", "rates", "bank"],
    coffee: ["coffee"],
    sugar: ["sugar"],
  };
  const named = topics.clusters.filter((c) => c.majority in obvious && c.purity >= 0.4);
  assert.ok(
    named.length >= 1,
    `no cluster is mostly crude, interest, coffee or sugar: ${JSON.stringify(topics.clusters)}`,
  );
  for (const c of named) {
    const terms = c.terms.map((t) => t.term);
    assert.ok(
      obvious[c.majority]!.some((w) => terms.includes(w)),
      `cluster ${c.cluster} (${c.majority}, purity ${c.purity}): ${terms.join(", ")}`,
    );
  }
});

test("npm start's command line, as package.json has it, works in a fresh directory, and again", () => {
  // The script after its build step, with the built CLI named by its absolute path; examples/ is
  // linked into a fresh directory, so runs/ does not exist there yet (train creates it).
  const { scripts } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    scripts: Record<string, string>;
  };
  const start = scripts.start!;
  assert.match(start, /^npm run build && /);
  const line = start
    .replace(/^npm run build && /, "")
    .replaceAll("node dist/cli/main.js", `"${process.execPath}" "${cli}"`);
  const fresh = join(dir, "fresh");
  mkdirSync(fresh);
  symlinkSync(new URL("../examples", import.meta.url).pathname, join(fresh, "examples"));
  for (const round of ["first", "second"]) {
    const r = spawnSync("bash", ["-c", line], { encoding: "utf8", cwd: fresh });
    assert.equal(r.status, 0, `${round} run: ${r.stderr}`);
    assert.match(r.stdout, /^ACC\s+0\.\d+$/m, round);
  }
  assert.ok(existsSync(join(fresh, "runs", "reuters-model", "config.json")));
  assert.ok(existsSync(join(fresh, "runs", "reuters-test-predictions.csv")));
});
