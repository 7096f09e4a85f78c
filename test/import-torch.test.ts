// deepclust import-torch: the restricted unpickler reads torch.save'd state_dicts exactly and
// rejects everything else; an imported reference DEC module predicts what PyTorch computes.
// Fixtures: test/fixtures/gen_torch_state_dict.py (Debian's PyTorch).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import { loadModel, MODEL_FILES } from "../src/dec/model-dir.js";
import { importTorchStateDict } from "../src/dec/torch-import.js";
import { InputError, readSafetensors, writeNpy } from "../src/io/index.js";
import { parseTorchStateDict, readTorchStateDict } from "../src/io/torch-pickle.js";

const root = new URL("..", import.meta.url).pathname;
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const stateDict = fixture("dec_reference_state_dict.pth");
const noDecoder = fixture("dec_reference_state_dict_nodecoder.pth");
const malicious = fixture("malicious_state_dict.pth");
const wholeModule = fixture("dec_reference_module.pth");

interface Recorded {
  shape: number[];
  data: number[];
}
const ref = JSON.parse(readFileSync(fixture("dec_reference_state_dict.json"), "utf8")) as {
  dims: number[];
  k: number;
  tensors: Record<string, Recorded>;
  inputs: Recorded;
  q: Recorded;
  labels: number[];
  layouts: Record<string, Recorded>;
};
const X = { data: Float32Array.from(ref.inputs.data), rows: ref.inputs.shape[0]!, cols: ref.inputs.shape[1]! };
const dir = mkdtempSync(join(tmpdir(), "deepclust-import-torch-"));

/** The CLI from source (no build needed), as a user runs it. */
function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), ...args], { encoding: "utf8", cwd: root });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

const STOP = 0x2e;
const enc = (s: string) => [...new TextEncoder().encode(s)];

/** A torch.save-shaped zip around a hand-written pickle. */
function archive(pickle: number[] | Uint8Array, extra: Record<string, Uint8Array> = {}): Uint8Array {
  return zipSync({ "archive/data.pkl": Uint8Array.from(pickle), "archive/version": new TextEncoder().encode("3\n"), ...extra }, { level: 0 });
}

test("the unpickler reads every tensor of the state_dict exactly, in order", () => {
  const { tensors, archiveName } = readTorchStateDict(stateDict);
  assert.equal(archiveName, "dec_reference_state_dict");
  assert.deepEqual([...tensors.keys()], Object.keys(ref.tensors));
  assert.deepEqual(tensors.get("encoder.0.weight")!.shape, [16, 20]);
  for (const [name, t] of tensors) {
    const want = ref.tensors[name]!;
    assert.deepEqual(t.shape, want.shape, name);
    assert.equal(t.dtype, "float32");
    assert.deepEqual(t.read(), Float32Array.from(want.data), `${name}: bit-exact`);
  }
});

test("storage offsets, strides (non-contiguous views), shared storages, float64 and 0-d tensors", () => {
  const { tensors } = readTorchStateDict(fixture("torch_layouts.pth"));
  assert.deepEqual(tensors.get("transposed")!.stride, [1, 3], "the fixture's transpose is not contiguous");
  assert.equal(tensors.get("offset")!.storageOffset, 5);
  assert.equal(tensors.get("float64")!.dtype, "float64");
  for (const [name, want] of Object.entries(ref.layouts)) {
    const t = tensors.get(name)!;
    assert.deepEqual(t.shape, want.shape, name);
    assert.deepEqual(t.read(), Float32Array.from(want.data), name);
  }
});

test("the library import reproduces PyTorch's q and labels", async () => {
  const { autoencoder, config, hasDecoder } = importTorchStateDict(stateDict, { session: { threads: 1 } });
  assert.equal(hasDecoder, true);
  assert.deepEqual([config.dims, config.k, config.alpha, config.decoder], [ref.dims, ref.k, 1, true]);
  const { DECModel } = await import("../src/dec/model-dir.js");
  const model = new DECModel(config, autoencoder);
  const q = await model.predictProba(X);
  assertClose(q.data, ref.q.data, 1e-5, "q");
  assert.deepEqual([...(await model.predict(X))], ref.labels);
  await model.release();
});

