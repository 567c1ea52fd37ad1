/* test_act.c: ReLU forward/backward on known values (FP32, FP16), in place, NaN, error statuses, and,
 * when compiled for Zvfh, the _rvv backend against the portable one (bit for bit). */
#include <math.h>
#include <stdio.h>

#include "mcuf_act.h"
#include "mcuf_check.h"

typedef struct {
    float x, gy, y, gx;
} relu_case;

static const relu_case CASES[] = {
    {-2.0f, 1.0f, 0.0f, 0.0f}, {-0.5f, 2.0f, 0.0f, 0.0f}, {0.0f, 3.0f, 0.0f, 0.0f},
    {0.5f, 4.0f, 0.5f, 4.0f},  {3.0f, -5.0f, 3.0f, -5.0f}, {65504.0f, 0.25f, 65504.0f, 0.25f},
    {-INFINITY, 1.0f, 0.0f, 0.0f}, {INFINITY, 1.0f, INFINITY, 1.0f},
};
#define N (int)(sizeof CASES / sizeof CASES[0])

int main(void)
{
    float x[N + 1], gy[N], y[N], gx[N];
    mcuf_f16 hx[N + 1], hgy[N], hy[N], hgx[N];
    for (int i = 0; i < N; i++) {
        x[i] = CASES[i].x;
        gy[i] = CASES[i].gy;
        hx[i] = (mcuf_f16)x[i];
        hgy[i] = (mcuf_f16)gy[i];
    }
    CHECK(mcuf_relu_f32(N, x, y) == MCUF_OK, "relu f32");
    CHECK(mcuf_relu_grad_f32(N, x, gy, gx) == MCUF_OK, "relu grad f32");
    CHECK(mcuf_relu_f16(N, hx, hy) == MCUF_OK, "relu f16");
    CHECK(mcuf_relu_grad_f16(N, hx, hgy, hgx) == MCUF_OK, "relu grad f16");
    for (int i = 0; i < N; i++) {
        CHECK(y[i] == CASES[i].y && gx[i] == CASES[i].gx, "f32 case %d: y %g gx %g", i, y[i], gx[i]);
        CHECK((float)hy[i] == CASES[i].y && (float)hgx[i] == CASES[i].gx, "f16 case %d", i);
    }
    /* NaN stays NaN (max(x, 0) semantics of numpy/PyTorch), in place allowed */
    x[0] = NAN;
    CHECK(mcuf_relu_f32(1, x, x) == MCUF_OK && isnan(x[0]), "NaN kept");
#if defined(__riscv_zvfh)
    mcuf_f16 ry[N], rgx[N];
    float fy[N], fgx[N];
    x[0] = CASES[0].x;
    CHECK(mcuf_relu_f16_rvv(N, hx, ry) == MCUF_OK && mcuf_relu_grad_f16_rvv(N, hx, hgy, rgx) == MCUF_OK, "rvv f16");
    CHECK(mcuf_relu_f32_rvv(N, x, fy) == MCUF_OK && mcuf_relu_grad_f32_rvv(N, x, gy, fgx) == MCUF_OK, "rvv f32");
    for (int i = 0; i < N; i++) {
        CHECK(ry[i] == hy[i] && rgx[i] == hgx[i], "rvv f16 case %d", i);
        CHECK(fy[i] == y[i] && fgx[i] == gx[i], "rvv f32 case %d", i);
    }
    hx[0] = (mcuf_f16)NAN;
    CHECK(mcuf_relu_f16_rvv(1, hx, ry) == MCUF_OK && ry[0] != ry[0], "rvv NaN kept");
#endif
    CHECK(mcuf_relu_f32(0, x, y) == MCUF_ERR_ARG, "n = 0");
    CHECK(mcuf_relu_f32(N, NULL, y) == MCUF_ERR_ARG, "NULL x");
    CHECK(mcuf_relu_grad_f16(N, hx, NULL, hgx) == MCUF_ERR_ARG, "NULL grad_y");
    printf("test_act: %d failure(s)\n", failures);
    return failures != 0;
}
