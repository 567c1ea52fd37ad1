/* mcuf_conv.h: 2-D convolution with one group (group > 1 and depthwise: mcuf_dwconv.h), batch 1.
 *
 *   conv2d       FP16/FP32, forward and both gradients: im2col + matmul (col2im for the input
 *                gradient), any kernel, stride, zero padding.
 *                input [C, H, W], weight [OC, C, kh, kw], output [OC, OH, OW] (ONNX order).
 *   pointwise    FP16/FP32, 1x1 conv, stride 1, no padding, without im2col: a plain matmul on [C, H*W].
 *   conv2d_3x3   FP32 inference: direct 3x3, stride 1, bias and activation fused.
 *   conv2d_s8    int8 inference (and the s8w4 / s8w2 sub-byte weight variants): im2col of 4 output
 *                pixels + a 4x4 register-blocked int8 GEMM (requantization: mcuf_requant.h).
 *
 * The float layers call the best matmul for the target being compiled (MCUF_MATMUL_* in mcuf_matmul.h):
 *   forward       out = W . col             (matmul,    M=OC, N=OH*OW, K=C*kh*kw)
 *   input grad    stride 1 (pads < kernel): the transposed conv, din = flip(W)^T . im2col(dout)
 *                                           (matmul,    M=C, N=H*W, K=OC*kh*kw);
 *                 otherwise dcol = W^T . dout, then col2im
 *                                           (matmul_tn, M=C*kh*kw, N=OH*OW, K=OC)
 *   weight grad   dW (+)= dout . col^T     (matmul_nt, M=OC, N=C*kh*kw, K=OH*OW)
 * A conv2d whose params are 1x1, stride 1, no padding skips im2col and needs no scratch.
 *
 * FP16: p->acc picks the accumulation policy of the matmuls (see mcuf_matmul.h for its error); bias
 * gradients sum in FP32 when p->acc is MCUF_ACC_F32, else in FP16. col2im sums the (at most
 * ceil(kh/stride_h) * ceil(kw/stride_w)) overlapping patch gradients in the element type.
 * Gradients: grad_input overwrites din; grad_weight overwrites dW and db, or adds into them when
 * p->accumulate_grad is 1 (gradient accumulation over a batch). db may be NULL.
 * Returns MCUF_ERR_ARG for NULL required pointers or inconsistent params, MCUF_ERR_SCRATCH when
 * scratch is NULL or scratch_bytes is smaller than the function's requirement (forward:
 * mcuf_conv2d_<dt>_min_scratch_size, banded below mcuf_conv2d_<dt>_scratch_size; weight gradient:
 * mcuf_conv2d_grad_weight_<dt>_scratch_size; input gradient: mcuf_conv2d_grad_input_<dt>_scratch_size).
 * All params are computed offline (codegen); the kernels check them, they do not derive them.
 * No two tensor (or scratch) arguments may overlap.
 */
#ifndef MCUF_CONV_H
#define MCUF_CONV_H

#include "mcuf_common.h"

typedef struct {
    int C, H, W;             /* input [C, H, W] */
    int OC, kh, kw;          /* weight [OC, C, kh, kw] */
    int stride_h, stride_w;  /* >= 1 */
    int pad_top, pad_left;   /* zero padding before the first row / column */
    int OH, OW;              /* output [OC, OH, OW]; bottom/right padding is what OH/OW imply:
                                OH = (H + pad_top + pad_bottom - kh) / stride_h + 1 */
    mcuf_acc acc;            /* FP16 only */
    uint8_t accumulate_grad; /* grad_weight: 1 adds into dW and db, 0 overwrites them */
} mcuf_conv2d_params;

typedef struct {
    int C, OC, HW;           /* input [C, HW], weight [OC, C], output [OC, HW] */
    mcuf_acc acc;            /* FP16 only */
    uint8_t accumulate_grad; /* grad_weight: 1 adds into dW and db, 0 overwrites them */
} mcuf_pointwise_params;

/* Scratch bytes of mcuf_conv2d_<dt> (forward, at full speed): the im2col matrix of the input,
 * [C*kh*kw, OH*OW] in the element type. 0 for 1x1 / stride 1 / no padding (no im2col) and for
 * invalid params. mcuf_conv2d_grad_weight_<dt>_scratch_size: the same matrix (required in full). */
