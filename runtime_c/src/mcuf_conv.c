/* mcuf_conv.c: conv2d (im2col + matmul, col2im) and pointwise conv, forward and both gradients, FP16
 * and FP32; the direct 3x3 FP32 inference conv. The arithmetic of the first is all in the matmuls,
 * which are the best variant for the target (MCUF_MATMUL_* from mcuf_matmul.h); that code only moves
 * data and checks arguments. One macro body instantiated for both dtypes keeps the two twins identical
 * by construction. */
#include <string.h>

#include "mcuf_conv.h"
#include "mcuf_copy_run.h"
#include "mcuf_bias_grad.h"
#include "mcuf_matmul.h"

#if defined(__riscv_vector)
#include <riscv_vector.h>
#endif

static int conv_params_ok(const mcuf_conv2d_params *p)
{
    return p && p->C >= 1 && p->H >= 1 && p->W >= 1 && p->OC >= 1 && p->kh >= 1 && p->kw >= 1 &&
           p->stride_h >= 1 && p->stride_w >= 1 && p->pad_top >= 0 && p->pad_left >= 0 && p->OH >= 1 &&
           p->OW >= 1 && (p->acc == MCUF_ACC_F16 || p->acc == MCUF_ACC_F32);
}

/* 1x1, stride 1, no padding, same size out: the input already is the im2col matrix. */
static int conv_is_pointwise(const mcuf_conv2d_params *p)
{
    return p->kh == 1 && p->kw == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 &&
           p->pad_left == 0 && p->OH == p->H && p->OW == p->W;
}

/* Stride 1 with padding smaller than the kernel: the input gradient is a stride-1 correlation of dout
 * with the flipped, transposed weights (the "transposed conv"), computed as im2col + one matmul with
 * K = OC*kh*kw. That replaces matmul_tn with K = OC plus a col2im scatter, which cost more. */
static int conv_grad_input_as_conv(const mcuf_conv2d_params *p)
{
    return p->stride_h == 1 && p->stride_w == 1 && p->pad_top <= p->kh - 1 && p->pad_left <= p->kw - 1;
}

/* The conv that computes din from dout (valid when conv_grad_input_as_conv(p)). */
static mcuf_conv2d_params conv_transposed_params(const mcuf_conv2d_params *p)
{
    mcuf_conv2d_params q = *p;
    q.C = p->OC;
    q.H = p->OH;
    q.W = p->OW;
    q.OC = p->C;
    q.pad_top = p->kh - 1 - p->pad_top;
    q.pad_left = p->kw - 1 - p->pad_left;
    q.OH = p->H;
    q.OW = p->W;
    return q;
}

/* Scratch elements of the forward and weight gradient: the im2col matrix of the input. */
/* The fewest output channels a one-row forward band stages at a time: below the register blocks of the
 * matmul backends (4-6 rows) each call would mostly run edge code. */
#define CONV_BAND_MIN_COUT 4

static size_t conv_col_elems(const mcuf_conv2d_params *p)
{
    if (!conv_params_ok(p) || conv_is_pointwise(p)) return 0;
    return (size_t)p->C * (size_t)p->kh * (size_t)p->kw * (size_t)p->OH * (size_t)p->OW;
}

/* Scratch elements of the input gradient: flipped weights + im2col of dout at stride 1, else the
 * dcol matrix for col2im (the size of the input's im2col). */
static size_t conv_grad_input_elems(const mcuf_conv2d_params *p)
{
    if (!conv_params_ok(p) || conv_is_pointwise(p)) return 0;
    if (!conv_grad_input_as_conv(p)) return conv_col_elems(p);
    const size_t kk = (size_t)p->kh * (size_t)p->kw;
    return (size_t)p->OC * kk * (size_t)p->H * (size_t)p->W + (size_t)p->C * (size_t)p->OC * kk;
}

/* Columns ox of output row whose input column ox*stride_w - pad_left + kx lies inside [0, w):
 * [*lo, *hi), possibly empty. The same for every row and channel, so computed once per kx. */
