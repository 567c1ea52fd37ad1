/* mcuf_f16_soft.c: half-precision conversion helpers for RISC-V targets without Zfh.
 *
 * clang lowers _Float16 <-> float conversions to libcalls on rv32imafc, but Debian's libgcc (GCC 12)
 * predates RISC-V _Float16 support and lacks them. The libcall ABI passes the half NaN-boxed in an FP
 * register, exactly as a C function taking _Float16, so plain C definitions are call-compatible. */
#if defined(__riscv) && !defined(__riscv_zfh)
#include <stdint.h>
#include <string.h>

float __extendhfsf2(_Float16 a);
_Float16 __truncsfhf2(float a);
_Float16 __truncdfhf2(double a);

float __extendhfsf2(_Float16 a)
{
    uint16_t h;
    memcpy(&h, &a, sizeof h);
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal half: normalise into a float */
            exp = 127 - 15 + 1;
            while (!(man & 0x400u)) {
                man <<= 1;
                exp--;
            }
            u = sign | (exp << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 112u) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

_Float16 __truncsfhf2(float a)
{
    uint32_t u;
    memcpy(&u, &a, sizeof u);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t exp = (u >> 23) & 0xffu;
    uint32_t man = u & 0x7fffffu;
    uint16_t h;
    if (exp == 0xff) {
        h = sign | 0x7c00u | (man ? 0x200u : 0u);
    } else {
        int e = (int)exp - 127 + 15;
        if (e >= 31) {
            h = sign | 0x7c00u;
        } else if (e <= 0) { /* subnormal or zero half: shift with round to nearest even */
            if (e < -10) {
                h = sign;
            } else {
                man |= 0x800000u;
                uint32_t shift = (uint32_t)(14 - e);
                uint32_t q = man >> shift;
                uint32_t rem = man & ((1u << shift) - 1u);
                uint32_t half = 1u << (shift - 1u);
                if (rem > half || (rem == half && (q & 1u)))
                    q++;
                h = sign | (uint16_t)q;
            }
        } else {
            uint32_t q = ((uint32_t)e << 10) | (man >> 13);
            uint32_t rem = man & 0x1fffu;
            if (rem > 0x1000u || (rem == 0x1000u && (q & 1u)))
                q++; /* a carry into the exponent is the correct rounding, up to infinity */
            h = sign | (uint16_t)q;
        }
    }
    _Float16 r;
    memcpy(&r, &h, sizeof r);
    return r;
}

/* Through float: double rounding can differ from a direct rounding only for values within 2^-24
 * relative of a half tie, which kernels never rely on (they convert floats, not doubles). */
_Float16 __truncdfhf2(double a)
{
    return __truncsfhf2((float)a);
}
#else
typedef int mcuf_f16_soft_unused;
#endif
