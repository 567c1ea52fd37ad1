"""Decide each layer's precision: the `--precision` default, overridden per layer by an allocation file.

`read_allocation` reads a file shaped like the `allocation.json` compile writes (a hand-edited one,
or one from an earlier compile) and checks it against the graph; `plan_precisions` turns the choice
into a PrecisionPlan: every node's Precision, every activation tensor's storage type, and the
conversions between neighbours that compute in different types. (The OHQ allocator will produce the
same per-layer choice from measured costs and sensitivities.)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Graph, Node, has_constant_weight
from mcuforge.core.precision import (ACTIVATION_TYPES, BITS, SUPPORTED, WEIGHT_FORMATS, Conversion, Precision,
                                     PrecisionPlan, supported_text)

def _entry_precision(path: Path, i: int, entry: Mapping[str, Any], node: Node, graph: Graph) -> Precision:
    where = f"{path}: layers[{i}] ('{node.name}', {node.op})"
    w, a = entry.get("weights"), entry.get("activations")
    for key, val, allowed in (("weights", w, WEIGHT_FORMATS), ("activations", a, ACTIVATION_TYPES)):
        if val is not None and val not in allowed:
            raise McufError(f"{where}: {key} '{val}' is not one of {', '.join(allowed)}")
    if not has_constant_weight(node, graph):
        # Only the activation type means something here; weights, if given, must not contradict it.
        act = a or w
        if act is None:
            raise McufError(f"{where}: give 'activations' ({', '.join(ACTIVATION_TYPES)})")
        if act not in ACTIVATION_TYPES:
            raise McufError(f"{where}: activations '{act}' is not one of {', '.join(ACTIVATION_TYPES)}")
        if w is not None and a is not None and w != a:
            raise McufError(f"{where}: a layer without weights has no weight format; "
                            f"weights '{w}' differs from activations '{a}' (drop 'weights')")
        return Precision(act, act)
    if w is None and a is None:
        raise McufError(f"{where}: give 'weights' and 'activations' (supported weights/activations: {supported_text()})")
    matches = [p for p in SUPPORTED if (w is None or p.weights == w) and (a is None or p.activations == a)]
    if not matches:
        raise McufError(f"{where}: weights '{w}' with activations '{a}' is not a supported combination; "
                        f"supported weights/activations: {supported_text()}")
    if len(matches) > 1:
        raise McufError(f"{where}: give both 'weights' and 'activations' (supported: {supported_text()})")
    p = matches[0]
    bits = entry.get("bits")
    if bits is not None and bits != BITS[p.weights]:
        raise McufError(f"{where}: 'bits' {bits} contradicts weights '{p.weights}' ({BITS[p.weights]} bits); "
                        "change 'weights' (bits is only reported)")
    return p


def read_allocation(path: Path, graph: Graph) -> dict[str, Precision]:
    """The per-layer precisions an allocation file fixes, by node name. The file is
    {"layers": [{"name": NODE, "weights": FORMAT, "activations": TYPE}, ...]} with extra fields ignored
    (so a previous allocation.json works as it is); unknown or repeated names are errors."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise McufError(f"allocation file '{path}' does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise McufError(f"cannot read allocation file '{path}': {e}") from None
    except json.JSONDecodeError as e:
        raise McufError(f"{path}: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("layers"), list):
        raise McufError(f'{path}: expected an object with a "layers" list, e.g. '
                        '{"layers": [{"name": "<ONNX node>", "weights": "int8", "activations": "int8"}]}')
    nodes = {n.name: n for n in graph.nodes}
    chosen: dict[str, Precision] = {}
    for i, entry in enumerate(doc["layers"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise McufError(f'{path}: layers[{i}] must be an object with a "name" (the ONNX node)')
        name = entry["name"]
        if name not in nodes:
            valid = ", ".join(f"'{n.name}' ({n.op})" for n in graph.nodes)
            raise McufError(f"{path}: layers[{i}] names '{name}', which is not a layer of this model "
                            f"(fused activations and folded BatchNorms are not layers). Layers: {valid}")
        if name in chosen:
            raise McufError(f"{path}: layer '{name}' is named twice (layers[{i}])")
        chosen[name] = _entry_precision(path, i, entry, nodes[name], graph)
    return chosen


def plan_precisions(graph: Graph, default: Precision, fixed: Mapping[str, Precision] | None = None) -> PrecisionPlan:
    """Every node's precision (`fixed` where given, else `default`), every activation's storage type,
    and the conversions where a reader computes in another type than its input is stored in."""
    fixed = dict(fixed or {})
    weighted = frozenset(n.name for n in graph.nodes if has_constant_weight(n, graph))

    def own(n: Node, p: Precision) -> Precision:
        # a layer without weights computes in its activation type; a weight format means nothing to it
        return p if n.name in weighted else Precision(p.activations, p.activations)

    layers = {n.name: own(n, fixed.get(n.name, default)) for n in graph.nodes}
    tensors: dict[str, str] = {}
    for t in graph.inputs:
        readers = {layers[c.name].activations for c in graph.consumers(t.name)}
        # Converted straight from the caller's floats when every reader agrees; else kept in fp32 so
        # no reader gets its values through a lossier type.
        tensors[t.name] = readers.pop() if len(readers) == 1 else "fp32"
    for n in graph.nodes:
        for y in n.outputs:
            tensors[y] = layers[n.name].activations
    conversions: dict[tuple[str, str], Conversion] = {}
    taken = set(graph.tensors) | set(graph.constants)
    for n in graph.nodes:
        want = layers[n.name].activations
        for x in n.inputs:
            if not x or x in graph.constants or x not in tensors or tensors[x] == want or (x, want) in conversions:
                continue
            name = f"{x}__{want}"
            while name in taken:
                name += "_"
            taken.add(name)
            conversions[(x, want)] = Conversion(x, tensors[x], want, name)
    return PrecisionPlan(layers=layers, tensors=tensors, conversions=tuple(conversions.values()), weight_layers=weighted)
