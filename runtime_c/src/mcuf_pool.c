/* mcuf_pool.c: portable C max / average / global average pooling, forward and backward. */
#include "mcuf_pool.h"

mcuf_status mcuf_pool2d_check(const mcuf_pool2d_params *p)
{
    if (!p) return MCUF_ERR_ARG;
    if (p->C < 1 || p->H < 1 || p->W < 1 || p->OH < 1 || p->OW < 1 || p->kh < 1 || p->kw < 1 ||
        p->stride_h < 1 || p->stride_w < 1)
        return MCUF_ERR_ARG;
    if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0) return MCUF_ERR_ARG;
    if (p->pad_top >= p->kh || p->pad_bottom >= p->kh || p->pad_left >= p->kw || p->pad_right >= p->kw)
        return MCUF_ERR_ARG;
    const int hp = p->H + p->pad_top + p->pad_bottom, wp = p->W + p->pad_left + p->pad_right;
    if (hp < p->kh || wp < p->kw) return MCUF_ERR_SHAPE;
    if (p->OH != (hp - p->kh) / p->stride_h + 1 || p->OW != (wp - p->kw) / p->stride_w + 1)
        return MCUF_ERR_SHAPE;
    return MCUF_OK;
}

/* Window of output (oh, ow) clipped to the input: rows [*h0, *h1), columns [*w0, *w1). */
static void window(const mcuf_pool2d_params *p, int oh, int ow, int *h0, int *h1, int *w0, int *w1)
{
    int a = oh * p->stride_h - p->pad_top, b = ow * p->stride_w - p->pad_left;
    *h0 = a < 0 ? 0 : a;
    *h1 = a + p->kh > p->H ? p->H : a + p->kh;
    *w0 = b < 0 ? 0 : b;
    *w1 = b + p->kw > p->W ? p->W : b + p->kw;
}

static float divisor(const mcuf_pool2d_params *p, int h0, int h1, int w0, int w1)
{
    return p->count_include_pad ? (float)(p->kh * p->kw) : (float)((h1 - h0) * (w1 - w0));
}

