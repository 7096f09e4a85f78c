// Choosing k: the criteria's rules on cases whose answer is known by construction (three
// well-separated blobs for the gap statistic, a curve with an obvious elbow for Kneedle), the
// recommendation (Calinski–Harabasz inside the range, else the six's vote and its tie-break), the principal axes the gap's references use, and the command line end to end
// on scikit-learn's digits (10 classes): choose-k's recommendation, train -k auto training exactly
// the model that -k k̂ trains, and the same command twice writing the same bytes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CRITERIA,
  chooseK,
  gapChoice,
  kRange,
  kneedle,
  recommendK,
  voteK,
  stabilityChoice,
  symmetricEigen,
  Rng,
  type CriterionName,
  type CriterionResult,
} from "../src/index.js";

function blobs(perCluster: number, centres: number[][], seed: number) {
  const r = new Rng(seed);
  const d = centres[0]!.length;
  const data = new Float32Array(perCluster * centres.length * d);
  let i = 0;
  for (const c of centres)
    for (let t = 0; t < perCluster; t++, i++) for (let j = 0; j < d; j++) data[i * d + j] = c[j]! + r.normal();
  return { data, rows: perCluster * centres.length, cols: d };
}

test("kRange: from..to every step, the last candidate always included", () => {
  assert.deepEqual(kRange(2, 6), [2, 3, 4, 5, 6]);
  assert.deepEqual(kRange(2, 9, 3), [2, 5, 8, 9]);
  assert.throws(() => kRange(1, 5), /2 ≤ from/);
  assert.throws(() => kRange(5, 4), /2 ≤ from ≤ to/);
});

