// Outliers by confidence: the training confidences' quantiles against numpy's, the training
// outlier rate within 1 % of the rate asked for, the CLI, the library and the server giving the
// same -1 rows for the same threshold (given, from a rate, or the model's stored default), the
// errors (exit 2 / 400), config.json's round trip, and the report's threshold line.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DEC,
  OUTLIER_CLUSTER,
  confidenceQuantiles,
  loadModel,
  outlierThreshold,
  rowConfidence,
  thresholdForRate,
  type DECModel,
} from "../src/dec/index.js";
import { checkModelConfig } from "../src/dec/model-config.js";
import { readDataset } from "../src/io/dataset.js";
import { InputError } from "../src/io/index.js";
import { createServer } from "../src/serve/index.js";
import { assembleReport, confidenceChart } from "../src/report/index.js";
import { DEFAULTS } from "../src/config.js";

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const digits = new URL("./fixtures/digits.csv", import.meta.url).pathname;
const reference = JSON.parse(readFileSync(new URL("./fixtures/numpy_quantiles.json", import.meta.url), "utf8")) as {
  points: number;
  rates: number[];
  cases: Record<string, { values: number[]; quantiles: number[]; atRates: number[] }>;
};
const dir = mkdtempSync(join(tmpdir(), "deepclust-outliers-"));
const SMALL = ["--dims", "64,10", "--pretrain-epochs", "5", "--max-iter", "50", "--threads", "1"];

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ds = await readDataset(digits);
const X = ds.X;
const n = X.rows;

// A model trained by the CLI with a default threshold: 10 % of the training rows.
const model = join(dir, "model");
const trained = run("train", digits, "-k", "10", ...SMALL, "--no-report", "--out", model, "--outlier-rate", "0.1");
assert.equal(trained.code, 0, trained.stderr);
const loaded = loadModel(model, { threads: 1 });
after(async () => {
  await loaded.release();
});

/** The cluster column of a predictions CSV (id, labels, cluster, confidence). */
function predictedClusters(file: string): Int32Array {
  const lines = readFileSync(file, "utf8").trim().split("\n");
  const at = lines[0]!.split(",").indexOf("cluster");
  return Int32Array.from(lines.slice(1), (line) => Number(line.split(",")[at]));
}

/** `deepclust predict` on the digits with `args`: the clusters written and the --json summary. */
function predictCli(modelDir: string, ...args: string[]) {
  const out = join(dir, `p-${Math.random().toString(36).slice(2)}.csv`);
  const r = run("predict", modelDir, digits, "--out", out, "--threads", "1", "--json", ...args);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as {
    outliers: number;
    minConfidence: number | null;
    clusterSizes: number[];
    rows: number;
  };
  return { clusters: predictedClusters(out), summary };
}

/** POST /v1/predict of every digit with the body's other fields; the status and the answer. */
async function predictServer(m: DECModel, fields: Record<string, unknown>) {
  const server = createServer(m);
  try {
    const rows = Array.from({ length: n }, (_, i) => Array.from(X.data.subarray(i * X.cols, (i + 1) * X.cols)));
    const res = await server.inject({ method: "POST", url: "/v1/predict", payload: { embeddings: rows, ...fields } });
    return { status: res.statusCode, body: res.json() as { labels?: number[]; error?: string } };
  } finally {
    await server.close();
  }
}

const outlierCount = (labels: ArrayLike<number>) => Array.from(labels).filter((l) => l === OUTLIER_CLUSTER).length;

