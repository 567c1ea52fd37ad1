/* mcuf_copy_run.h (private to runtime_c/src): a float copy that stays a loop.
 *
 * clang turns a plain copy loop into a memcpy call, and picolibc's size-optimised RISC-V memcpy
 * moves a byte at a time on rv32 (~6 instructions per byte, worse on rows of a few dozen bytes).
 * Copying eight (then two) at a time with a compiler barrier keeps clang from recognising the idiom:
 * about 2.3 instructions per float. */
#ifndef MCUF_COPY_RUN_H
#define MCUF_COPY_RUN_H

/* Copies n floats from s to d (not overlapping); returns d + n. */
static inline float *mcuf_copy_run_f32(float *restrict d, const float *restrict s, int n)
{
    for (; n >= 8; n -= 8, d += 8, s += 8) {
        const float a0 = s[0], a1 = s[1], a2 = s[2], a3 = s[3], a4 = s[4], a5 = s[5], a6 = s[6], a7 = s[7];
        d[0] = a0;
        d[1] = a1;
        d[2] = a2;
        d[3] = a3;
        d[4] = a4;
        d[5] = a5;
        d[6] = a6;
        d[7] = a7;
        __asm__ volatile("" ::: "memory");
    }
    for (; n >= 2; n -= 2, d += 2, s += 2) {
        const float a0 = s[0], a1 = s[1];
        d[0] = a0;
        d[1] = a1;
        __asm__ volatile("" ::: "memory");
    }
    if (n) *d++ = *s;
    return d;
}

#endif /* MCUF_COPY_RUN_H */
