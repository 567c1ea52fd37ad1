"""Shared helpers of the training-layer kernel host tests: the cffi library, guarded buffers, numpy
references (float64) for depthwise conv and pooling, and tolerances per precision.

Tolerances (relative to the largest |reference| value of the tensor, so cancellation cannot fake a
failure): FP32 kernels 1e-5; FP16 storage with FP32 accumulation 2e-3 (one FP16 rounding of the
result, 2^-11 ~ 4.9e-4, plus the rounding of FP16 inputs already in the reference); FP16 accumulation
of k terms k * 2^-11 with a floor of 4e-3.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from mcuforge.run.hostlib import load_library
from mcuforge.core.paths import RUNTIME_INCLUDE, RUNTIME_SRC

HEADERS = ["mcuf_dwconv.h", "mcuf_act.h", "mcuf_pool.h", "mcuf_loss.h", "mcuf_optim.h"]
SOURCES = ["mcuf_dwconv.c", "mcuf_act.c", "mcuf_pool.c", "mcuf_loss.c", "mcuf_optim.c"]
GUARD = 16  # elements of sentinel on each side of every output buffer
SENTINEL = {np.float16: np.uint16(0x7E55), np.float32: np.uint32(0x7FA5A5A5)}  # NaN bit patterns


@lru_cache(maxsize=None)
def lib() -> tuple[Any, Any]:
    """(ffi, lib) of the portable kernels, built once per session."""
    return load_library([RUNTIME_SRC / s for s in SOURCES], headers=[RUNTIME_INCLUDE / h for h in HEADERS])


@lru_cache(maxsize=None)
def lib_all_backends() -> tuple[Any, Any]:
    """(ffi, lib) with the plain-C tuned backends (`_zfh`) compiled for the host as well."""
    return load_library([RUNTIME_SRC / s for s in SOURCES + ["mcuf_dwconv_zfh.c"]],
                        headers=[RUNTIME_INCLUDE / h for h in HEADERS], defines={"MCUF_BUILD_ALL_BACKENDS": None})


def tol(dtype: type, acc32: bool = True, terms: int = 1) -> float:
    """Relative tolerance for a result of `terms` summed products in `dtype` (see module docstring)."""
    if dtype is np.float32:
        return 1e-5 * max(1.0, terms ** 0.5)
    if acc32:
        return 2e-3
    return max(4e-3, terms * 2.0 ** -11)


class Guarded:
    """An output buffer with GUARD sentinel elements on both sides; `.ptr` points at the payload."""

    def __init__(self, ffi: Any, n: int, dtype: type, init: np.ndarray | None = None):
        self.dtype = dtype
        self.n = n
        ui = np.uint16 if dtype is np.float16 else np.uint32
        self.raw = np.full(n + 2 * GUARD, SENTINEL[dtype], dtype=ui)
        self.payload = self.raw[GUARD:GUARD + n].view(dtype)
        if init is not None:
            self.payload[:] = np.asarray(init, dtype=dtype).ravel()
        self.ptr = ffi.cast(ctype(dtype) + " *", ffi.from_buffer(self.raw)) + GUARD

    def value(self) -> np.ndarray:
        """The payload, after asserting the guards are intact."""
        ui = self.raw.dtype.type
        assert (self.raw[:GUARD] == SENTINEL[self.dtype]).all(), "write before the buffer"
        assert (self.raw[GUARD + self.n:] == ui(SENTINEL[self.dtype])).all(), "write past the buffer"
        return self.payload.copy()


def ctype(dtype: type) -> str:
    return "mcuf_f16" if dtype is np.float16 else "float"


def cptr(ffi: Any, arr: np.ndarray | None) -> Any:
    """A typed pointer to a contiguous numpy array (NULL for None)."""
    if arr is None:
        return ffi.NULL
    arr = np.ascontiguousarray(arr)
    t = {np.dtype(np.float16): "mcuf_f16 *", np.dtype(np.float32): "float *", np.dtype(np.int32): "int32_t *"}
    return ffi.cast(t[arr.dtype], ffi.from_buffer(arr))


def suffix(dtype: type) -> str:
    return "f16" if dtype is np.float16 else "f32"


def max_rel_err(got: np.ndarray, ref: np.ndarray) -> float:
    """max |got - ref| / max |ref| (1 when ref is all zeros, so a zero result still must match)."""
    got = np.asarray(got, np.float64).ravel()
    ref = np.asarray(ref, np.float64).ravel()
    assert got.shape == ref.shape, (got.shape, ref.shape)
    scale = max(float(np.max(np.abs(ref))), 1e-30) if ref.size else 1.0
    return float(np.max(np.abs(got - ref))) / scale if ref.size else 0.0


# ---- float64 references -------------------------------------------------------------------------

def out_size(n: int, k: int, s: int, p0: int, p1: int) -> int:
    return (n + p0 + p1 - k) // s + 1


def dwconv_ref(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: tuple[int, int],
               pads: tuple[int, int, int, int]) -> np.ndarray:
    """y[C,OH,OW] of a depthwise conv; pads = (top, left, bottom, right)."""
    C, H, W = x.shape
    _, kh, kw = w.shape
    pt, pl, pb, pr = pads
    xp = np.zeros((C, H + pt + pb, W + pl + pr))
    xp[:, pt:pt + H, pl:pl + W] = x
    OH, OW = out_size(H, kh, stride[0], pt, pb), out_size(W, kw, stride[1], pl, pr)
    y = np.zeros((C, OH, OW)) if b is None else np.broadcast_to(np.asarray(b, np.float64)[:, None, None], (C, OH, OW)).copy()
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i:i + stride[0] * (OH - 1) + 1:stride[0], j:j + stride[1] * (OW - 1) + 1:stride[1]]
            y += w[:, i, j][:, None, None] * patch
    return y


def dwconv_grads_ref(x: np.ndarray, w: np.ndarray, gy: np.ndarray, stride: tuple[int, int],
                     pads: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grad_x, grad_w, grad_b) of the depthwise conv for upstream gradient gy (float64)."""
    C, H, W = x.shape
    _, kh, kw = w.shape
    pt, pl, pb, pr = pads
    OH, OW = gy.shape[1:]
    xp = np.zeros((C, H + pt + pb, W + pl + pr))
    xp[:, pt:pt + H, pl:pl + W] = x
    gxp = np.zeros_like(xp)
    gw = np.zeros((C, kh, kw))
    sh, sw = stride
    for i in range(kh):
        for j in range(kw):
            sl = (slice(None), slice(i, i + sh * (OH - 1) + 1, sh), slice(j, j + sw * (OW - 1) + 1, sw))
            gw[:, i, j] = (xp[sl] * gy).sum(axis=(1, 2))
            gxp[sl] += w[:, i, j][:, None, None] * gy
    return gxp[:, pt:pt + H, pl:pl + W], gw, gy.sum(axis=(1, 2))


def pool_windows(H: int, W: int, k: tuple[int, int], s: tuple[int, int], pads: tuple[int, int, int, int]):
    """Yield (oh, ow, h0, h1, w0, w1): each output's window clipped to the input."""
    pt, pl, pb, pr = pads
    OH, OW = out_size(H, k[0], s[0], pt, pb), out_size(W, k[1], s[1], pl, pr)
    for oh in range(OH):
        for ow in range(OW):
            a, b = oh * s[0] - pt, ow * s[1] - pl
            yield oh, ow, max(a, 0), min(a + k[0], H), max(b, 0), min(b + k[1], W)
