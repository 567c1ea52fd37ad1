/* layers_driver.c: one program per target that runs a table of training-layer kernel calls
 * (depthwise conv, ReLU, pooling, softmax-CE, SGD, finite check) on data it reads from tensor files,
 * and writes every result back; used by tests/target/test_layers_qemu.py and toolchain/bench_layers.py.
 *
 * Inputs: "cases" int32 [n, 32] (layout in CASE_* below), "fparams" f32 [n, 4] (lr, momentum,
 * weight_decay, grad scale), "in16" f16 pool, "in32" f32 pool, "in_i32" int32 pool (labels).
 * Outputs: "out16", "out32" (pools of the sizes given by "sizes" int32 [2]), "status" int32 [n].
 * Every case reports "@mcuf count case<i> <retired instructions of the kernel call alone>".
 * Offsets are element offsets into the pools; -1 means NULL / none. "copies" int32 [m, 4] fills
 * outputs from the input pools before any kernel runs (accumulating gradients, SGD state). */
#include <stdio.h>
#include <string.h>

#include "mcuf_act.h"
#include "mcuf_dwconv.h"
#include "mcuf_io.h"
#include "mcuf_loss.h"
#include "mcuf_optim.h"
#include "mcuf_pool.h"

enum {
    K_DW_FWD, K_DW_GIN, K_DW_GW, K_RELU, K_RELU_GRAD, K_MAXPOOL, K_MAXPOOL_GRAD, K_AVGPOOL, K_AVGPOOL_GRAD,
    K_GAP, K_GAP_GRAD, K_SOFTMAX_CE, K_SGD, K_SGD_MASTER, K_ALL_FINITE
};
enum {
    CASE_KERNEL, CASE_BACKEND, CASE_DTYPE, CASE_ACC, CASE_ACCUMULATE, CASE_C, CASE_H, CASE_W, CASE_OH, CASE_OW,
    CASE_KH, CASE_KW, CASE_SH, CASE_SW, CASE_PT, CASE_PL, CASE_PB, CASE_PR, CASE_FLAG, CASE_N, CASE_K,
    CASE_IN0, CASE_IN1, CASE_IN2, CASE_OUT0, CASE_OUT1, CASE_OUT2, CASE_LABELS, CASE_COLS = 32
};

#define MAX_CASES 512
#define POOL16 (512 * 1024)
#define POOL32 (256 * 1024)

static int32_t cases[MAX_CASES * CASE_COLS];
static float fparams[MAX_CASES * 4];
static mcuf_f16 in16[POOL16], out16[POOL16];
static float in32[POOL32], out32[POOL32];
static int32_t in_i32[4096];
static int32_t status[MAX_CASES];
static int32_t copies[MAX_CASES * 3 * 4];

#define P16(off) ((off) < 0 ? NULL : &in16[(off)])
#define P32(off) ((off) < 0 ? NULL : &in32[(off)])
#define O16(off) ((off) < 0 ? NULL : &out16[(off)])
#define O32(off) ((off) < 0 ? NULL : &out32[(off)])

/* The backend table: a request for a backend the target lacks is an error, not a silent fallback. */
/* backend 0 = portable, 1 = rvv, 2 = zfh (depthwise conv only) */
#if defined(__riscv_zvfh)
#define HAVE_RVV 1
#define PICK(rvv, portable) (backend ? (rvv) : (portable))
#else
#define HAVE_RVV 0
#define PICK(rvv, portable) (portable)
#endif
#if defined(__riscv_zfh)
#define HAVE_ZFH 1
#define PICK3(zfh, rvv, portable) (backend == 2 ? (zfh) : PICK(rvv, portable))
#else
#define HAVE_ZFH 0
#define PICK3(zfh, rvv, portable) PICK(rvv, portable)
#endif

