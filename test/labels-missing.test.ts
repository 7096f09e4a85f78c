// Missing labels are missing, not a class and not an error: an empty cell, NA, NaN, null … (the
// cells pandas reads as NaN, test/fixtures/gen_pandas_missing_labels.py), a JSON or Parquet null, a
// blank line or NaN in a labels file. Scores are over the labelled rows (checked against
// scikit-learn's on the labelled subset, and against the CLI run on a file of the labelled rows
// only); predict copies the labels column as written; --labels-column none turns labels off.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { parquetWriteFile } from "hyparquet-writer";
import { evaluateClustering, type Labels } from "../src/cluster/index.js";
import { npyHeader, ParquetSource, readDataset, readDatasetChunks, writeNpy } from "../src/io/index.js";
import { contingencyReport } from "../src/report/data.js";

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const digitsFile = new URL("./fixtures/digits.csv", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "deepclust-labels-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const SMALL = ["--dims", "64,10", "--pretrain-epochs", "3", "--max-iter", "30", "--n-init", "2", "--threads", "1"];

let counter = 0;
function file(name: string, content: string | Buffer): string {
  const f = join(dir, `${++counter}-${name}`);
  writeFileSync(f, content);
  return f;
}

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The one JSON object a --json run prints (the run must succeed). */
function json<T = Record<string, unknown>>(r: ReturnType<typeof run>): T {
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
}

// digits.csv (1797 rows, labels 0–9) with every 7th label cell replaced by a missing-value spelling,
// and the same file cut to the labelled rows: the reference the scores must equal.
const MISSING = ["", "NA", "NaN", "null", "N/A", "None", "nan", "<NA>"];
const digitsRows = parse(readFileSync(digitsFile, "utf8"), { columns: true }) as Record<string, string>[];
const isGap = (i: number) => i % 7 === 3;
const gapRows: Record<string, string>[] = digitsRows.map((r, i) => ({
  ...r,
  labels: isGap(i) ? MISSING[Math.floor(i / 7) % MISSING.length]! : r.labels!,
}));
const gappy = file("gappy.csv", stringify(gapRows, { header: true, columns: ["id", "embeddings", "labels"] }));
const labelledOnly = file(
  "labelled.csv",
  stringify(
    gapRows.filter((_, i) => !isGap(i)),
    { header: true, columns: ["id", "embeddings", "labels"] },
  ),
);
const N = digitsRows.length;
const LABELLED = digitsRows.filter((_, i) => !isGap(i)).length;

test("a label cell is missing exactly when pandas reads it as NaN (pandas ≥ 2.0's na_values, with 'None')", async () => {
  const fixture = JSON.parse(
    readFileSync(new URL("./fixtures/pandas_missing_labels.json", import.meta.url), "utf8"),
  ) as { tokens: string[]; missing: boolean[] };
  const f = file("tokens.csv", stringify([["embeddings", "labels"], ...fixture.tokens.map((t, i) => [`[${i}]`, t])]));
  const ds = await readDataset(f);
  const expected = fixture.tokens.map((t, i) => fixture.missing[i]! || t === "None"); // pandas 2.0 added 'None'
  assert.deepEqual(
    ds.labels!.map((l) => l === null),
    expected,
  );
  assert.deepEqual(
    ds.labels!.filter((l) => l !== null),
    fixture.tokens.filter((_, i) => !expected[i]),
    "the rest are labels, as written",
  );
  // Streamed chunks carry the labels as written (predict copies them); " NA " is missing too.
  const chunks = [];
  for await (const c of readDatasetChunks(f, { chunkRows: 5 })) chunks.push(...c.labels!);
  assert.deepEqual(chunks, fixture.tokens);
  assert.deepEqual((await readDataset(file("spaced.csv", 'embeddings,labels\n"[1]", NA \n"[2]",3\n'))).labels, [
    null,
    3,
  ]);
});

test('JSONL: null, an absent key, "" and "NaN" are missing; the other labels keep their type', async () => {
  const f = file(
    "gaps.jsonl",
    [
      '{"embedding": [1], "label": 3}',
      '{"embedding": [2], "label": null}',
      '{"embedding": [3]}',
      '{"embedding": [4], "label": ""}',
      '{"embedding": [5], "label": "NaN"}',
      '{"embedding": [6], "label": 4}',
    ].join("\n"),
  );
  assert.deepEqual((await readDataset(f)).labels, [3, null, null, null, null, 4]);
  const words = file("words.jsonl", '{"embedding": [1], "label": "cat"}\n{"embedding": [2], "label": null}\n');
  assert.deepEqual((await readDataset(words)).labels, ["cat", null]);
});

/** A Parquet file: embedding (list<float>), label (`type`, nullable), over row groups of 4. */
function parquetWithLabels(
  name: string,
  vectors: number[][],
  labels: (number | string | null)[],
  type: "INT32" | "DOUBLE" | "STRING",
): string {
  const f = join(dir, `${++counter}-${name}`);
  const labelType = type === "STRING" ? { type: "BYTE_ARRAY" as const, converted_type: "UTF8" as const } : { type };
  parquetWriteFile({
    filename: f,
    rowGroupSize: 4,
    columnData: [
      { name: "embedding", data: vectors },
      { name: "label", data: labels },
    ],
    schema: [
      { name: "root", num_children: 2 },
      { name: "embedding", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
      { name: "list", repetition_type: "REPEATED", num_children: 1 },
      { name: "element", type: "FLOAT", repetition_type: "OPTIONAL" },
      { name: "label", repetition_type: "OPTIONAL", ...labelType },
    ],
  });
  return f;
}

test("Parquet: a null label (and a NaN in a float column, as pandas writes gaps) is missing, in readDataset and ParquetSource.readLabels", async () => {
  const vectors = Array.from({ length: 10 }, (_, i) => [i, -i]);
  const cases = [
    {
      type: "INT32" as const,
      labels: [0, 1, null, 0, 1, null, 0, 1, 0, null],
      expected: [0, 1, null, 0, 1, null, 0, 1, 0, null],
    },
    {
      type: "DOUBLE" as const,
      labels: [0, 1, NaN, 0, 1, null, 0, 1, 0, 2],
      expected: [0, 1, null, 0, 1, null, 0, 1, 0, 2],
    },
    {
      type: "STRING" as const,
      labels: ["a", null, "NA", "b", "", "a", "b", "a", "b", "a"],
      expected: ["a", null, null, "b", null, "a", "b", "a", "b", "a"],
    },
  ];
  for (const c of cases) {
    const f = parquetWithLabels(`labels-${c.type}.parquet`, vectors, c.labels, c.type);
    assert.deepEqual((await readDataset(f)).labels, c.expected, c.type);
    const src = ParquetSource.open(f);
    try {
      assert.deepEqual(src.readLabels(), { column: "label", labels: c.expected }, c.type);
    } finally {
      src.close();
    }
  }
});

test("labels files: a blank line, NA or a float NaN is a missing label; blank lines past the last row are ignored", async () => {
  const x = join(dir, "x4.npy");
  writeNpy(x, { data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), rows: 4, cols: 2 });
  assert.deepEqual((await readDataset(x, { labelsFile: file("y.txt", "cat\n\nNA\ndog\n\n\n") })).labels, [
    "cat",
    null,
    null,
    "dog",
  ]);
  assert.deepEqual((await readDataset(x, { labelsFile: file("yi.txt", "3\nnan\n1\n\n") })).labels, [3, null, 1, null]);
  for (const [descr, Type] of [
    ["<f8", Float64Array],
    ["<f4", Float32Array],
  ] as const) {
    const y = file(
      `y${descr.slice(1)}.npy`,
      Buffer.concat([npyHeader([4], descr), Buffer.from(Type.from([2, NaN, 0, 1]).buffer)]),
    );
    assert.deepEqual((await readDataset(x, { labelsFile: y })).labels, [2, null, 0, 1], descr);
    const chunks = [];
    for await (const c of readDatasetChunks(x, { labelsFile: y, chunkRows: 3 })) chunks.push(...c.labels!);
    assert.deepEqual(chunks, ["2", "", "0", "1"]);
  }
});

test("labelsColumn null turns labels off: a 'labels' column is passed through, and never a dimension of a wide CSV", async () => {
  const ref = file("ref.csv", 'labels,id,embeddings\n1,a,"[1, 2]"\n,b,"[3, 4]"\n');
  const off = await readDataset(ref, { labelsColumn: null });
  assert.deepEqual(
    [off.labels, off.labelsColumn, off.passthrough],
    [null, null, { labels: ["1", ""], id: ["a", "b"] }],
  );
  const wide = file("wide.csv", "x1,x2,label\n1,2,0\n3,4,1\n");
  const w = await readDataset(wide, { labelsColumn: null });
  assert.deepEqual(
    [w.X.cols, Array.from(w.X.data), w.labels, w.passthrough],
    [2, [1, 2, 3, 4], null, { label: ["0", "1"] }],
  );
  const jsonl = file("off.jsonl", '{"embedding": [1], "label": 2}\n');
  assert.deepEqual(
    [
      (await readDataset(jsonl, { labelsColumn: null })).labels,
      (await readDataset(jsonl, { labelsColumn: null })).passthrough,
    ],
    [null, { label: ["2"] }],
  );
  const pq = parquetWithLabels("off.parquet", [[1], [2]], [0, null], "INT32");
  assert.equal((await readDataset(pq, { labelsColumn: null })).labels, null);
  const src = ParquetSource.open(pq);
  assert.equal(src.readLabels({ labelsColumn: null }), null);
  src.close();
  const x = join(dir, "x1.npy");
  writeNpy(x, { data: Float32Array.from([1, 2]), rows: 2, cols: 1 });
  assert.equal((await readDataset(x, { labelsColumn: null })).labels, null);
});

test("ACC, NMI and ARI with unlabelled rows (null) = scikit-learn's on the labelled rows", () => {
  interface Case {
    name: string;
    yTrue: (number | string)[];
    yPred: (number | string)[];
    nmi: number;
    ari: number;
    acc: number | null;
  }
  const fixture = JSON.parse(readFileSync(new URL("./fixtures/sklearn_metrics.json", import.meta.url), "utf8")) as {
    cases: Case[];
  };
  const close = (got: number, want: number, what: string) =>
    assert.ok(Math.abs(got - want) <= 1e-9, `${what}: ${got} vs scikit-learn ${want}`);
  const cases = fixture.cases.filter((c) => c.acc !== null && c.yTrue.length >= 20);
  assert.ok(cases.length >= 10);
  for (const c of cases) {
    // An unlabelled row after every third labelled one, with a prediction of its own.
    const yTrue: (number | string | null)[] = [];
    const yPred: (number | string)[] = [];
    c.yTrue.forEach((t, i) => {
      yTrue.push(t);
      yPred.push(c.yPred[i]!);
      if (i % 3 === 0) {
        yTrue.push(null);
        yPred.push(c.yPred[(i * 7) % c.yPred.length]!);
      }
    });
    const s = evaluateClustering(yTrue, yPred as Labels);
    close(s.acc, c.acc!, `${c.name} ACC`);
    close(s.nmi, c.nmi, `${c.name} NMI`);
    close(s.ari, c.ari, `${c.name} ARI`);
  }
  assert.throws(() => evaluateClustering([null, null], [0, 1]), /none of the 2 samples has a label/);
});

test("the report's contingency table counts the labelled rows only", () => {
  const truth = ["a", null, "b", "a", null, "b", "c"];
  const clusters = Int32Array.from([0, 1, 1, 0, 2, 1, 2]);
  const keep = truth.map((t) => t !== null);
  const got = contingencyReport(truth, clusters, 3);
  const want = contingencyReport(
    truth.filter((t): t is string => t !== null),
    clusters.filter((_, i) => keep[i]),
    3,
  );
  assert.deepEqual(got, { ...want, unlabelled: 2 });
  assert.deepEqual(got.classes, ["a", "b", "c"]);
});

const model = join(dir, "model");
const trained = run("train", gappy, "-k", "10", ...SMALL, "--out", model, "--no-report", "--json");

test("train on data with missing labels: exit 0, every score over the labelled rows, as evaluate on those rows gives them", () => {
  type Summary = {
    labelled: number;
    unlabelled: number;
    baseline: { acc: number };
    aeKmeans: { acc: number };
    dec: { acc: number; nmi: number; ari: number };
  };
  const s = json<Summary>(trained);
  assert.deepEqual([s.labelled, s.unlabelled], [LABELLED, N - LABELLED]);
  const onLabelled = json<{ acc: number; nmi: number; ari: number; n: number; classes: number }>(
    run("evaluate", model, labelledOnly, "--threads", "1", "--json"),
  );
  assert.deepEqual([s.dec.acc, s.dec.nmi, s.dec.ari], [onLabelled.acc, onLabelled.nmi, onLabelled.ari]);
  assert.ok(s.baseline.acc > 0.5 && s.aeKmeans.acc > 0.2, JSON.stringify(s));
  const config = JSON.parse(readFileSync(join(model, "config.json"), "utf8")) as {
    labelMapping: Record<string, number>;
    data: { labelled: number };
  };
  assert.equal(config.data.labelled, LABELLED);
  assert.ok(
    Object.values(config.labelMapping).every((l) => Number.isInteger(l) && l >= 0 && l <= 9),
    JSON.stringify(config.labelMapping),
  );
  // The human summary says what was scored.
  const human = run("train", gappy, "-k", "10", ...SMALL, "--out", join(dir, "model-human"), "--no-report");
  assert.equal(human.code, 0, human.stderr);
  assert.match(
    human.stdout,
    new RegExp(`^scored on ${LABELLED} labelled of ${N} rows \\(${N - LABELLED} unlabelled\\)$`, "m"),
  );
});

test("evaluate: missing labels are not a class; the scores equal evaluate on the labelled rows alone", () => {
  const ev = json<{
    n: number;
    labelled: number;
    unlabelled: number;
    classes: number;
    acc: number;
    nmi: number;
    ari: number;
  }>(run("evaluate", model, gappy, "--threads", "1", "--json"));
  const ref = json<{ n: number; classes: number; acc: number; nmi: number; ari: number }>(
    run("evaluate", model, labelledOnly, "--threads", "1", "--json"),
  );
  assert.deepEqual([ev.n, ev.labelled, ev.unlabelled, ev.classes], [N, LABELLED, N - LABELLED, 10]);
  assert.deepEqual([ev.acc, ev.nmi, ev.ari], [ref.acc, ref.nmi, ref.ari]);
  const human = run("evaluate", model, gappy, "--threads", "1");
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^true classes\s+10$/m);
  assert.match(
    human.stdout,
    new RegExp(`^scored on ${LABELLED} labelled of ${N} rows \\(${N - LABELLED} unlabelled\\)$`, "m"),
  );
});

