/* mcuf_conv.h: matmul-based layers, forward and both gradients, FP16 and FP32, batch 1 (linear: any batch).
 *
 *   conv2d     im2col + matmul (col2im for the input gradient), any kernel, stride, zero padding.
 *              input [Cin, H, W], weight [Cout, Cin, kh, kw], output [Cout, Ho, Wo] (ONNX order).
 *   pointwise  1x1 conv, stride 1, no padding, without im2col: a plain matmul on [C, H*W].
 *   linear     y[B, Out] = x[B, In] . W[Out, In]^T + b (ONNX Gemm transB=1, PyTorch nn.Linear).
 *
 * Each layer calls the best matmul for the target being compiled (MCUF_MATMUL_* in mcuf_matmul.h):
 *   forward       out = W . col             (matmul,    M=Cout, N=Ho*Wo, K=Cin*kh*kw)
 *   input grad    stride 1 (pads < kernel): the transposed conv, din = flip(W)^T . im2col(dout)
 *                                           (matmul,    M=Cin, N=H*W, K=Cout*kh*kw);
 *                 otherwise dcol = W^T . dout, then col2im
 *                                           (matmul_tn, M=Cin*kh*kw, N=Ho*Wo, K=Cout)
 *   weight grad   dW (+)= dout . col^T     (matmul_nt, M=Cout, N=Cin*kh*kw, K=Ho*Wo)
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
 * mcuf_conv2d_<dt>_scratch_size; input gradient: mcuf_conv2d_grad_input_<dt>_scratch_size).
 * All params are computed offline (codegen); the kernels check them, they do not derive them.
 */
#ifndef MCUF_CONV_H
#define MCUF_CONV_H

#include "mcuf_common.h"

typedef struct {
    int cin, h, w;           /* input [cin, h, w] */
    int cout, kh, kw;        /* weight [cout, cin, kh, kw] */
    int stride_h, stride_w;  /* >= 1 */
    int pad_top, pad_left;   /* zero padding before the first row / column */
    int ho, wo;              /* output [cout, ho, wo]; bottom/right padding is what ho/wo imply:
                                ho = (h + pad_top + pad_bottom - kh) / stride_h + 1 */
    mcuf_acc acc;            /* FP16 only */
    uint8_t accumulate_grad; /* grad_weight: 1 adds into dW and db, 0 overwrites them */
} mcuf_conv2d_params;

typedef struct {
    int cin, cout, hw;       /* input [cin, hw], weight [cout, cin], output [cout, hw] */
    mcuf_acc acc;            /* FP16 only */
    uint8_t accumulate_grad; /* grad_weight: 1 adds into dW and db, 0 overwrites them */
} mcuf_pointwise_params;

typedef struct {
    int batch, in, out;      /* x [batch, in], W [out, in], y [batch, out] */
    mcuf_acc acc;            /* FP16 only */
    uint8_t accumulate_grad; /* grad_weight: 1 adds into dW and db, 0 overwrites them */
} mcuf_linear_params;

/* Scratch bytes of mcuf_conv2d_* (forward) and mcuf_conv2d_grad_weight_*: the im2col matrix of the
 * input, [cin*kh*kw, ho*wo] in the element type. 0 for 1x1 / stride 1 / no padding (no im2col) and
 * for invalid params. */
size_t mcuf_conv2d_f16_scratch_size(const mcuf_conv2d_params *p);
size_t mcuf_conv2d_f32_scratch_size(const mcuf_conv2d_params *p);
/* Smallest scratch mcuf_conv2d_<dt> accepts: one output row, its im2col columns plus the product of up
 * to 4 output channels, (cin*kh*kw + min(cout, 4)) * wo elements, or ..._scratch_size(p) if that is
 * smaller (0 for 1x1 / stride 1 / no padding). Between this and ..._scratch_size(p) the forward pass
 * works in bands of as many output rows as fit (im2col of the band, matmul into a staging block,
 * copy into place; below one row with all cout staged, one row with the channels staged in groups),
 * so an inference arena need not hold the whole im2col matrix. */
