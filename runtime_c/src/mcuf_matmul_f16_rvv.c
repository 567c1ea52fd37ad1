/* mcuf_matmul_f16_rvv.c: RVV 1.0 + Zvfh FP16 matmul (VLEN-agnostic, measured at VLEN 128).
 *
 * Rows of C are vectorised along N in strips of vl = vsetvl(N - j0) elements at LMUL 8 (64 halves per
 * register group at VLEN 128). Three rows of C are in flight: three accumulator groups plus one group
 * for the current row of B fill the 32 vector registers. Per k: one vector load of B's row k (a strided
 * load for the _nt form, whose B is stored transposed) and, per row of A, one flh + vfmacc.vf: 3 * vl
 * MACs for about 8 instructions. Rows left over (M mod 3) run with 2 or 1 rows in flight.
 * Narrow products (N below one register group and M > N, e.g. 128x10) are vectorised along M instead,
 * three columns of C in flight (both accumulation policies).
 * MCUF_ACC_F32 widens: vfwmacc.vf into FP32 accumulators at LMUL 8 from FP16 rows at LMUL 4, and
 * vfncvt rounds once at the end.
 * Compiled only when the compiler targets V + Zvfh; empty otherwise.
 */
#include "mcuf_matmul.h"

#if defined(__riscv_zvfh) && defined(__riscv_vector)
#include <riscv_vector.h>

enum { FORM_NN = 0, FORM_NT = 1, FORM_TN = 2 };

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* Element (i, k) of A and the address of row k, column j0 of B (B^T for nt) for each form. */
static ALWAYS_INLINE mcuf_f16 a_at(int form, const mcuf_f16 *A, int M, int K, int i, int k)
{
    return form == FORM_TN ? A[(size_t)k * M + i] : A[(size_t)i * K + k];
}

/* FP16 accumulate: R (1..3) rows of C starting at i0, columns [j0, j0 + vl). */
static ALWAYS_INLINE void rows_h(const int R, const int form, const mcuf_matmul_params *p, const mcuf_f16 *A,
                                 const mcuf_f16 *B, const mcuf_f16 *bias, mcuf_f16 *C, int i0, int j0,
                                 size_t vl)
{
    const int M = p->M, N = p->N, K = p->K;
    vfloat16m8_t c0, c1 = __riscv_vfmv_v_f_f16m8((mcuf_f16)0.0f, vl), c2 = c1;
    c0 = c1;
    if (p->accumulate) {
        c0 = __riscv_vle16_v_f16m8(C + (size_t)i0 * N + j0, vl);
        if (R > 1) c1 = __riscv_vle16_v_f16m8(C + (size_t)(i0 + 1) * N + j0, vl);
        if (R > 2) c2 = __riscv_vle16_v_f16m8(C + (size_t)(i0 + 2) * N + j0, vl);
    }
    if (bias) {
        if (p->bias_per_row) {
            c0 = __riscv_vfadd_vf_f16m8(c0, bias[i0], vl);
            if (R > 1) c1 = __riscv_vfadd_vf_f16m8(c1, bias[i0 + 1], vl);
            if (R > 2) c2 = __riscv_vfadd_vf_f16m8(c2, bias[i0 + 2], vl);
        } else {
            vfloat16m8_t bv = __riscv_vle16_v_f16m8(bias + j0, vl);
            c0 = __riscv_vfadd_vv_f16m8(c0, bv, vl);
            if (R > 1) c1 = __riscv_vfadd_vv_f16m8(c1, bv, vl);
            if (R > 2) c2 = __riscv_vfadd_vv_f16m8(c2, bv, vl);
        }
    }
    const mcuf_f16 *b = form == FORM_NT ? B + (size_t)j0 * K : B + j0;
    const ptrdiff_t sb = form == FORM_NT ? 1 : N;     /* elements between B rows k and k+1 */
    const ptrdiff_t sbs = form == FORM_NT ? 2 * K : 2; /* bytes between elements of a B row */
    for (int k = 0; k < K; k++, b += sb) {
        vfloat16m8_t bk = form == FORM_NT ? __riscv_vlse16_v_f16m8(b, sbs, vl) : __riscv_vle16_v_f16m8(b, vl);
        c0 = __riscv_vfmacc_vf_f16m8(c0, a_at(form, A, M, K, i0, k), bk, vl);
        if (R > 1) c1 = __riscv_vfmacc_vf_f16m8(c1, a_at(form, A, M, K, i0 + 1, k), bk, vl);
        if (R > 2) c2 = __riscv_vfmacc_vf_f16m8(c2, a_at(form, A, M, K, i0 + 2, k), bk, vl);
    }
    __riscv_vse16_v_f16m8(C + (size_t)i0 * N + j0, c0, vl);
    if (R > 1) __riscv_vse16_v_f16m8(C + (size_t)(i0 + 1) * N + j0, c1, vl);
    if (R > 2) __riscv_vse16_v_f16m8(C + (size_t)(i0 + 2) * N + j0, c2, vl);
}

