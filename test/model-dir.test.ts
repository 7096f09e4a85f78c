// The model directory: a DEC saved and loaded predicts identically, model.safetensors holds the
// reference's tensor names and layouts, and model.onnx run directly by onnxruntime-node gives
// the library's labels.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createHash } from "node:crypto";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { DEC } from "../src/dec/index.js";
import { NonFiniteValueError } from "../src/engine/index.js";
import { loadModel, saveModel, MODEL_FILES } from "../src/dec/model-dir.js";
import { writeDirAtomically } from "../src/io/index.js";
import { readDataset } from "../src/io/dataset.js";
import { readSafetensors, writeSafetensors, InputError } from "../src/io/index.js";

const digits = await readDataset(new URL("./fixtures/digits.csv", import.meta.url).pathname);
const X = digits.X;
const y = digits.labels as number[];
const dir = mkdtempSync(join(tmpdir(), "deepclust-model-"));
const config = { k: 10, hidden: [32, 10], threads: 1, seed: 0, pretrain: { epochs: 5 }, maxIter: 60, tol: 0 };
const dec = await new DEC(config).fit(X, { labels: y });
const modelDir = join(dir, "model");
saveModel(modelDir, dec, { labels: y, data: { rows: X.rows } });

test("a saved and reloaded model predicts identically", async () => {
  assert.deepEqual(readdirSync(modelDir).sort(), Object.values(MODEL_FILES).sort());
  const model = loadModel(modelDir, { threads: 1 });
  assert.equal(model.k, 10);
  assert.equal(model.inputDim, 64);
  assert.deepEqual(model.centers, dec.centers);
  const [q0, q1] = [await dec.predictProba(X), await model.predictProba(X)];
  assert.deepEqual(q1.data, q0.data, "same probabilities, bit for bit");
  assert.deepEqual(await model.predict(X), await dec.predict(X));
  assert.deepEqual(await model.predict(X), dec.labels, "the training labels");
  assert.deepEqual((await model.transform(X)).data, (await dec.transform(X)).data);
  await model.release();
});

test("a loaded model (both precisions) and a fitted DEC reject NaN/±Inf in their input, naming the row and column", async () => {
  const nan = { data: X.data.slice(), rows: X.rows, cols: X.cols };
  nan.data[5 * X.cols + 2] = NaN;
  await assert.rejects(
    dec.predictProba(nan),
    (e: unknown) => e instanceof NonFiniteValueError && e.row === 5 && e.col === 2,
  );
  for (const precision of ["fp32", "int8"] as const) {
    const model = loadModel(modelDir, { threads: 1, precision });
    for (const [row, col, value] of [
      [1500, 7, NaN],
      [3, 63, Infinity],
      [1024, 0, -Infinity],
    ] as const) {
      const bad = { data: X.data.slice(), rows: X.rows, cols: X.cols };
      bad.data[row * X.cols + col] = value;
      // batches of 1024: the bad value is in the second batch, the first, and the second's first row
      await assert.rejects(model.predictProba(bad), (e: unknown) => {
        assert.ok(e instanceof NonFiniteValueError, `${precision}: ${String(e)}`);
        assert.deepEqual([e.row, e.col, e.value], [row, col, value]);
        assert.equal(e.message, `row ${row + 1}, dimension ${col + 1}: value ${value} is not finite`);
        return true;
      });
    }
    // Finite values whose sum overflows float32 are valid input: the sum only flags the batch for a scan.
    const huge = { data: X.data.slice(), rows: X.rows, cols: X.cols };
    huge.data.fill(3e38, 0, 8);
    const q = await model.predictProba(huge);
    assert.equal(q.rows, X.rows);
    assert.ok(q.data.subarray(q.cols).every(Number.isFinite));
    await model.release();
  }
});

