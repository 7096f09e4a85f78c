// The ONNX graphs of k-means' kernels (kernels.ts runs them) and of its predict. The kernels'
// graphs have no fixed sizes (rows, width, k and the number of candidates are symbolic), so their
// bytes are constants: kernel-models.ts holds them, written by scripts/make-kernel-models.ts and
// checked against these builders by test/cluster-kmeans.test.ts. The k-means command and its
// worker lanes then start without loading the ONNX builder (about 40 ms of protobuf code).

import { Graph } from "../engine/graph.js";
import { CompiledGraph } from "../engine/session.js";
import { Tensor } from "../engine/tensor.js";
import type { Matrix } from "../engine/matrix.js";
import { chunks } from "./kernels.js";

/** The kernels' serialised models, as kernel-models.ts stores them. */
export function buildKernelModels(): Record<"assign" | "seeding", Uint8Array> {
  const assign = new Graph("kmeans_assign");
  const s = assign.gemm(
    assign.input("x", "float32", ["n", "w"]),
    assign.input("c", "float32", ["k", "w"]),
    { transB: true },
    null,
    "dist_minus_xnorm",
  );
  // ArgMin over the rows measured faster than TopK(1) or ArgMin over the transposed scores
  // (bench/diagnostics/kmeans-argmin.ts). The labels are int32: half the bytes of int64.
  const argmin = assign.node("ArgMin", [s], [{ dtype: "int64", shape: ["n"] }], { axis: 1, keepdims: 0 })[0]!;
  const labels = assign.cast(argmin, "int32");
  // Only the rows whose label changed come back: their indices and their new labels.
  const previous = assign.input("previous", "int32", ["n"]);
  const same = assign.node("Equal", [labels, previous], [{ dtype: "bool", shape: ["n"] }])[0]!;
  const changed = assign.node("Not", [same], [{ dtype: "bool", shape: ["n"] }])[0]!;
  const where = assign.node("NonZero", [changed], [{ dtype: "int64", shape: [1, "m"] }])[0]!;
  const moved = assign.reshape(where, [-1]);
  assign.output(assign.cast(moved, "int32"), "moved");
  assign.output(assign.node("Gather", [labels, moved], [{ dtype: "int32", shape: ["m"] }], { axis: 0 })[0]!, "to");

  // k-means++: for T candidate rows, min(closest, ‖x − cand‖²) for every row (T × n), each
  // candidate's potential (row sums), the candidate with the least potential (ArgMin: the first on
  // ties) and its row of distances, which become the closest ones when it is accepted.
  const seeding = new Graph("kmeans_plusplus_step");
  const x = seeding.input("x", "float32", ["n", "w"]);
  const cand = seeding.input("cand", "float32", ["trials", "w"]);
  const closest = seeding.input("closest", "float32", [1, "n"]);
  // Rounding can make the expansion slightly negative for a row at its own candidate.
  const dist = seeding.min(seeding.max(seeding.gemm(cand, x, { transB: true }), seeding.scalar(0)), closest);
  const pot = seeding.reduceSum(dist, [1]);
  seeding.output(pot, "pot");
  const pick = seeding.node("ArgMin", [pot], [{ dtype: "int64", shape: [1] }], { axis: 0, keepdims: 1 })[0]!;
  seeding.output(seeding.cast(pick, "int32"), "pick");
  seeding.output(
    seeding.node("Gather", [dist, pick], [{ dtype: "float32", shape: [1, "n"] }], { axis: 0 })[0]!,
    "best",
  );
  return { assign: assign.toModel(), seeding: seeding.toModel() };
}

/** Nearest-centre assignment of raw rows (predict); rows and centres are centred by `mean` in the graph. */
export async function assignRows(
  X: Matrix,
  centres: Float32Array,
  k: number,
  mean: Float64Array,
  threads: number,
): Promise<Int32Array> {
  const d = X.cols;
  const g = new Graph("kmeans_predict");
  const x = g.sub(g.input("x", "float32", ["n", d]), g.input("mu", "float32", [1, d]));
  const s = g.gemm(x, g.input("c", "float32", [k, d]), { transB: true, alpha: -2 }, g.input("cn", "float32", [1, k]));
  g.output(
    g.cast(g.node("ArgMin", [s], [{ dtype: "int64", shape: ["n"] }], { axis: 1, keepdims: 0 })[0]!, "int32"),
    "labels",
  );
  const graph = await CompiledGraph.create(g, { threads });
  try {
    const cc = new Float32Array(k * d);
    const cn = new Float32Array(k);
    for (let j = 0; j < k; j++) {
      let s2 = 0;
      for (let q = 0; q < d; q++) {
        const v = (cc[j * d + q] = Math.fround(centres[j * d + q]! - mean[q]!));
        s2 += v * v;
      }
      cn[j] = s2;
    }
    const feeds = {
      mu: Tensor.float32(Float32Array.from(mean), [1, d]),
      c: Tensor.float32(cc, [k, d]),
      cn: Tensor.float32(cn, [1, k]),
    };
    const labels = new Int32Array(X.rows);
    for (const { from, rows } of chunks(X.rows, k)) {
      await graph.run(
        { ...feeds, x: Tensor.float32(X.data.subarray(from * d, (from + rows) * d), [rows, d]) },
        { labels: new Tensor(labels.subarray(from, from + rows), [rows]) },
      );
    }
    return labels;
  } finally {
    await graph.release();
  }
}