test("CLI: import-torch, then predict reproduces PyTorch's q to 1e-5 and its labels", async () => {
  const out = join(dir, "model");
  const r = cli("import-torch", stateDict, "--out", out);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /encoder 20→16→8→4, k = 3/);
  assert.deepEqual(readdirSync(out).sort(), Object.values(MODEL_FILES).sort());
  const config = JSON.parse(readFileSync(join(out, MODEL_FILES.config), "utf8"));
  assert.deepEqual([config.inputDim, config.dims, config.k, config.alpha, config.decoder], [20, [20, 16, 8, 4], 3, 1, true]);
  const { tensors } = readSafetensors(join(out, MODEL_FILES.weights));
  assert.deepEqual(Object.keys(tensors).sort(), Object.keys(ref.tensors).sort(), "the same names as the PyTorch state_dict");
  for (const [name, want] of Object.entries(ref.tensors)) assert.deepEqual(tensors[name]!.data, Float32Array.from(want.data), name);

  const npy = join(dir, "inputs.npy");
  writeNpy(npy, X);
  const predictions = join(dir, "predictions.jsonl");
  const p = cli("predict", out, npy, "--out", predictions, "--proba", "--threads", "1");
  assert.equal(p.code, 0, p.stderr);
  const rows = readFileSync(predictions, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { cluster: number; probabilities: number[] });
  assert.deepEqual(rows.map((row) => row.cluster), ref.labels);
  assertClose(rows.flatMap((row) => row.probabilities), ref.q.data, 1e-5, "q");

  const again = cli("import-torch", stateDict, "--out", out);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists \(use --force/);
  assert.equal(cli("import-torch", stateDict, "--out", out, "--force", "--alpha", "2").code, 0);
  assert.equal(JSON.parse(readFileSync(join(out, MODEL_FILES.config), "utf8")).alpha, 2);
});

test("a state_dict without decoder tensors imports, predicts and reloads; no decoder is invented", async () => {
  const out = join(dir, "no-decoder");
  const r = cli("import-torch", noDecoder, "--out", out, "--json");
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.deepEqual([summary.dims, summary.k, summary.decoder], [[20, 16, 8, 4], 3, false]);
  const { tensors } = readSafetensors(join(out, MODEL_FILES.weights));
  assert.ok(!Object.keys(tensors).some((n) => n.startsWith("decoder.")), "model.safetensors has no decoder");
  const model = loadModel(out, { threads: 1 });
  assert.equal(model.config.decoder, false);
  assert.ok(model.autoencoder.params.value("decoder.0.weight").every(Number.isNaN), "absent decoder weights are NaN, not made up");
  assertClose((await model.predictProba(X)).data, ref.q.data, 1e-5, "q");
  assert.deepEqual([...(await model.predict(X))], ref.labels);
  await model.release();
  const exported = join(dir, "no-decoder.onnx");
  const e = cli("export", out, "--onnx", exported);
  assert.equal(e.code, 0, e.stderr);
  assert.ok(existsSync(exported));
});

test("a pickle calling posix.system is rejected with exit code 2, naming the global, and writes nothing", () => {
  assert.throws(() => readTorchStateDict(malicious), (e: unknown) => e instanceof InputError && /global 'posix\.system' is not allowed/.test(e.message) && e.message.includes(malicious));
  const out = join(dir, "malicious");
  const r = cli("import-torch", malicious, "--out", out);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /malicious_state_dict\.pth: global 'posix\.system' is not allowed/);
  assert.equal(existsSync(out), false, "no output directory");
  assert.equal(existsSync("/tmp/deepclust-import-torch-pwned"), false, "nothing was executed");
});

test("a whole pickled module is rejected with a hint to save the state_dict", () => {
  const r = cli("import-torch", wholeModule, "--out", join(dir, "module"));
  assert.equal(r.code, 2);
  assert.match(r.stderr, /global '__main__\.DEC' is not allowed.*save model\.state_dict\(\) instead/);
});

