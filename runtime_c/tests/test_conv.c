/* test_conv.c: standalone test of conv2d (im2col + matmul, col2im), pointwise conv and the direct 3x3
 * conv, FP16 and FP32 (the int8 conv: test_s8.c): hand-computed small cases (integers, exact in FP16) for forward, input gradient, weight and
 * bias gradient, stride, padding, gradient accumulation, and the argument / scratch errors.
 * Returns the number of failures (0: pass). */
#include <stdio.h>
#include <string.h>

#include "mcuf_conv.h"
#include "mcuf_check.h"

#define MAXN 16

typedef struct {
    const char *name;
    mcuf_conv2d_params p;
    float x[MAXN], w[MAXN], b[MAXN], dy[MAXN];
    float out[MAXN], dx[MAXN], dw[MAXN], db[MAXN];
} conv_case;

/* Hand-computed: x = 1..9 as [1,3,3]; w = [[1,0],[0,1]] (2x2); out[i,j] = x[i,j] + x[i+1,j+1];
 * dy = ones -> dx counts how many windows use each pixel through the 1s of w; dw[ky,kx] = sum of the
 * 2x2 block of x at (ky,kx); db = 4. */
static const conv_case CASES[] = {
    {"2x2 kernel, no padding",
     {1, 3, 3, 1, 2, 2, 1, 1, 0, 0, 2, 2, MCUF_ACC_F16, 0},
     {1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 0, 0, 1}, {0.5f}, {1, 1, 1, 1},
     {6.5f, 8.5f, 12.5f, 14.5f}, {1, 1, 0, 1, 2, 1, 0, 1, 1}, {12, 16, 24, 28}, {4}},
    /* x = [[1,2],[3,4]], 3x3 ones, pad 1: every output sees all four pixels -> 10; dy = [1,2,3,4]:
     * every pixel is in every window -> dx = 10; dw[ky,kx] = sum_o dy[o] * x[o + (ky,kx) - 1]. */
    {"3x3 kernel, pad 1",
     {1, 2, 2, 1, 3, 3, 1, 1, 1, 1, 2, 2, MCUF_ACC_F32, 0},
     {1, 2, 3, 4}, {1, 1, 1, 1, 1, 1, 1, 1, 1}, {0}, {1, 2, 3, 4},
     {10, 10, 10, 10}, {10, 10, 10, 10}, {4, 11, 6, 14, 30, 14, 6, 11, 4}, {10}},
    /* 1x1 kernel (weight 2), stride 2 on 3x3: out = 2 * x at (0,0),(0,2),(2,0),(2,2), dw = 1+3+7+9; im2col path. */
    {"1x1 kernel, stride 2",
     {1, 3, 3, 1, 1, 1, 2, 2, 0, 0, 2, 2, MCUF_ACC_F16, 0},
     {1, 2, 3, 4, 5, 6, 7, 8, 9}, {2}, {0}, {1, 1, 1, 1},
     {2, 6, 14, 18}, {2, 0, 2, 0, 0, 0, 2, 0, 2}, {20}, {4}},
    /* Pointwise path (1x1, stride 1): two input channels, two output channels, 2 pixels.
     * w = [[1,2],[3,4]], x = [[1,2],[3,4]] -> out = w.x = [[7,10],[15,22]] + b [1,-1]. */
    {"pointwise path",
     {2, 1, 2, 2, 1, 1, 1, 1, 0, 0, 1, 2, MCUF_ACC_F32, 0},
     {1, 2, 3, 4}, {1, 2, 3, 4}, {1, -1}, {1, 0, 0, 1},
     {8, 11, 14, 21}, {1, 3, 2, 4}, {1, 3, 2, 4}, {1, 1}},
    /* Gradient accumulation: the 2x2 case with dW/db starting at w/b (accumulate_grad = 1). */
    {"2x2 kernel, accumulate_grad",
     {1, 3, 3, 1, 2, 2, 1, 1, 0, 0, 2, 2, MCUF_ACC_F16, 1},
     {1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 0, 0, 1}, {0.5f}, {1, 1, 1, 1},
     {6.5f, 8.5f, 12.5f, 14.5f}, {1, 1, 0, 1, 2, 1, 0, 1, 1}, {13, 16, 24, 29}, {4.5f}},
};

static int n_of(int a, int b, int c) { return a * b * c; }

