"""Conv2d (im2col + matmul), pointwise conv and linear layers (portable C, through cffi): forward and
both gradients against float64 numpy references, guard bytes around every output, finite-difference
checks of the gradients, scratch and argument errors. Tolerances as stated in tests/support/matmul_kernels.py (K = the
length of the dot products of each matmul)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.matmul_kernels import (MCUF_ERR_ARG, MCUF_ERR_SCRATCH, MCUF_OK, POLICIES, POLICY_IDS, Guarded, cptr, lib,
                        rel_err, sfx, tol)

# cin, h, w, cout, kh, kw, sh, sw, pad top, left, bottom, right
CONV_CASES = [
    (3, 7, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1),
    (2, 8, 9, 3, 3, 3, 2, 2, 1, 1, 1, 1),
    (1, 5, 7, 2, 1, 1, 1, 1, 0, 0, 0, 0),   # pointwise path, no scratch
    (3, 6, 6, 5, 5, 3, 1, 2, 2, 1, 2, 1),
    (4, 3, 3, 7, 3, 3, 1, 1, 0, 0, 0, 0),   # a single output pixel
    (1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0),
    (2, 4, 5, 3, 1, 1, 2, 2, 0, 0, 0, 0),   # 1x1 but strided: im2col path
    (16, 8, 8, 16, 3, 3, 1, 1, 1, 1, 1, 1),  # ResNet-8 layer, smaller image
    (3, 6, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1),   # 9 output channels: tight bands stage 4 + 4 + 1
]
CONV_IDS = ["x".join(map(str, c[:3])) + f"_o{c[3]}_k{c[4]}{c[5]}_s{c[6]}{c[7]}_p{''.join(map(str, c[8:]))}"
            for c in CONV_CASES]


def out_size(n: int, k: int, s: int, p0: int, p1: int) -> int:
    return (n + p0 + p1 - k) // s + 1


def conv_params(ffi, c, acc=1, accumulate_grad=0):
    cin, h, w, cout, kh, kw, sh, sw, pt, pl, pb, pr = c
    return ffi.new("mcuf_conv2d_params *", dict(
        C=cin, H=h, W=w, OC=cout, kh=kh, kw=kw, stride_h=sh, stride_w=sw, pad_top=pt, pad_left=pl,
        OH=out_size(h, kh, sh, pt, pb), OW=out_size(w, kw, sw, pl, pr), acc=acc, accumulate_grad=accumulate_grad))


def im2col_index(c):
    """Index of the input element behind each im2col entry ([CKK, P]) and its validity mask."""
    cin, h, w, cout, kh, kw, sh, sw, pt, pl, pb, pr = c
    ho, wo = out_size(h, kh, sh, pt, pb), out_size(w, kw, sw, pl, pr)
    ci, ky, kx, oy, ox = np.meshgrid(np.arange(cin), np.arange(kh), np.arange(kw), np.arange(ho), np.arange(wo),
                                     indexing="ij")
    iy, ix = oy * sh - pt + ky, ox * sw - pl + kx
    valid = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    idx = (ci * h + np.clip(iy, 0, h - 1)) * w + np.clip(ix, 0, w - 1)
    return idx.reshape(cin * kh * kw, ho * wo), valid.reshape(cin * kh * kw, ho * wo), ho, wo


def conv_ref(c, x, wt, b, dy):
    """float64 forward, input gradient, weight gradient, bias gradient and their error scales."""
    cin, h, w, cout, kh, kw = c[:6]
    idx, valid, ho, wo = im2col_index(c)
    col = np.where(valid, x.reshape(-1)[idx], 0.0)
    W = wt.reshape(cout, -1)
    out = W @ col + (b[:, None] if b is not None else 0.0)
    dcol = W.T @ dy.reshape(cout, -1)
    dx = np.zeros(cin * h * w)
    np.add.at(dx, idx[valid], dcol[valid])
    adcol = np.abs(W).T @ np.abs(dy.reshape(cout, -1))
    sdx = np.zeros(cin * h * w)
    np.add.at(sdx, idx[valid], adcol[valid])
    dw = dy.reshape(cout, -1) @ col.T
    scales = (np.abs(W) @ np.abs(col) + (np.abs(b)[:, None] if b is not None else 0.0), sdx,
              np.abs(dy.reshape(cout, -1)) @ np.abs(col).T)
    return (out.reshape(cout, ho, wo), dx.reshape(cin, h, w), dw.reshape(wt.shape), dy.reshape(cout, -1).sum(1),
            scales)


def scratch_for(ffi, L, p, dtype, grad_input=False):
    """A buffer of exactly the size the function asks for (forward/weight grad, or input grad)."""
    name = f"mcuf_conv2d_grad_input_{sfx(dtype)}_scratch_size" if grad_input else f"mcuf_conv2d_{sfx(dtype)}_scratch_size"
    n = getattr(L, name)(p)
    buf = ffi.new("char[]", max(int(n), 1))
    return buf, n


@pytest.mark.parametrize("policy", POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("c", CONV_CASES, ids=CONV_IDS)
def test_conv2d_forward_and_gradients(c, policy):
    dtype, acc = policy
    ffi, L = lib()
    cin, h, w, cout, kh, kw = c[:6]
    rng = np.random.default_rng(sum(c))
    x = rng.uniform(-1, 1, (cin, h, w)).astype(dtype)
    wt = rng.uniform(-1, 1, (cout, cin, kh, kw)).astype(dtype)
    b = rng.uniform(-1, 1, cout).astype(dtype)
    p = conv_params(ffi, c, acc=acc)
    ho, wo = p.OH, p.OW
    dy = rng.uniform(-1, 1, (cout, ho, wo)).astype(dtype)
    out_r, dx_r, dw_r, db_r, (s_out, s_dx, s_dw) = conv_ref(c, *(a.astype(np.float64) for a in (x, wt, b, dy)))
    scratch, nbytes = scratch_for(ffi, L, p, dtype)
    gscratch, gbytes = scratch_for(ffi, L, p, dtype, grad_input=True)
    if kh == kw == 1 and c[6] == c[7] == 1:
        assert nbytes == 0 and gbytes == 0
    else:
        # im2col of the input; the input gradient at stride 1: flipped weights + im2col of dout
        assert nbytes == cin * kh * kw * ho * wo * np.dtype(dtype).itemsize
        gneed = cin * kh * kw * ho * wo
        if c[6] == c[7] == 1 and c[8] < kh and c[9] < kw:
            gneed = cout * kh * kw * h * w + cin * cout * kh * kw
        assert gbytes == gneed * np.dtype(dtype).itemsize
    s = sfx(dtype)
    X, Wp, Bp, DY = (cptr(ffi, a, dtype) for a in (x, wt, b, dy))
    ckk, P = cin * kh * kw, ho * wo

    out = Guarded(ffi, (cout, ho, wo), dtype)
    assert getattr(L, f"mcuf_conv2d_{s}")(p, X, Wp, Bp, out.ptr, scratch, nbytes) == MCUF_OK
    assert rel_err(out.value().reshape(cout, -1), out_r.reshape(cout, -1), s_out) <= tol(dtype, acc, ckk + 1)

    dx = Guarded(ffi, (cin, h, w), dtype)
    assert getattr(L, f"mcuf_conv2d_grad_input_{s}")(p, DY, Wp, dx.ptr, gscratch, gbytes) == MCUF_OK
    # Stride 1: one matmul with K = cout*kh*kw (transposed conv); else matmul_tn (K = cout) then col2im,
    # which adds up to kh*kw overlapping terms in the element type: with FP32 accumulation that is one
    # FP16 rounding for the matmul plus one per col2im addition. The bound below covers both.
    t_dx = tol(dtype, acc, cout * kh * kw + kh * kw)
    if dtype is np.float16 and acc == 1:
        t_dx = (1 + kh * kw) * 2.0 ** -11 * 1.01
    assert rel_err(dx.value().reshape(-1), dx_r.reshape(-1), s_dx) <= t_dx

    dw = Guarded(ffi, (cout, cin, kh, kw), dtype)
    db = Guarded(ffi, (cout,), dtype)
    assert getattr(L, f"mcuf_conv2d_grad_weight_{s}")(p, X, DY, dw.ptr, db.ptr, scratch, nbytes) == MCUF_OK
    assert rel_err(dw.value().reshape(cout, -1), dw_r.reshape(cout, -1), s_dw) <= tol(dtype, acc, P)
    assert rel_err(db.value(), db_r, np.abs(dy.astype(np.float64)).reshape(cout, -1).sum(1)) <= tol(dtype, acc, P)

    # accumulate_grad adds onto what is there
    pa = conv_params(ffi, c, acc=acc, accumulate_grad=1)
    dw0 = rng.uniform(-1, 1, (cout, cin, kh, kw)).astype(dtype)
    db0 = rng.uniform(-1, 1, cout).astype(dtype)
    dw = Guarded(ffi, (cout, cin, kh, kw), dtype, init=dw0)
    db = Guarded(ffi, (cout,), dtype, init=db0)
    assert getattr(L, f"mcuf_conv2d_grad_weight_{s}")(pa, X, DY, dw.ptr, db.ptr, scratch, nbytes) == MCUF_OK
    assert rel_err(dw.value().reshape(cout, -1), (dw_r + dw0).reshape(cout, -1),
                   s_dw + np.abs(dw0).reshape(cout, -1)) <= tol(dtype, acc, P + 1)
    assert rel_err(db.value(), db_r + db0, np.abs(dy.astype(np.float64)).reshape(cout, -1).sum(1)
                   + np.abs(db0)) <= tol(dtype, acc, P + 1)


@pytest.mark.parametrize("policy", POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("c", [c for c in CONV_CASES if not (c[4] == c[5] == 1 and c[6] == c[7] == 1)],
                         ids=[i for c, i in zip(CONV_CASES, CONV_IDS) if not (c[4] == c[5] == 1 and c[6] == c[7] == 1)])
def test_conv2d_forward_in_bands(c, policy):
    """Any scratch from one output row's band up to the full im2col matrix gives the same result."""
    dtype, acc = policy
    ffi, L = lib()
    cin, h, w, cout, kh, kw = c[:6]
    rng = np.random.default_rng(sum(c) + 7)
    x = rng.uniform(-1, 1, (cin, h, w)).astype(dtype)
    wt = rng.uniform(-1, 1, (cout, cin, kh, kw)).astype(dtype)
    b = rng.uniform(-1, 1, cout).astype(dtype)
    p = conv_params(ffi, c, acc=acc)
    ho, wo = p.OH, p.OW
    out_r, *_, (s_out, _, _) = conv_ref(c, *(a.astype(np.float64) for a in (x, wt, b, np.zeros((cout, ho, wo)))))
    f = getattr(L, f"mcuf_conv2d_{sfx(dtype)}")
    need = int(getattr(L, f"mcuf_conv2d_{sfx(dtype)}_min_scratch_size")(p))
    full = int(getattr(L, f"mcuf_conv2d_{sfx(dtype)}_scratch_size")(p))
    item = np.dtype(dtype).itemsize
    # one output row: its im2col columns + the product of at least 4 channels (all of them if fewer)
    assert need == min((cin * kh * kw + min(cout, 4)) * wo * item, full)
    small = ffi.new("char[]", need - 1)
    out = Guarded(ffi, (cout, ho, wo), dtype)
    assert f(p, cptr(ffi, x, dtype), cptr(ffi, wt, dtype), cptr(ffi, b, dtype), out.ptr, small, need - 1) == MCUF_ERR_SCRATCH
    row = (cin * kh * kw + cout) * wo * item  # one row with every channel staged at once
    sizes = {need, need + wo * item, row - 1}  # one row, channels staged in groups (4, 5, cout - 1 ...)
    sizes |= {row * rows + row // 2 for rows in (1, 2, max(1, ho // 2), max(1, ho - 1))}  # whole-row bands
    for nbytes in sorted(n for n in sizes if need <= n < full):
        scratch = ffi.new("char[]", nbytes)
        out = Guarded(ffi, (cout, ho, wo), dtype)
        assert f(p, cptr(ffi, x, dtype), cptr(ffi, wt, dtype), cptr(ffi, b, dtype), out.ptr, scratch, nbytes) == MCUF_OK
        assert rel_err(out.value(), out_r, s_out.reshape(out_r.shape)) <= tol(dtype, acc, cin * kh * kw), \
            f"{nbytes} bytes of scratch"


def test_conv2d_gradients_by_finite_differences():
    """d(sum(g * conv(x, w) + b))/dx, /dw, /db from the kernels against central differences of the
    FP32 forward kernel itself (the loss is linear, so the differences are exact up to rounding)."""
    ffi, L = lib()
    c = (2, 5, 6, 3, 3, 3, 2, 1, 1, 1, 1, 0)
    cin, h, w, cout, kh, kw = c[:6]
    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, (cin, h, w)).astype(np.float32)
    wt = rng.uniform(-1, 1, (cout, cin, kh, kw)).astype(np.float32)
    b = rng.uniform(-1, 1, cout).astype(np.float32)
    p = conv_params(ffi, c)
    g = rng.uniform(-1, 1, (cout, p.OH, p.OW)).astype(np.float32)
    scratch, nbytes = scratch_for(ffi, L, p, np.float32)
    gscratch, gbytes = scratch_for(ffi, L, p, np.float32, grad_input=True)

    def loss(xx, ww, bb):
        out = Guarded(ffi, (cout, p.OH, p.OW), np.float32)
        assert L.mcuf_conv2d_f32(p, cptr(ffi, xx, np.float32), cptr(ffi, ww, np.float32),
                                 cptr(ffi, bb, np.float32), out.ptr, scratch, nbytes) == MCUF_OK
        return float(np.sum(out.value() * g))

    dx = Guarded(ffi, (cin, h, w), np.float32)
    assert L.mcuf_conv2d_grad_input_f32(p, cptr(ffi, g, np.float32), cptr(ffi, wt, np.float32), dx.ptr, gscratch,
                                        gbytes) == MCUF_OK
    dw = Guarded(ffi, wt.shape, np.float32)
    db = Guarded(ffi, (cout,), np.float32)
    assert L.mcuf_conv2d_grad_weight_f32(p, cptr(ffi, x, np.float32), cptr(ffi, g, np.float32), dw.ptr, db.ptr,
                                         scratch, nbytes) == MCUF_OK
    eps = 0.05
    for which, arr, grad in (("x", x, dx.value()), ("w", wt, dw.value()), ("b", b, db.value())):
        for flat in rng.choice(arr.size, size=min(6, arr.size), replace=False):
            plus, minus = arr.copy(), arr.copy()
            plus.reshape(-1)[flat] += eps
            minus.reshape(-1)[flat] -= eps
            args_p = {"x": (plus, wt, b), "w": (x, plus, b), "b": (x, wt, plus)}[which]
            args_m = {"x": (minus, wt, b), "w": (x, minus, b), "b": (x, wt, minus)}[which]
            fd = (loss(*args_p) - loss(*args_m)) / (2 * eps)
            assert abs(fd - grad.reshape(-1)[flat]) <= 1e-3 * max(1.0, abs(fd)), (which, flat)


