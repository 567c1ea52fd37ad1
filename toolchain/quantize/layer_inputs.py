"""Calibration statistics of the inputs of every weight layer, accumulated sample by sample.

For each weight layer (Conv; Gemm and MatMul with a constant 2-D weight) of a normalised graph:
- `gram`: sum over the calibration data of x x^T, x one column of the layer's input matrix X (the
  im2col columns of a conv, in the order of its weight reshaped [OC, C/G*kh*kw]: channel, then kernel
  row, then kernel column; a row of a Gemm's A), float64; one [K, K] matrix per conv group
  ([G, K, K], G = 1 for everything but grouped / depthwise convs). This is what GPTQ's H = 2 X X^T and
  QuantEase's Sigma = X X^T need (mcuforge.quantize.weights), and ||W X - W^ X||^2 =
  tr((W - W^) gram (W - W^)^T).
- `absmax`: max |x_j| per input channel of the layer (a conv's input channel, a Gemm's input
  feature), for SmoothQuant (mcuforge.quantize.smoothquant).

The float model (mcuforge.frontend.to_onnx) runs in onnxruntime with the layer inputs added as
graph outputs, one sample at a time (the graphs have batch 1), so no activation is kept beyond the
sample being processed: memory is the K x K accumulators.

The weight matrix view shared with the quantizer: `weight_matrix` gives W [N, K] of a layer (rows
output channels, columns matching the Gram matrix), `weight_from_matrix` puts a matrix back into the
constant's layout.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Iterable, Mapping

import numpy as np
import onnx
from onnx import helper

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Graph, Node
from mcuforge.frontend.onnx_io import elem_type
from mcuforge.frontend.to_onnx import preact_name, to_onnx


@dataclass(frozen=True)
class LayerStats:
    """Input statistics of one weight layer (see the module doc). `columns`: input vectors summed
    into `gram` (im2col columns over all samples); `samples`: calibration samples."""

    node: str
    gram: np.ndarray  # float64 [G, K, K]
    absmax: np.ndarray  # float64 [C_in]
    columns: int
    samples: int


def is_weight_layer(node: Node, graph: Graph) -> bool:
    """Conv, Gemm (transA = 0) or MatMul whose weight is a constant (2-D for MatMul)."""
    if node.op == "Conv":
        return node.inputs[1] in graph.constants
    if node.op == "Gemm":
        return node.inputs[1] in graph.constants and not node.attrs.get("transA")
    if node.op == "MatMul":
        return node.inputs[1] in graph.constants and graph.constants[node.inputs[1]].ndim == 2
    return False


def weight_layers(graph: Graph) -> list[Node]:
    return [n for n in graph.nodes if is_weight_layer(n, graph)]


def layer_groups(node: Node) -> int:
    """Conv groups (1 for everything else)."""
    return int(node.attrs.get("group", 1)) if node.op == "Conv" else 1


def cols_per_channel(node: Node, graph: Graph) -> int:
    """Columns of the weight matrix that belong to one input channel (kh*kw for a conv)."""
    if node.op == "Conv":
        return int(np.prod(graph.constants[node.inputs[1]].shape[2:]))
    return 1


def weight_matrix(node: Node, graph: Graph) -> np.ndarray:
    """W [N, K] of a weight layer: a conv's [OC, C/G, kh, kw] reshaped, a Gemm's B as [N, K]
    (transposed when transB = 0), a MatMul's [K, N] transposed."""
    w = np.asarray(graph.constants[node.inputs[1]], np.float32)
    if node.op == "Conv":
        return w.reshape(w.shape[0], -1)
    if node.op == "Gemm" and node.attrs.get("transB"):
        return w
    return w.T


def weight_from_matrix(node: Node, graph: Graph, m: np.ndarray) -> np.ndarray:
    """Inverse of `weight_matrix`: the [N, K] matrix `m` in the layout of the node's constant."""
    shape = graph.constants[node.inputs[1]].shape
    if node.op == "Conv" or (node.op == "Gemm" and node.attrs.get("transB")):
        return np.asarray(m).reshape(shape)
    return np.asarray(m).T.reshape(shape)


