/* Shared by the C kernel tests: CHECK(cond, printf-args) prints "FAIL file:line: ..." and counts the
 * failure in `failures`, which each test's main turns into its exit status. */
#ifndef MCUF_CHECK_H
#define MCUF_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond, ...)                                \
    do {                                                \
        if (!(cond)) {                                  \
            printf("FAIL %s:%d: ", __FILE__, __LINE__); \
            printf(__VA_ARGS__);                        \
            printf("\n");                               \
            failures++;                                 \
        }                                               \
    } while (0)

#endif /* MCUF_CHECK_H */
