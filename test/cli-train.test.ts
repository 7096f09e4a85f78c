// The built CLI as a user runs it (`npm test` builds dist/ first): train → predict → evaluate on
// scikit-learn's digits in the reference CSV format, the other commands, --json, model.onnx in
// onnxruntime-node directly, and every bad-input case (exit 2, a message naming the problem, no
// output left behind). A small configuration keeps each run to a second or two.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { parse } from "csv-parse/sync";
import { readDataset } from "../src/io/dataset.js";

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const digits = new URL("./fixtures/digits.csv", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "deepclust-cli-train-"));
// The mechanical tests: a tiny autoencoder and k-means centres, a second or two per run.
const SMALL = ["--dims", "64,10", "--pretrain-epochs", "5", "--max-iter", "50", "--init", "kmeans", "--threads", "1"];
// The default recipe (--preset manifold): the model the quality, predict and ONNX tests use.
const DEFAULT = ["--threads", "1"];

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Scores {
  acc: number;
  nmi: number;
  ari: number;
  n: number;
  k: number;
  classes: number;
  clustersFound: number;
}
interface InternalScores {
  silhouette: number;
  silhouetteRows: number;
  calinskiHarabasz: number;
  daviesBouldin: number;
}
interface TrainSummary {
  rows: number;
  dims: number[];
  method: string;
  baseline: Scores;
  aeKmeans: Scores;
  dec: Scores & { iterations: number; internalScores: InternalScores };
  clusterSizes: number[];
  timings: { totalSeconds: number };
  supervisedModelSelection: boolean;
  report: string | null;
}

/** The one JSON object a --json run prints. */
function json<T = Scores>(r: ReturnType<typeof run>): T {
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines.length, 1, `--json prints one line on stdout, got:\n${r.stdout}`);
  return JSON.parse(lines[0]!);
}

const model = join(dir, "model");
const trained = run("train", digits, "-k", "10", ...DEFAULT, "--out", model);
const X = (await readDataset(digits)).X;

