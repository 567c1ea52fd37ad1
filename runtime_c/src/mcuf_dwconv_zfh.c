/* mcuf_dwconv_zfh.c: scalar FP16 depthwise conv tuned for the 32 FP registers of rv32 + Zfh.
 *
 * Fast path: 3x3 kernel, stride 1, every pad <= 1 (the "same" depthwise layers of DS-CNN / MobileNet).
 * A 3x3 window of the source slides along each row: per output only one new column (3 values) is
 * loaded, the nine weights and the window stay in registers, and the loop is unrolled by three so the
 * window rotates by renaming instead of moves. Zero padding is a column/row of zeros in the window:
 * their products add +-0 (the portable code skips them; values are identical, only the sign of a zero
 * result may differ). Other shapes call the portable code.
 *
 *   forward:       out[q] = init + sum_{a,b} wt[a][b] * win[a][b]   (terms in a, b order = portable order)
 *   input grad:    the same on grad_y with the kernel flipped (stride 1)
 *   weight grad:   nine accumulators acc[a][b] += gy[q] * win[a][b], one sweep over the plane (row
 *                  by row when wide: the portable order; column by column when tall: another order)
 * Planes taller than wide (DS-CNN's 25x5) slide down columns instead of along rows, so the per-line
 * set-up is paid W times instead of H times.
 * The accumulator type follows p->acc: FP16 (each term rounded) or FP32 (operands widened on load). */
#if defined(__riscv_zfh) || defined(MCUF_BUILD_ALL_BACKENDS)
#include "mcuf_dwconv.h"

typedef mcuf_f16 T;

static int fast_ok(const mcuf_dwconv2d_params *p)
{
    return p->kh == 3 && p->kw == 3 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top <= 1 &&
           p->pad_left <= 1 && p->pad_bottom <= 1 && p->pad_right <= 1;
}

/* ---- forward / input gradient: one output row --------------------------------------------------
 * x0, x2 may be NULL (row outside the source: its terms are skipped entirely, like the portable code);
 * x1 is always valid for pads <= 1. Columns: output q reads source columns q-pl .. q-pl+2. */
#define DEFINE_ROW(S, SUF)                                                                               \
    static inline __attribute__((always_inline)) void row_##SUF(                                         \
        const T *restrict x0, const T *restrict x1, const T *restrict x2, const int has0, const int has2, \
        int pl, int pr, int OW, const S w00, const S w01, const S w02, const S w10, const S w11,          \
        const S w12, const S w20, const S w21, const S w22, const int init_mode, S bias, T *restrict out, \
        const ptrdiff_t ss, const ptrdiff_t os, const int vert)                                          \
    {                                                                                                    \
        typedef S S_t;                                                                                   \
        const S z = (S)0;                                                                                \
        /* window columns: a = q-pl, b = q-pl+1, c = q-pl+2 (the one loaded per output) */               \
        S a0, a1, a2, b0, b1, b2, c0, c1, c2;                                                            \
        if (pl) {                                                                                        \
            a0 = a1 = a2 = z;                                                                            \
            ROW_LOAD(b, 0);                                                                              \
        } else {                                                                                         \
            ROW_LOAD(a, 0);                                                                              \
            ROW_LOAD(b, 1);                                                                              \
        }                                                                                                \
        const int qend = OW - pr; /* outputs whose new column lies inside the source */                  \
        int q = 0;                                                                                       \
        const int k0 = 2 - pl;    /* source column loaded for output q: q + k0 */                        \
        for (; q + 3 <= qend; q += 3)                              \
        {                                                                                                \
            ROW_LOAD(c, q + k0);                                                                         \
            ROW_OUT(a, b, c, q);                                                                         \
            ROW_LOAD(a, q + 1 + k0);                                                                     \
            ROW_OUT(b, c, a, q + 1);                                                                     \
            ROW_LOAD(b, q + 2 + k0);                                                                     \
            ROW_OUT(c, a, b, q + 2);                                                                     \
        }                                                                                                \
        for (; q < qend; q++) {                                                                          \
            ROW_LOAD(c, q + k0);                                                                         \
            ROW_OUT(a, b, c, q);                                                                         \
            a0 = b0, a1 = b1, a2 = b2;                                                                   \
            b0 = c0, b1 = c1, b2 = c2;                                                                   \
        }                                                                                                \
        if (pr) { /* last output: the new column is padding */                                           \
            c0 = c1 = c2 = z;                                                                            \
            ROW_OUT(a, b, c, q);                                                                         \
        }                                                                                                \
    }

