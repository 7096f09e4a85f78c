// Load benchmark of `deepclust serve`: a model with the reference architecture 768 → 256 → 32,
// k = 10, served on loopback by a child process, driven by autocannon for a fixed time per
// request size (1 and 64 vectors by default). Prints requests/s, vectors/s, p50/p99 latency and
// the mean rows per onnxruntime call (micro-batching at work), then stops the server.
//
// The weights are random (PyTorch's default init, centres at the codes of random points): the
// numbers measure serving throughput and latency only, not clustering quality.
//
//   node --import tsx bench/serve-load.ts [--duration 10] [--connections 32] [--sizes 1,64]
//        [--threads 0] [--max-batch 256] [--max-wait-ms 2] [--warmup 1] [--json]
//
// Client and server share the machine: on a small one, autocannon's own CPU use lowers the
// numbers (give the server --threads below the core count to leave the client a core).

import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { Autoencoder, CENTERS, Rng, loadModel, modelConfig, writeModelDir, type Matrix } from "../src/index.js";
import { createServer, type MicroBatcherStats } from "../src/serve/index.js";

const DIMS = [768, 256, 32];
const K = 10;

const { values: a } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "32" },
    sizes: { type: "string", default: "1,64" },
    threads: { type: "string", default: "0" },
    "max-batch": { type: "string", default: "256" },
    "max-wait-ms": { type: "string", default: "2" },
    warmup: { type: "string", default: "1" },
    json: { type: "boolean", default: false },
    // internal: run as the server process
    "serve-child": { type: "string" },
  },
});

type ChildMessage = { url: string } | { stats: MicroBatcherStats };

if (a["serve-child"]) await serveChild(a["serve-child"]);
else await main();

/** The server process: loads the model directory, listens on a free port, reports its URL and, on request, its batch counts. */
async function serveChild(modelDir: string): Promise<void> {
  const model = loadModel(modelDir, { threads: Number(a.threads) });
  const app = createServer(model, { maxBatch: Number(a["max-batch"]), maxWaitMs: Number(a["max-wait-ms"]) });
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  process.send!({ url } satisfies ChildMessage);
  process.on("message", (m) => {
    if (m === "stats") process.send!({ stats: { ...app.batcher.stats } } satisfies ChildMessage);
  });
  process.once("SIGTERM", () => {
    void app
      .close()
      .then(() => model.release())
      .then(() => process.exit(0));
  });
}

function randomMatrix(rng: Rng, rows: number, cols: number): Matrix {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return { data, rows, cols };
}

function nextMessage(child: ChildProcess): Promise<ChildMessage> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the server exited (code ${code})`));
    child.once("exit", onExit);
    child.once("message", (m) => {
      child.off("exit", onExit);
      resolve(m as ChildMessage);
    });
  });
}

async function stats(child: ChildProcess): Promise<MicroBatcherStats> {
  const reply = nextMessage(child);
  child.send("stats");
  const m = await reply;
  if (!("stats" in m)) throw new Error("unexpected message from the server");
  return m.stats;
}

async function main(): Promise<void> {
  const duration = Number(a.duration);
  const connections = Number(a.connections);
  const sizes = a.sizes!.split(",").map(Number);
  const warmup = Number(a.warmup);

  // The model directory: random weights, the reference architecture.
  const rng = new Rng(0);
  const ae = new Autoencoder({ dims: DIMS }, rng, { threads: 1 });
  const centres = await ae.encode(randomMatrix(rng, K, DIMS[0]!));
  ae.params.define(CENTERS, [K, DIMS.at(-1)!], centres.data);
  const dir = mkdtempSync(join(tmpdir(), "deepclust-serve-load-"));
  const modelDir = join(dir, "model");
  writeModelDir(
    modelDir,
    ae,
    modelConfig(ae, { k: K, alpha: 1, method: "dec", data: { note: "random weights (serve-load benchmark)" } }),
    null,
  );

  const child = fork(
    new URL(import.meta.url).pathname,
    [
      "--serve-child",
      modelDir,
      "--threads",
      a.threads!,
      "--max-batch",
      a["max-batch"]!,
      "--max-wait-ms",
      a["max-wait-ms"]!,
    ],
    { stdio: "inherit" },
  );
  const results: Array<Record<string, number>> = [];
  try {
    const first = await nextMessage(child);
    if (!("url" in first)) throw new Error("unexpected message from the server");
    const url = `${first.url}/v1/predict`;
    const log = (s: string) => process.stderr.write(s + "\n");
    log(
      `deepclust serve load: model ${DIMS.join("→")}, k = ${K} (random weights: throughput only), server threads ${a.threads === "0" ? `0 (one per core; ${cpus().length} CPUs)` : a.threads}, ` +
        `max-batch ${a["max-batch"]}, max-wait-ms ${a["max-wait-ms"]}, ${connections} connections, ${duration} s per size`,
    );
    for (const size of sizes) {
      const X = randomMatrix(rng, size, DIMS[0]!);
      const body = JSON.stringify({
        embeddings: Array.from({ length: size }, (_, i) => Array.from(X.data.subarray(i * X.cols, (i + 1) * X.cols))),
      });
      const opts = {
        url,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        connections,
        timeout: 30,
      };
      if (warmup > 0) await autocannon({ ...opts, duration: warmup });
      const before = await stats(child);
      const r = await autocannon({ ...opts, duration });
      const after = await stats(child);
      const calls = after.batches - before.batches;
      const row = {
        rowsPerRequest: size,
        bodyBytes: body.length,
        requestsPerSecond: r["2xx"] / r.duration,
        vectorsPerSecond: (r["2xx"] * size) / r.duration,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        errors: r.errors + r.non2xx,
        inferenceCalls: calls,
        rowsPerCall: calls > 0 ? (after.rows - before.rows) / calls : 0,
      };
      results.push(row);
      log(
        `${String(size).padStart(4)} rows/request (${(body.length / 1024).toFixed(1)} KiB): ${row.requestsPerSecond.toFixed(0).padStart(7)} requests/s ` +
          `${row.vectorsPerSecond.toFixed(0).padStart(8)} vectors/s   p50 ${row.p50Ms.toFixed(1)} ms   p99 ${row.p99Ms.toFixed(1)} ms   ` +
          `${row.rowsPerCall.toFixed(1)} rows per onnxruntime call   errors ${row.errors}`,
      );
    }
  } finally {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
  if (a.json)
    console.log(
      JSON.stringify({
        dims: DIMS,
        k: K,
        weights: "random",
        connections,
        durationSeconds: duration,
        threads: Number(a.threads),
        maxBatch: Number(a["max-batch"]),
        maxWaitMs: Number(a["max-wait-ms"]),
        results,
      }),
    );
}
