/* test_loss.c: softmax + cross-entropy on known values (loss from closed forms, gradient = softmax -
 * one-hot, scaled), huge logits (stability), FP16 twin, and the error statuses. */
#include <math.h>
#include <stdio.h>

#include "mcuf_loss.h"
#include "mcuf_check.h"

static int close_to(float a, float b, float tol) { return fabsf(a - b) <= tol * fmaxf(1.0f, fabsf(b)); }

typedef struct {
    const char *name;
    int N, K;
    float z[6];
    int32_t labels[2];
    float scale;
    double loss;    /* closed form */
    float grad[6];  /* scale * (softmax - onehot) / N */
} ce_case;

static const ce_case CASES[] = {
    /* two equal logits: p = 1/2, loss = ln 2 */
    {"equal", 1, 2, {0, 0}, {0}, 1.0f, 0.69314718055994531, {-0.5f, 0.5f}},
    /* shift invariance: huge equal logits give the same */
    {"huge equal", 1, 2, {1e30f, 1e30f}, {1}, 1.0f, 0.69314718055994531, {0.5f, -0.5f}},
    /* one row of 3, label 2: loss = log(e + e^2 + e^3) - 3; grad scaled by 4 */
    {"three", 1, 3, {1, 2, 3}, {2}, 4.0f, 0.40760596444438029,
     {4 * 0.09003057f, 4 * 0.24472847f, 4 * (0.66524096f - 1)}},
    /* two rows averaged: ln2 and ln 3 (three equal logits) */
    {"two rows", 2, 3, {5, 5, 0, 7, 7, 7}, {0, 1}, 1.0f, 0, {0}},
};

int main(void)
{
    for (int t = 0; t < 4; t++) {
        const ce_case *c = &CASES[t];
        const mcuf_softmax_ce_params p = {c->N, c->K};
        float loss = -1, g[6];
        mcuf_f16 hz[6], hg[6];
        CHECK(mcuf_softmax_ce_f32(&p, c->z, c->labels, c->scale, &loss, g) == MCUF_OK, "%s", c->name);
        if (t == 3) {
            /* row 0: logits (5, 5, 0), label 0: loss = log(2 + e^-5); row 1: ln 3 */
            const double l0 = log(2.0 + exp(-5.0)), l1 = log(3.0);
            CHECK(close_to(loss, (float)((l0 + l1) / 2), 1e-6f), "%s loss %g", c->name, loss);
            CHECK(close_to(g[4], (float)((1.0 / 3 - 1) / 2), 1e-6f), "%s grad", c->name);
            continue;
        }
        CHECK(close_to(loss, (float)c->loss, 1e-6f), "%s loss %.8g want %.8g", c->name, loss, c->loss);
        for (int k = 0; k < c->N * c->K; k++) CHECK(close_to(g[k], c->grad[k], 1e-6f), "%s g[%d] %g", c->name, k, g[k]);
        if (t == 1) continue; /* 1e30 is not an FP16 value */
        for (int k = 0; k < c->N * c->K; k++) hz[k] = (mcuf_f16)c->z[k];
        CHECK(mcuf_softmax_ce_f16(&p, hz, c->labels, c->scale, &loss, hg) == MCUF_OK, "%s f16", c->name);
        CHECK(close_to(loss, (float)c->loss, 1e-6f), "%s loss16 %g", c->name, loss);
        for (int k = 0; k < c->N * c->K; k++) CHECK(close_to((float)hg[k], c->grad[k], 1e-3f), "%s g16[%d]", c->name, k);
    }
    /* FP16 logits at the top of the range: no overflow thanks to the max subtraction */
    {
        const mcuf_softmax_ce_params p = {1, 2};
        mcuf_f16 hz[2] = {(mcuf_f16)65504.0f, (mcuf_f16)65504.0f}, hg[2];
        int32_t lab = 0;
        float loss;
        CHECK(mcuf_softmax_ce_f16(&p, hz, &lab, 1.0f, &loss, hg) == MCUF_OK && close_to(loss, 0.6931472f, 1e-6f),
              "fp16 max logits");
    }
    /* errors */
    const mcuf_softmax_ce_params p = {1, 3};
    float loss, g[3];
    int32_t bad = 3, neg = -1;
    CHECK(mcuf_softmax_ce_f32(&p, CASES[2].z, &bad, 1.0f, &loss, g) == MCUF_ERR_ARG, "label = K");
    CHECK(mcuf_softmax_ce_f32(&p, CASES[2].z, &neg, 1.0f, &loss, g) == MCUF_ERR_ARG, "label < 0");
    CHECK(mcuf_softmax_ce_f32(&p, CASES[2].z, CASES[2].labels, 1.0f, NULL, g) == MCUF_ERR_ARG, "NULL loss");
    CHECK(mcuf_softmax_ce_f32(NULL, CASES[2].z, CASES[2].labels, 1.0f, &loss, g) == MCUF_ERR_ARG, "NULL params");
    const mcuf_softmax_ce_params p0 = {0, 3};
    CHECK(mcuf_softmax_ce_f32(&p0, CASES[2].z, CASES[2].labels, 1.0f, &loss, g) == MCUF_ERR_ARG, "N = 0");
    printf("test_loss: %d failure(s)\n", failures);
    return failures != 0;
}
