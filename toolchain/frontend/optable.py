"""The operator table: which ops the front end accepts and their normalised attributes.

`OPS` maps every op codegen implements to its `OpSpec`, whose `normalize` gives the node explicit,
opset-independent attributes (the pass `normalize_attrs`). `FOLDABLE` and `REMOVABLE` ops may appear
in a model but must vanish during normalisation; `check_ops` and `check_supported` reject, in one
error, every node outside these sets.

Normalised attributes (what codegen reads; ONNX layout NCHW, batch 1):
    Conv        inputs (X, W, B) with B always present (zeros if the model had none);
                kernel_shape (kh, kw), strides (sh, sw), pads (top, left, bottom, right),
                dilations (1, 1), group
    Gemm        inputs (A, B, C); alpha, beta, transA, transB. With a constant B the front end
                folds alpha into B, beta into C, stores B as [N, K] (transB=1) and C as [N]
                (so alpha = beta = 1, transA = 0).
    MatMul      none (both operands activations, or batched).
    Add, Mul    none (numpy broadcasting; a constant operand stays an input).
    Relu, Sigmoid, HardSwish: none. LeakyRelu: alpha. HardSigmoid: alpha, beta.
    Clip        min, max as floats (-inf/inf when absent); input (X,) only.
    MaxPool     kernel_shape, strides, pads (t, l, b, r), dilations, ceil_mode
    AveragePool kernel_shape, strides, pads (t, l, b, r), ceil_mode, count_include_pad
    GlobalAveragePool: none.  Flatten: axis (>= 0).  Transpose: perm.  Concat: axis (>= 0).
    Reshape     shape: the explicit output shape (no 0 / -1); input (X,) only.
    Softmax     axis (>= 0, opset-13 semantics: softmax along that one axis).
    Pad         mode ("constant" | "reflect" | "edge"), pads (x1_begin, x2_begin, ..., x1_end, ...)
                for every axis, value (float); input (X,) only.
    QuantizeLinear / DequantizeLinear (unpaired ones only): axis (>= 0); inputs as in ONNX.
    A fused activation is attrs["activation"] on Conv/Gemm/MatMul/Add (see mcuforge.core.ir.Node),
    the Activation `mcuforge.core.ir.activation_of` makes of a normalised activation node.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from mcuforge.core.errors import McufError
from mcuforge.core.ir import ACTIVATION_KINDS, Graph, Node
from mcuforge.frontend.rewrite import cut_outputs, new_const, node_error, prune, replace_graph, replace_node

# Ops that must vanish before codegen: evaluated at compile time when all their inputs are constant
# (PyTorch's Shape->Gather->Unsqueeze->Concat->Reshape chains, DequantizeLinear of weights, ...).
FOLDABLE = frozenset("""Constant Shape Size Gather Unsqueeze Squeeze Cast CastLike Slice ConstantOfShape
Range Div Sub Neg Floor Ceil Sqrt Pow Reciprocal Exp Log Abs Equal Less Greater Not And Or Where Expand
Tile ReduceProd ReduceSum ReduceMin ReduceMax Min Max Split Identity Transpose Reshape Concat Mul Add
QuantizeLinear DequantizeLinear Flatten MatMul Gemm""".split())
# Ops removed or rewritten by passes (Identity, Dropout and same-dtype Cast; BN folded; Squeeze/
# Unsqueeze as Reshape; spatial ReduceMean as GlobalAveragePool, tf2onnx's Keras pooling).
REMOVABLE = frozenset({"Identity", "Dropout", "Cast", "BatchNormalization", "Squeeze", "Unsqueeze", "ReduceMean"})
# Activations fused into a producer of FUSE_INTO (attrs["activation"], an Activation).
ACTIVATIONS = ACTIVATION_KINDS
FUSE_INTO = frozenset({"Conv", "Gemm", "MatMul", "Add"})


@dataclass(frozen=True)
class OpSpec:
    """How the front end normalises one op: `normalize(node, graph) -> (node, new constants)`."""

    normalize: Callable[[Node, Graph], tuple[Node, dict[str, np.ndarray]]]


def _check_attrs(node: Node, allowed: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes with defaults filled in; an unknown attribute is an error naming node and attribute."""
    for k in node.attrs:
        if k not in allowed:
            raise McufError(f"node '{node.name}' ({node.op}): unknown attribute '{k}' "
                            f"(mcuforge knows: {', '.join(sorted(allowed)) or 'none'})")
    out = dict(allowed)
    out.update(node.attrs)
    return out


