"""Matmul backends under QEMU: one driver build per target runs a table of odd shapes, every backend
compiled for the target (portable C, zfh, rvf, rvv), both accumulation policies, accumulate and bias, and
checks each result against numpy (float64) with the tolerances stated in tests/support/matmul_kernels.py, plus
the guard elements around every output."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.matmul_kernels import tol
from mcuforge.bench.matmul import FORMS, MatmulCase, backends_for, matmul_cases, run_matmul_cases
from mcuforge.core.targets import get_target

pytestmark = pytest.mark.qemu

SHAPES = [(1, 1, 1), (3, 7, 1), (7, 3, 33), (33, 7, 3), (5, 9, 64), (16, 13, 40), (6, 130, 9), (11, 11, 11),
          (4, 70, 5), (130, 5, 7)]


def cases_for(target) -> list[MatmulCase]:
    cases = [c for M, N, K in SHAPES for c in matmul_cases(target, M, N, K)]
    # accumulate into C and both bias layouts, on a wide and a tall-narrow shape (the rvv backend
    # vectorises the latter along M)
    for M, N, K in ((7, 11, 9), (33, 7, 9)):
        for form in FORMS:
            for be in backends_for(target, "f16"):
                for accumulate, bias in ((1, 0), (0, 1), (1, 2)):
                    for acc in (0, 1):
                        cases.append(MatmulCase(form, be, "f16", acc, M, N, K, accumulate, bias))
            for be in backends_for(target, "f32"):
                for accumulate, bias in ((1, 0), (0, 1), (1, 2)):
                    cases.append(MatmulCase(form, be, "f32", 1, M, N, K, accumulate, bias))
    return cases


@pytest.mark.parametrize("target_name", ["rv32-zfh", "rv32-zvfh"])
def test_all_backends_match_numpy(target_name):
    target = get_target(target_name)
    cases = cases_for(target)
    expected_backends = {"rv32-zfh": {"c", "zfh", "rvf"}, "rv32-zvfh": {"c", "zfh", "rvf", "rvv"}}[target_name]
    assert {c.backend for c in cases} == expected_backends
    results = run_matmul_cases(target, cases)
    failures = []
    for r in results:
        c = r.case
        assert r.got is not None, f"{c} was not run on {target_name}"
        if not r.guards_ok:
            failures.append(f"{c}: wrote outside C")
        t = tol(np.float32 if c.dtype == "f32" else np.float16, c.acc, c.K + 2)
        if not r.max_rel_err <= t:
            failures.append(f"{c}: rel err {r.max_rel_err:.3g} > {t:.3g}")
    assert not failures, "\n".join(failures)
