// UMAP's fuzzy graph and layout optimisation as umap-js 1.4 computes them (same arithmetic in the
// same order, same draws from the same random source), on typed arrays. One change: the layout
// takes powers as exp(b·ln x) rather than Math.pow, for a few ulps: the 20,000-row layout of
// bench/umap-cost.ts went from 27.5 s to 21.8 s.
// Why not umap-js itself: it keeps the graph in Map-of-string sparse matrices and the layout in
// number[][], which took 77 s for 20,000 rows (27 s building the graph, 50 s of layout) and
// 3.2 GiB for 70,000. The port gives the same graph bit for bit and a layout that agrees to 1e-12
// until SGD amplifies those ulps (test/umap.test.ts runs both). umap-js still supplies the a/b
// curve fit (findABParams).

import { DEFAULTS } from "../config.js";
import { findABParams } from "umap-js/dist/umap.js";

/** The symmetrised fuzzy simplicial set: edges sorted by (row, col), zero weights included. */
export interface FuzzyGraph {
  n: number;
  rows: Int32Array;
  cols: Int32Array;
  vals: Float64Array;
}

const SMOOTH_K_TOLERANCE = 1e-5;
const MIN_K_DIST_SCALE = 1e-3;

/**
 * The fuzzy union of each row's local fuzzy neighbourhood (umap-learn's fuzzy_simplicial_set with
 * set_op_mix_ratio 1): w(i,j) = a + b − a·b with a, b the two directed membership strengths.
 * `indices`/`distances` are n × k, each row's own index first at distance 0, without repeats.
 */
export function fuzzySimplicialSet(
  indices: Int32Array,
  distances: Float32Array | Float64Array,
  n: number,
  k: number,
  localConnectivity = 1,
): FuzzyGraph {
  const { sigmas, rhos } = smoothKnnDistances(distances, n, k, localConnectivity);
  // Directed memberships, row-major as the kNN lists.
  const member = new Float64Array(n * k);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < k; j++) {
      const e = i * k + j;
      if (indices[e] === i) member[e] = 0;
      else if (distances[e]! - rhos[i]! <= 0) member[e] = 1;
      else member[e] = Math.exp(-((distances[e]! - rhos[i]!) / sigmas[i]!));
    }
  // Row r of the union holds r's own neighbours and every row that lists r as a neighbour.
  const count = new Int32Array(n + 1);
  for (let e = 0; e < n * k; e++) {
    count[Math.floor(e / k) + 1]!++;
    count[indices[e]! + 1]!++;
  }
  for (let i = 0; i < n; i++) count[i + 1]! += count[i]!;
  const slotCol = new Int32Array(count[n]!);
  const slotOut = new Float64Array(count[n]!);
  const slotIn = new Float64Array(count[n]!);
  const fill = count.slice(0, n);
  for (let e = 0; e < n * k; e++) {
    const i = Math.floor(e / k);
    const j = indices[e]!;
    let s = fill[i]!++;
    slotCol[s] = j;
    slotOut[s] = member[e]!;
    slotIn[s] = NaN; // not yet known
    s = fill[j]!++;
    slotCol[s] = i;
    slotOut[s] = NaN;
    slotIn[s] = member[e]!;
  }
  const rows: number[] = [];
  const cols: number[] = [];
  const vals: number[] = [];
  const order: number[] = [];
  for (let r = 0; r < n; r++) {
    order.length = 0;
    for (let s = count[r]!; s < count[r + 1]!; s++) order.push(s);
    order.sort((x, y) => slotCol[x]! - slotCol[y]!);
    for (let p = 0; p < order.length;) {
      const c = slotCol[order[p]!]!;
      let out = 0;
      let inn = 0;
      for (; p < order.length && slotCol[order[p]!] === c; p++) {
        const s = order[p]!;
        if (!Number.isNaN(slotOut[s]!)) out = slotOut[s]!;
        if (!Number.isNaN(slotIn[s]!)) inn = slotIn[s]!;
      }
      rows.push(r);
      cols.push(c);
      // umap-js: (A + Aᵀ − A∘Aᵀ)·mix + (A∘Aᵀ)·(1 − mix) with mix 1, which is exactly this.
      vals.push(out + inn - out * inn);
    }
  }
  return { n, rows: Int32Array.from(rows), cols: Int32Array.from(cols), vals: Float64Array.from(vals) };
}