/* FP32 accumulate: same structure, FP32 accumulators at LMUL 8 fed by FP16 rows at LMUL 4. */
static ALWAYS_INLINE void rows_s(const int R, const int form, const mcuf_matmul_params *p, const mcuf_f16 *A,
                                 const mcuf_f16 *B, const mcuf_f16 *bias, mcuf_f16 *C, int i0, int j0,
                                 size_t vl)
{
    const int M = p->M, N = p->N, K = p->K;
    vfloat32m8_t c0, c1 = __riscv_vfmv_v_f_f32m8(0.0f, vl), c2 = c1;
    c0 = c1;
    if (p->accumulate) {
        c0 = __riscv_vfwcvt_f_f_v_f32m8(__riscv_vle16_v_f16m4(C + (size_t)i0 * N + j0, vl), vl);
        if (R > 1) c1 = __riscv_vfwcvt_f_f_v_f32m8(__riscv_vle16_v_f16m4(C + (size_t)(i0 + 1) * N + j0, vl), vl);
        if (R > 2) c2 = __riscv_vfwcvt_f_f_v_f32m8(__riscv_vle16_v_f16m4(C + (size_t)(i0 + 2) * N + j0, vl), vl);
    }
    if (bias) {
        if (p->bias_per_row) {
            c0 = __riscv_vfadd_vf_f32m8(c0, (float)bias[i0], vl);
            if (R > 1) c1 = __riscv_vfadd_vf_f32m8(c1, (float)bias[i0 + 1], vl);
            if (R > 2) c2 = __riscv_vfadd_vf_f32m8(c2, (float)bias[i0 + 2], vl);
        } else {
            vfloat16m4_t bh = __riscv_vle16_v_f16m4(bias + j0, vl);
            c0 = __riscv_vfwadd_wv_f32m8(c0, bh, vl);
            if (R > 1) c1 = __riscv_vfwadd_wv_f32m8(c1, bh, vl);
            if (R > 2) c2 = __riscv_vfwadd_wv_f32m8(c2, bh, vl);
        }
    }
    const mcuf_f16 *b = form == FORM_NT ? B + (size_t)j0 * K : B + j0;
    const ptrdiff_t sb = form == FORM_NT ? 1 : N;
    const ptrdiff_t sbs = form == FORM_NT ? 2 * K : 2;
    for (int k = 0; k < K; k++, b += sb) {
        vfloat16m4_t bk = form == FORM_NT ? __riscv_vlse16_v_f16m4(b, sbs, vl) : __riscv_vle16_v_f16m4(b, vl);
        c0 = __riscv_vfwmacc_vf_f32m8(c0, a_at(form, A, M, K, i0, k), bk, vl);
        if (R > 1) c1 = __riscv_vfwmacc_vf_f32m8(c1, a_at(form, A, M, K, i0 + 1, k), bk, vl);
        if (R > 2) c2 = __riscv_vfwmacc_vf_f32m8(c2, a_at(form, A, M, K, i0 + 2, k), bk, vl);
    }
    __riscv_vse16_v_f16m4(C + (size_t)i0 * N + j0, __riscv_vfncvt_f_f_w_f16m4(c0, vl), vl);
    if (R > 1) __riscv_vse16_v_f16m4(C + (size_t)(i0 + 1) * N + j0, __riscv_vfncvt_f_f_w_f16m4(c1, vl), vl);
    if (R > 2) __riscv_vse16_v_f16m4(C + (size_t)(i0 + 2) * N + j0, __riscv_vfncvt_f_f_w_f16m4(c2, vl), vl);
}

