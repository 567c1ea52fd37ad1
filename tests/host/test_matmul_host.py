"""Matmul kernels (portable C, through cffi) against float64 numpy references: the three forms, odd
and tiny shapes, accumulate and bias (per row / per column), both accumulation policies with the
tolerances stated in tests/support/matmul_kernels.py, guard bytes around C, and the error statuses."""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.matmul_kernels import (MCUF_ERR_ARG, MCUF_OK, POLICIES, POLICY_IDS, Guarded, cptr, lib, rel_err, sfx, tol)

SHAPES = [(1, 1, 1), (3, 7, 1), (7, 3, 33), (33, 7, 3), (5, 9, 64), (16, 13, 288), (1, 11, 17), (12, 12, 12)]
FORMS = ["nn", "nt", "tn"]


def operands(form: str, M: int, N: int, K: int, dtype: type, rng: np.random.Generator):
    """A, B stored as the form expects, and their float64 [M,K] / [K,N] views for the reference."""
    a = rng.uniform(-1, 1, (M, K)).astype(dtype)
    b = rng.uniform(-1, 1, (K, N)).astype(dtype)
    A = np.ascontiguousarray(a.T) if form == "tn" else a
    B = np.ascontiguousarray(b.T) if form == "nt" else b
    return A, B, a.astype(np.float64), b.astype(np.float64)


def call(form: str, dtype: type, M: int, N: int, K: int, acc: int, A, B, bias, C: Guarded,
         accumulate: int = 0, per_row: int = 0) -> int:
    ffi, L = lib()
    p = ffi.new("mcuf_matmul_params *", dict(M=M, N=N, K=K, acc=acc, accumulate=accumulate, bias_per_row=per_row))
    name = {"nn": "mcuf_matmul_", "nt": "mcuf_matmul_nt_", "tn": "mcuf_matmul_tn_"}[form] + sfx(dtype)
    return getattr(L, name)(p, cptr(ffi, A, dtype), cptr(ffi, B, dtype), cptr(ffi, bias, dtype), C.ptr)


@pytest.mark.parametrize("policy", POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{m}x{n}x{k}" for m, n, k in SHAPES])
def test_matmul_matches_numpy(form, shape, policy):
    dtype, acc = policy
    M, N, K = shape
    rng = np.random.default_rng(M * 1000 + N * 10 + K)
    A, B, a, b = operands(form, M, N, K, dtype, rng)
    ffi, _ = lib()
    C = Guarded(ffi, (M, N), dtype)
    assert call(form, dtype, M, N, K, acc, A, B, None, C) == MCUF_OK
    assert rel_err(C.value(), a @ b, np.abs(a) @ np.abs(b)) <= tol(dtype, acc, K)


@pytest.mark.parametrize("policy", POLICIES, ids=POLICY_IDS)
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("per_row", [0, 1])
def test_accumulate_and_bias(form, policy, per_row):
    dtype, acc = policy
    M, N, K = 7, 11, 9
    rng = np.random.default_rng(3 + per_row)
    A, B, a, b = operands(form, M, N, K, dtype, rng)
    bias = rng.uniform(-1, 1, M if per_row else N).astype(dtype)
    c0 = rng.uniform(-1, 1, (M, N)).astype(dtype)
    ffi, _ = lib()
    bb = bias.astype(np.float64)[:, None] if per_row else bias.astype(np.float64)[None, :]
    scale = np.abs(a) @ np.abs(b) + np.abs(bb)
    # overwrite with bias
    C = Guarded(ffi, (M, N), dtype, init=c0)
    assert call(form, dtype, M, N, K, acc, A, B, bias, C, accumulate=0, per_row=per_row) == MCUF_OK
    assert rel_err(C.value(), a @ b + bb, scale) <= tol(dtype, acc, K + 1)
    # accumulate onto C, with and without bias
    for with_bias in (False, True):
        C = Guarded(ffi, (M, N), dtype, init=c0)
        ref = c0.astype(np.float64) + a @ b + (bb if with_bias else 0.0)
        st = call(form, dtype, M, N, K, acc, A, B, bias if with_bias else None, C, accumulate=1, per_row=per_row)
        assert st == MCUF_OK
        assert rel_err(C.value(), ref, scale + np.abs(c0)) <= tol(dtype, acc, K + 2)


def test_fp32_accumulation_beats_fp16_accumulation():
    """The policy is really applied: on a long dot product FP32 accumulation is clearly more accurate."""
    M, N, K = 8, 8, 1024
    rng = np.random.default_rng(7)
    A, B, a, b = operands("nn", M, N, K, np.float16, rng)
    errs = {}
    ffi, _ = lib()
    for acc in (0, 1):
        C = Guarded(ffi, (M, N), np.float16)
        assert call("nn", np.float16, M, N, K, acc, np.abs(A), np.abs(B), None, C) == MCUF_OK
        ref = np.abs(a) @ np.abs(b)
        errs[acc] = rel_err(C.value(), ref, ref)
    assert errs[1] <= 2.0 ** -11 * 1.01
    assert errs[0] > 4 * errs[1]


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
@pytest.mark.parametrize("form", FORMS)
def test_errors(form, dtype):
    ffi, L = lib()
    A = np.ones((3, 3), dtype)
    C = Guarded(ffi, (3, 3), dtype)
    name = {"nn": "mcuf_matmul_", "nt": "mcuf_matmul_nt_", "tn": "mcuf_matmul_tn_"}[form] + sfx(dtype)
    fn = getattr(L, name)
    good = ffi.new("mcuf_matmul_params *", dict(M=3, N=3, K=3))
    pa = cptr(ffi, A, dtype)
    assert fn(ffi.NULL, pa, pa, ffi.NULL, C.ptr) == MCUF_ERR_ARG
    assert fn(good, ffi.NULL, pa, ffi.NULL, C.ptr) == MCUF_ERR_ARG
    assert fn(good, pa, ffi.NULL, ffi.NULL, C.ptr) == MCUF_ERR_ARG
    assert fn(good, pa, pa, ffi.NULL, ffi.NULL) == MCUF_ERR_ARG
    for bad in (dict(M=0, N=3, K=3), dict(M=3, N=0, K=3), dict(M=3, N=3, K=0), dict(M=-1, N=3, K=3)):
        assert fn(ffi.new("mcuf_matmul_params *", bad), pa, pa, ffi.NULL, C.ptr) == MCUF_ERR_ARG
    # nothing was written on error
    assert np.all(C.raw == C.raw[0])
