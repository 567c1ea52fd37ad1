/* mcuf_linear.h: fully connected layers, y[batch, out_features] = x[batch, in_features] . W^T + b with
 * W [out_features, in_features] (ONNX Gemm transB=1, PyTorch nn.Linear; a MatMul B[In, Out] with
 * constant weights is transposed offline).
 *
 *   linear_f16/f32   forward and both gradients. Batch 1 with FP32 accumulation runs row-blocked dot
 *                    products (5 weight rows share each x load); otherwise the best matmul for the
 *                    target (MCUF_MATMUL_NT_* in mcuf_matmul.h). FP16: p->acc picks the accumulation
 *                    policy (error: mcuf_matmul.h); bias gradients sum in FP32 with MCUF_ACC_F32.
 *   linear_s8        int8 inference, plain [Out, In] weights, and its _packed variant; the s8w4 /
 *                    s8w2 variants take 4-bit / 2-bit weights (quantization: mcuf_requant.h).
 *
 * Gradients: grad_input overwrites dx; grad_weight overwrites dw and db, or adds into them when
 * p->accumulate_grad is 1. db may be NULL. No scratch, no state. No two tensor arguments may overlap.
 * Errors: MCUF_ERR_ARG for NULL required pointers or a dimension < 1 (int8: a zero point outside
 * [-128, 127] or act_min > act_max too).
 */
#ifndef MCUF_LINEAR_H
#define MCUF_LINEAR_H

#include "mcuf_common.h"

typedef struct {
    int batch;                   /* rows of x and y */
    int in_features, out_features; /* x [batch, in_features], W [out_features, in_features], y [batch, out_features] */
    mcuf_acc acc;                /* FP16 only */
    uint8_t accumulate_grad;     /* grad_weight: 1 adds into dw and db, 0 overwrites them */
} mcuf_linear_params;

/* Linear: y[batch, out] = x[batch, in] . w[out, in]^T + bias[out] (bias may be NULL). */
mcuf_status mcuf_linear_f16(const mcuf_linear_params *p, const mcuf_f16 *restrict x, const mcuf_f16 *restrict w,
                            const mcuf_f16 *restrict bias, mcuf_f16 *restrict y);
mcuf_status mcuf_linear_f32(const mcuf_linear_params *p, const float *restrict x, const float *restrict w,
                            const float *restrict bias, float *restrict y);
/* dx[batch, in] = dy[batch, out] . w[out, in] (overwrites dx). */
mcuf_status mcuf_linear_grad_input_f16(const mcuf_linear_params *p, const mcuf_f16 *restrict dy,
                                       const mcuf_f16 *restrict w, mcuf_f16 *restrict dx);
mcuf_status mcuf_linear_grad_input_f32(const mcuf_linear_params *p, const float *restrict dy,
                                       const float *restrict w, float *restrict dx);
/* dw[out, in] (+)= dy^T . x, db[out] (+)= column sums of dy (db may be NULL). */
mcuf_status mcuf_linear_grad_weight_f16(const mcuf_linear_params *p, const mcuf_f16 *restrict x,
                                        const mcuf_f16 *restrict dy, mcuf_f16 *restrict dw, mcuf_f16 *restrict db);
mcuf_status mcuf_linear_grad_weight_f32(const mcuf_linear_params *p, const float *restrict x,
                                        const float *restrict dy, float *restrict dw, float *restrict db);

/* ----------------------------------------------------------------------------------------------
 * int8: out[r, o] = requant(bias'[o] + sum_i in[r, i] * W[o, i]) for r < batch. in[batch, In],
 * bias'[Out] folded (or NULL), out[batch, Out]; multiplier/shift per output feature.
 * mcuf_linear_s8:         w = W as is, [Out, In] row-major. Four rows share each input load.
 * mcuf_linear_s8_packed:  w = W PACKED like conv weights (toolchain.requant.pack_fc_weights_s8):
 *                         ceil(Out/4) blocks of [In][4], packed[b][i][t] = W[4b + t][i], tail block
 *                         zero-padded, mcuf_linear_s8_packed_weight_size(p) bytes. One weight pointer
 *                         with immediate offsets: ~6% fewer instructions on RV32 than the plain layout.
 * mcuf_linear_s8w4 / _s8w2: 4-bit / 2-bit weights packed as mcuf_conv2d_s8w4 / _s8w2 with K = In
 *                         (toolchain.requant.pack_fc_weights_s4 / _s2).
 * Same results bit for bit. In unrolled by 4. in and out must not overlap.
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
    int batch;                   /* independent input rows (1 for a flattened feature map) */
    int in_features, out_features;
    int32_t out_zp;              /* [-128, 127] */
    int8_t act_min, act_max;
    const int32_t *multiplier;   /* [out_features] */
    const int32_t *shift;        /* [out_features] */
} mcuf_linear_s8_params;

mcuf_status mcuf_linear_s8(const mcuf_linear_s8_params *p, const int8_t *restrict in, const int8_t *restrict w,
                           const int32_t *restrict bias, int8_t *restrict out);
/* Bytes of the packed weight array of mcuf_linear_s8_packed: 4 * ceil(Out/4) * In. */
size_t mcuf_linear_s8_packed_weight_size(const mcuf_linear_s8_params *p);
mcuf_status mcuf_linear_s8_packed(const mcuf_linear_s8_params *p, const int8_t *restrict in,
                                  const int8_t *restrict w, const int32_t *restrict bias, int8_t *restrict out);
size_t mcuf_linear_s8w4_weight_size(const mcuf_linear_s8_params *p);
size_t mcuf_linear_s8w2_weight_size(const mcuf_linear_s8_params *p);
mcuf_status mcuf_linear_s8w4(const mcuf_linear_s8_params *p, const int8_t *restrict in, const uint8_t *restrict w,
                             const int32_t *restrict bias, int8_t *restrict out);
mcuf_status mcuf_linear_s8w2(const mcuf_linear_s8_params *p, const int8_t *restrict in, const uint8_t *restrict w,
                             const int32_t *restrict bias, int8_t *restrict out);

#endif /* MCUF_LINEAR_H */
