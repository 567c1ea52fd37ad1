/* mcuf_convert.h: FP32 <-> FP16 array conversion (round to nearest even; inf/NaN preserved).
 *
 * The model API takes and returns float; FP16 models convert at their edges with these. */
#ifndef MCUF_CONVERT_H
#define MCUF_CONVERT_H

#include "mcuf_common.h"

/* out[i] = (half)in[i] for i < n. n >= 0; in and out must not overlap. */
mcuf_status mcuf_convert_f32_f16(int n, const float *in, mcuf_f16 *out);

/* out[i] = (float)in[i] for i < n. n >= 0; in and out must not overlap. */
mcuf_status mcuf_convert_f16_f32(int n, const mcuf_f16 *in, float *out);

#endif /* MCUF_CONVERT_H */
