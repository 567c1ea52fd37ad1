"""Integer quantization of a normalised graph (int8 activations, int8/int4/int2 weights).

Scheme (what mcuforge.export.qdq writes as QDQ and what the C kernels compute):
- Activations: int8 per tensor, asymmetric. The calibrated range is widened to include 0, then
  scale = (max - min) / 255 and zero_point = round_half_even(-128 - min / scale), onnxruntime's
  `compute_scale_zp` formula (scale stored as float32). A zero range gets scale 1, zero point 0.
  Data-movement ops (MaxPool, Reshape, Flatten, Transpose, Pad) give their output the input's
  parameters, so the kernel copies int8 values and the QDQ model's DQ->op->Q is exact.
- Weights: symmetric per output channel, RTN: scale[c] = max|w[c]| / qmax with qmax = 2^(bits-1) - 1
  (127, 7, 1 for 8, 4, 2 bits), q = clip(round_half_even(w / scale[c]), -qmax, qmax). Stored in an
  int8 array whatever the width (values in [-qmax, qmax]); the export packs int4/int2 natively.
  `method` other than "rtn" chooses the integers and the per-channel scales otherwise (MSE clipping
  search, GPTQ, QuantEase: mcuforge.quantize.weights); the layout stays per output channel.
- Bias: int32, scale[c] = s_in * s_w[c] (float32 product), zero point 0. A channel whose int32 bias
  would overflow (|bias / (s_in s_w)| >= 2^31, or the input zero point folded in, or the accumulator
  bound, overflows: a channel with near-zero weights and a nonzero bias) gets a larger weight scale,
  s_w[c] = |bias[c]| / (s_in 2^30) (mcuforge.quantize.fixedpoint.weight_scale_floor), and its
  weights are re-rounded (RTN) at that scale, as onnxruntime's quantizer raises weight scales for
  int32 biases. Channels that fit are untouched (so every model that quantized before is unchanged).
- Requantization in fixed point, computed here so the MCU needs no float: a real ratio M > 0 is
  `multiplier * 2^(shift - 31)` with multiplier an int32 in [2^30, 2^31) (Q31 of M's mantissa). The
  kernel computes round_half_even(acc * multiplier / 2^(31 - shift)) exactly in 64-bit integer
  arithmetic (`requantize` below is the reference); half to even as onnxruntime rounds in
  QuantizeLinear, so the C result agrees with the QDQ model to within one step at worst.

Per layer (`LayerQuant.requant` keys; every ratio maps an input's real-valued step to output steps):
- Conv, Gemm/MatMul with constant weights: "out"[c] = s_in * s_w[c] / s_y, where y is the output, or
  the pre-activation tensor when a non-clamping activation is fused (then `lut` maps it to the output).
  y = clamp(zp_y + requantize(sum((x - zp_x) * w) + bias, "out"), *clamp); with a `lut` (fused
  LeakyRelu/Sigmoid/HardSigmoid/HardSwish): p = clamp(zp_p + requantize(acc, "out"), -128, 127) in
  the `preact` tensor's parameters, then y = lut[p + 128]. The same holds for every op below that
  can carry a fused activation (Gemm, MatMul, Add).
- MatMul of two activations, Mul: "out" = s_a * s_b / s_y (per tensor).
- Add (the scheme of runtime_c's mcuf_add_s8): "a" = s_a / s_y and "b" = s_b / s_y on one shared
  shift (mcuforge.quantize.fixedpoint.quantize_multipliers_shared), one rounding of the int64 sum:
  y = clamp(zp_y + round_half_even(((a - zp_a) * m_a + (b - zp_b) * m_b) * 2^(shift - 31)), *clamp).
- GlobalAveragePool: "out" = s_x / (s_y * H * W) applied to the sum of (x - zp_x).
  AveragePool: "out"[k - 1] = s_x / (s_y * k) for k = 1 .. kh*kw, indexed by the window's divisor
  k: kh*kw when count_include_pad (as onnxruntime's QDQ AveragePool, even for ceil-mode windows
  hanging off the padded input), else the window's cells inside the input;
  y = zp_y + requantize(sum over the window's input cells of (x - zp_x), "out"[k - 1]).
- Concat: "in<i>" = s_i / s_y per input: y = zp_y + requantize(x_i - zp_i, "in<i>").
- Mul: y = clamp(zp_y + requantize((a - zp_a) * (b - zp_b), "out"), *clamp).
- Standalone Relu/Clip/LeakyRelu/Sigmoid/HardSigmoid/HardSwish: `lut`, 256 int8 entries indexed by
  q_in + 128 (a fused non-clamping activation has a `lut` from the pre-activation tensor too).
- Softmax: input and output parameters only (the kernel chooses its own integer method; the
  reference mcuforge.quantize.reference dequantizes, computes in float32 and quantizes, as the QDQ model does).
- Data-movement ops and the standalone table activations need no requantization.

mcuforge.quantize.reference evaluates a QuantizedModel with exactly this integer arithmetic (the bit-exact
reference for the C kernels).

Weight granularity and the int8 kernels (the decision for sub-byte weights): an int8-activation layer
keeps ONE weight scale per output channel, so its int32 bias has the single scale s_in * s_w[c] and
its accumulator one requantization ratio per channel. Per-input-channel (AdaDim's per-IC) and
group-wise weights have several scales inside one output's sum; an integer kernel would have to
accumulate each scale group in int32 and rescale per group (a fixed-point multiplier per (channel,
group) on a shared shift, then one rounding) -- neither the kernels nor mcuforge.quantize.reference
do that today. So `granularity` other than "oc" is refused for layers in `layers` (int8), and is a
weight-only transformation: layers named in `weight_only` (weight layers the plan computes with
float activations, the A16W4 / A16W2 path) get their weights quantized at any granularity into
`QuantizedModel.weight_only` (mcuforge.core.quantized.WeightOnlyQuant: integers and scales on the
[N, K] matrix view, per-IC / group-wise as ONNX blocked quantization along K), with no bias
quantization and no requantization: the float bias is added after the float (or dequantized)
product. The float graph and every other field are unchanged by them.
"""
from __future__ import annotations

