/* test_dwconv_subbyte.c: mcuf_dwconv2d_s8w4 / _s8w2 (packed 4-/2-bit weights) give exactly the bytes of
 * mcuf_dwconv2d_s8 on the same integer weights, over depthwise and grouped shapes (odd channel counts,
 * 3x3 and 5x5, strides 1 and 2, with and without padding, channel multiplier 2), plus the weight and
 * scratch sizes and the error statuses. Weights are packed here by the layout mcuf_dwconv.h documents.
 * Standalone: prints "test_dwconv_subbyte: N failures" and exits non-zero on any failure. */
#include <stdio.h>
#include <string.h>

#include "mcuf_dwconv.h"
#include "mcuf_check.h"

static uint32_t rng_state = 12345u;
static int rnd(int lo, int hi) /* uniform in [lo, hi] */
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return lo + (int)((rng_state >> 8) % (uint32_t)(hi - lo + 1));
}

typedef struct {
    int C, H, W, OC, k, stride, pt, pl, pb, pr, group;
} shape;

static const shape SHAPES[] = {
    {5, 9, 7, 5, 3, 1, 1, 1, 1, 1, 5},   /* padded depthwise 3x3 (row-copy path), odd C */
    {7, 8, 8, 7, 3, 1, 0, 0, 0, 0, 7},   /* unpadded: direct interior path */
    {3, 9, 10, 3, 3, 2, 1, 1, 0, 1, 3},  /* stride 2, uneven padding */
    {5, 11, 9, 5, 5, 1, 2, 2, 2, 2, 5},  /* 5x5 padded: border path */
    {3, 12, 11, 3, 5, 2, 2, 1, 2, 2, 3}, /* 5x5 stride 2 */
    {3, 7, 6, 6, 3, 2, 1, 1, 0, 1, 3},   /* channel multiplier 2 */
    {6, 6, 7, 9, 3, 1, 0, 1, 0, 1, 3},   /* grouped: 2 input channels a group */
    {1, 40, 3, 1, 3, 1, 1, 1, 1, 1, 1},  /* one channel, longer than a 32-output run (vertical) */
};

#define MAX_X (16 * 16 * 16)
#define MAX_W (16 * 4 * 25)
#define MAX_OUT (16 * 16 * 16)
#define MAX_SCRATCH 256

static int8_t x[MAX_X], w[MAX_W], ref[MAX_OUT], got[MAX_OUT];
static uint8_t wp[MAX_W];
static int8_t scratch[MAX_SCRATCH];
static int32_t bias[16], mult[16], shift[16];

static size_t pack(const int8_t *v, size_t n, int bits, uint8_t *dst)
{
    const size_t bytes = (n * (size_t)bits + 7) / 8;
    memset(dst, 0, bytes);
    for (size_t k = 0; k < n; k++)
        dst[k * bits / 8] |= (uint8_t)(((unsigned)v[k] & ((1u << bits) - 1u)) << (k * bits % 8));
    return bytes;
}

static void run_shape(const shape *s, int bits)
{
    const int OH = (s->H + s->pt + s->pb - s->k) / s->stride + 1, OW = (s->W + s->pl + s->pr - s->k) / s->stride + 1;
    const int taps = s->C / s->group * s->k * s->k;
    const size_t nw = (size_t)s->OC * taps, nout = (size_t)s->OC * OH * OW;
    const int wlo = bits == 4 ? -8 : -2, whi = bits == 4 ? 7 : 1;
    for (int i = 0; i < s->C * s->H * s->W; i++) x[i] = (int8_t)rnd(-128, 127);
    for (size_t i = 0; i < nw; i++) w[i] = (int8_t)rnd(wlo, whi);
    for (int i = 0; i < s->OC; i++) {
        bias[i] = rnd(-2000, 2000);
        mult[i] = (INT32_C(1) << 30) + rnd(0, 1 << 20);
        shift[i] = rnd(-6, 0);
    }
    mcuf_conv2d_s8_params p = {0};
    p.C = s->C, p.H = s->H, p.W = s->W, p.OC = s->OC, p.OH = OH, p.OW = OW, p.kh = s->k, p.kw = s->k;
    p.stride_h = s->stride, p.stride_w = s->stride, p.pad_top = s->pt, p.pad_left = s->pl, p.pad_bottom = s->pb,
    p.pad_right = s->pr, p.group = s->group, p.in_zp = rnd(-20, 20), p.out_zp = rnd(-10, 10), p.act_min = -128,
    p.act_max = 127, p.multiplier = mult, p.shift = shift;

    const size_t n8 = mcuf_dwconv2d_s8_scratch_size(&p);
    CHECK(n8 <= MAX_SCRATCH, "int8 scratch %u", (unsigned)n8);
    CHECK(mcuf_dwconv2d_s8(&p, x, w, bias, ref, n8 ? scratch : NULL) == MCUF_OK, "int8 status");

    const size_t bytes = pack(w, nw, bits, wp);
    const size_t wsize = bits == 4 ? mcuf_dwconv2d_s8w4_weight_size(&p) : mcuf_dwconv2d_s8w2_weight_size(&p);
    CHECK(wsize == bytes, "weight size %u, want %u", (unsigned)wsize, (unsigned)bytes);
    const size_t ns = bits == 4 ? mcuf_dwconv2d_s8w4_scratch_size(&p) : mcuf_dwconv2d_s8w2_scratch_size(&p);
    CHECK(ns == (size_t)taps + n8 && ns <= MAX_SCRATCH, "scratch %u, want %u", (unsigned)ns, (unsigned)(taps + n8));
    memset(got, 0x5a, sizeof got);
    const mcuf_status st = bits == 4 ? mcuf_dwconv2d_s8w4(&p, x, wp, bias, got, scratch)
                                     : mcuf_dwconv2d_s8w2(&p, x, wp, bias, got, scratch);
    CHECK(st == MCUF_OK, "s8w%d status %d", bits, (int)st);
    int diff = 0;
    for (size_t i = 0; i < nout; i++) diff += got[i] != ref[i];
    CHECK(diff == 0, "s8w%d C%d k%d s%d g%d: %d of %u outputs differ", bits, s->C, s->k, s->stride, s->group, diff,
          (unsigned)nout);
    CHECK((uint8_t)got[nout] == 0x5a, "s8w%d wrote past the output", bits);
    if (bits == 4) {
        CHECK(mcuf_dwconv2d_s8w4(&p, x, wp, bias, got, NULL) == MCUF_ERR_SCRATCH, "missing scratch");
        CHECK(mcuf_dwconv2d_s8w4(&p, x, NULL, bias, got, scratch) == MCUF_ERR_ARG, "NULL weights");
        CHECK(mcuf_dwconv2d_s8w4(NULL, x, wp, bias, got, scratch) == MCUF_ERR_ARG, "NULL params");
    }
}

int main(void)
{
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++) {
        run_shape(&SHAPES[i], 4);
        run_shape(&SHAPES[i], 2);
    }
    CHECK(mcuf_dwconv2d_s8w4_weight_size(NULL) == 0 && mcuf_dwconv2d_s8w2_scratch_size(NULL) == 0, "NULL sizes");
    printf("test_dwconv_subbyte: %d failures\n", failures);
    return failures != 0;
}
