/* mcuf_dwconv_s8.c: int8 grouped / depthwise convolution, direct. Semantics: mcuf_dwconv.h. */
#include "mcuf_dwconv.h"
#include "mcuf_requant.h"
#include "mcuf_s8_common.h"

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

/* Depthwise 3x3 with padding: the path through padded row copies (see dw3x3_rows). */
static int dw3x3_padded(const mcuf_conv2d_s8_params *p)
{
    const int padded = p->pad_top | p->pad_left | p->pad_bottom | p->pad_right;
    return padded && p->C == p->group && p->kh == 3 && p->kw == 3;
}

size_t mcuf_dwconv2d_s8_scratch_size(const mcuf_conv2d_s8_params *p)
{
    if (!p || p->W < 1 || p->pad_left < 0 || p->pad_right < 0 || !dw3x3_padded(p)) return 0;
    return (size_t)3 * (size_t)(p->W + p->pad_left + p->pad_right);
}

/* Depthwise 3x3 (one input channel per output channel) through three zero-point-padded copies of
 * the input rows under the current output row, in scratch ([3][W + pad_left + pad_right]): every
 * output, border or not, is then 9 loads at immediate offsets with the weights in registers. Rows
 * are cached by ih mod 3, so with stride 1 each input row is copied once per channel. With padding
 * the row copies (~9 instructions per output) beat the border path (~100 per border output).
 * Stack: 4 * DW_RUN bytes. */
static void dw3x3_rows(const mcuf_conv2d_s8_params *p, const int8_t *in, const int8_t *wc, const int32_t *bias,
                       int8_t *out, int8_t *rows, int oc)
{
    const int H = p->H, W = p->W, sw = p->stride_w, pl = p->pad_left;
    const int Wp = W + pl + p->pad_right, opg = p->OC / p->group;
    const int8_t zp_in = (int8_t)p->in_zp;
    const int32_t zp = p->out_zp, lo = p->act_min, hi = p->act_max;
    int32_t accs[DW_RUN];
    {
        const int8_t *x = in + (size_t)(oc / opg) * H * W;
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
                int8_t *dst = rows + slot * Wp;
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

/* Output channel oc, weights wc (its cpg x kh x kw int8 taps), the direct path (rows: the scratch of
 * the padded depthwise 3x3 path). */
static void dw_channel(const mcuf_conv2d_s8_params *p, const int8_t *in, const int8_t *wc, const int32_t *bias,
                       int8_t *out, int8_t *rows, int oc)
{
    const int H = p->H, W = p->W, kh = p->kh, kw = p->kw, sw = p->stride_w;
    const int cpg = p->C / p->group, opg = p->OC / p->group, taps = cpg * kh * kw;
    if (dw3x3_padded(p)) { /* unpadded, the direct path below has no border */
        dw3x3_rows(p, in, wc, bias, out, rows, oc);
        return;
    }
    const int32_t zp = p->out_zp, lo = p->act_min, hi = p->act_max;
    int c_lo, c_hi;
    inner_cols(p, &c_lo, &c_hi);
    {
        const int8_t *in_g = in + (size_t)(oc / opg) * cpg * H * W;
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
}

mcuf_status mcuf_dwconv2d_s8(const mcuf_conv2d_s8_params *p, const int8_t *restrict in, const int8_t *restrict w,
                             const int32_t *restrict bias, int8_t *restrict out, void *restrict scratch)
{
    mcuf_status st = conv_check(p);
    if (st != MCUF_OK) return st;
    if (!in || !w || !out) return MCUF_ERR_ARG;
    if (dw3x3_padded(p) && !scratch) return MCUF_ERR_SCRATCH;
    const size_t taps = (size_t)(p->C / p->group) * p->kh * p->kw;
    for (int oc = 0; oc < p->OC; oc++) dw_channel(p, in, w + (size_t)oc * taps, bias, out, (int8_t *)scratch, oc);
    return MCUF_OK;
}

/* Sub-byte weights: the OC * taps fields one stream in (oc, c, i, j) order, field k at bit (k * bits) % 8
 * of byte k * bits / 8. Each channel's taps are unpacked into the head of scratch (sign extension by
 * shifts, no branch), then the int8 channel path runs on them: results equal mcuf_dwconv2d_s8's. */
static size_t dw_taps(const mcuf_conv2d_s8_params *p) { return (size_t)(p->C / p->group) * p->kh * p->kw; }

static size_t dw_sub_scratch(const mcuf_conv2d_s8_params *p)
{
    if (!p || p->group < 1 || p->C < 1 || p->kh < 1 || p->kw < 1) return 0;
    return dw_taps(p) + mcuf_dwconv2d_s8_scratch_size(p);
}
size_t mcuf_dwconv2d_s8w4_scratch_size(const mcuf_conv2d_s8_params *p) { return dw_sub_scratch(p); }
size_t mcuf_dwconv2d_s8w2_scratch_size(const mcuf_conv2d_s8_params *p) { return dw_sub_scratch(p); }

static size_t dw_sub_weight_size(const mcuf_conv2d_s8_params *p, int bits)
{
    if (!p || p->group < 1 || p->C < 1 || p->OC < 1 || p->kh < 1 || p->kw < 1) return 0;
    return ((size_t)p->OC * dw_taps(p) * (size_t)bits + 7) / 8;
}
size_t mcuf_dwconv2d_s8w4_weight_size(const mcuf_conv2d_s8_params *p) { return dw_sub_weight_size(p, 4); }
size_t mcuf_dwconv2d_s8w2_weight_size(const mcuf_conv2d_s8_params *p) { return dw_sub_weight_size(p, 2); }

static mcuf_status dw_sub(const mcuf_conv2d_s8_params *p, const int8_t *in, const uint8_t *w, const int32_t *bias,
                          int8_t *out, void *scratch, int bits)
{
    mcuf_status st = conv_check(p);
    if (st != MCUF_OK) return st;
    if (!in || !w || !out) return MCUF_ERR_ARG;
    if (!scratch) return MCUF_ERR_SCRATCH;
    const size_t taps = dw_taps(p);
    int8_t *wc = (int8_t *)scratch, *rows = wc + taps;
    const int per_byte_log2 = bits == 4 ? 1 : 2, lane_mask = (1 << per_byte_log2) - 1, up = 8 - bits;
    size_t k = 0; /* field index of the channel's first tap */
    for (int oc = 0; oc < p->OC; oc++) {
        for (size_t t = 0; t < taps; t++, k++) {
            const unsigned byte = w[k >> per_byte_log2], sh = (unsigned)(k & lane_mask) * (unsigned)bits;
            wc[t] = (int8_t)((int8_t)(uint8_t)(byte >> sh << up) >> up);
        }
        dw_channel(p, in, wc, bias, out, rows, oc);
    }
    return MCUF_OK;
}

mcuf_status mcuf_dwconv2d_s8w4(const mcuf_conv2d_s8_params *p, const int8_t *restrict in, const uint8_t *restrict w,
                               const int32_t *restrict bias, int8_t *restrict out, void *restrict scratch)
{
    return dw_sub(p, in, w, bias, out, scratch, 4);
}

mcuf_status mcuf_dwconv2d_s8w2(const mcuf_conv2d_s8_params *p, const int8_t *restrict in, const uint8_t *restrict w,
                               const int32_t *restrict bias, int8_t *restrict out, void *restrict scratch)
{
    return dw_sub(p, in, w, bias, out, scratch, 2);
}
