/* mcuf_eltwise.c: portable FP32 / FP16 forward kernels (and dtype-agnostic copies). Semantics:
 * mcuf_eltwise.h. FP16 values are widened to float, computed on, and rounded once. */
#include <math.h>

#include "mcuf_eltwise.h"

/* ------------------------------------------------------------------------------------------ binary */

static mcuf_status binary_check(const mcuf_binary_params *p, const void *a, const void *b, const void *out)
{
    if (!p || !a || !b || !out) return MCUF_ERR_ARG;
    for (int k = 0; k < 4; k++)
        if (p->dims[k] < 1 || p->a_stride[k] < 0 || p->b_stride[k] < 0) return MCUF_ERR_ARG;
    return MCUF_OK;
}

/* The innermost dimension decides the loop: both inputs dense, b a scalar along it (bias-like
 * broadcast), a a scalar along it, or general strides. */
#define DEFINE_BINARY(NAME, T, EXPR)                                                                     \
    mcuf_status NAME(const mcuf_binary_params *p, const T *a, const T *b, T *out)                        \
    {                                                                                                    \
        mcuf_status st = binary_check(p, a, b, out);                                                     \
        if (st != MCUF_OK) return st;                                                                    \
        const int d0 = p->dims[0], d1 = p->dims[1], d2 = p->dims[2], d3 = p->dims[3];                    \
        const int as3 = p->a_stride[3], bs3 = p->b_stride[3];                                            \
        T *o = out;                                                                                      \
        for (int i0 = 0; i0 < d0; i0++)                                                                  \
            for (int i1 = 0; i1 < d1; i1++)                                                              \
                for (int i2 = 0; i2 < d2; i2++, o += d3) {                                               \
                    const T *pa = a + (size_t)i0 * p->a_stride[0] + (size_t)i1 * p->a_stride[1] +        \
                                  (size_t)i2 * p->a_stride[2];                                           \
                    const T *pb = b + (size_t)i0 * p->b_stride[0] + (size_t)i1 * p->b_stride[1] +        \
                                  (size_t)i2 * p->b_stride[2];                                           \
                    if (as3 == 1 && bs3 == 1) {                                                          \
                        for (int i = 0; i < d3; i++) {                                                   \
                            const float x = (float)pa[i], y = (float)pb[i];                              \
                            o[i] = (T)(EXPR);                                                            \
                        }                                                                                \
                    } else if (as3 == 1 && bs3 == 0) {                                                   \
                        const float y = (float)pb[0];                                                    \
                        for (int i = 0; i < d3; i++) {                                                   \
                            const float x = (float)pa[i];                                                \
                            o[i] = (T)(EXPR);                                                            \
                        }                                                                                \
                    } else if (as3 == 0 && bs3 == 1) {                                                   \
                        const float x = (float)pa[0];                                                    \
                        for (int i = 0; i < d3; i++) {                                                   \
                            const float y = (float)pb[i];                                                \
                            o[i] = (T)(EXPR);                                                            \
                        }                                                                                \
                    } else {                                                                             \
                        for (int i = 0; i < d3; i++) {                                                   \
                            const float x = (float)pa[(size_t)i * as3], y = (float)pb[(size_t)i * bs3];  \
                            o[i] = (T)(EXPR);                                                            \
                        }                                                                                \
                    }                                                                                    \
                }                                                                                        \
        return MCUF_OK;                                                                                  \
    }

DEFINE_BINARY(mcuf_add_f32, float, x + y)
DEFINE_BINARY(mcuf_sub_f32, float, x - y)
DEFINE_BINARY(mcuf_mul_f32, float, x * y)
DEFINE_BINARY(mcuf_div_f32, float, x / y)
DEFINE_BINARY(mcuf_add_f16, mcuf_f16, x + y)
DEFINE_BINARY(mcuf_sub_f16, mcuf_f16, x - y)
DEFINE_BINARY(mcuf_mul_f16, mcuf_f16, x * y)
DEFINE_BINARY(mcuf_div_f16, mcuf_f16, x / y)

/* ------------------------------------------------------------------------------------- activations */

