"""The lowered program: what codegen knows once every node has been resolved to kernel calls.

Plain frozen data. Op modules (codegen/ops/*) produce `Step`s and `Const`s; the planner assigns arena
offsets to `Buffer`s; templates print the result without doing arithmetic.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from mcuforge.core.targets import Target

import numpy as np

CTYPES = {"float32": "float", "float16": "mcuf_f16", "int8": "int8_t", "uint8": "uint8_t",
          "int32": "int32_t", "int16": "int16_t"}
ITEMSIZE = {"float": 4, "mcuf_f16": 2, "int8_t": 1, "uint8_t": 1, "int32_t": 4, "int16_t": 2}


@dataclass(frozen=True)
class Buffer:
    """An activation tensor (or a step's scratch) living in the arena."""

    cname: str
    tensor: str
    ctype: str
    shape: tuple[int, ...]

    @property
    def elements(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.elements * ITEMSIZE[self.ctype]


@dataclass(frozen=True)
class Const:
    """A constant array in flash (weights, bias, tables). `values` is flat, already in `ctype`'s range."""

    cname: str
    ctype: str
    values: np.ndarray
    comment: str = ""

    @property
    def nbytes(self) -> int:
        return int(self.values.size) * ITEMSIZE[self.ctype]


@dataclass(frozen=True)
class Arg:
    """One argument of a kernel call: a buffer, a constant, the step's params or scratch, or a literal."""

    kind: str  # "buf" | "const" | "params" | "scratch" | "scratch_bytes" | "lit"
    value: str = ""
    offset: int = 0  # elements past the start of the buffer or constant


@dataclass(frozen=True)
class Step:
    """One kernel call (or none, for a view such as Reshape whose output aliases its input)."""

    node: str
    op: str
    comment: tuple[str, ...]
    func: str | None
    args: tuple[Arg, ...] = ()
    params_type: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    scratch_bytes: int = 0  # the most the kernel can use
    scratch_min: int = 0  # > 0: the kernel also works with any size down to this (banded)
    scratch_quantum: int = 0  # banded: sizes above scratch_min help only in whole steps of this (0: scratch_min)
    alias_of: str | None = None  # output shares the input's bytes (view ops)
    in_place: bool = False  # output may take the input's bytes when the input dies here
    macs: int = 0


@dataclass(frozen=True)
class Program:
    """Everything the templates need, with arena offsets resolved. `precision` is the uniform
    precision's name (fp32, fp16, int8) or "mixed"."""

    name: str
    precision: str
    inputs: tuple[Buffer, ...]
    outputs: tuple[Buffer, ...]
    steps: tuple[Step, ...]
    consts: tuple[Const, ...]
    buffers: Mapping[str, Buffer]
    offsets: Mapping[str, int]
    arena_bytes: int
    arena_lower_bound: int
    header_lines: tuple[str, ...] = ()
    kernel_files: tuple[str, ...] = ()
    input_convert: tuple[Step, ...] = ()
    output_convert: tuple[Step, ...] = ()
    # (node, weights, activations) in graph order; weights None for a layer without weights
    layer_precisions: tuple[tuple[str, str | None, str], ...] = ()
    conversions: tuple[tuple[str, str, str], ...] = ()  # (step node "convert <tensor>", from, to)
    target: Target | None = None  # what the program was lowered for (kernel variants, platform files)

    @property
    def flash_bytes(self) -> int:
        return sum(c.nbytes for c in self.consts)

    @property
    def macs(self) -> int:
        return sum(s.macs for s in self.steps)

    @property
    def layer_nodes(self) -> tuple[str, ...]:
        """ONNX node names in call order, once each (a node may lower to several steps)."""
        seen: list[str] = []
        for s in self.steps:
            if not seen or seen[-1] != s.node:
                seen.append(s.node)
        return tuple(seen)
