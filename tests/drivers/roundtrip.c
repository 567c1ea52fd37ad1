/* roundtrip.c: harness round-trip driver. Reads x (float32[n]) and reps (int32), computes
 * y = 2*x + 1 through FP16 `reps` times (the result is the same each time; the work grows), writes
 * y (float32[n]) and h (the FP16 intermediate), and reports the instructions of the loop. */
#include <stdint.h>

#include "mcuf_convert.h"
#include "mcuf_io.h"

#define MAX_N 4096

static float x[MAX_N], y[MAX_N];
static mcuf_f16 h[MAX_N];

int main(void)
{
    size_t bytes = 0;
    int32_t reps = 0;
    if (mcuf_io_read_upto("x", x, sizeof x, &bytes) || mcuf_io_read("reps", &reps, sizeof reps))
        return 2;
    int n = (int)(bytes / sizeof(float));
    uint64_t t0 = mcuf_io_instret();
    for (int r = 0; r < reps; ++r) {
        mcuf_convert_f32_f16(n, x, h);
        for (int i = 0; i < n; ++i)
            h[i] = (mcuf_f16)(h[i] * (mcuf_f16)2.0f + (mcuf_f16)1.0f);
        mcuf_convert_f16_f32(n, h, y);
    }
    mcuf_io_report("transform", mcuf_io_instret() - t0);
    int32_t dims[1] = {n};
    if (mcuf_io_write("y", y, (size_t)n * sizeof(float), MCUF_IO_F32, 1, dims) ||
        mcuf_io_write("h", h, (size_t)n * sizeof(mcuf_f16), MCUF_IO_F16, 1, dims))
        return 3;
    return 0;
}
