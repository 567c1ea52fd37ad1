"""Per-layer precision: what each layer computes in, and what every tensor is stored as. Plain data.

A layer's `Precision` is a pair: the format of its weights in flash and the type of the activations
it reads and writes in the arena. A `PrecisionPlan` holds one per graph node plus the storage type of
every activation tensor; where a consumer's activation type differs from the type its input is stored
in, the plan lists a `Conversion`, and both the C code (a quantize / dequantize / FP16<->FP32 step)
and the QDQ export (a QuantizeLinear/DequantizeLinear pair) follow that list. The plan is decided
once (mcuforge.allocate.plan) and only read afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

WEIGHT_FORMATS = ("fp32", "fp16", "int8", "int4", "int2")
ACTIVATION_TYPES = ("fp32", "fp16", "int8")
# Bits of storage per weight / activation value, by format name.
BITS = {"fp32": 32, "fp16": 16, "int8": 8, "int4": 4, "int2": 2}
# The numpy dtype an activation type is stored as in the arena.
NUMPY_DTYPE = {"fp32": "float32", "fp16": "float16", "int8": "int8"}


@dataclass(frozen=True)
class Precision:
    """weights: format of the layer's constant weights (fp32 | fp16 | int8 | int4 | int2); activations: the type of
    the tensors the layer reads and writes (fp32 | fp16 | int8). A layer without weights (pooling,
    Add, Reshape, ...) has weights equal to its activations, which means nothing for it."""

    weights: str
    activations: str

    @property
    def weight_bits(self) -> int:
        return BITS[self.weights]

    @property
    def name(self) -> str:
        """`int8` for W8A8 and likewise for the uniform pairs, else e.g. `w8a16`."""
        if self.weights == self.activations:
            return self.weights
        return f"w{BITS[self.weights]}a{BITS[self.activations]}"


# The (weights, activations) pairs the kernels implement today. FP16 activations with int8/int4
# weights (A16W8, A16W4) join through the same table when their kernels exist.
SUPPORTED: tuple[Precision, ...] = (
    Precision("fp32", "fp32"),
    Precision("fp16", "fp16"),
    Precision("int8", "int8"),
    Precision("int4", "int8"),
    Precision("int2", "int8"),
)
# --precision spellings: every layer with weights gets this pair; int4 = W4A8, int2 = W2A8.
UNIFORM: Mapping[str, Precision] = {
    "fp32": Precision("fp32", "fp32"), "fp16": Precision("fp16", "fp16"), "int8": Precision("int8", "int8"),
    "int4": Precision("int4", "int8"), "int2": Precision("int2", "int8"),
}


def supported_text() -> str:
    """The supported pairs for messages and --help: `fp32/fp32, fp16/fp16, int8/int8` (weights/activations)."""
    return ", ".join(f"{p.weights}/{p.activations}" for p in SUPPORTED)


@dataclass(frozen=True)
class Conversion:
    """`tensor`, stored as `src`, is read by a layer computing in `dst`: the copy `name` holds it as `dst`."""

    tensor: str
    src: str
    dst: str
    name: str


@dataclass(frozen=True)
class PrecisionPlan:
    """layers: node name -> Precision for every node; tensors: activation tensor -> its storage type
    (a node's outputs are stored in the node's activation type; a graph input in the type its readers
    use when they agree, else fp32); conversions: one per (tensor, type) some reader needs, in
    graph order."""

    layers: Mapping[str, Precision]
    tensors: Mapping[str, str]
    conversions: tuple[Conversion, ...] = ()
    weight_layers: frozenset[str] = frozenset()  # the nodes whose precision includes a weight format

    def of(self, node: str) -> Precision:
        return self.layers[node]

    def reads(self, node_name: str, tensor: str) -> str:
        """The tensor name node `node_name` reads for activation `tensor` (its converted copy if any)."""
        want = self.layers[node_name].activations
        if self.tensors.get(tensor, want) == want:
            return tensor
        for c in self.conversions:
            if c.tensor == tensor and c.dst == want:
                return c.name
        raise KeyError(f"no conversion of '{tensor}' to {want} for node '{node_name}'")

    @property
    def int8_layers(self) -> frozenset[str]:
        return frozenset(n for n, p in self.layers.items() if p.activations == "int8")

    @property
    def name(self) -> str:
        """The --precision spelling every layer follows (fp32, fp16, int8, int4, int2), or "mixed"."""
        weights = {self.layers[n] for n in self.weight_layers}
        acts = {p.activations for p in self.layers.values()}
        if len(weights) > 1 or len(acts) > 1:
            return "mixed"
        if not weights:
            return next(iter(acts), "fp32")
        p = weights.pop()
        return next((k for k, u in UNIFORM.items() if u == p), "mixed")