size_t mcuf_conv2d_f16_scratch_size(const mcuf_conv2d_params *p);
size_t mcuf_conv2d_f32_scratch_size(const mcuf_conv2d_params *p);
size_t mcuf_conv2d_grad_weight_f16_scratch_size(const mcuf_conv2d_params *p);
size_t mcuf_conv2d_grad_weight_f32_scratch_size(const mcuf_conv2d_params *p);
/* Smallest scratch mcuf_conv2d_<dt> accepts: one output row, its im2col columns plus the product of up
 * to 4 output channels, (C*kh*kw + min(OC, 4)) * OW elements, or ..._scratch_size(p) if that is
 * smaller (0 for 1x1 / stride 1 / no padding). Between this and ..._scratch_size(p) the forward pass
 * works in bands of as many output rows as fit (im2col of the band, matmul into a staging block,
 * copy into place; below one row with all OC staged, one row with the channels staged in groups),
 * so an inference arena need not hold the whole im2col matrix. */
size_t mcuf_conv2d_f16_min_scratch_size(const mcuf_conv2d_params *p);
size_t mcuf_conv2d_f32_min_scratch_size(const mcuf_conv2d_params *p);
/* Scratch bytes of mcuf_conv2d_grad_input_*: at stride 1 (pads < kernel) the flipped weights
 * [C, OC*kh*kw] plus the im2col matrix of dout [OC*kh*kw, H*W]; otherwise the dcol matrix
 * [C*kh*kw, OH*OW] that col2im reads. 0 for 1x1 / stride 1 / no padding and invalid params. */
size_t mcuf_conv2d_grad_input_f16_scratch_size(const mcuf_conv2d_params *p);
size_t mcuf_conv2d_grad_input_f32_scratch_size(const mcuf_conv2d_params *p);

/* out[OC, OH, OW] = conv(in[C, H, W], w[OC, C, kh, kw]) + bias[OC] (bias may be NULL). */
mcuf_status mcuf_conv2d_f16(const mcuf_conv2d_params *p, const mcuf_f16 *restrict in, const mcuf_f16 *restrict w,
                            const mcuf_f16 *restrict bias, mcuf_f16 *restrict out, void *restrict scratch,
                            size_t scratch_bytes);
mcuf_status mcuf_conv2d_f32(const mcuf_conv2d_params *p, const float *restrict in, const float *restrict w,
                            const float *restrict bias, float *restrict out, void *restrict scratch,
                            size_t scratch_bytes);

/* din[C, H, W] = d loss / d in, from dout[OC, OH, OW] and w[OC, C, kh, kw] (overwrites din). */
mcuf_status mcuf_conv2d_grad_input_f16(const mcuf_conv2d_params *p, const mcuf_f16 *restrict dout,
                                       const mcuf_f16 *restrict w, mcuf_f16 *restrict din, void *restrict scratch,
                                       size_t scratch_bytes);
mcuf_status mcuf_conv2d_grad_input_f32(const mcuf_conv2d_params *p, const float *restrict dout,
                                       const float *restrict w, float *restrict din, void *restrict scratch,
                                       size_t scratch_bytes);

/* dw[OC, C, kh, kw] (+)= d loss / d w and db[OC] (+)= d loss / d bias (db may be NULL),
 * from in[C, H, W] and dout[OC, OH, OW]. */
mcuf_status mcuf_conv2d_grad_weight_f16(const mcuf_conv2d_params *p, const mcuf_f16 *restrict in,
                                        const mcuf_f16 *restrict dout, mcuf_f16 *restrict dw, mcuf_f16 *restrict db,
                                        void *restrict scratch, size_t scratch_bytes);
mcuf_status mcuf_conv2d_grad_weight_f32(const mcuf_conv2d_params *p, const float *restrict in,
                                        const float *restrict dout, float *restrict dw, float *restrict db,
                                        void *restrict scratch, size_t scratch_bytes);

/* The im2col / col2im steps on their own (also used by the conv2d functions):
 * col[(c*kh + ky)*kw + kx, oy*OW + ox] = in[c, oy*stride_h - pad_top + ky, ox*stride_w - pad_left + kx]
 * (0 outside the input); col2im overwrites din with the sum of col's entries over that same map. */
mcuf_status mcuf_im2col_f16(const mcuf_conv2d_params *p, const mcuf_f16 *restrict in, mcuf_f16 *restrict col);
mcuf_status mcuf_im2col_f32(const mcuf_conv2d_params *p, const float *restrict in, float *restrict col);
mcuf_status mcuf_col2im_f16(const mcuf_conv2d_params *p, const mcuf_f16 *restrict col, mcuf_f16 *restrict din);
mcuf_status mcuf_col2im_f32(const mcuf_conv2d_params *p, const float *restrict col, float *restrict din);

/* Pointwise (1x1) conv: out[OC, HW] = w[OC, C] . in[C, HW] + bias[OC]; no scratch. */
mcuf_status mcuf_pointwise_f16(const mcuf_pointwise_params *p, const mcuf_f16 *restrict in,
                               const mcuf_f16 *restrict w, const mcuf_f16 *restrict bias, mcuf_f16 *restrict out);
