/* test_pool.c: max / average / global average pooling forward and backward on hand-computed cases
 * (FP32 and FP16; values exact in both), a ceil_mode window with the three count_include_pad
 * divisors, and the error statuses. (int8 pooling: test_s8.c.) */
#include <stdio.h>

#include "mcuf_pool.h"
#include "mcuf_check.h"

typedef struct {
    const char *name;
    mcuf_pool2d_params p;
    float x[16], gy[4];
    float ymax[4], gmax[16], yavg[4], gavg[16];
} pool_case;

/* p: C, H, W, OH, OW, kh, kw, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, count_include_pad */
static const pool_case CASES[] = {
    {"4x4 2x2/2",
     {1, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0},
     {1, 5, 2, 0, 3, 4, 8, 6, -1, -2, 0, 0, -3, -4, 0, 4},
     {1, 2, 3, 4},
     {5, 8, -1, 4},
     {0, 1, 0, 0, 0, 0, 2, 0, 3, 0, 0, 0, 0, 0, 0, 4},
     {3.25f, 4, -2.5f, 1},
     {0.25f, 0.25f, 0.5f, 0.5f, 0.25f, 0.25f, 0.5f, 0.5f, 0.75f, 0.75f, 1, 1, 0.75f, 0.75f, 1, 1}},
    {"1x4 window 1x3 stride 1 pad 1 (excluded from the average)",
     {1, 1, 4, 1, 4, 1, 3, 1, 1, 0, 1, 0, 1, 0},
     {2, -4, 6, 2},
     {3, 6, 9, 12},
     {2, 6, 6, 6},
     {3, 0, 27, 0},  /* grad 3 -> x0; 6 -> x2; 9 -> x2; 12 -> x2 */
     {-1, 4.0f / 3, 4.0f / 3, 4},
     {1.5f + 2, 1.5f + 2 + 3, 2 + 3 + 6, 3 + 6}},
};
#define NCASES (int)(sizeof CASES / sizeof CASES[0])

static void run(const pool_case *t)
{
    const mcuf_pool2d_params *p = &t->p;
    const int nin = p->C * p->H * p->W, nout = p->C * p->OH * p->OW;
    float y[4], g[16];
    mcuf_f16 hx[16], hgy[4], hy[4], hg[16];
    for (int i = 0; i < nin; i++) hx[i] = (mcuf_f16)t->x[i];
    for (int i = 0; i < nout; i++) hgy[i] = (mcuf_f16)t->gy[i];
    CHECK(mcuf_maxpool2d_f32(p, t->x, y) == MCUF_OK, "%s max", t->name);
    for (int i = 0; i < nout; i++) CHECK(y[i] == t->ymax[i], "%s ymax[%d] %g", t->name, i, y[i]);
    CHECK(mcuf_maxpool2d_grad_f32(p, t->x, t->gy, g) == MCUF_OK, "%s max grad", t->name);
    for (int i = 0; i < nin; i++) CHECK(g[i] == t->gmax[i], "%s gmax[%d] %g", t->name, i, g[i]);
    CHECK(mcuf_avgpool2d_f32(p, t->x, y) == MCUF_OK, "%s avg", t->name);
    for (int i = 0; i < nout; i++) CHECK(y[i] == t->yavg[i], "%s yavg[%d] %g", t->name, i, y[i]);
    CHECK(mcuf_avgpool2d_grad_f32(p, t->gy, g) == MCUF_OK, "%s avg grad", t->name);
    for (int i = 0; i < nin; i++) CHECK(g[i] == t->gavg[i], "%s gavg[%d] %g", t->name, i, g[i]);
    CHECK(mcuf_maxpool2d_f16(p, hx, hy) == MCUF_OK, "%s max16", t->name);
    for (int i = 0; i < nout; i++) CHECK((float)hy[i] == t->ymax[i], "%s ymax16[%d]", t->name, i);
    CHECK(mcuf_maxpool2d_grad_f16(p, hx, hgy, hg) == MCUF_OK, "%s max grad16", t->name);
    for (int i = 0; i < nin; i++) CHECK((float)hg[i] == t->gmax[i], "%s gmax16[%d]", t->name, i);
    CHECK(mcuf_avgpool2d_f16(p, hx, hy) == MCUF_OK, "%s avg16", t->name);
    for (int i = 0; i < nout; i++) CHECK((float)hy[i] == (float)(mcuf_f16)t->yavg[i], "%s yavg16[%d]", t->name, i);
}

/* x = [1, 2, 3], window 1x2, stride 2, pad_right 1, ceil_mode: OW = 2, the second window [2, 4) holds
 * x[2] and the pad cell 3 and hangs one past it. Divisor of that window: 1 (cells in the input), 2
 * (cells in the padded input [0, 4)) or 2 (kh*kw); with pad_right 0 the middle one is 1. */
