/* mcuf_matmul.h: dense matrix products in the three forms training needs.
 *
 *   mcuf_matmul_*     C[M,N] (+)= A[M,K]   . B[K,N]     forward
 *   mcuf_matmul_nt_*  C[M,N] (+)= A[M,K]   . B[N,K]^T   input gradient / linear layer
 *   mcuf_matmul_tn_*  C[M,N] (+)= A[K,M]^T . B[K,N]     weight gradient
 *
 * All matrices are row-major and dense (leading dimension = row length). Any M, N, K >= 1.
 * bias: NULL, or M values (p->bias_per_row) or N values added to every row/column of the product.
 * p->accumulate: 1 adds the product (and bias) to C, 0 overwrites C.
 *   Result: C = (accumulate ? C : 0) + bias + sum_k A.B, the dot product summed in increasing k.
 * p->acc (FP16 only): MCUF_ACC_F16 accumulates dot products in FP16 (fastest; relative error grows
 * about like K * 2^-11), MCUF_ACC_F32 accumulates in FP32 and rounds once (error about 2^-11).
 * Returns MCUF_ERR_ARG for NULL p/A/B/C or a dimension < 1. No scratch, no allocation, no state.
 * A, B, bias and C must not overlap (restrict): C is only ever the output, also when accumulating.
 * Alignment: only the natural alignment of the element type is needed (2 bytes for FP16); no kernel
 * performs a misaligned or wider-than-element access.
 *
 * Error bounds (relative to sum_k |A_ik B_kj|, measured by tests/host and tests/target):
 *   FP32 kernels            ~ K * 2^-24 worst case, in practice a few 1e-7.
 *   FP16, MCUF_ACC_F32      one FP16 rounding of the result: <= 2^-11 (4.9e-4).
 *   FP16, MCUF_ACC_F16      one FP16 rounding per step: <= K * 2^-11 worst case, ~ sqrt(K) * 2^-11
 *                           typical (about 2e-3 for K = 64 on random data).
 *
 * Backends: the unsuffixed functions are portable C (the reference). `_zfh` (scalar Zfh, 5x5 register
 * blocks, K unrolled), `_rvf` (FP32 only: the same for scalar F) and `_rvv` (RVV 1.0 + Zvfh, LMUL 8,
 * several rows of C in flight; VLEN-agnostic) exist only where the compiler targets those extensions
 * (their files compile to nothing elsewhere).
 * `_naive` is the textbook triple loop (C = A.B only, FP16 accumulate), kept as a benchmark baseline.
 * MCUF_MATMUL_F16 / MCUF_MATMUL_NT_F16 / MCUF_MATMUL_TN_F16 (and _F32) name the best variant for the
 * target being compiled, so callers pick the backend at compile time with a direct call.
 */
#ifndef MCUF_MATMUL_H
#define MCUF_MATMUL_H

#include "mcuf_common.h"

typedef struct {
    int M, N, K;
    mcuf_acc acc;         /* FP16 kernels only; FP32 kernels always accumulate in FP32 */
    uint8_t accumulate;   /* 1: C += A.B (+ bias); 0: C = A.B (+ bias) */
    uint8_t bias_per_row; /* 1: bias[M], one per row of C; 0: bias[N], one per column */
} mcuf_matmul_params;

/* Portable C (reference). FP16 in/out, accumulation per p->acc. */
mcuf_status mcuf_matmul_f16(const mcuf_matmul_params *p, const mcuf_f16 *restrict A, const mcuf_f16 *restrict B,
                            const mcuf_f16 *restrict bias, mcuf_f16 *restrict C);
mcuf_status mcuf_matmul_nt_f16(const mcuf_matmul_params *p, const mcuf_f16 *restrict A, const mcuf_f16 *restrict B,
                               const mcuf_f16 *restrict bias, mcuf_f16 *restrict C);
mcuf_status mcuf_matmul_tn_f16(const mcuf_matmul_params *p, const mcuf_f16 *restrict A, const mcuf_f16 *restrict B,
                               const mcuf_f16 *restrict bias, mcuf_f16 *restrict C);
/* Portable C (reference). FP32 in/out, FP32 accumulation (p->acc ignored). */
mcuf_status mcuf_matmul_f32(const mcuf_matmul_params *p, const float *restrict A, const float *restrict B,
                            const float *restrict bias, float *restrict C);
mcuf_status mcuf_matmul_nt_f32(const mcuf_matmul_params *p, const float *restrict A, const float *restrict B,
                               const float *restrict bias, float *restrict C);
mcuf_status mcuf_matmul_tn_f32(const mcuf_matmul_params *p, const float *restrict A, const float *restrict B,
                               const float *restrict bias, float *restrict C);

/* Textbook triple loop C[M,N] = A[M,K] . B[K,N], FP16 accumulate; ignores bias/accumulate/acc.
 * Benchmark baseline only ("naive" row of `mcuforge bench kernels`). */
mcuf_status mcuf_matmul_f16_naive(const mcuf_matmul_params *p, const mcuf_f16 *restrict A,
                                  const mcuf_f16 *restrict B, mcuf_f16 *restrict C);

#if defined(__riscv_zfh)
/* Scalar Zfh: 5x5 register blocks of C (25 fmadd.h per 10 flh, inline assembly), K unrolled by 16;
 * 4-wide edge blocks, and a compact dot product for the 1..3 rows/columns left by dimensions < 12.
 * MCUF_ACC_F32 uses the same blocks with fcvt.s.h after each flh and fmadd.s, rounding C once.
 * Same semantics and results (within the stated tolerances) as the portable ones. */