def _shape(graph: Graph, t: str) -> tuple[int, ...]:
    return graph.tensors[t].shape


def _require_const(node: Node, graph: Graph, idx: int, what: str) -> np.ndarray:
    t = node.inputs[idx] if idx < len(node.inputs) else ""
    if not t or t not in graph.constants:
        raise node_error(node, f"{what} (input {idx}, '{t}') must be a constant")
    return graph.constants[t]


def _pad_pairs(pads: Iterable[int]) -> tuple[int, ...]:
    return tuple(int(p) for p in pads)


def _resolve_pads(node: Node, a: dict, in_hw: tuple[int, int], kernel: tuple[int, int],
                  strides: tuple[int, int], dilations: tuple[int, int]) -> tuple[int, int, int, int]:
    mode = a.get("auto_pad", "NOTSET")
    if mode in ("NOTSET", ""):
        pads = a.get("pads") or (0, 0, 0, 0)
        if len(pads) != 4:
            raise node_error(node, f"attribute 'pads' = {pads}: expected 4 values for a 2-D op")
        return _pad_pairs(pads)  # type: ignore[return-value]
    if mode == "VALID":
        return (0, 0, 0, 0)
    if mode not in ("SAME_UPPER", "SAME_LOWER"):
        raise node_error(node, f"attribute 'auto_pad' = '{mode}' is not an ONNX value")
    begin, end = [], []
    for x, k, s, d in zip(in_hw, kernel, strides, dilations):
        out = -(-x // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - x, 0)
        lo = total // 2 if mode == "SAME_UPPER" else total - total // 2
        begin.append(lo)
        end.append(total - lo)
    return (begin[0], begin[1], end[0], end[1])


def _norm_conv(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"auto_pad": "NOTSET", "dilations": None, "group": 1, "kernel_shape": None,
                            "pads": None, "strides": None})
    x_shape = _shape(graph, node.inputs[0])
    if len(x_shape) != 4:
        raise node_error(node, f"only 2-D convolution (4-D input) is supported; input shape is {x_shape}")
    w = _require_const(node, graph, 1, "the weight")
    kernel = tuple(int(k) for k in w.shape[2:])
    if a["kernel_shape"] is not None and tuple(a["kernel_shape"]) != kernel:
        raise node_error(node, f"attribute 'kernel_shape' = {a['kernel_shape']} disagrees with the weight {w.shape}")
    strides = tuple(a["strides"] or (1, 1))
    dil = tuple(a["dilations"] or (1, 1))
    if dil != (1, 1):
        raise node_error(node, f"attribute 'dilations' = {dil}: only dilation 1 is supported")
    group = int(a["group"])
    if x_shape[1] != w.shape[1] * group or w.shape[0] % group:
        raise node_error(node, f"attribute 'group' = {group} does not match input {x_shape} and weight {w.shape}")
    pads = _resolve_pads(node, a, x_shape[2:], kernel, strides, dil)  # type: ignore[arg-type]
    new = {}
    inputs = node.inputs[:2]
    if len(node.inputs) > 2 and node.inputs[2]:
        _require_const(node, graph, 2, "the bias")
        inputs = node.inputs[:3]
    else:
        bias = f"{node.name}_bias_zero"
        new[bias] = np.zeros(w.shape[0], np.float32)
        inputs = (*inputs, bias)
    attrs = {"kernel_shape": kernel, "strides": strides, "pads": pads, "dilations": dil, "group": group}
    if "activation" in node.attrs:
        attrs["activation"] = node.attrs["activation"]
    return replace_node(node, inputs=inputs, attrs=attrs), new


