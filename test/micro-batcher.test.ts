// The micro-batcher of `deepclust serve`: concurrent submissions merge into fewer calls, every
// caller gets its own rows back, errors reach every caller of the failed batch, and submissions
// larger than a batch are split and reassembled.

import { test } from "node:test";
import assert from "node:assert/strict";
import { MicroBatcher, type BatchRunner } from "../src/serve/micro-batcher.js";
import type { Matrix } from "../src/engine/index.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Rows of width 2 whose values identify them: row i of caller c is [c, i]. */
function rows(caller: number, n: number): Matrix {
  const data = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) data.set([caller, i], 2 * i);
  return { data, rows: n, cols: 2 };
}

/** A run function recording each call's size: out row = [a + b, a * 10 + b, 7] (3 columns). */
function recorder(delayMs = 1): { run: BatchRunner; calls: number[] } {
  const calls: number[] = [];
  const run: BatchRunner = async (X) => {
    calls.push(X.rows);
    await sleep(delayMs);
    const out = new Float32Array(X.rows * 3);
    for (let i = 0; i < X.rows; i++) {
      const a = X.data[2 * i]!,
        b = X.data[2 * i + 1]!;
      out.set([a + b, a * 10 + b, 7], 3 * i);
    }
    return { data: out, rows: X.rows, cols: 3 };
  };
  return { run, calls };
}

function expected(caller: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => [caller + i, caller * 10 + i, 7]).flat();
}

test("concurrent submissions are merged into one call and each caller gets its own rows", async () => {
  const { run, calls } = recorder();
  const b = new MicroBatcher(run, { cols: 2, maxBatch: 256, maxWaitMs: 20 });
  const sizes = [1, 3, 1, 5, 2, 1, 1, 4];
  const results = await Promise.all(sizes.map((n, c) => b.submit(rows(c, n))));
  assert.deepEqual(calls, [sizes.reduce((s, n) => s + n, 0)], "one call for all of them");
  results.forEach((r, c) => {
    assert.equal(r.rows, sizes[c]);
    assert.equal(r.cols, 3);
    assert.deepEqual(Array.from(r.data), expected(c, sizes[c]!), `caller ${c}`);
  });
  assert.deepEqual(b.stats, { requests: sizes.length, rows: 18, batches: 1, largestBatch: 18, failedBatches: 0 });
});

test("a full batch runs at once, without waiting for the timer", async () => {
  const { run, calls } = recorder();
  const b = new MicroBatcher(run, { cols: 2, maxBatch: 4, maxWaitMs: 60_000 });
  const t0 = performance.now();
  const r = await Promise.all([b.submit(rows(0, 2)), b.submit(rows(1, 2))]);
  assert.ok(performance.now() - t0 < 5_000);
  assert.deepEqual(calls, [4]);
  assert.deepEqual(Array.from(r[1]!.data), expected(1, 2));
});

test("a lone request waits maxWaitMs for company, then runs alone", async () => {
  const { run, calls } = recorder(0);
  const b = new MicroBatcher(run, { cols: 2, maxBatch: 100, maxWaitMs: 30 });
  const t0 = performance.now();
  const r = await b.submit(rows(5, 1));
  const ms = performance.now() - t0;
  assert.ok(ms >= 25, `waited ${ms} ms for company`);
  assert.deepEqual(calls, [1]);
  assert.deepEqual(Array.from(r.data), expected(5, 1));
});

test("maxWaitMs 0 dispatches immediately; rows arriving during a call form the next batch", async () => {
  const { run, calls } = recorder(20);
  const b = new MicroBatcher(run, { cols: 2, maxBatch: 100, maxWaitMs: 0 });
  const first = b.submit(rows(0, 1));
  assert.equal(b.inFlight, 1);
  const later = [1, 2, 3, 4].map((c) => b.submit(rows(c, 2)));
  assert.equal(b.pendingRows, 8, "queued behind the running batch (one call at a time)");
  const r = await Promise.all([first, ...later]);
  assert.deepEqual(calls, [1, 8]);
  r.slice(1).forEach((m, i) => assert.deepEqual(Array.from(m.data), expected(i + 1, 2)));
});

