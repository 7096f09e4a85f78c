// Cluster topics: the terms of a text (Unicode word segmentation, stop words, word pairs), their
// class-based TF-IDF weights against scikit-learn's CountVectorizer counts and BERTopic's formula
// (fixture from test/fixtures/gen_sklearn_ctfidf.py), representative texts and purity, and
// `deepclust topics` on a model with and without a text column (`npm test` builds dist/ first).

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { ClassTermCounts, TermExtractor, TopicsBuilder, clusterTopics } from "../src/text/index.js";

const fixture = JSON.parse(readFileSync(new URL("./fixtures/sklearn_ctfidf.json", import.meta.url), "utf8")) as {
  classes: string[];
  texts: string[];
  clusters: number[];
  weights: Array<Record<string, number>>;
};
const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "deepclust-topics-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("terms: lower-cased words without stop words or bare numbers, then pairs of neighbouring words", () => {
  const terms = new TermExtractor().terms("Crude oil prices rose, OPEC's output: 12.6 mln barrels in the G7");
  assert.deepEqual(terms, [
    "crude",
    "oil",
    "prices",
    "rose",
    "opec's",
    "output",
    "mln",
    "barrels",
    "g7",
    "crude oil",
    "oil prices",
    "prices rose",
    "rose opec's",
    "opec's output",
    "output mln",
    "mln barrels",
    "barrels g7",
  ]);
  assert.deepEqual(new TermExtractor({ ngrams: 1, stopWords: null }).terms("The oil"), ["the", "oil"]);
  assert.throws(() => new TermExtractor({ stopWords: "xx" }), /no stop-word list for 'xx'/);
});

test("c-TF-IDF equals scikit-learn's counts weighted as BERTopic weighs them, for every term of every class", () => {
  const extractor = new TermExtractor({ ngrams: 2, stopWords: "en" });
  const counts = new ClassTermCounts(fixture.classes.length);
  fixture.texts.forEach((t, i) => counts.add(fixture.clusters[i]!, extractor.terms(t)));
  const all = counts.topTerms(Infinity);
  let compared = 0;
  all.forEach((terms, c) => {
    const expected = fixture.weights[c]!;
    assert.deepEqual(terms.map((t) => t.term).sort(), Object.keys(expected).sort(), fixture.classes[c]);
    for (const { term, weight } of terms) {
      assert.ok(
        Math.abs(weight - expected[term]!) < 1e-12,
        `${fixture.classes[c]} '${term}': ${weight} vs ${expected[term]}`,
      );
      compared++;
    }
    for (let i = 1; i < terms.length; i++) assert.ok(terms[i - 1]!.weight >= terms[i]!.weight, "sorted by weight");
  });
  assert.ok(compared > 2000, `${compared} weights compared`);
});

test("topics of the Reuters classes name their obvious words; examples are the most confident distinct texts", () => {
  const rows = parse(readFileSync(new URL("../examples/reuters/train.csv", import.meta.url)), {
    columns: true,
  }) as Array<{ text: string; labels: string }>;
  const classes = [...new Set(rows.map((r) => r.labels))].sort();
  const clusters = rows.map((r) => classes.indexOf(r.labels));
  // Confidence: a made-up score, so that the examples' order is known.
  const confidence = rows.map((_, i) => (i % 97) / 97);
  const topics = clusterTopics(
    classes.length,
    rows.map((r) => r.text),
    clusters,
    confidence,
    { labels: rows.map((r) => r.labels), examples: 4 },
  );
  const termsOf = (label: string) => topics[classes.indexOf(label)]!.terms.map((t) => t.term);
  for (const [label, words] of [
    ["crude", ["oil", "crude", "opec"]],
    ["interest", ["rate", "rates", "bank"]],
    ["coffee", ["coffee"]],
    ["sugar", ["sugar"]],
  ] as const) {
    const terms = termsOf(label);
    assert.equal(terms.length, 10);
    for (const w of words) assert.ok(terms.includes(w), `${label}: '${w}' not in ${terms.join(", ")}`);
  }
  for (const t of topics) {
    assert.equal(t.size, clusters.filter((c) => c === t.cluster).length);
    assert.deepEqual([t.majority, t.purity], [classes[t.cluster], 1]);
    assert.equal(t.examples.length, 4);
    const own = rows.map((r, i) => ({ i, q: confidence[i]! })).filter(({ i }) => clusters[i] === t.cluster);
    const highest = Math.max(...own.map((o) => o.q));
    assert.equal(t.examples[0]!.confidence, highest);
    assert.equal(t.examples[0]!.row, own.find((o) => o.q === highest)!.i, "ties: the earlier row");
    assert.equal(new Set(t.examples.map((e) => e.text)).size, 4, "distinct texts");
    const mean = own.reduce((s, o) => s + o.q, 0) / own.length;
    assert.ok(Math.abs(t.meanConfidence! - mean) < 1e-12);
  }
});

