"""Graph-rewrite helpers the front-end passes share.

A `Graph` is frozen: these build changed copies of nodes and graphs, rename tensors, remove a node
that only aliases its input (`bypass`), add constants under unused names, prune what the outputs do
not need and cut a graph at chosen outputs. `node_error` is the user error naming a node.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Mapping

import numpy as np

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Graph, Node, TensorInfo, frozen_map


def node_error(node: Node, msg: str) -> McufError:
    """The user error for `node`: its name and op, then `msg`."""
    return McufError(f"node '{node.name}' ({node.op}): {msg}")


def replace_node(node: Node, **changes: Any) -> Node:
    """A copy of `node` with `changes` (attrs frozen)."""
    if "attrs" in changes:
        changes["attrs"] = frozen_map(changes["attrs"])
    return dataclasses.replace(node, **changes)


def replace_graph(graph: Graph, **changes: Any) -> Graph:
    """A copy of `graph` with `changes` (mappings frozen, sequences made tuples)."""
    for key in ("tensors", "constants", "source_qparams"):
        if key in changes:
            changes[key] = frozen_map(changes[key])
    for key in ("nodes", "inputs", "outputs"):
        if key in changes:
            changes[key] = tuple(changes[key])
    return dataclasses.replace(graph, **changes)


def use_counts(graph: Graph) -> dict[str, int]:
    """How many node inputs and graph outputs read each tensor."""
    counts: dict[str, int] = {}
    for n in graph.nodes:
        for t in n.inputs:
            counts[t] = counts.get(t, 0) + 1
    for t in graph.outputs:
        counts[t.name] = counts.get(t.name, 0) + 1
    return counts


def rename_tensors(graph: Graph, mapping: Mapping[str, str]) -> Graph:
    """Rename tensors everywhere (node inputs/outputs, graph inputs/outputs, tensors, constants)."""
    if not mapping:
        return graph

    def r(t: str) -> str:
        return mapping.get(t, t)

    nodes = [replace_node(n, inputs=tuple(map(r, n.inputs)), outputs=tuple(map(r, n.outputs))) for n in graph.nodes]
    return replace_graph(
        graph,
        nodes=nodes,
        inputs=[dataclasses.replace(t, name=r(t.name)) for t in graph.inputs],
        outputs=[dataclasses.replace(t, name=r(t.name)) for t in graph.outputs],
        tensors={r(k): dataclasses.replace(v, name=r(k)) for k, v in graph.tensors.items()},
        constants={r(k): v for k, v in graph.constants.items()},
        source_qparams={r(k): v for k, v in graph.source_qparams.items()},
    )


def bypass(graph: Graph, node: Node, src: str, dst: str) -> Graph:
    """Remove `node`, which computes `dst` as an alias of `src`, keeping graph output names."""
    graph = replace_graph(graph, nodes=[n for n in graph.nodes if n is not node])
    outputs = {t.name for t in graph.outputs}
    inputs = {t.name for t in graph.inputs}
    if dst in outputs:
        if src in inputs or src in graph.constants or src in outputs:
            raise node_error(node, f"cannot remove: graph output '{dst}' would alias input/constant/output '{src}'")
        # the producer of src writes dst directly
        return rename_tensors(graph, {src: dst})
    nodes = [replace_node(n, inputs=tuple(src if t == dst else t for t in n.inputs)) for n in graph.nodes]
    tensors = {k: v for k, v in graph.tensors.items() if k != dst}
    return replace_graph(graph, nodes=nodes, tensors=tensors)


def new_const(consts: dict, tensors: dict, name: str, value: np.ndarray) -> str:
    """Add `value` to `consts` and `tensors` under `name` (suffixed `_1`, `_2`, ... if taken); returns the name."""
    base, k = name, 1
    while name in consts or name in tensors:
        name, k = f"{base}_{k}", k + 1
    consts[name] = value
    tensors[name] = TensorInfo(name, tuple(value.shape), value.dtype.name)
    return name


def prune(graph: Graph) -> Graph:
    """Keep only what the graph outputs depend on."""
    needed = {t.name for t in graph.outputs}
    keep = []
    for n in reversed(graph.nodes):
        if any(o in needed for o in n.outputs):
            keep.append(n)
            needed.update(i for i in n.inputs if i)
    keep.reverse()
    used = needed | {t.name for t in graph.inputs}
    for n in keep:
        used.update(n.outputs)
    return replace_graph(
        graph,
        nodes=keep,
        constants={k: v for k, v in graph.constants.items() if k in used},
        tensors={k: v for k, v in graph.tensors.items() if k in used},
        source_qparams={k: v for k, v in graph.source_qparams.items() if k in used},
    )


def cut_outputs(graph: Graph, outputs: Iterable[str]) -> Graph:
    """Make `outputs` the graph outputs and drop every node they do not depend on."""
    names = list(outputs)
    produced = {o: n for n in graph.nodes for o in n.outputs}
    known = set(produced) | {t.name for t in graph.inputs}
    missing = [o for o in names if o not in known]
    if missing:
        sample = ", ".join(sorted(produced)[:30])
        raise McufError(f"--outputs: no tensor named {', '.join(map(repr, missing))} in the model; "
                        f"node outputs are: {sample}")
    outs = [graph.tensors.get(o, TensorInfo(o, (), "float32")) for o in names]
    return prune(replace_graph(graph, outputs=outs))