test("other globals and opcodes outside a state_dict's are rejected by name", () => {
  const cases: Array<[number[], RegExp]> = [
    // GLOBAL 'builtins eval' ( 'print(1)' ) REDUCE
    [[0x80, 2, ...enc("cbuiltins\neval\n"), 0x8c, 8, ...enc("print(1)"), 0x85, 0x52, STOP], /global 'builtins\.eval' is not allowed/],
    // STACK_GLOBAL builtins.getattr
    [[0x80, 4, 0x8c, 8, ...enc("builtins"), 0x8c, 7, ...enc("getattr"), 0x93, STOP], /global 'builtins\.getattr' is not allowed/],
    // INST (protocol 0 object construction)
    [[0x80, 2, 0x28, ...enc("iposix\nsystem\n"), STOP], /opcode INST \(0x69\)/],
    // NEWOBJ on an allowed global
    [[0x80, 2, ...enc("ccollections\nOrderedDict\n"), 0x29, 0x81, STOP], /opcode NEWOBJ \(0x81\)/],
    // EMPTY_SET
    [[0x80, 4, 0x8f, STOP], /opcode EMPTY_SET \(0x8f\)/],
    // an allowed global called in a way a state_dict never does
    [[0x80, 2, ...enc("ctorch\nFloatStorage\n"), 0x29, 0x52, STOP], /torch\.FloatStorage cannot be called/],
    [[0x80, 2, 0x4e, STOP], /holds None, not a state_dict/],
    [[0x80, 2, 0x7d, 0x8c, 1, ...enc("a"), 0x4b, 3, 0x73, STOP], /entry 'a' is an int, not a tensor/],
    [[0x80, 2, 0x7d], /truncated pickle|stack/],
  ];
  for (const [pickle, message] of cases) {
    assert.throws(() => parseTorchStateDict(archive(pickle), "case.pth"), (e: unknown) => e instanceof InputError && message.test(e.message), `${message}`);
  }
});

