"""SmoothQuant (Xiao et al.): move activation outliers into the weights, folded at compile time.

For a weight layer L computing W X, per input channel j: s_j = max|X_j|^alpha / max|W_j|^(1 - alpha),
X' = X / s, W' = W diag(s): W' X' = W X exactly. On an MCU the division by s folds into the layer
P that produces X: P's output channel j (its weight row j and bias j) is divided by s_j. That is exact
when P's output reaches L only through ops that commute with a positive per-channel scale:

    P (Conv / Gemm / MatMul with constant weight; fused activation none, Relu, LeakyRelu or Clip(0, inf))
      -> [standalone Relu / LeakyRelu / Clip(0, inf) / MaxPool]* -> L

(Relu(x / s) = Relu(x) / s and max(x / s) = max(x) / s for s > 0; Clip(0, 6) does not commute), every tensor on the way read only by
the next op and not a graph output, and P's channels on the axis L reads as input channels (conv to
conv, or Gemm/MatMul to Gemm/MatMul). The constants changed must belong to P and L alone. A layer
without such a producer (fed by the graph input, an Add, a Reshape, ...) is left as it is.

`smooth_graph` rewrites the float graph (still the same function, to float rounding); the quantizer
then sees the smoothed ranges and weights. `max|X_j|` comes from mcuforge.quantize.layer_inputs.
"""
from __future__ import annotations

import math
from typing import Collection, Mapping

import numpy as np

from mcuforge.core.ir import Activation, Graph, Node, activation_of
from mcuforge.frontend.rewrite import replace_graph, use_counts
from mcuforge.quantize.layer_inputs import LayerStats, is_weight_layer, layer_groups

S_MIN, S_MAX = 1e-5, 1e5


def commutes(act: Activation) -> bool:
    """act(x / s) = act(x) / s for every s > 0: Relu, LeakyRelu, Clip(0 or -inf, +inf)."""
    if act.kind == "Clip":
        return act.hi == math.inf and act.lo in (0.0, -math.inf)
    return act.kind in ("Relu", "LeakyRelu")


