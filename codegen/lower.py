"""Lower a normalised Graph to a Program: codegen's IR passes, one resolver per op (codegen/ops), the
conversions between layers of different precision, then the arena plan.

Every resolver validates its node and computes everything the kernel needs (params structs, weight
layouts); emission afterwards only prints. Errors name the node and what is wrong.
"""
from __future__ import annotations

import dataclasses

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Graph
from mcuforge.core.precision import PrecisionPlan
from mcuforge.core.quantized import QuantizedModel
from mcuforge.core.targets import Target
from mcuforge.codegen import ops  # noqa: F401  (registers the resolvers)
from mcuforge.codegen.context import RESOLVERS, LowerCtx, c_ident
from mcuforge.codegen.fusion import move_activation_into_pool
from mcuforge.codegen.memory import ArenaPlan, Lifetime, live_lower_bound, plan_arena
from mcuforge.codegen.ops.convert import conversion_steps, input_steps, output_steps
from mcuforge.codegen.program import Buffer, Program, Step

SCRATCH_SLACK = 0.08


def supported_ops() -> set[str]:
    """ONNX op types code generation can lower."""
    return set(RESOLVERS)


def lower(graph: Graph, plan: PrecisionPlan, target: Target, quant: QuantizedModel | None = None,
          name: str = "model") -> Program:
    """Resolve every node to kernel calls in its planned precision, convert between neighbours whose
    types differ, and plan the arena. `quant` is needed when any layer is int8."""
    unsupported = [n for n in graph.nodes if n.op not in RESOLVERS]
    if unsupported:
        listed = "\n".join(f"  node '{n.name}': {n.op}" for n in unsupported)
        raise McufError(f"code generation has no kernel for {len(unsupported)} node(s):\n{listed}")
    if plan.int8_layers and quant is None:
        raise McufError(f"int8 layers ({', '.join(sorted(plan.int8_layers)[:5])}, ...) need the quantized model")
    graph = move_activation_into_pool(graph, plan, target)
    ctx = LowerCtx(graph, plan, target, quant, name)

    # Each conversion right after its tensor is written (graph inputs: before the first layer), so
    # it is done once for every reader in its type.
    pending = {}
    for c in plan.conversions:
        pending.setdefault(c.tensor, []).append(c)
    steps: list[Step] = list(input_steps(ctx))
    n_in = len(steps)
    for t in graph.inputs:
        for c in pending.pop(t.name, []):
            steps.extend(conversion_steps(ctx, c))
    for node in graph.nodes:
        reads = tuple(plan.reads(node.name, x) if x and x in plan.tensors else x for x in node.inputs)
        steps.extend(RESOLVERS[node.op](dataclasses.replace(node, inputs=reads), ctx))
        for y in node.outputs:
            for c in pending.pop(y, []):
                steps.extend(conversion_steps(ctx, c))
    out_steps = output_steps(ctx)
    steps.extend(out_steps)

    buffers, lifetimes, aliases = _buffers_and_lifetimes(ctx, steps)
    tensor_bound = live_lower_bound(lt for lt in lifetimes if not lt.name.startswith("scratch:"))
    # Wider bands run faster (bigger matmuls, fewer passes): banded scratch may take holes up to
    # SCRATCH_SLACK past the tensors' peak, never past what the packed plan needs for one band each.
    arena = plan_arena(lifetimes, grow_limit=int(tensor_bound * (1 + SCRATCH_SLACK)))
    bad = arena.overlapping_pairs()
    if bad:  # the planner's own invariant: cannot happen unless plan_arena is broken
        raise AssertionError(f"arena plan overlaps: {bad}")
    steps, buffers = _with_planned_scratch(steps, buffers, arena)
    offsets = dict(arena.offsets)
    for alias, root in aliases.items():
        offsets[alias] = offsets[root]

    return Program(
        name=name,
        precision=plan.name,
        inputs=tuple(Buffer(f"in_{c_ident(t.name)}", t.name, "float", tuple(t.shape)) for t in graph.inputs),
        outputs=tuple(Buffer(f"out_{c_ident(t.name)}", t.name, "float", tuple(t.shape)) for t in graph.outputs),
        steps=tuple(steps[n_in:len(steps) - len(out_steps)]),
        consts=tuple(ctx.consts),
        buffers=buffers,
        offsets=offsets,
        arena_bytes=arena.total,
        # The bound counts tensors only: scratch is the kernels' choice, the tensors are the model's.
        arena_lower_bound=tensor_bound,
        input_convert=tuple(steps[:n_in]),
        output_convert=tuple(out_steps),
        layer_precisions=tuple((n.name, plan.of(n.name).weights if n.name in plan.weight_layers else None,
                                plan.of(n.name).activations) for n in graph.nodes),
        conversions=tuple((f"convert {c.tensor}", c.src, c.dst) for c in plan.conversions),
        target=target,
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


def _buffers_and_lifetimes(ctx: LowerCtx, steps: list[Step]):
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
        buffers[t] = Buffer(cname, t, ctx.ctype(t), ctx.shape(t))

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