static void conv_cases(void)
{
    static uint64_t scratch[256];
    for (size_t t = 0; t < sizeof CASES / sizeof CASES[0]; t++) {
        const conv_case *c = &CASES[t];
        const mcuf_conv2d_params *p = &c->p;
        const int nx = n_of(p->C, p->H, p->W), nw = n_of(p->OC, p->C, p->kh * p->kw);
        const int no = n_of(p->OC, p->OH, p->OW);
        /* FP32 */
        {
            float out[MAXN], dx[MAXN], dw[MAXN], db[MAXN];
            size_t sb = mcuf_conv2d_f32_scratch_size(p), gb = mcuf_conv2d_grad_input_f32_scratch_size(p);
            memcpy(dw, c->w, sizeof dw);
            memcpy(db, c->b, sizeof db);
            CHECK(mcuf_conv2d_f32(p, c->x, c->w, c->b, out, scratch, sb) == MCUF_OK, "%s f32 fwd", c->name);
            CHECK(mcuf_conv2d_grad_input_f32(p, c->dy, c->w, dx, scratch, gb) == MCUF_OK, "%s f32 gin", c->name);
            CHECK(mcuf_conv2d_grad_weight_f32(p, c->x, c->dy, dw, db, scratch, sb) == MCUF_OK, "%s f32 gw", c->name);
            for (int i = 0; i < no; i++) CHECK(out[i] == c->out[i], "%s f32 out[%d] = %g", c->name, i, (double)out[i]);
            for (int i = 0; i < nx; i++) CHECK(dx[i] == c->dx[i], "%s f32 dx[%d] = %g", c->name, i, (double)dx[i]);
            for (int i = 0; i < nw; i++) CHECK(dw[i] == c->dw[i], "%s f32 dw[%d] = %g", c->name, i, (double)dw[i]);
            for (int i = 0; i < p->OC; i++) CHECK(db[i] == c->db[i], "%s f32 db[%d] = %g", c->name, i, (double)db[i]);
        }
        /* FP16 */
        {
            mcuf_f16 x[MAXN], w[MAXN], b[MAXN], dy[MAXN], out[MAXN], dx[MAXN], dw[MAXN], db[MAXN];
            for (int i = 0; i < MAXN; i++) {
                x[i] = (mcuf_f16)c->x[i], w[i] = (mcuf_f16)c->w[i], b[i] = (mcuf_f16)c->b[i];
                dy[i] = (mcuf_f16)c->dy[i], dw[i] = w[i], db[i] = b[i];
            }
            size_t sb = mcuf_conv2d_f16_scratch_size(p), gb = mcuf_conv2d_grad_input_f16_scratch_size(p);
            CHECK(mcuf_conv2d_f16(p, x, w, b, out, scratch, sb) == MCUF_OK, "%s f16 fwd", c->name);
            CHECK(mcuf_conv2d_grad_input_f16(p, dy, w, dx, scratch, gb) == MCUF_OK, "%s f16 gin", c->name);
            CHECK(mcuf_conv2d_grad_weight_f16(p, x, dy, dw, db, scratch, sb) == MCUF_OK, "%s f16 gw", c->name);
            for (int i = 0; i < no; i++) CHECK((float)out[i] == c->out[i], "%s f16 out[%d]", c->name, i);
            for (int i = 0; i < nx; i++) CHECK((float)dx[i] == c->dx[i], "%s f16 dx[%d]", c->name, i);
            for (int i = 0; i < nw; i++) CHECK((float)dw[i] == c->dw[i], "%s f16 dw[%d]", c->name, i);
            for (int i = 0; i < p->OC; i++) CHECK((float)db[i] == c->db[i], "%s f16 db[%d]", c->name, i);
        }
    }
}

/* Pointwise functions against the conv2d pointwise path of the same case. */
static void pointwise_case(void)
{
    const mcuf_pointwise_params p = {2, 2, 2, MCUF_ACC_F32, 0};
    const conv_case *c = &CASES[3];
    float out[4], dx[4], dw[4], db[2];
    CHECK(mcuf_pointwise_f32(&p, c->x, c->w, c->b, out) == MCUF_OK, "pointwise fwd");
    CHECK(mcuf_pointwise_grad_input_f32(&p, c->dy, c->w, dx) == MCUF_OK, "pointwise gin");
    CHECK(mcuf_pointwise_grad_weight_f32(&p, c->x, c->dy, dw, db) == MCUF_OK, "pointwise gw");
    for (int i = 0; i < 4; i++) CHECK(out[i] == c->out[i] && dx[i] == c->dx[i] && dw[i] == c->dw[i], "pointwise [%d]", i);
    CHECK(db[0] == 1 && db[1] == 1, "pointwise db");
}

