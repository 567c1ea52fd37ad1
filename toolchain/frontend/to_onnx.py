"""Write a normalised IR graph back to a float ONNX model (fused activations re-expanded).

Used by tests (the normalised graph must compute what the original model computes), by calibration
(onnxruntime runs this model) and by the QDQ export. A fused activation is written as a separate node;
the producer then writes the tensor named `preact_name(output)`.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import onnx
from onnx import helper, numpy_helper

from mcuforge.frontend.onnx_io import elem_type
from mcuforge.core.ir import Activation, Graph, Node, activation_of

EXPORT_OPSET = 21  # HardSwish needs 14, Softmax's one-axis semantics 13; 21 is well supported by onnxruntime


def preact_name(output: str) -> str:
    """Name of the tensor between a node and its fused activation."""
    return f"{output}_preact"


Fresh = Callable[[str], str]  # returns an unused name based on its argument


def _same(name: str) -> str:
    return name


def activation_protos(act: Activation, src: str, dst: str, name: str, fresh: Fresh = _same
                      ) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """ONNX nodes computing fused activation `act` (see mcuforge.core.ir.Node) from src into dst."""
    kind = act.kind
    inits: list[onnx.TensorProto] = []
    if kind == "Clip":
        ins = [src]
        for tag, v in (("min", act.lo), ("max", act.hi)):
            if np.isfinite(v):
                inits.append(numpy_helper.from_array(np.array(v, np.float32), fresh(f"{name}_{tag}")))
                ins.append(inits[-1].name)
            else:
                ins.append("")
        while ins[-1] == "":
            ins.pop()
        return [helper.make_node("Clip", ins, [dst], name=name)], inits
    attrs: dict[str, Any] = {}
    if kind == "LeakyRelu":
        attrs = {"alpha": act.alpha}
    elif kind == "HardSigmoid":
        attrs = {"alpha": act.alpha, "beta": act.beta}
    return [helper.make_node(kind, [src], [dst], name=name, **attrs)], inits


def node_protos(node: Node, output_name: str | None = None, fresh: Fresh = _same
                ) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    """ONNX nodes (and the extra initializers they need) for one normalised node. `output_name`
    replaces the node's (first) output name, so callers can insert Q/DQ after it; `fresh` makes
    the names of added initializers unique."""
    out = output_name or node.outputs[0]
    act = node.attrs.get("activation")
    main_out = preact_name(node.outputs[0]) if act else out
    attrs = {k: (list(v) if isinstance(v, tuple) else v) for k, v in node.attrs.items() if k != "activation"}
    inputs = list(node.inputs)
    inits: list[onnx.TensorProto] = []

    def const(tag: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(value, fresh(f"{node.name}_{tag}")))
        return inits[-1].name

    if node.op == "Clip":
        return activation_protos(activation_of(node), inputs[0], main_out, node.name, fresh)
    if node.op == "Reshape":
        inputs.append(const("shape", np.array(attrs.pop("shape"), np.int64)))
    elif node.op == "Pad":
        inputs.append(const("pads", np.array(attrs.pop("pads"), np.int64)))
        value = attrs.pop("value")
        if attrs["mode"] == "constant":
            inputs.append(const("value", np.array(value, np.float32)))
    protos = [helper.make_node(node.op, inputs, [main_out, *node.outputs[1:]], name=node.name, **attrs)]
    if act:
        more, more_inits = activation_protos(act, main_out, out, f"{node.name}_{act.kind.lower()}", fresh)
        protos += more
        inits += more_inits
    return protos, inits


def to_onnx(graph: Graph, opset: int = EXPORT_OPSET) -> onnx.ModelProto:
    """A float ONNX model computing what the normalised `graph` computes (value_info for every tensor)."""
    nodes: list[onnx.NodeProto] = []
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in graph.constants.items()]
    taken = set(graph.tensors) | {n.name for n in graph.nodes}

    def fresh(name: str) -> str:
        base, k = name, 1
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        return name

    value_info = []
    io = {t.name for t in graph.inputs} | {t.name for t in graph.outputs}
    for n in graph.nodes:
        protos, extra = node_protos(n, fresh=fresh)
        nodes += protos
        inits += extra
        if "activation" in n.attrs:
            t = graph.tensors[n.outputs[0]]
            value_info.append(helper.make_tensor_value_info(preact_name(t.name), elem_type(t.dtype), list(t.shape)))
    for name, t in graph.tensors.items():
        if name not in io and name not in graph.constants:
            value_info.append(helper.make_tensor_value_info(name, elem_type(t.dtype), list(t.shape)))

    def vi(t):
        t = graph.tensors.get(t.name, t)
        return helper.make_tensor_value_info(t.name, elem_type(t.dtype), list(t.shape))

    g = helper.make_graph(nodes, graph.name, [vi(t) for t in graph.inputs], [vi(t) for t in graph.outputs],
                          inits, value_info=value_info)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], producer_name="mcuforge")
    m.ir_version = 10
    return m


__all__ = ["to_onnx", "node_protos", "activation_protos", "preact_name", "EXPORT_OPSET"]
