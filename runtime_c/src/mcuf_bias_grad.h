/* Private to runtime_c: the bias gradient of the conv and linear families' backward kernels, one
 * definition for both (a macro, like the kernels: one instance per element type). */
#ifndef MCUF_BIAS_GRAD_H
#define MCUF_BIAS_GRAD_H

#include <stddef.h>

#include "mcuf_common.h"

#define MCUF_DEFINE_BIAS_GRAD(T, SFX, ACC_OF)                                                            \
    /* db[r] (+)= sum over the row r of X[rows, cols] (row_stride 1 element apart per col) or over a     \
     * column when transposed; the sum runs in the accumulation type of the policy. */                   \
    static void bias_grad_##SFX(mcuf_acc acc, int accumulate, const T *X, int rows, int cols,            \
                                size_t s_row, size_t s_col, T *db)                                       \
    {                                                                                                    \
        for (int r = 0; r < rows; r++) {                                                                 \
            const T *x = X + (size_t)r * s_row;                                                          \
            if (ACC_OF(acc)) {                                                                           \
                float s = accumulate ? (float)db[r] : 0.0f;                                              \
                for (int c = 0; c < cols; c++) s += (float)x[(size_t)c * s_col];                         \
                db[r] = (T)s;                                                                            \
            } else {                                                                                     \
                T s = accumulate ? db[r] : (T)0.0f;                                                      \
                for (int c = 0; c < cols; c++) s = (T)(s + x[(size_t)c * s_col]);                        \
                db[r] = s;                                                                               \
            }                                                                                            \
        }                                                                                                \
    }

#endif /* MCUF_BIAS_GRAD_H */
