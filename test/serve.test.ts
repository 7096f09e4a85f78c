// deepclust serve: the real server on 127.0.0.1, port 0, driven with fetch. Every endpoint, every
// client error (and that serving goes on after it), predictions identical to the library's,
// micro-batching of concurrent requests, and the CLI's graceful shutdown on SIGTERM / SIGINT.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng, type Matrix } from "../src/engine/index.js";
import { CENTERS } from "../src/nn/index.js";
import { Autoencoder, loadModel, modelConfig, writeModelDir, type DECModel } from "../src/dec/index.js";
import { createServer, type DeepclustServer, type ServeOptions } from "../src/serve/index.js";

const D = 16;
const K = 3;
const dir = mkdtempSync(join(tmpdir(), "deepclust-serve-"));
const modelDir = join(dir, "model");

// A small model with random weights (no training needed to test serving): centres at the codes
// of three random points, so that every cluster gets rows.
const rng = new Rng(7);
const ae = new Autoencoder({ dims: [D, 8, 4] }, rng, { threads: 1 });
const X = randomRows(300);
const centres = await ae.encode({ data: X.data.slice(0, K * D), rows: K, cols: D });
ae.params.define(CENTERS, [K, 4], centres.data);
writeModelDir(modelDir, ae, modelConfig(ae, { k: K, alpha: 1, method: "dec", labelMapping: { "0": "sport", "1": "politics", "2": "science" } }), null);

const model = loadModel(modelDir, { threads: 1 });
const q = await model.predictProba(X);
const labels = await model.predict(X);

const servers: DeepclustServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
  await model.release();
});

function randomRows(n: number): Matrix {
  const data = new Float32Array(n * D);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return { data, rows: n, cols: D };
}

function rowsOf(from: number, to: number): number[][] {
  return Array.from({ length: to - from }, (_, i) => Array.from(X.data.subarray((from + i) * D, (from + i + 1) * D)));
}

async function start(m: DECModel, options: ServeOptions = {}): Promise<{ server: DeepclustServer; url: string }> {
  const server = createServer(m, options);
  servers.push(server);
  const url = await server.listen({ port: 0, host: "127.0.0.1" });
  return { server, url };
}

const main = await start(model, { maxWaitMs: 5 });
const small = await start(model, { maxBatch: 8, maxRows: 100, bodyLimit: 20_000, maxWaitMs: 1 });

async function post(url: string, body: unknown, headers: Record<string, string> = { "content-type": "application/json" }) {
  const res = await fetch(`${url}/v1/predict`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: res.status, type: res.headers.get("content-type"), json: (await res.json()) as Record<string, unknown> };
}

/** The server's answer for rows [from, to) is the library's, float32 for float32. */
function assertMatchesLibrary(json: Record<string, unknown>, from: number, to: number, proba: boolean) {
  assert.deepEqual(json.labels, Array.from(labels.subarray(from, to)));
  const conf = Float32Array.from(json.confidence as number[]);
  for (let i = from; i < to; i++) assert.equal(conf[i - from], Math.max(...q.data.subarray(i * K, (i + 1) * K)), `confidence of row ${i}`);
  if (proba) assert.deepEqual(Float32Array.from((json.probabilities as number[][]).flat()), q.data.subarray(from * K, to * K));
  else assert.equal("probabilities" in json, false);
}

test("GET /healthz and GET /v1/model", async () => {
  const h = await fetch(`${main.url}/healthz`);
  assert.equal(h.status, 200);
  assert.deepEqual(await h.json(), { status: "ok" });
  const m = (await (await fetch(`${main.url}/v1/model`)).json()) as Record<string, unknown>;
  assert.equal(m.inputDim, D);
  assert.deepEqual(m.dims, [D, 8, 4]);
  assert.equal(m.codeDim, 4);
  assert.equal(m.k, K);
  assert.equal(m.alpha, 1);
  assert.equal(m.method, "dec");
  assert.deepEqual(m.labelMapping, { "0": "sport", "1": "politics", "2": "science" });
  assert.equal(m.deepclustVersion, model.config.deepclustVersion);
  assert.deepEqual(m.server, { deepclustVersion: model.config.deepclustVersion, precision: "fp32", maxBatch: 256, maxWaitMs: 5, maxRows: 10_000, bodyLimit: 64 * 1024 * 1024 });
});

test("POST /v1/predict gives the library's labels, confidence and probabilities", async () => {
  const one = await post(main.url, { embeddings: rowsOf(0, 1) });
  assert.equal(one.status, 200);
  assert.match(one.type ?? "", /application\/json/);
  assertMatchesLibrary(one.json, 0, 1, false);
  const many = await post(main.url, { embeddings: rowsOf(0, 300), proba: true });
  assert.equal(many.status, 200);
  assertMatchesLibrary(many.json, 0, 300, true);
  assert.equal(new Set(many.json.labels as number[]).size, K, "every cluster is used");
  const noProba = await post(main.url, { embeddings: rowsOf(10, 20), proba: false });
  assertMatchesLibrary(noProba.json, 10, 20, false);
  // content-type with parameters
  const charset = await post(main.url, { embeddings: rowsOf(3, 4) }, { "content-type": "application/json; charset=utf-8" });
  assert.equal(charset.status, 200);
});

