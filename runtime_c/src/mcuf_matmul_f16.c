/* mcuf_matmul_f16.c: portable C FP16 matmul in the three forms (the reference for the _zfh/_rvv
 * backends) and the naive triple loop used as the benchmark baseline. */
#include "mcuf_matmul.h"

/* One routine for the three forms: element (i,k) of the left operand is A[i*a_i + k*a_k], element
 * (k,j) of the right one is B[k*b_k + j*b_j]. The portable code favours clarity over speed. */
static void matmul_f16_strided(const mcuf_matmul_params *p, const mcuf_f16 *A, size_t a_i, size_t a_k,
                               const mcuf_f16 *B, size_t b_k, size_t b_j, const mcuf_f16 *bias,
                               mcuf_f16 *C)
{
    const size_t M = (size_t)p->M, N = (size_t)p->N, K = (size_t)p->K;
    for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < N; j++) {
            mcuf_f16 *c = &C[i * N + j];
            const mcuf_f16 *a = &A[i * a_i];
            const mcuf_f16 *b = &B[j * b_j];
            if (p->acc == MCUF_ACC_F32) {
                float s = p->accumulate ? (float)*c : 0.0f;
                if (bias) s += (float)bias[p->bias_per_row ? i : j];
                for (size_t k = 0; k < K; k++) s += (float)a[k * a_k] * (float)b[k * b_k];
                *c = (mcuf_f16)s;
            } else {
                mcuf_f16 s = p->accumulate ? *c : (mcuf_f16)0.0f;
                if (bias) s = (mcuf_f16)(s + bias[p->bias_per_row ? i : j]);
                for (size_t k = 0; k < K; k++) s = (mcuf_f16)(s + a[k * a_k] * b[k * b_k]);
                *c = s;
            }
        }
    }
}

static mcuf_status check(const mcuf_matmul_params *p, const void *A, const void *B, const void *C)
{
    if (!p || !A || !B || !C) return MCUF_ERR_ARG;
    if (p->M < 1 || p->N < 1 || p->K < 1) return MCUF_ERR_ARG;
    if (p->acc != MCUF_ACC_F16 && p->acc != MCUF_ACC_F32) return MCUF_ERR_ARG;
    return MCUF_OK;
}

mcuf_status mcuf_matmul_f16(const mcuf_matmul_params *p, const mcuf_f16 *restrict A, const mcuf_f16 *restrict B,
                            const mcuf_f16 *restrict bias, mcuf_f16 *restrict C)
{
    mcuf_status st = check(p, A, B, C);
    if (st != MCUF_OK) return st;
    matmul_f16_strided(p, A, (size_t)p->K, 1, B, (size_t)p->N, 1, bias, C);
    return MCUF_OK;
}

mcuf_status mcuf_matmul_nt_f16(const mcuf_matmul_params *p, const mcuf_f16 *restrict A, const mcuf_f16 *restrict B,
                               const mcuf_f16 *restrict bias, mcuf_f16 *restrict C)
{
    mcuf_status st = check(p, A, B, C);
    if (st != MCUF_OK) return st;
    matmul_f16_strided(p, A, (size_t)p->K, 1, B, 1, (size_t)p->K, bias, C);
    return MCUF_OK;
}

mcuf_status mcuf_matmul_tn_f16(const mcuf_matmul_params *p, const mcuf_f16 *restrict A, const mcuf_f16 *restrict B,
                               const mcuf_f16 *restrict bias, mcuf_f16 *restrict C)
{
    mcuf_status st = check(p, A, B, C);
    if (st != MCUF_OK) return st;
    matmul_f16_strided(p, A, 1, (size_t)p->M, B, (size_t)p->N, 1, bias, C);
    return MCUF_OK;
}

mcuf_status mcuf_matmul_f16_naive(const mcuf_matmul_params *p, const mcuf_f16 *restrict A,
                                  const mcuf_f16 *restrict B, mcuf_f16 *restrict C)
{
    if (!p || !A || !B || !C || p->M < 1 || p->N < 1 || p->K < 1) return MCUF_ERR_ARG;
    const int M = p->M, N = p->N, K = p->K;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            mcuf_f16 s = (mcuf_f16)0.0f;
            for (int k = 0; k < K; k++) s += A[i * K + k] * B[k * N + j];
            C[i * N + j] = s;
        }
    return MCUF_OK;
}
