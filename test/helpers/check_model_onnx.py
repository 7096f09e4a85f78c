#!/usr/bin/python3
"""Checks an exported model.onnx without ONNX Runtime, with Debian's python3-onnx and NumPy:

  1. onnx.load, then onnx.checker.check_model(full_check=True) (every node against its operator
     schema, then strict shape inference) and onnx.shape_inference with check_type and
     strict_mode, whose inferred output types must be the graph's declared ones;
  2. evaluates the graph node by node with NumPy from its initializers (an interpreter of the
     operators the exporter emits; any other operator is an error), in float64 so that the
     result is a reference for deepclust's float32 one, on the rows of a float32 .npy.

Prints JSON: what was checked, the declared and inferred input/output types, and the
probabilities and labels of every row.

onnx 1.12 (Debian bookworm) knows operator sets up to 17, and the model may be opset 18, whose
one change to the operators the exporter uses is that the Reduce* operators (except ReduceSum,
changed in 13) take `axes` as an input instead of an attribute. When the model's opset is newer
than this onnx knows, the check runs on a copy with those axes moved back into the attribute
and the opset set to the one it knows; a model that uses any other operator changed in the
newer opsets is refused, since it cannot be checked here. The evaluation runs on the model as
it is.

Usage: /usr/bin/python3 test/helpers/check_model_onnx.py model.onnx rows.npy
Exit status 0 when every check passed, 1 with the reason on stderr otherwise.
"""
import copy
import json
import sys

import numpy as np
import onnx
from onnx import checker, helper, numpy_helper, shape_inference

# Operators whose schema changed in opset 18 (the ONNX changelog), besides the new ones.
OPSET18_AXES_INPUT = {"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSumSquare"}
OPSET18_OTHER = {"Pad", "Resize", "ScatterElements", "ScatterND", "Split", "LpPool", "OptionalHasElement", "OptionalGetElement",
                 "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot", "CenterCropPad", "Col2Im", "GroupNormalization", "Mish"}


class CheckError(Exception):
    pass


def default_opset(model):
    versions = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if len(versions) != 1:
        raise CheckError(f"expected one import of the default operator set, got {list(model.opset_import)}")
    others = [o.domain for o in model.opset_import if o.domain not in ("", "ai.onnx")]
    if others:
        raise CheckError(f"operator sets other than ONNX's ({others}) cannot be checked here")
    return versions[0]


def checkable(model):
    """The model, or a copy that this onnx's checker can judge (see the module's docstring)."""
    opset, known = default_opset(model), onnx.defs.onnx_opset_version()
    if opset <= known:
        return model, f"opset {opset} as it is"
    if opset > 18 or known < 17:
        raise CheckError(f"the model is opset {opset}; onnx {onnx.__version__} knows up to {known}, and only 18 → 17 is mapped here")
    m = copy.deepcopy(model)
    consts = {t.name: t for t in m.graph.initializer}
    moved = []
    for node in m.graph.node:
        if node.op_type in OPSET18_OTHER:
            raise CheckError(f"node {node.name} ({node.op_type}) changed in opset 18 and cannot be checked by onnx {onnx.__version__}")
        if node.op_type in OPSET18_AXES_INPUT and len(node.input) > 1 and node.input[1]:
            if node.input[1] not in consts:
                raise CheckError(f"node {node.name}: axes {node.input[1]} is not an initializer")
            axes = numpy_helper.to_array(consts[node.input[1]]).tolist()
            del node.input[1:]
            node.attribute.append(helper.make_attribute("axes", axes))
            moved.append(node.op_type)
    for o in m.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = 17
    return m, f"opset {opset} as opset 17, axes moved into the attribute of {sorted(set(moved))}"


def value_type(v):
    t = v.type.tensor_type
    dims = [d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else None) for d in t.shape.dim]
    return {"name": v.name, "elem_type": onnx.TensorProto.DataType.Name(t.elem_type), "shape": dims}


