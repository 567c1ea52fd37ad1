/* mcuf_common.h: types, status codes and checks shared by every mcuforge kernel family, and the scheme
 * every kernel follows (a new kernel follows it too).
 *
 * Families: one public header per family, holding every dtype of it (float and int8 alike); sources
 * mcuf_<family>[_<dtype>][_<backend>].c (mcuf_conv.c, mcuf_conv_s8.c, mcuf_dwconv_rvv.c); helpers
 * private to src/ in headers there (mcuf_copy_run.h).
 *   mcuf_matmul.h    matmul, matmul_nt, matmul_tn
 *   mcuf_conv.h      conv2d (+ grads), pointwise, conv2d_f32_3x3, conv2d_s8 / _s8w4 / _s8w2 (group 1)
 *   mcuf_dwconv.h    dwconv2d (+ grads), gconv2d, dwconv2d_s8 / _s8w4 / _s8w2 (any group)
 *   mcuf_linear.h    linear (+ grads), linear_s8 / _s8_packed / _s8w4 / _s8w2
 *   mcuf_pool.h      maxpool2d / avgpool2d (+ grads, one forward for training and inference),
 *                    maxpool2d_f32_2x2, global_avgpool (+ grad), and their _s8
 *   mcuf_binary.h    add, sub, mul, div (broadcasting), add_s8, mul_s8
 *   mcuf_act.h       relu (+ grad), act (the ONNX activations), softmax, lut_s8
 *   mcuf_copy.h      copy_f32, copy4d, pad (data movement)
 *   mcuf_convert.h   convert_f32_f16 / _f16_f32, quantize_f32_s8, dequantize_s8_f32
 *   mcuf_requant.h   the int8 quantization scheme, requantize_s8 and its inline fixed-point helpers
 *   mcuf_loss.h      softmax_ce;  mcuf_optim.h  sgd, loss scaling, all_finite
 *
 * Names: mcuf_<op>_<dtype>[_<variant>], everything lower case.
 *   op       what is computed, ONNX-like: conv2d, dwconv2d, linear, maxpool2d, global_avgpool, add;
 *            gradients are ops of their own: <op>_grad_input, <op>_grad_weight, <op>_grad.
 *   dtype    f32 f16 s8 s4 s2 of the tensors; with mixed types one token, activations first and the
 *            weights as w<bits>: s8w4 = int8 activations, 4-bit weights (mcuf_conv2d_s8w4). Conversions
 *            name source then destination: mcuf_convert_f32_f16, mcuf_quantize_f32_s8.
 *   variant  always last: a restricted shape or layout (_3x3, _2x2, _packed, _naive) and/or a backend
 *            (_zfh scalar FP16, _rvf scalar F, _rvv RVV 1.0; codegen picks these by suffix), shape
 *            before backend. The unsuffixed function is the portable reference the variants are
 *            tested against.
 *   helpers  <kernel>_scratch_size(p) (bytes of caller scratch at full speed), <kernel>_min_scratch_size(p)
 *            (the least a banded kernel accepts), <kernel>_weight_size(p) (bytes of a packed weight array).
 *   params   mcuf_<op>_params, or mcuf_<op>_<dtype>_params when a dtype needs other fields (int8: zero
 *            points, multipliers); a struct shared by several ops is named after the first
 *            (mcuf_conv2d_s8_params also serves dwconv2d_s8).
 *
 * Parameter fields: the same name for the same quantity everywhere:
 *   C, H, W (input), OC, OH, OW (output), kh, kw, stride_h, stride_w, pad_top, pad_left, pad_bottom,
 *   pad_right, group; HW for a flattened plane; M, N, K for matrix products; batch, in_features,
 *   out_features for linear layers; acc (accumulation policy); accumulate_grad (gradients add into their
 *   outputs); in_zp / out_zp, multiplier, shift, act_min / act_max for int8.
 *
 * Signatures: (params, inputs, outputs, scratch[, scratch_bytes]); inputs const; pointers restrict unless
 * the kernel allows them to alias (in place), which its header says; a status returned; scratch owned by
 * the caller, sized by the kernel's _scratch_size function; no allocation, no mutable static state.
 */
#ifndef MCUF_COMMON_H
#define MCUF_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef MCUF_CFFI
/* cffi cannot parse _Float16. Behind a pointer the bit pattern crosses the ABI unchanged, which is why no
 * public function takes or returns mcuf_f16 by value (a half travels in an FP register on RISC-V). */
typedef uint16_t mcuf_f16;
#else
typedef _Float16 mcuf_f16;
#endif

typedef enum {
    MCUF_OK = 0,
    MCUF_ERR_ARG = -1,      /* NULL pointer or a dimension out of range */
    MCUF_ERR_SHAPE = -2,    /* dimensions inconsistent with each other */
    MCUF_ERR_SCRATCH = -3,  /* scratch buffer missing or too small */
    MCUF_ERR_OVERFLOW = -4, /* non-finite value where the caller asked to be told (loss scaling) */
    MCUF_ERR_ARENA = -5     /* arena missing, too small or misaligned */
} mcuf_status;

/* Accumulation policy, chosen per call: FP16 accumulate is fastest, FP32 accumulate keeps the
 * relative error of a K-long dot product near 2^-11 instead of growing like K * 2^-11. */
typedef enum { MCUF_ACC_F16 = 0, MCUF_ACC_F32 = 1 } mcuf_acc;

#ifndef MCUF_CFFI
/* Invariants that cannot fail in a correct caller; compiled out unless MCUF_DEBUG is defined. */
#ifdef MCUF_DEBUG
#define MCUF_DCHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#else
#define MCUF_DCHECK(c) ((void)0)
#endif
#endif

#endif /* MCUF_COMMON_H */
