/* mcuf_pool.c: portable C max / average pooling (forward: the general loop and the 2x2 stride-2 fast
 * path; backward), global average pooling, and the fused-activation 2x2 FP32 max pool. Semantics:
 * mcuf_pool.h. */
#include "mcuf_pool.h"

/* The params every pooling kernel checks (mcuf_pool.h): dimensions, and every window overlapping the
 * input (the first and the last are the extreme ones). */
#define POOL_PARAMS_CHECK(p)                                                                             \
    do {                                                                                                 \
        if ((p)->C < 1 || (p)->H < 1 || (p)->W < 1 || (p)->OH < 1 || (p)->OW < 1 || (p)->kh < 1 ||       \
            (p)->kw < 1 || (p)->stride_h < 1 || (p)->stride_w < 1)                                       \
            return MCUF_ERR_ARG;                                                                         \
        if ((p)->pad_top < 0 || (p)->pad_left < 0 || (p)->pad_bottom < 0 || (p)->pad_right < 0)          \
            return MCUF_ERR_ARG;                                                                         \
        if ((p)->pad_top >= (p)->kh || (p)->pad_left >= (p)->kw) return MCUF_ERR_SHAPE;                  \
        if (((p)->OH - 1) * (p)->stride_h - (p)->pad_top >= (p)->H ||                                    \
            ((p)->OW - 1) * (p)->stride_w - (p)->pad_left >= (p)->W)                                     \
            return MCUF_ERR_SHAPE;                                                                       \
    } while (0)

/* The forward kernels' check: in / out are the input and output tensors. */
static mcuf_status pool_check(const mcuf_pool2d_params *p, const void *in, const void *out)
{
    if (!p || !in || !out) return MCUF_ERR_ARG;
    POOL_PARAMS_CHECK(p);
    return MCUF_OK;
}

/* The backward kernels' check of the params alone (they check their pointers after it). Out of line:
 * inlined into the backward kernels, it costs their loops registers (clang-19, rv32). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static mcuf_status pool_params_check(const mcuf_pool2d_params *p)
{
    if (!p) return MCUF_ERR_ARG;
    POOL_PARAMS_CHECK(p);
    return MCUF_OK;
}

static int imax(int a, int b) { return a > b ? a : b; }
static int imin(int a, int b) { return a < b ? a : b; }

/* The CNN workhorse, 2x2 windows at stride 2 entirely inside the input: no clamping, two row
 * pointers, fmax for the maximum (one instruction on RISC-V F/Zfh) and one NaN test per window so a
 * NaN still wins, as in the general loop. 5x fewer instructions than the general path. */
static int pool_is_2x2s2_inside(const mcuf_pool2d_params *p)
{
    return p->kh == 2 && p->kw == 2 && p->stride_h == 2 && p->stride_w == 2 && p->pad_top == 0 &&
           p->pad_left == 0 && 2 * p->OH <= p->H && 2 * p->OW <= p->W;
}