static void valid_range(int out_len, int in_len, int stride, int pad, int k, int *lo, int *hi)
{
    const int lo_num = pad - k, hi_num = in_len - 1 + pad - k;
    int l = lo_num <= 0 ? 0 : (lo_num + stride - 1) / stride;
    int h = hi_num < 0 ? 0 : hi_num / stride + 1;
    if (l > out_len) l = out_len;
    if (h > out_len) h = out_len;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

/* Contiguous copies of n elements for im2col, the step whose cost must stay small next to the matmul.
 * FP16: 32-bit words when source and destination share their alignment (after one leading half),
 * else halves, unrolled; integer accesses through may_alias types, never a misaligned access. */
typedef uint16_t __attribute__((may_alias)) u16_alias;
typedef uint32_t __attribute__((may_alias)) u32_alias;

static void copy_f16(mcuf_f16 *dst, const mcuf_f16 *src, int n)
{
    u16_alias *d = (u16_alias *)(void *)dst;
    const u16_alias *s = (const u16_alias *)(const void *)src;
    if (n <= 0) return;
#if defined(__riscv_vector)
    /* RVV: one vector load and store per 8 registers' worth of halves (element-aligned accesses) */
    for (size_t vl; n > 0; n -= (int)vl, d += vl, s += vl) {
        vl = __riscv_vsetvl_e16m8((size_t)n);
        __riscv_vse16_v_u16m8((uint16_t *)d, __riscv_vle16_v_u16m8((const uint16_t *)s, vl), vl);
    }
    return;
#endif
    if ((((uintptr_t)d ^ (uintptr_t)s) & 3u) == 0) {
        if ((uintptr_t)d & 3u) {
            *d++ = *s++;
            n--;
        }
        u32_alias *dw = (u32_alias *)(void *)d;
        const u32_alias *sw = (const u32_alias *)(const void *)s;
        int words = n >> 1;
        for (; words >= 4; words -= 4, dw += 4, sw += 4) {
            uint32_t a = sw[0], b = sw[1], c = sw[2], e = sw[3];
            dw[0] = a;
            dw[1] = b;
            dw[2] = c;
            dw[3] = e;
        }
        for (; words > 0; words--) *dw++ = *sw++;
        if (n & 1) *(u16_alias *)(void *)dw = *(const u16_alias *)(const void *)sw;
        return;
    }
    for (; n >= 8; n -= 8, d += 8, s += 8) {
        uint16_t a = s[0], b = s[1], c = s[2], e = s[3], f = s[4], g = s[5], h = s[6], k = s[7];
        d[0] = a;
        d[1] = b;
        d[2] = c;
        d[3] = e;
        d[4] = f;
        d[5] = g;
        d[6] = h;
        d[7] = k;
    }
    for (; n > 0; n--) *d++ = *s++;
}

/* Zero n elements. The empty asm keeps the compiler from turning this into a memset call, which
 * costs more than the one or two elements im2col's padding usually needs. */
static inline void zero_f16(mcuf_f16 *dst, int n)
{
    u16_alias *d = (u16_alias *)(void *)dst;
    for (int i = 0; i < n; i++) {
        d[i] = 0;
        __asm__ volatile("" ::: "memory");
    }
}

static inline void zero_f32(float *dst, int n)
{
    for (int i = 0; i < n; i++) {
        dst[i] = 0.0f;
        __asm__ volatile("" ::: "memory");
    }
}

/* dst[i] += src[i], unrolled (col2im's inner loop). */
static void add_f16(mcuf_f16 *dst, const mcuf_f16 *src, int n)
{
#if defined(__riscv_zvfh) && defined(__riscv_vector)
    for (size_t vl; n > 0; n -= (int)vl, dst += vl, src += vl) {
        vl = __riscv_vsetvl_e16m8((size_t)n);
        __riscv_vse16_v_f16m8(dst, __riscv_vfadd_vv_f16m8(__riscv_vle16_v_f16m8(dst, vl),
                                                          __riscv_vle16_v_f16m8(src, vl), vl), vl);
    }
    return;
#endif
    for (; n >= 4; n -= 4, dst += 4, src += 4) {
        mcuf_f16 a = src[0], b = src[1], c = src[2], e = src[3];
        dst[0] = (mcuf_f16)(dst[0] + a);
        dst[1] = (mcuf_f16)(dst[1] + b);
        dst[2] = (mcuf_f16)(dst[2] + c);
        dst[3] = (mcuf_f16)(dst[3] + e);
    }
    for (; n > 0; n--, dst++, src++) *dst = (mcuf_f16)(*dst + *src);
}

static void add_f32(float *dst, const float *src, int n)
{
#if defined(__riscv_vector)
    for (size_t vl; n > 0; n -= (int)vl, dst += vl, src += vl) {
        vl = __riscv_vsetvl_e32m8((size_t)n);
        __riscv_vse32_v_f32m8(dst, __riscv_vfadd_vv_f32m8(__riscv_vle32_v_f32m8(dst, vl),
                                                          __riscv_vle32_v_f32m8(src, vl), vl), vl);
    }
#else
    for (int i = 0; i < n; i++) dst[i] += src[i];
#endif
}

static void copy_f32(float *dst, const float *src, int n)
{
#if defined(__riscv_vector)
    for (size_t vl; n > 0; n -= (int)vl, dst += vl, src += vl) {
        vl = __riscv_vsetvl_e32m8((size_t)n);
        __riscv_vse32_v_f32m8(dst, __riscv_vle32_v_f32m8(src, vl), vl);
    }
#else
    (void)mcuf_copy_run_f32(dst, src, n); /* not memcpy: see mcuf_copy_run.h */
#endif
}

#define DEFINE_CONV(T, SFX, MATMUL, MATMUL_NT, MATMUL_TN, ACC_OF)                                        \
    size_t mcuf_conv2d_##SFX##_scratch_size(const mcuf_conv2d_params *p)                                 \
    {                                                                                                    \
        return conv_col_elems(p) * sizeof(T);                                                            \
    }                                                                                                    \
                                                                                                         \
    size_t mcuf_conv2d_##SFX##_min_scratch_size(const mcuf_conv2d_params *p)                             \
    {                                                                                                    \
        if (!conv_params_ok(p) || conv_is_pointwise(p)) return 0;                                        \
        const int mc = p->OC < CONV_BAND_MIN_COUT ? p->OC : CONV_BAND_MIN_COUT;                          \
        const size_t band = (size_t)(p->C * p->kh * p->kw + mc) * (size_t)p->OW * sizeof(T);             \
        const size_t full = mcuf_conv2d_##SFX##_scratch_size(p);                                         \
        return band < full ? band : full; /* a one-row output: the whole matrix is the smaller */        \
    }                                                                                                    \
                                                                                                         \
    size_t mcuf_conv2d_grad_input_##SFX##_scratch_size(const mcuf_conv2d_params *p)                      \
    {                                                                                                    \
        return conv_grad_input_elems(p) * sizeof(T);                                                     \
    }                                                                                                    \
                                                                                                         \
    size_t mcuf_conv2d_grad_weight_##SFX##_scratch_size(const mcuf_conv2d_params *p)                     \
    {                                                                                                    \
        return conv_col_elems(p) * sizeof(T);                                                            \
    }                                                                                                    \
                                                                                                         \
    /* Parameters are copied to locals first: the stores below go through may_alias types, so the        \
     * compiler would otherwise reload *p after every one. */                                            \
    /* Columns of output rows [r0, r1) only: the band the forward pass needs when its scratch holds      \
     * less than the whole matrix. col is [C*kh*kw, (r1 - r0) * OW]. */                                  \
    static void im2col_band_##SFX(const mcuf_conv2d_params *p, const T *in, T *col, int r0, int r1)      \
    {                                                                                                    \
        const int C = p->C, H = p->H, W = p->W, Ho = p->OH, Wo = p->OW, KH = p->kh, KW = p->kw;          \
        const int sh = p->stride_h, sw = p->stride_w, pt = p->pad_top, pl = p->pad_left;                 \
        T *dst = col;                                                                                    \
        for (int c = 0; c < C; c++)                                                                      \
            for (int ky = 0; ky < KH; ky++) {                                                            \
                int ylo, yhi; /* output rows whose input row is inside the image */                      \
                valid_range(Ho, H, sh, pt, ky, &ylo, &yhi);                                              \
                ylo = ylo > r0 ? ylo : r0;                                                               \
                yhi = yhi < r1 ? yhi : r1;                                                               \
                if (yhi < ylo) yhi = ylo;                                                                \
                for (int kx = 0; kx < KW; kx++) {                                                        \
                    int lo, hi;                                                                          \
                    valid_range(Wo, W, sw, pl, kx, &lo, &hi);                                            \
                    const int n = hi - lo;                                                               \
                    zero_##SFX(dst, (ylo - r0) * Wo);                                                    \
                    dst += (size_t)(ylo - r0) * Wo;                                                      \
                    /* first input element used by row ylo: (ylo*sh - pt + ky, lo*sw - pl + kx) */       \
                    const T *src = yhi > ylo && n > 0                                                    \
                        ? in + ((size_t)c * H + (size_t)(ylo * sh - pt + ky)) * W + lo * sw - pl + kx : in; \
                    for (int oy = ylo; oy < yhi; oy++, dst += Wo, src += (size_t)sh * W) {               \
                        zero_##SFX(dst, lo);                                                             \
                        if (sw == 1) copy_##SFX(dst + lo, src, n);                                       \
                        else                                                                             \
                            for (int i = 0; i < n; i++) dst[lo + i] = src[i * sw];                       \
                        zero_##SFX(dst + hi, Wo - hi);                                                   \
                    }                                                                                    \
                    zero_##SFX(dst, (r1 - yhi) * Wo);                                                    \
                    dst += (size_t)(r1 - yhi) * Wo;                                                      \
                }                                                                                        \
            }                                                                                            \
    }                                                                                                    \
                                                                                                         \
    mcuf_status mcuf_im2col_##SFX(const mcuf_conv2d_params *p, const T *restrict in, T *restrict col)    \
    {                                                                                                    \
        if (!conv_params_ok(p) || !in || !col) return MCUF_ERR_ARG;                                      \
        im2col_band_##SFX(p, in, col, 0, p->OH);                                                         \
        return MCUF_OK;                                                                                  \
    }                                                                                                    \
                                                                                                         \
    mcuf_status mcuf_col2im_##SFX(const mcuf_conv2d_params *p, const T *restrict col, T *restrict din)   \
    {                                                                                                    \
        if (!conv_params_ok(p) || !col || !din) return MCUF_ERR_ARG;                                     \
        const int C = p->C, H = p->H, W = p->W, Ho = p->OH, Wo = p->OW, KH = p->kh, KW = p->kw;          \
        const int sh = p->stride_h, sw = p->stride_w, pt = p->pad_top, pl = p->pad_left;                 \
        zero_##SFX(din, C * H * W);                                                                      \
        const T *srcrow = col;                                                                           \
        for (int c = 0; c < C; c++)                                                                      \
            for (int ky = 0; ky < KH; ky++) {                                                            \
                int ylo, yhi;                                                                            \
                valid_range(Ho, H, sh, pt, ky, &ylo, &yhi);                                              \
                for (int kx = 0; kx < KW; kx++) {                                                        \
                    int lo, hi;                                                                          \
                    valid_range(Wo, W, sw, pl, kx, &lo, &hi);                                            \
                    const int n = hi - lo;                                                               \
                    const T *s = srcrow + (size_t)ylo * Wo + lo;                                         \
                    T *d = yhi > ylo && n > 0                                                            \
                        ? din + ((size_t)c * H + (size_t)(ylo * sh - pt + ky)) * W + lo * sw - pl + kx : din; \
                    for (int oy = ylo; oy < yhi; oy++, s += Wo, d += (size_t)sh * W) {                   \
                        if (sw == 1) add_##SFX(d, s, n);                                                 \
                        else                                                                             \
                            for (int i = 0; i < n; i++) d[i * sw] += s[i];                               \
                    }                                                                                    \
                    srcrow += (size_t)Ho * Wo;                                                           \
                }                                                                                        \
            }                                                                                            \
        return MCUF_OK;                                                                                  \
    }                                                                                                    \
                                                                                                         \
    MCUF_DEFINE_BIAS_GRAD(T, SFX, ACC_OF)                                                                \
                                                                                                         \
    /* No restrict in this definition (the prototype has it, the contract): with it clang-19's FP16      \
     * build retires 5,213 instructions more on the MNIST-style CNN's convs (rv32-zfh). */               \
    mcuf_status mcuf_conv2d_##SFX(const mcuf_conv2d_params *p, const T *in, const T *w, const T *bias,   \
                                  T *out, void *scratch, size_t scratch_bytes)                           \
    {                                                                                                    \
        if (!conv_params_ok(p) || !in || !w || !out) return MCUF_ERR_ARG;                                \
        const mcuf_matmul_params mp = {p->OC, p->OH * p->OW, p->C * p->kh * p->kw, p->acc, 0, 1};        \
        if (conv_is_pointwise(p)) return MATMUL(&mp, w, in, bias, out);                                  \
        if (!scratch || scratch_bytes < mcuf_conv2d_##SFX##_min_scratch_size(p)) return MCUF_ERR_SCRATCH; \
        T *col = (T *)scratch;                                                                           \
        if (scratch_bytes >= mcuf_conv2d_##SFX##_scratch_size(p)) {                                      \
            mcuf_im2col_##SFX(p, in, col);                                                               \
            return MATMUL(&mp, w, col, bias, out);                                                       \
        }                                                                                                \
        /* Banded: as many output rows as the scratch holds, each band's product staged in tmp and       \
         * copied into place (the matmul writes dense rows; a band is a column range of out). When       \
         * not even one row with all OC staged fits, one row at a time with the output channels          \
         * staged mc at a time: the tightest arenas pay a few more matmul calls, not more bytes. */      \
        const int K = p->C * p->kh * p->kw, Wo = p->OW, HWo = p->OH * p->OW;                             \
        const size_t elems = scratch_bytes / sizeof(T);                                                  \
        int rows = (int)(elems / ((size_t)(K + p->OC) * (size_t)Wo)), mc = p->OC;                        \
        if (rows < 1) {                                                                                  \
            rows = 1;                                                                                    \
            mc = (int)((elems - (size_t)K * Wo) / (size_t)Wo);                                           \
        }                                                                                                \
        MCUF_DCHECK(mc >= 1);                                                                            \
        T *tmp = col + (size_t)K * rows * Wo;                                                            \
        for (int r0 = 0; r0 < p->OH; r0 += rows) {                                                       \
            const int r1 = r0 + rows < p->OH ? r0 + rows : p->OH, n = (r1 - r0) * Wo;                    \
            im2col_band_##SFX(p, in, col, r0, r1);                                                       \
            for (int c0 = 0; c0 < p->OC; c0 += mc) {                                                     \
                const int m = c0 + mc < p->OC ? mc : p->OC - c0;                                         \
                const mcuf_matmul_params mb = {m, n, K, p->acc, 0, 1};                                   \
                mcuf_status st = MATMUL(&mb, w + (size_t)c0 * K, col, bias ? bias + c0 : NULL, tmp);     \
                if (st != MCUF_OK) return st;                                                            \
                for (int co = 0; co < m; co++)                                                           \
                    copy_##SFX(out + (size_t)(c0 + co) * HWo + (size_t)r0 * Wo, tmp + (size_t)co * n, n); \
            }                                                                                            \
        }                                                                                                \
        return MCUF_OK;                                                                                  \
    }                                                                                                    \
                                                                                                         \
    mcuf_status mcuf_conv2d_grad_input_##SFX(const mcuf_conv2d_params *p, const T *restrict dout,        \
                                             const T *restrict w, T *restrict din,                       \
                                             void *restrict scratch, size_t scratch_bytes)               \
    {                                                                                                    \
        if (!conv_params_ok(p) || !dout || !w || !din) return MCUF_ERR_ARG;                              \
        /* dcol[CKK, P] = W[Cout, CKK]^T . dout[Cout, P] */                                              \
        const mcuf_matmul_params mp = {p->C * p->kh * p->kw, p->OH * p->OW, p->OC, p->acc, 0, 0};        \
        if (conv_is_pointwise(p)) return MATMUL_TN(&mp, w, dout, NULL, din);                             \
        if (!scratch || scratch_bytes < mcuf_conv2d_grad_input_##SFX##_scratch_size(p))                  \
            return MCUF_ERR_SCRATCH;                                                                     \
        if (conv_grad_input_as_conv(p)) {                                                                \
            /* wt[ci, co, ky, kx] = w[co, ci, kh-1-ky, kw-1-kx]; din = wt . im2col(dout) */              \
            const mcuf_conv2d_params q = conv_transposed_params(p);                                      \
            const int kk = p->kh * p->kw;                                                                \
            T *wt = (T *)scratch, *col = wt + (size_t)p->C * p->OC * kk;                                 \
            for (int co = 0; co < p->OC; co++)                                                           \
                for (int ci = 0; ci < p->C; ci++)                                                        \
                    for (int t = 0; t < kk; t++)                                                         \
                        wt[((size_t)ci * p->OC + co) * kk + t] = w[((size_t)co * p->C + ci) * kk + kk - 1 - t]; \
            mcuf_im2col_##SFX(&q, dout, col);                                                            \
            const mcuf_matmul_params mq = {p->C, p->H * p->W, p->OC * kk, p->acc, 0, 0};                 \
            return MATMUL(&mq, wt, col, NULL, din);                                                      \
        }                                                                                                \
        T *dcol = (T *)scratch;                                                                          \
        mcuf_status st = MATMUL_TN(&mp, w, dout, NULL, dcol);                                            \
        if (st != MCUF_OK) return st;                                                                    \
        return mcuf_col2im_##SFX(p, dcol, din);                                                          \
    }                                                                                                    \
                                                                                                         \
    mcuf_status mcuf_conv2d_grad_weight_##SFX(const mcuf_conv2d_params *p, const T *restrict in,         \
                                              const T *restrict dout, T *restrict dw, T *restrict db,    \
                                              void *restrict scratch, size_t scratch_bytes)              \
    {                                                                                                    \
        if (!conv_params_ok(p) || !in || !dout || !dw) return MCUF_ERR_ARG;                              \
        const int P = p->OH * p->OW;                                                                     \
        /* dW[Cout, CKK] (+)= dout[Cout, P] . col[CKK, P]^T */                                           \
        const mcuf_matmul_params mp = {p->OC, p->C * p->kh * p->kw, P, p->acc, p->accumulate_grad, 0};   \
        const T *col = in;                                                                               \
        if (!conv_is_pointwise(p)) {                                                                     \
            if (!scratch || scratch_bytes < mcuf_conv2d_grad_weight_##SFX##_scratch_size(p))             \
                return MCUF_ERR_SCRATCH;                                                                 \
            mcuf_im2col_##SFX(p, in, (T *)scratch);                                                      \
            col = (const T *)scratch;                                                                    \
        }                                                                                                \
        mcuf_status st = MATMUL_NT(&mp, dout, col, NULL, dw);                                            \
        if (st == MCUF_OK && db) bias_grad_##SFX(p->acc, p->accumulate_grad, dout, p->OC, P, (size_t)P, 1, db); \
        return st;                                                                                       \
    }                                                                                                    \
                                                                                                         \
    mcuf_status mcuf_pointwise_##SFX(const mcuf_pointwise_params *p, const T *restrict in,               \
                                     const T *restrict w, const T *restrict bias, T *restrict out)       \
    {                                                                                                    \
        if (!p || !in || !w || !out || p->C < 1 || p->OC < 1 || p->HW < 1) return MCUF_ERR_ARG;          \
        const mcuf_matmul_params mp = {p->OC, p->HW, p->C, p->acc, 0, 1};                                \
        return MATMUL(&mp, w, in, bias, out);                                                            \
    }                                                                                                    \
                                                                                                         \
    mcuf_status mcuf_pointwise_grad_input_##SFX(const mcuf_pointwise_params *p, const T *restrict dout,  \
                                                const T *restrict w, T *restrict din)                    \
    {                                                                                                    \
        if (!p || !dout || !w || !din || p->C < 1 || p->OC < 1 || p->HW < 1) return MCUF_ERR_ARG;        \
        const mcuf_matmul_params mp = {p->C, p->HW, p->OC, p->acc, 0, 0};                                \
        return MATMUL_TN(&mp, w, dout, NULL, din);                                                       \
    }                                                                                                    \
                                                                                                         \
    mcuf_status mcuf_pointwise_grad_weight_##SFX(const mcuf_pointwise_params *p, const T *restrict in,   \
                                                 const T *restrict dout, T *restrict dw, T *restrict db) \
    {                                                                                                    \
        if (!p || !in || !dout || !dw || p->C < 1 || p->OC < 1 || p->HW < 1) return MCUF_ERR_ARG;        \
        const mcuf_matmul_params mp = {p->OC, p->C, p->HW, p->acc, p->accumulate_grad, 0};               \
        mcuf_status st = MATMUL_NT(&mp, dout, in, NULL, dw);                                             \
        if (st == MCUF_OK && db)                                                                         \
            bias_grad_##SFX(p->acc, p->accumulate_grad, dout, p->OC, p->HW, (size_t)p->HW, 1, db);       \
        return st;                                                                                       \
    }

