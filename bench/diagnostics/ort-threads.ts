// What onnxruntime's intra-op thread setting does to the default recipe's pretraining: the Reuters
// example's autoencoder (100→200→200→800→10, Adam, no noise, batch 256, 16 steps per run) for a
// few epochs with `threads` 0 (onnxruntime's default: one thread per physical core, pinned), 1 and 2,
// each in its own process, rounds alternating the order; medians of ms per step after the first
// epoch, and whether the three runs end with the same weights (the loss, bit for bit).
//
//   node --import tsx bench/diagnostics/ort-threads.ts [--rounds 3] [--epochs 6]

import { spawnSync } from "node:child_process";
import { appendFileSync, mkdirSync } from "node:fs";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { Autoencoder, Rng, pretrainAutoencoder, readDataset } from "../../src/index.js";
import { cpuName } from "../cpu.js";

const { values: a } = parseArgs({
  options: {
    threads: { type: "string" },
    rounds: { type: "string", default: "3" },
    epochs: { type: "string", default: "6" },
    results: { type: "string", default: "bench/results/ort-threads.jsonl" },
  },
});
const epochs = Number(a.epochs);

if (a.threads !== undefined) {
  const { X } = await readDataset("examples/reuters/train.csv");
  const rng = new Rng(0);
  const ae = new Autoencoder({ dims: [X.cols, 200, 200, 800, 10] }, rng, { threads: Number(a.threads) });
  const h = await pretrainAutoencoder(ae, X, rng, {
    epochs,
    batchSize: 256,
    optimizer: { type: "adam", lr: 1e-3 },
    noise: { kind: "none", factor: 0 },
  });
  const timed = h.slice(1);
  const steps = timed.length * Math.ceil(X.rows / 256);
  console.log(
    JSON.stringify({
      threads: Number(a.threads),
      msPerStep: (timed.reduce((s, e) => s + e.seconds, 0) / steps) * 1000,
      loss: h.at(-1)!.loss,
    }),
  );
} else {
  const variants = ["0", "1", "2"];
  const runs: { threads: number; msPerStep: number; loss: number }[] = [];
  for (let round = 0; round < Number(a.rounds); round++)
    for (const t of round % 2 ? [...variants].reverse() : variants) {
      const r = spawnSync(
        process.execPath,
        ["--import", "tsx", "bench/diagnostics/ort-threads.ts", "--threads", t, "--epochs", String(epochs)],
        { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
      );
      if (r.status !== 0) throw new Error(`threads ${t} failed`);
      const run = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
      console.error(`round ${round + 1}, threads ${t}: ${run.msPerStep.toFixed(2)} ms/step`);
      runs.push(run);
    }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)]!;
  const medians = Object.fromEntries(
    variants.map((t) => [t, median(runs.filter((r) => r.threads === Number(t)).map((r) => r.msPerStep))]),
  );
  const sameLoss = new Set(runs.map((r) => r.loss)).size === 1;
  mkdirSync("bench/results", { recursive: true });
  appendFileSync(
    a.results!,
    JSON.stringify({
      cpu: cpuName(),
      cores: cpus().length,
      date: new Date().toISOString(),
      epochs,
      rounds: Number(a.rounds),
      msPerStepMedians: medians,
      sameLoss,
      runs,
    }) + "\n",
  );
  console.log(JSON.stringify({ msPerStepMedians: medians, sameLoss }));
}
