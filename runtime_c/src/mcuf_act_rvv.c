/* mcuf_act_rvv.c: ReLU forward and backward with RVV 1.0 (+ Zvfh for FP16), VLEN-agnostic.
 * Selects instead of computing max(x, 0): vfmax would turn NaN into 0, the portable code keeps NaN. */
#if defined(__riscv_zvfh)
#include <riscv_vector.h>

#include "mcuf_act.h"

mcuf_status mcuf_relu_f16_rvv(int n, const mcuf_f16 *x, mcuf_f16 *y)
{
    if (!x || !y || n < 1) return MCUF_ERR_ARG;
    for (size_t i = 0, N = (size_t)n; i < N;) {
        size_t vl = __riscv_vsetvl_e16m8(N - i);
        vfloat16m8_t v = __riscv_vle16_v_f16m8(x + i, vl);
        vbool2_t neg = __riscv_vmflt_vf_f16m8_b2(v, (mcuf_f16)0, vl);
        __riscv_vse16_v_f16m8(y + i, __riscv_vfmerge_vfm_f16m8(v, (mcuf_f16)0, neg, vl), vl);
        i += vl;
    }
    return MCUF_OK;
}

mcuf_status mcuf_relu_f32_rvv(int n, const float *x, float *y)
{
    if (!x || !y || n < 1) return MCUF_ERR_ARG;
    for (size_t i = 0, N = (size_t)n; i < N;) {
        size_t vl = __riscv_vsetvl_e32m8(N - i);
        vfloat32m8_t v = __riscv_vle32_v_f32m8(x + i, vl);
        vbool4_t neg = __riscv_vmflt_vf_f32m8_b4(v, 0.0f, vl);
        __riscv_vse32_v_f32m8(y + i, __riscv_vfmerge_vfm_f32m8(v, 0.0f, neg, vl), vl);
        i += vl;
    }
    return MCUF_OK;
}

mcuf_status mcuf_relu_grad_f16_rvv(int n, const mcuf_f16 *x, const mcuf_f16 *grad_y, mcuf_f16 *grad_x)
{
    if (!x || !grad_y || !grad_x || n < 1) return MCUF_ERR_ARG;
    for (size_t i = 0, N = (size_t)n; i < N;) {
        size_t vl = __riscv_vsetvl_e16m8(N - i);
        vbool2_t pos = __riscv_vmfgt_vf_f16m8_b2(__riscv_vle16_v_f16m8(x + i, vl), (mcuf_f16)0, vl);
        vfloat16m8_t g = __riscv_vle16_v_f16m8(grad_y + i, vl);
        vfloat16m8_t z = __riscv_vfmv_v_f_f16m8((mcuf_f16)0, vl);
        __riscv_vse16_v_f16m8(grad_x + i, __riscv_vmerge_vvm_f16m8(z, g, pos, vl), vl);
        i += vl;
    }
    return MCUF_OK;
}

mcuf_status mcuf_relu_grad_f32_rvv(int n, const float *x, const float *grad_y, float *grad_x)
{
    if (!x || !grad_y || !grad_x || n < 1) return MCUF_ERR_ARG;
    for (size_t i = 0, N = (size_t)n; i < N;) {
        size_t vl = __riscv_vsetvl_e32m8(N - i);
        vbool4_t pos = __riscv_vmfgt_vf_f32m8_b4(__riscv_vle32_v_f32m8(x + i, vl), 0.0f, vl);
        vfloat32m8_t g = __riscv_vle32_v_f32m8(grad_y + i, vl);
        vfloat32m8_t z = __riscv_vfmv_v_f_f32m8(0.0f, vl);
        __riscv_vse32_v_f32m8(grad_x + i, __riscv_vmerge_vvm_f32m8(z, g, pos, vl), vl);
        i += vl;
    }
    return MCUF_OK;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int mcuf_act_rvv_unused;
#endif
