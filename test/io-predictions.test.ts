// Prediction files: CSV/JSONL round trips with pass-through columns and probabilities, the
// streaming writer, and atomicity: nothing at the target path until commit, no temporary file
// left after an abort, a failure, or a process exit mid-write.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "csv-parse/sync";
import {
  createPredictionWriter,
  formatFloat32,
  InputError,
  readDataset,
  writePredictions,
  type Predictions,
} from "../src/io/index.js";

const root = mkdtempSync(join(tmpdir(), "deepclust-pred-"));
after(() => rmSync(root, { recursive: true, force: true }));
/** A fresh directory per test, so "nothing else is there" can be checked exactly. */
function freshDir(): string {
  return mkdtempSync(join(root, "d-"));
}

function sample(n: number, k: number): Predictions {
  const probabilities = new Float32Array(n * k);
  const labels = new Int32Array(n);
  const confidence = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < k; j++) sum += probabilities[i * k + j] = 1 + ((i * 7 + j * 3) % 11);
    let best = 0;
    for (let j = 0; j < k; j++) {
      probabilities[i * k + j]! /= sum;
      if (probabilities[i * k + j]! > probabilities[i * k + best]!) best = j;
    }
    labels[i] = best;
    confidence[i] = probabilities[i * k + best]!;
  }
  return {
    labels,
    confidence,
    probabilities: { data: probabilities, rows: n, cols: k },
    passthrough: {
      id: Array.from({ length: n }, (_, i) => String(100 + i)),
      text: Array.from({ length: n }, (_, i) => (i === 1 ? 'Hello, "world"\nsecond line' : `doc ${i}`)),
    },
  };
}

test("formatFloat32 writes the shortest decimal that reads back as the same float32", () => {
  assert.equal(formatFloat32(Math.fround(0.1)), "0.1");
  assert.equal(formatFloat32(Math.fround(1 / 3)), "0.33333334");
  assert.equal(formatFloat32(1), "1");
  assert.equal(formatFloat32(0), "0");
  assert.equal(formatFloat32(Math.fround(1e-7)), "1e-7");
  assert.equal(formatFloat32(Math.fround(0.9999999403953552)), "0.99999994");
  assert.equal(formatFloat32(NaN), "NaN");
  for (let i = 0; i < 10000; i++) {
    const f = Math.fround(Math.sin(i) * 10 ** ((i % 13) - 6));
    assert.equal(Math.fround(Number(formatFloat32(f))), f);
  }
});

test("formatFloat32's fast path for [0.001, 1) writes what the toPrecision search writes", () => {
  // The search it replaces: the fewest significant digits (≥ 6) that read back as the float32.
  const bySearch = (f: number) => {
    for (let p = 6; p < 9; p++)
      if (Math.fround(Number(f.toPrecision(p))) === f) return String(Number(f.toPrecision(p)));
    return String(Number(f.toPrecision(9)));
  };
  const bits = new Uint32Array(1);
  const f32 = new Float32Array(bits.buffer);
  let checked = 0;
  // every 997th float32 from 0.001 up to 1 (about 67,000 values), and their neighbours
  for (let b = 0x3a83126f; b < 0x3f800000; b += 997) {
    for (const n of [b - 1, b, b + 1]) {
      bits[0] = n;
      assert.equal(formatFloat32(f32[0]!), bySearch(f32[0]!), `bits 0x${n.toString(16)}`);
      checked++;
    }
  }
  assert.ok(checked > 150_000);
  for (const x of [0.001, 0.1, 0.5, 0.01, Math.fround(0.1) * 0.1, 0.99999994])
    assert.equal(formatFloat32(x), bySearch(Math.fround(x)));
});

