/* test_matmul.c: standalone test of the matmul kernels (portable and, where compiled, the target's
 * best variant through MCUF_MATMUL_*): known small products (integers, exact in FP16), the three
 * forms, bias per row / column, accumulate, both accumulation policies, and argument errors.
 * Returns the number of failures (0: pass). Reference values computed by hand. */
#include <stdio.h>
#include <string.h>

#include "mcuf_matmul.h"
#include "mcuf_check.h"

/* A [2,3], B [3,2]; A.B = [[58, 64], [139, 154]] (1*7+2*9+3*11 = 58, ...). */
static const float A23[6] = {1, 2, 3, 4, 5, 6};
static const float B32[6] = {7, 8, 9, 10, 11, 12};
static const float AT32[6] = {1, 4, 2, 5, 3, 6};   /* A^T stored [3,2] (tn form) */
static const float BT23[6] = {7, 9, 11, 8, 10, 12}; /* B^T stored [2,3] (nt form) */

typedef struct {
    const char *name;
    int form; /* 0 nn, 1 nt, 2 tn */
    int accumulate, bias_mode; /* bias 0 none, 1 per row, 2 per column */
    float c0[4], bias[2], expect[4];
} mm_case;

static const mm_case CASES[] = {
    {"nn plain", 0, 0, 0, {9, 9, 9, 9}, {0, 0}, {58, 64, 139, 154}},
    {"nt plain", 1, 0, 0, {9, 9, 9, 9}, {0, 0}, {58, 64, 139, 154}},
    {"tn plain", 2, 0, 0, {9, 9, 9, 9}, {0, 0}, {58, 64, 139, 154}},
    {"nn bias per row", 0, 0, 1, {9, 9, 9, 9}, {1, -2}, {59, 65, 137, 152}},
    {"nt bias per column", 1, 0, 2, {9, 9, 9, 9}, {1, -2}, {59, 62, 140, 152}},
    {"tn accumulate", 2, 1, 0, {1, 2, 3, 4}, {0, 0}, {59, 66, 142, 158}},
    {"nn accumulate + bias per column", 0, 1, 2, {1, 2, 3, 4}, {10, 20}, {69, 86, 152, 178}},
    {"nt accumulate + bias per row", 1, 1, 1, {1, 2, 3, 4}, {10, 20}, {69, 76, 162, 178}},
};

typedef mcuf_status (*mm16)(const mcuf_matmul_params *, const mcuf_f16 *, const mcuf_f16 *, const mcuf_f16 *,
                            mcuf_f16 *);
typedef mcuf_status (*mm32)(const mcuf_matmul_params *, const float *, const float *, const float *, float *);

static void run_f16(const char *variant, const mm16 fns[3])
{
    for (size_t t = 0; t < sizeof CASES / sizeof CASES[0]; t++) {
        const mm_case *c = &CASES[t];
        for (int acc = 0; acc < 2; acc++) {
            mcuf_f16 a[6], b[6], bias[2], out[4 + 2];
            const float *as = c->form == 2 ? AT32 : A23, *bs = c->form == 1 ? BT23 : B32;
            for (int i = 0; i < 6; i++) a[i] = (mcuf_f16)as[i], b[i] = (mcuf_f16)bs[i];
            for (int i = 0; i < 2; i++) bias[i] = (mcuf_f16)c->bias[i];
            out[0] = out[5] = (mcuf_f16)-777.0f; /* guards */
            for (int i = 0; i < 4; i++) out[1 + i] = (mcuf_f16)c->c0[i];
            mcuf_matmul_params p = {2, 2, 3, (mcuf_acc)acc, (uint8_t)c->accumulate, (uint8_t)(c->bias_mode == 1)};
            mcuf_status st = fns[c->form](&p, a, b, c->bias_mode ? bias : NULL, out + 1);
            CHECK(st == MCUF_OK, "%s f16 %s acc%d: status %d", variant, c->name, acc, (int)st);
            for (int i = 0; i < 4; i++)
                CHECK((float)out[1 + i] == c->expect[i], "%s f16 %s acc%d: C[%d] = %g, expected %g", variant,
                      c->name, acc, i, (double)(float)out[1 + i], (double)c->expect[i]);
            CHECK((float)out[0] == -777.0f && (float)out[5] == -777.0f, "%s f16 %s: guard overwritten", variant,
                  c->name);
        }
    }
}

