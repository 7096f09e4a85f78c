// The exported inference graph, model.onnx: input `embeddings` [N, d] float32 → outputs
// `probabilities` [N, k] (the Student-t soft assignment q) and `labels` [N] int64 (argmax q).
// The weights are baked in as initializers, so the file runs on its own in any ONNX Runtime
// (Python, C#, Java, the browser, Triton). It is built from the same layer code as the library's
// own inference graph (SoftAssigner), only with constants where that graph has weight inputs.

import { Graph, OPSET } from "../engine/index.js";
import { BuildContext, CENTERS, StudentTAssignment, type Param } from "../nn/index.js";
import type { Autoencoder } from "./autoencoder.js";

export const ONNX_INPUT = "embeddings";
export const ONNX_OUTPUTS = ["probabilities", "labels"] as const;
export { OPSET as ONNX_OPSET };

/** The inference graph of a fitted model whose centres are in `ae.params` under CENTERS. */
export function inferenceGraph(ae: Autoencoder, alpha: number): Graph {
  const [k, dim] = ae.params.dims(CENTERS) as [number, number];
  if (dim !== ae.codeDim) throw new RangeError(`centres are ${k} × ${dim}, the code has ${ae.codeDim} dimensions`);
  const g = new Graph("deepclust_dec");
  const enc = ae.encoder();
  const assignment = new StudentTAssignment(k, dim, alpha);
  const weights = new Map([...enc.params, assignment.centers].map((p: Param) => [p.name, g.constant(ae.params.value(p.name).slice(), p.shape, p.name)]));
  const ctx = new BuildContext(g, weights);
  const x = g.input(ONNX_INPUT, "float32", ["N", ae.inputDim]);
  const q = assignment.forward(ctx, enc.forward(ctx, x).y).y;
  g.output(q, ONNX_OUTPUTS[0]);
  g.output(g.argMax(q, 1), ONNX_OUTPUTS[1]);
  return g;
}

/** model.onnx as bytes (an ONNX ModelProto). */
export function exportOnnx(ae: Autoencoder, alpha: number): Uint8Array {
  const k = ae.params.dims(CENTERS)[0]!;
  const doc = `deepclust DEC inference: ${ONNX_INPUT} [N, ${ae.inputDim}] float32 → encoder ${ae.dims.join("→")} → Student-t assignment (alpha ${alpha}) → ${ONNX_OUTPUTS[0]} [N, ${k}], ${ONNX_OUTPUTS[1]} [N] int64`;
  return inferenceGraph(ae, alpha).toModel(doc);
}
