/* mcuf_matmul_f32.c: portable C FP32 matmul in the three forms (reference for the _rvv backend). */
#include "mcuf_matmul.h"

/* Element (i,k) of the left operand is A[i*a_i + k*a_k], element (k,j) of the right one B[k*b_k + j*b_j]. */
static void matmul_f32_strided(const mcuf_matmul_params *p, const float *A, size_t a_i, size_t a_k,
                               const float *B, size_t b_k, size_t b_j, const float *bias, float *C)
{
    const size_t M = (size_t)p->M, N = (size_t)p->N, K = (size_t)p->K;
    for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < N; j++) {
            float *c = &C[i * N + j];
            const float *a = &A[i * a_i];
            const float *b = &B[j * b_j];
            float s = p->accumulate ? *c : 0.0f;
            if (bias) s += bias[p->bias_per_row ? i : j];
            for (size_t k = 0; k < K; k++) s += a[k * a_k] * b[k * b_k];
            *c = s;
        }
    }
}

static mcuf_status check(const mcuf_matmul_params *p, const void *A, const void *B, const void *C)
{
    if (!p || !A || !B || !C) return MCUF_ERR_ARG;
    if (p->M < 1 || p->N < 1 || p->K < 1) return MCUF_ERR_ARG;
    return MCUF_OK;
}

mcuf_status mcuf_matmul_f32(const mcuf_matmul_params *p, const float *restrict A, const float *restrict B,
                            const float *restrict bias, float *restrict C)
{
    mcuf_status st = check(p, A, B, C);
    if (st != MCUF_OK) return st;
    matmul_f32_strided(p, A, (size_t)p->K, 1, B, (size_t)p->N, 1, bias, C);
    return MCUF_OK;
}

mcuf_status mcuf_matmul_nt_f32(const mcuf_matmul_params *p, const float *restrict A, const float *restrict B,
                               const float *restrict bias, float *restrict C)
{
    mcuf_status st = check(p, A, B, C);
    if (st != MCUF_OK) return st;
    matmul_f32_strided(p, A, (size_t)p->K, 1, B, 1, (size_t)p->K, bias, C);
    return MCUF_OK;
}

mcuf_status mcuf_matmul_tn_f32(const mcuf_matmul_params *p, const float *restrict A, const float *restrict B,
                               const float *restrict bias, float *restrict C)
{
    mcuf_status st = check(p, A, B, C);
    if (st != MCUF_OK) return st;
    matmul_f32_strided(p, A, 1, (size_t)p->M, B, (size_t)p->N, 1, bias, C);
    return MCUF_OK;
}
