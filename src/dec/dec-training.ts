// The DEC / IDEC clustering phase (Xie et al. 2016; Guo et al. 2017 for IDEC).
//
// Faithful default: every `updateInterval` iterations Q is computed over the whole dataset,
// P = target(Q) is fixed until the next update, and training stops when fewer than `tol` of the
// points changed cluster since the previous update. Encoder and centres train together in one
// compiled step (KL(P‖Q), plus γ·reconstruction for IDEC). The reference implementation's
// deviations are named options: target "batch", no shuffling, per-group rates, clipping,
// freezeEncoder and selectBestByLabels.

import {
  CompiledGraph,
  Graph,
  Rng,
  Tensor,
  argmaxRows,
  chunksOf,
  gatherFrom,
  gatherRows,
  isMatrix,
  shuffledOrder,
  type Matrix,
  type Rows,
  type StateStore,
} from "../engine/index.js";
import {
  BuildContext,
  StudentTAssignment,
  TrainingStep,
  paramInputs,
  targetDistribution,
  CENTERS,
  type Param,
} from "../nn/index.js";
import type { Autoencoder } from "./autoencoder.js";
import { makeOptimizer, STEPS_PER_RUN, type OptimizerConfig } from "./optimizers.js";
import { INPUT_SUM, encodeChecked } from "./model-onnx.js";
import { checkStateTensors } from "./checkpoint.js";
import { InputError } from "../io/errors.js";
import { clusterSizes } from "../cluster/metrics.js";
import { objectiveOf, type ClusteringMethod, type LossTermField } from "./objectives.js";

export type { ClusteringMethod } from "./objectives.js";

export type TargetMode = "full" | "batch";

export interface ClusteringOptions {
  method?: ClusteringMethod;
  /** Student-t degrees of freedom (default 1). */
  alpha?: number;
  /** IDEC: weight of the clustering loss in L_rec + γ·L_KL (default 0.1). */
  gamma?: number;
  /** "full": P from the whole dataset every updateInterval iterations (the paper); "batch": from each batch's own Q (the reference, pt-dec). */
  target?: TargetMode;
  /** Iterations between target updates / label-change checks (default: see defaultUpdateInterval). */
  updateInterval?: number;
  /** Stop when the fraction of points that changed cluster since the last update is below this (default 0.001; 0 disables). */
  tol?: number;
  maxIter?: number;
  batchSize?: number;
  /** Default: SGD lr 0.01, momentum 0.9 (the paper). */
  optimizer?: OptimizerConfig;
  /** Per-group learning rates, e.g. the reference's { encoder: 1e-6, centers: 1e-5 } with Adam. */
  groupLr?: Partial<Record<"encoder" | "centers" | "decoder", number>>;
  clipNorm?: number | null;
  /** Train the centres only (the encoder stays as pretrained). */
  freezeEncoder?: boolean;
  /** Reshuffle the batch order every pass (default true; the reference iterates in a fixed order). */
  shuffle?: boolean;
  /** Block-shuffled passes with blocks of this many rows (see shuffledOrder; for data read from disk). Default: a true permutation. */
  shuffleBlock?: number;
  /** Keep the state with the best ACC against the labels (the reference's model selection: supervised, uses the labels). */
  selectBestByLabels?: boolean;
  stepsPerRun?: number;
}

export interface UpdateRecord {
  iteration: number;
  /** Mean training loss over the iterations since the previous update (null at iteration 0). */
  loss: number | null;
  /** Reconstruction and clustering parts (IDEC only). */
  lossRec?: number;
  lossKl?: number;
  /** Fraction of points whose cluster changed since the previous update (null at the first update). */
  deltaLabel: number | null;
  clusterSizes: number[];
  nonEmpty: number;
  /** Present when labels were given: evaluation only, unless selectBestByLabels. */
  metrics?: { acc: number; nmi: number; ari: number };
  warnings: string[];
  seconds: number;
}

export interface Evaluator {
  (pred: Int32Array): { acc: number; nmi: number; ari: number };
}

