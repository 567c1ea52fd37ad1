/* mcuf_linear_s8.c: int8 linear layers (plain or packed int8 weights, packed 4 / 2-bit weights).
 * Semantics and layouts: mcuf_linear.h. */
#include "mcuf_linear.h"
#include "mcuf_requant.h"
#include "mcuf_s8_common.h"

#define OCB 4 /* output features per block (the packed weight layout interleaves 4) */

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

static mcuf_status linear_check(const mcuf_linear_s8_params *p, const int8_t *in, const int8_t *w, const int8_t *out)
{
    if (!p || !in || !w || !out || !p->multiplier || !p->shift) return MCUF_ERR_ARG;
    if (p->batch < 1 || p->in_features < 1 || p->out_features < 1) return MCUF_ERR_ARG;
    if (!zp_ok(p->out_zp) || p->act_min > p->act_max) return MCUF_ERR_ARG;
    return MCUF_OK;
}

/* Both layouts: 4 output features per block, the last block partial (packed: zero weights; rows:
 * the tail rows repeat row n so every pointer is valid, and only nc results are stored).
 * bits: 0 = [Out, In] rows of int8; 8, 4, 2 = packed blocks of that weight width. */
static MCUF_ALWAYS_INLINE mcuf_status linear_run(const mcuf_linear_s8_params *p, const int8_t *in, const int8_t *w,
                                             const int32_t *bias, int8_t *out, int bits)
{
    mcuf_status st = linear_check(p, in, w, out);
    if (st != MCUF_OK) return st;
    const int K = p->in_features, N = p->out_features;
    const int32_t zp = p->out_zp, lo = p->act_min, hi = p->act_max;
    for (int r = 0; r < p->batch; r++) {
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

mcuf_status mcuf_linear_s8(const mcuf_linear_s8_params *p, const int8_t *restrict in, const int8_t *restrict w,
                           const int32_t *restrict bias, int8_t *restrict out)
{
    return linear_run(p, in, w, bias, out, 0);
}

mcuf_status mcuf_linear_s8_packed(const mcuf_linear_s8_params *p, const int8_t *restrict in,
                                  const int8_t *restrict w, const int32_t *restrict bias, int8_t *restrict out)
{
    return linear_run(p, in, w, bias, out, 8);
}

mcuf_status mcuf_linear_s8w4(const mcuf_linear_s8_params *p, const int8_t *restrict in, const uint8_t *restrict w,
                             const int32_t *restrict bias, int8_t *restrict out)
{
    return linear_run(p, in, (const int8_t *)w, bias, out, 4);
}

mcuf_status mcuf_linear_s8w2(const mcuf_linear_s8_params *p, const int8_t *restrict in, const uint8_t *restrict w,
                             const int32_t *restrict bias, int8_t *restrict out)
{
    return linear_run(p, in, (const int8_t *)w, bias, out, 2);
}

size_t mcuf_linear_s8_packed_weight_size(const mcuf_linear_s8_params *p)
{
    if (!p || p->in_features < 1 || p->out_features < 1) return 0;
    return (size_t)OCB * (size_t)((p->out_features + OCB - 1) / OCB) * (size_t)p->in_features;
}

size_t mcuf_linear_s8w4_weight_size(const mcuf_linear_s8_params *p) { return mcuf_linear_s8_packed_weight_size(p) / 2; }
size_t mcuf_linear_s8w2_weight_size(const mcuf_linear_s8_params *p) { return mcuf_linear_s8_packed_weight_size(p) / 4; }