static int run_case(const int32_t *r, const float *fp)
{
    const int backend = r[CASE_BACKEND], f16 = r[CASE_DTYPE], n = r[CASE_N];
    const mcuf_dwconv2d_params dw = {
        .C = r[CASE_C], .H = r[CASE_H], .W = r[CASE_W], .OH = r[CASE_OH], .OW = r[CASE_OW], .kh = r[CASE_KH],
        .kw = r[CASE_KW], .stride_h = r[CASE_SH], .stride_w = r[CASE_SW], .pad_top = r[CASE_PT],
        .pad_left = r[CASE_PL], .pad_bottom = r[CASE_PB], .pad_right = r[CASE_PR], .acc = (mcuf_acc)r[CASE_ACC],
        .accumulate_grad = (uint8_t)r[CASE_ACCUMULATE]};
    const mcuf_pool2d_params pp = {
        .C = r[CASE_C], .H = r[CASE_H], .W = r[CASE_W], .OH = r[CASE_OH], .OW = r[CASE_OW], .kh = r[CASE_KH],
        .kw = r[CASE_KW], .stride_h = r[CASE_SH], .stride_w = r[CASE_SW], .pad_top = r[CASE_PT],
        .pad_left = r[CASE_PL], .pad_bottom = r[CASE_PB], .pad_right = r[CASE_PR],
        .count_include_pad = (uint8_t)r[CASE_FLAG]};
    const mcuf_global_avgpool_params gp = {.C = r[CASE_C], .HW = n, .acc = (mcuf_acc)r[CASE_ACC]};
    const mcuf_softmax_ce_params sp = {.N = n, .K = r[CASE_K]};
    const mcuf_sgd_params sg = {.n = n, .momentum = fp[1], .weight_decay = fp[2], .nesterov = (uint8_t)r[CASE_FLAG]};
    const int i0 = r[CASE_IN0], i1 = r[CASE_IN1], i2 = r[CASE_IN2];
    const int o0 = r[CASE_OUT0], o1 = r[CASE_OUT1], o2 = r[CASE_OUT2];
    (void)i2;
    (void)o2;
    if (backend == 1 && !HAVE_RVV) return 100;
    if (backend == 2 && (!HAVE_ZFH || !f16 || r[CASE_KERNEL] > K_DW_GW)) return 100;
    switch (r[CASE_KERNEL]) {
    case K_DW_FWD:
        if (f16) return PICK3(mcuf_dwconv2d_f16_zfh, mcuf_dwconv2d_f16_rvv, mcuf_dwconv2d_f16)(&dw, P16(i0), P16(i1), P16(i2), O16(o0));
        return backend ? 100 : mcuf_dwconv2d_f32(&dw, P32(i0), P32(i1), P32(i2), O32(o0));
    case K_DW_GIN:
        if (f16)
            return PICK3(mcuf_dwconv2d_grad_input_f16_zfh, mcuf_dwconv2d_grad_input_f16_rvv,
                         mcuf_dwconv2d_grad_input_f16)(&dw, P16(i0), P16(i1), O16(o0));
        return backend ? 100 : mcuf_dwconv2d_grad_input_f32(&dw, P32(i0), P32(i1), O32(o0));
    case K_DW_GW:
        if (f16)
            return PICK3(mcuf_dwconv2d_grad_weight_f16_zfh, mcuf_dwconv2d_grad_weight_f16_rvv,
                         mcuf_dwconv2d_grad_weight_f16)(&dw, P16(i0), P16(i1), O16(o0), O16(o1));
        return backend ? 100 : mcuf_dwconv2d_grad_weight_f32(&dw, P32(i0), P32(i1), O32(o0), O32(o1));
    case K_RELU:
        if (f16) return PICK(mcuf_relu_f16_rvv, mcuf_relu_f16)(n, P16(i0), O16(o0));
        return PICK(mcuf_relu_f32_rvv, mcuf_relu_f32)(n, P32(i0), O32(o0));
    case K_RELU_GRAD:
        if (f16) return PICK(mcuf_relu_grad_f16_rvv, mcuf_relu_grad_f16)(n, P16(i0), P16(i1), O16(o0));
        return PICK(mcuf_relu_grad_f32_rvv, mcuf_relu_grad_f32)(n, P32(i0), P32(i1), O32(o0));
    case K_MAXPOOL:
        if (backend) return 100;
        return f16 ? mcuf_maxpool2d_f16(&pp, P16(i0), O16(o0)) : mcuf_maxpool2d_f32(&pp, P32(i0), O32(o0));
    case K_MAXPOOL_GRAD:
        if (backend) return 100;
        return f16 ? mcuf_maxpool2d_grad_f16(&pp, P16(i0), P16(i1), O16(o0))
                   : mcuf_maxpool2d_grad_f32(&pp, P32(i0), P32(i1), O32(o0));
    case K_AVGPOOL:
        if (backend) return 100;
        return f16 ? mcuf_avgpool2d_f16(&pp, P16(i0), O16(o0)) : mcuf_avgpool2d_f32(&pp, P32(i0), O32(o0));
    case K_AVGPOOL_GRAD:
        if (backend) return 100;
        return f16 ? mcuf_avgpool2d_grad_f16(&pp, P16(i0), O16(o0)) : mcuf_avgpool2d_grad_f32(&pp, P32(i0), O32(o0));
    case K_GAP:
        if (backend) return 100;
        return f16 ? mcuf_global_avgpool_f16(&gp, P16(i0), O16(o0)) : mcuf_global_avgpool_f32(&gp, P32(i0), O32(o0));
    case K_GAP_GRAD:
        if (backend) return 100;
        return f16 ? mcuf_global_avgpool_grad_f16(&gp, P16(i0), O16(o0))
                   : mcuf_global_avgpool_grad_f32(&gp, P32(i0), O32(o0));
    case K_SOFTMAX_CE: /* out1 (f32 pool) receives the loss */
        if (backend) return 100;
        if (f16) return mcuf_softmax_ce_f16(&sp, P16(i0), &in_i32[r[CASE_LABELS]], fp[3], O32(o1), O16(o0));
        return mcuf_softmax_ce_f32(&sp, P32(i0), &in_i32[r[CASE_LABELS]], fp[3], O32(o1), O32(o0));
    case K_SGD: /* in0 grad; out0 w, out1 momentum (initialised from init0/init1) */
        if (f16) return PICK(mcuf_sgd_f16_rvv, mcuf_sgd_f16)(&sg, fp[0], fp[3], P16(i0), O16(o0), O16(o1));
        return PICK(mcuf_sgd_f32_rvv, mcuf_sgd_f32)(&sg, fp[0], P32(i0), O32(o0), O32(o1));
    case K_SGD_MASTER: /* in0 grad (f16); out0 master, out1 momentum (f32 pool); out2 w16 (f16 pool) */
        return PICK(mcuf_sgd_master_f16_rvv, mcuf_sgd_master_f16)(&sg, fp[0], fp[3], P16(i0), O32(o0), O32(o1),
                                                                  O16(o2));
    case K_ALL_FINITE:
        if (f16) return PICK(mcuf_all_finite_f16_rvv, mcuf_all_finite_f16)(n, P16(i0));
        return backend ? 100 : mcuf_all_finite_f32(n, P32(i0));
    default:
        return 101;
    }
}

