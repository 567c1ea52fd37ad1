/* mcuf_pool.h: max pool, average pool and global average pool, forward and backward.
 *
 * Layout (batch 1, channel-major): x[C, H, W] -> y[C, OH, OW]; window kh x kw, strides, zero-size pads
 * (pad cells are not values: max ignores them, average counts them only with count_include_pad).
 * OH = (H + pad_top + pad_bottom - kh) / stride_h + 1 (same for OW), derived offline, checked here
 * (MCUF_ERR_SHAPE); every pad must be smaller than the window so no window lies entirely in padding.
 *
 * Max pool backward keeps no state from the forward pass: it takes the forward input x and recomputes
 * each window's argmax (the first maximum in row-major window order, as PyTorch does), then adds
 * grad_y there. grad_x is overwritten (overlapping windows add up). A NaN in a window is its maximum.
 *
 * Average pool: y = sum / divisor with divisor = kh*kw (count_include_pad) or the number of window
 * cells inside the input (ONNX default, PyTorch count_include_pad=False). The FP16 kernels always sum
 * a window in FP32 (windows are small; the cost is nothing) and round once: error 2^-11 relative.
 * Backward spreads grad_y / divisor over the window, grad_x overwritten.
 *
 * Global average pool: y[c] = mean of x[c, :, :] over HW = H*W values. Accumulation policy (FP16):
 * MCUF_ACC_F16 error grows like HW * 2^-11; MCUF_ACC_F32 about 2^-11 (recommended). Backward:
 * grad_x[c, :] = grad_y[c] / HW (overwritten).
 *
 * Errors: MCUF_ERR_ARG (NULL pointer, dimension < 1, pad < 0 or >= window), MCUF_ERR_SHAPE.
 * No scratch, no state. Backend: portable C (compiled for rv32-zfh it is the scalar Zfh code).
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
    uint8_t count_include_pad; /* average pool only */
} mcuf_pool2d_params;

typedef struct {
    int C;        /* channels */
    int HW;       /* H*W values per channel */
    mcuf_acc acc; /* FP16 forward only */
} mcuf_global_avgpool_params;

mcuf_status mcuf_pool2d_check(const mcuf_pool2d_params *p);

mcuf_status mcuf_maxpool2d_f16(const mcuf_pool2d_params *p, const mcuf_f16 *x, mcuf_f16 *y);
mcuf_status mcuf_maxpool2d_f32(const mcuf_pool2d_params *p, const float *x, float *y);
mcuf_status mcuf_maxpool2d_grad_f16(const mcuf_pool2d_params *p, const mcuf_f16 *x, const mcuf_f16 *grad_y,
                                    mcuf_f16 *grad_x);
mcuf_status mcuf_maxpool2d_grad_f32(const mcuf_pool2d_params *p, const float *x, const float *grad_y,
                                    float *grad_x);

/* Inference max pool, 2x2 windows, stride 2, no padding (the usual CNN downsampling), FP32:
 * y[c, i, j] = act(max of x[c, 2i..2i+1, 2j..2j+1]); OH = H / 2, OW = W / 2 (floor: an odd last row or
 * column is dropped). act: MCUF_ACT_NONE (0), MCUF_ACT_RELU (1, fmaxf(v, 0)) or MCUF_ACT_CLIP (2,
 * fminf(fmaxf(v, act_lo), act_hi)), the mcuf_act_kind values: a monotonic activation commutes with
 * max, so codegen moves a conv's ReLU here, applying it to 4x fewer values. Three fmax.s per output
 * (plus the activation). Unlike mcuf_maxpool2d_f32, a NaN in a window is ignored (fmax semantics:
 * the largest number; all NaN gives NaN). Errors: MCUF_ERR_ARG (NULL, dimension < 1, act unknown),
 * MCUF_ERR_SHAPE (OH != H / 2 or OW != W / 2). No scratch. */
typedef struct {
    int C, H, W;   /* x [C, H, W] */
    int OH, OW;    /* y [C, OH, OW] */
    int act;       /* MCUF_ACT_NONE, MCUF_ACT_RELU or MCUF_ACT_CLIP */
    float act_lo, act_hi;
} mcuf_maxpool2x2_params;

mcuf_status mcuf_maxpool2d_f32_2x2(const mcuf_maxpool2x2_params *p, const float *x, float *y);

mcuf_status mcuf_avgpool2d_f16(const mcuf_pool2d_params *p, const mcuf_f16 *x, mcuf_f16 *y);
mcuf_status mcuf_avgpool2d_f32(const mcuf_pool2d_params *p, const float *x, float *y);
mcuf_status mcuf_avgpool2d_grad_f16(const mcuf_pool2d_params *p, const mcuf_f16 *grad_y, mcuf_f16 *grad_x);
mcuf_status mcuf_avgpool2d_grad_f32(const mcuf_pool2d_params *p, const float *grad_y, float *grad_x);

mcuf_status mcuf_global_avgpool_f16(const mcuf_global_avgpool_params *p, const mcuf_f16 *x, mcuf_f16 *y);
mcuf_status mcuf_global_avgpool_f32(const mcuf_global_avgpool_params *p, const float *x, float *y);
mcuf_status mcuf_global_avgpool_grad_f16(const mcuf_global_avgpool_params *p, const mcuf_f16 *grad_y,
                                         mcuf_f16 *grad_x);
mcuf_status mcuf_global_avgpool_grad_f32(const mcuf_global_avgpool_params *p, const float *grad_y,
                                         float *grad_x);

#endif /* MCUF_POOL_H */
