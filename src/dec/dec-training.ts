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
import { DEFAULTS, defaultUpdateInterval } from "../config.js";
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
  /** "full": P from the whole dataset every updateInterval iterations (the paper); "batch": from each batch's own Q (the reference implementation, pt-dec). */
  target?: TargetMode;
  /** Iterations between target updates / label-change checks (default: see defaultUpdateInterval). */
  updateInterval?: number;
  /** Stop when the fraction of points that changed cluster since the last update is below this (default 0.001; 0 disables). */
  tol?: number;
  maxIter?: number;
  batchSize?: number;
  /** Default: SGD lr 0.01, momentum 0.9 (the paper). */
  optimizer?: OptimizerConfig;
  /** Per-group learning rates, e.g. the reference implementation's { encoder: 1e-6, centers: 1e-5 } with Adam. */
  groupLr?: Partial<Record<"encoder" | "centers" | "decoder", number>>;
  clipNorm?: number | null;
  /** Train the centres only (the encoder stays as pretrained). */
  freezeEncoder?: boolean;
  /** Reshuffle the batch order every pass (default true; the reference implementation iterates in a fixed order). */
  shuffle?: boolean;
  /** Block-shuffled passes with blocks of this many rows (see shuffledOrder; for data read from disk). Default: a true permutation. */
  shuffleBlock?: number;
  /** Keep the state with the best ACC against the labels (the reference implementation's model selection: supervised, uses the labels). */
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

export { defaultUpdateInterval };

/** The clustering phase's defaults (kept here under their old name; defined in config.ts). */
export const CLUSTERING_DEFAULTS = DEFAULTS.clustering;

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
  const settings = loopSettings(ae, X, options, hooks);
  const compiled = await compileClusteringStep(ae, k, options);
  const loop = new ClusteringLoop(ae, X, k, rng, settings, compiled, hooks);
  if (hooks.resume) loop.restore(hooks.resume, hooks.resumeFile ?? "resume state");
  // A resumed run starts at the update point where it was saved: that update is already recorded.
  let skipUpdate = hooks.resume !== undefined;
  let stopReason: StopReason = "max-iter";
  for (;;) {
    if (loop.iteration % settings.updateInterval === 0 && !skipUpdate) {
      const stop = await loop.update();
      if (stop) {
        stopReason = stop;
        break;
      }
    }
    skipUpdate = false;
    if (loop.iteration >= settings.maxIter) break;
    await loop.stepToNextUpdate();
  }
  return loop.finish(stopReason);
}

/** The clustering phase's settings, defaults resolved and checked. */
function loopSettings(ae: Autoencoder, X: Rows, options: ClusteringOptions, hooks: ClusteringHooks) {
  const batchSize = Math.min(options.batchSize ?? CLUSTERING_DEFAULTS.batchSize, X.rows);
  const updateInterval = options.updateInterval ?? defaultUpdateInterval(X.rows, batchSize);
  if (!(updateInterval >= 1)) throw new RangeError(`updateInterval must be ≥ 1, got ${updateInterval}`);
  if (X.cols !== ae.inputDim) throw new RangeError(`data has ${X.cols} columns, the model expects ${ae.inputDim}`);
  if (options.selectBestByLabels && !hooks.evaluate) throw new RangeError("selectBestByLabels needs labels");
  const maxEpochs = hooks.anchor?.maxEpochs;
  return {
    method: options.method ?? CLUSTERING_DEFAULTS.method,
    target: options.target ?? CLUSTERING_DEFAULTS.target,
    batchSize,
    updateInterval,
    tol: options.tol ?? CLUSTERING_DEFAULTS.tol,
    maxIter: options.maxIter ?? CLUSTERING_DEFAULTS.maxIter,
    stepsPerRun: Math.max(1, options.stepsPerRun ?? STEPS_PER_RUN),
    shuffle: options.shuffle ?? CLUSTERING_DEFAULTS.shuffle,
    shuffleBlock: options.shuffleBlock,
    selectBestByLabels: options.selectBestByLabels ?? CLUSTERING_DEFAULTS.selectBestByLabels,
    /** The anchored (held) phase's budget in iterations. */
    holdIterations: maxEpochs !== undefined ? Math.ceil((maxEpochs * X.rows) / batchSize) : undefined,
  };
}