test("predict with missing labels: exit 0, the labels column copied as written; metrics --true scores the labelled rows", () => {
  const out = join(dir, "pred.csv");
  assert.equal(json<{ rows: number }>(run("predict", model, gappy, "--out", out, "--threads", "1", "--json")).rows, N);
  const rows = parse(readFileSync(out, "utf8"), { columns: true }) as Record<string, string>[];
  assert.deepEqual(Object.keys(rows[0]!), ["id", "labels", "cluster", "confidence"]);
  assert.deepEqual(
    rows.map((r) => r.labels),
    gapRows.map((r) => r.labels),
  );
  const m = json<{ n: number; labelled: number; classes: number; acc: number; nmi: number; ari: number }>(
    run("metrics", out, "--true", "labels", "--pred", "cluster", "--json"),
  );
  const ref = json<{ acc: number; nmi: number; ari: number }>(
    run("evaluate", model, labelledOnly, "--threads", "1", "--json"),
  );
  assert.deepEqual([m.n, m.labelled, m.classes, m.acc, m.nmi, m.ari], [N, LABELLED, 10, ref.acc, ref.nmi, ref.ari]);
  // JSONL output: a JSON null label is copied as "" (an empty cell), like any other null value.
  const jsonl = file(
    "gaps-digits.jsonl",
    gapRows
      .slice(0, 20)
      .map((r, i) =>
        JSON.stringify({ id: r.id, embedding: JSON.parse(r.embeddings!), label: i === 3 ? null : r.labels }),
      )
      .join("\n"),
  );
  const pj = join(dir, "pred-jsonl.csv");
  assert.equal(run("predict", model, jsonl, "--out", pj, "--threads", "1").code, 0);
  const pjRows = parse(readFileSync(pj, "utf8"), { columns: true }) as Record<string, string>[];
  assert.deepEqual(
    pjRows.slice(0, 5).map((r) => r.label),
    ["0", "1", "2", "", "4"],
  );
});

