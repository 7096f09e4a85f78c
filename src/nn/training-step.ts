// Training steps — forward, loss, backward, clipping and the optimizer update — compiled into one
// ONNX graph and run by onnxruntime. The step is the body of an ONNX Scan, so one session run
// takes K steps over K stacked batches: parameters and optimizer state stay inside onnxruntime
// between those steps, and cross the JS boundary once per run instead of once per step (the
// node binding copies every output, which for large models costs as much as the Adam update).
// Between runs, state lives in ping-pong buffers: read through input `name`, written through
// output `nextName(name)` into the other buffer.

import {
  CompiledGraph,
  Graph,
  StateStore,
  Tensor,
  nextName,
  type SessionOptions,
  type Shape,
  type Value,
} from "../engine/index.js";
import { BuildContext, type Param } from "./module.js";
import type { Optimizer } from "./optim/optimizer.js";
import { clipByGlobalNorm, globalNorm } from "./optim/clip.js";

export interface Objective {
  /** The scalar minimised. */
  loss: Value;
  /**
   * Emits the backward ops; must report a gradient for every trainable parameter. May return
   * gradients with respect to data inputs (used by gradient checks).
   */
  backward(): void | Record<string, Value>;
  /** Further scalar outputs reported per step (e.g. the parts of a combined loss). */
  metrics?: Record<string, Value>;
}

export interface TrainingStepSpec {
  name: string;
  /** Every parameter the objective reads. */
  params: readonly Param[];
  /** Which of them are updated (default: all). Frozen ones are read-only inputs. */
  trainable?: (p: Param) => boolean;
  /** Per-step data inputs (float32) with their per-step shapes, e.g. the noisy and clean batch. */
  inputs: ReadonlyArray<{ name: string; shape: Shape }>;
  objective(ctx: BuildContext, inputs: Readonly<Record<string, Value>>): Objective;
  optimizer: Optimizer;
  /** Global-norm clipping threshold (null/undefined: no clipping). */
  clipNorm?: number | null;
}

/** Per-step results of one run of K steps. */
export interface StepsResult {
  losses: Float32Array;
  /** Gradient norms before clipping (only when clipping is on). */
  gradNorms?: Float32Array;
  metrics: Record<string, Float32Array>;
}

export interface StepResult {
  loss: number;
  gradNorm?: number;
  metrics: Record<string, number>;
}

const STEPS = "steps";

interface Built {
  graph: Graph;
  trainable: Param[];
  groups: string[];
  metricNames: string[];
}

export class TrainingStep {
  /** Steps taken (PyTorch's optimizer step count). */
  t = 0;
  private readonly updated: ReadonlySet<string>;
  private readonly scalarNames: readonly string[];
  private readonly perStepOutputs: readonly string[];
  /** Per-K buffers for the scalar inputs and per-step outputs. */
  private readonly buffers = new Map<
    number,
    { scalars: Map<string, Tensor<Float32Array>>; outs: Map<string, Tensor<Float32Array>> }
  >();

  private constructor(
    readonly spec: TrainingStepSpec,
    readonly graph: Graph,
    private readonly compiled: CompiledGraph,
    /** Model parameters (shared with the model that owns them). */
    readonly params: StateStore,
    /** Optimizer state owned by this step. */
    readonly slots: StateStore,
    trainable: readonly Param[],
    private readonly groups: readonly string[],
    private readonly metricNames: readonly string[],
    private readonly hasGradNorm: boolean,
  ) {
    this.updated = new Set(trainable.map((p) => p.name));
    this.scalarNames = spec.optimizer.scalarInputs(groups);
    this.perStepOutputs = ["loss", ...(hasGradNorm ? ["grad_norm"] : []), ...metricNames];
  }