#define DEFINE_POOLS(SUF, T)                                                                             \
    static void maxpool_2x2s2_##SUF(const mcuf_pool2d_params *p, const T *in, T *out)                    \
    {                                                                                                    \
        const int H = p->H, W = p->W, OH = p->OH, OW = p->OW;                                            \
        for (int c = 0; c < p->C; c++) {                                                                 \
            for (int oh = 0; oh < OH; oh++) {                                                            \
                const T *r0 = in + ((size_t)c * H + 2 * oh) * W, *r1 = r0 + W;                           \
                T *o = out + ((size_t)c * OH + oh) * OW;                                                 \
                for (int ow = 0; ow < OW; ow++, r0 += 2, r1 += 2) {                                      \
                    const T a = r0[0], b = r0[1], d = r1[0], e = r1[1];                                  \
                    T m = (T)__builtin_fmaxf(__builtin_fmaxf((float)a, (float)b),                        \
                                             __builtin_fmaxf((float)d, (float)e));                       \
                    if ((a != a) | (b != b) | (d != d) | (e != e))                                       \
                        m = (T)(a + b + d + e);                                                          \
                    o[ow] = m;                                                                           \
                }                                                                                        \
            }                                                                                            \
        }                                                                                                \
    }                                                                                                    \
    static void avgpool_2x2s2_##SUF(const mcuf_pool2d_params *p, const T *in, T *out)                    \
    {                                                                                                    \
        const int H = p->H, W = p->W, OH = p->OH, OW = p->OW;                                            \
        for (int c = 0; c < p->C; c++) {                                                                 \
            for (int oh = 0; oh < OH; oh++) {                                                            \
                const T *r0 = in + ((size_t)c * H + 2 * oh) * W, *r1 = r0 + W;                           \
                T *o = out + ((size_t)c * OH + oh) * OW;                                                 \
                for (int ow = 0; ow < OW; ow++, r0 += 2, r1 += 2)                                        \
                    o[ow] = (T)((((float)r0[0] + (float)r0[1]) + ((float)r1[0] + (float)r1[1])) * 0.25f); \
            }                                                                                            \
        }                                                                                                \
    }                                                                                                    \
    mcuf_status mcuf_maxpool2d_##SUF(const mcuf_pool2d_params *p, const T *restrict in, T *restrict out) \
    {                                                                                                    \
        mcuf_status st = pool_check(p, in, out);                                                         \
        if (st != MCUF_OK) return st;                                                                    \
        if (pool_is_2x2s2_inside(p)) {                                                                   \
            maxpool_2x2s2_##SUF(p, in, out);                                                             \
            return MCUF_OK;                                                                              \
        }                                                                                                \
        const int H = p->H, W = p->W;                                                                    \
        for (int c = 0; c < p->C; c++) {                                                                 \
            const T *x = in + (size_t)c * H * W;                                                         \
            T *o = out + (size_t)c * p->OH * p->OW;                                                      \
            for (int oh = 0; oh < p->OH; oh++) {                                                         \
                const int a = oh * p->stride_h - p->pad_top, h0 = imax(a, 0), h1 = imin(a + p->kh, H);   \
                for (int ow = 0; ow < p->OW; ow++) {                                                     \
                    const int b = ow * p->stride_w - p->pad_left, w0 = imax(b, 0);                       \
                    const int w1 = imin(b + p->kw, W);                                                   \
                    float m = (float)x[h0 * W + w0];                                                     \
                    for (int h = h0; h < h1; h++)                                                        \
                        for (int w = w0; w < w1; w++) {                                                  \
                            const float v = (float)x[h * W + w];                                         \
                            if (v > m || v != v) m = v;                                                  \
                            if (m != m) goto done_##SUF;                                                 \
                        }                                                                                \
                done_##SUF:                                                                              \
                    o[oh * p->OW + ow] = (T)m;                                                           \
                }                                                                                        \
            }                                                                                            \
        }                                                                                                \
        return MCUF_OK;                                                                                  \
    }                                                                                                    \
    /* No restrict in this definition (the prototype has it, the contract): with it clang-19's build     \
     * retires 1,240 instructions more on the DS-CNN average pool (rv32). */                             \
    mcuf_status mcuf_avgpool2d_##SUF(const mcuf_pool2d_params *p, const T *in, T *out)                   \
    {                                                                                                    \
        mcuf_status st = pool_check(p, in, out);                                                         \
        if (st != MCUF_OK) return st;                                                                    \
        if (p->count_include_pad > 2) return MCUF_ERR_ARG;                                               \
        if (pool_is_2x2s2_inside(p)) { /* every window has 4 cells whatever count_include_pad says */    \
            avgpool_2x2s2_##SUF(p, in, out);                                                             \
            return MCUF_OK;                                                                              \
        }                                                                                                \
        const int H = p->H, W = p->W;                                                                    \
        for (int c = 0; c < p->C; c++) {                                                                 \
            const T *x = in + (size_t)c * H * W;                                                         \
            T *o = out + (size_t)c * p->OH * p->OW;                                                      \
            for (int oh = 0; oh < p->OH; oh++) {                                                         \
                const int a = oh * p->stride_h - p->pad_top, h0 = imax(a, 0), h1 = imin(a + p->kh, H);   \
                for (int ow = 0; ow < p->OW; ow++) {                                                     \
                    const int b = ow * p->stride_w - p->pad_left, w0 = imax(b, 0);                       \
                    const int w1 = imin(b + p->kw, W);                                                   \
                    float sum = 0.0f;                                                                    \
                    for (int h = h0; h < h1; h++)                                                        \
                        for (int w = w0; w < w1; w++) sum += (float)x[h * W + w];                        \
                    const int ph = imin(a + p->kh, H + p->pad_bottom) - a;                               \
                    const int pw = imin(b + p->kw, W + p->pad_right) - b;                                \
                    const int d = p->count_include_pad == 0   ? (h1 - h0) * (w1 - w0)                    \
                                  : p->count_include_pad == 1 ? ph * pw                                  \
                                                              : p->kh * p->kw;                           \
                    o[oh * p->OW + ow] = (T)(sum / (float)d);                                            \
                }                                                                                        \
            }                                                                                            \
        }                                                                                                \
        return MCUF_OK;                                                                                  \
    }


