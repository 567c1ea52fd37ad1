/* test_dwconv.c: depthwise conv forward and gradients on hand-computed cases (FP32 and FP16; the
 * values are small integers, exact in both), the error statuses, and, when compiled for Zfh / Zvfh,
 * the _zfh / _rvv backends against the portable one. Exit status 0 = all passed. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mcuf_dwconv.h"
#include "mcuf_check.h"

typedef struct {
    const char *name;
    mcuf_dwconv2d_params p;
    float x[18], w[9 * 2], bias[2];
    int has_bias;
    float y[18];   /* expected forward output */
    float gy[18];  /* upstream gradient */
    float gx[18];  /* expected input gradient */
    float gw[18];  /* expected weight gradient */
    float gb[2];   /* expected bias gradient */
} dw_case;

/* p fields: C, H, W, OH, OW, kh, kw, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, acc, accumulate_grad */
static const dw_case CASES[] = {
    {"3x3 ones, pad 1, bias 1",
     {1, 3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, MCUF_ACC_F32, 0},
     {1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 1, 1, 1, 1, 1, 1, 1}, {1}, 1,
     {13, 22, 17, 28, 46, 34, 25, 40, 29},
     {1, 1, 1, 1, 1, 1, 1, 1, 1},
     {4, 6, 4, 6, 9, 6, 4, 6, 4},
     {12, 21, 16, 27, 45, 33, 24, 39, 28}, /* tap (i,j) sums x over the shifted window */
     {9}},
    {"2x2 stride 2, no pad",
     {1, 3, 3, 1, 1, 2, 2, 2, 2, 0, 0, 0, 0, MCUF_ACC_F32, 0},
     {1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 0, 0, -1}, {0}, 0,
     {-4},
     {2},
     {2, 0, 0, 0, -2, 0, 0, 0, 0},
     {2, 4, 8, 10},
     {2}},
    {"1x1 two channels",
     {2, 1, 3, 1, 3, 1, 1, 1, 1, 0, 0, 0, 0, MCUF_ACC_F32, 0},
     {1, 2, 3, -1, 0, 4}, {2, -3}, {0.5f, -1}, 1,
     {2.5f, 4.5f, 6.5f, 2, -1, -13},
     {1, 0, -1, 2, 1, 1},
     {2, 0, -2, -6, -3, -3},
     {-2, 2},
     {0, 4}},
};
#define NCASES (int)(sizeof CASES / sizeof CASES[0])

static int out_elems(const mcuf_dwconv2d_params *p) { return p->C * p->OH * p->OW; }
static int in_elems(const mcuf_dwconv2d_params *p) { return p->C * p->H * p->W; }
static int w_elems(const mcuf_dwconv2d_params *p) { return p->C * p->kh * p->kw; }

static void run_f32(const dw_case *t)
{
    float y[18], gx[18], gw[18], gb[2];
    const mcuf_dwconv2d_params *p = &t->p;
    CHECK(mcuf_dwconv2d_f32(p, t->x, t->w, t->has_bias ? t->bias : NULL, y) == MCUF_OK, "%s fwd", t->name);
    for (int i = 0; i < out_elems(p); i++) CHECK(y[i] == t->y[i], "%s y[%d] = %g, want %g", t->name, i, y[i], t->y[i]);
    CHECK(mcuf_dwconv2d_grad_input_f32(p, t->gy, t->w, gx) == MCUF_OK, "%s gin", t->name);
    for (int i = 0; i < in_elems(p); i++) CHECK(gx[i] == t->gx[i], "%s gx[%d] = %g, want %g", t->name, i, gx[i], t->gx[i]);
    /* weight gradient against grad_y = the case's gy */
    CHECK(mcuf_dwconv2d_grad_weight_f32(p, t->x, t->gy, gw, gb) == MCUF_OK, "%s gw", t->name);
    for (int i = 0; i < w_elems(p); i++) CHECK(gw[i] == t->gw[i], "%s gw[%d] = %g, want %g", t->name, i, gw[i], t->gw[i]);
    for (int c = 0; c < p->C; c++) CHECK(gb[c] == t->gb[c], "%s gb[%d] = %g, want %g", t->name, c, gb[c], t->gb[c]);
    /* accumulate = 1 adds to what is there */
    mcuf_dwconv2d_params q = *p;
    q.accumulate_grad = 1;
    CHECK(mcuf_dwconv2d_grad_weight_f32(&q, t->x, t->gy, gw, gb) == MCUF_OK, "%s gw acc", t->name);
    for (int i = 0; i < w_elems(p); i++) CHECK(gw[i] == 2 * t->gw[i], "%s gw acc[%d]", t->name, i);
    CHECK(mcuf_dwconv2d_grad_input_f32(&q, t->gy, t->w, gx) == MCUF_OK, "%s gin acc", t->name);
    for (int i = 0; i < in_elems(p); i++) CHECK(gx[i] == 2 * t->gx[i], "%s gx acc[%d]", t->name, i);
}