test("concurrent requests are merged into fewer onnxruntime calls, each answered with its own rows", async () => {
  const before = { ...main.server.batcher.stats };
  const spans = Array.from({ length: 40 }, (_, i) => [i * 7, i * 7 + 1 + (i % 5)] as const);
  const answers = await Promise.all(spans.map(([from, to]) => post(main.url, { embeddings: rowsOf(from, to), proba: true })));
  answers.forEach((a, i) => {
    assert.equal(a.status, 200);
    assertMatchesLibrary(a.json, spans[i]![0], spans[i]![1], true);
  });
  const s = main.server.batcher.stats;
  assert.equal(s.requests - before.requests, 40);
  assert.equal(s.rows - before.rows, spans.reduce((n, [a, b]) => n + b - a, 0));
  const batches = s.batches - before.batches;
  assert.ok(batches < 40, `40 concurrent requests took ${batches} inference calls`);
  assert.ok(s.largestBatch > 6, `largest batch ${s.largestBatch} rows: requests were merged`);
});

test("a request larger than --max-batch is split into several calls and answered whole", async () => {
  const before = small.server.batcher.stats.batches;
  const r = await post(small.url, { embeddings: rowsOf(0, 50), proba: true });
  assert.equal(r.status, 200);
  assertMatchesLibrary(r.json, 0, 50, true);
  assert.ok(small.server.batcher.stats.batches - before >= 7, "50 rows in batches of at most 8");
  assert.ok(small.server.batcher.stats.largestBatch <= 8);
});

test("bad requests get a 4xx JSON error naming the problem, and serving goes on", async () => {
  const row = rowsOf(0, 1)[0]!;
  const withValue = (v: unknown) => [row, [...row.slice(0, 5), v, ...row.slice(6)]];
  const cases: Array<[string, unknown, number, RegExp, Record<string, string>?]> = [
    ["wrong dimension", { embeddings: [row, row.slice(0, 15)] }, 400, /embeddings\[1\] has dimension 15, expected 16/],
    ["string value", { embeddings: withValue("0.5") }, 400, /embeddings\[1\]\[5\] is the string "0.5", not a number/],
    ["null value", { embeddings: withValue(null) }, 400, /embeddings\[1\]\[5\] is null, not a number/],
    ["NaN as a string", { embeddings: withValue("NaN") }, 400, /embeddings\[1\]\[5\] is the string "NaN", not a number: NaN and infinities are not allowed/],
    ["Infinity as a string", { embeddings: withValue("-Infinity") }, 400, /NaN and infinities are not allowed/],
    ["overflowing number", `{"embeddings": [[${row.slice(0, 15).join(",")}, 1e400]]}`, 400, /embeddings\[0\]\[15\] = Infinity is not finite/],
    ["beyond float32", `{"embeddings": [[${row.slice(0, 15).join(",")}, 1e39]]}`, 400, /embeddings\[0\]\[15\] = 1e\+39 is not finite in float32/],
    ["nested array value", { embeddings: withValue([1]) }, 400, /embeddings\[1\]\[5\] is an array, not a number/],
    ["row not an array", { embeddings: [row, 3] }, 400, /embeddings\[1\] is number 3, not an array of 16 numbers/],
    ["empty list", { embeddings: [] }, 400, /'embeddings' is empty/],
    ["embeddings not an array", { embeddings: "x" }, 400, /'embeddings' must be an array of rows/],
    ["missing embeddings", { vectors: [row] }, 400, /missing field 'embeddings'/],
    ["unknown field", { embeddings: [row], probas: true }, 400, /unknown field 'probas'/],
    ["proba not a boolean", { embeddings: [row], proba: "yes" }, 400, /'proba' must be a boolean/],
    ["body not an object", [row], 400, /the body must be a JSON object/],
    ["malformed JSON", '{"embeddings": [[1, 2,]]', 400, /malformed JSON: /],
    ["empty body", "", 400, /empty body/],
    ["wrong content type", JSON.stringify({ embeddings: [row] }), 415, /unsupported content type 'text\/plain': send the body as application\/json/, { "content-type": "text/plain" }],
    ["form content type", "embeddings=1", 415, /unsupported content type 'application\/x-www-form-urlencoded'/, { "content-type": "application/x-www-form-urlencoded" }],
  ];
  for (const [name, body, status, message, headers] of cases) {
    const r = await post(main.url, body, headers);
    assert.equal(r.status, status, `${name}: ${JSON.stringify(r.json)}`);
    assert.match(r.type ?? "", /application\/json/, name);
    assert.deepEqual(Object.keys(r.json), ["error"], name);
    assert.match(String(r.json.error), message, name);
  }
  // Limits of the small server: 100 rows, 20,000 bytes.
  const tooMany = await post(small.url, { embeddings: Array.from({ length: 101 }, () => [1]) });
  assert.equal(tooMany.status, 413);
  assert.match(String(tooMany.json.error), /too many rows: 101, the limit is 100/);
  const tooBig = await post(small.url, { embeddings: rowsOf(0, 90) });
  assert.equal(tooBig.status, 413);
  assert.match(String(tooBig.json.error), /request body over the limit of 20000 bytes/);
  for (const [method, path] of [["GET", "/v1/nothing"], ["GET", "/v1/predict"], ["POST", "/healthz"], ["DELETE", "/v1/model"]] as const) {
    const res = await fetch(`${main.url}${path}`, { method });
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.match(String(((await res.json()) as { error: string }).error), new RegExp(`no route ${method} ${path} \\(the routes: POST /v1/predict, GET /v1/model, GET /healthz\\)`));
  }
  // Still serving.
  const ok = await post(main.url, { embeddings: rowsOf(5, 9) });
  assert.equal(ok.status, 200);
  assertMatchesLibrary(ok.json, 5, 9, false);
  const okSmall = await post(small.url, { embeddings: rowsOf(5, 9) });
  assert.equal(okSmall.status, 200);
});

