export {
  Graph,
  Value,
  GraphError,
  OPSET,
  MS_DOMAIN,
  type DType,
  type Dim,
  type Shape,
  type GemmOptions,
} from "./graph.js";
export { CompiledGraph, type SessionOptions, type Feeds } from "./session.js";
export { Tensor, type TensorData } from "./tensor.js";
export { StateStore, nextName } from "./state.js";
export { Rng, type RngState } from "./random.js";
export {
  type Matrix,
  matrix,
  zerosMatrix,
  gatherRows,
  rowSlice,
  argmaxRows,
  assertFiniteRows,
  NonFiniteValueError,
} from "./matrix.js";
export { type Device, DEVICES, DeviceUnavailableError, executionProviders } from "./device.js";
export { type RowSource, type Rows, isMatrix, gatherFrom, chunksOf, shuffledOrder, SOURCE_CHUNK_ROWS } from "./rows.js";