#define DEFINE_POOL(T, SUF)                                                                            \
    /* Index (within the channel plane) of the first maximum of the window; NaN counts as maximal. */ \
    static int argmax_##SUF(const mcuf_pool2d_params *p, const T *xc, int oh, int ow)                  \
    {                                                                                                  \
        int h0, h1, w0, w1;                                                                            \
        window(p, oh, ow, &h0, &h1, &w0, &w1);                                                         \
        const int W = p->W;                                                                            \
        int best = h0 * W + w0;                                                                        \
        T m = xc[best];                                                                                \
        if (m != m) return best; /* NaN: the maximum */                                                \
        for (int h = h0; h < h1; h++) {                                                                \
            const T *row = xc + h * W;                                                                 \
            for (int w = w0; w < w1; w++) {                                                            \
                const T v = row[w];                                                                    \
                if (!(v <= m)) { /* v > m, or v is NaN */                                              \
                    best = h * W + w;                                                                  \
                    if (v != v) return best;                                                           \
                    m = v;                                                                             \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
        return best;                                                                                   \
    }                                                                                                  \
    mcuf_status mcuf_maxpool2d_##SUF(const mcuf_pool2d_params *p, const T *x, T *y)                    \
    {                                                                                                  \
        mcuf_status st = mcuf_pool2d_check(p);                                                         \
        if (st != MCUF_OK) return st;                                                                  \
        if (!x || !y) return MCUF_ERR_ARG;                                                             \
        const mcuf_pool2d_params q_ = *p; /* a local copy: stores through y cannot alias it */          \
        p = &q_;                                                                                       \
        for (int c = 0; c < p->C; c++) {                                                               \
            const T *xc = x + (size_t)c * p->H * p->W;                                                 \
            T *yc = y + (size_t)c * p->OH * p->OW;                                                     \
            for (int oh = 0; oh < p->OH; oh++)                                                         \
                for (int ow = 0; ow < p->OW; ow++) yc[oh * p->OW + ow] = xc[argmax_##SUF(p, xc, oh, ow)]; \
        }                                                                                              \
        return MCUF_OK;                                                                                \
    }                                                                                                  \
    mcuf_status mcuf_maxpool2d_grad_##SUF(const mcuf_pool2d_params *p, const T *x, const T *grad_y,    \
                                          T *grad_x)                                                   \
    {                                                                                                  \
        mcuf_status st = mcuf_pool2d_check(p);                                                         \
        if (st != MCUF_OK) return st;                                                                  \
        if (!x || !grad_y || !grad_x) return MCUF_ERR_ARG;                                             \
        const mcuf_pool2d_params q_ = *p;                                                              \
        p = &q_;                                                                                       \
        for (int c = 0; c < p->C; c++) {                                                               \
            const T *xc = x + (size_t)c * p->H * p->W;                                                 \
            const T *gyc = grad_y + (size_t)c * p->OH * p->OW;                                         \
            T *gxc = grad_x + (size_t)c * p->H * p->W;                                                 \
            for (int k = 0; k < p->H * p->W; k++) gxc[k] = (T)0;                                       \
            for (int oh = 0; oh < p->OH; oh++)                                                         \
                for (int ow = 0; ow < p->OW; ow++) {                                                   \
                    const int a = argmax_##SUF(p, xc, oh, ow);                                         \
                    gxc[a] = (T)(gxc[a] + gyc[oh * p->OW + ow]);                                       \
                }                                                                                      \
        }                                                                                              \
        return MCUF_OK;                                                                                \
    }                                                                                                  \
    mcuf_status mcuf_avgpool2d_##SUF(const mcuf_pool2d_params *p, const T *x, T *y)                    \
    {                                                                                                  \
        mcuf_status st = mcuf_pool2d_check(p);                                                         \
        if (st != MCUF_OK) return st;                                                                  \
        if (!x || !y) return MCUF_ERR_ARG;                                                             \
        const mcuf_pool2d_params q_ = *p; /* a local copy: stores through y cannot alias it */          \
        p = &q_;                                                                                       \
        for (int c = 0; c < p->C; c++) {                                                               \
            const T *xc = x + (size_t)c * p->H * p->W;                                                 \
            T *yc = y + (size_t)c * p->OH * p->OW;                                                     \
            for (int oh = 0; oh < p->OH; oh++)                                                         \
                for (int ow = 0; ow < p->OW; ow++) {                                                   \
                    int h0, h1, w0, w1;                                                                \
                    window(p, oh, ow, &h0, &h1, &w0, &w1);                                             \
                    float s = 0.0f;                                                                    \
                    for (int h = h0; h < h1; h++)                                                      \
                        for (int w = w0; w < w1; w++) s += (float)xc[h * p->W + w];                    \
                    yc[oh * p->OW + ow] = (T)(s / divisor(p, h0, h1, w0, w1));                         \
                }                                                                                      \
        }                                                                                              \
        return MCUF_OK;                                                                                \
    }                                                                                                  \
    mcuf_status mcuf_avgpool2d_grad_##SUF(const mcuf_pool2d_params *p, const T *grad_y, T *grad_x)     \
    {                                                                                                  \
        mcuf_status st = mcuf_pool2d_check(p);                                                         \
        if (st != MCUF_OK) return st;                                                                  \
        if (!grad_y || !grad_x) return MCUF_ERR_ARG;                                                   \
        const mcuf_pool2d_params q_ = *p;                                                              \
        p = &q_;                                                                                       \
        for (int c = 0; c < p->C; c++) {                                                               \
            const T *gyc = grad_y + (size_t)c * p->OH * p->OW;                                         \
            T *gxc = grad_x + (size_t)c * p->H * p->W;                                                 \
            for (int k = 0; k < p->H * p->W; k++) gxc[k] = (T)0;                                       \
            for (int oh = 0; oh < p->OH; oh++)                                                         \
                for (int ow = 0; ow < p->OW; ow++) {                                                   \
                    int h0, h1, w0, w1;                                                                \
                    window(p, oh, ow, &h0, &h1, &w0, &w1);                                             \
                    const T g = (T)((float)gyc[oh * p->OW + ow] / divisor(p, h0, h1, w0, w1));         \
                    for (int h = h0; h < h1; h++)                                                      \
                        for (int w = w0; w < w1; w++) gxc[h * p->W + w] = (T)(gxc[h * p->W + w] + g);  \
                }                                                                                      \
        }                                                                                              \
        return MCUF_OK;                                                                                \
    }                                                                                                  \
    mcuf_status mcuf_global_avgpool_grad_##SUF(const mcuf_global_avgpool_params *p, const T *grad_y,   \
                                               T *grad_x)                                              \
    {                                                                                                  \
        if (!p || !grad_y || !grad_x || p->C < 1 || p->HW < 1) return MCUF_ERR_ARG;                    \
        const int C = p->C, HW = p->HW; /* locals: stores through grad_x cannot alias them */         \
        for (int c = 0; c < C; c++) {                                                                  \
            const T g = (T)((float)grad_y[c] / (float)HW);                                             \
            T *d = grad_x + (size_t)c * HW;                                                            \
            for (int k = 0; k < HW; k++) d[k] = g;                                                     \
        }                                                                                              \
        return MCUF_OK;                                                                                \
    }

DEFINE_POOL(mcuf_f16, f16)
DEFINE_POOL(float, f32)

mcuf_status mcuf_global_avgpool_f16(const mcuf_global_avgpool_params *p, const mcuf_f16 *x, mcuf_f16 *y)
{
    if (!p || !x || !y || p->C < 1 || p->HW < 1) return MCUF_ERR_ARG;
    if (p->acc != MCUF_ACC_F16 && p->acc != MCUF_ACC_F32) return MCUF_ERR_ARG;
    for (int c = 0; c < p->C; c++) {
        const mcuf_f16 *xc = x + (size_t)c * p->HW;
        if (p->acc == MCUF_ACC_F32) {
            float s = 0.0f;
            for (int k = 0; k < p->HW; k++) s += (float)xc[k];
            y[c] = (mcuf_f16)(s / (float)p->HW);
        } else {
            mcuf_f16 s = 0;
            for (int k = 0; k < p->HW; k++) s = (mcuf_f16)(s + xc[k]);
            y[c] = (mcuf_f16)((float)s / (float)p->HW);
        }
    }
    return MCUF_OK;
}

mcuf_status mcuf_global_avgpool_f32(const mcuf_global_avgpool_params *p, const float *x, float *y)
{
    if (!p || !x || !y || p->C < 1 || p->HW < 1) return MCUF_ERR_ARG;
    for (int c = 0; c < p->C; c++) {
        float s = 0.0f;
        for (int k = 0; k < p->HW; k++) s += x[(size_t)c * p->HW + k];
        y[c] = s / (float)p->HW;
    }
    return MCUF_OK;
}

#if defined(__riscv) && defined(__clang__)
#define POOL_FMAX(a, b) __builtin_fmaxf((a), (b)) /* fmax.s; picolibc's inline fmaxf makes calls */
#define POOL_FMIN(a, b) __builtin_fminf((a), (b))
#else
#define POOL_FMAX(a, b) ((a) > (b) || (b) != (b) ? (a) : (b)) /* NaN b gives a, as fmax.s */
#define POOL_FMIN(a, b) ((a) < (b) || (b) != (b) ? (a) : (b))
#endif

/* Two outputs a step: constant offsets from r0/r1/yo, three pointer bumps per eight loads and the
 * loop ended by a pointer compare (no counter). ACT is applied to each output (a macro so each
 * activation gets its own branch-free loop). */
#define MAXPOOL2X2_ROWS(ACT)                                                                             \
    for (int c = 0; c < C; c++) {                                                                        \
        const float *xc = x + (size_t)c * H * W;                                                         \
        for (int oh = 0; oh < OH; oh++, y += OW) {                                                       \
            const float *r0 = xc + (size_t)(2 * oh) * W, *r1 = r0 + W;                                   \
            float *yo = y;                                                                               \
            float *const ye = y + (OW & ~1);                                                             \
            for (; yo != ye; yo += 2, r0 += 4, r1 += 4) {                                                \
                yo[0] = ACT(POOL_FMAX(POOL_FMAX(r0[0], r0[1]), POOL_FMAX(r1[0], r1[1])));                \
                yo[1] = ACT(POOL_FMAX(POOL_FMAX(r0[2], r0[3]), POOL_FMAX(r1[2], r1[3])));                \
            }                                                                                            \
            if (OW & 1) yo[0] = ACT(POOL_FMAX(POOL_FMAX(r0[0], r0[1]), POOL_FMAX(r1[0], r1[1])));        \
        }                                                                                                \
    }

mcuf_status mcuf_maxpool2d_f32_2x2(const mcuf_maxpool2x2_params *p, const float *x, float *y)
{
    if (!p || !x || !y || p->C < 1 || p->H < 2 || p->W < 2 || p->act < 0 || p->act > 2) return MCUF_ERR_ARG;
    if (p->OH != p->H / 2 || p->OW != p->W / 2) return MCUF_ERR_SHAPE;
    const int C = p->C, H = p->H, W = p->W, OH = p->OH, OW = p->OW;
    const float lo = p->act == 1 ? 0.0f : p->act_lo, hi = p->act_hi;
#define POOL_NONE(v) (v)
#define POOL_LO(v) POOL_FMAX((v), lo)
#define POOL_CLIP(v) POOL_FMIN(POOL_FMAX((v), lo), hi)
    if (p->act == 0)
        MAXPOOL2X2_ROWS(POOL_NONE)
    else if (p->act == 1)
        MAXPOOL2X2_ROWS(POOL_LO)
    else
        MAXPOOL2X2_ROWS(POOL_CLIP)
#undef POOL_NONE
#undef POOL_LO
#undef POOL_CLIP
    return MCUF_OK;
}
