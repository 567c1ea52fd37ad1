/* mcuf_dwconv_rvv.c: depthwise convolution with RVV 1.0 + Zvfh (VLEN-agnostic: every strip length
 * comes from vsetvl, never from a compile-time VLEN). See mcuf_dwconv.h for the paths:
 *   flat_tap     stride 1, OW == W, small planes: tap -> strip -> channel, output as accumulator;
 *   flat_plane3  stride 1, OW == W, 3x3, larger planes: a strip in registers across the nine taps;
 *   flat_plane   the same for any kernel size (masks from a per-lane column index);
 *   *_general    other strides: output rows, strided loads;
 *   gw3_*        3x3 weight gradient with channels in lanes; flat_dot_* / dot_* otherwise;
 *   conv3_lanes_f32acc  3x3 forward / input gradient with FP32 accumulation, channels in lanes.
 * Columns that would wrap into the neighbouring row are masked off; a masked-off lane of a load
 * touches no memory, so addresses just before a plane are never accessed. */
#if defined(__riscv_zvfh)
#include <riscv_vector.h>

#include "mcuf_dwconv.h"

static int flat_ok(const mcuf_dwconv2d_params *p)
{
    /* whole rows per strip: a row must fit in one vector register group */
    return p->stride_h == 1 && p->stride_w == 1 && p->OW == p->W && (size_t)p->W <= __riscv_vsetvlmax_e16m8();
}

/* Column-valid mask for lanes f0 .. f0+vl of a plane of width W: (f % W) + dc in [0, W). */
static inline vbool2_t col_mask(size_t f0, int W, int dc, size_t vl)
{
    vuint16m8_t col = __riscv_vadd_vx_u16m8(__riscv_vid_v_u16m8(vl), (uint16_t)(f0 % (size_t)W), vl);
    col = __riscv_vremu_vx_u16m8(col, (uint16_t)W, vl);
    if (dc < 0) return __riscv_vmsgeu_vx_u16m8_b2(col, (uint16_t)(-dc), vl);
    return __riscv_vmsltu_vx_u16m8_b2(col, (uint16_t)(W - dc), vl);
}

/* dst[c][f] = value (broadcast, or bias[c]) over a plane of n elements, for every channel. */
static void fill_planes(int C, size_t n, const mcuf_f16 *bias, mcuf_f16 *dst)
{
    for (int c = 0; c < C; c++) {
        const mcuf_f16 b = bias ? bias[c] : (mcuf_f16)0;
        mcuf_f16 *d = dst + (size_t)c * n;
        for (size_t f = 0; f < n;) {
            size_t vl = __riscv_vsetvl_e16m8(n - f);
            __riscv_vse16_v_f16m8(d + f, __riscv_vfmv_v_f_f16m8(b, vl), vl);
            f += vl;
        }
    }
}

/* Lanes of a strip that starts at a row boundary: column index (lane % W), the same for every strip,
 * so it is computed once per call. */
static inline vuint16m8_t col_index(int W, size_t vl)
{
    return __riscv_vremu_vx_u16m8(__riscv_vid_v_u16m8(vl), (uint16_t)W, vl);
}

static inline vbool2_t col_valid(vuint16m8_t col, int W, int dc, size_t vl)
{
    if (dc < 0) return __riscv_vmsgeu_vx_u16m8_b2(col, (uint16_t)(-dc), vl);
    return __riscv_vmsltu_vx_u16m8_b2(col, (uint16_t)(W - dc), vl);
}

/* One channel, whole-plane path (stride 1, width W on both sides):
 *   dst[r, q] = init + sum_{a<kh, b<kw} wt(a, b) * src[r + a - PT, q + b - PL]   (src zero outside)
 * wt(a, b) = wc[a*kw + b], or wc[(kh-1-a)*kw + kw-1-b] when flip (input gradient). Strips are whole
 * rows; rows where some tap leaves the source (the first PT and last rows) are strips of one row, so a
 * tap is either valid for the whole strip or skipped, and only columns need a mask. The strip stays
 * in registers across the kh*kw taps; terms are added in the (a, b) order of the portable code. */
static void flat_plane(int DH, int SH, int W, int PT, int PL, int kh, int kw, int flip, const mcuf_f16 *src,
                       const mcuf_f16 *wc, int init_mode, mcuf_f16 bias, mcuf_f16 *dst, vuint16m8_t col,
                       size_t rows_per_strip)
{
    /* rows whose every tap row lies inside the source */
    const int in_lo = PT, in_hi = SH - (kh - 1 - PT) < DH ? SH - (kh - 1 - PT) : DH;
    for (int r = 0; r < DH;) {
        int nr = 1;
        if (r >= in_lo && r < in_hi) {
            nr = in_hi - r < (int)rows_per_strip ? in_hi - r : (int)rows_per_strip;
        }
        const size_t vl = __riscv_vsetvl_e16m8((size_t)nr * W);
        mcuf_f16 *d = dst + (size_t)r * W;
        vfloat16m8_t acc = init_mode == 0   ? __riscv_vfmv_v_f_f16m8(bias, vl)
                           : init_mode == 1 ? __riscv_vle16_v_f16m8(d, vl)
                                            : __riscv_vfmv_v_f_f16m8((mcuf_f16)0, vl);
        for (int a = 0; a < kh; a++) {
            const int sr = r + a - PT; /* source row of the strip's first row */
            if (sr < 0 || sr + nr > SH) continue;
            const mcuf_f16 *srow = src + (ptrdiff_t)sr * W;
            for (int b = 0; b < kw; b++) {
                const int dc = b - PL;
                const mcuf_f16 wv = flip ? wc[(kh - 1 - a) * kw + (kw - 1 - b)] : wc[a * kw + b];
                if (dc == 0) {
                    acc = __riscv_vfmacc_vf_f16m8(acc, wv, __riscv_vle16_v_f16m8(srow, vl), vl);
                } else {
                    const vbool2_t m = col_valid(col, W, dc, vl);
                    /* a masked-off lane touches no memory: reading "before" the plane is safe */
                    vfloat16m8_t v = __riscv_vle16_v_f16m8_m(m, srow + dc, vl);
                    acc = __riscv_vfmacc_vf_f16m8_mu(m, acc, wv, v, vl);
                }
            }
        }
        __riscv_vse16_v_f16m8(d, acc, vl);
        r += nr;
    }
}

