// A graph that outputs an objective's loss and its gradients (no update): what gradient checks
// and debugging tools read. Gradients come out as `grad/<param>` and `grad/<input>`.

import { CompiledGraph, Graph, StateStore, type SessionOptions, type Tensor } from "../engine/index.js";
import { BuildContext, paramInputs } from "./module.js";
import type { TrainingStepSpec } from "./training-step.js";

export type GradientSpec = Pick<TrainingStepSpec, "name" | "params" | "inputs" | "objective">;

export interface Gradients {
  loss: number;
  grads: Record<string, Float32Array>;
}

export function buildGradientGraph(spec: GradientSpec): Graph {
  const g = new Graph(spec.name);
  const ctx = new BuildContext(g, paramInputs(g, spec.params));
  const data: Record<string, ReturnType<Graph["input"]>> = {};
  for (const i of spec.inputs) data[i.name] = g.input(i.name, "float32", i.shape);
  const objective = spec.objective(ctx, data);
  g.output(objective.loss, "loss");
  const inputGrads = objective.backward() ?? {};
  for (const p of spec.params) {
    const gr = ctx.gradOf(p.name);
    if (gr) g.output(gr, `grad/${p.name}`);
  }
  for (const [name, v] of Object.entries(inputGrads)) g.output(v, `grad/${name}`);
  return g;
}

export async function computeGradients(
  spec: GradientSpec,
  params: StateStore,
  data: Record<string, Tensor>,
  session: SessionOptions = {},
): Promise<Gradients> {
  const compiled = await CompiledGraph.create(buildGradientGraph(spec), session);
  const feeds: Record<string, Tensor> = { ...data };
  for (const p of spec.params) feeds[p.name] = params.tensor(p.name);
  const out = await compiled.run(feeds);
  await compiled.release();
  const grads: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(out)) if (k.startsWith("grad/")) grads[k.slice(5)] = v as Float32Array;
  return { loss: (out.loss as Float32Array)[0]!, grads };
}
