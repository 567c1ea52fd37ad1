/* mcuf_conv_s8.c: int8 convolution, group 1 (im2col of 4 output pixels + a register-blocked GEMM),
 * with 8, 4 or 2-bit weights. Semantics and layouts: mcuf_conv.h. */
#include "mcuf_conv.h"
#include "mcuf_requant.h"
#include "mcuf_s8_common.h"

#define OCB 4 /* output channels per register block (the packed weight layout interleaves 4) */
#define PXB 4 /* output pixels per register block / im2col chunk */
#define ROW_TMP 64 /* bytes of the stack row buffer of the im2col row path */

static int is_direct_1x1(const mcuf_conv2d_s8_params *p)
{
    return p->kh == 1 && p->kw == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 &&
           p->pad_left == 0 && p->pad_bottom == 0 && p->pad_right == 0;
}

size_t mcuf_conv2d_s8_scratch_size(const mcuf_conv2d_s8_params *p)
{
    if (!p || p->C < 1 || p->kh < 1 || p->kw < 1) return 0;
    if (is_direct_1x1(p)) return 0;
    return (size_t)PXB * (size_t)p->C * (size_t)p->kh * (size_t)p->kw;
}

size_t mcuf_conv2d_s8_weight_size(const mcuf_conv2d_s8_params *p)
{
    if (!p || p->C < 1 || p->OC < 1 || p->kh < 1 || p->kw < 1) return 0;
    return (size_t)OCB * (size_t)((p->OC + OCB - 1) / OCB) * (size_t)p->C * (size_t)p->kh * (size_t)p->kw;
}

/* Im2col of the PXB output pixels starting at flat index p0 (np of them valid) into
 * col[K][PXB]: col[k*PXB + t] = input value under tap k of pixel t, in_zp outside the input (and for
 * the invalid pixels t >= np, so the GEMM reads defined values). */
static void im2col_chunk(const mcuf_conv2d_s8_params *p, const int8_t *in, int p0, int np, int8_t *col)
{
    const int8_t zp = (int8_t)p->in_zp;
    const int H = p->H, W = p->W, kh = p->kh, kw = p->kw, sw = p->stride_w;
    int oh = p0 / p->OW, ow = p0 - oh * p->OW;
    const int iw0 = ow * sw - p->pad_left, ih0 = oh * p->stride_h - p->pad_top;
    const int span = (PXB - 1) * sw + kw; /* input columns under the 4 pixels' windows */
    if (np == PXB && ow + PXB <= p->OW && span <= ROW_TMP) {
        /* Row path: 4 pixels of one output row. 4 loads + 4 stores per tap; only whole kernel rows
         * can fall into the vertical padding. A window row that sticks out horizontally is first
         * copied to tmp with in_zp around it. */
        const int inside = iw0 >= 0 && iw0 + span <= W;
        const int s1 = sw, s2 = 2 * sw, s3 = 3 * sw;
        const size_t plane = (size_t)H * W;
        const int dstep = kh * kw * PXB; /* col distance between channels for the same (i, j) */
        int8_t tmp[ROW_TMP];
        for (int i = 0; i < kh; i++) {
            const int ih = ih0 + i;
            int8_t *d = col + i * kw * PXB;
            if (ih < 0 || ih >= H) {
                for (int c = 0; c < p->C; c++, d += dstep)
                    for (int j = 0; j < kw * PXB; j++) d[j] = zp;
                continue;
            }
            const int8_t *src = in + ih * W + iw0;
            for (int c = 0; c < p->C; c++, d += dstep, src += plane) {
                const int8_t *r = src;
                if (!inside) {
                    for (int j = 0; j < span; j++) {
                        const int iw = iw0 + j;
                        tmp[j] = (iw >= 0 && iw < W) ? src[j] : zp;
                    }
                    r = tmp;
                }
                if (kw == 3 && sw == 1) {
                    /* The common 3x3 stride-1 case: 6 loads and 12 stores per window row. */
                    const int8_t v0 = r[0], v1 = r[1], v2 = r[2], v3 = r[3], v4 = r[4], v5 = r[5];
                    d[0] = v0; d[1] = v1; d[2] = v2; d[3] = v3;
                    d[4] = v1; d[5] = v2; d[6] = v3; d[7] = v4;
                    d[8] = v2; d[9] = v3; d[10] = v4; d[11] = v5;
                } else {
                    int8_t *dj = d;
                    for (int j = 0; j < kw; j++, dj += PXB, r++) {
                        dj[0] = r[0];
                        dj[1] = r[s1];
                        dj[2] = r[s2];
                        dj[3] = r[s3];
                    }
                }
            }
        }
        return;
    }
    for (int t = 0; t < PXB; t++) {
        int8_t *dst = col + t;
        if (t >= np) {
            const int K = p->C * kh * kw;
            for (int k = 0; k < K; k++) dst[k * PXB] = zp;
            continue;
        }
        const int ih0t = oh * p->stride_h - p->pad_top, iw0t = ow * sw - p->pad_left;
        const int inside_w = iw0t >= 0 && iw0t + kw <= W;
        for (int c = 0; c < p->C; c++) {
            const int8_t *inc = in + (size_t)c * H * W;
            for (int i = 0; i < kh; i++) {
                const int ih = ih0t + i;
                if (ih < 0 || ih >= H) {
                    for (int j = 0; j < kw; j++) dst[j * PXB] = zp;
                } else {
                    const int8_t *row = inc + ih * W + iw0t;
                    if (inside_w) {
                        for (int j = 0; j < kw; j++) dst[j * PXB] = row[j];
                    } else {
                        for (int j = 0; j < kw; j++) {
                            const int iw = iw0t + j;
                            dst[j * PXB] = (iw >= 0 && iw < W) ? row[j] : zp;
                        }
                    }
                }
                dst += kw * PXB;
            }
        }
        if (++ow == p->OW) {
            ow = 0;
            oh++;
        }
    }
}

