// Corrupt and hostile model directories and data files (issue 13, items 5 and 6): each is refused
// with exit code 2 and a message naming the file and the field, tensor or row, never exit 0 with
// NaN predictions and never a raw JavaScript error. The files come from
// test/fixtures/gen-hostile-files.ts. Every command runs in a child process with a bounded V8 heap,
// and its peak RSS is checked where a declared size could have sized an allocation.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { loadAutoencoder, loadCheckpoint, loadModel } from "../src/dec/index.js";
import { Rng } from "../src/engine/index.js";
import { DatasetBuilder } from "../src/io/dataset-builder.js";
import { InputError, readDataset, writeNpy } from "../src/io/index.js";
import {
  HUGE_ROW_DIMS,
  VALID,
  writeHostileCheckpoints,
  writeHostileData,
  writeHostileModels,
  writeValidModel,
} from "./fixtures/gen-hostile-files.js";

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), "deepclust-hostile-"));
const models = writeHostileModels(join(root, "models"));
const data = writeHostileData(join(root, "data"));
const checkpoints = writeHostileCheckpoints(join(root, "checkpoints"));
const valid = join(root, "models", "valid");
const other = join(root, "models", "other");

// Five rows of the valid model's 8 dimensions, with labels for evaluate.
const X = { data: Float32Array.from({ length: 5 * 8 }, (_, i) => Math.sin(i)), rows: 5, cols: 8 };
const input = join(root, "x.npy");
writeNpy(input, X);
const labels = join(root, "y.txt");
writeFileSync(labels, "0\n1\n0\n1\n0\n");

// Prints the child's peak RSS on exit, whatever it exits through.
const PEAK_RSS = `data:text/javascript,import{writeSync}from"node:fs";process.on("exit",()=>writeSync(2,"\\npeak-rss-kib "+process.resourceUsage().maxRSS+"\\n"))`;
/** Heap bound of every child: the hostile sizes must not reach the V8 heap either. */
const HEAP_MIB = 256;

interface Run {
  status: number | null;
  stderr: string;
  stdout: string;
  peakMiB: number;
}

function run(...args: string[]): Run {
  const r = spawnSync(process.execPath, [`--max-old-space-size=${HEAP_MIB}`, "--import", PEAK_RSS, cli, ...args], {
    encoding: "utf8",
    timeout: 120_000,
  });
  const peak = /peak-rss-kib (\d+)/.exec(r.stderr);
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr.replace(/\npeak-rss-kib \d+\n/, ""),
    peakMiB: peak ? Number(peak[1]) / 1024 : NaN,
  };
}

/** Exit 2 with one line naming what `message` matches; no JavaScript error text. */
function assertRefused(r: Run, message: RegExp, what: string): void {
  assert.equal(r.status, 2, `${what}: exit ${r.status}\n${r.stderr}`);
  assert.match(r.stderr, message, what);
  assert.doesNotMatch(
    r.stderr,
    /TypeError|Cannot read properties|Invalid typed array length|Invalid array buffer length|\n\s+at /,
    `${what}: a raw JavaScript error`,
  );
}

/** loadModel (what every command calls) refuses `dir` with an InputError matching `message`. */
function assertLibraryRefuses(dir: string, message: RegExp, what: string): void {
  assert.throws(
    () => loadModel(dir, { threads: 1 }),
    (e: unknown) => {
      assert.ok(e instanceof InputError, `${what}: ${String(e)}`);
      assert.match(e.message, message, what);
      return true;
    },
  );
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// First: memory freed by an earlier test's garbage collection would hide the reservation.
test("rows of a million values are read without reserving 1024 of them (4 GiB) up front", async () => {
  const n = 1_000_000;
  const before = process.memoryUsage().arrayBuffers;
  const b = new DatasetBuilder("wide.jsonl");
  b.pushValues(new Array(n).fill(0.5), "embedding");
  const reserved = process.memoryUsage().arrayBuffers - before;
  assert.ok(reserved < 100 * 2 ** 20, `${(reserved / 2 ** 20).toFixed(0)} MiB reserved for one row of ${n} values`);
  // And such rows still read, with their values.
  const file = join(root, "two-wide-rows.jsonl");
  writeFileSync(file, [1, 2].map((v) => JSON.stringify({ embedding: new Array(n).fill(v) })).join("\n") + "\n");
  const ds = await readDataset(file);
  assert.deepEqual([ds.X.rows, ds.X.cols, ds.X.data[n - 1], ds.X.data[n]], [2, n, 1, 2]);
});

test("the valid model the hostile ones are made from loads and predicts", () => {
  const r = run("predict", valid, input, "--out", join(root, "valid.csv"), "--threads", "1");
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.peakMiB < 400, `peak RSS ${r.peakMiB} MiB`);
});