@pytest.mark.parametrize("policy", POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 7, 33), (16, 16, 17)], ids=["1x1x1", "3x7x33", "16x16x17"])
def test_pointwise(shape, policy):
    dtype, acc = policy
    cin, cout, hw = shape
    ffi, L = lib()
    rng = np.random.default_rng(cin + cout + hw)
    x = rng.uniform(-1, 1, (cin, hw)).astype(dtype)
    wt = rng.uniform(-1, 1, (cout, cin)).astype(dtype)
    b = rng.uniform(-1, 1, cout).astype(dtype)
    dy = rng.uniform(-1, 1, (cout, hw)).astype(dtype)
    xf, wf, bf, dyf = (a.astype(np.float64) for a in (x, wt, b, dy))
    p = ffi.new("mcuf_pointwise_params *", dict(C=cin, OC=cout, HW=hw, acc=acc))
    s = sfx(dtype)
    X, Wp, Bp, DY = (cptr(ffi, a, dtype) for a in (x, wt, b, dy))
    out = Guarded(ffi, (cout, hw), dtype)
    assert getattr(L, f"mcuf_pointwise_{s}")(p, X, Wp, Bp, out.ptr) == MCUF_OK
    assert rel_err(out.value(), wf @ xf + bf[:, None], np.abs(wf) @ np.abs(xf) + np.abs(bf)[:, None]) <= tol(dtype, acc, cin + 1)
    dx = Guarded(ffi, (cin, hw), dtype)
    assert getattr(L, f"mcuf_pointwise_grad_input_{s}")(p, DY, Wp, dx.ptr) == MCUF_OK
    assert rel_err(dx.value(), wf.T @ dyf, np.abs(wf).T @ np.abs(dyf)) <= tol(dtype, acc, cout)
    dw = Guarded(ffi, (cout, cin), dtype)
    db = Guarded(ffi, (cout,), dtype)
    assert getattr(L, f"mcuf_pointwise_grad_weight_{s}")(p, X, DY, dw.ptr, db.ptr) == MCUF_OK
    assert rel_err(dw.value(), dyf @ xf.T, np.abs(dyf) @ np.abs(xf).T) <= tol(dtype, acc, hw)
    assert rel_err(db.value(), dyf.sum(1), np.abs(dyf).sum(1)) <= tol(dtype, acc, hw)


