// int8 inference: the quantized weights, the int8 graph against an independent float64 model of
// what it computes (onnxruntime's DynamicQuantizeMatMul semantics), agreement with float32 on a
// trained model, and the int8 ONNX export, the CLI's --precision and model.onnx staying standard.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import { DEC } from "../src/dec/index.js";
import { loadModel, saveModel, MODEL_FILES } from "../src/dec/model-dir.js";
import { readDataset } from "../src/io/dataset.js";
import { INT8_WEIGHT_MAX, quantizeWeight } from "../src/nn/index.js";
import { clusteringAccuracy } from "../src/cluster/index.js";
import { studentT64 } from "./helpers/reference64.js";

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const digitsFile = new URL("./fixtures/digits.csv", import.meta.url).pathname;
const digits = await readDataset(digitsFile);
const X = digits.X;
const y = digits.labels as number[];
const dir = mkdtempSync(join(tmpdir(), "deepclust-int8-"));
const modelDir = join(dir, "model");
const dec = await new DEC({
  k: 10,
  hidden: [32, 10],
  threads: 1,
  seed: 0,
  pretrain: { epochs: 20 },
  maxIter: 200,
  tol: 0,
}).fit(X);
saveModel(modelDir, dec);
test.after(() => rmSync(dir, { recursive: true, force: true }));

function argmaxRows(q: Float32Array | Float64Array, k: number): Int32Array {
  const out = new Int32Array(q.length / k);
  for (let i = 0; i < out.length; i++) for (let j = 1; j < k; j++) if (q[i * k + j]! > q[i * k + out[i]!]!) out[i] = j;
  return out;
}

test("quantizeWeight: per-output-column symmetric 7-bit values, transposed to [in, out]", () => {
  const w = Float32Array.from([0.5, -1, 0.25, /* row 1 */ 0, 0, 0, /* row 2 */ 3e-3, 1e-3, -2e-3]);
  const q = quantizeWeight(w, 3, 3);
  assert.deepEqual(Array.from(q.scale), [Math.fround(1 / INT8_WEIGHT_MAX), 1, Math.fround(3e-3 / INT8_WEIGHT_MAX)]);
  // column o of the int8 matrix is weight row o
  assert.deepEqual([q.data[0], q.data[3], q.data[6]], [32, -63, 16]);
  assert.deepEqual([q.data[1], q.data[4], q.data[7]], [0, 0, 0], "an all-zero row stays zero (scale 1)");
  assert.deepEqual([q.data[2], q.data[5], q.data[8]], [63, 21, -42]);
  for (let o = 0; o < 3; o++)
    for (let i = 0; i < 3; i++)
      assert.ok(Math.abs(q.data[i * 3 + o]! * q.scale[o]! - w[o * 3 + i]!) <= q.scale[o]! * 0.5001);
  assert.throws(() => quantizeWeight(Float32Array.from([1, NaN]), 1, 2), /not finite/);
  assert.throws(() => quantizeWeight(new Float32Array(5), 2, 3), /5 values/);
});

// What the int8 graph computes, in float64: per call, x is quantized to uint8 with one scale and
// zero point for the whole batch (ONNX DynamicQuantizeLinear); the integer product with the int8
// weights is exact; y = scale_x · scale_w[o] · Σ (x_q − zp) · w_q + bias.
function int8Reference(x: Float32Array, rows: number): Float64Array {
  const ae = dec.autoencoder;
  let h = Float64Array.from(x);
  let cols = ae.inputDim;
  const layers = ae.dims.length - 1;
  for (let l = 0; l < layers; l++) {
    const out = ae.dims[l + 1]!;
    const wName = ae.encoderParams.filter((p) => p.shape.length === 2)[l]!.name;
    const q = quantizeWeight(ae.params.value(wName), out, cols);
    const b = ae.params.value(wName.replace(/weight$/, "bias"));
    let lo = 0;
    let hi = 0;
    for (const v of h) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const sx = Math.fround((hi - lo) / 255);
    const zp = Math.min(255, Math.max(0, roundEven(-lo / sx)));
    const xq = h.map((v) => Math.min(255, Math.max(0, roundEven(v / sx) + zp)) - zp);
    const next = new Float64Array(rows * out);
    for (let i = 0; i < rows; i++)
      for (let o = 0; o < out; o++) {
        let acc = 0;
        for (let c = 0; c < cols; c++) acc += xq[i * cols + c]! * q.data[c * out + o]!;
        const v = acc * sx * q.scale[o]! + b[o]!;
        next[i * out + o] = l < layers - 1 ? Math.max(0, v) : v;
      }
    h = next;
    cols = out;
  }
  return studentT64(h, Float64Array.from(dec.centers), rows, 10, cols, 1);
}

function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

