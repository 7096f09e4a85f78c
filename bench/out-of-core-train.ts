// Training larger than memory (issue 5): writes an N × 768 float32 file — a .npy (--format npy,
// the default; 10,000,000 rows = 28.6 GiB) or a Parquet file (--format parquet: an `embeddings`
// column of list<float>, PLAIN, Snappy, row groups of --row-group-rows; 3,077 bytes a row, 28.7 GiB)
// — to a temporary directory (the free disk is checked first), runs the built CLI (`dist/`, so
// `npm run build` first) as a child process —
//   deepclust train big.npy|big.parquet -k 10 --dims 256,32 --pretrain-epochs 1 --max-iter 300
//     --update-interval 100 --tol 0 --n-init 1 --memory-budget <MB> --no-report --json
// — so the file, larger than --memory-budget, trains out of core (rows read from disk in
// block-shuffled passes: blocks of 65,536 rows for a .npy, a row group for Parquet, decoded a row
// group at a time), and reports the file's size and write time, each stage's throughput in rows/s
// and the child's peak resident memory. The file is deleted afterwards (unless --keep).
//
//   node --import tsx bench/out-of-core-train.ts [--format npy|parquet] [--rows 10000000]
//        [--dims 768] [--row-group-rows 65536] [--budget-mb 1024] [--max-iter 300]
//        [--update-interval 100] [--threads 0] [--in-memory] [--keep] [--json]
//
// The runs:
//   node --import tsx bench/out-of-core-train.ts                    # .npy, 10M rows
//   node --import tsx bench/out-of-core-train.ts --format parquet   # Parquet, 10M rows, row groups of 65,536
//   node --import tsx bench/out-of-core-train.ts --format parquet --rows 20000 --budget-mb 16 --max-iter 20   # a quick check
//
// --row-group-rows (Parquet only): rows per row group, which is also the training's shuffle block.
// Writing holds one row group as JS arrays (hyparquet-writer): under 2 GB of heap at 65,536 × 768
// (peak RSS up to 3.8 GB with Node's default heap limit); it takes about 3 minutes of CPU per
// million rows (half an hour for 10M), where the .npy is written at disk speed.
//
// --in-memory: the same run with the file loaded whole (a budget above its size), for comparison
// on a size that fits.
//
// The data: 4,096 rows drawn around 10 random centres, repeated (the values do not change the
// work; the Parquet writer is told not to use a dictionary, which the repeats would allow). The
// numbers measure the data path and the compute, not clustering quality. Note that a file smaller
// than the machine's RAM ends up in the OS page cache after it is written, so reads come from
// memory; the process itself still holds only what out-of-core training keeps (peak RSS).

import { existsSync, mkdtempSync, rmSync, statSync, statfsSync } from "node:fs";
import { cpus, freemem, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Rng, type Matrix } from "../src/index.js";
import { runCliJson, writeRepeatedNpy, writeRepeatedParquet } from "./generated-data.js";

const HIDDEN = [256, 32];
const K = 10;
const POOL_ROWS = 4096;
const BATCH = 256;
/** The Parquet file's bytes per row are measured on a file of this many rows (in row groups of at most half of it), before the big one is written. */
const PROBE_ROWS = 2048;

