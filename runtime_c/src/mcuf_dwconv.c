/* mcuf_dwconv.c: portable C depthwise convolution, forward and both gradients (the reference for the
 * _zfh / _rvv backends), and the grouped FP32 / FP16 forward. One body per kernel, instantiated for
 * (element type, accumulator type) pairs: (f16, f16), (f16, float) and (float, float). */
#include "mcuf_dwconv.h"

mcuf_status mcuf_dwconv2d_check(const mcuf_dwconv2d_params *p)
{
    if (!p) return MCUF_ERR_ARG;
    if (p->C < 1 || p->H < 1 || p->W < 1 || p->OH < 1 || p->OW < 1 || p->kh < 1 || p->kw < 1 ||
        p->stride_h < 1 || p->stride_w < 1)
        return MCUF_ERR_ARG;
    if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0) return MCUF_ERR_ARG;
    if (p->acc != MCUF_ACC_F16 && p->acc != MCUF_ACC_F32) return MCUF_ERR_ARG;
    const int hp = p->H + p->pad_top + p->pad_bottom, wp = p->W + p->pad_left + p->pad_right;
    if (hp < p->kh || wp < p->kw) return MCUF_ERR_SHAPE;
    if (p->OH != (hp - p->kh) / p->stride_h + 1 || p->OW != (wp - p->kw) / p->stride_w + 1)
        return MCUF_ERR_SHAPE;
    return MCUF_OK;
}

/* The kernels are written as one "correlation of a plane" routine:
 *   dst[r, q] = init + sum_{a<kh, b<kw} wt[a, b] * src[r*sh + a - pt, q*sw + b - pl]   (src zero outside)
 * with init = bias (forward) or the previous dst (accumulating input gradient) or 0. The forward pass is
 * this routine on x; the stride-1 input gradient is the same routine on grad_y with the kernel flipped
 * (wt[a, b] = w[kh-1-a, kw-1-b]) and pads kh-1-pad_top, kw-1-pad_left. Terms are added in the order
 * init, a, b (ascending); the _rvv backend follows the same order so FP16 results agree bit for bit.
 * Every output takes one of two paths: a 3x3 window lying inside src runs fully unrolled with the nine
 * weights in registers; any other output iterates over the clipped window (no per-tap branches). */