static void run_f16(const dw_case *t, mcuf_acc acc)
{
    mcuf_f16 x[18], w[18], b[2], y[18], gy[18], gx[18], gw[18], gb[2];
    mcuf_dwconv2d_params p = t->p;
    p.acc = acc;
    for (int i = 0; i < 18; i++) {
        x[i] = (mcuf_f16)t->x[i];
        w[i] = (mcuf_f16)t->w[i];
        gy[i] = (mcuf_f16)t->gy[i];
    }
    b[0] = (mcuf_f16)t->bias[0];
    b[1] = (mcuf_f16)t->bias[1];
    CHECK(mcuf_dwconv2d_f16(&p, x, w, t->has_bias ? b : NULL, y) == MCUF_OK, "%s fwd16", t->name);
    for (int i = 0; i < out_elems(&p); i++) CHECK((float)y[i] == t->y[i], "%s y16[%d]", t->name, i);
    CHECK(mcuf_dwconv2d_grad_input_f16(&p, gy, w, gx) == MCUF_OK, "%s gin16", t->name);
    for (int i = 0; i < in_elems(&p); i++) CHECK((float)gx[i] == t->gx[i], "%s gx16[%d]", t->name, i);
    CHECK(mcuf_dwconv2d_grad_weight_f16(&p, x, gy, gw, gb) == MCUF_OK, "%s gw16", t->name);
    for (int i = 0; i < w_elems(&p); i++) CHECK((float)gw[i] == t->gw[i], "%s gw16[%d]", t->name, i);
    for (int c = 0; c < p.C; c++) CHECK((float)gb[c] == t->gb[c], "%s gb16[%d]", t->name, c);
#if defined(__riscv_zfh)
    {
        mcuf_f16 y3[18], gx3[18], gw3[18], gb3[2];
        CHECK(mcuf_dwconv2d_f16_zfh(&p, x, w, t->has_bias ? b : NULL, y3) == MCUF_OK, "%s fwd zfh", t->name);
        CHECK(mcuf_dwconv2d_grad_input_f16_zfh(&p, gy, w, gx3) == MCUF_OK, "%s gin zfh", t->name);
        CHECK(mcuf_dwconv2d_grad_weight_f16_zfh(&p, x, gy, gw3, gb3) == MCUF_OK, "%s gw zfh", t->name);
        for (int i = 0; i < out_elems(&p); i++) CHECK(y3[i] == y[i], "%s y zfh[%d]", t->name, i);
        for (int i = 0; i < in_elems(&p); i++) CHECK(gx3[i] == gx[i], "%s gx zfh[%d]", t->name, i);
        for (int i = 0; i < w_elems(&p); i++) CHECK(gw3[i] == gw[i], "%s gw zfh[%d]", t->name, i);
        for (int c = 0; c < p.C; c++) CHECK(gb3[c] == gb[c], "%s gb zfh[%d]", t->name, c);
    }
#endif
#if defined(__riscv_zvfh)
    mcuf_f16 y2[18], gx2[18], gw2[18], gb2[2];
    CHECK(mcuf_dwconv2d_f16_rvv(&p, x, w, t->has_bias ? b : NULL, y2) == MCUF_OK, "%s fwd rvv", t->name);
    CHECK(mcuf_dwconv2d_grad_input_f16_rvv(&p, gy, w, gx2) == MCUF_OK, "%s gin rvv", t->name);
    CHECK(mcuf_dwconv2d_grad_weight_f16_rvv(&p, x, gy, gw2, gb2) == MCUF_OK, "%s gw rvv", t->name);
    for (int i = 0; i < out_elems(&p); i++) CHECK(y2[i] == y[i], "%s y rvv[%d]", t->name, i);
    for (int i = 0; i < in_elems(&p); i++) CHECK(gx2[i] == gx[i], "%s gx rvv[%d]", t->name, i);
    for (int i = 0; i < w_elems(&p); i++) CHECK(gw2[i] == gw[i], "%s gw rvv[%d]", t->name, i);
    for (int c = 0; c < p.C; c++) CHECK(gb2[c] == gb[c], "%s gb rvv[%d]", t->name, c);
#endif
}

static void errors(void)
{
    float x[9] = {0}, w[9] = {0}, y[9];
    mcuf_dwconv2d_params p = CASES[0].p;
    CHECK(mcuf_dwconv2d_f32(NULL, x, w, NULL, y) == MCUF_ERR_ARG, "NULL params");
    CHECK(mcuf_dwconv2d_f32(&p, NULL, w, NULL, y) == MCUF_ERR_ARG, "NULL x");
    CHECK(mcuf_dwconv2d_grad_input_f32(&p, x, w, NULL) == MCUF_ERR_ARG, "NULL grad_x");
    CHECK(mcuf_dwconv2d_grad_weight_f32(&p, x, x, NULL, NULL) == MCUF_ERR_ARG, "NULL grad_w");
    p.OH = 4;
    CHECK(mcuf_dwconv2d_f32(&p, x, w, NULL, y) == MCUF_ERR_SHAPE, "wrong OH");
    p = CASES[0].p;
    p.stride_h = 0;
    CHECK(mcuf_dwconv2d_f32(&p, x, w, NULL, y) == MCUF_ERR_ARG, "stride 0");
    p = CASES[0].p;
    p.acc = (mcuf_acc)7;
    CHECK(mcuf_dwconv2d_f32(&p, x, w, NULL, y) == MCUF_ERR_ARG, "bad acc");
    p = CASES[0].p;
    p.kh = 6; /* larger than the padded input */
    CHECK(mcuf_dwconv2d_f32(&p, x, w, NULL, y) == MCUF_ERR_SHAPE, "kernel larger than input");
}

int main(void)
{
    for (int i = 0; i < NCASES; i++) {
        run_f32(&CASES[i]);
        run_f16(&CASES[i], MCUF_ACC_F16);
        run_f16(&CASES[i], MCUF_ACC_F32);
    }
    errors();
    printf("test_dwconv: %d failure(s)\n", failures);
    return failures != 0;
}
