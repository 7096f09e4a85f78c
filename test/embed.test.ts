// Sentence embeddings against the tiny BERT that test/fixtures/gen_tiny_bert.py builds with plain
// PyTorch and exports with torch.onnx.export: the token ids equal the script's WordPiece
// tokenisation (accents, punctuation, an emoji, truncation, an empty text), and the mean-pooled
// and [CLS] embeddings equal PyTorch's to 1e-5; then `deepclust embed` file to file (CSV, JSONL,
// text in; CSV, JSONL, .npy out) and its errors (`npm test` builds dist/ first).

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { loadModel } from "../src/dec/index.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SentenceEncoder } from "../src/text/index.js";
import { readDataset, readNpy } from "../src/io/index.js";

const model = new URL("./fixtures/tiny-bert", import.meta.url).pathname;
const expected = JSON.parse(readFileSync(new URL("./fixtures/tiny-bert-expected.json", import.meta.url), "utf8")) as {
  maxLength: number;
  sentences: string[];
  ids: number[][];
  mean: number[][];
  cls: number[][];
};
const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "deepclust-embed-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function maxDiff(m: { data: Float32Array; cols: number }, rows: number[][]): number {
  let worst = 0;
  rows.forEach((row, i) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - m.data[i * m.cols + j]!)))));
  return worst;
}

test("the fixture stays small: a committed model under 2 MB with a vocabulary under 1,000", () => {
  const files = ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx", "pytorch_model.bin"];
  let bytes = 0;
  for (const f of files) bytes += readFileSync(join(model, f)).length;
  assert.ok(bytes < 2e6, `${bytes} bytes`);
  const vocab = (JSON.parse(readFileSync(join(model, "tokenizer.json"), "utf8")) as { model: { vocab: object } }).model
    .vocab;
  assert.ok(Object.keys(vocab).length < 1000);
});

test("token ids equal the generator's WordPiece tokenisation, truncation included", async () => {
  const enc = await SentenceEncoder.load(model, { maxLength: expected.maxLength, threads: 1 });
  try {
    expected.sentences.forEach((s, i) => assert.deepEqual(enc.tokenize(s), expected.ids[i], JSON.stringify(s)));
    assert.ok(
      expected.ids.some((ids) => ids.length === expected.maxLength),
      "a sentence was truncated",
    );
    assert.ok(
      expected.ids.some((ids) => ids.includes(1)),
      "a character became [UNK]",
    );
    assert.equal(enc.info.maxLength, 16, "the tokenizer's model_max_length, below max_position_embeddings");
  } finally {
    await enc.release();
  }
});

test("mean-pooled and [CLS] embeddings equal PyTorch's to 1e-5, whatever the batching; normalised ones are unit length", async () => {
  for (const batchSize of [32, 3, 1]) {
    const enc = await SentenceEncoder.load(model, { threads: 1, batchSize });
    const m = await enc.embed(expected.sentences);
    await enc.release();
    assert.deepEqual([m.rows, m.cols], [expected.sentences.length, 32]);
    assert.ok(maxDiff(m, expected.mean) < 1e-5, `batch ${batchSize}: ${maxDiff(m, expected.mean)}`);
  }
  const cls = await SentenceEncoder.load(model, { threads: 1, pooling: "cls" });
  assert.ok(maxDiff(await cls.embed(expected.sentences), expected.cls) < 1e-5);
  await cls.release();
  const unit = await SentenceEncoder.load(model, { threads: 1, normalize: true });
  const u = await unit.embed(expected.sentences);
  await unit.release();
  expected.mean.forEach((row, i) => {
    const norm = Math.hypot(...row);
    row.forEach((v, j) => assert.ok(Math.abs(v / norm - u.data[i * 32 + j]!) < 1e-5));
  });
});