test("a NaN in the centres: every command refuses the model (exit 2), naming the file, the tensor and the index", () => {
  const dir = models["nan-centre"]!;
  const message = new RegExp(
    `${esc(join(dir, "model.safetensors"))}: tensor 'assignment\\.cluster_centers' holds NaN at row 1, column 2`,
  );
  const out = join(root, "nan.csv");
  for (const args of [
    ["predict", dir, input, "--out", out, "--threads", "1"],
    ["evaluate", dir, input, "--labels-file", labels, "--threads", "1"],
    ["export", dir, "--onnx", join(root, "nan.onnx")],
    ["report", dir, "--out", join(root, "nan.html"), "--threads", "1"],
    // Never up and answering with null confidences: it does not start.
    ["serve", dir, "--port", "0", "--threads", "1"],
  ]) {
    assertRefused(run(...args), message, args[0]!);
  }
  assert.equal(existsSync(out), false, "no partial output");
  assert.throws(
    () => loadModel(dir),
    (e: unknown) => e instanceof InputError && message.test(e.message),
    "the library",
  );
});

test("Inf or NaN in an encoder or decoder weight is named with its index", () => {
  for (const [name, tensor, where, value] of [
    ["inf-encoder-weight", "encoder.0.weight", "row 3, column 5", "Infinity"],
    ["nan-decoder-bias", "decoder.2.bias", "index \\[7\\]", "NaN"],
  ] as const) {
    assertLibraryRefuses(
      models[name]!,
      new RegExp(
        `model\\.safetensors: tensor '${esc(tensor)}' holds ${value} at ${where} \\(counted from 0: ${esc(tensor)}\\[`,
      ),
      name,
    );
  }
});

test("a truncated model.safetensors says it is truncated and how much is missing", () => {
  const file = readFileSync(join(valid, "model.safetensors"));
  const header = Number(file.readBigUInt64LE(0));
  const dataBytes = file.length - 8 - header;
  const cases = [
    ["truncated-after-header", `truncated: the header says ${dataBytes} bytes of tensor data, the file has 0`],
    [
      "truncated-mid-data",
      `truncated: the header says ${dataBytes} bytes of tensor data, the file has ${dataBytes - 100}`,
    ],
    ["truncated-in-header", `truncated: the header is ${header} bytes, the file has 32 after the header length`],
  ] as const;
  const expected = (name: string, message: string) =>
    new RegExp(`${esc(join(models[name]!, "model.safetensors"))}: ${esc(message)}$`, "m");
  for (const [name, message] of cases) assertLibraryRefuses(models[name]!, expected(name, message), name);
  // The case (it said `expected 16384 values, got 0`), through the command line.
  const [name, message] = cases[0];
  assertRefused(
    run("predict", models[name]!, input, "--out", join(root, `${name}.csv`)),
    expected(name, message),
    name,
  );
});

test("a malformed safetensors header names the tensor and the field", () => {
  const cases = [
    ["null-tensor-entry", "tensor 'encoder.0.weight': expected an object {dtype, shape, data_offsets}, got null"],
    ["null-shape", "tensor 'encoder.2.bias': field 'shape' must be a list of non-negative integers, got null"],
    ["negative-shape", "tensor 'encoder.2.bias': field 'shape' must be a list of non-negative integers, got [-3]"],
    [
      "null-offsets",
      "tensor 'encoder.2.bias': field 'data_offsets' must be [begin, end] with 0 ≤ begin ≤ end, got null",
    ],
    ["null-metadata", "header field '__metadata__.format' must be a string, got null"],
    ["overlapping-tensors", "tensors 'decoder.0.bias' and 'encoder.0.bias' overlap"],
  ] as const;
  for (const [name, message] of cases)
    assertLibraryRefuses(models[name]!, new RegExp(`model\\.safetensors: ${esc(message)}`), name);
  // The issue's `Cannot read properties of null`, through the command line.
  const [name, message] = cases[0];
  assertRefused(
    run("predict", models[name]!, input, "--out", join(root, `${name}.csv`)),
    new RegExp(`model\\.safetensors: ${esc(message)}`),
    name,
  );
});