test("a builder fed in chunks gives the topics of the whole; an empty cluster has none", () => {
  const texts = ["oil prices fall", "oil output rises", "rate cut by bank", "bank rate rises", "oil tanker hit"];
  const clusters = [0, 0, 1, 1, 0];
  const q = [0.9, 0.8, 0.7, 0.6, 0.95];
  const whole = clusterTopics(3, texts, clusters, q, { labels: ["a", "a", "b", null, "b"] });
  const b = new TopicsBuilder(3);
  b.add(texts.slice(0, 2), clusters.slice(0, 2), q.slice(0, 2), ["a", "a"], 0);
  b.add(texts.slice(2), clusters.slice(2), q.slice(2), ["b", null, "b"], 2);
  assert.deepEqual(b.topics(), whole);
  assert.deepEqual(
    whole[0]!.examples.map((e) => e.row),
    [4, 0, 1],
  );
  assert.deepEqual([whole[0]!.majority, whole[0]!.purity], ["a", 2 / 3]);
  assert.deepEqual([whole[1]!.majority, whole[1]!.purity], ["b", 1], "a missing label is not counted");
  assert.deepEqual(whole[2], {
    cluster: 2,
    size: 0,
    terms: [],
    examples: [],
    meanConfidence: null,
    majority: null,
    purity: null,
  });
});

test("deepclust topics: the model's clusters of a CSV with texts, as JSON; exit 2 naming a missing text column", () => {
  const train = new URL("../test/fixtures/digits.csv", import.meta.url).pathname;
  const model = join(dir, "model");
  const t = spawnSync(
    process.execPath,
    [
      cli,
      "train",
      train,
      "-k",
      "10",
      "--preset",
      "reference",
      "--pretrain-epochs",
      "20",
      "--max-iter",
      "20",
      "--no-report",
      "--out",
      model,
      "--json",
    ],
    { encoding: "utf8" },
  );
  assert.equal(t.status, 0, t.stderr);
  // digits.csv has no text: give its rows one, made of words tied to their labels.
  const rows = parse(readFileSync(train), { columns: true }) as Array<Record<string, string>>;
  const words = ["apple", "banana", "cherry", "grape", "lemon", "mango", "olive", "peach", "plum", "melon"];
  const csv = join(dir, "texts.csv");
  writeFileSync(
    csv,
    [
      "id,text,embeddings,labels",
      ...rows.map(
        (r, i) => `${i},"a digit ${words[Number(r.labels)]} drawn",${JSON.stringify(r.embeddings)},${r.labels}`,
      ),
    ].join("\n") + "\n",
  );
  const r = spawnSync(process.execPath, [cli, "topics", model, csv, "--json", "--top", "3", "--threads", "1"], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    rows: number;
    labelsColumn: string;
    clusters: Array<{
      size: number;
      terms: Array<{ term: string }>;
      majority: string;
      purity: number;
      examples: unknown[];
    }>;
  };
  assert.equal(out.rows, rows.length);
  assert.equal(out.labelsColumn, "labels");
  assert.equal(out.clusters.length, 10);
  assert.equal(
    out.clusters.reduce((s, c) => s + c.size, 0),
    rows.length,
  );
  let pure = 0;
  for (const c of out.clusters.filter((c) => c.size > 0)) {
    // The majority label's word is among the cluster's top terms when it is most of the cluster.
    if (c.purity > 0.6 && ++pure)
      assert.ok(
        c.terms.some((t) => t.term.includes(words[Number(c.majority)]!)),
        JSON.stringify(c.terms),
      );
    assert.equal(c.examples.length, 3);
  }
  assert.ok(pure >= 3, `only ${pure} clusters with a clear majority`);
  const bad = spawnSync(process.execPath, [cli, "topics", model, train, "--text-column", "body"], { encoding: "utf8" });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /digits\.csv.*column 'body'.*no text column 'body'/);
});

test("topicsOfFile: a row whose label is missing (empty, NA) does not count towards the majority or the purity", async () => {
  const { topicsOfFile } = await import("../src/pipeline/index.js");
  // A one-cluster model: every row is in cluster 0.
  const model = {
    k: 1,
    inputDim: 2,
    predictProba: async (X: { rows: number }) => ({ data: new Float32Array(X.rows).fill(1), rows: X.rows, cols: 1 }),
  };
  const csv = join(dir, "missing-labels.csv");
  writeFileSync(
    csv,
    ["text,embeddings,labels", ...["a", "", "NA", "a", "b"].map((l, i) => `row ${i} oil,"[${i},1]",${l}`)].join("\n") +
      "\n",
  );
  const { clusters } = await topicsOfFile(model, csv);
  assert.deepEqual([clusters[0]!.size, clusters[0]!.majority, clusters[0]!.purity], [5, "a", 2 / 3]);
});
