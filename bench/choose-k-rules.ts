// The rules choose-k could use, compared on recorded selections: every run of
// bench/choose-k-accuracy.ts records each criterion's value for every candidate k, so a rule (how
// stability picks its k, how the criteria's choices become one recommendation) can be replayed on
// them without running anything again. The stability tolerance and the first recommendation rule
// (the plain vote) were chosen on the tuning set only; the rule without the layout (Calinski–Harabasz
// unless at the range's edge, then the six's vote) on the 126 sets recorded before it, then judged
// once on the second fresh set; the first layout rule on the tuning set, judged on the third; the
// shipped one on the tuning and third sets, judged on the fourth (BENCHMARKS.md, "Choosing k"). Runs
// recorded before the layout's criterion replay the rule without it.
//
//   node --import tsx bench/choose-k-rules.ts --set tune
//   node --import tsx bench/choose-k-rules.ts --set tune,report,holdout \
//     --results bench/results/choose-k-accuracy.jsonl,bench/results/choose-k-holdout.jsonl

import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  CRITERIA,
  CRITERION_RULES,
  gapChoice,
  kneedle,
  recommendK,
  stabilityChoice,
  voteK,
  type CriterionName,
  type CriterionResult,
} from "../src/index.js";

const { values: a } = parseArgs({
  options: {
    set: { type: "string", default: "tune" },
    results: { type: "string", default: "bench/results/choose-k-accuracy.jsonl" },
    // One markdown table instead: each criterion and each recommendation rule (the shipped stability
    // rule) per set, as BENCHMARKS.md shows them.
    markdown: { type: "boolean", default: false },
    // Whether any rule over the six code criteria could beat Calinski–Harabasz (BENCHMARKS.md, step 4):
    // the best any such rule could do, the criteria where Calinski–Harabasz's peak is flat, and the
    // jump method on the recorded inertia.
    ceiling: { type: "boolean", default: false },
  },
});

interface Selection {
  ks: number[];
  criteria: Record<CriterionName, CriterionResult>;
  gapStandardError: number[];
  stabilitySd: number[];
  inertia: number[];
}
interface Run {
  set: string;
  dataset: string;
  k: number;
  selection: Selection;
}

const sets = a.set!.split(",");
const latest = new Map<string, Run>();
for (const file of a.results!.split(",")) {
  if (!existsSync(file)) throw new Error(`no ${file}: run bench/choose-k-accuracy.ts first`);
  for (const line of readFileSync(file, "utf8").split("\n").filter(Boolean)) {
    const r = JSON.parse(line) as Run;
    if (!sets.includes(r.set) || !r.selection) continue;
    // Runs recorded before the layout's criterion lack it: recommendK then applies the rule before it.
    r.selection.criteria.layoutDaviesBouldin ??= {
      values: r.selection.ks.map(() => null),
      choice: null,
      rule: CRITERION_RULES.layoutDaviesBouldin,
    };
    latest.set(`${r.set}/${r.dataset}`, r);
  }
}
const runs = [...latest.values()];
console.log(`${runs.length} runs of sets ${sets.join(", ")}`);

type StabilityRule = (ks: number[], v: number[]) => number | null;
const stabilityRules: Record<string, StabilityRule> = {
  "within 0.02 of the best": (ks, v) => stabilityChoice(ks, v, 0.02),
  "within 0.05 of the best": (ks, v) => stabilityChoice(ks, v, 0.05),
  "largest k with ARI ≥ 0.8": (ks, v) => largestAbove(ks, v, 0.8),
  "largest k with ARI ≥ 0.9": (ks, v) => largestAbove(ks, v, 0.9),
  "best of k ≥ 3": (ks, v) => {
    let best: number | null = null;
    let bv = -Infinity;
    ks.forEach((k, i) => {
      if (k >= 3 && v[i]! > bv) [best, bv] = [k, v[i]!];
    });
    return best;
  },
};

function largestAbove(ks: number[], v: number[], t: number): number | null {
  let c: number | null = null;
  ks.forEach((k, i) => {
    if (v[i]! >= t) c = k;
  });
  return c ?? stabilityChoice(ks, v, 0);
}

