// Choosing the number of clusters: k-means for every candidate k on one matrix (in deepclust, the
// pretrained autoencoder's code), scored by six criteria and by a seventh on the matrix's UMAP
// layout, each with its own choice of k, and one recommendation from their choices. All of it on a seeded sample of rows (at most `sampleSize`), so
// that a 30-candidate sweep of 70,000 rows takes about as long as one of 10,000.
//
// The criteria:
//   silhouette, Calinski–Harabasz, Davies–Bouldin  (internal-scores.ts): best value
//   gap statistic (Tibshirani, Walther & Hastie 2001): the smallest k with Gap(k) ≥ Gap(k+1) − s(k+1),
//       references drawn uniformly in the box of the data's principal axes (their method b)
//   stability: the mean ARI between the clustering and the clusterings of bootstrap resamples
//       (each applied to every row); the largest k whose stability is within `stabilityTolerance`
//       of the best, since k = 2 is nearly always the most stable split
//   knee of the inertia curve (Kneedle, Satopää et al. 2011, sensitivity 1)
//   the layout's Davies–Bouldin: k-means on the UMAP layout of the sample (N2D's manifold, with the
//       manifold start's settings) for every candidate, the lowest Davies–Bouldin index there
// and the recommendation: the layout's choice; without it, Calinski–Harabasz's interior peak, else the
// criteria's vote (recommendK).

import { Rng } from "../engine/random.js";
import type { Matrix } from "../engine/matrix.js";
import { gatherRows } from "../engine/matrix.js";
import { DEFAULTS, definedOnly } from "../config.js";
import { kmeans } from "./kmeans.js";
import { ari } from "./metrics.js";
import { nearestCentres } from "./nearest-centres.js";
import { daviesBouldinScore, internalScores } from "./internal-scores.js";
import { umapEmbedding } from "./manifold.js";
import { symmetricEigen } from "./symmetric-eigen.js";

export const CRITERIA = [
  "silhouette",
  "calinskiHarabasz",
  "daviesBouldin",
  "gap",
  "stability",
  "knee",
  "layoutDaviesBouldin",
] as const;
export type CriterionName = (typeof CRITERIA)[number];

/** The recommendation rule in a sentence (recommendK), as choose-k's page states it. */
export const RECOMMENDATION_RULE =
  "The recommendation is the layout's Davies–Bouldin choice unless that is the largest candidate; without it, Calinski–Harabasz's peak inside the range, else the k most criteria chose (a tie: the best mean rank, then the smaller k).";

/** The criteria that were computed: the layout's is left out when it was turned off or UMAP could not run. */
export function computedCriteria(criteria: Record<CriterionName, CriterionResult>): CriterionName[] {
  return CRITERIA.filter((n) => criteria[n].choice !== null || criteria[n].values.some((v) => v !== null));
}

/** How each criterion picks its k (shown by choose-k and recorded in its JSON). */
export const CRITERION_RULES: Record<CriterionName, string> = {
  silhouette: "highest silhouette",
  calinskiHarabasz: "highest Calinski–Harabasz index",
  daviesBouldin: "lowest Davies–Bouldin index",
  gap: "smallest k with Gap(k) ≥ Gap(k+1) − s(k+1) (Tibshirani's rule)",
  stability: "largest k whose bootstrap stability (mean ARI) is within the tolerance of the best",
  knee: "knee of the inertia curve (Kneedle)",
  layoutDaviesBouldin: "lowest Davies–Bouldin index of k-means on the code's UMAP layout",
};

export interface ChooseKOptions {
  /** Candidate numbers of clusters: integers ≥ 2, ascending, at most the rows (of the sample). */
  ks: readonly number[];
  /** k-means restarts per candidate (default DEFAULTS.chooseK.nInit). */
  nInit?: number;
  /** Score a seeded sample of at most this many rows (null: every row; default DEFAULTS.chooseK.sampleSize). */
  sampleSize?: number | null;
  /** Reference data sets of the gap statistic (default DEFAULTS.chooseK.gapReferences). */
  gapReferences?: number;
  /** Bootstrap resamples of the stability criterion (default DEFAULTS.chooseK.stabilityRuns). */
  stabilityRuns?: number;
  /** Stability's choice: the largest k within this much mean ARI of the best (default DEFAULTS.chooseK.stabilityTolerance). */
  stabilityTolerance?: number;
  /** Compute the layout's criterion (a UMAP layout of the sample, then k-means on it per candidate; default DEFAULTS.chooseK.layout). */
  layout?: boolean;
  seed?: number | Rng;
  /** CPU threads for k-means and the silhouette (0: one per core). */
  threads?: number;
  /** Called after each candidate with it and how many are done. */
  onCandidate?: (k: number, done: number, total: number) => void;
  /** The layout's criterion: after each UMAP epoch ("umap"), then after each candidate ("kmeans"). */
  onLayout?: (stage: "umap" | "kmeans", done: number, total: number) => void;
}

