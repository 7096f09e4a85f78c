// The objectives registry (src/dec/objectives.ts) is the one place a clustering method is defined:
// the step, the per-update loss terms, config.json's check and the CLI's --method all follow it.
// (The steps' numbers against PyTorch are in dec-step-parity.test.ts.)

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { Rng } from "../src/engine/index.js";
import { CLUSTERING_METHODS, DEC, OBJECTIVES, isClusteringMethod } from "../src/dec/index.js";
import { checkModelConfig } from "../src/dec/model-config.js";
import { InputError } from "../src/io/errors.js";

function blobs(rows: number, cols: number, seed: number) {
  const rng = new Rng(seed);
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = (i % 3) * 4 + rng.normal();
  return { data, rows, cols };
}

test("every registered method trains, and its update records carry exactly its loss terms", async () => {
  const X = blobs(300, 6, 1);
  for (const method of CLUSTERING_METHODS) {
    const objective = OBJECTIVES[method];
    const dec = await new DEC({
      k: 3,
      hidden: [8, 3],
      threads: 1,
      seed: 0,
      method,
      updateInterval: 10,
      maxIter: 30,
      tol: 0,
      pretrain: { epochs: 5 },
    }).fit(X);
    const last = dec.history.at(-1)!;
    const fields = Object.values(objective.terms);
    for (const field of ["lossRec", "lossKl"] as const) {
      if (fields.includes(field)) assert.ok(Number.isFinite(last[field]!), `${method}: ${field} ${last[field]}`);
      else assert.equal(last[field], undefined, `${method} reports no ${field}`);
    }
    assert.ok(Number.isFinite(last.loss!), `${method}: loss ${last.loss}`);
  }
});

test("config.json's method is checked against the registry", () => {
  for (const m of CLUSTERING_METHODS) assert.ok(isClusteringMethod(m));
  assert.ok(!isClusteringMethod("kmeans") && !isClusteringMethod("toString"));
  const config = {
    format: "deepclust-model",
    formatVersion: 2,
    deepclustVersion: "0.1.0",
    inputDim: 4,
    dims: [4, 2],
    k: 2,
    alpha: 1,
    normalizeCode: false,
    method: "xdec",
    training: {},
    data: null,
  };
  assert.throws(
    () => checkModelConfig("config.json", config),
    (e: unknown) => e instanceof InputError && e.message.includes(`one of ${CLUSTERING_METHODS.join(", ")}`),
  );
});

test("the CLI's --method offers every registered method with its summary", () => {
  const help = execFileSync(process.execPath, ["dist/cli/main.js", "train", "--help"], { encoding: "utf8" }).replace(
    /\s+/g,
    " ",
  );
  for (const m of CLUSTERING_METHODS) assert.ok(help.includes(`${m} (${OBJECTIVES[m].summary})`), m);
});