/** Per row: ρ (distance to the nearest non-identical neighbour) and σ with Σ exp(−(d − ρ)/σ) = log₂ k. */
function smoothKnnDistances(
  distances: Float32Array | Float64Array,
  n: number,
  k: number,
  localConnectivity: number,
  nIter = 64,
  bandwidth = 1,
): { sigmas: Float64Array; rhos: Float64Array } {
  const target = (Math.log(k) / Math.log(2)) * bandwidth;
  const rho = new Float64Array(n);
  const sigma = new Float64Array(n);
  const rowMean = (i: number) => {
    let s = distances[i * k]!;
    for (let j = 1; j < k; j++) s += distances[i * k + j]!;
    return s / k;
  };
  let meanOfMeans: number | undefined;
  for (let i = 0; i < n; i++) {
    let lo = 0;
    let hi = Infinity;
    let mid = 1;
    const nonZero: number[] = [];
    for (let j = 0; j < k; j++) if (distances[i * k + j]! > 0) nonZero.push(distances[i * k + j]!);
    if (nonZero.length >= localConnectivity) {
      const index = Math.floor(localConnectivity);
      const interpolation = localConnectivity - index;
      if (index > 0) {
        rho[i] = nonZero[index - 1]!;
        if (interpolation > SMOOTH_K_TOLERANCE) rho[i]! += interpolation * (nonZero[index]! - nonZero[index - 1]!);
      } else rho[i] = interpolation * nonZero[0]!;
    } else if (nonZero.length > 0) {
      let m = 0;
      for (const v of nonZero) m = v > m ? v : m;
      rho[i] = m;
    }
    for (let it = 0; it < nIter; it++) {
      let psum = 0;
      for (let j = 1; j < k; j++) {
        const d = distances[i * k + j]! - rho[i]!;
        psum += d > 0 ? Math.exp(-(d / mid)) : 1;
      }
      if (Math.abs(psum - target) < SMOOTH_K_TOLERANCE) break;
      if (psum > target) {
        hi = mid;
        mid = (lo + hi) / 2;
      } else {
        lo = mid;
        mid = hi === Infinity ? mid * 2 : (lo + hi) / 2;
      }
    }
    sigma[i] = mid;
    if (rho[i]! > 0) {
      const m = rowMean(i);
      if (sigma[i]! < MIN_K_DIST_SCALE * m) sigma[i] = MIN_K_DIST_SCALE * m;
    } else {
      if (meanOfMeans === undefined) {
        let s = rowMean(0);
        for (let r = 1; r < n; r++) s += rowMean(r);
        meanOfMeans = s / n;
      }
      if (sigma[i]! < MIN_K_DIST_SCALE * meanOfMeans) sigma[i] = MIN_K_DIST_SCALE * meanOfMeans;
    }
  }
  return { sigmas: sigma, rhos: rho };
}

/** umap-js's default number of layout epochs for n rows (500 up to 2,500 rows, down to 200 above 7,500). */
export function defaultLayoutEpochs(n: number): number {
  return n <= 2500 ? 500 : n <= 5000 ? 400 : n <= 7500 ? 300 : 200;
}

export interface LayoutOptions {
  nComponents: number;
  minDist: number;
  spread?: number;
  nEpochs?: number;
  learningRate?: number;
  negativeSampleRate?: number;
  repulsionStrength?: number;
  /** Uniform draws in [0, 1): the initial layout, then the negative samples. */
  random: () => number;
}

/**
 * Stochastic gradient descent of UMAP's cross-entropy from a uniform random start in [−10, 10)
 * (umap-js's initialisation), one epoch per `step()`.
 */
export class UmapLayout {
  /** n × nComponents, row-major. */
  readonly embedding: Float64Array;
  readonly nEpochs: number;
  private epoch = 0;
  private readonly head: Int32Array;
  private readonly tail: Int32Array;
  private readonly epochsPerSample: Float64Array;
  private readonly epochOfNextSample: Float64Array;
  private readonly epochsPerNegativeSample: Float64Array;
  private readonly epochOfNextNegativeSample: Float64Array;
  private readonly a: number;
  private readonly b: number;
  private readonly dim: number;
  private readonly n: number;
  private readonly initialAlpha: number;
  private alpha: number;
  private readonly gamma: number;
  private readonly random: () => number;