/* acc[i][t] += sum_k W[k][i] * x[k*xs + t] for i, t < 4: 16 int32 accumulators in registers,
 * per k 4 input loads, the block's weights (4 lb for int8) and 16 multiply-adds. Kept out of line on
 * purpose: inlined into the caller, clang-19 spills accumulators inside the k loop; the call costs
 * ~40 instructions per 16*K MACs. */
static MCUF_ALWAYS_INLINE void gemm_4x4_body(int K, const int8_t *wp, const int8_t *x, int xs, int32_t acc[16],
                                             int bits)
{
    int32_t a00 = acc[0], a01 = acc[1], a02 = acc[2], a03 = acc[3];
    int32_t a10 = acc[4], a11 = acc[5], a12 = acc[6], a13 = acc[7];
    int32_t a20 = acc[8], a21 = acc[9], a22 = acc[10], a23 = acc[11];
    int32_t a30 = acc[12], a31 = acc[13], a32 = acc[14], a33 = acc[15];
#define MCUF_S8_STEP(XP, WP)                                            \
    do {                                                                \
        const int32_t x0 = (XP)[0], x1 = (XP)[1], x2 = (XP)[2], x3 = (XP)[3]; \
        int32_t w = wget((WP), 0, bits);                                \
        a00 += w * x0; a01 += w * x1; a02 += w * x2; a03 += w * x3;     \
        w = wget((WP), 1, bits);                                        \
        a10 += w * x0; a11 += w * x1; a12 += w * x2; a13 += w * x3;     \
        w = wget((WP), 2, bits);                                        \
        a20 += w * x0; a21 += w * x1; a22 += w * x2; a23 += w * x3;     \
        w = wget((WP), 3, bits);                                        \
        a30 += w * x0; a31 += w * x1; a32 += w * x2; a33 += w * x3;     \
    } while (0)
    /* k unrolled by 2: per 32 MACs 8 input loads, 32 mul + 32 add and one loop step. */
    const int8_t *x_end = x + (size_t)(K & ~1) * xs;
    while (x != x_end) {
        MCUF_S8_STEP(x, wp);
        MCUF_S8_STEP(x + xs, wp + WBYTES(bits));
        wp += 2 * WBYTES(bits);
        x += 2 * xs;
    }
    if (K & 1) MCUF_S8_STEP(x, wp);
#undef MCUF_S8_STEP
    acc[0] = a00; acc[1] = a01; acc[2] = a02; acc[3] = a03;
    acc[4] = a10; acc[5] = a11; acc[6] = a12; acc[7] = a13;
    acc[8] = a20; acc[9] = a21; acc[10] = a22; acc[11] = a23;
    acc[12] = a30; acc[13] = a31; acc[14] = a32; acc[15] = a33;
}