/* The common case, 3x3 kernel with PT <= 1 and PL == 1, per channel in strips of VLMAX lanes over the
 * flat plane (strips need not start at a row boundary). Per strip: the column masks (left/right neighbour inside the row) from the lane's column
 * index; the first PT rows of the plane are masked for the upper kernel row; taps reading below the
 * last source row shorten vl (tail undisturbed). One load and one fused multiply-add per tap, in the
 * portable code's order of additions. */
static void flat_plane3(int DH, int SH, int W, int PT, int flip, const mcuf_f16 *src, const mcuf_f16 *wc,
                        int init_mode, mcuf_f16 bias, mcuf_f16 *dst)
{
    mcuf_f16 wt[9];
    for (int t = 0; t < 9; t++) wt[t] = wc[flip ? 8 - t : t];
    const size_t n = (size_t)DH * W, vlmax = __riscv_vsetvlmax_e16m8();
    for (size_t f0 = 0; f0 < n;) {
        const size_t vl = __riscv_vsetvl_e16m8(n - f0 < vlmax ? n - f0 : vlmax);
        const vuint16m8_t lane = __riscv_vid_v_u16m8(vl);
        const vuint16m8_t col =
            __riscv_vremu_vx_u16m8(__riscv_vadd_vx_u16m8(lane, (uint16_t)(f0 % (size_t)W), vl), (uint16_t)W, vl);
        const vbool2_t ml = __riscv_vmsgeu_vx_u16m8_b2(col, 1, vl);
        const vbool2_t mr = __riscv_vmsltu_vx_u16m8_b2(col, (uint16_t)(W - 1), vl);
        /* only the first strip can hold row 0, which has no row above it in the source */
        const int top = PT == 1 && f0 < (size_t)W;
        mcuf_f16 *d = dst + f0;
        vfloat16m8_t acc = init_mode == 0   ? __riscv_vfmv_v_f_f16m8(bias, vl)
                           : init_mode == 1 ? __riscv_vle16_v_f16m8(d, vl)
                                            : __riscv_vfmv_v_f_f16m8((mcuf_f16)0, vl);
        for (int a = 0; a < 3; a++) {
            const int dr = a - PT;
            /* lanes f (plane index) with source row inside: f + dr*W in [0, SH*W) */
            const ptrdiff_t end = (ptrdiff_t)(SH - dr) * W - (ptrdiff_t)f0;
            if (end <= 0) continue;
            const size_t va = (size_t)end < vl ? (size_t)end : vl;
            const mcuf_f16 *srow = src + (ptrdiff_t)f0 + (ptrdiff_t)dr * W;
            const mcuf_f16 w0 = wt[a * 3], w1 = wt[a * 3 + 1], w2 = wt[a * 3 + 2];
            if (dr < 0 && top) {
                const vbool2_t mt = __riscv_vmsgeu_vx_u16m8_b2(lane, (uint16_t)(W - f0), vl);
                const vbool2_t mlt = __riscv_vmand_mm_b2(ml, mt, vl), mrt = __riscv_vmand_mm_b2(mr, mt, vl);
                acc = __riscv_vfmacc_vf_f16m8_tumu(mlt, acc, w0, __riscv_vle16_v_f16m8_m(mlt, srow - 1, va), va);
                acc = __riscv_vfmacc_vf_f16m8_tumu(mt, acc, w1, __riscv_vle16_v_f16m8_m(mt, srow, va), va);
                acc = __riscv_vfmacc_vf_f16m8_tumu(mrt, acc, w2, __riscv_vle16_v_f16m8_m(mrt, srow + 1, va), va);
            } else {
                acc = __riscv_vfmacc_vf_f16m8_tumu(ml, acc, w0, __riscv_vle16_v_f16m8_m(ml, srow - 1, va), va);
                acc = __riscv_vfmacc_vf_f16m8_tu(acc, w1, __riscv_vle16_v_f16m8(srow, va), va);
                acc = __riscv_vfmacc_vf_f16m8_tumu(mr, acc, w2, __riscv_vle16_v_f16m8_m(mr, srow + 1, va), va);
            }
        }
        __riscv_vse16_v_f16m8(d, acc, vl);
        f0 += vl;
    }
}

static size_t rows_per_strip(int W)
{
    const size_t vlmax = __riscv_vsetvlmax_e16m8();
    return (size_t)W <= vlmax ? vlmax / (size_t)W : 0;
}

/* Small planes (a few strips per channel): loop tap -> strip -> channel with the output strip in
 * memory as the accumulator (load, fused multiply-add, store): each column mask is computed once per
 * strip and shared by all C channels, which beats per-channel set-up when a plane is one or two
 * strips (DS-CNN: 125 elements). Same order of additions (taps in order, after the init pass).
 * For every channel c: dst_c[r, q] += wt[c*kk] * src_c[r + dr, q + dc] where the source is inside. */
static void flat_tap(int C, int DH, int SH, int W, int dr, int dc, const mcuf_f16 *src, const mcuf_f16 *wt,
                     int kk, mcuf_f16 *dst)
{
    const int r0 = dr < 0 ? -dr : 0;
    const int r1 = SH - dr < DH ? SH - dr : DH;
    if (r1 <= r0) return;
    const size_t dplane = (size_t)DH * W, splane = (size_t)SH * W;
    const ptrdiff_t off = (ptrdiff_t)dr * W + dc;
    const size_t vlmax = __riscv_vsetvlmax_e16m8();
    const size_t fend = (size_t)r1 * W;
    for (size_t f0 = (size_t)r0 * W; f0 < fend;) {
        const size_t vl = __riscv_vsetvl_e16m8(fend - f0 < vlmax ? fend - f0 : vlmax);
        const mcuf_f16 *s = src + f0 + off;
        mcuf_f16 *d = dst + f0;
        if (dc == 0) {
            for (int c = 0; c < C; c++) {
                vfloat16m8_t o = __riscv_vle16_v_f16m8(d, vl);
                o = __riscv_vfmacc_vf_f16m8(o, wt[(size_t)c * kk], __riscv_vle16_v_f16m8(s, vl), vl);
                __riscv_vse16_v_f16m8(d, o, vl);
                s += splane;
                d += dplane;
            }
        } else {
            const vbool2_t m = col_mask(f0, W, dc, vl);
            for (int c = 0; c < C; c++) {
                vfloat16m8_t o = __riscv_vle16_v_f16m8(d, vl);
                vfloat16m8_t v = __riscv_vle16_v_f16m8_m(m, s, vl);
                o = __riscv_vfmacc_vf_f16m8_mu(m, o, wt[(size_t)c * kk], v, vl);
                __riscv_vse16_v_f16m8(d, o, vl);
                s += splane;
                d += dplane;
            }
        }
        f0 += vl;
    }
}

