/* mcuf_io.c: tensor files and instruction counts for harness drivers (see mcuf_io.h). */
#include "mcuf_io.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MCUF_IO_MAX_DIMS 8

static int open_tensor(const char *name, FILE **fp, size_t *data_bytes)
{
    char path[128];
    snprintf(path, sizeof path, "%s.bin", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("mcuf_io: cannot open input tensor file %s\n", path);
        return -1;
    }
    uint32_t head[3];
    if (fread(head, sizeof head, 1, f) != 1 || memcmp(&head[0], "MCUT", 4) != 0 ||
        head[2] > MCUF_IO_MAX_DIMS) {
        printf("mcuf_io: %s is not a tensor file\n", path);
        fclose(f);
        return -2;
    }
    static const size_t elem[] = {0, 4, 2, 1, 1, 2, 4, 2, 4, 8};
    size_t n = head[1] < sizeof elem / sizeof elem[0] ? elem[head[1]] : 0;
    for (uint32_t i = 0; i < head[2]; ++i) {
        uint32_t d;
        if (fread(&d, sizeof d, 1, f) != 1) {
            fclose(f);
            return -2;
        }
        n *= d;
    }
    *fp = f;
    *data_bytes = n;
    return 0;
}

int mcuf_io_read_upto(const char *name, void *dst, size_t capacity, size_t *got)
{
    FILE *f;
    size_t n;
    int rc = open_tensor(name, &f, &n);
    if (rc)
        return rc;
    if (n > capacity) {
        printf("mcuf_io: tensor %s holds %u bytes, buffer has %u\n", name, (unsigned)n,
               (unsigned)capacity);
        fclose(f);
        return -3;
    }
    size_t r = n ? fread(dst, 1, n, f) : 0;
    fclose(f);
    if (r != n) {
        printf("mcuf_io: tensor %s is truncated\n", name);
        return -4;
    }
    *got = n;
    return 0;
}

int mcuf_io_read(const char *name, void *dst, size_t bytes)
{
    size_t got = 0;
    int rc = mcuf_io_read_upto(name, dst, bytes, &got);
    if (rc == 0 && got != bytes) {
        printf("mcuf_io: tensor %s holds %u bytes, driver expects %u\n", name, (unsigned)got,
               (unsigned)bytes);
        return -3;
    }
    return rc;
}

int mcuf_io_write(const char *name, const void *src, size_t bytes, mcuf_io_dtype dtype, int ndim,
                  const int32_t *dims)
{
    if (ndim < 0 || ndim > MCUF_IO_MAX_DIMS)
        return -1;
    char path[128];
    snprintf(path, sizeof path, "%s.bin", name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        printf("mcuf_io: cannot create output tensor file %s\n", path);
        return -1;
    }
    uint32_t head[3 + MCUF_IO_MAX_DIMS];
    memcpy(&head[0], "MCUT", 4);
    head[1] = (uint32_t)dtype;
    head[2] = (uint32_t)ndim;
    for (int i = 0; i < ndim; ++i)
        head[3 + i] = (uint32_t)dims[i];
    size_t hb = (size_t)(3 + ndim) * sizeof(uint32_t);
    int ok = fwrite(head, 1, hb, f) == hb && (bytes == 0 || fwrite(src, 1, bytes, f) == bytes);
    ok = (fclose(f) == 0) && ok;
    return ok ? 0 : -2;
}

#if defined(__riscv)
uint64_t mcuf_io_instret(void)
{
    uint32_t hi, lo, hi2;
    do { /* re-read if the low word wrapped between the two reads */
        __asm__ volatile("csrr %0, minstreth" : "=r"(hi));
        __asm__ volatile("csrr %0, minstret" : "=r"(lo));
        __asm__ volatile("csrr %0, minstreth" : "=r"(hi2));
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

void mcuf_io_report(const char *region, uint64_t count)
{
    printf("@mcuf count %s %" PRIu64 "\n", region, count);
}
#else
uint64_t mcuf_io_instret(void)
{
    return 0;
}

void mcuf_io_report(const char *region, uint64_t count)
{
    (void)region;
    (void)count;
}
#endif