/* Per weight width: the im2col chunk instance (xs = 4: the second k step reads at immediate offsets)
 * and the direct 1x1 instance (xs = P). */
#define DEFINE_GEMM(BITS)                                                                                \
    static MCUF_NOINLINE void gemm_4x4_col_##BITS(int K, const int8_t *wp, const int8_t *x, int32_t acc[16]) \
    {                                                                                                    \
        gemm_4x4_body(K, wp, x, PXB, acc, BITS);                                                         \
    }                                                                                                    \
    static MCUF_NOINLINE void gemm_4x4_strided_##BITS(int K, const int8_t *wp, const int8_t *x, int xs,   \
                                                      int32_t acc[16])                                   \
    {                                                                                                    \
        gemm_4x4_body(K, wp, x, xs, acc, BITS);                                                          \
    }
DEFINE_GEMM(8)
DEFINE_GEMM(4)
DEFINE_GEMM(2)

/* One pixel, 4 output channels: acc[i] += sum_k W[k][i] * x[k*xs]. */
static MCUF_ALWAYS_INLINE void gemm_4x1(int K, const int8_t *wp, const int8_t *x, int xs, int32_t acc[4], int bits)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    for (int k = 0; k < K; k++) {
        const int32_t x0 = *x;
        a0 += wget(wp, 0, bits) * x0;
        a1 += wget(wp, 1, bits) * x0;
        a2 += wget(wp, 2, bits) * x0;
        a3 += wget(wp, 3, bits) * x0;
        wp += WBYTES(bits);
        x += xs;
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}

/* All output channels for the np (<= 4) pixels p0.. whose taps are x[k*xs + t]. */
static MCUF_ALWAYS_INLINE void conv_pixels(const mcuf_conv2d_s8_params *p, const int8_t *w, const int32_t *bias,
                                           const int8_t *x, int xs, int p0, int np, int8_t *out, int bits)
{
    const int K = p->C * p->kh * p->kw, P = p->OH * p->OW;
    const int32_t zp = p->out_zp, lo = p->act_min, hi = p->act_max;
    for (int ob = 0; ob < p->OC; ob += OCB) {
        const int nc = p->OC - ob < OCB ? p->OC - ob : OCB;
        const int8_t *wp = w + (size_t)(ob / OCB) * K * WBYTES(bits);
        int32_t acc[16];
        for (int i = 0; i < OCB; i++) {
            const int32_t b = (i < nc && bias) ? bias[ob + i] : 0;
            for (int t = 0; t < PXB; t++) acc[i * PXB + t] = b;
        }
        if (np == PXB) {
            if (xs == PXB) {
                if (bits == 8) gemm_4x4_col_8(K, wp, x, acc);
                else if (bits == 4) gemm_4x4_col_4(K, wp, x, acc);
                else gemm_4x4_col_2(K, wp, x, acc);
            } else {
                if (bits == 8) gemm_4x4_strided_8(K, wp, x, xs, acc);
                else if (bits == 4) gemm_4x4_strided_4(K, wp, x, xs, acc);
                else gemm_4x4_strided_2(K, wp, x, xs, acc);
            }
        } else {
            for (int t = 0; t < np; t++) {
                int32_t a1[4] = {acc[t], acc[PXB + t], acc[2 * PXB + t], acc[3 * PXB + t]};
                gemm_4x1(K, wp, x + t, xs, a1, bits);
                for (int i = 0; i < OCB; i++) acc[i * PXB + t] = a1[i];
            }
        }
        for (int i = 0; i < nc; i++) {
            const int32_t m = p->multiplier[ob + i], s = p->shift[ob + i];
            int8_t *o = out + (size_t)(ob + i) * P + p0;
            if (s < 0) {
                const int32_t rnd = mcuf_requant_rnd(s);
                for (int t = 0; t < np; t++) o[t] = mcuf_requant_s8_neg(acc[i * PXB + t], m, s, rnd, zp, lo, hi);
            } else {
                for (int t = 0; t < np; t++) o[t] = mcuf_requant_s8(acc[i * PXB + t], m, s, zp, lo, hi);
            }
        }
    }
}