test("null or mistyped fields of config.json are named with what they must be", () => {
  const cases = [
    ["null-config", "expected a JSON object, got null"],
    ["null-k", "field 'k' must be a positive integer, got null"],
    [
      "null-dims-entry",
      "field 'dims' must be a list of at least 2 positive integers (the encoder's layer sizes), got [8,null,3]",
    ],
    ["null-alpha", "field 'alpha' must be a positive number, got null"],
    ["null-onnx", "field 'onnx' must be an object {file, input, outputs, opset}, got null"],
    ["null-onnx-outputs", "field 'onnx.outputs' must be a list of strings, got null"],
    ["null-label", "field 'labelMapping.2' must be a string or a number, got null"],
    ["null-training", "field 'training' must be an object, got null"],
    ["string-method", "field 'method' must be one of dec, idec, got \"kmeans\""],
    [
      "hash-removed",
      "field 'onnx.sha256' must be a SHA-256 in hex (64 characters), got nothing (the field is missing)",
    ],
  ] as const;
  const expected = (name: string, message: string) =>
    new RegExp(`${esc(join(models[name]!, "config.json"))}: ${esc(message)}`);
  for (const [name, message] of cases) assertLibraryRefuses(models[name]!, expected(name, message), name);
  // Through the command line: the null entries that reached a TypeError (exit 1), and serve.
  for (const [name, message] of [cases[0], cases[5]]) {
    assertRefused(
      run("predict", models[name]!, input, "--out", join(root, `${name}.csv`)),
      expected(name, message),
      name,
    );
  }
  assertRefused(run("serve", models["null-label"]!, "--port", "0"), expected("null-label", cases[6][1]), "serve");
});

test("config.json's dims cannot size an allocation beyond what model.safetensors holds", () => {
  const r = run("predict", models["huge-dims"]!, input, "--out", join(root, "huge-dims.csv"));
  assertRefused(
    r,
    /config\.json: dims \[8, 10000000, 3\] and k 4 need \d+ bytes of weights, .*model\.safetensors has \d+/,
    "huge-dims",
  );
  assert.ok(r.peakMiB < 400, `peak RSS ${r.peakMiB} MiB: the parameters were allocated`);
});

test("a model.onnx that does not match the weights is detected through config.json's hashes; export repairs it", () => {
  const config = (dir: string) => JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  const c = config(valid);
  assert.equal(c.formatVersion, 2);
  assert.equal(c.onnx.sha256, sha256(join(valid, "model.onnx")));
  assert.equal(c.onnx.weightsSha256, sha256(join(valid, "model.safetensors")));

  for (const [name, why, repairedFrom] of [
    ["onnx-from-another-model", "its SHA-256 is not the one config.json records", valid],
    ["weights-from-another-model", "it was exported from other weights than model.safetensors holds", other],
  ] as const) {
    const dir = models[name]!;
    const message = new RegExp(
      `${esc(join(dir, "model.onnx"))}: does not match config\\.json and model\\.safetensors \\(${esc(why)}\\): stale, or from another model; re-export it with \`deepclust export ${esc(dir)}\``,
    );
    assertRefused(run("predict", dir, input, "--out", join(root, `${name}.csv`)), message, name);
    const repaired = run("export", dir, "--json");
    assert.equal(repaired.status, 0, repaired.stderr);
    // The file the weights give, as a fresh model directory holds it.
    assert.deepEqual(readFileSync(join(dir, "model.onnx")), readFileSync(join(repairedFrom, "model.onnx")));
    assert.deepEqual(config(dir).onnx, config(repairedFrom).onnx);
    loadModel(dir);
  }
  // int8 into the model's own model.onnx is refused: model.onnx stays float32, the graph its hash records.
  const int8 = run("export", valid, "--precision", "int8");
  assertRefused(
    int8,
    /model\.onnx of a model directory stays float32 and standard ONNX; write the int8 graph to another file, e\.g\. --onnx .*model\.int8\.onnx/,
    "int8",
  );
  assert.equal(sha256(join(valid, "model.onnx")), c.onnx.sha256);
});

test("a version 1 model directory (no hashes) still loads, and export upgrades it to version 2", () => {
  const dir = join(root, "v1");
  cpSync(valid, dir, { recursive: true });
  const c = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  c.formatVersion = 1;
  delete c.onnx.sha256;
  delete c.onnx.weightsSha256;
  writeFileSync(join(dir, "config.json"), JSON.stringify(c, null, 2));
  cpSync(join(other, "model.onnx"), join(dir, "model.onnx")); // stale, and nothing records it
  loadModel(dir);
  assert.equal(run("export", dir).status, 0);
  const upgraded = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  assert.equal(upgraded.formatVersion, 2);
  assert.equal(upgraded.onnx.sha256, sha256(join(valid, "model.onnx")));
  assert.equal(upgraded.createdAt, c.createdAt, "the rest of config.json is kept");
  assert.deepEqual(readFileSync(join(dir, "model.onnx")), readFileSync(join(valid, "model.onnx")));
});

