// A typed builder for ONNX graphs. Every value carries its dtype and (possibly symbolic) shape,
// and every op helper checks and infers shapes at build time, so a wrong backward rule fails
// when the graph is written, not as a runtime error deep inside ONNX Runtime.

import {
  serializeModel,
  type NodeSpec,
  type InitializerSpec,
  type AttributeValue,
  type GraphSpec,
} from "./onnx-model.js";

export type DType = "float32" | "float64" | "int64" | "int32" | "bool" | "int8";
/** A dimension: a fixed size, or a named symbolic size such as "batch". */
export type Dim = number | string;
export type Shape = readonly Dim[];

/** The ONNX opset every graph is built against (Reduce* ops take axes as an input from 18). */
export const OPSET = 18;

/** onnxruntime's contrib-op domain (the quantized GEMM). */
export const MS_DOMAIN = "com.microsoft";

export class Value {
  constructor(
    readonly graph: Graph,
    /** Unique within the graph; only Graph.output may rename a value (to give an output its name). */
    public name: string,
    readonly dtype: DType,
    readonly shape: Shape,
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  toString(): string {
    return `${this.name}: ${this.dtype}[${this.shape.join(", ")}]`;
  }
}

export class GraphError extends Error {}

function sameDim(a: Dim, b: Dim): boolean {
  return a === b;
}

/** numpy-style broadcasting over possibly symbolic dims. */
export function broadcastShapes(a: Shape, b: Shape, what: string): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)]!;
    const db = i < n - b.length ? 1 : b[i - (n - b.length)]!;
    if (da === 1) out.push(db);
    else if (db === 1 || sameDim(da, db)) out.push(da);
    else throw new GraphError(`${what}: shapes [${a.join(",")}] and [${b.join(",")}] do not broadcast`);
  }
  return out;
}

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
}