test("kmeans with missing labels: true classes without the missing ones, scored on the labelled rows", () => {
  const out = join(dir, "km.csv");
  const km = json<{
    n: number;
    labelled: number;
    unlabelled: number;
    classes: number;
    acc: number;
    nmi: number;
    ari: number;
  }>(run("kmeans", gappy, "-k", "10", "--n-init", "2", "--threads", "1", "--out", out, "--json"));
  assert.deepEqual([km.n, km.labelled, km.unlabelled, km.classes], [N, LABELLED, N - LABELLED, 10]);
  // Its assignments scored on the labelled rows by the metrics command (which reads them back).
  const m = json<{ acc: number; nmi: number; ari: number }>(
    run("metrics", out, "--true", "labels", "--pred", "cluster", "--json"),
  );
  assert.deepEqual([km.acc, km.nmi, km.ari], [m.acc, m.nmi, m.ari]);
});

test("--labels-column none: train without labels, evaluate refuses clearly, predict copies a 'labels' column in its place", () => {
  const s = json<{ labelsColumn: string | null; labelled: number | null; baseline: unknown; dec: { acc?: number } }>(
    run(
      "train",
      gappy,
      "-k",
      "10",
      ...SMALL,
      "--out",
      join(dir, "model-none"),
      "--no-report",
      "--labels-column",
      "none",
      "--json",
    ),
  );
  assert.deepEqual([s.labelsColumn, s.labelled, s.baseline, s.dec.acc], [null, null, null, undefined]);
  // No labels: evaluate gives the internal scores only.
  const ev = run("evaluate", model, gappy, "--labels-column", "none", "--json");
  assert.equal(ev.code, 0, ev.stderr);
  const evaluated = JSON.parse(ev.stdout) as { acc?: number; labelsColumn: null; internal: { code: object } };
  assert.deepEqual([evaluated.acc, evaluated.labelsColumn], [undefined, null]);
  assert.ok(evaluated.internal.code);
  const both = run("evaluate", model, gappy, "--labels-column", "none", "--labels-file", join(dir, "y.txt"));
  assert.equal(both.code, 2, both.stderr);
  const first = file(
    "labels-first.csv",
    stringify(gapRows.slice(0, 30), { header: true, columns: ["labels", "id", "embeddings"] }),
  );
  const withLabels = join(dir, "pred-labels.csv");
  const withoutLabels = join(dir, "pred-none.csv");
  assert.equal(run("predict", model, first, "--out", withLabels, "--threads", "1").code, 0);
  assert.equal(
    run("predict", model, first, "--out", withoutLabels, "--labels-column", "none", "--threads", "1").code,
    0,
  );
  assert.equal(readFileSync(withLabels, "utf8").split("\n")[0], "id,labels,cluster,confidence");
  assert.equal(readFileSync(withoutLabels, "utf8").split("\n")[0], "labels,id,cluster,confidence");
});

