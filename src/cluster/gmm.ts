// Gaussian mixture with full covariances fitted by EM, as scikit-learn 1.2's GaussianMixture does
// it (covariance_type="full"): k-means initialisation, reg_covar on the diagonal, convergence when
// the per-sample log-likelihood bound changes by less than tol, a final E-step so that labels agree
// with the returned parameters, and the best of nInit restarts by that bound. float64 throughout.
// It clusters low-dimensional data (a UMAP layout of the code); the cost is O(n k d²) per iteration,
// in the passes over the rows (gmm-steps.ts, GEMMs in onnxruntime); this module does the rest.

import { Rng, type Matrix } from "../engine/index.js";
import { kmeans } from "./kmeans.js";
import { DEFAULTS } from "../config.js";
import { EmPasses, type StepParams, type StepSums } from "./gmm-steps.js";

export interface GaussianMixtureOptions {
  /** Number of components, 1 ≤ k ≤ rows. */
  k: number;
  /** Restarts, each from its own seeded k-means; the highest log-likelihood bound wins. Default 1. */
  nInit?: number;
  /** EM iterations per restart (default 100). */
  maxIter?: number;
  /** Stop when the mean log-likelihood changes by less than this (default 1e-3). */
  tol?: number;
  /** Added to every covariance's diagonal (default 1e-6). */
  regCovar?: number;
  seed?: number | Rng;
  /** Threads of the initial k-means (default 0: one per core). */
  threads?: number;
  /** Fixed start (one restart): weights (k), means (k × d) and precision matrices (k × d × d). */
  init?: { weights: Float64Array; means: Float64Array; precisions: Float64Array };
}

export interface GaussianMixtureResult {
  weights: Float64Array;
  /** k × d, row-major. */
  means: Float64Array;
  /** k × d × d. */
  covariances: Float64Array;
  /** Most probable component of every row. */
  labels: Int32Array;
  /** Posterior probabilities (rows × k). */
  resp: Float64Array;
  /** Mean log-likelihood per row of the winning run (its lower bound at convergence). */
  lowerBound: number;
  nIter: number;
  converged: boolean;
}

interface Params {
  weights: Float64Array;
  means: Float64Array;
  /** Lower-triangular Cholesky factors of the precisions (k × d × d), as scikit-learn keeps them. */
  precChol: Float64Array;
}