test("config.json and metrics.json describe the model and its training", () => {
  const c = JSON.parse(readFileSync(join(modelDir, MODEL_FILES.config), "utf8"));
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  assert.equal(c.format, "deepclust-model");
  assert.equal(c.deepclustVersion, pkg.version);
  assert.deepEqual(
    [c.inputDim, c.dims, c.k, c.alpha, c.method, c.normalizeCode],
    [64, [64, 32, 10], 10, 1, "dec", false],
  );
  assert.equal(c.training.pretrain.epochs, 5);
  assert.equal(c.training.maxIter, 60);
  assert.equal(c.training.updateInterval, 10, "the default is resolved");
  assert.equal(Object.keys(c.labelMapping).length, 10);
  const sha256 = (file: string) =>
    createHash("sha256")
      .update(readFileSync(join(modelDir, file)))
      .digest("hex");
  assert.deepEqual(c.onnx, {
    file: "model.onnx",
    input: "embeddings",
    outputs: ["probabilities", "labels"],
    opset: 18,
    sha256: sha256(MODEL_FILES.onnx),
    weightsSha256: sha256(MODEL_FILES.weights),
  });
  assert.equal(c.formatVersion, 2);
  const m = JSON.parse(readFileSync(join(modelDir, MODEL_FILES.metrics), "utf8"));
  assert.equal(m.pretrainHistory.length, 5);
  assert.equal(m.history.length, dec.history.length);
  assert.deepEqual(m.metrics, dec.metrics);
  assert.deepEqual(m.initMetrics, dec.initMetrics);
  assert.ok(m.timings.totalSeconds > 0 && m.throughput.pretrainSamplesPerSecond > 0);
});

test("model.safetensors has the reference's PyTorch names and [out, in] layouts", () => {
  const { tensors } = readSafetensors(join(modelDir, MODEL_FILES.weights));
  const shapes = Object.fromEntries(Object.entries(tensors).map(([n, t]) => [n, t.shape]));
  assert.deepEqual(shapes, {
    "encoder.0.weight": [32, 64],
    "encoder.0.bias": [32],
    "encoder.2.weight": [10, 32],
    "encoder.2.bias": [10],
    "decoder.0.weight": [32, 10],
    "decoder.0.bias": [32],
    "decoder.2.weight": [64, 32],
    "decoder.2.bias": [64],
    "assignment.cluster_centers": [10, 10],
  });
  assert.deepEqual(tensors["assignment.cluster_centers"]!.data, dec.centers);
});

test("model.onnx, run directly by onnxruntime-node, gives the library's labels", async () => {
  const session = await ort.InferenceSession.create(join(modelDir, MODEL_FILES.onnx), { intraOpNumThreads: 1 });
  assert.deepEqual([...session.inputNames], ["embeddings"]);
  assert.deepEqual([...session.outputNames], ["probabilities", "labels"]);
  const out = await session.run({ embeddings: new ort.Tensor("float32", X.data, [X.rows, X.cols]) });
  const labels = out.labels!;
  const probabilities = out.probabilities!;
  assert.equal(labels.type, "int64");
  assert.deepEqual(labels.dims, [X.rows]);
  assert.deepEqual(probabilities.dims, [X.rows, 10]);
  assert.deepEqual(Array.from(labels.data as BigInt64Array, Number), Array.from(await dec.predict(X)));
  const q = await dec.predictProba(X);
  const p = probabilities.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i]! - q.data[i]!));
  assert.ok(worst < 1e-5, `max |Δq| = ${worst}`);
  await session.release();
});

test("loading names the file and the problem", () => {
  assert.throws(() => loadModel(join(dir, "nothing")), /nothing: model directory not found/);
  const broken = join(dir, "broken");
  writeDirAtomically(broken, null, (tmp) => {
    writeFileSync(join(tmp, MODEL_FILES.config), readFileSync(join(modelDir, MODEL_FILES.config)));
    const { tensors } = readSafetensors(join(modelDir, MODEL_FILES.weights));
    delete tensors["encoder.2.bias"];
    writeSafetensors(join(tmp, MODEL_FILES.weights), tensors);
  });
  assert.throws(
    () => loadModel(broken),
    (e: unknown) =>
      e instanceof InputError && /model\.safetensors: tensor 'encoder\.2\.bias' is missing/.test(e.message),
  );
  writeFileSync(join(broken, MODEL_FILES.config), '{"format": "something-else"}');
  assert.throws(() => loadModel(broken), /config\.json: not a deepclust model/);
});

test("a model directory is written whole or not at all", () => {
  assert.throws(() => saveModel(modelDir, dec), /already exists/);
  const target = join(dir, "failing");
  assert.throws(
    () =>
      writeDirAtomically(target, null, (tmp) => {
        writeFileSync(join(tmp, "config.json"), "{}");
        throw new Error("disk full");
      }),
    /disk full/,
  );
  assert.equal(existsSync(target), false);
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.includes(".tmp-")),
    [],
    "no temporary directory is left",
  );
});
