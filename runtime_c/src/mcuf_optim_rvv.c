/* mcuf_optim_rvv.c: SGD steps and the FP16 finite check with RVV 1.0 + Zvfh, VLEN-agnostic.
 * Same per-element arithmetic as the portable code (FP32, fused where the portable code contracts):
 *   g += wd*w (vfmacc); b = mom*b + g (vfmadd); g = nesterov ? g + mom*b : b; w -= lr*g (vfnmsac).
 * FP16 operands are widened to FP32 (LMUL 4 -> 8) and narrowed once on the store. */
#if defined(__riscv_zvfh)
#include <riscv_vector.h>

#include "mcuf_optim.h"

static mcuf_status check(const mcuf_sgd_params *p, float lr, const void *grad, const void *w, const void *mom)
{
    if (!p || !grad || !w || p->n < 1) return MCUF_ERR_ARG;
    if (!(lr >= 0.0f) || !(p->momentum >= 0.0f) || !(p->weight_decay >= 0.0f)) return MCUF_ERR_ARG;
    if (p->momentum != 0.0f && !mom) return MCUF_ERR_ARG;
    return MCUF_OK;
}

/* The update of one strip; *b is read and written only when momentum is on. */
static inline vfloat32m8_t step(const mcuf_sgd_params *p, float lr, vfloat32m8_t g, vfloat32m8_t w,
                                vfloat32m8_t *b, size_t vl)
{
    if (p->weight_decay != 0.0f) g = __riscv_vfmacc_vf_f32m8(g, p->weight_decay, w, vl);
    if (p->momentum != 0.0f) {
        *b = __riscv_vfmadd_vf_f32m8(*b, p->momentum, g, vl);
        g = p->nesterov ? __riscv_vfmacc_vf_f32m8(g, p->momentum, *b, vl) : *b;
    }
    return __riscv_vfnmsac_vf_f32m8(w, lr, g, vl);
}

mcuf_status mcuf_sgd_f32_rvv(const mcuf_sgd_params *p, float lr, const float *restrict grad, float *restrict w,
                             float *restrict mom)
{
    mcuf_status st = check(p, lr, grad, w, mom);
    if (st != MCUF_OK) return st;
    const int use_mom = p->momentum != 0.0f;
    for (size_t i = 0, N = (size_t)p->n; i < N;) {
        size_t vl = __riscv_vsetvl_e32m8(N - i);
        vfloat32m8_t b = use_mom ? __riscv_vle32_v_f32m8(mom + i, vl) : __riscv_vfmv_v_f_f32m8(0.0f, vl);
        vfloat32m8_t nw = step(p, lr, __riscv_vle32_v_f32m8(grad + i, vl), __riscv_vle32_v_f32m8(w + i, vl), &b, vl);
        __riscv_vse32_v_f32m8(w + i, nw, vl);
        if (use_mom) __riscv_vse32_v_f32m8(mom + i, b, vl);
        i += vl;
    }
    return MCUF_OK;
}

mcuf_status mcuf_sgd_f16_rvv(const mcuf_sgd_params *p, float lr, float grad_scale_inv,
                             const mcuf_f16 *restrict grad, mcuf_f16 *restrict w, mcuf_f16 *restrict mom)
{
    mcuf_status st = check(p, lr, grad, w, mom);
    if (st != MCUF_OK) return st;
    const int use_mom = p->momentum != 0.0f;
    for (size_t i = 0, N = (size_t)p->n; i < N;) {
        size_t vl = __riscv_vsetvl_e16m4(N - i);
        vfloat32m8_t g = __riscv_vfwcvt_f_f_v_f32m8(__riscv_vle16_v_f16m4(grad + i, vl), vl);
        g = __riscv_vfmul_vf_f32m8(g, grad_scale_inv, vl);
        vfloat32m8_t wv = __riscv_vfwcvt_f_f_v_f32m8(__riscv_vle16_v_f16m4(w + i, vl), vl);
        vfloat32m8_t b = use_mom ? __riscv_vfwcvt_f_f_v_f32m8(__riscv_vle16_v_f16m4(mom + i, vl), vl)
                                 : __riscv_vfmv_v_f_f32m8(0.0f, vl);
        vfloat32m8_t nw = step(p, lr, g, wv, &b, vl);
        __riscv_vse16_v_f16m4(w + i, __riscv_vfncvt_f_f_w_f16m4(nw, vl), vl);
        if (use_mom) __riscv_vse16_v_f16m4(mom + i, __riscv_vfncvt_f_f_w_f16m4(b, vl), vl);
        i += vl;
    }
    return MCUF_OK;
}

mcuf_status mcuf_sgd_master_f16_rvv(const mcuf_sgd_params *p, float lr, float grad_scale_inv,
                                    const mcuf_f16 *restrict grad, float *restrict master, float *restrict mom,
                                    mcuf_f16 *restrict w16)
{
    mcuf_status st = check(p, lr, grad, master, mom);
    if (st != MCUF_OK) return st;
    if (!w16) return MCUF_ERR_ARG;
    const int use_mom = p->momentum != 0.0f;
    for (size_t i = 0, N = (size_t)p->n; i < N;) {
        size_t vl = __riscv_vsetvl_e16m4(N - i);
        vfloat32m8_t g = __riscv_vfwcvt_f_f_v_f32m8(__riscv_vle16_v_f16m4(grad + i, vl), vl);
        g = __riscv_vfmul_vf_f32m8(g, grad_scale_inv, vl);
        vfloat32m8_t b = use_mom ? __riscv_vle32_v_f32m8(mom + i, vl) : __riscv_vfmv_v_f_f32m8(0.0f, vl);
        vfloat32m8_t nw = step(p, lr, g, __riscv_vle32_v_f32m8(master + i, vl), &b, vl);
        __riscv_vse32_v_f32m8(master + i, nw, vl);
        __riscv_vse16_v_f16m4(w16 + i, __riscv_vfncvt_f_f_w_f16m4(nw, vl), vl);
        if (use_mom) __riscv_vse32_v_f32m8(mom + i, b, vl);
        i += vl;
    }
    return MCUF_OK;
}

mcuf_status mcuf_all_finite_f16_rvv(int n, const mcuf_f16 *x)
{
    if (!x || n < 1) return MCUF_ERR_ARG;
    const uint16_t *u = (const uint16_t *)(const void *)x;
    for (size_t i = 0, N = (size_t)n; i < N;) {
        size_t vl = __riscv_vsetvl_e16m8(N - i);
        vuint16m8_t e = __riscv_vand_vx_u16m8(__riscv_vle16_v_u16m8(u + i, vl), 0x7c00u, vl);
        if (__riscv_vcpop_m_b2(__riscv_vmseq_vx_u16m8_b2(e, 0x7c00u, vl), vl)) return MCUF_ERR_OVERFLOW;
        i += vl;
    }
    return MCUF_OK;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int mcuf_optim_rvv_unused;
#endif