#define ACC_F16_POLICY(acc) ((acc) == MCUF_ACC_F32)
#define ACC_F32_ALWAYS(acc) ((void)(acc), 1)

DEFINE_CONV(mcuf_f16, f16, MCUF_MATMUL_F16, MCUF_MATMUL_NT_F16, MCUF_MATMUL_TN_F16, ACC_F16_POLICY)
DEFINE_CONV(float, f32, MCUF_MATMUL_F32, MCUF_MATMUL_NT_F32, MCUF_MATMUL_TN_F32, ACC_F32_ALWAYS)

/* ---------------------------------------------------------------------------------------------- *
 * Direct 3x3 stride-1 FP32 conv. A block is 2 output channels x NR adjacent outputs of one row, all
 * accumulators in registers: per input channel and kernel row it loads NR + 2 inputs and 6 weights for
 * 6 * NR FMAs, where im2col + matmul pays for writing and re-reading 9 copies of the input. NR <= 7
 * keeps 2*NR accumulators + NR+2 inputs + 6 weights within the 32 FP registers.
 * ---------------------------------------------------------------------------------------------- */
#define MCUF_ACT_RELU_ 1 /* mcuf_act_kind values (mcuf_act.h), not included to keep headers apart */
#define MCUF_ACT_CLIP_ 2
#define CONV3X3_MAX_NR 7