static float sigmoid(float x)
{
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    const float e = expf(x); /* x < 0: no overflow, and 1 + e keeps the small result's precision */
    return e / (1.0f + e);
}

static float clampf(float v, float lo, float hi)
{
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* One loop per kind: the switch is outside the loop. */
#define DEFINE_ACT(NAME, T)                                                                              \
    mcuf_status NAME(const mcuf_act_params *p, int n, const T *in, T *out)                               \
    {                                                                                                    \
        if (!p || n < 0 || (n > 0 && (!in || !out))) return MCUF_ERR_ARG;                                \
        const float alpha = p->alpha, beta = p->beta, lo = p->lo, hi = p->hi;                            \
        switch (p->kind) {                                                                               \
        case MCUF_ACT_NONE:                                                                              \
            if (in != out)                                                                               \
                for (int i = 0; i < n; i++) out[i] = in[i];                                              \
            return MCUF_OK;                                                                              \
        case MCUF_ACT_RELU:                                                                              \
            for (int i = 0; i < n; i++) {                                                                \
                const float x = (float)in[i];                                                            \
                out[i] = x < 0.0f ? (T)0.0f : in[i];                                                     \
            }                                                                                            \
            return MCUF_OK;                                                                              \
        case MCUF_ACT_CLIP:                                                                              \
            for (int i = 0; i < n; i++) {                                                                \
                const float x = (float)in[i];                                                            \
                out[i] = x != x ? in[i] : (T)clampf(x, lo, hi);                                          \
            }                                                                                            \
            return MCUF_OK;                                                                              \
        case MCUF_ACT_LEAKY_RELU:                                                                        \
            for (int i = 0; i < n; i++) {                                                                \
                const float x = (float)in[i];                                                            \
                out[i] = x < 0.0f ? (T)(alpha * x) : in[i];                                              \
            }                                                                                            \
            return MCUF_OK;                                                                              \
        case MCUF_ACT_SIGMOID:                                                                           \
            for (int i = 0; i < n; i++) out[i] = (T)sigmoid((float)in[i]);                               \
            return MCUF_OK;                                                                              \
        case MCUF_ACT_HARD_SIGMOID:                                                                      \
            for (int i = 0; i < n; i++) {                                                                \
                const float x = (float)in[i];                                                            \
                out[i] = x != x ? in[i] : (T)clampf(alpha * x + beta, 0.0f, 1.0f);                       \
            }                                                                                            \
            return MCUF_OK;                                                                              \
        case MCUF_ACT_HARD_SWISH:                                                                        \
            for (int i = 0; i < n; i++) {                                                                \
                const float x = (float)in[i];                                                            \
                out[i] = x != x ? in[i] : (T)(x * clampf(x * (1.0f / 6.0f) + 0.5f, 0.0f, 1.0f));         \
            }                                                                                            \
            return MCUF_OK;                                                                              \
        }                                                                                                \
        return MCUF_ERR_ARG;                                                                             \
    }

DEFINE_ACT(mcuf_act_f32, float)
DEFINE_ACT(mcuf_act_f16, mcuf_f16)

/* ----------------------------------------------------------------------------------------- softmax */

mcuf_status mcuf_softmax_f32(const mcuf_softmax_params *p, const float *in, float *out)
{
    if (!p || !in || !out || p->outer < 1 || p->n < 1 || p->inner < 1) return MCUF_ERR_ARG;
    const int n = p->n, s = p->inner;
    for (int o = 0; o < p->outer; o++)
        for (int j = 0; j < s; j++) {
            const float *x = in + (size_t)o * n * s + j;
            float *y = out + (size_t)o * n * s + j;
            float m = x[0];
            for (int i = 1; i < n; i++) m = x[(size_t)i * s] > m ? x[(size_t)i * s] : m;
            float sum = 0.0f;
            for (int i = 0; i < n; i++) {
                const float e = expf(x[(size_t)i * s] - m);
                y[(size_t)i * s] = e; /* x is read before y is written: in place is fine */
                sum += e;
            }
            for (int i = 0; i < n; i++) y[(size_t)i * s] /= sum;
        }
    return MCUF_OK;
}

mcuf_status mcuf_softmax_f16(const mcuf_softmax_params *p, const mcuf_f16 *in, mcuf_f16 *out)
{
    if (!p || !in || !out || p->outer < 1 || p->n < 1 || p->inner < 1) return MCUF_ERR_ARG;
    const int n = p->n, s = p->inner;
    for (int o = 0; o < p->outer; o++)
        for (int j = 0; j < s; j++) {
            const mcuf_f16 *x = in + (size_t)o * n * s + j;
            mcuf_f16 *y = out + (size_t)o * n * s + j;
            float m = (float)x[0];
            for (int i = 1; i < n; i++) m = (float)x[(size_t)i * s] > m ? (float)x[(size_t)i * s] : m;
            float sum = 0.0f;
            for (int i = 0; i < n; i++) sum += expf((float)x[(size_t)i * s] - m);
            /* exp recomputed rather than stored in FP16: one rounding per output. */
            for (int i = 0; i < n; i++) y[(size_t)i * s] = (mcuf_f16)(expf((float)x[(size_t)i * s] - m) / sum);
        }
    return MCUF_OK;
}

/* ------------------------------------------------------------------------------------------- copies */

static mcuf_status copy4d_check(const mcuf_copy4d_params *p, const void *in, const void *out)
{
    if (!p || !in || !out) return MCUF_ERR_ARG;
    for (int k = 0; k < 4; k++)
        if (p->dims[k] < 1 || p->in_stride[k] < 0 || p->out_stride[k] < 0) return MCUF_ERR_ARG;
    return MCUF_OK;
}

#define DEFINE_COPY4D(NAME, T)                                                                           \
    mcuf_status NAME(const mcuf_copy4d_params *p, const T *in, T *out)                                   \
    {                                                                                                    \
        mcuf_status st = copy4d_check(p, in, out);                                                       \
        if (st != MCUF_OK) return st;                                                                    \
        const int d3 = p->dims[3], is3 = p->in_stride[3], os3 = p->out_stride[3];                        \
        for (int i0 = 0; i0 < p->dims[0]; i0++)                                                          \
            for (int i1 = 0; i1 < p->dims[1]; i1++)                                                      \
                for (int i2 = 0; i2 < p->dims[2]; i2++) {                                                \
                    const T *s = in + (size_t)i0 * p->in_stride[0] + (size_t)i1 * p->in_stride[1] +      \
                                 (size_t)i2 * p->in_stride[2];                                           \
                    T *d = out + (size_t)i0 * p->out_stride[0] + (size_t)i1 * p->out_stride[1] +         \
                           (size_t)i2 * p->out_stride[2];                                                \
                    if (is3 == 1 && os3 == 1) {                                                          \
                        for (int i = 0; i < d3; i++) d[i] = s[i];                                        \
                    } else {                                                                             \
                        for (int i = 0; i < d3; i++) d[(size_t)i * os3] = s[(size_t)i * is3];            \
                    }                                                                                    \
                }                                                                                        \
        return MCUF_OK;                                                                                  \
    }

DEFINE_COPY4D(mcuf_copy4d_s8, int8_t)
DEFINE_COPY4D(mcuf_copy4d_f16, mcuf_f16)
DEFINE_COPY4D(mcuf_copy4d_f32, float)

/* ---------------------------------------------------------------------------------------------- pad */

static mcuf_status pad_check(const mcuf_pad_params *p, const void *in, const void *out, int od[4])
{
    if (!p || !in || !out) return MCUF_ERR_ARG;
    for (int k = 0; k < 4; k++) {
        if (p->in_dims[k] < 1) return MCUF_ERR_ARG;
        od[k] = p->in_dims[k] + p->pad_begin[k] + p->pad_end[k];
        if (od[k] < 1) return MCUF_ERR_SHAPE;
    }
    return MCUF_OK;
}

/* Output rows (last dimension) are: `value` before and after the window [c0, c1) that copies input
 * columns from c0 - pad_begin[3]; rows whose outer indices fall outside the input are all `value`. */
#define DEFINE_PAD(NAME, T, VALUE_OK)                                                                    \
    mcuf_status NAME(const mcuf_pad_params *p, const T *in, T *out)                                      \
    {                                                                                                    \
        int od[4];                                                                                       \
        mcuf_status st = pad_check(p, in, out, od);                                                      \
        if (st != MCUF_OK) return st;                                                                    \
        if (!(VALUE_OK)) return MCUF_ERR_ARG;                                                            \
        const T v = (T)p->value;                                                                         \
        const int *id = p->in_dims, *b = p->pad_begin;                                                   \
        int c0 = b[3] > 0 ? b[3] : 0, c1 = id[3] + b[3] < od[3] ? id[3] + b[3] : od[3];                  \
        if (c1 < c0) c1 = c0;                                                                            \
        T *o = out;                                                                                      \
        for (int i0 = 0; i0 < od[0]; i0++)                                                               \
            for (int i1 = 0; i1 < od[1]; i1++)                                                           \
                for (int i2 = 0; i2 < od[2]; i2++, o += od[3]) {                                         \
                    const int j0 = i0 - b[0], j1 = i1 - b[1], j2 = i2 - b[2];                            \
                    if (j0 < 0 || j0 >= id[0] || j1 < 0 || j1 >= id[1] || j2 < 0 || j2 >= id[2]) {       \
                        for (int i = 0; i < od[3]; i++) o[i] = v;                                        \
                        continue;                                                                        \
                    }                                                                                    \
                    const T *s = in + (((size_t)j0 * id[1] + j1) * id[2] + j2) * id[3];                  \
                    for (int i = 0; i < c0; i++) o[i] = v;                                               \
                    for (int i = c0; i < c1; i++) o[i] = s[i - b[3]];                                    \
                    for (int i = c1; i < od[3]; i++) o[i] = v;                                           \
                }                                                                                        \
        return MCUF_OK;                                                                                  \
    }

DEFINE_PAD(mcuf_pad_s8, int8_t, p->value >= -128.0f && p->value <= 127.0f && p->value == (float)(int)p->value)
DEFINE_PAD(mcuf_pad_f16, mcuf_f16, 1)
DEFINE_PAD(mcuf_pad_f32, float, 1)

/* -------------------------------------------------------------------------------------------- pools */

static mcuf_status pool_check(const mcuf_pool2d_fwd_params *p, const void *in, const void *out)
{
    if (!p || !in || !out) return MCUF_ERR_ARG;
    if (p->C < 1 || p->H < 1 || p->W < 1 || p->OH < 1 || p->OW < 1 || p->kh < 1 || p->kw < 1 ||
        p->stride_h < 1 || p->stride_w < 1)
        return MCUF_ERR_ARG;
    if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0) return MCUF_ERR_ARG;
    /* Every window must overlap the input: the first and the last are the extreme ones. */
    if (p->pad_top >= p->kh || p->pad_left >= p->kw) return MCUF_ERR_SHAPE;
    if ((p->OH - 1) * p->stride_h - p->pad_top >= p->H || (p->OW - 1) * p->stride_w - p->pad_left >= p->W)
        return MCUF_ERR_SHAPE;
    return MCUF_OK;
}

