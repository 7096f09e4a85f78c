// The account of a fitted DEC that a user reads after training: what ran (the resolved settings),
// how the start and the result score against the labels, how it stopped, the cluster sizes, the
// warnings and the time of each stage. `deepclust train` prints it (and --json writes it); the
// library returns the same object.

import { resolveConfig, type ResolvedConfig } from "../config.js";
import { clusterSizes, type ClusteringScores } from "../cluster/metrics.js";
import type { InternalScores } from "../cluster/internal-scores.js";
import { startName, type DEC } from "./dec-model.js";
import type { StopReason, UpdateRecord } from "./dec-training.js";

export interface TrainingSummary {
  rows: number;
  /** The autoencoder's layer sizes, input first. */
  dims: number[];
  k: number;
  method: ResolvedConfig["method"];
  /** Every setting the fit ran with, defaults resolved. */
  options: ResolvedConfig;
  /** Whether the features were standardised while training (folded into the weights since). */
  inputStandardised: boolean;
  /** How the centres started ("AE + k-means" or "AE + UMAP + GMM"), its scores (with labels) and k-means inertia. */
  start: { name: string; metrics: ClusteringScores | null; inertia: number | null };
  /** The clustering phase: its scores (with labels), its internal scores (code space), iterations, and why it stopped. */
  result: {
    metrics: ClusteringScores | null;
    /** Silhouette, Calinski–Harabasz and Davies–Bouldin of the final clusters in the code space (DEC.internalScores). */
    internalScores: InternalScores | null;
    iterations: number;
    converged: boolean;
    stopReason: StopReason | null;
    /** selectBestByLabels: the update whose state was kept (the first with the best ACC), else null. */
    selectedIteration: number | null;
  };
  clusterSizes: number[];
  nonEmptyClusters: number;
  /** Collapsed or empty clusters and the like, at the target update that saw them. */
  warnings: Array<{ iteration: number; message: string }>;
  timings: DEC["timings"] & { totalSeconds: number };
}

/** The summary of a fitted DEC (its training rows' labels must be known: a fit in this process). */
export function trainingSummary(dec: DEC): TrainingSummary {
  if (!dec.labels) throw new Error("DEC is not fitted yet: call fit(X) first");
  const rows = dec.labels.length;
  const options = resolveConfig(dec.config, rows);
  const sizes = clusterSizes(dec.labels, dec.k);
  const t = dec.timings;
  return {
    rows,
    dims: [...dec.autoencoder.dims],
    k: dec.k,
    method: options.method,
    options,
    inputStandardised: dec.scaling !== null,
    start: {
      name: startName(options.centerInit),
      metrics: dec.initMetrics,
      inertia: Number.isFinite(dec.initInertia) ? dec.initInertia : null,
    },
    result: {
      metrics: dec.metrics,
      internalScores: dec.internalScores,
      iterations: dec.iterations,
      converged: dec.converged,
      stopReason: dec.stopReason,
      selectedIteration: options.selectBestByLabels ? selectedIteration(dec.history) : null,
    },
    clusterSizes: sizes,
    nonEmptyClusters: sizes.filter((s) => s > 0).length,
    warnings: dec.history.flatMap((u) => u.warnings.map((message) => ({ iteration: u.iteration, message }))),
    timings: { ...t, totalSeconds: t.pretrainSeconds + t.kmeansSeconds + t.clusteringSeconds },
  };
}

/** The update whose state selectBestByLabels kept: the first with the best ACC. */
export function selectedIteration(history: readonly UpdateRecord[]): number | null {
  let best: UpdateRecord | null = null;
  for (const h of history) if (h.metrics && (!best || h.metrics.acc > best.metrics!.acc)) best = h;
  return best?.iteration ?? null;
}
