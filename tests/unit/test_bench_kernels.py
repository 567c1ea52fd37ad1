"""The pure-Python parts of toolchain.bench_kernels (no C compiler): the conv reference the QEMU tests
and the benchmark trust, checked against a direct 7-deep loop, and the backend tables."""
from __future__ import annotations

import numpy as np
import pytest

from toolchain.bench_kernels import ConvCase, backends_for, best_backend, conv_reference
from toolchain.targets import get_target


def direct_conv(c: ConvCase, x, w, b):
    out = np.zeros((c.cout, c.ho, c.wo))
    for co in range(c.cout):
        for oy in range(c.ho):
            for ox in range(c.wo):
                s = b[co]
                for ci in range(c.cin):
                    for ky in range(c.kh):
                        for kx in range(c.kw):
                            iy, ix = oy * c.sh - c.pads[0] + ky, ox * c.sw - c.pads[1] + kx
                            if 0 <= iy < c.h and 0 <= ix < c.w:
                                s += w[co, ci, ky, kx] * x[ci, iy, ix]
                out[co, oy, ox] = s
    return out


@pytest.mark.parametrize("c", [ConvCase("f32", 1, 2, 5, 6, 3, 3, 3, 2, 1, (1, 1, 1, 0)),
                               ConvCase("f32", 1, 1, 4, 4, 2, 1, 1, 1, 1, (0, 0, 0, 0)),
                               ConvCase("f32", 1, 3, 6, 5, 2, 5, 3, 1, 2, (2, 1, 2, 1))])
def test_conv_reference_matches_direct_loops(c):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(c.cin, c.h, c.w))
    w = rng.normal(size=(c.cout, c.cin, c.kh, c.kw))
    b = rng.normal(size=c.cout)
    dy = rng.normal(size=(c.cout, c.ho, c.wo))
    ref, scale = conv_reference(c, x.ravel(), w.ravel(), b, dy.ravel())
    assert np.allclose(ref["out"].reshape(c.cout, c.ho, c.wo), direct_conv(c, x, w, b))
    # gradients of L = sum(dy * conv(x)): linear in x and w, so one-hot probes give them exactly
    for flat in (0, x.size // 2, x.size - 1):
        e = np.zeros(x.size)
        e[flat] = 1.0
        d = direct_conv(c, e.reshape(x.shape), w, np.zeros(c.cout))
        assert np.isclose(ref["dx"][flat], np.sum(dy * d))
    for flat in (0, w.size - 1):
        e = np.zeros(w.size)
        e[flat] = 1.0
        d = direct_conv(c, x, e.reshape(w.shape), np.zeros(c.cout))
        assert np.isclose(ref["dw"].ravel()[flat], np.sum(dy * d))
    assert np.allclose(ref["db"], dy.reshape(c.cout, -1).sum(1))
    assert all(np.all(scale[k] >= np.abs(ref[k]) - 1e-12) for k in ("out", "dx", "dw", "db"))


def test_backend_tables():
    assert backends_for(get_target("rv32-zfh"), "f16") == ["c", "zfh"]
    assert backends_for(get_target("rv32-zvfh"), "f16") == ["c", "zfh", "rvv"]
    assert backends_for(get_target("rv32"), "f32") == ["c", "rvf"]
    assert best_backend(get_target("rv32-zvfh"), "f32") == "rvv"
    assert best_backend(get_target("host"), "f32") == "c"