/* Planes of at most this many strips take the flat_tap path. */
#define SMALL_PLANE_STRIPS 3

/* Output columns ow in [*lo, *hi) whose input column ow*sw + j - pad_left lies in [0, W). */
static void col_range(const mcuf_dwconv2d_params *p, int j, int *lo, int *hi)
{
    const int t = p->pad_left - j; /* ow*sw >= t */
    int a = t <= 0 ? 0 : (t + p->stride_w - 1) / p->stride_w;
    int b = (p->W - 1 + t) < 0 ? 0 : (p->W - 1 + t) / p->stride_w + 1;
    if (b > p->OW) b = p->OW;
    *lo = a;
    *hi = b < a ? a : b;
}

static void fwd_general(const mcuf_dwconv2d_params *p, const mcuf_f16 *x, const mcuf_f16 *w,
                        const mcuf_f16 *bias, mcuf_f16 *y)
{
    const int kk = p->kh * p->kw;
    const ptrdiff_t sstride = (ptrdiff_t)p->stride_w * (ptrdiff_t)sizeof(mcuf_f16);
    fill_planes(p->C, (size_t)p->OH * p->OW, bias, y);
    for (int c = 0; c < p->C; c++) {
        const mcuf_f16 *xc = x + (size_t)c * p->H * p->W;
        for (int oh = 0; oh < p->OH; oh++) {
            mcuf_f16 *yr = y + ((size_t)c * p->OH + oh) * p->OW;
            for (int i = 0; i < p->kh; i++) {
                const int ih = oh * p->stride_h + i - p->pad_top;
                if (ih < 0 || ih >= p->H) continue;
                for (int j = 0; j < p->kw; j++) {
                    int lo, hi;
                    col_range(p, j, &lo, &hi);
                    const mcuf_f16 wv = w[(size_t)c * kk + i * p->kw + j];
                    for (int ow = lo; ow < hi;) {
                        size_t vl = __riscv_vsetvl_e16m8((size_t)(hi - ow));
                        const mcuf_f16 *s = xc + (size_t)ih * p->W + (ow * p->stride_w + j - p->pad_left);
                        vfloat16m8_t o = __riscv_vle16_v_f16m8(yr + ow, vl);
                        vfloat16m8_t v = __riscv_vlse16_v_f16m8(s, sstride, vl);
                        __riscv_vse16_v_f16m8(yr + ow, __riscv_vfmacc_vf_f16m8(o, wv, v, vl), vl);
                        ow += (int)vl;
                    }
                }
            }
        }
    }
}

/* 3x3 with FP32 accumulation, channels in vector lanes: the nine weight vectors (one value per
 * channel, strided loads) stay in registers; per output position one strided load per tap inside the
 * source and one widening fused multiply-add into the FP32 accumulator, rounded once to FP16.
 *   dst[c, r, q] = init + sum_{a,b} wt(a,b) * src[c, r*s + a - PT, q*s + b - PL]
 * wt(a, b) = w[c, a, b], or w[c, 2-a, 2-b] when flip (input gradient, stride 1). Terms in (a, b)
 * order after init, as the portable code: the same FP32 sum, the same FP16 result. */
static void conv3_lanes_f32acc(int C, const mcuf_f16 *src, int SH, int SW, int sh, int sw, int PT, int PL,
                               const mcuf_f16 *w, int flip, int init_mode, const mcuf_f16 *bias, mcuf_f16 *dst,
                               int DH, int DW)
{
    const ptrdiff_t ss = (ptrdiff_t)SH * SW * 2, ds = (ptrdiff_t)DH * DW * 2; /* channel strides, bytes */
    for (int c0 = 0; c0 < C;) {
        const size_t vl = __riscv_vsetvl_e16m1((size_t)(C - c0));
        const mcuf_f16 *wc = w + (size_t)c0 * 9;
#define WV(t) __riscv_vlse16_v_f16m1(wc + (flip ? 8 - (t) : (t)), 18, vl)
        const vfloat16m1_t w0 = WV(0), w1 = WV(1), w2 = WV(2), w3 = WV(3), w4 = WV(4), w5 = WV(5), w6 = WV(6),
                           w7 = WV(7), w8 = WV(8);
#undef WV
        const vfloat32m2_t b = init_mode == 0 && bias
                                   ? __riscv_vfwcvt_f_f_v_f32m2(__riscv_vle16_v_f16m1(bias + c0, vl), vl)
                                   : __riscv_vfmv_v_f_f32m2(0.0f, vl);
        const mcuf_f16 *sc = src + (size_t)c0 * SH * SW;
        mcuf_f16 *dc = dst + (size_t)c0 * DH * DW;
        for (int r = 0; r < DH; r++) {
            const int t = r * sh - PT;
            const int v0 = t >= 0 && t < SH, v1 = t + 1 >= 0 && t + 1 < SH, v2 = t + 2 >= 0 && t + 2 < SH;
            for (int q = 0; q < DW; q++) {
                const int l = q * sw - PL;
                const int u0 = l >= 0 && l < SW, u1 = l + 1 >= 0 && l + 1 < SW, u2 = l + 2 >= 0 && l + 2 < SW;
                mcuf_f16 *d = dc + (size_t)r * DW + q;
                vfloat32m2_t acc = init_mode == 1 ? __riscv_vfwcvt_f_f_v_f32m2(__riscv_vlse16_v_f16m1(d, ds, vl), vl) : b;
                const mcuf_f16 *xp = sc + (ptrdiff_t)t * SW + l;
                if (v0 && v2 && u0 && u2) { /* interior: straight-line, no per-tap test */
                    const mcuf_f16 *x1 = xp + SW, *x2 = xp + 2 * SW;
                    acc = __riscv_vfwmacc_vv_f32m2(acc, w0, __riscv_vlse16_v_f16m1(xp, ss, vl), vl);
                    acc = __riscv_vfwmacc_vv_f32m2(acc, w1, __riscv_vlse16_v_f16m1(xp + 1, ss, vl), vl);
                    acc = __riscv_vfwmacc_vv_f32m2(acc, w2, __riscv_vlse16_v_f16m1(xp + 2, ss, vl), vl);
                    acc = __riscv_vfwmacc_vv_f32m2(acc, w3, __riscv_vlse16_v_f16m1(x1, ss, vl), vl);
                    acc = __riscv_vfwmacc_vv_f32m2(acc, w4, __riscv_vlse16_v_f16m1(x1 + 1, ss, vl), vl);
                    acc = __riscv_vfwmacc_vv_f32m2(acc, w5, __riscv_vlse16_v_f16m1(x1 + 2, ss, vl), vl);
                    acc = __riscv_vfwmacc_vv_f32m2(acc, w6, __riscv_vlse16_v_f16m1(x2, ss, vl), vl);
                    acc = __riscv_vfwmacc_vv_f32m2(acc, w7, __riscv_vlse16_v_f16m1(x2 + 1, ss, vl), vl);
                    acc = __riscv_vfwmacc_vv_f32m2(acc, w8, __riscv_vlse16_v_f16m1(x2 + 2, ss, vl), vl);
                    __riscv_vsse16_v_f16m1(d, ds, __riscv_vfncvt_f_f_w_f16m1(acc, vl), vl);
                    continue;
                }
#define TAP(ok, wv, off) \
    if (ok) acc = __riscv_vfwmacc_vv_f32m2(acc, wv, __riscv_vlse16_v_f16m1(xp + (off), ss, vl), vl)
                if (v0) {
                    TAP(u0, w0, 0);
                    TAP(u1, w1, 1);
                    TAP(u2, w2, 2);
                }
                if (v1) {
                    TAP(u0, w3, SW);
                    TAP(u1, w4, SW + 1);
                    TAP(u2, w5, SW + 2);
                }
                if (v2) {
                    TAP(u0, w6, 2 * SW);
                    TAP(u1, w7, 2 * SW + 1);
                    TAP(u2, w8, 2 * SW + 2);
                }
#undef TAP
                __riscv_vsse16_v_f16m1(d, ds, __riscv_vfncvt_f_f_w_f16m1(acc, vl), vl);
            }
        }
        c0 += (int)vl;
    }
}