def _norm_gemm(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0})
    a_shape = _shape(graph, node.inputs[0])
    if len(a_shape) != 2:
        raise node_error(node, f"input A must be 2-D, got {a_shape}")
    y_shape = _shape(graph, node.outputs[0])
    attrs = {"alpha": float(a["alpha"]), "beta": float(a["beta"]), "transA": int(a["transA"]),
             "transB": int(a["transB"])}
    new = {}
    inputs = node.inputs
    if node.inputs[1] in graph.constants and not attrs["transA"]:
        b = graph.constants[node.inputs[1]].astype(np.float32)
        b = b if attrs["transB"] else b.T
        n_out = b.shape[0]
        if len(node.inputs) > 2 and node.inputs[2]:
            c = _require_const(node, graph, 2, "the bias C").astype(np.float32)
            if c.size in (1, n_out) or c.shape == (1, n_out) or y_shape[0] == 1:
                c = np.broadcast_to(c.reshape(-1), (n_out,))
            else:  # a full [M, N] bias (rare; codegen adds it by accumulating into a copy)
                c = np.broadcast_to(c, tuple(y_shape))
        else:
            c = np.zeros(n_out, np.float32)
        wn, cn = f"{node.name}_B", f"{node.name}_C"
        new[wn] = np.ascontiguousarray(attrs["alpha"] * b, dtype=np.float32)
        new[cn] = np.ascontiguousarray(attrs["beta"] * c, dtype=np.float32)
        inputs = (node.inputs[0], wn, cn)
        attrs = {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 1}
    if "activation" in node.attrs:
        attrs["activation"] = node.attrs["activation"]
    return replace_node(node, inputs=inputs, attrs=attrs), new


def _no_attrs(node: Node, graph: Graph) -> tuple[Node, dict]:
    keep = {"activation": None} if node.op in FUSE_INTO else {}
    _check_attrs(node, keep)
    return node, {}


def _fixed_attrs(defaults: Mapping[str, Any]) -> Callable[[Node, Graph], tuple[Node, dict]]:
    def norm(node: Node, graph: Graph) -> tuple[Node, dict]:
        a = _check_attrs(node, defaults)
        return replace_node(node, attrs={k: float(v) if isinstance(v, (int, float)) else v for k, v in a.items()}), {}

    return norm


def _norm_clip(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"min": None, "max": None})
    lo = a["min"] if a["min"] is not None else -np.inf
    hi = a["max"] if a["max"] is not None else np.inf
    if len(node.inputs) > 1 and node.inputs[1]:
        lo = float(_require_const(node, graph, 1, "min"))
    if len(node.inputs) > 2 and node.inputs[2]:
        hi = float(_require_const(node, graph, 2, "max"))
    return replace_node(node, inputs=node.inputs[:1], attrs={"min": float(lo), "max": float(hi)}), {}


def _norm_pool(node: Node, graph: Graph) -> tuple[Node, dict]:
    if node.op == "MaxPool":
        allowed = {"auto_pad": "NOTSET", "ceil_mode": 0, "dilations": None, "kernel_shape": None, "pads": None,
                   "storage_order": 0, "strides": None}
    else:
        allowed = {"auto_pad": "NOTSET", "ceil_mode": 0, "count_include_pad": 0, "dilations": None,
                   "kernel_shape": None, "pads": None, "strides": None}
    a = _check_attrs(node, allowed)
    x_shape = _shape(graph, node.inputs[0])
    if len(x_shape) != 4:
        raise node_error(node, f"only 2-D pooling (4-D input) is supported; input shape is {x_shape}")
    if len(node.outputs) > 1 and node.outputs[1]:
        raise node_error(node, "the Indices output is not supported")
    kernel = tuple(int(k) for k in a["kernel_shape"])
    strides = tuple(a["strides"] or (1, 1))
    dil = tuple(a["dilations"] or (1, 1))
    if dil != (1, 1):
        raise node_error(node, f"attribute 'dilations' = {dil}: only dilation 1 is supported")
    if a.get("storage_order", 0):
        raise node_error(node, "attribute 'storage_order' = 1 is not supported")
    pads = _resolve_pads(node, a, x_shape[2:], kernel, strides, dil)  # type: ignore[arg-type]
    attrs = {"kernel_shape": kernel, "strides": strides, "pads": pads, "ceil_mode": int(a["ceil_mode"])}
    if node.op == "MaxPool":
        attrs["dilations"] = dil
    else:
        attrs["count_include_pad"] = int(a["count_include_pad"])
    return replace_node(node, outputs=node.outputs[:1], attrs=attrs), {}