from typing import Collection, Mapping

import numpy as np

from mcuforge.core.errors import McufError
from mcuforge.frontend.to_onnx import preact_name
from mcuforge.core.ir import Activation, Graph, Node, QuantParams, activation_of, frozen_map, has_constant_weight
from mcuforge.core.quantized import ACT_QMAX, ACT_QMIN, LayerQuant, QuantizedModel, Requant, WeightOnlyQuant
from mcuforge.quantize.fixedpoint import (check_accumulator_range, fold_bias, quantize_multipliers,
                                          quantize_multipliers_shared, rounding_rshift, weight_scale_floor)
from mcuforge.quantize.layer_inputs import LayerStats, is_weight_layer, weight_from_matrix, weight_matrix
from mcuforge.quantize.layerwise import gram_of, needs_stats, quantize_layer
from mcuforge.quantize.weights import GRANULARITIES, METHODS, SCALE_SEARCHES

ACT_BITS = 8
WEIGHT_BITS = (8, 4, 2)
PASSTHROUGH = frozenset({"MaxPool", "Reshape", "Flatten", "Transpose", "Pad"})
LUT_ACTS = frozenset({"LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Relu", "Clip"})


# ---------------------------------------------------------------------------------------------
# arithmetic helpers


def activation_qparams(lo: float, hi: float) -> QuantParams:
    """int8 asymmetric parameters for the range [lo, hi] (widened to include 0), as onnxruntime."""
    rmin = np.float32(min(lo, 0.0))
    rmax = np.float32(max(hi, 0.0))
    scale = (np.float64(rmax) - np.float64(rmin)) / (ACT_QMAX - ACT_QMIN)
    if scale < np.finfo(np.float32).tiny:
        return QuantParams(np.array(1.0, np.float32), np.array(0, np.int32))
    zp = np.round(ACT_QMIN - np.float64(rmin) / scale)
    return QuantParams(np.array(scale, np.float32), np.array(np.clip(zp, ACT_QMIN, ACT_QMAX), np.int32))


def quantize_weight(w: np.ndarray, bits: int, axis: int = 0) -> tuple[np.ndarray, QuantParams]:
    """Symmetric RTN per channel along `axis`: (int8 array of values in [-qmax, qmax], parameters)."""
    if bits not in WEIGHT_BITS:
        raise McufError(f"weight width {bits} bits is not supported; use one of {WEIGHT_BITS}")
    qmax = (1 << (bits - 1)) - 1
    w = np.asarray(w, np.float32)
    moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    absmax = np.abs(moved).max(axis=1) if moved.size else np.zeros(w.shape[axis], np.float32)
    scale = (absmax / np.float32(qmax)).astype(np.float32)
    scale[scale == 0] = 1.0  # an all-zero channel: any scale works, keep it finite
    shape = [1] * w.ndim
    shape[axis] = -1
    q = np.clip(np.round(w / scale.reshape(shape)), -qmax, qmax).astype(np.int8)
    return q, QuantParams(scale, np.zeros_like(scale, dtype=np.int32), bits=bits, signed=True, axis=axis)