export interface CriterionResult {
  /** One value per candidate k, in the order of `ks` (null where it is undefined, e.g. one non-empty cluster). */
  values: (number | null)[];
  /** This criterion's own choice (null when it has none). */
  choice: number | null;
  rule: string;
}

export interface ChooseKResult {
  ks: number[];
  /** Rows of the data, and of the sample the criteria were computed on. */
  rows: number;
  sampleRows: number;
  /** k-means inertia (within-cluster sum of squares) of the sample, per candidate. */
  inertia: number[];
  /** The gap statistic's standard errors s(k), per candidate. */
  gapStandardError: number[];
  /** The stability's standard deviation over the resamples, per candidate. */
  stabilitySd: number[];
  criteria: Record<CriterionName, CriterionResult>;
  /** The recommended number of clusters, and why (see recommendK). */
  recommended: number;
  reason: string;
  /** For each candidate chosen by at least one criterion: the criteria that chose it. */
  votes: Record<string, CriterionName[]>;
  seconds: number;
}

/** Candidate k values `from`..`to` every `step` (the last is `to` even off the step). */
export function kRange(from: number, to: number, step = 1): number[] {
  if (!Number.isInteger(from) || !Number.isInteger(to) || !Number.isInteger(step) || from < 2 || to < from || step < 1)
    throw new RangeError(`k range ${from}..${to} step ${step}: need integers 2 ≤ from ≤ to and step ≥ 1`);
  const ks: number[] = [];
  for (let k = from; k <= to; k += step) ks.push(k);
  if (ks.at(-1) !== to) ks.push(to);
  return ks;
}

