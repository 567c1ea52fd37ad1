/* mcuf_binary.c: portable FP32 / FP16 Add, Sub, Mul, Div with broadcasting. Semantics: mcuf_binary.h.
 * FP16 values are widened to float, computed on, and rounded once. */
#include "mcuf_binary.h"

/* ------------------------------------------------------------------------------------------ binary */

static mcuf_status binary_check(const mcuf_binary_params *p, const void *a, const void *b, const void *out)
{
    if (!p || !a || !b || !out) return MCUF_ERR_ARG;
    for (int k = 0; k < 4; k++)
        if (p->dims[k] < 1 || p->a_stride[k] < 0 || p->b_stride[k] < 0) return MCUF_ERR_ARG;
    return MCUF_OK;
}

/* The innermost dimension decides the loop: both inputs dense, b a scalar along it (bias-like
 * broadcast), a a scalar along it, or general strides. */
#define DEFINE_BINARY(NAME, T, EXPR)                                                                     \
    mcuf_status NAME(const mcuf_binary_params *p, const T *a, const T *b, T *out)                        \
    {                                                                                                    \
        mcuf_status st = binary_check(p, a, b, out);                                                     \
        if (st != MCUF_OK) return st;                                                                    \
        const int d0 = p->dims[0], d1 = p->dims[1], d2 = p->dims[2], d3 = p->dims[3];                    \
        const int as3 = p->a_stride[3], bs3 = p->b_stride[3];                                            \
        T *o = out;                                                                                      \
        for (int i0 = 0; i0 < d0; i0++)                                                                  \
            for (int i1 = 0; i1 < d1; i1++)                                                              \
                for (int i2 = 0; i2 < d2; i2++, o += d3) {                                               \
                    const T *pa = a + (size_t)i0 * p->a_stride[0] + (size_t)i1 * p->a_stride[1] +        \
                                  (size_t)i2 * p->a_stride[2];                                           \
                    const T *pb = b + (size_t)i0 * p->b_stride[0] + (size_t)i1 * p->b_stride[1] +        \
                                  (size_t)i2 * p->b_stride[2];                                           \
                    if (as3 == 1 && bs3 == 1) {                                                          \
                        for (int i = 0; i < d3; i++) {                                                   \
                            const float x = (float)pa[i], y = (float)pb[i];                              \
                            o[i] = (T)(EXPR);                                                            \
                        }                                                                                \
                    } else if (as3 == 1 && bs3 == 0) {                                                   \
                        const float y = (float)pb[0];                                                    \
                        for (int i = 0; i < d3; i++) {                                                   \
                            const float x = (float)pa[i];                                                \
                            o[i] = (T)(EXPR);                                                            \
                        }                                                                                \
                    } else if (as3 == 0 && bs3 == 1) {                                                   \
                        const float x = (float)pa[0];                                                    \
                        for (int i = 0; i < d3; i++) {                                                   \
                            const float y = (float)pb[i];                                                \
                            o[i] = (T)(EXPR);                                                            \
                        }                                                                                \
                    } else {                                                                             \
                        for (int i = 0; i < d3; i++) {                                                   \
                            const float x = (float)pa[(size_t)i * as3], y = (float)pb[(size_t)i * bs3];  \
                            o[i] = (T)(EXPR);                                                            \
                        }                                                                                \
                    }                                                                                    \
                }                                                                                        \
        return MCUF_OK;                                                                                  \
    }

DEFINE_BINARY(mcuf_add_f32, float, x + y)
DEFINE_BINARY(mcuf_sub_f32, float, x - y)
DEFINE_BINARY(mcuf_mul_f32, float, x * y)
DEFINE_BINARY(mcuf_div_f32, float, x / y)
DEFINE_BINARY(mcuf_add_f16, mcuf_f16, x + y)
DEFINE_BINARY(mcuf_sub_f16, mcuf_f16, x - y)
DEFINE_BINARY(mcuf_mul_f16, mcuf_f16, x * y)
DEFINE_BINARY(mcuf_div_f16, mcuf_f16, x / y)
