/* test_s8.c: the int8 kernels on small hand-computed cases (values worked out in the comments),
 * including ties of the half-to-even rounding, zero-point padding and the error statuses.
 * Standalone: prints "test_s8: N failures" and exits non-zero on any failure. */
#include <stdio.h>

#include "mcuf_binary.h"
#include "mcuf_conv.h"
#include "mcuf_dwconv.h"
#include "mcuf_linear.h"
#include "mcuf_pool.h"
#include "mcuf_requant.h"
#include "mcuf_check.h"

#define HALF (INT32_C(1) << 30) /* multiplier 2^30 with shift s: factor 2^(s-1) */

typedef struct {
    int32_t acc, mult, shift, zp, lo, hi;
    int expected;
} requant_case;

/* factor 0.5 (shift 0), 0.25 (shift -1), 1.0 (shift 1), 2^-20 (shift -19) */
static const requant_case REQUANT[] = {
    {5, HALF, 0, 0, -128, 127, 2},         /* 2.5 -> 2 (tie to even) */
    {7, HALF, 0, 0, -128, 127, 4},         /* 3.5 -> 4 */
    {-5, HALF, 0, 0, -128, 127, -2},       /* -2.5 -> -2 */
    {-7, HALF, 0, 0, -128, 127, -4},       /* -3.5 -> -4 */
    {6, HALF, -1, 0, -128, 127, 2},        /* 1.5 -> 2 */
    {10, HALF, -1, 0, -128, 127, 2},       /* 2.5 -> 2 */
    {11, HALF, -1, 0, -128, 127, 3},       /* 2.75 -> 3 */
    {-6, HALF, -1, 0, -128, 127, -2},      /* -1.5 -> -2 */
    {10, HALF, -1, 3, -128, 127, 5},       /* 2.5 -> 2, + zero point 3 */
    {1000, HALF, 0, 0, -128, 127, 127},    /* 500 saturates */
    {-1000, HALF, 0, 0, -128, 127, -128},
    {-30, HALF, 1, 4, 4, 127, 4},          /* -30 + 4 clamped at act_min 4 (fused Relu) */
    {3 << 20, HALF, -19, 0, -128, 127, 3}, /* 3 * 2^20 * 2^-20 = 3 */
    {5 << 19, HALF, -19, 0, -128, 127, 2}, /* 2.5 -> 2 */
    {7 << 19, HALF, -19, 0, -128, 127, 4}, /* 3.5 -> 4 */
};

static void test_requantize(void)
{
    for (size_t i = 0; i < sizeof REQUANT / sizeof REQUANT[0]; i++) {
        const requant_case *c = &REQUANT[i];
        int8_t out = 0;
        mcuf_status st = mcuf_requantize_s8(1, &c->acc, c->mult, c->shift, c->zp, (int8_t)c->lo, (int8_t)c->hi, &out);
        CHECK(st == MCUF_OK && out == c->expected, "requant case %d: got %d want %d", (int)i, out, c->expected);
    }
    int8_t o;
    CHECK(mcuf_requantize_s8(1, NULL, HALF, 0, 0, -128, 127, &o) == MCUF_ERR_ARG, "NULL acc");
    CHECK(mcuf_requantize_s8(0, NULL, HALF, 31, 0, -128, 127, &o) == MCUF_ERR_ARG, "shift 31 out of range");
}

static const int32_t MULT_ONE[4] = {HALF, HALF, HALF, HALF}; /* with SHIFT_ONE: factor 1.0 */
static const int32_t SHIFT_ONE[4] = {1, 1, 1, 1};