export async function chooseK(X: Matrix, options: ChooseKOptions): Promise<ChooseKResult> {
  const t0 = performance.now();
  const o = { ...DEFAULTS.chooseK, ...definedOnly(options) };
  const ks = [...options.ks];
  const rng = options.seed instanceof Rng ? options.seed : new Rng(options.seed ?? DEFAULTS.seed);
  const threads = options.threads ?? DEFAULTS.threads;
  // Each k-means here is small (a sample, a few restarts): worker lanes would cost more to start
  // than they save (10,000 × 10, k = 20, 3 restarts: 583 ms on 2 lanes, 99 ms on one).
  const lane = { threads: 1 };
  const S = sampleOf(X, o.sampleSize, rng.fork());
  checkCandidates(ks, S.rows);
  const references = gapReferences(S, o.gapReferences, rng.fork());
  const resamples = Array.from({ length: o.stabilityRuns }, () => bootstrap(S, rng.fork()));

  const silhouette: (number | null)[] = [];
  const ch: (number | null)[] = [];
  const db: (number | null)[] = [];
  const inertia: number[] = [];
  const logW: number[] = [];
  const gap: number[] = [];
  const gapSe: number[] = [];
  const stability: number[] = [];
  const stabilitySd: number[] = [];
  for (const [index, k] of ks.entries()) {
    const km = await kmeans(S, { k, nInit: o.nInit, seed: rng.fork(), ...lane });
    // The sample is what is scored, so its silhouette is exact.
    const scores = await internalScores(S, km.labels, { sampleSize: null, threads });
    silhouette.push(scores?.silhouette ?? null);
    ch.push(scores?.calinskiHarabasz ?? null);
    db.push(scores?.daviesBouldin ?? null);
    inertia.push(km.inertia);
    logW.push(Math.log(km.inertia));
    // The references are clustered as the data is, with fewer restarts: their W*_k only need to
    // be typical, and B of them average out.
    const refLogW: number[] = [];
    for (const ref of references)
      refLogW.push(Math.log((await kmeans(ref, { k, nInit: o.referenceNInit, seed: rng.fork(), ...lane })).inertia));
    const { mean, sd } = meanSd(refLogW);
    gap.push(mean - logW[index]!);
    gapSe.push(sd * Math.sqrt(1 + 1 / references.length));
    const agreement: number[] = [];
    for (const resample of resamples) {
      const fit = await kmeans(resample, { k, nInit: o.referenceNInit, seed: rng.fork(), ...lane });
      agreement.push(ari(km.labels, nearestCentres(S, fit.centers, k).labels));
    }
    const st = meanSd(agreement);
    stability.push(st.mean);
    stabilitySd.push(st.sd);
    options.onCandidate?.(k, index + 1, ks.length);
  }

  // Forked after every other draw, so the six criteria above are what they were without it.
  const layoutDb = o.layout ? await layoutDaviesBouldin(S, ks, o.nInit, rng.fork(), threads, options.onLayout) : null;
  const criteria: Record<CriterionName, CriterionResult> = {
    silhouette: criterion("silhouette", silhouette, argBest(ks, silhouette, 1)),
    calinskiHarabasz: criterion("calinskiHarabasz", ch, argBest(ks, ch, 1)),
    daviesBouldin: criterion("daviesBouldin", db, argBest(ks, db, -1)),
    gap: criterion("gap", gap, gapChoice(ks, gap, gapSe)),
    stability: criterion("stability", stability, stabilityChoice(ks, stability, o.stabilityTolerance)),
    knee: criterion("knee", inertia, kneedle(ks, inertia)),
    layoutDaviesBouldin: criterion(
      "layoutDaviesBouldin",
      layoutDb ?? ks.map(() => null),
      layoutDb ? argBest(ks, layoutDb, -1) : null,
    ),
  };
  const { recommended, reason, votes } = recommendK(ks, criteria);
  return {
    ks,
    rows: X.rows,
    sampleRows: S.rows,
    inertia,
    gapStandardError: gapSe,
    stabilitySd,
    criteria,
    recommended,
    reason,
    votes,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * The recommendation: the layout's Davies–Bouldin choice. It is the best single criterion on the 39
 * tuning sets (24 hits, against 21 for the best of the code's own, Calinski–Harabasz: the best
 * single rule in Milligan & Cooper's 1985 comparison of 30) and on the fresh set judged after it (28
 * of 36, against 24). A first form took Calinski–Harabasz's interior peak where it lay above the
 * layout's choice (25 of the 39) but was wrong on each of the three fresh sets where it did (26 of
 * 36), so the layout's choice stands alone; except at the largest candidate, where the index is still
 * falling (no minimum: the layout is splitting its groups; twice on the fresh set, k = 60 for 2 and
 * 4 groups), as Calinski–Harabasz's best at the range's edge is no peak (BENCHMARKS.md, "Choosing k").
 *
 * Without the layout's choice (turned off, UMAP could not lay the rows out, or at the largest
 * candidate): Calinski–Harabasz's choice when it peaks inside the candidate range; its best value at
 * the range's edge is no peak (on data with unequal groups its value just falls as k grows), and then
 * the criteria vote (voteK), every choice one vote.
 */
