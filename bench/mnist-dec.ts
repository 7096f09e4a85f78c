// DEC and IDEC on MNIST-70k with the paper's architecture (784→500→500→2000→10), one seed per
// invocation: pixel k-means, AE+k-means, DEC and IDEC from the same pretrained autoencoder, with
// ACC/NMI/ARI, wall time and peak RSS per stage. Results go to bench/results/mnist-dec-seed<S>.json;
// bench/mnist-dec-summary.ts averages the seeds into a table.
//
//   nohup node --import tsx bench/mnist-dec.ts --seed 1 > bench/results/mnist-dec-seed1.log 2>&1 &
//
// Pretraining as in the well-known Keras implementation (the 0.912 anchor, XifengGuo/DEC-keras
// DEC.py for MNIST): end-to-end, no noise (--noise 0.2 masks 20 % of inputs, the paper's corruption
// level), PyTorch's default init (its VarianceScaling(1/3, fan_in, uniform) is the same
// distribution), SGD lr 1 with momentum 0.9 on the MSE (--pretrain-optimizer adam: Adam 1e-3, what
// runs before 2026-11-29 11:00 used), batch 256, --epochs (default 100, against its 300: what fits
// about 16 minutes on the 2-core benchmark machine). Clustering: DEC with the paper's SGD 0.01 /
// momentum 0.9, IDEC with Adam 1e-3 (the IDEC authors' MNIST setting; --idec-optimizer sgd: DEC's),
// P over the full dataset every 140 iterations, tol 0.1 %.

import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  Autoencoder,
  Rng,
  loadAutoencoder,
  saveAutoencoder,
  pretrainAutoencoder,
  DEC,
  kmeans,
  evaluateClustering,
  type Matrix,
} from "../src/index.js";
import { mnistImages, mnistLabels } from "./mnist.js";

const { values: a } = parseArgs({
  options: {
    seed: { type: "string", default: "1" },
    epochs: { type: "string", default: "100" },
    rows: { type: "string", default: "70000" },
    threads: { type: "string", default: "2" },
    "max-iter": { type: "string", default: "20000" },
    noise: { type: "string", default: "none" },
    // Reuse a pretrained autoencoder (saved by an earlier run as bench/results/mnist-ae-seed<S>-<optimizer>.safetensors)
    // instead of pretraining, to try clustering settings without the 15-minute pretraining.
    ae: { type: "string" },
    methods: { type: "string", default: "dec,idec" },
    // IDEC's optimizer: adam (1e-3, what the IDEC authors use on MNIST) or sgd (DEC's SGD 0.01 / 0.9).
    "idec-optimizer": { type: "string", default: "adam" },
    // Pretraining's optimizer: sgd (lr 1, momentum 0.9: the Keras anchor's) or adam (1e-3).
    "pretrain-optimizer": { type: "string", default: "sgd" },
  },
});
const seed = Number(a.seed);
const threads = Number(a.threads);
const limit = Number(a.rows);
const Xall = mnistImages();
const yall = mnistLabels();
const X: Matrix = { data: Xall.data.subarray(0, limit * 784), rows: Math.min(limit, Xall.rows), cols: 784 };
const y = yall.subarray(0, X.rows);

const rssMb = () => process.resourceUsage().maxRSS / 1024;
const stages: Record<string, unknown> = {};
const log = (s: string) => console.log(`[seed ${seed}] ${s}`);
const time = async <T>(name: string, f: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  const r = await f();
  const seconds = (performance.now() - t0) / 1000;
  stages[name] = { ...(stages[name] as object), seconds, peakRssMb: rssMb() };
  log(`${name}: ${seconds.toFixed(1)} s, peak RSS ${rssMb().toFixed(0)} MB`);
  return r;
};

const pixel = await time("kmeans-pixels", () => kmeans(X, { k: 10, nInit: 20, seed: new Rng(seed), threads }));
stages["kmeans-pixels"] = {
  ...(stages["kmeans-pixels"] as object),
  ...evaluateClustering(y, pixel.labels),
  inertia: pixel.inertia,
};
log(`pixel k-means ${JSON.stringify(evaluateClustering(y, pixel.labels))}`);