test("three well-separated blobs: the gap statistic, and every other criterion, choose 3", async () => {
  const X = blobs(
    100,
    [
      [0, 0, 0],
      [12, 0, 0],
      [0, 12, 0],
    ],
    1,
  );
  const s = await chooseK(X, { ks: kRange(2, 8), seed: 0, threads: 1 });
  assert.equal(s.criteria.gap.choice, 3);
  for (const name of CRITERIA) assert.equal(s.criteria[name].choice, 3, name);
  assert.equal(s.recommended, 3);
  assert.match(s.reason, /the layout's Davies–Bouldin chose k = 3; 7 of 7 criteria chose k = 3/);
  // One value per candidate; the inertia falls as k grows.
  for (const name of CRITERIA) assert.equal(s.criteria[name].values.length, 7, name);
  for (let i = 1; i < s.inertia.length; i++) assert.ok(s.inertia[i]! < s.inertia[i - 1]!);
  // Seeded: the same answer twice.
  const again = await chooseK(X, { ks: kRange(2, 8), seed: 0, threads: 1 });
  assert.deepEqual(again.criteria, s.criteria);
});

test("gapChoice is Tibshirani's rule: the smallest k with Gap(k) ≥ Gap(k+1) − s(k+1)", () => {
  // Gap rises to k = 4; at k = 4 the next gap minus its s.e. is below Gap(4).
  assert.equal(gapChoice([2, 3, 4, 5, 6], [0.1, 0.3, 0.6, 0.62, 0.63], [0.01, 0.01, 0.01, 0.05, 0.05]), 4);
  // Within one s.e. already at k = 2.
  assert.equal(gapChoice([2, 3], [0.5, 0.52], [0.1, 0.1]), 2);
  // Never within one s.e.: the largest gap.
  assert.equal(gapChoice([2, 3, 4], [0.1, 0.5, 0.9], [0.01, 0.01, 0.01]), 4);
});

test("kneedle finds the elbow of a curve with an obvious one", () => {
  // Scaled difference curve: 0, .384, .662, .529, .397, …; the maximum at k = 4, and it falls
  // below .662 − 1/7 at k = 6, before any other local maximum.
  assert.equal(kneedle([2, 3, 4, 5, 6, 7, 8, 9], [100, 50, 10, 9, 8, 7, 6, 5]), 4);
  assert.equal(kneedle([2, 3], [10, 5]), null);
});

test("stabilityChoice: the largest k within the tolerance of the most stable", () => {
  assert.equal(stabilityChoice([2, 3, 4, 5], [0.95, 0.6, 0.94, 0.7], 0.02), 4);
  assert.equal(stabilityChoice([2, 3, 4, 5], [0.95, 0.6, 0.9, 0.7], 0.02), 2);
});

function criteria(choices: Partial<Record<CriterionName, number | null>>, ks: number[]) {
  const out = {} as Record<CriterionName, CriterionResult>;
  for (const name of CRITERIA) {
    const choice = choices[name] ?? null;
    // Values that rank each criterion's own choice first (lower for Davies–Bouldin, and a
    // falling curve whose knee is the choice for the inertia).
    // The layout's criterion without a choice was not computed (turned off): no values.
    const values = ks.map((k) =>
      name === "layoutDaviesBouldin" && choice === null
        ? null
        : name === "knee"
          ? 100 / k
          : name === "daviesBouldin" || name === "layoutDaviesBouldin"
            ? Math.abs(k - (choice ?? 0))
            : -Math.abs(k - (choice ?? 0)),
    );
    out[name] = { values, choice, rule: "" };
  }
  return out;
}

test("recommendK: the layout's Davies–Bouldin choice, whatever the others chose", () => {
  const ks = kRange(2, 12);
  const others = { silhouette: 6, daviesBouldin: 6, gap: 6, stability: 2, knee: 9 };
  for (const ch of [2, 5, 7, 9, 12]) {
    const r = recommendK(ks, criteria({ ...others, calinskiHarabasz: ch, layoutDaviesBouldin: 7 }, ks));
    assert.equal(r.recommended, 7, `Calinski–Harabasz at ${ch}`);
  }
  // Three criteria chose 6: the reason names the layout's choice and who else chose what.
  const r = recommendK(ks, criteria({ ...others, calinskiHarabasz: 9, layoutDaviesBouldin: 7 }, ks));
  assert.match(
    r.reason,
    /^the layout's Davies–Bouldin chose k = 7; 1 of 7 criteria chose k = 7 \(layoutDaviesBouldin\)/,
  );
  assert.match(r.reason, /the others: k = 6 \(silhouette, daviesBouldin, gap\)/);
  assert.deepEqual(r.votes["7"], ["layoutDaviesBouldin"]);
  // At the largest candidate it has no minimum: Calinski–Harabasz's interior peak, else the vote.
  const top = recommendK(ks, criteria({ ...others, calinskiHarabasz: 9, layoutDaviesBouldin: 12 }, ks));
  assert.equal(top.recommended, 9);
  assert.match(
    top.reason,
    /lowest at the largest candidate \(k = 12\), no minimum; Calinski–Harabasz peaks inside the range at k = 9/,
  );
  const topVote = recommendK(ks, criteria({ ...others, calinskiHarabasz: 2, layoutDaviesBouldin: 12 }, ks));
  assert.equal(topVote.recommended, 6);
  // The smallest candidate is a choice like any other.
  assert.equal(recommendK(ks, criteria({ ...others, calinskiHarabasz: 9, layoutDaviesBouldin: 2 }, ks)).recommended, 2);
});

test("recommendK without the layout: Calinski–Harabasz's choice when it peaks inside the range, even when outvoted", () => {
  const ks = kRange(2, 12);
  const agreed = recommendK(
    ks,
    criteria({ silhouette: 5, calinskiHarabasz: 5, daviesBouldin: 7, gap: 5, stability: 2, knee: 4 }, ks),
  );
  assert.equal(agreed.recommended, 5);
  assert.deepEqual(agreed.votes["5"], ["silhouette", "calinskiHarabasz", "gap"]);
  assert.match(
    agreed.reason,
    /no layout criterion; Calinski–Harabasz peaks inside the range at k = 5; 3 of 6 criteria chose k = 5 \(silhouette, calinskiHarabasz, gap\)/,
  );
  assert.match(agreed.reason, /k = 7 \(daviesBouldin\)/);
  // Three criteria chose 6; Calinski–Harabasz's interior peak at 4 still decides.
  const outvotedCriteria = criteria(
    { silhouette: 6, calinskiHarabasz: 4, daviesBouldin: 6, gap: 6, stability: 2, knee: 9 },
    ks,
  );
  const outvoted = recommendK(ks, outvotedCriteria);
  assert.equal(outvoted.recommended, 4);
  // The plain vote, which recommendK falls back on, goes with the three.
  assert.deepEqual(voteK(ks, outvotedCriteria), { recommended: 6, tied: [6] });
  assert.match(outvoted.reason, /the others: k = 6 \(silhouette, daviesBouldin, gap\)/);
});

test("recommendK without the layout: Calinski–Harabasz at either edge of the range does not decide; the others vote, its choice one vote", () => {
  const ks = kRange(2, 12);
  for (const edge of [2, 12]) {
    const r = recommendK(
      ks,
      criteria({ silhouette: 8, calinskiHarabasz: edge, daviesBouldin: 8, gap: 8, stability: 3, knee: 9 }, ks),
    );
    assert.equal(r.recommended, 8, `Calinski–Harabasz at ${edge}`);
    assert.match(
      r.reason,
      new RegExp(`edge \\(k = ${edge}\\), no peak, so the criteria vote: 3 of 6 criteria chose k = 8`),
    );
  }
  // Its edge vote counts: with silhouette and Davies–Bouldin it outvotes the gap and stability.
  const two = recommendK(
    ks,
    criteria({ silhouette: 2, calinskiHarabasz: 2, daviesBouldin: 2, gap: 3, stability: 3, knee: 9 }, ks),
  );
  assert.equal(two.recommended, 2);
  assert.deepEqual(two.votes["2"], ["silhouette", "calinskiHarabasz", "daviesBouldin"]);
  // 2 votes each for 6 and 9: the mean ranks decide (the values favour 6 here).
  const tie = recommendK(
    ks,
    criteria({ silhouette: 6, calinskiHarabasz: 2, daviesBouldin: 9, gap: 9, stability: 6, knee: 4 }, ks),
  );
  assert.ok([6, 9].includes(tie.recommended));
  assert.match(tie.reason, /tied with/);
  // Only Calinski–Harabasz chose: its edge; nobody chose: the smallest candidate.
  assert.equal(recommendK(ks, criteria({ calinskiHarabasz: 12 }, ks)).recommended, 12);
  const none = recommendK(ks, criteria({}, ks));
  assert.equal(none.recommended, 2);
  assert.match(none.reason, /no criterion could choose/);
});

test("symmetricEigen: A v = λ v with orthonormal vectors, values descending", () => {
  const r = new Rng(3);
  const n = 12;
  const B = Array.from({ length: n * n }, () => r.normal());
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) for (let t = 0; t < n; t++) A[i * n + j]! += B[i * n + t]! * B[j * n + t]!;
  const { values, vectors } = symmetricEigen(A, n);
  for (let c = 1; c < n; c++) assert.ok(values[c]! <= values[c - 1]!);
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let j = 0; j < n; j++) av += A[i * n + j]! * vectors[j * n + c]!;
      assert.ok(Math.abs(av - values[c]! * vectors[i * n + c]!) < 1e-9 * values[0]!, `column ${c} row ${i}`);
    }
    for (let c2 = 0; c2 < n; c2++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += vectors[i * n + c]! * vectors[i * n + c2]!;
      assert.ok(Math.abs(dot - (c === c2 ? 1 : 0)) < 1e-12);
    }
  }
});

