// What issue 13's checks cost, on this machine, next to the work they guard:
// - the resume check's data fingerprint (SHA-256 of the float32 values in row order), computed once
//   by every checkpointing or resuming run, on MNIST's 70,000 × 784 (train + test), in memory and
//   streamed from a .npy (NpySource, the out-of-core path), beside one pretraining epoch of the
//   CLI's default autoencoder (784→256→32, batch 256);
// - loading the paper's model (784→500→500→2000→10 with decoder, k = 10): loadModel with every
//   check (config fields, the safetensors header, finite weights, model.onnx's SHA-256) against
//   loadModel without the model.onnx hash, alternating, and the weights' finite scan alone.
// Medians of ROUNDS runs. Writes bench/results/robustness-costs.json.
//
//   node --import tsx bench/robustness-costs.ts

import { cpus, loadavg, tmpdir } from "node:os";
import { execSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  Autoencoder,
  CENTERS,
  NpySource,
  Rng,
  dataFingerprint,
  loadModel,
  modelConfig,
  pretrainAutoencoder,
  readSafetensors,
  writeModelDir,
  writeNpy,
} from "../src/index.js";
import { mnistImages } from "./mnist.js";

const ROUNDS = 7;
const X = mnistImages();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Seconds of one call. */
function time(f: () => void): number {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
}

const cpu = /Model name:\s*(.*)/.exec(execSync("lscpu", { encoding: "utf8" }))?.[1] ?? "unknown";
const before = loadavg();
console.log(
  `CPU: ${cpu}, ${cpus().length} cores; node ${process.version}; load average before: ${before.map((l) => l.toFixed(2)).join(" ")}`,
);

const dir = mkdtempSync(join(tmpdir(), "deepclust-robustness-"));
const results: Record<string, unknown> = {
  cpu,
  cores: cpus().length,
  node: process.version,
  rounds: ROUNDS,
  loadAverageBefore: before,
};
try {
  const mib = X.data.byteLength / 2 ** 20;
  const inMemory = median(Array.from({ length: ROUNDS }, () => time(() => dataFingerprint(X))));
  console.log(
    `fingerprint, in memory:        ${X.rows} × ${X.cols} (${mib.toFixed(0)} MiB): median ${inMemory.toFixed(3)} s (${(mib / inMemory).toFixed(0)} MiB/s)`,
  );
  const file = join(dir, "mnist70k.npy");
  writeNpy(file, X);
  const streamed = median(
    Array.from({ length: ROUNDS }, () =>
      time(() => {
        const source = NpySource.open(file);
        try {
          dataFingerprint(source);
        } finally {
          source.close();
        }
      }),
    ),
  );
  console.log(`fingerprint, streamed (.npy):  median ${streamed.toFixed(3)} s (page cache warm)`);

  const rng = new Rng(0);
  const ae = new Autoencoder({ dims: [784, 256, 32] }, rng, { threads: 0 });
  const [epoch] = await pretrainAutoencoder(ae, X, rng, { epochs: 1 });
  const share = (100 * inMemory) / epoch!.seconds;
  console.log(
    `one pretraining epoch (784→256→32, batch 256, threads = cores): ${epoch!.seconds.toFixed(2)} s; the in-memory fingerprint is ${share.toFixed(1)} % of it`,
  );
  results.fingerprint = {
    rows: X.rows,
    cols: X.cols,
    inMemorySeconds: inMemory,
    streamedNpySeconds: streamed,
    pretrainEpochSeconds: epoch!.seconds,
    percentOfEpoch: share,
  };

  // The paper's architecture with its decoder: the largest model deepclust documents.
  const paper = new Autoencoder({ dims: [784, 500, 500, 2000, 10] }, new Rng(1), { threads: 1 });
  paper.params.define(
    CENTERS,
    [10, 10],
    Float32Array.from({ length: 100 }, (_, i) => Math.sin(i)),
  );
  const model = join(dir, "paper-model");
  writeModelDir(model, paper, modelConfig(paper, { k: 10, alpha: 1, method: "dec" }), null);
  const withHash: number[] = [];
  const withoutHash: number[] = [];
  const readWeights: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    withHash.push(time(() => loadModel(model, { threads: 1 })));
    withoutHash.push(time(() => loadModel(model, { threads: 1, checkOnnx: false })));
    readWeights.push(time(() => readSafetensors(join(model, "model.safetensors"))));
  }
  const [a, b, c] = [median(withHash), median(withoutHash), median(readWeights)];
  console.log(
    `loadModel, paper model (784→500→500→2000→10 + decoder, 13 MB of weights): every check ${(1000 * a).toFixed(0)} ms, without the model.onnx hash ${(1000 * b).toFixed(0)} ms; reading + checking model.safetensors alone ${(1000 * c).toFixed(0)} ms`,
  );
  results.loadModel = {
    dims: [784, 500, 500, 2000, 10],
    everyCheckSeconds: a,
    withoutOnnxHashSeconds: b,
    safetensorsReadSeconds: c,
  };
} finally {
  rmSync(dir, { recursive: true, force: true });
}
results.loadAverageAfter = loadavg();
console.log(
  `load average after: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
writeFileSync(new URL("./results/robustness-costs.json", import.meta.url), JSON.stringify(results, null, 2) + "\n");