test("deepclust embed: CSV → CSV in the reference format (columns carried), text → .npy, JSONL → JSONL", () => {
  const csv = join(dir, "news.csv");
  const rows = expected.sentences.map((s, i) => `${i},"${s.replace(/"/g, '""')}",${i % 3}`);
  writeFileSync(csv, ["id,text,labels", ...rows].join("\n") + "\n");
  const r = run("embed", csv, "--model", model, "--out", "news-embeddings.csv", "--threads", "1", "--json");
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { rows: number; dim: number; model: { sha256: string; pooling: string } };
  assert.deepEqual([s.rows, s.dim, s.model.pooling], [expected.sentences.length, 32, "mean"]);
  assert.match(s.model.sha256, /^[0-9a-f]{64}$/);
  // What deepclust reads back is what the library computes, and the other columns are kept.
  return readDataset(join(dir, "news-embeddings.csv")).then((ds) => {
    assert.deepEqual([ds.X.rows, ds.X.cols, ds.embeddingsColumn], [expected.sentences.length, 32, "embeddings"]);
    assert.deepEqual(
      ds.passthrough.id,
      expected.sentences.map((_, i) => String(i)),
    );
    assert.deepEqual(ds.passthrough.text, expected.sentences);
    assert.deepEqual(
      ds.labels,
      expected.sentences.map((_, i) => i % 3),
    );
    assert.ok(maxDiff(ds.X, expected.mean) < 1e-5);

    const txt = join(dir, "lines.txt");
    writeFileSync(txt, expected.sentences.join("\n") + "\n");
    assert.equal(run("embed", txt, "--model", model, "--out", "lines.npy", "--normalize").code, 0);
    const npy = readNpy(join(dir, "lines.npy"));
    assert.deepEqual([npy.rows, npy.cols], [expected.sentences.length, 32]);
    for (let i = 0; i < npy.rows; i++)
      assert.ok(Math.abs(Math.hypot(...npy.data.subarray(i * 32, (i + 1) * 32)) - 1) < 1e-5);

    const jsonl = join(dir, "docs.jsonl");
    writeFileSync(
      jsonl,
      expected.sentences.map((t, i) => JSON.stringify({ id: i, body: t, meta: { n: i } })).join("\n") + "\n",
    );
    assert.equal(
      run("embed", jsonl, "--model", model, "--out", "docs.jsonl.out.jsonl", "--text-column", "body").code,
      0,
    );
    const lines = readFileSync(join(dir, "docs.jsonl.out.jsonl"), "utf8").trim().split("\n");
    const first = JSON.parse(lines[0]!) as { id: number; body: string; meta: { n: number }; embeddings: number[] };
    assert.deepEqual(
      [first.id, first.body, first.meta, first.embeddings.length],
      [0, expected.sentences[0], { n: 0 }, 32],
    );
  });
});

test("deepclust embed: a missing model folder or text column is exit 2 naming what is wrong; nothing is written", () => {
  const csv = join(dir, "bad.csv");
  writeFileSync(csv, "id,body\n1,hello\n");
  const noModel = run("embed", csv, "--model", join(dir, "nowhere"), "--out", "x.csv");
  assert.equal(noModel.code, 2);
  assert.match(
    noModel.stderr,
    /not an embedding model folder: config\.json, tokenizer\.json, tokenizer_config\.json, onnx\/model\.onnx missing/,
  );
  assert.match(noModel.stderr, /never downloads/);
  const noColumn = run("embed", csv, "--model", model, "--out", "x.csv");
  assert.equal(noColumn.code, 2);
  assert.match(noColumn.stderr, /bad\.csv, row 1, column 'text': no text column 'text' \(the row has 'id', 'body'\)/);
  assert.ok(!existsSync(join(dir, "x.csv")));
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.includes(".tmp-")),
    [],
    "no temporary file left",
  );
  writeFileSync(join(dir, "kept.csv"), "mine\n");
  const exists = run("embed", csv, "--model", model, "--out", "kept.csv", "--text-column", "body");
  assert.equal(exists.code, 2);
  assert.equal(readFileSync(join(dir, "kept.csv"), "utf8"), "mine\n", "an existing file is kept without --force");
});