test("CSV round trip: pass-through first (quoted as needed), then cluster, confidence, p0..p{k-1}", async () => {
  const dir = freshDir();
  const file = join(dir, "pred.csv");
  const p = sample(5, 3);
  await writePredictions(file, p);
  const rows = parse(readFileSync(file)) as string[][];
  assert.deepEqual(rows[0], ["id", "text", "cluster", "confidence", "p0", "p1", "p2"]);
  assert.equal(rows.length, 6);
  for (let i = 0; i < 5; i++) {
    const r = rows[i + 1]!;
    assert.equal(r[0], p.passthrough!.id![i]);
    assert.equal(r[1], p.passthrough!.text![i]);
    assert.equal(Number(r[2]), p.labels[i]);
    assert.equal(Math.fround(Number(r[3])), p.confidence[i]);
    for (let j = 0; j < 3; j++) assert.equal(Math.fround(Number(r[4 + j])), p.probabilities!.data[i * 3 + j]);
  }
  assert.deepEqual(readdirSync(dir), ["pred.csv"], "no temporary file is left");
});

test("CSV without probabilities or pass-through: just cluster and confidence", async () => {
  const dir = freshDir();
  const file = join(dir, "pred.csv");
  await writePredictions(file, { labels: Int32Array.from([2, 0]), confidence: Float32Array.from([0.5, 0.25]) });
  assert.equal(readFileSync(file, "utf8"), "cluster,confidence\n2,0.5\n0,0.25\n");
});

test("JSONL round trip: one object per row with a probabilities array", async () => {
  const dir = freshDir();
  const file = join(dir, "pred.jsonl");
  const p = sample(4, 2);
  await writePredictions(file, p);
  const lines = readFileSync(file, "utf8")
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 4);
  lines.forEach((o, i) => {
    assert.deepEqual(Object.keys(o), ["id", "text", "cluster", "confidence", "probabilities"]);
    assert.equal(o.text, p.passthrough!.text![i]);
    assert.equal(o.cluster, p.labels[i]);
    assert.equal(Math.fround(o.confidence as number), p.confidence[i]);
    assert.deepEqual(
      (o.probabilities as number[]).map(Math.fround),
      Array.from(p.probabilities!.data.subarray(i * 2, i * 2 + 2)),
    );
  });
});

test("predictions read back as a dataset's pass-through columns (CSV written, then parsed by readDataset's CSV reader)", async () => {
  const dir = freshDir();
  const file = join(dir, "pred.csv");
  const p = sample(3, 2);
  await writePredictions(file, {
    labels: p.labels,
    confidence: p.confidence,
    passthrough: { ...p.passthrough, embeddings: ["[1,2]", "[3,4]", "[5,6]"] },
  });
  const ds = await readDataset(file);
  assert.deepEqual(ds.passthrough.text, p.passthrough!.text);
  assert.deepEqual(ds.passthrough.cluster, Array.from(p.labels, String));
});

test("streaming writer: chunks append, nothing at the target until commit", async () => {
  const dir = freshDir();
  const file = join(dir, "stream.csv");
  const all = sample(10000, 4);
  const w = await createPredictionWriter(file, { passthrough: ["id", "text"], probabilities: 4 });
  for (let from = 0; from < 10000; from += 3000) {
    const to = Math.min(10000, from + 3000);
    await w.write({
      labels: all.labels.subarray(from, to),
      confidence: all.confidence.subarray(from, to),
      probabilities: { data: all.probabilities!.data.subarray(from * 4, to * 4), rows: to - from, cols: 4 },
      passthrough: { id: all.passthrough!.id!.slice(from, to), text: all.passthrough!.text!.slice(from, to) },
    });
    assert.equal(existsSync(file), false, "the target appears only on commit");
  }
  assert.equal(w.rows, 10000);
  await w.commit();
  const rows = parse(readFileSync(file)) as string[][];
  assert.equal(rows.length, 10001);
  assert.equal(rows[10000]![0], "10099");
  assert.equal(Number(rows[10000]![2]), all.labels[9999]);
  assert.deepEqual(readdirSync(dir), ["stream.csv"]);
  await assert.rejects(w.write(all), /is committed/);
});

