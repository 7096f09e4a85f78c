// Streaming benchmark of `deepclust predict`: writes a large float32 .npy (1,000,000 × 768 by
// default: 2.9 GiB) and optionally a CSV in the reference format to a temporary directory, builds a
// model directory with the reference architecture 768 → 256 → 32, k = 10 and random weights, runs
// the built CLI (`dist/`, so `npm run build` first) as a child process with --json, and reports
// rows/s and the child's peak resident memory (maximum RSS). The files are deleted afterwards.
//
//   node --import tsx bench/predict-stream.ts [--rows 1000000] [--csv-rows 0] [--dims 768]
//        [--threads 0] [--proba] [--keep] [--json]
//
// The weights are random (PyTorch's default init, centres at the codes of random points): the
// numbers measure the data path and the assignment, not clustering quality. The data repeats a
// pool of random rows (the values do not change the work).

import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Autoencoder, CENTERS, Rng, modelConfig, writeModelDir, type Matrix } from "../src/index.js";
import { runCliJson, writeRepeatedNpy } from "./generated-data.js";

const HIDDEN = [256, 32];
const K = 10;
const POOL_ROWS = 4096;

const { values: a } = parseArgs({
  options: {
    rows: { type: "string", default: "1000000" },
    "csv-rows": { type: "string", default: "0" },
    dims: { type: "string", default: "768" },
    threads: { type: "string", default: "0" },
    proba: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});

interface PredictSummary {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  peakRssMb: number;
}

interface Result {
  format: "npy" | "csv";
  rows: number;
  inputMb: number;
  /** The rows as one float32 matrix: what loading the file whole would hold at the least. */
  matrixMb: number;
  writeSeconds: number;
  seconds: number;
  rowsPerSecond: number;
  peakRssMb: number;
}

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const log = (line: string) => (a.json ? process.stderr : process.stdout).write(line + "\n");

await main();

async function main(): Promise<void> {
  if (!existsSync(cli)) throw new Error(`${cli} not found: run \`npm run build\` first`);
  const rows = Number(a.rows);
  const csvRows = Number(a["csv-rows"]);
  const d = Number(a.dims);
  if (!(
    Number.isInteger(rows) &&
    rows >= 0 &&
    Number.isInteger(csvRows) &&
    csvRows >= 0 &&
    Number.isInteger(d) &&
    d >= 1
  ))
    throw new Error("--rows, --csv-rows and --dims must be integers");

  const rng = new Rng(0);
  const pool = randomMatrix(rng, POOL_ROWS, d);
  const dir = mkdtempSync(join(tmpdir(), "deepclust-predict-stream-"));
  const results: Result[] = [];
  try {
    const modelDir = join(dir, "model");
    const ae = new Autoencoder({ dims: [d, ...HIDDEN] }, rng, { threads: 1 });
    const centres = await ae.encode(randomMatrix(rng, K, d));
    ae.params.define(CENTERS, [K, HIDDEN.at(-1)!], centres.data);
    writeModelDir(
      modelDir,
      ae,
      modelConfig(ae, { k: K, alpha: 1, method: "dec", data: { note: "random weights (predict-stream benchmark)" } }),
      null,
    );
    log(
      `deepclust predict streaming: model ${[d, ...HIDDEN].join("→")}, k = ${K} (random weights), threads ${a.threads === "0" ? `0 (one per core; ${cpus().length} CPUs)` : a.threads}${a.proba ? ", --proba" : ""}`,
    );

    if (rows > 0) {
      const file = join(dir, "data.npy");
      const t0 = performance.now();
      writeRepeatedNpy(file, rows, pool);
      results.push(await measure("npy", file, rows, d, modelDir, (performance.now() - t0) / 1000));
      rmSync(file, { force: true });
    }
    if (csvRows > 0) {
      const file = join(dir, "data.csv");
      const t0 = performance.now();
      writeCsvBlocks(file, csvRows, pool);
      results.push(await measure("csv", file, csvRows, d, modelDir, (performance.now() - t0) / 1000));
      rmSync(file, { force: true });
    }
  } finally {
    if (a.keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  if (a.json)
    console.log(
      JSON.stringify({
        dims: [d, ...HIDDEN],
        k: K,
        weights: "random",
        threads: Number(a.threads),
        cpus: cpus().length,
        proba: a.proba,
        results,
      }),
    );
}

async function measure(
  format: Result["format"],
  file: string,
  rows: number,
  d: number,
  modelDir: string,
  writeSeconds: number,
): Promise<Result> {
  const inputMb = statSync(file).size / 2 ** 20;
  const matrixMb = (rows * d * 4) / 2 ** 20;
  log(
    `${format}: ${rows} rows, ${inputMb.toFixed(0)} MiB on disk (${matrixMb.toFixed(0)} MiB as a float32 matrix), written in ${writeSeconds.toFixed(1)} s; predicting…`,
  );
  const out = join(file, "..", `predictions-${format}.csv`);
  const args = [
    "predict",
    modelDir,
    file,
    "--out",
    out,
    "--json",
    "--threads",
    a.threads!,
    ...(a.proba ? ["--proba"] : []),
  ];
  const s = await runCliJson<PredictSummary>(cli, args);
  if (s.rows !== rows) throw new Error(`predict assigned ${s.rows} rows, expected ${rows}`);
  rmSync(out, { force: true });
  const r: Result = {
    format,
    rows,
    inputMb,
    matrixMb,
    writeSeconds,
    seconds: s.seconds,
    rowsPerSecond: s.rowsPerSecond,
    peakRssMb: s.peakRssMb,
  };
  log(`${format}: ${Math.round(r.rowsPerSecond)} rows/s (${r.seconds.toFixed(1)} s), peak RSS ${r.peakRssMb} MiB`);
  return r;
}

function randomMatrix(rng: Rng, rows: number, cols: number): Matrix {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return { data, rows, cols };
}

/** The reference CSV (id, embeddings as a JSON array with 6 significant digits, labels), a block at a time. */
function writeCsvBlocks(file: string, rows: number, pool: Matrix): void {
  const texts = Array.from(
    { length: Math.min(pool.rows, rows) },
    (_, i) =>
      `"[${Array.from(pool.data.subarray(i * pool.cols, (i + 1) * pool.cols), (v) => Number(v.toPrecision(6))).join(",")}]"`,
  );
  const fd = openSync(file, "w");
  try {
    writeSync(fd, "id,embeddings,labels\n");
    for (let r = 0; r < rows; r += 1000) {
      let block = "";
      for (let i = r; i < Math.min(rows, r + 1000); i++) block += `${i},${texts[i % texts.length]},${i % K}\n`;
      writeSync(fd, block);
    }
  } finally {
    closeSync(fd);
  }
}
