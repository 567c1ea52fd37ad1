/* mcuf_conv_s8.c: int8 convolution (im2col + register-blocked GEMM), grouped/depthwise convolution
 * (direct) and fully connected layers. Semantics and layouts: mcuf_s8.h. */
#include "mcuf_s8.h"

#define OCB 4 /* output channels per register block (the packed weight layout interleaves 4) */
#define PXB 4 /* output pixels per register block / im2col chunk */
#define ROW_TMP 64 /* bytes of the stack row buffer of the im2col row path */

#if defined(__GNUC__)
#define MCUF_ALWAYS_INLINE inline __attribute__((always_inline))
#define MCUF_NOINLINE __attribute__((noinline))
#else
#define MCUF_ALWAYS_INLINE inline
#define MCUF_NOINLINE
#endif

static int zp_ok(int32_t zp) { return zp >= -128 && zp <= 127; }

static mcuf_status conv_check(const mcuf_conv2d_s8_params *p)
{
    if (!p || !p->multiplier || !p->shift) return MCUF_ERR_ARG;
    if (p->C < 1 || p->H < 1 || p->W < 1 || p->OC < 1 || p->OH < 1 || p->OW < 1 || p->kh < 1 || p->kw < 1 ||
        p->stride_h < 1 || p->stride_w < 1 || p->group < 1)
        return MCUF_ERR_ARG;
    if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0) return MCUF_ERR_ARG;
    if (!zp_ok(p->in_zp) || !zp_ok(p->out_zp) || p->act_min > p->act_max) return MCUF_ERR_ARG;
    const int hp = p->H + p->pad_top + p->pad_bottom, wp = p->W + p->pad_left + p->pad_right;
    if (hp < p->kh || wp < p->kw) return MCUF_ERR_SHAPE;
    if (p->OH != (hp - p->kh) / p->stride_h + 1 || p->OW != (wp - p->kw) / p->stride_w + 1) return MCUF_ERR_SHAPE;
    if (p->C % p->group != 0 || p->OC % p->group != 0) return MCUF_ERR_SHAPE;
    return MCUF_OK;
}

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

/* Weight i (< 4) of the current k step of a packed block, for BITS = 8, 4 or 2 (constant after
 * inlining). Sub-byte weights are sign-extended by shifting the field to the top of a 32-bit word
 * and back (arithmetic right shift): 8 bits = one lb; 4 bits = lb + (slli +) srai, the byte shared by
 * two channels; 2 bits = one byte for all four channels. Bytes per k step and block: 4 * BITS / 8. */
