/* mcuf_optim.c: portable C SGD (momentum, weight decay, optional Nesterov), finite checks and loss
 * scaling. Per-element arithmetic in FP32 in every variant. */
#include <string.h>

#include "mcuf_optim.h"

static mcuf_status sgd_check(const mcuf_sgd_params *p, float lr, const void *grad, const void *w,
                             const void *mom)
{
    if (!p || !grad || !w || p->n < 1) return MCUF_ERR_ARG;
    if (!(lr >= 0.0f) || !(p->momentum >= 0.0f) || !(p->weight_decay >= 0.0f)) return MCUF_ERR_ARG;
    if (p->momentum != 0.0f && !mom) return MCUF_ERR_ARG;
    return MCUF_OK;
}

/* The update of one element in FP32; the flags are loop-invariant locals, so each caller's loop is
 * specialised by the compiler and nothing is re-read through a pointer the stores could alias. */
static inline float sgd_elem(float lr, float mom, float wd, int use_mom, int nesterov, float g, float w, float *b)
{
    g += wd * w;
    if (use_mom) {
        *b = mom * *b + g;
        g = nesterov ? g + mom * *b : *b;
    }
    return w - lr * g;
}

/* Calls BODY with use_mom and nesterov as compile-time constants (three specialised loops). */
#define SGD_DISPATCH(BODY)                  \
    do {                                    \
        if (!use_mom_) {                    \
            BODY(0, 0);                     \
        } else if (nesterov_) {             \
            BODY(1, 1);                     \
        } else {                            \
            BODY(1, 0);                     \
        }                                   \
    } while (0)

mcuf_status mcuf_sgd_f32(const mcuf_sgd_params *p, float lr, const float *restrict grad, float *restrict w,
                         float *restrict mom)
{
    mcuf_status st = sgd_check(p, lr, grad, w, mom);
    if (st != MCUF_OK) return st;
    const int n = p->n, use_mom_ = p->momentum != 0.0f, nesterov_ = p->nesterov != 0;
    const float m = p->momentum, wd = p->weight_decay;
#define BODY(UM, NE)                                                                     \
    for (int i = 0; i < n; i++) {                                                        \
        float b = UM ? mom[i] : 0.0f;                                                    \
        w[i] = sgd_elem(lr, m, wd, UM, NE, grad[i], w[i], &b);                           \
        if (UM) mom[i] = b;                                                              \
    }
    SGD_DISPATCH(BODY);
#undef BODY
    return MCUF_OK;
}

mcuf_status mcuf_sgd_f16(const mcuf_sgd_params *p, float lr, float grad_scale_inv, const mcuf_f16 *restrict grad,
                         mcuf_f16 *restrict w, mcuf_f16 *restrict mom)
{
    mcuf_status st = sgd_check(p, lr, grad, w, mom);
    if (st != MCUF_OK) return st;
    const int n = p->n, use_mom_ = p->momentum != 0.0f, nesterov_ = p->nesterov != 0;
    const float m = p->momentum, wd = p->weight_decay;
#define BODY(UM, NE)                                                                                \
    for (int i = 0; i < n; i++) {                                                                   \
        float b = UM ? (float)mom[i] : 0.0f;                                                        \
        w[i] = (mcuf_f16)sgd_elem(lr, m, wd, UM, NE, (float)grad[i] * grad_scale_inv, (float)w[i], &b); \
        if (UM) mom[i] = (mcuf_f16)b;                                                               \
    }
    SGD_DISPATCH(BODY);
#undef BODY
    return MCUF_OK;
}

mcuf_status mcuf_sgd_master_f16(const mcuf_sgd_params *p, float lr, float grad_scale_inv,
                                const mcuf_f16 *restrict grad, float *restrict master, float *restrict mom,
                                mcuf_f16 *restrict w16)
{
    mcuf_status st = sgd_check(p, lr, grad, master, mom);
    if (st != MCUF_OK) return st;
    if (!w16) return MCUF_ERR_ARG;
    const int n = p->n, use_mom_ = p->momentum != 0.0f, nesterov_ = p->nesterov != 0;
    const float m = p->momentum, wd = p->weight_decay;
#define BODY(UM, NE)                                                                                     \
    for (int i = 0; i < n; i++) {                                                                        \
        float b = UM ? mom[i] : 0.0f;                                                                    \
        const float nw = sgd_elem(lr, m, wd, UM, NE, (float)grad[i] * grad_scale_inv, master[i], &b);    \
        master[i] = nw;                                                                                  \
        w16[i] = (mcuf_f16)nw;                                                                           \
        if (UM) mom[i] = b;                                                                              \
    }
    SGD_DISPATCH(BODY);
#undef BODY
    return MCUF_OK;
}

mcuf_status mcuf_all_finite_f16(int n, const mcuf_f16 *x)
{
    if (!x || n < 1) return MCUF_ERR_ARG;
    /* On the bits: inf and NaN are exactly the all-ones exponent, and integer code needs no FPU. */
    const uint16_t *u = (const uint16_t *)(const void *)x;
    uint16_t bad = 0;
    for (int i = 0; i < n; i++) bad |= (uint16_t)((u[i] & 0x7c00u) == 0x7c00u);
    return bad ? MCUF_ERR_OVERFLOW : MCUF_OK;
}

mcuf_status mcuf_all_finite_f32(int n, const float *x)
{
    if (!x || n < 1) return MCUF_ERR_ARG;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    return bad ? MCUF_ERR_OVERFLOW : MCUF_OK;
}

mcuf_status mcuf_loss_scale_init(const mcuf_loss_scale_params *p, mcuf_loss_scale_state *s)
{
    if (!p || !s) return MCUF_ERR_ARG;
    if (!(p->init_scale > 0.0f) || !(p->min_scale > 0.0f) || !(p->max_scale >= p->min_scale) ||
        p->growth_interval < 0 || !(p->backoff_factor > 0.0f && p->backoff_factor < 1.0f) ||
        !(p->growth_factor >= 1.0f))
        return MCUF_ERR_ARG;
    s->scale = p->init_scale;
    s->good_steps = 0;
    s->skipped = 0;
    return MCUF_OK;
}

mcuf_status mcuf_loss_scale_update(const mcuf_loss_scale_params *p, int found_overflow, mcuf_loss_scale_state *s)
{
    if (!p || !s) return MCUF_ERR_ARG;
    if (found_overflow) {
        s->skipped++;
        s->good_steps = 0;
        if (p->growth_interval > 0) {
            float next = s->scale * p->backoff_factor;
            s->scale = next < p->min_scale ? p->min_scale : next;
        }
        return MCUF_ERR_OVERFLOW;
    }
    if (p->growth_interval > 0 && ++s->good_steps >= p->growth_interval) {
        float next = s->scale * p->growth_factor;
        s->scale = next > p->max_scale ? p->max_scale : next;
        s->good_steps = 0;
    }
    return MCUF_OK;
}
