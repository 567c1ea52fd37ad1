"""Integer reference evaluation of a QuantizedModel: the arithmetic the int8 C kernels implement.

Every layer follows the formulas in mcuforge.quantize.quantizer's docstring with int64 numpy arithmetic
(int32 accumulators never overflow for the layer sizes mcuforge accepts; the C kernels use int32),
so generated C can be compared with it bit for bit. Only Softmax goes through float32 (dequantize,
softmax, quantize), as the QDQ model does. Against onnxruntime on the exported QDQ model the results
agree to within one step (onnxruntime requantizes with a float32 multiplier).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from mcuforge.core.errors import McufError
from mcuforge.core.ir import Node
from mcuforge.core.quantized import ACT_QMAX, ACT_QMIN, LayerQuant, QuantizedModel
from mcuforge.quantize.quantizer import dequantize_values, quantize_values, requantize
from mcuforge.quantize.fixedpoint import rounding_rshift


def _zp(qm: QuantizedModel, t: str) -> int:
    return int(qm.tensor_qparams[t].zero_point)


def _rq(acc: np.ndarray, lq: LayerQuant, key: str, channel_axis: int | None = None) -> np.ndarray:
    r = lq.requant[key]
    m, s = r.multiplier, r.shift
    if channel_axis is not None and m.ndim == 1:
        shape = [1] * acc.ndim
        shape[channel_axis] = -1
        m, s = m.reshape(shape), s.reshape(shape)
    return requantize(acc, m, s)


def _finish(qm: QuantizedModel, lq: LayerQuant, scaled: np.ndarray) -> np.ndarray:
    """Add the zero point, clamp, and apply a fused table activation."""
    if lq.lut is not None:
        p = np.clip(scaled + _zp(qm, lq.preact), ACT_QMIN, ACT_QMAX)
        return lq.lut[p + 128].astype(np.int64)
    return np.clip(scaled + _zp(qm, lq.output), *lq.clamp)


def _windows(x: np.ndarray, kernel, strides, pads, out_hw, fill) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """[N, C, OH, OW, KH, KW] windows of x padded with `fill`, plus masks (same shape, without N, C)
    of positions inside the input and inside the padded input."""
    n, c, h, w = x.shape
    kh, kw = kernel
    sh, sw = strides
    oh, ow = out_hw
    # room for ceil_mode windows that run past the padded input
    eh = max(0, (oh - 1) * sh + kh - (h + pads[0] + pads[2]))
    ew = max(0, (ow - 1) * sw + kw - (w + pads[1] + pads[3]))
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2] + eh), (pads[1], pads[3] + ew)), constant_values=fill)
    inside = np.zeros(xp.shape[2:], bool)
    inside[pads[0]:pads[0] + h, pads[1]:pads[1] + w] = True
    padded = np.zeros(xp.shape[2:], bool)
    padded[:h + pads[0] + pads[2], :w + pads[1] + pads[3]] = True
    idx_h = (np.arange(oh) * sh)[:, None] + np.arange(kh)[None, :]
    idx_w = (np.arange(ow) * sw)[:, None] + np.arange(kw)[None, :]
    win = xp[:, :, idx_h[:, None, :, None], idx_w[None, :, None, :]]  # N, C, OH, OW, KH, KW
    m_in = inside[idx_h[:, None, :, None], idx_w[None, :, None, :]]
    m_pad = padded[idx_h[:, None, :, None], idx_w[None, :, None, :]]
    return win, m_in, m_pad


def _conv(qm: QuantizedModel, n: Node, lq: LayerQuant, x: np.ndarray, out_shape) -> np.ndarray:
    a = n.attrs
    w = qm.qconstants[lq.weight].astype(np.int64)
    xz = x - _zp(qm, n.inputs[0])  # padding is real 0, i.e. 0 after removing the zero point
    win, _, _ = _windows(xz, a["kernel_shape"], a["strides"], a["pads"], out_shape[2:], 0)
    g = a["group"]
    o, cg = w.shape[:2]
    acc = np.concatenate([
        np.einsum("nchwij,ocij->nohw", win[:, k * cg:(k + 1) * cg], w[k * (o // g):(k + 1) * (o // g)])
        for k in range(g)
    ], axis=1)
    acc = acc + qm.qconstants[lq.bias].astype(np.int64)[None, :, None, None]
    return _finish(qm, lq, _rq(acc, lq, "out", channel_axis=1))


def run_int(qm: QuantizedModel, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Evaluate `qm` on one sample of float inputs; returns the int8 value of every activation."""
    g = qm.graph
    v: dict[str, np.ndarray] = {}
    for t in g.inputs:
        v[t.name] = quantize_values(np.asarray(feeds[t.name], np.float32), qm.tensor_qparams[t.name]).astype(np.int64)
    for name, q in qm.qconstants.items():
        if qm.tensor_qparams[name].bits == 8 and name not in {n.inputs[1] for n in g.nodes if n.op in ("Conv", "Gemm")}:
            v[name] = q.astype(np.int64)  # constant operands of Add/Mul/Concat
    for n in g.nodes:
        lq = qm.layers[n.name]
        y = n.outputs[0]
        shape = g.tensors[y].shape
        x = v.get(n.inputs[0])
        op = n.op
        if op == "Conv":
            out = _conv(qm, n, lq, x, shape)
        elif op in ("Gemm", "MatMul") and lq.weight is not None:
            w = qm.qconstants[lq.weight].astype(np.int64)
            xz = x - _zp(qm, n.inputs[0])
            acc = xz @ (w.T if op == "Gemm" else w)
            if lq.bias is not None:
                acc = acc + qm.qconstants[lq.bias].astype(np.int64)
            out = _finish(qm, lq, _rq(acc, lq, "out", channel_axis=acc.ndim - 1))
        elif op in ("MatMul", "Mul", "Gemm"):
            a, b = (v[t] - _zp(qm, t) for t in n.inputs[:2])
            acc = a @ b if op != "Mul" else a * b
            out = _finish(qm, lq, _rq(acc, lq, "out"))
        elif op == "Add":
            a, b = n.inputs
            ra, rb = lq.requant["a"], lq.requant["b"]
            total = (v[a] - _zp(qm, a)) * int(ra.multiplier) + (v[b] - _zp(qm, b)) * int(rb.multiplier)
            out = _finish(qm, lq, rounding_rshift(total, 31 - int(ra.shift)))
        elif op == "MaxPool":
            win, _, _ = _windows(x, n.attrs["kernel_shape"], n.attrs["strides"], n.attrs["pads"], shape[2:], ACT_QMIN)
            out = win.max(axis=(4, 5))
        elif op == "AveragePool":
            a = n.attrs
            win, m_in, m_pad = _windows(x - _zp(qm, n.inputs[0]), a["kernel_shape"], a["strides"], a["pads"], shape[2:], 0)
            # onnxruntime's QDQ AveragePool (QLinearAveragePool) divides by kh*kw whenever
            # count_include_pad is set, also for ceil-mode windows hanging off the padded input
            # (its float AveragePool counts only cells of the padded input there)
            counts = np.full(m_in.shape[:2], m_in.shape[2] * m_in.shape[3]) if a["count_include_pad"] \
                else m_in.sum(axis=(2, 3))  # OH, OW
            total = (win * m_pad).sum(axis=(4, 5))
            r = lq.requant["out"]
            out = _finish(qm, lq, requantize(total, r.multiplier[counts - 1], r.shift[counts - 1]))
        elif op == "GlobalAveragePool":
            total = (x - _zp(qm, n.inputs[0])).sum(axis=(2, 3), keepdims=True)
            out = _finish(qm, lq, _rq(total, lq, "out"))
        elif op == "Concat":
            parts = [_rq(v[t] - _zp(qm, t), lq, f"in{i}") + _zp(qm, y) for i, t in enumerate(n.inputs)]
            out = np.clip(np.concatenate(parts, axis=n.attrs["axis"]), ACT_QMIN, ACT_QMAX)
        elif op in ("Reshape", "Flatten"):
            out = x.reshape(shape)
        elif op == "Transpose":
            out = x.transpose(n.attrs["perm"])
        elif op == "Pad":
            mode = {"constant": "constant", "reflect": "reflect", "edge": "edge"}[n.attrs["mode"]]
            p = n.attrs["pads"]
            r = len(p) // 2
            widths = [(p[i], p[r + i]) for i in range(r)]
            kw = {"constant_values": lq.pad_value} if mode == "constant" else {}
            out = np.pad(x, widths, mode=mode, **kw)
        elif op == "Softmax":
            f = dequantize_values(x, qm.tensor_qparams[n.inputs[0]])
            e = np.exp(f - f.max(axis=n.attrs["axis"], keepdims=True))
            out = quantize_values((e / e.sum(axis=n.attrs["axis"], keepdims=True)).astype(np.float32),
                                  qm.tensor_qparams[y]).astype(np.int64)
        elif lq.lut is not None:  # standalone elementwise activation
            out = lq.lut[x + 128].astype(np.int64)
        else:
            raise McufError(f"node '{n.name}' ({op}): no integer reference")
        v[y] = np.asarray(out, np.int64).reshape(shape)
    return {k: val.astype(np.int8) for k, val in v.items() if k in g.tensors and k not in g.constants}