export function recommendK(
  ks: readonly number[],
  criteria: Record<CriterionName, CriterionResult>,
): { recommended: number; reason: string; votes: Record<string, CriterionName[]> } {
  const votes: Record<string, CriterionName[]> = {};
  for (const name of CRITERIA) {
    const choice = criteria[name].choice;
    if (choice !== null) (votes[String(choice)] ??= []).push(name);
  }
  const withOthers = (k: number) => {
    const rest = Object.entries(votes)
      .map(([c, by]) => ({ k: Number(c), by }))
      .filter((c) => c.k !== k)
      .sort((a, b) => b.by.length - a.by.length || a.k - b.k)
      .map((c) => `k = ${c.k} (${c.by.join(", ")})`);
    return rest.length ? `; the others: ${rest.join("; ")}` : "";
  };
  const computed = computedCriteria(criteria).length;
  const chosenBy = (k: number) => `${votes[String(k)]!.length} of ${computed} criteria chose k = ${k}`;

  const ch = criteria.calinskiHarabasz.choice;
  const chPeaks = ch !== null && ch !== ks[0] && ch !== ks.at(-1);
  const layout = criteria.layoutDaviesBouldin.choice;
  // Lowest at the largest candidate: still falling, the layout's clusters are splitting its groups.
  const layoutAtTop = layout !== null && ks.length > 1 && layout === ks.at(-1);
  if (layout !== null && !layoutAtTop)
    return {
      recommended: layout,
      reason: `the layout's Davies–Bouldin chose k = ${layout}; ${chosenBy(layout)} (${votes[String(layout)]!.join(", ")})${withOthers(layout)}`,
      votes,
    };

  const noLayout =
    layout === null
      ? "no layout criterion"
      : `the layout's Davies–Bouldin is lowest at the largest candidate (k = ${layout}), no minimum`;
  if (chPeaks)
    return {
      recommended: ch,
      reason: `${noLayout}; Calinski–Harabasz peaks inside the range at k = ${ch}; ${chosenBy(ch)} (${votes[String(ch)]!.join(", ")})${withOthers(ch)}`,
      votes,
    };

  // Neither: the criteria vote.
  const vote = voteK(ks, criteria);
  if (vote.tied.length === 0)
    return { recommended: ks[0]!, reason: "no criterion could choose: the smallest candidate", votes };
  const { recommended, tied } = vote;
  const why =
    ch === null
      ? `${noLayout}, and Calinski–Harabasz made no choice`
      : `${noLayout}, and Calinski–Harabasz's best is at the range's edge (k = ${ch}), no peak`;
  const tie =
    tied.length > 1
      ? `; tied with ${tied.filter((k) => k !== recommended).join(", ")}, broken by the criteria's mean rank`
      : "";
  const reason = `${why}, so the criteria vote: ${chosenBy(recommended)} (${votes[String(recommended)]!.join(", ")})${tie}${withOthers(recommended)}`;
  return { recommended, reason, votes };
}

/**
 * The criteria's plain vote: the k most criteria chose; a tie to the tied k with the best mean rank
 * over the computed criteria, then to the smaller k; no criterion with a choice: the smallest candidate. `tied`
 * holds the candidates with the most votes (empty when none chose). recommendK falls back on it; it
 * was choose-k's whole recommendation before the Calinski–Harabasz rule.
 */
export function voteK(
  ks: readonly number[],
  criteria: Record<CriterionName, CriterionResult>,
): { recommended: number; tied: number[] } {
  const counts = new Map<number, number>();
  for (const name of CRITERIA) {
    const choice = criteria[name].choice;
    if (choice !== null) counts.set(choice, (counts.get(choice) ?? 0) + 1);
  }
  if (counts.size === 0) return { recommended: ks[0]!, tied: [] };
  const most = Math.max(...counts.values());
  const tied = [...counts].filter(([, n]) => n === most).map(([k]) => k);
  let recommended = Math.min(...tied);
  if (tied.length > 1) {
    const ranks = meanRanks(ks, criteria);
    recommended = tied.reduce((best, k) => {
      const r = ranks.get(k)!;
      const rb = ranks.get(best)!;
      return r < rb || (r === rb && k < best) ? k : best;
    });
  }
  return { recommended, tied };
}

/** Each candidate's mean rank over the criteria (1 = a criterion's best). */
function meanRanks(ks: readonly number[], criteria: Record<CriterionName, CriterionResult>): Map<number, number> {
  const sums = new Map<number, number>(ks.map((k) => [k, 0]));
  const direction: Record<CriterionName, number> = {
    silhouette: 1,
    calinskiHarabasz: 1,
    daviesBouldin: -1,
    gap: 1,
    stability: 1,
    knee: 1,
    layoutDaviesBouldin: -1,
  };
  // A criterion without values (the layout's, when it is off) ranks nothing.
  const ranked = computedCriteria(criteria);
  for (const name of ranked) {
    const values =
      name === "knee" ? kneeDifference(ks, criteria.knee.values as number[]) : criteria[name].values.map((v) => v);
    const order = ks
      .map((k, i) => ({ k, v: values[i] ?? null }))
      .sort((a, b) => (a.v === null ? 1 : b.v === null ? -1 : direction[name] * (b.v - a.v)));
    order.forEach(({ k }, rank) => sums.set(k, sums.get(k)! + rank + 1));
  }
  return new Map([...sums].map(([k, s]) => [k, s / Math.max(1, ranked.length)]));
}

