"""Conv2d (im2col + the target's best matmul: zfh on rv32-zfh, rvv on rv32-zvfh) under QEMU: one driver
build per target runs a table of layer geometries forward and both gradients, checked against numpy
(float64) with the tolerances of tests/host/mm_common, and the guard elements around every output."""
from __future__ import annotations

import numpy as np
import pytest

from tests.host.mm_common import tol
from toolchain.bench_kernels import ConvCase, run_conv_cases
from toolchain.targets import get_target

GEOMETRIES = [
    dict(cin=3, h=7, w=5, cout=4, kh=3, kw=3, sh=1, sw=1, pads=(1, 1, 1, 1)),
    dict(cin=2, h=8, w=9, cout=3, kh=3, kw=3, sh=2, sw=2, pads=(1, 1, 1, 1)),
    dict(cin=5, h=4, w=6, cout=7, kh=1, kw=1),                       # pointwise path
    dict(cin=3, h=6, w=6, cout=5, kh=5, kw=3, sh=1, sw=2, pads=(2, 1, 2, 1)),
    dict(cin=16, h=8, w=8, cout=16, kh=3, kw=3, sh=1, sw=1, pads=(1, 1, 1, 1), accumulate_grad=1),
]


@pytest.mark.parametrize("target_name", ["rv32-zfh", "rv32-zvfh"])
def test_conv_matches_numpy(target_name):
    target = get_target(target_name)
    cases = [ConvCase(dt, acc, **g) for g in GEOMETRIES for dt, acc in (("f16", 0), ("f16", 1), ("f32", 1))]
    failures = []
    for r in run_conv_cases(target, cases):
        c = r.case
        if not r.guards_ok:
            failures.append(f"{c}: wrote outside an output")
        dt = np.float32 if c.dtype == "f32" else np.float16
        ckk, P = c.cin * c.kh * c.kw, c.ho * c.wo
        limits = {"out": tol(dt, c.acc, ckk + 1), "dw": tol(dt, c.acc, P + 1), "db": tol(dt, c.acc, P + 1),
                  # stride 1: one matmul with K = cout*kh*kw; else matmul_tn + col2im, which sums up to
                  # kh*kw terms in the element type after the matmul (see tests/host/test_conv_host.py)
                  "dx": ((1 + c.kh * c.kw) * 2.0 ** -11 * 1.01 if (dt is np.float16 and c.acc == 1)
                         else tol(dt, c.acc, c.cout * c.kh * c.kw + c.kh * c.kw))}
        for name, t in limits.items():
            e = r.rel_err(name)
            if not e <= t:
                failures.append(f"{c} {name}: rel err {e:.3g} > {t:.3g}")
    assert not failures, "\n".join(failures)