static int imax(int a, int b) { return a > b ? a : b; }
static int imin(int a, int b) { return a < b ? a : b; }

/* The CNN workhorse, 2x2 windows at stride 2 entirely inside the input: no clamping, two row
 * pointers, fmax for the maximum (one instruction on RISC-V F/Zfh) and one NaN test per window so a
 * NaN still wins, as in the general loop. 5x fewer instructions than the general path. */
static int pool_is_2x2s2_inside(const mcuf_pool2d_fwd_params *p)
{
    return p->kh == 2 && p->kw == 2 && p->stride_h == 2 && p->stride_w == 2 && p->pad_top == 0 &&
           p->pad_left == 0 && 2 * p->OH <= p->H && 2 * p->OW <= p->W;
}

#define DEFINE_POOLS(SUF, T)                                                                             \
    static void maxpool_2x2s2_##SUF(const mcuf_pool2d_fwd_params *p, const T *in, T *out)               \
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
    static void avgpool_2x2s2_##SUF(const mcuf_pool2d_fwd_params *p, const T *in, T *out)               \
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
    mcuf_status mcuf_maxpool2d_fwd_##SUF(const mcuf_pool2d_fwd_params *p, const T *in, T *out)           \
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
    mcuf_status mcuf_avgpool2d_fwd_##SUF(const mcuf_pool2d_fwd_params *p, const T *in, T *out)           \
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

