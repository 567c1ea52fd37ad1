/* mcuf_common.h: types, status codes and checks shared by every mcuforge kernel family. */
#ifndef MCUF_COMMON_H
#define MCUF_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef MCUF_CFFI
/* cffi cannot parse _Float16. Behind a pointer the bit pattern crosses the ABI unchanged, which is why no
 * public function takes or returns mcuf_f16 by value (a half travels in an FP register on RISC-V). */
typedef uint16_t mcuf_f16;
#else
typedef _Float16 mcuf_f16;
#endif

typedef enum {
    MCUF_OK = 0,
    MCUF_ERR_ARG = -1,      /* NULL pointer or a dimension out of range */
    MCUF_ERR_SHAPE = -2,    /* dimensions inconsistent with each other */
    MCUF_ERR_SCRATCH = -3,  /* scratch buffer missing or too small */
    MCUF_ERR_OVERFLOW = -4, /* non-finite value where the caller asked to be told (loss scaling) */
    MCUF_ERR_ARENA = -5     /* arena missing, too small or misaligned */
} mcuf_status;

/* Accumulation policy, chosen per call: FP16 accumulate is fastest, FP32 accumulate keeps the
 * relative error of a K-long dot product near 2^-11 instead of growing like K * 2^-11. */
typedef enum { MCUF_ACC_F16 = 0, MCUF_ACC_F32 = 1 } mcuf_acc;

#ifndef MCUF_CFFI
/* Invariants that cannot fail in a correct caller; compiled out unless MCUF_DEBUG is defined. */
#ifdef MCUF_DEBUG
#define MCUF_DCHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#else
#define MCUF_DCHECK(c) ((void)0)
#endif
#endif

#endif /* MCUF_COMMON_H */
