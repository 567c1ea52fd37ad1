/* bench_infer.c: benchmark driver for the FP32 inference kernels (direct 3x3 conv, 2x2 max pool, linear
 * at batch 1) and their general counterparts, one build per target.
 *
 * Reads a table of cases ("cases": int32 [n, 8]) and random FP32 pools ("x", "w", "b"); every case
 * reads a prefix of each pool. For case i it reports the kernel call's retired instructions as region
 * "case<i>", writes its output as "y_<i>" (u32 words, GUARD sentinels on both sides) and, at the end,
 * the scratch bytes each case was given as "scratch" (int32 [n]).
 *
 * Case row: kind, then per kind
 *   KIND_CONV3X3 / KIND_CONV  C, H, W, OC, pad (all four sides), act (3x3 only; 0 none, 1 relu)
 *   KIND_POOL2X2 / KIND_POOL  C, H, W, act (2x2 only)
 *   KIND_LINEAR               in_features, out_features (batch 1, bias)
 * The convs get their full scratch (whole padded input / whole im2col matrix), so these figures are
 * the unbanded ones.
 */
#include <stdint.h>
#include <stdio.h>

#include "mcuf_conv.h"
#include "mcuf_io.h"
#include "mcuf_linear.h"
#include "mcuf_pool.h"

#define MAX_CASES 64
#define NCOLS 8
#define MAX_ELEMS 20000
#define GUARD 8
#define SENTINEL 0x7FA5A5A5u
/* the im2col matrix of the ResNet-8 layer (144 x 1024 floats) is the largest scratch benchmarked */
#define SCRATCH_BYTES (640u * 1024u)

enum { KIND_CONV3X3 = 0, KIND_CONV = 1, KIND_POOL2X2 = 2, KIND_POOL = 3, KIND_LINEAR = 4 };

static int32_t cases[MAX_CASES * NCOLS];
static int32_t scratch_used[MAX_CASES];
static float x[MAX_ELEMS], w[MAX_ELEMS], b[MAX_ELEMS];
static uint32_t out[MAX_ELEMS + 2 * GUARD];
static uint64_t scratch[SCRATCH_BYTES / 8];

/* One call per case, timed alone; returns its status, the output length in *n_out (0 when the case
 * does not fit the driver's buffers) and the scratch it was given in *sbytes. */
static mcuf_status run_case(const int32_t *c, float *y, size_t *n_out, size_t *sbytes, uint64_t *count)
{
    mcuf_status st = MCUF_ERR_ARG;
    uint64_t t0 = 0, t1 = 0;
    *n_out = 0;
    *sbytes = 0;
    switch (c[0]) {
    case KIND_CONV3X3: {
        const int pad = c[5];
        const mcuf_conv2d_3x3_params p = {c[1], c[2], c[3], c[4], pad, pad, c[2] + 2 * pad - 2, c[3] + 2 * pad - 2,
                                          c[6], 0.0f, 0.0f};
        *n_out = (size_t)p.OC * p.OH * p.OW;
        *sbytes = mcuf_conv2d_f32_3x3_scratch_size(&p);
        if (*n_out > MAX_ELEMS || (size_t)p.C * p.H * p.W > MAX_ELEMS || (size_t)p.OC * p.C * 9 > MAX_ELEMS ||
            *sbytes > SCRATCH_BYTES)
            return MCUF_ERR_ARG;
        t0 = mcuf_io_instret();
        st = mcuf_conv2d_f32_3x3(&p, x, w, b, y, scratch, *sbytes);
        t1 = mcuf_io_instret();
        break;
    }
    case KIND_CONV: {
        const int pad = c[5];
        const mcuf_conv2d_params p = {c[1], c[2], c[3], c[4], 3, 3, 1, 1, pad, pad, c[2] + 2 * pad - 2,
                                      c[3] + 2 * pad - 2, MCUF_ACC_F32, 0};
        *n_out = (size_t)p.OC * p.OH * p.OW;
        *sbytes = mcuf_conv2d_f32_scratch_size(&p);
        if (*n_out > MAX_ELEMS || (size_t)p.C * p.H * p.W > MAX_ELEMS || (size_t)p.OC * p.C * 9 > MAX_ELEMS ||
            *sbytes > SCRATCH_BYTES)
            return MCUF_ERR_ARG;
        t0 = mcuf_io_instret();
        st = mcuf_conv2d_f32(&p, x, w, b, y, scratch, *sbytes);
        t1 = mcuf_io_instret();
        break;
    }
    case KIND_POOL2X2: {
        const mcuf_maxpool2d_2x2_params p = {c[1], c[2], c[3], c[2] / 2, c[3] / 2, c[4], 0.0f, 0.0f};
        *n_out = (size_t)p.C * p.OH * p.OW;
        if ((size_t)p.C * p.H * p.W > MAX_ELEMS) return MCUF_ERR_ARG;
        t0 = mcuf_io_instret();
        st = mcuf_maxpool2d_f32_2x2(&p, x, y);
        t1 = mcuf_io_instret();
        break;
    }
    case KIND_POOL: {
        const mcuf_pool2d_params p = {c[1], c[2], c[3], c[2] / 2, c[3] / 2, 2, 2, 2, 2, 0, 0, 0, 0, 0};
        *n_out = (size_t)p.C * p.OH * p.OW;
        if ((size_t)p.C * p.H * p.W > MAX_ELEMS) return MCUF_ERR_ARG;
        t0 = mcuf_io_instret();
        st = mcuf_maxpool2d_f32(&p, x, y);
        t1 = mcuf_io_instret();
        break;
    }
    case KIND_LINEAR: {
        const mcuf_linear_params p = {1, c[1], c[2], MCUF_ACC_F32, 0};
        *n_out = (size_t)p.out_features;
        if ((size_t)p.in_features * p.out_features > MAX_ELEMS) return MCUF_ERR_ARG;
        t0 = mcuf_io_instret();
        st = mcuf_linear_f32(&p, x, w, b, y);
        t1 = mcuf_io_instret();
        break;
    }
    default:
        break;
    }
    *count = t1 - t0;
    return st;
}

int main(void)
{
    size_t got = 0;
    if (mcuf_io_read_upto("cases", cases, sizeof cases, &got) != 0) return 1;
    const int n = (int)(got / (NCOLS * sizeof(int32_t)));
    if (mcuf_io_read("x", x, sizeof x) || mcuf_io_read("w", w, sizeof w) || mcuf_io_read("b", b, sizeof b)) return 2;
    for (int i = 0; i < n; i++) {
        for (size_t j = 0; j < MAX_ELEMS + 2 * GUARD; j++) out[j] = SENTINEL;
        size_t n_out = 0, sbytes = 0;
        uint64_t count = 0;
        const mcuf_status st = run_case(&cases[i * NCOLS], (float *)(void *)out + GUARD, &n_out, &sbytes, &count);
        if (st != MCUF_OK) {
            printf("case %d (kind %d): status %d\n", i, (int)cases[i * NCOLS], (int)st);
            return 3;
        }
        char name[32];
        snprintf(name, sizeof name, "case%d", i);
        mcuf_io_report(name, count);
        snprintf(name, sizeof name, "y_%d", i);
        const int32_t dims[1] = {(int32_t)(n_out + 2 * GUARD)};
        mcuf_io_write(name, out, (n_out + 2 * GUARD) * 4, MCUF_IO_U32, 1, dims);
        scratch_used[i] = (int32_t)sbytes;
    }
    const int32_t dims[1] = {n};
    mcuf_io_write("scratch", scratch_used, (size_t)n * sizeof(int32_t), MCUF_IO_I32, 1, dims);
    return 0;
}
