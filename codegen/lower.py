"""Lower a normalised Graph to a Program: one resolver per op (codegen/ops), then the arena plan.

Every resolver validates its node and computes everything the kernel needs (params structs, folded
constants); emission afterwards only prints. Errors name the node and what is wrong.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Graph, Node, QuantParams

from mcuforge.codegen.memory import ArenaPlan, Lifetime, live_lower_bound, plan_arena
from mcuforge.codegen.program import CTYPES, Arg, Buffer, Const, Program, Step

PRECISIONS = ("fp32", "fp16", "int8")
SCRATCH_SLACK = 0.08
ACT_CTYPE = {"fp32": "float", "fp16": "mcuf_f16", "int8": "int8_t"}


def c_ident(name: str) -> str:
    """A C identifier derived from an ONNX name (deterministic, readable)."""
    s = re.sub(r"[^0-9A-Za-z_]", "_", name).strip("_") or "t"
    return s if not s[0].isdigit() else f"t_{s}"


@dataclass
class LowerCtx:
    """What a resolver may read (graph, precision, quantization) and the constants it adds."""

    graph: Graph
    precision: str
    name: str = "model"
    qparams: Mapping[str, QuantParams] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    consts: list[Const] = field(default_factory=list)
    _const_names: set[str] = field(default_factory=set)
    tensor_ctype: dict[str, str] = field(default_factory=dict)
    extra_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)  # tensors codegen adds (pre-activation)

    @property
    def act_ctype(self) -> str:
        return ACT_CTYPE[self.precision]

    @property
    def sfx(self) -> str:
        """Kernel dtype suffix of the activations for float precisions."""
        return {"fp32": "f32", "fp16": "f16", "int8": "s8"}[self.precision]

    def shape(self, tensor: str) -> tuple[int, ...]:
        if tensor in self.extra_shapes:
            return self.extra_shapes[tensor]
        return tuple(self.graph.tensors[tensor].shape)

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

    def float_const(self, base: str, values: np.ndarray, comment: str = "") -> str:
        """A constant in the activation float type (float or mcuf_f16)."""
        ctype = "mcuf_f16" if self.precision == "fp16" else "float"
        dtype = np.float16 if ctype == "mcuf_f16" else np.float32
        return self.add_const(base, ctype, np.asarray(values, dtype=dtype), comment)


Resolver = Callable[[Node, LowerCtx], list[Step]]
_RESOLVERS: dict[str, Resolver] = {}


def resolver(*ops: str) -> Callable[[Resolver], Resolver]:
    """Register a resolver for ONNX op types."""
    def deco(fn: Resolver) -> Resolver:
        for op in ops:
            _RESOLVERS[op] = fn
        return fn
    return deco


def supported_ops() -> set[str]:
    from mcuforge.codegen import ops  # noqa: F401
    return set(_RESOLVERS)


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def node_comment(node: Node, ctx: LowerCtx, detail: str = "") -> tuple[str, ...]:
    """The comment before a layer call: ONNX node, op, key attributes, shapes, quantization."""
    ins = ", ".join(f"{t} {_fmt_shape(ctx.shape(t))}" for t in node.inputs if t and t in ctx.graph.tensors
                    and ctx.const(t) is None)
    outs = ", ".join(f"{t} {_fmt_shape(ctx.shape(t))}" for t in node.outputs)
    lines = [f'node "{node.name}": {node.op}' + (f" {detail}" if detail else ""), f"{ins} -> {outs}"]
    act = node.attrs.get("activation")
    if act:
        lines.append("fused activation: " + " ".join(str(a) for a in act))
    for t in (*node.inputs, *node.outputs):
        q = ctx.qparams.get(t) if t else None
        if q is not None and q.axis is None and ctx.const(t) is None:
            lines.append(f"{t}: scale {float(np.ravel(q.scale)[0]):.6g} zero_point {int(np.ravel(q.zero_point)[0])}")
    return tuple(lines)


def lower(graph: Graph, precision: str, name: str = "model", qparams: Mapping[str, QuantParams] | None = None,
          extra: Mapping[str, Any] | None = None) -> Program:
    """Resolve every node to kernel calls and plan the arena."""
    from mcuforge.codegen import ops  # noqa: F401

    if precision not in PRECISIONS:
        raise McufError(f"precision '{precision}' is not one of {', '.join(PRECISIONS)}")
    unsupported = [n for n in graph.nodes if n.op not in _RESOLVERS]
    if unsupported:
        listed = "\n".join(f"  node '{n.name}': {n.op}" for n in unsupported)
        raise McufError(f"code generation has no kernel for {len(unsupported)} node(s):\n{listed}")
    ctx = LowerCtx(graph, precision, name, dict(qparams or {}), dict(extra or {}))

    from mcuforge.codegen.ops.convert import input_steps, output_steps

    steps: list[Step] = list(input_steps(ctx))
    n_in = len(steps)
    for node in graph.nodes:
        steps.extend(_RESOLVERS[node.op](node, ctx))
    out_steps = output_steps(ctx)
    steps.extend(out_steps)

    buffers, lifetimes, aliases = _buffers_and_lifetimes(graph, ctx, steps)
    tensor_bound = live_lower_bound(lt for lt in lifetimes if not lt.name.startswith("scratch:"))
    # Wider bands run faster (bigger matmuls, fewer passes): banded scratch may take holes up to
    # SCRATCH_SLACK past the tensors' peak, never past what the packed plan needs for one band each.
    plan = plan_arena(lifetimes, grow_limit=int(tensor_bound * (1 + SCRATCH_SLACK)))
    bad = plan.overlapping_pairs()
    if bad:  # the planner's own invariant: cannot happen unless plan_arena is broken
        raise AssertionError(f"arena plan overlaps: {bad}")
    steps, buffers = _with_planned_scratch(steps, buffers, plan)
    offsets = dict(plan.offsets)
    for alias, root in aliases.items():
        offsets[alias] = offsets[root]

    return Program(
        name=name,
        precision=precision,
        inputs=tuple(Buffer(f"in_{c_ident(t.name)}", t.name, "float", tuple(t.shape)) for t in graph.inputs),
        outputs=tuple(Buffer(f"out_{c_ident(t.name)}", t.name, "float", tuple(t.shape)) for t in graph.outputs),
        steps=tuple(steps[n_in:len(steps) - len(out_steps)]),
        consts=tuple(ctx.consts),
        buffers=buffers,
        offsets=offsets,
        arena_bytes=plan.total,
        # The bound counts tensors only: scratch is the kernels' choice, the tensors are the model's.
        arena_lower_bound=tensor_bound,
        input_convert=tuple(steps[:n_in]),
        output_convert=tuple(out_steps),
    )


def _with_planned_scratch(steps: list[Step], buffers: dict[str, Buffer],
                          plan: ArenaPlan) -> tuple[list[Step], dict[str, Buffer]]:
    """Steps and buffers with each step's scratch at the size the planner gave it."""
    sizes = {lt.name: lt.size for lt in plan.lifetimes if lt.name.startswith("scratch:")}
    out_steps = []
    buffers = dict(buffers)
    for i, st in enumerate(steps):
        sname = f"scratch:{i}"
        if sname in sizes:
            st = dataclasses.replace(st, scratch_bytes=sizes[sname])
            buffers[sname] = dataclasses.replace(buffers[sname], shape=(sizes[sname],))
        out_steps.append(st)
    return out_steps, buffers


