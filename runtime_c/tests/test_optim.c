/* test_optim.c: SGD steps against hand-computed PyTorch-semantics values (momentum, weight decay,
 * Nesterov), FP16 and master-copy variants, the finite checks and the loss-scale state machine; and,
 * when compiled for Zvfh, the _rvv SGD and finite check against the portable ones. */
#include <math.h>
#include <stdio.h>

#include "mcuf_optim.h"
#include "mcuf_check.h"

static int close_to(float a, float b, float tol) { return fabsf(a - b) <= tol * fmaxf(1.0f, fabsf(b)); }

typedef struct {
    const char *name;
    mcuf_sgd_params p;
    float lr, w0, g[2];
    float w_after[2], b_after[2];
} sgd_case;

/* PyTorch: d = g + wd*w; b = m*b + d (b = d on the first step); d = nesterov ? d + m*b : b; w -= lr*d */
static const sgd_case CASES[] = {
    {"plain", {1, 0.0f, 0.0f, 0}, 0.1f, 1.0f, {0.5f, 0.5f}, {0.95f, 0.9f}, {0, 0}},
    {"momentum", {1, 0.9f, 0.0f, 0}, 0.1f, 1.0f, {0.5f, 0.5f}, {0.95f, 0.855f}, {0.5f, 0.95f}},
    /* wd 0.1: step 1 d = 0.5 + 0.1 = 0.6, b = 0.6, w = 0.94; step 2 d = 0.5 + 0.094 = 0.594,
     * b = 0.54 + 0.594 = 1.134, w = 0.94 - 0.1134 = 0.8266 */
    {"momentum + wd", {1, 0.9f, 0.1f, 0}, 0.1f, 1.0f, {0.5f, 0.5f}, {0.94f, 0.8266f}, {0.6f, 1.134f}},
    /* nesterov: step 1 b = 0.5, d = 0.5 + 0.45 = 0.95, w = 0.905; step 2 b = 0.95, d = 0.5 + 0.855 =
     * 1.355, w = 0.905 - 0.1355 = 0.7695 */
    {"nesterov", {1, 0.9f, 0.0f, 1}, 0.1f, 1.0f, {0.5f, 0.5f}, {0.905f, 0.7695f}, {0.5f, 0.95f}},
};

static void sgd_cases(void)
{
    for (int t = 0; t < 4; t++) {
        const sgd_case *c = &CASES[t];
        float w = c->w0, b = 0, master = c->w0, mb = 0;
        mcuf_f16 hw = (mcuf_f16)c->w0, hb = 0, w16 = 0;
        const float scale = 1024.0f;
        for (int s = 0; s < 2; s++) {
            const mcuf_f16 hg = (mcuf_f16)(c->g[s] * scale);
            CHECK(mcuf_sgd_f32(&c->p, c->lr, &c->g[s], &w, &b) == MCUF_OK, "%s", c->name);
            CHECK(mcuf_sgd_f16(&c->p, c->lr, 1.0f / scale, &hg, &hw, &hb) == MCUF_OK, "%s f16", c->name);
            CHECK(mcuf_sgd_master_f16(&c->p, c->lr, 1.0f / scale, &hg, &master, &mb, &w16) == MCUF_OK, "%s m", c->name);
            CHECK(close_to(w, c->w_after[s], 1e-6f), "%s step %d w %.8g want %.8g", c->name, s, w, c->w_after[s]);
            CHECK(close_to(master, c->w_after[s], 1e-6f), "%s step %d master %.8g", c->name, s, master);
            CHECK(w16 == (mcuf_f16)master, "%s step %d fp16 copy", c->name, s);
            CHECK(close_to((float)hw, c->w_after[s], 2e-3f), "%s step %d w16 %g", c->name, s, (float)hw);
            if (c->p.momentum != 0.0f) {
                CHECK(close_to(b, c->b_after[s], 1e-6f), "%s step %d b %.8g", c->name, s, b);
                CHECK(close_to((float)hb, c->b_after[s], 2e-3f), "%s step %d b16", c->name, s);
            }
        }
    }
    /* momentum 0: the buffer may be NULL; with momentum it may not */
    float w = 1, g = 1;
    mcuf_sgd_params p = {1, 0.0f, 0.0f, 0};
    CHECK(mcuf_sgd_f32(&p, 0.5f, &g, &w, NULL) == MCUF_OK && w == 0.5f, "NULL momentum buffer");
    p.momentum = 0.5f;
    CHECK(mcuf_sgd_f32(&p, 0.5f, &g, &w, NULL) == MCUF_ERR_ARG, "momentum without buffer");
    p.momentum = 0.0f;
    CHECK(mcuf_sgd_f32(&p, -1.0f, &g, &w, NULL) == MCUF_ERR_ARG, "negative lr");
    p.n = 0;
    CHECK(mcuf_sgd_f32(&p, 0.1f, &g, &w, NULL) == MCUF_ERR_ARG, "n = 0");
}