test("the stored quantiles are numpy.quantile's (linear) at 1001 probabilities; a rate's threshold interpolates them", () => {
  assert.equal(DEFAULTS.outliers.quantilePoints, reference.points);
  for (const [name, c] of Object.entries(reference.cases)) {
    const q = confidenceQuantiles(c.values);
    assert.equal(q.length, reference.points);
    for (let i = 0; i < q.length; i++) assert.ok(Math.abs(q[i]! - c.quantiles[i]!) <= 1e-12, `${name} [${i}]`);
    reference.rates.forEach((rate, j) => {
      const t = thresholdForRate({ quantiles: q }, rate);
      const onGrid = Math.abs(rate * 1000 - Math.round(rate * 1000)) < 1e-9;
      if (onGrid) assert.ok(Math.abs(t - c.atRates[j]!) <= 1e-12, `${name} at ${rate}: ${t} vs ${c.atRates[j]}`);
      else {
        // Between grid points: between the neighbouring quantiles, as the data's own quantile is.
        const lo = q[Math.floor(rate * 1000)]!;
        const hi = q[Math.ceil(rate * 1000)]!;
        assert.ok(t >= lo && t <= hi && c.atRates[j]! >= lo && c.atRates[j]! <= hi, `${name} at ${rate}`);
      }
    });
  }
});

test("the training outlier rate is within 1 % of the rate asked for (library fit, and the CLI's saved model)", async () => {
  const dec = await new DEC({
    k: 10,
    hidden: [32, 10],
    threads: 1,
    seed: 0,
    pretrain: { epochs: 5 },
    maxIter: 60,
    tol: 0,
  }).fit(X);
  assert.equal(dec.confidenceQuantiles!.length, 1001);
  // The fit's quantiles are those of the confidences of its own training rows.
  const confidence = rowConfidence(await dec.predictProba(X));
  assert.deepEqual(dec.confidenceQuantiles, confidenceQuantiles(confidence));
  for (const rate of [0.01, 0.05, 0.1, 0.2, 0.3]) {
    for (const [name, m] of [
      ["DEC.fit", dec],
      ["the CLI's model", loaded],
    ] as const) {
      const labels = await m.predict(X, { outlierRate: rate });
      const got = outlierCount(labels) / n;
      assert.ok(Math.abs(got - rate) <= 0.01, `${name}: rate ${rate} gives ${got} outliers`);
      // -1 exactly where the confidence is below the rate's threshold; the rest keep their argmax.
      const t = m.confidenceThreshold(rate);
      const plain = await m.predict(X, { minConfidence: 0 });
      const conf = rowConfidence(await m.predictProba(X));
      for (let i = 0; i < n; i++) assert.equal(labels[i], conf[i]! < t ? -1 : plain[i], `${name} row ${i}`);
    }
  }
  await dec.release();
});

test("train --outlier-rate stores the threshold; predict (CLI), the library and the server agree on the -1 rows", async () => {
  const config = JSON.parse(readFileSync(join(model, "config.json"), "utf8")) as {
    outliers: { minConfidence: number; rate: number | null };
    confidence: { quantiles: number[] };
  };
  assert.equal(config.confidence.quantiles.length, 1001);
  assert.equal(config.outliers.rate, 0.1);
  assert.equal(config.outliers.minConfidence, loaded.confidenceThreshold(0.1));
  const t30 = loaded.confidenceThreshold(0.3);
  const cases: Array<[string, string[], Record<string, number>]> = [
    ["the stored default", [], {}],
    ["--min-confidence 0 (off)", ["--min-confidence", "0"], { minConfidence: 0 }],
    ["--min-confidence", ["--min-confidence", String(t30)], { minConfidence: t30 }],
    ["--outlier-rate", ["--outlier-rate", "0.25"], { outlierRate: 0.25 }],
  ];
  for (const [name, args, options] of cases) {
    const fromCli = predictCli(model, ...args);
    const fromLibrary = await loaded.predict(X, options);
    const fromServer = await predictServer(loaded, options);
    assert.equal(fromServer.status, 200, name);
    assert.deepEqual(fromCli.clusters, fromLibrary, `${name}: CLI = library`);
    assert.deepEqual(fromServer.body.labels, Array.from(fromLibrary), `${name}: server = library`);
    const outliers = outlierCount(fromLibrary);
    const s = fromCli.summary;
    assert.equal(s.outliers, outliers, name);
    assert.equal(
      s.clusterSizes.reduce((a, b) => a + b, 0),
      n - outliers,
      `${name}: the cluster sizes count the non-outliers`,
    );
    if (name === "--min-confidence 0 (off)") {
      assert.equal(outliers, 0);
      assert.equal(s.minConfidence, null);
    } else assert.ok(outliers > 0, name);
    if (name === "the stored default") {
      assert.equal(s.minConfidence, config.outliers.minConfidence);
      assert.ok(Math.abs(outliers / n - 0.1) <= 0.01, `the stored default: ${outliers / n}`);
    }
    if (name === "--outlier-rate") assert.ok(Math.abs(outliers / n - 0.25) <= 0.01, `${outliers / n}`);
  }
  // The library's DEC.load applies the stored default as well.
  const dec = DEC.load(model, { threads: 1 });
  assert.deepEqual(await dec.predict(X), await loaded.predict(X));
  await dec.release();
});