def check(model):
    m, how = checkable(model)
    checker.check_model(m, full_check=True)
    # The outputs' types as inferred from the graph alone (their declared types cleared), which
    # must be the declared ones: the exporter's declaration is checked, not trusted.
    bare = copy.deepcopy(m)
    for out in bare.graph.output:
        out.type.Clear()
    inferred = {o.name: value_type(o) for o in shape_inference.infer_shapes(bare, check_type=True, strict_mode=True).graph.output}
    declared = [value_type(o) for o in model.graph.output]
    for d in declared:
        if inferred[d["name"]] != d:
            raise CheckError(f"output {d['name']}: declared {d}, inferred {inferred[d['name']]}")
    return {"how": how, "onnx": onnx.__version__, "inputs": [value_type(i) for i in model.graph.input], "outputs": declared, "inferred_outputs": list(inferred.values())}


def attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def reduce_axes(node, env, a):
    if len(node.input) > 1 and node.input[1]:
        return tuple(int(x) for x in env[node.input[1]])
    return tuple(a["axes"]) if "axes" in a else None


def run_node(node, env):
    a = attrs(node)
    x = [env[name] for name in node.input if name]
    op = node.op_type
    if op == "Gemm":
        A = x[0].T if a.get("transA", 0) else x[0]
        B = x[1].T if a.get("transB", 0) else x[1]
        y = a.get("alpha", 1.0) * (A @ B)
        return y + a.get("beta", 1.0) * x[2] if len(x) > 2 else y
    if op == "Relu":
        return np.maximum(x[0], 0)
    if op in ("Add", "Div", "Pow"):
        return {"Add": np.add, "Div": np.divide, "Pow": np.power}[op](x[0], x[1])
    if op == "Max":
        y = x[0]
        for z in x[1:]:
            y = np.maximum(y, z)
        return y
    if op == "Reciprocal":
        return 1.0 / x[0]
    if op in ("ReduceSum", "ReduceSumSquare"):
        axes = reduce_axes(node, env, a)
        v = x[0] * x[0] if op == "ReduceSumSquare" else x[0]
        if axes is None and a.get("noop_with_empty_axes", 0):
            return v
        return np.sum(v, axis=axes, keepdims=bool(a.get("keepdims", 1)))
    if op == "ArgMax":
        if a.get("select_last_index", 0):
            raise CheckError("ArgMax with select_last_index is not evaluated here")
        return np.argmax(x[0], axis=a.get("axis", 0), keepdims=bool(a.get("keepdims", 1))).astype(np.int64)
    raise CheckError(f"node {node.name}: operator {op} is not evaluated here (add it to run_node)")


def evaluate(model, X):
    """Runs the graph on X in float64 (float32 initializers are widened; integers stay)."""
    env = {}
    for t in model.graph.initializer:
        v = numpy_helper.to_array(t)
        env[t.name] = v.astype(np.float64) if v.dtype == np.float32 else v
    inputs = [i.name for i in model.graph.input if i.name not in env]
    if len(inputs) != 1:
        raise CheckError(f"expected one input besides the initializers, got {inputs}")
    env[inputs[0]] = X.astype(np.float64)
    for node in model.graph.node:
        outs = run_node(node, env)
        if len(node.output) != 1:
            raise CheckError(f"node {node.name}: {len(node.output)} outputs")
        env[node.output[0]] = outs
    out = {o.name: env[o.name] for o in model.graph.output}
    for o in model.graph.output:
        t = value_type(o)
        shape = tuple(X.shape[0] if isinstance(d, str) else d for d in t["shape"])
        dtype = {"FLOAT": np.float64, "INT64": np.int64}.get(t["elem_type"])
        if out[o.name].shape != shape or out[o.name].dtype != dtype:
            raise CheckError(f"output {o.name}: evaluated to {out[o.name].dtype} {out[o.name].shape}, declared {t}")
    return out


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    model = onnx.load(sys.argv[1])
    try:
        report = check(model)
        X = np.load(sys.argv[2])
        if X.dtype != np.float32 or X.ndim != 2:
            raise CheckError(f"{sys.argv[2]}: expected a 2-D float32 array, got {X.dtype} {X.shape}")
    except (CheckError, checker.ValidationError, shape_inference.InferenceError) as e:
        print(f"check_model_onnx: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    try:
        out = evaluate(model, X)
    except Exception as e:  # NumPy's own errors (e.g. shapes that do not multiply) as well as ours
        print(f"check_model_onnx: the NumPy evaluation failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    q, labels = out["probabilities"], out["labels"]
    report.update({"rows": int(X.shape[0]), "probabilities": q.tolist(), "labels": labels.tolist(), "labels_dtype": str(labels.dtype)})
    json.dump(report, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