static void run_f32(const char *variant, const mm32 fns[3])
{
    for (size_t t = 0; t < sizeof CASES / sizeof CASES[0]; t++) {
        const mm_case *c = &CASES[t];
        float out[4 + 2];
        out[0] = out[5] = -777.0f;
        memcpy(out + 1, c->c0, sizeof c->c0);
        mcuf_matmul_params p = {2, 2, 3, MCUF_ACC_F32, (uint8_t)c->accumulate, (uint8_t)(c->bias_mode == 1)};
        mcuf_status st = fns[c->form](&p, c->form == 2 ? AT32 : A23, c->form == 1 ? BT23 : B32,
                                      c->bias_mode ? c->bias : NULL, out + 1);
        CHECK(st == MCUF_OK, "%s f32 %s: status %d", variant, c->name, (int)st);
        for (int i = 0; i < 4; i++)
            CHECK(out[1 + i] == c->expect[i], "%s f32 %s: C[%d] = %g, expected %g", variant, c->name, i,
                  (double)out[1 + i], (double)c->expect[i]);
        CHECK(out[0] == -777.0f && out[5] == -777.0f, "%s f32 %s: guard overwritten", variant, c->name);
    }
}

/* A larger odd shape: the best variant against the portable one, integer data so both are exact. */
static void best_vs_portable(void)
{
    enum { M = 13, N = 17, K = 11 };
    static mcuf_f16 a[M * K], b[K * N], c_ref[M * N], c_best[M * N];
    for (int i = 0; i < M * K; i++) a[i] = (mcuf_f16)(float)((i * 7) % 5 - 2);
    for (int i = 0; i < K * N; i++) b[i] = (mcuf_f16)(float)((i * 3) % 7 - 3);
    const mcuf_matmul_params p = {M, N, K, MCUF_ACC_F16, 0, 0};
    CHECK(mcuf_matmul_f16(&p, a, b, NULL, c_ref) == MCUF_OK, "portable 13x17x11");
    CHECK(MCUF_MATMUL_F16(&p, a, b, NULL, c_best) == MCUF_OK, "best 13x17x11");
    CHECK(memcmp(c_ref, c_best, sizeof c_ref) == 0, "best variant differs from portable on exact data");
}

static void errors(void)
{
    mcuf_f16 h[4] = {0}, hc[4]; /* C apart from A and B: the kernels' pointers are restrict */
    float f[4] = {0}, fc[4];
    const mcuf_matmul_params good = {2, 2, 1, MCUF_ACC_F16, 0, 0};
    const mcuf_matmul_params bad_m = {0, 2, 1, MCUF_ACC_F16, 0, 0};
    const mcuf_matmul_params bad_k = {2, 2, -3, MCUF_ACC_F16, 0, 0};
    const mcuf_matmul_params bad_acc = {2, 2, 1, (mcuf_acc)7, 0, 0};
    CHECK(mcuf_matmul_f16(NULL, h, h, NULL, hc) == MCUF_ERR_ARG, "NULL params");
    CHECK(mcuf_matmul_f16(&good, NULL, h, NULL, hc) == MCUF_ERR_ARG, "NULL A");
    CHECK(mcuf_matmul_nt_f16(&good, h, NULL, NULL, hc) == MCUF_ERR_ARG, "NULL B");
    CHECK(mcuf_matmul_tn_f16(&good, h, h, NULL, NULL) == MCUF_ERR_ARG, "NULL C");
    CHECK(mcuf_matmul_f16(&bad_m, h, h, NULL, hc) == MCUF_ERR_ARG, "M = 0");
    CHECK(mcuf_matmul_f16(&bad_k, h, h, NULL, hc) == MCUF_ERR_ARG, "K < 0");
    CHECK(mcuf_matmul_f16(&bad_acc, h, h, NULL, hc) == MCUF_ERR_ARG, "unknown acc");
    CHECK(MCUF_MATMUL_F16(&bad_m, h, h, NULL, hc) == MCUF_ERR_ARG, "best variant: M = 0");
    CHECK(mcuf_matmul_f32(&bad_m, f, f, NULL, fc) == MCUF_ERR_ARG, "f32 M = 0");
    CHECK(MCUF_MATMUL_TN_F32(&good, f, NULL, NULL, fc) == MCUF_ERR_ARG, "best f32: NULL B");
}

int main(void)
{
    const mm16 portable16[3] = {mcuf_matmul_f16, mcuf_matmul_nt_f16, mcuf_matmul_tn_f16};
    const mm16 best16[3] = {MCUF_MATMUL_F16, MCUF_MATMUL_NT_F16, MCUF_MATMUL_TN_F16};
    const mm32 portable32[3] = {mcuf_matmul_f32, mcuf_matmul_nt_f32, mcuf_matmul_tn_f32};
    const mm32 best32[3] = {MCUF_MATMUL_F32, MCUF_MATMUL_NT_F32, MCUF_MATMUL_TN_F32};
    run_f16("portable", portable16);
    run_f16("best", best16);
    run_f32("portable", portable32);
    run_f32("best", best32);
    best_vs_portable();
    errors();
    printf("test_matmul: %d failure(s)\n", failures);
    return failures != 0;
}