/** The recommendation rules: the shipped one, and alternatives over the same choices. */
type Recommend = (ks: number[], criteria: Record<CriterionName, CriterionResult>) => number;
const recommendRules: Record<string, Recommend> = {
  "the layout's Davies–Bouldin unless at the largest candidate (shipped; else the next rule)": (ks, c) =>
    recommendK(ks, c).recommended,
  "the layout's Davies–Bouldin, or Calinski–Harabasz's interior peak above it (c4d3c7a)": (ks, c) => {
    const layout = c.layoutDaviesBouldin.choice;
    const ch = c.calinskiHarabasz.choice;
    if (layout === null) return recommendK(ks, c).recommended;
    return ch !== null && ch !== ks[0] && ch !== ks.at(-1) && ch > layout ? ch : layout;
  },
  "Calinski–Harabasz inside the range, else the six's vote (799c858)": (ks, c) =>
    recommendK(ks, withoutLayout(c)).recommended,
  "vote of all six (the rule until 209b33b)": (ks, c) => voteK(ks, withoutLayout(c)).recommended,
  "Calinski–Harabasz inside the range, else the other five's vote (209b33b)": (ks, c) => {
    const ch = c.calinskiHarabasz.choice;
    if (ch !== null && ch !== ks[0] && ch !== ks.at(-1)) return ch;
    return voteK(ks, withoutLayout({ ...c, calinskiHarabasz: { ...c.calinskiHarabasz, choice: null } })).recommended;
  },
  "median of the six's choices": (_ks, c) => {
    const v = CRITERIA.slice(0, 6)
      .map((n) => c[n].choice)
      .filter((x): x is number => x !== null)
      .sort((x, y) => x - y);
    return v[Math.floor((v.length - 1) / 2)]!;
  },
  "vote without the knee": (ks, c) => voteK(ks, withoutLayout({ ...c, knee: { ...c.knee, choice: null } })).recommended,
  "vote without stability": (ks, c) =>
    voteK(ks, withoutLayout({ ...c, stability: { ...c.stability, choice: null } })).recommended,
  "vote of silhouette, CH, DB and gap": (ks, c) =>
    voteK(ks, withoutLayout({ ...c, stability: { ...c.stability, choice: null }, knee: { ...c.knee, choice: null } }))
      .recommended,
  "best mean rank of the six (Borda)": (ks, c) => bestMeanRank(ks, c, CRITERIA.slice(0, 6)),
  "best mean rank of silhouette, CH, DB": (ks, c) =>
    bestMeanRank(ks, c, ["silhouette", "calinskiHarabasz", "daviesBouldin"]),
  "vote, ties to Calinski–Harabasz's choice": (ks, c) => {
    const r = voteK(ks, withoutLayout(c));
    const ch = c.calinskiHarabasz.choice;
    return r.tied.length > 1 && ch !== null && r.tied.includes(ch) ? ch : r.recommended;
  },
};

/** The criteria as recorded before the layout's criterion. */
function withoutLayout(c: Record<CriterionName, CriterionResult>): Record<CriterionName, CriterionResult> {
  const none = { ...c.layoutDaviesBouldin, values: c.layoutDaviesBouldin.values.map(() => null), choice: null };
  return { ...c, layoutDaviesBouldin: none };
}

/** The candidate with the best mean rank over `names` (the knee ranks candidates by their distance from its choice). */
function bestMeanRank(
  ks: number[],
  c: Record<CriterionName, CriterionResult>,
  names: readonly CriterionName[],
): number {
  const dir: Record<CriterionName, number> = {
    silhouette: 1,
    calinskiHarabasz: 1,
    daviesBouldin: -1,
    gap: 1,
    stability: 1,
    knee: 0,
    layoutDaviesBouldin: -1,
  };
  const sums = ks.map(() => 0);
  for (const n of names) {
    const choice = c[n].choice;
    const order =
      dir[n] === 0
        ? choice === null
          ? []
          : ks.map((k, i) => ({ i, v: -Math.abs(k - choice) })).sort((x, y) => y.v - x.v)
        : ks
            .map((_k, i) => ({ i, v: c[n].values[i] ?? null }))
            .sort((x, y) => (x.v === null ? 1 : y.v === null ? -1 : dir[n]! * (y.v - x.v)));
    order.forEach(({ i }, r) => (sums[i]! += r));
  }
  let best = 0;
  sums.forEach((v, i) => {
    if (v < sums[best]!) best = i;
  });
  return ks[best]!;
}

function hitRate(pick: (r: Run) => number | null): string {
  const hits = runs.filter((r) => pick(r) === r.k).length;
  const err = runs.reduce((s, r) => s + Math.abs((pick(r) ?? 0) - r.k), 0) / runs.length;
  return `${hits}/${runs.length} hits, mean |k̂ − k| ${err.toFixed(2)}`;
}