test("a real sentence-embedding model, when one is present (DEEPCLUST_EMBED_MODEL)", async (t) => {
  const real = process.env.DEEPCLUST_EMBED_MODEL;
  if (!real || !existsSync(real)) {
    const note = `no real model found: set DEEPCLUST_EMBED_MODEL to a Hugging Face model folder (e.g. all-MiniLM-L6-v2 with onnx/model.onnx) to test one`;
    t.diagnostic(note);
    console.log(`# ${note}`);
    return;
  }
  const enc = await SentenceEncoder.load(real, { threads: 2 });
  const m = await enc.embed(["Oil prices rose.", "Crude output fell.", "The bank cut rates."]);
  await enc.release();
  assert.equal(m.cols, enc.info.dim);
  assert.ok(m.data.every(Number.isFinite));
  const cos = (a: number, b: number) => {
    const x = m.data.subarray(a * m.cols, (a + 1) * m.cols);
    const y = m.data.subarray(b * m.cols, (b + 1) * m.cols);
    let d = 0;
    for (let j = 0; j < m.cols; j++) d += x[j]! * y[j]!;
    return d / (Math.hypot(...x) * Math.hypot(...y));
  };
  assert.ok(cos(0, 1) > cos(0, 2), "the two oil sentences are closer than oil and rates");
});

test("train --embed-model trains on texts and records the model; predict, evaluate and topics take texts; another model is refused", async () => {
  const rows = (
    parse(readFileSync(new URL("../examples/reuters/train.csv", import.meta.url)), { columns: true }) as Array<{
      id: string;
      text: string;
      labels: string;
    }>
  ).slice(0, 300);
  const texts = join(dir, "stories.csv");
  writeFileSync(texts, stringify([["id", "text", "labels"], ...rows.map((r) => [r.id, r.text, r.labels])]));
  const out = join(dir, "text-model");
  const t = run(
    "train",
    texts,
    "--embed-model",
    model,
    "-k",
    "4",
    "--preset",
    "reference",
    "--pretrain-epochs",
    "3",
    "--max-iter",
    "30",
    "--no-report",
    "--out",
    out,
    "--json",
    "--threads",
    "1",
  );
  assert.equal(t.code, 0, t.stderr);
  const summary = JSON.parse(t.stdout) as { rows: number; dims: number[]; labelsColumn: string; topics: unknown[] };
  assert.deepEqual(
    [summary.rows, summary.dims[0], summary.labelsColumn, summary.topics.length],
    [300, 32, "labels", 4],
  );
  const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as { embedding: Record<string, unknown> };
  const enc = await SentenceEncoder.load(model, { threads: 1 });
  assert.deepEqual(config.embedding, { ...enc.info, dir: model });

  // predict on texts = the library's embeddings through the loaded model.
  const p = run("predict", out, texts, "--out", "stories-predictions.csv", "--threads", "1");
  assert.equal(p.code, 0, p.stderr);
  const predicted = (
    parse(readFileSync(join(dir, "stories-predictions.csv")), { columns: true }) as Array<Record<string, string>>
  ).map((r) => Number(r.cluster));
  const loaded = loadModel(out, { threads: 1 });
  assert.deepEqual(predicted, Array.from(await loaded.predict(await enc.embed(rows.map((r) => r.text)))));
  await loaded.release();
  await enc.release();
  const e = run("evaluate", out, texts, "--json");
  assert.equal(e.code, 0, e.stderr);
  assert.equal((JSON.parse(e.stdout) as { n: number }).n, 300);
  const tp = run("topics", out, texts, "--json");
  assert.equal(tp.code, 0, tp.stderr);

  // The same folder with one byte more (an unknown protobuf field: a valid model, another hash).
  const other = join(dir, "other-model");
  cpSync(model, other, { recursive: true });
  appendFileSync(join(other, "onnx", "model.onnx"), Buffer.from([0x98, 0x06, 0x01]));
  const refused = run("predict", out, texts, "--out", "refused.csv", "--embed-model", other);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /is not the one .*text-model was trained with \(deepclust\/tiny-bert-test/);
  assert.ok(!existsSync(join(dir, "refused.csv")));
  const notText = run("predict", out.replace("text-model", "nowhere"), texts, "--out", "x2.csv");
  assert.equal(notText.code, 2);
  // The recorded folder moved away: the message says to give it with --embed-model.
  const moved = join(dir, "text-model-moved");
  cpSync(out, moved, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(moved, "config.json"), "utf8")) as { embedding: { dir: string } };
  cfg.embedding.dir = join(dir, "gone");
  writeFileSync(join(moved, "config.json"), JSON.stringify(cfg));
  const gone = run("predict", moved, texts, "--out", "x3.csv");
  assert.equal(gone.code, 2);
  assert.match(gone.stderr, /is not there: give a copy of it with --embed-model/);
  assert.equal(run("predict", moved, texts, "--out", "x3.csv", "--embed-model", model).code, 0);
});