  constructor(graph: FuzzyGraph, o: LayoutOptions) {
    const n = graph.n;
    const dim = o.nComponents;
    this.n = n;
    this.dim = dim;
    this.random = o.random;
    this.nEpochs = o.nEpochs !== undefined && o.nEpochs > 0 ? o.nEpochs : defaultLayoutEpochs(n);
    let graphMax = 0;
    for (let e = 0; e < graph.vals.length; e++) if (graphMax < graph.vals[e]!) graphMax = graph.vals[e]!;
    this.embedding = new Float64Array(n * dim);
    for (let i = 0; i < n * dim; i++) this.embedding[i] = o.random() * 20 + -10;
    // Edges too weak to be sampled once in nEpochs are dropped, as umap-learn does.
    const keep: number[] = [];
    for (let e = 0; e < graph.vals.length; e++)
      if (!(graph.vals[e]! < graphMax / this.nEpochs) && graph.vals[e]) keep.push(e);
    const m = keep.length;
    this.tail = new Int32Array(m);
    this.head = new Int32Array(m);
    const weights = new Float64Array(m);
    let wMax = 0;
    for (let p = 0; p < m; p++) {
      const e = keep[p]!;
      this.tail[p] = graph.rows[e]!;
      this.head[p] = graph.cols[e]!;
      weights[p] = graph.vals[e]!;
      wMax = weights[p]! > wMax ? weights[p]! : wMax;
    }
    const negRate = o.negativeSampleRate ?? DEFAULTS.umap.negativeSampleRate;
    this.epochsPerSample = new Float64Array(m).fill(-1);
    for (let p = 0; p < m; p++) {
      const nSamples = (weights[p]! / wMax) * this.nEpochs;
      if (nSamples > 0) this.epochsPerSample[p] = this.nEpochs / nSamples;
    }
    this.epochsPerNegativeSample = this.epochsPerSample.map((e) => e / negRate);
    this.epochOfNextNegativeSample = Float64Array.from(this.epochsPerNegativeSample);
    this.epochOfNextSample = Float64Array.from(this.epochsPerSample);
    const { a, b } = findABParams(o.spread ?? DEFAULTS.umap.spread, o.minDist);
    this.a = a;
    this.b = b;
    this.initialAlpha = o.learningRate ?? DEFAULTS.umap.learningRate;
    this.alpha = this.initialAlpha;
    this.gamma = o.repulsionStrength ?? DEFAULTS.umap.repulsionStrength;
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  /** One epoch of positive and negative samples; returns the epochs done. */
  step(): number {
    if (this.epoch >= this.nEpochs) return this.epoch;
    const n = this.epoch;
    const {
      embedding: Y,
      head,
      tail,
      epochsPerSample,
      epochOfNextSample,
      epochsPerNegativeSample,
      epochOfNextNegativeSample,
      a,
      b,
      dim,
      alpha,
      gamma,
      random,
    } = this;
    const nVertices = this.n;
    const m = epochsPerSample.length;
    const bMinus1 = b - 1.0;
    const attract = -2.0 * a * b;
    const repel = 2.0 * gamma * b;
    // The clip at ±4 is written out inline: this loop is the whole cost of the layout.
    for (let i = 0; i < m; i++) {
      if (epochOfNextSample[i]! > n) continue;
      const j = head[i]!;
      const cur = j * dim;
      const oth = tail[i]! * dim;
      let distSquared = 0;
      for (let d = 0; d < dim; d++) {
        const diff = Y[cur + d]! - Y[oth + d]!;
        distSquared += diff * diff;
      }
      let gradCoeff = 0;
      if (distSquared > 0) {
        const powBm1 = Math.exp(bMinus1 * Math.log(distSquared)); // d^(2(b−1)); d^(2b) = that · d²
        gradCoeff = (attract * powBm1) / (a * powBm1 * distSquared + 1.0);
      }
      for (let d = 0; d < dim; d++) {
        let g = gradCoeff * (Y[cur + d]! - Y[oth + d]!);
        g = g > 4 ? 4 : g < -4 ? -4 : g;
        Y[cur + d]! += g * alpha;
        Y[oth + d]! += -g * alpha;
      }
      epochOfNextSample[i]! += epochsPerSample[i]!;
      const perNeg = epochsPerNegativeSample[i]!;
      const nNeg = Math.floor((n - epochOfNextNegativeSample[i]!) / perNeg);
      for (let p = 0; p < nNeg; p++) {
        const k = Math.floor(random() * nVertices);
        const o2 = k * dim;
        let ds = 0;
        for (let d = 0; d < dim; d++) {
          const diff = Y[cur + d]! - Y[o2 + d]!;
          ds += diff * diff;
        }
        if (ds > 0) {
          const gc = repel / ((0.001 + ds) * (a * Math.exp(b * Math.log(ds)) + 1));
          // gc is the same for every coordinate: the branch on its sign is taken once.
          if (gc > 0)
            for (let d = 0; d < dim; d++) {
              let g = gc * (Y[cur + d]! - Y[o2 + d]!);
              g = g > 4 ? 4 : g < -4 ? -4 : g;
              Y[cur + d]! += g * alpha;
            }
          else for (let d = 0; d < dim; d++) Y[cur + d]! += 4.0 * alpha;
        } else if (j !== k) for (let d = 0; d < dim; d++) Y[cur + d]! += 4.0 * alpha;
      }
      epochOfNextNegativeSample[i]! += nNeg * perNeg;
    }
    this.alpha = this.initialAlpha * (1.0 - n / this.nEpochs);
    return ++this.epoch;
  }
}