/* ---------------------------------------------------------------------------------- grouped conv */

static mcuf_status gconv_check(const mcuf_gconv2d_params *p, const void *in, const void *w, const void *out)
{
    if (!p || !in || !w || !out) return MCUF_ERR_ARG;
    if (p->C < 1 || p->H < 1 || p->W < 1 || p->OC < 1 || p->OH < 1 || p->OW < 1 || p->kh < 1 || p->kw < 1 ||
        p->stride_h < 1 || p->stride_w < 1 || p->group < 1)
        return MCUF_ERR_ARG;
    if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0) return MCUF_ERR_ARG;
    if (p->C % p->group != 0 || p->OC % p->group != 0) return MCUF_ERR_SHAPE;
    const int hp = p->H + p->pad_top + p->pad_bottom, wp = p->W + p->pad_left + p->pad_right;
    if (hp < p->kh || wp < p->kw) return MCUF_ERR_SHAPE;
    if (p->OH != (hp - p->kh) / p->stride_h + 1 || p->OW != (wp - p->kw) / p->stride_w + 1) return MCUF_ERR_SHAPE;
    return MCUF_OK;
}

/* Per output: the clipped kernel row/column ranges, then a plain FP32 sum (no per-tap test). */
#define DEFINE_GCONV(NAME, T)                                                                            \
    mcuf_status NAME(const mcuf_gconv2d_params *p, const T *in, const T *w, const T *bias, T *out)       \
    {                                                                                                    \
        mcuf_status st = gconv_check(p, in, w, out);                                                     \
        if (st != MCUF_OK) return st;                                                                    \
        const int H = p->H, W = p->W, kh = p->kh, kw = p->kw;                                            \
        const int cpg = p->C / p->group, opg = p->OC / p->group;                                         \
        for (int oc = 0; oc < p->OC; oc++) {                                                             \
            const T *in_g = in + (size_t)(oc / opg) * cpg * H * W;                                       \
            const T *wc = w + (size_t)oc * cpg * kh * kw;                                                \
            const float b = bias ? (float)bias[oc] : 0.0f;                                               \
            T *o = out + (size_t)oc * p->OH * p->OW;                                                     \
            for (int oh = 0; oh < p->OH; oh++) {                                                         \
                const int ih0 = oh * p->stride_h - p->pad_top;                                           \
                const int i0 = imax(-ih0, 0), i1 = imin(H - ih0, kh);                                    \
                for (int ow = 0; ow < p->OW; ow++) {                                                     \
                    const int iw0 = ow * p->stride_w - p->pad_left;                                      \
                    const int j0 = imax(-iw0, 0), j1 = imin(W - iw0, kw);                                \
                    float acc = b;                                                                       \
                    for (int ci = 0; ci < cpg; ci++) {                                                   \
                        const T *xc = in_g + (size_t)ci * H * W;                                         \
                        const T *wk = wc + (size_t)ci * kh * kw;                                         \
                        for (int i = i0; i < i1; i++) {                                                  \
                            const T *xr = xc + (ih0 + i) * W + iw0 + j0; /* first tap inside */          \
                            const T *wr = wk + i * kw + j0;                                              \
                            for (int j = 0; j < j1 - j0; j++) acc += (float)xr[j] * (float)wr[j];        \
                        }                                                                                \
                    }                                                                                    \
                    o[oh * p->OW + ow] = (T)acc;                                                         \
                }                                                                                        \
            }                                                                                            \
        }                                                                                                \
        return MCUF_OK;                                                                                  \
    }

DEFINE_GCONV(mcuf_gconv2d_f32, float)
DEFINE_GCONV(mcuf_gconv2d_f16, mcuf_f16)