test("deepclust embed reads texts from Parquet (DuckDB's file), every column carried", async () => {
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const db = await DuckDBInstance.create(":memory:");
  const con = await db.connect();
  const file = join(dir, "docs.parquet");
  const values = expected.sentences.map((s, i) => `(${i}, '${s.replace(/'/g, "''")}', 'c${i % 2}')`).join(", ");
  await con.run(`COPY (SELECT * FROM (VALUES ${values}) AS t(id, text, labels)) TO '${file}' (FORMAT PARQUET)`);
  con.closeSync();
  const r = run("embed", file, "--model", model, "--out", "from-parquet.csv", "--threads", "1");
  assert.equal(r.code, 0, r.stderr);
  const ds = await readDataset(join(dir, "from-parquet.csv"));
  assert.deepEqual(ds.passthrough.text, expected.sentences);
  assert.deepEqual(
    ds.labels,
    expected.sentences.map((_, i) => `c${i % 2}`),
  );
  assert.ok(maxDiff(ds.X, expected.mean) < 1e-5);
});

test("deepclust embed writes Parquet (list<float> embeddings, every column) that DuckDB and deepclust read back", async () => {
  const csv = join(dir, "for-parquet.csv");
  writeFileSync(csv, stringify([["id", "text"], ...expected.sentences.map((s, i) => [String(i), s])]));
  const r = run("embed", csv, "--model", model, "--out", "out.parquet", "--threads", "1");
  assert.equal(r.code, 0, r.stderr);
  const file = join(dir, "out.parquet");
  const ds = await readDataset(file);
  assert.deepEqual([ds.X.rows, ds.X.cols, ds.embeddingsColumn], [expected.sentences.length, 32, "embeddings"]);
  assert.deepEqual(ds.passthrough.text, expected.sentences);
  assert.ok(maxDiff(ds.X, expected.mean) < 1e-5);
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const con = await (await DuckDBInstance.create(":memory:")).connect();
  const rows = (
    await con.runAndReadAll(
      `SELECT id, text, len(embeddings) AS n, embeddings[1] AS e1 FROM '${file}' ORDER BY id::INT`,
    )
  ).getRowObjects();
  con.closeSync();
  assert.equal(rows.length, expected.sentences.length);
  assert.deepEqual([rows[4]!.id, rows[4]!.text, Number(rows[4]!.n)], ["4", expected.sentences[4], 32]);
  assert.ok(Math.abs(Number(rows[0]!.e1) - expected.mean[0]![0]!) < 1e-5);
});

