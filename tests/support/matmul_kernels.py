"""Shared helpers of the matmul / conv host tests: the cffi library of the portable kernels, guarded
output buffers and the error metric.

Error metric: |C - ref| / (sum_k |A_ik B_kj| + |C_old| + |bias|) per element, the quantity a
floating-point dot product bounds, so cancellation cannot fake a failure. Stated tolerances:
  FP32                 (K + 3) * 2^-24   (the classic gamma_K bound, rigorous)
  FP16, FP32 acc       2^-11 * 1.01 + (K + 3) * 2^-24  (one FP16 rounding of the FP32 result)
  FP16, FP16 acc       (K + 3) * 2^-11   (one FP16 rounding per step, rigorous worst case)
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from mcuforge.run.hostlib import load_library
from mcuforge.core.paths import RUNTIME_INCLUDE, RUNTIME_SRC

SOURCES = ["mcuf_matmul_f16.c", "mcuf_matmul_f32.c", "mcuf_matmul_f16_zfh.c", "mcuf_matmul_f16_rvv.c",
           "mcuf_matmul_f32_rvf.c", "mcuf_matmul_f32_rvv.c", "mcuf_conv.c", "mcuf_linear.c"]
HEADERS = ["mcuf_matmul.h", "mcuf_conv.h", "mcuf_linear.h"]
GUARD = 8
SENTINEL = {np.float16: 0x7E55, np.float32: 0x7FA5A5A5}  # NaN bit patterns no kernel writes
MCUF_OK, MCUF_ERR_ARG, MCUF_ERR_SCRATCH = 0, -1, -3
# (dtype, acc code): FP32; FP16 with FP16 accumulation; FP16 with FP32 accumulation
POLICIES = [(np.float32, 1), (np.float16, 0), (np.float16, 1)]
POLICY_IDS = ["f32", "f16acc16", "f16acc32"]


@lru_cache(maxsize=None)
def lib() -> tuple[Any, Any]:
    """(ffi, lib) of the portable matmul, conv and linear kernels, built once per session."""
    return load_library([RUNTIME_SRC / s for s in SOURCES], include_dirs=[RUNTIME_SRC],
                        headers=[RUNTIME_INCLUDE / h for h in HEADERS])


def tol(dtype: type, acc: int, K: int) -> float:
    """Relative tolerance (see the module docstring) for dot products of length K."""
    if dtype is np.float32:
        return (K + 3) * 2.0 ** -24
    if acc == 1:
        return 2.0 ** -11 * 1.01 + (K + 3) * 2.0 ** -24
    return (K + 3) * 2.0 ** -11


def ctype(dtype: type) -> str:
    return "float" if dtype is np.float32 else "mcuf_f16"


def sfx(dtype: type) -> str:
    return "f32" if dtype is np.float32 else "f16"


def cptr(ffi: Any, arr: np.ndarray | None, dtype: type) -> Any:
    """A C pointer to a contiguous numpy array (NULL for None)."""
    if arr is None:
        return ffi.NULL
    assert arr.flags.c_contiguous and arr.dtype == dtype
    return ffi.cast(ctype(dtype) + " *", ffi.from_buffer(arr))


class Guarded:
    """An output buffer with GUARD sentinel elements on both sides; `.ptr` points at the payload."""

    def __init__(self, ffi: Any, shape: tuple[int, ...], dtype: type, init: np.ndarray | None = None):
        n = int(np.prod(shape))
        ui = np.uint16 if dtype is np.float16 else np.uint32
        self.raw = np.full(n + 2 * GUARD, SENTINEL[dtype], dtype=ui)
        self.payload = self.raw[GUARD:GUARD + n].view(dtype)
        self.shape = shape
        if init is not None:
            self.payload[:] = np.asarray(init, dtype=dtype).ravel()
        self.ptr = ffi.cast(ctype(dtype) + " *", ffi.from_buffer(self.raw)) + GUARD

    def value(self) -> np.ndarray:
        """The payload as float64, after asserting the guards are untouched."""
        ui = self.raw.dtype.type
        assert np.all(self.raw[:GUARD] == ui(SENTINEL[self.payload.dtype.type])), "write before the buffer"
        assert np.all(self.raw[-GUARD:] == ui(SENTINEL[self.payload.dtype.type])), "write after the buffer"
        return self.payload.astype(np.float64).reshape(self.shape)


def rel_err(got: np.ndarray, ref: np.ndarray, scale: np.ndarray) -> float:
    """max |got - ref| / scale (scale: the magnitude a floating-point evaluation is bounded by)."""
    return float(np.max(np.abs(got - ref) / np.maximum(scale, 1e-30)))
