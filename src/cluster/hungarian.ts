// Optimal one-to-one assignment on a rectangular cost matrix (what scipy's linear_sum_assignment
// solves): the shortest-augmenting-path Hungarian algorithm with row/column potentials (the
// Jonker–Volgenant formulation), O(r²·c) for r ≤ c rows and columns. Float64 throughout.

export interface Assignment {
  /** Matched rows, ascending; min(rows, cols) of them. */
  rowInd: Int32Array;
  /** The column matched to each of `rowInd`. */
  colInd: Int32Array;
}

/**
 * Minimises (or with `maximize`, maximises) the summed cost of a matching that pairs every row
 * with a distinct column when rows ≤ cols, or every column with a distinct row otherwise.
 * `cost` is row-major, rows × cols.
 */
export function linearSumAssignment(cost: ArrayLike<number>, rows: number, cols: number, maximize = false): Assignment {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0 || cost.length !== rows * cols)
    throw new RangeError(
      `linearSumAssignment: cost must hold rows×cols = ${rows}×${cols} = ${rows * cols} values, got ${cost.length}`,
    );
  for (let i = 0; i < cost.length; i++)
    if (!Number.isFinite(cost[i]!))
      throw new RangeError(`linearSumAssignment: cost[${i}] is ${cost[i]}; costs must be finite`);
  const sign = maximize ? -1 : 1;
  const transposed = rows > cols;
  const n = transposed ? cols : rows;
  const m = transposed ? rows : cols;
  const a = (i: number, j: number) => sign * (transposed ? cost[j * cols + i]! : cost[i * cols + j]!);

  // 1-based, index 0 is the virtual start column; p[j] = row matched to column j (0 = free).
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const p = new Int32Array(m + 1);
  const way = new Int32Array(m + 1);
  const minv = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);
  for (let i = 1; i <= n; i++) {
    // Grow a shortest-path tree from row i until it reaches a free column, then augment.
    p[0] = i;
    let j0 = 0;
    minv.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = p[j0]!;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const cur = a(i0 - 1, j - 1) - u[i0]! - v[j]!;
        if (cur < minv[j]!) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j]! < delta) {
          delta = minv[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[p[j]!]! += delta;
          v[j]! -= delta;
        } else {
          minv[j]! -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] !== 0);
    do {
      const j1 = way[j0]!;
      p[j0] = p[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }

  const pairs: [number, number][] = [];
  for (let j = 1; j <= m; j++) if (p[j] !== 0) pairs.push(transposed ? [j - 1, p[j]! - 1] : [p[j]! - 1, j - 1]);
  pairs.sort((x, y) => x[0] - y[0]);
  return { rowInd: Int32Array.from(pairs, (q) => q[0]), colInd: Int32Array.from(pairs, (q) => q[1]) };
}
