/* mcuf_pool.h: max pool, average pool and global average pool: FP16 / FP32 forward (training and
 * inference alike) and backward, and int8 inference (quantization: mcuf_requant.h).
 *
 * Layout (batch 1, channel-major): x[C, H, W] -> y[C, OH, OW] (ONNX MaxPool / AveragePool, 2-D,
 * dilation 1). Window of output (oh, ow): rows oh*stride_h - pad_top + [0, kh), columns likewise.
 * OH/OW come from the compiler with floor or ceil_mode (ceil: the last window may hang past
 * H + pad_bottom); the kernels only need every window to overlap the input (MCUF_ERR_SHAPE
 * otherwise), which ONNX guarantees. Pad cells are not values: max ignores them.
 *
 * MaxPool: max over the window cells inside the input; a NaN in a window is its maximum.
 *   Backward keeps no state from the forward pass: it takes the forward input x and recomputes each
 *   window's argmax (the first maximum in row-major window order, as PyTorch does), then adds
 *   grad_y there. grad_x is overwritten (overlapping windows add up).
 * AveragePool: sum over the window cells inside the input divided by d, per count_include_pad:
 *   0: the cells inside the input (ONNX default, PyTorch count_include_pad=False);
 *   1: the cells inside the padded input [-pad_top, H + pad_bottom) x [-pad_left, W + pad_right)
 *      (ONNX count_include_pad=1 as onnx.reference and onnxruntime's float kernel compute it: kh*kw
 *      except for ceil_mode windows hanging past the padding; PyTorch count_include_pad=True);
 *   2: always kh*kw (onnxruntime's fused QLinearAveragePool, which a QDQ model runs by default; it
 *      differs from 1 only on those ceil_mode windows).
 *   The FP16 kernels sum a window in FP32 and round once: error 2^-11 relative. Backward spreads
 *   grad_y / d over the window's cells inside the input, grad_x overwritten.
 * Forward fast path: 2x2 windows at stride 2 entirely inside the input (no clamping, fmax; a NaN
 *   still wins), ~5x fewer instructions than the general loop; the same values except that the max
 *   of a -0/+0 window may be either zero and the average adds the four cells pairwise.
 *
 * Global average pool: y[c] = mean of x[c, :, :] over HW = H*W values. Accumulation policy (FP16):
 * MCUF_ACC_F16 error grows like HW * 2^-11; MCUF_ACC_F32 about 2^-11 (recommended). Backward:
 * grad_x[c, :] = grad_y[c] / HW (overwritten).
 *
 * Errors: MCUF_ERR_ARG (NULL pointer, dimension/stride < 1, pad < 0, count_include_pad > 2),
 * MCUF_ERR_SHAPE (a window outside the input). No scratch, no state. x and y must not overlap.
 * Backend: portable C (compiled for rv32-zfh it is the scalar Zfh code).
 */
#ifndef MCUF_POOL_H
#define MCUF_POOL_H

#include "mcuf_common.h"

typedef struct {
    int C, H, W;
    int OH, OW;
    int kh, kw;
    int stride_h, stride_w;
    int pad_top, pad_left, pad_bottom, pad_right;
    uint8_t count_include_pad; /* average pool only: 0, 1 or 2 (see above) */
} mcuf_pool2d_params;

mcuf_status mcuf_maxpool2d_f16(const mcuf_pool2d_params *p, const mcuf_f16 *restrict x, mcuf_f16 *restrict y);
mcuf_status mcuf_maxpool2d_f32(const mcuf_pool2d_params *p, const float *restrict x, float *restrict y);
mcuf_status mcuf_maxpool2d_grad_f16(const mcuf_pool2d_params *p, const mcuf_f16 *restrict x,
                                    const mcuf_f16 *restrict grad_y, mcuf_f16 *restrict grad_x);
mcuf_status mcuf_maxpool2d_grad_f32(const mcuf_pool2d_params *p, const float *restrict x,
                                    const float *restrict grad_y, float *restrict grad_x);

mcuf_status mcuf_avgpool2d_f16(const mcuf_pool2d_params *p, const mcuf_f16 *restrict x, mcuf_f16 *restrict y);
mcuf_status mcuf_avgpool2d_f32(const mcuf_pool2d_params *p, const float *restrict x, float *restrict y);
mcuf_status mcuf_avgpool2d_grad_f16(const mcuf_pool2d_params *p, const mcuf_f16 *restrict grad_y,
                                    mcuf_f16 *restrict grad_x);
