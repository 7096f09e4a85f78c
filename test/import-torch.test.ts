// deepclust import-torch: the restricted unpickler reads torch.save'd state_dicts exactly and
// rejects everything else; an imported reference DEC module predicts what PyTorch computes.
// Fixtures: test/fixtures/gen_torch_state_dict.py and, for the hostile files, gen_torch_hostile.py (Debian's PyTorch).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { unzipSync, zipSync } from "fflate";
import { loadModel, MODEL_FILES } from "../src/dec/model-dir.js";
import { importTorchStateDict } from "../src/dec/torch-import.js";
import { InputError, readSafetensors, writeNpy } from "../src/io/index.js";
import { parseTorchStateDict, readTorchStateDict } from "../src/io/torch-pickle.js";
import { deflated, rawZip, stored, type RawEntry } from "./helpers/raw-zip.js";

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
  const r = spawnSync(process.execPath, ["--import", "tsx", join(root, "src/cli/main.ts"), ...args], {
    encoding: "utf8",
    cwd: root,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Peak resident memory allowed to the CLI on a hostile file: it takes about 110 MiB on a small model. */
const BOUNDED_RSS_MIB = 200;

/**
 * The CLI in a child process with a small V8 heap, and its peak resident memory (Infinity when it
 * died before reporting it): what a hostile file makes the importer allocate.
 */
function boundedCli(...args: string[]) {
  const rssFile = join(dir, `peak-rss-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync(
    process.execPath,
    [
      "--max-old-space-size=64",
      "--import",
      "tsx",
      "--import",
      join(root, "test/helpers/peak-rss.ts"),
      join(root, "src/cli/main.ts"),
      ...args,
    ],
    {
      encoding: "utf8",
      cwd: root,
      env: { ...process.env, DEEPCLUST_PEAK_RSS_FILE: rssFile },
    },
  );
  const peakMiB = existsSync(rssFile) ? Number(readFileSync(rssFile, "utf8")) / 1024 : Infinity;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, peakMiB };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++)
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

const STOP = 0x2e;
const enc = (s: string) => [...new TextEncoder().encode(s)];

/** A torch.save-shaped zip around a hand-written pickle. */
function archive(pickle: number[] | Uint8Array, extra: Record<string, Uint8Array> = {}): Uint8Array {
  return zipSync(
    { "archive/data.pkl": Uint8Array.from(pickle), "archive/version": new TextEncoder().encode("3\n"), ...extra },
    { level: 0 },
  );
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
  assert.deepEqual(
    [config.inputDim, config.dims, config.k, config.alpha, config.decoder],
    [20, [20, 16, 8, 4], 3, 1, true],
  );
  const { tensors } = readSafetensors(join(out, MODEL_FILES.weights));
  assert.deepEqual(
    Object.keys(tensors).sort(),
    Object.keys(ref.tensors).sort(),
    "the same names as the PyTorch state_dict",
  );
  for (const [name, want] of Object.entries(ref.tensors))
    assert.deepEqual(tensors[name]!.data, Float32Array.from(want.data), name);

  const npy = join(dir, "inputs.npy");
  writeNpy(npy, X);
  const predictions = join(dir, "predictions.jsonl");
  const p = cli("predict", out, npy, "--out", predictions, "--proba", "--threads", "1");
  assert.equal(p.code, 0, p.stderr);
  const rows = readFileSync(predictions, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { cluster: number; probabilities: number[] });
  assert.deepEqual(
    rows.map((row) => row.cluster),
    ref.labels,
  );
  assertClose(
    rows.flatMap((row) => row.probabilities),
    ref.q.data,
    1e-5,
    "q",
  );

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
  assert.ok(
    model.autoencoder.params.value("decoder.0.weight").every(Number.isNaN),
    "absent decoder weights are NaN, not made up",
  );
  assertClose((await model.predictProba(X)).data, ref.q.data, 1e-5, "q");
  assert.deepEqual([...(await model.predict(X))], ref.labels);
  await model.release();
  const exported = join(dir, "no-decoder.onnx");
  const e = cli("export", out, "--onnx", exported);
  assert.equal(e.code, 0, e.stderr);
  assert.ok(existsSync(exported));
});

test("a pickle calling posix.system is rejected with exit code 2, naming the global, and writes nothing", () => {
  assert.throws(
    () => readTorchStateDict(malicious),
    (e: unknown) =>
      e instanceof InputError &&
      /global 'posix\.system' is not allowed/.test(e.message) &&
      e.message.includes(malicious),
  );
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
    [
      [0x80, 2, ...enc("cbuiltins\neval\n"), 0x8c, 8, ...enc("print(1)"), 0x85, 0x52, STOP],
      /global 'builtins\.eval' is not allowed/,
    ],
    // STACK_GLOBAL builtins.getattr
    [
      [0x80, 4, 0x8c, 8, ...enc("builtins"), 0x8c, 7, ...enc("getattr"), 0x93, STOP],
      /global 'builtins\.getattr' is not allowed/,
    ],
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
    assert.throws(
      () => parseTorchStateDict(archive(pickle), "case.pth"),
      (e: unknown) => e instanceof InputError && message.test(e.message),
      `${message}`,
    );
  }
});

test("missing, non-zip, legacy, empty and big-endian files give clear errors with exit code 2", () => {
  const notZip = join(dir, "not-a-zip.pth");
  writeFileSync(notZip, "hello, this is text");
  const legacy = join(dir, "legacy.pth");
  writeFileSync(
    legacy,
    Uint8Array.from([0x80, 2, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]),
  );
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

interface TensorSpec {
  name: string;
  shape: number[];
  data: number[];
  storage?: "Float" | "Double" | "Long";
  /** Layout overrides (default: contiguous from offset 0, a storage of data.length elements). */
  stride?: number[];
  offset?: number;
  numel?: number;
  /** The storage's key (default: the tensor's index); tensors with one key share its entry. */
  key?: string;
}

/** The files of a state_dict as torch.save writes it (protocol 2, one storage per tensor), built by hand. */
function stateDictFiles(entries: TensorSpec[]): Record<string, Uint8Array> {
  const u32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
  const str = (s: string) => [0x58, ...u32(enc(s).length), ...enc(s)];
  const long1 = (n: number) => [
    0x8a,
    8,
    ...[...Array(8).keys()].map((i) => Number((BigInt.asUintN(64, BigInt(n)) >> BigInt(8 * i)) & 0xffn)),
  ];
  const int = (n: number) => (n >= -(2 ** 31) && n < 2 ** 31 ? [0x4a, ...u32(n)] : long1(n));
  const tuple = (xs: number[]) => [0x28, ...xs.flatMap(int), 0x74];
  const pickle = [0x80, 2, 0x7d, 0x28];
  const files: Record<string, Uint8Array> = { "archive/version": new TextEncoder().encode("3\n") };
  entries.forEach((e, i) => {
    const type = e.storage ?? "Float";
    const key = e.key ?? String(i);
    const stride = e.stride ?? e.shape.map((_, d) => e.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    pickle.push(...str(e.name), ...enc("ctorch._utils\n_rebuild_tensor_v2\n"), 0x28);
    pickle.push(
      0x28,
      ...str("storage"),
      ...enc(`ctorch\n${type}Storage\n`),
      ...str(key),
      ...str("cpu"),
      ...int(e.numel ?? e.data.length),
      0x74,
      0x51,
    );
    pickle.push(...int(e.offset ?? 0), ...tuple(e.shape), ...tuple(stride), 0x89, 0x7d, 0x74, 0x52);
    files[`archive/data/${key}`] =
      type === "Float"
        ? new Uint8Array(Float32Array.from(e.data).buffer)
        : type === "Double"
          ? new Uint8Array(Float64Array.from(e.data).buffer)
          : new Uint8Array(BigInt64Array.from(e.data.map(BigInt)).buffer);
  });
  pickle.push(0x75, STOP);
  return { "archive/data.pkl": Uint8Array.from(pickle), ...files };
}

function stateDictZip(entries: TensorSpec[]): Uint8Array {
  return zipSync(stateDictFiles(entries), { level: 0 });
}

const refEntries = () =>
  Object.entries(ref.tensors).map(([name, t]) => ({ name, shape: [...t.shape], data: [...t.data] }));

test("a hand-written state_dict pickle reads like PyTorch's (float64 rounded to float32)", async () => {
  const file = join(dir, "hand.pth");
  writeFileSync(
    file,
    stateDictZip(refEntries().map((e) => (e.name === "encoder.0.weight" ? { ...e, storage: "Double" as const } : e))),
  );
  const { autoencoder, config } = importTorchStateDict(file, { session: { threads: 1 } });
  assert.deepEqual(config.dims, ref.dims);
  for (const [name, t] of Object.entries(ref.tensors))
    assert.deepEqual(autoencoder.params.value(name), Float32Array.from(t.data), name);
});

test("state_dicts that are not the reference DEC module are rejected by tensor name and shape", () => {
  const without = (...names: string[]) => refEntries().filter((e) => !names.includes(e.name));
  const reshaped = (name: string, shape: number[]) =>
    refEntries().map((e) =>
      e.name === name ? { ...e, shape, data: new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0) } : e,
    );
  const cases: Array<[ReturnType<typeof refEntries>, RegExp]> = [
    [without("assignment.cluster_centers"), /no 'assignment\.cluster_centers'/],
    [
      [...refEntries(), { name: "encoder.1.weight", shape: [16, 16], data: new Array<number>(256).fill(0) }],
      /indices 0, 1, 2, 4/,
    ],
    [
      [...refEntries(), { name: "head.weight", shape: [2, 2], data: [1, 2, 3, 4] }],
      /not part of the reference DEC module: head\.weight/,
    ],
    [without("encoder.2.bias"), /encoder\.2\.bias is missing/],
    [without("decoder.4.weight", "decoder.4.bias"), /the decoder has 2 Linear layers, the encoder 3/],
    [
      reshaped("encoder.2.weight", [8, 15]),
      /encoder\.2\.weight is \[8, 15\]: its input size 15 does not match the previous layer's output 16/,
    ],
    [reshaped("decoder.0.weight", [8, 5]), /decoder\.0\.weight is \[8, 5\], the mirrored decoder needs \[8, 4\]/],
    [reshaped("assignment.cluster_centers", [3, 5]), /'assignment\.cluster_centers' is \[3, 5\], expected \[k, 4\]/],
    [
      refEntries().map((e) =>
        e.name === "encoder.0.bias" ? { ...e, storage: "Long" as const, data: e.data.map(Math.round) } : e,
      ),
      /tensor 'encoder\.0\.bias' is int64; only float32 and float64/,
    ],
    [
      refEntries().map((e) => (e.name === "encoder.0.bias" ? { ...e, data: e.data.map(() => NaN) } : e)),
      /'encoder\.0\.bias' holds NaN/,
    ],
  ];
  cases.forEach(([entries, message], i) => {
    const file = join(dir, `wrong-${i}.pth`);
    writeFileSync(file, stateDictZip(entries));
    assert.throws(
      () => importTorchStateDict(file),
      (e: unknown) => e instanceof InputError && message.test(e.message) && e.message.startsWith(file),
      `${message}`,
    );
  });
  assert.throws(() => importTorchStateDict(stateDict, { alpha: 0 }), RangeError);
  const r = cli("import-torch", stateDict, "--out", join(dir, "alpha"), "--alpha", "-1");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--alpha must be a number/);
});

test("--help explains every option", () => {
  const r = cli("import-torch", "--help");
  assert.equal(r.code, 0);
  for (const option of ["--out", "--alpha", "--max-tensor-mib", "--max-import-mib", "--force", "--json"])
    assert.match(r.stdout, new RegExp(option));
  assert.match(r.stdout, /executes nothing/);
});

// ---- Hostile files: sizes, zip bombs, lying headers (test/fixtures/gen_torch_hostile.py) ------

test("a stride-0 tensor that would expand to 10 GB is refused from its shape, before anything is allocated", () => {
  const file = fixture("hostile_stride0.pth");
  const out = join(dir, "stride0");
  const r = boundedCli("import-torch", file, "--out", out);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /hostile_stride0\.pth: tensor 'encoder\.0\.weight' \[50000,50000\] takes 9536\.7 MiB as float32 from a storage of 1 element \(stride \[0,0\]\), over the limit of 1024 MiB a tensor \(raise it with --max-tensor-mib/,
  );
  assert.ok(r.peakMiB < BOUNDED_RSS_MIB, `peak resident memory ${r.peakMiB} MiB`);
  assert.equal(existsSync(out), false);
  // Past the per-tensor limit, the whole import's limit still holds.
  assert.throws(
    () => importTorchStateDict(file, { maxTensorBytes: 2 ** 40 }),
    (e: unknown) =>
      e instanceof InputError &&
      /the tensors up to 'encoder\.0\.weight' take 9536\.7 MiB .*over the limit of 2048 MiB for the whole import \(raise it with --max-import-mib, or maxImportBytes/.test(
        e.message,
      ),
  );
});

test("--max-tensor-mib and --max-import-mib set the limits; an absent decoder counts, as the model holds it", () => {
  const cases: Array<[string, string[], RegExp]> = [
    [
      stateDict,
      ["--max-tensor-mib", "0.001"],
      /tensor 'encoder\.0\.weight' \[16,20\] takes 1280 bytes as float32, over the limit of 1048 bytes a tensor/,
    ],
    // The reference's 1028 parameters take 4112 bytes; 0.003 MiB is 3145 bytes.
    [
      stateDict,
      ["--max-import-mib", "0.003"],
      /the tensors up to 'decoder\.\d\.(weight|bias)' take \d+ bytes .*over the limit of 3145 bytes for the whole import/,
    ],
    [
      noDecoder,
      ["--max-import-mib", "0.003"],
      /the model has 1028 float32 parameters \(4112 bytes, its decoder \(absent from the file, held as NaN\) included\), over the limit of 3145 bytes/,
    ],
    [stateDict, ["--max-tensor-mib", "0"], /--max-tensor-mib must be a number/],
  ];
  cases.forEach(([file, flags, message], i) => {
    const out = join(dir, `limits-${i}`);
    const r = cli("import-torch", file, "--out", out, ...flags);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.equal(existsSync(out), false);
  });
  assert.equal(
    cli(
      "import-torch",
      noDecoder,
      "--out",
      join(dir, "limits-ok"),
      "--max-import-mib",
      "0.004",
      "--max-tensor-mib",
      "0.002",
    ).code,
    0,
    "4112 bytes pass a limit of 4194",
  );

  // The default limits pass a DEC of MNIST's size (784→500→500→2000→10 with its decoder, k = 10).
  const dims = [784, 500, 500, 2000, 10];
  const linear = (prefix: string, sizes: number[]) =>
    sizes.slice(1).flatMap((out, i) => [
      {
        name: `${prefix}.${2 * i}.weight`,
        shape: [out, sizes[i]!],
        data: new Array<number>(out * sizes[i]!).fill(0.01),
      },
      { name: `${prefix}.${2 * i}.bias`, shape: [out], data: new Array<number>(out).fill(0) },
    ]);
  const mnist = join(dir, "mnist-dec.pth");
  writeFileSync(
    mnist,
    stateDictZip([
      ...linear("encoder", dims),
      ...linear("decoder", [...dims].reverse()),
      { name: "assignment.cluster_centers", shape: [10, 10], data: new Array<number>(100).fill(1) },
    ]),
  );
  const { config } = importTorchStateDict(mnist);
  assert.deepEqual([config.dims, config.k], [dims, 10]);
});

test("entries no tensor uses are never inflated: three 128 MiB zip bombs beside a state_dict import in bounded memory", () => {
  const out = join(dir, "zip-bomb");
  const r = boundedCli("import-torch", fixture("hostile_zip_bomb.pth"), "--out", out);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.peakMiB < BOUNDED_RSS_MIB, `peak resident memory ${r.peakMiB} MiB`);
  const { tensors } = readSafetensors(join(out, MODEL_FILES.weights));
  for (const [name, want] of Object.entries(ref.tensors))
    assert.deepEqual(tensors[name]!.data, Float32Array.from(want.data), name);
});

test("an entry that declares 64 KiB but inflates to more is refused at the declared size", () => {
  const out = join(dir, "size-lies");
  const r = boundedCli("import-torch", fixture("hostile_declared_size_lies.pth"), "--out", out);
  assert.equal(r.code, 2, r.stderr);
  // The stream turns invalid after 16 MiB: an inflater that went past the declared size would say so instead.
  assert.match(
    r.stderr,
    /hostile_declared_size_lies\.pth: zip entry 'hostile_declared_size_lies\/data\/\d+': inflates to more than its declared 65536 bytes \(a zip bomb\?\); stopped there/,
  );
  assert.ok(r.peakMiB < BOUNDED_RSS_MIB, `peak resident memory ${r.peakMiB} MiB`);
  assert.equal(existsSync(out), false);
});

test("the zip structure is checked: ZIP64 records, declared sizes, CRC-32, local headers, entry names", () => {
  const files = unzipSync(readFileSync(stateDict));
  const entries = () => Object.entries(files).map(([name, data]) => stored(name, data));
  const weight = "dec_reference_state_dict/data/0"; // encoder.0.weight [16, 20]: 1280 bytes
  const edit = (name: string, change: (e: RawEntry) => RawEntry) =>
    entries().map((e) => (e.name === name ? change(e) : e));
  const readAll = (bytes: Uint8Array) =>
    [...parseTorchStateDict(bytes, "case.pth").tensors].map(([name, t]) => [name, [...t.read()]] as const);

  // ZIP64 (64-bit sizes and offsets in extra fields, a ZIP64 end record) and deflated entries read like the original.
  const want = Object.entries(ref.tensors).map(([name, t]) => [name, t.data] as const);
  assert.deepEqual(readAll(rawZip(entries(), { zip64: true })), want);
  assert.deepEqual(
    readAll(
      rawZip(
        Object.entries(files).map(([name, data]) => deflated(name, data)),
        { zip64: true },
      ),
    ),
    want,
  );

  const altered = Uint8Array.from(files[weight]!);
  altered[100]! ^= 1;
  const cases: Array<[RawEntry[], RegExp]> = [
    [
      edit(weight, (e) => ({ ...e, payload: altered, crc: crc32(e.payload) >>> 0 })),
      /'dec_reference_state_dict\/data\/0': CRC-32 mismatch: the data has 0x[0-9a-f]{8}, the archive records 0x[0-9a-f]{8}/,
    ],
    // A deflated entry that declares 3.9 GB where its storage needs 1280 bytes is refused before inflating.
    [
      edit(weight, (e) => ({ ...deflated(e.name, e.payload), size: 3_900_000_000 })),
      /data\/0': declares 3900000000 bytes \(3719\.3 MiB\), the data it holds needs 1280 bytes/,
    ],
    [
      edit(weight, (e) => ({ ...e, payload: e.payload.subarray(0, 1276) })),
      /data\/0': declares 1276 bytes, the data it holds needs 1280 bytes/,
    ],
    [
      edit(weight, (e) => ({
        ...deflated(e.name, e.payload),
        size: 1280,
        payload: deflated(e.name, e.payload).payload.subarray(0, 40),
      })),
      /data\/0': corrupt deflate data \(unexpected end of file\)/,
    ],
    [
      edit(weight, (e) => ({ ...e, local: { name: "dec_reference_state_dict/data/1" } })),
      /data\/0': its local header names 'dec_reference_state_dict\/data\/1'/,
    ],
    [
      edit(weight, (e) => ({ ...e, local: { size: 64 } })),
      /data\/0': its local header \(CRC 0x[0-9a-f]{8}, 1280 bytes compressed, 64 bytes\) disagrees with the central directory/,
    ],
    [edit(weight, (e) => ({ ...e, flags: 0x801 })), /data\/0': is encrypted/],
    [edit(weight, (e) => ({ ...e, method: 12 })), /data\/0': uses compression method 12/],
    [[...entries(), stored(weight, new Uint8Array(4))], /two entries are named 'dec_reference_state_dict\/data\/0'/],
    [
      [...entries(), stored("dec_reference_state_dict/data/../data.pkl", new Uint8Array(4))],
      /the entry name 'dec_reference_state_dict\/data\/\.\.\/data\.pkl' is not a plain relative path/,
    ],
    [
      [...entries(), stored("/etc/passwd", new Uint8Array(4))],
      /the entry name '\/etc\/passwd' is not a plain relative path/,
    ],
  ];
  for (const [archiveEntries, message] of cases) {
    assert.throws(
      () => readAll(rawZip(archiveEntries)),
      (e: unknown) => e instanceof InputError && message.test(e.message) && e.message.startsWith("case.pth: "),
      `${message}`,
    );
  }
  const whole = rawZip(entries());
  for (const cut of [whole.length - 1, whole.length - 30, whole.length >> 1]) {
    assert.throws(
      () => readAll(whole.subarray(0, cut)),
      (e: unknown) => e instanceof InputError && /corrupt zip archive/.test(e.message),
      `truncated to ${cut} bytes`,
    );
  }
});

test("hostile layouts are refused from the pickle: huge shapes, strides out of storage, sizes the entry does not hold, odd storage keys", () => {
  const one = { data: [1] };
  const cases: Array<[TensorSpec[], RegExp]> = [
    [
      [{ name: "w", shape: [2 ** 40, 2 ** 40], ...one, stride: [0, 0] }],
      /tensor 'w' \[1099511627776,1099511627776\] takes 4\.61e\+18 MiB as float32 from a storage of 1 element/,
    ],
    // A product that overflows to Infinity is over any limit.
    [
      [{ name: "w", shape: Array<number>(21).fill(2 ** 50), ...one, stride: Array<number>(21).fill(0) }],
      /tensor 'w' \[.*\] takes more than 1e308 bytes as float32/,
    ],
    [[{ name: "w", shape: [-1], ...one }], /a tensor's size must be a non-negative integer, got an int -1/],
    [
      [{ name: "w", shape: [3, 2], data: [1, 2, 3, 4, 5, 6], stride: [2, 2] }],
      /tensor 'w' \(offset 0, size \[3,2\], stride \[2,2\]\) reaches element 6, past the end of its storage of 6 elements/,
    ],
    [
      [{ name: "w", shape: [2], data: [1, 2], offset: 1 }],
      /reaches element 2, past the end of its storage of 2 elements/,
    ],
    [
      [{ name: "w", shape: [2 ** 20], data: [1], stride: [2 ** 40] }],
      /reaches element \d+, past the end of its storage of 1 elements/,
    ],
    // The pickle says 10 elements, the entry holds 4.
    [
      [{ name: "w", shape: [4], data: [1, 2, 3, 4], numel: 10 }],
      /zip entry 'archive\/data\/0': declares 16 bytes, the data it holds needs 40 bytes/,
    ],
    // A storage of 2^40 float64 elements under a 1-element view.
    [
      [{ name: "w", shape: [1], data: [1], numel: 2 ** 40, storage: "Double" }],
      /tensor 'w' is read from storage 0 of 1099511627776 float64 elements \(8388608 MiB\), over the limit/,
    ],
    [
      [
        { name: "a", shape: [2], data: [1, 2], key: "s" },
        { name: "b", shape: [2], data: [1, 2], key: "s", storage: "Double" },
      ],
      /storage s is referenced as 2 float32 elements and as 2 float64 elements/,
    ],
    [[{ name: "w", shape: [1], data: [1], key: "x/0" }], /storage key 'x\/0' is not a plain name/],
  ];
  for (const [specs, message] of cases) {
    assert.throws(
      () => [...parseTorchStateDict(stateDictZip(specs), "case.pth").tensors.values()].map((t) => t.read()),
      (e: unknown) => e instanceof InputError && message.test(e.message),
      `${message}`,
    );
  }
  // Views of one storage within it, and an empty tensor with an overflowing shape, read fine.
  const ok = parseTorchStateDict(
    stateDictZip([
      { name: "a", shape: [2, 2], data: [1, 2, 3, 4], key: "s" },
      { name: "b", shape: [3], data: [1, 2, 3, 4], key: "s", offset: 1 },
      { name: "e", shape: [...Array<number>(8).fill(2 ** 50), 0], data: [] },
    ]),
    "ok.pth",
  ).tensors;
  assert.deepEqual([...ok.get("b")!.read()], [2, 3, 4]);
  assert.equal(ok.get("e")!.read().length, 0);
});
