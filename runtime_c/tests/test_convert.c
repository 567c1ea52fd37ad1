/* test_convert.c: FP32 <-> FP16 conversion against known IEEE 754 binary16 bit patterns.
 * Expected bits worked out by hand from the binary16 definition (1 sign, 5 exponent bits with
 * bias 15, 10 mantissa bits), round to nearest even. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mcuf_convert.h"

typedef struct {
    float in;
    unsigned short bits;
    const char *what;
} case_t;

static const case_t cases[] = {
    {0.0f, 0x0000, "zero"},
    {-0.0f, 0x8000, "negative zero"},
    {1.0f, 0x3c00, "one"},
    {-2.0f, 0xc000, "minus two"},
    {0.5f, 0x3800, "half"},
    {65504.0f, 0x7bff, "largest finite"},
    {65520.0f, 0x7c00, "rounds up to infinity"},
    {1.0e6f, 0x7c00, "overflow to infinity"},
    {5.9604645e-8f, 0x0001, "smallest subnormal"},
    {6.1035156e-5f, 0x0400, "smallest normal"},
    {1.00048828125f, 0x3c00, "tie rounds to even (down)"},
    {1.00146484375f, 0x3c02, "tie rounds to even (up)"},
    {3.140625f, 0x4248, "pi to 8 bits"},
    {2.9802322e-8f, 0x0000, "half of smallest subnormal ties to zero"},
};

int main(void)
{
    int failures = 0;
    const int n = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n; ++i) {
        mcuf_f16 h;
        unsigned short bits;
        if (mcuf_convert_f32_f16(1, &cases[i].in, &h) != MCUF_OK) {
            printf("FAIL %s: status\n", cases[i].what);
            failures++;
            continue;
        }
        memcpy(&bits, &h, sizeof bits);
        if (bits != cases[i].bits) {
            printf("FAIL %s: %g -> 0x%04x, expected 0x%04x\n", cases[i].what, (double)cases[i].in, bits,
                   cases[i].bits);
            failures++;
        }
        float back;
        mcuf_convert_f16_f32(1, &h, &back);
        /* Values exactly representable in binary16 must come back unchanged. */
        if (bits == cases[i].bits && bits != 0x7c00 && cases[i].bits != 0x0000 && back != cases[i].in &&
            cases[i].in != 1.00048828125f && cases[i].in != 1.00146484375f) {
            printf("FAIL %s: round trip gave %g\n", cases[i].what, (double)back);
            failures++;
        }
    }
    if (mcuf_convert_f32_f16(-1, NULL, NULL) != MCUF_ERR_ARG) {
        printf("FAIL negative count not rejected\n");
        failures++;
    }
    if (mcuf_convert_f32_f16(3, NULL, NULL) != MCUF_ERR_ARG) {
        printf("FAIL NULL pointers not rejected\n");
        failures++;
    }
    printf("%d cases, %d failures\n", n + 2, failures);
    return failures != 0;
}
