"""Fixed-point arithmetic of the int8 kernels: requantization multipliers, bias folding, and a bit-exact
numpy model of the C requantization.

The int8 kernels (the `_s8` kernels of runtime_c, fixed-point helpers in mcuf_requant.h) never touch a
float: every real-valued factor is turned here, offline, into a Q31 `multiplier` and a power-of-two `shift` with

    real ~= multiplier * 2**(shift - 31),   multiplier in [2**30, 2**31)  (or 0 for real == 0)

and the kernel computes, in 64-bit integer arithmetic,

    out = clamp(zp + round_half_to_even(acc * multiplier / 2**(31 - shift)), qmin, qmax).

Rounding half to even is what onnxruntime's QuantizeLinear does (std::nearbyint), so a single
rounding here agrees with onnxruntime's float path to within one quantization step (the step is
the float rounding of the reference, not ours; in practice nearly all values are equal).

The C side (`mcuf_rshift_rhe_s64`, `mcuf_requant_s8` and its RV32-friendly `mcuf_requant_s8_neg` in
mcuf_requant.h) computes the same function as `rounding_rshift` / `requantize` (with 32-bit shifts where
it can); tests/host/test_s8_kernels.py checks the two agree bit for bit, ties included.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from mcuforge.core.errors import McufError

# The kernels shift right by r = 31 - shift, 1 <= r <= 62: the 64-bit product acc * multiplier is at
# most 2**31 * 2**31 = 2**62, so r = 62 still leaves a meaningful (0 or +-1) result and r >= 63
# always rounds to 0; r >= 1 means real < 2**30, far beyond any sensible scale ratio.
SHIFT_MIN = -31
SHIFT_MAX = 30


def quantize_multiplier(real: float) -> tuple[int, int]:
    """(multiplier, shift) with real ~= multiplier * 2**(shift - 31) and multiplier in [2**30, 2**31).

    `real` must be finite, >= 0 and < 2**30. A real too small to move any int32 accumulator (below
    2**-32) becomes (0, 0): the kernel then outputs the zero point, which is what the exact product
    would round to anyway.
    """
    real = float(real)
    if not math.isfinite(real) or real < 0.0:
        raise McufError(f"requantization factor {real!r} must be finite and >= 0 (a ratio of positive scales)")
    if real == 0.0:
        return 0, 0
    mant, exp = math.frexp(real)  # real = mant * 2**exp, mant in [0.5, 1)
    mult = round(mant * (1 << 31))  # exact product; Python's round is half to even
    if mult == 1 << 31:
        mult //= 2
        exp += 1
    if exp > SHIFT_MAX:
        raise McufError(f"requantization factor {real!r} is too large (>= 2**30): check the scales of the "
                        f"layer's input, weight and output (one of them is probably 0 or denormal)")
    if exp < SHIFT_MIN:
        return 0, 0
    return int(mult), int(exp)


def quantize_multipliers(reals: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel `quantize_multiplier`: (multiplier int32[n], shift int32[n])."""
    pairs = [quantize_multiplier(r) for r in np.asarray(reals, dtype=np.float64).ravel()]
    mult = np.array([m for m, _ in pairs], dtype=np.int32)
    shift = np.array([s for _, s in pairs], dtype=np.int32)
    return mult, shift


def quantize_multipliers_shared(reals: Sequence[float]) -> tuple[list[int], int]:
    """Several factors on one common shift (for Add: both inputs summed before a single rounding).

    The largest factor gets a full Q31 multiplier; the others are rounded on the same scale (they
    keep less relative precision, but their absolute error is the same 2**-31 of the largest).
    """
    vals = [float(r) for r in reals]
    top = max(vals)
    if top == 0.0:
        return [0 for _ in vals], 0
    m_top, shift = quantize_multiplier(top)
    if m_top == 0:
        return [0 for _ in vals], 0
    mults = [int(round(v * 2.0 ** (31 - shift))) for v in vals]
    for v, m in zip(vals, mults):
        if not (0 <= m < 1 << 31) or v < 0:
            raise McufError(f"requantization factor {v!r} cannot share shift {shift}: it must be finite and >= 0")
    return mults, shift