def fit_bias(w: np.ndarray, q: np.ndarray, scale: np.ndarray, bias: np.ndarray | None, s_x: np.ndarray,
             in_zp: int, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights and per-channel scales with every channel's int32 bias in range (see the module doc).

    w: float weights [OC, K] (output channel first), q: their integers, scale: float32 [OC], bias: float
    [OC] or None, s_x: the input scale. Channels whose bias, folded bias or accumulator bound would
    overflow int32 get scale max(scale, weight_scale_floor(bias)) and q re-rounded at it; the others
    (and, when none overflows, the arrays themselves) are returned unchanged."""
    if bias is None:
        return q, scale
    b = np.asarray(bias, np.float64).reshape(-1)
    bscale = (s_x * scale).astype(np.float32).astype(np.float64)
    qb = np.round(b / bscale)
    q64 = q.reshape(q.shape[0], -1).astype(np.int64)
    folded = np.clip(qb, -(2**31), 2**31 - 1) - float(in_zp) * q64.sum(axis=1)
    bound = np.abs(folded) + 128.0 * np.abs(q64).sum(axis=1)
    bad = ((np.abs(qb) > 2**31 - 1) | (np.abs(folded) >= 2**31) | (bound >= 2**31)) & (b != 0)
    if not bad.any():
        return q, scale
    qmax = (1 << (bits - 1)) - 1
    scale = scale.copy()
    scale[bad] = np.maximum(scale[bad], weight_scale_floor(b[bad], float(s_x)))
    q = q.copy()
    w2 = np.asarray(w, np.float32).reshape(q.shape[0], -1)
    q.reshape(q.shape[0], -1)[bad] = np.clip(np.round(w2[bad] / scale[bad, None]), -qmax, qmax).astype(np.int8)
    return q, scale


def requant_of(ratio: np.ndarray | float) -> Requant:
    """The fixed-point Requant of ratio(s) in [0, 2^30), elementwise through
    mcuforge.quantize.fixedpoint.quantize_multiplier (relative error <= 2^-31; the C kernels'
    convention: shift in [-31, 30], a ratio below 2^-32 becomes (0, 0))."""
    mult, shift = quantize_multipliers(np.atleast_1d(np.asarray(ratio, np.float64)))
    shape = np.shape(ratio)
    return Requant(mult.reshape(shape), shift.reshape(shape))


def requantize(acc: np.ndarray, multiplier: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """round_half_even(acc * multiplier * 2^(shift - 31)) in exact 64-bit integer arithmetic
    (|acc| < 2^31), no zero point, no clamp. Broadcasts like numpy (per-channel on the matching
    axis is the caller's reshape). Same arithmetic as mcuforge.quantize.fixedpoint.requantize / the C kernels."""
    acc = np.asarray(acc, np.int64)
    return rounding_rshift(acc * np.asarray(multiplier, np.int64), 31 - np.asarray(shift, np.int64))


def quantize_values(x: np.ndarray, qp: QuantParams) -> np.ndarray:
    """Float -> int8 with per-tensor parameters, as QuantizeLinear: saturate(round_half_even(x / s) + zp)."""
    q = np.round(np.asarray(x, np.float32) / qp.scale.astype(np.float32)) + qp.zero_point
    return np.clip(q, qp.qmin, qp.qmax).astype(np.int8)


def dequantize_values(q: np.ndarray, qp: QuantParams) -> np.ndarray:
    return ((q.astype(np.int32) - qp.zero_point).astype(np.float32) * qp.scale.astype(np.float32)).astype(np.float32)


def _act_fn(act: Activation) -> callable:
    kind = act.kind
    if kind == "Relu":
        return lambda x: np.maximum(x, np.float32(0))
    if kind == "Clip":
        return lambda x: np.clip(x, np.float32(act.lo), np.float32(act.hi))
    if kind == "LeakyRelu":
        return lambda x: np.where(x >= 0, x, x * np.float32(act.alpha)).astype(np.float32)
    if kind == "Sigmoid":
        return lambda x: (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(np.float32)
    if kind == "HardSigmoid":
        return lambda x: np.clip(np.float32(act.alpha) * x + np.float32(act.beta), 0, 1).astype(np.float32)
    if kind == "HardSwish":
        return lambda x: (x * np.clip(x / np.float32(6) + np.float32(0.5), 0, 1)).astype(np.float32)
    raise McufError(f"activation {kind} has no int8 table")


def activation_lut(act: Activation, qin: QuantParams, qout: QuantParams) -> np.ndarray:
    """int8[256] table: lut[q + 128] = quantize(act(dequantize(q)))."""
    q = np.arange(ACT_QMIN, ACT_QMAX + 1, dtype=np.int32)
    return quantize_values(_act_fn(act)(dequantize_values(q, qin)), qout)


# ---------------------------------------------------------------------------------------------


def _weight_axis(node: Node, graph: Graph) -> int:
    """Output-channel axis of a node's constant weight."""
    if node.op == "Conv":
        return 0
    if node.op == "Gemm":
        return 0 if node.attrs.get("transB") else 1
    return graph.constants[node.inputs[1]].ndim - 1  # MatMul: [.., K, N]


def quantize_graph(graph: Graph, ranges: Mapping[str, tuple[float, float]],
                   weight_bits: Mapping[str, int] | int = 8, layers: Collection[str] | None = None, *,
                   method: str = "rtn", granularity: str | Mapping[str, str] = "oc", group_size: int | None = None,
                   stats: Mapping[str, LayerStats | np.ndarray] | None = None, scale_search: str = "absmax",
                   weight_only: Collection[str] | None = None) -> QuantizedModel:
    """Quantize a normalised graph with calibrated activation ranges (mcuforge.quantize.calibrate).

    weight_bits: one width for every weight layer, or {node name: bits} (others get 8).
    layers: the nodes computed in int8 (a mixed-precision plan's int8 layers); None: every node.
    Only those get a LayerQuant; every tensor they read or write gets parameters, so a float
    neighbour's output can be quantized into them and their output dequantized for it.
    A tensor missing from `ranges` takes its int8 parameters from graph.source_qparams (a model
    quantized elsewhere) when it has them.

    Weight quantization (mcuforge.quantize.weights; the defaults are today's RTN per output channel):
    method: "rtn" | "mse" | "gptq" | "quantease", for every weight layer. scale_search: "absmax" |
    "mse", how gptq / quantease choose their scales. granularity: "oc" | "ic" | "group" | "adadim",
    one for all or {node: granularity} (others "oc"); int8 layers take "oc" only (module doc).
    group_size: columns per scale ("group") or input channels per scale ("ic"). stats: the layers'
    input statistics by node name (mcuforge.quantize.layer_inputs.collect_layer_stats, or a Gram
    matrix), required for gptq, quantease and adadim. weight_only: weight layers computed with float
    activations (not in `layers`) whose weights are quantized weight-only into
    QuantizedModel.weight_only."""
    if method not in METHODS:
        raise McufError(f"weight quantization method '{method}' is unknown; choose one of {', '.join(METHODS)}")
    if scale_search not in SCALE_SEARCHES:
        raise McufError(f"scale search '{scale_search}' is unknown; choose one of {', '.join(SCALE_SEARCHES)}")
    selected = None if layers is None else set(layers)
    if selected is not None:
        unknown = sorted(selected - {n.name for n in graph.nodes})
        if unknown:
            raise McufError(f"layers {unknown} are not nodes of the graph")
    weight_nodes = [n for n in graph.nodes if has_constant_weight(n, graph)
                    and (selected is None or n.name in selected)]
    wo_nodes = _weight_only_nodes(graph, selected, weight_only)
    if isinstance(weight_bits, int):
        bits_of = {n.name: weight_bits for n in weight_nodes}
        wo_bits = {n.name: weight_bits for n in wo_nodes}
    else:
        names = {n.name for n in weight_nodes} | {n.name for n in wo_nodes}
        unknown = sorted(set(weight_bits) - names)
        if unknown:
            raise McufError(f"weight_bits names {unknown}, which are not weight layers; weight layers: {sorted(names)}")
        bits_of = {n.name: int(weight_bits.get(n.name, 8)) for n in weight_nodes}
        wo_bits = {n.name: int(weight_bits.get(n.name, 8)) for n in wo_nodes}
    for name, b in {**bits_of, **wo_bits}.items():
        if b not in WEIGHT_BITS:
            raise McufError(f"layer '{name}': weight width {b} is not supported; use one of {WEIGHT_BITS}")
    gran_of = _granularities(granularity, weight_nodes, wo_nodes)
    per_layer = [n for n in [*weight_nodes, *wo_nodes] if method != "rtn" or scale_search != "absmax"
                 or gran_of[n.name] != "oc"]
    for n in per_layer:
        if not is_weight_layer(n, graph):
            raise McufError(f"node '{n.name}' ({n.op}): {method}/{gran_of[n.name]} weight quantization needs a "
                            "Conv, Gemm or MatMul with a constant 2-D weight; use method 'rtn' per channel")
    missing = [n.name for n in per_layer if needs_stats(method, gran_of[n.name])
               and gram_of((stats or {}).get(n.name)) is None]
    if missing:
        raise McufError(f"{method}/{granularity} weight quantization needs calibration statistics of the inputs of "
                        f"layers {missing} (mcuforge.quantize.layer_inputs.collect_layer_stats)")

    qp: dict[str, QuantParams] = {}
    qconst: dict[str, np.ndarray] = {}
    layers_q: dict[str, LayerQuant] = {}

    def act_qp(t: str) -> QuantParams:
        if t not in qp:
            src = graph.source_qparams.get(t)
            if t in ranges:
                qp[t] = activation_qparams(*ranges[t])
            elif src is not None and src.bits == 8 and src.axis is None:
                # a model quantized elsewhere: keep its scale; uint8 zero points shift to int8
                zp = int(src.zero_point) - (0 if src.signed else 128)
                qp[t] = QuantParams(np.asarray(src.scale, np.float32), np.array(zp, np.int32))
            else:
                raise McufError(f"no calibrated range for tensor '{t}'; calibrate the same normalised graph")
        return qp[t]

    def const_operand(t: str) -> None:
        v = graph.constants[t].astype(np.float32)
        p = activation_qparams(float(v.min()), float(v.max()))
        qp[t] = p
        qconst[t] = quantize_values(v, p)

    for t in graph.inputs:
        if selected is None or any(c.name in selected for c in graph.consumers(t.name)):
            act_qp(t.name)
    for n in graph.nodes:
        if selected is not None and n.name not in selected:
            continue
        if n.op in ("QuantizeLinear", "DequantizeLinear"):
            raise McufError(f"node '{n.name}' ({n.op}): an unpaired quantization node cannot be re-quantized")
        x = n.inputs[0]
        y = n.outputs[0]
        act = n.attrs.get("activation")
        if n.op in PASSTHROUGH:
            qp[y] = act_qp(x)
            pad = None
            if n.op == "Pad" and n.attrs["mode"] == "constant":
                pad = int(quantize_values(np.array(n.attrs["value"], np.float32), qp[x]))
            layers_q[n.name] = LayerQuant(n.name, n.op, (x,), y, pad_value=pad)
            continue
        out_qp = act_qp(y)
        acc_t = y  # tensor whose parameters the accumulator is requantized to
        clamp = (ACT_QMIN, ACT_QMAX)
        lut = None
        if act is not None:
            if act.clamps:
                lo, hi = act.bounds
                qlo = ACT_QMIN if not np.isfinite(lo) else int(quantize_values(np.array(lo), out_qp))
                qhi = ACT_QMAX if not np.isfinite(hi) else int(quantize_values(np.array(hi), out_qp))
                clamp = (max(ACT_QMIN, qlo), min(ACT_QMAX, qhi))
            else:
                acc_t = preact_name(y)
                lut = activation_lut(act, act_qp(acc_t), out_qp)
        s_y = float(qp[acc_t].scale) if acc_t in qp else float(act_qp(acc_t).scale)
        common = dict(node=n.name, op=n.op, output=y, clamp=clamp, lut=lut,
                      preact=acc_t if acc_t != y else None)

        if has_constant_weight(n, graph):
            if n.op == "Gemm" and n.attrs.get("transA"):
                raise McufError(f"node '{n.name}' (Gemm): transA = 1 is not supported in int8")
            s_x = act_qp(x).scale.astype(np.float32)
            bits = bits_of[n.name]
            axis = _weight_axis(n, graph)
            if method == "rtn" and scale_search == "absmax":  # today's quantization, bit for bit
                wq, wqp = quantize_weight(graph.constants[n.inputs[1]], bits, axis)
            else:
                res = quantize_layer(graph, n, bits, method=method, granularity="oc",
                                     stats=(stats or {}).get(n.name), scale_search=scale_search)
                wq = weight_from_matrix(n, graph, res.q).astype(np.int8)
                s = res.scales[:, 0].astype(np.float32)
                wqp = QuantParams(s, np.zeros_like(s, dtype=np.int32), bits=bits, signed=True, axis=axis)
            bias = n.inputs[2] if len(n.inputs) > 2 and n.inputs[2] else None
            if bias is not None:
                if bias not in graph.constants:
                    raise McufError(f"node '{n.name}' ({n.op}): bias '{bias}' must be a constant")
                b = graph.constants[bias]
                if b.size == wqp.scale.shape[0]:
                    wq, wqp = _fit_bias_to_int32(n, graph, wq, wqp, b, s_x, int(act_qp(x).zero_point), axis)
            qp[n.inputs[1]], qconst[n.inputs[1]] = wqp, wq
            if bias is not None:
                bscale = (s_x * wqp.scale).astype(np.float32)
                b = graph.constants[bias].astype(np.float64).reshape(-1)
                if b.shape[0] != bscale.shape[0]:
                    raise McufError(f"node '{n.name}' ({n.op}): bias of shape {graph.constants[bias].shape} "
                                    f"is not per output channel ({bscale.shape[0]})")
                qb = np.clip(np.round(b / bscale.astype(np.float64)), -(2**31), 2**31 - 1).astype(np.int32)
                qp[bias] = QuantParams(bscale, np.zeros_like(qb), bits=32, signed=True, axis=0)
                qconst[bias] = qb
            ratio = np.float64(s_x) * wqp.scale.astype(np.float64) / s_y
            w2 = wq.reshape(wq.shape[0], -1) if axis == 0 else np.moveaxis(wq, axis, 0).reshape(wq.shape[axis], -1)
            try:
                acc_bias = fold_bias(qconst[bias] if bias is not None else None, w2, int(act_qp(x).zero_point))
                check_accumulator_range(w2, acc_bias)
            except McufError as e:
                raise McufError(f"node '{n.name}' ({n.op}): {e}") from None
            layers_q[n.name] = LayerQuant(inputs=(x,), weight=n.inputs[1], bias=bias, weight_bits=bits,
                                        requant=frozen_map({"out": requant_of(ratio)}), acc_bias=acc_bias,
                                        **common)
        elif n.op in ("MatMul", "Mul", "Gemm"):
            if n.op == "Gemm" and (len(n.inputs) > 2 and n.inputs[2]):
                raise McufError(f"node '{n.name}' (Gemm): int8 Gemm of two activations with a bias is not supported")
            a, b = n.inputs[0], n.inputs[1]
            for t in (a, b):
                const_operand(t) if t in graph.constants else act_qp(t)
            ratio = float(qp[a].scale) * float(qp[b].scale) / s_y
            layers_q[n.name] = LayerQuant(inputs=(a, b), requant=frozen_map({"out": requant_of(ratio)}),
                                        **common)
        elif n.op == "Add":
            a, b = n.inputs
            for t in (a, b):
                const_operand(t) if t in graph.constants else act_qp(t)
            (ma, mb), shift = quantize_multipliers_shared([float(qp[a].scale) / s_y, float(qp[b].scale) / s_y])
            rq = {k: Requant(np.array(m, np.int32), np.array(shift, np.int32)) for k, m in (("a", ma), ("b", mb))}
            layers_q[n.name] = LayerQuant(inputs=(a, b), requant=frozen_map(rq), **common)
        elif n.op in ("GlobalAveragePool", "AveragePool"):
            shape = graph.tensors[x].shape
            if n.op == "GlobalAveragePool":
                ratio = float(act_qp(x).scale) / (s_y * shape[2] * shape[3])
            else:
                counts = np.arange(1, int(np.prod(n.attrs["kernel_shape"])) + 1, dtype=np.float64)
                ratio = float(act_qp(x).scale) / (s_y * counts)
            layers_q[n.name] = LayerQuant(inputs=(x,), requant=frozen_map({"out": requant_of(ratio)}), **common)
        elif n.op == "Concat":
            rq = {}
            for i, t in enumerate(n.inputs):
                const_operand(t) if t in graph.constants else act_qp(t)
                rq[f"in{i}"] = requant_of(float(qp[t].scale) / s_y)
            layers_q[n.name] = LayerQuant(inputs=tuple(n.inputs), requant=frozen_map(rq), **common)
        elif n.op in LUT_ACTS:
            table = activation_lut(activation_of(n), act_qp(x), out_qp)
            layers_q[n.name] = LayerQuant(node=n.name, op=n.op, inputs=(x,), output=y, lut=table)
        elif n.op == "Softmax":
            act_qp(x)
            layers_q[n.name] = LayerQuant(inputs=(x,), **common)
        else:
            raise McufError(f"node '{n.name}' ({n.op}): no int8 quantization rule")
    weight_only_q: dict[str, WeightOnlyQuant] = {}
    for n in wo_nodes:
        res = quantize_layer(graph, n, wo_bits[n.name], method=method, granularity=gran_of[n.name],
                             group_size=group_size, stats=(stats or {}).get(n.name), scale_search=scale_search)
        weight_only_q[n.name] = WeightOnlyQuant(n.name, n.inputs[1], res.q, res.qparams(), res.granularity, res.method)
    return QuantizedModel(
        graph=graph,
        tensor_qparams=frozen_map(qp),
        qconstants=frozen_map(qconst),
        layers=frozen_map(layers_q),
        weight_bits=frozen_map(bits_of),
        weight_only=frozen_map(weight_only_q),
    )


def _weight_only_nodes(graph: Graph, selected: set[str] | None, weight_only: Collection[str] | None) -> list[Node]:
    if not weight_only:
        return []
    names = set(weight_only)
    nodes = [n for n in graph.nodes if n.name in names]
    unknown = sorted(names - {n.name for n in nodes})
    if unknown:
        raise McufError(f"weight_only names {unknown}, which are not nodes of the graph")
    for n in nodes:
        if not is_weight_layer(n, graph):
            raise McufError(f"node '{n.name}' ({n.op}): weight-only quantization needs a Conv, Gemm or MatMul "
                            "with a constant 2-D weight")
        if selected is None or n.name in selected:
            raise McufError(f"node '{n.name}' ({n.op}) is computed in int8 (it is in `layers`): weight-only "
                            "quantization is for layers with float activations")
    return nodes


def _granularities(granularity: str | Mapping[str, str], weight_nodes: list[Node], wo_nodes: list[Node]
                   ) -> dict[str, str]:
    """Granularity by layer; int8 layers must be per output channel (module doc)."""
    names = [n.name for n in (*weight_nodes, *wo_nodes)]
    if isinstance(granularity, str):
        gran_of = {name: granularity for name in names}
    else:
        unknown = sorted(set(granularity) - set(names))
        if unknown:
            raise McufError(f"granularity names {unknown}, which are not weight layers being quantized")
        gran_of = {name: granularity.get(name, "oc") for name in names}
    for name, g in gran_of.items():
        if g not in GRANULARITIES:
            raise McufError(f"layer '{name}': weight granularity '{g}' is unknown; choose one of {', '.join(GRANULARITIES)}")
    int8_non_oc = [n.name for n in weight_nodes if gran_of[n.name] != "oc"]
    if int8_non_oc:
        raise McufError(f"layers {int8_non_oc} compute with int8 activations, whose kernels requantize with one weight "
                        f"scale per output channel: use granularity 'oc' for them; per-IC, group-wise and AdaDim "
                        f"weights are weight-only (layers with float activations, passed as weight_only)")
    return gran_of


def _fit_bias_to_int32(node: Node, graph: Graph, wq: np.ndarray, wqp: QuantParams, bias: np.ndarray,
                       s_x: np.ndarray, in_zp: int, axis: int) -> tuple[np.ndarray, QuantParams]:
    """`fit_bias` on the weight's output-channel-first view; unchanged objects when nothing overflows."""
    w = np.asarray(graph.constants[node.inputs[1]], np.float32)
    w_oc = np.moveaxis(w, axis, 0)
    q_oc = np.moveaxis(wq, axis, 0)
    q2, s2 = fit_bias(w_oc, np.ascontiguousarray(q_oc), wqp.scale, bias, s_x, in_zp, wqp.bits)
    if s2 is wqp.scale:
        return wq, wqp
    return (np.ascontiguousarray(np.moveaxis(q2, 0, axis)),
            QuantParams(s2, wqp.zero_point, bits=wqp.bits, signed=True, axis=wqp.axis))
