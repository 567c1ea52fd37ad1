/* mcuf_dwconv.h: direct (no im2col) 2-D convolution by groups, batch 1:
 *   dwconv2d_f16/f32  depthwise (group == C == OC), forward and both gradients (below);
 *   gconv2d_f16/f32   any group (inference forward), FP32 accumulation;
 *   dwconv2d_s8       int8 inference, any group (depthwise: group == C, OC = C * multiplier);
 *   dwconv2d_s8w4/_s8w2  the same with packed 4-/2-bit weights.
 * (Group 1: mcuf_conv.h.)
 *
 * Layout (batch 1, channel-major): input x[C, H, W], weight w[C, kh, kw] (the ONNX [C, 1, kh, kw]),
 * bias[C], output y[C, OH, OW]:
 *
 *   y[c, oh, ow] = bias[c] + sum_{i<kh, j<kw} w[c, i, j] * x[c, oh*sh + i - pad_top, ow*sw + j - pad_left]
 *
 * where x outside [0,H)x[0,W) is zero. OH = (H + pad_top + pad_bottom - kh) / sh + 1 (same for OW);
 * the caller (the Python compiler) computes it, the kernel only checks it (MCUF_ERR_SHAPE otherwise).
 * No dilation, no groups other than C.
 *
 * Accumulation (p->acc, FP16 kernels only; FP32 kernels always accumulate in FP32):
 *   forward / input gradient: kh*kw terms per output, added in the order (bias,) i, j. With
 *     MCUF_ACC_F16 each term is rounded (fused multiply-add where the compiler contracts it), so the
 *     relative error stays about kh*kw * 2^-11 of the sum of |terms|; MCUF_ACC_F32 rounds once (2^-11).
 *   weight gradient: OH*OW terms per weight. MCUF_ACC_F16 grows like OH*OW * 2^-11 (use it only for
 *     tiny planes); MCUF_ACC_F32 keeps about 2^-11 and is the recommended policy.
 * p->accumulate_grad (gradients only): 1 adds into grad_x / grad_w / grad_bias, 0 overwrites them.
 *
 * No two tensor arguments may overlap. Scratch: none (the float kernels). Errors: MCUF_ERR_ARG for a
 * NULL required pointer or a dimension/stride < 1 or a pad < 0; MCUF_ERR_SHAPE when OH/OW disagree with
 * the formula above.
 *
 * Backends: unsuffixed = portable C (the reference).
 * `_zfh` (scalar FP16 tuned for the 32 FP registers; exists with __riscv_zfh, or with
 * MCUF_BUILD_ALL_BACKENDS for host tests): 3x3, stride 1, pads <= 1 (other shapes call the portable
 * code). A 3x3 window and the nine weights (weight gradient: nine accumulators) live in registers and
 * slide along rows, or down columns when the plane is taller than wide (DS-CNN 25x5), loading one new
 * column of 3 values per output. Forward and input gradient add terms in the portable order (plus the
 * zero padding as +-0 terms): values equal the portable ones (a zero may differ in sign). The weight
 * gradient of a tall plane sums column by column (another order, same error bound).
 * `_rvv` (RVV 1.0 + Zvfh, VLEN-agnostic; exists with __riscv_zvfh), FP16 accumulation:
 *   stride 1 and OW == W ("same" convolutions): planes of <= 3 vector strips (DS-CNN) loop
 *   tap -> strip -> channel with the output strip as accumulator (each column mask computed once per
 *   strip for all channels); larger planes keep a strip in registers across the taps. Both add terms
 *   in the portable order: bit-identical results. Other strides: output rows, strided loads.
 *   Weight gradient, 3x3 with C >= 2 * VLMAX(e16, m2): channels in vector lanes (strided loads), ten
 *   accumulators (nine weights + bias) in the portable order (bit-identical); otherwise per weight a
 *   masked dot product over whole-row strips, then a reduction (another order, same bound).
 *   MCUF_ACC_F32: weight gradient widening into FP32 vector accumulators; forward and input gradient
 *   call the `_zfh` kernel (kh*kw-term sums gain little from FP32).
 * FP32 kernels have only the portable backend. MCUF_DWCONV2D_F16 etc. name the best backend.
 */
#ifndef MCUF_DWCONV_H
#define MCUF_DWCONV_H

#include "mcuf_common.h"
#include "mcuf_conv.h" /* mcuf_conv2d_s8_params */

typedef struct {
    int C, H, W;          /* input planes */
    int OH, OW;           /* output planes (derived offline, checked) */
    int kh, kw;           /* kernel */
    int stride_h, stride_w;
    int pad_top, pad_left, pad_bottom, pad_right;
    mcuf_acc acc;            /* FP16 kernels only */
    uint8_t accumulate_grad; /* gradient kernels: 1 adds into the outputs, 0 overwrites */
} mcuf_dwconv2d_params;

/* Forward: x[C,H,W], w[C,kh,kw], bias[C] or NULL -> y[C,OH,OW]. */
mcuf_status mcuf_dwconv2d_f16(const mcuf_dwconv2d_params *p, const mcuf_f16 *restrict x, const mcuf_f16 *restrict w,
                              const mcuf_f16 *restrict bias, mcuf_f16 *restrict y);