test("train prints the comparison table, cluster sizes and stage times, and writes the model directory; DEC beats k-means on the raw data", () => {
  assert.equal(trained.code, 0, trained.stderr);
  const out = trained.stdout;
  for (const row of ["k-means (raw data)", "AE + UMAP + GMM", "DEC"])
    assert.match(
      out,
      new RegExp(`^${row.replace(/[()+]/g, "\\$&")}\\s+0\\.\\d{4}\\s+0\\.\\d{4}\\s+-?0\\.\\d{4}$`, "m"),
    );
  assert.match(out, /^\s+ACC\s+NMI\s+ARI$/m);
  assert.match(out, /cluster sizes \(\d+ of 10 non-empty/);
  assert.match(
    out,
    /^internal scores \(code space\): silhouette -?0\.\d{4}, Calinski-Harabasz \d+\.\d, Davies-Bouldin \d+\.\d{4}$/m,
  );
  assert.match(out, /time: k-means raw .* \| pretrain .* \| UMAP \+ GMM .* \| DEC .* \| total/);
  // The held phase ends when the labels settle or at its 30-epoch budget (that line: the next test).
  assert.match(
    out,
    /DEC: \d+ iterations, (converged: \d+\.\d+ % of the points changed cluster, below --tol 0\.10 %|held the mixture's target for --hold-epochs 30 \(last Δlabel \d+\.\d+ %\))/,
  );
  assert.deepEqual(readdirSync(model).sort(), [
    "config.json",
    "metrics.json",
    "model.onnx",
    "model.safetensors",
    "report.html",
  ]);
  const config = JSON.parse(readFileSync(join(model, "config.json"), "utf8"));
  // The default preset scales the autoencoder to the input: 2 × 64 = 128 wide.
  assert.deepEqual([config.inputDim, config.dims, config.k, config.method], [64, [64, 128, 128, 512, 10], 10, "dec"]);
  assert.equal(config.training.centerInit, "manifold");
  assert.deepEqual([config.training.manifold.nNeighbors, config.training.manifold.minDist], [20, 0]);
  assert.equal(config.data.labelsColumn, "labels");
  const metrics = JSON.parse(readFileSync(join(model, "metrics.json"), "utf8"));
  assert.equal(metrics.pretrainHistory.length, 125); // at most 100 epochs, but at least 1,000 steps (8 per epoch)
  // The method beats its baselines: k-means on the raw pixels (0.796 / 0.749 on digits).
  assert.ok(
    metrics.metrics.acc > metrics.baseline.acc && metrics.metrics.nmi > metrics.baseline.nmi,
    `DEC ${JSON.stringify(metrics.metrics)} vs k-means ${JSON.stringify(metrics.baseline)}`,
  );
});

test("a held phase that reaches its --hold-epochs budget says so, with the last share of changed labels", () => {
  const r = run(
    "train",
    digits,
    "-k",
    "10",
    "--dims",
    "64,10",
    "--pretrain-epochs",
    "5",
    "--umap-epochs",
    "20",
    "--hold-epochs",
    "1",
    "--threads",
    "1",
    "--no-baseline",
    "--no-report",
    "--out",
    join(dir, "held"),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /DEC: \d+ iterations, held the mixture's target for --hold-epochs 1 \(last Δlabel \d+\.\d+ %\)/,
  );
  const metrics = JSON.parse(readFileSync(join(dir, "held", "metrics.json"), "utf8"));
  assert.equal(metrics.stopReason, "hold");
});

test("start options the chosen start does not use are named in a warning; config.json records the start's own settings", () => {
  const common = ["--dims", "64,10", "--pretrain-epochs", "2", "--threads", "1", "--no-baseline", "--no-report"];
  const gmm = run(
    "train",
    digits,
    "-k",
    "10",
    ...common,
    "--init",
    "gmm",
    "--umap-neighbors",
    "30",
    "--hold-epochs",
    "1",
    "--out",
    join(dir, "gmm-unused"),
  );
  assert.equal(gmm.code, 0, gmm.stderr);
  assert.match(
    gmm.stderr,
    /--umap-neighbors: only --init manifold lays out the code with UMAP; this run starts from GMM, so they are unused/,
  );
  assert.doesNotMatch(gmm.stderr, /--hold-epochs/);
  const training = JSON.parse(readFileSync(join(dir, "gmm-unused", "config.json"), "utf8")).training;
  assert.equal(training.centerInit, "gmm");
  assert.equal(training.manifold.holdEpochs, 1);
  assert.deepEqual(
    ["nComponents", "nNeighbors", "minDist", "nEpochs"].filter((key) => key in training.manifold),
    [],
  );
  const km = run(
    "train",
    digits,
    "-k",
    "10",
    ...SMALL,
    "--hold-epochs",
    "5",
    "--self-train",
    "--no-report",
    "--out",
    join(dir, "kmeans-unused"),
  );
  assert.equal(km.code, 0, km.stderr);
  assert.match(
    km.stderr,
    /--hold-epochs, --self-train: only the mixture starts \(--init manifold or gmm\) use them; this run starts from k-means/,
  );
});

test("train --json prints one summary; the same seed gives the same model", () => {
  const out = join(dir, "model-json");
  const s = json<TrainSummary>(run("train", digits, "-k", "10", ...DEFAULT, "--out", out, "--no-report", "--json"));
  assert.equal(s.rows, 1797);
  assert.equal(s.report, null);
  assert.equal(existsSync(join(out, "report.html")), false, "--no-report writes no report");
  assert.deepEqual(s.dims, [64, 128, 128, 512, 10]);
  assert.ok(
    s.dec.acc > s.baseline.acc && s.dec.nmi > s.baseline.nmi,
    `DEC ${JSON.stringify(s.dec)} vs k-means on the raw data ${JSON.stringify(s.baseline)}`,
  );
  assert.equal(
    s.clusterSizes.reduce((a: number, b: number) => a + b, 0),
    1797,
  );
  assert.ok(s.timings.totalSeconds > 0);
  // The same model (same seed): the same internal scores as the first run's metrics.json.
  const first = JSON.parse(readFileSync(join(model, "metrics.json"), "utf8")) as { internalScores: InternalScores };
  assert.deepEqual(s.dec.internalScores, first.internalScores);
  assert.ok(first.internalScores.silhouette > 0 && first.internalScores.daviesBouldin > 0);
  assert.deepEqual(
    readFileSync(join(out, "model.safetensors")),
    readFileSync(join(model, "model.safetensors")),
    "reproducible for a seed and thread count",
  );
});

test("predict writes pass-through columns, cluster, confidence and q; model.onnx in onnxruntime gives the same labels", async () => {
  const file = join(dir, "pred.csv");
  const s = json<{ rows: number; k: number }>(
    run("predict", model, digits, "--out", file, "--proba", "--threads", "1", "--json"),
  );
  assert.deepEqual([s.rows, s.k], [1797, 10]);
  const rows = parse(readFileSync(file, "utf8"), { columns: true }) as Record<string, string>[];
  assert.equal(rows.length, 1797);
  assert.deepEqual(Object.keys(rows[0]!), [
    "id",
    "labels",
    "cluster",
    "confidence",
    ...Array.from({ length: 10 }, (_, j) => `p${j}`),
  ]);
  assert.equal(rows[5]!.id, "5");
  for (const r of rows.slice(0, 20)) {
    const p = Array.from({ length: 10 }, (_, j) => Number(r[`p${j}`]));
    assert.equal(Number(r.confidence), Math.max(...p));
    assert.equal(Number(r.cluster), p.indexOf(Math.max(...p)));
  }

  const session = await ort.InferenceSession.create(join(model, "model.onnx"), { intraOpNumThreads: 1 });
  const res = await session.run({ embeddings: new ort.Tensor("float32", X.data, [X.rows, X.cols]) });
  await session.release();
  assert.deepEqual(
    Array.from(res.labels!.data as BigInt64Array, Number),
    rows.map((r) => Number(r.cluster)),
  );

  const jsonl = join(dir, "pred.jsonl");
  assert.equal(run("predict", model, digits, "--out", jsonl, "--threads", "1").code, 0);
  const lines = readFileSync(jsonl, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 1797);
  assert.deepEqual(Object.keys(lines[0]!), ["id", "labels", "cluster", "confidence"]);
  assert.deepEqual(
    lines.map((l) => l.cluster),
    rows.map((r) => Number(r.cluster)),
  );
});

test("evaluate, metrics on the predictions, and kmeans report ACC, NMI, ARI, n and clusters found", () => {
  const human = run("evaluate", model, digits, "--threads", "1");
  assert.equal(human.code, 0, human.stderr);
  for (const label of ["ACC", "NMI", "ARI", "n", "clusters found"])
    assert.match(human.stdout, new RegExp(`^${label}\\s+\\S`, "m"));
  const ev = json<Scores & { internal: unknown }>(run("evaluate", model, digits, "--threads", "1", "--json"));
  assert.deepEqual([ev.n, ev.k, ev.classes], [1797, 10, 10]);
  const train = JSON.parse(readFileSync(join(model, "metrics.json"), "utf8")) as {
    metrics: Scores;
    baseline: Scores;
    internalScores: InternalScores;
  };
  assert.equal(ev.acc, train.metrics.acc, "evaluate on the training data = the training metrics");
  // Beside ACC/NMI/ARI, the internal scores of the code: on the training rows, metrics.json's.
  for (const label of ["silhouette \\(code\\)", "Calinski-Harabasz \\(code\\)", "Davies-Bouldin \\(code\\)"])
    assert.match(human.stdout, new RegExp(`^${label}\\s+\\d+\\.\\d+$`, "m"));
  assert.deepEqual(ev.internal, { code: train.internalScores });

  const file = join(dir, "pred-for-metrics.csv");
  assert.equal(run("predict", model, digits, "--out", file, "--threads", "1").code, 0);
  const m = json(run("metrics", file, "--true", "labels", "--pred", "cluster", "--json"));
  assert.deepEqual([m.acc, m.nmi, m.ari, m.n, m.clustersFound], [ev.acc, ev.nmi, ev.ari, ev.n, ev.clustersFound]);
  assert.match(run("metrics", file, "--true", "labels", "--pred", "cluster").stdout, /^ARI\s+-?\d\.\d{4}$/m);

  const kmOut = join(dir, "km.csv");
  const km = json<Scores>(run("kmeans", digits, "-k", "10", "--threads", "1", "--out", kmOut, "--json"));
  assert.equal(km.acc, train.baseline.acc, "the same k-means as train's raw-data baseline");
  assert.deepEqual([km.n, km.clustersFound], [1797, 10]);
  const kmRows = parse(readFileSync(kmOut, "utf8"), { columns: true }) as Record<string, string>[];
  assert.deepEqual(Object.keys(kmRows[0]!), ["id", "labels", "cluster", "confidence"]);
});

test("export writes the ONNX file, loadable by onnxruntime", async () => {
  const file = join(dir, "exported.onnx");
  const s = json<{ input: { name: string } }>(run("export", model, "--onnx", file, "--json"));
  assert.equal(s.input.name, "embeddings");
  const session = await ort.InferenceSession.create(file);
  assert.deepEqual([...session.outputNames], ["probabilities", "labels"]);
  await session.release();
  assert.deepEqual(
    readFileSync(file),
    readFileSync(join(model, "model.onnx")),
    "export reproduces the model's own file",
  );
});

test("--select-best-by-labels says it is supervised model selection", () => {
  const r = run(
    "train",
    digits,
    "-k",
    "10",
    ...SMALL,
    "--select-best-by-labels",
    "--no-baseline",
    "--no-report",
    "--out",
    join(dir, "selected"),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /supervised model selection/);
  assert.match(r.stdout, /kept the state of iteration \d+/);
  const s = json<TrainSummary>(
    run(
      "train",
      digits,
      "-k",
      "10",
      ...SMALL,
      "--select-best-by-labels",
      "--no-baseline",
      "--no-report",
      "--out",
      join(dir, "selected-json"),
      "--json",
    ),
  );
  assert.equal(s.supervisedModelSelection, true);
  assert.match(
    run(
      "train",
      digits,
      "-k",
      "10",
      ...SMALL,
      "--select-best-by-labels",
      "--no-report",
      "--out",
      join(dir, "x"),
      "--json",
    ).stderr,
    /supervised model selection/,
  );
});

test("IDEC with checkpoints; a run resumed from its checkpoint writes the same model", () => {
  const args = [
    "train",
    digits,
    "-k",
    "10",
    ...SMALL,
    "--method",
    "idec",
    "--tol",
    "0",
    "--no-baseline",
    "--no-report",
  ];
  const full = join(dir, "idec");
  const a = json<TrainSummary>(run(...args, "--out", full, "--checkpoint-every", "3", "--json"));
  assert.equal(a.method, "idec");
  assert.ok(existsSync(join(`${full}.checkpoint`, "state.json")), "the checkpoint is kept");
  const resumed = join(dir, "idec-resumed");
  const b = json<TrainSummary>(run(...args, "--out", resumed, "--resume", `${full}.checkpoint`, "--json"));
  assert.equal(b.dec.acc, a.dec.acc);
  assert.deepEqual(readFileSync(join(resumed, "model.safetensors")), readFileSync(join(full, "model.safetensors")));
});

test("--pretrain-optimizer sgd trains with SGD and momentum, recorded in config.json; it changes the model", () => {
  const out = join(dir, "sgd-pretrain");
  json<TrainSummary>(
    run(
      "train",
      digits,
      "-k",
      "10",
      ...SMALL,
      "--pretrain-optimizer",
      "sgd",
      "--pretrain-lr",
      "0.5",
      "--pretrain-momentum",
      "0.8",
      "--no-baseline",
      "--no-report",
      "--out",
      out,
      "--json",
    ),
  );
  const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
  assert.deepEqual(config.training.pretrain.optimizer, { type: "sgd", lr: 0.5, momentum: 0.8 });
  assert.notDeepEqual(readFileSync(join(out, "model.safetensors")), readFileSync(join(model, "model.safetensors")));
  const bad = run("train", digits, "-k", "10", "--pretrain-optimizer", "rmsprop", "--out", join(dir, "never"));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--pretrain-optimizer/);
});

test("--help lists every option with its default", () => {
  const help = run("train", "--help").stdout;
  for (const [opt, def] of [
    ["--preset", '"manifold"'],
    ["--dims", "the preset's"],
    ["--pretrain-epochs", "the preset's"],
    ["--method", "the preset's"],
    ["--input-scaling", "the preset's"],
    ["--out", '"model"'],
    ["--n-init", "20"],
    ["--tol", "the preset's"],
  ])
    assert.match(help, new RegExp(`${opt} [\\s\\S]*?\\(default:\\s+${def!.replace(" ", "\\s+")}\\)`), opt);
  for (const cmd of ["predict", "evaluate", "kmeans", "metrics", "export"]) assert.equal(run(cmd, "--help").code, 0);
});

test("bad input exits 2, names the problem, and leaves no output", () => {
  const bad = join(dir, "bad");
  mkdirSync(bad);
  const head = readFileSync(digits, "utf8").split("\n").slice(0, 6);
  const write = (name: string, text: string) => {
    const f = join(bad, name);
    writeFileSync(f, text);
    return f;
  };
  const malformed = write("malformed.csv", `${head.slice(0, 3).join("\n")}\n5,"[0.1, 0.2\n`);
  const ragged = write("ragged.csv", `${head.slice(0, 3).join("\n")}\n9,"[0.5, 0.25]",3\n`);
  const nan = write("nan.csv", `${head.slice(0, 3).join("\n")}\n${head[3]!.replace("[0.0,", "[NaN,")}\n`);
  const wide = write("dim3.csv", 'id,embeddings,labels\n1,"[1,2,3]",0\n2,"[3,2,1]",1\n');
  const unlabelled = write(
    "unlabelled.csv",
    head.map((l) => l.replace(/,\d+$/, "").replace(/,labels$/, "")).join("\n") + "\n",
  );
  const empty = write("empty.csv", "");
  const cases: Array<{ args: string[]; message: RegExp; out?: string }> = [
    { args: ["train", join(bad, "missing.csv"), "-k", "3"], message: /missing\.csv: file not found/ },
    { args: ["train", empty, "-k", "3"], message: /empty\.csv: the file is empty/ },
    { args: ["train", malformed, "-k", "2"], message: /malformed\.csv, row 3/ },
    {
      args: ["train", ragged, "-k", "2"],
      message: /ragged\.csv, row 3, column 'embeddings': expected 64 values, got 2/,
    },
    { args: ["train", nan, "-k", "2"], message: /nan\.csv, row 3, column 'embeddings': value NaN is not finite/ },
    {
      args: ["train", digits, "-k", "2", "--labels-column", "topic"],
      message: /digits\.csv, column 'topic': not found \(the file has columns 'id', 'embeddings', 'labels'\)/,
    },
    {
      args: ["train", digits, "-k", "2", "--embeddings-column", "vec"],
      message: /digits\.csv, column 'vec': not found/,
    },
    { args: ["train", wide, "-k", "3"], message: /dim3\.csv: k = 3 clusters is more than the 2 data rows/ },
    { args: ["train", digits, "-k", "0"], message: /-k must be an integer ≥ 1, got '0'/ },
    { args: ["train", digits], message: /required option '-k, --clusters <n\|auto>' not specified/ },
    {
      args: ["train", digits, "-k", "2", "--dims", "64,x"],
      message: /--dims must be comma-separated positive integers/,
    },
    { args: ["train", digits, "-k", "2", "--method", "kmeans"], message: /--method must be one of dec, idec/ },
    {
      args: ["train", unlabelled, "-k", "2", "--select-best-by-labels"],
      message: /--select-best-by-labels needs labels/,
    },
    { args: ["train", digits, "-k", "2", "--device", "cuda"], message: /device 'cuda' is not available/ },
    {
      args: ["predict", model, wide],
      message: /dim3\.csv, row 1, column 'embeddings': 3 dimensions, but the model expects 64/,
      out: "p.csv",
    },
    { args: ["predict", model, ragged], message: /ragged\.csv, row 3/, out: "p.csv" },
    {
      args: ["predict", model, digits, "--embeddings-column", "nope"],
      message: /column 'nope': not found/,
      out: "p.csv",
    },
    { args: ["predict", join(bad, "no-model"), digits], message: /no-model: model directory not found/, out: "p.csv" },
    {
      args: ["predict", model, digits],
      message: /p\.txt: cannot write predictions as '\.txt'; use \.csv or \.jsonl/,
      out: "p.txt",
    },
    // Without labels evaluate gives the internal scores; a labels column named but absent is an error.
    {
      args: ["evaluate", model, unlabelled, "--labels-column", "labels"],
      message: /unlabelled\.csv, column 'labels': not found/,
    },
    { args: ["evaluate", model, wide], message: /3 dimensions, but the model expects 64/ },
    { args: ["kmeans", wide, "-k", "5"], message: /k = 5 clusters is more than the 2 data rows/, out: "km.csv" },
    { args: ["kmeans", nan, "-k", "2"], message: /nan\.csv, row 3/, out: "km.csv" },
    {
      args: ["metrics", digits, "--true", "labels", "--pred", "cluster"],
      message: /digits\.csv, column 'cluster': not found/,
    },
    {
      args: ["metrics", join(bad, "missing.csv"), "--true", "a", "--pred", "b"],
      message: /missing\.csv: file not found/,
    },
    { args: ["export", join(bad, "no-model")], message: /no-model: model directory not found/ },
  ];
  cases.forEach(({ args, message, out }, i) => {
    const target = join(bad, `out-${i}${out ? `-${out}` : ""}`);
    const extra =
      args[0] === "train"
        ? ["--out", target]
        : out
          ? ["--out", target]
          : args[0] === "export"
            ? ["--onnx", target]
            : [];
    const before = readdirSync(bad).sort();
    const r = run(...args, ...extra);
    assert.equal(r.code, 2, `${args.join(" ")} → exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
    assert.equal(r.stdout, "", "nothing on stdout");
    assert.deepEqual(readdirSync(bad).sort(), before, `${args.join(" ")}: no output or temporary file is left`);
  });
  assert.equal(existsSync(join(dir, "predictions.csv")), false);
});

test("evaluate without labels prints the internal scores (code, input or both) and exits 0; train records them", () => {
  const rows = readFileSync(digits, "utf8").trim().split("\n");
  const unlabelled = join(dir, "digits-unlabelled.csv");
  writeFileSync(unlabelled, rows.map((l) => l.replace(/,(\d+|labels)$/, "")).join("\n") + "\n");
  const human = run("evaluate", model, unlabelled, "--threads", "1");
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^silhouette \(code\)\s+-?0\.\d{4}$/m);
  assert.match(human.stdout, /^Calinski-Harabasz \(code\)\s+\d+\.\d$/m);
  assert.match(human.stdout, /^Davies-Bouldin \(code\)\s+\d+\.\d{4}$/m);
  assert.doesNotMatch(human.stdout, /^(ACC|NMI|ARI)\s/m);
  const metrics = JSON.parse(readFileSync(join(model, "metrics.json"), "utf8")) as { internalScores: InternalScores };
  const both = json<{ n: number; labelsColumn: null; acc?: number; internal: Record<string, InternalScores> }>(
    run("evaluate", model, unlabelled, "--threads", "1", "--space", "both", "--json"),
  );
  assert.equal(both.n, 1797);
  assert.equal(both.labelsColumn, null);
  assert.equal(both.acc, undefined);
  // The same rows and clusters as training: the code-space scores are metrics.json's.
  assert.deepEqual(both.internal.code, metrics.internalScores);
  assert.equal(metrics.internalScores.silhouetteRows, 1797);
  const input = both.internal.input!;
  assert.ok(input.silhouette > -1 && input.silhouette < 1 && input.calinskiHarabasz > 0 && input.daviesBouldin > 0);
  const inputOnly = json<{ internal: Record<string, InternalScores> }>(
    run("evaluate", model, unlabelled, "--threads", "1", "--space", "input", "--json"),
  );
  assert.deepEqual(inputOnly.internal, { input });
  // A sample smaller than the rows: seeded (the same twice), and said so.
  const sampled = (seed: string) =>
    json<{ internal: { code: InternalScores } }>(
      run("evaluate", model, unlabelled, "--threads", "1", "--silhouette-sample", "300", "--seed", seed, "--json"),
    ).internal.code;
  const a = sampled("1");
  assert.deepEqual(sampled("1"), a);
  assert.equal(a.silhouetteRows, 300);
  assert.notEqual(sampled("2").silhouette, a.silhouette);
  assert.equal(a.calinskiHarabasz, metrics.internalScores.calinskiHarabasz, "Calinski-Harabasz uses every row");
  assert.match(
    run("evaluate", model, unlabelled, "--threads", "1", "--silhouette-sample", "300").stdout,
    /silhouette on a seeded sample of 300 of the 1797 rows/,
  );
  const bad = run("evaluate", model, unlabelled, "--space", "latent");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--space must be one of code, input, both/);
});

test("an existing model directory is not replaced without --force", () => {
  const r = run("train", digits, "-k", "10", ...SMALL, "--out", model);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /model: --out: already exists \(use --force/);
});
