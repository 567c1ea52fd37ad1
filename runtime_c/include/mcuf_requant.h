/* mcuf_requant.h: the int8 quantization scheme and its fixed-point requantization, shared by every
 * int8 kernel family (mcuf_conv.h, mcuf_dwconv.h, mcuf_linear.h, mcuf_pool.h, mcuf_binary.h).
 *
 * Quantization scheme (what the Python compiler produces, toolchain/quantize/fixedpoint.py):
 *   activations  int8 per tensor, asymmetric: real = s * (q - zp), zp in [-128, 127];
 *   weights      int8 per output channel, symmetric (zp 0); s4 / s2 weights likewise (the `s8w4` /
 *                `s8w2` kernels);
 *   bias         int32, scale s_in * s_w[c], with the input zero point already folded in:
 *                bias'[c] = bias[c] - zp_in * sum_k w[c, k]   (toolchain.requant.fold_bias)
 *                so a layer's inner loop is the plain int8 dot product acc = bias' + sum_k x_k * w_k.
 *   output       out = clamp(zp_out + round_half_to_even(acc * multiplier * 2^(shift - 31)),
 *                            act_min, act_max)
 *                computed in 64-bit integers (mcuf_requant_s8 below); multiplier is Q31 in
 *                [2^30, 2^31) (or 0), shift in [-31, 30] (toolchain.requant.quantize_multiplier of the
 *                real factor s_in * s_w[c] / s_out). act_min/act_max carry a fused Relu/Clip
 *                (-128/127 when there is none). Rounding half to even is onnxruntime's, so results
 *                agree with its QDQ models to within one quantization step.
 * Accumulators are int32; that they cannot overflow is checked at compile time in Python
 * (toolchain.requant.check_accumulator_range), never at run time.
 *
 * Layouts: batch 1, channel-major: a feature map is [C, H, W] in C order (ONNX NCHW, N = 1).
 * Common errors of the int8 kernels: MCUF_ERR_ARG for a NULL required pointer or a dimension/stride < 1,
 * pad < 0, a zero point outside [-128, 127], act_min > act_max; MCUF_ERR_SHAPE when dimensions disagree;
 * MCUF_ERR_SCRATCH for a missing scratch buffer. No allocation, no state; every kernel is re-entrant.
 * Portable C (RV32IM friendly: no 64-bit division).
 */
#ifndef MCUF_REQUANT_H
#define MCUF_REQUANT_H

#include "mcuf_common.h"

/* Requantize n int32 accumulators with one multiplier/shift (the scalar core of every int8 kernel;
 * exported for tests and for generated code that builds its own accumulators). acc and out must not
 * overlap. */
mcuf_status mcuf_requantize_s8(int n, const int32_t *restrict acc, int32_t multiplier, int32_t shift, int32_t zp,
                               int8_t act_min, int8_t act_max, int8_t *restrict out);

#ifndef MCUF_CFFI
/* round_half_to_even(x / 2^r), 1 <= r <= 62, |x| <= 2^62 (toolchain.requant.rounding_rshift).
 * Adding 2^(r-1) - 1 + (floor(x / 2^r) & 1) before the floor shift rounds ties to the even neighbour.
 * Relies on >> of a negative int64 being arithmetic, as with every compiler mcuforge supports. */
static inline int64_t mcuf_rshift_rhe_s64(int64_t x, int r)
{
    const int64_t q = x >> r;
    return (x + (int64_t)((UINT64_C(1) << (r - 1)) - 1u) + (q & 1)) >> r;
}

/* High word of 2^(r-1) - 1 for r = 32 + s, s = -1 - shift in [0, 30] (the rounding constant of
 * mcuf_requant_s8_neg; its low word is 0xFFFFFFFF for s >= 1, 0x7FFFFFFF for s = 0). Per channel. */
static inline int32_t mcuf_requant_rnd(int32_t shift)
{
    const int s = -1 - shift;
    return s ? (int32_t)((1u << (s - 1)) - 1u) : 0;
}

/* mcuf_requant_s8 for shift < 0 (factor < 0.5: nearly every conv/fc channel) with
 * rhi = mcuf_requant_rnd(shift) hoisted by the caller. r = 32 + s >= 32, so
 *   round_half_to_even(x / 2^r) = (x + 2^(r-1) - 1 + (floor(x / 2^r) & 1)) >> r
 * needs only the high word of that sum: 32-bit shifts, a carry and a 32-bit clamp (cheap on RV32). */
static inline int8_t mcuf_requant_s8_neg(int32_t acc, int32_t mult, int32_t shift, int32_t rhi, int32_t zp,
                                         int32_t lo, int32_t hi)
{
    const int s = -1 - shift;
    const int64_t x = (int64_t)acc * mult;
    const int32_t xh = (int32_t)(x >> 32);
    const uint32_t xl = (uint32_t)x;
    const uint32_t b = (uint32_t)(xh >> s) & 1u;
    /* carry out of xl + low word + b: low word 0xFFFFFFFF (s >= 1) or 0x7FFFFFFF (s = 0) */
    const uint32_t carry = s ? ((xl | b) != 0u) : (xl > 0x80000000u - b);
    int32_t v = ((xh + rhi + (int32_t)carry) >> s) + zp;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* clamp(zp + round_half_to_even(acc * mult * 2^(shift-31)), lo, hi) (toolchain.requant.requantize). */
static inline int8_t mcuf_requant_s8(int32_t acc, int32_t mult, int32_t shift, int32_t zp, int32_t lo,
                                     int32_t hi)
{
    if (shift < 0) return mcuf_requant_s8_neg(acc, mult, shift, mcuf_requant_rnd(shift), zp, lo, hi);
    int64_t v = mcuf_rshift_rhe_s64((int64_t)acc * mult, 31 - shift) + zp;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}
#endif

#endif /* MCUF_REQUANT_H */
