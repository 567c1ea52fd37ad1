/* mcuf_act.h: ReLU forward and backward (elementwise, any layout).
 *
 *   mcuf_relu_*:      y = max(x, 0)                        (NaN propagates as NaN)
 *   mcuf_relu_grad_*: grad_x = x > 0 ? grad_y : 0          (x: the forward input or output; both give
 *                                                          the same mask, since y > 0 exactly when x > 0)
 * n >= 1 elements; in place allowed (y == x, grad_x == grad_y); other overlaps are not.
 * Exact in every precision (no arithmetic), so every backend is bit-identical to the portable one.
 * Errors: MCUF_ERR_ARG for NULL pointers or n < 1. No scratch, no state.
 *
 * Backends: unsuffixed = portable C; `_rvv` (RVV 1.0, VLEN-agnostic; FP16 needs Zvfh) when compiling
 * with __riscv_zvfh. MCUF_RELU_F16 / MCUF_RELU_GRAD_F16 (and _F32) name the best backend.
 */
#ifndef MCUF_ACT_H
#define MCUF_ACT_H

#include "mcuf_common.h"

mcuf_status mcuf_relu_f16(int n, const mcuf_f16 *x, mcuf_f16 *y);
mcuf_status mcuf_relu_f32(int n, const float *x, float *y);
mcuf_status mcuf_relu_grad_f16(int n, const mcuf_f16 *x, const mcuf_f16 *grad_y, mcuf_f16 *grad_x);
mcuf_status mcuf_relu_grad_f32(int n, const float *x, const float *grad_y, float *grad_x);

#if defined(__riscv_zvfh) && !defined(MCUF_CFFI)
mcuf_status mcuf_relu_f16_rvv(int n, const mcuf_f16 *x, mcuf_f16 *y);
mcuf_status mcuf_relu_f32_rvv(int n, const float *x, float *y);
mcuf_status mcuf_relu_grad_f16_rvv(int n, const mcuf_f16 *x, const mcuf_f16 *grad_y, mcuf_f16 *grad_x);
mcuf_status mcuf_relu_grad_f32_rvv(int n, const float *x, const float *grad_y, float *grad_x);
#define MCUF_RELU_F16 mcuf_relu_f16_rvv
#define MCUF_RELU_F32 mcuf_relu_f32_rvv
#define MCUF_RELU_GRAD_F16 mcuf_relu_grad_f16_rvv
#define MCUF_RELU_GRAD_F32 mcuf_relu_grad_f32_rvv
#elif !defined(MCUF_CFFI)
#define MCUF_RELU_F16 mcuf_relu_f16
#define MCUF_RELU_F32 mcuf_relu_f32
#define MCUF_RELU_GRAD_F16 mcuf_relu_grad_f16
#define MCUF_RELU_GRAD_F32 mcuf_relu_grad_f32
#endif

#endif /* MCUF_ACT_H */