static void test_conv(void)
{
    /* 1x1, 2 -> 1 channels: out = x0 - x1 per pixel. Packed weights: one block [K = 2][4]. */
    const int8_t x[8] = {10, 20, -30, 40, /* channel 0 */ 1, 2, 3, 4};
    const int8_t w_packed[8] = {1, 0, 0, 0, -1, 0, 0, 0};
    const mcuf_conv2d_s8_params p1 = {2, 2, 2, 1, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, -128, 127, MULT_ONE, SHIFT_ONE};
    int8_t out[4] = {0};
    CHECK(mcuf_conv2d_s8_scratch_size(&p1) == 0, "1x1 needs no scratch");
    CHECK(mcuf_conv2d_s8(&p1, x, w_packed, NULL, out, NULL) == MCUF_OK, "1x1 status");
    const int8_t want1[4] = {9, 18, -33, 36};
    for (int i = 0; i < 4; i++) CHECK(out[i] == want1[i], "1x1 out[%d] = %d, want %d", i, out[i], want1[i]);

    /* 3x3, pad 1 on a 2x2 input with in_zp = 2: every window covers the 4 inputs and 5 pad cells
     * (value 2 = real 0). Weights all 1, folded bias' = 0 - 2 * 9 = -18:
     * acc = (3 + 4 + 5 + 6) + 5 * 2 - 18 = 10 = sum of (x - zp). */
    const int8_t x2[4] = {3, 4, 5, 6};
    int8_t w9[36] = {0};
    for (int k = 0; k < 9; k++) w9[k * 4] = 1; /* packed: channel 0 of the block */
    const int32_t bias[1] = {-18};
    const mcuf_conv2d_s8_params p2 = {1, 2, 2, 1, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 2, 0, -128, 127, MULT_ONE, SHIFT_ONE};
    int8_t scratch[64];
    CHECK(mcuf_conv2d_s8_scratch_size(&p2) == 36, "3x3 scratch 4 * 9");
    CHECK(mcuf_conv2d_s8(&p2, x2, w9, bias, out, scratch) == MCUF_OK, "3x3 status");
    for (int i = 0; i < 4; i++) CHECK(out[i] == 10, "3x3 out[%d] = %d, want 10", i, out[i]);
    CHECK(mcuf_conv2d_s8(&p2, x2, w9, bias, out, NULL) == MCUF_ERR_SCRATCH, "missing scratch");
    CHECK(mcuf_conv2d_s8(NULL, x2, w9, bias, out, scratch) == MCUF_ERR_ARG, "NULL params");

    CHECK(mcuf_conv2d_s8w4_scratch_size(&p2) == 36 && mcuf_conv2d_s8w2_scratch_size(&p2) == 36, "sub-byte scratch");

    /* The same layer as a depthwise conv (group 1 = C = OC, ONNX weight layout): padded 3x3 reads
     * through 3 padded rows of W + 2 in scratch. */
    const int8_t w_dw[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK(mcuf_dwconv2d_s8_scratch_size(&p2) == 12, "dw scratch 3 * (2 + 1 + 1)");
    CHECK(mcuf_dwconv2d_s8(&p2, x2, w_dw, bias, out, scratch) == MCUF_OK, "dw status");
    for (int i = 0; i < 4; i++) CHECK(out[i] == 10, "dw out[%d] = %d, want 10", i, out[i]);
    CHECK(mcuf_dwconv2d_s8(&p2, x2, w_dw, bias, out, NULL) == MCUF_ERR_SCRATCH, "dw missing scratch");
    CHECK(mcuf_dwconv2d_s8_scratch_size(&p1) == 0, "unpadded: no scratch");

    mcuf_conv2d_s8_params bad = p2;
    bad.OH = 3;
    CHECK(mcuf_conv2d_s8(&bad, x2, w9, bias, out, scratch) == MCUF_ERR_SHAPE, "OH inconsistent");
}

static void test_linear(void)
{
    /* W = [[1, 2, 3], [-1, 0, 1]], x = [1, 1, 1], bias [10, 0] -> [16, 0] */
    const int8_t x[3] = {1, 1, 1};
    const int8_t w[6] = {1, 2, 3, -1, 0, 1};
    const int8_t w_packed[12] = {1, -1, 0, 0, 2, 0, 0, 0, 3, 1, 0, 0};
    const int32_t bias[2] = {10, 0};
    const mcuf_linear_s8_params p = {1, 3, 2, 0, -128, 127, MULT_ONE, SHIFT_ONE};
    int8_t out[2] = {0};
    CHECK(mcuf_linear_s8(&p, x, w, bias, out) == MCUF_OK && out[0] == 16 && out[1] == 0, "linear: %d %d", out[0], out[1]);
    out[0] = out[1] = 0;
    CHECK(mcuf_linear_s8_packed_weight_size(&p) == 12, "packed linear weight size");
    CHECK(mcuf_linear_s8_packed(&p, x, w_packed, bias, out) == MCUF_OK && out[0] == 16 && out[1] == 0,
          "linear packed: %d %d", out[0], out[1]);
    CHECK(mcuf_linear_s8(&p, x, NULL, bias, out) == MCUF_ERR_ARG, "NULL weights");
}

static void test_binary_and_pools(void)
{
    /* Add with both factors 0.5 on shift 0: (10 + 20) / 2 = 15; (11 + 20) / 2 = 15.5 -> 16. */
    const int8_t a[2] = {10, 11}, b[2] = {20, 20};
    const mcuf_binary_s8_params pa = {1, 2, MCUF_BCAST_NONE, 0, 0, 0, HALF, HALF, 0, -128, 127};
    int8_t out[4];
    CHECK(mcuf_add_s8(&pa, a, b, out) == MCUF_OK && out[0] == 15 && out[1] == 16, "add: %d %d", out[0], out[1]);
    /* Mul, factor 0.25, b scalar with zero point 1: (10 * 19) / 4 = 47.5 -> 48; 11 * 19 / 4 = 52.25 -> 52. */
    const mcuf_binary_s8_params pm = {1, 2, MCUF_BCAST_SCALAR, 0, 1, 0, HALF, 0, -1, -128, 127};
    CHECK(mcuf_mul_s8(&pm, a, b, out) == MCUF_OK && out[0] == 48 && out[1] == 52, "mul: %d %d", out[0], out[1]);

    /* 2x2 max pool of a 2x2 plane, and the average (factor table for divisors 1..4). */
    const int8_t x[4] = {1, 5, 2, 0};
    const int32_t m4[4] = {HALF, HALF, HALF, HALF}, s4[4] = {1, 0, 0, -1}; /* 1, 1/2, (unused), 1/4 */
    const mcuf_pool2d_s8_params pp = {1, 2, 2, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, -128, 127, m4, s4};
    CHECK(mcuf_maxpool2d_s8(&pp, x, out) == MCUF_OK && out[0] == 5, "maxpool %d", out[0]);
    CHECK(mcuf_avgpool2d_s8(&pp, x, out) == MCUF_OK && out[0] == 2, "avgpool %d (8/4 = 2)", out[0]);

    /* Global average: (1 + 2 + 3 + 4) / 4 = 2.5 -> 2. */
    const int8_t g[4] = {1, 2, 3, 4};
    const mcuf_global_avgpool_s8_params pg = {1, 4, 0, 0, HALF, -1, -128, 127};
    CHECK(mcuf_global_avgpool_s8(&pg, g, out) == MCUF_OK && out[0] == 2, "global avgpool %d", out[0]);
}

int main(void)
{
    test_requantize();
    test_conv();
    test_linear();
    test_binary_and_pools();
    printf("test_s8: %d failures\n", failures);
    return failures ? 1 : 0;
}