export interface TrainingState {
  iteration: number;
  stepCount: number;
  rng: ReturnType<Rng["getState"]>;
  order: number[];
  position: number;
  previousLabels: number[];
  history: UpdateRecord[];
  params: Record<string, Float32Array>;
  slots: Record<string, Float32Array>;
  p: Float32Array | null;
  best: { acc: number; iteration: number; params: Record<string, Float32Array> } | null;
}

export interface ClusteringHooks {
  onUpdate?: (u: UpdateRecord) => void;
  /** Called at update points every `checkpointEvery` updates with the full resumable state. */
  onCheckpoint?: (state: TrainingState) => void | Promise<void>;
  checkpointEvery?: number;
  evaluate?: Evaluator;
  resume?: TrainingState;
  /** Where `resume` was read from, named by the error when its tensors do not fit the model. */
  resumeFile?: string;
  /**
   * A fixed target (rows × k) used instead of target(Q) at the first `updates` update points (a
   * start from another clustering, e.g. the manifold's posteriors): the encoder and centres learn
   * to reproduce it, then the usual self-training goes on; with `updates` Infinity it stays the
   * target and the run stops when the labels settle (tol), or at the first update point at or
   * after `maxEpochs` epochs of iterations (rows / batch each; the held phase's budget). Target
   * "full" only.
   */
  anchor?: { target: Float32Array; updates: number; maxEpochs?: number };
}

/** Why the clustering phase ended: the labels settled (tol), maxIter, or the held target's budget. */
export type StopReason = "tol" | "max-iter" | "hold";

export interface ClusteringResult {
  labels: Int32Array;
  q: Matrix;
  history: UpdateRecord[];
  iterations: number;
  converged: boolean;
  stopReason: StopReason;
  /** When selectBestByLabels: the iteration whose state was kept. */
  selectedIteration?: number;
}

/**
 * About half an epoch between target updates, within [10, 140]: 140 on MNIST-70k with batch 256,
 * as in the best-known Keras implementation; small datasets update every 10 iterations.
 */
export function defaultUpdateInterval(rows: number, batchSize: number): number {
  return Math.min(140, Math.max(10, Math.round(rows / (2 * batchSize))));
}

export const CLUSTERING_DEFAULTS = {
  method: "dec" as ClusteringMethod,
  alpha: 1,
  gamma: 0.1,
  target: "full" as TargetMode,
  tol: 0.001,
  maxIter: 20_000,
  batchSize: 256,
  optimizer: { type: "sgd", lr: 0.01, momentum: 0.9 } as OptimizerConfig,
};

/** Hard labels: the arg-max of every row of q. */
export function hardLabels(q: Matrix): Int32Array {
  return argmaxRows(q).index;
}

/** Collapse and empty-cluster warnings for an update. */
function warningsFor(sizes: number[], rows: number, previousNonEmpty: number | null): string[] {
  const w: string[] = [];
  const nonEmpty = sizes.filter((s) => s > 0).length;
  if (nonEmpty < sizes.length && (previousNonEmpty === null || nonEmpty < previousNonEmpty)) {
    w.push(`${sizes.length - nonEmpty} of ${sizes.length} clusters are empty`);
  }
  const largest = Math.max(...sizes);
  if (sizes.length > 1 && largest > 0.5 * rows)
    w.push(`collapse: one cluster holds ${((100 * largest) / rows).toFixed(1)} % of the points`);
  return w;
}

/** The clustering model's inference graph: x → q (encoder, then Student-t assignment). */
export class SoftAssigner {
  private compiled: Promise<CompiledGraph> | undefined;
  constructor(
    readonly ae: Autoencoder,
    readonly assignment: StudentTAssignment,
    readonly centers: () => Tensor,
    /** Reject NaN/±Inf in an in-memory X (NonFiniteValueError), checked inside the graph. */
    readonly checkFinite = false,
  ) {}

