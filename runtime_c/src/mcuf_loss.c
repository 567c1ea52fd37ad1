/* mcuf_loss.c: portable C softmax + cross-entropy with its gradient; FP32 arithmetic throughout. */
#include <math.h>

#include "mcuf_loss.h"

#define DEFINE_SOFTMAX_CE(T, SUF, KEEP_EXP)                                                                       \
    mcuf_status mcuf_softmax_ce_##SUF(const mcuf_softmax_ce_params *p, const T *logits,                 \
                                      const int32_t *labels, float grad_scale, float *loss, T *grad)    \
    {                                                                                                   \
        if (!p || !logits || !labels || !loss || p->N < 1 || p->K < 1) return MCUF_ERR_ARG;             \
        const int N = p->N, K = p->K;                                                                   \
        for (int n = 0; n < N; n++)                                                                     \
            if (labels[n] < 0 || labels[n] >= K) return MCUF_ERR_ARG;                                   \
        float total = 0.0f;                                                                             \
        const float g = grad_scale / (float)N;                                                          \
        for (int n = 0; n < N; n++) {                                                                   \
            const T *z = logits + (size_t)n * K;                                                        \
            float m = (float)z[0];                                                                      \
            for (int k = 1; k < K; k++) m = (float)z[k] > m ? (float)z[k] : m;                          \
            const float zl = (float)z[labels[n]]; /* read before grad (which may alias z) is written */ \
            T *d = grad ? grad + (size_t)n * K : NULL;                                                  \
            float s = 0.0f;                                                                             \
            for (int k = 0; k < K; k++) {                                                               \
                const float e = expf((float)z[k] - m);                                                  \
                s += e;                                                                                 \
                if (KEEP_EXP && d) d[k] = (T)e; /* FP32 only: keep exp for the second pass */          \
            }                                                                                           \
            const float lse = logf(s); /* logsumexp - m */                                              \
            total += lse - (zl - m);                                                                    \
            if (d) {                                                                                    \
                const float inv = 1.0f / s;                                                             \
                for (int k = 0; k < K; k++) {                                                           \
                    /* FP16 recomputes exp: storing it in FP16 would add a rounding */                  \
                    const float pk = (KEEP_EXP ? (float)d[k] : expf((float)z[k] - m)) * inv;            \
                    d[k] = (T)(g * (k == labels[n] ? pk - 1.0f : pk));                                  \
                }                                                                                       \
            }                                                                                           \
        }                                                                                               \
        *loss = total / (float)N;                                                                       \
        return MCUF_OK;                                                                                 \
    }

DEFINE_SOFTMAX_CE(mcuf_f16, f16, 0)
DEFINE_SOFTMAX_CE(float, f32, 1)
