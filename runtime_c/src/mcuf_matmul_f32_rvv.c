/* mcuf_matmul_f32_rvv.c: RVV 1.0 FP32 matmul (VLEN-agnostic), the FP32 twin of mcuf_matmul_f16_rvv.c:
 * rows of C vectorised along N at LMUL 8 (32 floats per group at VLEN 128), three rows in flight, per k
 * one vector load of a B row (strided for _nt) and one flw + vfmacc.vf per row of A; narrow products
 * (N below one register group, M > N) are vectorised along M instead.
 * Compiled only when the compiler targets V with F; empty otherwise. */
#include "mcuf_matmul.h"

#if defined(__riscv_vector) && defined(__riscv_f)
#include <riscv_vector.h>

enum { FORM_NN = 0, FORM_NT = 1, FORM_TN = 2 };

#define ALWAYS_INLINE inline __attribute__((always_inline))

static ALWAYS_INLINE float a_at(int form, const float *A, int M, int K, int i, int k)
{
    return form == FORM_TN ? A[(size_t)k * M + i] : A[(size_t)i * K + k];
}

/* R (1..3) rows of C starting at i0, columns [j0, j0 + vl). */
static ALWAYS_INLINE void rows_f(const int R, const int form, const mcuf_matmul_params *p, const float *A,
                                 const float *B, const float *bias, float *C, int i0, int j0, size_t vl)
{
    const int M = p->M, N = p->N, K = p->K;
    vfloat32m8_t c0, c1 = __riscv_vfmv_v_f_f32m8(0.0f, vl), c2 = c1;
    c0 = c1;
    if (p->accumulate) {
        c0 = __riscv_vle32_v_f32m8(C + (size_t)i0 * N + j0, vl);
        if (R > 1) c1 = __riscv_vle32_v_f32m8(C + (size_t)(i0 + 1) * N + j0, vl);
        if (R > 2) c2 = __riscv_vle32_v_f32m8(C + (size_t)(i0 + 2) * N + j0, vl);
    }
    if (bias) {
        if (p->bias_per_row) {
            c0 = __riscv_vfadd_vf_f32m8(c0, bias[i0], vl);
            if (R > 1) c1 = __riscv_vfadd_vf_f32m8(c1, bias[i0 + 1], vl);
            if (R > 2) c2 = __riscv_vfadd_vf_f32m8(c2, bias[i0 + 2], vl);
        } else {
            vfloat32m8_t bv = __riscv_vle32_v_f32m8(bias + j0, vl);
            c0 = __riscv_vfadd_vv_f32m8(c0, bv, vl);
            if (R > 1) c1 = __riscv_vfadd_vv_f32m8(c1, bv, vl);
            if (R > 2) c2 = __riscv_vfadd_vv_f32m8(c2, bv, vl);
        }
    }
    const float *b = form == FORM_NT ? B + (size_t)j0 * K : B + j0;
    const ptrdiff_t sb = form == FORM_NT ? 1 : N;
    const ptrdiff_t sbs = form == FORM_NT ? 4 * K : 4;
    for (int k = 0; k < K; k++, b += sb) {
        vfloat32m8_t bk = form == FORM_NT ? __riscv_vlse32_v_f32m8(b, sbs, vl) : __riscv_vle32_v_f32m8(b, vl);
        c0 = __riscv_vfmacc_vf_f32m8(c0, a_at(form, A, M, K, i0, k), bk, vl);
        if (R > 1) c1 = __riscv_vfmacc_vf_f32m8(c1, a_at(form, A, M, K, i0 + 1, k), bk, vl);
        if (R > 2) c2 = __riscv_vfmacc_vf_f32m8(c2, a_at(form, A, M, K, i0 + 2, k), bk, vl);
    }
    __riscv_vse32_v_f32m8(C + (size_t)i0 * N + j0, c0, vl);
    if (R > 1) __riscv_vse32_v_f32m8(C + (size_t)(i0 + 1) * N + j0, c1, vl);
    if (R > 2) __riscv_vse32_v_f32m8(C + (size_t)(i0 + 2) * N + j0, c2, vl);
}

/* Narrow C (N below one register group, M > N): vectorised along M, R (1..3) columns in flight; per k
 * one vector load of a column of A (strided unless tn) and one flw + vfmacc.vf per column. */