  graph(): Graph {
    const g = new Graph("dec_predict");
    const enc = this.ae.encoder();
    const ctx = new BuildContext(g, paramInputs(g, [...enc.params, this.assignment.centers]));
    const x = g.input("x", "float32", ["batch", this.ae.inputDim]);
    const code = this.checkFinite ? encodeChecked(ctx, enc, x, false) : enc.forward(ctx, x).y;
    g.output(this.assignment.forward(ctx, code).y, "q");
    return g;
  }

  /** q of every row of X, in batches; a RowSource is read a chunk at a time (only q, rows × k, is held). */
  async predictProba(X: Rows, batchSize = 1024): Promise<Matrix> {
    if (X.cols !== this.ae.inputDim)
      throw new RangeError(`data has ${X.cols} columns, the model expects ${this.ae.inputDim}`);
    this.compiled ??= CompiledGraph.create(this.graph(), this.ae.session);
    const feeds = { ...this.ae.feedsFor(this.ae.encoderParams), [CENTERS]: this.centers() };
    const k = this.assignment.k;
    if (isMatrix(X))
      return (await this.compiled).runRows(X, "x", "q", k, feeds, batchSize, this.checkFinite ? INPUT_SUM : undefined);
    const q = new Float32Array(X.rows * k);
    for (const { start, m } of chunksOf(X))
      q.set((await (await this.compiled).runRows(m, "x", "q", k, feeds, batchSize)).data, start * k);
    return { data: q, rows: X.rows, cols: k };
  }

  async release(): Promise<void> {
    if (this.compiled) await (await this.compiled).release();
    this.compiled = undefined;
  }
}

/** P = target(Q) over a whole matrix, through the same graph ops as the batch target. */
async function fullTarget(q: Matrix, session: Autoencoder["session"]): Promise<Float32Array> {
  const g = new Graph("target");
  g.output(targetDistribution(g, g.input("q", "float32", ["n", q.cols])), "p");
  const c = await CompiledGraph.create(g, session);
  const p = (await c.runOne({ q: new Tensor(q.data, [q.rows, q.cols]) }, "p")) as Float32Array;
  await c.release();
  return p;
}

/**
 * P = target(Q) from the per-cluster frequencies f_j = Σ_i q_ij (one pass, float64) and then row by
 * row: p_ij = (q_ij² / f_j) / Σ_j' (q_ij'² / f_j'). The same P as fullTarget (up to float rounding),
 * with no temporaries beyond P itself; written into `out` when given (reused across updates).
 */
export function targetFromFrequencies(q: Matrix, out?: Float32Array): Float32Array {
  const { rows, cols: k, data } = q;
  const p = out ?? new Float32Array(rows * k);
  if (p.length !== rows * k) throw new RangeError(`P buffer holds ${p.length} values, ${rows * k} needed`);
  const f = new Float64Array(k);
  for (let i = 0; i < rows * k; i += k) for (let j = 0; j < k; j++) f[j]! += data[i + j]!;
  const w = new Float64Array(k);
  for (let i = 0; i < rows * k; i += k) {
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const v = data[i + j]!;
      sum += w[j] = (v * v) / f[j]!;
    }
    for (let j = 0; j < k; j++) p[i + j] = w[j]! / sum;
  }
  return p;
}

/**
 * Trains the encoder (and decoder, for IDEC) of `ae` and the cluster centres in place, starting
 * from `centers` (k × code dim, e.g. from k-means). The centres live in `ae.params` under CENTERS.
 * X may be a RowSource read from disk: minibatches are gathered from it, and the target update
 * walks it in chunks (only q and P, rows × k each, are held; P via targetFromFrequencies).
 */
