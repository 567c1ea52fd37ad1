/* mcuf_eltwise.h: the FP32 / FP16 forward kernels of the ONNX operators the matmul, conv, depthwise,
 * pool and loss families do not cover: broadcasting Add/Sub/Mul/Div, activations, Softmax,
 * Transpose / Concat / Pad (strided copies), MaxPool / AveragePool with ONNX's ceil_mode and
 * count_include_pad, grouped convolution. (Float <-> int8 conversion and plain copies: mcuf_convert.h.)
 *
 * Shapes are ONNX's with batch 1, in C order. Everything derivable (broadcast strides, permutation
 * strides, output sizes, pads) is computed offline by the Python compiler; the kernels check what is
 * cheap to check and only compute. FP16 kernels (_f16) read and write mcuf_f16 and compute in FP32,
 * rounding once per output (error <= 2^-11 relative of the exact result for Add/Mul/activations;
 * Softmax and pooling accumulate in FP32). Copies (_s8, _f16, _f32) move bits and are exact.
 * Errors: MCUF_ERR_ARG for NULL pointers, n < 0, a dimension < 1, an unknown enum; MCUF_ERR_SHAPE for
 * inconsistent sizes. No scratch, no allocation, no state.
 */
#ifndef MCUF_ELTWISE_H
#define MCUF_ELTWISE_H

#include "mcuf_common.h"

/* ----------------------------------------------------------------------------------------------
 * Binary elementwise ops with ONNX multidirectional broadcasting, as strides.
 * The output is dense [dims[0], dims[1], dims[2], dims[3]] (rank <= 4 after the compiler collapsed
 * dimensions and padded the shape with leading 1s). Element (i0, i1, i2, i3) of the output reads
 *   a[i0*a_stride[0] + i1*a_stride[1] + i2*a_stride[2] + i3*a_stride[3]] and likewise b,
 * a stride being 0 along every dimension that input broadcasts (its size is 1 there).
 * out may alias a or b when that input is not broadcast (same layout as the output); otherwise the
 * buffers must not overlap. Div follows IEEE (x/0 = inf, 0/0 = NaN).
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
 * Activations, elementwise over n values, in place (in == out) or out of place (no partial overlap).
 *   MCUF_ACT_NONE          y = x (a copy; nothing when in place)
 *   MCUF_ACT_RELU          y = x < 0 ? 0 : x                       (NaN stays NaN)
 *   MCUF_ACT_CLIP          y = min(max(x, lo), hi)                 (ONNX Clip; lo/hi = -inf/inf if absent)
 *   MCUF_ACT_LEAKY_RELU    y = x < 0 ? alpha * x : x               (ONNX default alpha 0.01)
 *   MCUF_ACT_SIGMOID       y = 1 / (1 + exp(-x)), computed without overflow for any x
 *   MCUF_ACT_HARD_SIGMOID  y = max(0, min(1, alpha * x + beta))    (ONNX defaults 0.2, 0.5)
 *   MCUF_ACT_HARD_SWISH    y = x * max(0, min(1, x / 6 + 0.5))     (ONNX HardSwish)
 * Fields a kind does not use are ignored.
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
 * product of the dims from the axis on). Stable: exp(x - max) / sum. out may equal in.
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
    int outer, n, inner; /* each >= 1 */
} mcuf_softmax_params;

mcuf_status mcuf_softmax_f32(const mcuf_softmax_params *p, const float *in, float *out);
mcuf_status mcuf_softmax_f16(const mcuf_softmax_params *p, const mcuf_f16 *in, mcuf_f16 *out);

/* ----------------------------------------------------------------------------------------------
 * 4-D strided copy: out[i0*os0 + ... + i3*os3] = in[i0*is0 + ... + i3*is3] over dims[0..3].
 *   Transpose (perm): dims = output dims, out_stride = the output's dense strides,
 *     in_stride[k] = the input's dense stride of axis perm[k].
 *   Concat along an axis: one call per input, dims and in_stride = that input's, out_stride = the
 *     output's dense strides, out pointer advanced by the input's offset along the axis.
 *   Slice / Pad interior: the same with offsets applied to the pointers.
 * Strides may be any values >= 0 (a 0 stride repeats: Expand); in and out must not overlap.
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
    int dims[4];
    int in_stride[4];
    int out_stride[4];
} mcuf_copy4d_params;

mcuf_status mcuf_copy4d_s8(const mcuf_copy4d_params *p, const int8_t *in, int8_t *out);
mcuf_status mcuf_copy4d_f16(const mcuf_copy4d_params *p, const mcuf_f16 *in, mcuf_f16 *out);
mcuf_status mcuf_copy4d_f32(const mcuf_copy4d_params *p, const float *in, float *out);

/* ----------------------------------------------------------------------------------------------
 * Pad, constant mode, rank <= 4 (leading dims 1): out dims = in_dims + pad_begin + pad_end; a cell
 * whose index minus pad_begin lies inside the input copies it, every other cell is `value`. Negative
 * pads crop (ONNX allows them). For int8 tensors `value` is already quantized (normally the zero
 * point); for FP16 it is rounded to half. in and out must not overlap.
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
    int in_dims[4];     /* >= 1 */
    int pad_begin[4];   /* any sign; out dim = in + begin + end must be >= 1 */
    int pad_end[4];
    float value;
} mcuf_pad_params;