def rounding_rshift(x: np.ndarray, r: np.ndarray | int) -> np.ndarray:
    """round_half_to_even(x / 2**r) for int64 x and 1 <= r <= 62 (the C `mcuf_rshift_rhe_s64`)."""
    x = np.asarray(x, dtype=np.int64)
    r = np.asarray(r, dtype=np.int64)
    if np.any(r < 1) or np.any(r > 62):
        raise McufError(f"rounding shift out of range 1..62: {r}")
    q = x >> r  # floor division (arithmetic shift)
    rem = x - (q << r)  # in [0, 2**r)
    half = np.int64(1) << (r - 1)
    up = (rem > half) | ((rem == half) & ((q & 1) == 1))
    return q + up.astype(np.int64)


def requantize(acc: np.ndarray, multiplier: np.ndarray | int, shift: np.ndarray | int, zp: int,
               qmin: int = -128, qmax: int = 127) -> np.ndarray:
    """Bit-exact model of the C requantization: int32 accumulators -> int8 values (as int8 array).

    `multiplier` and `shift` broadcast against `acc` with numpy rules (for per-output-channel values
    of a [C, H, W] accumulator pass them shaped [C, 1, 1]).
    """
    acc64 = np.asarray(acc, dtype=np.int64)
    mult = np.asarray(multiplier, dtype=np.int64)
    r = 31 - np.asarray(shift, dtype=np.int64)
    v = rounding_rshift(acc64 * mult, r) + np.int64(zp)
    return np.clip(v, qmin, qmax).astype(np.int8)


def fold_bias(bias: np.ndarray | None, w: np.ndarray, in_zp: int) -> np.ndarray:
    """bias'[c] = bias[c] - in_zp * sum(w[c]): the input zero point folded into the int32 bias.

    `w` is int8 with the output channel first ([OC, ...]); bias is int32 [OC] or None (zeros).
    Raises if a value does not fit int32 (the kernel accumulates in int32).
    """
    w = np.asarray(w)
    oc = w.shape[0]
    b = np.zeros(oc, np.int64) if bias is None else np.asarray(bias, dtype=np.int64).reshape(oc)
    folded = b - np.int64(in_zp) * w.reshape(oc, -1).astype(np.int64).sum(axis=1)
    if np.any(np.abs(folded) >= 2**31):
        raise McufError("folded int32 bias overflows: the bias scale is too small for the weights' range")
    return folded.astype(np.int32)


def check_accumulator_range(w: np.ndarray, bias_folded: np.ndarray) -> None:
    """Raise unless every int32 accumulator of the kernel provably stays in range.

    acc = bias' + sum_k x_k * w_k with x in [-128, 127]: |acc| <= |bias'| + 128 * sum|w| per channel.
    For int8 weights that is < 2**31 up to K ~ 130 000 terms, so this fails only for absurd layers;
    it is the compile-time overflow check the style guide asks for instead of a runtime test.
    """
    w = np.asarray(w)
    oc = w.shape[0]
    bound = np.abs(np.asarray(bias_folded, np.int64)) + 128 * np.abs(w.reshape(oc, -1).astype(np.int64)).sum(axis=1)
    if np.any(bound >= 2**31):
        raise McufError(f"int32 accumulator may overflow (bound {int(bound.max())}): the layer is too deep for int8")


# A bias whose int32 value would overflow gets a larger weight scale (see weight_scale_floor); the
# bias is then at most 2**30 steps, which leaves half of the int32 range to the input zero point folded
# into it and to the products the kernel accumulates (check_accumulator_range still checks them).
BIAS_LIMIT = 2**30


def weight_scale_floor(bias: np.ndarray, input_scale: float, limit: int = BIAS_LIMIT) -> np.ndarray:
    """Smallest float32 weight scale per channel that keeps |bias| / (input_scale * scale) <= limit
    (up to float32 rounding of the product, far inside int32 for limit = 2**30).

    onnxruntime's quantizer (qdq_quantizer._adjust_weight_scale_for_int32_bias) raises the weight
    scale the same way when input_scale * weight_scale is too small for an int32 bias; it uses the
    whole int32 range, we keep room for the folded zero point and the accumulation."""
    need = np.abs(np.asarray(bias, np.float64)) / (float(input_scale) * float(limit))
    s = need.astype(np.float32)
    low = s.astype(np.float64) < need
    s[low] = np.nextafter(s[low], np.float32(np.inf))
    return s
