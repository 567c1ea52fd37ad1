/* s8_driver.c: runs a table of int8 conv / dwconv / linear cases (tests/target/test_s8_qemu.py and the
 * int8 benchmark) and reports the retired instructions of each kernel call as region "case<i>".
 *
 * Inputs (tensor files):
 *   table  int32 [n, S8_ROW]: one row per case, fields as enumerated below;
 *   i8     int8 blob: inputs and (packed for conv) weights at the row's offsets;
 *   i32    int32 blob: per case bias'[OC] then multiplier[OC] then shift[OC] at the row's offset.
 * Output: out  int8 blob, each case's output at its row's offset. */
#include <stdint.h>

#include "mcuf_io.h"
#include "mcuf_conv.h"
#include "mcuf_dwconv.h"
#include "mcuf_linear.h"

enum {
    KIND_CONV = 0, KIND_DWCONV = 1, KIND_FC = 2, KIND_FC_PACKED = 3, KIND_CONV_S4 = 4, KIND_CONV_S2 = 5,
    KIND_FC_S4 = 6, KIND_FC_S2 = 7, KIND_DWCONV_S4 = 8, KIND_DWCONV_S2 = 9
};
enum {
    F_KIND, F_C, F_H, F_W, F_OC, F_OH, F_OW, F_KH, F_KW, F_SH, F_SW, F_PT, F_PL, F_PB, F_PR, F_GROUP,
    F_IN_ZP, F_OUT_ZP, F_ACT_MIN, F_ACT_MAX, F_X_OFF, F_W_OFF, F_I32_OFF, F_OUT_OFF, F_ROWS, S8_ROW
}; /* linear rows: C = in_features, OC = out_features, OH = OW = 1, ROWS = batch; conv rows: ROWS = 1 */

#define MAX_CASES 64
#define I8_BYTES (1 << 20)
#define I32_WORDS (1 << 14)
#define OUT_BYTES (1 << 20)
#define SCRATCH_BYTES (1 << 16)

static int32_t table[MAX_CASES * S8_ROW];
static int8_t i8[I8_BYTES];
static int32_t i32[I32_WORDS];
static int8_t out[OUT_BYTES];
static int8_t scratch[SCRATCH_BYTES];

int main(void)
{
    size_t tb = 0, nb = 0, n32 = 0;
    if (mcuf_io_read_upto("table", table, sizeof table, &tb) || mcuf_io_read_upto("i8", i8, sizeof i8, &nb) ||
        mcuf_io_read_upto("i32", i32, sizeof i32, &n32))
        return 2;
    const int n = (int)(tb / (sizeof(int32_t) * S8_ROW));
    int32_t out_bytes = 0;
    for (int c = 0; c < n; c++) {
        const int32_t *r = table + c * S8_ROW;
        const int OC = r[F_OC];
        const int32_t *bias = i32 + r[F_I32_OFF], *mult = bias + OC, *shift = mult + OC;
        int8_t *o = out + r[F_OUT_OFF];
        mcuf_status st;
        uint64_t t0;
        const int kind = r[F_KIND];
        const int8_t *x = i8 + r[F_X_OFF], *w = i8 + r[F_W_OFF];
        if (kind == KIND_FC || kind == KIND_FC_PACKED || kind == KIND_FC_S4 || kind == KIND_FC_S2) {
            const mcuf_linear_s8_params p = {r[F_ROWS], r[F_C], OC, r[F_OUT_ZP], (int8_t)r[F_ACT_MIN],
                                             (int8_t)r[F_ACT_MAX], mult, shift};
            t0 = mcuf_io_instret();
            if (kind == KIND_FC) st = mcuf_linear_s8(&p, x, w, bias, o);
            else if (kind == KIND_FC_PACKED) st = mcuf_linear_s8_packed(&p, x, w, bias, o);
            else if (kind == KIND_FC_S4) st = mcuf_linear_s8w4(&p, x, (const uint8_t *)w, bias, o);
            else st = mcuf_linear_s8w2(&p, x, (const uint8_t *)w, bias, o);
        } else {
            const mcuf_conv2d_s8_params p = {
                r[F_C], r[F_H], r[F_W], OC, r[F_OH], r[F_OW], r[F_KH], r[F_KW], r[F_SH], r[F_SW], r[F_PT],
                r[F_PL], r[F_PB], r[F_PR], r[F_GROUP], r[F_IN_ZP], r[F_OUT_ZP], (int8_t)r[F_ACT_MIN],
                (int8_t)r[F_ACT_MAX], mult, shift};
            const size_t need = kind == KIND_DWCONV ? mcuf_dwconv2d_s8_scratch_size(&p)
                                : kind == KIND_DWCONV_S4 ? mcuf_dwconv2d_s8w4_scratch_size(&p)
                                : kind == KIND_DWCONV_S2 ? mcuf_dwconv2d_s8w2_scratch_size(&p)
                                : kind == KIND_CONV_S4 ? mcuf_conv2d_s8w4_scratch_size(&p)
                                : kind == KIND_CONV_S2 ? mcuf_conv2d_s8w2_scratch_size(&p)
                                                       : mcuf_conv2d_s8_scratch_size(&p);
            if (need > sizeof scratch) return 4;
            t0 = mcuf_io_instret();
            if (kind == KIND_CONV) st = mcuf_conv2d_s8(&p, x, w, bias, o, scratch);
            else if (kind == KIND_CONV_S4) st = mcuf_conv2d_s8w4(&p, x, (const uint8_t *)w, bias, o, scratch);
            else if (kind == KIND_CONV_S2) st = mcuf_conv2d_s8w2(&p, x, (const uint8_t *)w, bias, o, scratch);
            else if (kind == KIND_DWCONV_S4) st = mcuf_dwconv2d_s8w4(&p, x, (const uint8_t *)w, bias, o, scratch);
            else if (kind == KIND_DWCONV_S2) st = mcuf_dwconv2d_s8w2(&p, x, (const uint8_t *)w, bias, o, scratch);
            else st = mcuf_dwconv2d_s8(&p, x, w, bias, o, scratch);
        }
        const uint64_t t1 = mcuf_io_instret();
        if (st != MCUF_OK) return 10 + c;
        char name[16] = "case";
        int k = 4, v = c;
        char digits[8];
        int nd = 0;
        do digits[nd++] = (char)('0' + v % 10); while ((v /= 10) && nd < 7);
        while (nd) name[k++] = digits[--nd];
        name[k] = 0;
        mcuf_io_report(name, t1 - t0);
        const int32_t end = r[F_OUT_OFF] + r[F_ROWS] * OC * r[F_OH] * r[F_OW];
        out_bytes = end > out_bytes ? end : out_bytes;
    }
    const int32_t dims[1] = {out_bytes};
    return mcuf_io_write("out", out, (size_t)out_bytes, MCUF_IO_I8, 1, dims) ? 3 : 0;
}