def im2col(x: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int], pads: tuple[int, int, int, int],
           out_hw: tuple[int, int]) -> np.ndarray:
    """Columns [C*kh*kw, OH*OW] of x [C, H, W] zero-padded by pads (top, left, bottom, right);
    row c*kh*kw + i*kw + j holds x[c, oh*sh + i - top, ow*sw + j - left]."""
    c = x.shape[0]
    kh, kw = kernel
    sh, sw = strides
    oh, ow = out_hw
    xp = np.pad(x, ((0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))  # C, H', W', kh, kw
    win = win[:, ::sh, ::sw][:, :oh, :ow]
    return win.transpose(0, 3, 4, 1, 2).reshape(c * kh * kw, oh * ow)


def layer_columns(node: Node, graph: Graph, x: np.ndarray) -> np.ndarray:
    """The layer's input matrix for one sample, [G, K, P] (P columns), from its input tensor x."""
    x = np.asarray(x, np.float64)
    if node.op == "Conv":
        a = node.attrs
        out_hw = graph.tensors[node.outputs[0]].shape[2:]
        cols = np.concatenate([im2col(xi, a["kernel_shape"], a["strides"], a["pads"], out_hw) for xi in x], axis=1)
        g = layer_groups(node)
        return cols.reshape(g, cols.shape[0] // g, cols.shape[1])
    k = x.shape[-1]
    return x.reshape(-1, k).T[None]


def channel_absmax(node: Node, x: np.ndarray) -> np.ndarray:
    """max |x| per input channel of the layer (axis 1 of a conv input, the last axis otherwise)."""
    a = np.abs(np.asarray(x, np.float64))
    if node.op == "Conv":
        return a.max(axis=(0, 2, 3))
    return a.reshape(-1, a.shape[-1]).max(axis=0)


class _Accumulator:
    def __init__(self, node: Node, graph: Graph) -> None:
        self.node = node
        self.graph = graph
        self.gram: np.ndarray | None = None
        self.absmax: np.ndarray | None = None
        self.columns = 0
        self.samples = 0

    def add(self, x: np.ndarray) -> None:
        cols = layer_columns(self.node, self.graph, x)
        g = np.einsum("gkp,glp->gkl", cols, cols)
        self.gram = g if self.gram is None else self.gram + g
        m = channel_absmax(self.node, x)
        self.absmax = m if self.absmax is None else np.maximum(self.absmax, m)
        self.columns += cols.shape[2]
        self.samples += 1

    def result(self) -> LayerStats:
        return LayerStats(self.node.name, self.gram, self.absmax, self.columns, self.samples)


def probe_model(graph: Graph, tensors: Iterable[str]) -> onnx.ModelProto:
    """The float ONNX model of `graph` with `tensors` added as graph outputs (pre-activation tensors
    of fused activations, `preact_name(output)`, included)."""
    model = to_onnx(graph)
    have = {o.name for o in model.graph.output} | {i.name for i in model.graph.input}
    infos = dict(graph.tensors)
    infos.update({preact_name(n.outputs[0]): graph.tensors[n.outputs[0]] for n in graph.nodes if "activation" in n.attrs})
    for t in dict.fromkeys(tensors):
        if t not in have:
            info = infos[t]
            model.graph.output.append(helper.make_tensor_value_info(t, elem_type(info.dtype), list(info.shape)))
            have.add(t)
    return model


def collect_layer_stats(graph: Graph, samples: Iterable[Mapping[str, np.ndarray]],
                        layers: Collection[str] | None = None) -> dict[str, LayerStats]:
    """LayerStats of every weight layer of `graph` (or of the named `layers`) over `samples`
    (dicts of graph input name -> array with batch 1, as calibration takes them)."""
    import onnxruntime as ort

    nodes = weight_layers(graph)
    if layers is not None:
        wanted = set(layers)
        unknown = sorted(wanted - {n.name for n in nodes})
        if unknown:
            raise McufError(f"{unknown} are not weight layers (Conv, Gemm, MatMul with a constant weight)")
        nodes = [n for n in nodes if n.name in wanted]
    if not nodes:
        return {}
    inputs = [n.inputs[0] for n in nodes]
    model = probe_model(graph, inputs)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    fetch = [t for t in dict.fromkeys(inputs) if t not in {i.name for i in graph.inputs}]
    accs = [_Accumulator(n, graph) for n in nodes]
    seen = 0
    for sample in samples:
        feeds = {t.name: np.asarray(sample[t.name], t.dtype) for t in graph.inputs}
        values = dict(zip(fetch, sess.run(fetch, feeds))) if fetch else {}
        values.update(feeds)
        for acc in accs:
            acc.add(values[acc.node.inputs[0]])
        seen += 1
    if not seen:
        raise McufError("layer statistics need at least one calibration sample")
    return {a.node.name: a.result() for a in accs}


__all__ = ["LayerStats", "collect_layer_stats", "weight_layers", "is_weight_layer", "weight_matrix",
           "weight_from_matrix", "layer_groups", "cols_per_channel", "im2col", "layer_columns",
           "channel_absmax", "probe_model"]
