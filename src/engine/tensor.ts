// Host tensors: a typed array plus dims. The ONNX Runtime wrapper is created once and reused,
// so feeding the same buffer step after step allocates nothing.

import ort from "onnxruntime-node";

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array;

export class Tensor<T extends TensorData = TensorData> {
  private ortTensor: ort.Tensor | undefined;
  constructor(
    readonly data: T,
    readonly dims: readonly number[],
  ) {
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== data.length)
      throw new Error(`tensor dims [${dims.join(",")}] need ${n} elements, data has ${data.length}`);
  }
  static float32(data: Float32Array, dims: readonly number[]): Tensor<Float32Array> {
    return new Tensor(data, dims);
  }
  static zeros(dims: readonly number[]): Tensor<Float32Array> {
    return new Tensor(new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  }
  /** @internal the onnxruntime view of this buffer (engine use only). */
  toOrt(): ort.Tensor {
    const data = this.data;
    this.ortTensor ??=
      data instanceof Float32Array
        ? new ort.Tensor("float32", data, this.dims)
        : data instanceof Float64Array
          ? new ort.Tensor("float64", data, this.dims)
          : data instanceof Int32Array
            ? new ort.Tensor("int32", data, this.dims)
            : new ort.Tensor("int64", data, this.dims);
    return this.ortTensor;
  }
}