@pytest.mark.parametrize("policy", POLICIES, ids=POLICY_IDS)
# batch 1 runs the row-blocked matrix-vector path: 1..11 outputs cover every block split (<= 5 rows),
# inputs below, at and past the 8-column unroll with a tail
@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 33, 10), (3, 64, 7), (1, 7, 3), (1, 16, 4), (1, 9, 6),
                                   (1, 784, 10), (1, 21, 11), (1, 8, 2)],
                         ids=["1x1x1", "1x33x10", "3x64x7", "1x7x3", "1x16x4", "1x9x6", "1x784x10", "1x21x11", "1x8x2"])
def test_linear(shape, policy):
    dtype, acc = policy
    batch, n_in, n_out = shape
    ffi, L = lib()
    rng = np.random.default_rng(batch + n_in + n_out)
    x = rng.uniform(-1, 1, (batch, n_in)).astype(dtype)
    wt = rng.uniform(-1, 1, (n_out, n_in)).astype(dtype)
    b = rng.uniform(-1, 1, n_out).astype(dtype)
    dy = rng.uniform(-1, 1, (batch, n_out)).astype(dtype)
    xf, wf, bf, dyf = (a.astype(np.float64) for a in (x, wt, b, dy))
    s = sfx(dtype)
    X, Wp, Bp, DY = (cptr(ffi, a, dtype) for a in (x, wt, b, dy))
    for accumulate_grad in (0, 1):
        p = ffi.new("mcuf_linear_params *", dict(batch=batch, in_features=n_in, out_features=n_out, acc=acc,
                                                   accumulate_grad=accumulate_grad))
        y = Guarded(ffi, (batch, n_out), dtype)
        assert getattr(L, f"mcuf_linear_{s}")(p, X, Wp, Bp, y.ptr) == MCUF_OK
        assert rel_err(y.value(), xf @ wf.T + bf, np.abs(xf) @ np.abs(wf).T + np.abs(bf)) <= tol(dtype, acc, n_in + 1)
        dx = Guarded(ffi, (batch, n_in), dtype)
        assert getattr(L, f"mcuf_linear_grad_input_{s}")(p, DY, Wp, dx.ptr) == MCUF_OK
        assert rel_err(dx.value(), dyf @ wf, np.abs(dyf) @ np.abs(wf)) <= tol(dtype, acc, n_out)
        dw0 = np.full((n_out, n_in), 0.5, dtype)
        db0 = np.full(n_out, -0.25, dtype)
        dw = Guarded(ffi, (n_out, n_in), dtype, init=dw0)
        db = Guarded(ffi, (n_out,), dtype, init=db0)
        assert getattr(L, f"mcuf_linear_grad_weight_{s}")(p, X, DY, dw.ptr, db.ptr) == MCUF_OK
        base_w = 0.5 * accumulate_grad
        base_b = -0.25 * accumulate_grad
        assert rel_err(dw.value(), dyf.T @ xf + base_w, np.abs(dyf).T @ np.abs(xf) + 0.5) <= tol(dtype, acc, batch + 1)
        assert rel_err(db.value(), dyf.sum(0) + base_b, np.abs(dyf).sum(0) + 0.25) <= tol(dtype, acc, batch + 1)


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_conv_errors(dtype):
    ffi, L = lib()
    c = (2, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1)
    p = conv_params(ffi, c)
    s = sfx(dtype)
    x = np.ones((2, 5, 5), dtype)
    wt = np.ones((3, 2, 3, 3), dtype)
    X, Wp = cptr(ffi, x, dtype), cptr(ffi, wt, dtype)
    out = Guarded(ffi, (3, 5, 5), dtype)
    scratch, nbytes = scratch_for(ffi, L, p, dtype)
    fwd = getattr(L, f"mcuf_conv2d_{s}")
    gin = getattr(L, f"mcuf_conv2d_grad_input_{s}")
    gw = getattr(L, f"mcuf_conv2d_grad_weight_{s}")
    assert fwd(p, X, Wp, ffi.NULL, out.ptr, ffi.NULL, nbytes) == MCUF_ERR_SCRATCH
    need = getattr(L, f"mcuf_conv2d_{s}_min_scratch_size")(p)  # the forward pass works in bands down to this
    assert 0 < need < nbytes and fwd(p, X, Wp, ffi.NULL, out.ptr, scratch, need - 1) == MCUF_ERR_SCRATCH
    gscratch, gbytes = scratch_for(ffi, L, p, dtype, grad_input=True)
    assert gin(p, X, Wp, out.ptr, ffi.NULL, gbytes) == MCUF_ERR_SCRATCH
    assert gin(p, X, Wp, out.ptr, gscratch, gbytes - 1) == MCUF_ERR_SCRATCH
    assert gw(p, X, X, out.ptr, ffi.NULL, scratch, nbytes - 2) == MCUF_ERR_SCRATCH
    assert fwd(ffi.NULL, X, Wp, ffi.NULL, out.ptr, scratch, nbytes) == MCUF_ERR_ARG
    assert fwd(p, ffi.NULL, Wp, ffi.NULL, out.ptr, scratch, nbytes) == MCUF_ERR_ARG
    assert fwd(p, X, Wp, ffi.NULL, ffi.NULL, scratch, nbytes) == MCUF_ERR_ARG
    bad = conv_params(ffi, c)
    bad.stride_h = 0
    assert fwd(bad, X, Wp, ffi.NULL, out.ptr, scratch, nbytes) == MCUF_ERR_ARG
    assert getattr(L, f"mcuf_conv2d_{s}_scratch_size")(bad) == 0
    assert np.all(out.raw == out.raw[0])  # nothing written on error
    lp = ffi.new("mcuf_linear_params *", dict(batch=0, out_features=3, acc=1))
    assert getattr(L, f"mcuf_linear_{s}")(lp, X, Wp, ffi.NULL, out.ptr) == MCUF_ERR_ARG
    pp = ffi.new("mcuf_pointwise_params *", dict(C=2, OC=3, HW=0, acc=1))
    assert getattr(L, f"mcuf_pointwise_{s}")(pp, X, Wp, ffi.NULL, out.ptr) == MCUF_ERR_ARG


