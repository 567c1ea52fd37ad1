/* mcuf_linear.c: linear layers, forward and both gradients, FP16 and FP32. Batch 1 with FP32
 * accumulation runs row-blocked dot products; everything else is the best matmul for the target
 * (MCUF_MATMUL_* from mcuf_matmul.h). One macro body instantiated for both dtypes. */
#include "mcuf_linear.h"
#include "mcuf_bias_grad.h"
#include "mcuf_matmul.h"

/* y[o] = bias[o] + x . w[o, :] for one input row (inference's linear layer), accumulating in float
 * in k order. A matmul with M = 1 cannot block rows (~0.14 MAC per instruction on rv32). Here R <= 5
 * rows share each x[k] load and k is unrolled by 8, so the loads use constant offsets and the pointer
 * bumps are paid once per 8 columns: near 0.42 MAC per instruction (each weight is loaded once, so
 * 0.5 is the ceiling). */
#define DEFINE_GEMV_ROWS(T, SFX, R)                                                                      \
    static void gemv_rows##R##_##SFX(int in, const T *restrict x, const T *restrict w, T *restrict y,    \
                                     const T *restrict bias)                                             \
    {                                                                                                    \
        const T *wr[R];                                                                                  \
        float a[R];                                                                                      \
        for (int r = 0; r < R; r++) {                                                                    \
            wr[r] = w + (size_t)r * in;                                                                  \
            a[r] = 0.0f;                                                                                 \
        }                                                                                                \
        int k = 0;                                                                                       \
        for (; k + 8 <= in; k += 8, x += 8) {                                                            \
            for (int u = 0; u < 8; u++) {                                                                \
                const float xk = (float)x[u];                                                            \
                for (int r = 0; r < R; r++) a[r] += xk * (float)wr[r][u];                                \
            }                                                                                            \
            for (int r = 0; r < R; r++) wr[r] += 8;                                                      \
        }                                                                                                \
        for (; k < in; k++, x++) {                                                                       \
            const float xk = (float)x[0];                                                                \
            for (int r = 0; r < R; r++) a[r] += xk * (float)*wr[r]++;                                    \
        }                                                                                                \
        for (int r = 0; r < R; r++) y[r] = (T)(bias ? a[r] + (float)bias[r] : a[r]);                     \
    }

#define DEFINE_GEMV(T, SFX)                                                                              \
    DEFINE_GEMV_ROWS(T, SFX, 1)                                                                          \
    DEFINE_GEMV_ROWS(T, SFX, 2)                                                                          \
    DEFINE_GEMV_ROWS(T, SFX, 3)                                                                          \
    DEFINE_GEMV_ROWS(T, SFX, 4)                                                                          \
    DEFINE_GEMV_ROWS(T, SFX, 5)                                                                          \
    static void linear_gemv_##SFX(int in, int out, const T *restrict x, const T *restrict w,             \
                                  const T *restrict bias, T *restrict y)                                 \
    {                                                                                                    \
        /* blocks of near-equal size (10 -> 5 + 5, not 5 + 5 + ... or 4 + 4 + 2) */                      \
        const int nb = (out + 4) / 5, base = out / nb, extra = out % nb;                                 \
        for (int b = 0, o = 0; b < nb; b++) {                                                            \
            const int r = base + (b < extra);                                                            \
            const T *wo = w + (size_t)o * in, *bo = bias ? bias + o : NULL;                              \
            switch (r) {                                                                                 \
            case 1: gemv_rows1_##SFX(in, x, wo, y + o, bo); break;                                       \
            case 2: gemv_rows2_##SFX(in, x, wo, y + o, bo); break;                                       \
            case 3: gemv_rows3_##SFX(in, x, wo, y + o, bo); break;                                       \
            case 4: gemv_rows4_##SFX(in, x, wo, y + o, bo); break;                                       \
            default: gemv_rows5_##SFX(in, x, wo, y + o, bo); break;                                      \
            }                                                                                            \
            o += r;                                                                                      \
        }                                                                                                \
    }

DEFINE_GEMV(float, f32)
DEFINE_GEMV(mcuf_f16, f16)

#define DEFINE_LINEAR(T, SFX, MATMUL, MATMUL_NT, MATMUL_TN, ACC_OF)                                      \
    MCUF_DEFINE_BIAS_GRAD(T, SFX, ACC_OF)                                                                \
                                                                                                         \
    mcuf_status mcuf_linear_##SFX(const mcuf_linear_params *p, const T *restrict x, const T *restrict w, \
                                  const T *restrict bias, T *restrict y)                                 \
    {                                                                                                    \
        if (!p || !x || !w || !y || p->batch < 1 || p->in_features < 1 || p->out_features < 1)           \
            return MCUF_ERR_ARG;                                                                         \
        if (p->batch == 1 && ACC_OF(p->acc)) {                                                           \
            linear_gemv_##SFX(p->in_features, p->out_features, x, w, bias, y);                           \
            return MCUF_OK;                                                                              \
        }                                                                                                \
        const mcuf_matmul_params mp = {p->batch, p->out_features, p->in_features, p->acc, 0, 0};         \
        return MATMUL_NT(&mp, x, w, bias, y);                                                            \
    }                                                                                                    \
                                                                                                         \
    mcuf_status mcuf_linear_grad_input_##SFX(const mcuf_linear_params *p, const T *restrict dy,          \
                                             const T *restrict w, T *restrict dx)                        \
    {                                                                                                    \
        if (!p || !dy || !w || !dx || p->batch < 1 || p->in_features < 1 || p->out_features < 1)         \
            return MCUF_ERR_ARG;                                                                         \
        const mcuf_matmul_params mp = {p->batch, p->in_features, p->out_features, p->acc, 0, 0};         \
        return MATMUL(&mp, dy, w, NULL, dx);                                                             \
    }                                                                                                    \
                                                                                                         \
    mcuf_status mcuf_linear_grad_weight_##SFX(const mcuf_linear_params *p, const T *restrict x,          \
                                              const T *restrict dy, T *restrict dw, T *restrict db)      \
    {                                                                                                    \
        if (!p || !x || !dy || !dw || p->batch < 1 || p->in_features < 1 || p->out_features < 1)         \
            return MCUF_ERR_ARG;                                                                         \
        const mcuf_matmul_params mp = {p->out_features, p->in_features, p->batch, p->acc,                \
                                       p->accumulate_grad, 0};                                           \
        mcuf_status st = MATMUL_TN(&mp, dy, x, NULL, dw);                                                \
        if (st == MCUF_OK && db)                                                                         \
            bias_grad_##SFX(p->acc, p->accumulate_grad, dy, p->out_features, p->batch, 1,                \
                            (size_t)p->out_features, db);                                                \
        return st;                                                                                       \
    }

#define ACC_F16_POLICY(acc) ((acc) == MCUF_ACC_F32)
#define ACC_F32_ALWAYS(acc) ((void)(acc), 1)

DEFINE_LINEAR(mcuf_f16, f16, MCUF_MATMUL_F16, MCUF_MATMUL_NT_F16, MCUF_MATMUL_TN_F16, ACC_F16_POLICY)
DEFINE_LINEAR(float, f32, MCUF_MATMUL_F32, MCUF_MATMUL_NT_F32, MCUF_MATMUL_TN_F32, ACC_F32_ALWAYS)