DEFINE_POOLS(f32, float)
DEFINE_POOLS(f16, mcuf_f16)

/* Window of output (oh, ow) clipped to the input: rows [*h0, *h1), columns [*w0, *w1). */
static void window(const mcuf_pool2d_params *p, int oh, int ow, int *h0, int *h1, int *w0, int *w1)
{
    int a = oh * p->stride_h - p->pad_top, b = ow * p->stride_w - p->pad_left;
    *h0 = a < 0 ? 0 : a;
    *h1 = a + p->kh > p->H ? p->H : a + p->kh;
    *w0 = b < 0 ? 0 : b;
    *w1 = b + p->kw > p->W ? p->W : b + p->kw;
}

/* The average pool divisor of output (oh, ow) whose clipped window is [h0, h1) x [w0, w1), per
 * count_include_pad (mcuf_pool.h). */
#if defined(__GNUC__)
#define POOL_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define POOL_ALWAYS_INLINE inline
#endif

/* cip: p->count_include_pad, a constant where the backward kernel is instantiated per mode. */
static POOL_ALWAYS_INLINE float divisor(const mcuf_pool2d_params *p, int cip, int oh, int ow, int h0, int h1,
                                        int w0, int w1)
{
    if (cip == 0) return (float)((h1 - h0) * (w1 - w0));
    if (cip == 2) return (float)(p->kh * p->kw);
    const int a = oh * p->stride_h - p->pad_top, b = ow * p->stride_w - p->pad_left;
    return (float)((imin(a + p->kh, p->H + p->pad_bottom) - a) * (imin(b + p->kw, p->W + p->pad_right) - b));
}

