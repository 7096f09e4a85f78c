// Compiled graphs: an ONNX model loaded into an onnxruntime-node session with full graph
// optimisation, run with named host tensors. Outputs can be written into caller-owned buffers
// (preallocated fetches), which is how training steps avoid per-step allocation.

import ort from "onnxruntime-node";
import type { Graph } from "./graph.js";
import { Tensor, type TensorData } from "./tensor.js";
import { executionProviders, type Device } from "./device.js";
import { assertFiniteRows, type Matrix } from "./matrix.js";
import { DEFAULTS } from "../config.js";

export interface SessionOptions {
  /** Intra-op threads (0 = onnxruntime's default: one per physical core). */
  threads?: number;
  device?: Device;
  /**
   * Flush denormal floats to zero (default true). Adam's moments and small gradients decay into
   * the denormal range after a few hundred steps; denormal arithmetic then halves throughput.
   */
  flushDenormals?: boolean;
}

export type Feeds = Record<string, Tensor>;

export class CompiledGraph {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  static async create(model: Graph | Uint8Array, options: SessionOptions = {}): Promise<CompiledGraph> {
    const bytes = model instanceof Uint8Array ? model : model.toModel();
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: executionProviders(options.device ?? DEFAULTS.device),
      graphOptimizationLevel: "all",
      executionMode: "sequential",
      intraOpNumThreads: options.threads ?? DEFAULTS.threads,
      interOpNumThreads: 1,
      enableCpuMemArena: true,
      enableMemPattern: true,
      extra: { session: { set_denormal_as_zero: options.flushDenormals === false ? "0" : "1" } },
      // DEEPCLUST_ORT_PROFILE=prefix writes onnxruntime's per-node profile (how the kernel times in
      // BENCHMARKS.md were read).
      ...(process.env.DEEPCLUST_ORT_PROFILE
        ? { enableProfiling: true, profileFilePrefix: process.env.DEEPCLUST_ORT_PROFILE }
        : {}),
    });
    return new CompiledGraph(session, session.inputNames, session.outputNames);
  }

  /**
   * Runs the graph. Every output named in `into` is written into that tensor's buffer; the other
   * outputs come back freshly allocated. Returns all requested outputs by name.
   */
  async run(
    feeds: Feeds,
    into: Record<string, Tensor> = {},
    want: readonly string[] = this.outputNames,
  ): Promise<Record<string, TensorData>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const name of this.inputNames) {
      const t = feeds[name];
      if (!t) throw new Error(`missing input '${name}' (graph inputs: ${this.inputNames.join(", ")})`);
      ortFeeds[name] = t.toOrt();
    }
    const fetches: Record<string, ort.Tensor | null> = {};
    for (const name of want) fetches[name] = into[name]?.toOrt() ?? null;
    const result = await this.session.run(ortFeeds, fetches);
    const out: Record<string, TensorData> = {};
    for (const name of want) {
      const pre = into[name];
      out[name] = pre ? pre.data : (result[name]!.data as TensorData);
    }
    return out;
  }

  /** Convenience for single-output inference graphs returning a fresh float32 array. */
  async runOne(feeds: Feeds, output: string = this.outputNames[0]!): Promise<Float32Array> {
    const r = await this.run(feeds, {}, [output]);
    return r[output] as Float32Array;
  }

  /**
   * Runs a row-wise graph (input `input` [rows, cols] → output `output` [rows, outCols]) over
   * every row of X in batches, writing into one result matrix. `fixed` feeds the other inputs
   * (weights). Batches are views of X: nothing is copied on the way in.
   *
   * `inputSum` names a scalar output holding the sum of the batch's input: the graph's vectorised
   * check that X is finite (a NaN or ±Inf makes the sum non-finite). A batch whose sum is not finite
   * is scanned to name the value (NonFiniteValueError); a sum that only overflowed passes.
   */
  async runRows(
    X: Matrix,
    input: string,
    output: string,
    outCols: number,
    fixed: Feeds,
    batchSize = 1024,
    inputSum?: string,
  ): Promise<Matrix> {
    const out = new Float32Array(X.rows * outCols);
    const feeds: Feeds = { ...fixed };
    const want = inputSum === undefined ? [output] : [output, inputSum];
    for (let start = 0; start < X.rows; start += batchSize) {
      const end = Math.min(X.rows, start + batchSize);
      feeds[input] = new Tensor(X.data.subarray(start * X.cols, end * X.cols), [end - start, X.cols]);
      const r = await this.run(
        feeds,
        { [output]: new Tensor(out.subarray(start * outCols, end * outCols), [end - start, outCols]) },
        want,
      );
      if (inputSum !== undefined && !Number.isFinite(r[inputSum]![0]!)) assertFiniteRows(X, start, end);
    }
    return { data: out, rows: X.rows, cols: outCols };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export { Tensor };
