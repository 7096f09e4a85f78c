// The exported inference graph, model.onnx: input `embeddings` [N, d] float32 → outputs
// `probabilities` [N, k] (the Student-t soft assignment q) and `labels` [N] int64 (argmax q).
// The weights are baked in as initializers, so the file runs on its own in any ONNX Runtime
// (Python, C#, Java, the browser, Triton). It is built from the same layer code as the library's
// own inference graph (SoftAssigner), only with constants where that graph has weight inputs.

import { DEFAULTS } from "../config.js";
import { Graph, OPSET, type Value } from "../engine/index.js";
import {
  BuildContext,
  CENTERS,
  Sequential,
  StudentTAssignment,
  quantizeWeight,
  quantizedConstants,
  type Param,
  type QuantizedWeightValues,
} from "../nn/index.js";
import type { Autoencoder } from "./autoencoder.js";

export const ONNX_INPUT = "embeddings";
export const ONNX_OUTPUTS = ["probabilities", "labels"] as const;
export { OPSET as ONNX_OPSET };

/**
 * Numeric precision of an inference graph. "int8": every encoder layer's GEMM runs in 8-bit integers
 * (weights quantized per output column, see nn/quantize.ts; inputs quantized per call), about twice
 * the throughput of float32 on CPUs with VNNI, at the price of a small error in q; the Student-t
 * assignment stays float32. Training is always float32.
 */
export type Precision = "fp32" | "int8";
export const PRECISIONS: readonly Precision[] = ["fp32", "int8"];

export interface InferenceGraphOptions {
  precision?: Precision;
  /** Also output `labels` (argmax q); default true. */
  labels?: boolean;
  /** Also output INPUT_SUM, the in-graph finite check of the input; default false (not in model.onnx). */
  inputSum?: boolean;
}

/** The inference graphs' extra output when they check their input: the sum of the batch (see CompiledGraph.runRows). */
export const INPUT_SUM = "x_sum";

/** The inference graph of a fitted model whose centres are in `ae.params` under CENTERS. */
export function inferenceGraph(ae: Autoencoder, alpha: number, options: InferenceGraphOptions = {}): Graph {
  const [k, dim] = ae.params.dims(CENTERS) as [number, number];
  if (dim !== ae.codeDim) throw new RangeError(`centres are ${k} × ${dim}, the code has ${ae.codeDim} dimensions`);
  const precision = options.precision ?? DEFAULTS.precision;
  const g = new Graph(precision === "int8" ? "deepclust_dec_int8" : "deepclust_dec");
  const enc = ae.encoder();
  const assignment = new StudentTAssignment(k, dim, alpha);
  const int8 = new Map<string, QuantizedWeightValues>();
  if (precision === "int8") {
    for (const p of enc.params) {
      if (p.shape.length !== 2) continue; // biases stay float32
      const [out, inp] = p.shape as [number, number];
      int8.set(p.name, quantizedConstants(g, quantizeWeight(ae.params.value(p.name), out, inp), p.name));
    }
  }
  const floatParams = [...enc.params, assignment.centers].filter((p) => !int8.has(p.name));
  const weights = new Map(
    floatParams.map((p: Param) => [p.name, g.constant(ae.params.value(p.name).slice(), p.shape, p.name)]),
  );
  const ctx = new BuildContext(g, weights, int8);
  const x = g.input(ONNX_INPUT, "float32", ["N", ae.inputDim]);
  const code = options.inputSum === true ? encodeChecked(ctx, enc, x, precision === "int8") : enc.forward(ctx, x).y;
  const q = assignment.forward(ctx, code).y;
  g.output(q, ONNX_OUTPUTS[0]);
  if (options.labels ?? true) g.output(g.argMax(q, 1), ONNX_OUTPUTS[1]);
  return g;
}

/**
 * The encoder's code of x, and the graph's finite check of x as the output INPUT_SUM. A float32
 * first layer makes it nearly free: every entry of its output row (before the activation) is a sum
 * of products with every value of the input row, so one NaN/±Inf makes them all non-finite, and
 * their sum is taken from a matrix a third the size of x that is still in cache. An int8 first
 * layer quantizes x (which loses NaN), so there the sum is of x itself (one more pass over it,
 * about 12 % of an int8 run).
 */
export function encodeChecked(ctx: BuildContext, enc: Sequential, x: Value, int8: boolean): Value {
  const [first, ...rest] = enc.layers;
  const h = first!.forward(ctx, x).y;
  const { g } = ctx;
  // int8: the row sums as a product with a ones vector (MLAS's GEMV reads x faster than ReduceSum).
  const d = x.shape[1] as number;
  g.output(g.sumAll(int8 ? g.matmul(x, g.constant(new Float32Array(d).fill(1), [d, 1], "ones")) : h), INPUT_SUM);
  return new Sequential(rest).forward(ctx, h).y;
}

/** model.onnx as bytes (an ONNX ModelProto); int8 models need onnxruntime (a com.microsoft op). */
export function exportOnnx(ae: Autoencoder, alpha: number, precision: Precision = "fp32"): Uint8Array {
  const k = ae.params.dims(CENTERS)[0]!;
  const how = precision === "int8" ? "int8 encoder (onnxruntime DynamicQuantizeMatMul)" : "encoder";
  const doc = `deepclust DEC inference: ${ONNX_INPUT} [N, ${ae.inputDim}] float32 → ${how} ${ae.dims.join("→")} → Student-t assignment (alpha ${alpha}) → ${ONNX_OUTPUTS[0]} [N, ${k}], ${ONNX_OUTPUTS[1]} [N] int64`;
  return inferenceGraph(ae, alpha, { precision }).toModel(doc);
}