static MCUF_ALWAYS_INLINE mcuf_status conv_run(const mcuf_conv2d_s8_params *p, const int8_t *in, const int8_t *w,
                                               const int32_t *bias, int8_t *out, void *scratch, int bits)
{
    if (p && p->group != 1) return MCUF_ERR_ARG; /* grouped convs: mcuf_dwconv2d_s8 (mcuf_dwconv.h) */
    mcuf_status st = conv_check(p);
    if (st != MCUF_OK) return st;
    if (!in || !w || !out) return MCUF_ERR_ARG;
    const int P = p->OH * p->OW;
    if (is_direct_1x1(p)) {
        /* The input plane is already the [K = C][P] matrix: no copy. */
        for (int p0 = 0; p0 < P; p0 += PXB) {
            const int np = P - p0 < PXB ? P - p0 : PXB;
            conv_pixels(p, w, bias, in + p0, P, p0, np, out, bits);
        }
        return MCUF_OK;
    }
    if (!scratch) return MCUF_ERR_SCRATCH;
    int8_t *col = (int8_t *)scratch;
    for (int p0 = 0; p0 < P; p0 += PXB) {
        const int np = P - p0 < PXB ? P - p0 : PXB;
        im2col_chunk(p, in, p0, np, col);
        conv_pixels(p, w, bias, col, PXB, p0, np, out, bits);
    }
    return MCUF_OK;
}

mcuf_status mcuf_conv2d_s8(const mcuf_conv2d_s8_params *p, const int8_t *restrict in, const int8_t *restrict w,
                           const int32_t *restrict bias, int8_t *restrict out, void *restrict scratch)
{
    return conv_run(p, in, w, bias, out, scratch, 8);
}

mcuf_status mcuf_conv2d_s8w4(const mcuf_conv2d_s8_params *p, const int8_t *restrict in, const uint8_t *restrict w,
                             const int32_t *restrict bias, int8_t *restrict out, void *restrict scratch)
{
    return conv_run(p, in, (const int8_t *)w, bias, out, scratch, 4);
}

mcuf_status mcuf_conv2d_s8w2(const mcuf_conv2d_s8_params *p, const int8_t *restrict in, const uint8_t *restrict w,
                             const int32_t *restrict bias, int8_t *restrict out, void *restrict scratch)
{
    return conv_run(p, in, (const int8_t *)w, bias, out, scratch, 2);
}

size_t mcuf_conv2d_s8w4_weight_size(const mcuf_conv2d_s8_params *p) { return mcuf_conv2d_s8_weight_size(p) / 2; }
size_t mcuf_conv2d_s8w2_weight_size(const mcuf_conv2d_s8_params *p) { return mcuf_conv2d_s8_weight_size(p) / 4; }
size_t mcuf_conv2d_s8w4_scratch_size(const mcuf_conv2d_s8_params *p) { return mcuf_conv2d_s8_scratch_size(p); }
size_t mcuf_conv2d_s8w2_scratch_size(const mcuf_conv2d_s8_params *p) { return mcuf_conv2d_s8_scratch_size(p); }