test("bad outlier options: exit 2 (CLI), RangeError (library), 400 (server), each saying why", async () => {
  const both = run("predict", model, digits, "--out", "x.csv", "--min-confidence", "0.1", "--outlier-rate", "0.1");
  assert.equal(both.code, 2);
  assert.match(both.stderr, /either --min-confidence or --outlier-rate, not both/);
  const trainBoth = run("train", digits, "-k", "3", "--out", "m2", "--min-confidence", "0.1", "--outlier-rate", "0.1");
  assert.equal(trainBoth.code, 2);
  assert.match(trainBoth.stderr, /not both/);
  for (const [flag, value, why] of [
    ["--min-confidence", "1.5", /--min-confidence must be a number in \[0, 1\]/],
    ["--min-confidence", "-0.1", /--min-confidence must be a number in \[0, 1\]/],
    ["--outlier-rate", "1", /--outlier-rate must be a number in \[0, 1\)/],
    ["--outlier-rate", "abc", /--outlier-rate must be a number/],
  ] as const) {
    const r = run("predict", model, digits, "--out", "x.csv", flag, value);
    assert.equal(r.code, 2, `${flag} ${value}`);
    assert.match(r.stderr, why);
  }
  await assert.rejects(loaded.predict(X, { minConfidence: 0.1, outlierRate: 0.1 }), RangeError);
  assert.throws(() => loaded.confidenceThreshold(1), /outlierRate must be a number in \[0, 1\)/);
  assert.throws(
    () => outlierThreshold({}, { minConfidence: Number.NaN }),
    /minConfidence must be a number in \[0, 1\]/,
  );
  for (const [fields, why] of [
    [{ minConfidence: 0.1, outlierRate: 0.1 }, /not both/],
    [{ minConfidence: 2 }, /minConfidence must be a number in \[0, 1\]/],
    [{ outlierRate: -0.5 }, /outlierRate must be a number in \[0, 1\)/],
    [{ outlierRate: "0.1" }, /'outlierRate' must be a number/],
  ] as const) {
    const r = await predictServer(loaded, fields);
    assert.equal(r.status, 400, JSON.stringify(fields));
    assert.match(r.body.error!, why);
  }

  // A model without the training confidences (older, or imported from PyTorch): no rate, a threshold works.
  const old = join(dir, "old-model");
  cpSync(model, old, { recursive: true });
  const configFile = join(old, "config.json");
  const {
    confidence: _c,
    outliers: _o,
    ...rest
  } = JSON.parse(readFileSync(configFile, "utf8")) as Record<string, unknown>;
  writeFileSync(configFile, JSON.stringify(rest, null, 2));
  const noRate = run("predict", old, digits, "--out", "x.csv", "--outlier-rate", "0.1");
  assert.equal(noRate.code, 2);
  assert.match(noRate.stderr, /does not record/);
  assert.match(noRate.stderr, /--min-confidence/);
  const t = loaded.confidenceThreshold(0.1);
  const withThreshold = predictCli(old, "--min-confidence", String(t));
  assert.deepEqual(withThreshold.clusters, await loaded.predict(X));
  assert.deepEqual(predictCli(old).summary.outliers, 0, "no stored default: no outliers");
  const oldModel = loadModel(old, { threads: 1 });
  const r = await predictServer(oldModel, { outlierRate: 0.1 });
  assert.equal(r.status, 400);
  assert.match(r.body.error!, /does not record/);
  assert.throws(() => oldModel.confidenceThreshold(0.1), RangeError);
  await oldModel.release();
});

