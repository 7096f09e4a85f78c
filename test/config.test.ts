// Defaults live in one place (src/config.ts): resolveConfig fills a configuration from DEFAULTS,
// no other module writes a default of a setting as a literal, and every default the command line
// shows (commander's "(default: …)") is DEFAULTS' value for that option.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import type { Command } from "commander";
import { DEFAULTS, resolveConfig, trainingRecord } from "../src/config.js";
import { presetConfig } from "../src/dec/presets.js";
import { trainCommand } from "../src/cli/train.js";
import { chooseKCommand } from "../src/cli/choose-k.js";
import { predictCommand, evaluateCommand } from "../src/cli/predict.js";
import { kmeansCommand } from "../src/cli/kmeans.js";
import { pretrainCommand } from "../src/cli/pretrain.js";
import { serveCommand } from "../src/cli/serve.js";
import { reportCommand } from "../src/cli/report.js";
import { exportCommand } from "../src/cli/export.js";
import { importTorchCommand } from "../src/cli/import-torch.js";
import { metricsCommand } from "../src/cli/metrics.js";
import { topicsCommand } from "../src/cli/topics.js";
import { embedCommand } from "../src/cli/embed.js";

const src = new URL("../src/", import.meta.url).pathname;

test("resolveConfig fills every unset setting from DEFAULTS", () => {
  const r = resolveConfig({ k: 3 }, 1000);
  assert.deepEqual(r.hidden, [500, 500, 2000, 10]);
  assert.equal(r.nInit, 20);
  assert.equal(r.maxIter, 20_000);
  assert.equal(r.updateInterval, 10); // 1000 rows / (2 × 256), clamped to ≥ 10
  assert.equal(resolveConfig({ k: 3 }, 70_000).updateInterval, 137);
  assert.equal(resolveConfig({ k: 3, batchSize: 5000 }, 1000).updateInterval, 10); // batch capped at the rows
  assert.deepEqual(r.pretrain, DEFAULTS.pretrain);
  assert.deepEqual(r.optimizer, DEFAULTS.clustering.optimizer);
  for (const key of ["method", "alpha", "gamma", "target", "tol", "batchSize", "shuffle", "freezeEncoder"] as const)
    assert.equal(r[key], DEFAULTS.clustering[key], key);
  assert.deepEqual(
    [r.seed, r.threads, r.device, r.init, r.centerInit, r.inputScaling, r.normalizeCode],
    [DEFAULTS.seed, DEFAULTS.threads, DEFAULTS.device, DEFAULTS.weightInit, "kmeans", "none", false],
  );
  assert.equal("manifold" in r, false, "no manifold settings without the manifold start");
  const m = resolveConfig({ k: 3, centerInit: "manifold", manifold: { nNeighbors: 7 } }, 1000);
  assert.deepEqual(m.manifold, { ...DEFAULTS.manifold, nNeighbors: 7 });
  // What is set stays set; the record leaves out what config.json holds at its top level.
  const given = resolveConfig({ k: 4, seed: 9, tol: 0, hidden: [8, 2] }, 100);
  assert.deepEqual([given.seed, given.tol, given.hidden], [9, 0, [8, 2]]);
  const record = trainingRecord(given);
  assert.equal("k" in record || "hidden" in record || "normalizeCode" in record, false);
  assert.equal(record.seed, 9);
});

