// Training larger than memory (issue 5): writes an N × 768 float32 .npy to a temporary directory
// (10,000,000 rows = 28.6 GiB by default; the free disk is checked first), runs the built CLI
// (`dist/`, so `npm run build` first) as a child process —
//   deepclust train big.npy -k 10 --dims 256,32 --pretrain-epochs 1 --max-iter 300
//     --update-interval 100 --tol 0 --n-init 1 --memory-budget <MB> --no-report --json
// — so the file, larger than --memory-budget, trains out of core (rows read from disk in
// block-shuffled passes), and reports each stage's throughput in rows/s and the child's peak
// resident memory. The file is deleted afterwards (unless --keep).
//
//   node --import tsx bench/out-of-core-train.ts [--rows 10000000] [--dims 768]
//        [--budget-mb 1024] [--max-iter 300] [--update-interval 100] [--threads 0] [--in-memory]
//        [--keep] [--json]
//
// --in-memory: the same run with the file loaded whole (a budget above its size), for comparison
// on a size that fits.
//
// The data: 4,096 rows drawn around 10 random centres, repeated (the values do not change the
// work). The numbers measure the data path and the compute, not clustering quality. Note that a
// file smaller than the machine's RAM ends up in the OS page cache after it is written, so reads
// come from memory; the process itself still holds only what out-of-core training keeps (peak RSS).

import { existsSync, mkdtempSync, rmSync, statSync, statfsSync } from "node:fs";
import { cpus, freemem, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Rng, type Matrix } from "../src/index.js";
import { runCliJson, writeRepeatedNpy } from "./generated-data.js";

const HIDDEN = [256, 32];
const K = 10;
const POOL_ROWS = 4096;
const BATCH = 256;

const { values: a } = parseArgs({
  options: {
    rows: { type: "string", default: "10000000" },
    dims: { type: "string", default: "768" },
    "budget-mb": { type: "string", default: "1024" },
    "max-iter": { type: "string", default: "300" },
    "update-interval": { type: "string", default: "100" },
    threads: { type: "string", default: "0" },
    "in-memory": { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});

interface TrainSummary {
  rows: number;
  outOfCore: boolean;
  dec: { iterations: number };
  timings: { pretrainSeconds: number; kmeansSeconds: number; clusteringSeconds: number; totalSeconds: number };
  peakRssMb: number;
}

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const log = (line: string) => (a.json ? process.stderr : process.stdout).write(line + "\n");

await main();

async function main(): Promise<void> {
  if (!existsSync(cli)) throw new Error(`${cli} not found: run \`npm run build\` first`);
  const rows = Number(a.rows);
  const d = Number(a.dims);
  const budgetMb = Number(a["budget-mb"]);
  const maxIter = Number(a["max-iter"]);
  const T = Number(a["update-interval"]);
  if (![rows, d, budgetMb, maxIter, T].every((v) => Number.isInteger(v) && v >= 1)) throw new Error("--rows, --dims, --budget-mb, --max-iter and --update-interval must be positive integers");

  const dir = mkdtempSync(join(tmpdir(), "deepclust-ooc-train-"));
  const bytes = rows * d * 4 + 128;
  const fs = statfsSync(dir);
  const free = fs.bavail * fs.bsize;
  const margin = 1 << 30;
  if (free < bytes + margin) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`not enough disk in ${tmpdir()}: the ${rows} × ${d} file needs ${gib(bytes)} GiB (+1 GiB margin), ${gib(free)} GiB are free; use a smaller --rows or set TMPDIR to a larger disk`);
  }
  const file = join(dir, "big.npy");
  try {
    log(`out-of-core train: ${rows} × ${d} float32 (${gib(bytes)} GiB) in ${dir}; machine ${gib(totalmem())} GiB RAM (${gib(freemem())} free), ${cpus().length} CPUs; --memory-budget ${budgetMb} MB`);
    let t0 = performance.now();
    writeRepeatedNpy(file, rows, clusteredPool(new Rng(0), POOL_ROWS, d));
    const writeSeconds = (performance.now() - t0) / 1000;
    log(`wrote ${gib(statSync(file).size)} GiB in ${writeSeconds.toFixed(1)} s; training…`);
    const args = [
      "train", file, "-k", String(K), "--dims", HIDDEN.join(","), "--pretrain-epochs", "1", "--max-iter", String(maxIter), "--update-interval", String(T),
      "--tol", "0", "--n-init", "1", "--memory-budget", String(a["in-memory"] ? Math.ceil(bytes / 2 ** 20) + 1 : budgetMb), "--threads", a.threads!, "--no-report", "--json", "--out", join(dir, "model"),
    ];
    log(`deepclust ${args.join(" ")}`);
    t0 = performance.now();
    const s = await runCliJson<TrainSummary>(cli, args);
    const wallSeconds = (performance.now() - t0) / 1000;
    if (s.outOfCore === a["in-memory"]) throw new Error(`the run ${s.outOfCore ? "trained" : "did not train"} out of core`);
    const passes = Math.floor(s.dec.iterations / T) + 2; // target updates at 0, T, 2T, …, and the final labels
    const t = s.timings;
    const result = {
      rows, outOfCore: s.outOfCore, dims: [d, ...HIDDEN], k: K, fileGiB: Number(gib(bytes)), budgetMb, writeSeconds, wallSeconds,
      pretrain: { seconds: t.pretrainSeconds, rowsPerSecond: rows / t.pretrainSeconds },
      codeAndKmeans: { seconds: t.kmeansSeconds, rowsPerSecond: rows / t.kmeansSeconds },
      clustering: { seconds: t.clusteringSeconds, iterations: s.dec.iterations, fullPasses: passes, rowsPerSecond: (s.dec.iterations * BATCH + passes * rows) / t.clusteringSeconds },
      peakRssMb: s.peakRssMb,
      cpus: cpus().length, threads: Number(a.threads),
    };
    log(`pretraining (1 epoch): ${rate(result.pretrain.rowsPerSecond)} rows/s (${t.pretrainSeconds.toFixed(1)} s)`);
    log(`code + k-means: ${rate(result.codeAndKmeans.rowsPerSecond)} rows/s (${t.kmeansSeconds.toFixed(1)} s)`);
    log(`DEC: ${s.dec.iterations} iterations of ${BATCH} + ${passes} full passes (target updates, final labels): ${rate(result.clustering.rowsPerSecond)} rows/s (${t.clusteringSeconds.toFixed(1)} s)`);
    log(`total ${t.totalSeconds.toFixed(1)} s (wall ${wallSeconds.toFixed(1)} s), peak RSS ${s.peakRssMb} MiB for a ${gib(bytes)} GiB file`);
    if (a.json) console.log(JSON.stringify(result));
  } finally {
    if (a.keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

function gib(n: number): string {
  return (n / 2 ** 30).toFixed(1);
}

function rate(v: number): string {
  return Math.round(v).toLocaleString("en");
}


/** Rows around K random centres (unit normal centres, noise 0.3). */
function clusteredPool(rng: Rng, rows: number, cols: number): Matrix {
  const centres = Float32Array.from({ length: K * cols }, () => rng.normal());
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const c = rng.int(K);
    for (let j = 0; j < cols; j++) data[i * cols + j] = centres[c * cols + j]! + 0.3 * rng.normal();
  }
  return { data, rows, cols };
}

