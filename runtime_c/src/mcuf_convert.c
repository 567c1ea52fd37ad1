/* mcuf_convert.c: see mcuf_convert.h. The compiler picks fcvt.h.s / vfncvt where the target has
 * them and the soft conversion routines otherwise. */
#include "mcuf_convert.h"

#include <math.h>

mcuf_status mcuf_convert_f32_f16(int n, const float *restrict in, mcuf_f16 *restrict out)
{
    if (n < 0 || (n > 0 && (!in || !out)))
        return MCUF_ERR_ARG;
    for (int i = 0; i < n; ++i)
        out[i] = (mcuf_f16)in[i];
    return MCUF_OK;
}

mcuf_status mcuf_convert_f16_f32(int n, const mcuf_f16 *restrict in, float *restrict out)
{
    if (n < 0 || (n > 0 && (!in || !out)))
        return MCUF_ERR_ARG;
    for (int i = 0; i < n; ++i)
        out[i] = (float)in[i];
    return MCUF_OK;
}

/* Round half to even without libm: adding and subtracting 1.5 * 2^23 leaves the nearest integer
 * under the default rounding mode (round to nearest, ties to even) for |x| < 2^22. Inputs are
 * clamped first, so the trick's range is never exceeded. */
static inline float round_half_even(float x)
{
    const float magic = 12582912.0f;
    volatile float t = x + magic; /* volatile: keep -ffast-math style reassociation away */
    return t - magic;
}

mcuf_status mcuf_quantize_f32_s8(const mcuf_qparams *q, int n, const float *restrict in, int8_t *restrict out)
{
    if (!q || n < 0 || (n > 0 && (!in || !out)) || !(q->scale > 0.0f) || q->scale == INFINITY ||
        q->zero_point < -128 || q->zero_point > 127)
        return MCUF_ERR_ARG;
    for (int i = 0; i < n; ++i) {
        float x = in[i] / q->scale;
        if (x != x) /* NaN quantizes to the zero point (real 0) */
            x = 0.0f;
        x = x < -1.0e6f ? -1.0e6f : (x > 1.0e6f ? 1.0e6f : x);
        int32_t v = (int32_t)round_half_even(x) + q->zero_point;
        out[i] = (int8_t)(v < -128 ? -128 : (v > 127 ? 127 : v));
    }
    return MCUF_OK;
}

mcuf_status mcuf_dequantize_s8_f32(const mcuf_qparams *q, int n, const int8_t *restrict in, float *restrict out)
{
    if (!q || n < 0 || (n > 0 && (!in || !out)) || !(q->scale > 0.0f) || q->zero_point < -128 || q->zero_point > 127)
        return MCUF_ERR_ARG;
    for (int i = 0; i < n; ++i)
        out[i] = (float)((int32_t)in[i] - q->zero_point) * q->scale;
    return MCUF_OK;
}