static int conv3x3_params_ok(const mcuf_conv2d_3x3_params *p)
{
    if (!p || p->C < 1 || p->H < 1 || p->W < 1 || p->OC < 1 || p->OH < 1 || p->OW < 1) return 0;
    const int pb = p->OH + 2 - p->H - p->pad_top, pr = p->OW + 2 - p->W - p->pad_left;
    return p->pad_top >= 0 && p->pad_top <= 2 && p->pad_left >= 0 && p->pad_left <= 2 && pb >= 0 && pb <= 2 &&
           pr >= 0 && pr <= 2 && p->act >= 0 && p->act <= MCUF_ACT_CLIP_;
}

static int conv3x3_unpadded(const mcuf_conv2d_3x3_params *p)
{
    return p->pad_top == 0 && p->pad_left == 0 && p->OH + 2 == p->H && p->OW + 2 == p->W;
}

size_t mcuf_conv2d_f32_3x3_scratch_size(const mcuf_conv2d_3x3_params *p)
{
    if (!conv3x3_params_ok(p) || conv3x3_unpadded(p)) return 0;
    return (size_t)p->C * (size_t)(p->OH + 2) * (size_t)(p->OW + 2) * sizeof(float);
}

size_t mcuf_conv2d_f32_3x3_min_scratch_size(const mcuf_conv2d_3x3_params *p)
{
    if (!conv3x3_params_ok(p) || conv3x3_unpadded(p)) return 0;
    const size_t one_row = (size_t)p->C * 3 * (size_t)(p->OW + 2) * sizeof(float);
    const size_t full = mcuf_conv2d_f32_3x3_scratch_size(p);
    return one_row < full ? one_row : full;
}

