/* misbehave.c: a driver that fails on purpose, to check the harness reports each failure clearly.
 * mode 0: succeed; 1: fault (store to an unmapped address); 2: hang; 3: exit with status 7. */
#include <stdint.h>
#include <stdio.h>

#include "mcuf_io.h"

int main(void)
{
    int32_t mode = 0;
    if (mcuf_io_read("mode", &mode, sizeof mode))
        return 2;
    printf("misbehave: mode %d\n", (int)mode);
    fflush(stdout); /* a pipe is block-buffered on the host: a crash would lose the line */
    if (mode == 1) {
        volatile uintptr_t addr = 0x10; /* unmapped on host and QEMU virt; volatile hides it from the optimiser */
        *(volatile uint32_t *)addr = 1;
    } else if (mode == 2) {
        for (volatile int spin = 0;; spin = spin + 1) {
        }
    } else if (mode == 3) {
        return 7;
    }
    return 0;
}