/* The definitions of the forward and weight gradient leave out the restrict of their prototypes
 * (mcuf_dwconv.h, the contract): with it clang-19 schedules them a few instructions longer. */
mcuf_status mcuf_dwconv2d_f16_rvv(const mcuf_dwconv2d_params *p, const mcuf_f16 *x, const mcuf_f16 *w,
                                  const mcuf_f16 *bias, mcuf_f16 *y)
{
    mcuf_status st = mcuf_dwconv2d_check(p);
    if (st != MCUF_OK) return st;
    if (!x || !w || !y) return MCUF_ERR_ARG;
    if (p->acc == MCUF_ACC_F32) {
        if (p->kh == 3 && p->kw == 3 && (size_t)p->C >= 2 * __riscv_vsetvlmax_e16m1()) {
            conv3_lanes_f32acc(p->C, x, p->H, p->W, p->stride_h, p->stride_w, p->pad_top, p->pad_left, w, 0, 0, bias,
                               y, p->OH, p->OW);
            return MCUF_OK;
        }
        return mcuf_dwconv2d_f16_zfh(p, x, w, bias, y); /* few channels: the scalar window (Zvfh implies Zfh) */
    }
    if (!flat_ok(p)) {
        fwd_general(p, x, w, bias, y);
        return MCUF_OK;
    }
    const mcuf_dwconv2d_params q = *p;
    if ((size_t)q.OH * q.W <= SMALL_PLANE_STRIPS * __riscv_vsetvlmax_e16m8()) {
        fill_planes(q.C, (size_t)q.OH * q.W, bias, y);
        for (int i = 0; i < q.kh; i++)
            for (int j = 0; j < q.kw; j++)
                flat_tap(q.C, q.OH, q.H, q.W, i - q.pad_top, j - q.pad_left, x, w + i * q.kw + j, q.kh * q.kw, y);
        return MCUF_OK;
    }
    const size_t rps = rows_per_strip(q.W);
    const vuint16m8_t col = col_index(q.W, rps * (size_t)q.W);
    if (q.kh == 3 && q.kw == 3 && q.pad_left == 1 && q.pad_top <= 1 && q.W >= 2) {
        for (int c = 0; c < q.C; c++)
            flat_plane3(q.OH, q.H, q.W, q.pad_top, 0, x + (size_t)c * q.H * q.W, w + (size_t)c * 9, 0,
                        bias ? bias[c] : (mcuf_f16)0, y + (size_t)c * q.OH * q.W);
        return MCUF_OK;
    }
    for (int c = 0; c < q.C; c++)
        flat_plane(q.OH, q.H, q.W, q.pad_top, q.pad_left, q.kh, q.kw, 0, x + (size_t)c * q.H * q.W,
                   w + (size_t)c * q.kh * q.kw, 0, bias ? bias[c] : (mcuf_f16)0, y + (size_t)c * q.OH * q.W, col, rps);
    return MCUF_OK;
}

/* Stride > 1 (or OW != W): scatter each output row's contribution into the input rows. */
static void gin_general(const mcuf_dwconv2d_params *p, const mcuf_f16 *gy, const mcuf_f16 *w, mcuf_f16 *gx)
{
    const int kk = p->kh * p->kw;
    const ptrdiff_t sstride = (ptrdiff_t)p->stride_w * (ptrdiff_t)sizeof(mcuf_f16);
    for (int c = 0; c < p->C; c++) {
        mcuf_f16 *gxc = gx + (size_t)c * p->H * p->W;
        for (int oh = 0; oh < p->OH; oh++) {
            const mcuf_f16 *gyr = gy + ((size_t)c * p->OH + oh) * p->OW;
            for (int i = 0; i < p->kh; i++) {
                const int ih = oh * p->stride_h + i - p->pad_top;
                if (ih < 0 || ih >= p->H) continue;
                for (int j = 0; j < p->kw; j++) {
                    int lo, hi;
                    col_range(p, j, &lo, &hi);
                    const mcuf_f16 wv = w[(size_t)c * kk + i * p->kw + j];
                    for (int ow = lo; ow < hi;) {
                        size_t vl = __riscv_vsetvl_e16m8((size_t)(hi - ow));
                        mcuf_f16 *d = gxc + (size_t)ih * p->W + (ow * p->stride_w + j - p->pad_left);
                        vfloat16m8_t o = __riscv_vlse16_v_f16m8(d, sstride, vl);
                        vfloat16m8_t v = __riscv_vle16_v_f16m8(gyr + ow, vl);
                        __riscv_vsse16_v_f16m8(d, sstride, __riscv_vfmacc_vf_f16m8(o, wv, v, vl), vl);
                        ow += (int)vl;
                    }
                }
            }
        }
    }
}

