// Row-major float32 matrices: the one data type passed between layers of the code base.

export interface Matrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

export function matrix(data: Float32Array, rows: number, cols: number): Matrix {
  if (data.length !== rows * cols)
    throw new RangeError(`matrix ${rows}x${cols} needs ${rows * cols} values, got ${data.length}`);
  return { data, rows, cols };
}

export function zerosMatrix(rows: number, cols: number): Matrix {
  return { data: new Float32Array(rows * cols), rows, cols };
}

/** A NaN or ±Inf where a finite value is needed; `row` and `col` count from 0 within the matrix checked. */
export class NonFiniteValueError extends RangeError {
  constructor(
    readonly row: number,
    readonly col: number,
    readonly value: number,
  ) {
    super(`row ${row + 1}, dimension ${col + 1}: value ${value} is not finite`);
    this.name = "NonFiniteValueError";
  }
}

/** Throws NonFiniteValueError for the first NaN/±Inf in rows [from, to) of m. */
export function assertFiniteRows(m: Matrix, from = 0, to = m.rows): void {
  const d = m.data;
  for (let i = from * m.cols; i < to * m.cols; i++) {
    if (!Number.isFinite(d[i]!)) throw new NonFiniteValueError(Math.floor(i / m.cols), i % m.cols, d[i]!);
  }
}

/** Copies rows `index[from..to)` of `m` into `dst` (row-major, contiguous). */
export function gatherRows(m: Matrix, index: ArrayLike<number>, from: number, to: number, dst: Float32Array): void {
  const c = m.cols;
  for (let i = from; i < to; i++) {
    const r = index[i]!;
    dst.set(m.data.subarray(r * c, r * c + c), (i - from) * c);
  }
}

/** A view of rows [from, to) without copying. */
export function rowSlice(m: Matrix, from: number, to: number): Matrix {
  return { data: m.data.subarray(from * m.cols, to * m.cols), rows: to - from, cols: m.cols };
}

/** Index and value of the largest entry of every row (e.g. hard labels and confidence from q). */
export function argmaxRows(m: Matrix): { index: Int32Array; max: Float32Array } {
  const index = new Int32Array(m.rows);
  const max = new Float32Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let best = 0;
    let bv = -Infinity;
    for (let j = 0; j < m.cols; j++) {
      const v = m.data[i * m.cols + j]!;
      if (v > bv) {
        bv = v;
        best = j;
      }
    }
    index[i] = best;
    max[i] = bv;
  }
  return { index, max };
}
