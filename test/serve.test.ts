// deepclust serve: the real server on 127.0.0.1, port 0, driven with fetch and raw sockets. Every
// endpoint, every client error in the one JSON shape (and that serving goes on after it),
// predictions identical to the library's, micro-batching of concurrent requests, the limits and
// time-outs that stalled and oversized requests meet, and the CLI's graceful shutdown on SIGTERM /
// SIGINT, with its deadline.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { connect, type Socket } from "node:net";
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
writeModelDir(
  modelDir,
  ae,
  modelConfig(ae, { k: K, alpha: 1, method: "dec", labelMapping: { "0": "sport", "1": "politics", "2": "science" } }),
  null,
);

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
const small = await start(model, { maxBatch: 8, maxRows: 100, maxWaitMs: 1 });
/** The small server's body limit: what 100 rows of 16 numbers may take (defaultBodyLimit). */
const SMALL_LIMIT = 100 * (16 * 32 + 256) + 65_536;

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = { "content-type": "application/json" },
) {
  const res = await fetch(`${url}/v1/predict`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    json: (await res.json()) as Record<string, unknown>,
  };
}

/** The server's answer for rows [from, to) is the library's, float32 for float32. */
function assertMatchesLibrary(json: Record<string, unknown>, from: number, to: number, proba: boolean) {
  assert.deepEqual(json.labels, Array.from(labels.subarray(from, to)));
  const conf = Float32Array.from(json.confidence as number[]);
  for (let i = from; i < to; i++)
    assert.equal(conf[i - from], Math.max(...q.data.subarray(i * K, (i + 1) * K)), `confidence of row ${i}`);
  if (proba)
    assert.deepEqual(Float32Array.from((json.probabilities as number[][]).flat()), q.data.subarray(from * K, to * K));
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
  assert.deepEqual(m.server, {
    deepclustVersion: model.config.deepclustVersion,
    precision: "fp32",
    maxBatch: 256,
    maxWaitMs: 5,
    maxRows: 10_000,
    bodyLimit: 10_000 * (16 * 32 + 256) + 65_536,
  });
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
  const charset = await post(
    main.url,
    { embeddings: rowsOf(3, 4) },
    { "content-type": "application/json; charset=utf-8" },
  );
  assert.equal(charset.status, 200);
});

