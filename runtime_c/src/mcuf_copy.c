/* mcuf_copy.c: data movement: dense and 4-D strided copies, constant Pad (dtype-agnostic loops, exact).
 * Semantics: mcuf_copy.h. */
#include "mcuf_copy.h"
#include "mcuf_copy_run.h"

mcuf_status mcuf_copy_f32(int n, const float *restrict in, float *restrict out)
{
    if (n < 0 || (n > 0 && (!in || !out)))
        return MCUF_ERR_ARG;
    (void)mcuf_copy_run_f32(out, in, n); /* not memcpy: see mcuf_copy_run.h */
    return MCUF_OK;
}

/* ------------------------------------------------------------------------------------------- copies */

static mcuf_status copy4d_check(const mcuf_copy4d_params *p, const void *in, const void *out)
{
    if (!p || !in || !out) return MCUF_ERR_ARG;
    for (int k = 0; k < 4; k++)
        if (p->dims[k] < 1 || p->in_stride[k] < 0 || p->out_stride[k] < 0) return MCUF_ERR_ARG;
    return MCUF_OK;
}

#define DEFINE_COPY4D(NAME, T)                                                                           \
    mcuf_status NAME(const mcuf_copy4d_params *p, const T *restrict in, T *restrict out)                 \
    {                                                                                                    \
        mcuf_status st = copy4d_check(p, in, out);                                                       \
        if (st != MCUF_OK) return st;                                                                    \
        const int d3 = p->dims[3], is3 = p->in_stride[3], os3 = p->out_stride[3];                        \
        for (int i0 = 0; i0 < p->dims[0]; i0++)                                                          \
            for (int i1 = 0; i1 < p->dims[1]; i1++)                                                      \
                for (int i2 = 0; i2 < p->dims[2]; i2++) {                                                \
                    const T *s = in + (size_t)i0 * p->in_stride[0] + (size_t)i1 * p->in_stride[1] +      \
                                 (size_t)i2 * p->in_stride[2];                                           \
                    T *d = out + (size_t)i0 * p->out_stride[0] + (size_t)i1 * p->out_stride[1] +         \
                           (size_t)i2 * p->out_stride[2];                                                \
                    if (is3 == 1 && os3 == 1) {                                                          \
                        for (int i = 0; i < d3; i++) d[i] = s[i];                                        \
                    } else {                                                                             \
                        for (int i = 0; i < d3; i++) d[(size_t)i * os3] = s[(size_t)i * is3];            \
                    }                                                                                    \
                }                                                                                        \
        return MCUF_OK;                                                                                  \
    }

DEFINE_COPY4D(mcuf_copy4d_s8, int8_t)
DEFINE_COPY4D(mcuf_copy4d_f16, mcuf_f16)
DEFINE_COPY4D(mcuf_copy4d_f32, float)

/* ---------------------------------------------------------------------------------------------- pad */

static mcuf_status pad_check(const mcuf_pad_params *p, const void *in, const void *out, int od[4])
{
    if (!p || !in || !out) return MCUF_ERR_ARG;
    for (int k = 0; k < 4; k++) {
        if (p->in_dims[k] < 1) return MCUF_ERR_ARG;
        od[k] = p->in_dims[k] + p->pad_begin[k] + p->pad_end[k];
        if (od[k] < 1) return MCUF_ERR_SHAPE;
    }
    return MCUF_OK;
}

/* Output rows (last dimension) are: `value` before and after the window [c0, c1) that copies input
 * columns from c0 - pad_begin[3]; rows whose outer indices fall outside the input are all `value`. */
#define DEFINE_PAD(NAME, T, VALUE_OK)                                                                    \
    mcuf_status NAME(const mcuf_pad_params *p, const T *restrict in, T *restrict out)                    \
    {                                                                                                    \
        int od[4];                                                                                       \
        mcuf_status st = pad_check(p, in, out, od);                                                      \
        if (st != MCUF_OK) return st;                                                                    \
        if (!(VALUE_OK)) return MCUF_ERR_ARG;                                                            \
        const T v = (T)p->value;                                                                         \
        const int *id = p->in_dims, *b = p->pad_begin;                                                   \
        int c0 = b[3] > 0 ? b[3] : 0, c1 = id[3] + b[3] < od[3] ? id[3] + b[3] : od[3];                  \
        if (c1 < c0) c1 = c0;                                                                            \
        T *o = out;                                                                                      \
        for (int i0 = 0; i0 < od[0]; i0++)                                                               \
            for (int i1 = 0; i1 < od[1]; i1++)                                                           \
                for (int i2 = 0; i2 < od[2]; i2++, o += od[3]) {                                         \
                    const int j0 = i0 - b[0], j1 = i1 - b[1], j2 = i2 - b[2];                            \
                    if (j0 < 0 || j0 >= id[0] || j1 < 0 || j1 >= id[1] || j2 < 0 || j2 >= id[2]) {       \
                        for (int i = 0; i < od[3]; i++) o[i] = v;                                        \
                        continue;                                                                        \
                    }                                                                                    \
                    const T *s = in + (((size_t)j0 * id[1] + j1) * id[2] + j2) * id[3];                  \
                    for (int i = 0; i < c0; i++) o[i] = v;                                               \
                    for (int i = c0; i < c1; i++) o[i] = s[i - b[3]];                                    \
                    for (int i = c1; i < od[3]; i++) o[i] = v;                                           \
                }                                                                                        \
        return MCUF_OK;                                                                                  \
    }

DEFINE_PAD(mcuf_pad_s8, int8_t, p->value >= -128.0f && p->value <= 127.0f && p->value == (float)(int)p->value)
DEFINE_PAD(mcuf_pad_f16, mcuf_f16, 1)
DEFINE_PAD(mcuf_pad_f32, float, 1)