mcuf_status mcuf_dwconv2d_grad_input_f16_rvv(const mcuf_dwconv2d_params *p, const mcuf_f16 *restrict grad_y,
                                             const mcuf_f16 *restrict w, mcuf_f16 *restrict grad_x)
{
    mcuf_status st = mcuf_dwconv2d_check(p);
    if (st != MCUF_OK) return st;
    if (!grad_y || !w || !grad_x) return MCUF_ERR_ARG;
    if (p->acc == MCUF_ACC_F32) {
        if (p->kh == 3 && p->kw == 3 && p->stride_h == 1 && p->stride_w == 1 &&
            (size_t)p->C >= 2 * __riscv_vsetvlmax_e16m1()) {
            conv3_lanes_f32acc(p->C, grad_y, p->OH, p->OW, 1, 1, 2 - p->pad_top, 2 - p->pad_left, w, 1,
                               p->accumulate_grad ? 1 : 2, NULL, grad_x, p->H, p->W);
            return MCUF_OK;
        }
        return mcuf_dwconv2d_grad_input_f16_zfh(p, grad_y, w, grad_x);
    }
    if (!flat_ok(p)) {
        if (!p->accumulate_grad) fill_planes(p->C, (size_t)p->H * p->W, NULL, grad_x);
        gin_general(p, grad_y, w, grad_x);
        return MCUF_OK;
    }
    /* grad_x = correlation of grad_y with the flipped kernel, pads kh-1-pad_top, kw-1-pad_left */
    const mcuf_dwconv2d_params q = *p;
    if ((size_t)q.H * q.W <= SMALL_PLANE_STRIPS * __riscv_vsetvlmax_e16m8()) {
        if (!q.accumulate_grad) fill_planes(q.C, (size_t)q.H * q.W, NULL, grad_x);
        /* grad_x[ih, iw] += w[i, j] * grad_y[ih + pad_top - i, iw + pad_left - j], kernel flipped */
        for (int i = q.kh - 1; i >= 0; i--)
            for (int j = q.kw - 1; j >= 0; j--)
                flat_tap(q.C, q.H, q.OH, q.W, q.pad_top - i, q.pad_left - j, grad_y, w + i * q.kw + j, q.kh * q.kw,
                         grad_x);
        return MCUF_OK;
    }
    const size_t rps = rows_per_strip(q.W);
    const vuint16m8_t col = col_index(q.W, rps * (size_t)q.W);
    if (q.kh == 3 && q.kw == 3 && q.pad_left == 1 && q.pad_top >= 1 && q.W >= 2) {
        for (int c = 0; c < q.C; c++)
            flat_plane3(q.H, q.OH, q.W, 2 - q.pad_top, 1, grad_y + (size_t)c * q.OH * q.W, w + (size_t)c * 9,
                        q.accumulate_grad ? 1 : 2, (mcuf_f16)0, grad_x + (size_t)c * q.H * q.W);
        return MCUF_OK;
    }
    for (int c = 0; c < q.C; c++)
        flat_plane(q.H, q.OH, q.W, q.kh - 1 - q.pad_top, q.kw - 1 - q.pad_left, q.kh, q.kw, 1,
                   grad_y + (size_t)c * q.OH * q.W, w + (size_t)c * q.kh * q.kw, q.accumulate_grad ? 1 : 2, (mcuf_f16)0,
                   grad_x + (size_t)c * q.H * q.W, col, rps);
    return MCUF_OK;
}

/* Weight gradient: each weight is a dot product over the output plane, summed in vector lanes
 * (FP16 m8 or, for MCUF_ACC_F32, widening into FP32 m8 from FP16 m4) and reduced once. */
static inline void put(mcuf_f16 *dst, float v, int accumulate)
{
    *dst = accumulate ? (mcuf_f16)((float)*dst + v) : (mcuf_f16)v;
}

/* General-path dot product of n values: a[k] * b[k * bstride] (b strided for stride_w > 1). */
static float dot_f32(const mcuf_f16 *a, const mcuf_f16 *b, size_t n, ptrdiff_t bstride_bytes)
{
    const size_t vlmax = __riscv_vsetvlmax_e16m4();
    vfloat32m8_t acc = __riscv_vfmv_v_f_f32m8(0.0f, vlmax);
    for (size_t f = 0; f < n;) {
        const size_t vl = __riscv_vsetvl_e16m4(n - f < vlmax ? n - f : vlmax);
        vfloat16m4_t va = __riscv_vle16_v_f16m4(a + f, vl);
        vfloat16m4_t vb = __riscv_vlse16_v_f16m4(b + f * (size_t)(bstride_bytes / 2), bstride_bytes, vl);
        acc = __riscv_vfwmacc_vv_f32m8_tu(acc, va, vb, vl);
        f += vl;
    }
    vfloat32m1_t r = __riscv_vfredusum_vs_f32m8_f32m1(acc, __riscv_vfmv_s_f_f32m1(0.0f, 1), vlmax);
    return __riscv_vfmv_f_s_f32m1_f32(r);
}

