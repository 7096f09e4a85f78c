// Parallel restarts. k-means' restarts are independent, so they run in lanes: the main thread is
// one, worker threads are the others, each lane with its own onnxruntime sessions and its share
// of the threads. Whole restarts in parallel keep every core busy through the JS parts of an
// iteration as well (onnxruntime's intra-op threads only cover single ops), and a lane slowed by
// other load simply takes fewer restarts. The result does not depend on which lane ran what: the
// lowest inertia wins, ties going to the lowest restart index, as when running them in order.

import { Worker } from "node:worker_threads";
import { availableParallelism } from "node:os";
import { Lane, type LaneConfig, type RestartResult, type RestartStart } from "./lloyd.js";
import type { PreparedData } from "./kernels.js";

export type LaneTask = { type: "run"; restart: number; start: RestartStart } | { type: "stop" };
export type LaneReply =
  { type: "ready" } | { type: "result"; result: RestartResult } | { type: "failed"; message: string; started: boolean };

/** A worker running kmeans-worker.ts (or its compiled .js next to this file). */
function spawnLane(data: PreparedData, config: LaneConfig): Worker {
  const fromSource = import.meta.url.endsWith(".ts");
  const entry = JSON.stringify(new URL(fromSource ? "./kmeans-worker.ts" : "./kmeans-worker.js", import.meta.url).href);
  // Node 20 does not hand `--import tsx` on to worker threads: run from the TypeScript sources
  // (tests, benches), the worker registers tsx itself. A lane that cannot start is left out.
  let code = `import(${entry})`;
  if (fromSource) {
    let tsx = "tsx/esm/api";
    try {
      tsx = import.meta.resolve(tsx);
    } catch {
      // left to fail in the worker, which then drops out
    }
    code = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return ${code}; })`;
  }
  return new Worker(code, { eval: true, workerData: { data, config } });
}

/**
 * Below this many row–centre distances per iteration a restart is too short for a worker thread
 * to pay off its start-up (tens of ms compiled, a few hundred under tsx): one lane runs them all.
 */
const MIN_PARALLEL_DISTANCES = 100_000;

/** How long a stopped worker may take to release its sessions and exit before it is terminated. */
const STOP_GRACE_MS = 30_000;

export interface RestartsOutcome {
  best: RestartResult;
  /** Restarts run by each lane (the main thread's first, when it takes part). */
  perLane: number[];
}

/**
 * Runs one Lloyd restart per entry of `starts` in up to `threads` parallel lanes (0 = one per
 * core) and returns the best. `mainLane: false` leaves the main thread out (every lane is a
 * worker), which keeps its event loop free.
 */
export async function runRestarts(
  data: PreparedData,
  config: Omit<LaneConfig, "threads">,
  starts: readonly RestartStart[],
  threads: number,
  { mainLane = true } = {},
): Promise<RestartsOutcome> {
  const total = threads > 0 ? threads : availableParallelism();
  const lanes = data.n * config.k < MIN_PARALLEL_DISTANCES ? 1 : Math.max(1, Math.min(starts.length, total));
  // One lane keeps the caller's setting (0 lets onnxruntime pick); several split the threads.
  const laneConfig: LaneConfig = { ...config, threads: lanes === 1 ? threads : Math.max(1, Math.floor(total / lanes)) };
  const perLane = new Array<number>(lanes).fill(0);
  let next = 0;
  const take = () => (next < starts.length ? next++ : -1);
  const found: { best: RestartResult | null } = { best: null };
  const record = (r: RestartResult) => {
    const b = found.best;
    if (!b || r.inertia < b.inertia || (r.inertia === b.inertia && r.restart < b.restart)) found.best = r;
  };

  const workers = Array.from({ length: mainLane ? lanes - 1 : lanes }, () => spawnLane(data, laneConfig));
  const firstWorker = mainLane ? 1 : 0;
  const inWorkers = workers.map(
    (w, i) =>
      new Promise<void>((resolve, reject) => {
        let started = false;
        let running = -1;
        const dispatch = () => {
          running = take();
          if (running < 0) {
            // Resolve on the worker's own exit, after it has released its onnxruntime sessions:
            // terminating a thread inside a native release aborts the whole process
            // ("terminate called after throwing an instance of 'Napi::Error'"). The timer only
            // guards against a worker that never exits.
            w.postMessage({ type: "stop" } satisfies LaneTask);
            const guard = setTimeout(() => void w.terminate(), STOP_GRACE_MS);
            w.once("exit", () => clearTimeout(guard));
          } else {
            w.postMessage({ type: "run", restart: running, start: starts[running]! } satisfies LaneTask);
          }
        };
        w.on("message", (m: LaneReply) => {
          if (m.type === "ready") {
            started = true;
            dispatch();
          } else if (m.type === "result") {
            record(m.result);
            perLane[firstWorker + i]!++;
            dispatch();
          } else if (m.started) {
            reject(new Error(`k-means restart ${running} failed in a worker thread: ${m.message}`));
          }
        });
        w.on("error", (e) => (started ? reject(e) : resolve()));
        w.on("exit", (code) =>
          running >= 0
            ? reject(new Error(`k-means worker thread exited (code ${code}) during restart ${running}`))
            : resolve(),
        );
      }),
  );
  const inMain = (async () => {
    if (!mainLane) return;
    const lane = await Lane.create(data, laneConfig);
    try {
      for (let r = take(); r >= 0; r = take()) {
        record(await lane.run(r, starts[r]!));
        perLane[0]!++;
      }
    } finally {
      await lane.release();
    }
  })();
  try {
    await Promise.all([inMain, ...inWorkers]);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (!found.best) throw new Error("k-means: no lane could run (the worker threads failed to start)");
  return { best: found.best, perLane };
}