# Direct 3x3 stride-1 FP32 conv with fused activation (mcuf_conv2d_f32_3x3).
# cin, h, w, cout, pad top, left, bottom, right: covers the one-input-channel strips (cin 1, wo >= 7),
# the two-channel blocks with an odd last channel, every block width 1..7, pads 0..2 and the
# unpadded in-place read (no scratch).
C3_CASES = [
    (1, 28, 28, 8, 1, 1, 1, 1),    # the MNIST first layer: strips of 14
    (1, 9, 15, 3, 1, 1, 1, 1),     # strips 8 + 7
    (1, 5, 4, 2, 1, 1, 1, 1),      # cin 1 but narrower than a strip: blocks
    (8, 14, 14, 16, 1, 1, 1, 1),   # the MNIST second layer: blocks of 7
    (3, 6, 11, 5, 2, 0, 1, 2),     # odd cout, asymmetric pads
    (2, 7, 8, 3, 0, 0, 0, 0),      # no padding: the input read in place, scratch NULL
    (4, 3, 3, 1, 1, 1, 1, 1),      # 3 wide, one output channel
    (2, 1, 1, 2, 1, 1, 1, 1),      # one pixel
    (5, 4, 17, 4, 1, 2, 1, 0),     # 17 wide: 6 + 6 + 5
]
C3_IDS = [f"c{c[0]}_{c[1]}x{c[2]}_o{c[3]}_p{''.join(map(str, c[4:]))}" for c in C3_CASES]
ACTS = [(0, 0.0, 0.0), (1, 0.0, 0.0), (2, -0.25, 0.5)]  # none, Relu, Clip(-0.25, 0.5)


