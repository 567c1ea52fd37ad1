/* mcuf_binary_s8.c: int8 Add and Mul with their own scales. Semantics: mcuf_binary.h. */
#include "mcuf_binary.h"
#include "mcuf_requant.h"

static int zp_ok(int32_t zp) { return zp >= -128 && zp <= 127; }

static int8_t clamp_s8(int64_t v, int32_t lo, int32_t hi)
{
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

static mcuf_status binary_check(const mcuf_binary_s8_params *p, const int8_t *a, const int8_t *b,
                                 const int8_t *out)
{
    if (!p || !a || !b || !out) return MCUF_ERR_ARG;
    if (p->C < 1 || p->HW < 1) return MCUF_ERR_ARG;
    if (p->b_bcast != MCUF_BCAST_NONE && p->b_bcast != MCUF_BCAST_CHANNEL && p->b_bcast != MCUF_BCAST_SCALAR)
        return MCUF_ERR_ARG;
    if (!zp_ok(p->a_zp) || !zp_ok(p->b_zp) || !zp_ok(p->out_zp) || p->act_min > p->act_max) return MCUF_ERR_ARG;
    if (p->shift < -31 || p->shift > 30 || p->a_mult < 0 || p->b_mult < 0) return MCUF_ERR_ARG;
    return MCUF_OK;
}

/* Stride of b between channels / elements, per broadcast mode (0 = the same value reused). */
static void bcast_strides(mcuf_bcast mode, int HW, int *cs, int *es)
{
    *cs = mode == MCUF_BCAST_NONE ? HW : mode == MCUF_BCAST_CHANNEL ? 1 : 0;
    *es = mode == MCUF_BCAST_NONE ? 1 : 0;
}

mcuf_status mcuf_add_s8(const mcuf_binary_s8_params *p, const int8_t *a, const int8_t *b, int8_t *out)
{
    mcuf_status st = binary_check(p, a, b, out);
    if (st != MCUF_OK) return st;
    int cs, es;
    bcast_strides(p->b_bcast, p->HW, &cs, &es);
    const int r = 31 - p->shift;
    const int64_t ma = p->a_mult, mb = p->b_mult;
    for (int c = 0; c < p->C; c++) {
        const int8_t *ac = a + (size_t)c * p->HW, *bc = b + (size_t)c * cs;
        int8_t *oc = out + (size_t)c * p->HW;
        for (int i = 0; i < p->HW; i++) {
            const int64_t sum = (int64_t)(ac[i] - p->a_zp) * ma + (int64_t)(bc[i * es] - p->b_zp) * mb;
            oc[i] = clamp_s8(mcuf_rshift_rhe_s64(sum, r) + p->out_zp, p->act_min, p->act_max);
        }
    }
    return MCUF_OK;
}

mcuf_status mcuf_mul_s8(const mcuf_binary_s8_params *p, const int8_t *a, const int8_t *b, int8_t *out)
{
    mcuf_status st = binary_check(p, a, b, out);
    if (st != MCUF_OK) return st;
    int cs, es;
    bcast_strides(p->b_bcast, p->HW, &cs, &es);
    for (int c = 0; c < p->C; c++) {
        const int8_t *ac = a + (size_t)c * p->HW, *bc = b + (size_t)c * cs;
        int8_t *oc = out + (size_t)c * p->HW;
        for (int i = 0; i < p->HW; i++) {
            const int32_t prod = (ac[i] - p->a_zp) * (bc[i * es] - p->b_zp);
            oc[i] = mcuf_requant_s8(prod, p->a_mult, p->shift, p->out_zp, p->act_min, p->act_max);
        }
    }
    return MCUF_OK;
}
