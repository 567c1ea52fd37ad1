"""SGD (portable C, cffi) against a numpy implementation of PyTorch's torch.optim.SGD (dampening 0,
weight decay added to the gradient, momentum buffer, Nesterov), FP16 variants, and loss scaling."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.layer_kernels import Guarded, cptr, lib, max_rel_err


def torch_sgd(w, grads, lr, momentum, wd, nesterov):
    """PyTorch's SGD step sequence in float64: buf is created as the first d_p (dampening 0)."""
    w = w.astype(np.float64).copy()
    buf = None
    for g in grads:
        d = g.astype(np.float64) + wd * w
        if momentum != 0:
            buf = d.copy() if buf is None else momentum * buf + d
            d = d + momentum * buf if nesterov else buf
        w = w - lr * d
    return w, buf


CONFIGS = [(0.1, 0.0, 0.0, 0), (0.05, 0.9, 0.0, 0), (0.05, 0.9, 1e-2, 0), (0.01, 0.8, 5e-3, 1), (0.2, 0.0, 0.1, 0)]


@pytest.mark.parametrize("lr,momentum,wd,nesterov", CONFIGS)
@pytest.mark.parametrize("n", [1, 3, 33])
def test_sgd_matches_pytorch_semantics(lr, momentum, wd, nesterov, n):
    ffi, L = lib()
    rng = np.random.default_rng(n)
    w0 = rng.standard_normal(n).astype(np.float32)
    grads = [rng.standard_normal(n).astype(np.float32) for _ in range(4)]
    wref, bref = torch_sgd(w0, grads, lr, momentum, wd, nesterov)
    p = ffi.new("mcuf_sgd_params *", dict(n=n, momentum=momentum, weight_decay=wd, nesterov=nesterov))
    scale = 256.0

    w32 = Guarded(ffi, n, np.float32, w0)
    m32 = Guarded(ffi, n, np.float32, np.zeros(n))
    w16 = Guarded(ffi, n, np.float16, w0)
    m16 = Guarded(ffi, n, np.float16, np.zeros(n))
    master = Guarded(ffi, n, np.float32, w0)
    mm = Guarded(ffi, n, np.float32, np.zeros(n))
    wcopy = Guarded(ffi, n, np.float16)
    mptr = lambda g: g.ptr if momentum else ffi.NULL  # noqa: E731 - NULL is allowed without momentum
    for g in grads:
        gs = (g * scale).astype(np.float16)  # a loss-scaled FP16 gradient
        assert L.mcuf_sgd_f32(p, lr, cptr(ffi, g), w32.ptr, mptr(m32)) == 0
        assert L.mcuf_sgd_f16(p, lr, 1.0 / scale, cptr(ffi, gs), w16.ptr, mptr(m16)) == 0
        assert L.mcuf_sgd_master_f16(p, lr, 1.0 / scale, cptr(ffi, gs), master.ptr, mptr(mm), wcopy.ptr) == 0
    assert max_rel_err(w32.value(), wref) <= 1e-6
    # FP16 gradients (2^-11 each) and, for mcuf_sgd_f16, FP16 weights/momentum rounded every step
    assert max_rel_err(master.value(), wref) <= 1e-3
    np.testing.assert_array_equal(wcopy.value(), master.value().astype(np.float16))
    assert max_rel_err(w16.value(), wref) <= 4e-3
    if momentum:
        assert max_rel_err(m32.value(), bref) <= 1e-6
        assert max_rel_err(mm.value(), bref) <= 2e-3
        assert max_rel_err(m16.value(), bref) <= 8e-3
    else:
        assert (m32.value() == 0).all()  # untouched: NULL was passed


def test_master_copy_keeps_small_updates_fp16_weights_lose():
    """An update below half an FP16 ulp vanishes in FP16 weights but accumulates in the master."""
    ffi, L = lib()
    p = ffi.new("mcuf_sgd_params *", dict(n=1, momentum=0.0, weight_decay=0.0, nesterov=0))
    g = np.array([1.0], np.float16)
    w16 = np.array([1.0], np.float16)
    master = np.array([1.0], np.float32)
    wcopy = np.empty(1, np.float16)
    for _ in range(100):
        L.mcuf_sgd_f16(p, 1e-4, 1.0, cptr(ffi, g), cptr(ffi, w16), ffi.NULL)
        L.mcuf_sgd_master_f16(p, 1e-4, 1.0, cptr(ffi, g), cptr(ffi, master), ffi.NULL, cptr(ffi, wcopy))
    assert w16[0] == 1.0
    assert abs(master[0] - 0.99) <= 1e-5
    assert wcopy[0] == np.float16(master[0])


def test_finite_checks():
    ffi, L = lib()
    for dtype, name in ((np.float16, "mcuf_all_finite_f16"), (np.float32, "mcuf_all_finite_f32")):
        x = np.linspace(-5, 5, 33).astype(dtype)
        x[3] = np.finfo(dtype).max
        assert getattr(L, name)(33, cptr(ffi, x)) == 0
        for bad in (np.inf, -np.inf, np.nan):
            y = x.copy()
            y[32] = bad
            assert getattr(L, name)(33, cptr(ffi, y)) == L.MCUF_ERR_OVERFLOW
        assert getattr(L, name)(0, cptr(ffi, x)) == L.MCUF_ERR_ARG