test("an inference failure answers 500 to the requests of that batch, and serving goes on", async () => {
  const broken = loadModel(modelDir, { threads: 1 });
  const serverErrors: Error[] = [];
  const { server, url } = await start(broken, { maxWaitMs: 20, onServerError: (e) => serverErrors.push(e) });
  const real = broken.predictProba.bind(broken);
  let failNext = true;
  broken.predictProba = async (Xb, batchSize) => {
    if (failNext && Xb.rows > 1) {
      failNext = false;
      throw new Error("simulated onnxruntime failure");
    }
    return real(Xb, batchSize);
  };
  const answers = await Promise.all([post(url, { embeddings: rowsOf(0, 2) }), post(url, { embeddings: rowsOf(2, 3) })]);
  for (const a of answers) {
    assert.equal(a.status, 500);
    assert.match(String(a.json.error), /internal error: simulated onnxruntime failure/);
  }
  assert.equal(server.batcher.stats.failedBatches, 1);
  assert.deepEqual(
    serverErrors.map((e) => e.message),
    ["simulated onnxruntime failure", "simulated onnxruntime failure"],
    "reported once per failed request",
  );
  const ok = await post(url, { embeddings: rowsOf(0, 2) });
  assert.equal(ok.status, 200);
  assertMatchesLibrary(ok.json, 0, 2, false);
  await server.close();
  await broken.release();
});

// The real command line, run from the sources as a user would run the built one.
const cliMain = new URL("../src/cli/main.ts", import.meta.url).pathname;

async function shutdownWithRequestInFlight(signal: NodeJS.Signals) {
  const child = spawn(process.execPath, ["--import", "tsx", cliMain, "serve", modelDir, "--port", "0", "--threads", "1", "--max-wait-ms", "1500", "--log"], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const waitFor = async (what: () => RegExpMatchArray | null | boolean, label: string) => {
    for (let i = 0; i < 600; i++) {
      const m = what();
      if (m) return m;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no ${label}; stderr: ${stderr}`);
  };
  try {
    const url = ((await waitFor(() => stderr.match(/listening on (http:\/\/\S+)/), "listening line")) as RegExpMatchArray)[1]!;
    assert.match(stderr, /\(16 → 8 → 4, k = 3\)/);
    // The request waits in the batcher (--max-wait-ms 1500) while the signal arrives.
    const inFlight = post(url, { embeddings: rowsOf(0, 3), proba: true });
    await waitFor(() => /"url":"\/v1\/predict"/.test(stdout), "request log line");
    child.kill(signal);
    await waitFor(() => stderr.includes("closing"), "closing message");
    await assert.rejects(fetch(`${url}/healthz`), "no new connections once closing");
    const answer = await inFlight;
    assert.equal(answer.status, 200, "the request in flight is answered");
    assertMatchesLibrary(answer.json, 0, 3, true);
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, new RegExp(`${signal}, closing: finishing the requests in flight`));
    assert.match(stderr, /stopped/);
  } finally {
    child.kill("SIGKILL");
  }
}

test("SIGTERM: the CLI stops accepting, answers the request in flight, exits 0", { timeout: 60_000 }, async () => {
  await shutdownWithRequestInFlight("SIGTERM");
});

test("SIGINT shuts down gracefully too (exit 0, not the interrupt exit code)", { timeout: 60_000 }, async () => {
  await shutdownWithRequestInFlight("SIGINT");
});

test("the CLI reports a bad model directory with exit code 2", { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, ["--import", "tsx", cliMain, "serve", join(dir, "missing"), "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  assert.equal(code, 2);
  assert.match(stderr, /missing: model directory not found/);
});
