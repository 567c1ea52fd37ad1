/* bench_matmul.c: benchmark and test driver for the matmul kernels, one build per target.
 *
 * Reads a table of cases ("cases": int32 [n, 10]) and random operands ("a16", "b16", "c16", "bias16"
 * FP16 and "a32", "b32", "c32", "bias32" FP32, each at least as long as the largest case needs), runs
 * each case once and writes its C, with GUARD sentinel elements on both sides, as "c_<i>"; the
 * retired-instruction count of the call is reported as region "case<i>". A case whose backend is
 * not compiled for this target is reported with count 0 and writes nothing ("skip_<i>" is written).
 *
 * Case row: form (0 nn, 1 nt, 2 tn), backend (0 portable, 1 naive, 2 zfh, 3 rvv, 4 rvf), dtype (0 f16,
 * 1 f32), acc (mcuf_acc), M, N, K, accumulate, bias (0 none, 1 per row, 2 per column), unused.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mcuf_io.h"
#include "mcuf_matmul.h"

#define MAX_CASES 512
#define MAX_ELEMS 20000 /* per operand */
#define GUARD 8

static int32_t cases[MAX_CASES * 10];
static mcuf_f16 a16[MAX_ELEMS], b16[MAX_ELEMS], c16[MAX_ELEMS], bias16[MAX_ELEMS];
static float a32[MAX_ELEMS], b32[MAX_ELEMS], c32[MAX_ELEMS], bias32[MAX_ELEMS];
static uint16_t out16[MAX_ELEMS + 2 * GUARD];
static uint32_t out32[MAX_ELEMS + 2 * GUARD];

typedef mcuf_status (*mm16_fn)(const mcuf_matmul_params *, const mcuf_f16 *, const mcuf_f16 *, const mcuf_f16 *,
                               mcuf_f16 *);
typedef mcuf_status (*mm32_fn)(const mcuf_matmul_params *, const float *, const float *, const float *, float *);

static mcuf_status naive16(const mcuf_matmul_params *p, const mcuf_f16 *A, const mcuf_f16 *B, const mcuf_f16 *bias,
                           mcuf_f16 *C)
{
    (void)bias;
    return mcuf_matmul_f16_naive(p, A, B, C);
}

static mm16_fn pick16(int form, int backend)
{
    static const mm16_fn portable[3] = {mcuf_matmul_f16, mcuf_matmul_nt_f16, mcuf_matmul_tn_f16};
    if (backend == 0) return portable[form];
    if (backend == 1) return form == 0 ? naive16 : NULL;
#if defined(__riscv_zfh)
    static const mm16_fn zfh[3] = {mcuf_matmul_f16_zfh, mcuf_matmul_nt_f16_zfh, mcuf_matmul_tn_f16_zfh};
    if (backend == 2) return zfh[form];
#endif
#if defined(__riscv_zvfh) && defined(__riscv_vector)
    static const mm16_fn rvv[3] = {mcuf_matmul_f16_rvv, mcuf_matmul_nt_f16_rvv, mcuf_matmul_tn_f16_rvv};
    if (backend == 3) return rvv[form];
#endif
    return NULL;
}

static mm32_fn pick32(int form, int backend)
{
    static const mm32_fn portable[3] = {mcuf_matmul_f32, mcuf_matmul_nt_f32, mcuf_matmul_tn_f32};
    if (backend == 0) return portable[form];
#if defined(__riscv) && defined(__riscv_f)
    static const mm32_fn rvf[3] = {mcuf_matmul_f32_rvf, mcuf_matmul_nt_f32_rvf, mcuf_matmul_tn_f32_rvf};
    if (backend == 4) return rvf[form];
#endif
#if defined(__riscv_vector) && defined(__riscv_f)
    static const mm32_fn rvv[3] = {mcuf_matmul_f32_rvv, mcuf_matmul_nt_f32_rvv, mcuf_matmul_tn_f32_rvv};
    if (backend == 3) return rvv[form];
#endif
    return NULL;
}

int main(void)
{
    size_t got = 0;
    if (mcuf_io_read_upto("cases", cases, sizeof cases, &got) != 0) return 1;
    const int n = (int)(got / (10 * sizeof(int32_t)));
    if (mcuf_io_read("a16", a16, sizeof a16) || mcuf_io_read("b16", b16, sizeof b16) ||
        mcuf_io_read("c16", c16, sizeof c16) || mcuf_io_read("bias16", bias16, sizeof bias16) ||
        mcuf_io_read("a32", a32, sizeof a32) || mcuf_io_read("b32", b32, sizeof b32) ||
        mcuf_io_read("c32", c32, sizeof c32) || mcuf_io_read("bias32", bias32, sizeof bias32))
        return 2;
    for (int i = 0; i < n; i++) {
        const int32_t *c = &cases[i * 10];
        const int form = c[0], backend = c[1], f32 = c[2];
        const mcuf_matmul_params p = {c[4], c[5], c[6], (mcuf_acc)c[3], (uint8_t)c[7], (uint8_t)(c[8] == 1)};
        const size_t mn = (size_t)p.M * (size_t)p.N;
        char name[32];
        int32_t dims[1] = {(int32_t)(mn + 2 * GUARD)};
        const int32_t one = 1;
        if (mn > MAX_ELEMS) return 3;
        mcuf_status st;
        uint64_t t0, t1;
        if (!f32) {
            mm16_fn fn = pick16(form, backend);
            if (!fn) {
                snprintf(name, sizeof name, "skip_%d", i);
                mcuf_io_write(name, &one, sizeof one, MCUF_IO_I32, 1, &one);
                continue;
            }
            for (size_t j = 0; j < mn + 2 * GUARD; j++) out16[j] = 0x7E55;
            memcpy(&out16[GUARD], c16, mn * sizeof(mcuf_f16));
            mcuf_f16 *C = (mcuf_f16 *)(void *)&out16[GUARD];
            t0 = mcuf_io_instret();
            st = fn(&p, a16, b16, c[8] ? bias16 : NULL, C);
            t1 = mcuf_io_instret();
            snprintf(name, sizeof name, "c_%d", i);
            mcuf_io_write(name, out16, (mn + 2 * GUARD) * 2, MCUF_IO_U16, 1, dims);
        } else {
            mm32_fn fn = pick32(form, backend);
            if (!fn) {
                snprintf(name, sizeof name, "skip_%d", i);
                mcuf_io_write(name, &one, sizeof one, MCUF_IO_I32, 1, &one);
                continue;
            }
            for (size_t j = 0; j < mn + 2 * GUARD; j++) out32[j] = 0x7FA5A5A5u;
            memcpy(&out32[GUARD], c32, mn * sizeof(float));
            float *C = (float *)(void *)&out32[GUARD];
            t0 = mcuf_io_instret();
            st = fn(&p, a32, b32, c[8] ? bias32 : NULL, C);
            t1 = mcuf_io_instret();
            snprintf(name, sizeof name, "c_%d", i);
            mcuf_io_write(name, out32, (mn + 2 * GUARD) * 4, MCUF_IO_U32, 1, dims);
        }
        if (st != MCUF_OK) {
            printf("case %d: status %d\n", i, (int)st);
            return 4;
        }
        snprintf(name, sizeof name, "case%d", i);
        mcuf_io_report(name, t1 - t0);
    }
    return 0;
}