static ALWAYS_INLINE void cols_f(const int R, const int form, const mcuf_matmul_params *p, const float *A,
                                 const float *B, const float *bias, float *C, int i0, int j0, size_t vl)
{
    const int M = p->M, N = p->N, K = p->K;
    const ptrdiff_t sc = 4 * (ptrdiff_t)N;
    float *c = C + (size_t)i0 * N + j0;
    vfloat32m8_t c0, c1 = __riscv_vfmv_v_f_f32m8(0.0f, vl), c2 = c1;
    c0 = c1;
    if (p->accumulate) {
        c0 = __riscv_vlse32_v_f32m8(c, sc, vl);
        if (R > 1) c1 = __riscv_vlse32_v_f32m8(c + 1, sc, vl);
        if (R > 2) c2 = __riscv_vlse32_v_f32m8(c + 2, sc, vl);
    }
    if (bias) {
        if (p->bias_per_row) {
            vfloat32m8_t bv = __riscv_vle32_v_f32m8(bias + i0, vl);
            c0 = __riscv_vfadd_vv_f32m8(c0, bv, vl);
            if (R > 1) c1 = __riscv_vfadd_vv_f32m8(c1, bv, vl);
            if (R > 2) c2 = __riscv_vfadd_vv_f32m8(c2, bv, vl);
        } else {
            c0 = __riscv_vfadd_vf_f32m8(c0, bias[j0], vl);
            if (R > 1) c1 = __riscv_vfadd_vf_f32m8(c1, bias[j0 + 1], vl);
            if (R > 2) c2 = __riscv_vfadd_vf_f32m8(c2, bias[j0 + 2], vl);
        }
    }
    const float *a = form == FORM_TN ? A + i0 : A + (size_t)i0 * K;
    const ptrdiff_t sa = form == FORM_TN ? M : 1, sas = 4 * (ptrdiff_t)K;
    const float *b = form == FORM_NT ? B + (size_t)j0 * K : B + j0;
    const ptrdiff_t sbk = form == FORM_NT ? 1 : N, sbj = form == FORM_NT ? K : 1;
    for (int k = 0; k < K; k++, a += sa, b += sbk) {
        vfloat32m8_t ak = form == FORM_TN ? __riscv_vle32_v_f32m8(a, vl) : __riscv_vlse32_v_f32m8(a, sas, vl);
        c0 = __riscv_vfmacc_vf_f32m8(c0, b[0], ak, vl);
        if (R > 1) c1 = __riscv_vfmacc_vf_f32m8(c1, b[sbj], ak, vl);
        if (R > 2) c2 = __riscv_vfmacc_vf_f32m8(c2, b[2 * sbj], ak, vl);
    }
    __riscv_vsse32_v_f32m8(c, sc, c0, vl);
    if (R > 1) __riscv_vsse32_v_f32m8(c + 1, sc, c1, vl);
    if (R > 2) __riscv_vsse32_v_f32m8(c + 2, sc, c2, vl);
}

#define DEFINE_FORM(NAME, FORM)                                                                          \
    static void NAME(const mcuf_matmul_params *p, const float *A, const float *B, const float *bias,    \
                     float *C)                                                                           \
    {                                                                                                    \
        const int M = p->M, N = p->N;                                                                    \
        if ((size_t)N < __riscv_vsetvlmax_e32m8() && M > N) {                                           \
            for (int i0 = 0; i0 < M;) {                                                                  \
                const size_t vl = __riscv_vsetvl_e32m8((size_t)(M - i0));                                \
                int j0 = 0;                                                                              \
                for (; j0 + 3 <= N; j0 += 3) cols_f(3, FORM, p, A, B, bias, C, i0, j0, vl);             \
                if (N - j0 == 2) cols_f(2, FORM, p, A, B, bias, C, i0, j0, vl);                          \
                else if (N - j0 == 1) cols_f(1, FORM, p, A, B, bias, C, i0, j0, vl);                     \
                i0 += (int)vl;                                                                           \
            }                                                                                            \
            return;                                                                                      \
        }                                                                                                \
        for (int j0 = 0; j0 < N;) {                                                                      \
            const size_t vl = __riscv_vsetvl_e32m8((size_t)(N - j0));                                    \
            int i0 = 0;                                                                                  \
            for (; i0 + 3 <= M; i0 += 3) rows_f(3, FORM, p, A, B, bias, C, i0, j0, vl);                 \
            if (M - i0 == 2) rows_f(2, FORM, p, A, B, bias, C, i0, j0, vl);                              \
            else if (M - i0 == 1) rows_f(1, FORM, p, A, B, bias, C, i0, j0, vl);                         \
            j0 += (int)vl;                                                                               \
        }                                                                                                \
    }

DEFINE_FORM(nn, FORM_NN)
DEFINE_FORM(nt, FORM_NT)
DEFINE_FORM(tn, FORM_TN)

static mcuf_status check(const mcuf_matmul_params *p, const void *A, const void *B, const void *C)
{
    if (!p || !A || !B || !C) return MCUF_ERR_ARG;
    if (p->M < 1 || p->N < 1 || p->K < 1) return MCUF_ERR_ARG;
    return MCUF_OK;
}

mcuf_status mcuf_matmul_f32_rvv(const mcuf_matmul_params *p, const float *restrict A, const float *restrict B,
                                const float *restrict bias, float *restrict C)
{
    mcuf_status st = check(p, A, B, C);
    if (st == MCUF_OK) nn(p, A, B, bias, C);
    return st;
}

mcuf_status mcuf_matmul_nt_f32_rvv(const mcuf_matmul_params *p, const float *restrict A, const float *restrict B,
                                   const float *restrict bias, float *restrict C)
{
    mcuf_status st = check(p, A, B, C);
    if (st == MCUF_OK) nt(p, A, B, bias, C);
    return st;
}

mcuf_status mcuf_matmul_tn_f32_rvv(const mcuf_matmul_params *p, const float *restrict A, const float *restrict B,
                                   const float *restrict bias, float *restrict C)
{
    mcuf_status st = check(p, A, B, C);
    if (st == MCUF_OK) tn(p, A, B, bias, C);
    return st;
}

#else
typedef int mcuf_matmul_f32_rvv_empty; /* ISO C forbids an empty translation unit */
#endif