/* FP16 accumulate, narrow C (N < one register group, M > N): vectorise along M instead, R (1..3)
 * columns of C in flight; per k one vector load of a column of A (strided unless tn) and one
 * flh + vfmacc.vf per column. Rows i0..i0+vl of columns j0..j0+R. */
static ALWAYS_INLINE void cols_h(const int R, const int form, const mcuf_matmul_params *p, const mcuf_f16 *A,
                                 const mcuf_f16 *B, const mcuf_f16 *bias, mcuf_f16 *C, int i0, int j0,
                                 size_t vl)
{
    const int M = p->M, N = p->N, K = p->K;
    const ptrdiff_t sc = 2 * (ptrdiff_t)N; /* bytes between rows of C */
    mcuf_f16 *c = C + (size_t)i0 * N + j0;
    vfloat16m8_t c0, c1 = __riscv_vfmv_v_f_f16m8((mcuf_f16)0.0f, vl), c2 = c1;
    c0 = c1;
    if (p->accumulate) {
        c0 = __riscv_vlse16_v_f16m8(c, sc, vl);
        if (R > 1) c1 = __riscv_vlse16_v_f16m8(c + 1, sc, vl);
        if (R > 2) c2 = __riscv_vlse16_v_f16m8(c + 2, sc, vl);
    }
    if (bias) {
        if (p->bias_per_row) {
            vfloat16m8_t bv = __riscv_vle16_v_f16m8(bias + i0, vl);
            c0 = __riscv_vfadd_vv_f16m8(c0, bv, vl);
            if (R > 1) c1 = __riscv_vfadd_vv_f16m8(c1, bv, vl);
            if (R > 2) c2 = __riscv_vfadd_vv_f16m8(c2, bv, vl);
        } else {
            c0 = __riscv_vfadd_vf_f16m8(c0, bias[j0], vl);
            if (R > 1) c1 = __riscv_vfadd_vf_f16m8(c1, bias[j0 + 1], vl);
            if (R > 2) c2 = __riscv_vfadd_vf_f16m8(c2, bias[j0 + 2], vl);
        }
    }
    /* column k of A: tn stores A^T, so it is row k there (contiguous); else a stride of K */
    const mcuf_f16 *a = form == FORM_TN ? A + i0 : A + (size_t)i0 * K;
    const ptrdiff_t sa = form == FORM_TN ? M : 1;
    const ptrdiff_t sas = 2 * (ptrdiff_t)K;
    /* element (k, j) of B */
    const mcuf_f16 *b = form == FORM_NT ? B + (size_t)j0 * K : B + j0;
    const ptrdiff_t sbk = form == FORM_NT ? 1 : N, sbj = form == FORM_NT ? K : 1;
    for (int k = 0; k < K; k++, a += sa, b += sbk) {
        vfloat16m8_t ak = form == FORM_TN ? __riscv_vle16_v_f16m8(a, vl) : __riscv_vlse16_v_f16m8(a, sas, vl);
        c0 = __riscv_vfmacc_vf_f16m8(c0, b[0], ak, vl);
        if (R > 1) c1 = __riscv_vfmacc_vf_f16m8(c1, b[sbj], ak, vl);
        if (R > 2) c2 = __riscv_vfmacc_vf_f16m8(c2, b[2 * sbj], ak, vl);
    }
    __riscv_vsse16_v_f16m8(c, sc, c0, vl);
    if (R > 1) __riscv_vsse16_v_f16m8(c + 1, sc, c1, vl);
    if (R > 2) __riscv_vsse16_v_f16m8(c + 2, sc, c2, vl);
}

/* FP32 accumulate, narrow C: as cols_h with FP32 accumulators (LMUL 8) fed by FP16 columns of A at
 * LMUL 4 through vfwmacc.vf, rounding to FP16 once at the end. */
