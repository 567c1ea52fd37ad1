/* mcuf_s8.h: int8 inference kernels (convolution, depthwise/grouped convolution, fully connected,
 * add, mul, max/average/global-average pooling) with fixed-point requantization.
 *
 * Quantization scheme (what the Python compiler produces, toolchain/requant.py):
 *   activations  int8 per tensor, asymmetric: real = s * (q - zp), zp in [-128, 127];
 *   weights      int8 per output channel, symmetric (zp 0);
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
 * Errors: MCUF_ERR_ARG for a NULL required pointer or a dimension/stride < 1, pad < 0, a zero point
 * outside [-128, 127], act_min > act_max; MCUF_ERR_SHAPE when dimensions disagree (OH/OW vs the
 * formula, channels not divisible by group); MCUF_ERR_SCRATCH for a missing scratch buffer.
 * No allocation, no state; every kernel is re-entrant. Portable C (RV32IM friendly: no 64-bit division).
 * Stack: mcuf_conv2d_s8 uses a 64-byte row buffer; mcuf_dwconv2d_s8 a 128-byte accumulator run plus,
 * for depthwise 3x3 with W + pad_left + pad_right <= 128, three 128-byte padded input rows.
 */
#ifndef MCUF_S8_H
#define MCUF_S8_H

#include "mcuf_common.h"

/* ----------------------------------------------------------------------------------------------
 * Convolution, [C,H,W] -> [OC,OH,OW], dilation 1.
 *   OH = (H + pad_top + pad_bottom - kh) / stride_h + 1, OW likewise (floor; derived offline and
 *   checked). Pixels outside the input read as in_zp (real 0), consistent with the folded bias.
 * mcuf_conv2d_s8:    group must be 1. Weights in the PACKED layout (toolchain.requant.
 *                    pack_conv_weights_s8): ceil(OC/4) blocks of [K][4], K = C*kh*kw in (c, i, j)
 *                    order, packed[b][k][t] = w[4b + t][k], the tail block zero-padded;
 *                    mcuf_conv2d_s8_weight_size(p) bytes. Im2col of 4 output pixels at a time into
 *                    scratch (pad value in_zp), then a 4x4 register-blocked int8 GEMM (int32 acc).
 *                    A 1x1, stride 1, unpadded conv reads the input directly and needs no scratch.
 * mcuf_dwconv2d_s8:  any group dividing C and OC (depthwise: group = C, OC = C * multiplier).
 *                    Weights in the ONNX layout [OC, C/group, kh, kw]. Direct (no scratch);
 *                    depthwise 3x3 reads through zero-point-padded copies of 3 input rows (stack).
 *                    Output channel oc reads input channels g*(C/group) .. +C/group-1, with
 *                    g = oc / (OC/group).
 * bias: bias'[OC] (folded, see above) or NULL for zeros. multiplier/shift: [OC] arrays.
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
    int C, H, W;                 /* input dims */
    int OC, OH, OW;              /* output dims */
    int kh, kw;                  /* kernel size */
    int stride_h, stride_w;      /* >= 1 */
    int pad_top, pad_left, pad_bottom, pad_right; /* >= 0 */
    int group;                   /* 1 for mcuf_conv2d_s8; divides C and OC for mcuf_dwconv2d_s8 */
    int32_t in_zp;               /* input zero point [-128, 127]; also the padding value */
    int32_t out_zp;              /* output zero point [-128, 127] */
    int8_t act_min, act_max;     /* output clamp (fused Relu/Clip), act_min <= act_max */
    const int32_t *multiplier;   /* [OC] Q31 multipliers, in [2^30, 2^31) or 0 */
    const int32_t *shift;        /* [OC] shifts, in [-31, 30] */
} mcuf_conv2d_s8_params;

/* Bytes of scratch mcuf_conv2d_s8 needs: 4 * C * kh * kw, or 0 for a 1x1 stride-1 unpadded conv
 * (any alignment). Returns 0 for a NULL p. */
size_t mcuf_conv2d_s8_scratch_size(const mcuf_conv2d_s8_params *p);
/* Bytes of the packed weight array: 4 * ceil(OC/4) * C * kh * kw. */
size_t mcuf_conv2d_s8_weight_size(const mcuf_conv2d_s8_params *p);

/* in[C,H,W] int8, w packed (see above), bias[OC] int32 or NULL -> out[OC,OH,OW] int8.
 * scratch: mcuf_conv2d_s8_scratch_size(p) bytes (NULL allowed only when that is 0). in/out must not
 * overlap. */
