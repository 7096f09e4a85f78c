// Exact k nearest neighbours (Euclidean) of every row among all rows: blocks of queries against the
// whole matrix as one GEMM plus TopK in onnxruntime. O(n² d) arithmetic, but at GEMM speed: 70,000
// rows of a 10-d code take seconds, where umap-js's approximate search (RP trees + NN-descent in
// JavaScript) takes minutes, and the answer does not depend on a random forest.

import { CompiledGraph, Graph, Tensor, type Matrix } from "../engine/index.js";

export interface KnnResult {
  /** rows × k neighbour indices, nearest first (the row itself first: distance 0). */
  indices: Int32Array;
  /** rows × k Euclidean distances. */
  distances: Float32Array;
  k: number;
}

/**
 * Query rows per GEMM block: a score block of about 4 MiB (at least 128 rows, at most 512), which
 * stays in cache between the GEMM and TopK. Blocks of 64 MiB were 2–5× slower on 5,000–20,000 rows
 * (bench/diagnostics/knn-blocks.ts), and the answer does not depend on it.
 */
export function blockRows(n: number): number {
  return Math.max(1, Math.min(n, 512, Math.max(128, Math.floor(2 ** 20 / n))));
}

/** `blockSize`: query rows per GEMM block (default blockRows; bench/diagnostics/knn-blocks.ts compares sizes). */
export async function exactKnn(X: Matrix, k: number, threads = 0, blockSize?: number): Promise<KnnResult> {
  const { rows: n, cols: d } = X;
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`kNN: k must be an integer in 1..${n}, got ${k}`);
  // −‖x − y‖² = 2 x·y − ‖y‖² − ‖x‖²; the last term is constant per query row, so TopK of
  // 2 x·y − ‖y‖² ranks the neighbours, and ‖x‖² is added back for the distances.
  const g = new Graph("knn");
  const q = g.input("q", "float32", ["b", d]);
  const all = g.input("x", "float32", [n, d]);
  const negNorm = g.input("neg_norm", "float32", [n]);
  const score = g.gemm(q, all, { transB: true, alpha: 2 }, negNorm, "score");
  const [values, idx] = g.node(
    "TopK",
    [score, g.ints([k])],
    [
      { dtype: "float32", shape: ["b", k] },
      { dtype: "int64", shape: ["b", k] },
    ],
    { axis: 1, largest: 1, sorted: 1 },
  );
  g.output(values!, "values");
  g.output(idx!, "idx");
  const compiled = await CompiledGraph.create(g, { threads });
  const norms = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += X.data[i * d + j]! * X.data[i * d + j]!;
    norms[i] = s;
  }
  const xT = new Tensor(X.data, [n, d]);
  const negNormT = new Tensor(
    norms.map((v) => -v),
    [n],
  );
  const indices = new Int32Array(n * k);
  const distances = new Float32Array(n * k);
  const b = Math.max(1, Math.min(n, blockSize ?? blockRows(n)));
  try {
    for (let from = 0; from < n; from += b) {
      const m = Math.min(b, n - from);
      const out = await compiled.run(
        { q: new Tensor(X.data.subarray(from * d, (from + m) * d), [m, d]), x: xT, neg_norm: negNormT },
        {},
        ["values", "idx"],
      );
      const v = out.values as Float32Array;
      const ix = out.idx as BigInt64Array;
      for (let r = 0; r < m; r++) {
        const row = from + r;
        // Rounding can rank an exact duplicate ahead of the row itself; UMAP expects the row first,
        // so it is moved (or, when ties pushed it out, inserted) to the front.
        let own = k;
        for (let j = 0; j < k; j++) if (Number(ix[r * k + j]!) === row) own = j;
        indices[row * k] = row;
        distances[row * k] = 0;
        let o = 1;
        for (let j = 0; j < k && o < k; j++) {
          if (j === own) continue;
          indices[row * k + o] = Number(ix[r * k + j]!);
          distances[row * k + o] = Math.sqrt(Math.max(0, norms[row]! - v[r * k + j]!));
          o++;
        }
      }
    }
  } finally {
    await compiled.release();
  }
  return { indices, distances, k };
}
