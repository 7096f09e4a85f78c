// Checkpoints continue only the run that wrote them (library level; the CLI's cases are in
// cli-resume.test.ts): the data fingerprint (one streamed pass, order-sensitive), other labels when
// the run selects by them, and a checkpoint whose tensors do not fit the model (damaged or edited).

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../src/engine/index.js";
import { DEC, dataFingerprint } from "../src/dec/index.js";
import { InputError, NpySource, readSafetensors, writeNpy, writeSafetensors } from "../src/io/index.js";
import { readDataset } from "../src/io/dataset.js";

const dir = mkdtempSync(join(tmpdir(), "deepclust-checkpoint-"));
const digits = await readDataset(new URL("./fixtures/digits.csv", import.meta.url).pathname);
const X = digits.X;
const y = digits.labels as number[];
const config = {
  k: 10,
  hidden: [32, 10],
  threads: 1,
  seed: 0,
  pretrain: { epochs: 1 },
  tol: 0,
  maxIter: 20,
  updateInterval: 10,
};

test("the data fingerprint: shape and a SHA-256 of the float32 values in row order, streamed from a RowSource", () => {
  // 40,000 rows: more than one chunk of a RowSource pass.
  const rows = 40_000;
  const cols = 3;
  const rng = new Rng(5);
  const data = Float32Array.from({ length: rows * cols }, () => rng.normal());
  const file = join(dir, "x.npy");
  writeNpy(file, { data, rows, cols });
  const bytes = readFileSync(file);
  const reference = createHash("sha256")
    .update(bytes.subarray(bytes.length - rows * cols * 4))
    .digest("hex");
  const source = NpySource.open(file);
  try {
    assert.deepEqual(dataFingerprint(source), { rows, cols, sha256: reference, labelsSha256: null });
  } finally {
    source.close();
  }
  assert.equal(dataFingerprint({ data, rows, cols }).sha256, reference, "a matrix in memory hashes the same");
  // The same rows in another order (two rows swapped) are other data.
  const swapped = data.slice();
  swapped.set(data.subarray(0, cols), cols);
  swapped.set(data.subarray(cols, 2 * cols), 0);
  assert.notEqual(dataFingerprint({ data: swapped, rows, cols }).sha256, reference);
  assert.notEqual(
    dataFingerprint({ data, rows, cols }, [1, 2]).labelsSha256,
    dataFingerprint({ data, rows, cols }, [2, 1]).labelsSha256,
  );
});

test("with selectBestByLabels, a resume with other labels is refused; without it, labels may differ", async () => {
  const ckpt = join(dir, "select");
  const selecting = { ...config, selectBestByLabels: true };
  await new DEC(selecting).fit(X, { labels: y, checkpoint: { dir: ckpt, every: 1 } });
  const other = y.map((l) => (l + 1) % 10);
  const labelsDiffer = /labels \(they select the model\): checkpoint sha256 [0-9a-f]{12}…, now sha256/;
  assert.throws(
    () => new DEC(selecting).checkResume(ckpt, X, other),
    (e: Error) => e instanceof InputError && labelsDiffer.test(e.message),
  );
  await assert.rejects(new DEC(selecting).fit(X, { labels: other, resumeFrom: ckpt }), InputError);
  new DEC(selecting).checkResume(ckpt, X, y); // the same labels: accepted

  const plain = join(dir, "plain");
  await new DEC(config).fit(X, { labels: y, checkpoint: { dir: plain, every: 1 } });
  new DEC(config).checkResume(plain, X, other);
  new DEC(config).checkResume(plain, X);
});

test("a checkpoint whose tensors do not fit the model is an InputError naming the file and the tensor", async () => {
  const a = join(dir, "a");
  const b = join(dir, "b");
  await new DEC(config).fit(X, { checkpoint: { dir: a, every: 1 } });
  await new DEC({ ...config, hidden: [16, 10] }).fit(X, { checkpoint: { dir: b, every: 1 } });
  // a's record (it passes the data and options check) with b's tensors (other shapes).
  copyFileSync(join(b, "state.safetensors"), join(a, "state.safetensors"));
  await assert.rejects(new DEC(config).fit(X, { resumeFrom: a }), (e: Error) => {
    assert.ok(e instanceof InputError, String(e));
    assert.match(
      e.message,
      /a\/state\.safetensors: tensor 'param\/encoder\.0\.weight' holds 1024 values, the model needs 2048/,
    );
    return true;
  });
  // The weights fit but an optimizer slot is missing: named too (checked before any state is copied).
  await new DEC(config).fit(X, { checkpoint: { dir: a, every: 1 } });
  const { tensors } = readSafetensors(join(a, "state.safetensors"));
  delete tensors["slot/sgd.momentum_buffer/encoder.0.bias"];
  writeSafetensors(join(a, "state.safetensors"), tensors);
  await assert.rejects(
    new DEC(config).fit(X, { resumeFrom: a }),
    /a\/state\.safetensors: tensor 'slot\/sgd\.momentum_buffer\/encoder\.0\.bias' is missing/,
  );
});
