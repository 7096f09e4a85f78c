// Sustained pretraining throughput over many epochs: deepclust with denormals flushed to zero
// (the default), deepclust keeping denormals, and the PyTorch reference, in one invocation, on the
// paper architecture (784→500→500→2000→10), 15,000 MNIST images, batch 256, mask noise (0.2 by
// default, the paper's corruption level), Adam,
// 2 threads. Short benchmarks miss this: after a few hundred steps Adam's moments decay into the
// denormal range and denormal arithmetic slows every element-wise pass.
//
//   node --import tsx bench/sustained-pretrain.ts [--epochs 40] [--noise 0.2]   (mask noise factor)

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Autoencoder, Rng, pretrainAutoencoder, writeNpy } from "../src/index.js";
import { mnistTrainImages } from "./mnist.js";

const { values: a } = parseArgs({
  options: { epochs: { type: "string", default: "40" }, noise: { type: "string", default: "0.2" } },
});
const epochs = Number(a.epochs);
const noise = Number(a.noise);
const X = mnistTrainImages(15_000);

async function ours(flushDenormals: boolean): Promise<number[]> {
  const rng = new Rng(1);
  const ae = new Autoencoder({ dims: [784, 500, 500, 2000, 10] }, rng, { threads: 2, flushDenormals });
  const h = await pretrainAutoencoder(ae, X, rng, { epochs, noise: { kind: "mask", factor: noise } });
  return h.map((e) => e.samplesPerSecond);
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const flush = await ours(true);
const keep = await ours(false);
const dir = mkdtempSync(join(tmpdir(), "deepclust-sustained-"));
writeNpy(join(dir, "x.npy"), X);
const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_CORETYPE: "SkylakeX", OMP_WAIT_POLICY: "PASSIVE" };
delete env.OPENBLAS_L2_SIZE;
const torch = JSON.parse(
  execFileSync(
    "/usr/bin/python3",
    [
      "bench/reference/pretrain_torch.py",
      "--data",
      join(dir, "x.npy"),
      "--dims",
      "500,500,2000,10",
      "--threads",
      "2",
      "--epochs",
      String(epochs),
      "--noise-factor",
      String(noise),
    ],
    { env, encoding: "utf8" },
  )
    .trim()
    .split("\n")
    .at(-1)!,
);
rmSync(dir, { recursive: true, force: true });
const row = (name: string, xs: number[]) =>
  console.log(
    `${name.padEnd(34)} epochs 2–5: ${Math.round(mean(xs.slice(1, 5)))}/s   last 5: ${Math.round(mean(xs.slice(-5)))}/s   all ${epochs}: ${Math.round((xs.length * X.rows) / xs.reduce((s, x) => s + X.rows / x, 0))}/s`,
  );
row("deepclust, denormals flushed", flush);
row("deepclust, denormals kept", keep);
console.log(`${"pytorch (OpenBLAS SkylakeX)".padEnd(34)} all ${epochs}: ${Math.round(torch.samples_per_s)}/s`);
console.log(
  `ratio over all epochs, deepclust (flushed) / pytorch: ${((epochs * X.rows) / flush.reduce((s, x) => s + X.rows / x, 0) / torch.samples_per_s).toFixed(2)}×`,
);