type LoopSettings = ReturnType<typeof loopSettings>;

/**
 * The order minibatches take rows in. Shuffled: every batch takes the next `batchSize` rows of the
 * order, reshuffled when it runs out (batches may span two passes). Fixed order: passes of
 * ⌈N / batch⌉ batches, the last one partial, as the reference implementation iterates (its DataLoader, and DEC-keras).
 */
class BatchOrder {
  order: Uint32Array;
  position = 0;
  private readonly index: Uint32Array;

  constructor(
    private readonly rng: Rng,
    private readonly rows: number,
    private readonly shuffle: boolean,
    private readonly block: number | undefined,
    batchSize: number,
  ) {
    this.order = shuffle ? shuffledOrder(rng, rows, block) : Uint32Array.from({ length: rows }, (_, i) => i);
    this.index = new Uint32Array(batchSize);
  }

  /** Rows left in the current pass (a finished pass starts the next one first). */
  leftInPass(): number {
    this.startPassIfDone();
    return this.order.length - this.position;
  }

  /** The next `rows` row indices (a view, overwritten by the next call). */
  next(rows: number): Uint32Array {
    for (let r = 0; r < rows; r++) {
      this.startPassIfDone();
      this.index[r] = this.order[this.position++]!;
    }
    return this.index;
  }

  private startPassIfDone(): void {
    if (this.position < this.order.length) return;
    this.position = 0;
    if (this.shuffle) this.order = shuffledOrder(this.rng, this.rows, this.block);
  }
}

/** The loop's state between target updates: all of it restorable from a checkpoint. */
class ClusteringLoop {
  iteration = 0;
  private readonly batches: BatchOrder;
  private previous: Int32Array | null = null;
  private P: Float32Array | null = null;
  private readonly history: UpdateRecord[] = [];
  private best: TrainingState["best"] = null;
  private lossSum = 0;
  private lossCount = 0;
  /** The objective's loss terms (IDEC: reconstruction and KL), summed like the loss. */
  private termSums: Partial<Record<LossTermField, number>> = {};
  private readonly terms: Array<[string, LossTermField]>;
  private t0 = performance.now();
  /** Q of the latest update point, while no step has run since (the final assignment reuses it). */
  private current: Matrix | null = null;
  private readonly assigner: SoftAssigner;
  private readonly buffers = new Map<string, Tensor<Float32Array>>();

  constructor(
    private readonly ae: Autoencoder,
    private readonly X: Rows,
    private readonly k: number,
    private readonly rng: Rng,
    private readonly s: LoopSettings,
    private readonly compiled: Awaited<ReturnType<typeof compileClusteringStep>>,
    private readonly hooks: ClusteringHooks,
  ) {
    this.batches = new BatchOrder(rng, X.rows, s.shuffle, s.shuffleBlock, s.batchSize);
    this.terms = Object.entries(compiled.objective.terms) as Array<[string, LossTermField]>;
    this.assigner = new SoftAssigner(ae, compiled.assignment, () => ae.params.tensor(CENTERS));
  }