static void errors(void)
{
    const mcuf_conv2d_params p = CASES[0].p;
    mcuf_conv2d_params bad = p;
    bad.stride_w = 0;
    float x[MAXN] = {0}, out[MAXN];
    uint64_t scratch[64];
    const size_t sb = mcuf_conv2d_f32_scratch_size(&p);
    const size_t gb = mcuf_conv2d_grad_input_f32_scratch_size(&p);
    CHECK(sb == 4 * 4 * sizeof(float), "scratch size %u", (unsigned)sb); /* im2col [4, 4] */
    CHECK(mcuf_conv2d_grad_weight_f32_scratch_size(&p) == sb, "grad weight scratch size");
    /* stride 1: flipped weights [1, 4] + im2col of dout [4, 9] */
    CHECK(gb == (4 + 4 * 9) * sizeof(float), "grad input scratch size %u", (unsigned)gb);
    CHECK(mcuf_conv2d_f32(&p, x, x, NULL, out, NULL, sb) == MCUF_ERR_SCRATCH, "NULL scratch");
    /* The forward pass runs in bands: one output row needs im2col [4, 2] + staging [1, 2]. */
    const size_t mb = mcuf_conv2d_f32_min_scratch_size(&p);
    CHECK(mb == (4 + 1) * 2 * sizeof(float), "min scratch size %u", (unsigned)mb);
    CHECK(mcuf_conv2d_f32(&p, x, x, NULL, out, scratch, mb - 1) == MCUF_ERR_SCRATCH, "small scratch");
    {
        float full[4], band[4];
        const conv_case *c = &CASES[0];
        CHECK(mcuf_conv2d_f32(&p, c->x, c->w, c->b, full, scratch, sb) == MCUF_OK, "full scratch");
        CHECK(mcuf_conv2d_f32(&p, c->x, c->w, c->b, band, scratch, mb) == MCUF_OK, "one-row bands");
        for (int i = 0; i < 4; i++) CHECK(band[i] == full[i] && band[i] == c->out[i], "banded out[%d]", i);
    }
    CHECK(mcuf_conv2d_grad_input_f32(&p, x, x, out, NULL, gb) == MCUF_ERR_SCRATCH, "gin NULL scratch");
    CHECK(mcuf_conv2d_grad_input_f32(&p, x, x, out, scratch, gb - 4) == MCUF_ERR_SCRATCH, "gin small scratch");
    CHECK(mcuf_conv2d_grad_weight_f32(&p, x, x, out, NULL, scratch, 0) == MCUF_ERR_SCRATCH, "gw small scratch");
    CHECK(mcuf_conv2d_f32(&bad, x, x, NULL, out, scratch, sb) == MCUF_ERR_ARG, "stride 0");
    CHECK(mcuf_conv2d_f32_scratch_size(&bad) == 0, "scratch size of bad params");
    CHECK(mcuf_conv2d_f32(&p, NULL, x, NULL, out, scratch, sb) == MCUF_ERR_ARG, "NULL input");
    CHECK(mcuf_conv2d_f32(NULL, x, x, NULL, out, scratch, sb) == MCUF_ERR_ARG, "NULL params");
    CHECK(mcuf_conv2d_grad_weight_f32(&p, x, x, NULL, NULL, scratch, sb) == MCUF_ERR_ARG, "NULL dw");
    const mcuf_pointwise_params pp = {2, 2, 0, MCUF_ACC_F32, 0};
    CHECK(mcuf_pointwise_f32(&pp, x, x, NULL, out) == MCUF_ERR_ARG, "pointwise HW 0");
}

/* Direct 3x3 conv, hand-computed: x = 1..20 as [1, 4, 5] (cin 1: the strip path is for wo >= 7, so
 * this runs the 2-channel blocks, the odd third channel paired with itself), pad 1. Channel 0 has
 * weight 1 at the centre (a copy of x), channel 1 weight 1 at the top-left tap (x shifted down-right,
 * zero at the top row and left column), channel 2 all ones (3x3 box sums), bias 0 / -5 / 0.
 * With Clip(0, 12) and the same input duplicated into 2 channels (x2: sums double), then no padding. */
typedef struct {
    const char *name;
    int cin, act;
    float lo, hi;
} conv3x3_case;

static float box3(const float *x, int h, int w, int r, int c)
{
    float s = 0;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++)
            if (r + dy >= 0 && r + dy < h && c + dx >= 0 && c + dx < w) s += x[(r + dy) * w + c + dx];
    return s;
}