static mcuf_f16 dot_f16(const mcuf_f16 *a, const mcuf_f16 *b, size_t n, ptrdiff_t bstride_bytes)
{
    const size_t vlmax = __riscv_vsetvlmax_e16m8();
    vfloat16m8_t acc = __riscv_vfmv_v_f_f16m8((mcuf_f16)0, vlmax);
    for (size_t f = 0; f < n;) {
        const size_t vl = __riscv_vsetvl_e16m8(n - f < vlmax ? n - f : vlmax);
        vfloat16m8_t va = __riscv_vle16_v_f16m8(a + f, vl);
        vfloat16m8_t vb = __riscv_vlse16_v_f16m8(b + f * (size_t)(bstride_bytes / 2), bstride_bytes, vl);
        acc = __riscv_vfmacc_vv_f16m8_tu(acc, va, vb, vl);
        f += vl;
    }
    vfloat16m1_t r = __riscv_vfredusum_vs_f16m8_f16m1(acc, __riscv_vfmv_s_f_f16m1((mcuf_f16)0, 1), vlmax);
    return __riscv_vfmv_f_s_f16m1_f16(r);
}

/* Whole-plane weight gradient of one tap: sum over dst rows [r0, r1) (all W columns) of
 * gy[r, q] * x[r + dr, q + dc], columns masked where q + dc leaves [0, W). Strips of whole rows. */
static mcuf_f16 flat_dot_f16(const mcuf_f16 *gy, const mcuf_f16 *x, int r0, int r1, int W, int dr, int dc,
                             vuint16m8_t col, size_t rps)
{
    const size_t vlmax = __riscv_vsetvlmax_e16m8();
    vfloat16m8_t acc = __riscv_vfmv_v_f_f16m8((mcuf_f16)0, vlmax);
    for (int r = r0; r < r1;) {
        const int nr = r1 - r < (int)rps ? r1 - r : (int)rps;
        const size_t vl = __riscv_vsetvl_e16m8((size_t)nr * W);
        const mcuf_f16 *g = gy + (size_t)r * W, *xs = x + (ptrdiff_t)(r + dr) * W + dc;
        vfloat16m8_t vg = __riscv_vle16_v_f16m8(g, vl);
        if (dc == 0) {
            acc = __riscv_vfmacc_vv_f16m8_tu(acc, vg, __riscv_vle16_v_f16m8(xs, vl), vl);
        } else {
            const vbool2_t m = col_valid(col, W, dc, vl);
            acc = __riscv_vfmacc_vv_f16m8_tumu(m, acc, vg, __riscv_vle16_v_f16m8_m(m, xs, vl), vl);
        }
        r += nr;
    }
    vfloat16m1_t red = __riscv_vfredusum_vs_f16m8_f16m1(acc, __riscv_vfmv_s_f_f16m1((mcuf_f16)0, 1), vlmax);
    return __riscv_vfmv_f_s_f16m1_f16(red);
}

/* The same with FP32 accumulation: FP16 strips at LMUL 4 widened into FP32 at LMUL 8. */
static float flat_dot_f32(const mcuf_f16 *gy, const mcuf_f16 *x, int r0, int r1, int W, int dr, int dc,
                          vuint16m4_t col, size_t rps)
{
    const size_t vlmax = __riscv_vsetvlmax_e16m4();
    vfloat32m8_t acc = __riscv_vfmv_v_f_f32m8(0.0f, vlmax);
    for (int r = r0; r < r1;) {
        const int nr = r1 - r < (int)rps ? r1 - r : (int)rps;
        const size_t vl = __riscv_vsetvl_e16m4((size_t)nr * W);
        const mcuf_f16 *g = gy + (size_t)r * W, *xs = x + (ptrdiff_t)(r + dr) * W + dc;
        vfloat16m4_t vg = __riscv_vle16_v_f16m4(g, vl);
        if (dc == 0) {
            acc = __riscv_vfwmacc_vv_f32m8_tu(acc, vg, __riscv_vle16_v_f16m4(xs, vl), vl);
        } else {
            const vbool4_t m = dc < 0 ? __riscv_vmsgeu_vx_u16m4_b4(col, (uint16_t)(-dc), vl)
                                      : __riscv_vmsltu_vx_u16m4_b4(col, (uint16_t)(W - dc), vl);
            acc = __riscv_vfwmacc_vv_f32m8_tumu(m, acc, vg, __riscv_vle16_v_f16m4_m(m, xs, vl), vl);
        }
        r += nr;
    }
    vfloat32m1_t red = __riscv_vfredusum_vs_f32m8_f32m1(acc, __riscv_vfmv_s_f_f32m1(0.0f, 1), vlmax);
    return __riscv_vfmv_f_s_f32m1_f32(red);
}


/* 3x3 weight gradient with channels in vector lanes: for each output position, one strided load of
 * grad_y (one value per channel) and, per tap inside the input, one strided load of x and one fused
 * multiply-add into that tap's accumulator; the bias gradient is a tenth accumulator. Ten accumulators
 * at LMUL 2 (FP16) or FP32 at LMUL 2 from FP16 at LMUL 1 fit the register file. Each weight sums its
 * terms over positions in raster order, as the portable code does (FP16: the same result bit for bit).
 * Strided loads are one instruction each; on hardware they cost one memory access per element. */
