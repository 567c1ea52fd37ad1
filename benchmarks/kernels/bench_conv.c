/* bench_conv.c: benchmark and test driver for conv2d (im2col + the target's best matmul), one build
 * per target.
 *
 * Reads a table of cases ("cases": int32 [n, 16]) and random tensors ("x16", "w16", "b16", "dy16" FP16,
 * "x32", "w32", "b32", "dy32" FP32). For each case it runs forward, input gradient and weight gradient
 * (with bias gradient), reports their retired instructions as regions "case<i>_fwd", "case<i>_gin",
 * "case<i>_gw" (and the im2col step alone as "case<i>_im2col"), and writes "out_<i>", "dx_<i>",
 * "dw_<i>", "db_<i>", each with GUARD sentinel elements on both sides.
 *
 * Case row: dtype (0 f16, 1 f32), acc, cin, h, w, cout, kh, kw, stride_h, stride_w, pad_top, pad_left,
 * ho, wo, accumulate_grad, with_bias.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mcuf_conv.h"
#include "mcuf_io.h"

#define MAX_CASES 64
#define MAX_ELEMS 20000
#define GUARD 8
#define SCRATCH_BYTES (640u * 1024u)

static int32_t cases[MAX_CASES * 16];
static mcuf_f16 x16[MAX_ELEMS], w16[MAX_ELEMS], b16[MAX_ELEMS], dy16[MAX_ELEMS];
static float x32[MAX_ELEMS], w32[MAX_ELEMS], b32[MAX_ELEMS], dy32[MAX_ELEMS];
static uint32_t outs[4][MAX_ELEMS + 2 * GUARD]; /* out, dx, dw, db; FP16 use the first half */
static uint64_t scratch[SCRATCH_BYTES / 8];

static void fill_guarded(int k, size_t n, int f32)
{
    if (f32)
        for (size_t j = 0; j < n + 2 * GUARD; j++) outs[k][j] = 0x7FA5A5A5u;
    else
        for (size_t j = 0; j < n + 2 * GUARD; j++) ((uint16_t *)outs[k])[j] = 0x7E55;
}

static void write_guarded(const char *stem, int i, int k, size_t n, int f32)
{
    char name[32];
    int32_t dims[1] = {(int32_t)(n + 2 * GUARD)};
    snprintf(name, sizeof name, "%s_%d", stem, i);
    mcuf_io_write(name, outs[k], (n + 2 * GUARD) * (f32 ? 4 : 2), f32 ? MCUF_IO_U32 : MCUF_IO_U16, 1, dims);
}

static void report(int i, const char *what, uint64_t count)
{
    char name[40];
    snprintf(name, sizeof name, "case%d_%s", i, what);
    mcuf_io_report(name, count);
}

