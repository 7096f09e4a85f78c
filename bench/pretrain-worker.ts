// Child process of bench/pretrain-throughput.ts: pretrains deepclust's denoising autoencoder on a
// .npy file and prints one JSON line (throughput after the first epoch, peak RSS, final loss).
// Run alone: node --import tsx bench/pretrain-worker.ts --data x.npy --dims 256,32 --threads 2 --epochs 3

import { parseArgs } from "node:util";
import { Autoencoder, Rng, pretrainAutoencoder, readNpy } from "../src/index.js";

const { values: a } = parseArgs({
  options: {
    data: { type: "string" },
    dims: { type: "string", default: "256,32" },
    threads: { type: "string", default: "1" },
    epochs: { type: "string", default: "3" },
    "batch-size": { type: "string", default: "256" },
    noise: { type: "string", default: "mask" },
    seed: { type: "string", default: "0" },
  },
});
if (!a.data) throw new Error("--data is required");
const X = readNpy(a.data);
const rng = new Rng(Number(a.seed));
const dims = [X.cols, ...a.dims!.split(",").map(Number)];
const ae = new Autoencoder({ dims }, rng, { threads: Number(a.threads) });
const epochs = Number(a.epochs);
const history = await pretrainAutoencoder(ae, X, rng, {
  epochs,
  batchSize: Number(a["batch-size"]),
  noise: { kind: a.noise as "mask", factor: 0.3 },
});
// The first epoch includes V8's and onnxruntime's warm-up; report the steady state after it.
const timed = history.length > 1 ? history.slice(1) : history;
const seconds = timed.reduce((s, e) => s + e.seconds, 0);
const samples = timed.length * X.rows;
console.log(
  JSON.stringify({
    engine: "deepclust",
    threads: Number(a.threads),
    dims,
    batch_size: Number(a["batch-size"]),
    samples,
    seconds,
    samples_per_s: samples / seconds,
    final_loss: history.at(-1)!.loss,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  }),
);
