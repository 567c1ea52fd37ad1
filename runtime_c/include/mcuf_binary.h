/* mcuf_binary.h: elementwise binary ops (ONNX Add / Sub / Mul / Div), FP32 / FP16 with multidirectional
 * broadcasting, and int8 Add / Mul with their own scales (quantization: mcuf_requant.h).
 *
 * Errors: MCUF_ERR_ARG for NULL pointers, a dimension < 1, a negative stride, an unknown enum, a zero
 * point or shift out of range. No scratch, no allocation, no state.
 */
#ifndef MCUF_BINARY_H
#define MCUF_BINARY_H

#include "mcuf_common.h"

/* ----------------------------------------------------------------------------------------------
 * FP32 / FP16, broadcasting as strides. The output is dense [dims[0], dims[1], dims[2], dims[3]]
 * (rank <= 4 after the compiler collapsed dimensions and padded the shape with leading 1s). Element
 * (i0, i1, i2, i3) of the output reads
 *   a[i0*a_stride[0] + i1*a_stride[1] + i2*a_stride[2] + i3*a_stride[3]] and likewise b,
 * a stride being 0 along every dimension that input broadcasts (its size is 1 there).
 * out may alias a or b when that input is not broadcast (same layout as the output); otherwise the
 * buffers must not overlap. Div follows IEEE (x/0 = inf, 0/0 = NaN). FP16 kernels compute in FP32 and
 * round once per output (error <= 2^-11 relative).
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
    int dims[4];      /* output dims, each >= 1 */
    int a_stride[4];  /* element strides of a per output dim, >= 0 */
    int b_stride[4];  /* element strides of b per output dim, >= 0 */
} mcuf_binary_params;

mcuf_status mcuf_add_f32(const mcuf_binary_params *p, const float *a, const float *b, float *out);
mcuf_status mcuf_sub_f32(const mcuf_binary_params *p, const float *a, const float *b, float *out);
mcuf_status mcuf_mul_f32(const mcuf_binary_params *p, const float *a, const float *b, float *out);
mcuf_status mcuf_div_f32(const mcuf_binary_params *p, const float *a, const float *b, float *out);
mcuf_status mcuf_add_f16(const mcuf_binary_params *p, const mcuf_f16 *a, const mcuf_f16 *b, mcuf_f16 *out);
mcuf_status mcuf_sub_f16(const mcuf_binary_params *p, const mcuf_f16 *a, const mcuf_f16 *b, mcuf_f16 *out);
mcuf_status mcuf_mul_f16(const mcuf_binary_params *p, const mcuf_f16 *a, const mcuf_f16 *b, mcuf_f16 *out);
mcuf_status mcuf_div_f16(const mcuf_binary_params *p, const mcuf_f16 *a, const mcuf_f16 *b, mcuf_f16 *out);

/* ----------------------------------------------------------------------------------------------
 * int8 Add / Mul of two tensors with their own scales. out has C*HW elements ([C, HW]); a has the
 * same shape; b per b_bcast: MCUF_BCAST_NONE [C, HW], MCUF_BCAST_CHANNEL [C] (a [C,1,1] tensor
 * broadcast over H, W), MCUF_BCAST_SCALAR [1]. (For b the larger operand, swap the inputs: both ops
 * commute.) out may alias a (in place); it must not partially overlap a or b.
 *
 * Add: sum = (a - a_zp) * a_mult + (b - b_zp) * b_mult   (int64; both factors s_a/s_out, s_b/s_out
 *      on the one shared `shift`: toolchain.requant.quantize_multipliers_shared)
 *      out = clamp(out_zp + round_half_to_even(sum * 2^(shift - 31)), act_min, act_max)
 * Mul: prod = (a - a_zp) * (b - b_zp)                   (int32, |prod| <= 65536)
 *      out = clamp(out_zp + round_half_to_even(prod * mult * 2^(shift - 31)), act_min, act_max),
 *      mult/shift = quantize_multiplier(s_a * s_b / s_out).
 * ---------------------------------------------------------------------------------------------- */
typedef enum { MCUF_BCAST_NONE = 0, MCUF_BCAST_CHANNEL = 1, MCUF_BCAST_SCALAR = 2 } mcuf_bcast;

typedef struct {
    int C, HW;                   /* output [C, HW] */
    mcuf_bcast b_bcast;          /* shape of b (see above) */
    int32_t a_zp, b_zp, out_zp;  /* [-128, 127] */
    int32_t a_mult, b_mult;      /* Add: Q31 factors sharing `shift`; Mul: a_mult only (b_mult unused) */
    int32_t shift;               /* [-31, 30] */
    int8_t act_min, act_max;
} mcuf_binary_s8_params;

mcuf_status mcuf_add_s8(const mcuf_binary_s8_params *p, const int8_t *a, const int8_t *b, int8_t *out);
mcuf_status mcuf_mul_s8(const mcuf_binary_s8_params *p, const int8_t *a, const int8_t *b, int8_t *out);

#endif /* MCUF_BINARY_H */