int main(void)
{
    size_t got = 0;
    int32_t sizes[2];
    if (mcuf_io_read_upto("cases", cases, sizeof cases, &got) != 0) return 2;
    const int ncases = (int)(got / (CASE_COLS * sizeof(int32_t)));
    if (mcuf_io_read("fparams", fparams, (size_t)ncases * 4 * sizeof(float)) != 0) return 2;
    if (mcuf_io_read("sizes", sizes, sizeof sizes) != 0) return 2;
    if (sizes[0] > POOL16 || sizes[1] > POOL32) {
        printf("layers_driver: output pools too large\n");
        return 3;
    }
    if (mcuf_io_read_upto("in16", in16, sizeof in16, &got) != 0) return 2;
    if (mcuf_io_read_upto("in32", in32, sizeof in32, &got) != 0) return 2;
    if (mcuf_io_read_upto("in_i32", in_i32, sizeof in_i32, &got) != 0) return 2;
    if (mcuf_io_read_upto("copies", copies, sizeof copies, &got) != 0) return 2;
    const int ncopies = (int)(got / (4 * sizeof(int32_t)));
    memset(out16, 0, sizeof out16);
    memset(out32, 0, sizeof out32);

    /* cost of the counter reads themselves, subtracted from every region */
    const uint64_t t0 = mcuf_io_instret();
    const uint64_t t1 = mcuf_io_instret();
    const uint64_t overhead = t1 - t0;

    /* initial contents of outputs (accumulating gradients, SGD state), outside the counted regions:
     * rows of "copies" are (pool: 1 = FP16, 0 = FP32, src offset in the input pool, dst offset in the
     * output pool, element count) */
    for (int k = 0; k < ncopies; k++) {
        const int32_t *c = &copies[k * 4];
        if (c[0])
            memcpy(&out16[c[2]], &in16[c[1]], (size_t)c[3] * sizeof(mcuf_f16));
        else
            memcpy(&out32[c[2]], &in32[c[1]], (size_t)c[3] * sizeof(float));
    }
    for (int i = 0; i < ncases; i++) {
        const int32_t *r = &cases[i * CASE_COLS];
        char region[24];
        const uint64_t a = mcuf_io_instret();
        status[i] = run_case(r, &fparams[i * 4]);
        const uint64_t b = mcuf_io_instret();
        snprintf(region, sizeof region, "case%d", i);
        mcuf_io_report(region, b - a - overhead);
    }
    int32_t dims[1] = {sizes[0]};
    if (mcuf_io_write("out16", out16, (size_t)sizes[0] * sizeof(mcuf_f16), MCUF_IO_F16, 1, dims) != 0) return 4;
    dims[0] = sizes[1];
    if (mcuf_io_write("out32", out32, (size_t)sizes[1] * sizeof(float), MCUF_IO_F32, 1, dims) != 0) return 4;
    dims[0] = ncases;
    if (mcuf_io_write("status", status, (size_t)ncases * sizeof(int32_t), MCUF_IO_I32, 1, dims) != 0) return 4;
    return 0;
}