/** The candidate with the best value (sign 1: highest, −1: lowest); the smaller k on a tie. */
function argBest(ks: readonly number[], values: readonly (number | null)[], sign: 1 | -1): number | null {
  let best: number | null = null;
  let bestValue = -Infinity;
  values.forEach((v, i) => {
    if (v !== null && Number.isFinite(v) && sign * v > bestValue) {
      bestValue = sign * v;
      best = ks[i]!;
    }
  });
  return best;
}

/** Tibshirani's rule: the smallest k with Gap(k) ≥ Gap(k+1) − s(k+1); none holds: the k of the largest gap. */
export function gapChoice(ks: readonly number[], gap: readonly number[], se: readonly number[]): number | null {
  for (let i = 0; i + 1 < ks.length; i++) if (gap[i]! >= gap[i + 1]! - se[i + 1]!) return ks[i]!;
  return argBest(ks, gap, 1);
}

/** The largest k whose stability is within `tolerance` of the most stable candidate's. */
export function stabilityChoice(ks: readonly number[], stability: readonly number[], tolerance: number): number | null {
  const best = Math.max(...stability.filter((v) => Number.isFinite(v)));
  if (!Number.isFinite(best)) return null;
  let choice: number | null = null;
  stability.forEach((v, i) => {
    if (v >= best - tolerance) choice = ks[i]!;
  });
  return choice;
}

/**
 * Kneedle's difference curve for a decreasing convex curve y(k): both axes scaled to [0, 1], then
 * (1 − y) − x, which is largest where the curve turns from steep to flat.
 */
function kneeDifference(ks: readonly number[], y: readonly number[]): number[] {
  const x0 = ks[0]!;
  const x1 = ks.at(-1)!;
  const yMin = Math.min(...y);
  const yMax = Math.max(...y);
  return ks.map((k, i) => {
    const xn = x1 === x0 ? 0 : (k - x0) / (x1 - x0);
    const yn = yMax === yMin ? 0 : (y[i]! - yMin) / (yMax - yMin);
    return 1 - yn - xn;
  });
}

/**
 * Kneedle (offline, sensitivity S = 1): the first local maximum of the difference curve after
 * which the curve falls below its threshold (the maximum less S × the mean spacing of the scaled
 * candidates) before the next local maximum; none does: the difference curve's maximum. Fewer
 * than three candidates have no knee.
 */
export function kneedle(ks: readonly number[], y: readonly number[], sensitivity = 1): number | null {
  if (ks.length < 3) return null;
  const diff = kneeDifference(ks, y);
  const spacing = 1 / (ks.length - 1);
  const maxima: number[] = [];
  for (let i = 1; i + 1 < diff.length; i++) if (diff[i]! >= diff[i - 1]! && diff[i]! > diff[i + 1]!) maxima.push(i);
  for (const [m, i] of maxima.entries()) {
    const threshold = diff[i]! - sensitivity * spacing;
    const next = maxima[m + 1] ?? diff.length;
    for (let j = i + 1; j < diff.length && j <= next; j++) if (diff[j]! < threshold) return ks[i]!;
  }
  return argBest(ks, diff, 1);
}

function criterion(name: CriterionName, values: (number | null)[], choice: number | null): CriterionResult {
  return { values, choice, rule: CRITERION_RULES[name] };
}

/**
 * The layout's criterion: a UMAP layout of S with the manifold start's settings (10 components, 20
 * neighbours, min_dist 0: N2D's), k-means on it for every candidate, and the Davies–Bouldin index of
 * each clustering in the layout. The layout pulls each dense group together and apart from the
 * others, where the code's own criteria see overlapping spheres. Null values when UMAP cannot lay
 * the rows out (a layout that is not finite: many identical rows).
 */
