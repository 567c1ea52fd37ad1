/* mcuf_copy.h: data movement, exact in every dtype (bits are moved, nothing is computed):
 *   mcuf_copy_f32    a dense copy (the fp32 model's edge copy);
 *   mcuf_copy4d_*    4-D strided copies (Transpose, Concat, Slice, Expand);
 *   mcuf_pad_*       constant-mode Pad.
 * Shapes are ONNX's with batch 1, in C order. Everything derivable (strides, offsets, output sizes) is
 * computed offline by the Python compiler. in and out must not overlap.
 * Errors: MCUF_ERR_ARG for NULL pointers, n < 0, a dimension < 1, a negative stride, an int8 pad value
 * that is not an int8; MCUF_ERR_SHAPE for inconsistent sizes. No scratch, no allocation, no state.
 */
#ifndef MCUF_COPY_H
#define MCUF_COPY_H

#include "mcuf_common.h"

/* out[i] = in[i] for i < n. */
mcuf_status mcuf_copy_f32(int n, const float *restrict in, float *restrict out);

/* ----------------------------------------------------------------------------------------------
 * 4-D strided copy: out[i0*os0 + ... + i3*os3] = in[i0*is0 + ... + i3*is3] over dims[0..3].
 *   Transpose (perm): dims = output dims, out_stride = the output's dense strides,
 *     in_stride[k] = the input's dense stride of axis perm[k].
 *   Concat along an axis: one call per input, dims and in_stride = that input's, out_stride = the
 *     output's dense strides, out pointer advanced by the input's offset along the axis.
 *   Slice / Pad interior: the same with offsets applied to the pointers.
 * Strides may be any values >= 0 (a 0 stride repeats: Expand).
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
    int dims[4];
    int in_stride[4];
    int out_stride[4];
} mcuf_copy4d_params;

mcuf_status mcuf_copy4d_s8(const mcuf_copy4d_params *p, const int8_t *restrict in, int8_t *restrict out);
mcuf_status mcuf_copy4d_f16(const mcuf_copy4d_params *p, const mcuf_f16 *restrict in, mcuf_f16 *restrict out);
mcuf_status mcuf_copy4d_f32(const mcuf_copy4d_params *p, const float *restrict in, float *restrict out);

/* ----------------------------------------------------------------------------------------------
 * Pad, constant mode, rank <= 4 (leading dims 1): out dims = in_dims + pad_begin + pad_end; a cell
 * whose index minus pad_begin lies inside the input copies it, every other cell is `value`. Negative
 * pads crop (ONNX allows them). For int8 tensors `value` is already quantized (normally the zero
 * point); for FP16 it is rounded to half.
 * ---------------------------------------------------------------------------------------------- */
typedef struct {
    int in_dims[4];     /* >= 1 */
    int pad_begin[4];   /* any sign; out dim = in + begin + end must be >= 1 */
    int pad_end[4];
    float value;
} mcuf_pad_params;

mcuf_status mcuf_pad_s8(const mcuf_pad_params *p, const int8_t *restrict in, int8_t *restrict out);
mcuf_status mcuf_pad_f16(const mcuf_pad_params *p, const mcuf_f16 *restrict in, mcuf_f16 *restrict out);
mcuf_status mcuf_pad_f32(const mcuf_pad_params *p, const float *restrict in, float *restrict out);

#endif /* MCUF_COPY_H */