static ALWAYS_INLINE void cols_s(const int R, const int form, const mcuf_matmul_params *p, const mcuf_f16 *A,
                                 const mcuf_f16 *B, const mcuf_f16 *bias, mcuf_f16 *C, int i0, int j0,
                                 size_t vl)
{
    const int M = p->M, N = p->N, K = p->K;
    const ptrdiff_t sc = 2 * (ptrdiff_t)N;
    mcuf_f16 *c = C + (size_t)i0 * N + j0;
    vfloat32m8_t c0, c1 = __riscv_vfmv_v_f_f32m8(0.0f, vl), c2 = c1;
    c0 = c1;
    if (p->accumulate) {
        c0 = __riscv_vfwcvt_f_f_v_f32m8(__riscv_vlse16_v_f16m4(c, sc, vl), vl);
        if (R > 1) c1 = __riscv_vfwcvt_f_f_v_f32m8(__riscv_vlse16_v_f16m4(c + 1, sc, vl), vl);
        if (R > 2) c2 = __riscv_vfwcvt_f_f_v_f32m8(__riscv_vlse16_v_f16m4(c + 2, sc, vl), vl);
    }
    if (bias) {
        if (p->bias_per_row) {
            vfloat16m4_t bh = __riscv_vle16_v_f16m4(bias + i0, vl);
            c0 = __riscv_vfwadd_wv_f32m8(c0, bh, vl);
            if (R > 1) c1 = __riscv_vfwadd_wv_f32m8(c1, bh, vl);
            if (R > 2) c2 = __riscv_vfwadd_wv_f32m8(c2, bh, vl);
        } else {
            c0 = __riscv_vfadd_vf_f32m8(c0, (float)bias[j0], vl);
            if (R > 1) c1 = __riscv_vfadd_vf_f32m8(c1, (float)bias[j0 + 1], vl);
            if (R > 2) c2 = __riscv_vfadd_vf_f32m8(c2, (float)bias[j0 + 2], vl);
        }
    }
    const mcuf_f16 *a = form == FORM_TN ? A + i0 : A + (size_t)i0 * K;
    const ptrdiff_t sa = form == FORM_TN ? M : 1, sas = 2 * (ptrdiff_t)K;
    const mcuf_f16 *b = form == FORM_NT ? B + (size_t)j0 * K : B + j0;
    const ptrdiff_t sbk = form == FORM_NT ? 1 : N, sbj = form == FORM_NT ? K : 1;
    for (int k = 0; k < K; k++, a += sa, b += sbk) {
        vfloat16m4_t ak = form == FORM_TN ? __riscv_vle16_v_f16m4(a, vl) : __riscv_vlse16_v_f16m4(a, sas, vl);
        c0 = __riscv_vfwmacc_vf_f32m8(c0, b[0], ak, vl);
        if (R > 1) c1 = __riscv_vfwmacc_vf_f32m8(c1, b[sbj], ak, vl);
        if (R > 2) c2 = __riscv_vfwmacc_vf_f32m8(c2, b[2 * sbj], ak, vl);
    }
    __riscv_vsse16_v_f16m4(c, sc, __riscv_vfncvt_f_f_w_f16m4(c0, vl), vl);
    if (R > 1) __riscv_vsse16_v_f16m4(c + 1, sc, __riscv_vfncvt_f_f_w_f16m4(c1, vl), vl);
    if (R > 2) __riscv_vsse16_v_f16m4(c + 2, sc, __riscv_vfncvt_f_f_w_f16m4(c2, vl), vl);
}