#define GW3_BODY(VT, GT, LD_GY, LD_X, MACC, ADD, ZERO, INIT, STORE)                                          \
    for (int c0 = 0; c0 < q.C;) {                                                                     \
        const size_t vl = VSETVL((size_t)(q.C - c0));                                                 \
        VT a00, a01, a02, a10, a11, a12, a20, a21, a22, ab;                                           \
        mcuf_f16 *gw = grad_w + (size_t)c0 * 9;                                                       \
        a00 = INIT(gw + 0), a01 = INIT(gw + 1), a02 = INIT(gw + 2), a10 = INIT(gw + 3);               \
        a11 = INIT(gw + 4), a12 = INIT(gw + 5), a20 = INIT(gw + 6), a21 = INIT(gw + 7);               \
        a22 = INIT(gw + 8);                                                                           \
        ab = grad_bias && q.accumulate_grad ? INITB(grad_bias + c0) : ZERO;                           \
        const mcuf_f16 *xc = x + (size_t)c0 * pin, *gc = grad_y + (size_t)c0 * pout;                  \
        for (int oh = 0; oh < q.OH; oh++) {                                                           \
            const int ih0 = oh * q.stride_h - q.pad_top;                                              \
            const int v0 = ih0 >= 0 && ih0 < q.H, v1 = ih0 + 1 >= 0 && ih0 + 1 < q.H,                \
                      v2 = ih0 + 2 >= 0 && ih0 + 2 < q.H;                                             \
            for (int ow = 0; ow < q.OW; ow++) {                                                       \
                const int iw0 = ow * q.stride_w - q.pad_left;                                         \
                const int u0 = iw0 >= 0 && iw0 < q.W, u1 = iw0 + 1 >= 0 && iw0 + 1 < q.W,             \
                          u2 = iw0 + 2 >= 0 && iw0 + 2 < q.W;                                         \
                const GT g = LD_GY(gc + (size_t)oh * q.OW + ow);                                      \
                const mcuf_f16 *xp = xc + (ptrdiff_t)ih0 * q.W + iw0;                                 \
                if (grad_bias) ab = ADD(ab, g);                                                       \
                if (v0 && v2 && u0 && u2) { /* interior: straight-line, no per-tap test */            \
                    const mcuf_f16 *x1 = xp + q.W, *x2 = xp + 2 * q.W;                                \
                    a00 = MACC(a00, g, LD_X(xp));                                                     \
                    a01 = MACC(a01, g, LD_X(xp + 1));                                                 \
                    a02 = MACC(a02, g, LD_X(xp + 2));                                                 \
                    a10 = MACC(a10, g, LD_X(x1));                                                     \
                    a11 = MACC(a11, g, LD_X(x1 + 1));                                                 \
                    a12 = MACC(a12, g, LD_X(x1 + 2));                                                 \
                    a20 = MACC(a20, g, LD_X(x2));                                                     \
                    a21 = MACC(a21, g, LD_X(x2 + 1));                                                 \
                    a22 = MACC(a22, g, LD_X(x2 + 2));                                                 \
                    continue;                                                                         \
                }                                                                                     \
                if (v0) {                                                                             \
                    if (u0) a00 = MACC(a00, g, LD_X(xp));                                             \
                    if (u1) a01 = MACC(a01, g, LD_X(xp + 1));                                         \
                    if (u2) a02 = MACC(a02, g, LD_X(xp + 2));                                         \
                }                                                                                     \
                if (v1) {                                                                             \
                    if (u0) a10 = MACC(a10, g, LD_X(xp + q.W));                                       \
                    if (u1) a11 = MACC(a11, g, LD_X(xp + q.W + 1));                                   \
                    if (u2) a12 = MACC(a12, g, LD_X(xp + q.W + 2));                                   \
                }                                                                                     \
                if (v2) {                                                                             \
                    if (u0) a20 = MACC(a20, g, LD_X(xp + 2 * q.W));                                   \
                    if (u1) a21 = MACC(a21, g, LD_X(xp + 2 * q.W + 1));                               \
                    if (u2) a22 = MACC(a22, g, LD_X(xp + 2 * q.W + 2));                               \
                }                                                                                     \
            }                                                                                         \
        }                                                                                             \
        STORE(gw + 0, a00), STORE(gw + 1, a01), STORE(gw + 2, a02), STORE(gw + 3, a10);               \
        STORE(gw + 4, a11), STORE(gw + 5, a12), STORE(gw + 6, a20), STORE(gw + 7, a21);               \
        STORE(gw + 8, a22);                                                                           \
        if (grad_bias) STOREB(grad_bias + c0, ab);                                                    \
        c0 += (int)vl;                                                                                \
    }

static void gw3_f16(const mcuf_dwconv2d_params *p, const mcuf_f16 *x, const mcuf_f16 *grad_y, mcuf_f16 *grad_w,
                    mcuf_f16 *grad_bias)
{
    const mcuf_dwconv2d_params q = *p;
    const ptrdiff_t pin = (ptrdiff_t)q.H * q.W, pout = (ptrdiff_t)q.OH * q.OW;
    const ptrdiff_t sx = pin * 2, sg = pout * 2; /* byte strides between channels */
#define VSETVL(n) __riscv_vsetvl_e16m2(n)
#define LD_GY(ptr) __riscv_vlse16_v_f16m2((ptr), sg, vl)
#define LD_X(ptr) __riscv_vlse16_v_f16m2((ptr), sx, vl)
#define MACC(acc, a, b) __riscv_vfmacc_vv_f16m2((acc), (a), (b), vl)
#define ADD(acc, a) __riscv_vfadd_vv_f16m2((acc), (a), vl)
#define ZEROV __riscv_vfmv_v_f_f16m2((mcuf_f16)0, vl)
#define INIT(ptr) (q.accumulate_grad ? __riscv_vlse16_v_f16m2((ptr), 18, vl) : ZEROV)
#define INITB(ptr) __riscv_vle16_v_f16m2((ptr), vl)
#define STORE(ptr, v) __riscv_vsse16_v_f16m2((ptr), 18, (v), vl)
#define STOREB(ptr, v) __riscv_vse16_v_f16m2((ptr), (v), vl)
    GW3_BODY(vfloat16m2_t, vfloat16m2_t, LD_GY, LD_X, MACC, ADD, ZEROV, INIT, STORE)
#undef VSETVL
#undef LD_GY
#undef LD_X
#undef MACC
#undef ADD
#undef ZEROV
#undef INIT
#undef INITB
#undef STORE
#undef STOREB
}

static void gw3_f32(const mcuf_dwconv2d_params *p, const mcuf_f16 *x, const mcuf_f16 *grad_y, mcuf_f16 *grad_w,
                    mcuf_f16 *grad_bias)
{
    const mcuf_dwconv2d_params q = *p;
    const ptrdiff_t pin = (ptrdiff_t)q.H * q.W, pout = (ptrdiff_t)q.OH * q.OW;
    const ptrdiff_t sx = pin * 2, sg = pout * 2;
#define VSETVL(n) __riscv_vsetvl_e16m1(n)
#define LD_GY(ptr) __riscv_vlse16_v_f16m1((ptr), sg, vl)
#define LD_X(ptr) __riscv_vlse16_v_f16m1((ptr), sx, vl)
#define MACC(acc, a, b) __riscv_vfwmacc_vv_f32m2((acc), (a), (b), vl)
#define ADD(acc, a) __riscv_vfwadd_wv_f32m2((acc), (a), vl)
#define ZEROV __riscv_vfmv_v_f_f32m2(0.0f, vl)
#define INIT(ptr) (q.accumulate_grad ? __riscv_vfwcvt_f_f_v_f32m2(__riscv_vlse16_v_f16m1((ptr), 18, vl), vl) : ZEROV)
#define INITB(ptr) __riscv_vfwcvt_f_f_v_f32m2(__riscv_vle16_v_f16m1((ptr), vl), vl)
#define STORE(ptr, v) __riscv_vsse16_v_f16m1((ptr), 18, __riscv_vfncvt_f_f_w_f16m1((v), vl), vl)
#define STOREB(ptr, v) __riscv_vse16_v_f16m1((ptr), __riscv_vfncvt_f_f_w_f16m1((v), vl), vl)
    GW3_BODY(vfloat32m2_t, vfloat16m1_t, LD_GY, LD_X, MACC, ADD, ZEROV, INIT, STORE)
#undef VSETVL
#undef LD_GY
#undef LD_X
#undef MACC
#undef ADD
#undef ZEROV
#undef INIT
#undef INITB
#undef STORE
#undef STOREB
}

