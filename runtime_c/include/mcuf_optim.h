/* mcuf_optim.h: SGD with momentum and weight decay, and loss scaling for FP16 gradients.
 *
 * SGD follows PyTorch's torch.optim.SGD (dampening 0): per element, with g the (unscaled) gradient,
 *     g = grad * grad_scale_inv + weight_decay * w
 *     b = momentum * b + g                  (momentum buffer; b starts at zero, which with dampening 0
 *                                            equals PyTorch's "b = g on the first step")
 *     g = nesterov ? g + momentum * b : b   (when momentum != 0)
 *     w = w - lr * g
 * `mom` may be NULL only when momentum == 0. lr (and grad_scale_inv) are call arguments because they
 * change at run time (schedules, dynamic loss scale); the rest is offline constants in the params.
 *
 *   mcuf_sgd_f32        FP32 weights, FP32 momentum.
 *   mcuf_sgd_f16        FP16 weights and FP16 momentum: the update is computed in FP32 per element
 *                       and rounded once; updates below half an FP16 ulp of w are lost (use master).
 *   mcuf_sgd_master_f16 FP32 master weights and FP32 momentum; w16 receives the rounded FP16 copy the
 *                       forward/backward kernels use. No update is lost to FP16 rounding.
 *
 * Loss scaling (FP16 training): the loss gradient is multiplied by `scale` (mcuf_softmax_ce_f16's
 * grad_scale), every gradient tensor is checked with mcuf_all_finite_f16, then
 * mcuf_loss_scale_update decides: on overflow it halves the scale (backoff_factor), resets the
 * good-step counter and returns MCUF_ERR_OVERFLOW, meaning "skip this step"; otherwise, after
 * growth_interval consecutive good steps it multiplies the scale by growth_factor (as PyTorch's
 * GradScaler). growth_interval == 0 gives a static scale (never changes; overflow is still reported so
 * the step is skipped). The state is a caller-owned struct: no hidden state. A training step reads
 * inv = 1.0f / state.scale BEFORE calling mcuf_loss_scale_update and passes inv to the SGD step.
 *
 * grad, the weights, the momentum (and w16) must not overlap.
 * Errors: MCUF_ERR_ARG for NULL pointers (mom NULL with momentum != 0), n < 1, negative rates.
 * Backends: portable C; `_rvv` for the SGD steps and the finite check when compiling with __riscv_zvfh.
 */
#ifndef MCUF_OPTIM_H
#define MCUF_OPTIM_H

#include "mcuf_common.h"

typedef struct {
    int n;              /* elements of the parameter tensor */
    float momentum;     /* 0 disables the momentum buffer */
    float weight_decay; /* L2 penalty added to the gradient (PyTorch semantics) */
    uint8_t nesterov;
} mcuf_sgd_params;

mcuf_status mcuf_sgd_f32(const mcuf_sgd_params *p, float lr, const float *restrict grad, float *restrict w,
                         float *restrict mom);
mcuf_status mcuf_sgd_f16(const mcuf_sgd_params *p, float lr, float grad_scale_inv, const mcuf_f16 *restrict grad,
                         mcuf_f16 *restrict w, mcuf_f16 *restrict mom);
mcuf_status mcuf_sgd_master_f16(const mcuf_sgd_params *p, float lr, float grad_scale_inv,
                                const mcuf_f16 *restrict grad, float *restrict master, float *restrict mom,
                                mcuf_f16 *restrict w16);

typedef struct {
    float init_scale;      /* e.g. 65536 (PyTorch) or 1024 */
    float growth_factor;   /* e.g. 2 */
    float backoff_factor;  /* e.g. 0.5 */
    int growth_interval;   /* good steps before growing; 0 = static scale */
    float min_scale;       /* the scale never goes below (e.g. 1) */
    float max_scale;       /* nor above (e.g. 65536: a scaled FP16 gradient must stay finite) */
} mcuf_loss_scale_params;

typedef struct {
    float scale;          /* current loss scale */
    int32_t good_steps;   /* consecutive finite steps since the last change */
    uint32_t skipped;     /* steps skipped for overflow so far (statistics) */
} mcuf_loss_scale_state;

mcuf_status mcuf_loss_scale_init(const mcuf_loss_scale_params *p, mcuf_loss_scale_state *s);
/* found_overflow != 0 when any gradient was inf/NaN. Returns MCUF_OK (apply the step) or
 * MCUF_ERR_OVERFLOW (skip it; the scale has been backed off). */
mcuf_status mcuf_loss_scale_update(const mcuf_loss_scale_params *p, int found_overflow, mcuf_loss_scale_state *s);

/* MCUF_OK when all n values are finite, MCUF_ERR_OVERFLOW when any is inf or NaN. */
mcuf_status mcuf_all_finite_f16(int n, const mcuf_f16 *x);
mcuf_status mcuf_all_finite_f32(int n, const float *x);

#if defined(__riscv_zvfh) && !defined(MCUF_CFFI)
mcuf_status mcuf_sgd_f32_rvv(const mcuf_sgd_params *p, float lr, const float *restrict grad, float *restrict w,
                             float *restrict mom);
mcuf_status mcuf_sgd_f16_rvv(const mcuf_sgd_params *p, float lr, float grad_scale_inv,
                             const mcuf_f16 *restrict grad, mcuf_f16 *restrict w, mcuf_f16 *restrict mom);
mcuf_status mcuf_sgd_master_f16_rvv(const mcuf_sgd_params *p, float lr, float grad_scale_inv,
                                    const mcuf_f16 *restrict grad, float *restrict master, float *restrict mom,
                                    mcuf_f16 *restrict w16);
mcuf_status mcuf_all_finite_f16_rvv(int n, const mcuf_f16 *x);
#define MCUF_SGD_F32 mcuf_sgd_f32_rvv
#define MCUF_SGD_F16 mcuf_sgd_f16_rvv
#define MCUF_SGD_MASTER_F16 mcuf_sgd_master_f16_rvv
#define MCUF_ALL_FINITE_F16 mcuf_all_finite_f16_rvv
#elif !defined(MCUF_CFFI)
#define MCUF_SGD_F32 mcuf_sgd_f32
#define MCUF_SGD_F16 mcuf_sgd_f16
#define MCUF_SGD_MASTER_F16 mcuf_sgd_master_f16
#define MCUF_ALL_FINITE_F16 mcuf_all_finite_f16
#endif

#endif /* MCUF_OPTIM_H */