test("predict --labels-column names a custom column (copied after the others); a column that is not there is exit 2", () => {
  const topic = file(
    "topic.csv",
    stringify(
      gapRows.slice(0, 30).map((r) => ({ topic: r.labels, id: r.id, embeddings: r.embeddings })),
      { header: true, columns: ["topic", "id", "embeddings"] },
    ),
  );
  const out = join(dir, "pred-topic.csv");
  const r = run("predict", model, topic, "--out", out, "--labels-column", "topic", "--threads", "1");
  assert.equal(r.code, 0, r.stderr);
  const rows = parse(readFileSync(out, "utf8"), { columns: true }) as Record<string, string>[];
  assert.deepEqual(Object.keys(rows[0]!), ["id", "topic", "cluster", "confidence"]);
  assert.deepEqual(
    rows.map((x) => x.topic),
    gapRows.slice(0, 30).map((x) => x.labels),
  );
  const bad = run("predict", model, topic, "--out", join(dir, "pred-bad.csv"), "--labels-column", "class");
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /topic\.csv, column 'class': not found \(the file has columns 'topic', 'id', 'embeddings'\)/,
  );
});

test("every label missing: train runs as without labels (with a warning); evaluate and metrics say there is nothing to score", () => {
  const none = file(
    "all-missing.csv",
    stringify(
      gapRows.map((r, i) => ({ ...r, labels: i % 2 ? "" : "NA" })),
      { header: true, columns: ["id", "embeddings", "labels"] },
    ),
  );
  const r = run("train", none, "-k", "10", ...SMALL, "--out", join(dir, "model-all-missing"), "--json");
  const s = json<{ labelled: number | null; baseline: unknown; dec: { acc?: number } }>(r);
  assert.deepEqual([s.labelled, s.baseline, s.dec.acc], [null, null, undefined]);
  assert.match(
    r.stderr,
    /all-missing\.csv, column 'labels': every label is missing \(empty, NA, NaN, null …\), so the data counts as unlabelled/,
  );
  const ev = run("evaluate", model, none);
  assert.equal(ev.code, 2);
  assert.match(ev.stderr, new RegExp(`all-missing\\.csv, column 'labels': every one of the ${N} labels is missing`));
  const pred = join(dir, "pred-all-missing.csv");
  assert.equal(run("predict", model, none, "--out", pred).code, 0);
  const m = run("metrics", pred, "--true", "labels", "--pred", "cluster");
  assert.equal(m.code, 2);
  assert.match(m.stderr, new RegExp(`column 'labels': every one of the ${N} labels is missing`));
});