def smoothing_factors(act_absmax: np.ndarray, w_absmax: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """s_j = act_j^alpha / w_j^(1 - alpha), 1 where either is 0, clipped to [1e-5, 1e5]."""
    a = np.asarray(act_absmax, np.float64)
    w = np.asarray(w_absmax, np.float64)
    ok = (a > 0) & (w > 0)
    s = np.ones_like(a)
    s[ok] = a[ok] ** alpha / w[ok] ** (1.0 - alpha)
    return np.clip(s, S_MIN, S_MAX)


def _channel_view(node: Node, w: np.ndarray) -> tuple[np.ndarray, int]:
    """Weight of layer `node` as [.., C_in, ..]: returns (array, input-channel axis) where the
    array is reshaped so that the axis enumerates the layer's C_in input channels."""
    if node.op == "Conv":
        g = layer_groups(node)
        oc, cg = w.shape[:2]
        return w.reshape(g, oc // g, cg, *w.shape[2:]), 2  # [G, og, Cg, kh, kw]: channel = (g, c)
    if node.op == "Gemm" and node.attrs.get("transB"):
        return w, 1
    return w, 0  # MatMul / Gemm transB=0: [K, N]


def input_channel_absmax(node: Node, graph: Graph) -> np.ndarray:
    """max |W_j| over everything input channel j of layer `node` touches ([C_in])."""
    w = np.abs(np.asarray(graph.constants[node.inputs[1]], np.float64))
    if node.op == "Conv":
        v, _ = _channel_view(node, w)
        return v.max(axis=(1, 3, 4)).reshape(-1)  # [G, Cg] -> C_in
    view, axis = _channel_view(node, w)
    return view.max(axis=1 - axis)


def _scale_inputs(node: Node, w: np.ndarray, s: np.ndarray) -> np.ndarray:
    """W' = W with input channel j multiplied by s_j."""
    if node.op == "Conv":
        v, _ = _channel_view(node, w)
        g, _, cg = v.shape[:3]
        return (v * s.reshape(g, 1, cg, 1, 1)).reshape(w.shape)
    _, axis = _channel_view(node, w)
    return w * (s[None, :] if axis == 1 else s[:, None])


def _scale_outputs(node: Node, w: np.ndarray, bias: np.ndarray | None, s: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray | None]:
    """Producer weights and bias with output channel j divided by s_j."""
    if node.op == "Conv" or (node.op == "Gemm" and node.attrs.get("transB")):
        w2 = w / s.reshape(-1, *([1] * (w.ndim - 1)))
    else:  # [K, N]
        w2 = w / s[None, :]
    b2 = None if bias is None else bias / s  # [N] or a full [M, N] bias: the channel is the last axis
    return w2, b2


def foldable_producer(graph: Graph, node: Node) -> Node | None:
    """The layer P whose output channels can absorb 1/s of `node`'s input channels (module doc), or None."""
    uses = use_counts(graph)
    outputs = {t.name for t in graph.outputs}
    cur = node.inputs[0]
    while True:
        if cur in outputs or uses.get(cur, 0) != 1 or cur in graph.constants:
            return None
        p = graph.producer(cur)
        if p is None:
            return None
        if p.op == "MaxPool" or (p.op in ("Relu", "LeakyRelu", "Clip") and commutes(activation_of(p))):
            cur = p.inputs[0]
            continue
        break
    if not is_weight_layer(p, graph):
        return None
    act = p.attrs.get("activation")
    if act is not None and not commutes(act):
        return None
    if (p.op == "Conv") != (node.op == "Conv"):
        return None
    own = [p.inputs[1], node.inputs[1]] + ([p.inputs[2]] if len(p.inputs) > 2 and p.inputs[2] else [])
    for c in own:
        if c not in graph.constants or uses.get(c, 0) != 1:
            return None
    return p


def smooth_graph(graph: Graph, stats: Mapping[str, LayerStats | np.ndarray], alpha: float = 0.5,
                 layers: Collection[str] | None = None) -> tuple[Graph, dict[str, np.ndarray]]:
    """Apply SmoothQuant to every weight layer with a foldable producer (or to the named `layers`).

    stats: per layer, its LayerStats (absmax used) or the max|X_j| array itself, from the float graph.
    Returns the rewritten graph and the factors s by layer name. Layers are handled in graph order;
    each factor uses the layer's current weights (a layer both smoothed and producer for the next is
    rescaled along its columns, then along its rows) and the float graph's activation maxima, which
    the earlier rewrites leave unchanged for the layer being handled."""
    consts = dict(graph.constants)
    factors: dict[str, np.ndarray] = {}
    for node in graph.nodes:
        if not is_weight_layer(node, graph) or (layers is not None and node.name not in layers):
            continue
        st = stats.get(node.name)
        if st is None:
            continue
        prod = foldable_producer(graph, node)
        if prod is None:
            continue
        act = np.asarray(st.absmax if isinstance(st, LayerStats) else st, np.float64)
        current = replace_graph(graph, constants=consts)
        s = smoothing_factors(act, input_channel_absmax(node, current), alpha)
        wl = consts[node.inputs[1]].astype(np.float64)
        consts[node.inputs[1]] = _scale_inputs(node, wl, s).astype(np.float32)
        bias_name = prod.inputs[2] if len(prod.inputs) > 2 and prod.inputs[2] else None
        wp = consts[prod.inputs[1]].astype(np.float64)
        bp = consts[bias_name].astype(np.float64) if bias_name else None
        wp2, bp2 = _scale_outputs(prod, wp, bp, s)
        consts[prod.inputs[1]] = wp2.astype(np.float32)
        if bias_name:
            consts[bias_name] = bp2.astype(np.float32)
        factors[node.name] = s
    return replace_graph(graph, constants=consts), factors


__all__ = ["smooth_graph", "smoothing_factors", "foldable_producer", "input_channel_absmax"]
