// One whole training step — forward, loss, backward, clipping and the optimizer update — compiled
// into a single ONNX graph and run by onnxruntime. Parameters and optimizer slots are graph inputs
// whose successors are written straight into the other half of their ping-pong buffers.

import { CompiledGraph, Graph, StateStore, Tensor, nextName, type SessionOptions, type Shape, type Value } from "../engine/index.js";
import { BuildContext, paramInputs, type Param } from "./module.js";
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
  /** Per-step data inputs (float32), e.g. the noisy and clean batch. */
  inputs: ReadonlyArray<{ name: string; shape: Shape }>;
  objective(ctx: BuildContext, inputs: Readonly<Record<string, Value>>): Objective;
  optimizer: Optimizer;
  /** Global-norm clipping threshold (null/undefined: no clipping). */
  clipNorm?: number | null;
}

export interface StepResult {
  loss: number;
  /** Gradient norm before clipping (only when clipping is on). */
  gradNorm?: number;
  metrics: Record<string, number>;
}

export class TrainingStep {
  /** Steps taken (PyTorch's optimizer step count). */
  t = 0;
  private readonly scalarTensors = new Map<string, Tensor<Float32Array>>();
  private readonly outTensors = new Map<string, Tensor<Float32Array>>();
  private readonly feeds: Record<string, Tensor> = {};
  private readonly fetches: Record<string, Tensor> = {};
  private readonly updated: ReadonlySet<string>;

  private constructor(
    readonly spec: TrainingStepSpec,
    readonly graph: Graph,
    private readonly compiled: CompiledGraph,
    /** Model parameters (shared with the model that owns them). */
    readonly params: StateStore,
    /** Optimizer state owned by this step. */
    readonly slots: StateStore,
    private readonly trainable: readonly Param[],
    private readonly groups: readonly string[],
    private readonly metricNames: readonly string[],
    private readonly hasGradNorm: boolean,
  ) {
    this.updated = new Set(trainable.map((p) => p.name));
    for (const name of spec.optimizer.scalarInputs(groups)) this.scalarTensors.set(name, Tensor.zeros([]));
    for (const name of ["loss", ...(hasGradNorm ? ["grad_norm"] : []), ...metricNames]) this.outTensors.set(name, Tensor.zeros([]));
  }

  /** Builds the step graph (exposed for inspection and export). */
  static build(spec: TrainingStepSpec): { graph: Graph; trainable: Param[]; groups: string[]; metricNames: string[] } {
    const g = new Graph(spec.name);
    const trainable = spec.params.filter(spec.trainable ?? (() => true));
    if (trainable.length === 0) throw new Error(`${spec.name}: nothing to train`);
    const groups = [...new Set(trainable.map((p) => p.group))];
    const ctx = new BuildContext(g, paramInputs(g, spec.params));
    const data: Record<string, Value> = {};
    for (const i of spec.inputs) data[i.name] = g.input(i.name, "float32", i.shape);
    const optimizer = spec.optimizer;
    const slotValues = new Map(trainable.map((p) => [p, optimizer.slotNames(p).map((n) => g.input(n, "float32", p.shape))]));
    const scalars: Record<string, Value> = {};
    for (const n of optimizer.scalarInputs(groups)) scalars[n] = g.input(n, "float32", []);

    const objective = spec.objective(ctx, data);
    g.output(objective.loss, "loss");
    objective.backward();
    let grads = trainable.map((p) => {
      const gr = ctx.gradOf(p.name);
      if (!gr) throw new Error(`${spec.name}: the objective gives no gradient for trainable parameter '${p.name}'`);
      return gr;
    });
    if (spec.clipNorm != null) {
      const norm = globalNorm(g, grads);
      g.output(norm, "grad_norm");
      grads = clipByGlobalNorm(g, grads, norm, spec.clipNorm);
    }
    trainable.forEach((p, i) => {
      const slotNames = optimizer.slotNames(p);
      const u = optimizer.update(g, p, ctx.param(p), grads[i]!, slotValues.get(p)!, scalars);
      g.output(u.param, nextName(p.name));
      u.slots.forEach((s, j) => g.output(s, nextName(slotNames[j]!)));
    });
    const metricNames = Object.keys(objective.metrics ?? {});
    for (const [name, v] of Object.entries(objective.metrics ?? {})) g.output(v, name);
    return { graph: g, trainable, groups, metricNames };
  }

  static async compile(spec: TrainingStepSpec, params: StateStore, session: SessionOptions = {}): Promise<TrainingStep> {
    const { graph, trainable, groups, metricNames } = TrainingStep.build(spec);
    const compiled = await CompiledGraph.create(graph, session);
    const slots = new StateStore();
    for (const p of trainable) for (const n of spec.optimizer.slotNames(p)) slots.define(n, p.shape);
    return new TrainingStep(spec, graph, compiled, params, slots, trainable, groups, metricNames, spec.clipNorm != null);
  }

  /** Runs one step on the given data inputs and commits the updated state. */
  async run(data: Readonly<Record<string, Tensor>>): Promise<StepResult> {
    const t = this.t + 1;
    const feeds = this.feeds;
    const fetches = this.fetches;
    for (const p of this.spec.params) this.params.bind(p.name, feeds, this.updated.has(p.name) ? fetches : null);
    for (const n of this.slots.names()) this.slots.bind(n, feeds, fetches);
    const values = this.spec.optimizer.scalarValues(t, this.groups);
    for (const [name, tensor] of this.scalarTensors) {
      tensor.data[0] = values[name]!;
      feeds[name] = tensor;
    }
    for (const [name, tensor] of this.outTensors) fetches[name] = tensor;
    for (const [name, tensor] of Object.entries(data)) feeds[name] = tensor;

    await this.compiled.run(feeds, fetches, Object.keys(fetches));
    this.params.flip([...this.updated]);
    this.slots.flip(this.slots.names());
    this.t = t;
    const metrics: Record<string, number> = {};
    for (const n of this.metricNames) metrics[n] = this.outTensors.get(n)!.data[0]!;
    const result: StepResult = { loss: this.outTensors.get("loss")!.data[0]!, metrics };
    if (this.hasGradNorm) result.gradNorm = this.outTensors.get("grad_norm")!.data[0]!;
    return result;
  }

  async release(): Promise<void> {
    await this.compiled.release();
  }
}