mcuf_status mcuf_pad_s8(const mcuf_pad_params *p, const int8_t *in, int8_t *out);
mcuf_status mcuf_pad_f16(const mcuf_pad_params *p, const mcuf_f16 *in, mcuf_f16 *out);
mcuf_status mcuf_pad_f32(const mcuf_pad_params *p, const float *in, float *out);

/* ----------------------------------------------------------------------------------------------
 * MaxPool / AveragePool as ONNX defines them (2-D, dilation 1), in[C,H,W] -> out[C,OH,OW].
 * Window of output (oh, ow): rows oh*stride_h - pad_top + [0, kh), columns likewise. OH/OW come
 * from the compiler with floor or ceil_mode: with ceil_mode the last window may hang past
 * H + pad_bottom; the kernel only needs every window to overlap the input (MCUF_ERR_SHAPE
 * otherwise). MaxPool: max over the window cells inside the input (NaN propagates). AveragePool:
 * sum over those cells divided by, per count_include_pad: 0 the number of cells inside the input
 * (ONNX default); 1 the number of cells inside the padded input [-pad_top, H + pad_bottom) x
 * [-pad_left, W + pad_right), i.e. kh*kw except for ceil_mode windows hanging past the padding
 * (onnx.reference and onnxruntime); 2 always kh*kw (onnxruntime's QLinearAveragePool).
 * (mcuf_pool.h's training kernels require floor-mode sizes; these are the general forward ones.)
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
    int C, H, W, OH, OW;
    int kh, kw;
    int stride_h, stride_w;
    int pad_top, pad_left, pad_bottom, pad_right;
    uint8_t count_include_pad; /* AveragePool: 0, 1 or 2 (see above) */
} mcuf_pool2d_fwd_params;

mcuf_status mcuf_maxpool2d_fwd_f32(const mcuf_pool2d_fwd_params *p, const float *in, float *out);
mcuf_status mcuf_maxpool2d_fwd_f16(const mcuf_pool2d_fwd_params *p, const mcuf_f16 *in, mcuf_f16 *out);
mcuf_status mcuf_avgpool2d_fwd_f32(const mcuf_pool2d_fwd_params *p, const float *in, float *out);
mcuf_status mcuf_avgpool2d_fwd_f16(const mcuf_pool2d_fwd_params *p, const mcuf_f16 *in, mcuf_f16 *out);

/* ----------------------------------------------------------------------------------------------
 * Grouped 2-D convolution, direct (for group != 1 and not plain depthwise; mcuf_conv.h has group 1,
 * mcuf_dwconv.h has group == C == OC). in[C,H,W], w[OC, C/group, kh, kw] (ONNX order), bias[OC] or
 * NULL -> out[OC,OH,OW]; output channel oc reads input channels g*(C/group) ... + C/group - 1 with
 * g = oc / (OC/group); zero padding; OH = (H + pad_top + pad_bottom - kh) / stride_h + 1 (checked).
 * Accumulates in FP32 (FP16 too) and rounds once.
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
    int C, H, W, OC, OH, OW;
    int kh, kw;
    int stride_h, stride_w;
    int pad_top, pad_left, pad_bottom, pad_right;
    int group; /* divides C and OC */
} mcuf_gconv2d_params;

mcuf_status mcuf_gconv2d_f32(const mcuf_gconv2d_params *p, const float *in, const float *w, const float *bias,
                             float *out);
mcuf_status mcuf_gconv2d_f16(const mcuf_gconv2d_params *p, const mcuf_f16 *in, const mcuf_f16 *w,
                             const mcuf_f16 *bias, mcuf_f16 *out);

/* Float <-> int8 conversion (QuantizeLinear / DequantizeLinear) lives in mcuf_convert.h. */

#endif /* MCUF_ELTWISE_H */
