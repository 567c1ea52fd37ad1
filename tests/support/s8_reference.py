"""Shared pieces of the int8 kernel tests: the cffi library, integer numpy references (built on
mcuforge.quantize.fixedpoint, the bit-exact model of the C requantization), one-node QDQ models for
onnxruntime, and a table of conv / fc cases used both on the host and under QEMU.

The integer references compute accumulators in int64 directly from the definition (padding with the
input zero point, grouped channel ranges), not the way the C code does it (packed weights, im2col),
so a layout or indexing bug in the kernel shows up as a mismatch.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from mcuforge.run.hostlib import load_library
from mcuforge.core.paths import RUNTIME_INCLUDE, RUNTIME_SRC
from mcuforge.codegen.layouts import (pack_conv_weights_s2, pack_conv_weights_s4, pack_conv_weights_s8,
                                      pack_dwconv_weights_s2, pack_dwconv_weights_s4, pack_fc_weights_s2,
                                      pack_fc_weights_s4, pack_fc_weights_s8)
from mcuforge.quantize.fixedpoint import fold_bias, quantize_multiplier, quantize_multipliers, requantize

# Every int8 kernel source and the public headers declaring them.
SOURCES = [RUNTIME_SRC / f"mcuf_{f}.c" for f in ("conv_s8", "dwconv_s8", "linear_s8", "pool_s8", "binary_s8", "requant")]
HEADERS = [RUNTIME_INCLUDE / f"mcuf_{f}.h" for f in ("conv", "dwconv", "linear", "pool", "binary", "requant")]
GUARD = 16
GUARD_BYTE = 0x5A


@lru_cache(maxsize=None)
def lib() -> tuple[Any, Any]:
    """(ffi, lib) of the int8 kernels."""
    return load_library(SOURCES, headers=HEADERS)


class GuardedS8:
    """int8 output buffer with GUARD bytes of a known pattern on each side."""

    def __init__(self, n: int):
        self.raw = np.full(n + 2 * GUARD, GUARD_BYTE, np.uint8).view(np.int8)
        self.out = self.raw[GUARD:GUARD + n]

    def ptr(self, ffi: Any) -> Any:
        return ffi.from_buffer("int8_t[]", self.raw) + GUARD

    def guards_intact(self) -> bool:
        return bool(np.all(self.raw[:GUARD].view(np.uint8) == GUARD_BYTE) and
                    np.all(self.raw[GUARD + len(self.out):].view(np.uint8) == GUARD_BYTE))


W_RANGE = {8: (-127, 127), 4: (-8, 7), 2: (-2, 1)}
CONV_FN = {8: "mcuf_conv2d_s8", 4: "mcuf_conv2d_s8w4", 2: "mcuf_conv2d_s8w2"}
FC_FN = {8: "mcuf_linear_s8_packed", 4: "mcuf_linear_s8w4", 2: "mcuf_linear_s8w2"}
DW_FN = {8: "mcuf_dwconv2d_s8", 4: "mcuf_dwconv2d_s8w4", 2: "mcuf_dwconv2d_s8w2"}
DW_PACK = {4: pack_dwconv_weights_s4, 2: pack_dwconv_weights_s2}
CONV_PACK = {8: pack_conv_weights_s8, 4: pack_conv_weights_s4, 2: pack_conv_weights_s2}
FC_PACK = {8: pack_fc_weights_s8, 4: pack_fc_weights_s4, 2: pack_fc_weights_s2}


# ------------------------------------------------------------------------------------------------
# Cases: a conv / fc layer with random data and the quantization parameters the compiler would pick.

@dataclass(frozen=True)
class ConvCase:
    C: int
    H: int
    W: int
    OC: int
    k: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, left, bottom, right
    group: int = 1
    relu: bool = False
    seed: int = 0
    wbits: int = 8  # 8, 4 or 2: weight width (4/2: mcuf_conv2d_s8w4 / _s8w2, values in their range)

    @property
    def out_hw(self) -> tuple[int, int]:
        kh, kw = self.k
        t, l, b, r = self.pads
        return (self.H + t + b - kh) // self.stride[0] + 1, (self.W + l + r - kw) // self.stride[1] + 1


@dataclass
class QuantConv:
    """A quantized conv layer: integer tensors, scales, and the offline-derived kernel parameters."""

    case: ConvCase
    x: np.ndarray          # int8 [C,H,W]
    w: np.ndarray          # int8 [OC, C/group, kh, kw]
    bias: np.ndarray       # int32 [OC], raw (scale s_in * s_w)
    s_in: float
    z_in: int
    s_w: np.ndarray        # [OC]
    s_out: float
    z_out: int
    mult: np.ndarray       # int32 [OC]
    shift: np.ndarray      # int32 [OC]
    bias_folded: np.ndarray
    act_min: int
    act_max: int


def make_conv(case: ConvCase) -> QuantConv:
    rng = np.random.default_rng(case.seed)
    kh, kw = case.k
    x = rng.integers(-128, 128, (case.C, case.H, case.W)).astype(np.int8)
    wlo, whi = W_RANGE[case.wbits]
    w = rng.integers(wlo, whi + 1, (case.OC, case.C // case.group, kh, kw)).astype(np.int8)
    s_in, z_in = 0.02, int(rng.integers(-30, 30))
    s_w = rng.uniform(0.002, 0.01, case.OC)
    bias = rng.integers(-3000, 3000, case.OC).astype(np.int32)
    # Output scale from the real output range, as calibration would choose it.
    acc = conv_acc(x, w, fold_bias(bias, w, z_in), z_in, case)
    real = acc * (s_in * s_w)[:, None, None]
    s_out = float(np.abs(real).max() / 110.0)
    z_out = int(rng.integers(-20, 20))
    mult, shift = quantize_multipliers(s_in * s_w / s_out)
    act_min = z_out if case.relu else -128
    return QuantConv(case, x, w, bias, s_in, z_in, s_w, s_out, z_out, mult, shift, fold_bias(bias, w, z_in),
                     act_min, 127)


def conv_acc(x: np.ndarray, w: np.ndarray, bias_folded: np.ndarray, z_in: int, case: ConvCase) -> np.ndarray:
    """int64 accumulators [OC, OH, OW] from the definition (zero-point padding, channel groups)."""
    kh, kw = case.k
    t, l, b, r = case.pads
    sh, sw = case.stride
    OH, OW = case.out_hw
    xp = np.full((case.C, case.H + t + b, case.W + l + r), z_in, np.int64)
    xp[:, t:t + case.H, l:l + case.W] = x
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::sh, ::sw][:, :OH, :OW]
    cpg, opg = case.C // case.group, case.OC // case.group
    acc = np.zeros((case.OC, OH, OW), np.int64)
    for oc in range(case.OC):
        g = oc // opg
        acc[oc] = np.einsum("chwij,cij->hw", win[g * cpg:(g + 1) * cpg], w[oc].astype(np.int64))
    return acc + bias_folded.astype(np.int64)[:, None, None]


def conv_ref(q: QuantConv) -> np.ndarray:
    acc = conv_acc(q.x, q.w, q.bias_folded, q.z_in, q.case)
    return requantize(acc, q.mult[:, None, None], q.shift[:, None, None], q.z_out, q.act_min, q.act_max)


def conv_params(ffi: Any, q: QuantConv, keep: list) -> Any:
    c = q.case
    mult = ffi.new("int32_t[]", [int(v) for v in q.mult])
    shift = ffi.new("int32_t[]", [int(v) for v in q.shift])
    keep += [mult, shift]
    OH, OW = c.out_hw
    return ffi.new("mcuf_conv2d_s8_params *", dict(
        C=c.C, H=c.H, W=c.W, OC=c.OC, OH=OH, OW=OW, kh=c.k[0], kw=c.k[1], stride_h=c.stride[0],
        stride_w=c.stride[1], pad_top=c.pads[0], pad_left=c.pads[1], pad_bottom=c.pads[2], pad_right=c.pads[3],
        group=c.group, in_zp=q.z_in, out_zp=q.z_out, act_min=q.act_min, act_max=q.act_max,
        multiplier=mult, shift=shift))


def run_conv(q: QuantConv) -> tuple[np.ndarray, bool]:
    """Run mcuf_conv2d_s8 (group 1) or mcuf_dwconv2d_s8 on the host; (output, guards intact)."""
    ffi, L = lib()
    keep: list = []
    p = conv_params(ffi, q, keep)
    OH, OW = q.case.out_hw
    out = GuardedS8(q.case.OC * OH * OW)
    x = np.ascontiguousarray(q.x)
    b = ffi.from_buffer("int32_t[]", q.bias_folded)
    if q.case.group == 1:
        bits = q.case.wbits
        wp = CONV_PACK[bits](q.w)
        assert wp.size == getattr(L, f"{CONV_FN[bits]}_weight_size")(p)
        n = getattr(L, f"{CONV_FN[bits]}_scratch_size")(p)
        scratch = ffi.new("int8_t[]", n) if n else ffi.NULL
        wbuf = ffi.from_buffer("int8_t[]" if bits == 8 else "uint8_t[]", wp)
        st = getattr(L, CONV_FN[bits])(p, ffi.from_buffer("int8_t[]", x), wbuf, b, out.ptr(ffi), scratch)
    else:
        bits = q.case.wbits
        wp = np.ascontiguousarray(q.w) if bits == 8 else DW_PACK[bits](q.w)
        if bits != 8:
            assert wp.size == getattr(L, f"{DW_FN[bits]}_weight_size")(p)
        n = getattr(L, f"{DW_FN[bits]}_scratch_size")(p)
        scratch = ffi.new("int8_t[]", n) if n else ffi.NULL
        wbuf = ffi.from_buffer("int8_t[]" if bits == 8 else "uint8_t[]", wp)
        st = getattr(L, DW_FN[bits])(p, ffi.from_buffer("int8_t[]", x), wbuf, b, out.ptr(ffi), scratch)
    assert st == L.MCUF_OK
    return out.out.reshape(q.case.OC, OH, OW).copy(), out.guards_intact()


@dataclass(frozen=True)
class FcCase:
    rows: int
    In: int
    Out: int
    relu: bool = False
    seed: int = 0
    wbits: int = 8  # 4/2: mcuf_linear_s8w4 / _s8w2 (always packed)


@dataclass
class QuantFc:
    case: FcCase
    x: np.ndarray       # int8 [rows, In]
    w: np.ndarray       # int8 [Out, In]
    bias: np.ndarray
    s_in: float
    z_in: int
    s_w: np.ndarray
    s_out: float
    z_out: int
    mult: np.ndarray
    shift: np.ndarray
    bias_folded: np.ndarray
    act_min: int
    act_max: int


def fc_acc(x: np.ndarray, w: np.ndarray, bias_folded: np.ndarray) -> np.ndarray:
    return x.astype(np.int64) @ w.astype(np.int64).T + bias_folded.astype(np.int64)


def make_fc(case: FcCase) -> QuantFc:
    rng = np.random.default_rng(case.seed)
    x = rng.integers(-128, 128, (case.rows, case.In)).astype(np.int8)
    wlo, whi = W_RANGE[case.wbits]
    w = rng.integers(wlo, whi + 1, (case.Out, case.In)).astype(np.int8)
    s_in, z_in = 0.03, int(rng.integers(-30, 30))
    s_w = rng.uniform(0.002, 0.01, case.Out)
    bias = rng.integers(-5000, 5000, case.Out).astype(np.int32)
    bf = fold_bias(bias, w, z_in)
    real = fc_acc(x, w, bf) * (s_in * s_w)
    s_out = float(np.abs(real).max() / 110.0)
    z_out = int(rng.integers(-20, 20))
    mult, shift = quantize_multipliers(s_in * s_w / s_out)
    return QuantFc(case, x, w, bias, s_in, z_in, s_w, s_out, z_out, mult, shift, bf,
                   z_out if case.relu else -128, 127)


def fc_ref(q: QuantFc) -> np.ndarray:
    return requantize(fc_acc(q.x, q.w, q.bias_folded), q.mult, q.shift, q.z_out, q.act_min, q.act_max)


def run_fc(q: QuantFc, packed: bool = False) -> tuple[np.ndarray, bool]:
    """mcuf_linear_s8 ([Out, In] weights) or mcuf_linear_s8_packed on the host; (output, guards intact)."""
    ffi, L = lib()
    mult = ffi.new("int32_t[]", [int(v) for v in q.mult])
    shift = ffi.new("int32_t[]", [int(v) for v in q.shift])
    c = q.case
    p = ffi.new("mcuf_linear_s8_params *", dict(batch=c.rows, in_features=c.In, out_features=c.Out, out_zp=q.z_out,
                                                act_min=q.act_min, act_max=q.act_max, multiplier=mult, shift=shift))
    out = GuardedS8(c.rows * c.Out)
    bits = c.wbits
    if packed or bits != 8:
        wp = FC_PACK[bits](q.w)
        assert wp.size == getattr(L, f"{FC_FN[bits]}_weight_size")(p)
        fn = getattr(L, FC_FN[bits])
    else:
        wp = np.ascontiguousarray(q.w)
        fn = L.mcuf_linear_s8
    st = fn(p, ffi.from_buffer("int8_t[]", np.ascontiguousarray(q.x)),
            ffi.from_buffer("int8_t[]" if bits == 8 else "uint8_t[]", wp),
                      ffi.from_buffer("int32_t[]", q.bias_folded), out.ptr(ffi))
    assert st == L.MCUF_OK
    return out.out.reshape(c.rows, c.Out).copy(), out.guards_intact()


# ------------------------------------------------------------------------------------------------
# One-node QDQ models for onnxruntime: int8 in -> DequantizeLinear -> op (-> Relu) -> QuantizeLinear.

def _init(name: str, arr: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(arr), name)


def _dq(name: str, out: str, scale: str, zp: str, axis: int | None = None) -> onnx.NodeProto:
    kw = {} if axis is None else {"axis": axis}
    return helper.make_node("DequantizeLinear", [name, scale, zp], [out], **kw)


def run_ort(nodes: list, inits: list, inputs: dict[str, np.ndarray], out_shape: list[int]) -> np.ndarray:
    import onnxruntime as ort

    graph = helper.make_graph(
        nodes, "one_node",
        [helper.make_tensor_value_info(k, TensorProto.INT8, list(v.shape)) for k, v in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.INT8, out_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, inputs)[0]


def _tail(nodes: list, inits: list, yf: str, relu: bool, s_out: float, z_out: int) -> None:
    if relu:
        nodes.append(helper.make_node("Relu", [yf], ["yr"]))
        yf = "yr"
    inits += [_init("s_out", np.float32(s_out)), _init("z_out", np.int8(z_out))]
    nodes.append(helper.make_node("QuantizeLinear", [yf, "s_out", "z_out"], ["y"]))


def ort_conv(q: QuantConv) -> np.ndarray:
    c = q.case
    OH, OW = c.out_hw
    inits = [_init("s_in", np.float32(q.s_in)), _init("z_in", np.int8(q.z_in)), _init("wq", q.w),
             _init("s_w", q.s_w.astype(np.float32)), _init("z_w", np.zeros(c.OC, np.int8)), _init("bq", q.bias),
             _init("s_b", (np.float32(q.s_in) * q.s_w.astype(np.float32))), _init("z_b", np.zeros(c.OC, np.int32))]
    nodes = [_dq("x", "xf", "s_in", "z_in"), _dq("wq", "wf", "s_w", "z_w", 0), _dq("bq", "bf", "s_b", "z_b", 0),
             helper.make_node("Conv", ["xf", "wf", "bf"], ["yf"], kernel_shape=list(c.k), strides=list(c.stride),
                              pads=[c.pads[0], c.pads[1], c.pads[2], c.pads[3]], group=c.group)]
    _tail(nodes, inits, "yf", c.relu, q.s_out, q.z_out)
    return run_ort(nodes, inits, {"x": q.x[None]}, [1, c.OC, OH, OW])[0]


def ort_fc(q: QuantFc) -> np.ndarray:
    c = q.case
    inits = [_init("s_in", np.float32(q.s_in)), _init("z_in", np.int8(q.z_in)), _init("wq", q.w),
             _init("s_w", q.s_w.astype(np.float32)), _init("z_w", np.zeros(c.Out, np.int8)), _init("bq", q.bias),
             _init("s_b", (np.float32(q.s_in) * q.s_w.astype(np.float32))), _init("z_b", np.zeros(c.Out, np.int32))]
    nodes = [_dq("x", "xf", "s_in", "z_in"), _dq("wq", "wf", "s_w", "z_w", 0), _dq("bq", "bf", "s_b", "z_b", 0),
             helper.make_node("Gemm", ["xf", "wf", "bf"], ["yf"], transB=1)]
    _tail(nodes, inits, "yf", c.relu, q.s_out, q.z_out)
    return run_ort(nodes, inits, {"x": q.x}, [c.rows, c.Out])


def ort_unary(op: str, x: np.ndarray, s_in: float, z_in: int, s_out: float, z_out: int, out_shape: list[int],
              **attrs: Any) -> np.ndarray:
    """DQ -> op -> Q on a [1, C, H, W] int8 input."""
    inits = [_init("s_in", np.float32(s_in)), _init("z_in", np.int8(z_in))]
    nodes = [_dq("x", "xf", "s_in", "z_in"), helper.make_node(op, ["xf"], ["yf"], **attrs)]
    _tail(nodes, inits, "yf", False, s_out, z_out)
    return run_ort(nodes, inits, {"x": x}, out_shape)


def ort_binary(op: str, a: np.ndarray, b: np.ndarray, qa: tuple[float, int], qb: tuple[float, int],
               qo: tuple[float, int], relu: bool = False) -> np.ndarray:
    inits = [_init("s_a", np.float32(qa[0])), _init("z_a", np.int8(qa[1])),
             _init("s_b", np.float32(qb[0])), _init("z_b", np.int8(qb[1]))]
    nodes = [_dq("a", "af", "s_a", "z_a"), _dq("b", "bf", "s_b", "z_b"), helper.make_node(op, ["af", "bf"], ["yf"])]
    _tail(nodes, inits, "yf", relu, qo[0], qo[1])
    return run_ort(nodes, inits, {"a": a, "b": b}, list(np.broadcast_shapes(a.shape, b.shape)))


def multiplier_of(real: float) -> tuple[int, int]:
    return quantize_multiplier(real)


# The table shared by the host tests and the QEMU driver: shapes chosen to hit every code path
# (1x1 direct, im2col with padding on each side, OC and pixel tails, strides, groups).
CONV_CASES = [
    ConvCase(3, 8, 8, 8, (3, 3), pads=(1, 1, 1, 1), seed=1),
    ConvCase(4, 7, 9, 6, (3, 3), stride=(2, 2), pads=(1, 0, 1, 2), relu=True, seed=2),
    ConvCase(5, 6, 6, 5, (1, 1), seed=3),                      # direct 1x1, OC tail 1, pixel tail 0
    ConvCase(8, 5, 5, 7, (1, 1), seed=4),                      # direct 1x1, 25 pixels (tail 1)
    ConvCase(2, 9, 7, 4, (5, 3), stride=(1, 2), pads=(2, 1, 2, 1), seed=5),
    ConvCase(1, 5, 5, 3, (5, 5), pads=(2, 2, 2, 2), seed=6),  # windows mostly in the padding
    ConvCase(3, 6, 6, 9, (1, 1), stride=(2, 2), seed=7),       # 1x1 strided: im2col path
]
DW_CASES = [
    ConvCase(4, 8, 8, 4, (3, 3), pads=(1, 1, 1, 1), group=4, seed=11),
    ConvCase(3, 7, 6, 6, (3, 3), stride=(2, 2), pads=(1, 1, 0, 1), group=3, relu=True, seed=12),  # multiplier 2
    ConvCase(4, 6, 6, 6, (3, 3), pads=(0, 1, 0, 1), group=2, seed=13),                          # grouped
    ConvCase(5, 9, 9, 5, (5, 5), stride=(2, 2), pads=(2, 2, 2, 2), group=5, seed=14),
    ConvCase(2, 5, 75, 2, (3, 3), pads=(1, 1, 1, 1), group=2, seed=15),  # rows longer than one 32-output run
    ConvCase(2, 3, 130, 2, (3, 3), pads=(1, 1, 1, 1), group=2, seed=16),  # wider than 128: padded rows in scratch
    ConvCase(3, 6, 7, 3, (3, 3), group=3, seed=17),                       # unpadded: direct interior path
]
FC_CASES = [FcCase(1, 37, 10, seed=21), FcCase(3, 64, 8, relu=True, seed=22), FcCase(1, 4, 3, seed=23),
            FcCase(2, 129, 17, seed=24)]
# 4-bit and 2-bit weights: the code paths differ only in weight unpacking, so fewer shapes.
SUBBYTE_CONV_CASES = [ConvCase(3, 8, 8, 8, (3, 3), pads=(1, 1, 1, 1), seed=31, wbits=b) for b in (4, 2)] + [
    ConvCase(8, 5, 5, 7, (1, 1), seed=32, wbits=b) for b in (4, 2)] + [
    ConvCase(4, 7, 9, 6, (3, 3), stride=(2, 2), pads=(1, 0, 1, 2), relu=True, seed=33, wbits=b) for b in (4, 2)]
# Depthwise / grouped with packed 4-/2-bit weights (mcuf_dwconv2d_s8w4 / _s8w2): every DW shape.
SUBBYTE_DW_CASES = [ConvCase(c.C, c.H, c.W, c.OC, c.k, c.stride, c.pads, c.group, c.relu, c.seed + 100, wbits=b)
                    for b in (4, 2) for c in DW_CASES]
SUBBYTE_FC_CASES = [FcCase(1, 37, 10, seed=41, wbits=b) for b in (4, 2)] + [
    FcCase(2, 129, 17, relu=True, seed=42, wbits=b) for b in (4, 2)]


# ------------------------------------------------------------------------------------------------
# The table format of runtime_c/tests/s8_driver.c (one row of S8_ROW int32 per case).

S8_DRIVER = RUNTIME_SRC.parent / "tests" / "s8_driver.c"
S8_ROW = 25


def driver_inputs(items: list, fc_packed: bool = False) -> tuple[dict[str, np.ndarray], list[tuple[int, tuple[int, ...]]]]:
    """Tensor files for s8_driver.c from QuantConv / QuantFc items (fc through mcuf_linear_s8_packed when
    fc_packed), and each output's (offset, shape)."""
    rows, i8, i32, outs = [], [], [], []
    n8 = n32 = nout = 0
    for q in items:
        if isinstance(q, QuantFc):
            c = q.case
            packed = fc_packed or c.wbits != 8
            x, w = q.x.ravel(), (FC_PACK[c.wbits](q.w).view(np.int8) if packed else q.w.ravel())
            kind = {8: 3, 4: 6, 2: 7}[c.wbits] if packed else 2
            geom = [kind, c.In, 1, 1, c.Out, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, q.z_in, q.z_out]
            shape, rows_n = (c.rows, c.Out), c.rows
        else:
            c = q.case
            OH, OW = c.out_hw
            x = q.x.ravel()
            if c.group == 1:
                w = CONV_PACK[c.wbits](q.w).view(np.int8)
                kind = {8: 0, 4: 4, 2: 5}[c.wbits]
            else:
                w = DW_PACK[c.wbits](q.w).view(np.int8) if c.wbits != 8 else q.w.ravel()
                kind = {8: 1, 4: 8, 2: 9}[c.wbits]
            geom = [kind, c.C, c.H, c.W, c.OC, OH, OW, c.k[0], c.k[1], c.stride[0], c.stride[1],
                    *c.pads, c.group, q.z_in, q.z_out]
            shape, rows_n = (c.OC, OH, OW), 1
        rows.append(geom + [q.act_min, q.act_max, n8, n8 + x.size, n32, nout, rows_n])
        i8 += [x, w]
        n8 += x.size + w.size
        i32 += [q.bias_folded, q.mult, q.shift]
        n32 += 3 * q.bias_folded.size
        outs.append((nout, shape))
        nout += int(np.prod(shape))
    table = np.array(rows, np.int32)
    assert table.shape[1] == S8_ROW
    return ({"table": table, "i8": np.concatenate(i8).astype(np.int8),
             "i32": np.concatenate(i32).astype(np.int32)}, outs)


def split_outputs(blob: np.ndarray, outs: list[tuple[int, tuple[int, ...]]]) -> list[np.ndarray]:
    return [blob[o:o + int(np.prod(s))].reshape(s) for o, s in outs]
