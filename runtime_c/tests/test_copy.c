/* test_copy.c: mcuf_copy_f32 (lengths around its unroll, bit-exact, guards untouched), mcuf_copy4d and
 * mcuf_pad on small hand-computed cases, and the argument errors. (The float and int8 copies against
 * onnx.reference: tests/host/test_eltwise_kernels.py.) */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mcuf_copy.h"

int main(void)
{
    int failures = 0;
    /* mcuf_copy_f32 copies 8 at a time plus a tail: lengths around the unroll, with guard elements
     * on both sides that must stay untouched, and the source bit-exact (NaN and -0 included). */
    static const int lengths[] = {0, 1, 7, 8, 9, 15, 16, 17, 33};
    for (size_t t = 0; t < sizeof lengths / sizeof lengths[0]; ++t) {
        const int len = lengths[t];
        float src[40], dst[42];
        for (int i = 0; i < 40; ++i)
            src[i] = (float)(i * 3 + 1) * (i % 2 ? -0.5f : 0.25f);
        src[0] = -0.0f;
        src[5] = NAN;
        for (int i = 0; i < 42; ++i)
            dst[i] = 1234.5f;
        if (mcuf_copy_f32(len, src, dst + 1) != MCUF_OK) {
            printf("FAIL copy %d: status\n", len);
            failures++;
        }
        if (memcmp(dst + 1, src, (size_t)len * sizeof(float)) != 0) {
            printf("FAIL copy %d: data differs\n", len);
            failures++;
        }
        if (dst[0] != 1234.5f || dst[len + 1] != 1234.5f) {
            printf("FAIL copy %d: wrote outside the destination\n", len);
            failures++;
        }
    }
    if (mcuf_copy_f32(-1, NULL, NULL) != MCUF_ERR_ARG || mcuf_copy_f32(2, NULL, NULL) != MCUF_ERR_ARG) {
        printf("FAIL copy: bad arguments not rejected\n");
        failures++;
    }
    /* copy4d as a 2x3 transpose: out[j, i] = in[i, j] */
    {
        const int8_t in[6] = {1, 2, 3, 4, 5, 6};
        int8_t out[6] = {0};
        const mcuf_copy4d_params p = {{1, 1, 3, 2}, {0, 0, 1, 3}, {0, 0, 2, 1}};
        const int8_t want[6] = {1, 4, 2, 5, 3, 6};
        if (mcuf_copy4d_s8(&p, in, out) != MCUF_OK || memcmp(out, want, sizeof want) != 0) {
            printf("FAIL copy4d transpose\n");
            failures++;
        }
        mcuf_copy4d_params bad = p;
        bad.dims[0] = 0;
        if (mcuf_copy4d_s8(&bad, in, out) != MCUF_ERR_ARG) {
            printf("FAIL copy4d: dimension 0 not rejected\n");
            failures++;
        }
    }
    /* pad [2] by one before and two after with 9: [9, a, b, 9, 9] */
    {
        const float in[2] = {1.5f, -2.0f};
        float out[5];
        const mcuf_pad_params p = {{1, 1, 1, 2}, {0, 0, 0, 1}, {0, 0, 0, 2}, 9.0f};
        const float want[5] = {9.0f, 1.5f, -2.0f, 9.0f, 9.0f};
        if (mcuf_pad_f32(&p, in, out) != MCUF_OK || memcmp(out, want, sizeof want) != 0) {
            printf("FAIL pad\n");
            failures++;
        }
        mcuf_pad_params crop = p;
        crop.pad_end[3] = -4; /* out dim 2 + 1 - 4 < 1 */
        if (mcuf_pad_f32(&crop, in, out) != MCUF_ERR_SHAPE) {
            printf("FAIL pad: empty output not rejected\n");
            failures++;
        }
    }
    printf("test_copy: %d failures\n", failures);
    return failures != 0;
}