test("out of core: Parquet null labels and a labels file with gaps are missing labels too", () => {
  const X = digitsRows.map((r) => JSON.parse(r.embeddings!) as number[]);
  const labels = digitsRows.map((r, i) => (isGap(i) ? null : Number(r.labels)));
  const pq = parquetWithLabels("digits.parquet", X, labels, "INT32");
  const s = json<{ outOfCore: boolean; labelled: number; dec: { acc: number } }>(
    run("train", pq, "-k", "10", ...SMALL, "--out", join(dir, "model-pq"), "--out-of-core", "--json"),
  );
  assert.deepEqual([s.outOfCore, s.labelled], [true, LABELLED]);
  const ev = json<{ labelled: number; acc: number }>(
    run("evaluate", join(dir, "model-pq"), pq, "--threads", "1", "--json"),
  );
  assert.deepEqual([ev.labelled, ev.acc], [LABELLED, s.dec.acc]);

  const npy = join(dir, "digits.npy");
  writeNpy(npy, { data: Float32Array.from(X.flat()), rows: N, cols: 64 });
  const text = file(
    "digits-labels.txt",
    digitsRows.map((r, i) => (isGap(i) ? (i % 2 ? "" : "NA") : r.labels)).join("\n") + "\n",
  );
  const t = json<{ labelled: number; unlabelled: number }>(
    run(
      "train",
      npy,
      "-k",
      "10",
      ...SMALL,
      "--out",
      join(dir, "model-npy"),
      "--out-of-core",
      "--labels-file",
      text,
      "--json",
    ),
  );
  assert.deepEqual([t.labelled, t.unlabelled], [LABELLED, N - LABELLED]);
});