test("concurrent requests are merged into fewer onnxruntime calls, each answered with its own rows", async () => {
  const before = { ...main.server.batcher.stats };
  const spans = Array.from({ length: 40 }, (_, i) => [i * 7, i * 7 + 1 + (i % 5)] as const);
  const answers = await Promise.all(
    spans.map(([from, to]) => post(main.url, { embeddings: rowsOf(from, to), proba: true })),
  );
  answers.forEach((a, i) => {
    assert.equal(a.status, 200);
    assertMatchesLibrary(a.json, spans[i]![0], spans[i]![1], true);
  });
  const s = main.server.batcher.stats;
  assert.equal(s.requests - before.requests, 40);
  assert.equal(
    s.rows - before.rows,
    spans.reduce((n, [a, b]) => n + b - a, 0),
  );
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
    [
      "NaN as a string",
      { embeddings: withValue("NaN") },
      400,
      /embeddings\[1\]\[5\] is the string "NaN", not a number: NaN and infinities are not allowed/,
    ],
    ["Infinity as a string", { embeddings: withValue("-Infinity") }, 400, /NaN and infinities are not allowed/],
    [
      "overflowing number",
      `{"embeddings": [[${row.slice(0, 15).join(",")}, 1e400]]}`,
      400,
      /embeddings\[0\]\[15\] = Infinity is not finite/,
    ],
    [
      "beyond float32",
      `{"embeddings": [[${row.slice(0, 15).join(",")}, 1e39]]}`,
      400,
      /embeddings\[0\]\[15\] = 1e\+39 is not finite in float32/,
    ],
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
    [
      "wrong content type",
      JSON.stringify({ embeddings: [row] }),
      415,
      /unsupported content type 'text\/plain': send the body as application\/json/,
      { "content-type": "text/plain" },
    ],
    [
      "form content type",
      "embeddings=1",
      415,
      /unsupported content type 'application\/x-www-form-urlencoded'/,
      { "content-type": "application/x-www-form-urlencoded" },
    ],
  ];
  for (const [name, body, status, message, headers] of cases) {
    const r = await post(main.url, body, headers);
    assert.equal(r.status, status, `${name}: ${JSON.stringify(r.json)}`);
    assert.match(r.type ?? "", /application\/json/, name);
    assert.deepEqual(Object.keys(r.json), ["error"], name);
    assert.match(String(r.json.error), message, name);
  }
  // Limits of the small server: 100 rows, and the bytes 100 rows may take.
  const tooMany = await post(small.url, { embeddings: rowsOf(0, 101) });
  assert.equal(tooMany.status, 413);
  assert.match(String(tooMany.json.error), /too many rows: more than 100, the limit per request/);
  const padded = `{"embeddings": ${JSON.stringify(rowsOf(0, 2))}${" ".repeat(SMALL_LIMIT)}}`;
  const tooBig = await post(small.url, padded);
  assert.equal(tooBig.status, 413);
  assert.match(
    String(tooBig.json.error),
    new RegExp(
      `${padded.length} bytes is over the limit of ${SMALL_LIMIT} bytes \\(--body-limit; 100 rows of 16 numbers take less\\)`,
    ),
  );
  for (const [method, path] of [
    ["GET", "/v1/nothing"],
    ["GET", "/v1/predict"],
    ["POST", "/healthz"],
    ["DELETE", "/v1/model"],
  ] as const) {
    const res = await fetch(`${main.url}${path}`, { method });
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.match(
      String(((await res.json()) as { error: string }).error),
      new RegExp(`no route ${method} ${path} \\(the routes: POST /v1/predict, GET /v1/model, GET /healthz\\)`),
    );
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
  const child = spawn(
    process.execPath,
    ["--import", "tsx", cliMain, "serve", modelDir, "--port", "0", "--threads", "1", "--max-wait-ms", "1500", "--log"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
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
    const url = (
      (await waitFor(() => stderr.match(/listening on (http:\/\/\S+)/), "listening line")) as RegExpMatchArray
    )[1]!;
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
  const child = spawn(process.execPath, ["--import", "tsx", cliMain, "serve", join(dir, "missing"), "--port", "0"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  assert.equal(code, 2);
  assert.match(stderr, /missing: model directory not found/);
});

/** A raw HTTP/1.1 connection: what the test writes, byte for byte, and everything that comes back. */
class RawClient {
  text = "";
  readonly closed: Promise<void>;
  private constructor(readonly socket: Socket) {
    socket.on("data", (c: Buffer) => (this.text += c.toString()));
    socket.on("error", () => {});
    this.closed = new Promise((resolve) => socket.on("close", () => resolve()));
  }

  static open(url: string): Promise<RawClient> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => resolve(new RawClient(socket)));
      socket.once("error", reject);
    });
  }

  /** Waits until what came back matches `re`, for at most `ms`. */
  async until(re: RegExp, ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    while (!re.test(this.text)) {
      if (Date.now() > end)
        throw new Error(`no ${re} within ${ms} ms; received: ${JSON.stringify(this.text.slice(0, 300))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** The responses received, interim ones (100 Continue) left out. */
  responses(): Array<{ status: number; head: string; json: Record<string, unknown> }> {
    const out = [];
    let rest = this.text;
    while (rest.includes("\r\n\r\n")) {
      const end = rest.indexOf("\r\n\r\n");
      const head = rest.slice(0, end);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      rest = rest.slice(end + 4);
      if (status === 100) continue;
      out.push({ status, head, json: JSON.parse(rest.slice(0, length)) as Record<string, unknown> });
      rest = rest.slice(length);
    }
    return out;
  }
}

/** `promise`, or a failure naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
  );
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Asserts the one error shape: a JSON body {"error": message}. */
function assertErrorShape(
  r: { status: number; head: string; json: Record<string, unknown> },
  status: number,
  message: RegExp,
) {
  assert.equal(r.status, status, r.head);
  assert.match(r.head, /\r\ncontent-type: application\/json/i);
  assert.deepEqual(Object.keys(r.json), ["error"]);
  assert.match(String(r.json.error), message);
}

const HEAD = (length: number | "chunked", extra = "") =>
  `POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${length === "chunked" ? "Transfer-Encoding: chunked" : `Content-Length: ${length}`}\r\n${extra}\r\n`;
const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;

test(
  "a client that stalls mid-body is answered 408 and cut off at the request time-out; a silent one at the headers time-out",
  { timeout: 30_000 },
  async () => {
    const { url } = await start(model, { requestTimeoutMs: 1000, headersTimeoutMs: 500 });
    const t0 = Date.now();
    const stalled = await RawClient.open(url);
    stalled.socket.write(HEAD(1000) + '{"embeddings": [[');
    const silent = await RawClient.open(url);
    const halfHeaders = await RawClient.open(url);
    halfHeaders.socket.write("POST /v1/predict HTTP/1.1\r\nHost: localhost\r\n");
    await within(
      Promise.all([stalled.closed, silent.closed, halfHeaders.closed]),
      10_000,
      "the stalled clients were cut off",
    );
    assert.ok(Date.now() - t0 >= 400, "not before the time-outs");
    assertErrorShape(
      stalled.responses()[0]!,
      408,
      /^the request body did not arrive within the request time-out of 1000 ms \(--request-timeout-ms\)$/,
    );
    for (const c of [silent, halfHeaders])
      assertErrorShape(
        c.responses()[0]!,
        408,
        /^the request headers did not arrive within the headers time-out of 500 ms \(--headers-timeout-ms\)$/,
      );
    // Still serving.
    assert.equal((await post(url, { embeddings: rowsOf(0, 2) })).status, 200);
  },
);

test(
  "a body over the limit is refused by its Content-Length before it is read, also before 100 Continue",
  { timeout: 30_000 },
  async () => {
    const tooLarge = await RawClient.open(small.url);
    tooLarge.socket.write(HEAD(SMALL_LIMIT + 1)); // and no body
    await within(tooLarge.closed, 10_000, "the 413 and the close");
    const [r] = tooLarge.responses();
    assertErrorShape(r!, 413, new RegExp(`^${SMALL_LIMIT + 1} bytes is over the limit of ${SMALL_LIMIT} bytes`));
    assert.match(r!.head, /\r\nconnection: close/i);

    const expectsContinue = await RawClient.open(small.url);
    expectsContinue.socket.write(HEAD(SMALL_LIMIT + 1, "Expect: 100-continue\r\n"));
    await within(expectsContinue.closed, 10_000, "the 413 and the close");
    assert.doesNotMatch(expectsContinue.text, /100 Continue/);
    assertErrorShape(expectsContinue.responses()[0]!, 413, /is over the limit/);

    // Within the limit: 100 Continue, then the body, then the answer.
    const body = JSON.stringify({ embeddings: rowsOf(0, 3) });
    const ok = await RawClient.open(small.url);
    ok.socket.write(HEAD(Buffer.byteLength(body), "Expect: 100-continue\r\n"));
    await ok.until(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    ok.socket.write(body);
    await ok.until(/"labels"/);
    assert.equal(ok.responses()[0]!.status, 200);
    assertMatchesLibrary(ok.responses()[0]!.json, 0, 3, false);
    ok.socket.end();
  },
);

test(
  "a chunked body is refused at the first row over --max-rows, or the first byte over the limit, before it ends",
  { timeout: 30_000 },
  async () => {
    const rows = await RawClient.open(small.url);
    rows.socket.write(HEAD("chunked") + chunk(`{"embeddings": ${JSON.stringify(rowsOf(0, 101)).slice(0, -1)},`)); // and no end
    await within(rows.closed, 10_000, "the 413 and the close");
    assertErrorShape(rows.responses()[0]!, 413, /^too many rows: more than 100, the limit per request/);

    const tight = await start(model, { maxRows: 100, bodyLimit: 10_000 });
    const bytes = await RawClient.open(tight.url);
    bytes.socket.write(HEAD("chunked") + chunk(`{"embeddings": ${JSON.stringify(rowsOf(0, 60)).slice(0, -1)},`));
    await within(bytes.closed, 10_000, "the 413 and the close");
    assertErrorShape(bytes.responses()[0]!, 413, /^the body is over the limit of 10000 bytes/);
    // Still serving.
    assert.equal((await post(small.url, { embeddings: rowsOf(0, 2) })).status, 200);
  },
);

test(
  "a large body is parsed a slice at a time: a request arriving meanwhile is answered first",
  { timeout: 60_000 },
  async () => {
    const server = createServer(model, { maxRows: 100_000, maxWaitMs: 0 });
    servers.push(server);
    const events: string[] = [];
    let largeStarted!: () => void;
    const started = new Promise<void>((r) => (largeStarted = r));
    server.addHook("preParsing", (request, _reply, payload, done) => {
      if (request.headers["x-large"]) largeStarted();
      done(null, payload);
    });
    server.addHook("preValidation", (request, _reply, done) => {
      if (request.headers["x-large"]) events.push("large body parsed");
      done();
    });
    await server.ready();
    const n = 40_000;
    const large = Buffer.from(
      JSON.stringify({ embeddings: Array.from({ length: n }, (_, i) => rowsOf(i % 300, (i % 300) + 1)[0]) }),
    );
    const answer = server.inject({
      method: "POST",
      url: "/v1/predict",
      headers: { "content-type": "application/json", "x-large": "1" },
      payload: large,
    });
    await started;
    const smallAnswer = await server.inject({
      method: "POST",
      url: "/v1/predict",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ embeddings: rowsOf(4, 6) }),
    });
    events.push("small request answered");
    assert.equal(smallAnswer.statusCode, 200);
    assertMatchesLibrary(smallAnswer.json(), 4, 6, false);
    const r = await answer;
    assert.equal(r.statusCode, 200);
    assert.equal((r.json() as { labels: number[] }).labels.length, n);
    assert.deepEqual(
      events,
      ["small request answered", "large body parsed"],
      `a ${(large.length / 1e6).toFixed(1)} MB body`,
    );
  },
);

test(
  "requests arriving while the server shuts down get 503 in the one shape, and malformed HTTP, bad URLs, huge headers too",
  { timeout: 30_000 },
  async () => {
    const { server, url } = await start(model, {});
    // A request whose headers are still arriving when the shutdown begins: its connection is not idle.
    const late = await RawClient.open(url);
    late.socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n");
    const bad = await RawClient.open(url);
    bad.socket.write("NOT HTTP\r\n\r\n");
    await within(bad.closed, 10_000, "the 400 for malformed HTTP");
    assertErrorShape(bad.responses()[0]!, 400, /^malformed HTTP request \(HPE_/);
    const huge = await RawClient.open(url);
    huge.socket.write(`GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${"x".repeat(20_000)}\r\n\r\n`);
    await within(huge.closed, 10_000, "the 431");
    assertErrorShape(huge.responses()[0]!, 431, /^the request headers are too large$/);
    const badUrl = await fetch(`${url}/v1/%zz`);
    assert.equal(badUrl.status, 400);
    assert.deepEqual(await badUrl.json(), { error: "'/v1/%zz' is not a valid url component" });

    const shutdown = server.shutdown();
    while (server.server.listening) await new Promise((r) => setTimeout(r, 5));
    late.socket.write("\r\n");
    await within(late.closed, 10_000, "the 503 and the close");
    assertErrorShape(late.responses()[0]!, 503, /^the server is shutting down: send the request again/);
    assert.match(late.responses()[0]!.head, /\r\nconnection: close/i);
    assert.deepEqual(await within(shutdown, 10_000, "the shutdown"), { forcedConnections: 0 });
  },
);

test(
  "shutdown closes the connections still open at its deadline, and resolves once the batch running has finished",
  { timeout: 30_000 },
  async () => {
    const slow = loadModel(modelDir, { threads: 1 });
    const { server, url } = await start(slow, { shutdownTimeoutMs: 300, requestTimeoutMs: 60_000 });
    const real = slow.predictProba.bind(slow);
    let batchStarted!: () => void;
    const started = new Promise<void>((r) => (batchStarted = r));
    let batchFinished = false;
    slow.predictProba = async (Xb, batchSize) => {
      batchStarted();
      await new Promise((r) => setTimeout(r, 1500));
      const out = await real(Xb, batchSize);
      batchFinished = true;
      return out;
    };
    const inFlight = post(url, { embeddings: rowsOf(0, 2) }).catch((e: unknown) => e);
    const stalled = await RawClient.open(url);
    stalled.socket.write(HEAD(1000) + '{"embeddings": [[');
    await started;
    const report = await within(server.shutdown(), 10_000, "the shutdown");
    assert.equal(report.forcedConnections, 2, "the request waiting for its batch, and the stalled one");
    assert.equal(batchFinished, true, "the model is not released under a running batch");
    await within(stalled.closed, 1000, "the stalled connection closed");
    assert.ok((await inFlight) instanceof Error, "the request cut off at the deadline gets no answer");
    await slow.release();
  },
);

test(
  "SIGTERM with a stalled client connected: the CLI closes it at --shutdown-timeout-ms and exits 0",
  { timeout: 60_000 },
  async () => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        cliMain,
        "serve",
        modelDir,
        "--port",
        "0",
        "--threads",
        "1",
        "--shutdown-timeout-ms",
        "1000",
        "--log",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const listening = () => stderr.match(/listening on (http:\/\/\S+)/);
      await within(
        (async () => {
          while (!listening()) await new Promise((r) => setTimeout(r, 50));
        })(),
        30_000,
        `the listening line; stderr: ${stderr}`,
      );
      const url = listening()![1]!;
      // The limits line follows the listening line; on a loaded machine it can arrive a moment later.
      await within(
        (async () => {
          while (!/shutdown \d+ ms/.test(stderr)) await new Promise((r) => setTimeout(r, 20));
        })(),
        10_000,
        `the limits line; stderr: ${stderr}`,
      );
      assert.match(
        stderr,
        /requests of up to 10000 rows and 7745536 bytes; time-outs: headers 10000 ms, request 30000 ms, keep-alive 72000 ms, shutdown 1000 ms/,
      );
      const stalled = await RawClient.open(url);
      stalled.socket.write(HEAD(1000) + '{"embeddings": [[');
      await within(
        (async () => {
          while (!stdout.includes('"url":"/v1/predict"')) await new Promise((r) => setTimeout(r, 20));
        })(),
        10_000,
        "the request log line",
      );
      const t0 = Date.now();
      child.kill("SIGTERM");
      // Well before the request time-out (30 s): the deadline closed the stalled connection.
      assert.equal(await within(exited, 20_000, `the exit; stderr: ${stderr}`), 0, stderr);
      await within(stalled.closed, 1000, "the stalled connection closed");
      assert.ok(Date.now() - t0 >= 900, "the requests in flight had the shutdown time-out to finish");
      assert.match(stderr, /SIGTERM, closing: finishing the requests in flight \(for up to 1000 ms\)/);
      assert.match(stderr, /closed 1 connection\(s\) still open after 1000 ms/);
      assert.match(stderr, /stopped/);
    } finally {
      child.kill("SIGKILL");
    }
  },
);

test("the CLI refuses a headers time-out longer than the request time-out", { timeout: 60_000 }, async () => {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      cliMain,
      "serve",
      modelDir,
      "--port",
      "0",
      "--headers-timeout-ms",
      "5000",
      "--request-timeout-ms",
      "1000",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  assert.equal(await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c))), 2);
  assert.match(stderr, /--headers-timeout-ms \(5000\) must not exceed --request-timeout-ms \(1000\)/);
});
