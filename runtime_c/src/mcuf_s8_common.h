/* mcuf_s8_common.h (private to runtime_c/src): what the int8 kernel sources share: inline attributes,
 * the zero-point range, the unpacking of 8 / 4 / 2-bit weights from the packed layout (mcuf_conv.h,
 * mcuf_linear.h) and, for sources that include mcuf_conv.h first, the argument check of
 * mcuf_conv2d_s8_params (conv and grouped conv). */
#ifndef MCUF_S8_COMMON_H
#define MCUF_S8_COMMON_H

#include "mcuf_common.h"

#if defined(__GNUC__)
#define MCUF_ALWAYS_INLINE inline __attribute__((always_inline))
#define MCUF_NOINLINE __attribute__((noinline))
#else
#define MCUF_ALWAYS_INLINE inline
#define MCUF_NOINLINE
#endif

static inline int zp_ok(int32_t zp) { return zp >= -128 && zp <= 127; }

#ifdef MCUF_CONV_H
static inline mcuf_status conv_check(const mcuf_conv2d_s8_params *p)
{
    if (!p || !p->multiplier || !p->shift) return MCUF_ERR_ARG;
    if (p->C < 1 || p->H < 1 || p->W < 1 || p->OC < 1 || p->OH < 1 || p->OW < 1 || p->kh < 1 || p->kw < 1 ||
        p->stride_h < 1 || p->stride_w < 1 || p->group < 1)
        return MCUF_ERR_ARG;
    if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0) return MCUF_ERR_ARG;
    if (!zp_ok(p->in_zp) || !zp_ok(p->out_zp) || p->act_min > p->act_max) return MCUF_ERR_ARG;
    const int hp = p->H + p->pad_top + p->pad_bottom, wp = p->W + p->pad_left + p->pad_right;
    if (hp < p->kh || wp < p->kw) return MCUF_ERR_SHAPE;
    if (p->OH != (hp - p->kh) / p->stride_h + 1 || p->OW != (wp - p->kw) / p->stride_w + 1) return MCUF_ERR_SHAPE;
    if (p->C % p->group != 0 || p->OC % p->group != 0) return MCUF_ERR_SHAPE;
    return MCUF_OK;
}
#endif

/* Weight i (< 4) of the current k step of a packed block, for BITS = 8, 4 or 2 (constant after
 * inlining). Sub-byte weights are sign-extended by shifting the field to the top of a 32-bit word
 * and back (arithmetic right shift): 8 bits = one lb; 4 bits = lb + (slli +) srai, the byte shared by
 * two channels; 2 bits = one byte for all four channels. Bytes per k step and block: 4 * BITS / 8. */
#define WBYTES(BITS) ((BITS) / 2)
static MCUF_ALWAYS_INLINE int32_t wget(const int8_t *wp, int i, int bits)
{
    if (bits == 8) return wp[i];
    const uint32_t byte = (uint32_t)(int32_t)wp[bits == 4 ? i >> 1 : 0];
    const int pos = bits == 4 ? (i & 1) * 4 : i * 2; /* bit offset of the field in its byte */
    return (int32_t)(byte << (32 - bits - pos)) >> (32 - bits);
}

#endif /* MCUF_S8_COMMON_H */
