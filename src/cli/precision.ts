// --precision, shared by predict, evaluate, serve and export.

export { PRECISIONS, type Precision } from "../dec/model-onnx.js";

export const PRECISION_HELP =
  "fp32 or int8: int8 runs the encoder's matrix products in 8-bit integers (about 2× the throughput on CPUs with VNNI; q differs slightly, so a few rows in a thousand may change cluster; BENCHMARKS.md measures it)";
