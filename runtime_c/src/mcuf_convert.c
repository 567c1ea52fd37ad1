/* mcuf_convert.c: see mcuf_convert.h. The compiler picks fcvt.h.s / vfncvt where the target has
 * them and the soft conversion routines otherwise. */
#include "mcuf_convert.h"

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