def make_scaler(ffi, init=1024.0, interval=3, lo=1.0, hi=65536.0):
    p = ffi.new("mcuf_loss_scale_params *", dict(init_scale=init, growth_factor=2.0, backoff_factor=0.5,
                                                 growth_interval=interval, min_scale=lo, max_scale=hi))
    s = ffi.new("mcuf_loss_scale_state *")
    return p, s


def test_dynamic_loss_scale_backs_off_skips_and_grows():
    ffi, L = lib()
    p, s = make_scaler(ffi, init=1024.0, interval=3)
    assert L.mcuf_loss_scale_init(p, s) == 0 and s.scale == 1024.0
    # an FP16 gradient that overflows at this scale: the step is skipped and the scale halves
    with np.errstate(over="ignore"):
        g = (np.array([100.0, -3.0], np.float32) * s.scale).astype(np.float16)
    found = L.mcuf_all_finite_f16(2, cptr(ffi, g)) != 0
    assert found
    assert L.mcuf_loss_scale_update(p, found, s) == L.MCUF_ERR_OVERFLOW
    assert s.scale == 512.0 and s.good_steps == 0 and s.skipped == 1
    # growth only after 3 consecutive good steps
    for k in range(2):
        assert L.mcuf_loss_scale_update(p, 0, s) == 0
        assert s.scale == 512.0 and s.good_steps == k + 1
    assert L.mcuf_loss_scale_update(p, 0, s) == 0
    assert s.scale == 1024.0 and s.good_steps == 0
    # an overflow in the middle of a run resets the counter
    L.mcuf_loss_scale_update(p, 0, s)
    L.mcuf_loss_scale_update(p, 1, s)
    assert s.scale == 512.0 and s.good_steps == 0 and s.skipped == 2
    # bounds
    p2, s2 = make_scaler(ffi, init=2.0, interval=1, lo=1.0, hi=4.0)
    L.mcuf_loss_scale_init(p2, s2)
    for _ in range(3):
        L.mcuf_loss_scale_update(p2, 0, s2)
    assert s2.scale == 4.0
    for _ in range(5):
        L.mcuf_loss_scale_update(p2, 1, s2)
    assert s2.scale == 1.0


def test_static_loss_scale_never_changes_but_reports_overflow():
    ffi, L = lib()
    p, s = make_scaler(ffi, init=128.0, interval=0)
    L.mcuf_loss_scale_init(p, s)
    for _ in range(10):
        assert L.mcuf_loss_scale_update(p, 0, s) == 0
    assert L.mcuf_loss_scale_update(p, 1, s) == L.MCUF_ERR_OVERFLOW
    assert s.scale == 128.0


def test_training_loop_with_loss_scaling_skips_only_overflowing_steps():
    """A miniature FP16 step loop: scaled gradients, finite check, update, SGD with 1/scale read first."""
    ffi, L = lib()
    p, s = make_scaler(ffi, init=65536.0, interval=2)
    L.mcuf_loss_scale_init(p, s)
    sp = ffi.new("mcuf_sgd_params *", dict(n=4, momentum=0.0, weight_decay=0.0, nesterov=0))
    master = np.ones(4, np.float32)
    w16 = np.ones(4, np.float16)
    true_g = np.array([0.5, -0.25, 2.0, 1.0], np.float32)
    applied = 0
    for _ in range(6):
        scale = s.scale
        with np.errstate(over="ignore"):
            g16 = (true_g * scale).astype(np.float16)  # overflows to inf while scale * 2 > 65504
        found = L.mcuf_all_finite_f16(4, cptr(ffi, g16)) != 0
        if L.mcuf_loss_scale_update(p, found, s) == 0:
            L.mcuf_sgd_master_f16(sp, 0.1, 1.0 / scale, cptr(ffi, g16), cptr(ffi, master), ffi.NULL, cptr(ffi, w16))
            applied += 1
    assert s.skipped >= 1 and applied == 6 - s.skipped
    np.testing.assert_allclose(master, 1.0 - 0.1 * applied * true_g, rtol=1e-3)


def test_sgd_errors():
    ffi, L = lib()
    w = np.ones(3, np.float32)
    p = ffi.new("mcuf_sgd_params *", dict(n=3, momentum=0.9, weight_decay=0.0, nesterov=0))
    assert L.mcuf_sgd_f32(p, 0.1, cptr(ffi, w), cptr(ffi, w.copy()), ffi.NULL) == L.MCUF_ERR_ARG
    p.momentum = 0.0
    assert L.mcuf_sgd_f32(p, -0.1, cptr(ffi, w), cptr(ffi, w.copy()), ffi.NULL) == L.MCUF_ERR_ARG
    assert L.mcuf_sgd_master_f16(p, 0.1, 1.0, cptr(ffi, w.astype(np.float16)), cptr(ffi, w), ffi.NULL,
                                 ffi.NULL) == L.MCUF_ERR_ARG
    bad, s = make_scaler(ffi, init=0.0)
    assert L.mcuf_loss_scale_init(bad, s) == L.MCUF_ERR_ARG