#define DEFINE_FORM(NAME, FORM)                                                                          \
    static void NAME(const mcuf_matmul_params *p, const mcuf_f16 *A, const mcuf_f16 *B,                 \
                     const mcuf_f16 *bias, mcuf_f16 *C)                                                  \
    {                                                                                                    \
        const int M = p->M, N = p->N;                                                                    \
        if (p->acc == MCUF_ACC_F32 && (size_t)N < __riscv_vsetvlmax_e16m4() && M > N) {                  \
            for (int i0 = 0; i0 < M;) {                                                                  \
                const size_t vl = __riscv_vsetvl_e16m4((size_t)(M - i0));                                \
                int j0 = 0;                                                                              \
                for (; j0 + 3 <= N; j0 += 3) cols_s(3, FORM, p, A, B, bias, C, i0, j0, vl);             \
                if (N - j0 == 2) cols_s(2, FORM, p, A, B, bias, C, i0, j0, vl);                          \
                else if (N - j0 == 1) cols_s(1, FORM, p, A, B, bias, C, i0, j0, vl);                     \
                i0 += (int)vl;                                                                           \
            }                                                                                            \
        } else if (p->acc == MCUF_ACC_F32) {                                                             \
            for (int j0 = 0; j0 < N;) {                                                                  \
                const size_t vl = __riscv_vsetvl_e16m4((size_t)(N - j0));                                \
                int i0 = 0;                                                                              \
                for (; i0 + 3 <= M; i0 += 3) rows_s(3, FORM, p, A, B, bias, C, i0, j0, vl);             \
                if (M - i0 == 2) rows_s(2, FORM, p, A, B, bias, C, i0, j0, vl);                          \
                else if (M - i0 == 1) rows_s(1, FORM, p, A, B, bias, C, i0, j0, vl);                     \
                j0 += (int)vl;                                                                           \
            }                                                                                            \
        } else if ((size_t)N < __riscv_vsetvlmax_e16m8() && M > N) {                                     \
            for (int i0 = 0; i0 < M;) {                                                                  \
                const size_t vl = __riscv_vsetvl_e16m8((size_t)(M - i0));                                \
                int j0 = 0;                                                                              \
                for (; j0 + 3 <= N; j0 += 3) cols_h(3, FORM, p, A, B, bias, C, i0, j0, vl);             \
                if (N - j0 == 2) cols_h(2, FORM, p, A, B, bias, C, i0, j0, vl);                          \
                else if (N - j0 == 1) cols_h(1, FORM, p, A, B, bias, C, i0, j0, vl);                     \
                i0 += (int)vl;                                                                           \
            }                                                                                            \
        } else {                                                                                         \
            for (int j0 = 0; j0 < N;) {                                                                  \
                const size_t vl = __riscv_vsetvl_e16m8((size_t)(N - j0));                                \
                int i0 = 0;                                                                              \
                for (; i0 + 3 <= M; i0 += 3) rows_h(3, FORM, p, A, B, bias, C, i0, j0, vl);             \
                if (M - i0 == 2) rows_h(2, FORM, p, A, B, bias, C, i0, j0, vl);                          \
                else if (M - i0 == 1) rows_h(1, FORM, p, A, B, bias, C, i0, j0, vl);                     \
                j0 += (int)vl;                                                                           \
            }                                                                                            \
        }                                                                                                \
    }

DEFINE_FORM(nn, FORM_NN)
DEFINE_FORM(nt, FORM_NT)
DEFINE_FORM(tn, FORM_TN)

static mcuf_status check(const mcuf_matmul_params *p, const void *A, const void *B, const void *C)
{
    if (!p || !A || !B || !C) return MCUF_ERR_ARG;
    if (p->M < 1 || p->N < 1 || p->K < 1) return MCUF_ERR_ARG;
    if (p->acc != MCUF_ACC_F16 && p->acc != MCUF_ACC_F32) return MCUF_ERR_ARG;
    return MCUF_OK;
}

mcuf_status mcuf_matmul_f16_rvv(const mcuf_matmul_params *p, const mcuf_f16 *restrict A, const mcuf_f16 *restrict B,
                                const mcuf_f16 *restrict bias, mcuf_f16 *restrict C)
{
    mcuf_status st = check(p, A, B, C);
    if (st == MCUF_OK) nn(p, A, B, bias, C);
    return st;
}

mcuf_status mcuf_matmul_nt_f16_rvv(const mcuf_matmul_params *p, const mcuf_f16 *restrict A,
                                   const mcuf_f16 *restrict B, const mcuf_f16 *restrict bias, mcuf_f16 *restrict C)
{
    mcuf_status st = check(p, A, B, C);
    if (st == MCUF_OK) nt(p, A, B, bias, C);
    return st;
}

mcuf_status mcuf_matmul_tn_f16_rvv(const mcuf_matmul_params *p, const mcuf_f16 *restrict A,
                                   const mcuf_f16 *restrict B, const mcuf_f16 *restrict bias, mcuf_f16 *restrict C)
{
    mcuf_status st = check(p, A, B, C);
    if (st == MCUF_OK) tn(p, A, B, bias, C);
    return st;
}

#else
typedef int mcuf_matmul_f16_rvv_empty; /* ISO C forbids an empty translation unit */
#endif
