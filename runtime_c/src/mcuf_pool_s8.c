/* mcuf_pool_s8.c: int8 max / average / global average pooling. Semantics: mcuf_pool.h. */
#include "mcuf_pool.h"
#include "mcuf_requant.h"

static int zp_ok(int32_t zp) { return zp >= -128 && zp <= 127; }

static int8_t clamp_s8(int64_t v, int32_t lo, int32_t hi)
{
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

static mcuf_status pool_check(const mcuf_pool2d_s8_params *p, const int8_t *in, const int8_t *out)
{
    if (!p || !in || !out) return MCUF_ERR_ARG;
    if (p->C < 1 || p->H < 1 || p->W < 1 || p->OH < 1 || p->OW < 1 || p->kh < 1 || p->kw < 1 ||
        p->stride_h < 1 || p->stride_w < 1)
        return MCUF_ERR_ARG;
    if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0) return MCUF_ERR_ARG;
    if (p->act_min > p->act_max) return MCUF_ERR_ARG;
    /* Every window must overlap the input: the first and the last one are the extreme cases. */
    if (p->pad_top >= p->kh || p->pad_left >= p->kw) return MCUF_ERR_SHAPE;
    if ((p->OH - 1) * p->stride_h - p->pad_top >= p->H || (p->OW - 1) * p->stride_w - p->pad_left >= p->W)
        return MCUF_ERR_SHAPE;
    return MCUF_OK;
}

static int imax(int a, int b) { return a > b ? a : b; }
static int imin(int a, int b) { return a < b ? a : b; }

mcuf_status mcuf_maxpool2d_s8(const mcuf_pool2d_s8_params *p, const int8_t *restrict in, int8_t *restrict out)
{
    mcuf_status st = pool_check(p, in, out);
    if (st != MCUF_OK) return st;
    const int H = p->H, W = p->W;
    for (int c = 0; c < p->C; c++) {
        const int8_t *x = in + (size_t)c * H * W;
        int8_t *o = out + (size_t)c * p->OH * p->OW;
        for (int oh = 0; oh < p->OH; oh++) {
            const int a = oh * p->stride_h - p->pad_top, h0 = imax(a, 0), h1 = imin(a + p->kh, H);
            for (int ow = 0; ow < p->OW; ow++) {
                const int b = ow * p->stride_w - p->pad_left, w0 = imax(b, 0), w1 = imin(b + p->kw, W);
                int32_t m = -128;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++) m = x[h * W + w] > m ? x[h * W + w] : m;
                o[oh * p->OW + ow] = clamp_s8(m, p->act_min, p->act_max);
            }
        }
    }
    return MCUF_OK;
}

mcuf_status mcuf_avgpool2d_s8(const mcuf_pool2d_s8_params *p, const int8_t *restrict in, int8_t *restrict out)
{
    mcuf_status st = pool_check(p, in, out);
    if (st != MCUF_OK) return st;
    if (!p->multiplier || !p->shift || !zp_ok(p->in_zp) || !zp_ok(p->out_zp)) return MCUF_ERR_ARG;
    if (p->count_include_pad > 2) return MCUF_ERR_ARG;
    const int H = p->H, W = p->W, wp_end = W + p->pad_right;
    for (int c = 0; c < p->C; c++) {
        const int8_t *x = in + (size_t)c * H * W;
        int8_t *o = out + (size_t)c * p->OH * p->OW;
        for (int oh = 0; oh < p->OH; oh++) {
            const int a = oh * p->stride_h - p->pad_top, h0 = imax(a, 0), h1 = imin(a + p->kh, H);
            const int ph = imin(a + p->kh, H + p->pad_bottom) - a; /* window rows inside the padded input */
            for (int ow = 0; ow < p->OW; ow++) {
                const int b = ow * p->stride_w - p->pad_left, w0 = imax(b, 0), w1 = imin(b + p->kw, W);
                int32_t sum = 0;
                for (int h = h0; h < h1; h++)
                    for (int w = w0; w < w1; w++) sum += x[h * W + w];
                const int n = (h1 - h0) * (w1 - w0);
                sum -= n * p->in_zp;
                const int d = p->count_include_pad == 0   ? n
                              : p->count_include_pad == 1 ? ph * (imin(b + p->kw, wp_end) - b)
                                                          : p->kh * p->kw;
                o[oh * p->OW + ow] =
                    mcuf_requant_s8(sum, p->multiplier[d - 1], p->shift[d - 1], p->out_zp, p->act_min, p->act_max);
            }
        }
    }
    return MCUF_OK;
}

mcuf_status mcuf_global_avgpool_s8(const mcuf_global_avgpool_s8_params *p, const int8_t *restrict in,
                                   int8_t *restrict out)
{
    if (!p || !in || !out) return MCUF_ERR_ARG;
    if (p->C < 1 || p->HW < 1 || p->HW > (1 << 23)) return MCUF_ERR_ARG;
    if (!zp_ok(p->in_zp) || !zp_ok(p->out_zp) || p->act_min > p->act_max) return MCUF_ERR_ARG;
    for (int c = 0; c < p->C; c++) {
        const int8_t *x = in + (size_t)c * p->HW;
        int32_t sum = 0;
        for (int i = 0; i < p->HW; i++) sum += x[i];
        sum -= p->HW * p->in_zp;
        out[c] = mcuf_requant_s8(sum, p->multiplier, p->shift, p->out_zp, p->act_min, p->act_max);
    }
    return MCUF_OK;
}