def _axis(node: Node, axis: int, rank: int, what: str = "axis") -> int:
    if not -rank <= axis < max(rank, 1):
        raise node_error(node, f"attribute '{what}' = {axis} is out of range for rank {rank}")
    return axis % max(rank, 1)


def _norm_flatten(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"axis": 1})
    rank = len(_shape(graph, node.inputs[0]))
    axis = int(a["axis"])
    return replace_node(node, attrs={"axis": axis % (rank + 1) if axis < 0 else axis}), {}


def _norm_reshape(node: Node, graph: Graph) -> tuple[Node, dict]:
    _check_attrs(node, {"allowzero": 0, "shape": None})  # 'shape' attribute: opset < 5
    if len(node.inputs) > 1:
        _require_const(node, graph, 1, "the target shape")
    return replace_node(node, inputs=node.inputs[:1], attrs={"shape": _shape(graph, node.outputs[0])}), {}


def _norm_transpose(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"perm": None})
    rank = len(_shape(graph, node.inputs[0]))
    perm = tuple(int(p) for p in a["perm"]) if a["perm"] is not None else tuple(reversed(range(rank)))
    return replace_node(node, attrs={"perm": perm}), {}


def _norm_concat(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"axis": None})
    if a["axis"] is None:
        raise node_error(node, "attribute 'axis' is required")
    rank = len(_shape(graph, node.outputs[0]))
    return replace_node(node, attrs={"axis": _axis(node, int(a["axis"]), rank)}), {}


def _norm_softmax(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"axis": 1 if graph.opset < 13 else -1})
    shape = _shape(graph, node.inputs[0])
    axis = _axis(node, int(a["axis"]), len(shape))
    # before opset 13 Softmax flattened [axis:] into one axis: same thing iff the trailing dims are 1
    if graph.opset < 13 and any(d != 1 for d in shape[axis + 1:]):
        raise node_error(node, f"opset-{graph.opset} Softmax over the flattened dims {shape[axis:]} "
                              "is not supported; export with opset >= 13")
    return replace_node(node, attrs={"axis": axis}), {}


def _norm_pad(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"mode": "constant", "pads": None, "value": 0.0})
    rank = len(_shape(graph, node.inputs[0]))
    pads, value = a["pads"], float(a["value"])
    if len(node.inputs) > 1:
        p = _require_const(node, graph, 1, "pads").astype(np.int64).reshape(-1)
        if len(node.inputs) > 3 and node.inputs[3]:
            axes = [int(x) % rank for x in _require_const(node, graph, 3, "axes").reshape(-1)]
            full = [0] * (2 * rank)
            for j, ax in enumerate(axes):
                full[ax], full[rank + ax] = int(p[j]), int(p[len(axes) + j])
            p = np.array(full)
        pads = tuple(int(x) for x in p)
        if len(node.inputs) > 2 and node.inputs[2]:
            value = float(_require_const(node, graph, 2, "constant_value").reshape(-1)[0])
    if pads is None or len(pads) != 2 * rank:
        raise node_error(node, f"'pads' = {pads}: expected {2 * rank} values")
    if any(p < 0 for p in pads):
        raise node_error(node, f"'pads' = {pads}: negative pads (cropping) are not supported")
    if a["mode"] not in ("constant", "reflect", "edge"):
        raise node_error(node, f"attribute 'mode' = '{a['mode']}' is not supported")
    return replace_node(node, inputs=node.inputs[:1], attrs={"mode": a["mode"], "pads": pads, "value": value}), {}


def _norm_qdq(node: Node, graph: Graph) -> tuple[Node, dict]:
    a = _check_attrs(node, {"axis": 1, "saturate": 1, "block_size": 0, "output_dtype": 0, "precision": 0})
    if a["block_size"]:
        raise node_error(node, f"attribute 'block_size' = {a['block_size']}: blocked quantization is not supported")
    rank = len(_shape(graph, node.inputs[0]))
    attrs = {"axis": _axis(node, int(a["axis"]), rank) if rank else 0}
    for k in ("output_dtype", "saturate"):
        if k in node.attrs:
            attrs[k] = int(node.attrs[k])
    return replace_node(node, attrs=attrs), {}