const cli = new URL("../dist/cli/main.js", import.meta.url).pathname;
const digits = new URL("./fixtures/digits.csv", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "deepclust-choose-k-"));
function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", cwd: dir });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("choose-k on digits (10 classes): the recommendation is within 2 of 10; --json and the page", () => {
  const r = run("choose-k", digits, "--k", "2..16", "--threads", "1", "--json", "--out", "page.html");
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    recommended: number;
    ks: number[];
    rows: number;
    criteria: Record<string, { values: (number | null)[]; choice: number | null; rule: string }>;
    reason: string;
  };
  assert.ok(Math.abs(out.recommended - 10) <= 2, `recommended ${out.recommended}`);
  assert.deepEqual(out.ks, kRange(2, 16));
  assert.equal(out.rows, 1797);
  assert.deepEqual(Object.keys(out.criteria).sort(), [...CRITERIA].sort());
  for (const c of Object.values(out.criteria)) {
    assert.equal(c.values.length, out.ks.length);
    assert.ok(c.choice === null || out.ks.includes(c.choice));
    assert.ok(c.rule.length > 0);
  }
  const page = readFileSync(join(dir, "page.html"), "utf8");
  assert.match(page, new RegExp(`Recommended: k = ${out.recommended}\\.`));
  assert.match(page, /"facet"/);
  // The page exists: a second run without --force refuses to replace it (exit 2).
  const again = run("choose-k", digits, "--k", "2..4", "--out", "page.html");
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already exists/);
});

