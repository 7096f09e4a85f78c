// model.onnx runs on its own: a model directory is trained and saved here, then a SEPARATE node
// process runs examples/onnx-inference.mjs (plain JavaScript importing only onnxruntime-node) on
// model.onnx and a file of vectors, and its labels must be the library's predict. Python's side,
// without onnxruntime: onnx's checker and a NumPy evaluation of the graph (check_model_onnx.py).

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEC } from "../src/dec/index.js";
import { loadModel, saveModel, MODEL_FILES } from "../src/dec/model-dir.js";
import { readDataset } from "../src/io/dataset.js";
import { writeNpy } from "../src/io/index.js";
import onnxProto from "onnx-proto";

const { onnx } = onnxProto;

const root = new URL("..", import.meta.url).pathname;
const example = join(root, "examples", "onnx-inference.mjs");
const digits = await readDataset(new URL("./fixtures/digits.csv", import.meta.url).pathname);
const X = digits.X;
const dir = mkdtempSync(join(tmpdir(), "deepclust-onnx-process-"));
const modelDir = join(dir, "model");
const dec = await new DEC({
  k: 10,
  hidden: [32, 10],
  threads: 1,
  seed: 0,
  pretrain: { epochs: 5 },
  maxIter: 60,
  tol: 0,
}).fit(X);
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
  const outs = await Promise.all(
    shards.map((r) =>
      promisify(execFile)(process.execPath, [example, onnxFile, npy, "--rows", r, "--threads", "1"], { cwd: dir }),
    ),
  );
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
  out.probabilities!.forEach((p, i) =>
    p.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - q.data[i * 10 + j]!)))),
  );
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

// model.onnx checked in Python without onnxruntime (Debian has no python3-onnxruntime): onnx's
// checker and shape inference, and a NumPy evaluation of the graph from its own weights
// (test/helpers/check_model_onnx.py). Debian's python3-onnx and python3-numpy are required (CI
// installs them): without them this fails, it is not skipped.
const python = "/usr/bin/python3";
const checkScript = join(root, "test", "helpers", "check_model_onnx.py");

interface PythonCheck {
  how: string;
  inputs: { name: string; elem_type: string; shape: (string | number)[] }[];
  outputs: { name: string; elem_type: string; shape: (string | number)[] }[];
  inferred_outputs: PythonCheck["outputs"];
  probabilities: number[][];
  labels: number[];
  labels_dtype: string;
}

function pythonCheck(onnxPath: string, npy: string): PythonCheck {
  const r = spawnSync(python, [checkScript, onnxPath, npy], { encoding: "utf8", maxBuffer: 256 << 20 });
  if (r.error)
    assert.fail(`cannot run ${python} (${r.error.message}): install Debian's python3, python3-onnx and python3-numpy`);
  if (/No module named '(onnx|numpy)'/.test(r.stderr))
    assert.fail(`${python} lacks onnx or numpy: apt-get install python3-onnx python3-numpy\n${r.stderr}`);
  assert.equal(r.status, 0, `check_model_onnx.py exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as PythonCheck;
}

/** The NumPy evaluation agrees with the library: q to 1e-5, and the labels wherever q's top two are not tied to 1e-5. */
function assertSameAsLibrary(out: PythonCheck, q: { data: Float32Array; cols: number }, labels: number[]): void {
  const k = q.cols;
  assert.equal(out.probabilities.length, labels.length);
  let worst = 0;
  out.probabilities.forEach((p, i) => p.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - q.data[i * k + j]!)))));
  assert.ok(worst < 1e-5, `max |Δq| = ${worst}`);
  assert.equal(out.labels_dtype, "int64");
  out.labels.forEach((l, i) => {
    if (l === labels[i]) return;
    const row = q.data.subarray(i * k, (i + 1) * k);
    assert.ok(
      Math.abs(row[l]! - row[labels[i]!]!) < 1e-5,
      `row ${i}: NumPy's label ${l}, the library's ${labels[i]}, q ${Array.from(row).join(", ")}`,
    );
  });
}

test("model.onnx passes onnx's checker and shape inference, and a NumPy evaluation of its weights gives the library's q and labels", () => {
  const npy = join(dir, "x.npy");
  writeNpy(npy, X);
  const out = pythonCheck(onnxFile, npy);
  assert.deepEqual(out.inputs, [{ name: "embeddings", elem_type: "FLOAT", shape: ["N", 64] }]);
  const outputs = [
    { name: "probabilities", elem_type: "FLOAT", shape: ["N", 10] },
    { name: "labels", elem_type: "INT64", shape: ["N"] },
  ];
  assert.deepEqual(out.outputs, outputs);
  assert.deepEqual(out.inferred_outputs, outputs);
  assertSameAsLibrary(out, q, expected);
});

test("… also with alpha = 2 (the Student-t kernel as Pow) and another architecture", async () => {
  const n = 300;
  const Xs = { data: X.data.slice(0, n * X.cols), rows: n, cols: X.cols };
  const fitted = await new DEC({
    k: 4,
    hidden: [24, 16, 6],
    alpha: 2,
    threads: 1,
    seed: 1,
    pretrain: { epochs: 3 },
    maxIter: 20,
    tol: 0,
  }).fit(Xs);
  const d = join(dir, "alpha2");
  saveModel(d, fitted);
  const m = loadModel(d, { threads: 1 });
  const labels = Array.from(await m.predict(Xs));
  const qs = await m.predictProba(Xs);
  await m.release();
  const npy = join(dir, "xs.npy");
  writeNpy(npy, Xs);
  const out = pythonCheck(join(d, MODEL_FILES.onnx), npy);
  assert.deepEqual(out.outputs[0], { name: "probabilities", elem_type: "FLOAT", shape: ["N", 4] });
  assertSameAsLibrary(out, qs, labels);
});

test("the Python check fails on a broken model: an unknown input, a wrong output type, weights that do not fit", () => {
  const npy = join(dir, "x.npy");
  writeNpy(npy, X);
  const breakages: [string, (m: InstanceType<typeof onnx.ModelProto>) => void, RegExp][] = [
    [
      "unknown-input",
      (m) => (m.graph!.node![1]!.input![0] = "nope"),
      /^check_model_onnx: ValidationError: .*input 'nope'/,
    ],
    [
      "labels-float",
      (m) => (m.graph!.output![1]!.type!.tensorType!.elemType = onnx.TensorProto.DataType.FLOAT),
      /^check_model_onnx: InferenceError: .*\(INT64\) vs \(FLOAT\)/,
    ],
    [
      "weights-transposed", // [10, 32] → [32, 10]: the second Gemm's inner dimensions no longer match (onnx 1.12's Gemm inference does not look)
      (m) => {
        const w = m.graph!.initializer!.find((t) => t.name === "encoder.2.weight")!;
        w.dims = [...w.dims!].reverse();
      },
      /^check_model_onnx: the NumPy evaluation failed: ValueError: matmul/,
    ],
  ];
  for (const [name, breakIt, message] of breakages) {
    const model = onnx.ModelProto.decode(readFileSync(onnxFile));
    breakIt(model);
    const broken = join(dir, `${name}.onnx`);
    writeFileSync(broken, onnx.ModelProto.encode(model).finish());
    const r = spawnSync(python, [checkScript, broken, npy], { encoding: "utf8" });
    assert.equal(r.status, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, message, name);
  }
});
