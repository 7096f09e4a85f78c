// Float64 reference implementations of the layers, written independently of the graph code,
// for finite-difference gradient checks.

export type Op =
  { kind: "dense"; w: string; b: string; inF: number; outF: number } | { kind: "relu" } | { kind: "l2n" };

export type Params64 = Record<string, Float64Array>;

/** Forward pass of a row-major batch through `ops`. */
export function forward64(
  ops: readonly Op[],
  params: Params64,
  x: Float64Array,
  rows: number,
  cols: number,
): { y: Float64Array; cols: number } {
  let h = x;
  let c = cols;
  for (const op of ops) {
    if (op.kind === "dense") {
      const W = params[op.w]!,
        B = params[op.b]!;
      const out = new Float64Array(rows * op.outF);
      for (let r = 0; r < rows; r++)
        for (let o = 0; o < op.outF; o++) {
          let s = B[o]!;
          for (let i = 0; i < op.inF; i++) s += h[r * c + i]! * W[o * op.inF + i]!;
          out[r * op.outF + o] = s;
        }
      h = out;
      c = op.outF;
    } else if (op.kind === "relu") {
      h = h.map((v) => Math.max(0, v));
    } else {
      const out = new Float64Array(h.length);
      for (let r = 0; r < rows; r++) {
        let n = 0;
        for (let i = 0; i < c; i++) n += h[r * c + i]! ** 2;
        n = Math.max(Math.sqrt(n), 1e-12);
        for (let i = 0; i < c; i++) out[r * c + i] = h[r * c + i]! / n;
      }
      h = out;
    }
  }
  return { y: h, cols: c };
}

export function mse64(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
}

/** Central finite differences of f with respect to every element of `v` (modified in place and restored). */
export function numericGrad(f: () => number, v: Float64Array, h = 1e-5): Float64Array {
  const g = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const old = v[i]!;
    v[i] = old + h;
    const fp = f();
    v[i] = old - h;
    const fm = f();
    v[i] = old;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** max_i |a_i − b_i| / (atol + rtol·|b_i|) — ≤ 1 means close. */
export function closeness(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, atol: number): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (atol + rtol * Math.abs(b[i]!)));
  return worst;
}

/** Student-t soft assignment of rows of z (rows × dim) to centres mu (k × dim). */
export function studentT64(
  z: Float64Array,
  mu: Float64Array,
  rows: number,
  k: number,
  dim: number,
  alpha: number,
): Float64Array {
  const q = new Float64Array(rows * k);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) {
      let d = 0;
      for (let c = 0; c < dim; c++) d += (z[i * dim + c]! - mu[j * dim + c]!) ** 2;
      const v = (1 + d / alpha) ** (-(alpha + 1) / 2);
      q[i * k + j] = v;
      s += v;
    }
    for (let j = 0; j < k; j++) q[i * k + j]! /= s;
  }
  return q;
}

/** KL(P‖Q) summed over the matrix and divided by its rows. */
export function kl64(p: Float64Array, q: Float64Array, rows: number): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += p[i]! * Math.log(p[i]! / q[i]!);
  return s / rows;
}
