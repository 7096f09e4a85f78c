// What int8 inference costs in quality and gains in speed on trained models and real data (the
// throughput benchmark, bench/inference-vs-reference.ts, uses random weights, where agreement
// says little). For each model, float32 and int8 in the same process on the same rows:
// the fraction of rows whose cluster is the same, max |Δq|, ACC/NMI/ARI of both against the
// labels, and each precision's vectors/s (best of 3 passes, batch 1024).
//
//   npm run build && node --import tsx bench/int8-agreement.ts [--threads 2] [--mnist-ae FILE]
//
// Models: (1) the bundled Reuters example, trained as `npm start` does (IDEC, k = 10; 100-d
// vectors), scored on train.csv and test.csv; (2) scikit-learn's digits (64-d), the CLI's defaults
// with k = 10; (3) with --mnist-ae (e.g. bench/results/mnist-ae-seed1.safetensors, saved by
// bench/mnist-dec.ts): the paper's 784→500→500→2000→10 autoencoder with its k-means centres on the
// code (20 restarts) as the model, on all 70,000 MNIST images.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  CENTERS,
  DECModel,
  Rng,
  evaluateClustering,
  kmeans,
  loadAutoencoder,
  loadModel,
  modelConfig,
  readDataset,
  type Matrix,
  type PartialLabels,
} from "../src/index.js";
import { runCliJson } from "./generated-data.js";
import { mnistImages, mnistLabels } from "./mnist.js";

const { values: opts } = parseArgs({
  options: {
    threads: { type: "string", default: "2" },
    "mnist-ae": { type: "string" },
    cli: { type: "string", default: "dist/cli/main.js" },
  },
});
const threads = Number(opts.threads);
const tmp = mkdtempSync(join(tmpdir(), "deepclust-int8-"));

interface Row {
  model: string;
  data: string;
  rows: number;
  labelsEqual: number;
  maxDq: number;
  fp32: { acc: number; nmi: number; ari: number; vectorsPerSecond: number };
  int8: { acc: number; nmi: number; ari: number; vectorsPerSecond: number };
}
const rows: Row[] = [];

function argmax(q: Matrix): Int32Array {
  const out = new Int32Array(q.rows);
  for (let i = 0; i < q.rows; i++)
    for (let j = 1; j < q.cols; j++) if (q.data[i * q.cols + j]! > q.data[i * q.cols + out[i]!]!) out[i] = j;
  return out;
}

async function bestRate(model: DECModel, X: Matrix): Promise<number> {
  let best = 0;
  await model.predictProba(X); // warm-up
  for (let p = 0; p < 3; p++) {
    const t = performance.now();
    await model.predictProba(X, 1024);
    best = Math.max(best, X.rows / ((performance.now() - t) / 1000));
  }
  return best;
}

async function compare(
  name: string,
  data: string,
  load: (precision: "fp32" | "int8") => DECModel,
  X: Matrix,
  y: PartialLabels,
): Promise<void> {
  const [a, b] = [load("fp32"), load("int8")];
  const [qa, qb] = [await a.predictProba(X), await b.predictProba(X)];
  const [la, lb] = [argmax(qa), argmax(qb)];
  let same = 0;
  for (let i = 0; i < la.length; i++) if (la[i] === lb[i]) same++;
  let maxDq = 0;
  for (let i = 0; i < qa.data.length; i++) maxDq = Math.max(maxDq, Math.abs(qa.data[i]! - qb.data[i]!));
  const [sa, sb] = [evaluateClustering(y, la), evaluateClustering(y, lb)];
  const row: Row = {
    model: name,
    data,
    rows: X.rows,
    labelsEqual: same / X.rows,
    maxDq,
    fp32: { acc: sa.acc, nmi: sa.nmi, ari: sa.ari, vectorsPerSecond: await bestRate(a, X) },
    int8: { acc: sb.acc, nmi: sb.nmi, ari: sb.ari, vectorsPerSecond: await bestRate(b, X) },
  };
  await Promise.all([a.release(), b.release()]);
  rows.push(row);
  process.stderr.write(
    `${name} on ${data}: ${(100 * row.labelsEqual).toFixed(3)} % of labels equal, ACC ${row.fp32.acc.toFixed(4)} → ${row.int8.acc.toFixed(4)}\n`,
  );
}

async function trained(name: string, train: string, args: string[], scoreOn: string[]): Promise<void> {
  const dir = join(tmp, name);
  await runCliJson(opts.cli!, [
    "train",
    train,
    ...args,
    "--out",
    dir,
    "--no-report",
    "--threads",
    String(threads),
    "--json",
  ]);
  for (const file of scoreOn) {
    const d = await readDataset(file);
    await compare(name, file, (precision) => loadModel(dir, { threads, precision }), d.X, d.labels!);
  }
}

await trained(
  "reuters (npm start: IDEC, k 10)",
  "examples/reuters/train.csv",
  ["-k", "10", "--method", "idec", "--seed", "0"],
  ["examples/reuters/train.csv", "examples/reuters/test.csv"],
);
await trained(
  "digits (defaults, k 10)",
  "test/fixtures/digits.csv",
  ["-k", "10", "--seed", "0"],
  ["test/fixtures/digits.csv"],
);

if (opts["mnist-ae"]) {
  const X = mnistImages();
  const y = mnistLabels();
  const ae = loadAutoencoder(opts["mnist-ae"], new Rng(0), { threads });
  const km = await kmeans(await ae.encode(X), { k: 10, nInit: 20, seed: new Rng(0), threads });
  ae.params.define(CENTERS, [10, ae.codeDim], km.centers);
  const config = modelConfig(ae, {
    k: 10,
    alpha: 1,
    method: "dec",
    data: { note: "AE + k-means centres (bench/int8-agreement.ts)" },
  });
  await compare(
    `MNIST ${ae.dims.join("→")} AE + k-means`,
    "MNIST-70k",
    (precision) => new DECModel(config, ae, null, precision),
    X,
    y,
  );
}
rmSync(tmp, { recursive: true, force: true });

const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
const f = (v: number) => v.toFixed(4);
console.log(
  "| model | data | rows | labels equal | max abs Δq | ACC fp32 → int8 | NMI fp32 → int8 | ARI fp32 → int8 | vectors/s fp32 → int8 |",
);
console.log("|---|---|---|---|---|---|---|---|---|");
for (const r of rows)
  console.log(
    `| ${r.model} | ${r.data} | ${r.rows.toLocaleString("en-US")} | ${pct(r.labelsEqual)} | ${r.maxDq.toExponential(1)} | ${f(r.fp32.acc)} → ${f(r.int8.acc)} | ${f(r.fp32.nmi)} → ${f(r.int8.nmi)} | ${f(r.fp32.ari)} → ${f(r.int8.ari)} | ${Math.round(r.fp32.vectorsPerSecond).toLocaleString("en-US")} → ${Math.round(r.int8.vectorsPerSecond).toLocaleString("en-US")} (${(r.int8.vectorsPerSecond / r.fp32.vectorsPerSecond).toFixed(2)}×) |`,
  );