test("config.json round trip: the quantiles and the default survive save and load; bad ones are refused by name", async () => {
  const dec = DEC.load(model, { threads: 1 });
  const copy = join(dir, "resaved");
  dec.save(copy);
  const again = loadModel(copy, { threads: 1 });
  assert.deepEqual(again.config.confidence, loaded.config.confidence);
  assert.deepEqual(again.config.outliers, loaded.config.outliers);
  // The quantiles are one line of config.json.
  assert.match(readFileSync(join(copy, "config.json"), "utf8"), /"quantiles": \[[^\n]*\]\n/);
  await again.release();
  await dec.release();

  const base = JSON.parse(readFileSync(join(model, "config.json"), "utf8")) as Record<string, unknown>;
  for (const [patch, field] of [
    [{ confidence: { quantiles: [0.5, 0.4] } }, /field 'confidence.quantiles'/],
    [{ confidence: { quantiles: [0.5] } }, /field 'confidence.quantiles'/],
    [{ confidence: [] }, /field 'confidence'/],
    [{ outliers: { minConfidence: 1.2, rate: null } }, /field 'outliers.minConfidence'/],
    [{ outliers: { minConfidence: 0.2, rate: 1 } }, /field 'outliers.rate'/],
  ] as const) {
    assert.throws(
      () => checkModelConfig("config.json", { ...base, ...patch }),
      (e: unknown) => e instanceof InputError && field.test(e.message),
      JSON.stringify(patch),
    );
  }
});

test("train --min-confidence stores a threshold with no rate", () => {
  const m = join(dir, "model-threshold");
  const r = run("train", digits, "-k", "10", ...SMALL, "--no-report", "--out", m, "--min-confidence", "0.15", "--json");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { outliers: unknown }).outliers, { minConfidence: 0.15, rate: null });
  const config = JSON.parse(readFileSync(join(m, "config.json"), "utf8")) as { outliers: unknown };
  assert.deepEqual(config.outliers, { minConfidence: 0.15, rate: null });
});

test("the report draws each cluster's confidence with the model's threshold, else the training 5 % reference", async () => {
  const withDefault = await assembleReport(loaded, null, { dataset: ds, map: "pca" });
  const c = withDefault.confidence!;
  assert.deepEqual(c.threshold, { value: loaded.config.outliers!.minConfidence, kind: "model", rate: 0.1 });
  assert.equal(c.outliers, outlierCount(await loaded.predict(X)));
  assert.equal(c.points.length, Math.min(n, DEFAULTS.report.maxPoints));
  const spec = JSON.stringify(confidenceChart(withDefault)!.spec);
  assert.match(spec, /"boxplot"/);
  assert.match(spec, /"rule"/);
  assert.doesNotMatch(spec, /strokeDash/);

  const old = loadModel(join(dir, "old-model"), { threads: 1 });
  const none = await assembleReport(old, null, { dataset: ds, map: "pca" });
  assert.equal(none.confidence!.threshold, null);
  await old.release();

  const copy = join(dir, "no-default");
  cpSync(model, copy, { recursive: true });
  const configFile = join(copy, "config.json");
  const { outliers: _o, ...rest } = JSON.parse(readFileSync(configFile, "utf8")) as Record<string, unknown>;
  writeFileSync(configFile, JSON.stringify(rest, null, 2));
  const plain = loadModel(copy, { threads: 1 });
  const reference = await assembleReport(plain, null, { dataset: ds, map: "pca" });
  assert.deepEqual(reference.confidence!.threshold, {
    value: plain.confidenceThreshold(DEFAULTS.outliers.referenceRate),
    kind: "reference",
    rate: DEFAULTS.outliers.referenceRate,
  });
  assert.equal(reference.confidence!.outliers, null);
  assert.match(JSON.stringify(confidenceChart(reference)!.spec), /strokeDash/);
  await plain.release();
});
