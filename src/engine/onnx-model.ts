// ONNX ModelProto serialisation through the maintained `onnx-proto` (protobufjs) bindings.
// The only file that knows the protobuf schema.

import onnxProto from "onnx-proto";
import type { DType, Shape } from "./graph.js";

const { onnx } = onnxProto;

export type AttributeValue = number | { float: number } | number[] | string | { graph: GraphSpec };

export interface NodeSpec {
  opType: string;
  /** Value names; "" marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: Record<string, AttributeValue>;
  domain?: string;
}

export interface InitializerSpec {
  name: string;
  dtype: DType;
  dims: number[];
  data: Float32Array | Float64Array | BigInt64Array | Int8Array;
}

export interface GraphSpec {
  name: string;
  nodes: NodeSpec[];
  inputs: Array<{ name: string; dtype: DType; shape: Shape }>;
  outputs: Array<{ name: string; dtype: DType; shape: Shape }>;
  initializers: InitializerSpec[];
}

export interface ModelSpec extends GraphSpec {
  opset: number;
  docString?: string;
}

const ELEM_TYPE: Record<DType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float64: onnx.TensorProto.DataType.DOUBLE,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
  int8: onnx.TensorProto.DataType.INT8,
};

function attribute(name: string, v: AttributeValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: use { float } for non-integers`);
    return { name, type: T.INT, i: v };
  }
  if (typeof v === "string") return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ("graph" in v) return { name, type: T.GRAPH, g: graphProto(v.graph) };
  return { name, type: T.FLOAT, f: v.float };
}

function valueInfo(v: { name: string; dtype: DType; shape: Shape }): onnxProto.onnx.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: ELEM_TYPE[v.dtype],
        shape: { dim: v.shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function tensor(init: InitializerSpec): onnxProto.onnx.ITensorProto {
  // raw_data is little-endian bytes, which is what typed arrays hold on every platform we run on.
  const raw = new Uint8Array(init.data.buffer, init.data.byteOffset, init.data.byteLength);
  return { name: init.name, dataType: ELEM_TYPE[init.dtype], dims: init.dims, rawData: raw };
}

function graphProto(spec: GraphSpec): onnxProto.onnx.IGraphProto {
  return {
    name: spec.name,
    node: spec.nodes.map((n, i) => ({
      name: `${spec.name}/${n.opType}_${i}`,
      opType: n.opType,
      input: n.inputs,
      output: n.outputs,
      domain: n.domain ?? "",
      attribute: Object.entries(n.attributes).map(([k, v]) => attribute(k, v)),
    })),
    input: spec.inputs.map(valueInfo),
    output: spec.outputs.map(valueInfo),
    initializer: spec.initializers.map(tensor),
  };
}

export function serializeModel(spec: ModelSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "deepclust",
    // A contrib domain is imported only when a node (or a subgraph's) uses it: plain graphs stay
    // standard ONNX that any runtime reads.
    opsetImport: [
      { domain: "", version: spec.opset },
      ...[...domainsOf(spec)].map((domain) => ({ domain, version: 1 })),
    ],
    ...(spec.docString !== undefined ? { docString: spec.docString } : {}),
    graph: graphProto(spec),
  });
  return onnx.ModelProto.encode(model).finish();
}

/** The non-default operator domains the graph's nodes use, subgraphs included. */
function domainsOf(spec: GraphSpec, out = new Set<string>()): Set<string> {
  for (const n of spec.nodes) {
    if (n.domain) out.add(n.domain);
    for (const a of Object.values(n.attributes))
      if (typeof a === "object" && !Array.isArray(a) && "graph" in a) domainsOf(a.graph, out);
  }
  return out;
}