static void ceil_mode(void)
{
    const float x[3] = {1, 2, 3}, gy[2] = {2, 4};
    mcuf_pool2d_params p = {1, 1, 3, 1, 2, 1, 2, 1, 2, 0, 0, 0, 1, 0};
    float y[2], g[3];
    CHECK(mcuf_maxpool2d_f32(&p, x, y) == MCUF_OK && y[0] == 2 && y[1] == 3, "ceil max");
    CHECK(mcuf_maxpool2d_grad_f32(&p, x, gy, g) == MCUF_OK && g[0] == 0 && g[1] == 2 && g[2] == 4, "ceil max grad");
    CHECK(mcuf_avgpool2d_f32(&p, x, y) == MCUF_OK && y[0] == 1.5f && y[1] == 3, "ceil avg, cip 0");
    CHECK(mcuf_avgpool2d_grad_f32(&p, gy, g) == MCUF_OK && g[0] == 1 && g[1] == 1 && g[2] == 4, "ceil avg grad, cip 0");
    p.count_include_pad = 1;
    CHECK(mcuf_avgpool2d_f32(&p, x, y) == MCUF_OK && y[0] == 1.5f && y[1] == 1.5f, "ceil avg, cip 1");
    CHECK(mcuf_avgpool2d_grad_f32(&p, gy, g) == MCUF_OK && g[0] == 1 && g[1] == 1 && g[2] == 2, "ceil avg grad, cip 1");
    p.pad_right = 0;
    CHECK(mcuf_avgpool2d_f32(&p, x, y) == MCUF_OK && y[0] == 1.5f && y[1] == 3, "ceil avg, cip 1, no pad");
    p.count_include_pad = 2;
    CHECK(mcuf_avgpool2d_f32(&p, x, y) == MCUF_OK && y[0] == 1.5f && y[1] == 1.5f, "ceil avg, cip 2");
    mcuf_f16 hx[3] = {(mcuf_f16)1, (mcuf_f16)2, (mcuf_f16)3}, hy[2];
    CHECK(mcuf_avgpool2d_f16(&p, hx, hy) == MCUF_OK && (float)hy[0] == 1.5f && (float)hy[1] == 1.5f, "ceil avg16, cip 2");
    p.OW = 3; /* a third window would start past the input */
    CHECK(mcuf_maxpool2d_f32(&p, x, y) == MCUF_ERR_SHAPE, "window past the input");
}

int main(void)
{
    for (int i = 0; i < NCASES; i++) run(&CASES[i]);
    /* count_include_pad divides by the full window */
    mcuf_pool2d_params p = CASES[1].p;
    p.count_include_pad = 1;
    float y[4];
    CHECK(mcuf_avgpool2d_f32(&p, CASES[1].x, y) == MCUF_OK && y[0] == -2.0f / 3 && y[3] == 8.0f / 3, "incl pad");
    /* global average pool */
    const float gx[6] = {1, 2, 3, -4, 0, 10};
    const mcuf_global_avgpool_params gp = {2, 3, MCUF_ACC_F32};
    float gy[2] = {3, -6}, gout[6];
    CHECK(mcuf_global_avgpool_f32(&gp, gx, y) == MCUF_OK && y[0] == 2 && y[1] == 2, "gap");
    CHECK(mcuf_global_avgpool_grad_f32(&gp, gy, gout) == MCUF_OK && gout[0] == 1 && gout[2] == 1 && gout[3] == -2 &&
              gout[5] == -2,
          "gap grad");
    mcuf_f16 hx[6], hy[2];
    for (int i = 0; i < 6; i++) hx[i] = (mcuf_f16)gx[i];
    const mcuf_global_avgpool_params gp16 = {2, 3, MCUF_ACC_F16};
    CHECK(mcuf_global_avgpool_f16(&gp16, hx, hy) == MCUF_OK && (float)hy[0] == 2 && (float)hy[1] == 2, "gap16");
    /* errors */
    p = CASES[0].p;
    CHECK(mcuf_maxpool2d_f32(&p, NULL, y) == MCUF_ERR_ARG, "NULL x");
    p.OH = 3;
    CHECK(mcuf_maxpool2d_f32(&p, CASES[0].x, y) == MCUF_ERR_SHAPE, "wrong OH");
    p = CASES[0].p;
    p.pad_left = 2; /* a window entirely in padding */
    CHECK(mcuf_avgpool2d_f32(&p, CASES[0].x, y) == MCUF_ERR_SHAPE, "pad >= window");
    p = CASES[0].p;
    p.count_include_pad = 3;
    CHECK(mcuf_avgpool2d_f32(&p, CASES[0].x, y) == MCUF_ERR_ARG, "count_include_pad 3");
    ceil_mode();
    const mcuf_global_avgpool_params bad = {0, 3, MCUF_ACC_F32};
    CHECK(mcuf_global_avgpool_f32(&bad, gx, y) == MCUF_ERR_ARG, "C = 0");
    printf("test_pool: %d failure(s)\n", failures);
    return failures != 0;
}