test("a submission larger than maxBatch is split across calls and reassembled in order", async () => {
  const { run, calls } = recorder();
  const b = new MicroBatcher(run, { cols: 2, maxBatch: 4, maxWaitMs: 1 });
  const [small1, big, small2] = await Promise.all([b.submit(rows(1, 1)), b.submit(rows(2, 10)), b.submit(rows(3, 2))]);
  assert.equal(
    calls.reduce((s, n) => s + n, 0),
    13,
  );
  assert.ok(
    calls.every((n) => n <= 4),
    `calls ${calls}`,
  );
  assert.deepEqual(calls, [4, 4, 4, 1]);
  assert.equal(big!.rows, 10);
  assert.deepEqual(Array.from(big!.data), expected(2, 10));
  assert.deepEqual(Array.from(small1!.data), expected(1, 1));
  assert.deepEqual(Array.from(small2!.data), expected(3, 2));
});

test("a failed call rejects every caller in that batch, and only them; the batcher keeps working", async () => {
  let fail = true;
  const calls: number[] = [];
  const ok = recorder(0);
  const run: BatchRunner = async (X) => {
    calls.push(X.rows);
    await sleep(5);
    if (fail && X.data[0] === 0) {
      fail = false;
      throw new Error("onnxruntime exploded");
    }
    return ok.run(X);
  };
  const b = new MicroBatcher(run, { cols: 2, maxBatch: 3, maxWaitMs: 1 });
  // Batch 1: caller 0 (2 rows) + caller 1's first row; batch 2: caller 1's second row + caller 2 …
  const settled = await Promise.allSettled([
    b.submit(rows(0, 2)),
    b.submit(rows(1, 2)),
    b.submit(rows(2, 1)),
    b.submit(rows(3, 1)),
  ]);
  assert.deepEqual(
    settled.map((s) => s.status),
    ["rejected", "rejected", "fulfilled", "fulfilled"],
  );
  for (const s of settled.slice(0, 2))
    assert.match(String((s as PromiseRejectedResult).reason), /onnxruntime exploded/);
  assert.deepEqual(Array.from((settled[2] as PromiseFulfilledResult<Matrix>).value.data), expected(2, 1));
  assert.deepEqual(calls, [3, 2], "caller 1's remaining row was dropped, not run");
  assert.equal(b.stats.failedBatches, 1);
  assert.deepEqual(Array.from((await b.submit(rows(4, 2))).data), expected(4, 2), "later requests succeed");
});

test("a run function that throws synchronously or returns the wrong row count rejects its callers", async () => {
  const thrower = new MicroBatcher(
    () => {
      throw new Error("sync failure");
    },
    { cols: 2, maxWaitMs: 0 },
  );
  await assert.rejects(thrower.submit(rows(0, 2)), /sync failure/);
  const short = new MicroBatcher(async (X) => ({ data: new Float32Array(X.rows - 1), rows: X.rows - 1, cols: 1 }), {
    cols: 2,
    maxWaitMs: 0,
  });
  await assert.rejects(short.submit(rows(0, 3)), /returned 2 rows for 3/);
});

test("input checks: wrong width rejects, zero rows resolve without a call, options are validated", async () => {
  const { run, calls } = recorder();
  const b = new MicroBatcher(run, { cols: 2 });
  await assert.rejects(
    b.submit({ data: new Float32Array(3), rows: 1, cols: 3 }),
    /rows have 3 values, the batcher takes 2/,
  );
  assert.equal((await b.submit({ data: new Float32Array(0), rows: 0, cols: 2 })).rows, 0);
  assert.deepEqual(calls, []);
  assert.throws(() => new MicroBatcher(run, { cols: 2, maxBatch: 0 }), /maxBatch/);
  assert.throws(() => new MicroBatcher(run, { cols: 2, maxWaitMs: -1 }), /maxWaitMs/);
  assert.throws(() => new MicroBatcher(run, { cols: 0 }), /cols/);
});

test("idle() resolves once no rows are queued and no batch is running", async () => {
  const { run } = recorder(30);
  const b = new MicroBatcher(run, { cols: 2, maxBatch: 4, maxWaitMs: 5 });
  await b.idle(); // nothing to wait for
  const answers = [b.submit(rows(1, 6)), b.submit(rows(2, 3))];
  let answered = 0;
  for (const a of answers) void a.then(() => answered++);
  await b.idle();
  assert.equal(answered, 2, "every submission was answered before idle() resolved");
  assert.equal(b.pendingRows, 0);
  assert.equal(b.inFlight, 0);
});