#define WBYTES(BITS) ((BITS) / 2)
static MCUF_ALWAYS_INLINE int32_t wget(const int8_t *wp, int i, int bits)
{
    if (bits == 8) return wp[i];
    const uint32_t byte = (uint32_t)(int32_t)wp[bits == 4 ? i >> 1 : 0];
    const int pos = bits == 4 ? (i & 1) * 4 : i * 2; /* bit offset of the field in its byte */
    return (int32_t)(byte << (32 - bits - pos)) >> (32 - bits);
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
    if (p && p->group != 1) return MCUF_ERR_ARG; /* grouped convs: mcuf_dwconv2d_s8 */
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

mcuf_status mcuf_conv2d_s8(const mcuf_conv2d_s8_params *p, const int8_t *in, const int8_t *w,
                           const int32_t *bias, int8_t *out, void *scratch)
{
    return conv_run(p, in, w, bias, out, scratch, 8);
}

mcuf_status mcuf_conv2d_s8_s4(const mcuf_conv2d_s8_params *p, const int8_t *in, const uint8_t *w,
                              const int32_t *bias, int8_t *out, void *scratch)
{
    return conv_run(p, in, (const int8_t *)w, bias, out, scratch, 4);
}

mcuf_status mcuf_conv2d_s8_s2(const mcuf_conv2d_s8_params *p, const int8_t *in, const uint8_t *w,
                              const int32_t *bias, int8_t *out, void *scratch)
{
    return conv_run(p, in, (const int8_t *)w, bias, out, scratch, 2);
}

size_t mcuf_conv2d_s8_s4_weight_size(const mcuf_conv2d_s8_params *p) { return mcuf_conv2d_s8_weight_size(p) / 2; }
size_t mcuf_conv2d_s8_s2_weight_size(const mcuf_conv2d_s8_params *p) { return mcuf_conv2d_s8_weight_size(p) / 4; }

/* out[i] = requant(acc[i]) for i < n with one channel's multiplier/shift: the shift test and the
 * rounding constant are hoisted out of the loop (out of line so the MAC loops keep their registers). */
static MCUF_NOINLINE void requant_run(int n, const int32_t *acc, int32_t m, int32_t s, int32_t zp, int32_t lo,
                                      int32_t hi, int8_t *out)
{
    if (s < -1) { /* split from s == -1 so the carry formula is chosen outside the loop */
        const int32_t rnd = mcuf_requant_rnd(s);
        for (int i = 0; i < n; i++) out[i] = mcuf_requant_s8_neg(acc[i], m, s, rnd, zp, lo, hi);
    } else if (s == -1) {
        for (int i = 0; i < n; i++) out[i] = mcuf_requant_s8_neg(acc[i], m, -1, 0, zp, lo, hi);
    } else {
        for (int i = 0; i < n; i++) out[i] = mcuf_requant_s8(acc[i], m, s, zp, lo, hi);
    }
}

#define DW_RUN 32 /* interior outputs accumulated per requant_run call */

/* Accumulator of output (oh, ow) of the group whose input channels start at in_g and whose weights
 * (cpg x kh x kw) start at wc, for windows that cross the border. base = bias' + in_zp * sum(w): the
 * taps outside the input (reading in_zp) are already in it, so only the taps inside are visited,
 * as (x - in_zp) * w, over the clipped row/column ranges (no per-tap test). */
static int32_t dw_acc_border(const mcuf_conv2d_s8_params *p, const int8_t *in_g, const int8_t *wc, int cpg,
                             int32_t base, int oh, int ow)
{
    const int H = p->H, W = p->W, kh = p->kh, kw = p->kw;
    const int ih0 = oh * p->stride_h - p->pad_top, iw0 = ow * p->stride_w - p->pad_left;
    const int i0 = ih0 < 0 ? -ih0 : 0, i1 = ih0 + kh > H ? H - ih0 : kh;
    const int j0 = iw0 < 0 ? -iw0 : 0, j1 = iw0 + kw > W ? W - iw0 : kw;
    const int32_t zp = p->in_zp;
    int32_t acc = base;
    for (int ci = 0; ci < cpg; ci++) {
        const int8_t *xc = in_g + (size_t)ci * H * W;
        const int8_t *wk = wc + ci * kh * kw;
        for (int i = i0; i < i1; i++)
            for (int j = j0; j < j1; j++) acc += (xc[(ih0 + i) * W + iw0 + j] - zp) * wk[i * kw + j];
    }
    return acc;
}

/* Output columns [*lo, *hi) whose windows lie horizontally inside the input. */
static void inner_cols(const mcuf_conv2d_s8_params *p, int *lo, int *hi)
{
    const int sw = p->stride_w;
    int a = (p->pad_left + sw - 1) / sw;                     /* first ow with iw0 >= 0 */
    int b = (p->W + p->pad_left - p->kw) / sw + 1;           /* first ow with iw0 + kw > W */
    if (p->W + p->pad_left - p->kw < 0) b = 0;
    a = a > p->OW ? p->OW : a;
    b = b > p->OW ? p->OW : b;
    *lo = a;
    *hi = b < a ? a : b;
}

#define DW_ROW_MAX 128 /* widest padded row (W + pad_left + pad_right) of the 3x3 row-buffer path */

/* Depthwise 3x3 (one input channel per output channel) through three zero-point-padded copies of
 * the input rows under the current output row: every output, border or not, is then 9 loads at
 * immediate offsets with the weights in registers. Rows are cached by ih mod 3, so with stride 1
 * each input row is copied once per channel. Stack: 3 * DW_ROW_MAX + 4 * DW_RUN bytes. */
static void dw3x3_rows(const mcuf_conv2d_s8_params *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                       int8_t *out)
{
    const int H = p->H, W = p->W, sw = p->stride_w, pl = p->pad_left;
    const int Wp = W + pl + p->pad_right, opg = p->OC / p->group;
    const int8_t zp_in = (int8_t)p->in_zp;
    const int32_t zp = p->out_zp, lo = p->act_min, hi = p->act_max;
    int8_t rows[3][DW_ROW_MAX];
    int32_t accs[DW_RUN];
    for (int oc = 0; oc < p->OC; oc++) {
        const int8_t *x = in + (size_t)(oc / opg) * H * W;
        const int8_t *wc = w + (size_t)oc * 9;
        const int32_t b = bias ? bias[oc] : 0, m = p->multiplier[oc], s = p->shift[oc];
        const int32_t w0 = wc[0], w1 = wc[1], w2 = wc[2], w3 = wc[3], w4 = wc[4], w5 = wc[5], w6 = wc[6],
                      w7 = wc[7], w8 = wc[8];
        int cached[3] = {-(1 << 30), -(1 << 30), -(1 << 30)}; /* input row held by each slot */
        int8_t *o = out + (size_t)oc * p->OH * p->OW;
        for (int oh = 0; oh < p->OH; oh++) {
            const int ih0 = oh * p->stride_h - p->pad_top;
            const int8_t *r[3];
            for (int i = 0; i < 3; i++) {
                const int ih = ih0 + i, slot = ((ih % 3) + 3) % 3;
                int8_t *dst = rows[slot];
                if (cached[slot] != ih) {
                    cached[slot] = ih;
                    if (ih < 0 || ih >= H) {
                        for (int j = 0; j < Wp; j++) dst[j] = zp_in;
                    } else {
                        const int8_t *src = x + ih * W;
                        for (int j = 0; j < pl; j++) dst[j] = zp_in;
                        for (int j = 0; j < W; j++) dst[pl + j] = src[j];
                        for (int j = pl + W; j < Wp; j++) dst[j] = zp_in;
                    }
                }
                r[i] = dst;
            }
            for (int ow0 = 0; ow0 < p->OW; ow0 += DW_RUN) {
                const int n = p->OW - ow0 < DW_RUN ? p->OW - ow0 : DW_RUN;
                const int8_t *r0 = r[0] + ow0 * sw, *r1 = r[1] + ow0 * sw, *r2 = r[2] + ow0 * sw;
                for (int t = 0; t < n; t++, r0 += sw, r1 += sw, r2 += sw)
                    accs[t] = b + r0[0] * w0 + r0[1] * w1 + r0[2] * w2 + r1[0] * w3 + r1[1] * w4 + r1[2] * w5 +
                              r2[0] * w6 + r2[1] * w7 + r2[2] * w8;
                requant_run(n, accs, m, s, zp, lo, hi, o + oh * p->OW + ow0);
            }
        }
    }
}

mcuf_status mcuf_dwconv2d_s8(const mcuf_conv2d_s8_params *p, const int8_t *in, const int8_t *w,
                             const int32_t *bias, int8_t *out)
{
    mcuf_status st = conv_check(p);
    if (st != MCUF_OK) return st;
    if (!in || !w || !out) return MCUF_ERR_ARG;
    const int H = p->H, W = p->W, kh = p->kh, kw = p->kw, sw = p->stride_w;
    const int cpg = p->C / p->group, opg = p->OC / p->group, taps = cpg * kh * kw;
    const int padded = p->pad_top | p->pad_left | p->pad_bottom | p->pad_right;
    if (padded && cpg == 1 && kh == 3 && kw == 3 && W + p->pad_left + p->pad_right <= DW_ROW_MAX) {
        /* With padding the row copies (~9 instructions per output) beat the border path (~100 per
         * border output) on planes up to DW_ROW_MAX wide; unpadded, the direct path has no border. */
        dw3x3_rows(p, in, w, bias, out);
        return MCUF_OK;
    }
    const int32_t zp = p->out_zp, lo = p->act_min, hi = p->act_max;
    int c_lo, c_hi;
    inner_cols(p, &c_lo, &c_hi);
    for (int oc = 0; oc < p->OC; oc++) {
        const int8_t *in_g = in + (size_t)(oc / opg) * cpg * H * W;
        const int8_t *wc = w + (size_t)oc * taps;
        const int32_t b = bias ? bias[oc] : 0, m = p->multiplier[oc], s = p->shift[oc];
        int32_t wsum = 0;
        for (int k = 0; k < taps; k++) wsum += wc[k];
        const int32_t base = b + p->in_zp * wsum;
        int8_t *o = out + (size_t)oc * p->OH * p->OW;
        for (int oh = 0; oh < p->OH; oh++) {
            const int ih0 = oh * p->stride_h - p->pad_top;
            int8_t *orow = o + oh * p->OW;
            const int row_inside = ih0 >= 0 && ih0 + kh <= H;
            /* Interior columns of this row (none when the window rows cross the border). */
            const int a = row_inside ? c_lo : p->OW, z = row_inside ? c_hi : p->OW;
            int32_t accs[DW_RUN];
            for (int ow0 = 0; ow0 < p->OW; ow0 += DW_RUN) {
                const int end = p->OW - ow0 < DW_RUN ? p->OW : ow0 + DW_RUN;
                const int f0 = a > ow0 ? (a < end ? a : end) : ow0; /* fast range [f0, f1) */
                const int f1 = z < end ? (z > f0 ? z : f0) : end;
                for (int ow = ow0; ow < f0; ow++) accs[ow - ow0] = dw_acc_border(p, in_g, wc, cpg, base, oh, ow);
                const int8_t *xr = in_g + ih0 * W + f0 * sw - p->pad_left;
                if (f1 > f0 && cpg == 1 && kh == 3 && kw == 3) {
                    /* Depthwise 3x3: the 9 weights stay in registers, 9 loads at immediate offsets
                     * from three row pointers per output. */
                    const int32_t w0 = wc[0], w1 = wc[1], w2 = wc[2], w3 = wc[3], w4 = wc[4], w5 = wc[5],
                                  w6 = wc[6], w7 = wc[7], w8 = wc[8];
                    const int8_t *r0 = xr, *r1 = xr + W, *r2 = xr + 2 * W;
                    for (int ow = f0; ow < f1; ow++, r0 += sw, r1 += sw, r2 += sw)
                        accs[ow - ow0] = b + r0[0] * w0 + r0[1] * w1 + r0[2] * w2 + r1[0] * w3 + r1[1] * w4 +
                                         r1[2] * w5 + r2[0] * w6 + r2[1] * w7 + r2[2] * w8;
                } else {
                    for (int ow = f0; ow < f1; ow++, xr += sw) {
                        int32_t acc = b;
                        const int8_t *wk = wc;
                        for (int ci = 0; ci < cpg; ci++) {
                            const int8_t *xi = xr + (size_t)ci * H * W;
                            for (int i = 0; i < kh; i++, xi += W, wk += kw)
                                for (int j = 0; j < kw; j++) acc += (int32_t)xi[j] * wk[j];
                        }
                        accs[ow - ow0] = acc;
                    }
                }
                for (int ow = f1; ow < end; ow++) accs[ow - ow0] = dw_acc_border(p, in_g, wc, cpg, base, oh, ow);
                requant_run(end - ow0, accs, m, s, zp, lo, hi, orow + ow0);
            }
        }
    }
    return MCUF_OK;
}

/* acc[i] += sum_k wi[k] * x[k] for four weight rows w0..w3 ([Out, In] layout): each input byte
 * loaded once for four rows, k unrolled by 4. Out of line, with the row pointers as parameters, so
 * clang keeps five bumped pointers (inlined, its loop strength reduction re-indexes every row). */
static MCUF_NOINLINE void gemv_rows4(int K, const int8_t *w0, const int8_t *w1, const int8_t *w2,
                                     const int8_t *w3, const int8_t *x, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int8_t *x_end = x + (K & ~3);
    while (x != x_end) {
        const int32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
        a0 += w0[0] * x0 + w0[1] * x1 + w0[2] * x2 + w0[3] * x3;
        a1 += w1[0] * x0 + w1[1] * x1 + w1[2] * x2 + w1[3] * x3;
        a2 += w2[0] * x0 + w2[1] * x1 + w2[2] * x2 + w2[3] * x3;
        a3 += w3[0] * x0 + w3[1] * x1 + w3[2] * x2 + w3[3] * x3;
        x += 4;
        w0 += 4;
        w1 += 4;
        w2 += 4;
        w3 += 4;
    }
    for (int k = 0; k < (K & 3); k++) {
        const int32_t x0 = x[k];
        a0 += w0[k] * x0;
        a1 += w1[k] * x0;
        a2 += w2[k] * x0;
        a3 += w3[k] * x0;
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}

/* acc[i] += sum_k W[k][i] * x[k], i < 4 (packed block of BITS-wide weights): one pointer each with
 * immediate offsets, k unrolled by 4. int8: per 16 MACs 4 + 16 byte loads, 16 mul + 16 add, 2 bumps,
 * 1 branch. */
static MCUF_ALWAYS_INLINE void gemv_4_body(int K, const int8_t *wp, const int8_t *x, int32_t acc[4], int bits)
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int8_t *x_end = x + (K & ~3);
    const int wb = WBYTES(bits);
    for (; x != x_end; x += 4, wp += 4 * wb) {
        for (int u = 0; u < 4; u++) { /* unrolled by the compiler (constant trip count) */
            const int32_t xu = x[u];
            const int8_t *w = wp + u * wb;
            a0 += wget(w, 0, bits) * xu;
            a1 += wget(w, 1, bits) * xu;
            a2 += wget(w, 2, bits) * xu;
            a3 += wget(w, 3, bits) * xu;
        }
    }
    for (int k = 0; k < (K & 3); k++, wp += wb) {
        const int32_t x0 = x[k];
        a0 += wget(wp, 0, bits) * x0;
        a1 += wget(wp, 1, bits) * x0;
        a2 += wget(wp, 2, bits) * x0;
        a3 += wget(wp, 3, bits) * x0;
    }
    acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3;
}

static MCUF_NOINLINE void gemv_4_8(int K, const int8_t *wp, const int8_t *x, int32_t acc[4]) { gemv_4_body(K, wp, x, acc, 8); }
static MCUF_NOINLINE void gemv_4_4(int K, const int8_t *wp, const int8_t *x, int32_t acc[4]) { gemv_4_body(K, wp, x, acc, 4); }
static MCUF_NOINLINE void gemv_4_2(int K, const int8_t *wp, const int8_t *x, int32_t acc[4]) { gemv_4_body(K, wp, x, acc, 2); }

static mcuf_status fc_check(const mcuf_fc_s8_params *p, const int8_t *in, const int8_t *w, const int8_t *out)
{
    if (!p || !in || !w || !out || !p->multiplier || !p->shift) return MCUF_ERR_ARG;
    if (p->rows < 1 || p->in_features < 1 || p->out_features < 1) return MCUF_ERR_ARG;
    if (!zp_ok(p->out_zp) || p->act_min > p->act_max) return MCUF_ERR_ARG;
    return MCUF_OK;
}

/* Both layouts: 4 output features per block, the last block partial (packed: zero weights; rows:
 * the tail rows repeat row n so every pointer is valid, and only nc results are stored).
 * bits: 0 = [Out, In] rows of int8; 8, 4, 2 = packed blocks of that weight width. */
static MCUF_ALWAYS_INLINE mcuf_status fc_run(const mcuf_fc_s8_params *p, const int8_t *in, const int8_t *w,
                                             const int32_t *bias, int8_t *out, int bits)
{
    mcuf_status st = fc_check(p, in, w, out);
    if (st != MCUF_OK) return st;
    const int K = p->in_features, N = p->out_features;
    const int32_t zp = p->out_zp, lo = p->act_min, hi = p->act_max;
    for (int r = 0; r < p->rows; r++) {
        const int8_t *x = in + (size_t)r * K;
        int8_t *o = out + (size_t)r * N;
        for (int n = 0; n < N; n += OCB) {
            const int nc = N - n < OCB ? N - n : OCB;
            int32_t acc[OCB];
            for (int i = 0; i < OCB; i++) acc[i] = (i < nc && bias) ? bias[n + i] : 0;
            if (bits == 0) {
                const int8_t *w0 = w + (size_t)n * K;
                gemv_rows4(K, w0, nc > 1 ? w0 + K : w0, nc > 2 ? w0 + 2 * K : w0, nc > 3 ? w0 + 3 * K : w0, x, acc);
            } else {
                const int8_t *wp = w + (size_t)(n / OCB) * K * WBYTES(bits);
                if (bits == 8) gemv_4_8(K, wp, x, acc);
                else if (bits == 4) gemv_4_4(K, wp, x, acc);
                else gemv_4_2(K, wp, x, acc);
            }
            for (int i = 0; i < nc; i++)
                o[n + i] = mcuf_requant_s8(acc[i], p->multiplier[n + i], p->shift[n + i], zp, lo, hi);
        }
    }
    return MCUF_OK;
}

mcuf_status mcuf_fc_s8(const mcuf_fc_s8_params *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                       int8_t *out)
{
    return fc_run(p, in, w, bias, out, 0);
}

mcuf_status mcuf_fc_s8_packed(const mcuf_fc_s8_params *p, const int8_t *in, const int8_t *w, const int32_t *bias,
                              int8_t *out)
{
    return fc_run(p, in, w, bias, out, 8);
}

mcuf_status mcuf_fc_s8_s4(const mcuf_fc_s8_params *p, const int8_t *in, const uint8_t *w, const int32_t *bias,
                          int8_t *out)
{
    return fc_run(p, in, (const int8_t *)w, bias, out, 4);
}

mcuf_status mcuf_fc_s8_s2(const mcuf_fc_s8_params *p, const int8_t *in, const uint8_t *w, const int32_t *bias,
                          int8_t *out)
{
    return fc_run(p, in, (const int8_t *)w, bias, out, 2);
}

size_t mcuf_fc_s8_weight_size(const mcuf_fc_s8_params *p)
{
    if (!p || p->in_features < 1 || p->out_features < 1) return 0;
    return (size_t)OCB * (size_t)((p->out_features + OCB - 1) / OCB) * (size_t)p->in_features;
}


size_t mcuf_fc_s8_s4_weight_size(const mcuf_fc_s8_params *p) { return mcuf_fc_s8_weight_size(p) / 2; }
size_t mcuf_fc_s8_s2_weight_size(const mcuf_fc_s8_params *p) { return mcuf_fc_s8_weight_size(p) / 4; }
