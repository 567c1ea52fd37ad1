"""Max / average / global average pooling, forward and backward (portable C, cffi) against float64
numpy references; guard bytes; finite differences of every backward; error statuses."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.layer_kernels import Guarded, cptr, lib, max_rel_err, out_size, pool_windows, suffix, tol

# (C, H, W), (kh, kw), (sh, sw), pads (top, left, bottom, right)
CASES = [
    ((1, 1, 1), (1, 1), (1, 1), (0, 0, 0, 0)),
    ((3, 7, 7), (2, 2), (2, 2), (0, 0, 0, 0)),
    ((2, 7, 33), (3, 3), (2, 2), (1, 1, 1, 1)),
    ((3, 33, 3), (3, 2), (1, 1), (1, 0, 1, 1)),
    ((4, 8, 8), (3, 3), (1, 2), (1, 1, 0, 2)),
]
IDS = [f"{c[0][0]}x{c[0][1]}x{c[0][2]}_k{c[1][0]}{c[1][1]}_s{c[2][0]}{c[2][1]}" for c in CASES]
DT = [np.float32, np.float16]


def params(ffi, shape, k, s, pads, cip=0):
    C, H, W = shape
    return ffi.new("mcuf_pool2d_params *", dict(
        C=C, H=H, W=W, OH=out_size(H, k[0], s[0], pads[0], pads[2]), OW=out_size(W, k[1], s[1], pads[1], pads[3]),
        kh=k[0], kw=k[1], stride_h=s[0], stride_w=s[1], pad_top=pads[0], pad_left=pads[1],
        pad_bottom=pads[2], pad_right=pads[3], count_include_pad=cip))


def refs(x, gy, k, s, pads, cip):
    """(maxpool y, maxpool grad_x, avgpool y, avgpool grad_x) in float64; ties go to the first max."""
    C, H, W = x.shape
    OH, OW = gy.shape[1:]
    ymax, yavg = np.zeros((C, OH, OW)), np.zeros((C, OH, OW))
    gmax, gavg = np.zeros(x.shape), np.zeros(x.shape)
    for oh, ow, h0, h1, w0, w1 in pool_windows(H, W, k, s, pads):
        win = x[:, h0:h1, w0:w1].reshape(C, -1)
        a = win.argmax(axis=1)
        ymax[:, oh, ow] = win.max(axis=1)
        d = k[0] * k[1] if cip else win.shape[1]
        yavg[:, oh, ow] = win.sum(axis=1) / d
        for c in range(C):
            gmax[c, h0 + a[c] // (w1 - w0), w0 + a[c] % (w1 - w0)] += gy[c, oh, ow]
        gavg[:, h0:h1, w0:w1] += (gy[:, oh, ow] / d)[:, None, None]
    return ymax, gmax, yavg, gavg


@pytest.mark.parametrize("dtype", DT, ids=["f32", "f16"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("cip", [0, 1], ids=["excl_pad", "incl_pad"])
def test_pool2d(case, dtype, cip):
    ffi, L = lib()
    shape, k, s, pads = case
    p = params(ffi, shape, k, s, pads, cip)
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(dtype)
    gy = rng.standard_normal((shape[0], p.OH, p.OW)).astype(dtype)
    ymax, gmax, yavg, gavg = refs(x.astype(np.float64), gy.astype(np.float64), k, s, pads, cip)
    sfx = suffix(dtype)
    outs = {name: Guarded(ffi, n, dtype) for name, n in (("ymax", ymax.size), ("gmax", x.size),
                                                         ("yavg", yavg.size), ("gavg", x.size))}
    assert getattr(L, f"mcuf_maxpool2d_{sfx}")(p, cptr(ffi, x), outs["ymax"].ptr) == 0
    assert getattr(L, f"mcuf_maxpool2d_grad_{sfx}")(p, cptr(ffi, x), cptr(ffi, gy), outs["gmax"].ptr) == 0
    assert getattr(L, f"mcuf_avgpool2d_{sfx}")(p, cptr(ffi, x), outs["yavg"].ptr) == 0
    assert getattr(L, f"mcuf_avgpool2d_grad_{sfx}")(p, cptr(ffi, gy), outs["gavg"].ptr) == 0
    np.testing.assert_array_equal(outs["ymax"].value(), ymax.ravel().astype(dtype))  # selection is exact
    overlap = int(np.ceil(k[0] / s[0]) * np.ceil(k[1] / s[1]))  # gradient contributions per input cell
    assert max_rel_err(outs["gmax"].value(), gmax.ravel()) <= tol(dtype, False, overlap)
    assert max_rel_err(outs["yavg"].value(), yavg.ravel()) <= tol(dtype, True)
    assert max_rel_err(outs["gavg"].value(), gavg.ravel()) <= tol(dtype, False, overlap)


@pytest.mark.parametrize("dtype,acc32", [(np.float32, 1), (np.float16, 0), (np.float16, 1)],
                         ids=["f32", "f16acc16", "f16acc32"])
@pytest.mark.parametrize("C,HW", [(1, 1), (3, 7), (33, 125), (7, 1024)])
def test_global_avgpool(dtype, acc32, C, HW):
    ffi, L = lib()
    p = ffi.new("mcuf_global_avgpool_params *", dict(C=C, HW=HW, acc=acc32))
    rng = np.random.default_rng(C)
    x = (rng.standard_normal((C, HW)) + 1.0).astype(dtype)
    gy = rng.standard_normal(C).astype(dtype)
    y, gx = Guarded(ffi, C, dtype), Guarded(ffi, C * HW, dtype)
    sfx = suffix(dtype)
    assert getattr(L, f"mcuf_global_avgpool_{sfx}")(p, cptr(ffi, x), y.ptr) == 0
    assert getattr(L, f"mcuf_global_avgpool_grad_{sfx}")(p, cptr(ffi, gy), gx.ptr) == 0
    ref = x.astype(np.float64).mean(axis=1)
    assert max_rel_err(y.value(), ref) <= tol(dtype, bool(acc32), HW)
    gref = np.repeat(gy.astype(np.float64) / HW, HW)
    assert max_rel_err(gx.value(), gref) <= tol(dtype, True)


def test_pool_backward_matches_finite_differences():
    """L = sum(r * pool(x)); max pool away from ties, FP32 kernels, central differences."""
    ffi, L = lib()
    shape, k, s, pads = CASES[2]
    p = params(ffi, shape, k, s, pads, 0)
    rng = np.random.default_rng(11)
    x = rng.permutation(np.arange(np.prod(shape), dtype=np.float32)).reshape(shape) * 0.1  # distinct values
    r = rng.standard_normal((shape[0], p.OH, p.OW)).astype(np.float32)
    gp = ffi.new("mcuf_global_avgpool_params *", dict(C=shape[0], HW=shape[1] * shape[2], acc=1))
    rg = rng.standard_normal(shape[0]).astype(np.float32)
    for fwd, bwd, rr, needs_x in (("mcuf_maxpool2d_f32", "mcuf_maxpool2d_grad_f32", r, True),
                                  ("mcuf_avgpool2d_f32", "mcuf_avgpool2d_grad_f32", r, False),
                                  ("mcuf_global_avgpool_f32", "mcuf_global_avgpool_grad_f32", rg, False)):
        pp = gp if "global" in fwd else p

        def loss(xv):
            y = np.empty(rr.size, np.float32)
            assert getattr(L, fwd)(pp, cptr(ffi, xv), cptr(ffi, y)) == 0
            return float(np.dot(y.astype(np.float64), rr.ravel()))

        g = np.empty(x.size, np.float32)
        bargs = (cptr(ffi, x), cptr(ffi, rr), cptr(ffi, g)) if needs_x else (cptr(ffi, rr), cptr(ffi, g))
        assert getattr(L, bwd)(pp, *bargs) == 0
        eps = 0.01  # smaller than half the gap between distinct values: the argmax does not move
        for i in rng.choice(x.size, 20, replace=False):
            xp, xm = x.ravel().copy(), x.ravel().copy()
            xp[i] += eps
            xm[i] -= eps
            fd = (loss(xp.reshape(shape)) - loss(xm.reshape(shape))) / (2 * eps)
            assert abs(fd - g[i]) <= 2e-3 * max(1.0, abs(fd)), (fwd, i)


def test_maxpool_ties_and_nan():
    ffi, L = lib()
    p = params(ffi, (1, 2, 2), (2, 2), (1, 1), (0, 0, 0, 0))
    x = np.array([[[1.0, 3.0], [3.0, 2.0]]], np.float32)  # tie: the first 3 (row-major) takes the grad
    g = np.empty(4, np.float32)
    assert L.mcuf_maxpool2d_grad_f32(p, cptr(ffi, x), cptr(ffi, np.array([5.0], np.float32)), cptr(ffi, g)) == 0
    np.testing.assert_array_equal(g, [0, 5, 0, 0])
    x[0, 1, 0] = np.nan
    y = np.empty(1, np.float32)
    assert L.mcuf_maxpool2d_f32(p, cptr(ffi, x), cptr(ffi, y)) == 0
    assert np.isnan(y[0])


def test_pool_errors():
    ffi, L = lib()
    x = np.ones(64, np.float32)
    y = np.ones(64, np.float32)
    p = params(ffi, (1, 8, 8), (2, 2), (2, 2), (0, 0, 0, 0))
    assert L.mcuf_maxpool2d_f32(p, cptr(ffi, x), cptr(ffi, y)) == 0
    assert L.mcuf_maxpool2d_f32(p, ffi.NULL, cptr(ffi, y)) == L.MCUF_ERR_ARG
    p.OW = 5
    assert L.mcuf_avgpool2d_f32(p, cptr(ffi, x), cptr(ffi, y)) == L.MCUF_ERR_SHAPE
    p = params(ffi, (1, 8, 8), (2, 2), (2, 2), (0, 0, 0, 0))
    p.pad_top = 2  # a window entirely in padding
    assert L.mcuf_avgpool2d_grad_f32(p, cptr(ffi, x), cptr(ffi, y)) == L.MCUF_ERR_SHAPE
    p.pad_top, p.count_include_pad = 0, 3
    assert L.mcuf_avgpool2d_grad_f32(p, cptr(ffi, x), cptr(ffi, y)) == L.MCUF_ERR_ARG
    gp = ffi.new("mcuf_global_avgpool_params *", dict(C=1, HW=0, acc=1))
    assert L.mcuf_global_avgpool_f32(gp, cptr(ffi, x), cptr(ffi, y)) == L.MCUF_ERR_ARG


@pytest.mark.parametrize("act", [(0, 0.0, 0.0), (1, 0.0, 0.0), (2, -0.3, 0.4)], ids=["none", "relu", "clip"])
@pytest.mark.parametrize("shape", [(1, 2, 2), (3, 7, 7), (2, 8, 13), (8, 28, 28), (1, 3, 2)],
                         ids=["1x2x2", "3x7x7", "2x8x13", "8x28x28", "1x3x2"])
def test_maxpool_2x2_fast_path(shape, act):
    """mcuf_maxpool2d_f32_2x2 (inference) equals numpy's max over each window, floor mode (odd rows and
    columns dropped), even and odd output widths, then the activation; wrong sizes are refused."""
    ffi, L = lib()
    C, H, W = shape
    x = np.random.default_rng(H * W + C).uniform(-1, 1, shape).astype(np.float32)
    p = ffi.new("mcuf_maxpool2d_2x2_params *", dict(C=C, H=H, W=W, OH=H // 2, OW=W // 2, act=act[0], act_lo=act[1],
                                                    act_hi=act[2]))
    y = Guarded(ffi, C * p.OH * p.OW, np.float32)
    assert L.mcuf_maxpool2d_f32_2x2(p, cptr(ffi, x), y.ptr) == 0
    ref = x[:, :2 * p.OH, :2 * p.OW].reshape(C, p.OH, 2, p.OW, 2).max(axis=(2, 4))
    ref = np.maximum(ref, 0) if act[0] == 1 else np.clip(ref, act[1], act[2]) if act[0] == 2 else ref
    assert np.array_equal(y.value().reshape(C, p.OH, p.OW), ref)
    # the activation commutes with max: pooling activated values gives the same
    if act[0]:
        xa = np.maximum(x, 0) if act[0] == 1 else np.clip(x, act[1], act[2])
        assert np.array_equal(xa[:, :2 * p.OH, :2 * p.OW].reshape(C, p.OH, 2, p.OW, 2).max(axis=(2, 4)), ref)
    p.OW = W // 2 + 1
    assert L.mcuf_maxpool2d_f32_2x2(p, cptr(ffi, x), y.ptr) == -2  # MCUF_ERR_SHAPE
    p.OW, p.act = W // 2, 3
    assert L.mcuf_maxpool2d_f32_2x2(p, cptr(ffi, x), y.ptr) == -1
    p.act = 0
    assert L.mcuf_maxpool2d_f32_2x2(p, ffi.NULL, y.ptr) == -1