/** Fits a Gaussian mixture to the rows of X (float32 or float64 values). */
export async function gaussianMixture(
  X: Matrix | { data: Float64Array; rows: number; cols: number },
  o: GaussianMixtureOptions,
): Promise<GaussianMixtureResult> {
  const { rows: n, cols: d } = X;
  const k = o.k;
  if (!Number.isInteger(k) || k < 1 || k > n)
    throw new RangeError(`Gaussian mixture: k must be an integer in 1..${n} (the rows), got ${k}`);
  const nInit = o.nInit ?? DEFAULTS.gmm.nInit;
  if (!Number.isInteger(nInit) || nInit < 1)
    throw new RangeError(`Gaussian mixture: nInit must be a positive integer, got ${nInit}`);
  const maxIter = o.maxIter ?? DEFAULTS.gmm.maxIter;
  const tol = o.tol ?? DEFAULTS.gmm.tol;
  const reg = o.regCovar ?? DEFAULTS.gmm.regCovar;
  const x = Float64Array.from(X.data);
  for (let i = 0; i < x.length; i++)
    if (!Number.isFinite(x[i]!))
      throw new RangeError(`Gaussian mixture: value at row ${Math.floor(i / d)}, column ${i % d} is not finite`);
  const rng = o.seed instanceof Rng ? o.seed : new Rng(o.seed ?? DEFAULTS.seed);
  const passes = await EmPasses.create(x, n, d, k, o.threads ?? DEFAULTS.threads);
  // k-means reads float32 rows; every restart starts from the same copy.
  const rows32 = o.init ? null : { data: Float32Array.from(x), rows: n, cols: d };
  try {
    let best: { p: Params; bound: number; nIter: number; converged: boolean } | null = null;
    for (let r = 0; r < (o.init ? 1 : nInit); r++) {
      let p: Params;
      if (o.init) {
        p = {
          weights: Float64Array.from(o.init.weights),
          means: Float64Array.from(o.init.means),
          precChol: precisionCholesky(o.init.precisions, k, d),
        };
      } else {
        // scikit-learn's init_params="kmeans": one k-means run, its hard labels as responsibilities.
        const km = await kmeans(rows32!, { k, nInit: 1, seed: rng.fork(), threads: o.threads ?? DEFAULTS.threads });
        passes.resp.fill(0);
        for (let i = 0; i < n; i++) passes.resp[i * k + km.labels[i]!] = 1;
        p = mStep(await passes.moments(), passes.mean, k, d, reg);
      }
      let bound = -Infinity;
      let converged = false;
      let iter = 0;
      for (iter = 1; iter <= maxIter; iter++) {
        const prev = bound;
        const e = await passes.eStep(stepParams(p, passes.mean, k, d));
        bound = e.bound;
        p = mStep(e.sums, passes.mean, k, d, reg);
        if (Math.abs(bound - prev) < tol) {
          converged = true;
          break;
        }
      }
      if (!best || bound > best.bound) best = { p, bound, nIter: Math.min(iter, maxIter), converged };
    }
    // Final E-step: labels and responsibilities consistent with the returned parameters.
    await passes.eStep(stepParams(best!.p, passes.mean, k, d));
    const resp = passes.resp;
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let arg = 0;
      for (let j = 1; j < k; j++) if (resp[i * k + j]! > resp[i * k + arg]!) arg = j;
      labels[i] = arg;
    }
    return {
      weights: best!.p.weights,
      means: best!.p.means,
      covariances: covariancesOf(best!.p.precChol, k, d),
      labels,
      resp,
      lowerBound: best!.bound,
      nIter: best!.nIter,
      converged: best!.converged,
    };
  } finally {
    await passes.release();
  }
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** The parameters as the passes read them (see gmm-steps.ts), about the rows' mean x̄. */
function stepParams(p: Params, mean: Float64Array, k: number, d: number): StepParams {
  const s = Math.SQRT1_2;
  const kd = k * d;
  const w = new Float64Array((d + 1) * kd);
  const bias = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const M = j * d * d;
    let logDet = 0;
    for (let c = 0; c < d; c++) {
      logDet += Math.log(p.precChol[M + c * d + c]!);
      let mu = 0;
      for (let a = 0; a <= c; a++) {
        const m = p.precChol[M + c * d + a]!;
        w[a * kd + j * d + c] = m * s;
        mu += m * (p.means[j * d + a]! - mean[a]!);
      }
      w[d * kd + j * d + c] = -mu * s;
    }
    bias[j] = Math.log(p.weights[j]!) + logDet - d * HALF_LOG_2PI;
  }
  return { w, bias };
}

/**
 * Weights, means and covariances from the sums about the rows' mean x̄ (scikit-learn's M-step:
 * N_j = Σ r_ij + 10·eps, μ_j = Σ r_ij x_i / N_j, Σ_j = Σ r_ij (x_i − μ_j)(x_i − μ_j)ᵀ / N_j + reg·I),
 * in centred coordinates: Σ r (x̃ − μ̃)(x̃ − μ̃)ᵀ = S2 − μ̃ S1ᵀ − S1 μ̃ᵀ + S0 μ̃ μ̃ᵀ. The mean is x̄ + S1/N_j,
 * which differs from scikit-learn's by x̄·10·eps/N_j: nothing, except that an empty component sits at
 * x̄ rather than at the origin.
 */