test("missing, non-zip, legacy, empty and big-endian files give clear errors with exit code 2", () => {
  const notZip = join(dir, "not-a-zip.pth");
  writeFileSync(notZip, "hello, this is text");
  const legacy = join(dir, "legacy.pth");
  writeFileSync(legacy, Uint8Array.from([0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
  const empty = join(dir, "empty.pth");
  writeFileSync(empty, "");
  const bigEndian = join(dir, "big-endian.pth");
  writeFileSync(bigEndian, archive([0x80, 2, 0x7d, STOP], { "archive/byteorder": new TextEncoder().encode("big") }));
  const noPickle = join(dir, "no-pickle.pth");
  writeFileSync(noPickle, zipSync({ "x/readme.txt": new Uint8Array(1) }));
  const cases: Array<[string, RegExp]> = [
    [join(dir, "missing.pth"), /missing\.pth: file not found/],
    [notZip, /not-a-zip\.pth: not a PyTorch file: torch\.save writes a zip archive/],
    [legacy, /legacy\.pth: a legacy \(pre-zip\) torch\.save file/],
    [empty, /empty\.pth: the file is empty/],
    [bigEndian, /byteorder is 'big'/],
    [noPickle, /a zip archive without data\.pkl/],
    [fixture("torch_layouts.pth"), /tensors that are not part of the reference DEC module|no encoder weights/],
  ];
  cases.forEach(([file, message], i) => {
    const out = join(dir, `bad-${i}`);
    const r = cli("import-torch", file, "--out", out);
    assert.equal(r.code, 2, `${file} → exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(existsSync(out), false, "no output directory is left behind");
  });
});

/** A state_dict as torch.save writes it (protocol 2, one storage per tensor), built by hand. */
function stateDictZip(entries: Array<{ name: string; shape: number[]; data: number[]; storage?: "Float" | "Double" | "Long" }>): Uint8Array {
  const u32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
  const str = (s: string) => [0x58, ...u32(enc(s).length), ...enc(s)];
  const int = (n: number) => [0x4a, ...u32(n)];
  const tuple = (xs: number[]) => [0x28, ...xs.flatMap(int), 0x74];
  const pickle = [0x80, 2, 0x7d, 0x28];
  const files: Record<string, Uint8Array> = {};
  entries.forEach((e, i) => {
    const type = e.storage ?? "Float";
    const stride = e.shape.map((_, d) => e.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    pickle.push(...str(e.name), ...enc("ctorch._utils\n_rebuild_tensor_v2\n"), 0x28);
    pickle.push(0x28, ...str("storage"), ...enc(`ctorch\n${type}Storage\n`), ...str(String(i)), ...str("cpu"), ...int(e.data.length), 0x74, 0x51);
    pickle.push(...int(0), ...tuple(e.shape), ...tuple(stride), 0x89, 0x7d, 0x74, 0x52);
    files[`archive/data/${i}`] =
      type === "Float" ? new Uint8Array(Float32Array.from(e.data).buffer) : type === "Double" ? new Uint8Array(Float64Array.from(e.data).buffer) : new Uint8Array(BigInt64Array.from(e.data.map(BigInt)).buffer);
  });
  pickle.push(0x75, STOP);
  return archive(pickle, files);
}

const refEntries = () => Object.entries(ref.tensors).map(([name, t]) => ({ name, shape: [...t.shape], data: [...t.data] }));

test("a hand-written state_dict pickle reads like PyTorch's (float64 rounded to float32)", async () => {
  const file = join(dir, "hand.pth");
  writeFileSync(file, stateDictZip(refEntries().map((e) => (e.name === "encoder.0.weight" ? { ...e, storage: "Double" as const } : e))));
  const { autoencoder, config } = importTorchStateDict(file, { session: { threads: 1 } });
  assert.deepEqual(config.dims, ref.dims);
  for (const [name, t] of Object.entries(ref.tensors)) assert.deepEqual(autoencoder.params.value(name), Float32Array.from(t.data), name);
});

test("state_dicts that are not the reference DEC module are rejected by tensor name and shape", () => {
  const without = (...names: string[]) => refEntries().filter((e) => !names.includes(e.name));
  const reshaped = (name: string, shape: number[]) => refEntries().map((e) => (e.name === name ? { ...e, shape, data: new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0) } : e));
  const cases: Array<[ReturnType<typeof refEntries>, RegExp]> = [
    [without("assignment.cluster_centers"), /no 'assignment\.cluster_centers'/],
    [[...refEntries(), { name: "encoder.1.weight", shape: [16, 16], data: new Array<number>(256).fill(0) }], /indices 0, 1, 2, 4/],
    [[...refEntries(), { name: "head.weight", shape: [2, 2], data: [1, 2, 3, 4] }], /not part of the reference DEC module: head\.weight/],
    [without("encoder.2.bias"), /encoder\.2\.bias is missing/],
    [without("decoder.4.weight", "decoder.4.bias"), /the decoder has 2 Linear layers, the encoder 3/],
    [reshaped("encoder.2.weight", [8, 15]), /encoder\.2\.weight is \[8, 15\]: its input size 15 does not match the previous layer's output 16/],
    [reshaped("decoder.0.weight", [8, 5]), /decoder\.0\.weight is \[8, 5\], the mirrored decoder needs \[8, 4\]/],
    [reshaped("assignment.cluster_centers", [3, 5]), /'assignment\.cluster_centers' is \[3, 5\], expected \[k, 4\]/],
    [refEntries().map((e) => (e.name === "encoder.0.bias" ? { ...e, storage: "Long" as const, data: e.data.map(Math.round) } : e)), /tensor 'encoder\.0\.bias' is int64; only float32 and float64/],
    [refEntries().map((e) => (e.name === "encoder.0.bias" ? { ...e, data: e.data.map(() => NaN) } : e)), /'encoder\.0\.bias' holds NaN/],
  ];
  cases.forEach(([entries, message], i) => {
    const file = join(dir, `wrong-${i}.pth`);
    writeFileSync(file, stateDictZip(entries));
    assert.throws(() => importTorchStateDict(file), (e: unknown) => e instanceof InputError && message.test(e.message) && e.message.startsWith(file), `${message}`);
  });
  assert.throws(() => importTorchStateDict(stateDict, { alpha: 0 }), RangeError);
  const r = cli("import-torch", stateDict, "--out", join(dir, "alpha"), "--alpha", "-1");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--alpha must be a number/);
});

test("--help explains every option", () => {
  const r = cli("import-torch", "--help");
  assert.equal(r.code, 0);
  for (const option of ["--out", "--alpha", "--force", "--json"]) assert.match(r.stdout, new RegExp(option));
  assert.match(r.stdout, /executes nothing/);
});