test("serve: a model trained from texts answers POST /v1/predict-texts with the clusters predict gives", async () => {
  const textModel = join(dir, "text-model"); // trained by the test above
  const { createServer } = await import("../src/serve/server.js");
  const { openRecordedEncoder } = await import("../src/pipeline/index.js");
  const m = loadModel(textModel, { threads: 1 });
  const enc = await openRecordedEncoder(m.config.embedding!, textModel, undefined, { threads: 1 });
  const app = createServer(m, { encoder: enc, maxRows: 5 });
  try {
    const texts = ["Oil prices rose.", "The bank cut its rate.", "Coffee exports fell."];
    const r = await app.inject({ method: "POST", url: "/v1/predict-texts", payload: { texts, proba: true } });
    assert.equal(r.statusCode, 200, r.body);
    const body = r.json() as { labels: number[]; confidence: number[]; probabilities: number[][] };
    assert.deepEqual(body.labels, Array.from(await m.predict(await enc.embed(texts))));
    assert.equal(body.probabilities.length, 3);
    const info = (await app.inject({ method: "GET", url: "/v1/model" })).json() as { embedding: { sha256: string } };
    assert.equal(info.embedding.sha256, enc.info.sha256);
    // Outliers per request, as the library marks them: the middle confidence as threshold makes the lowest row -1.
    const embedded = await enc.embed(texts);
    const middle = [...body.confidence].sort((a, b) => a - b)[1]!;
    for (const fields of [{ minConfidence: middle }, { outlierRate: 0.5 }]) {
      const o = await app.inject({ method: "POST", url: "/v1/predict-texts", payload: { texts, ...fields } });
      assert.equal(o.statusCode, 200, o.body);
      const labels = (o.json() as { labels: number[] }).labels;
      assert.deepEqual(labels, Array.from(await m.predict(embedded, fields)), JSON.stringify(fields));
      if ("minConfidence" in fields) assert.equal(labels.filter((l) => l === -1).length, 1);
    }
    const badRate = await app.inject({ method: "POST", url: "/v1/predict-texts", payload: { texts, outlierRate: 1 } });
    assert.equal(badRate.statusCode, 400);
    assert.match((badRate.json() as { error: string }).error, /outlierRate must be a number in \[0, 1\)/);
    for (const [payload, message] of [
      [{ texts: [1, 2] }, /texts/],
      [{ texts: [] }, /texts/],
      [{ texts: ["a", "b", "c", "d", "e", "f"] }, /texts/],
      [{ embeddings: [[1]] }, /texts|embeddings/],
    ] as const) {
      const bad = await app.inject({ method: "POST", url: "/v1/predict-texts", payload });
      assert.equal(bad.statusCode, 400, JSON.stringify(payload));
      assert.match((bad.json() as { error: string }).error, message);
    }
    const notJson = await app.inject({
      method: "POST",
      url: "/v1/predict-texts",
      payload: "{",
      headers: { "content-type": "application/json" },
    });
    assert.equal(notJson.statusCode, 400);
  } finally {
    await app.close();
    await m.release();
    await enc.release();
  }
  // Served without an embedding model (as every model trained on embeddings is), the route is absent.
  const plain = loadModel(textModel, { threads: 1 });
  const noTexts = createServer(plain, {});
  try {
    const r = await noTexts.inject({ method: "POST", url: "/v1/predict-texts", payload: { texts: ["x"] } });
    assert.equal(r.statusCode, 404);
    assert.match((r.json() as { error: string }).error, /the routes: POST \/v1\/predict, /);
  } finally {
    await noTexts.close();
    await plain.release();
  }
});

test("choose-k --embed-model chooses k for texts, embedding them first", () => {
  const rows = (
    parse(readFileSync(new URL("../examples/reuters/train.csv", import.meta.url)), { columns: true }) as Array<{
      text: string;
    }>
  ).slice(0, 200);
  const texts = join(dir, "choose-k-stories.csv");
  writeFileSync(texts, stringify([["text"], ...rows.map((r) => [r.text])]));
  const r = run(
    "choose-k",
    texts,
    "--embed-model",
    model,
    "--k",
    "2..5",
    "--preset",
    "reference",
    "--pretrain-epochs",
    "3",
    "--json",
    "--threads",
    "1",
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { rows: number; dims: number[]; recommended: number; ks: number[] };
  assert.deepEqual([out.rows, out.dims[0], out.ks], [200, 32, [2, 3, 4, 5]]);
  assert.ok(out.ks.includes(out.recommended));
});
