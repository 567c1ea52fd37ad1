"""ONNX <-> IR: read an ONNX model into the raw IR and write a raw IR graph back to ONNX.

`from_onnx` turns a ModelProto into a raw `Graph` (ONNX attributes as they are, batch fixed to 1,
shapes only on the inputs); `raw_to_onnx` writes such a graph back at its own opset, for onnx shape
inference and constant evaluation. The dtype and attribute conversions both directions need live
here too. Normalised graphs are written by mcuforge.frontend.to_onnx instead.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Graph, Node, TensorInfo, frozen_map

ML_DOMAIN = "ai.onnx.ml"
MIN_OPSET = 7


def dtype_name(elem_type: int) -> str:
    """numpy dtype name of an ONNX TensorProto element type."""
    if not elem_type:
        return "float32"  # undefined in the model; shape inference fills in the real type
    return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)).name


def elem_type(dtype: str) -> int:
    """ONNX TensorProto element type of a numpy dtype name (ml_dtypes names too)."""
    return helper.np_dtype_to_tensor_dtype(_np_dtype(dtype))


def _np_dtype(name: str) -> np.dtype:
    try:
        return np.dtype(name)
    except TypeError:
        import ml_dtypes  # int4/int2/float8 names live there

        return np.dtype(getattr(ml_dtypes, name))


def _attr_value(a: onnx.AttributeProto) -> Any:
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, onnx.TensorProto):
        return numpy_helper.to_array(v)
    if isinstance(v, list):
        return tuple(x.decode() if isinstance(x, bytes) else x for x in v)
    return v


def to_attribute(name: str, v: Any) -> onnx.AttributeProto:
    """An IR attribute value as an ONNX AttributeProto (the inverse of reading one)."""
    if isinstance(v, np.ndarray):
        return helper.make_attribute(name, numpy_helper.from_array(v))
    if isinstance(v, tuple):
        v = list(v)
    return helper.make_attribute(name, v)


def _fix_input_shape(vi: onnx.ValueInfoProto) -> tuple[int, ...]:
    t = vi.type.tensor_type
    if not vi.type.HasField("tensor_type") or not t.HasField("shape"):
        raise McufError(f"model input '{vi.name}' has no shape; export the model with a static input shape")
    dims = []
    for i, d in enumerate(t.shape.dim):
        if d.HasField("dim_value") and d.dim_value > 0:
            dims.append(d.dim_value)
        elif i == 0:
            dims.append(1)  # the batch: mcuforge runs one sample at a time
        else:
            raise McufError(
                f"model input '{vi.name}' has a dynamic dimension {i} ('{d.dim_param or '?'}'); only the batch "
                "(dimension 0) may be dynamic: export the model with a static shape"
            )
    return tuple(dims)


def from_onnx(model: onnx.ModelProto) -> Graph:
    """The raw IR of an ONNX model: nodes with their ONNX attributes, batch fixed to 1, no shapes yet
    except the inputs'. Unnamed (or duplicate-named) nodes are named `<op>_<index>`."""
    g = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < MIN_OPSET:
        raise McufError(
            f"model uses ONNX opset {opset}; mcuforge reads opset {MIN_OPSET} or later: convert it with "
            "onnx.version_converter.convert_version(model, 13)"
        )
    constants: dict[str, np.ndarray] = {init.name: numpy_helper.to_array(init) for init in g.initializer}
    for sparse in g.sparse_initializer:
        raise McufError(f"sparse initializer '{sparse.values.name}' is not supported")
    tensors: dict[str, TensorInfo] = {}
    inputs = []
    for vi in g.input:
        if vi.name in constants:
            continue  # old exporters list initializers as inputs too
        shape = _fix_input_shape(vi)
        ti = TensorInfo(vi.name, shape, dtype_name(vi.type.tensor_type.elem_type))
        inputs.append(ti)
        tensors[vi.name] = ti
    for name, value in constants.items():
        tensors[name] = TensorInfo(name, tuple(value.shape), value.dtype.name)
    outputs = [TensorInfo(o.name, (), dtype_name(o.type.tensor_type.elem_type)) for o in g.output]

    nodes, seen = [], set()
    for i, n in enumerate(g.node):
        name = n.name
        if not name or name in seen:
            name = f"{n.op_type}_{i}"
            k = 1
            while name in seen:
                name, k = f"{n.op_type}_{i}_{k}", k + 1
        seen.add(name)
        attrs = {a.name: _attr_value(a) for a in n.attribute}
        domain = "" if n.domain == "ai.onnx" else n.domain
        nodes.append(Node(name, n.op_type, tuple(n.input), tuple(n.output), frozen_map(attrs), domain))
    return Graph(
        name=g.name or "model",
        nodes=tuple(nodes),
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        tensors=frozen_map(tensors),
        constants=frozen_map(constants),
        opset=opset,
    )


def raw_to_onnx(graph: Graph, with_shapes: bool = False) -> onnx.ModelProto:
    """Write a raw (not yet normalised) graph back to ONNX at its own opset, for shape inference and
    constant evaluation. Normalised graphs go through mcuforge.frontend.to_onnx.to_onnx instead."""
    nodes = [helper.make_node(n.op, list(n.inputs), list(n.outputs), name=n.name, domain=n.domain)
             for n in graph.nodes]
    for proto, n in zip(nodes, graph.nodes):
        proto.attribute.extend(to_attribute(k, v) for k, v in n.attrs.items())

    def vi(t: TensorInfo, shaped: bool) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(t.name, elem_type(t.dtype), list(t.shape) if shaped else None)

    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in graph.constants.items()]
    value_info = []
    if with_shapes:
        io = {t.name for t in graph.inputs} | {t.name for t in graph.outputs} | set(graph.constants)
        value_info = [vi(t, True) for k, t in graph.tensors.items() if k not in io]
    g = helper.make_graph(
        nodes, graph.name, [vi(t, True) for t in graph.inputs],
        [vi(graph.tensors.get(t.name, t), with_shapes and t.name in graph.tensors) for t in graph.outputs],
        inits, value_info=value_info,
    )
    opsets = [helper.make_opsetid("", graph.opset)]
    if any(n.domain == ML_DOMAIN for n in graph.nodes):
        opsets.append(helper.make_opsetid(ML_DOMAIN, 3))
    for d in sorted({n.domain for n in graph.nodes} - {"", ML_DOMAIN}):
        opsets.append(helper.make_opsetid(d, 1))
    m = helper.make_model(g, opset_imports=opsets, producer_name="mcuforge")
    m.ir_version = min(m.ir_version, 10)
    return m