export class Graph {
  readonly nodes: NodeSpec[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers: InitializerSpec[] = [];
  private readonly names = new Set<string>();
  private counter = 0;
  private readonly scalarCache = new Map<string, Value>();

  /** Names visible from an enclosing graph (for subgraphs such as a Scan body). */
  private readonly outerNames = new Set<string>();

  constructor(
    readonly name = "deepclust",
    /** The graph this one is a subgraph of: its values may be referenced through `outer`. */
    readonly parent?: Graph,
  ) {}

  /** A value of the enclosing graph used inside this subgraph (ONNX outer-scope reference). */
  outer(v: Value): Value {
    if (v.graph !== this.parent)
      throw new GraphError(`${v.name} is not a value of the enclosing graph of ${this.name}`);
    if (!this.outerNames.has(v.name)) {
      this.outerNames.add(v.name);
      this.names.add(v.name);
    }
    return new Value(this, v.name, v.dtype, v.shape);
  }

  /** A fresh unique value name derived from `hint`. */
  fresh(hint: string): string {
    // Subgraph names are prefixed so they never collide with (or shadow) the enclosing graph's.
    if (this.parent) hint = `${this.name}/${hint}`;
    let name = hint;
    while (this.names.has(name)) name = `${hint}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new GraphError(`value name "${name}" is already used in graph ${this.name}`);
    this.names.add(name);
    return name;
  }

  input(name: string, dtype: DType, shape: Shape): Value {
    const v = new Value(this, this.claim(name), dtype, shape);
    this.inputs.push(v);
    return v;
  }

  /**
   * Marks `v` as a graph output under `name`. A value computed by a node is renamed in place, so
   * the node writes the output directly; an Identity (a copy) is inserted only for graph inputs,
   * initializers and values that are already outputs under another name.
   */
  output(v: Value, name?: string): Value {
    this.own(v);
    let out = v;
    if (name !== undefined && name !== v.name) {
      const producer = this.nodes.find((n) => n.outputs.includes(v.name));
      if (producer && !this.outputs.includes(v)) {
        this.claim(name);
        for (const n of this.nodes) {
          n.inputs = n.inputs.map((i) => (i === v.name ? name : i));
          n.outputs = n.outputs.map((o) => (o === v.name ? name : o));
        }
        this.names.delete(v.name);
        v.name = name;
      } else {
        out = new Value(this, this.claim(name), v.dtype, v.shape);
        this.nodes.push({ opType: "Identity", inputs: [v.name], outputs: [out.name], attributes: {} });
      }
    }
    if (this.outputs.includes(out)) throw new GraphError(`${out.name} is already an output`);
    this.outputs.push(out);
    return out;
  }

  /** A float32 constant of any shape stored as an initializer. */
  constant(data: Float32Array | number[], shape: Shape, hint = "const"): Value {
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    const v = new Value(this, this.fresh(hint), "float32", shape);
    this.initializers.push({ name: v.name, dtype: "float32", dims: shape.map(Number), data: arr });
    return v;
  }

  /** An int8 constant (quantized weights) stored as an initializer. */
  constantInt8(data: Int8Array, shape: Shape, hint = "const_i8"): Value {
    const v = new Value(this, this.fresh(hint), "int8", shape);
    this.initializers.push({ name: v.name, dtype: "int8", dims: shape.map(Number), data });
    return v;
  }

  /** An int64 constant vector (axes, shapes). */
  ints(values: readonly number[], hint = "ints"): Value {
    const key = `i64:${values.join(",")}`;
    const cached = this.scalarCache.get(key);
    if (cached) return cached;
    const v = new Value(this, this.fresh(hint), "int64", [values.length]);
    this.initializers.push({
      name: v.name,
      dtype: "int64",
      dims: [values.length],
      data: BigInt64Array.from(values.map(BigInt)),
    });
    this.scalarCache.set(key, v);
    return v;
  }

  /** A float32 scalar constant, shared between uses. */
  scalar(x: number): Value {
    const key = `f32:${Object.is(x, -0) ? "-0" : x}`;
    const cached = this.scalarCache.get(key);
    if (cached) return cached;
    const v = this.constant([x], [], "c");
    this.scalarCache.set(key, v);
    return v;
  }

  private own(...vs: Value[]): void {
    for (const v of vs) if (v.graph !== this) throw new GraphError(`${v.name} belongs to another graph`);
  }

  /** Emits one node. Shapes/dtypes of the outputs are given by the caller (the op helpers). */
  node(
    opType: string,
    inputs: readonly (Value | null)[],
    outputs: ReadonlyArray<{ dtype: DType; shape: Shape; hint?: string }>,
    attributes: Record<string, AttributeValue> = {},
    domain?: string,
  ): Value[] {
    this.own(...inputs.filter((v): v is Value => v !== null));
    const outs = outputs.map((o) => new Value(this, this.fresh(o.hint ?? opType.toLowerCase()), o.dtype, o.shape));
    this.nodes.push({
      opType,
      inputs: inputs.map((v) => (v === null ? "" : v.name)),
      outputs: outs.map((o) => o.name),
      attributes,
      ...(domain !== undefined ? { domain } : {}),
    });
    return outs;
  }

  private unary(op: string, x: Value, hint?: string): Value {
    return this.node(op, [x], [{ dtype: x.dtype, shape: x.shape, hint }])[0]!;
  }

  private binary(op: string, a: Value, b: Value, hint?: string): Value {
    if (a.dtype !== b.dtype) throw new GraphError(`${op}: dtype ${a.dtype} vs ${b.dtype} (${a.name}, ${b.name})`);
    const shape = broadcastShapes(a.shape, b.shape, `${op}(${a.name}, ${b.name})`);
    return this.node(op, [a, b], [{ dtype: a.dtype, shape, hint }])[0]!;
  }

  private comparison(op: string, a: Value, b: Value): Value {
    const shape = broadcastShapes(a.shape, b.shape, `${op}(${a.name}, ${b.name})`);
    return this.node(op, [a, b], [{ dtype: "bool", shape }])[0]!;
  }

  add(a: Value, b: Value, hint?: string): Value {
    return this.binary("Add", a, b, hint);
  }
  sub(a: Value, b: Value, hint?: string): Value {
    return this.binary("Sub", a, b, hint);
  }
  mul(a: Value, b: Value, hint?: string): Value {
    return this.binary("Mul", a, b, hint);
  }
  div(a: Value, b: Value, hint?: string): Value {
    return this.binary("Div", a, b, hint);
  }
  pow(a: Value, b: Value, hint?: string): Value {
    return this.binary("Pow", a, b, hint);
  }
  max(a: Value, b: Value, hint?: string): Value {
    return this.binary("Max", a, b, hint);
  }
  min(a: Value, b: Value, hint?: string): Value {
    return this.binary("Min", a, b, hint);
  }
  relu(x: Value, hint?: string): Value {
    return this.unary("Relu", x, hint);
  }
  sqrt(x: Value, hint?: string): Value {
    return this.unary("Sqrt", x, hint);
  }
  neg(x: Value, hint?: string): Value {
    return this.unary("Neg", x, hint);
  }
  reciprocal(x: Value, hint?: string): Value {
    return this.unary("Reciprocal", x, hint);
  }
  log(x: Value, hint?: string): Value {
    return this.unary("Log", x, hint);
  }
  exp(x: Value, hint?: string): Value {
    return this.unary("Exp", x, hint);
  }
  sign(x: Value, hint?: string): Value {
    return this.unary("Sign", x, hint);
  }
  identity(x: Value, hint?: string): Value {
    return this.unary("Identity", x, hint);
  }
  greater(a: Value, b: Value): Value {
    return this.comparison("Greater", a, b);
  }
  where(cond: Value, a: Value, b: Value, hint?: string): Value {
    if (cond.dtype !== "bool") throw new GraphError(`Where: condition ${cond.name} must be bool`);
    if (a.dtype !== b.dtype) throw new GraphError(`Where: dtype ${a.dtype} vs ${b.dtype}`);
    const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape, "Where"), b.shape, "Where");
    return this.node("Where", [cond, a, b], [{ dtype: a.dtype, shape, hint }])[0]!;
  }

  /** Sum of any number of same-dtype values (ONNX Sum, broadcasting). */
  sum(values: readonly Value[], hint?: string): Value {
    if (values.length === 0) throw new GraphError("Sum of nothing");
    if (values.length === 1) return values[0]!;
    let shape: Shape = values[0]!.shape;
    for (const v of values.slice(1)) shape = broadcastShapes(shape, v.shape, "Sum");
    return this.node("Sum", values, [{ dtype: values[0]!.dtype, shape, hint }])[0]!;
  }

  /** 2-D matrix product (rank-2 operands only: all our layers are row-major batches). */
  matmul(a: Value, b: Value, hint?: string): Value {
    return this.gemm(a, b, {}, null, hint);
  }

  /** ONNX Gemm: alpha·op(A)·op(B) + beta·C with op = optional transpose; MLAS packs transposes itself. */
  gemm(a: Value, b: Value, opts: GemmOptions = {}, c: Value | null = null, hint?: string): Value {
    if (a.rank !== 2 || b.rank !== 2) throw new GraphError(`Gemm: operands must be 2-D (${a}, ${b})`);
    const [m, ka] = opts.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    const [kb, n] = opts.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
    if (!sameDim(ka, kb)) throw new GraphError(`Gemm: inner dims ${ka} vs ${kb} (${a}, ${b}, ${JSON.stringify(opts)})`);
    if (c) broadcastShapes([m, n], c.shape, `Gemm bias ${c.name}`);
    const attrs: Record<string, AttributeValue> = {};
    if (opts.transA) attrs.transA = 1;
    if (opts.transB) attrs.transB = 1;
    if (opts.alpha !== undefined) attrs.alpha = { float: opts.alpha };
    if (opts.beta !== undefined) attrs.beta = { float: opts.beta };
    if (a.dtype !== b.dtype || (c && c.dtype !== a.dtype))
      throw new GraphError(`Gemm: dtypes ${a.dtype}, ${b.dtype}${c ? `, ${c.dtype}` : ""} differ`);
    return this.node("Gemm", c ? [a, b, c] : [a, b], [{ dtype: a.dtype, shape: [m, n], hint }], attrs)[0]!;
  }

  /**
   * y = x·W + bias with W int8 [in, out] (per-output-column `scale`, zero point `zeroPoint` int8
   * [out]) and x quantized to uint8 per call (onnxruntime's com.microsoft DynamicQuantizeMatMul:
   * the integer GEMM, VNNI where the CPU has it). Inference only: it has no gradient.
   */
  dynamicQuantizeMatMul(x: Value, w: Value, scale: Value, zeroPoint: Value, bias: Value | null, hint?: string): Value {
    if (x.dtype !== "float32" || w.dtype !== "int8" || zeroPoint.dtype !== "int8")
      throw new GraphError(
        `DynamicQuantizeMatMul: x float32, W and zero point int8 (got ${x.dtype}, ${w.dtype}, ${zeroPoint.dtype})`,
      );
    if (x.rank !== 2 || w.rank !== 2 || x.shape[1] !== w.shape[0])
      throw new GraphError(`DynamicQuantizeMatMul: [${x.shape.join(", ")}] · [${w.shape.join(", ")}]`);
    return this.node(
      "DynamicQuantizeMatMul",
      [x, w, scale, zeroPoint, bias],
      [{ dtype: "float32", shape: [x.shape[0]!, w.shape[1]!], hint }],
      {},
      MS_DOMAIN,
    )[0]!;
  }

  private reduce(op: string, x: Value, axes: readonly number[], keepdims: boolean, hint?: string): Value {
    const norm = axes.map((a) => (a < 0 ? a + x.rank : a));
    for (const a of norm) if (a < 0 || a >= x.rank) throw new GraphError(`${op}: axis ${a} out of range for ${x}`);
    const shape = keepdims
      ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d))
      : x.shape.filter((_, i) => !norm.includes(i));
    return this.node(op, [x, this.ints(norm, "axes")], [{ dtype: x.dtype, shape, hint }], {
      keepdims: keepdims ? 1 : 0,
    })[0]!;
  }
  reduceSum(x: Value, axes: readonly number[], keepdims = false, hint?: string): Value {
    return this.reduce("ReduceSum", x, axes, keepdims, hint);
  }
  reduceMean(x: Value, axes: readonly number[], keepdims = false, hint?: string): Value {
    return this.reduce("ReduceMean", x, axes, keepdims, hint);
  }
  reduceSumSquare(x: Value, axes: readonly number[], keepdims = false, hint?: string): Value {
    return this.reduce("ReduceSumSquare", x, axes, keepdims, hint);
  }
  reduceMax(x: Value, axes: readonly number[], keepdims = false, hint?: string): Value {
    return this.reduce("ReduceMax", x, axes, keepdims, hint);
  }
  /** Sum of all elements as a scalar. */
  sumAll(x: Value, hint?: string): Value {
    return this.reduce(
      "ReduceSum",
      x,
      x.shape.map((_, i) => i),
      false,
      hint,
    );
  }

  argMax(x: Value, axis: number, hint?: string): Value {
    const a = axis < 0 ? axis + x.rank : axis;
    const shape = x.shape.filter((_, i) => i !== a);
    return this.node("ArgMax", [x], [{ dtype: "int64", shape, hint }], { axis: a, keepdims: 0 })[0]!;
  }

  /** Number of elements of `x` as a float32 scalar (dynamic when the shape is symbolic). */
  numel(x: Value): Value {
    if (x.shape.every((d) => typeof d === "number"))
      return this.scalar(x.shape.reduce<number>((p, d) => p * (d as number), 1));
    const n = this.node("Size", [x], [{ dtype: "int64", shape: [], hint: "size" }])[0]!;
    return this.cast(n, "float32");
  }

  /** Size of dimension `axis` of `x` as a float32 scalar. */
  dimSize(x: Value, axis: number): Value {
    const d = x.shape[axis];
    if (typeof d === "number") return this.scalar(d);
    const shape = this.node("Shape", [x], [{ dtype: "int64", shape: [x.rank], hint: "shape" }], {
      start: axis,
      end: axis + 1,
    })[0]!;
    return this.cast(this.reshape(shape, []), "float32");
  }

  /** A [1, rows(x)] row of ones (dynamic when the batch size is symbolic). */
  onesRow(x: Value): Value {
    const key = `ones:${String(x.shape[0])}`;
    const cached = typeof x.shape[0] === "string" ? this.scalarCache.get(key) : undefined;
    if (cached) return cached;
    const rows = this.node("Shape", [x], [{ dtype: "int64", shape: [1], hint: "rows" }], { start: 0, end: 1 })[0]!;
    const shape = this.node("Concat", [this.ints([1]), rows], [{ dtype: "int64", shape: [2], hint: "ones_shape" }], {
      axis: 0,
    })[0]!;
    const ones = this.node(
      "Expand",
      [this.constant([1], [1, 1], "one"), shape],
      [{ dtype: "float32", shape: [1, x.shape[0]!], hint: "ones" }],
    )[0]!;
    if (typeof x.shape[0] === "string") this.scalarCache.set(key, ones); // one per symbolic batch dim
    return ones;
  }

  cast(x: Value, to: DType, hint?: string): Value {
    const code = { float32: 1, float64: 11, int64: 7, int32: 6, bool: 9, int8: 3 }[to];
    return this.node("Cast", [x], [{ dtype: to, shape: x.shape, hint }], { to: code })[0]!;
  }

  reshape(x: Value, shape: readonly number[], hint?: string): Value {
    return this.node("Reshape", [x, this.ints(shape, "shape")], [{ dtype: x.dtype, shape, hint }])[0]!;
  }

  /**
   * ONNX Scan: runs `body` once per slice along axis 0 of the scan inputs, carrying `state` from
   * one iteration to the next. The body's inputs are the states then one slice of each scan
   * input; its outputs are the next states then per-iteration values, stacked on axis 0.
   */
  scan(
    body: Graph,
    state: readonly Value[],
    scanInputs: readonly Value[],
    steps: Dim,
  ): { state: Value[]; stacked: Value[] } {
    if (body.parent !== this) throw new GraphError(`${body.name} was not built as a subgraph of ${this.name}`);
    const nState = state.length;
    if (body.inputs.length !== nState + scanInputs.length)
      throw new GraphError(
        `Scan body ${body.name} has ${body.inputs.length} inputs, expected ${nState + scanInputs.length}`,
      );
    body.inputs.forEach((bi, i) => {
      const outerShape = i < nState ? state[i]!.shape : scanInputs[i - nState]!.shape.slice(1);
      if (bi.shape.length !== outerShape.length)
        throw new GraphError(`Scan body input ${bi.name}: rank ${bi.shape.length} vs ${outerShape.length}`);
    });
    const outs = body.outputs.map((o, i) =>
      i < nState
        ? { dtype: o.dtype, shape: state[i]!.shape, hint: `${o.name}_final` }
        : { dtype: o.dtype, shape: [steps, ...o.shape], hint: `${o.name}_all` },
    );
    const values = this.node("Scan", [...state, ...scanInputs], outs, {
      body: { graph: body.spec() },
      num_scan_inputs: scanInputs.length,
    });
    return { state: values.slice(0, nState), stacked: values.slice(nState) };
  }

  /** The graph as a serialisable description (also how a subgraph becomes a node attribute). */
  spec(): GraphSpec {
    return {
      name: this.name,
      nodes: this.nodes,
      inputs: this.inputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: v.shape })),
      outputs: this.outputs.map((v) => ({ name: v.name, dtype: v.dtype, shape: v.shape })),
      initializers: this.initializers,
    };
  }

  /** Serialises the graph as an ONNX ModelProto. */
  toModel(docString?: string): Uint8Array {
    return serializeModel({ ...this.spec(), opset: OPSET, ...(docString !== undefined ? { docString } : {}) });
  }
}