const rng = new Rng(seed);
let ae: Autoencoder;
if (a.ae) {
  ae = loadAutoencoder(a.ae, rng, { threads });
  stages.pretrain = { loadedFrom: a.ae };
  log(`autoencoder loaded from ${a.ae} (no pretraining)`);
} else {
  ae = new Autoencoder({ dims: [784, 500, 500, 2000, 10] }, rng, { threads });
  const pre = await time("pretrain", () =>
    pretrainAutoencoder(ae, X, rng, {
      epochs: Number(a.epochs),
      noise: a.noise === "none" ? { kind: "none", factor: 0 } : { kind: "mask", factor: Number(a.noise) },
      optimizer:
        a["pretrain-optimizer"] === "adam" ? { type: "adam", lr: 1e-3 } : { type: "sgd", lr: 1, momentum: 0.9 },
      onEpoch: (e) =>
        (e.epoch % 10 === 0 || e.epoch === e.epochs) &&
        log(
          `pretrain epoch ${e.epoch}/${e.epochs} loss ${e.loss.toFixed(5)} (${Math.round(e.samplesPerSecond)} samples/s)`,
        ),
    }),
  );
  stages.pretrain = {
    ...(stages.pretrain as object),
    finalLoss: pre.at(-1)!.loss,
    samplesPerSecond: pre.reduce((s, e) => s + e.samplesPerSecond, 0) / pre.length,
  };
  mkdirSync("bench/results", { recursive: true });
  saveAutoencoder(ae, `bench/results/mnist-ae-seed${seed}-${a["pretrain-optimizer"]}.safetensors`);
}

const results: Record<string, unknown> = {};
for (const method of a.methods.split(",") as Array<"dec" | "idec">) {
  const optimizer =
    method === "idec" && a["idec-optimizer"] === "adam" ? { optimizer: { type: "adam" as const, lr: 1e-3 } } : {};
  const model = new DEC({
    k: 10,
    hidden: [500, 500, 2000, 10],
    method,
    seed,
    threads,
    maxIter: Number(a["max-iter"]),
    updateInterval: 140,
    ...optimizer,
  });
  await time(method, () =>
    model.fit(X, {
      labels: y,
      autoencoder: ae,
      onUpdate: (u) =>
        u.iteration % 1400 === 0 &&
        log(
          `${method} iteration ${u.iteration} loss ${u.loss?.toFixed(5)} delta ${((u.deltaLabel ?? 1) * 100).toFixed(2)} % acc ${u.metrics?.acc.toFixed(4)}${u.warnings.length ? " " + u.warnings.join("; ") : ""}`,
        ),
    }),
  );
  if (!stages["kmeans-code"])
    stages["kmeans-code"] = { seconds: model.timings.kmeansSeconds, ...model.initMetrics, inertia: model.initInertia };
  results[method] = {
    ...model.metrics,
    iterations: model.iterations,
    converged: model.converged,
    timings: model.timings,
  };
  log(
    `AE+k-means ${JSON.stringify(model.initMetrics)}; ${method.toUpperCase()} ${JSON.stringify(model.metrics)} after ${model.iterations} iterations`,
  );
}

mkdirSync("bench/results", { recursive: true });
// Runs other than the default (all methods, SGD, own pretraining) get their own file, outside the summary.
const variant = a.ae || a.methods !== "dec,idec" || a["idec-optimizer"] !== "adam" || a["pretrain-optimizer"] !== "sgd";
const out = `bench/results/mnist-dec-seed${seed}${variant ? `-${a.methods.replace(",", "-")}-idec-${a["idec-optimizer"]}-pretrain-${a["pretrain-optimizer"]}` : ""}.json`;
writeFileSync(
  out,
  JSON.stringify(
    {
      seed,
      rows: X.rows,
      epochs: Number(a.epochs),
      noise: a.noise,
      pretrainOptimizer: a["pretrain-optimizer"],
      idecOptimizer: a["idec-optimizer"],
      threads,
      date: new Date().toISOString(),
      stages,
      results,
    },
    null,
    2,
  ) + "\n",
);
log(`wrote ${out}`);