typedef struct {
    int act;
    float lo, hi;
} conv3x3_epilogue;

/* Writes `zeros` zeros then copies n floats from s; returns the end. Two zeros at a time with a
 * compiler barrier: otherwise clang turns the loop into a memset call, whose small-size path in
 * picolibc costs ~9 instructions per float on rows a few dozen bytes long (the copy: mcuf_copy_run.h). */
static float *conv3x3_pad_row(float *d, int zeros, const float *s, int n)
{
    for (; zeros >= 2; zeros -= 2, d += 2) {
        d[0] = d[1] = 0.0f;
        __asm__ volatile("" ::: "memory");
    }
    if (zeros) *d++ = 0.0f;
    return mcuf_copy_run_f32(d, s, n);
}

/* Padded rows [pr0, pr0 + nrows) of every channel into d ([C][nrows][wp]): padded row pr holds input
 * row pr - pt (zeros outside the image) at columns [pl, pl + W). A row's right pad and the next row's
 * left pad are one run of zeros. */
static void conv3x3_pad_band(const mcuf_conv2d_3x3_params *p, const float *in, int pr0, int nrows, float *d)
{
    const int H = p->H, W = p->W, pt = p->pad_top, pl = p->pad_left, wp = p->OW + 2;
    for (int c = 0; c < p->C; c++) {
        const float *ic = in + (size_t)c * H * W;
        int pending = 0;
        for (int k = 0; k < nrows; k++) {
            const int ir = pr0 + k - pt;
            if (ir < 0 || ir >= H) {
                pending += wp;
                continue;
            }
            d = conv3x3_pad_row(d, pending + pl, ic + (size_t)ir * W, W);
            pending = wp - pl - W;
        }
        d = conv3x3_pad_row(d, pending, NULL, 0);
    }
}