  /** Builds the K-step graph (exposed for inspection and export). */
  static build(spec: TrainingStepSpec): Built {
    const g = new Graph(spec.name);
    const trainable = spec.params.filter(spec.trainable ?? (() => true));
    if (trainable.length === 0) throw new Error(`${spec.name}: nothing to train`);
    const isTrainable = new Set(trainable);
    const groups = [...new Set(trainable.map((p) => p.group))];
    const optimizer = spec.optimizer;
    const slotNames = trainable.flatMap((p) => optimizer.slotNames(p).map((n) => ({ name: n, shape: p.shape })));

    // Outer graph inputs: state, then K stacked batches and K values of each per-step scalar.
    const outerParams = new Map(spec.params.map((p) => [p.name, g.input(p.name, "float32", p.shape)]));
    const outerSlots = slotNames.map((s) => g.input(s.name, "float32", s.shape));
    const outerData = spec.inputs.map((i) => g.input(i.name, "float32", [STEPS, ...i.shape]));
    const scalarNames = optimizer.scalarInputs(groups);
    const outerScalars = scalarNames.map((n) => g.input(n, "float32", [STEPS]));

    // The body: one step.
    const body = new Graph("step", g);
    const paramValues = new Map<string, Value>();
    // Body names carry a prefix: a subgraph must not shadow the enclosing graph's names.
    const local = (n: string) => `step/${n}`;
    for (const p of trainable) paramValues.set(p.name, body.input(local(p.name), "float32", p.shape));
    const slotValues = new Map<string, Value>(
      slotNames.map((s) => [s.name, body.input(local(s.name), "float32", s.shape)]),
    );
    const data: Record<string, Value> = {};
    for (const i of spec.inputs) data[i.name] = body.input(local(i.name), "float32", i.shape);
    const scalars: Record<string, Value> = {};
    for (const n of scalarNames) scalars[n] = body.input(local(n), "float32", []);
    for (const p of spec.params) if (!isTrainable.has(p)) paramValues.set(p.name, body.outer(outerParams.get(p.name)!));

    const ctx = new BuildContext(body, paramValues);
    const objective = spec.objective(ctx, data);
    objective.backward();
    let grads = trainable.map((p) => {
      const gr = ctx.gradOf(p.name);
      if (!gr) throw new Error(`${spec.name}: the objective gives no gradient for trainable parameter '${p.name}'`);
      return gr;
    });
    let norm: Value | undefined;
    if (spec.clipNorm != null) {
      norm = globalNorm(body, grads);
      grads = clipByGlobalNorm(body, grads, norm, spec.clipNorm);
    }
    const nextParams: Value[] = [];
    const nextSlots = new Map<string, Value>();
    trainable.forEach((p, i) => {
      const names = optimizer.slotNames(p);
      const u = optimizer.update(
        body,
        p,
        paramValues.get(p.name)!,
        grads[i]!,
        names.map((n) => slotValues.get(n)!),
        scalars,
      );
      nextParams.push(u.param);
      u.slots.forEach((s, j) => nextSlots.set(names[j]!, s));
    });
    nextParams.forEach((v, i) => body.output(v, local(nextName(trainable[i]!.name))));
    for (const s of slotNames) body.output(nextSlots.get(s.name)!, local(nextName(s.name)));
    const metricNames = Object.keys(objective.metrics ?? {});
    const perStep = [objective.loss, ...(norm ? [norm] : []), ...metricNames.map((n) => objective.metrics![n]!)];
    perStep.forEach((v, i) => body.output(v, local(`per_step_${i}`)));

    const { state, stacked } = g.scan(
      body,
      [...trainable.map((p) => outerParams.get(p.name)!), ...outerSlots],
      [...outerData, ...outerScalars],
      STEPS,
    );
    trainable.forEach((p, i) => g.output(state[i]!, nextName(p.name)));
    slotNames.forEach((s, i) => g.output(state[trainable.length + i]!, nextName(s.name)));
    const outNames = ["loss", ...(norm ? ["grad_norm"] : []), ...metricNames];
    stacked.forEach((v, i) => g.output(v, outNames[i]));
    return { graph: g, trainable, groups, metricNames };
  }

  static async compile(
    spec: TrainingStepSpec,
    params: StateStore,
    session: SessionOptions = {},
  ): Promise<TrainingStep> {
    const { graph, trainable, groups, metricNames } = TrainingStep.build(spec);
    const compiled = await CompiledGraph.create(graph, session);
    const slots = new StateStore();
    for (const p of trainable) for (const n of spec.optimizer.slotNames(p)) slots.define(n, p.shape);
    return new TrainingStep(
      spec,
      graph,
      compiled,
      params,
      slots,
      trainable,
      groups,
      metricNames,
      spec.clipNorm != null,
    );
  }

  private buffersFor(k: number) {
    let b = this.buffers.get(k);
    if (!b) {
      b = {
        scalars: new Map(this.scalarNames.map((n) => [n, Tensor.zeros([k])])),
        outs: new Map(this.perStepOutputs.map((n) => [n, Tensor.zeros([k])])),
      };
      this.buffers.set(k, b);
    }
    return b;
  }

  /**
   * Runs K steps: each data input is a tensor [K, ...per-step shape] holding the K batches in
   * order. Commits the updated state and returns per-step losses (views valid until the next run
   * with the same K).
   */
  async runSteps(data: Readonly<Record<string, Tensor>>): Promise<StepsResult> {
    const first = data[this.spec.inputs[0]!.name];
    if (!first) throw new Error(`missing data input '${this.spec.inputs[0]!.name}'`);
    const k = first.dims[0]!;
    const { scalars, outs } = this.buffersFor(k);
    for (let i = 0; i < k; i++) {
      const values = this.spec.optimizer.scalarValues(this.t + 1 + i, this.groups);
      for (const [name, tensor] of scalars) tensor.data[i] = values[name]!;
    }
    const feeds: Record<string, Tensor> = { ...data };
    const fetches: Record<string, Tensor> = {};
    for (const p of this.spec.params) this.params.bind(p.name, feeds, this.updated.has(p.name) ? fetches : null);
    for (const n of this.slots.names()) this.slots.bind(n, feeds, fetches);
    for (const [name, tensor] of scalars) feeds[name] = tensor;
    for (const [name, tensor] of outs) fetches[name] = tensor;

    await this.compiled.run(feeds, fetches, Object.keys(fetches));
    this.params.flip([...this.updated]);
    this.slots.flip(this.slots.names());
    this.t += k;
    const metrics: Record<string, Float32Array> = {};
    for (const n of this.metricNames) metrics[n] = outs.get(n)!.data;
    const result: StepsResult = { losses: outs.get("loss")!.data, metrics };
    if (this.hasGradNorm) result.gradNorms = outs.get("grad_norm")!.data;
    return result;
  }

  /** Runs one step on per-step-shaped data tensors (no K axis). */
  async run(data: Readonly<Record<string, Tensor>>): Promise<StepResult> {
    const stacked: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(data)) stacked[name] = new Tensor(t.data, [1, ...t.dims]);
    const r = await this.runSteps(stacked);
    const metrics: Record<string, number> = {};
    for (const [n, v] of Object.entries(r.metrics)) metrics[n] = v[0]!;
    return { loss: r.losses[0]!, ...(r.gradNorms ? { gradNorm: r.gradNorms[0]! } : {}), metrics };
  }

  async release(): Promise<void> {
    await this.compiled.release();
  }
}