mcuf_status mcuf_matmul_f16_zfh(const mcuf_matmul_params *p, const mcuf_f16 *restrict A, const mcuf_f16 *restrict B,
                                const mcuf_f16 *restrict bias, mcuf_f16 *restrict C);
mcuf_status mcuf_matmul_nt_f16_zfh(const mcuf_matmul_params *p, const mcuf_f16 *restrict A,
                                   const mcuf_f16 *restrict B, const mcuf_f16 *restrict bias, mcuf_f16 *restrict C);
mcuf_status mcuf_matmul_tn_f16_zfh(const mcuf_matmul_params *p, const mcuf_f16 *restrict A,
                                   const mcuf_f16 *restrict B, const mcuf_f16 *restrict bias, mcuf_f16 *restrict C);
#endif

#if defined(__riscv_zvfh) && defined(__riscv_vector)
/* RVV 1.0 + Zvfh: C rows vectorised along N at LMUL 8 (vsetvl, so any VLEN), several rows of C in
 * flight; per k one vector load of a B row (strided for _nt) and one flh + vfmacc.vf per row of A.
 * MCUF_ACC_F32 uses vfwmacc.vf into FP32 accumulators (LMUL 4 halves -> LMUL 8 floats). */
mcuf_status mcuf_matmul_f16_rvv(const mcuf_matmul_params *p, const mcuf_f16 *restrict A, const mcuf_f16 *restrict B,
                                const mcuf_f16 *restrict bias, mcuf_f16 *restrict C);
mcuf_status mcuf_matmul_nt_f16_rvv(const mcuf_matmul_params *p, const mcuf_f16 *restrict A,
                                   const mcuf_f16 *restrict B, const mcuf_f16 *restrict bias, mcuf_f16 *restrict C);
mcuf_status mcuf_matmul_tn_f16_rvv(const mcuf_matmul_params *p, const mcuf_f16 *restrict A,
                                   const mcuf_f16 *restrict B, const mcuf_f16 *restrict bias, mcuf_f16 *restrict C);
#endif

#if defined(__riscv) && defined(__riscv_f)
/* Scalar F: FP32 5x5 register blocks (25 fmadd.s per 10 flw, inline assembly), K unrolled by 16, the
 * same walk over C as the _zfh variants. */
mcuf_status mcuf_matmul_f32_rvf(const mcuf_matmul_params *p, const float *restrict A, const float *restrict B,
                                const float *restrict bias, float *restrict C);
mcuf_status mcuf_matmul_nt_f32_rvf(const mcuf_matmul_params *p, const float *restrict A, const float *restrict B,
                                   const float *restrict bias, float *restrict C);
mcuf_status mcuf_matmul_tn_f32_rvf(const mcuf_matmul_params *p, const float *restrict A, const float *restrict B,
                                   const float *restrict bias, float *restrict C);
#endif

#if defined(__riscv_vector) && defined(__riscv_f)
/* RVV 1.0 (Zve32f or V): FP32 counterparts, LMUL 8, same structure as the FP16 ones. */
mcuf_status mcuf_matmul_f32_rvv(const mcuf_matmul_params *p, const float *restrict A, const float *restrict B,
                                const float *restrict bias, float *restrict C);
mcuf_status mcuf_matmul_nt_f32_rvv(const mcuf_matmul_params *p, const float *restrict A, const float *restrict B,
                                   const float *restrict bias, float *restrict C);
mcuf_status mcuf_matmul_tn_f32_rvv(const mcuf_matmul_params *p, const float *restrict A, const float *restrict B,
                                   const float *restrict bias, float *restrict C);
#endif

#ifndef MCUF_CFFI
/* Best variant for the target being compiled: a direct call chosen at compile time. */
#if defined(__riscv_zvfh) && defined(__riscv_vector)
#define MCUF_MATMUL_F16 mcuf_matmul_f16_rvv
#define MCUF_MATMUL_NT_F16 mcuf_matmul_nt_f16_rvv
#define MCUF_MATMUL_TN_F16 mcuf_matmul_tn_f16_rvv
#elif defined(__riscv_zfh)
#define MCUF_MATMUL_F16 mcuf_matmul_f16_zfh
#define MCUF_MATMUL_NT_F16 mcuf_matmul_nt_f16_zfh
#define MCUF_MATMUL_TN_F16 mcuf_matmul_tn_f16_zfh
#else
#define MCUF_MATMUL_F16 mcuf_matmul_f16
#define MCUF_MATMUL_NT_F16 mcuf_matmul_nt_f16
#define MCUF_MATMUL_TN_F16 mcuf_matmul_tn_f16
#endif
#if defined(__riscv_vector) && defined(__riscv_f)
#define MCUF_MATMUL_F32 mcuf_matmul_f32_rvv
#define MCUF_MATMUL_NT_F32 mcuf_matmul_nt_f32_rvv
#define MCUF_MATMUL_TN_F32 mcuf_matmul_tn_f32_rvv
#elif defined(__riscv) && defined(__riscv_f)
#define MCUF_MATMUL_F32 mcuf_matmul_f32_rvf
#define MCUF_MATMUL_NT_F32 mcuf_matmul_nt_f32_rvf
#define MCUF_MATMUL_TN_F32 mcuf_matmul_tn_f32_rvf
#else
#define MCUF_MATMUL_F32 mcuf_matmul_f32
#define MCUF_MATMUL_NT_F32 mcuf_matmul_nt_f32
#define MCUF_MATMUL_TN_F32 mcuf_matmul_tn_f32
#endif
#endif /* MCUF_CFFI */

#endif /* MCUF_MATMUL_H */