/* Activation of n accumulators as they leave registers: one fmax.s each (ReLU: lo = 0), plus fmin.s
 * for Clip; a NaN output becomes lo. A macro so the loops unroll over the register-held array. */
#if defined(__riscv) && defined(__clang__)
/* The builtins, not math.h: picolibc's inline fmaxf calls __issignalingf instead of using fmax.s. */
#define CONV_FMAX(a, b) __builtin_fmaxf((a), (b))
#define CONV_FMIN(a, b) __builtin_fminf((a), (b))
#else
#define CONV_FMAX(a, b) ((a) > (b) ? (a) : (b)) /* NaN a gives b, as fmax.s */
#define CONV_FMIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#define CONV3X3_ACT(e, a, n)                                                                             \
    do {                                                                                                 \
        if ((e).act == MCUF_ACT_RELU_)                                                                   \
            for (int j_ = 0; j_ < (n); j_++) (a)[j_] = CONV_FMAX((a)[j_], 0.0f);                         \
        else if ((e).act == MCUF_ACT_CLIP_)                                                              \
            for (int j_ = 0; j_ < (n); j_++) (a)[j_] = CONV_FMIN(CONV_FMAX((a)[j_], (e).lo), (e).hi);    \
    } while (0)

/* One input channel's 3x3 taps into s0/s1 (x: the block's top-left tap in that channel). */
#define CONV3X3_CHANNEL(NR, x, w0, w1, wp, s0, s1)                                                       \
    for (int ky = 0; ky < 3; ky++) {                                                                     \
        const float *r_ = (x) + ky * (wp);                                                               \
        float xv[NR + 2];                                                                                \
        for (int i = 0; i < NR + 2; i++) xv[i] = r_[i];                                                  \
        for (int kx = 0; kx < 3; kx++) {                                                                 \
            const float u = (w0)[ky * 3 + kx], v = (w1)[ky * 3 + kx];                                    \
            for (int j = 0; j < NR; j++) {                                                               \
                s0[j] += u * xv[j + kx];                                                                 \
                s1[j] += v * xv[j + kx];                                                                 \
            }                                                                                            \
        }                                                                                                \
    }