/** Every key of DEFAULTS, at any depth, and the settings' other names in option objects. */
function settingNames(): Set<string> {
  const names = new Set<string>(["init", "lr"]);
  const walk = (o: object) => {
    for (const [key, value] of Object.entries(o)) {
      names.add(key);
      if (value && typeof value === "object" && !Array.isArray(value)) walk(value);
    }
  };
  walk(DEFAULTS);
  return names;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

test("no module but config.ts writes a default of a setting as a literal (`x.nInit ?? 20`)", () => {
  const names = settingNames();
  const stray: string[] = [];
  let fallbacks = 0;
  for (const file of sourceFiles(src)) {
    const rel = relative(src, file);
    // config.ts defines them; nn/ mirrors PyTorch's own optimizer defaults (SGD's momentum is 0 there).
    if (rel === "config.ts" || rel.startsWith("nn/")) continue;
    const lines = readFileSync(file, "utf8").split("\n");
    lines.forEach((line, i) => {
      for (const m of line.matchAll(/([A-Za-z_$][\w$]*)\s*\)?\s*\?\?\s*(-?\d[\d_.e+-]*|true|false|"[^"]*"|'[^']*')/g)) {
        fallbacks++;
        if (names.has(m[1]!)) stray.push(`src/${rel}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assert.ok(fallbacks > 10, `only ${fallbacks} literal fallbacks seen: is the pattern still right?`);
  assert.deepEqual(stray, [], "take these defaults from DEFAULTS (src/config.ts)");
});

/** For each command, the DEFAULTS value of every option that has a default (flags that are off by default aside). */
const EXPECTED: Array<[Command, Record<string, unknown>]> = [
  [
    trainCommand(),
    {
      preset: DEFAULTS.preset,
      weightInit: DEFAULTS.weightInit,
      batchSize: DEFAULTS.clustering.batchSize,
      maxIter: DEFAULTS.clustering.maxIter,
      gamma: DEFAULTS.clustering.gamma,
      alpha: DEFAULTS.clustering.alpha,
      nInit: DEFAULTS.kmeans.nInit,
      seed: DEFAULTS.seed,
      threads: DEFAULTS.threads,
      device: DEFAULTS.device,
      out: DEFAULTS.modelDir,
      textColumn: DEFAULTS.embed.textColumn,
      kRange: { from: DEFAULTS.chooseK.from, to: DEFAULTS.chooseK.to },
      kStep: DEFAULTS.chooseK.step,
      kNInit: DEFAULTS.chooseK.nInit,
      kSample: DEFAULTS.chooseK.sampleSize,
      gapReferences: DEFAULTS.chooseK.gapReferences,
      stabilityRuns: DEFAULTS.chooseK.stabilityRuns,
    },
  ],
  [
    chooseKCommand(),
    {
      k: { from: DEFAULTS.chooseK.from, to: DEFAULTS.chooseK.to },
      step: DEFAULTS.chooseK.step,
      kNInit: DEFAULTS.chooseK.nInit,
      kSample: DEFAULTS.chooseK.sampleSize,
      gapReferences: DEFAULTS.chooseK.gapReferences,
      stabilityRuns: DEFAULTS.chooseK.stabilityRuns,
      refine: DEFAULTS.chooseK.refine,
      preset: DEFAULTS.preset,
      seed: DEFAULTS.seed,
      threads: DEFAULTS.threads,
      device: DEFAULTS.device,
      textColumn: DEFAULTS.embed.textColumn,
    },
  ],
  [
    predictCommand(),
    {
      batchSize: DEFAULTS.predictBatchSize,
      threads: DEFAULTS.threads,
      device: DEFAULTS.device,
      precision: DEFAULTS.precision,
      out: DEFAULTS.predictionsFile,
      textColumn: DEFAULTS.embed.textColumn,
    },
  ],
  [
    evaluateCommand(),
    {
      batchSize: DEFAULTS.predictBatchSize,
      threads: DEFAULTS.threads,
      device: DEFAULTS.device,
      precision: DEFAULTS.precision,
      textColumn: DEFAULTS.embed.textColumn,
      space: DEFAULTS.scores.space,
      silhouetteSample: DEFAULTS.scores.silhouetteSample,
      seed: DEFAULTS.seed,
    },
  ],
  [
    kmeansCommand(),
    { nInit: DEFAULTS.kmeans.nInit, maxIter: DEFAULTS.kmeans.maxIter, seed: DEFAULTS.seed, threads: DEFAULTS.threads },
  ],
  [
    pretrainCommand(),
    {
      mode: DEFAULTS.pretrain.mode,
      epochs: DEFAULTS.pretrain.epochs,
      batchSize: DEFAULTS.pretrain.batchSize,
      optimizer: DEFAULTS.pretrain.optimizer.type,
      lr: DEFAULTS.pretrain.optimizer.lr,
      momentum: DEFAULTS.momentum,
      dims: DEFAULTS.referenceHidden,
      noise: DEFAULTS.pretrain.noise.kind,
      noiseFactor: DEFAULTS.pretrain.noise.factor,
      init: DEFAULTS.weightInit,
      seed: DEFAULTS.seed,
      threads: DEFAULTS.threads,
      device: DEFAULTS.device,
    },
  ],
  [
    serveCommand(),
    {
      port: DEFAULTS.serve.port,
      host: DEFAULTS.serve.host,
      threads: DEFAULTS.threads,
      device: DEFAULTS.device,
      precision: DEFAULTS.precision,
      maxBatch: DEFAULTS.serve.maxBatch,
      maxWaitMs: DEFAULTS.serve.maxWaitMs,
      maxRows: DEFAULTS.serve.maxRows,
      headersTimeoutMs: DEFAULTS.serve.headersTimeoutMs,
      requestTimeoutMs: DEFAULTS.serve.requestTimeoutMs,
      keepAliveTimeoutMs: DEFAULTS.serve.keepAliveTimeoutMs,
      shutdownTimeoutMs: DEFAULTS.serve.shutdownTimeoutMs,
    },
  ],
  [reportCommand(), { map: DEFAULTS.report.map, maxPoints: DEFAULTS.report.maxPoints, threads: DEFAULTS.threads }],
  [exportCommand(), { precision: DEFAULTS.precision }],
  [
    importTorchCommand(),
    {
      alpha: DEFAULTS.clustering.alpha,
      maxTensorMib: DEFAULTS.torchLimits.maxTensorBytes / 2 ** 20,
      maxImportMib: DEFAULTS.torchLimits.maxImportBytes / 2 ** 20,
    },
  ],
  [metricsCommand(), {}],
  [
    embedCommand(),
    {
      textColumn: DEFAULTS.embed.textColumn,
      pooling: DEFAULTS.embed.pooling,
      batchSize: DEFAULTS.embed.batchSize,
      threads: DEFAULTS.threads,
      device: DEFAULTS.device,
    },
  ],
  [
    topicsCommand(),
    {
      textColumn: DEFAULTS.topics.textColumn,
      top: DEFAULTS.topics.top,
      examples: DEFAULTS.topics.examples,
      ngrams: DEFAULTS.topics.ngrams,
      stopWords: DEFAULTS.topics.stopWords ?? "none",
      threads: DEFAULTS.threads,
      device: DEFAULTS.device,
    },
  ],
];

test("every default the command line shows is DEFAULTS' value", () => {
  for (const [command, expected] of EXPECTED) {
    const shown: Record<string, unknown> = {};
    for (const option of command.options) {
      const v: unknown = option.defaultValue;
      // Boolean flags default to off (or, for --no-x, on): they have no value to drift.
      if (v === undefined || typeof v === "boolean") continue;
      shown[option.attributeName()] = v;
    }
    assert.deepEqual(shown, expected, `deepclust ${command.name()}`);
  }
});

test("deepclust train's defaults are the ones the library resolves for the default preset", () => {
  const train = trainCommand();
  const cli = Object.fromEntries(train.options.map((o) => [o.attributeName(), o.defaultValue as unknown]));
  const rows = 6018;
  const library = resolveConfig(presetConfig(DEFAULTS.preset, { rows, cols: 100 }, 10), rows);
  for (const key of ["batchSize", "maxIter", "gamma", "alpha", "nInit", "seed", "threads", "device"] as const)
    assert.equal(cli[key], library[key], key);
  assert.equal(cli.weightInit, library.init);
  // The manifold start's settings the help names are the ones the preset resolves to.
  const help = train.helpInformation();
  const m = library.manifold!;
  for (const [flag, value] of [
    ["--umap-components", m.nComponents],
    ["--umap-neighbors", m.nNeighbors],
    ["--umap-epochs", m.nEpochs],
    ["--gmm-restarts", m.restarts],
    ["--hold-epochs", m.holdEpochs],
    ["--anchor-updates", m.anchorUpdates],
  ] as const) {
    const text = help
      .slice(help.indexOf(`\n  ${flag} `) + 1)
      .split(/\n {2}-/)[0]!
      .replace(/\s+/g, " ");
    assert.match(text, new RegExp(`\\(default ${value}[;)]`), flag);
    if (flag === "--hold-epochs") {
      // The code's own mixture (the default on narrow inputs) is held longer, as the help says.
      const narrow = resolveConfig(presetConfig(DEFAULTS.preset, { rows, cols: 16 }, 10), rows);
      assert.equal(narrow.centerInit, "gmm");
      assert.match(text, new RegExp(`; ${narrow.manifold!.holdEpochs} with --init gmm\\)`), flag);
    }
  }
});