if (a.ceiling) {
  const six = CRITERIA.slice(0, 6);
  const anyRight = runs.filter((r) => six.some((n) => r.selection.criteria[n].choice === r.k)).length;
  console.log(`some criterion of the six right (the most any rule choosing among their choices finds): ${anyRight}`);
  // Calinski–Harabasz's interior peaks with a neighbour within 5 % of the peak value.
  const flat = runs.filter((r) => {
    const { ks } = r.selection;
    const v = r.selection.criteria.calinskiHarabasz.values as number[];
    const i = ks.indexOf(r.selection.criteria.calinskiHarabasz.choice ?? -1);
    return i > 0 && i < ks.length - 1 && Math.max(v[i - 1]! / v[i]!, v[i + 1]! / v[i]!) >= 0.95;
  });
  const hitsIn = (pick: (r: Run) => number | null) => flat.filter((r) => pick(r) === r.k).length;
  console.log(
    `flat interior peaks of Calinski–Harabasz: ${flat.length} sets; hits there: ${six.map((n) => `${n} ${hitsIn((r) => r.selection.criteria[n].choice)}`).join(", ")}, the plain vote ${hitsIn((r) => voteK(r.selection.ks, withoutLayout(r.selection.criteria)).recommended)}`,
  );
  // The jump method (Sugar & James 2003): transformed distortion W_k^(−Y), the k after the largest jump
  // (the first candidate has no jump: W at k − 1 is not recorded).
  for (const Y of [0.5, 1, 1.5, 2, 2.5, 3, 4, 5]) {
    const pick = (r: Run) => {
      const { ks, inertia } = r.selection;
      const d = inertia.map((w) => Math.pow(w / inertia[0]!, -Y));
      let best = 1;
      for (let i = 2; i < ks.length; i++) if (d[i]! - d[i - 1]! > d[best]! - d[best - 1]!) best = i;
      return ks[best]!;
    };
    console.log(`jump method, Y = ${Y}: ${hitRate(pick)}`);
  }
  process.exit(0);
}

if (a.markdown) {
  const rows: [string, (r: Run) => number | null][] = [
    ...CRITERIA.map((n) => [n, (r: Run) => r.selection.criteria[n].choice] as [string, (r: Run) => number | null]),
    ...Object.entries(recommendRules).map(
      ([n, rule]) =>
        [`recommendation: ${n}`, (r: Run) => rule(r.selection.ks, r.selection.criteria)] as [
          string,
          (r: Run) => number | null,
        ],
    ),
  ];
  const bySet = sets.map((s) => runs.filter((r) => r.set === s));
  console.log(
    `| | ${sets.map((s, i) => `${s} (${bySet[i]!.length})`).join(" | ")} | all ${runs.length}: hits | mean abs(k̂ − k) |`,
  );
  console.log(`|---|${sets.map(() => "---|").join("")}---|---|`);
  for (const [name, pick] of rows) {
    const hits = (rs: Run[]) => rs.filter((r) => pick(r) === r.k).length;
    // The layout's criterion exists only on the sets recorded since it: "–" elsewhere, totals over those.
    const layoutOnly = name === "layoutDaviesBouldin";
    const has = (r: Run) => !layoutOnly || pick(r) !== null;
    const defined = runs.filter(has);
    const err = defined.reduce((s, r) => s + Math.abs((pick(r) ?? 0) - r.k), 0) / Math.max(1, defined.length);
    const cells = bySet.map((rs) => (rs.some(has) ? String(hits(rs.filter(has))) : "–"));
    const all = defined.length === runs.length ? String(hits(runs)) : `${hits(defined)} of ${defined.length}`;
    console.log(`| ${name} | ${cells.join(" | ")} | ${all} | ${err.toFixed(2)} |`);
  }
  process.exit(0);
}

console.log("\nEach criterion as recorded:");
for (const name of CRITERIA) console.log(`  ${name}: ${hitRate((r) => r.selection.criteria[name].choice)}`);
console.log(
  `  gap (replayed): ${hitRate((r) => gapChoice(r.selection.ks, r.selection.criteria.gap.values as number[], r.selection.gapStandardError))}`,
);
console.log(`  knee (replayed): ${hitRate((r) => kneedle(r.selection.ks, r.selection.inertia))}`);

for (const [sName, sRule] of Object.entries(stabilityRules)) {
  console.log(
    `\nstability: ${sName}: ${hitRate((r) => sRule(r.selection.ks, r.selection.criteria.stability.values as number[]))}`,
  );
  for (const [rName, rRule] of Object.entries(recommendRules)) {
    const pick = (r: Run) => {
      const c = { ...r.selection.criteria };
      c.stability = { ...c.stability, choice: sRule(r.selection.ks, c.stability.values as number[]) };
      return rRule(r.selection.ks, c);
    };
    console.log(`  recommendation by ${rName}: ${hitRate(pick)}`);
  }
}