/* A column of NR outputs x 2 channels, all `rows` rows (one call per column: the prologue, register
 * saves and call are paid once per column, not per block). x: the padded input at the column's
 * top-left tap, channel stride cs, row stride wp. The loops have constant bounds and unroll
 * completely, so s0/s1/xv live in registers; channel 0 is peeled so the bias is the first FMA's
 * addend (no register copies to initialise the accumulators). The activation is applied on the way
 * out. For an odd last channel y1 == y0 and w1 == w0: the same values are stored twice. */
#define DEFINE_CONV3X3_BLOCK(NR)                                                                         \
    static void conv3x3_block_##NR(int cin, int rows, size_t cs, int wp, int wo, const float *restrict x, \
                                   const float *restrict w0, const float *restrict w1, float b0,         \
                                   float b1, conv3x3_epilogue e, float *y0, float *y1)                   \
    {                                                                                                    \
        for (int r = 0; r < rows; r++, x += wp, y0 += wo, y1 += wo) {                                    \
            float s0[NR], s1[NR];                                                                        \
            for (int j = 0; j < NR; j++) {                                                               \
                s0[j] = b0;                                                                              \
                s1[j] = b1;                                                                              \
            }                                                                                            \
            CONV3X3_CHANNEL(NR, x, w0, w1, wp, s0, s1)                                                   \
            const float *xc = x, *w0c = w0, *w1c = w1;                                                   \
            for (int c = 1; c < cin; c++) {                                                              \
                xc += cs;                                                                                \
                w0c += 9;                                                                                \
                w1c += 9;                                                                                \
                CONV3X3_CHANNEL(NR, xc, w0c, w1c, wp, s0, s1)                                            \
            }                                                                                            \
            CONV3X3_ACT(e, s0, NR);                                                                      \
            CONV3X3_ACT(e, s1, NR);                                                                      \
            for (int j = 0; j < NR; j++) y1[j] = s1[j];                                                  \
            for (int j = 0; j < NR; j++) y0[j] = s0[j];                                                  \
        }                                                                                                \
    }

DEFINE_CONV3X3_BLOCK(1)
DEFINE_CONV3X3_BLOCK(2)
DEFINE_CONV3X3_BLOCK(3)
DEFINE_CONV3X3_BLOCK(4)
DEFINE_CONV3X3_BLOCK(5)
DEFINE_CONV3X3_BLOCK(6)
DEFINE_CONV3X3_BLOCK(7)

/* One input channel (the first conv of an image model): a whole column strip of one output channel,
 * its 9 weights held in registers for all rows, NR outputs a row (NR <= 14: 14 accumulators + 9
 * weights + streamed inputs). Per row 3 * (NR + 2) loads feed 9 * NR FMAs, no weight reloads. */
#define DEFINE_CONV3X3_C1_STRIP(NR)                                                                      \
    static void conv3x3_c1_strip_##NR(int rows, int wp, int wo, const float *restrict x,                 \
                                      const float *restrict w, float b, conv3x3_epilogue e, float *y)    \
    {                                                                                                    \
        float wv[9];                                                                                     \
        for (int k = 0; k < 9; k++) wv[k] = w[k];                                                        \
        for (int r = 0; r < rows; r++, x += wp, y += wo) {                                               \
            float s[NR];                                                                                 \
            for (int j = 0; j < NR; j++) s[j] = b;                                                       \
            for (int ky = 0; ky < 3; ky++) {                                                             \
                const float *xr = x + ky * wp;                                                           \
                float xv[NR + 2];                                                                        \
                for (int i = 0; i < NR + 2; i++) xv[i] = xr[i];                                          \
                for (int kx = 0; kx < 3; kx++)                                                           \
                    for (int j = 0; j < NR; j++) s[j] += wv[ky * 3 + kx] * xv[j + kx];                   \
            }                                                                                            \
            CONV3X3_ACT(e, s, NR);                                                                       \
            for (int j = 0; j < NR; j++) y[j] = s[j];                                                    \
        }                                                                                                \
    }

DEFINE_CONV3X3_C1_STRIP(7)
DEFINE_CONV3X3_C1_STRIP(8)
DEFINE_CONV3X3_C1_STRIP(9)
DEFINE_CONV3X3_C1_STRIP(10)
DEFINE_CONV3X3_C1_STRIP(11)
DEFINE_CONV3X3_C1_STRIP(12)
DEFINE_CONV3X3_C1_STRIP(13)
DEFINE_CONV3X3_C1_STRIP(14)