export async function trainClustering(
  ae: Autoencoder,
  X: Rows,
  centers: Float32Array,
  rng: Rng,
  options: ClusteringOptions = {},
  hooks: ClusteringHooks = {},
): Promise<ClusteringResult> {
  const k = centers.length / ae.codeDim;
  if (!Number.isInteger(k) || k < 1)
    throw new RangeError(`centres must be k × ${ae.codeDim}, got ${centers.length} values`);
  if (ae.params.has(CENTERS)) ae.params.set(CENTERS, centers);
  else ae.params.define(CENTERS, [k, ae.codeDim], centers);
  const method = options.method ?? CLUSTERING_DEFAULTS.method;
  const target = options.target ?? CLUSTERING_DEFAULTS.target;
  const batchSize = Math.min(options.batchSize ?? CLUSTERING_DEFAULTS.batchSize, X.rows);
  const holdIterations =
    hooks.anchor?.maxEpochs !== undefined ? Math.ceil((hooks.anchor.maxEpochs * X.rows) / batchSize) : undefined;
  const updateInterval = options.updateInterval ?? defaultUpdateInterval(X.rows, batchSize);
  const tol = options.tol ?? CLUSTERING_DEFAULTS.tol;
  const maxIter = options.maxIter ?? CLUSTERING_DEFAULTS.maxIter;
  const stepsPerRun = Math.max(1, options.stepsPerRun ?? STEPS_PER_RUN);
  const shuffle = options.shuffle ?? true;
  if (!(updateInterval >= 1)) throw new RangeError(`updateInterval must be ≥ 1, got ${updateInterval}`);
  if (X.cols !== ae.inputDim) throw new RangeError(`data has ${X.cols} columns, the model expects ${ae.inputDim}`);
  if (options.selectBestByLabels && !hooks.evaluate) throw new RangeError("selectBestByLabels needs labels");

  const { step, assignment, params, objective } = await compileClusteringStep(ae, k, options);
  const terms = Object.entries(objective.terms);
  const assigner = new SoftAssigner(ae, assignment, () => ae.params.tensor(CENTERS));

  // Loop state (all of it restorable from a checkpoint).
  let iteration = 0;
  // Without shuffling, batches follow the data's own order (the reference's DataLoader and DEC-keras).
  let order = shuffle
    ? shuffledOrder(rng, X.rows, options.shuffleBlock)
    : Uint32Array.from({ length: X.rows }, (_, i) => i);
  let position = 0;
  let previous: Int32Array | null = null;
  let P: Float32Array | null = null;
  const history: UpdateRecord[] = [];
  let best: TrainingState["best"] = null;
  if (hooks.resume) {
    const s = hooks.resume;
    const file = hooks.resumeFile ?? "resume state";
    const sizes = (store: StateStore, names: readonly string[]) =>
      Object.fromEntries(names.map((n) => [n, store.value(n).length]));
    checkStateTensors(file, "param/", s.params, sizes(ae.params, ae.params.names()));
    checkStateTensors(file, "slot/", s.slots, sizes(step.slots, step.slots.names()));
    if (s.best)
      checkStateTensors(
        file,
        "best/",
        s.best.params,
        sizes(
          ae.params,
          params.map((p) => p.name),
        ),
      );
    if (target === "full" && s.p?.length !== X.rows * k)
      throw new InputError(file, `tensor 'p' holds ${s.p?.length ?? 0} values, ${X.rows} × ${k} needed`);
    iteration = s.iteration;
    step.t = s.stepCount;
    rng.setState(s.rng);
    order = Uint32Array.from(s.order);
    position = s.position;
    previous = Int32Array.from(s.previousLabels);
    for (const [n, v] of Object.entries(s.params)) ae.params.set(n, v);
    for (const [n, v] of Object.entries(s.slots)) step.slots.set(n, v);
    P = s.p;
    history.push(...s.history);
    best = s.best;
  }

  let lossSum = 0;
  // The objective's loss terms (IDEC: reconstruction and KL), summed like the loss.
  const termSums: Partial<Record<LossTermField, number>> = {};
  let lossCount = 0;
  let converged = false;
  let stopReason: StopReason = "max-iter";
  // A resumed run starts at the update point where it was saved: that update is already recorded.
  let skipUpdate = hooks.resume !== undefined;
  let t0 = performance.now();
  const xBuf = new Map<string, Tensor<Float32Array>>();
  const pBuf = new Map<string, Tensor<Float32Array>>();
  const buf = (m: Map<string, Tensor<Float32Array>>, steps: number, rows: number, cols: number) => {
    let b = m.get(`${steps}x${rows}`);
    if (!b) m.set(`${steps}x${rows}`, (b = Tensor.zeros([steps, rows, cols])));
    return b;
  };
  // Shuffled: every batch takes the next `batchSize` rows of the order, reshuffled when it runs
  // out (batches may span two passes). Fixed order: passes of ⌈N / batch⌉ batches, the last one
  // partial, as the reference iterates.
  const batchIndex = new Uint32Array(batchSize);
  const startPassIfDone = () => {
    if (position < order.length) return;
    position = 0;
    if (shuffle) order = shuffledOrder(rng, X.rows, options.shuffleBlock);
  };
  const nextBatch = (rows: number) => {
    for (let r = 0; r < rows; r++) {
      startPassIfDone();
      batchIndex[r] = order[position++]!;
    }
    return batchIndex;
  };

  const snapshot = (): Record<string, Float32Array> => {
    const out: Record<string, Float32Array> = {};
    for (const p of params) out[p.name] = ae.params.value(p.name).slice();
    return out;
  };

  // Q of the latest update point, while no step has run since (the final assignment reuses it).
  let current: Matrix | null = null;
  for (;;) {
    if (iteration % updateInterval === 0 && !skipUpdate) {
      const q = await assigner.predictProba(X);
      current = q;
      const labels = hardLabels(q);
      const anchored = hooks.anchor !== undefined && history.length < hooks.anchor.updates;
      if (anchored) P = hooks.anchor!.target;
      else if (target === "full")
        P = isMatrix(X)
          ? await fullTarget(q, ae.session)
          : targetFromFrequencies(q, P === hooks.anchor?.target ? undefined : (P ?? undefined));
      const delta = previous ? labels.reduce((n, l, i) => n + (l !== previous![i] ? 1 : 0), 0) / X.rows : null;
      const sizes = clusterSizes(labels, k);
      const rec: UpdateRecord = {
        iteration,
        loss: lossCount ? lossSum / lossCount : null,
        ...(lossCount ? Object.fromEntries(terms.map(([, field]) => [field, termSums[field]! / lossCount])) : {}),
        deltaLabel: delta,
        clusterSizes: sizes,
        nonEmpty: sizes.filter((s) => s > 0).length,
        warnings: warningsFor(sizes, X.rows, history.length ? history.at(-1)!.nonEmpty : null),
        seconds: (performance.now() - t0) / 1000,
      };
      if (hooks.evaluate) rec.metrics = hooks.evaluate(labels);
      if (options.selectBestByLabels && rec.metrics && (!best || rec.metrics.acc > best.acc))
        best = { acc: rec.metrics.acc, iteration, params: snapshot() };
      history.push(rec);
      hooks.onUpdate?.(rec);
      previous = labels;
      lossSum = lossCount = 0;
      for (const [, field] of terms) termSums[field] = 0;
      t0 = performance.now();
      // During a finite anchored phase the labels settle on the anchor; convergence counts after it.
      if (
        iteration > 0 &&
        tol > 0 &&
        delta !== null &&
        delta < tol &&
        (!anchored || hooks.anchor!.updates === Infinity)
      ) {
        converged = true;
        stopReason = "tol";
        break;
      }
      if (anchored && holdIterations !== undefined && iteration >= holdIterations) {
        stopReason = "hold";
        break;
      }
      const updates = history.length;
      if (hooks.onCheckpoint && hooks.checkpointEvery && updates % hooks.checkpointEvery === 0 && iteration < maxIter) {
        await hooks.onCheckpoint({
          iteration,
          stepCount: step.t,
          rng: rng.getState(),
          order: Array.from(order),
          position,
          previousLabels: Array.from(labels),
          history: history.map((h) => ({ ...h })),
          params: ae.params.snapshot(), // every weight, the decoder too, so a resumed DEC model saves whole
          slots: step.slots.snapshot(),
          p: P ? P.slice() : null,
          best,
        });
      }
    }
    skipUpdate = false;
    if (iteration >= maxIter) break;

    // Up to the next update point, stepsPerRun steps per onnxruntime run; in fixed order, a pass's last,
    // partial batch runs on its own.
    let steps = Math.min(stepsPerRun, updateInterval - (iteration % updateInterval), maxIter - iteration);
    let rows = batchSize;
    if (!shuffle) {
      startPassIfDone();
      const left = order.length - position;
      if (left < batchSize) [steps, rows] = [1, left];
      else steps = Math.min(steps, Math.floor(left / batchSize));
    }
    const x = buf(xBuf, steps, rows, X.cols);
    const p = target === "full" ? buf(pBuf, steps, rows, k) : null;
    for (let s = 0; s < steps; s++) {
      const idx = nextBatch(rows);
      gatherFrom(X, idx, 0, rows, x.data.subarray(s * rows * X.cols, (s + 1) * rows * X.cols));
      if (p)
        gatherRows(
          { data: P!, rows: X.rows, cols: k },
          idx,
          0,
          rows,
          p.data.subarray(s * rows * k, (s + 1) * rows * k),
        );
    }
    current = null;
    const r = await step.runSteps(p ? { x, p } : { x });
    for (let s = 0; s < steps; s++) {
      if (!Number.isFinite(r.losses[s]!))
        throw new Error(
          `${method}: loss became ${r.losses[s]} at iteration ${iteration + s + 1} (try a lower learning rate)`,
        );
      lossSum += r.losses[s]!;
      for (const [metric, field] of terms) termSums[field] = (termSums[field] ?? 0) + r.metrics[metric]![s]!;
    }
    lossCount += steps;
    iteration += steps;
  }

  if (best) for (const [n, v] of Object.entries(best.params)) ae.params.set(n, v);
  // A run that stopped at an update point (tol, the held budget, maxIter on an update) already has
  // Q of its final weights: one pass over the data less.
  const q = current !== null && !best ? current : await assigner.predictProba(X);
  await assigner.release();
  await step.release();
  return {
    labels: hardLabels(q),
    q,
    history,
    iterations: iteration,
    converged,
    stopReason,
    ...(best ? { selectedIteration: best.iteration } : {}),
  };
}