size_t mcuf_conv2d_f16_min_scratch_size(const mcuf_conv2d_params *p);
size_t mcuf_conv2d_f32_min_scratch_size(const mcuf_conv2d_params *p);
/* Scratch bytes of mcuf_conv2d_grad_input_*: at stride 1 (pads < kernel) the flipped weights
 * [cin, cout*kh*kw] plus the im2col matrix of dout [cout*kh*kw, h*w]; otherwise the dcol matrix
 * [cin*kh*kw, ho*wo] that col2im reads. 0 for 1x1 / stride 1 / no padding and invalid params. */
size_t mcuf_conv2d_grad_input_f16_scratch_size(const mcuf_conv2d_params *p);
size_t mcuf_conv2d_grad_input_f32_scratch_size(const mcuf_conv2d_params *p);

/* out[cout, ho, wo] = conv(in[cin, h, w], w[cout, cin, kh, kw]) + bias[cout] (bias may be NULL). */
mcuf_status mcuf_conv2d_f16(const mcuf_conv2d_params *p, const mcuf_f16 *in, const mcuf_f16 *w,
                            const mcuf_f16 *bias, mcuf_f16 *out, void *scratch, size_t scratch_bytes);
mcuf_status mcuf_conv2d_f32(const mcuf_conv2d_params *p, const float *in, const float *w,
                            const float *bias, float *out, void *scratch, size_t scratch_bytes);

/* din[cin, h, w] = d loss / d in, from dout[cout, ho, wo] and w[cout, cin, kh, kw] (overwrites din). */
mcuf_status mcuf_conv2d_grad_input_f16(const mcuf_conv2d_params *p, const mcuf_f16 *dout, const mcuf_f16 *w,
                                       mcuf_f16 *din, void *scratch, size_t scratch_bytes);
mcuf_status mcuf_conv2d_grad_input_f32(const mcuf_conv2d_params *p, const float *dout, const float *w,
                                       float *din, void *scratch, size_t scratch_bytes);

/* dw[cout, cin, kh, kw] (+)= d loss / d w and db[cout] (+)= d loss / d bias (db may be NULL),
 * from in[cin, h, w] and dout[cout, ho, wo]. */
mcuf_status mcuf_conv2d_grad_weight_f16(const mcuf_conv2d_params *p, const mcuf_f16 *in, const mcuf_f16 *dout,
                                        mcuf_f16 *dw, mcuf_f16 *db, void *scratch, size_t scratch_bytes);
mcuf_status mcuf_conv2d_grad_weight_f32(const mcuf_conv2d_params *p, const float *in, const float *dout,
                                        float *dw, float *db, void *scratch, size_t scratch_bytes);

/* The im2col / col2im steps on their own (also used by the conv2d functions):
 * col[(c*kh + ky)*kw + kx, oy*wo + ox] = in[c, oy*stride_h - pad_top + ky, ox*stride_w - pad_left + kx]
 * (0 outside the input); col2im overwrites din with the sum of col's entries over that same map. */
mcuf_status mcuf_im2col_f16(const mcuf_conv2d_params *p, const mcuf_f16 *in, mcuf_f16 *col);
mcuf_status mcuf_im2col_f32(const mcuf_conv2d_params *p, const float *in, float *col);
mcuf_status mcuf_col2im_f16(const mcuf_conv2d_params *p, const mcuf_f16 *col, mcuf_f16 *din);
mcuf_status mcuf_col2im_f32(const mcuf_conv2d_params *p, const float *col, float *din);

/* Pointwise (1x1) conv: out[cout, hw] = w[cout, cin] . in[cin, hw] + bias[cout]; no scratch. */
mcuf_status mcuf_pointwise_f16(const mcuf_pointwise_params *p, const mcuf_f16 *in, const mcuf_f16 *w,
                               const mcuf_f16 *bias, mcuf_f16 *out);
mcuf_status mcuf_pointwise_f32(const mcuf_pointwise_params *p, const float *in, const float *w,
                               const float *bias, float *out);
/* din[cin, hw] = w^T . dout (overwrites din). */
mcuf_status mcuf_pointwise_grad_input_f16(const mcuf_pointwise_params *p, const mcuf_f16 *dout,
                                          const mcuf_f16 *w, mcuf_f16 *din);
mcuf_status mcuf_pointwise_grad_input_f32(const mcuf_pointwise_params *p, const float *dout, const float *w,
                                          float *din);
