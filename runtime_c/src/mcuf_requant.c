/* mcuf_requant.c: the exported requantization of int32 accumulators. Semantics: mcuf_requant.h. */
#include "mcuf_requant.h"

static int zp_ok(int32_t zp) { return zp >= -128 && zp <= 127; }

mcuf_status mcuf_requantize_s8(int n, const int32_t *restrict acc, int32_t multiplier, int32_t shift, int32_t zp,
                               int8_t act_min, int8_t act_max, int8_t *restrict out)
{
    if (n < 0 || (n > 0 && (!acc || !out))) return MCUF_ERR_ARG;
    if (shift < -31 || shift > 30 || multiplier < 0 || !zp_ok(zp) || act_min > act_max) return MCUF_ERR_ARG;
    for (int i = 0; i < n; i++) out[i] = mcuf_requant_s8(acc[i], multiplier, shift, zp, act_min, act_max);
    return MCUF_OK;
}