mcuf_status mcuf_avgpool2d_grad_f32(const mcuf_pool2d_params *p, const float *restrict grad_y,
                                    float *restrict grad_x);

/* Inference max pool, 2x2 windows, stride 2, no padding (the usual CNN downsampling), FP32:
 * y[c, i, j] = act(max of x[c, 2i..2i+1, 2j..2j+1]); OH = H / 2, OW = W / 2 (floor: an odd last row or
 * column is dropped). act: MCUF_ACT_NONE (0), MCUF_ACT_RELU (1, fmaxf(v, 0)) or MCUF_ACT_CLIP (2,
 * fminf(fmaxf(v, act_lo), act_hi)), the mcuf_act_kind values (mcuf_act.h): a monotonic activation
 * commutes with max, so codegen moves a conv's ReLU here, applying it to 4x fewer values. Three fmax.s
 * per output (plus the activation). Unlike mcuf_maxpool2d_f32, a NaN in a window is ignored (fmax
 * semantics: the largest number; all NaN gives NaN). Errors: MCUF_ERR_ARG (NULL, dimension < 1, act
 * unknown), MCUF_ERR_SHAPE (OH != H / 2 or OW != W / 2). No scratch. */
typedef struct {
    int C, H, W;   /* x [C, H, W] */
    int OH, OW;    /* y [C, OH, OW] */
    int act;       /* MCUF_ACT_NONE, MCUF_ACT_RELU or MCUF_ACT_CLIP */
    float act_lo, act_hi;
} mcuf_maxpool2d_2x2_params;

mcuf_status mcuf_maxpool2d_f32_2x2(const mcuf_maxpool2d_2x2_params *p, const float *restrict x, float *restrict y);

typedef struct {
    int C;        /* channels */
    int HW;       /* H*W values per channel */
    mcuf_acc acc; /* FP16 forward only */
} mcuf_global_avgpool_params;

mcuf_status mcuf_global_avgpool_f16(const mcuf_global_avgpool_params *p, const mcuf_f16 *restrict x,
                                    mcuf_f16 *restrict y);
mcuf_status mcuf_global_avgpool_f32(const mcuf_global_avgpool_params *p, const float *restrict x,
                                    float *restrict y);
mcuf_status mcuf_global_avgpool_grad_f16(const mcuf_global_avgpool_params *p, const mcuf_f16 *restrict grad_y,
                                         mcuf_f16 *restrict grad_x);
mcuf_status mcuf_global_avgpool_grad_f32(const mcuf_global_avgpool_params *p, const float *restrict grad_y,
                                         float *restrict grad_x);

/* ----------------------------------------------------------------------------------------------
 * int8 pooling, in[C,H,W] -> out[C,OH,OW]; windows and count_include_pad as above.
 * MaxPool: max over the window cells inside the input; output quantization must equal the input's
 *   (as in onnxruntime's QDQ MaxPool), so in_zp/out_zp/multiplier are ignored; then act clamp.
 * AveragePool: sum = sum over in-window input cells of (x - in_zp), divisor d by count_include_pad,
 *   out = requant(sum, multiplier[d-1], shift[d-1]) with multiplier/shift tables of kh*kw entries:
 *   entry d-1 = quantize_multiplier(s_in / (s_out * d)).
 * Global average pool: out[c] = requant(sum_{HW} (in[c, :] - in_zp), multiplier, shift) with
 *   multiplier/shift = quantize_multiplier(s_in / (s_out * HW)). in[C, HW] -> out[C]. HW <= 2^23.
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

mcuf_status mcuf_maxpool2d_s8(const mcuf_pool2d_s8_params *p, const int8_t *restrict in, int8_t *restrict out);
mcuf_status mcuf_avgpool2d_s8(const mcuf_pool2d_s8_params *p, const int8_t *restrict in, int8_t *restrict out);

typedef struct {
    int C, HW;
    int32_t in_zp, out_zp;
    int32_t multiplier, shift;
    int8_t act_min, act_max;
} mcuf_global_avgpool_s8_params;

mcuf_status mcuf_global_avgpool_s8(const mcuf_global_avgpool_s8_params *p, const int8_t *restrict in,
                                   int8_t *restrict out);

#endif /* MCUF_POOL_H */
