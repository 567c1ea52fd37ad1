/* mcuf_io.h: what a test or benchmark driver needs to talk to the Python harness.
 *
 * Tensors travel as files in the run's working folder ("<name>.bin"): on the host through the C
 * library, under QEMU through semihosting. A file is a small header ("MCUT", dtype code, ndim,
 * dims as uint32 little-endian) followed by the raw data. Counts of retired instructions for named
 * regions are printed as "@mcuf count <region> <n>" lines, which the harness collects. */
#ifndef MCUF_IO_H
#define MCUF_IO_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MCUF_IO_F32 = 1,
    MCUF_IO_F16 = 2,
    MCUF_IO_I8 = 3,
    MCUF_IO_U8 = 4,
    MCUF_IO_I16 = 5,
    MCUF_IO_I32 = 6,
    MCUF_IO_U16 = 7,
    MCUF_IO_U32 = 8,
    MCUF_IO_F64 = 9
} mcuf_io_dtype;

/* Read tensor `name` into dst; its data must be exactly `bytes` long. 0 on success, <0 (and a
 * message on stdout) if the file is missing, malformed or of another size. */
int mcuf_io_read(const char *name, void *dst, size_t bytes);

/* Read tensor `name` into dst of `capacity` bytes; *got receives the data size. For drivers that
 * take a table of cases whose size they learn from the file. */
int mcuf_io_read_upto(const char *name, void *dst, size_t capacity, size_t *got);

/* Write tensor `name` with the given dtype and dims (ndim <= 8). 0 on success. */
int mcuf_io_write(const char *name, const void *src, size_t bytes, mcuf_io_dtype dtype, int ndim,
                  const int32_t *dims);

/* Retired instructions so far (minstret, 64-bit); 0 where the target has no counter (host). */
uint64_t mcuf_io_instret(void);

/* Report a count for a named region; prints nothing where the target has no counter. */
void mcuf_io_report(const char *region, uint64_t count);

#endif /* MCUF_IO_H */