async function layoutDaviesBouldin(
  S: Matrix,
  ks: readonly number[],
  nInit: number,
  rng: Rng,
  threads: number,
  onLayout?: ChooseKOptions["onLayout"],
): Promise<(number | null)[] | null> {
  let embedding: { data: Float64Array; rows: number; cols: number };
  try {
    embedding = await umapEmbedding(S, {
      seed: rng.fork(),
      threads,
      ...(onLayout ? { onEpoch: (e: number, n: number) => onLayout("umap", e, n) } : {}),
    });
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
  const L: Matrix = { data: Float32Array.from(embedding.data), rows: embedding.rows, cols: embedding.cols };
  const values: (number | null)[] = [];
  for (const [index, k] of ks.entries()) {
    const km = await kmeans(L, { k, nInit, seed: rng.fork(), threads: 1 });
    let db: number | null = null;
    try {
      db = daviesBouldinScore(L, km.labels);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e; // fewer than two distinct clusters: undefined
    }
    values.push(db !== null && Number.isFinite(db) ? db : null);
    onLayout?.("kmeans", index + 1, ks.length);
  }
  return values;
}

/** Throws a RangeError unless `ks` are ascending integers ≥ 2, each less than the rows the criteria see. */
export function checkCandidates(ks: readonly number[], rows: number): void {
  if (ks.length === 0) throw new RangeError("choose-k needs at least one candidate k");
  ks.forEach((k, i) => {
    if (!Number.isInteger(k) || k < 2) throw new RangeError(`candidate k must be an integer ≥ 2, got ${k}`);
    if (i > 0 && k <= ks[i - 1]!) throw new RangeError(`candidate k values must ascend: ${ks.join(", ")}`);
    if (k >= rows) throw new RangeError(`candidate k = ${k} needs more than ${k} rows; the data (sample) has ${rows}`);
  });
}

/** A seeded sample of at most `size` rows, in their original order (all rows when there are fewer). */
function sampleOf(X: Matrix, size: number | null, rng: Rng): Matrix {
  if (size === null || X.rows <= size) return X;
  const pick = rng.permutation(X.rows).subarray(0, size).sort();
  const data = new Float32Array(size * X.cols);
  gatherRows(X, pick, 0, size, data);
  return { data, rows: size, cols: X.cols };
}

/** A bootstrap resample: as many rows as X, drawn with replacement. */
function bootstrap(X: Matrix, rng: Rng): Matrix {
  const index = new Uint32Array(X.rows);
  for (let i = 0; i < X.rows; i++) index[i] = rng.int(X.rows);
  const data = new Float32Array(X.rows * X.cols);
  gatherRows(X, index, 0, X.rows, data);
  return { data, rows: X.rows, cols: X.cols };
}

/**
 * The gap statistic's reference data sets: uniform in the box spanned by the data along its
 * principal axes (Tibshirani et al.'s method b), mapped back to the data's coordinates.
 */
function gapReferences(X: Matrix, count: number, rng: Rng): Matrix[] {
  const { rows: n, cols: d } = X;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += X.data[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  const cov = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = X.data[i * d + j]! - mean[j]!;
    for (let a = 0; a < d; a++) for (let b = a; b < d; b++) cov[a * d + b]! += row[a]! * row[b]!;
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) cov[a * d + b] = cov[b * d + a]!;
  const { vectors } = symmetricEigen(cov, d); // columns: principal axes
  // The data's extent along each axis.
  const lo = new Float64Array(d).fill(Infinity);
  const hi = new Float64Array(d).fill(-Infinity);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) row[j] = X.data[i * d + j]! - mean[j]!;
    for (let c = 0; c < d; c++) {
      let p = 0;
      for (let j = 0; j < d; j++) p += row[j]! * vectors[j * d + c]!;
      if (p < lo[c]!) lo[c] = p;
      if (p > hi[c]!) hi[c] = p;
    }
  }
  const refs: Matrix[] = [];
  const z = new Float64Array(d);
  for (let b = 0; b < count; b++) {
    const data = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < d; c++) z[c] = lo[c]! + rng.uniform() * (hi[c]! - lo[c]!);
      for (let j = 0; j < d; j++) {
        let v = mean[j]!;
        for (let c = 0; c < d; c++) v += vectors[j * d + c]! * z[c]!;
        data[i * d + j] = v;
      }
    }
    refs.push({ data, rows: n, cols: d });
  }
  return refs;
}

/** Mean and population standard deviation (Tibshirani's sd_k divides by B). */
function meanSd(values: readonly number[]): { mean: number; sd: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
  return { mean, sd };
}
