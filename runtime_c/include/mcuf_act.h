/* mcuf_act.h: activations, elementwise over n values (any layout), and Softmax over an axis.
 *
 *   mcuf_relu_*:      y = max(x, 0)                        (NaN propagates as NaN)
 *   mcuf_relu_grad_*: grad_x = x > 0 ? grad_y : 0          (x: the forward input or output; both give
 *                                                          the same mask, since y > 0 exactly when x > 0)
 *   mcuf_act_*:       the inference activations of ONNX (mcuf_act_kind below), FP32 / FP16.
 *   mcuf_softmax_*:   ONNX Softmax, FP32 / FP16.
 *   mcuf_lut_s8:      any elementwise int8 -> int8 function as a 256-entry table (int8 activations).
 * In place allowed (y == x, grad_x == grad_y, out == in); other overlaps are not.
 * ReLU is exact in every precision (no arithmetic), so every backend is bit-identical to the portable
 * one. FP16 mcuf_act / mcuf_softmax compute in FP32 and round once per output.
 * Errors: MCUF_ERR_ARG for NULL pointers, n < 1 (ReLU) or n < 0 (mcuf_act, mcuf_lut_s8), a dimension
 * < 1 or an unknown kind. No scratch, no state.
 *
 * Backends: unsuffixed = portable C; `_rvv` (RVV 1.0, VLEN-agnostic; FP16 needs Zvfh) of ReLU when
 * compiling with __riscv_zvfh. MCUF_RELU_F16 / MCUF_RELU_GRAD_F16 (and _F32) name the best backend.
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

/* ----------------------------------------------------------------------------------------------
 * Inference activations, in place (in == out) or out of place (no partial overlap).
 *   MCUF_ACT_NONE          y = x (a copy; nothing when in place)
 *   MCUF_ACT_RELU          y = x < 0 ? 0 : x                       (NaN stays NaN)
 *   MCUF_ACT_CLIP          y = min(max(x, lo), hi)                 (ONNX Clip; lo/hi = -inf/inf if absent)
 *   MCUF_ACT_LEAKY_RELU    y = x < 0 ? alpha * x : x               (ONNX default alpha 0.01)
 *   MCUF_ACT_SIGMOID       y = 1 / (1 + exp(-x)), computed without overflow for any x
 *   MCUF_ACT_HARD_SIGMOID  y = max(0, min(1, alpha * x + beta))    (ONNX defaults 0.2, 0.5)
 *   MCUF_ACT_HARD_SWISH    y = x * max(0, min(1, x / 6 + 0.5))     (ONNX HardSwish)
 * Fields a kind does not use are ignored. The fused activations of other kernels (mcuf_conv2d_f32_3x3,
 * mcuf_maxpool2d_f32_2x2) take the same values.
 * ---------------------------------------------------------------------------------------------- */
typedef enum {
    MCUF_ACT_NONE = 0,
    MCUF_ACT_RELU = 1,
    MCUF_ACT_CLIP = 2,
    MCUF_ACT_LEAKY_RELU = 3,
    MCUF_ACT_SIGMOID = 4,
    MCUF_ACT_HARD_SIGMOID = 5,
    MCUF_ACT_HARD_SWISH = 6
} mcuf_act_kind;

typedef struct {
    mcuf_act_kind kind;
    float alpha, beta; /* LeakyRelu: alpha; HardSigmoid: alpha, beta */
    float lo, hi;      /* Clip bounds */
} mcuf_act_params;

mcuf_status mcuf_act_f32(const mcuf_act_params *p, int n, const float *in, float *out);
mcuf_status mcuf_act_f16(const mcuf_act_params *p, int n, const mcuf_f16 *in, mcuf_f16 *out);

/* ----------------------------------------------------------------------------------------------
 * Softmax over one axis of a tensor seen as [outer, n, inner] (ONNX opset >= 13 axis: outer = product
 * of the dims before it, inner = product after it; opset < 13 "coerce to 2-D": inner = 1 and n the
 * product of the dims from the axis on). Stable: exp(x - max) / sum, accumulated in FP32.
 * out may equal in.
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
    int outer, n, inner; /* each >= 1 */
} mcuf_softmax_params;

mcuf_status mcuf_softmax_f32(const mcuf_softmax_params *p, const float *in, float *out);
mcuf_status mcuf_softmax_f16(const mcuf_softmax_params *p, const mcuf_f16 *in, mcuf_f16 *out);

/* out[i] = table[in[i] + 128]: any elementwise int8 -> int8 function precomputed offline (activations
 * such as Sigmoid or HardSwish between their input and output quantization). In place allowed. */
mcuf_status mcuf_lut_s8(int n, const int8_t *table, const int8_t *in, int8_t *out);

#endif /* MCUF_ACT_H */
