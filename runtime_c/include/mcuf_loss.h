/* mcuf_loss.h: softmax + cross-entropy loss and its gradient with respect to the logits.
 *
 * logits[N, K] (row-major, N rows of K classes), labels[N] in [0, K):
 *   loss      = (1/N) * sum_n ( logsumexp(logits[n, :]) - logits[n, labels[n]] )   (FP32, unscaled)
 *   grad[n,k] = grad_scale * (softmax(logits[n, :])[k] - (k == labels[n])) / N
 * grad_scale is the loss scale of FP16 training (1.0f without loss scaling): the gradient comes out
 * already multiplied by it, the loss does not. grad may be NULL (evaluation only).
 *
 * Numerics: the row maximum is subtracted before exp (no overflow for any finite logits); exp, the sum
 * and the log run in FP32 also in the FP16 kernel, so only the final gradient rounding to FP16 adds
 * error (2^-11 relative to each element). In place (grad == logits) is allowed.
 * Errors: MCUF_ERR_ARG for NULL logits/labels/loss, N < 1, K < 1 or a label outside [0, K).
 * No scratch, no state. Backend: portable C (uses expf/logf from libm).
 */
#ifndef MCUF_LOSS_H
#define MCUF_LOSS_H

#include "mcuf_common.h"

typedef struct {
    int N; /* rows (batch) */
    int K; /* classes */
} mcuf_softmax_ce_params;

mcuf_status mcuf_softmax_ce_f16(const mcuf_softmax_ce_params *p, const mcuf_f16 *logits, const int32_t *labels,
                                float grad_scale, float *loss, mcuf_f16 *grad);
mcuf_status mcuf_softmax_ce_f32(const mcuf_softmax_ce_params *p, const float *logits, const int32_t *labels,
                                float grad_scale, float *loss, float *grad);

#endif /* MCUF_LOSS_H */