mcuf_status mcuf_pointwise_f32(const mcuf_pointwise_params *p, const float *restrict in, const float *restrict w,
                               const float *restrict bias, float *restrict out);
/* din[C, HW] = w^T . dout (overwrites din). */
mcuf_status mcuf_pointwise_grad_input_f16(const mcuf_pointwise_params *p, const mcuf_f16 *restrict dout,
                                          const mcuf_f16 *restrict w, mcuf_f16 *restrict din);
mcuf_status mcuf_pointwise_grad_input_f32(const mcuf_pointwise_params *p, const float *restrict dout,
                                          const float *restrict w, float *restrict din);
/* dw[OC, C] (+)= dout . in^T, db[OC] (+)= row sums of dout (db may be NULL). */
mcuf_status mcuf_pointwise_grad_weight_f16(const mcuf_pointwise_params *p, const mcuf_f16 *restrict in,
                                           const mcuf_f16 *restrict dout, mcuf_f16 *restrict dw,
                                           mcuf_f16 *restrict db);
mcuf_status mcuf_pointwise_grad_weight_f32(const mcuf_pointwise_params *p, const float *restrict in,
                                           const float *restrict dout, float *restrict dw, float *restrict db);

/* Direct 3x3 convolution, stride 1, group 1, FP32, for inference: no im2col. Bias and the activation
 * are applied as each output is written (no second pass over the output).
 *   in [C, H, W], w [OC, C, 3, 3], bias [OC] (NULL: none), out [OC, OH, OW].
 *   OH = H + pad_top + pad_bottom - 2, OW likewise; pads 0..2 (bottom/right are what OH/OW imply).
 *   act: MCUF_ACT_NONE (0), MCUF_ACT_RELU (1, y = fmaxf(x, 0)) or MCUF_ACT_CLIP (2, y = fminf(fmaxf(x,
 *   act_lo), act_hi)); the values of mcuf_act_kind (mcuf_act.h). One fmax.s per output: unlike
 *   mcuf_relu_f32, a NaN output (only from a NaN or infinite input) comes out as 0 / act_lo.
 * Scratch: the zero-padded input [C, OH + 2, OW + 2], mcuf_conv2d_f32_3x3_scratch_size(p) bytes, or
 * less down to mcuf_conv2d_f32_3x3_min_scratch_size(p) (padded rows for one output row, [C, 3,
 * OW + 2]): the output is then computed in bands of as many rows as the scratch holds, so an
 * inference arena need not hold the whole padded input. Both are 0 when there is no padding (the
 * input is read in place; scratch may then be NULL).
 * Errors: MCUF_ERR_ARG for NULL in/w/out or inconsistent params, MCUF_ERR_SCRATCH for too little scratch. */
typedef struct {
    int C, H, W;            /* input [C, H, W] */
    int OC;                 /* weight [OC, C, 3, 3] */
    int pad_top, pad_left;  /* 0..2 */
    int OH, OW;             /* output [OC, OH, OW] */
    int act;                /* MCUF_ACT_NONE, MCUF_ACT_RELU or MCUF_ACT_CLIP */
    float act_lo, act_hi;   /* Clip bounds (ignored otherwise) */
} mcuf_conv2d_3x3_params;

size_t mcuf_conv2d_f32_3x3_scratch_size(const mcuf_conv2d_3x3_params *p);
size_t mcuf_conv2d_f32_3x3_min_scratch_size(const mcuf_conv2d_3x3_params *p);
mcuf_status mcuf_conv2d_f32_3x3(const mcuf_conv2d_3x3_params *p, const float *restrict in, const float *restrict w,
                                const float *restrict bias, float *restrict out, void *restrict scratch,
                                size_t scratch_bytes);

