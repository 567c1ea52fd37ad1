/* mcuf_matmul_blocked.h (internal): the walk over C shared by the scalar register-blocked matmuls
 * (mcuf_matmul_f16_zfh.c, mcuf_matmul_f32_rvf.c). Blocks of 5 and 4 rows/columns go to the generated
 * assembly blocks blk_<kind>_<form>_<MR>x<NR> (see runtime_c/tools/gen_matmul_blocks.py); the 1..3 rows
 * or columns that dimensions below 12 leave go to a compact per-element dot product. */
#ifndef MCUF_MATMUL_BLOCKED_H
#define MCUF_MATMUL_BLOCKED_H

#include "mcuf_matmul.h"

enum { MCUF_FORM_NN = 0, MCUF_FORM_NT = 1, MCUF_FORM_TN = 2 };

/* A dimension D as n5 blocks of 5, then n4 blocks of 4, then one block of `rest` (0..3) elements: 4s and
 * 5s cover any D >= 12 exactly (and 4, 5, 8, 9, 10); only smaller D leave a rest. */
typedef struct { int n5, n4, rest; } mcuf_split45;

static inline mcuf_split45 mcuf_split_dim(int D)
{
    mcuf_split45 s;
    int n4 = (5 - D % 5) % 5;
    if (4 * n4 <= D) {
        s.n5 = (D - 4 * n4) / 5;
        s.n4 = n4;
        s.rest = 0;
    } else {
        s.n5 = 0;
        s.n4 = D / 4;
        s.rest = D % 4;
    }
    return s;
}

/* C[i0.., j0..] for an mr x nr block (mr, nr <= 5, runtime) as one dot product per element, the
 * accumulator of type ACC, summed in increasing k like every other variant. */
#define MCUF_DEFINE_SMALL_BLOCK(NAME, T, ACC)                                                            \
    static void NAME(int mr, int nr, int form, const mcuf_matmul_params *p, const T *A, const T *B,     \
                     const T *bias, T *C, int i0, int j0)                                                \
    {                                                                                                    \
        const int M = p->M, N = p->N, K = p->K;                                                          \
        const int a_i = form == MCUF_FORM_TN ? 1 : K, a_k = form == MCUF_FORM_TN ? M : 1;                \
        const int b_k = form == MCUF_FORM_NT ? 1 : N, b_j = form == MCUF_FORM_NT ? K : 1;                \
        for (int i = i0; i < i0 + mr; i++)                                                               \
            for (int j = j0; j < j0 + nr; j++) {                                                         \
                ACC s = p->accumulate ? (ACC)C[i * N + j] : (ACC)0.0f;                                   \
                if (bias) s += (ACC)bias[p->bias_per_row ? i : j];                                       \
                const T *a = A + i * a_i, *b = B + j * b_j;                                              \
                for (int k = 0; k < K; k++, a += a_k, b += b_k) s += (ACC)*a * (ACC)*b;                  \
                C[i * N + j] = (T)s;                                                                     \
            }                                                                                            \
    }

#define MCUF_BLOCKED_ROW(KIND, FORMNAME, FORM, MR, SMALL)                                                \
    do {                                                                                                 \
        int j0 = 0;                                                                                      \
        for (int t = 0; t < sn.n5; t++, j0 += 5) {                                                       \
            const T_ *b = FORM == MCUF_FORM_NT ? B + (size_t)j0 * K : B + j0;                            \
            blk_##KIND##_##FORMNAME##_##MR##x5(a, b, C + (size_t)i0 * N + j0, K, sa, sb, sc, accf,       \
                                               bias + i0 * brow + j0 * bcol, bmode);                      \
        }                                                                                                \
        for (int t = 0; t < sn.n4; t++, j0 += 4) {                                                       \
            const T_ *b = FORM == MCUF_FORM_NT ? B + (size_t)j0 * K : B + j0;                            \
            blk_##KIND##_##FORMNAME##_##MR##x4(a, b, C + (size_t)i0 * N + j0, K, sa, sb, sc, accf,       \
                                               bias + i0 * brow + j0 * bcol, bmode);                      \
        }                                                                                                \
        if (sn.rest) SMALL(MR, sn.rest, FORM, p, A, B, bias, C, i0, j0);                                 \
    } while (0)

/* static void NAME(p, A, B, bias, C): the whole product for one kind and form. */
#define MCUF_DEFINE_BLOCKED(NAME, KIND, FORMNAME, FORM, T, SMALL)                                        \
    static void NAME(const mcuf_matmul_params *p, const T *A, const T *B, const T *bias, T *C)          \
    {                                                                                                    \
        typedef T T_;                                                                                    \
        const int M = p->M, N = p->N, K = p->K;                                                          \
        const ptrdiff_t es = (ptrdiff_t)sizeof(T);                                                       \
        const ptrdiff_t sa = (FORM == MCUF_FORM_TN ? M : K) * es;                                        \
        const ptrdiff_t sb = (FORM == MCUF_FORM_NT ? K : N) * es, sc = (ptrdiff_t)N * es;                \
        const mcuf_split45 sm = mcuf_split_dim(M), sn = mcuf_split_dim(N);                               \
        const int accf = p->accumulate;                                                                  \
        int bmode = bias ? (p->bias_per_row ? 1 : 2) : 0;                                                \
        int brow = bmode == 1, bcol = bmode == 2;                                                        \
        /* Made opaque: knowing their values, clang unswitches the loops per bias mode and duplicates    \
         * every assembly block (twice the code for nothing). */                                         \
        __asm__("" : "+r"(bmode), "+r"(brow), "+r"(bcol));                                               \
        int i0 = 0;                                                                                      \
        for (int t = 0; t < sm.n5; t++, i0 += 5) {                                                       \
            const T *a = FORM == MCUF_FORM_TN ? A + i0 : A + (size_t)i0 * K;                             \
            MCUF_BLOCKED_ROW(KIND, FORMNAME, FORM, 5, SMALL);                                            \
        }                                                                                                \
        for (int t = 0; t < sm.n4; t++, i0 += 4) {                                                       \
            const T *a = FORM == MCUF_FORM_TN ? A + i0 : A + (size_t)i0 * K;                             \
            MCUF_BLOCKED_ROW(KIND, FORMNAME, FORM, 4, SMALL);                                            \
        }                                                                                                \
        if (sm.rest)                                                                                     \
            for (int j0 = 0; j0 < N;) {                                                                  \
                const int nr = j0 + 5 <= N ? 5 : N - j0;                                                 \
                SMALL(sm.rest, nr, FORM, p, A, B, bias, C, i0, j0);                                      \
                j0 += nr;                                                                                \
            }                                                                                            \
    }

static inline mcuf_status mcuf_blocked_check(const mcuf_matmul_params *p, const void *A, const void *B,
                                             const void *C)
{
    if (!p || !A || !B || !C) return MCUF_ERR_ARG;
    if (p->M < 1 || p->N < 1 || p->K < 1) return MCUF_ERR_ARG;
    if (p->acc != MCUF_ACC_F16 && p->acc != MCUF_ACC_F32) return MCUF_ERR_ARG;
    return MCUF_OK;
}

#endif /* MCUF_MATMUL_BLOCKED_H */