const { values: a } = parseArgs({
  options: {
    format: { type: "string", default: "npy" },
    rows: { type: "string", default: "10000000" },
    dims: { type: "string", default: "768" },
    "row-group-rows": { type: "string", default: "65536" },
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
  options: { shuffleBlock?: number };
  dec: { iterations: number };
  warnings: { iteration: number; message: string }[];
  timings: { pretrainSeconds: number; kmeansSeconds: number; clusteringSeconds: number; totalSeconds: number };
  peakRssMb: number;
}

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const log = (line: string) => (a.json ? process.stderr : process.stdout).write(line + "\n");

await main();

async function main(): Promise<void> {
  if (!existsSync(cli)) throw new Error(`${cli} not found: run \`npm run build\` first`);
  const format = a.format!;
  if (format !== "npy" && format !== "parquet") throw new Error(`--format must be npy or parquet, got ${format}`);
  const rows = Number(a.rows);
  const d = Number(a.dims);
  const rowGroupRows = Number(a["row-group-rows"]);
  const budgetMb = Number(a["budget-mb"]);
  const maxIter = Number(a["max-iter"]);
  const T = Number(a["update-interval"]);
  if (![rows, d, rowGroupRows, budgetMb, maxIter, T].every((v) => Number.isInteger(v) && v >= 1))
    throw new Error(
      "--rows, --dims, --row-group-rows, --budget-mb, --max-iter and --update-interval must be positive integers",
    );

  const dir = mkdtempSync(join(tmpdir(), "deepclust-ooc-train-"));
  const file = join(dir, `big.${format}`);
  try {
    const pool = clusteredPool(new Rng(0), POOL_ROWS, d);
    // The file's size: a .npy's is exact; a Parquet file's bytes per row are measured on a small one.
    let bytes = rows * d * 4 + 128;
    if (format === "parquet") {
      const probe = join(dir, "probe.parquet");
      const probeRows = Math.min(rows, PROBE_ROWS);
      await writeRepeatedParquet(probe, probeRows, pool, Math.min(rowGroupRows, Math.ceil(probeRows / 2)));
      bytes = Math.ceil((statSync(probe).size / probeRows) * rows);
      rmSync(probe);
    }
    const fs = statfsSync(dir);
    const free = fs.bavail * fs.bsize;
    const margin = 1 << 30;
    if (free < bytes + margin) {
      throw new Error(
        `not enough disk in ${tmpdir()}: the ${rows} × ${d} ${format} file needs ${gib(bytes)} GiB (+1 GiB margin), ${gib(free)} GiB are free; use a smaller --rows or set TMPDIR to a larger disk`,
      );
    }
    const layout =
      format === "parquet" ? `Parquet, list<float>, row groups of ${Math.min(rowGroupRows, rows)} rows` : ".npy";
    log(
      `out-of-core train: ${rows} × ${d} float32 as ${layout} (${size(bytes)}${format === "parquet" ? ", estimated" : ""}) in ${dir}; machine ${gib(totalmem())} GiB RAM (${gib(freemem())} free), ${cpus().length} CPUs; --memory-budget ${budgetMb} MB`,
    );
    let t0 = performance.now();
    if (format === "parquet") await writeRepeatedParquet(file, rows, pool, rowGroupRows);
    else writeRepeatedNpy(file, rows, pool);
    const writeSeconds = (performance.now() - t0) / 1000;
    const fileBytes = statSync(file).size;
    log(
      `wrote ${size(fileBytes)} (${(fileBytes / rows).toFixed(1)} bytes a row) in ${writeSeconds.toFixed(1)} s (${rate(rows / writeSeconds)} rows/s); training…`,
    );
    const args = [
      "train",
      file,
      "-k",
      String(K),
      "--dims",
      HIDDEN.join(","),
      "--pretrain-epochs",
      "1",
      "--max-iter",
      String(maxIter),
      "--update-interval",
      String(T),
      "--tol",
      "0",
      "--n-init",
      "1",
      "--memory-budget",
      String(a["in-memory"] ? Math.ceil(fileBytes / 2 ** 20) + 1 : budgetMb),
      "--threads",
      a.threads!,
      "--no-report",
      "--json",
      "--out",
      join(dir, "model"),
    ];
    log(`deepclust ${args.join(" ")}`);
    t0 = performance.now();
    const s = await runCliJson<TrainSummary>(cli, args);
    const wallSeconds = (performance.now() - t0) / 1000;
    if (s.outOfCore === a["in-memory"])
      throw new Error(`the run ${s.outOfCore ? "trained" : "did not train"} out of core`);
    const passes = Math.floor(s.dec.iterations / T) + 2; // target updates at 0, T, 2T, …, and the final labels
    const t = s.timings;
    const result = {
      format,
      rows,
      outOfCore: s.outOfCore,
      dims: [d, ...HIDDEN],
      k: K,
      rowGroupRows: format === "parquet" ? Math.min(rowGroupRows, rows) : null,
      shuffleBlock: s.options.shuffleBlock ?? null,
      fileBytes,
      fileGiB: Number(gib(fileBytes)),
      bytesPerRow: fileBytes / rows,
      budgetMb,
      writeSeconds,
      writeRowsPerSecond: rows / writeSeconds,
      wallSeconds,
      pretrain: { seconds: t.pretrainSeconds, rowsPerSecond: rows / t.pretrainSeconds },
      codeAndKmeans: { seconds: t.kmeansSeconds, rowsPerSecond: rows / t.kmeansSeconds },
      clustering: {
        seconds: t.clusteringSeconds,
        iterations: s.dec.iterations,
        fullPasses: passes,
        rowsPerSecond: (s.dec.iterations * BATCH + passes * rows) / t.clusteringSeconds,
      },
      peakRssMb: s.peakRssMb,
      cpus: cpus().length,
      threads: Number(a.threads),
    };
    const how = s.outOfCore ? `out of core, shuffle blocks of ${result.shuffleBlock ?? "—"} rows` : "in memory";
    log(`[${format}] trained ${how}`);
    log(
      `[${format}] pretraining (1 epoch): ${rate(result.pretrain.rowsPerSecond)} rows/s (${t.pretrainSeconds.toFixed(1)} s)`,
    );
    log(
      `[${format}] code + k-means: ${rate(result.codeAndKmeans.rowsPerSecond)} rows/s (${t.kmeansSeconds.toFixed(1)} s)`,
    );
    log(
      `[${format}] DEC: ${s.dec.iterations} iterations of ${BATCH} + ${passes} full passes (target updates, final labels): ${rate(result.clustering.rowsPerSecond)} rows/s (${t.clusteringSeconds.toFixed(1)} s)`,
    );
    log(
      `[${format}] total ${t.totalSeconds.toFixed(1)} s (wall ${wallSeconds.toFixed(1)} s), peak RSS ${s.peakRssMb} MiB for a ${size(fileBytes)} file`,
    );
    for (const w of s.warnings) log(`[${format}] warning (iteration ${w.iteration}): ${w.message}`);
    if (a.json) console.log(JSON.stringify(result));
  } finally {
    if (a.keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

function gib(n: number): string {
  return (n / 2 ** 30).toFixed(1);
}

/** A size for the log: MiB below 1 GiB, else GiB. */
function size(n: number): string {
  return n < 2 ** 30 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${gib(n)} GiB`;
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
