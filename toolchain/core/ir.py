"""The small graph IR every later stage reads: plain frozen data, no behaviour beyond lookups.

The front end (mcuforge.frontend.pipeline) turns an ONNX model into a `Graph`; quantization adds `QuantParams`
per tensor in a separate mapping so a Graph stays the float model. Layout is ONNX's (NCHW, batch 1):
codegen keeps it, so a tensor's bytes are the ONNX tensor's bytes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np


def frozen_map(d: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only view of a copy of `d`, so frozen dataclasses stay immutable."""
    return MappingProxyType(dict(d or {}))


@dataclass(frozen=True)
class TensorInfo:
    """A named tensor: static shape (batch fixed to 1) and numpy dtype name ("float32", "int8", ...)."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1


ACTIVATION_KINDS = ("Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish")


@dataclass(frozen=True)
class Activation:
    """An elementwise activation: fused into a layer (`Node.attrs["activation"]`) or a node of its own.

    kind: Relu | Clip | LeakyRelu | Sigmoid | HardSigmoid | HardSwish; alpha: LeakyRelu's slope or
    HardSigmoid's alpha; beta: HardSigmoid's beta; lo, hi: Clip's bounds (infinite when absent)."""

    kind: str
    alpha: float = 0.0
    beta: float = 0.0
    lo: float = -math.inf
    hi: float = math.inf

    def __post_init__(self) -> None:
        if self.kind not in ACTIVATION_KINDS:
            raise ValueError(f"unknown activation kind {self.kind!r}")

    @property
    def clamps(self) -> bool:
        """Relu and Clip only clamp: an integer kernel applies them as bounds on its output."""
        return self.kind in ("Relu", "Clip")

    @property
    def bounds(self) -> tuple[float, float]:
        """The output range of a clamping activation."""
        return (0.0, math.inf) if self.kind == "Relu" else (self.lo, self.hi)

    def __str__(self) -> str:
        extra = {"Clip": f" [{self.lo:g}, {self.hi:g}]", "LeakyRelu": f" alpha {self.alpha:g}",
                 "HardSigmoid": f" alpha {self.alpha:g} beta {self.beta:g}"}.get(self.kind, "")
        return self.kind + extra


def activation_of(node: "Node") -> Activation:
    """The Activation a normalised standalone activation node computes."""
    a = node.attrs
    if node.op == "Clip":
        return Activation("Clip", lo=float(a["min"]), hi=float(a["max"]))
    if node.op == "LeakyRelu":
        return Activation("LeakyRelu", alpha=float(a["alpha"]))
    if node.op == "HardSigmoid":
        return Activation("HardSigmoid", alpha=float(a["alpha"]), beta=float(a["beta"]))
    return Activation(node.op)


WEIGHT_OPS = frozenset({"Conv", "Gemm", "MatMul"})


def has_constant_weight(node: "Node", graph: "Graph") -> bool:
    """A weight layer: Conv, Gemm or MatMul whose second input (the weight) is a constant. Its
    precision includes a weight format, and an integer layer of it has quantized weights."""
    return node.op in WEIGHT_OPS and len(node.inputs) > 1 and node.inputs[1] in graph.constants


@dataclass(frozen=True)
class Node:
    """One operator. `op` is the ONNX op type; `attrs` hold ONNX attributes as Python values
    (ints, floats, tuples, strings). A fused activation is `attrs["activation"]`, an Activation."""

    name: str
    op: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: Mapping[str, Any] = field(default_factory=frozen_map)
    domain: str = ""


@dataclass(frozen=True)
class Graph:
    """A topologically ordered graph. `tensors` has a TensorInfo for every value (inputs, outputs,
    intermediates and constants); `constants` holds initializer data by tensor name."""

    name: str
    nodes: tuple[Node, ...]
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    tensors: Mapping[str, TensorInfo]
    constants: Mapping[str, np.ndarray]
    opset: int = 17
    # Activation quantization found in the source model (a QuantizeLinear->DequantizeLinear pair on a
    # tensor, removed by the front end), by tensor name; empty for a float model. Added by the front
    # end (mcuforge.frontend.passes.absorb_qdq); later stages may use it instead of calibrated ranges.
    source_qparams: Mapping[str, "QuantParams"] = field(default_factory=frozen_map)

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def producer(self, tensor: str) -> Node | None:
        for n in self.nodes:
            if tensor in n.outputs:
                return n
        return None

    def consumers(self, tensor: str) -> list[Node]:
        return [n for n in self.nodes if tensor in n.inputs]


@dataclass(frozen=True)
class QuantParams:
    """Affine quantization of one tensor: real = scale * (q - zero_point).

    `axis` is None for per-tensor, else the channel axis of `scale`/`zero_point` (per channel).
    `bits` is the storage width (8, 4 or 2); `signed` says int vs uint.
    `block_size`, when set, makes it ONNX blocked quantization along `axis` (DequantizeLinear's
    `block_size`): `scale` has the tensor's rank, its dimension `axis` is ceil(D / block_size) and
    element i along `axis` uses scale index i // block_size (the others index one to one)."""

    scale: np.ndarray
    zero_point: np.ndarray
    bits: int = 8
    signed: bool = True
    axis: int | None = None
    block_size: int | None = None

    @property
    def qmin(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def qmax(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1
