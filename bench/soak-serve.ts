// Soak benchmark of `deepclust serve` under abuse: bounded load of well-behaved clients, while
// stalled clients hold connections and oversized bodies arrive, for a few minutes; then SIGTERM
// with the stalled clients still connected. The server is the built CLI (`npm run build` first),
// a child process on loopback; with --baseline, the same run against the CLI of an older commit
// (built into a temporary directory with this tree's node_modules), one after the other.
//
//   node --import tsx bench/soak-serve.ts [--duration 180] [--rate 100] [--clients 8] [--rows 4]
//        [--stalled 40] [--oversize-every 10] [--dim 64] [--threads 1] [--exit-wait 60]
//        [--baseline <commit>] [--out bench/results/soak-serve.json]
//
// Well-behaved clients: --clients loops, each sending a POST /v1/predict of --rows rows on a
// keep-alive connection at a fixed pace (--rate requests/s in all); a request's latency counts from
// when it was due, so time spent queued behind a stalled server counts too. Stalled clients:
// --stalled connections, half sending headers and a fifth of a body then nothing, half sending
// half their headers then nothing; when the server closes one, another opens a second later.
// Oversized bodies: every --oversize-every seconds, six at once: three of just under 64 MiB with
// their Content-Length (the old limit; about 50,000 rows, over --max-rows), three chunked bodies
// of 100,000 rows without one.
//
// Reported per server: p50 / p99 / max latency of the well-behaved requests and their errors, what
// the oversized requests got and how long it took, what became of the stalled connections, the
// server's peak RSS (VmHWM) and RSS at the end of the load, the time from SIGTERM to exit (null if it
// had not exited after --exit-wait seconds, when it is killed), and the CPU.
//
// The model has random weights, input dimension --dim, layers --dim → 256 → 32, k = 10.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { Autoencoder, CENTERS, Rng, modelConfig, writeModelDir, type Matrix } from "../src/index.js";
import { cpuName } from "./cpu.js";

const { values: a } = parseArgs({
  options: {
    duration: { type: "string", default: "180" },
    rate: { type: "string", default: "100" },
    clients: { type: "string", default: "8" },
    rows: { type: "string", default: "4" },
    stalled: { type: "string", default: "40" },
    "oversize-every": { type: "string", default: "10" },
    dim: { type: "string", default: "64" },
    threads: { type: "string", default: "1" },
    "exit-wait": { type: "string", default: "60" },
    baseline: { type: "string" },
    out: { type: "string", default: "bench/results/soak-serve.json" },
  },
});
const duration = Number(a.duration) * 1000;
const rate = Number(a.rate);
const clients = Number(a.clients);
const rowsPerRequest = Number(a.rows);
const stalledCount = Number(a.stalled);
const oversizeEvery = Number(a["oversize-every"]) * 1000;
const D = Number(a.dim);
const exitWait = Number(a["exit-wait"]) * 1000;
const K = 10;
const root = new URL("..", import.meta.url).pathname;
const log = (s: string) => process.stderr.write(s + "\n");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function randomMatrix(rng: Rng, rows: number, cols: number): Matrix {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return { data, rows, cols };
}

function jsonRows(rng: Rng, n: number): string {
  const X = randomMatrix(rng, n, D);
  return Array.from({ length: n }, (_, i) => JSON.stringify(Array.from(X.data.subarray(i * D, (i + 1) * D)))).join(",");
}

/** The CLI of `commit`, built in a temporary directory with this tree's node_modules. */
function buildBaseline(commit: string): { cli: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), "deepclust-baseline-"));
  const archive = spawnSync(
    "sh",
    ["-c", `git -C "${root}" archive ${commit} src package.json tsconfig.json | tar -x -C "${dir}"`],
    { stdio: "inherit" },
  );
  if (archive.status !== 0) throw new Error(`git archive ${commit} failed`);
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  const tsc = spawnSync(
    process.execPath,
    [join(root, "node_modules/typescript/bin/tsc"), "-p", join(dir, "tsconfig.json")],
    { stdio: "inherit" },
  );
  if (tsc.status !== 0) throw new Error(`building ${commit} failed`);
  return { cli: join(dir, "dist/cli/main.js"), dir };
}