test("the int8 graph computes the quantized model (checked in float64, batch by batch)", async () => {
  const model = loadModel(modelDir, { threads: 1, precision: "int8" });
  assert.equal(model.precision, "int8");
  const batch = 512;
  const q = await model.predictProba(X, batch);
  await model.release();
  let worst = 0;
  let mismatched = 0;
  for (let start = 0; start < X.rows; start += batch) {
    const n = Math.min(batch, X.rows - start);
    const ref = int8Reference(X.data.subarray(start * X.cols, (start + n) * X.cols), n);
    for (let i = 0; i < n * 10; i++) worst = Math.max(worst, Math.abs(ref[i]! - q.data[start * 10 + i]!));
    const a = argmaxRows(ref, 10);
    const b = argmaxRows(q.data.subarray(start * 10, (start + n) * 10), 10);
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) mismatched++;
  }
  // float32 arithmetic is the only difference (measured: 6e-7, no label differs)
  assert.ok(worst < 1e-5, `max |q − reference| = ${worst}`);
  assert.ok(mismatched <= 1, `${mismatched} labels differ from the float64 model of the int8 graph`);
});

test("int8 agrees with float32 on a trained model: labels and ACC", async () => {
  const fp32 = loadModel(modelDir, { threads: 1 });
  const int8 = loadModel(modelDir, { threads: 1, precision: "int8" });
  const [qa, qb] = [await fp32.predictProba(X), await int8.predictProba(X)];
  await Promise.all([fp32.release(), int8.release()]);
  let maxDiff = 0;
  for (let i = 0; i < qa.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(qa.data[i]! - qb.data[i]!));
  const [la, lb] = [argmaxRows(qa.data, 10), argmaxRows(qb.data, 10)];
  let agree = 0;
  for (let i = 0; i < la.length; i++) if (la[i] === lb[i]) agree++;
  assert.ok(maxDiff > 0, "int8 really is a different computation");
  assert.ok(maxDiff < 0.1, `max |Δq| ${maxDiff}`);
  assert.ok(agree / la.length >= 0.97, `labels agree on ${agree} of ${la.length} rows`);
  const [accA, accB] = [clusteringAccuracy(y, la).accuracy, clusteringAccuracy(y, lb).accuracy];
  assert.ok(Math.abs(accA - accB) <= 0.02, `ACC ${accA} (fp32) vs ${accB} (int8)`);
});

const { onnx } = onnxProto;
const domainsOf = (bytes: Uint8Array) => onnx.ModelProto.decode(bytes).opsetImport.map((o) => o.domain ?? "");

test("export --precision int8 writes an ONNX file that onnxruntime runs to the library's int8 q", async () => {
  const file = join(dir, "model.int8.onnx");
  const r = spawnSync(process.execPath, [cli, "export", modelDir, "--precision", "int8", "--onnx", file, "--json"], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).precision, "int8");
  const bytes = readFileSync(file);
  assert.deepEqual(domainsOf(bytes).sort(), ["", "com.microsoft"]);
  assert.deepEqual(domainsOf(readFileSync(join(modelDir, MODEL_FILES.onnx))), [""], "model.onnx stays standard ONNX");
  const fp32Bytes = readFileSync(join(modelDir, MODEL_FILES.onnx));
  assert.ok(bytes.length < fp32Bytes.length / 2, `int8 file ${bytes.length} B vs float32 ${fp32Bytes.length} B`);

  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const out = await session.run({ embeddings: new ort.Tensor("float32", X.data, [X.rows, X.cols]) });
  await session.release();
  const model = loadModel(modelDir, { threads: 1, precision: "int8" });
  const q = await model.predictProba(X, X.rows); // one batch: the same input quantization as the single call above
  await model.release();
  assert.deepEqual(out.probabilities!.data, q.data);
  assert.deepEqual(Array.from(out.labels!.data as BigInt64Array, Number), Array.from(argmaxRows(q.data, 10)));
});

test("predict and evaluate --precision int8 through the CLI", () => {
  const out = join(dir, "int8.csv");
  const p = spawnSync(
    process.execPath,
    [cli, "predict", modelDir, digitsFile, "--precision", "int8", "--out", out, "--json", "--threads", "1"],
    { encoding: "utf8" },
  );
  assert.equal(p.status, 0, p.stderr);
  const summary = JSON.parse(p.stdout);
  assert.equal(summary.precision, "int8");
  assert.equal(summary.rows, X.rows);
  const e = spawnSync(
    process.execPath,
    [cli, "evaluate", modelDir, digitsFile, "--precision", "int8", "--json", "--threads", "1"],
    { encoding: "utf8" },
  );
  assert.equal(e.status, 0, e.stderr);
  assert.ok(JSON.parse(e.stdout).acc > 0.5);
  const bad = spawnSync(process.execPath, [cli, "predict", modelDir, digitsFile, "--precision", "int4", "--out", out], {
    encoding: "utf8",
  });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--precision/);
});