  /** Continues from a checkpoint's state (`file` names it in errors), after checking its tensors. */
  restore(state: TrainingState, file: string): void {
    const { ae, X, k, compiled } = this;
    const step = compiled.step;
    const sizes = (store: StateStore, names: readonly string[]) =>
      Object.fromEntries(names.map((n) => [n, store.value(n).length]));
    checkStateTensors(file, "param/", state.params, sizes(ae.params, ae.params.names()));
    checkStateTensors(file, "slot/", state.slots, sizes(step.slots, step.slots.names()));
    if (state.best) checkStateTensors(file, "best/", state.best.params, sizes(ae.params, this.trainedNames()));
    if (this.s.target === "full" && state.p?.length !== X.rows * k)
      throw new InputError(file, `tensor 'p' holds ${state.p?.length ?? 0} values, ${X.rows} × ${k} needed`);
    this.iteration = state.iteration;
    step.t = state.stepCount;
    this.rng.setState(state.rng);
    this.batches.order = Uint32Array.from(state.order);
    this.batches.position = state.position;
    this.previous = Int32Array.from(state.previousLabels);
    for (const [n, v] of Object.entries(state.params)) ae.params.set(n, v);
    for (const [n, v] of Object.entries(state.slots)) step.slots.set(n, v);
    this.P = state.p;
    this.history.push(...state.history);
    this.best = state.best;
  }

  /**
   * A target update: Q over the data, the labels and how many changed, the new P, the update's
   * record (and the state kept when selecting by labels), a checkpoint when one is due. Returns
   * why the loop stops here ("tol" or "hold"), or null to go on.
   */
  async update(): Promise<StopReason | null> {
    const { X, hooks, s } = this;
    const q = await this.assigner.predictProba(X);
    this.current = q;
    const labels = hardLabels(q);
    const anchored = hooks.anchor !== undefined && this.history.length < hooks.anchor.updates;
    await this.updateTarget(q, anchored);
    const previous = this.previous;
    const delta = previous ? labels.reduce((n, l, i) => n + (l !== previous[i] ? 1 : 0), 0) / X.rows : null;
    const rec = this.record(labels, delta);
    if (s.selectBestByLabels && rec.metrics && (!this.best || rec.metrics.acc > this.best.acc))
      this.best = { acc: rec.metrics.acc, iteration: this.iteration, params: this.snapshot() };
    this.history.push(rec);
    hooks.onUpdate?.(rec);
    this.previous = labels;
    this.lossSum = this.lossCount = 0;
    for (const [, field] of this.terms) this.termSums[field] = 0;
    this.t0 = performance.now();
    // During a finite anchored phase the labels settle on the anchor; convergence counts after it.
    const settled = this.iteration > 0 && s.tol > 0 && delta !== null && delta < s.tol;
    if (settled && (!anchored || hooks.anchor!.updates === Infinity)) return "tol";
    if (anchored && s.holdIterations !== undefined && this.iteration >= s.holdIterations) return "hold";
    const due = hooks.checkpointEvery && this.history.length % hooks.checkpointEvery === 0;
    if (hooks.onCheckpoint && due && this.iteration < s.maxIter) await hooks.onCheckpoint(this.state(labels));
    return null;
  }

  /** P for the steps up to the next update: the anchor while it holds, else target(Q) (full mode). */
  private async updateTarget(q: Matrix, anchored: boolean): Promise<void> {
    const { X, hooks } = this;
    if (anchored) this.P = hooks.anchor!.target;
    else if (this.s.target === "full")
      this.P = isMatrix(X)
        ? await fullTarget(q, this.ae.session)
        : targetFromFrequencies(q, this.P === hooks.anchor?.target ? undefined : (this.P ?? undefined));
  }

  /** The record of the update at this iteration. */
  private record(labels: Int32Array, delta: number | null): UpdateRecord {
    const { lossCount, history } = this;
    const sizes = clusterSizes(labels, this.k);
    const rec: UpdateRecord = {
      iteration: this.iteration,
      loss: lossCount ? this.lossSum / lossCount : null,
      ...(lossCount
        ? Object.fromEntries(this.terms.map(([, field]) => [field, this.termSums[field]! / lossCount]))
        : {}),
      deltaLabel: delta,
      clusterSizes: sizes,
      nonEmpty: sizes.filter((n) => n > 0).length,
      warnings: warningsFor(sizes, this.X.rows, history.length ? history.at(-1)!.nonEmpty : null),
      seconds: (performance.now() - this.t0) / 1000,
    };
    if (this.hooks.evaluate) rec.metrics = this.hooks.evaluate(labels);
    return rec;
  }