/* dw[cout, cin] (+)= dout . in^T, db[cout] (+)= row sums of dout (db may be NULL). */
mcuf_status mcuf_pointwise_grad_weight_f16(const mcuf_pointwise_params *p, const mcuf_f16 *in,
                                           const mcuf_f16 *dout, mcuf_f16 *dw, mcuf_f16 *db);
mcuf_status mcuf_pointwise_grad_weight_f32(const mcuf_pointwise_params *p, const float *in, const float *dout,
                                           float *dw, float *db);

/* Linear: y[batch, out] = x[batch, in] . w[out, in]^T + bias[out] (bias may be NULL). */
mcuf_status mcuf_linear_f16(const mcuf_linear_params *p, const mcuf_f16 *x, const mcuf_f16 *w,
                            const mcuf_f16 *bias, mcuf_f16 *y);
mcuf_status mcuf_linear_f32(const mcuf_linear_params *p, const float *x, const float *w, const float *bias,
                            float *y);
/* dx[batch, in] = dy[batch, out] . w[out, in] (overwrites dx). */
mcuf_status mcuf_linear_grad_input_f16(const mcuf_linear_params *p, const mcuf_f16 *dy, const mcuf_f16 *w,
                                       mcuf_f16 *dx);
mcuf_status mcuf_linear_grad_input_f32(const mcuf_linear_params *p, const float *dy, const float *w, float *dx);
/* dw[out, in] (+)= dy^T . x, db[out] (+)= column sums of dy (db may be NULL). */
mcuf_status mcuf_linear_grad_weight_f16(const mcuf_linear_params *p, const mcuf_f16 *x, const mcuf_f16 *dy,
                                        mcuf_f16 *dw, mcuf_f16 *db);
mcuf_status mcuf_linear_grad_weight_f32(const mcuf_linear_params *p, const float *x, const float *dy,
                                        float *dw, float *db);

/* Direct 3x3 convolution, stride 1, group 1, FP32, for inference: no im2col. Bias and the activation
 * are applied as each output is written (no second pass over the output).
 *   in [cin, h, w], w [cout, cin, 3, 3], bias [cout] (NULL: none), out [cout, ho, wo].
 *   ho = h + pad_top + pad_bottom - 2, wo likewise; pads 0..2 (bottom/right are what ho/wo imply).
 *   act: MCUF_ACT_NONE (0), MCUF_ACT_RELU (1, y = fmaxf(x, 0)) or MCUF_ACT_CLIP (2, y = fminf(fmaxf(x,
 *   act_lo), act_hi)); the values of mcuf_act_kind (mcuf_eltwise.h). One fmax.s per output: unlike
 *   mcuf_relu_f32, a NaN output (only from a NaN or infinite input) comes out as 0 / act_lo.
 * Scratch: the zero-padded input [cin, ho + 2, wo + 2], mcuf_conv2d_f32_3x3_scratch_size(p) bytes, or
 * less down to mcuf_conv2d_f32_3x3_min_scratch_size(p) (padded rows for one output row, [cin, 3,
 * wo + 2]): the output is then computed in bands of as many rows as the scratch holds, so an
 * inference arena need not hold the whole padded input. Both are 0 when there is no padding (the
 * input is read in place; scratch may then be NULL).
 * Errors: MCUF_ERR_ARG for NULL in/w/out or inconsistent params, MCUF_ERR_SCRATCH for too little scratch. */
typedef struct {
    int cin, h, w;          /* input [cin, h, w] */
    int cout;               /* weight [cout, cin, 3, 3] */
    int pad_top, pad_left;  /* 0..2 */
    int ho, wo;             /* output [cout, ho, wo] */
    int act;                /* MCUF_ACT_NONE, MCUF_ACT_RELU or MCUF_ACT_CLIP */
    float act_lo, act_hi;   /* Clip bounds (ignored otherwise) */
} mcuf_conv2d_3x3_params;

size_t mcuf_conv2d_f32_3x3_scratch_size(const mcuf_conv2d_3x3_params *p);
size_t mcuf_conv2d_f32_3x3_min_scratch_size(const mcuf_conv2d_3x3_params *p);
mcuf_status mcuf_conv2d_f32_3x3(const mcuf_conv2d_3x3_params *p, const float *in, const float *w,
                                const float *bias, float *out, void *scratch, size_t scratch_bytes);

#endif /* MCUF_CONV_H */
