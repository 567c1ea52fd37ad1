"""Codegen's own IR passes: rewrites that depend on the kernels chosen, decided once before lowering.

move_activation_into_pool: a Relu/Clip fused into an FP32 direct 3x3 conv whose output feeds only a
2x2 max pool fast path is applied by the pool instead. Monotonic activations commute with max, and
the pool sees 4x fewer values. The conv's output then holds pre-activation values no one else reads.
"""
from __future__ import annotations

import dataclasses

from mcuforge.core.ir import Graph, frozen_map
from mcuforge.core.precision import PrecisionPlan
from mcuforge.core.targets import Target
from mcuforge.codegen.choice import direct_3x3, maxpool_2x2_fast
from mcuforge.codegen.context import SUFFIX

MOVABLE = ("Relu", "Clip")


def move_activation_into_pool(graph: Graph, plan: PrecisionPlan, target: Target) -> Graph:
    """The graph with each movable conv activation moved onto its 2x2 max pool (attrs "activation",
    and "activation_from" naming the conv for the generated comment)."""
    outputs = {t.name for t in graph.outputs}
    moves: dict[str, tuple] = {}  # pool name -> (conv name, activation)
    for conv in graph.nodes:
        act = conv.attrs.get("activation")
        if conv.op != "Conv" or not act or act.kind not in MOVABLE or SUFFIX[plan.of(conv.name).activations] != "f32":
            continue
        w = graph.constants.get(conv.inputs[1])
        a = conv.attrs
        if w is None or int(a.get("group", 1)) != 1 or w.ndim != 4:
            continue
        if not direct_3x3(w.shape[2], w.shape[3], a["strides"][0], a["strides"][1], tuple(a["pads"]), "f32", target):
            continue
        y = conv.outputs[0]
        users = graph.consumers(y)
        if y in outputs or len(users) != 1 or users[0].op != "MaxPool":
            continue
        pool = users[0]
        if plan.of(pool.name).activations != "fp32" or "activation" in pool.attrs:
            continue
        if not maxpool_2x2_fast(pool.attrs, graph.tensors[y].shape, graph.tensors[pool.outputs[0]].shape,
                                len(pool.outputs), "f32"):
            continue
        moves[pool.name] = (conv.name, act)
    if not moves:
        return graph
    moved_from = {c: p for p, (c, _) in moves.items()}
    nodes = []
    for n in graph.nodes:
        if n.name in moved_from:
            n = dataclasses.replace(n, attrs=frozen_map({k: v for k, v in n.attrs.items() if k != "activation"}))
        elif n.name in moves:
            conv_name, act = moves[n.name]
            n = dataclasses.replace(n, attrs=frozen_map({**n.attrs, "activation": act, "activation_from": conv_name}))
        nodes.append(n)
    return dataclasses.replace(graph, nodes=tuple(nodes))
