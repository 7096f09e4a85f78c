// How the default recipe's anchored phase (the mixture's posteriors held as DEC's target until the
// labels settle) converges: ACC and the share of changed labels at every target update, with the
// time of each stage. Tuning seeds only (0 and 1); it is the evidence for the phase's stopping rule.
//
//   node --import tsx bench/diagnostics/anchored-trace.ts --data examples/reuters/train.csv --seed 0

import { parseArgs } from "node:util";
import { DEC, presetConfig, readDataset } from "../../src/index.js";

const { values: a } = parseArgs({
  options: {
    data: { type: "string", default: "examples/reuters/train.csv" },
    seed: { type: "string", default: "0" },
    threads: { type: "string", default: "2" },
  },
});
const seed = Number(a.seed);
if (seed >= 10) throw new Error("reporting seeds (10+) are not for diagnostics");
const ds = await readDataset(a.data!);
const y = ds.labels!;
const k = new Set(Array.from(y as ArrayLike<unknown>).filter((v) => v !== null)).size;
const t0 = performance.now();
const trace: [number, number, number | null, number][] = [];
const dec = new DEC({ ...presetConfig("manifold", ds.X, k), seed, threads: Number(a.threads) });
await dec.fit(ds.X, {
  labels: y,
  onUpdate: (u) => {
    trace.push([
      u.iteration,
      Number(u.metrics?.acc.toFixed(4)),
      u.deltaLabel ?? null,
      Math.round(performance.now() - t0) / 1000,
    ]);
    if (trace.length % 50 === 1) console.error(JSON.stringify(trace.at(-1)));
  },
});
console.log(
  JSON.stringify({
    data: a.data,
    seed,
    k,
    rows: ds.X.rows,
    iterations: dec.iterations,
    acc: dec.metrics?.acc,
    seconds: (performance.now() - t0) / 1000,
    trace,
  }),
);
