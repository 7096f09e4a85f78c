// Weight quantization for int8 inference: a Dense layer's float32 weight [out, in] becomes an int8
// matrix [in, out] with one scale per output column (symmetric, zero point 0), the layout
// onnxruntime's DynamicQuantizeMatMul takes. The inputs are quantized per call by the op itself.
//
// Weights use 7 bits ([-63, 63], onnxruntime's `reduce_range`): on x86 CPUs without VNNI the
// uint8 × int8 kernel sums pairs of products in 16 bits, and 255 · 127 · 2 overflows that where
// 255 · 63 · 2 does not, so a model exported this way computes the same on every CPU. Measured cost
// against 8 bits: in BENCHMARKS.md (int8 inference).

import type { Graph, Value } from "../engine/index.js";

export const INT8_WEIGHT_MAX = 63;

export interface QuantizedWeight {
  /** int8 values, [in, out] row-major (the transpose of the PyTorch layout). */
  data: Int8Array;
  /** Per output column: w ≈ data · scale. */
  scale: Float32Array;
  inFeatures: number;
  outFeatures: number;
}

/** Quantizes a float32 weight [out, in] (PyTorch layout) per output row, symmetrically. */
export function quantizeWeight(w: Float32Array, outFeatures: number, inFeatures: number): QuantizedWeight {
  if (w.length !== outFeatures * inFeatures)
    throw new RangeError(`weight holds ${w.length} values, ${outFeatures} × ${inFeatures} expected`);
  const data = new Int8Array(inFeatures * outFeatures);
  const scale = new Float32Array(outFeatures);
  for (let o = 0; o < outFeatures; o++) {
    let max = 0;
    for (let i = 0; i < inFeatures; i++) max = Math.max(max, Math.abs(w[o * inFeatures + i]!));
    if (!Number.isFinite(max)) throw new RangeError(`weight row ${o} is not finite`);
    const s = max > 0 ? max / INT8_WEIGHT_MAX : 1;
    scale[o] = s;
    for (let i = 0; i < inFeatures; i++) data[i * outFeatures + o] = Math.round(w[o * inFeatures + i]! / s);
  }
  return { data, scale, inFeatures, outFeatures };
}

/** The graph constants of a quantized weight: int8 matrix, scales, zero points. */
export interface QuantizedWeightValues {
  w: Value;
  scale: Value;
  zeroPoint: Value;
}

export function quantizedConstants(g: Graph, q: QuantizedWeight, name: string): QuantizedWeightValues {
  return {
    w: g.constantInt8(q.data, [q.inFeatures, q.outFeatures], `${name}_int8`),
    scale: g.constant(q.scale, [q.outFeatures], `${name}_scale`),
    zeroPoint: g.constantInt8(new Int8Array(q.outFeatures), [q.outFeatures], `${name}_zero_point`),
  };
}
