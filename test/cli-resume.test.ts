// `deepclust train --resume` as a user runs it (the built CLI, `npm test` builds dist/ first): a
// checkpoint continues only the run that wrote it. Other data (fewer or more rows, the same rows
// in another order) or other options (method, seed, dims, k) are refused with exit code 2 and a
// message that lists each difference, and nothing is written; what may change (--max-iter to
// extend the run, --threads) still resumes to the uninterrupted run's model.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const digits = new URL("./fixtures/digits.csv", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "deepclust-cli-resume-"));
const SMALL = [
  "-k",
  "10",
  "--dims",
  "32,10",
  "--pretrain-epochs",
  "3",
  "--max-iter",
  "50",
  "--tol",
  "0",
  "--threads",
  "1",
];
SMALL.push("--no-baseline", "--no-report");

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Replaces `flag`'s value in SMALL (or appends the flag). */
function withOption(flag: string, value: string): string[] {
  const args = [...SMALL];
  const i = args.indexOf(flag);
  if (i >= 0) args[i + 1] = value;
  else args.push(flag, value);
  return args;
}

// Variants of digits.csv (1,797 rows × 64): a prefix, the rows twice, the rows in reverse order.
const [header, ...lines] = readFileSync(digits, "utf8").trim().split("\n");
function csv(name: string, rows: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, [header, ...rows].join("\n") + "\n");
  return file;
}
const fewer = csv("fewer.csv", lines.slice(0, 300));
const more = csv("more.csv", [...lines, ...lines]);
const permuted = csv("permuted.csv", [...lines].reverse());

// The run every resume below starts from: checkpoints at each target update (every 10 iterations), the last at 40.
const full = join(dir, "full");
const first = run("train", digits, ...SMALL, "--checkpoint-every", "1", "--out", full);
const checkpoint = `${full}.checkpoint`;

/** A resume that must be refused: exit 2, every listed difference in the message, no model directory. */
function refused(name: string, data: string, args: string[], differences: RegExp[]) {
  const out = join(dir, `refused-${name}`);
  const r = run("train", data, ...args, "--resume", checkpoint, "--out", out);
  assert.equal(r.code, 2, `${name}: exit code ${r.code}\n${r.stderr}`);
  assert.match(r.stderr, /state\.json: .*checkpoint/, name);
  for (const d of differences) assert.match(r.stderr, d, `${name}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /expected \d+ values/, "no internal message");
  assert.ok(!existsSync(out), `${name}: nothing is written`);
  return r.stderr;
}

test("the checkpointed run trains", () => {
  assert.equal(first.code, 0, first.stderr);
  assert.ok(existsSync(join(checkpoint, "state.json")));
});

test("--resume with fewer or more rows than the checkpoint's data is refused", () => {
  refused("fewer", fewer, SMALL, [/rows: checkpoint 1797, now 300/]);
  refused("more", more, SMALL, [/rows: checkpoint 1797, now 3594/]);
});

test("--resume with the same rows in another order is refused", () => {
  const message = refused("permuted", permuted, SMALL, [
    /data values: checkpoint sha256 [0-9a-f]{12}…, now sha256 [0-9a-f]{12}…/,
  ]);
  assert.doesNotMatch(message, /rows: checkpoint/, "the shape is the same");
});

test("--resume with another --method or --seed is refused, naming the option", () => {
  refused("method", digits, withOption("--method", "idec"), [/method: checkpoint dec, now idec/]);
  refused("seed", digits, withOption("--seed", "7"), [/seed: checkpoint 0, now 7/]);
});

test("--resume with other --dims or -k is refused with a user-level message, not a tensor error", () => {
  refused("dims", digits, withOption("--dims", "16,10"), [/dims: checkpoint 32,10, now 16,10/]);
  refused("k", digits, withOption("-k", "8"), [/k: checkpoint 10, now 8/]);
  // Several differences at once are all listed.
  const all = [/rows: checkpoint 1797, now 300/, /k: checkpoint 10, now 8/, /method: checkpoint dec, now idec/];
  refused("several", fewer, [...withOption("-k", "8"), "--method", "idec"], all);
});

test("--resume with --max-iter below the checkpoint's iteration is refused", () => {
  refused("max-iter", digits, withOption("--max-iter", "30"), [/maxIter: the checkpoint is at iteration 40, now 30/]);
});

test("--resume may extend --max-iter and change --threads: the model equals an uninterrupted run's", () => {
  const longer = join(dir, "longer");
  assert.equal(run("train", digits, ...withOption("--max-iter", "80"), "--out", longer).code, 0);
  const resumed = join(dir, "longer-resumed");
  const r = run(
    "train",
    digits,
    ...withOption("--max-iter", "80"),
    "--threads",
    "2",
    "--resume",
    checkpoint,
    "--out",
    resumed,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /resumed from/);
  const config = JSON.parse(readFileSync(join(resumed, "config.json"), "utf8"));
  assert.equal(config.training.maxIter, 80);
  // --threads 2 vs 1 may round differently, so the weights are compared to a tolerance.
  const a = readFileSync(join(longer, "model.safetensors"));
  const b = readFileSync(join(resumed, "model.safetensors"));
  assert.equal(a.length, b.length);
  const headerBytes = 8 + Number(a.readBigUInt64LE(0));
  const x = new Float32Array(a.buffer.slice(a.byteOffset + headerBytes, a.byteOffset + a.length));
  const y = new Float32Array(b.buffer.slice(b.byteOffset + headerBytes, b.byteOffset + b.length));
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!));
  assert.ok(worst < 1e-3, `largest weight difference ${worst}`);
});

test("a checkpoint of the earlier format (no record of its data and options) is refused", () => {
  const old = join(dir, "old.checkpoint");
  const copy = spawnSync("cp", ["-r", checkpoint, old]);
  assert.equal(copy.status, 0);
  const meta = JSON.parse(readFileSync(join(old, "state.json"), "utf8"));
  delete meta.data;
  delete meta.config;
  meta.format = "deepclust-clustering-checkpoint-1";
  writeFileSync(join(old, "state.json"), JSON.stringify(meta));
  const out = join(dir, "from-old");
  const r = run("train", digits, ...SMALL, "--resume", old, "--out", out);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /older deepclust.*cannot be checked/s);
  assert.ok(!existsSync(out));
});
