// Every row's nearest centre by a direct float64 loop: for the few centres of a start or a
// selection, where a GEMM graph would cost more to build than it saves.

import type { Matrix } from "../engine/matrix.js";

/** Every row's nearest centre, and the inertia (float64). */
export function nearestCentres(
  code: Matrix,
  centers: Float32Array,
  k: number,
): { labels: Int32Array; inertia: number } {
  const d = code.cols;
  const labels = new Int32Array(code.rows);
  let inertia = 0;
  for (let i = 0; i < code.rows; i++) {
    let best = 0;
    let bd = Infinity;
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let q = 0; q < d; q++) {
        const v = code.data[i * d + q]! - centers[j * d + q]!;
        s += v * v;
      }
      if (s < bd) {
        bd = s;
        best = j;
      }
    }
    labels[i] = best;
    inertia += bd;
  }
  return { labels, inertia };
}