mcuf_status mcuf_conv2d_s8(const mcuf_conv2d_s8_params *p, const int8_t *in, const int8_t *w,
                           const int32_t *bias, int8_t *out, void *scratch);

/* The same convolution with 4-bit or 2-bit weights (int8 activations, int32 accumulation, the same
 * params, bias and requantization; weights still symmetric per output channel). Packed layout as
 * for mcuf_conv2d_s8 (ceil(OC/4) blocks, k in (c, i, j) order), the 4 channels of a block and k step
 * sharing bytes (toolchain.requant.pack_conv_weights_s4 / _s2):
 *   s4: 2 bytes per k step: byte 0 = ch0 (bits 3:0) | ch1 (bits 7:4), byte 1 = ch2 | ch3 << 4;
 *       values two's complement in [-8, 7]. mcuf_conv2d_s8_s4_weight_size(p) = 2 * ceil(OC/4) * K.
 *   s2: 1 byte per k step: ch t in bits (2t+1):(2t); values in [-2, 1].
 *       mcuf_conv2d_s8_s2_weight_size(p) = ceil(OC/4) * K.
 * Unpacking costs a shift or two per weight (about 0.25 instruction per MAC on RV32) against a half /
 * a quarter of the weight bytes. */
size_t mcuf_conv2d_s8_s4_weight_size(const mcuf_conv2d_s8_params *p);
size_t mcuf_conv2d_s8_s2_weight_size(const mcuf_conv2d_s8_params *p);
mcuf_status mcuf_conv2d_s8_s4(const mcuf_conv2d_s8_params *p, const int8_t *in, const uint8_t *w,
                              const int32_t *bias, int8_t *out, void *scratch);
mcuf_status mcuf_conv2d_s8_s2(const mcuf_conv2d_s8_params *p, const int8_t *in, const uint8_t *w,
                              const int32_t *bias, int8_t *out, void *scratch);

/* Grouped / depthwise: in[C,H,W], w[OC, C/group, kh, kw] (ONNX order), bias[OC] or NULL
 * -> out[OC,OH,OW]. No scratch. */
mcuf_status mcuf_dwconv2d_s8(const mcuf_conv2d_s8_params *p, const int8_t *in, const int8_t *w,
                             const int32_t *bias, int8_t *out);

/* ----------------------------------------------------------------------------------------------
 * Fully connected (Gemm / MatMul with constant weights): out[r, o] = requant(bias'[o] +
 * sum_i in[r, i] * W[o, i]) for r < rows. in[rows, In], bias'[Out] folded (or NULL), out[rows, Out].
 * W is the [Out, In] matrix (ONNX Gemm with transB = 1; a MatMul B[In, Out] is transposed offline).
 * mcuf_fc_s8:         w = W as is, [Out, In] row-major. Four rows share each input load.
 * mcuf_fc_s8_packed:  w = W PACKED like conv weights (toolchain.requant.pack_fc_weights_s8):
 *                     ceil(Out/4) blocks of [In][4], packed[b][i][t] = W[4b + t][i], tail block
 *                     zero-padded, mcuf_fc_s8_weight_size(p) bytes. One weight pointer with
 *                     immediate offsets: ~6% fewer instructions on RV32 than the plain layout.
 * Same results bit for bit. In unrolled by 4.
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
    int rows;                    /* independent input rows (1 for a flattened feature map) */
    int in_features, out_features;
    int32_t out_zp;              /* [-128, 127] */
    int8_t act_min, act_max;
    const int32_t *multiplier;   /* [out_features] */
    const int32_t *shift;        /* [out_features] */
} mcuf_fc_s8_params;

/* Bytes of the packed weight array of mcuf_fc_s8_packed: 4 * ceil(Out/4) * In. */
size_t mcuf_fc_s8_weight_size(const mcuf_fc_s8_params *p);
mcuf_status mcuf_fc_s8(const mcuf_fc_s8_params *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                       int8_t *out);
mcuf_status mcuf_fc_s8_packed(const mcuf_fc_s8_params *p, const int8_t *in, const int8_t *w,
                              const int32_t *bias, int8_t *out);
/* 4-bit / 2-bit weights packed as mcuf_conv2d_s8_s4 / _s2 with K = In
 * (toolchain.requant.pack_fc_weights_s4 / _s2). */
size_t mcuf_fc_s8_s4_weight_size(const mcuf_fc_s8_params *p);
size_t mcuf_fc_s8_s2_weight_size(const mcuf_fc_s8_params *p);
mcuf_status mcuf_fc_s8_s4(const mcuf_fc_s8_params *p, const int8_t *in, const uint8_t *w, const int32_t *bias,
                          int8_t *out);