mcuf_status mcuf_dwconv2d_f32(const mcuf_dwconv2d_params *p, const float *restrict x, const float *restrict w,
                              const float *restrict bias, float *restrict y);

/* Input gradient: grad_y[C,OH,OW], w[C,kh,kw] -> grad_x[C,H,W] (= or +=). */
mcuf_status mcuf_dwconv2d_grad_input_f16(const mcuf_dwconv2d_params *p, const mcuf_f16 *restrict grad_y,
                                         const mcuf_f16 *restrict w, mcuf_f16 *restrict grad_x);
mcuf_status mcuf_dwconv2d_grad_input_f32(const mcuf_dwconv2d_params *p, const float *restrict grad_y,
                                         const float *restrict w, float *restrict grad_x);

/* Weight gradient: x[C,H,W] (forward input), grad_y[C,OH,OW] -> grad_w[C,kh,kw] (= or +=) and,
 * when grad_bias is not NULL, grad_bias[C] = sum over the plane of grad_y (= or +=). */
mcuf_status mcuf_dwconv2d_grad_weight_f16(const mcuf_dwconv2d_params *p, const mcuf_f16 *restrict x,
                                          const mcuf_f16 *restrict grad_y, mcuf_f16 *restrict grad_w,
                                          mcuf_f16 *restrict grad_bias);
mcuf_status mcuf_dwconv2d_grad_weight_f32(const mcuf_dwconv2d_params *p, const float *restrict x,
                                          const float *restrict grad_y, float *restrict grad_w,
                                          float *restrict grad_bias);

#if defined(__riscv_zfh) || defined(MCUF_BUILD_ALL_BACKENDS)
/* Scalar FP16, window in registers (fast path 3x3, stride 1, pads <= 1; other shapes: portable). */
mcuf_status mcuf_dwconv2d_f16_zfh(const mcuf_dwconv2d_params *p, const mcuf_f16 *restrict x,
                                  const mcuf_f16 *restrict w, const mcuf_f16 *restrict bias, mcuf_f16 *restrict y);
mcuf_status mcuf_dwconv2d_grad_input_f16_zfh(const mcuf_dwconv2d_params *p, const mcuf_f16 *restrict grad_y,
                                             const mcuf_f16 *restrict w, mcuf_f16 *restrict grad_x);
mcuf_status mcuf_dwconv2d_grad_weight_f16_zfh(const mcuf_dwconv2d_params *p, const mcuf_f16 *restrict x,
                                              const mcuf_f16 *restrict grad_y, mcuf_f16 *restrict grad_w,
                                              mcuf_f16 *restrict grad_bias);
#endif

#if defined(__riscv_zvfh) && !defined(MCUF_CFFI)
mcuf_status mcuf_dwconv2d_f16_rvv(const mcuf_dwconv2d_params *p, const mcuf_f16 *restrict x,
                                  const mcuf_f16 *restrict w, const mcuf_f16 *restrict bias, mcuf_f16 *restrict y);
mcuf_status mcuf_dwconv2d_grad_input_f16_rvv(const mcuf_dwconv2d_params *p, const mcuf_f16 *restrict grad_y,
                                             const mcuf_f16 *restrict w, mcuf_f16 *restrict grad_x);
mcuf_status mcuf_dwconv2d_grad_weight_f16_rvv(const mcuf_dwconv2d_params *p, const mcuf_f16 *restrict x,
                                              const mcuf_f16 *restrict grad_y, mcuf_f16 *restrict grad_w,
                                              mcuf_f16 *restrict grad_bias);
#define MCUF_DWCONV2D_F16 mcuf_dwconv2d_f16_rvv
#define MCUF_DWCONV2D_GRAD_INPUT_F16 mcuf_dwconv2d_grad_input_f16_rvv
#define MCUF_DWCONV2D_GRAD_WEIGHT_F16 mcuf_dwconv2d_grad_weight_f16_rvv
#elif defined(__riscv_zfh) && !defined(MCUF_CFFI)
#define MCUF_DWCONV2D_F16 mcuf_dwconv2d_f16_zfh
#define MCUF_DWCONV2D_GRAD_INPUT_F16 mcuf_dwconv2d_grad_input_f16_zfh
#define MCUF_DWCONV2D_GRAD_WEIGHT_F16 mcuf_dwconv2d_grad_weight_f16_zfh
#elif !defined(MCUF_CFFI)
#define MCUF_DWCONV2D_F16 mcuf_dwconv2d_f16
#define MCUF_DWCONV2D_GRAD_INPUT_F16 mcuf_dwconv2d_grad_input_f16
#define MCUF_DWCONV2D_GRAD_WEIGHT_F16 mcuf_dwconv2d_grad_weight_f16
#endif
#ifndef MCUF_CFFI
#define MCUF_DWCONV2D_F32 mcuf_dwconv2d_f32
#define MCUF_DWCONV2D_GRAD_INPUT_F32 mcuf_dwconv2d_grad_input_f32
#define MCUF_DWCONV2D_GRAD_WEIGHT_F32 mcuf_dwconv2d_grad_weight_f32
#endif