typedef void (*conv3x3_c1_strip_fn)(int, int, int, const float *restrict, const float *restrict, float,
                                    conv3x3_epilogue, float *);
#define CONV3X3_C1_MIN_NR 7
#define CONV3X3_C1_MAX_NR 14

typedef void (*conv3x3_block_fn)(int, int, size_t, int, int, const float *restrict, const float *restrict,
                                 const float *restrict, float, float, conv3x3_epilogue, float *, float *);

/* Output rows [0, rows) of a band: x is the (padded) input at the band's first tap row, channel
 * stride cs, row stride wp; out points at the band's first output row of channel 0. */
static void conv3x3_band(const mcuf_conv2d_3x3_params *p, const float *x, size_t cs, int wp, int rows,
                         const float *w, const float *bias, conv3x3_epilogue e, float *out)
{
    static const conv3x3_block_fn blocks[CONV3X3_MAX_NR + 1] = {
        NULL, conv3x3_block_1, conv3x3_block_2, conv3x3_block_3, conv3x3_block_4,
        conv3x3_block_5, conv3x3_block_6, conv3x3_block_7};
    const int C = p->C, Wo = p->OW, OC = p->OC;
    const size_t HWo = (size_t)p->OH * Wo;
    if (C == 1 && Wo >= CONV3X3_C1_MIN_NR) {
        static const conv3x3_c1_strip_fn strips[CONV3X3_C1_MAX_NR - CONV3X3_C1_MIN_NR + 1] = {
            conv3x3_c1_strip_7, conv3x3_c1_strip_8, conv3x3_c1_strip_9, conv3x3_c1_strip_10,
            conv3x3_c1_strip_11, conv3x3_c1_strip_12, conv3x3_c1_strip_13, conv3x3_c1_strip_14};
        /* near-equal strips; Wo >= 7 keeps every width within [7, 14] */
        const int ns = (Wo + CONV3X3_C1_MAX_NR - 1) / CONV3X3_C1_MAX_NR, sb = Wo / ns, sx = Wo % ns;
        for (int o = 0; o < OC; o++)
            for (int t = 0, ox = 0; t < ns; t++) {
                const int n = sb + (t < sx);
                strips[n - CONV3X3_C1_MIN_NR](rows, wp, Wo, x + ox, w + (size_t)o * 9, bias ? bias[o] : 0.0f, e,
                                              out + (size_t)o * HWo + ox);
                ox += n;
            }
        return;
    }
    /* Each row in nb blocks of near-equal width: 14 -> 7 + 7 rather than a narrow ragged tail. */
    const int nb = (Wo + CONV3X3_MAX_NR - 1) / CONV3X3_MAX_NR, base = Wo / nb, extra = Wo % nb;
    for (int o = 0; o < OC; o += 2) {
        const int o1 = o + 1 < OC ? o + 1 : o;
        const float *w0 = w + (size_t)o * C * 9, *w1 = w + (size_t)o1 * C * 9;
        const float b0 = bias ? bias[o] : 0.0f, b1 = bias ? bias[o1] : 0.0f;
        float *y0 = out + (size_t)o * HWo, *y1 = out + (size_t)o1 * HWo;
        for (int b = 0, ox = 0; b < nb; b++) {
            const int n = base + (b < extra);
            blocks[n](C, rows, cs, wp, Wo, x + ox, w0, w1, b0, b1, e, y0 + ox, y1 + ox);
            ox += n;
        }
    }
}

mcuf_status mcuf_conv2d_f32_3x3(const mcuf_conv2d_3x3_params *p, const float *restrict in, const float *restrict w,
                                const float *restrict bias, float *restrict out, void *restrict scratch,
                                size_t scratch_bytes)
{
    if (!conv3x3_params_ok(p) || !in || !w || !out) return MCUF_ERR_ARG;
    const conv3x3_epilogue e = {p->act, p->act == MCUF_ACT_CLIP_ ? p->act_lo : 0.0f, p->act_hi};
    const int Ho = p->OH, Wo = p->OW, wp = Wo + 2;
    if (conv3x3_unpadded(p)) {
        conv3x3_band(p, in, (size_t)p->H * p->W, p->W, Ho, w, bias, e, out);
        return MCUF_OK;
    }
    if (!scratch || scratch_bytes < mcuf_conv2d_f32_3x3_min_scratch_size(p)) return MCUF_ERR_SCRATCH;
    /* Bands of as many output rows as the scratch holds padded input for (rows + 2 per channel). */
    const size_t row_bytes = (size_t)p->C * wp * sizeof(float);
    int band = (int)(scratch_bytes / row_bytes) - 2;
    band = band < Ho ? band : Ho;
    float *xp = (float *)scratch;
    for (int r0 = 0; r0 < Ho; r0 += band) {
        const int rows = Ho - r0 < band ? Ho - r0 : band;
        conv3x3_pad_band(p, in, r0, rows + 2, xp);
        conv3x3_band(p, xp, (size_t)(rows + 2) * wp, wp, rows, w, bias, e, out + (size_t)r0 * Wo);
    }
    return MCUF_OK;
}