static void finite_and_scaling(void)
{
    mcuf_f16 h[5] = {(mcuf_f16)1.0f, (mcuf_f16)-65504.0f, (mcuf_f16)0.0f, (mcuf_f16)3.0f, (mcuf_f16)-2.0f};
    float f[3] = {1.0f, -3.0e38f, 0.0f};
    CHECK(mcuf_all_finite_f16(5, h) == MCUF_OK, "finite f16");
    CHECK(mcuf_all_finite_f32(3, f) == MCUF_OK, "finite f32");
    h[4] = (mcuf_f16)INFINITY;
    CHECK(mcuf_all_finite_f16(5, h) == MCUF_ERR_OVERFLOW, "inf f16");
    h[4] = (mcuf_f16)NAN;
    CHECK(mcuf_all_finite_f16(5, h) == MCUF_ERR_OVERFLOW, "nan f16");
    f[2] = -INFINITY;
    CHECK(mcuf_all_finite_f32(3, f) == MCUF_ERR_OVERFLOW, "inf f32");

    const mcuf_loss_scale_params lp = {1024.0f, 2.0f, 0.5f, 2, 1.0f, 4096.0f};
    mcuf_loss_scale_state s;
    CHECK(mcuf_loss_scale_init(&lp, &s) == MCUF_OK && s.scale == 1024.0f && s.good_steps == 0, "init");
    /* overflow: skip, halve, reset */
    CHECK(mcuf_loss_scale_update(&lp, 1, &s) == MCUF_ERR_OVERFLOW && s.scale == 512.0f && s.skipped == 1, "backoff");
    /* grow after 2 good steps, capped at max_scale */
    CHECK(mcuf_loss_scale_update(&lp, 0, &s) == MCUF_OK && s.scale == 512.0f && s.good_steps == 1, "good 1");
    CHECK(mcuf_loss_scale_update(&lp, 0, &s) == MCUF_OK && s.scale == 1024.0f && s.good_steps == 0, "grow");
    for (int i = 0; i < 10; i++) mcuf_loss_scale_update(&lp, 0, &s);
    CHECK(s.scale == 4096.0f, "max scale %g", s.scale);
    for (int i = 0; i < 20; i++) mcuf_loss_scale_update(&lp, 1, &s);
    CHECK(s.scale == 1.0f && s.skipped == 21, "min scale %g", s.scale);
    /* static scale: never changes, overflow still reported */
    const mcuf_loss_scale_params st = {128.0f, 2.0f, 0.5f, 0, 1.0f, 65536.0f};
    CHECK(mcuf_loss_scale_init(&st, &s) == MCUF_OK, "static init");
    for (int i = 0; i < 5; i++) mcuf_loss_scale_update(&st, 0, &s);
    CHECK(mcuf_loss_scale_update(&st, 1, &s) == MCUF_ERR_OVERFLOW && s.scale == 128.0f, "static");
    const mcuf_loss_scale_params bad = {0.0f, 2.0f, 0.5f, 2, 1.0f, 2.0f};
    CHECK(mcuf_loss_scale_init(&bad, &s) == MCUF_ERR_ARG, "bad params");
    CHECK(mcuf_loss_scale_update(&lp, 0, NULL) == MCUF_ERR_ARG, "NULL state");
}

#if defined(__riscv_zvfh)
static void rvv_vs_portable(void)
{
    enum { N = 37 };
    float g[N], w[N], b[N], w2[N], b2[N], m[N], m2[N], mb[N], mb2[N];
    mcuf_f16 hg[N], hw[N], hb[N], hw2[N], hb2[N], c1[N], c2[N];
    for (int i = 0; i < N; i++) {
        g[i] = (float)((i * 7) % 11) - 5.0f;
        w[i] = w2[i] = m[i] = m2[i] = (float)i / 8.0f - 2.0f;
        b[i] = b2[i] = mb[i] = mb2[i] = (float)((i * 3) % 5) / 10.0f;
        hg[i] = (mcuf_f16)(g[i] * 64.0f);
        hw[i] = hw2[i] = (mcuf_f16)w[i];
        hb[i] = hb2[i] = (mcuf_f16)b[i];
    }
    const mcuf_sgd_params p = {N, 0.9f, 0.01f, 1};
    mcuf_sgd_f32(&p, 0.1f, g, w, b);
    mcuf_sgd_f32_rvv(&p, 0.1f, g, w2, b2);
    mcuf_sgd_f16(&p, 0.1f, 1.0f / 64, hg, hw, hb);
    mcuf_sgd_f16_rvv(&p, 0.1f, 1.0f / 64, hg, hw2, hb2);
    mcuf_sgd_master_f16(&p, 0.1f, 1.0f / 64, hg, m, mb, c1);
    mcuf_sgd_master_f16_rvv(&p, 0.1f, 1.0f / 64, hg, m2, mb2, c2);
    for (int i = 0; i < N; i++) {
        CHECK(close_to(w2[i], w[i], 1e-6f) && close_to(b2[i], b[i], 1e-6f), "rvv sgd f32 %d", i);
        CHECK(close_to((float)hw2[i], (float)hw[i], 1e-3f) && close_to((float)hb2[i], (float)hb[i], 1e-3f), "rvv sgd f16 %d", i);
        CHECK(close_to(m2[i], m[i], 1e-6f) && close_to(mb2[i], mb[i], 1e-6f) && close_to((float)c2[i], (float)c1[i], 1e-3f),
              "rvv sgd master %d", i);
    }
    CHECK(mcuf_all_finite_f16_rvv(N, hg) == MCUF_OK, "rvv finite");
    hg[N - 1] = (mcuf_f16)INFINITY;
    CHECK(mcuf_all_finite_f16_rvv(N, hg) == MCUF_ERR_OVERFLOW, "rvv inf");
}
#endif

int main(void)
{
    sgd_cases();
    finite_and_scaling();
#if defined(__riscv_zvfh)
    rvv_vs_portable();
#endif
    printf("test_optim: %d failure(s)\n", failures);
    return failures != 0;
}