  /** Everything a resumed run needs to continue exactly where this one is. */
  private state(labels: Int32Array): TrainingState {
    return {
      iteration: this.iteration,
      stepCount: this.compiled.step.t,
      rng: this.rng.getState(),
      order: Array.from(this.batches.order),
      position: this.batches.position,
      previousLabels: Array.from(labels),
      history: this.history.map((h) => ({ ...h })),
      params: this.ae.params.snapshot(), // every weight, the decoder too, so a resumed DEC model saves whole
      slots: this.compiled.step.slots.snapshot(),
      p: this.P ? this.P.slice() : null,
      best: this.best,
    };
  }

  /**
   * Steps up to the next update point (or maxIter), stepsPerRun per onnxruntime run; in fixed
   * order, a pass's last, partial batch runs on its own.
   */
  async stepToNextUpdate(): Promise<void> {
    const { X, k, s } = this;
    let steps = Math.min(
      s.stepsPerRun,
      s.updateInterval - (this.iteration % s.updateInterval),
      s.maxIter - this.iteration,
    );
    let rows = s.batchSize;
    if (!s.shuffle) {
      const left = this.batches.leftInPass();
      if (left < s.batchSize) [steps, rows] = [1, left];
      else steps = Math.min(steps, Math.floor(left / s.batchSize));
    }
    const x = this.buffer("x", steps, rows, X.cols);
    const p = s.target === "full" ? this.buffer("p", steps, rows, k) : null;
    for (let i = 0; i < steps; i++) {
      const idx = this.batches.next(rows);
      gatherFrom(X, idx, 0, rows, x.data.subarray(i * rows * X.cols, (i + 1) * rows * X.cols));
      if (p)
        gatherRows(
          { data: this.P!, rows: X.rows, cols: k },
          idx,
          0,
          rows,
          p.data.subarray(i * rows * k, (i + 1) * rows * k),
        );
    }
    this.current = null;
    const r = await this.compiled.step.runSteps(p ? { x, p } : { x });
    for (let i = 0; i < steps; i++) {
      if (!Number.isFinite(r.losses[i]!))
        throw new Error(
          `${s.method}: loss became ${r.losses[i]} at iteration ${this.iteration + i + 1} (try a lower learning rate)`,
        );
      this.lossSum += r.losses[i]!;
      for (const [metric, field] of this.terms)
        this.termSums[field] = (this.termSums[field] ?? 0) + r.metrics[metric]![i]!;
    }
    this.lossCount += steps;
    this.iteration += steps;
  }

  /** The final labels and Q (of the kept state, when selecting by labels); frees the compiled graphs. */
  async finish(stopReason: StopReason): Promise<ClusteringResult> {
    const best = this.best;
    if (best) for (const [n, v] of Object.entries(best.params)) this.ae.params.set(n, v);
    // A run that stopped at an update point (tol, the held budget, maxIter on an update) already has
    // Q of its final weights: one pass over the data less.
    const q = this.current !== null && !best ? this.current : await this.assigner.predictProba(this.X);
    await this.assigner.release();
    await this.compiled.step.release();
    return {
      labels: hardLabels(q),
      q,
      history: this.history,
      iterations: this.iteration,
      converged: stopReason === "tol",
      stopReason,
      ...(best ? { selectedIteration: best.iteration } : {}),
    };
  }

  /** A [steps, rows, cols] input buffer, reused across runs of the same shape. */
  private buffer(name: string, steps: number, rows: number, cols: number): Tensor<Float32Array> {
    const key = `${name}:${steps}x${rows}`;
    let b = this.buffers.get(key);
    if (!b) this.buffers.set(key, (b = Tensor.zeros([steps, rows, cols])));
    return b;
  }

  private trainedNames(): string[] {
    return this.compiled.params.map((p) => p.name);
  }

  private snapshot(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const name of this.trainedNames()) out[name] = this.ae.params.value(name).slice();
    return out;
  }
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