test("checkpoints and pretrained autoencoders: NaN, truncation and null fields are named too", () => {
  assert.equal(loadCheckpoint(checkpoints["checkpoint-valid"]!).state.iteration, 10);
  const refused = (load: () => unknown, message: RegExp) =>
    assert.throws(load, (e: unknown) => {
      assert.ok(e instanceof InputError, String(e));
      assert.match(e.message, message);
      return true;
    });
  const st = (name: string) => esc(join(checkpoints[name]!, "state.safetensors"));
  refused(
    () => loadCheckpoint(checkpoints["checkpoint-nan-slot"]!),
    new RegExp(`${st("checkpoint-nan-slot")}: tensor 'slot/encoder\\.0\\.weight' holds NaN at index \\[17\\]`),
  );
  refused(
    () => loadCheckpoint(checkpoints["checkpoint-truncated"]!),
    new RegExp(
      `${st("checkpoint-truncated")}: truncated: the header says (\\d+) bytes of tensor data, the file has \\d+`,
    ),
  );
  refused(
    () => loadCheckpoint(checkpoints["checkpoint-null-state"]!),
    /state\.json: not a deepclust clustering checkpoint \(expected a JSON object, got null\)/,
  );
  refused(
    () => loadAutoencoder(checkpoints["autoencoder-null-dims"]!, new Rng(0)),
    /autoencoder-null-dims\.safetensors: metadata field 'dims' must be a list of at least 2 positive integers, got \[8, null, 3\]/,
  );
});

test("a .npy header with a negative, fractional or huge shape names the file and the field", () => {
  for (const [name, message, commands] of [
    [
      "negative-shape.npy",
      "the header's 'shape' must hold non-negative integers, got (-80, 4)",
      ["kmeans", "predict", "train"],
    ],
    ["non-integer-shape.npy", "the header's 'shape' must hold non-negative integers, got (2.5, 4)", ["kmeans"]],
    ["huge-shape.npy", "4294967296 dimensions per row, more than deepclust accepts (1048576)", ["kmeans"]],
  ] as const) {
    const argsOf = {
      kmeans: ["kmeans", data[name]!, "-k", "2"],
      predict: ["predict", valid, data[name]!, "--out", join(root, "npy.csv")],
      train: ["train", data[name]!, "-k", "2", "--out", join(root, "npy-model")],
    };
    for (const command of commands) {
      const r = run(...argsOf[command]);
      assertRefused(r, new RegExp(`${esc(data[name]!)}: ${esc(message)}`), `${name}, ${command}`);
      assert.ok(r.peakMiB < 400, `${name}, ${command}: peak RSS ${r.peakMiB} MiB`);
    }
  }
  const r = run("evaluate", valid, input, "--labels-file", data["negative-labels.npy"]!);
  assertRefused(
    r,
    new RegExp(
      `${esc(data["negative-labels.npy"]!)}: the header's 'shape' must hold non-negative integers, got \\(-5,\\)`,
    ),
    "labels",
  );
});

test("the issue's 17M-dimension row is refused naming the file, the row and the column, in bounded memory", async () => {
  const message = (name: string, dims: number) =>
    new RegExp(
      `${esc(data[name]!)}, row 1, column 'embedding': ${dims} dimensions per row, more than deepclust accepts \\(1048576\\)`,
    );
  await assert.rejects(
    readDataset(data["wide-row.jsonl"]!),
    (e: unknown) => e instanceof InputError && message("wide-row.jsonl", (1 << 20) + 1).test(e.message),
  );
  const r = run("kmeans", data["huge-row.jsonl"]!, "-k", "2");
  assertRefused(r, message("huge-row.jsonl", HUGE_ROW_DIMS), "huge-row.jsonl");
  // The 35 MB line itself is parsed (about 0.4 GB of JavaScript values), never 1024 rows of it.
  assert.ok(r.peakMiB < 900, `peak RSS ${r.peakMiB} MiB`);
  rmSync(data["huge-row.jsonl"]!);
});

test("the generator's valid models really differ (the stale-file cases are real)", () => {
  const a = readFileSync(join(valid, "model.onnx"));
  const b = readFileSync(join(other, "model.onnx"));
  assert.notDeepEqual(a, b);
  assert.equal(JSON.parse(readFileSync(join(valid, "config.json"), "utf8")).k, VALID.k);
  const again = join(root, "again");
  writeValidModel(again, 1);
  assert.deepEqual(
    readFileSync(join(again, "model.onnx")),
    a,
    "model.onnx is deterministic: a re-export reproduces it",
  );
});
