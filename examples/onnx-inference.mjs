#!/usr/bin/env node
// Runs a deepclust model.onnx with nothing but onnxruntime-node: no deepclust import.
//
//   node examples/onnx-inference.mjs <model.onnx> <vectors.npy | vectors.json> [--batch 4096] [--threads 0]
//        [--rows START:END] [--proba]
//
// model.onnx (written by `deepclust train` / `deepclust export` into the model directory) has one
// input, `embeddings` [N, d] float32, and two outputs, `probabilities` [N, k] (the soft
// assignment q) and `labels` [N] int64 (argmax q). The weights are inside the file.
//
// Vectors: a 2-D float32 .npy (little-endian, C order), read a batch of rows at a time from its
// file offset, so memory does not grow with the file; or a JSON array of arrays of numbers.
// Prints {"labels": [...]} (with --proba also "probabilities": [[...], ...]) on stdout.
//
// Every row is assigned independently, so a large file can be split into row ranges and each
// range run by its own process or machine: --rows START:END assigns only those rows of the file
// (END exclusive, as in a Python slice), and the shards' outputs, concatenated in order, are the
// whole file's (see docs/model-onnx.md).

import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import ort from "onnxruntime-node";

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const [, value] = args.splice(i, 2);
  return value;
};
const batch = Number(flag("--batch", "4096"));
const threads = Number(flag("--threads", "0"));
const range = flag("--rows", "0:")
  .split(":")
  .map((v) => (v === "" ? Infinity : Number(v)));
const proba = args.includes("--proba") ? (args.splice(args.indexOf("--proba"), 1), true) : false;
const [modelFile, vectorsFile] = args;
if (
  !modelFile ||
  !vectorsFile ||
  !(Number.isInteger(batch) && batch > 0) ||
  !(Number.isInteger(threads) && threads >= 0) ||
  range.length !== 2 ||
  !(range[0] >= 0 && range[1] >= range[0])
) {
  console.error(
    "usage: node examples/onnx-inference.mjs <model.onnx> <vectors.npy|vectors.json> [--batch N] [--threads N] [--rows START:END] [--proba]",
  );
  process.exit(2);
}

/** Yields [rows, cols, Float32Array] batches of the vectors file. */
function* batches(file) {
  if (file.endsWith(".json")) {
    const rows = JSON.parse(readFileSync(file, "utf8")).slice(range[0], range[1]);
    const cols = rows[0]?.length ?? 0;
    for (let s = 0; s < rows.length; s += batch) {
      const part = rows.slice(s, s + batch);
      const data = new Float32Array(part.length * cols);
      part.forEach((r, i) => data.set(r, i * cols));
      yield [part.length, cols, data];
    }
    return;
  }
  // .npy: magic, version, header length, a Python dict literal header, then the raw array.
  const fd = openSync(file, "r");
  try {
    const pre = Buffer.alloc(12);
    readSync(fd, pre, 0, 12, 0);
    if (pre.toString("latin1", 0, 6) !== "\x93NUMPY") throw new Error(`${file}: not a .npy file`);
    const v1 = pre[6] === 1;
    const headerLen = v1 ? pre.readUInt16LE(8) : pre.readUInt32LE(8);
    const offset = (v1 ? 10 : 12) + headerLen;
    const header = Buffer.alloc(headerLen);
    readSync(fd, header, 0, headerLen, v1 ? 10 : 12);
    const h = header.toString("latin1");
    if (!/'descr':\s*'<f4'/.test(h) || /'fortran_order':\s*True/.test(h))
      throw new Error(`${file}: needs a little-endian float32 C-order array (${h.trim()})`);
    const shape = /'shape':\s*\((\d+),\s*(\d+)\)/.exec(h);
    if (!shape) throw new Error(`${file}: needs a 2-D array (${h.trim()})`);
    const cols = Number(shape[2]);
    const end = Math.min(Number(shape[1]), range[1]);
    for (let s = range[0]; s < end; s += batch) {
      const n = Math.min(batch, end - s);
      const data = new Float32Array(n * cols);
      const bytes = new Uint8Array(data.buffer);
      const got = readSync(fd, bytes, 0, bytes.length, offset + s * cols * 4);
      if (got !== bytes.length) throw new Error(`${file}: truncated at row ${s}`);
      yield [n, cols, data];
    }
  } finally {
    closeSync(fd);
  }
}

const session = await ort.InferenceSession.create(modelFile, {
  intraOpNumThreads: threads,
  graphOptimizationLevel: "all",
});
const labels = [];
const probabilities = [];
for (const [n, cols, data] of batches(vectorsFile)) {
  const out = await session.run({ embeddings: new ort.Tensor("float32", data, [n, cols]) });
  for (const l of out.labels.data) labels.push(Number(l)); // int64 → BigInt → number
  if (proba) {
    const k = out.probabilities.dims[1];
    for (let i = 0; i < n; i++) probabilities.push(Array.from(out.probabilities.data.subarray(i * k, (i + 1) * k)));
  }
}
await session.release();
process.stdout.write(JSON.stringify(proba ? { labels, probabilities } : { labels }) + "\n");