function memory(pid: number): { hwmMB: number; rssMB: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(s)?.[1] ?? NaN);
    return { hwmMB: kb("VmHWM") / 1024, rssMB: kb("VmRSS") / 1024 };
  } catch {
    return null;
  }
}

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

interface OversizeResult {
  kind: "content-length" | "chunked";
  outcome: string;
  ms: number;
}

/** Sends `head` then `body` on a raw connection; resolves with the status line received (or how it ended) and the time. */
function rawSend(
  port: number,
  head: string,
  body: (write: (b: Buffer | string) => Promise<void>) => Promise<void>,
): Promise<{ outcome: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let text = "";
    let done = false;
    const finish = (outcome: string) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve({ outcome, ms: performance.now() - t0 });
    };
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(head);
      // Writes wait for the socket to drain (the server reads at its pace) and stop once it is closed.
      const write = (b: Buffer | string) =>
        new Promise<void>((ok, fail) => {
          if (socket.destroyed) return fail(new Error("closed"));
          if (socket.write(b)) return ok();
          const onDrain = () => (socket.off("close", onClose), ok());
          const onClose = () => (socket.off("drain", onDrain), fail(new Error("closed")));
          socket.once("drain", onDrain).once("close", onClose);
        });
      void body(write).catch(() => {});
    });
    socket.on("data", (c: Buffer) => {
      text += c.toString("latin1", 0, Math.min(c.length, 200));
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (status && status[1] !== "100") finish(status[1]!);
    });
    // A write cut off by the server's close (EPIPE, ECONNRESET) may still have its answer in the socket: the close tells.
    let error = "";
    socket.on("error", (e: NodeJS.ErrnoException) => (error ||= e.code ?? "error"));
    socket.on("close", () => finish(error ? `${error}, no answer read` : "closed without an answer"));
  });
}

