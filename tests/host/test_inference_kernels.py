"""FP32 / FP16 inference kernels of the ONNX operators on the host (cffi): binary ops (mcuf_binary.h),
activations and Softmax (mcuf_act.h), Transpose / Concat / Pad (mcuf_copy.h), MaxPool / AveragePool with
ceil_mode and count_include_pad (mcuf_pool.h), grouped convolution (mcuf_dwconv.h); against
onnx.reference running one-node models (and numpy where ONNX has no such op). The kernel parameters come from the code
generator's own helpers (mcuforge.codegen.ops.broadcast), so the pair is tested as it is used.

Tolerances: FP32 elementwise ops 1e-6 relative (one float rounding; exp/division a few ulp);
Softmax / pooling / grouped conv 1e-5 relative to the largest |reference|; FP16 kernels 2e-3 (one
FP16 rounding of a result computed in FP32, on top of FP16 inputs), relative to max |reference|.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from mcuforge.codegen.ops.broadcast import broadcast_params, concat_params, contiguous_strides, transpose_params
from mcuforge.run.hostlib import load_library
from mcuforge.core.paths import RUNTIME_INCLUDE, RUNTIME_SRC

GUARD = 8


@lru_cache(maxsize=None)
def lib() -> tuple[Any, Any]:
    return load_library([RUNTIME_SRC / f"mcuf_{f}.c" for f in ("binary", "act", "copy", "pool", "dwconv")],
                        headers=[RUNTIME_INCLUDE / f"mcuf_{f}.h" for f in ("binary", "act", "copy", "pool", "dwconv")])


def reference(op: str, inputs: dict[str, np.ndarray], **attrs: Any) -> np.ndarray:
    """Output of a one-node ONNX model under onnx.reference (opset 19)."""
    node = helper.make_node(op, list(inputs), ["y"], **attrs)
    graph = helper.make_graph(
        [node], "t", [helper.make_tensor_value_info(k, TensorProto.FLOAT, list(v.shape)) for k, v in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    return ReferenceEvaluator(model).run(None, inputs)[0]


class Out:
    """Output buffer of `n` elements with NaN-pattern guards on both sides."""

    def __init__(self, n: int, dtype: type = np.float32):
        ui = np.uint16 if dtype == np.float16 else (np.uint8 if dtype == np.int8 else np.uint32)
        self.raw = np.full(n + 2 * GUARD, 0x7E if ui is np.uint8 else (0x7E55 if ui is np.uint16 else 0x7FA5A5A5), ui)
        self.dtype, self.n = dtype, n
        self.data = self.raw[GUARD:GUARD + n].view(dtype)

    def ptr(self, ffi: Any, ctype: str) -> Any:
        return ffi.from_buffer(f"{ctype}[]", self.raw) + GUARD

    def intact(self) -> bool:
        sentinel = self.raw[0]
        return bool(np.all(self.raw[:GUARD] == sentinel) and np.all(self.raw[GUARD + self.n:] == sentinel))


CT = {np.float32: "float", np.float16: "mcuf_f16", np.int8: "int8_t"}
SFX = {np.float32: "f32", np.float16: "f16", np.int8: "s8"}


def buf(ffi: Any, a: np.ndarray) -> Any:
    return ffi.from_buffer(f"{CT[a.dtype.type]}[]", np.ascontiguousarray(a))


def close(got: np.ndarray, ref: np.ndarray, dtype: type, rtol32: float = 1e-6) -> None:
    ref = np.asarray(ref, np.float64)
    scale = max(float(np.max(np.abs(ref))), 1e-30)
    tol = 2e-3 if dtype == np.float16 else rtol32
    np.testing.assert_allclose(np.asarray(got, np.float64), ref, rtol=0, atol=tol * scale)


# ------------------------------------------------------------------------------------------ binary

BINARY_SHAPES = [
    ((1, 3, 4, 5), (1, 3, 4, 5)),
    ((1, 3, 4, 5), (1, 3, 1, 1)),   # per-channel
    ((1, 3, 4, 5), (5,)),           # last axis
    ((1, 1, 4, 1), (1, 3, 1, 5)),   # both broadcast
    ((2, 3, 4, 5, 6), (1, 1, 1, 5, 6)),  # rank 5, collapsible to 2
    ((1, 8), ()),                   # scalar
    ((3, 1), (1, 4)),               # outer product
]


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("shapes", BINARY_SHAPES)
def test_binary_broadcast(shapes, op, dtype):
    ffi, L = lib()
    rng = np.random.default_rng(len(shapes[0]) * 7 + len(shapes[1]))
    a = rng.standard_normal(shapes[0]).astype(dtype)
    b = rng.standard_normal(shapes[1]).astype(dtype)
    if op == "Div":
        b = (np.sign(b) * (np.abs(b) + 0.5)).astype(dtype)
    ref = reference(op, {"a": a.astype(np.float32), "b": b.astype(np.float32)})
    p = ffi.new("mcuf_binary_params *", broadcast_params(ref.shape, a.shape, b.shape))
    out = Out(ref.size, dtype)
    fn = getattr(L, f"mcuf_{op.lower()}_{SFX[dtype]}")
    assert fn(p, buf(ffi, a), buf(ffi, b), out.ptr(ffi, CT[dtype])) == L.MCUF_OK
    assert out.intact()
    close(out.data.reshape(ref.shape), ref, dtype)


def test_binary_in_place_and_errors():
    ffi, L = lib()
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.array([1, 2, 3, 4], np.float32)
    p = ffi.new("mcuf_binary_params *", broadcast_params((3, 4), a.shape, b.shape))
    pa = buf(ffi, a)
    assert L.mcuf_add_f32(p, pa, buf(ffi, b), pa) == L.MCUF_OK
    np.testing.assert_array_equal(a, np.arange(12, dtype=np.float32).reshape(3, 4) + b)
    assert L.mcuf_mul_f32(p, ffi.NULL, buf(ffi, b), pa) == L.MCUF_ERR_ARG
    p.dims[0] = 0
    assert L.mcuf_mul_f32(p, pa, buf(ffi, b), pa) == L.MCUF_ERR_ARG


# ------------------------------------------------------------------------------------- activations

ACTS = [  # (ONNX op, attributes, kernel params)
    ("Relu", {}, dict(kind=1)),
    ("Clip", {}, dict(kind=2, lo=-0.5, hi=1.25)),
    ("LeakyRelu", {"alpha": 0.1}, dict(kind=3, alpha=0.1)),
    ("Sigmoid", {}, dict(kind=4)),
    ("HardSigmoid", {"alpha": 0.2, "beta": 0.5}, dict(kind=5, alpha=0.2, beta=0.5)),
    ("HardSwish", {}, dict(kind=6)),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # onnx.reference's Sigmoid overflows exp in a discarded branch
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("act", ACTS, ids=lambda a: a[0])
def test_activations(act, dtype):
    ffi, L = lib()
    op, attrs, params = act
    x = np.concatenate([np.linspace(-8, 8, 301), [-100.0, 100.0, -0.0, 3.0, -3.0]]).astype(dtype)
    inputs = {"x": x.astype(np.float32)}
    if op == "Clip":
        inputs.update(lo=np.array(-0.5, np.float32), hi=np.array(1.25, np.float32))
    ref = reference(op, inputs, **attrs)
    p = ffi.new("mcuf_act_params *", params)
    out = Out(x.size, dtype)
    fn = getattr(L, f"mcuf_act_{SFX[dtype]}")
    assert fn(p, x.size, buf(ffi, x), out.ptr(ffi, CT[dtype])) == L.MCUF_OK
    assert out.intact()
    close(out.data, ref, dtype, rtol32=2e-7 if op != "Sigmoid" else 1e-6)
    inplace = x.copy()
    assert fn(p, x.size, buf(ffi, inplace), buf(ffi, inplace)) == L.MCUF_OK
    np.testing.assert_array_equal(inplace, out.data)


def test_activation_nan_and_errors():
    ffi, L = lib()
    x = np.array([np.nan, -1.0, 2.0], np.float32)
    y = np.zeros(3, np.float32)
    for kind in (1, 2, 5, 6):
        p = ffi.new("mcuf_act_params *", dict(kind=kind, lo=-1.0, hi=1.0, alpha=0.2, beta=0.5))
        assert L.mcuf_act_f32(p, 3, buf(ffi, x), buf(ffi, y)) == L.MCUF_OK
        assert np.isnan(y[0])
    p = ffi.new("mcuf_act_params *", dict(kind=99))
    assert L.mcuf_act_f32(p, 3, buf(ffi, x), buf(ffi, y)) == L.MCUF_ERR_ARG
    assert L.mcuf_act_f32(ffi.new("mcuf_act_params *"), -1, buf(ffi, x), buf(ffi, y)) == L.MCUF_ERR_ARG


# ----------------------------------------------------------------------------------------- softmax

@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("shape,axis", [((1, 10), -1), ((2, 3, 7), 1), ((1, 4, 5, 6), -1), ((1, 1000), 1)])
def test_softmax(shape, axis, dtype):
    ffi, L = lib()
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 30).astype(dtype)  # large spread: the max subtraction matters
    ref = reference("Softmax", {"x": x.astype(np.float32)}, axis=axis)
    ax = axis % len(shape)
    p = ffi.new("mcuf_softmax_params *", dict(outer=int(np.prod(shape[:ax])), n=shape[ax],
                                              inner=int(np.prod(shape[ax + 1:]))))
    out = Out(x.size, dtype)
    fn = getattr(L, f"mcuf_softmax_{SFX[dtype]}")
    assert fn(p, buf(ffi, x), out.ptr(ffi, CT[dtype])) == L.MCUF_OK
    assert out.intact()
    close(out.data.reshape(shape), ref, dtype, rtol32=1e-6)
    if dtype == np.float32:
        y = x.copy()
        assert fn(p, buf(ffi, y), buf(ffi, y)) == L.MCUF_OK
        np.testing.assert_array_equal(y, out.data.reshape(shape))


# ---------------------------------------------------------------------------- transpose / concat

@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int8])
@pytest.mark.parametrize("shape,perm", [((1, 3, 4, 5), (0, 2, 3, 1)), ((2, 3, 4), (2, 0, 1)),
                                        ((1, 2, 3, 4, 5), (0, 1, 4, 3, 2)), ((6, 7), (1, 0))])
def test_transpose(shape, perm, dtype):
    ffi, L = lib()
    x = (np.arange(int(np.prod(shape))) % 120 - 60).astype(dtype).reshape(shape)
    ref = reference("Transpose", {"x": x.astype(np.float32)}, perm=list(perm))
    p = ffi.new("mcuf_copy4d_params *", transpose_params(shape, perm))
    out = Out(x.size, dtype)
    assert getattr(L, f"mcuf_copy4d_{SFX[dtype]}")(p, buf(ffi, x), out.ptr(ffi, CT[dtype])) == L.MCUF_OK
    assert out.intact()
    np.testing.assert_array_equal(out.data.reshape(ref.shape).astype(np.float32), ref)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int8])
@pytest.mark.parametrize("shapes,axis", [([(1, 2, 4, 4), (1, 3, 4, 4)], 1), ([(1, 2, 3, 4), (1, 2, 3, 1), (1, 2, 3, 2)], 3),
                                         ([(2, 5), (3, 5)], 0)])
def test_concat(shapes, axis, dtype):
    ffi, L = lib()
    xs = [(np.arange(int(np.prod(s))) % 100 + 10 * i).astype(dtype).reshape(s) for i, s in enumerate(shapes)]
    ref = reference("Concat", {f"x{i}": x.astype(np.float32) for i, x in enumerate(xs)}, axis=axis)
    out = Out(ref.size, dtype)
    stride = contiguous_strides(ref.shape)[axis]
    off = 0
    for x in xs:
        p = ffi.new("mcuf_copy4d_params *", concat_params(x.shape, ref.shape, axis))
        assert getattr(L, f"mcuf_copy4d_{SFX[dtype]}")(p, buf(ffi, x), out.ptr(ffi, CT[dtype]) + off * stride) == L.MCUF_OK
        off += x.shape[axis]
    assert out.intact()
    np.testing.assert_array_equal(out.data.reshape(ref.shape).astype(np.float32), ref)


# --------------------------------------------------------------------------------------------- pad

@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int8])
@pytest.mark.parametrize("shape,pads", [((1, 2, 3, 4), (0, 0, 1, 2, 0, 0, 2, 1)), ((1, 2, 3, 4), (0, 1, 0, 0, 0, 2, 1, 1)),
                                        ((3, 5), (1, -1, 0, 2)), ((1, 2, 4, 4), (0, 0, -1, 1, 0, 0, 1, -2))])
def test_pad(shape, pads, dtype):
    ffi, L = lib()
    x = (np.arange(int(np.prod(shape))) % 50 + 1).astype(dtype).reshape(shape)
    value = 7.0
    rank = len(shape)
    if min(pads) >= 0:
        ref = reference("Pad", {"x": x.astype(np.float32), "pads": np.array(pads, np.int64),
                                "v": np.array(value, np.float32)}, mode="constant")
    else:  # onnx.reference rejects negative pads (cropping); numpy: pad the positive part, then crop
        pos = [(max(b, 0), max(e, 0)) for b, e in zip(pads[:rank], pads[rank:])]
        full = np.pad(x.astype(np.float32), pos, constant_values=value)
        ref = full[tuple(slice(max(-b, 0), full.shape[i] - max(-e, 0))
                         for i, (b, e) in enumerate(zip(pads[:rank], pads[rank:])))]
    lead = 4 - rank
    p = ffi.new("mcuf_pad_params *", dict(in_dims=[1] * lead + list(shape), pad_begin=[0] * lead + list(pads[:rank]),
                                          pad_end=[0] * lead + list(pads[rank:]), value=value))
    out = Out(ref.size, dtype)
    assert getattr(L, f"mcuf_pad_{SFX[dtype]}")(p, buf(ffi, x), out.ptr(ffi, CT[dtype])) == L.MCUF_OK
    assert out.intact()
    np.testing.assert_array_equal(out.data.reshape(ref.shape).astype(np.float32), ref)


def test_pad_errors():
    ffi, L = lib()
    x = np.zeros(4, np.int8)
    p = ffi.new("mcuf_pad_params *", dict(in_dims=[1, 1, 1, 4], pad_begin=[0, 0, 0, -3], pad_end=[0, 0, 0, -1], value=0))
    assert L.mcuf_pad_s8(p, buf(ffi, x), buf(ffi, x)) == L.MCUF_ERR_SHAPE  # output width 0
    p.pad_begin[3] = 0
    p.pad_end[3] = 0
    p.value = 0.5  # not an int8 value
    assert L.mcuf_pad_s8(p, buf(ffi, x), buf(ffi, np.zeros(4, np.int8))) == L.MCUF_ERR_ARG


# ------------------------------------------------------------------------------------------- pools

POOLS = [  # (C, H, W, k, strides, pads t l b r, ceil_mode, count_include_pad)
    (2, 8, 8, (2, 2), (2, 2), (0, 0, 0, 0), 0, 0),
    (3, 9, 7, (2, 2), (2, 2), (0, 0, 0, 0), 0, 0),   # 2x2/2 fast path, odd sizes: last row/column dropped
    (2, 7, 7, (3, 3), (2, 2), (1, 1, 1, 1), 0, 0),
    (2, 7, 7, (3, 3), (2, 2), (1, 1, 1, 1), 0, 1),
    (2, 6, 7, (3, 2), (2, 2), (0, 1, 0, 0), 1, 0),
    (2, 6, 7, (3, 3), (2, 2), (1, 1, 1, 1), 1, 1),   # ceil windows past the padding, divisor kh*kw
    (1, 5, 6, (2, 3), (3, 2), (1, 1, 0, 1), 1, 1),
]


def test_avgpool_kernel_divisor_mode():
    """count_include_pad = 2 (onnxruntime's QLinearAveragePool) divides every window by kh*kw."""
    ffi, L = lib()
    x = np.ones((1, 1, 6, 7), np.float32)
    p = ffi.new("mcuf_pool2d_params *", dict(C=1, H=6, W=7, OH=4, OW=4, kh=3, kw=3, stride_h=2, stride_w=2,
                                             pad_top=1, pad_left=1, pad_bottom=1, pad_right=1,
                                             count_include_pad=2))
    out = np.zeros(16, np.float32)
    assert L.mcuf_avgpool2d_f32(p, buf(ffi, x), buf(ffi, out)) == L.MCUF_OK
    # the last row's windows cover 1 input row x 3 (or 2) columns of ones
    np.testing.assert_allclose(out.reshape(4, 4)[3], [2 / 9, 3 / 9, 3 / 9, 2 / 9], rtol=1e-6)
    p.count_include_pad = 3
    assert L.mcuf_avgpool2d_f32(p, buf(ffi, x), buf(ffi, out)) == L.MCUF_ERR_ARG


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("kind", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("case", POOLS)
def test_pools(case, kind, dtype):
    ffi, L = lib()
    C, H, W, k, st, pads, ceil, cip = case
    x = np.random.default_rng(4).standard_normal((1, C, H, W)).astype(dtype)
    attrs = dict(kernel_shape=list(k), strides=list(st), pads=list(pads), ceil_mode=ceil)
    if kind == "AveragePool":
        attrs["count_include_pad"] = cip
    ref = reference(kind, {"x": x.astype(np.float32)}, **attrs)
    OH, OW = ref.shape[2:]
    p = ffi.new("mcuf_pool2d_params *", dict(C=C, H=H, W=W, OH=OH, OW=OW, kh=k[0], kw=k[1], stride_h=st[0],
                                             stride_w=st[1], pad_top=pads[0], pad_left=pads[1], pad_bottom=pads[2],
                                             pad_right=pads[3], count_include_pad=cip))
    out = Out(ref.size, dtype)
    fn = getattr(L, f"mcuf_{'max' if kind == 'MaxPool' else 'avg'}pool2d_{SFX[dtype]}")
    assert fn(p, buf(ffi, x), out.ptr(ffi, CT[dtype])) == L.MCUF_OK
    assert out.intact()
    close(out.data.reshape(ref.shape), ref, dtype, rtol32=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_maxpool_2x2_fast_path_propagates_nan(dtype):
    ffi, L = lib()
    x = np.arange(2 * 4 * 4, dtype=dtype).reshape(2, 4, 4)
    x[0, 1, 1] = np.nan  # inside window (0, 0) of channel 0, and smaller than nothing
    p = ffi.new("mcuf_pool2d_params *", dict(C=2, H=4, W=4, OH=2, OW=2, kh=2, kw=2, stride_h=2, stride_w=2))
    out = Out(8, dtype)
    assert L.mcuf_maxpool2d_f32(p, buf(ffi, x.astype(np.float32)), out.ptr(ffi, "float")) == L.MCUF_OK \
        if dtype == np.float32 else L.mcuf_maxpool2d_f16(p, buf(ffi, x), out.ptr(ffi, "mcuf_f16")) == L.MCUF_OK
    got = out.data.reshape(2, 2, 2)
    assert np.isnan(got[0, 0, 0]) and out.intact()
    want = x.astype(np.float32).reshape(2, 2, 2, 2, 2).max(axis=(2, 4))
    np.testing.assert_array_equal(got.reshape(-1)[1:], want.reshape(-1)[1:])


def test_pool_errors():
    ffi, L = lib()
    x = np.zeros(16, np.float32)
    p = ffi.new("mcuf_pool2d_params *", dict(C=1, H=4, W=4, OH=3, OW=2, kh=2, kw=2, stride_h=2, stride_w=2))
    assert L.mcuf_maxpool2d_f32(p, buf(ffi, x), buf(ffi, x)) == L.MCUF_ERR_SHAPE  # last window outside
    p.OH = 2
    p.pad_top = 2  # first window entirely in the padding
    assert L.mcuf_avgpool2d_f32(p, buf(ffi, x), buf(ffi, x)) == L.MCUF_ERR_SHAPE
    p.pad_top = 0
    assert L.mcuf_avgpool2d_f32(p, ffi.NULL, buf(ffi, x)) == L.MCUF_ERR_ARG


# ------------------------------------------------------------------------------------ grouped conv

GCONVS = [  # (C, H, W, OC, k, strides, pads, group)
    (4, 6, 6, 6, (3, 3), (1, 1), (1, 1, 1, 1), 2),
    (6, 7, 5, 6, (3, 3), (2, 2), (1, 0, 1, 2), 3),
    (3, 5, 5, 6, (3, 3), (1, 1), (1, 1, 1, 1), 3),   # depthwise with multiplier 2
    (8, 5, 5, 4, (1, 1), (1, 1), (0, 0, 0, 0), 4),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("case", GCONVS)
def test_grouped_conv(case, dtype):
    ffi, L = lib()
    C, H, W, OC, k, st, pads, g = case
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, C, H, W)).astype(dtype)
    w = rng.standard_normal((OC, C // g, *k)).astype(dtype)
    b = rng.standard_normal(OC).astype(dtype)
    ref = reference("Conv", {"x": x.astype(np.float32), "w": w.astype(np.float32), "b": b.astype(np.float32)},
                    group=g, kernel_shape=list(k), strides=list(st), pads=list(pads))
    OH, OW = ref.shape[2:]
    p = ffi.new("mcuf_gconv2d_params *", dict(C=C, H=H, W=W, OC=OC, OH=OH, OW=OW, kh=k[0], kw=k[1], stride_h=st[0],
                                              stride_w=st[1], pad_top=pads[0], pad_left=pads[1], pad_bottom=pads[2],
                                              pad_right=pads[3], group=g))
    out = Out(ref.size, dtype)
    fn = getattr(L, f"mcuf_gconv2d_{SFX[dtype]}")
    assert fn(p, buf(ffi, x), buf(ffi, w), buf(ffi, b), out.ptr(ffi, CT[dtype])) == L.MCUF_OK
    assert out.intact()
    close(out.data.reshape(ref.shape), ref, dtype, rtol32=1e-5)
    p.group = 5
    assert fn(p, buf(ffi, x), buf(ffi, w), buf(ffi, b), out.ptr(ffi, CT[dtype])) == L.MCUF_ERR_SHAPE