test("choose-k --no-k-layout: no layout criterion, and the recommendation falls back on the code's", () => {
  const r = run(
    "choose-k",
    digits,
    "--k",
    "2..5",
    "--pretrain-epochs",
    "2",
    "--threads",
    "1",
    "--json",
    "--no-k-layout",
  );
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    criteria: Record<string, { values: (number | null)[]; choice: number | null }>;
    reason: string;
  };
  assert.equal(out.criteria.layoutDaviesBouldin!.choice, null);
  assert.ok(out.criteria.layoutDaviesBouldin!.values.every((v) => v === null));
  assert.match(out.reason, /^no layout criterion/);
  assert.match(out.reason, /of 6 criteria chose/);
});

test("train -k auto trains the model -k k̂ trains, records the selection, and the same command twice writes the same bytes", () => {
  const args = [digits, "--k-range", "2..12", "--threads", "1", "--no-baseline"];
  const first = run("train", ...args, "-k", "auto", "--out", "auto1", "--json");
  assert.equal(first.code, 0, first.stderr);
  const summary = JSON.parse(first.stdout) as { k: number; chooseK: { recommended: number; criteria: object } };
  assert.equal(summary.k, summary.chooseK.recommended);
  const metrics = JSON.parse(readFileSync(join(dir, "auto1", "metrics.json"), "utf8")) as {
    chooseK: { recommended: number; ks: number[] };
  };
  assert.equal(metrics.chooseK.recommended, summary.k);
  assert.deepEqual(metrics.chooseK.ks, kRange(2, 12));
  assert.match(readFileSync(join(dir, "auto1", "report.html"), "utf8"), /Choosing k \(-k auto\)/);

  const second = run("train", ...args, "-k", "auto", "--out", "auto2", "--no-report");
  assert.equal(second.code, 0, second.stderr);
  const given = run("train", ...args, "-k", String(summary.k), "--out", "given", "--no-report");
  assert.equal(given.code, 0, given.stderr);
  const weights = (d: string) => readFileSync(join(dir, d, "model.safetensors"));
  assert.deepEqual(weights("auto2"), weights("auto1"), "the same command twice");
  assert.deepEqual(weights("given"), weights("auto1"), "-k auto and -k k̂");
  const given_metrics = JSON.parse(readFileSync(join(dir, "given", "metrics.json"), "utf8")) as { chooseK: unknown };
  assert.equal(given_metrics.chooseK, null);
});

test("choose-k --refine dec trains DEC per candidate from the shared pretraining and scores it", () => {
  const r = run("choose-k", digits, "--k", "9..10", "--refine", "dec", "--threads", "1", "--json");
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as {
    refined: { k: number; silhouette: number; calinskiHarabasz: number; daviesBouldin: number; acc: number }[];
  };
  assert.deepEqual(
    out.refined.map((c) => c.k),
    [9, 10],
  );
  for (const c of out.refined) {
    assert.ok(c.silhouette > 0 && c.silhouette <= 1 && c.calinskiHarabasz > 0 && c.daviesBouldin > 0);
    // digits has a labels column: each candidate is scored against it too, and DEC beats chance by far.
    assert.ok(c.acc > 0.5, `k = ${c.k}: ACC ${c.acc}`);
  }
  // k = 10 trained from the shared pretraining is the model train -k 10 writes: the same ACC.
  const trained = run(
    "train",
    digits,
    "-k",
    "10",
    "--threads",
    "1",
    "--no-baseline",
    "--no-report",
    "--json",
    "--out",
    "k10",
  );
  assert.equal(trained.code, 0, trained.stderr);
  assert.equal((JSON.parse(trained.stdout) as { dec: { acc: number } }).dec.acc, out.refined[1]!.acc);
});

test("bad input: a bad k range, -k auto with --resume", () => {
  const bad = run("choose-k", digits, "--k", "1..5");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /2 ≤ from ≤ to/);
  const resume = run("train", digits, "-k", "auto", "--resume", dir, "--out", "r");
  assert.equal(resume.code, 2);
  assert.match(resume.stderr, /--resume continues a run of a known k/);
  assert.ok(!existsSync(join(dir, "r")));
  const tooMany = run("choose-k", digits, "--k", "2..1797");
  assert.equal(tooMany.code, 2, tooMany.stderr);
  assert.match(tooMany.stderr, /needs more than/);
});