async function soak(label: string, cli: string, modelDir: string): Promise<Record<string, unknown>> {
  log(`\n== ${label}: ${cli}`);
  const child: ChildProcess = spawn(
    process.execPath,
    [cli, "serve", modelDir, "--port", "0", "--threads", a.threads!],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  for (let i = 0; i < 600 && !/listening on/.test(stderr); i++) await sleep(50);
  const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
  if (!url) throw new Error(`the server did not start: ${stderr}`);
  const port = Number(new URL(url).port);
  const pid = child.pid!;
  const rng = new Rng(1);
  let running = true;
  const t0 = performance.now();

  // Well-behaved clients: a fixed pace, latency counted from when each request was due.
  const bodies = Array.from({ length: 16 }, () => `{"embeddings": [${jsonRows(rng, rowsPerRequest)}]}`);
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const interval = (1000 * clients) / rate;
  const client = async (c: number) => {
    let due = performance.now() + (c * interval) / clients;
    let n = c;
    while (running) {
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (!running) break;
      const body = bodies[n++ % bodies.length]!;
      const status = await new Promise<string>((resolve) => {
        const req = httpRequest(
          {
            host: "127.0.0.1",
            port,
            method: "POST",
            path: "/v1/predict",
            agent,
            headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve(String(res.statusCode)));
          },
        );
        req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
        req.end(body);
      });
      if (status === "200") latencies.push(performance.now() - due);
      else errors[status] = (errors[status] ?? 0) + 1;
      due += interval;
    }
  };

  // Stalled clients: half stop mid-body, half mid-headers; a closed one is replaced a second later.
  const stalledFates: Record<string, number> = {};
  const stalledLifetimes: number[] = [];
  const openStalled = new Set<ReturnType<typeof connect>>();
  const stall = (i: number) => {
    if (!running) return;
    const opened = performance.now();
    let answer = "";
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(
        i % 2 === 0
          ? `POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"embeddings": [${jsonRows(rng, 15)}`
          : "POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: appl",
      );
    });
    openStalled.add(socket);
    socket.on("data", (c: Buffer) => (answer ||= /^HTTP\/1\.1 (\d{3})/.exec(c.toString("latin1", 0, 20))?.[1] ?? ""));
    socket.on("error", () => {});
    socket.on("close", () => {
      openStalled.delete(socket);
      if (!running) return;
      const fate = `${i % 2 === 0 ? "mid-body" : "mid-headers"}: ${answer || "closed"}`;
      stalledFates[fate] = (stalledFates[fate] ?? 0) + 1;
      stalledLifetimes.push(performance.now() - opened);
      setTimeout(() => stall(i), 1000);
    });
  };

  // Oversized bodies, six at once.
  const oversized: OversizeResult[] = [];
  const big = Buffer.from(`{"embeddings": [${jsonRows(rng, 1000)}`);
  const rowsPer1000 = big.length - 16;
  const clLimit = 64 * 1024 * 1024 - 1;
  const copies = Math.floor((clLimit - '{"embeddings": []}'.length) / (rowsPer1000 + 1));
  const clBody = Buffer.concat([
    Buffer.from('{"embeddings": ['),
    ...Array.from({ length: copies }, (_, i) =>
      Buffer.concat([i > 0 ? Buffer.from(",") : Buffer.alloc(0), big.subarray(16)]),
    ),
    Buffer.from("]}"),
  ]);
  const chunkOf = (b: Buffer) => Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from("\r\n")]);
  const rowChunk = chunkOf(Buffer.concat([Buffer.from(","), big.subarray(16)]));
  const oversize = async () => {
    const cl = Array.from({ length: 3 }, () =>
      rawSend(
        port,
        `POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${clBody.length}\r\n\r\n`,
        async (write) => {
          await write(clBody);
        },
      ).then((r) => oversized.push({ kind: "content-length", ...r })),
    );
    const chunked = Array.from({ length: 3 }, () =>
      rawSend(
        port,
        "POST /v1/predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        async (write) => {
          await write(chunkOf(big));
          for (let i = 1; i < 100; i++) await write(rowChunk);
          await write(chunkOf(Buffer.from("]}")));
          await write("0\r\n\r\n");
        },
      ).then((r) => oversized.push({ kind: "chunked", ...r })),
    );
    await Promise.all([...cl, ...chunked]);
  };

  const memSamples: number[] = [];
  const sampler = setInterval(() => {
    const m = memory(pid);
    if (m) memSamples.push(m.rssMB);
  }, 1000);
  log(
    `load: ${rate} requests/s of ${rowsPerRequest} rows from ${clients} clients, ${stalledCount} stalled connections, 6 oversized bodies every ${oversizeEvery / 1000} s, for ${duration / 1000} s`,
  );
  const loops = Array.from({ length: clients }, (_, c) => client(c));
  for (let i = 0; i < stalledCount; i++) stall(i);
  const oversizing = (async () => {
    await sleep(2000);
    while (running && performance.now() - t0 < duration - 15_000) {
      const started = performance.now();
      await oversize();
      await sleep(Math.max(0, oversizeEvery - (performance.now() - started)));
    }
  })();
  while (performance.now() - t0 < duration) {
    await sleep(10_000);
    const m = memory(pid);
    log(
      `  ${((performance.now() - t0) / 1000).toFixed(0)} s: ${latencies.length} answered, RSS ${m?.rssMB.toFixed(0)} MB (peak ${m?.hwmMB.toFixed(0)}), ${openStalled.size} stalled connections open`,
    );
  }
  clearInterval(sampler);
  const before = memory(pid);
  running = false;
  await Promise.all(loops);
  agent.destroy();
  await oversizing;
  const stalledAtTerm = openStalled.size;

  // SIGTERM with the stalled clients connected.
  const tTerm = performance.now();
  child.kill("SIGTERM");
  let hwm = before?.hwmMB ?? NaN;
  const exitMs = await Promise.race([
    exited.then(() => performance.now() - tTerm),
    (async () => {
      while (performance.now() - tTerm < exitWait) {
        // An exited process not yet reaped has a status without VmHWM: keep the last reading.
        const m = memory(pid);
        if (m && Number.isFinite(m.hwmMB)) hwm = Math.max(hwm, m.hwmMB);
        await sleep(100);
      }
      return null;
    })(),
  ]);
  if (exitMs === null) {
    child.kill("SIGKILL");
    await exited;
  }
  for (const s of openStalled) s.destroy();

  latencies.sort((x, y) => x - y);
  const summary = {
    label,
    cli,
    requests: latencies.length + Object.values(errors).reduce((s, n) => s + n, 0),
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? NaN,
    errors,
    oversized: Object.entries(
      oversized.reduce<Record<string, number[]>>((acc, o) => {
        (acc[`${o.kind}: ${o.outcome}`] ??= []).push(o.ms);
        return acc;
      }, {}),
    ).map(([what, ms]) => ({
      what,
      count: ms.length,
      medianMs: quantile(
        [...ms].sort((x, y) => x - y),
        0.5,
      ),
    })),
    stalled: {
      fates: stalledFates,
      medianLifetimeMs: quantile(
        [...stalledLifetimes].sort((x, y) => x - y),
        0.5,
      ),
      openAtSigterm: stalledAtTerm,
    },
    peakRssMB: hwm,
    rssAtEndMB: before?.rssMB ?? NaN,
    exitAfterSigtermMs: exitMs,
    exitCode: exitMs === null ? null : child.exitCode,
  };
  log(
    `${label}: p50 ${summary.p50Ms.toFixed(1)} ms, p99 ${summary.p99Ms.toFixed(1)} ms, max ${summary.maxMs.toFixed(0)} ms over ${summary.requests} requests (errors ${JSON.stringify(errors)}); ` +
      `peak RSS ${hwm.toFixed(0)} MB, RSS at the end ${summary.rssAtEndMB.toFixed(0)} MB; exit after SIGTERM ${exitMs === null ? `none within ${exitWait / 1000} s (killed)` : `${(exitMs / 1000).toFixed(2)} s`}`,
  );
  log(`  oversized: ${JSON.stringify(summary.oversized)}`);
  log(`  stalled: ${JSON.stringify(summary.stalled)}`);
  return summary;
}

