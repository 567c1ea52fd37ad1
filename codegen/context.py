"""What an op resolver reads and writes while lowering, and the registry of resolvers.

Lives apart from lower.py so the op modules (codegen/ops/*) and the driver (lower.py) both import it
and neither imports the other. A resolver turns one node into kernel calls (`Step`s) and flash
constants, reading typed inputs only: the graph, the per-layer precision plan, the target and, for
int8 layers, the quantized model (which already holds every integer the kernels need).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Graph, Node, QuantParams
from mcuforge.core.precision import Conversion, Precision, PrecisionPlan
from mcuforge.core.quantized import LayerQuant, QuantizedModel
from mcuforge.core.targets import Target
from mcuforge.codegen.program import Const, Step

# Kernel name suffix and C type of each activation type.
SUFFIX = {"fp32": "f32", "fp16": "f16", "int8": "s8"}
CTYPE = {"fp32": "float", "fp16": "mcuf_f16", "int8": "int8_t"}
_FLOAT_CONST = {"fp32": ("float", np.float32), "fp16": ("mcuf_f16", np.float16)}


def c_ident(name: str) -> str:
    """A C identifier derived from an ONNX name (deterministic, readable)."""
    s = re.sub(r"[^0-9A-Za-z_]", "_", name).strip("_") or "t"
    return s if not s[0].isdigit() else f"t_{s}"


@dataclass
class LowerCtx:
    """The typed inputs of lowering, and the constants and codegen-made tensors resolvers add."""

    graph: Graph
    plan: PrecisionPlan
    target: Target
    quant: QuantizedModel | None = None
    name: str = "model"
    consts: list[Const] = field(default_factory=list)
    _const_names: set[str] = field(default_factory=set)
    added_tensors: dict[str, tuple[tuple[int, ...], str]] = field(default_factory=dict)  # name -> (shape, ctype)
    _conversions: dict[str, Conversion] = field(default_factory=dict)  # a conversion's copy -> the conversion

    def __post_init__(self) -> None:
        self._conversions = {c.name: c for c in self.plan.conversions}

    # -- precision of a node and of the tensors it touches

    def prec(self, node: Node) -> Precision:
        return self.plan.of(node.name)

    def sfx(self, node: Node) -> str:
        """Kernel dtype suffix of the node's activations: f32, f16 or s8."""
        return SUFFIX[self.prec(node).activations]

    def is_int8(self, node: Node) -> bool:
        return self.prec(node).activations == "int8"

    def ctype(self, tensor: str) -> str:
        if tensor in self.added_tensors:
            return self.added_tensors[tensor][1]
        conv = self._conversions.get(tensor)
        return CTYPE[conv.dst if conv is not None else self.plan.tensors[tensor]]

    def add_tensor(self, name: str, shape: tuple[int, ...], ctype: str) -> str:
        """A tensor codegen introduces (a pre-activation, a float temporary): lives in the arena like any other."""
        self.added_tensors[name] = (tuple(shape), ctype)
        return name

    def shape(self, tensor: str) -> tuple[int, ...]:
        if tensor in self.added_tensors:
            return self.added_tensors[tensor][0]
        return tuple(self.graph.tensors[self.source(tensor)].shape)

    # -- constants

    def const(self, tensor: str) -> np.ndarray | None:
        return self.graph.constants.get(tensor)

    def need_const(self, node: Node, idx: int, what: str) -> np.ndarray:
        """The constant at input `idx` of `node`, or an error naming node and input."""
        if idx >= len(node.inputs) or not node.inputs[idx]:
            raise McufError(f"node '{node.name}' ({node.op}): missing {what} input")
        v = self.const(node.inputs[idx])
        if v is None:
            raise McufError(f"node '{node.name}' ({node.op}): {what} '{node.inputs[idx]}' must be a constant "
                            "(a weight computed at run time is not supported)")
        return v

    def add_const(self, base: str, ctype: str, values: np.ndarray, comment: str = "") -> str:
        """Register a flash array; returns its C symbol (model prefix + a unique name from `base`)."""
        stem = f"{self.name}_{c_ident(base)}"
        name = stem
        k = 2
        while name in self._const_names:
            name = f"{stem}_{k}"
            k += 1
        self._const_names.add(name)
        self.consts.append(Const(name, ctype, np.ascontiguousarray(values).reshape(-1), comment))
        return name

    def float_const(self, node: Node, base: str, values: np.ndarray, comment: str = "") -> str:
        """A constant of a float layer, in the layer's weight format (float or mcuf_f16)."""
        ctype, dtype = _FLOAT_CONST[self.prec(node).weights]
        return self.add_const(base, ctype, np.asarray(values, dtype=dtype), comment)

    # -- quantization (int8 layers)

    def source(self, tensor: str) -> str:
        """The graph tensor a conversion's copy was made from (itself for any other tensor)."""
        conv = self._conversions.get(tensor)
        return conv.tensor if conv is not None else tensor

    def qparams(self, tensor: str) -> QuantParams:
        """Per-tensor int8 parameters (a quantized copy of a float tensor has the tensor's own)."""
        tensor = self.source(tensor)
        q = self.quant.tensor_qparams.get(tensor) if self.quant is not None else None
        if q is None:
            raise McufError(f"tensor '{tensor}' has no quantization parameters (was the model calibrated?)")
        return q

    def zp(self, tensor: str) -> int:
        return int(np.ravel(self.qparams(tensor).zero_point)[0])

    def scale(self, tensor: str) -> float:
        return float(np.ravel(self.qparams(tensor).scale)[0])

    def layer_quant(self, node: Node) -> LayerQuant:
        if self.quant is None or node.name not in self.quant.layers:
            raise McufError(f"node '{node.name}' ({node.op}) has no int8 quantization data")
        return self.quant.layers[node.name]


Resolver = Callable[[Node, LowerCtx], list[Step]]
RESOLVERS: dict[str, Resolver] = {}


def resolver(*ops: str) -> Callable[[Resolver], Resolver]:
    """Register a resolver for ONNX op types."""
    def deco(fn: Resolver) -> Resolver:
        for op in ops:
            RESOLVERS[op] = fn
        return fn
    return deco


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def node_comment(node: Node, ctx: LowerCtx, detail: str = "") -> tuple[str, ...]:
    """The comment before a layer call: ONNX node, op, precision, key attributes, shapes, quantization."""
    ins = ", ".join(f"{t} {_fmt_shape(ctx.shape(t))}" for t in node.inputs if t and ctx.const(t) is None)
    outs = ", ".join(f"{t} {_fmt_shape(ctx.shape(t))}" for t in node.outputs)
    lines = [f'node "{node.name}": {node.op}' + (f" {detail}" if detail else "") + f" ({ctx.prec(node).name})",
             f"{ins} -> {outs}"]
    act = node.attrs.get("activation")
    if act:
        lines.append(f"fused activation: {act}")
    if ctx.is_int8(node) and ctx.quant is not None:
        for t in (*node.inputs, *node.outputs):
            q = ctx.quant.tensor_qparams.get(ctx.source(t)) if t else None
            if q is not None and q.axis is None and ctx.const(t) is None:
                lines.append(f"{t}: scale {float(np.ravel(q.scale)[0]):.6g} zero_point {int(np.ravel(q.zero_point)[0])}")
    return tuple(lines)