OPS: dict[str, OpSpec] = {
    "Conv": OpSpec(_norm_conv),
    "Gemm": OpSpec(_norm_gemm),
    "MatMul": OpSpec(_no_attrs),
    "Add": OpSpec(_no_attrs),
    "Mul": OpSpec(_no_attrs),
    "Relu": OpSpec(_no_attrs),
    "Sigmoid": OpSpec(_no_attrs),
    "HardSwish": OpSpec(_no_attrs),
    "Clip": OpSpec(_norm_clip),
    "LeakyRelu": OpSpec(_fixed_attrs({"alpha": 0.01})),
    "HardSigmoid": OpSpec(_fixed_attrs({"alpha": 0.2, "beta": 0.5})),
    "MaxPool": OpSpec(_norm_pool),
    "AveragePool": OpSpec(_norm_pool),
    "GlobalAveragePool": OpSpec(_no_attrs),
    "Flatten": OpSpec(_norm_flatten),
    "Reshape": OpSpec(_norm_reshape),
    "Transpose": OpSpec(_norm_transpose),
    "Concat": OpSpec(_norm_concat),
    "Softmax": OpSpec(_norm_softmax),
    "Pad": OpSpec(_norm_pad),
    "QuantizeLinear": OpSpec(_norm_qdq),
    "DequantizeLinear": OpSpec(_norm_qdq),
}


def normalize_attrs(graph: Graph) -> Graph:
    """Give every supported node explicit, validated attributes (see the module docstring)."""
    consts, tensors = dict(graph.constants), dict(graph.tensors)
    nodes = []
    for n in graph.nodes:
        if n.domain == "" and n.op in OPS:
            n, new = OPS[n.op].normalize(n, graph)
            renames = {}
            for name, value in new.items():
                renames[name] = new_const(consts, tensors, name, value)
            if renames:
                n = replace_node(n, inputs=tuple(renames.get(i, i) for i in n.inputs))
        nodes.append(n)
    return prune(replace_graph(graph, nodes=nodes, constants=consts, tensors=tensors))


def _unsupported_error(graph: Graph, bad: list[Node], why: str) -> McufError:
    lines = [f"  - {n.name}: {n.op} (domain '{n.domain or 'ai.onnx'}')" for n in bad]
    msg = f"{len(bad)} unsupported node(s) {why}:\n" + "\n".join(lines)
    suggestion = _suggest_outputs(graph, bad)
    if suggestion:
        msg += (f"\nThe unsupported nodes look like post-processing: compile the part before them with "
                f"--outputs {','.join(suggestion)}")
    supported = ", ".join(sorted(OPS))
    return McufError(msg + f"\nSupported ops: {supported}")


def _suggest_outputs(graph: Graph, bad: list[Node]) -> list[str]:
    """Tensors feeding the unsupported nodes from the supported part, if cutting there leaves no
    unsupported node behind."""
    bad_names = {n.name for n in bad}
    downstream: set[str] = set()  # tensors computed from an unsupported node's output
    for n in graph.nodes:
        if n.name in bad_names or any(i in downstream for i in n.inputs):
            downstream.update(n.outputs)
    cut = []
    for n in bad:
        for i in n.inputs:
            if i and i not in downstream and i not in graph.constants and i not in cut:
                cut.append(i)
    if not cut:
        return []
    try:
        part = cut_outputs(graph, cut)
    except McufError:
        return []
    if any(n.name in bad_names for n in part.nodes) or not part.nodes:
        return []
    return cut


def check_ops(graph: Graph) -> Graph:
    """Reject, in one error, every node that is neither supported, foldable nor removable."""
    bad = [
        n for n in graph.nodes
        if n.domain not in ("",) or not (n.op in OPS or n.op in FOLDABLE or n.op in REMOVABLE)
    ]
    if bad:
        raise _unsupported_error(graph, bad, "in the model")
    return graph


def check_supported(graph: Graph) -> Graph:
    """After normalisation only ops of the table OPS may remain."""
    bad = [n for n in graph.nodes if n.domain != "" or n.op not in OPS]
    if bad:
        raise _unsupported_error(graph, bad, "left after constant folding (their inputs are not constant)")
    return graph