/* Argument and shape check shared by every backend (MCUF_OK when the call may proceed). */
mcuf_status mcuf_dwconv2d_check(const mcuf_dwconv2d_params *p);

/* ----------------------------------------------------------------------------------------------
 * Grouped 2-D convolution, direct, FP32 / FP16 forward (for group != 1 and not plain depthwise).
 * in[C,H,W], w[OC, C/group, kh, kw] (ONNX order), bias[OC] or NULL -> out[OC,OH,OW]; output channel
 * oc reads input channels g*(C/group) ... + C/group - 1 with g = oc / (OC/group); zero padding;
 * OH = (H + pad_top + pad_bottom - kh) / stride_h + 1 (checked). Accumulates in FP32 (FP16 too) and
 * rounds once. Errors: MCUF_ERR_ARG (NULL, dimension < 1, pad < 0), MCUF_ERR_SHAPE. No scratch.
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
    int C, H, W, OC, OH, OW;
    int kh, kw;
    int stride_h, stride_w;
    int pad_top, pad_left, pad_bottom, pad_right;
    int group; /* divides C and OC */
} mcuf_gconv2d_params;

mcuf_status mcuf_gconv2d_f32(const mcuf_gconv2d_params *p, const float *restrict in, const float *restrict w,
                             const float *restrict bias, float *restrict out);
mcuf_status mcuf_gconv2d_f16(const mcuf_gconv2d_params *p, const mcuf_f16 *restrict in, const mcuf_f16 *restrict w,
                             const mcuf_f16 *restrict bias, mcuf_f16 *restrict out);

/* ----------------------------------------------------------------------------------------------
 * int8 grouped / depthwise convolution (quantization: mcuf_requant.h), params mcuf_conv2d_s8_params
 * (mcuf_conv.h) with any group dividing C and OC. in[C,H,W], w[OC, C/group, kh, kw] (ONNX order),
 * bias'[OC] or NULL -> out[OC,OH,OW]. Output channel oc reads input channels g*(C/group) .. +C/group-1,
 * with g = oc / (OC/group). Pixels outside the input read as in_zp. Direct: windows inside the input
 * run an unrolled dot product (depthwise 3x3: the 9 weights in registers), border windows visit only
 * their taps inside the input. Depthwise 3x3 with padding reads instead through three
 * zero-point-padded copies of the input rows under the current output row, kept in scratch.
 * Scratch: mcuf_dwconv2d_s8_scratch_size(p) bytes: 3 * (W + pad_left + pad_right) for a padded
 * depthwise 3x3, else 0 (scratch may then be NULL). Stack: a 128-byte accumulator run.
 * in and out must not overlap.
 * ---------------------------------------------------------------------------------------------- */
size_t mcuf_dwconv2d_s8_scratch_size(const mcuf_conv2d_s8_params *p);
mcuf_status mcuf_dwconv2d_s8(const mcuf_conv2d_s8_params *p, const int8_t *restrict in, const int8_t *restrict w,
                             const int32_t *restrict bias, int8_t *restrict out, void *restrict scratch);

/* The same convolution with 4-bit or 2-bit weights (dtype token s8w4 / s8w2), bit-exact with
 * mcuf_dwconv2d_s8 on the same integer values. Packed layout: the OC * (C/group) * kh * kw weights in
 * ONNX order (oc, c, i, j) as one stream of two's complement fields, low bits first: field k at bits
 * (k*bits)%8 .. of byte k*bits/8 (s8w4: two a byte, values in [-8, 7]; s8w2: four a byte, in [-2, 1]);
 * a channel's taps are consecutive and need not start on a byte. _weight_size(p) = ceil(OC * taps *
 * bits / 8) bytes (taps = C/group * kh * kw). Each channel's taps are unpacked (shifts, no branch) into
 * the head of scratch, then the int8 path runs: scratch = taps + mcuf_dwconv2d_s8_scratch_size(p)
 * bytes (_scratch_size(p), never 0; required). Stack and overlap rules as mcuf_dwconv2d_s8. */
size_t mcuf_dwconv2d_s8w4_scratch_size(const mcuf_conv2d_s8_params *p);
size_t mcuf_dwconv2d_s8w2_scratch_size(const mcuf_conv2d_s8_params *p);
size_t mcuf_dwconv2d_s8w4_weight_size(const mcuf_conv2d_s8_params *p);
size_t mcuf_dwconv2d_s8w2_weight_size(const mcuf_conv2d_s8_params *p);
mcuf_status mcuf_dwconv2d_s8w4(const mcuf_conv2d_s8_params *p, const int8_t *restrict in, const uint8_t *restrict w,
                               const int32_t *restrict bias, int8_t *restrict out, void *restrict scratch);
mcuf_status mcuf_dwconv2d_s8w2(const mcuf_conv2d_s8_params *p, const int8_t *restrict in, const uint8_t *restrict w,
                               const int32_t *restrict bias, int8_t *restrict out, void *restrict scratch);

#endif /* MCUF_DWCONV_H */