/* ----------------------------------------------------------------------------------------------
 * int8 convolution, group 1, [C,H,W] -> [OC,OH,OW], dilation 1 (quantization: mcuf_requant.h).
 *   OH = (H + pad_top + pad_bottom - kh) / stride_h + 1, OW likewise (floor; derived offline and
 *   checked). Pixels outside the input read as in_zp (real 0), consistent with the folded bias.
 *   Weights in the PACKED layout (toolchain.requant.pack_conv_weights_s8): ceil(OC/4) blocks of
 *   [K][4], K = C*kh*kw in (c, i, j) order, packed[b][k][t] = w[4b + t][k], the tail block
 *   zero-padded; mcuf_conv2d_s8_weight_size(p) bytes. Im2col of 4 output pixels at a time into
 *   scratch (pad value in_zp), then a 4x4 register-blocked int8 GEMM (int32 acc). A 1x1, stride 1,
 *   unpadded conv reads the input directly and needs no scratch.
 * bias: bias'[OC] (folded, see mcuf_requant.h) or NULL for zeros. multiplier/shift: [OC] arrays.
 * Stack: a 64-byte row buffer (windows sticking out of the input horizontally).
 * mcuf_conv2d_s8_params also describes the grouped / depthwise int8 conv (mcuf_dwconv2d_s8).
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
    int C, H, W;                 /* input dims */
    int OC, OH, OW;              /* output dims */
    int kh, kw;                  /* kernel size */
    int stride_h, stride_w;      /* >= 1 */
    int pad_top, pad_left, pad_bottom, pad_right; /* >= 0 */
    int group;                   /* 1 for mcuf_conv2d_s8*; divides C and OC for mcuf_dwconv2d_s8 */
    int32_t in_zp;               /* input zero point [-128, 127]; also the padding value */
    int32_t out_zp;              /* output zero point [-128, 127] */
    int8_t act_min, act_max;     /* output clamp (fused Relu/Clip), act_min <= act_max */
    const int32_t *multiplier;   /* [OC] Q31 multipliers, in [2^30, 2^31) or 0 */
    const int32_t *shift;        /* [OC] shifts, in [-31, 30] */
} mcuf_conv2d_s8_params;

/* Bytes of scratch mcuf_conv2d_s8 needs: 4 * C * kh * kw (the im2col of 4 output pixels), or 0 for a
 * 1x1 stride-1 unpadded conv (any alignment). Returns 0 for a NULL p. The s8w4 / s8w2 variants need
 * the same (their own functions below say so). */
size_t mcuf_conv2d_s8_scratch_size(const mcuf_conv2d_s8_params *p);
/* Bytes of the packed weight array: 4 * ceil(OC/4) * C * kh * kw. */
size_t mcuf_conv2d_s8_weight_size(const mcuf_conv2d_s8_params *p);

/* in[C,H,W] int8, w packed (see above), bias[OC] int32 or NULL -> out[OC,OH,OW] int8.
 * scratch: mcuf_conv2d_s8_scratch_size(p) bytes (NULL allowed only when that is 0). in/out must not
 * overlap. */
mcuf_status mcuf_conv2d_s8(const mcuf_conv2d_s8_params *p, const int8_t *restrict in, const int8_t *restrict w,
                           const int32_t *restrict bias, int8_t *restrict out, void *restrict scratch);

/* The same convolution with 4-bit or 2-bit weights (dtype token s8w4 / s8w2: int8 activations, s4 / s2
 * weights; int32 accumulation, the same params, bias and requantization; weights still symmetric per
 * output channel). Packed layout as for mcuf_conv2d_s8 (ceil(OC/4) blocks, k in (c, i, j) order), the
 * 4 channels of a block and k step sharing bytes (toolchain.requant.pack_conv_weights_s4 / _s2):
 *   s8w4: 2 bytes per k step: byte 0 = ch0 (bits 3:0) | ch1 (bits 7:4), byte 1 = ch2 | ch3 << 4;
 *         values two's complement in [-8, 7]. mcuf_conv2d_s8w4_weight_size(p) = 2 * ceil(OC/4) * K.
 *   s8w2: 1 byte per k step: ch t in bits (2t+1):(2t); values in [-2, 1].
 *         mcuf_conv2d_s8w2_weight_size(p) = ceil(OC/4) * K.
 * Unpacking costs a shift or two per weight (about 0.25 instruction per MAC on RV32) against a half /
 * a quarter of the weight bytes. Scratch: ..._scratch_size(p) = mcuf_conv2d_s8_scratch_size(p). */
size_t mcuf_conv2d_s8w4_scratch_size(const mcuf_conv2d_s8_params *p);
size_t mcuf_conv2d_s8w2_scratch_size(const mcuf_conv2d_s8_params *p);
size_t mcuf_conv2d_s8w4_weight_size(const mcuf_conv2d_s8_params *p);
size_t mcuf_conv2d_s8w2_weight_size(const mcuf_conv2d_s8_params *p);
mcuf_status mcuf_conv2d_s8w4(const mcuf_conv2d_s8_params *p, const int8_t *restrict in, const uint8_t *restrict w,
                             const int32_t *restrict bias, int8_t *restrict out, void *restrict scratch);
mcuf_status mcuf_conv2d_s8w2(const mcuf_conv2d_s8_params *p, const int8_t *restrict in, const uint8_t *restrict w,
                             const int32_t *restrict bias, int8_t *restrict out, void *restrict scratch);

#endif /* MCUF_CONV_H */