function mStep(sums: StepSums, mean: Float64Array, k: number, d: number, reg: number): Params {
  const { s0, s1, s2 } = sums;
  const nk = new Float64Array(k);
  // scikit-learn adds 10·eps to every component's weight so that an empty one stays defined.
  for (let j = 0; j < k; j++) nk[j] = s0[j]! + 10 * Number.EPSILON;
  const means = new Float64Array(k * d);
  const mu = new Float64Array(d);
  const cov = new Float64Array(k * d * d);
  for (let j = 0; j < k; j++) {
    for (let a = 0; a < d; a++) {
      mu[a] = s1[j * d + a]! / nk[j]!;
      means[j * d + a] = mu[a]! + mean[a]!;
    }
    const C = j * d * d;
    for (let a = 0; a < d; a++) {
      const sa = s1[j * d + a]!;
      for (let b = 0; b <= a; b++) {
        const sb = s1[j * d + b]!;
        const v = (s2[C + a * d + b]! - mu[a]! * sb - sa * mu[b]! + s0[j]! * mu[a]! * mu[b]!) / nk[j]!;
        cov[C + a * d + b] = v;
        cov[C + b * d + a] = v;
      }
      cov[C + a * d + a]! += reg;
    }
  }
  let sum = 0;
  for (let j = 0; j < k; j++) sum += nk[j]!;
  const weights = new Float64Array(k);
  for (let j = 0; j < k; j++) weights[j] = nk[j]! / sum;
  return { weights, means, precChol: covarianceToPrecisionCholesky(cov, k, d) };
}

/** M = L⁻¹ for each covariance Σ = L Lᵀ (lower triangular; scikit-learn keeps its transpose), so Σ⁻¹ = Mᵀ M. */
function covarianceToPrecisionCholesky(cov: Float64Array, k: number, d: number): Float64Array {
  const out = new Float64Array(k * d * d);
  for (let j = 0; j < k; j++)
    out.set(invertLower(cholesky(cov.subarray(j * d * d, (j + 1) * d * d), d, j), d), j * d * d);
  return out;
}

function cholesky(A: Float64Array, d: number, component: number): Float64Array {
  const L = new Float64Array(d * d);
  for (let a = 0; a < d; a++) {
    for (let b = 0; b <= a; b++) {
      let s = A[a * d + b]!;
      for (let q = 0; q < b; q++) s -= L[a * d + q]! * L[b * d + q]!;
      if (a === b) {
        if (!(s > 0))
          throw new RangeError(
            `Gaussian mixture: component ${component}'s covariance is not positive definite (too few rows or collapsed data); raise regCovar`,
          );
        L[a * d + a] = Math.sqrt(s);
      } else L[a * d + b] = s / L[b * d + b]!;
    }
  }
  return L;
}

function invertLower(L: Float64Array, d: number): Float64Array {
  const inv = new Float64Array(d * d);
  for (let col = 0; col < d; col++) {
    for (let a = col; a < d; a++) {
      let s = a === col ? 1 : 0;
      for (let q = col; q < a; q++) s -= L[a * d + q]! * inv[q * d + col]!;
      inv[a * d + col] = s / L[a * d + a]!;
    }
  }
  return inv;
}

/** From given precision matrices (k × d × d) to the factors kept (L⁻¹ of the covariance). */
function precisionCholesky(precisions: Float64Array, k: number, d: number): Float64Array {
  const out = new Float64Array(k * d * d);
  for (let j = 0; j < k; j++) {
    // Σ = P⁻¹ = R⁻ᵀ R⁻¹ with P = R Rᵀ; then factor Σ as the M-step does.
    const P = precisions.subarray(j * d * d, (j + 1) * d * d);
    const R = cholesky(P, d, j);
    const Rinv = invertLower(R, d);
    const cov = new Float64Array(d * d);
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) {
        let s = 0;
        for (let q = 0; q < d; q++) s += Rinv[q * d + a]! * Rinv[q * d + b]!;
        cov[a * d + b] = s;
      }
    out.set(invertLower(cholesky(cov, d, j), d), j * d * d);
  }
  return out;
}

function covariancesOf(precChol: Float64Array, k: number, d: number): Float64Array {
  const out = new Float64Array(k * d * d);
  for (let j = 0; j < k; j++) {
    const M = precChol.subarray(j * d * d, (j + 1) * d * d);
    // Σ = (Mᵀ M)⁻¹ = M⁻¹ M⁻ᵀ; M⁻¹ = L is lower.
    const L = invertLower(Float64Array.from(M), d);
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) {
        let s = 0;
        for (let q = 0; q < d; q++) s += L[a * d + q]! * L[b * d + q]!;
        out[j * d * d + a * d + b] = s;
      }
  }
  return out;
}