#define DEFINE_DWCONV(T, S, SUF)                                                                       \
    static void corr_plane_##SUF(const T *restrict src, int SH, int SW, int sh, int sw, int pt, int pl,   \
                                 const T *restrict wc, int kh, int kw, int flip, int init_mode, T bias,   \
                                 T *restrict dst, int DH, int DW)                                       \
    {                                                                                                  \
        S w9[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};                                                         \
        const int is3 = kh == 3 && kw == 3;                                                            \
        if (is3)                                                                                       \
            for (int t = 0; t < 9; t++) w9[t] = (S)wc[flip ? 8 - t : t];                               \
        const S w0 = w9[0], w1 = w9[1], w2 = w9[2], w3 = w9[3], w4 = w9[4], w5 = w9[5], w6 = w9[6],      \
                w7 = w9[7], w8 = w9[8];                                                                \
        for (int r = 0; r < DH; r++) {                                                                 \
            const int top = r * sh - pt;                                                               \
            const int a0 = top < 0 ? -top : 0, a1 = SH - top < kh ? SH - top : kh;                      \
            const ptrdiff_t base = (ptrdiff_t)top * SW; /* may be < 0: only valid rows are read */     \
            T *drow = dst + (size_t)r * DW;                                                            \
            for (int q = 0; q < DW; q++) {                                                             \
                const int left = q * sw - pl;                                                          \
                S s = init_mode == 0 ? (S)bias : init_mode == 1 ? (S)drow[q] : (S)0;                    \
                if (is3 && a0 == 0 && a1 == 3 && left >= 0 && left + 3 <= SW) {                        \
                    const T *x0 = src + base + left, *x1 = x0 + SW, *x2 = x1 + SW;                     \
                    s = (S)(s + w0 * (S)x0[0]);                                                        \
                    s = (S)(s + w1 * (S)x0[1]);                                                        \
                    s = (S)(s + w2 * (S)x0[2]);                                                        \
                    s = (S)(s + w3 * (S)x1[0]);                                                        \
                    s = (S)(s + w4 * (S)x1[1]);                                                        \
                    s = (S)(s + w5 * (S)x1[2]);                                                        \
                    s = (S)(s + w6 * (S)x2[0]);                                                        \
                    s = (S)(s + w7 * (S)x2[1]);                                                        \
                    s = (S)(s + w8 * (S)x2[2]);                                                        \
                } else {                                                                               \
                    const int b0 = left < 0 ? -left : 0, b1 = SW - left < kw ? SW - left : kw;          \
                    for (int a = a0; a < a1; a++) {                                                    \
                        const ptrdiff_t xr = base + (ptrdiff_t)a * SW + left;                          \
                        for (int b = b0; b < b1; b++) {                                                \
                            const int t = a * kw + b;                                                  \
                            s = (S)(s + (S)wc[flip ? kh * kw - 1 - t : t] * (S)src[xr + b]);           \
                        }                                                                              \
                    }                                                                                  \
                }                                                                                      \
                drow[q] = (T)s;                                                                        \
            }                                                                                          \
        }                                                                                              \
    }                                                                                                  \
    static void fwd_##SUF(const mcuf_dwconv2d_params *p, const T *x, const T *w, const T *bias, T *y)  \
    {                                                                                                  \
        const mcuf_dwconv2d_params q = *p;                                                             \
        for (int c = 0; c < q.C; c++)                                                                  \
            corr_plane_##SUF(x + (size_t)c * q.H * q.W, q.H, q.W, q.stride_h, q.stride_w, q.pad_top,    \
                             q.pad_left, w + (size_t)c * q.kh * q.kw, q.kh, q.kw, 0, 0,                \
                             bias ? bias[c] : (T)0, y + (size_t)c * q.OH * q.OW, q.OH, q.OW);          \
    }                                                                                                  \
    static void gin_##SUF(const mcuf_dwconv2d_params *p, const T *gy, const T *w, T *gx)               \
    {                                                                                                  \
        const mcuf_dwconv2d_params q = *p;                                                             \
        const int H = q.H, W = q.W, OH = q.OH, OW = q.OW, kh = q.kh, kw = q.kw;                        \
        const int sh = q.stride_h, sw = q.stride_w;                                                    \
        if (sh == 1 && sw == 1) {                                                                      \
            for (int c = 0; c < q.C; c++)                                                              \
                corr_plane_##SUF(gy + (size_t)c * OH * OW, OH, OW, 1, 1, kh - 1 - q.pad_top,            \
                                 kw - 1 - q.pad_left, w + (size_t)c * kh * kw, kh, kw, 1,              \
                                 q.accumulate_grad ? 1 : 2, (T)0, gx + (size_t)c * H * W, H, W);       \
            return;                                                                                    \
        }                                                                                              \
        /* stride > 1: gather, same term order (kernel flipped: i, j descending) */                   \
        for (int c = 0; c < q.C; c++) {                                                                \
            const T *gyc = gy + (size_t)c * OH * OW;                                                   \
            const T *wc = w + (size_t)c * kh * kw;                                                     \
            T *gxc = gx + (size_t)c * H * W;                                                           \
            for (int ih = 0; ih < H; ih++) {                                                           \
                for (int iw = 0; iw < W; iw++) {                                                       \
                    S s = q.accumulate_grad ? (S)gxc[ih * W + iw] : (S)0;                              \
                    for (int i = kh - 1; i >= 0; i--) {                                                \
                        const int th = ih + q.pad_top - i; /* = oh * sh */                             \
                        if (th < 0 || th % sh != 0 || th / sh >= OH) continue;                         \
                        for (int j = kw - 1; j >= 0; j--) {                                            \
                            const int tw = iw + q.pad_left - j;                                        \
                            if (tw < 0 || tw % sw != 0 || tw / sw >= OW) continue;                     \
                            s = (S)(s + (S)wc[i * kw + j] * (S)gyc[(th / sh) * OW + tw / sw]);         \
                        }                                                                              \
                    }                                                                                  \
                    gxc[ih * W + iw] = (T)s;                                                           \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
    }                                                                                                  \
    /* Weight gradient: per weight, a dot product of grad_y with the shifted input over the output    \
     * rows/columns whose input position is inside the plane (ranges computed, no per-term branch). */ \
    static void gw_##SUF(const mcuf_dwconv2d_params *p, const T *restrict x, const T *restrict gy,      \
                         T *restrict gw, T *restrict gb)                                               \
    {                                                                                                  \
        const mcuf_dwconv2d_params q = *p;                                                             \
        const int H = q.H, W = q.W, OH = q.OH, OW = q.OW, kh = q.kh, kw = q.kw;                        \
        const int sh = q.stride_h, sw = q.stride_w;                                                    \
        for (int c = 0; c < q.C; c++) {                                                                \
            const T *xc = x + (size_t)c * H * W;                                                       \
            const T *gyc = gy + (size_t)c * OH * OW;                                                   \
            for (int i = 0; i < kh; i++) {                                                             \
                /* oh with 0 <= oh*sh + i - pad_top < H */                                             \
                const int ti = q.pad_top - i;                                                          \
                const int oh0 = ti <= 0 ? 0 : (ti + sh - 1) / sh;                                      \
                int oh1 = H - 1 + ti < 0 ? 0 : (H - 1 + ti) / sh + 1;                                  \
                oh1 = oh1 > OH ? OH : oh1;                                                             \
                for (int j = 0; j < kw; j++) {                                                         \
                    const int tj = q.pad_left - j;                                                     \
                    const int ow0 = tj <= 0 ? 0 : (tj + sw - 1) / sw;                                  \
                    int ow1 = W - 1 + tj < 0 ? 0 : (W - 1 + tj) / sw + 1;                              \
                    ow1 = ow1 > OW ? OW : ow1;                                                         \
                    T *dst = &gw[((size_t)c * kh + i) * kw + j];                                       \
                    S s = q.accumulate_grad ? (S)*dst : (S)0;                                          \
                    for (int oh = oh0; oh < oh1; oh++) {                                               \
                        const T *g = gyc + (size_t)oh * OW;                                            \
                        const T *xr = xc + (ptrdiff_t)(oh * sh - ti) * W + (ow0 * sw - tj);            \
                        for (int ow = ow0; ow < ow1; ow++) s = (S)(s + (S)g[ow] * (S)xr[(ow - ow0) * sw]); \
                    }                                                                                  \
                    *dst = (T)s;                                                                       \
                }                                                                                      \
            }                                                                                          \
            if (gb) {                                                                                  \
                S s = q.accumulate_grad ? (S)gb[c] : (S)0;                                             \
                for (int k = 0; k < OH * OW; k++) s = (S)(s + (S)gyc[k]);                              \
                gb[c] = (T)s;                                                                          \
            }                                                                                          \
        }                                                                                              \
    }

DEFINE_DWCONV(mcuf_f16, mcuf_f16, hh)
DEFINE_DWCONV(mcuf_f16, float, hf)
DEFINE_DWCONV(float, float, ff)

mcuf_status mcuf_dwconv2d_f16(const mcuf_dwconv2d_params *p, const mcuf_f16 *restrict x, const mcuf_f16 *restrict w,
                              const mcuf_f16 *restrict bias, mcuf_f16 *restrict y)
{
    mcuf_status st = mcuf_dwconv2d_check(p);
    if (st != MCUF_OK) return st;
    if (!x || !w || !y) return MCUF_ERR_ARG;
    if (p->acc == MCUF_ACC_F32)
        fwd_hf(p, x, w, bias, y);
    else
        fwd_hh(p, x, w, bias, y);
    return MCUF_OK;
}

mcuf_status mcuf_dwconv2d_f32(const mcuf_dwconv2d_params *p, const float *restrict x, const float *restrict w,
                              const float *restrict bias, float *restrict y)
{
    mcuf_status st = mcuf_dwconv2d_check(p);
    if (st != MCUF_OK) return st;
    if (!x || !w || !y) return MCUF_ERR_ARG;
    fwd_ff(p, x, w, bias, y);
    return MCUF_OK;
}

mcuf_status mcuf_dwconv2d_grad_input_f16(const mcuf_dwconv2d_params *p, const mcuf_f16 *restrict grad_y,
                                         const mcuf_f16 *restrict w, mcuf_f16 *restrict grad_x)
{
    mcuf_status st = mcuf_dwconv2d_check(p);
    if (st != MCUF_OK) return st;
    if (!grad_y || !w || !grad_x) return MCUF_ERR_ARG;
    if (p->acc == MCUF_ACC_F32)
        gin_hf(p, grad_y, w, grad_x);
    else
        gin_hh(p, grad_y, w, grad_x);
    return MCUF_OK;
}

mcuf_status mcuf_dwconv2d_grad_input_f32(const mcuf_dwconv2d_params *p, const float *restrict grad_y,
                                         const float *restrict w, float *restrict grad_x)
{
    mcuf_status st = mcuf_dwconv2d_check(p);
    if (st != MCUF_OK) return st;
    if (!grad_y || !w || !grad_x) return MCUF_ERR_ARG;
    gin_ff(p, grad_y, w, grad_x);
    return MCUF_OK;
}

mcuf_status mcuf_dwconv2d_grad_weight_f16(const mcuf_dwconv2d_params *p, const mcuf_f16 *restrict x,
                                          const mcuf_f16 *restrict grad_y, mcuf_f16 *restrict grad_w,
                                          mcuf_f16 *restrict grad_bias)
{
    mcuf_status st = mcuf_dwconv2d_check(p);
    if (st != MCUF_OK) return st;
    if (!x || !grad_y || !grad_w) return MCUF_ERR_ARG;
    if (p->acc == MCUF_ACC_F32)
        gw_hf(p, x, grad_y, grad_w, grad_bias);
    else
        gw_hh(p, x, grad_y, grad_w, grad_bias);
    return MCUF_OK;
}

mcuf_status mcuf_dwconv2d_grad_weight_f32(const mcuf_dwconv2d_params *p, const float *restrict x,
                                          const float *restrict grad_y, float *restrict grad_w,
                                          float *restrict grad_bias)
{
    mcuf_status st = mcuf_dwconv2d_check(p);
    if (st != MCUF_OK) return st;
    if (!x || !grad_y || !grad_w) return MCUF_ERR_ARG;
    gw_ff(p, x, grad_y, grad_w, grad_bias);
    return MCUF_OK;
}

/* ---------------------------------------------------------------------------------- grouped conv */

static int imax(int a, int b) { return a > b ? a : b; }
static int imin(int a, int b) { return a < b ? a : b; }

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
#define DEFINE_GCONV(NAME, T)                                                                          \
    mcuf_status NAME(const mcuf_gconv2d_params *p, const T *restrict in, const T *restrict w,            \
                     const T *restrict bias, T *restrict out)                                            \
    {                                                                                                  \
        mcuf_status st = gconv_check(p, in, w, out);                                                   \
        if (st != MCUF_OK) return st;                                                                  \
        const int H = p->H, W = p->W, kh = p->kh, kw = p->kw;                                          \
        const int cpg = p->C / p->group, opg = p->OC / p->group;                                       \
        for (int oc = 0; oc < p->OC; oc++) {                                                           \
            const T *in_g = in + (size_t)(oc / opg) * cpg * H * W;                                     \
            const T *wc = w + (size_t)oc * cpg * kh * kw;                                              \
            const float b = bias ? (float)bias[oc] : 0.0f;                                             \
            T *o = out + (size_t)oc * p->OH * p->OW;                                                   \
            for (int oh = 0; oh < p->OH; oh++) {                                                       \
                const int ih0 = oh * p->stride_h - p->pad_top;                                         \
                const int i0 = imax(-ih0, 0), i1 = imin(H - ih0, kh);                                  \
                for (int ow = 0; ow < p->OW; ow++) {                                                   \
                    const int iw0 = ow * p->stride_w - p->pad_left;                                    \
                    const int j0 = imax(-iw0, 0), j1 = imin(W - iw0, kw);                              \
                    float acc = b;                                                                     \
                    for (int ci = 0; ci < cpg; ci++) {                                                 \
                        const T *xc = in_g + (size_t)ci * H * W;                                       \
                        const T *wk = wc + (size_t)ci * kh * kw;                                       \
                        for (int i = i0; i < i1; i++) {                                                \
                            const T *xr = xc + (ih0 + i) * W + iw0 + j0; /* first tap inside */        \
                            const T *wr = wk + i * kw + j0;                                            \
                            for (int j = 0; j < j1 - j0; j++) acc += (float)xr[j] * (float)wr[j];      \
                        }                                                                              \
                    }                                                                                  \
                    o[oh * p->OW + ow] = (T)acc;                                                       \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
        return MCUF_OK;                                                                                \
    }

DEFINE_GCONV(mcuf_gconv2d_f32, float)
DEFINE_GCONV(mcuf_gconv2d_f16, mcuf_f16)
