/* mcuf_act_s8.c: int8 activations by table lookup. Semantics: mcuf_act.h. */
#include "mcuf_act.h"

mcuf_status mcuf_lut_s8(int n, const int8_t *table, const int8_t *in, int8_t *out)
{
    if (n < 0 || (n > 0 && (!table || !in || !out)))
        return MCUF_ERR_ARG;
    for (int i = 0; i < n; ++i)
        out[i] = table[(int32_t)in[i] + 128];
    return MCUF_OK;
}
