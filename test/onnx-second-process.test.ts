// model.onnx runs on its own: a model directory is trained and saved here, then a SEPARATE node
// process runs examples/onnx-inference.mjs (plain JavaScript importing only onnxruntime-node) on
// model.onnx and a file of vectors, and its labels must be the library's predict. The same for
// Python's onnxruntime with the README's snippet, when /usr/bin/python3 has it (not required).

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEC } from "../src/dec/index.js";
import { loadModel, saveModel, MODEL_FILES } from "../src/dec/model-dir.js";
import { readDataset } from "../src/io/dataset.js";
import { writeNpy } from "../src/io/index.js";

const root = new URL("..", import.meta.url).pathname;
const example = join(root, "examples", "onnx-inference.mjs");
const digits = await readDataset(new URL("./fixtures/digits.csv", import.meta.url).pathname);
const X = digits.X;
const dir = mkdtempSync(join(tmpdir(), "deepclust-onnx-process-"));
const modelDir = join(dir, "model");
const dec = await new DEC({ k: 10, hidden: [32, 10], threads: 1, seed: 0, pretrain: { epochs: 5 }, maxIter: 60, tol: 0 }).fit(X);
saveModel(modelDir, dec);
const onnxFile = join(modelDir, MODEL_FILES.onnx);
const model = loadModel(modelDir, { threads: 1 });
const expected = Array.from(await model.predict(X));
const q = await model.predictProba(X);
await model.release();

test.after(() => rmSync(dir, { recursive: true, force: true }));

function runExample(...args: string[]): { labels: number[]; probabilities?: number[][] } {
  // A plain `node`, no tsx loader, from another working directory: only model.onnx and the vectors.
  const r = spawnSync(process.execPath, [example, ...args], { cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 0, `onnx-inference.mjs exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { labels: number[]; probabilities?: number[][] };
}

test("a separate node process running model.onnx with onnxruntime-node alone gives the library's labels (.npy, several batches)", () => {
  assert.ok(new Set(expected).size > 1, "the model uses more than one cluster");
  const npy = join(dir, "x.npy");
  writeNpy(npy, X);
  // 1,797 rows in batches of 500: four session runs, the last one partial.
  const out = runExample(onnxFile, npy, "--batch", "500", "--threads", "1");
  assert.deepEqual(out.labels, expected);
  assert.equal(out.probabilities, undefined);
});

test("shards of the rows, run by concurrent processes, concatenate to the whole file's labels", async () => {
  const npy = join(dir, "x.npy");
  writeNpy(npy, X);
  const shards = ["0:600", "600:1200", "1200:"];
  const outs = await Promise.all(shards.map((r) => promisify(execFile)(process.execPath, [example, onnxFile, npy, "--rows", r, "--threads", "1"], { cwd: dir })));
  const labels = outs.flatMap((o) => (JSON.parse(o.stdout) as { labels: number[] }).labels);
  assert.deepEqual(labels, expected);
});

test("… and from JSON vectors, with the probabilities of predictProba", () => {
  const n = 40;
  const rows = Array.from({ length: n }, (_, i) => Array.from(X.data.subarray(i * X.cols, (i + 1) * X.cols)));
  const json = join(dir, "x.json");
  writeFileSync(json, JSON.stringify(rows));
  const out = runExample(onnxFile, json, "--proba", "--threads", "1");
  assert.deepEqual(out.labels, expected.slice(0, n));
  assert.equal(out.probabilities!.length, n);
  let worst = 0;
  out.probabilities!.forEach((p, i) => p.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - q.data[i * 10 + j]!)))));
  assert.ok(worst < 1e-5, `max |Δq| = ${worst}`);
});

test("the example rejects a bad invocation and a file it cannot read", () => {
  const usage = spawnSync(process.execPath, [example, onnxFile], { encoding: "utf8" });
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /usage: node examples\/onnx-inference\.mjs/);
  const f64 = join(dir, "f64.npy");
  const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 64), }";
  const pad = " ".repeat((64 - ((10 + header.length + 1) % 64)) % 64);
  const pre = Buffer.from([0x93, ...Buffer.from("NUMPY", "latin1"), 1, 0, 0, 0]);
  pre.writeUInt16LE(header.length + pad.length + 1, 8);
  writeFileSync(f64, Buffer.concat([pre, Buffer.from(header + pad + "\n", "latin1"), Buffer.alloc(64 * 8)]));
  const bad = spawnSync(process.execPath, [example, onnxFile, f64], { encoding: "utf8" });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /needs a little-endian float32 C-order array/);
});

// The README's Python snippet, when Python's onnxruntime is installed (it is not a requirement).
const python = "/usr/bin/python3";
const hasPythonOrt = spawnSync(python, ["-c", "import onnxruntime, numpy"], { encoding: "utf8" }).status === 0;
test("Python's onnxruntime runs model.onnx to the same labels", { skip: hasPythonOrt ? false : "python3 has no onnxruntime" }, () => {
  const npy = join(dir, "x.npy");
  writeNpy(npy, X);
  const script = [
    "import json, sys, numpy as np, onnxruntime as ort",
    "so = ort.SessionOptions()",
    "so.intra_op_num_threads = 1",
    "sess = ort.InferenceSession(sys.argv[1], so, providers=['CPUExecutionProvider'])",
    "X = np.load(sys.argv[2], mmap_mode='r')",
    "out = []",
    "for s in range(0, len(X), 500):",
    "    q, labels = sess.run(['probabilities', 'labels'], {'embeddings': np.ascontiguousarray(X[s:s + 500], dtype=np.float32)})",
    "    out += labels.tolist()",
    "print(json.dumps(out))",
  ].join("\n");
  const r = spawnSync(python, ["-c", script, onnxFile, npy], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), expected);
});