test("abort leaves no file and no temporary file; an existing target is left untouched", async () => {
  const dir = freshDir();
  const file = join(dir, "out.jsonl");
  const w = await createPredictionWriter(file, {});
  await w.write({ labels: Int32Array.from([1]), confidence: Float32Array.from([1]) });
  assert.equal(readdirSync(dir).length, 1, "the temporary file exists while writing");
  assert.match(readdirSync(dir)[0]!, /^\.out\.jsonl\.tmp-/);
  await w.abort();
  await w.abort();
  assert.deepEqual(readdirSync(dir), []);

  writeFileSync(file, "previous results\n");
  const w2 = await createPredictionWriter(file, {});
  await w2.write({ labels: Int32Array.from([1]), confidence: Float32Array.from([1]) });
  await w2.abort();
  assert.equal(readFileSync(file, "utf8"), "previous results\n");
  assert.deepEqual(readdirSync(dir), ["out.jsonl"]);
});

test("a failed write leaves nothing behind", async () => {
  const dir = freshDir();
  const file = join(dir, "bad.csv");
  await assert.rejects(
    writePredictions(file, { labels: Int32Array.from([1, 2]), confidence: Float32Array.from([1]) }),
    /2 labels but 1 confidences/,
  );
  await assert.rejects(
    writePredictions(file, {
      labels: Int32Array.from([1]),
      confidence: Float32Array.from([1]),
      passthrough: { id: ["a", "b"] },
    }),
    /pass-through column 'id' has 2 values for 1 rows/,
  );
  assert.deepEqual(readdirSync(dir), []);
  const w = await createPredictionWriter(file, { probabilities: 3 });
  await assert.rejects(
    w.write({ labels: Int32Array.from([1]), confidence: Float32Array.from([1]) }),
    /promises 3 probabilities/,
  );
  await assert.rejects(w.commit(), /is failed/);
  await w.abort();
  assert.deepEqual(readdirSync(dir), []);
});

test("an interrupted run (process.exit mid-write) leaves neither the target nor a temporary file", () => {
  const dir = freshDir();
  const file = join(dir, "killed.csv");
  const script = join(root, "interrupt.mts");
  writeFileSync(
    script,
    `import { createPredictionWriter } from ${JSON.stringify(resolve("src/io/index.ts"))};
const w = await createPredictionWriter(${JSON.stringify(file)}, {});
await w.write({ labels: Int32Array.from([1, 2]), confidence: Float32Array.from([0.5, 0.5]) });
process.exit(130);
`,
  );
  const r = spawnSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8" });
  assert.equal(r.status, 130, r.stderr);
  assert.deepEqual(readdirSync(dir), []);
});

test("output errors: unknown extension, missing directory, a pass-through column named like an output column", async () => {
  const dir = freshDir();
  const one = { labels: Int32Array.from([1]), confidence: Float32Array.from([1]) };
  const txt = join(dir, "pred.txt");
  await assert.rejects(
    writePredictions(txt, one),
    (e: unknown) =>
      e instanceof InputError && e.message === `${txt}: cannot write predictions as '.txt'; use .csv or .jsonl`,
  );
  const nodir = join(dir, "no", "such", "dir.csv");
  await assert.rejects(
    writePredictions(nodir, one),
    (e: unknown) => e instanceof InputError && e.message === `${nodir}: cannot write: the directory does not exist`,
  );
  const clash = join(dir, "clash.csv");
  await assert.rejects(
    writePredictions(clash, { ...one, passthrough: { cluster: ["x"] } }),
    (e: unknown) =>
      e instanceof InputError &&
      e.message ===
        `${clash}, column 'cluster': a pass-through column of the input has the name of an output column; rename it in the input`,
  );
  assert.deepEqual(readdirSync(dir), []);
});