int main(void)
{
    size_t got = 0;
    if (mcuf_io_read_upto("cases", cases, sizeof cases, &got) != 0) return 1;
    const int n = (int)(got / (16 * sizeof(int32_t)));
    if (mcuf_io_read("x16", x16, sizeof x16) || mcuf_io_read("w16", w16, sizeof w16) ||
        mcuf_io_read("b16", b16, sizeof b16) || mcuf_io_read("dy16", dy16, sizeof dy16) ||
        mcuf_io_read("x32", x32, sizeof x32) || mcuf_io_read("w32", w32, sizeof w32) ||
        mcuf_io_read("b32", b32, sizeof b32) || mcuf_io_read("dy32", dy32, sizeof dy32))
        return 2;
    for (int i = 0; i < n; i++) {
        const int32_t *c = &cases[i * 16];
        const int f32 = c[0], with_bias = c[15];
        const mcuf_conv2d_params p = {c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13],
                                      (mcuf_acc)c[1], (uint8_t)c[14]};
        const size_t n_out = (size_t)p.OC * p.OH * p.OW, n_in = (size_t)p.C * p.H * p.W;
        const size_t n_w = (size_t)p.OC * p.C * p.kh * p.kw, n_b = (size_t)p.OC;
        if (n_out > MAX_ELEMS || n_in > MAX_ELEMS || n_w > MAX_ELEMS) return 3;
        const size_t sbytes = f32 ? mcuf_conv2d_f32_scratch_size(&p) : mcuf_conv2d_f16_scratch_size(&p);
        const size_t gbytes = f32 ? mcuf_conv2d_grad_input_f32_scratch_size(&p)
                                  : mcuf_conv2d_grad_input_f16_scratch_size(&p);
        if (sbytes > SCRATCH_BYTES || gbytes > SCRATCH_BYTES) return 3;
        mcuf_status st[3];
        uint64_t t0, t1, t2, t3, t4, t5;
        for (int k = 0; k < 4; k++) fill_guarded(k, k == 0 ? n_out : k == 1 ? n_in : k == 2 ? n_w : n_b, f32);
        if (!f32) {
            mcuf_f16 *out = (mcuf_f16 *)(void *)outs[0] + GUARD, *dx = (mcuf_f16 *)(void *)outs[1] + GUARD;
            mcuf_f16 *dw = (mcuf_f16 *)(void *)outs[2] + GUARD, *db = (mcuf_f16 *)(void *)outs[3] + GUARD;
            if (p.accumulate_grad) {
                memcpy(dw, w16, n_w * 2);
                memcpy(db, b16, n_b * 2);
            }
            t0 = mcuf_io_instret();
            st[0] = mcuf_conv2d_f16(&p, x16, w16, with_bias ? b16 : NULL, out, scratch, sbytes);
            t1 = mcuf_io_instret();
            st[1] = mcuf_conv2d_grad_input_f16(&p, dy16, w16, dx, scratch, gbytes);
            t2 = mcuf_io_instret();
            st[2] = mcuf_conv2d_grad_weight_f16(&p, x16, dy16, dw, with_bias ? db : NULL, scratch, sbytes);
            t3 = mcuf_io_instret();
            mcuf_im2col_f16(&p, x16, (mcuf_f16 *)(void *)scratch);
            t4 = mcuf_io_instret();
            mcuf_col2im_f16(&p, (const mcuf_f16 *)(const void *)scratch, (mcuf_f16 *)(void *)outs[1]);
            t5 = mcuf_io_instret();
        } else {
            float *out = (float *)(void *)outs[0] + GUARD, *dx = (float *)(void *)outs[1] + GUARD;
            float *dw = (float *)(void *)outs[2] + GUARD, *db = (float *)(void *)outs[3] + GUARD;
            if (p.accumulate_grad) {
                memcpy(dw, w32, n_w * 4);
                memcpy(db, b32, n_b * 4);
            }
            t0 = mcuf_io_instret();
            st[0] = mcuf_conv2d_f32(&p, x32, w32, with_bias ? b32 : NULL, out, scratch, sbytes);
            t1 = mcuf_io_instret();
            st[1] = mcuf_conv2d_grad_input_f32(&p, dy32, w32, dx, scratch, gbytes);
            t2 = mcuf_io_instret();
            st[2] = mcuf_conv2d_grad_weight_f32(&p, x32, dy32, dw, with_bias ? db : NULL, scratch, sbytes);
            t3 = mcuf_io_instret();
            mcuf_im2col_f32(&p, x32, (float *)(void *)scratch);
            t4 = mcuf_io_instret();
            t5 = t4;
        }
        for (int k = 0; k < 3; k++)
            if (st[k] != MCUF_OK) {
                printf("case %d step %d: status %d\n", i, k, (int)st[k]);
                return 4;
            }
        report(i, "fwd", t1 - t0);
        report(i, "gin", t2 - t1);
        report(i, "gw", t3 - t2);
        report(i, "im2col", t4 - t3);
        report(i, "col2im", t5 - t4);
        /* outs[1] was reused by the col2im timing for FP16: recompute dx into it before writing */
        if (!f32) fill_guarded(1, n_in, 0);
        if (!f32) mcuf_conv2d_grad_input_f16(&p, dy16, w16, (mcuf_f16 *)(void *)outs[1] + GUARD, scratch, gbytes);
        write_guarded("out", i, 0, n_out, f32);
        write_guarded("dx", i, 1, n_in, f32);
        write_guarded("dw", i, 2, n_w, f32);
        write_guarded("db", i, 3, n_b, f32);
    }
    return 0;
}