const rng = new Rng(0);
const ae = new Autoencoder({ dims: [D, 256, 32] }, rng, { threads: 1 });
const centres = await ae.encode(randomMatrix(rng, K, D));
ae.params.define(CENTERS, [K, 32], centres.data);
const work = mkdtempSync(join(tmpdir(), "deepclust-soak-"));
const modelDir = join(work, "model");
writeModelDir(
  modelDir,
  ae,
  modelConfig(ae, { k: K, alpha: 1, method: "dec", data: { note: "random weights (soak-serve benchmark)" } }),
  null,
);

const load = loadavg();
const runs = [];
let baselineDir: string | null = null;
try {
  runs.push(await soak("this tree", join(root, "dist/cli/main.js"), modelDir));
  if (a.baseline) {
    const b = buildBaseline(a.baseline);
    baselineDir = b.dir;
    runs.push(await soak(`baseline ${a.baseline}`, b.cli, modelDir));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
  if (baselineDir) rmSync(baselineDir, { recursive: true, force: true });
}
const result = {
  date: new Date().toISOString(),
  command: `node --import tsx bench/soak-serve.ts ${process.argv.slice(2).join(" ")}`.trim(),
  cpu: cpuName(),
  cores: cpus().length,
  node: process.version,
  loadAverageBefore: load,
  loadAverageAfter: loadavg(),
  model: { dims: [D, 256, 32], k: K, weights: "random" },
  load: {
    durationS: duration / 1000,
    rate,
    clients,
    rowsPerRequest,
    stalled: stalledCount,
    oversizeEveryS: oversizeEvery / 1000,
    threads: Number(a.threads),
  },
  runs,
};
mkdirSync(dirname(a.out!), { recursive: true });
writeFileSync(a.out!, JSON.stringify(result, null, 2) + "\n");
log(`\nwritten ${a.out}`);
