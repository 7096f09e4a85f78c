// How `deepclust serve` should read a POST /v1/predict body: the measurement behind the streaming
// reader (src/serve/predict-body.ts). For bodies of 1 to 10,000 rows of 768 float32 values (as
// JSON.stringify writes them), three ways:
//
//   whole      the body as one string, JSON.parse, then toMatrix (the server before the reader):
//              the event loop is blocked for the whole parse, and the body, its string and its
//              JS arrays are all in memory at once
//   streaming  PredictBodyReader fed 64 KiB slices (as the server does, with a turn of the event
//              loop between slices): the longest slice is the longest the event loop is blocked
//   worker     the whole body transferred to a worker thread, JSON.parse + toMatrix there, the
//              Float32Array transferred back: the event loop is free, but the body must be
//              buffered whole first, and the worker's heap holds the parse
//
//   node --import tsx bench/serve-body-parse.ts [--rounds 7] [--json]
//
// Each figure is the median of --rounds runs after one warm-up run.

import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { Worker } from "node:worker_threads";
import { Rng } from "../src/engine/index.js";
import { PredictBodyReader, toMatrix } from "../src/serve/index.js";
import { cpuName } from "./cpu.js";

const { values: a } = parseArgs({
  options: { rounds: { type: "string", default: "7" }, json: { type: "boolean", default: false } },
});
const rounds = Number(a.rounds);
const D = 768;
const SLICE = 64 * 1024;

const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;

function body(rows: number, rng: Rng): Buffer {
  const one = () => Array.from(Float32Array.from({ length: D }, () => rng.normal()));
  return Buffer.from(JSON.stringify({ embeddings: Array.from({ length: rows }, one), proba: true }));
}

function whole(buf: Buffer): number {
  const t = performance.now();
  const parsed = JSON.parse(buf.toString("utf8")) as { embeddings: unknown[] };
  toMatrix(parsed.embeddings, D, 100_000);
  return performance.now() - t;
}

function streaming(buf: Buffer): { ms: number; longestSliceMs: number } {
  const reader = new PredictBodyReader(D, 100_000);
  let longest = 0;
  const t = performance.now();
  for (let at = 0; at < buf.length; at += SLICE) {
    const s = performance.now();
    reader.write(buf.subarray(at, at + SLICE));
    longest = Math.max(longest, performance.now() - s);
  }
  reader.end();
  return { ms: performance.now() - t, longestSliceMs: longest };
}

// The worker: JSON.parse + the same checks as toMatrix (inlined: a worker from `new Worker(code, { eval: true })` cannot import TypeScript).
const workerCode = `
const { parentPort } = require("node:worker_threads");
parentPort.on("message", (ab) => {
  const rows = JSON.parse(Buffer.from(ab).toString("utf8")).embeddings;
  const d = ${D};
  const out = new Float32Array(rows.length * d);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (!Array.isArray(row) || row.length !== d) throw new Error("bad row " + i);
    for (let j = 0; j < d; j++) { const v = row[j]; if (typeof v !== "number") throw new Error("bad value"); out[i * d + j] = v; }
  }
  parentPort.postMessage(out, [out.buffer]);
});`;

async function viaWorker(worker: Worker, buf: Buffer): Promise<{ ms: number; mainThreadMs: number }> {
  const t = performance.now();
  // The body as the server would hold it: one ArrayBuffer, transferred (not copied) to the worker.
  const ab = new ArrayBuffer(buf.length);
  new Uint8Array(ab).set(buf);
  const done = new Promise<Float32Array>((resolve) => worker.once("message", resolve));
  worker.postMessage(ab, [ab]);
  const mainThreadMs = performance.now() - t;
  await done;
  return { ms: performance.now() - t, mainThreadMs };
}

const rng = new Rng(1);
const worker = new Worker(workerCode, { eval: true });
const results = [];
for (const rows of [1, 64, 2000, 10_000]) {
  const buf = body(rows, rng);
  whole(buf);
  streaming(buf);
  await viaWorker(worker, buf);
  const w: number[] = [];
  const s: number[] = [];
  const sl: number[] = [];
  const k: number[] = [];
  for (let r = 0; r < rounds; r++) {
    w.push(whole(buf));
    const st = streaming(buf);
    s.push(st.ms);
    sl.push(st.longestSliceMs);
    k.push((await viaWorker(worker, buf)).ms);
  }
  const row = {
    rows,
    bodyMB: buf.length / 1e6,
    wholeMs: median(w),
    streamingMs: median(s),
    streamingLongestSliceMs: median(sl),
    workerMs: median(k),
  };
  results.push(row);
  console.log(
    `${String(rows).padStart(6)} rows (${row.bodyMB.toFixed(2).padStart(6)} MB): whole ${row.wholeMs.toFixed(2)} ms (event loop blocked throughout), ` +
      `streaming ${row.streamingMs.toFixed(2)} ms (longest slice ${row.streamingLongestSliceMs.toFixed(2)} ms), worker ${row.workerMs.toFixed(2)} ms`,
  );
}
await worker.terminate();
if (a.json)
  console.log(
    JSON.stringify({
      date: new Date().toISOString(),
      cpu: cpuName(),
      cores: cpus().length,
      node: process.version,
      d: D,
      rounds,
      results,
    }),
  );