#define ROW_LOAD(v, k)                        \
    do {                                      \
        v##0 = has0 ? (S_t)x0[(k) * ss] : z;  \
        v##1 = (S_t)x1[(k) * ss];             \
        v##2 = has2 ? (S_t)x2[(k) * ss] : z;  \
    } while (0)
/* horizontal: lanes are kernel rows, terms lane by lane; vertical: lanes are kernel columns, terms
 * stream position by stream position. Both are the (i, j) order of the portable code. */
#define ROW_OUT(A, B, C, qq)                                \
    do {                                                    \
        S_t s = init_mode == 0   ? bias                     \
                : init_mode == 1 ? (S_t)out[(qq) * os]      \
                                 : z;                       \
        if (!vert) {                                        \
            if (has0) {                                     \
                s = (S_t)(s + w00 * A##0);                  \
                s = (S_t)(s + w01 * B##0);                  \
                s = (S_t)(s + w02 * C##0);                  \
            }                                               \
            s = (S_t)(s + w10 * A##1);                      \
            s = (S_t)(s + w11 * B##1);                      \
            s = (S_t)(s + w12 * C##1);                      \
            if (has2) {                                     \
                s = (S_t)(s + w20 * A##2);                  \
                s = (S_t)(s + w21 * B##2);                  \
                s = (S_t)(s + w22 * C##2);                  \
            }                                               \
        } else {                                            \
            if (has0) s = (S_t)(s + w00 * A##0);            \
            s = (S_t)(s + w10 * A##1);                      \
            if (has2) s = (S_t)(s + w20 * A##2);            \
            if (has0) s = (S_t)(s + w01 * B##0);            \
            s = (S_t)(s + w11 * B##1);                      \
            if (has2) s = (S_t)(s + w21 * B##2);            \
            if (has0) s = (S_t)(s + w02 * C##0);            \
            s = (S_t)(s + w12 * C##1);                      \
            if (has2) s = (S_t)(s + w22 * C##2);            \
        }                                                   \
        out[(qq) * os] = (T)s;                              \
    } while (0)

DEFINE_ROW(mcuf_f16, h)
DEFINE_ROW(float, f)
#undef ROW_LOAD
#undef ROW_OUT

/* One plane: dst[DH, DW] from src[SH, SW] (SW == W), pads pt/pl/pr <= 1, weights already in the order
 * of use (flipped for the input gradient). */
#define ROW_CALL(SUF, h0, h2, V)                                                                       \
    row_##SUF(x0, x1, x2, h0, h2, sp0, sp1, n, w00, w01, w02, w10, w11, w12, w20, w21, w22, init_mode, bias, \
              out, ss, os, V)
#define DEFINE_PLANE(S, SUF)                                                                            \
    static inline __attribute__((always_inline)) void plane_##SUF(                                      \
        const T *restrict src, int SH, int SW, int pt, int pl, int pb, int pr, const S w[9],               \
        const int init_mode, S bias, T *restrict dst, int DH, int DW)                                   \
    {                                                                                                   \
        if (DH <= DW || SH < 2) {                                                                       \
            /* slide along rows: lanes = kernel rows */                                                  \
            const S w00 = w[0], w01 = w[1], w02 = w[2], w10 = w[3], w11 = w[4], w12 = w[5], w20 = w[6], \
                    w21 = w[7], w22 = w[8];                                                             \
            const ptrdiff_t ss = 1, os = 1;                                                             \
            const int sp0 = pl, sp1 = pr, n = DW;                                                       \
            for (int r = 0; r < DH; r++) {                                                              \
                const int top = r - pt;                                                                 \
                const T *x1 = src + (size_t)(top + 1) * SW;                                             \
                const int has0 = top >= 0, has2 = top + 2 < SH;                                         \
                const T *x0 = has0 ? x1 - SW : x1, *x2 = has2 ? x1 + SW : x1;                           \
                T *out = dst + (size_t)r * DW;                                                          \
                if (has0 && has2)                                                                       \
                    ROW_CALL(SUF, 1, 1, 0);                                                             \
                else if (has0)                                                                          \
                    ROW_CALL(SUF, 1, 0, 0);                                                             \
                else if (has2)                                                                          \
                    ROW_CALL(SUF, 0, 1, 0);                                                             \
                else                                                                                    \
                    ROW_CALL(SUF, 0, 0, 0);                                                             \
            }                                                                                           \
        } else {                                                                                        \
            /* taller than wide: slide down columns, lanes = kernel columns */                          \
            const S w00 = w[0], w01 = w[3], w02 = w[6], w10 = w[1], w11 = w[4], w12 = w[7], w20 = w[2], \
                    w21 = w[5], w22 = w[8];                                                             \
            const ptrdiff_t ss = SW, os = DW;                                                           \
            const int sp0 = pt, sp1 = pb, n = DH;                                                       \
            for (int q = 0; q < DW; q++) {                                                              \
                const int left = q - pl;                                                                \
                const T *x1 = src + (left + 1);                                                         \
                const int has0 = left >= 0, has2 = left + 2 < SW;                                       \
                const T *x0 = has0 ? x1 - 1 : x1, *x2 = has2 ? x1 + 1 : x1;                             \
                T *out = dst + q;                                                                       \
                if (has0 && has2)                                                                       \
                    ROW_CALL(SUF, 1, 1, 1);                                                             \
                else if (has0)                                                                          \
                    ROW_CALL(SUF, 1, 0, 1);                                                             \
                else if (has2)                                                                          \
                    ROW_CALL(SUF, 0, 1, 1);                                                             \
                else                                                                                    \
                    ROW_CALL(SUF, 0, 0, 1);                                                             \
            }                                                                                           \
        }                                                                                               \
    }                                                                                                   \
    /* init_mode as a literal: each caller gets its own specialised copy */                            \
    static void plane_bias_##SUF(const T *src, int SH, int SW, int pt, int pl, int pb, int pr, const S w[9], \
                                 S bias, T *dst, int DH, int DW)                                        \
    {                                                                                                   \
        plane_##SUF(src, SH, SW, pt, pl, pb, pr, w, 0, bias, dst, DH, DW);                              \
    }                                                                                                   \
    static void plane_acc_##SUF(const T *src, int SH, int SW, int pt, int pl, int pb, int pr, const S w[9], \
                                T *dst, int DH, int DW)                                                 \
    {                                                                                                   \
        plane_##SUF(src, SH, SW, pt, pl, pb, pr, w, 1, (S)0, dst, DH, DW);                              \
    }                                                                                                   \
    static void plane_zero_##SUF(const T *src, int SH, int SW, int pt, int pl, int pb, int pr, const S w[9], \
                                 T *dst, int DH, int DW)                                                \
    {                                                                                                   \
        plane_##SUF(src, SH, SW, pt, pl, pb, pr, w, 2, (S)0, dst, DH, DW);                              \
    }

DEFINE_PLANE(mcuf_f16, h)
DEFINE_PLANE(float, f)

/* The window prefill reads source columns 0 and 1. */
static int width_ok(int src_w) { return src_w >= 2; }

mcuf_status mcuf_dwconv2d_f16_zfh(const mcuf_dwconv2d_params *p, const mcuf_f16 *restrict x,
                                  const mcuf_f16 *restrict w, const mcuf_f16 *restrict bias, mcuf_f16 *restrict y)
{
    mcuf_status st = mcuf_dwconv2d_check(p);
    if (st != MCUF_OK) return st;
    if (!x || !w || !y) return MCUF_ERR_ARG;
    if (!fast_ok(p) || !width_ok(p->W) || !width_ok(p->H)) return mcuf_dwconv2d_f16(p, x, w, bias, y);
    const mcuf_dwconv2d_params q = *p;
    for (int c = 0; c < q.C; c++) {
        const T *xc = x + (size_t)c * q.H * q.W;
        T *yc = y + (size_t)c * q.OH * q.OW;
        if (q.acc == MCUF_ACC_F32) {
            float wt[9];
            for (int t = 0; t < 9; t++) wt[t] = (float)w[c * 9 + t];
            plane_bias_f(xc, q.H, q.W, q.pad_top, q.pad_left, q.pad_bottom, q.pad_right, wt, bias ? (float)bias[c] : 0.0f, yc,
                         q.OH, q.OW);
        } else {
            plane_bias_h(xc, q.H, q.W, q.pad_top, q.pad_left, q.pad_bottom, q.pad_right, w + c * 9, bias ? bias[c] : (T)0, yc,
                         q.OH, q.OW);
        }
    }
    return MCUF_OK;
}

mcuf_status mcuf_dwconv2d_grad_input_f16_zfh(const mcuf_dwconv2d_params *p, const mcuf_f16 *restrict grad_y,
                                             const mcuf_f16 *restrict w, mcuf_f16 *restrict grad_x)
{
    mcuf_status st = mcuf_dwconv2d_check(p);
    if (st != MCUF_OK) return st;
    if (!grad_y || !w || !grad_x) return MCUF_ERR_ARG;
    /* grad_x = correlation of grad_y with the flipped kernel, pads 2 - pad (<= 1 needs pad >= 1) */
    const int pt = 2 - p->pad_top, pl = 2 - p->pad_left, pb = 2 - p->pad_bottom, pr = 2 - p->pad_right;
    if (!fast_ok(p) || pt > 1 || pl > 1 || pb > 1 || pr > 1 || !width_ok(p->OW) || !width_ok(p->OH))
        return mcuf_dwconv2d_grad_input_f16(p, grad_y, w, grad_x);
    const mcuf_dwconv2d_params q = *p;
    const int init = q.accumulate_grad ? 1 : 2;
    for (int c = 0; c < q.C; c++) {
        const T *gyc = grad_y + (size_t)c * q.OH * q.OW;
        T *gxc = grad_x + (size_t)c * q.H * q.W;
        if (q.acc == MCUF_ACC_F32) {
            float wt[9];
            for (int t = 0; t < 9; t++) wt[t] = (float)w[c * 9 + 8 - t];
            if (init == 1)
                plane_acc_f(gyc, q.OH, q.OW, pt, pl, pb, pr, wt, gxc, q.H, q.W);
            else
                plane_zero_f(gyc, q.OH, q.OW, pt, pl, pb, pr, wt, gxc, q.H, q.W);
        } else {
            T wt[9];
            for (int t = 0; t < 9; t++) wt[t] = w[c * 9 + 8 - t];
            if (init == 1)
                plane_acc_h(gyc, q.OH, q.OW, pt, pl, pb, pr, wt, gxc, q.H, q.W);
            else
                plane_zero_h(gyc, q.OH, q.OW, pt, pl, pb, pr, wt, gxc, q.H, q.W);
        }
    }
    return MCUF_OK;
}

/* ---- weight gradient: nine accumulators, one sweep over the output plane ----------------------- */
/* One line of the sweep: lanes x0..x2 (stride ss along the stream), gy values g[q*gs]. The nine
 * accumulators are s{lane}{stream offset}. */
#define DEFINE_GW(S, SUF)                                                                                \
    static inline __attribute__((always_inline)) void gw_line_##SUF(                                     \
        const T *restrict x0, const T *restrict x1, const T *restrict x2, const int has0, const int has2, \
        int sp0, int sp1, int n, const T *restrict g, const ptrdiff_t ss, const ptrdiff_t gs, S *restrict acc) \
    {                                                                                                    \
        typedef S S_t;                                                                                   \
        const S z = (S)0;                                                                                \
        S s00 = acc[0], s01 = acc[1], s02 = acc[2], s10 = acc[3], s11 = acc[4], s12 = acc[5],            \
          s20 = acc[6], s21 = acc[7], s22 = acc[8];                                                      \
        S a0, a1, a2, b0, b1, b2, c0, c1, c2;                                                            \
        if (sp0) {                                                                                       \
            a0 = a1 = a2 = z;                                                                            \
            GW_LOAD(b, 0);                                                                               \
        } else {                                                                                         \
            GW_LOAD(a, 0);                                                                               \
            GW_LOAD(b, 1);                                                                               \
        }                                                                                                \
        const int qend = n - sp1, k0 = 2 - sp0;                                                          \
        int q = 0;                                                                                       \
        for (; q + 3 <= qend; q += 3) {                                                                  \
            GW_LOAD(c, q + k0);                                                                          \
            GW_ACC(a, b, c, q);                                                                          \
            GW_LOAD(a, q + 1 + k0);                                                                      \
            GW_ACC(b, c, a, q + 1);                                                                      \
            GW_LOAD(b, q + 2 + k0);                                                                      \
            GW_ACC(c, a, b, q + 2);                                                                      \
        }                                                                                                \
        for (; q < qend; q++) {                                                                          \
            GW_LOAD(c, q + k0);                                                                          \
            GW_ACC(a, b, c, q);                                                                          \
            a0 = b0, a1 = b1, a2 = b2;                                                                   \
            b0 = c0, b1 = c1, b2 = c2;                                                                   \
        }                                                                                                \
        if (sp1) {                                                                                       \
            c0 = c1 = c2 = z;                                                                            \
            GW_ACC(a, b, c, q);                                                                          \
        }                                                                                                \
        acc[0] = s00, acc[1] = s01, acc[2] = s02, acc[3] = s10, acc[4] = s11, acc[5] = s12;              \
        acc[6] = s20, acc[7] = s21, acc[8] = s22;                                                        \
    }                                                                                                    \
    /* acc[9] in kernel order (i, j). Sweeps along rows when the plane is wide, down columns when tall */ \
    static void gw_plane_##SUF(const T *x, int H, int W, const T *gy, int OH, int OW, int pt, int pl,      \
                               int pb, int pr, S acc_ij[9])                                               \
    {                                                                                                    \
        S acc[9];                                                                                        \
        if (OH <= OW) {                                                                                  \
            for (int t = 0; t < 9; t++) acc[t] = acc_ij[t]; /* lane = i, stream = j */                   \
            for (int r = 0; r < OH; r++) {                                                               \
                const int top = r - pt;                                                                  \
                const T *x1 = x + (size_t)(top + 1) * W;                                                 \
                const int has0 = top >= 0, has2 = top + 2 < H;                                           \
                const T *x0 = has0 ? x1 - W : x1, *x2 = has2 ? x1 + W : x1;                              \
                const T *g = gy + (size_t)r * OW;                                                        \
                if (has0 && has2)                                                                        \
                    gw_line_##SUF(x0, x1, x2, 1, 1, pl, pr, OW, g, 1, 1, acc);                           \
                else if (has0)                                                                           \
                    gw_line_##SUF(x0, x1, x2, 1, 0, pl, pr, OW, g, 1, 1, acc);                           \
                else if (has2)                                                                           \
                    gw_line_##SUF(x0, x1, x2, 0, 1, pl, pr, OW, g, 1, 1, acc);                           \
                else                                                                                     \
                    gw_line_##SUF(x0, x1, x2, 0, 0, pl, pr, OW, g, 1, 1, acc);                           \
            }                                                                                            \
            for (int t = 0; t < 9; t++) acc_ij[t] = acc[t];                                              \
        } else {                                                                                         \
            for (int t = 0; t < 9; t++) acc[(t % 3) * 3 + t / 3] = acc_ij[t]; /* lane = j, stream = i */ \
            for (int q = 0; q < OW; q++) {                                                               \
                const int left = q - pl;                                                                 \
                const T *x1 = x + (left + 1);                                                            \
                const int has0 = left >= 0, has2 = left + 2 < W;                                         \
                const T *x0 = has0 ? x1 - 1 : x1, *x2 = has2 ? x1 + 1 : x1;                              \
                const T *g = gy + q;                                                                     \
                if (has0 && has2)                                                                        \
                    gw_line_##SUF(x0, x1, x2, 1, 1, pt, pb, OH, g, W, OW, acc);                          \
                else if (has0)                                                                           \
                    gw_line_##SUF(x0, x1, x2, 1, 0, pt, pb, OH, g, W, OW, acc);                          \
                else if (has2)                                                                           \
                    gw_line_##SUF(x0, x1, x2, 0, 1, pt, pb, OH, g, W, OW, acc);                          \
                else                                                                                     \
                    gw_line_##SUF(x0, x1, x2, 0, 0, pt, pb, OH, g, W, OW, acc);                          \
            }                                                                                            \
            for (int t = 0; t < 9; t++) acc_ij[t] = acc[(t % 3) * 3 + t / 3];                            \
        }                                                                                                \
    }

#define GW_LOAD(v, k)                           \
    do {                                        \
        v##0 = has0 ? (S_t)x0[(k) * ss] : z;    \
        v##1 = (S_t)x1[(k) * ss];               \
        v##2 = has2 ? (S_t)x2[(k) * ss] : z;    \
    } while (0)
/* lanes outside the source are skipped, like the portable code (which never visits them) */
#define GW_ACC(A, B, C, qq)                     \
    do {                                        \
        const S_t gv = (S_t)g[(qq) * gs];       \
        if (has0) {                             \
            s00 = (S_t)(s00 + gv * A##0);       \
            s01 = (S_t)(s01 + gv * B##0);       \
            s02 = (S_t)(s02 + gv * C##0);       \
        }                                       \
        s10 = (S_t)(s10 + gv * A##1);           \
        s11 = (S_t)(s11 + gv * B##1);           \
        s12 = (S_t)(s12 + gv * C##1);           \
        if (has2) {                             \
            s20 = (S_t)(s20 + gv * A##2);       \
            s21 = (S_t)(s21 + gv * B##2);       \
            s22 = (S_t)(s22 + gv * C##2);       \
        }                                       \
    } while (0)

DEFINE_GW(mcuf_f16, h)
DEFINE_GW(float, f)

mcuf_status mcuf_dwconv2d_grad_weight_f16_zfh(const mcuf_dwconv2d_params *p, const mcuf_f16 *restrict x,
                                              const mcuf_f16 *restrict grad_y, mcuf_f16 *restrict grad_w,
                                              mcuf_f16 *restrict grad_bias)
{
    mcuf_status st = mcuf_dwconv2d_check(p);
    if (st != MCUF_OK) return st;
    if (!x || !grad_y || !grad_w) return MCUF_ERR_ARG;
    if (!fast_ok(p) || !width_ok(p->W) || !width_ok(p->H))
        return mcuf_dwconv2d_grad_weight_f16(p, x, grad_y, grad_w, grad_bias);
    const mcuf_dwconv2d_params q = *p;
    const int n = q.OH * q.OW;
    for (int c = 0; c < q.C; c++) {
        const T *xc = x + (size_t)c * q.H * q.W;
        const T *gyc = grad_y + (size_t)c * n;
        T *gw = grad_w + (size_t)c * 9;
        if (q.acc == MCUF_ACC_F32) {
            float acc[9];
            for (int t = 0; t < 9; t++) acc[t] = q.accumulate_grad ? (float)gw[t] : 0.0f;
            gw_plane_f(xc, q.H, q.W, gyc, q.OH, q.OW, q.pad_top, q.pad_left, q.pad_bottom, q.pad_right, acc);
            for (int t = 0; t < 9; t++) gw[t] = (T)acc[t];
            if (grad_bias) {
                float s = q.accumulate_grad ? (float)grad_bias[c] : 0.0f;
                for (int k = 0; k < n; k++) s += (float)gyc[k];
                grad_bias[c] = (T)s;
            }
        } else {
            T acc[9];
            for (int t = 0; t < 9; t++) acc[t] = q.accumulate_grad ? gw[t] : (T)0;
            gw_plane_h(xc, q.H, q.W, gyc, q.OH, q.OW, q.pad_top, q.pad_left, q.pad_bottom, q.pad_right, acc);
            for (int t = 0; t < 9; t++) gw[t] = acc[t];
            if (grad_bias) {
                T s = q.accumulate_grad ? grad_bias[c] : (T)0;
                for (int k = 0; k < n; k++) s = (T)(s + gyc[k]);
                grad_bias[c] = s;
            }
        }
    }
    return MCUF_OK;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int mcuf_dwconv_zfh_unused;
#endif
