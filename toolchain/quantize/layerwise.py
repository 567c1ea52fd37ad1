"""Weight quantization of a whole graph, layer by layer (mcuforge.quantize.weights on each weight layer).

- `quantize_layer`: one layer's weight matrix (mcuforge.quantize.layer_inputs.weight_matrix) with its
  Gram matrix, conv groups and kh*kw columns per input channel filled in.
- `quantize_weights`: every weight layer; with `sequential=True` each layer's statistics are
  collected on the graph whose earlier layers already have their quantized-dequantized weights (GPTQ's
  "quantize layers in sequence on inputs produced by the already-quantized earlier layers"), else
  all from the float graph.
- `fake_quantize`: the float graph with weights replaced by their quantized-dequantized values
  (float activations): for accuracy studies of the weight quantization alone.
"""
from __future__ import annotations

from typing import Collection, Iterable, Mapping

import numpy as np

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Graph, Node
from mcuforge.frontend.rewrite import replace_graph
from mcuforge.quantize.layer_inputs import (LayerStats, collect_layer_stats, cols_per_channel, layer_groups,
                                            weight_from_matrix, weight_layers, weight_matrix)
from mcuforge.quantize.weights import WeightQuant, layer_objective, quantize_matrix

NEEDS_STATS = ("gptq", "quantease")


def needs_stats(method: str, granularity: str) -> bool:
    """Whether quantizing with `method` at `granularity` needs the layer's Gram matrix."""
    return method in NEEDS_STATS or granularity == "adadim"


def gram_of(stats: LayerStats | np.ndarray | None) -> np.ndarray | None:
    return stats.gram if isinstance(stats, LayerStats) else stats


def quantize_layer(graph: Graph, node: Node, bits: int, *, method: str = "rtn", granularity: str = "oc",
                   group_size: int | None = None, stats: LayerStats | np.ndarray | None = None,
                   **options) -> WeightQuant:
    """Quantize the weight of one weight layer (keywords of mcuforge.quantize.weights.quantize_matrix)."""
    gram = gram_of(stats)
    if gram is None and needs_stats(method, granularity):
        raise McufError(f"node '{node.name}' ({node.op}): {method}/{granularity} weight quantization needs "
                        "calibration statistics of the layer's inputs (mcuforge.quantize.layer_inputs)")
    try:
        return quantize_matrix(weight_matrix(node, graph), bits, method=method, granularity=granularity,
                               group_size=group_size, gram=gram, cols_per_channel=cols_per_channel(node, graph),
                               groups=layer_groups(node), **options)
    except McufError as e:
        raise McufError(f"node '{node.name}' ({node.op}): {e}") from None


def replace_weights(graph: Graph, matrices: Mapping[str, np.ndarray]) -> Graph:
    """`graph` with the weights of the named layers replaced by [N, K] matrices (weight_matrix view).
    A constant shared by several nodes is not rewritten in place: the node gets a copy of its own."""
    consts = dict(graph.constants)
    nodes = list(graph.nodes)
    tensors = dict(graph.tensors)
    for i, n in enumerate(nodes):
        if n.name not in matrices:
            continue
        value = weight_from_matrix(n, graph, matrices[n.name]).astype(np.float32)
        name = n.inputs[1]
        shared = sum(name in m.inputs for m in graph.nodes) > 1
        if shared:
            new = f"{name}_{n.name}"
            k = 1
            while new in consts or new in tensors:
                new, k = f"{name}_{n.name}_{k}", k + 1
            tensors[new] = tensors[name].__class__(new, tensors[name].shape, tensors[name].dtype)
            nodes[i] = n.__class__(n.name, n.op, (n.inputs[0], new, *n.inputs[2:]), n.outputs, n.attrs, n.domain)
            name = new
        consts[name] = value
    return replace_graph(graph, nodes=nodes, constants=consts, tensors=tensors)


def fake_quantize(graph: Graph, results: Mapping[str, WeightQuant]) -> Graph:
    """The float graph with each named layer's weight replaced by its quantized-dequantized values."""
    return replace_weights(graph, {name: r.dequantized() for name, r in results.items()})


def quantize_weights(graph: Graph, bits: int | Mapping[str, int], *, method: str = "rtn",
                     granularity: str = "oc", group_size: int | None = None,
                     stats: Mapping[str, LayerStats | np.ndarray] | None = None,
                     samples: Iterable[Mapping[str, np.ndarray]] | None = None, sequential: bool = False,
                     layers: Collection[str] | None = None, **options) -> dict[str, WeightQuant]:
    """Quantize the weights of every weight layer (or of `layers`), in graph order.

    bits: one width, or {node: bits} (others 8). stats: precomputed LayerStats by node; else, when
    the method needs them, collected from `samples` on the float graph, or with `sequential` on the
    graph whose earlier layers are already fake-quantized (one pass over the samples per layer)."""
    nodes = [n for n in weight_layers(graph) if layers is None or n.name in set(layers)]
    need = needs_stats(method, granularity)
    if sequential and samples is None:
        raise McufError("sequential layer-wise quantization needs the calibration samples")
    samples = list(samples) if samples is not None else None
    if need and not sequential and stats is None:
        if samples is None:
            raise McufError(f"{method}/{granularity} weight quantization needs layer statistics or calibration samples")
        stats = collect_layer_stats(graph, samples, [n.name for n in nodes])
    results: dict[str, WeightQuant] = {}
    current = graph
    for n in nodes:
        b = bits if isinstance(bits, int) else int(bits.get(n.name, 8))
        if sequential:
            st = collect_layer_stats(current, samples, [n.name])[n.name] if need else None
        else:
            st = stats.get(n.name) if stats is not None else None
        results[n.name] = quantize_layer(graph, n, b, method=method, granularity=granularity,
                                         group_size=group_size, stats=st, **options)
        if sequential:
            current = fake_quantize(current, {n.name: results[n.name]})
    return results


__all__ = ["quantize_layer", "quantize_weights", "fake_quantize", "replace_weights", "needs_stats", "gram_of"]


def output_errors(graph: Graph, qmodel, stats: Mapping[str, LayerStats]) -> dict[str, float]:
    """Per integer weight layer of `qmodel`, the layer objective relative to its output's energy,
    ||W X - W^ X||^2 / ||W X||^2 over the calibration inputs whose Gram matrices `stats` hold
    (W^ the dequantized weights): where a model's quantization error comes from."""
    errors = {}
    for name, lq in qmodel.layers.items():
        if lq.weight is None or name not in stats:
            continue
        node = graph.node(name)
        qp = qmodel.tensor_qparams[lq.weight]
        q = np.asarray(qmodel.qconstants[lq.weight], np.float64)
        shape = [1] * q.ndim
        shape[qp.axis] = -1
        w_hat = replace_graph(graph, constants={**graph.constants, lq.weight: (q * np.asarray(qp.scale, np.float64)
                                                                               .reshape(shape)).astype(np.float32)})
        w = weight_matrix(node, graph)
        gram = gram_of(stats[name])
        energy = layer_objective(w, np.zeros_like(w), gram)
        errors[name] = layer_objective(w, weight_matrix(node, w_hat), gram) / energy if energy > 0 else 0.0
    return errors