static void conv3x3_cases(void)
{
    static const conv3x3_case CASES3[] = {
        {"3x3 direct, no activation", 1, 0, 0, 0},
        {"3x3 direct, relu", 1, 1, 0, 0},
        {"3x3 direct, clip 0..12, two input channels", 2, 2, 0, 12},
    };
    float x[40], w[3 * 2 * 9] = {0}, b[3] = {0, -5, 0}, y[3 * 20 + 1], scratch[2 * 6 * 7];
    for (int i = 0; i < 20; i++) x[i] = x[20 + i] = (float)(i + 1);
    for (size_t k = 0; k < sizeof CASES3 / sizeof CASES3[0]; k++) {
        const conv3x3_case *c = &CASES3[k];
        memset(w, 0, sizeof w);
        for (int ci = 0; ci < c->cin; ci++) {
            w[(0 * c->cin + ci) * 9 + 4] = 1;
            w[(1 * c->cin + ci) * 9 + 0] = 1;
            for (int t = 0; t < 9; t++) w[(2 * c->cin + ci) * 9 + t] = 1;
        }
        const mcuf_conv2d_3x3_params p = {c->cin, 4, 5, 3, 1, 1, 4, 5, c->act, c->lo, c->hi};
        CHECK(mcuf_conv2d_f32_3x3_scratch_size(&p) == sizeof(float) * (size_t)c->cin * 6 * 7, "%s: scratch size", c->name);
        float yb[3 * 20];
        const size_t smin = mcuf_conv2d_f32_3x3_min_scratch_size(&p);
        CHECK(smin == sizeof(float) * (size_t)c->cin * 3 * 7, "%s: min scratch size", c->name);
        CHECK(mcuf_conv2d_f32_3x3(&p, x, w, b, yb, scratch, smin) == MCUF_OK, "%s: banded status", c->name);
        y[60] = 12345;
        CHECK(mcuf_conv2d_f32_3x3(&p, x, w, b, y, scratch, sizeof scratch) == MCUF_OK, "%s: status", c->name);
        CHECK(memcmp(y, yb, sizeof yb) == 0, "%s: one-row bands differ from the whole padded input", c->name);
        CHECK(y[60] == 12345, "%s: wrote past the output", c->name);
        for (int r = 0; r < 4; r++)
            for (int q = 0; q < 5; q++) {
                const float k2 = (float)c->cin;
                float want[3] = {k2 * x[r * 5 + q], (r > 0 && q > 0 ? k2 * x[(r - 1) * 5 + q - 1] : 0) - 5,
                                 k2 * box3(x, 4, 5, r, q)};
                for (int o = 0; o < 3; o++) {
                    if (c->act == 1 && want[o] < 0) want[o] = 0;
                    if (c->act == 2) want[o] = want[o] < c->lo ? c->lo : want[o] > c->hi ? c->hi : want[o];
                    CHECK(y[o * 20 + r * 5 + q] == want[o], "%s: y[%d,%d,%d] = %g, want %g", c->name, o, r, q,
                          (double)y[o * 20 + r * 5 + q], (double)want[o]);
                }
            }
    }
    /* No padding: out [1, 2, 3] of the 4x5 input, read in place (NULL scratch); box sums. */
    const mcuf_conv2d_3x3_params q = {1, 4, 5, 1, 0, 0, 2, 3, 0, 0, 0};
    for (int t = 0; t < 9; t++) w[t] = 1;
    CHECK(mcuf_conv2d_f32_3x3_scratch_size(&q) == 0, "unpadded: scratch size");
    CHECK(mcuf_conv2d_f32_3x3(&q, x, w, NULL, y, NULL, 0) == MCUF_OK, "unpadded: status");
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 3; c++)
            CHECK(y[r * 3 + c] == box3(x, 4, 5, r + 1, c + 1), "unpadded: y[%d,%d] = %g", r, c, (double)y[r * 3 + c]);
    /* Errors: too little scratch, NULL scratch with padding, NULL input, pads beyond 2. */
    const mcuf_conv2d_3x3_params e = {1, 4, 5, 3, 1, 1, 4, 5, 0, 0, 0};
    CHECK(mcuf_conv2d_f32_3x3_min_scratch_size(&e) == 3 * 7 * sizeof(float), "min scratch: one output row");
    CHECK(mcuf_conv2d_f32_3x3(&e, x, w, b, y, scratch, 3 * 7 * sizeof(float) - 1) == MCUF_ERR_SCRATCH, "short scratch");
    CHECK(mcuf_conv2d_f32_3x3(&e, x, w, b, y, NULL, sizeof scratch) == MCUF_ERR_SCRATCH, "NULL scratch");
    CHECK(mcuf_conv2d_f32_3x3(&e, NULL, w, b, y, scratch, sizeof scratch) == MCUF_ERR_ARG, "NULL input");
    const mcuf_conv2d_3x3_params bad = {1, 4, 5, 3, 3, 1, 5, 5, 0, 0, 0};
    CHECK(mcuf_conv2d_f32_3x3(&bad, x, w, b, y, scratch, sizeof scratch) == MCUF_ERR_ARG, "pad 3");
}

int main(void)
{
    conv_cases();
    conv3x3_cases();
    pointwise_case();
    errors();
    printf("test_conv: %d failure(s)\n", failures);
    return failures != 0;
}