mcuf_status mcuf_dwconv2d_grad_weight_f16_rvv(const mcuf_dwconv2d_params *p, const mcuf_f16 *x,
                                              const mcuf_f16 *grad_y, mcuf_f16 *grad_w, mcuf_f16 *grad_bias)
{
    mcuf_status st = mcuf_dwconv2d_check(p);
    if (st != MCUF_OK) return st;
    if (!x || !grad_y || !grad_w) return MCUF_ERR_ARG;
    /* channels in lanes pays only when the channels fill the lanes a few times over */
    if (p->kh == 3 && p->kw == 3 && (size_t)p->C >= 2 * __riscv_vsetvlmax_e16m2()) {
        if (p->acc == MCUF_ACC_F32)
            gw3_f32(p, x, grad_y, grad_w, grad_bias);
        else
            gw3_f16(p, x, grad_y, grad_w, grad_bias);
        return MCUF_OK;
    }
    const int H = p->H, W = p->W, OH = p->OH, OW = p->OW, kh = p->kh, kw = p->kw;
    const int acc32 = p->acc == MCUF_ACC_F32;
    const int flat = flat_ok(p) && (size_t)W <= __riscv_vsetvlmax_e16m4();
    const ptrdiff_t sstride = (ptrdiff_t)p->stride_w * (ptrdiff_t)sizeof(mcuf_f16);
    const size_t rps8 = flat ? rows_per_strip(W) : 0, rps4 = flat ? __riscv_vsetvlmax_e16m4() / (size_t)W : 0;
    const vuint16m8_t col8 = col_index(W, flat ? rps8 * (size_t)W : 1);
    const vuint16m4_t col4 = __riscv_vremu_vx_u16m4(__riscv_vid_v_u16m4(flat ? rps4 * (size_t)W : 1), (uint16_t)W,
                                                    flat ? rps4 * (size_t)W : 1);
    for (int c = 0; c < p->C; c++) {
        const mcuf_f16 *xc = x + (size_t)c * H * W;
        const mcuf_f16 *gyc = grad_y + (size_t)c * OH * OW;
        for (int i = 0; i < kh; i++) {
            for (int j = 0; j < kw; j++) {
                mcuf_f16 *dst = &grad_w[((size_t)c * kh + i) * kw + j];
                float s;
                if (flat) {
                    /* output rows whose input row r + dr lies inside the input */
                    const int dr = i - p->pad_top, dc = j - p->pad_left;
                    const int r0 = dr < 0 ? -dr : 0, r1 = H - dr < OH ? H - dr : OH;
                    s = 0.0f;
                    if (r1 > r0)
                        s = acc32 ? flat_dot_f32(gyc, xc, r0, r1, W, dr, dc, col4, rps4)
                                  : (float)flat_dot_f16(gyc, xc, r0, r1, W, dr, dc, col8, rps8);
                } else {
                    int lo, hi;
                    col_range(p, j, &lo, &hi);
                    s = 0.0f;
                    mcuf_f16 s16 = 0;
                    for (int oh = 0; oh < OH && hi > lo; oh++) {
                        const int ih = oh * p->stride_h + i - p->pad_top;
                        if (ih < 0 || ih >= H) continue;
                        const mcuf_f16 *ga = gyc + (size_t)oh * OW + lo;
                        const mcuf_f16 *xb = xc + (size_t)ih * W + (lo * p->stride_w + j - p->pad_left);
                        const float r = acc32 ? dot_f32(ga, xb, (size_t)(hi - lo), sstride)
                                              : (float)dot_f16(ga, xb, (size_t)(hi - lo), sstride);
                        if (acc32)
                            s += r;
                        else
                            s16 = (mcuf_f16)(s16 + (mcuf_f16)r);
                    }
                    if (!acc32) s = (float)s16;
                }
                put(dst, s, p->accumulate_grad);
            }
        }
        if (grad_bias) {
            /* sum of grad_y over the plane: a dot product with ones, done as a reduction */
            const size_t n = (size_t)OH * OW;
            float s;
            if (acc32) {
                const size_t vlmax = __riscv_vsetvlmax_e16m8();
                vfloat32m1_t r = __riscv_vfmv_s_f_f32m1(0.0f, 1);
                for (size_t f = 0; f < n;) {
                    const size_t vl = __riscv_vsetvl_e16m8(n - f < vlmax ? n - f : vlmax);
                    r = __riscv_vfwredusum_vs_f16m8_f32m1(__riscv_vle16_v_f16m8(gyc + f, vl), r, vl);
                    f += vl;
                }
                s = __riscv_vfmv_f_s_f32m1_f32(r);
            } else {
                const size_t vlmax = __riscv_vsetvlmax_e16m8();
                vfloat16m8_t acc = __riscv_vfmv_v_f_f16m8((mcuf_f16)0, vlmax);
                for (size_t f = 0; f < n;) {
                    const size_t vl = __riscv_vsetvl_e16m8(n - f < vlmax ? n - f : vlmax);
                    acc = __riscv_vfadd_vv_f16m8_tu(acc, acc, __riscv_vle16_v_f16m8(gyc + f, vl), vl);
                    f += vl;
                }
                vfloat16m1_t r = __riscv_vfredusum_vs_f16m8_f16m1(acc, __riscv_vfmv_s_f_f16m1((mcuf_f16)0, 1), vlmax);
                s = (float)__riscv_vfmv_f_s_f16m1_f16(r);
            }
            put(&grad_bias[c], s, p->accumulate_grad);
        }
    }
    return MCUF_OK;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int mcuf_dwconv_rvv_unused;
#endif