#define DEFINE_POOL_GRADS(T, SUF)                                                                        \
    /* Index (within the channel plane) of the first maximum of the window; NaN counts as maximal. */    \
    static int argmax_##SUF(const mcuf_pool2d_params *p, const T *xc, int oh, int ow)                    \
    {                                                                                                    \
        int h0, h1, w0, w1;                                                                              \
        window(p, oh, ow, &h0, &h1, &w0, &w1);                                                           \
        const int W = p->W;                                                                              \
        int best = h0 * W + w0;                                                                          \
        T m = xc[best];                                                                                  \
        if (m != m) return best; /* NaN: the maximum */                                                  \
        for (int h = h0; h < h1; h++) {                                                                  \
            const T *row = xc + h * W;                                                                   \
            for (int w = w0; w < w1; w++) {                                                              \
                const T v = row[w];                                                                      \
                if (!(v <= m)) { /* v > m, or v is NaN */                                                \
                    best = h * W + w;                                                                    \
                    if (v != v) return best;                                                             \
                    m = v;                                                                               \
                }                                                                                        \
            }                                                                                            \
        }                                                                                                \
        return best;                                                                                     \
    }                                                                                                    \
    mcuf_status mcuf_maxpool2d_grad_##SUF(const mcuf_pool2d_params *p, const T *restrict x,              \
                                          const T *restrict grad_y, T *restrict grad_x)                  \
    {                                                                                                    \
        mcuf_status st = pool_params_check(p);                                                           \
        if (st != MCUF_OK) return st;                                                                    \
        if (!x || !grad_y || !grad_x) return MCUF_ERR_ARG;                                               \
        const mcuf_pool2d_params q_ = *p;                                                                \
        p = &q_;                                                                                         \
        for (int c = 0; c < p->C; c++) {                                                                 \
            const T *xc = x + (size_t)c * p->H * p->W;                                                   \
            const T *gyc = grad_y + (size_t)c * p->OH * p->OW;                                           \
            T *gxc = grad_x + (size_t)c * p->H * p->W;                                                   \
            for (int k = 0; k < p->H * p->W; k++) gxc[k] = (T)0;                                         \
            for (int oh = 0; oh < p->OH; oh++)                                                           \
                for (int ow = 0; ow < p->OW; ow++) {                                                     \
                    const int a = argmax_##SUF(p, xc, oh, ow);                                           \
                    gxc[a] = (T)(gxc[a] + gyc[oh * p->OW + ow]);                                         \
                }                                                                                        \
        }                                                                                                \
        return MCUF_OK;                                                                                  \
    }                                                                                                    \
    /* One instance per count_include_pad mode (cip constant): no mode test per window. */               \
    static POOL_ALWAYS_INLINE void avgpool2d_grad_##SUF(const mcuf_pool2d_params *p, int cip, const T *grad_y, \
                                                       T *grad_x)                                        \
    {                                                                                                    \
        for (int c = 0; c < p->C; c++) {                                                                 \
            const T *gyc = grad_y + (size_t)c * p->OH * p->OW;                                           \
            T *gxc = grad_x + (size_t)c * p->H * p->W;                                                   \
            for (int k = 0; k < p->H * p->W; k++) gxc[k] = (T)0;                                         \
            for (int oh = 0; oh < p->OH; oh++)                                                           \
                for (int ow = 0; ow < p->OW; ow++) {                                                     \
                    int h0, h1, w0, w1;                                                                  \
                    window(p, oh, ow, &h0, &h1, &w0, &w1);                                               \
                    const T g = (T)((float)gyc[oh * p->OW + ow] / divisor(p, cip, oh, ow, h0, h1, w0, w1)); \
                    for (int h = h0; h < h1; h++)                                                        \
                        for (int w = w0; w < w1; w++) gxc[h * p->W + w] = (T)(gxc[h * p->W + w] + g);    \
                }                                                                                        \
        }                                                                                                \
    }                                                                                                    \
    mcuf_status mcuf_avgpool2d_grad_##SUF(const mcuf_pool2d_params *p, const T *restrict grad_y,         \
                                          T *restrict grad_x)                                            \
    {                                                                                                    \
        mcuf_status st = pool_params_check(p);                                                           \
        if (st != MCUF_OK) return st;                                                                    \
        if (!grad_y || !grad_x || p->count_include_pad > 2) return MCUF_ERR_ARG;                         \
        const mcuf_pool2d_params q_ = *p;                                                                \
        if (q_.count_include_pad == 0) avgpool2d_grad_##SUF(&q_, 0, grad_y, grad_x);                     \
        else if (q_.count_include_pad == 1) avgpool2d_grad_##SUF(&q_, 1, grad_y, grad_x);                \
        else avgpool2d_grad_##SUF(&q_, 2, grad_y, grad_x);                                               \
        return MCUF_OK;                                                                                  \
    }                                                                                                    \
    mcuf_status mcuf_global_avgpool_grad_##SUF(const mcuf_global_avgpool_params *p,                      \
                                               const T *restrict grad_y, T *restrict grad_x)             \
    {                                                                                                    \
        if (!p || !grad_y || !grad_x || p->C < 1 || p->HW < 1) return MCUF_ERR_ARG;                      \
        const int C = p->C, HW = p->HW; /* locals: stores through grad_x cannot alias them */            \
        for (int c = 0; c < C; c++) {                                                                    \
            const T g = (T)((float)grad_y[c] / (float)HW);                                               \
            T *d = grad_x + (size_t)c * HW;                                                              \
            for (int k = 0; k < HW; k++) d[k] = g;                                                       \
        }                                                                                                \
        return MCUF_OK;                                                                                  \
    }

DEFINE_POOL_GRADS(mcuf_f16, f16)
DEFINE_POOL_GRADS(float, f32)

mcuf_status mcuf_global_avgpool_f16(const mcuf_global_avgpool_params *p, const mcuf_f16 *restrict x,
                                    mcuf_f16 *restrict y)
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

mcuf_status mcuf_global_avgpool_f32(const mcuf_global_avgpool_params *p, const float *restrict x, float *restrict y)
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

mcuf_status mcuf_maxpool2d_f32_2x2(const mcuf_maxpool2d_2x2_params *p, const float *restrict x, float *restrict y)
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
