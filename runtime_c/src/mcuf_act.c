/* mcuf_act.c: portable C ReLU forward and backward (the reference for the _rvv backend). */
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