/**
 * The compiled clustering step: KL(P‖Q) (plus reconstruction for IDEC) over the encoder, the
 * centres and, for IDEC, the decoder; data inputs `x` [batch, d] and, for target "full", `p`.
 */
export async function compileClusteringStep(ae: Autoencoder, k: number, options: ClusteringOptions = {}) {
  const method = options.method ?? CLUSTERING_DEFAULTS.method;
  const alpha = options.alpha ?? CLUSTERING_DEFAULTS.alpha;
  const gamma = options.gamma ?? CLUSTERING_DEFAULTS.gamma;
  const target = options.target ?? CLUSTERING_DEFAULTS.target;
  const assignment = new StudentTAssignment(k, ae.codeDim, alpha);
  const objective = objectiveOf(method);
  const enc = ae.encoder();
  const dec = objective.usesDecoder ? ae.decoder() : null;
  const trainable = (p: Param) => !(options.freezeEncoder && p.group === "encoder");
  const params = [...enc.params, assignment.centers, ...(dec ? dec.params : [])];

  const step = await TrainingStep.compile(
    {
      name: `${method}_${target}`,
      params,
      trainable,
      inputs: [
        { name: "x", shape: ["batch", ae.inputDim] },
        ...(target === "full" ? [{ name: "p", shape: ["batch", k] }] : []),
      ],
      objective: (ctx, i) => {
        const encoded = enc.forward(ctx, i.x!);
        const assigned = assignment.forward(ctx, encoded.y);
        // Batch mode: P from this batch's own Q, with no gradient through it.
        const p = target === "full" ? i.p! : targetDistribution(ctx.g, assigned.y);
        return objective.build({ ctx, x: i.x!, p, encoded, assigned, decoder: dec, gamma });
      },
      optimizer: makeOptimizer(
        options.optimizer ?? CLUSTERING_DEFAULTS.optimizer,
        options.groupLr as Record<string, number> | undefined,
      ),
      clipNorm: options.clipNorm ?? null,
    },
    ae.params,
    ae.session,
  );
  return { step, assignment, params, objective };
}
