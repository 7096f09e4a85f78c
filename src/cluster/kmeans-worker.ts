// A k-means lane in a worker thread (see lanes.ts): builds its own kernels over a copy of the
// prepared data, then runs the restarts the main thread hands it, one at a time.

import { parentPort, workerData } from "node:worker_threads";
import { Lane, type LaneConfig, type RestartStart } from "./lloyd.js";
import type { PreparedData } from "./kernels.js";
import type { LaneReply, LaneTask } from "./lanes.js";

const port = parentPort!;
const { data, config } = workerData as { data: PreparedData; config: LaneConfig };
const send = (reply: LaneReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

let lane: Lane;
try {
  lane = await Lane.create(data, config);
} catch (e) {
  send({ type: "failed", message: (e as Error).message, started: false });
  throw e;
}
port.on("message", async (task: LaneTask) => {
  if (task.type === "stop") {
    await lane.release();
    port.close();
    return;
  }
  try {
    const r = await lane.run(task.restart, task.start as RestartStart);
    send({ type: "result", result: r }, [r.labels.buffer as ArrayBuffer, r.centres.buffer as ArrayBuffer]);
  } catch (e) {
    send({ type: "failed", message: (e as Error).stack ?? String(e), started: true });
  }
});
send({ type: "ready" });