def conv3x3_params(ffi, c, act=(0, 0.0, 0.0)):
    cin, h, w, cout, pt, pl, pb, pr = c
    return ffi.new("mcuf_conv2d_3x3_params *", dict(
        C=cin, H=h, W=w, OC=cout, pad_top=pt, pad_left=pl, OH=h + pt + pb - 2, OW=w + pl + pr - 2,
        act=act[0], act_lo=act[1], act_hi=act[2]))


@pytest.mark.parametrize("act", ACTS, ids=["none", "relu", "clip"])
@pytest.mark.parametrize("c", C3_CASES, ids=C3_IDS)
def test_conv2d_f32_3x3_matches_numpy(c, act):
    ffi, L = lib()
    cin, h, w, cout, pt, pl, pb, pr = c
    rng = np.random.default_rng(sum(c) + act[0])
    x = rng.uniform(-1, 1, (cin, h, w)).astype(np.float32)
    wt = rng.uniform(-1, 1, (cout, cin, 3, 3)).astype(np.float32)
    b = rng.uniform(-1, 1, cout).astype(np.float32)
    ref, _, _, _, (scale, _, _) = conv_ref((cin, h, w, cout, 3, 3, 1, 1, pt, pl, pb, pr),
                                            x.astype(np.float64), wt.astype(np.float64), b.astype(np.float64),
                                            np.zeros((cout, h + pt + pb - 2, w + pl + pr - 2)))
    if act[0] == 1:
        ref = np.maximum(ref, 0.0)
    elif act[0] == 2:
        ref = np.clip(ref, act[1], act[2])
    p = conv3x3_params(ffi, c, act)
    nbytes = L.mcuf_conv2d_f32_3x3_scratch_size(p)
    assert nbytes == (0 if not any(c[4:]) else cin * (p.OH + 2) * (p.OW + 2) * 4)
    nmin = L.mcuf_conv2d_f32_3x3_min_scratch_size(p)
    assert nmin == min(nbytes, cin * 3 * (p.OW + 2) * 4)
    scratch = ffi.new("char[]", nbytes) if nbytes else ffi.NULL
    X, Wp, Bp = (cptr(ffi, a, np.float32) for a in (x, wt, b))
    # whole padded input, one output row a band, and bands of 2 rows with a spare partial row
    for size in sorted({nbytes, nmin, min(nbytes, nmin + nmin // 3 + 4)}):
        out = Guarded(ffi, (cout, p.OH, p.OW), np.float32)
        assert L.mcuf_conv2d_f32_3x3(p, X, Wp, Bp, out.ptr, scratch, size) == MCUF_OK
        assert rel_err(out.value().reshape(cout, -1), ref.reshape(cout, -1),
                       scale.reshape(cout, -1)) <= tol(np.float32, 1, cin * 9 + 1), size
    # without bias
    out = Guarded(ffi, (cout, p.OH, p.OW), np.float32)
    assert L.mcuf_conv2d_f32_3x3(p, X, Wp, ffi.NULL, out.ptr, scratch, nbytes) == MCUF_OK
    ref_nb = conv_ref((cin, h, w, cout, 3, 3, 1, 1, pt, pl, pb, pr), x.astype(np.float64), wt.astype(np.float64),
                      None, np.zeros((cout, p.OH, p.OW)))[0]
    ref_nb = np.maximum(ref_nb, 0.0) if act[0] == 1 else np.clip(ref_nb, act[1], act[2]) if act[0] == 2 else ref_nb
    assert rel_err(out.value().reshape(cout, -1), ref_nb.reshape(cout, -1), scale.reshape(cout, -1) + 1) <= tol(np.float32, 1, cin * 9 + 1)


def test_conv2d_f32_3x3_errors():
    ffi, L = lib()
    c = (2, 5, 6, 3, 1, 1, 1, 1)
    p = conv3x3_params(ffi, c, (1, 0.0, 0.0))
    n = L.mcuf_conv2d_f32_3x3_min_scratch_size(p)
    x = np.zeros((2, 5, 6), np.float32)
    wt = np.zeros((3, 2, 3, 3), np.float32)
    y = np.zeros((3, 5, 6), np.float32)
    X, Wp, Y = (cptr(ffi, a, np.float32) for a in (x, wt, y))
    buf = ffi.new("char[]", n)
    assert L.mcuf_conv2d_f32_3x3(p, X, Wp, ffi.NULL, Y, buf, n - 1) == MCUF_ERR_SCRATCH
    assert L.mcuf_conv2d_f32_3x3(p, X, Wp, ffi.NULL, Y, ffi.NULL, n) == MCUF_ERR_SCRATCH
    assert L.mcuf_conv2d_f32_3x3(p, ffi.NULL, Wp, ffi.NULL, Y, buf, n) == MCUF_ERR_ARG
    assert L.mcuf_conv2d_f32_3x3(p, X, ffi.NULL, ffi.NULL, Y, buf, n) == MCUF_ERR_ARG
    assert L.mcuf_conv2d_f32_3x3(p, X, Wp, ffi.NULL, ffi.NULL, buf, n) == MCUF_ERR_ARG
    assert L.mcuf_conv2d_f32_3x3(ffi.NULL, X, Wp, ffi.NULL, Y, buf, n) == MCUF_ERR_ARG
    for field, value in (("pad_top", 3), ("OW", 9), ("OH", 2), ("act", 3), ("C", 0)):
        q = conv3x3_params(ffi, c, (1, 0.0, 0.0))
        setattr(q, field, value)
        assert L.mcuf_conv2d_f32_3x3(q, X, Wp, ffi.NULL, Y, buf, n) == MCUF_ERR_ARG, field
        assert L.mcuf_conv2d_f32_3x3_scratch_size(q) == 0 and L.mcuf_conv2d_f32_3x3_min_scratch_size(q) == 0
