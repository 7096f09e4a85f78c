import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../src/engine/index.js";
import { corrupt } from "../src/nn/index.js";

test("mask noise zeroes a fraction f of values and keeps the rest unchanged", () => {
  const rows = 100;
  const cols = 777; // odd total exercises the tail element
  const src = Float32Array.from({ length: rows * cols }, (_, i) => 1 + (i % 13));
  const dst = new Float32Array(src.length);
  corrupt({ kind: "mask", factor: 0.3 }, src, rows, cols, new Rng(1), dst);
  let zeros = 0;
  for (let i = 0; i < src.length; i++) {
    if (dst[i] === 0) zeros++;
    else assert.equal(dst[i], src[i]);
  }
  assert.ok(Math.abs(zeros / src.length - 0.3) < 0.01, `dropped ${zeros / src.length}`);
  const again = new Float32Array(src.length);
  corrupt({ kind: "mask", factor: 0.3 }, src, rows, cols, new Rng(1), again);
  assert.deepEqual(again, dst, "same seed, same mask");
});

test("gaussian noise adds N(0, (f·σ_j)²) per feature", () => {
  const rows = 4000;
  const src = new Float32Array(rows * 2);
  const rng = new Rng(2);
  for (let r = 0; r < rows; r++) {
    src[2 * r] = rng.normal() * 1;
    src[2 * r + 1] = rng.normal() * 10;
  }
  const dst = new Float32Array(src.length);
  corrupt({ kind: "gaussian", factor: 0.5 }, src, rows, 2, new Rng(3), dst);
  for (const [c, sigma] of [
    [0, 1],
    [1, 10],
  ] as const) {
    let s2 = 0;
    for (let r = 0; r < rows; r++) s2 += (dst[2 * r + c]! - src[2 * r + c]!) ** 2;
    const sd = Math.sqrt(s2 / rows);
    assert.ok(Math.abs(sd / (0.5 * sigma) - 1) < 0.06, `feature ${c}: noise sd ${sd}`);
  }
});

test("no noise copies the input", () => {
  const src = Float32Array.from([1, 2, 3]);
  const dst = new Float32Array(3);
  corrupt({ kind: "none", factor: 0.3 }, src, 1, 3, new Rng(0), dst);
  assert.deepEqual(dst, src);
});