def _buffers_and_lifetimes(graph: Graph, ctx: LowerCtx, steps: list[Step]):
    """Buffers for every tensor the steps touch, and their lifetimes (views share their root's)."""
    buffers: dict[str, Buffer] = {}
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    aliases: dict[str, str] = {}
    elastic: dict[str, tuple[int, int]] = {}  # banded scratch: its most useful size and growth quantum (the buffer holds its least)

    used_names: set[str] = set()

    def ensure(t: str) -> None:
        if t in buffers:
            return
        cname = "t_" + c_ident(t)
        while cname in used_names:
            cname += "_"
        used_names.add(cname)
        buffers[t] = Buffer(cname, t, ctx.tensor_ctype.get(t, ctx.act_ctype), ctx.shape(t))

    def root(t: str) -> str:
        while t in aliases:
            t = aliases[t]
        return t

    for i, st in enumerate(steps):
        for t in st.reads:
            ensure(t)
            r = root(t)
            last[r] = max(last.get(r, i), i)
            first.setdefault(r, i)
        for t in st.writes:
            ensure(t)
            if st.alias_of is not None:
                aliases[t] = st.alias_of
                r = root(t)
                last[r] = max(last.get(r, i), i)
            else:
                first.setdefault(t, i)
                last[t] = max(last.get(t, i), i)
        if st.scratch_bytes:
            sname = f"scratch:{i}"
            least = st.scratch_min if 0 < st.scratch_min < st.scratch_bytes else st.scratch_bytes
            buffers[sname] = Buffer(f"scratch_{i}", sname, "uint8_t", (least,))
            first[sname] = last[sname] = i
            if least < st.scratch_bytes:
                elastic[sname] = (st.scratch_bytes, st.scratch_quantum)
    # The caller's input and output pointers stay outside the arena: edge steps copy/convert them
    # into and out of arena buffers, so every kernel sees the precision's own type.
    lifetimes = [Lifetime(t, buffers[t].nbytes, first[t], last[t], *elastic.get(t, (0, 0))) for t in first if t not in aliases]
    return buffers, lifetimes, aliases