mcuf_status mcuf_fc_s8_s2(const mcuf_fc_s8_params *p, const int8_t *in, const uint8_t *w, const int32_t *bias,
                          int8_t *out);

/* ----------------------------------------------------------------------------------------------
 * Elementwise Add / Mul of two int8 tensors with their own scales. out has C*HW elements ([C, HW]);
 * a has the same shape; b per b_bcast: MCUF_BCAST_NONE [C, HW], MCUF_BCAST_CHANNEL [C] (a [C,1,1]
 * tensor broadcast over H, W), MCUF_BCAST_SCALAR [1]. (For b the larger operand, swap the inputs:
 * both ops commute.) out may alias a (in place); it must not partially overlap a or b.
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
} mcuf_eltwise_s8_params;

mcuf_status mcuf_add_s8(const mcuf_eltwise_s8_params *p, const int8_t *a, const int8_t *b, int8_t *out);
mcuf_status mcuf_mul_s8(const mcuf_eltwise_s8_params *p, const int8_t *a, const int8_t *b, int8_t *out);

/* ----------------------------------------------------------------------------------------------
 * Pooling, in[C,H,W] -> out[C,OH,OW]. Window of output (oh, ow): rows oh*stride_h - pad_top + [0, kh),
 * columns likewise. OH/OW are given (floor or ceil_mode, computed offline); the only requirement is
 * that every window overlaps the input (checked: MCUF_ERR_SHAPE otherwise), which ONNX guarantees.
 * MaxPool: max over the window cells inside the input; output quantization must equal the input's
 *   (as in onnxruntime's QDQ MaxPool), so in_zp/out_zp/multiplier are ignored; then act clamp.
 * AveragePool: sum = sum over in-window input cells of (x - in_zp), divisor d by count_include_pad:
 *   0: the cells inside the input (ONNX default);
 *   1: the cells inside the padded input [-pad_top, H + pad_bottom) x [-pad_left, W + pad_right)
 *      (ONNX count_include_pad=1 as onnx.reference and onnxruntime's float kernel compute it: kh*kw
 *      except for ceil_mode windows hanging past the padding);
 *   2: always kh*kw (onnxruntime's fused QLinearAveragePool, which a QDQ model runs by default; it
 *      differs from 1 only on those ceil_mode windows);
 *   out = requant(sum, multiplier[d-1], shift[d-1]) with multiplier/shift tables of kh*kw entries:
 *   entry d-1 = quantize_multiplier(s_in / (s_out * d)).
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
    int C, H, W, OH, OW;
    int kh, kw;
    int stride_h, stride_w;
    int pad_top, pad_left, pad_bottom, pad_right;
    uint8_t count_include_pad;   /* AveragePool only: 0, 1 or 2 (see above) */
    int32_t in_zp, out_zp;       /* AveragePool only */
    int8_t act_min, act_max;
    const int32_t *multiplier;   /* AveragePool: [kh*kw], indexed by divisor - 1; MaxPool: unused */
    const int32_t *shift;        /* AveragePool: [kh*kw]; MaxPool: unused */
} mcuf_pool2d_s8_params;

mcuf_status mcuf_maxpool_s8(const mcuf_pool2d_s8_params *p, const int8_t *in, int8_t *out);
mcuf_status mcuf_avgpool_s8(const mcuf_pool2d_s8_params *p, const int8_t *in, int8_t *out);

/* Global average pool: out[c] = requant(sum_{HW} (in[c, :] - in_zp), multiplier, shift) with
 * multiplier/shift = quantize_multiplier(s_in / (s_out * HW)). in[C, HW] -> out[C]. HW <= 2^23. */
typedef struct {
    int C, HW;
    int32_t in_zp, out_zp;
    int32_t multiplier, shift;
    int8_t act_min, act_max;
} mcuf_gap_s8_params;

mcuf_status mcuf_gap_s8(const mcuf_gap_s8_params *p, const int8_t *in, int8_t *out);

/* Requantize n int32 accumulators with one multiplier/shift (the scalar core of every kernel above;
 * exported for tests and for generated code that builds its own accumulators). */
mcuf_status mcuf_requantize_s8(int n, const int32_t *acc, int32_t multiplier, int32_t shift, int32_t zp,
                               int8_t act_min, int8_t act_max, int8_t *out);

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

#endif /* MCUF_S8_H */
