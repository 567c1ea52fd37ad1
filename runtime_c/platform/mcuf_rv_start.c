/* mcuf_rv_start.c: start-up support linked into every bare-metal RISC-V program mcuforge builds.
 *
 * The vector unit powers up off (mstatus.VS = 0) and the first vector instruction would trap as
 * illegal. A constructor runs after picolibc's crt0 and before main, early enough for any kernel. */
#if defined(__riscv) && defined(__riscv_vector)
__attribute__((constructor(101))) static void mcuf_enable_vector_unit(void)
{
    __asm__ volatile("csrs mstatus, %0" ::"r"(0x200));
}
#else
/* ISO C forbids an empty translation unit. */
typedef int mcuf_rv_start_unused;
#endif
