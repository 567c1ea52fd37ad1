/* mcuf_convert.h: conversions between dtypes (the dtype token names the source, then the destination):
 *   mcuf_convert_f32_f16 / _f16_f32   FP32 <-> FP16 (round to nearest even; inf/NaN preserved);
 *   mcuf_quantize_f32_s8 / mcuf_dequantize_s8_f32   ONNX QuantizeLinear / DequantizeLinear.
 * The model API takes and returns float; FP16 and int8 models convert at their edges with these. */
#ifndef MCUF_CONVERT_H
#define MCUF_CONVERT_H

#include "mcuf_common.h"

/* out[i] = (half)in[i] for i < n. n >= 0; in and out must not overlap. */
mcuf_status mcuf_convert_f32_f16(int n, const float *restrict in, mcuf_f16 *restrict out);

/* out[i] = (float)in[i] for i < n. n >= 0; in and out must not overlap. */
mcuf_status mcuf_convert_f16_f32(int n, const mcuf_f16 *restrict in, float *restrict out);

/* Per-tensor affine quantization: real = scale * (q - zero_point). */
typedef struct {
    float scale;        /* > 0 */
    int32_t zero_point; /* within the quantized type's range */
} mcuf_qparams;

/* out[i] = saturate(round_half_even(in[i] / scale) + zero_point) to [-128, 127], as ONNX
 * QuantizeLinear (division, not multiplication by 1/scale, so ties land as onnxruntime's do). */
mcuf_status mcuf_quantize_f32_s8(const mcuf_qparams *q, int n, const float *restrict in, int8_t *restrict out);

/* out[i] = (in[i] - zero_point) * scale, as ONNX DequantizeLinear. */
mcuf_status mcuf_dequantize_s8_f32(const mcuf_qparams *q, int n, const int8_t *restrict in, float *restrict out);

#endif /* MCUF_CONVERT_H */
