/* mcuf_act.c: portable C activations: ReLU forward and backward (the reference for the _rvv backend),
 * the inference activations and Softmax (FP16 computed in FP32, rounded once). Semantics: mcuf_act.h. */
#include <math.h>

#include "mcuf_act.h"

#define DEFINE_RELU(T, SUF)                                                                  \
    mcuf_status mcuf_relu_##SUF(int n, const T *x, T *y)                                     \
    {                                                                                        \
        if (!x || !y || n < 1) return MCUF_ERR_ARG;                                          \
        /* x < 0 ? 0 : x keeps NaN (and -0 stays -0, matching max(x, 0) of numpy/PyTorch) */ \
        for (int i = 0; i < n; i++) y[i] = x[i] < (T)0 ? (T)0 : x[i];                        \
        return MCUF_OK;                                                                      \
    }                                                                                        \
    mcuf_status mcuf_relu_grad_##SUF(int n, const T *x, const T *grad_y, T *grad_x)          \
    {                                                                                        \
        if (!x || !grad_y || !grad_x || n < 1) return MCUF_ERR_ARG;                          \
        for (int i = 0; i < n; i++) grad_x[i] = x[i] > (T)0 ? grad_y[i] : (T)0;              \
        return MCUF_OK;                                                                      \
    }

DEFINE_RELU(mcuf_f16, f16)
DEFINE_RELU(float, f32)

/* ------------------------------------------------------------------------------------- activations */

static float sigmoid(float x)
{
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    const float e = expf(x); /* x < 0: no overflow, and 1 + e keeps the small result's precision */
    return e / (1.0f + e);
}

static float clampf(float v, float lo, float hi)
{
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* One loop per kind: the switch is outside the loop. */
#define DEFINE_ACT(NAME, T)                                                                              \
    mcuf_status NAME(const mcuf_act_params *p, int n, const T *in, T *out)                               \
    {                                                                                                    \
        if (!p || n < 0 || (n > 0 && (!in || !out))) return MCUF_ERR_ARG;                                \
        const float alpha = p->alpha, beta = p->beta, lo = p->lo, hi = p->hi;                            \
        switch (p->kind) {                                                                               \
        case MCUF_ACT_NONE:                                                                              \
            if (in != out)                                                                               \
                for (int i = 0; i < n; i++) out[i] = in[i];                                              \
            return MCUF_OK;                                                                              \
        case MCUF_ACT_RELU:                                                                              \
            for (int i = 0; i < n; i++) {                                                                \
                const float x = (float)in[i];                                                            \
                out[i] = x < 0.0f ? (T)0.0f : in[i];                                                     \
            }                                                                                            \
            return MCUF_OK;                                                                              \
        case MCUF_ACT_CLIP:                                                                              \
            for (int i = 0; i < n; i++) {                                                                \
                const float x = (float)in[i];                                                            \
                out[i] = x != x ? in[i] : (T)clampf(x, lo, hi);                                          \
            }                                                                                            \
            return MCUF_OK;                                                                              \
        case MCUF_ACT_LEAKY_RELU:                                                                        \
            for (int i = 0; i < n; i++) {                                                                \
                const float x = (float)in[i];                                                            \
                out[i] = x < 0.0f ? (T)(alpha * x) : in[i];                                              \
            }                                                                                            \
            return MCUF_OK;                                                                              \
        case MCUF_ACT_SIGMOID:                                                                           \
            for (int i = 0; i < n; i++) out[i] = (T)sigmoid((float)in[i]);                               \
            return MCUF_OK;                                                                              \
        case MCUF_ACT_HARD_SIGMOID:                                                                      \
            for (int i = 0; i < n; i++) {                                                                \
                const float x = (float)in[i];                                                            \
                out[i] = x != x ? in[i] : (T)clampf(alpha * x + beta, 0.0f, 1.0f);                       \
            }                                                                                            \
            return MCUF_OK;                                                                              \
        case MCUF_ACT_HARD_SWISH:                                                                        \
            for (int i = 0; i < n; i++) {                                                                \
                const float x = (float)in[i];                                                            \
                out[i] = x != x ? in[i] : (T)(x * clampf(x * (1.0f / 6.0f) + 0.5f, 0.0f, 1.0f));         \
            }                                                                                            \
            return MCUF_OK;                                                                              \
        }                                                                                                \
        return MCUF_ERR_ARG;                                                                             \
    }

DEFINE_ACT(mcuf_act_f32, float)
DEFINE_ACT(mcuf_act_f16, mcuf_f16)

/* ----------------------------------------------------------------------------------------- softmax */

mcuf_status mcuf_softmax_f32(const mcuf_softmax_params *p, const float *in, float *out)
{
    if (!p || !in || !out || p->outer < 1 || p->n < 1 || p->inner < 1) return MCUF_ERR_ARG;
    const int n = p->n, s = p->inner;
    for (int o = 0; o < p->outer; o++)
        for (int j = 0; j < s; j++) {
            const float *x = in + (size_t)o * n * s + j;
            float *y = out + (size_t)o * n * s + j;
            float m = x[0];
            for (int i = 1; i < n; i++) m = x[(size_t)i * s] > m ? x[(size_t)i * s] : m;
            float sum = 0.0f;
            for (int i = 0; i < n; i++) {
                const float e = expf(x[(size_t)i * s] - m);
                y[(size_t)i * s] = e; /* x is read before y is written: in place is fine */
                sum += e;
            }
            for (int i = 0; i < n; i++) y[(size_t)i * s] /= sum;
        }
    return MCUF_OK;
}

mcuf_status mcuf_softmax_f16(const mcuf_softmax_params *p, const mcuf_f16 *in, mcuf_f16 *out)
{
    if (!p || !in || !out || p->outer < 1 || p->n < 1 || p->inner < 1) return MCUF_ERR_ARG;
    const int n = p->n, s = p->inner;
    for (int o = 0; o < p->outer; o++)
        for (int j = 0; j < s; j++) {
            const mcuf_f16 *x = in + (size_t)o * n * s + j;
            mcuf_f16 *y = out + (size_t)o * n * s + j;
            float m = (float)x[0];
            for (int i = 1; i < n; i++) m = (float)x[(size_t)i * s] > m ? (float)x[(size_t)i * s] : m;
            float sum = 0.0f;
            for (int i = 0; i < n; i++) sum += expf((float)x[(size_t)i * s] - m);
            /* exp recomputed rather than stored in FP16: one rounding per output. */
            for (int i = 0; i < n; i++) y[(size_t)i * s] = (mcuf_f16)(expf((float)x[(size_t)i * s] - m) / sum);
        }
    return MCUF_OK;
}
