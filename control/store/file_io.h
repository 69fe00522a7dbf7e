/* file_io.h - the pieces of the project's own files (the record spool, the alert hold file):
 * little-endian integers, and writes that do not stop half-way. */
#ifndef TW_FILE_IO_H
#define TW_FILE_IO_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <unistd.h>

static inline void tw_le_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline void tw_le_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static inline uint32_t tw_le_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t tw_le_get64(const uint8_t *p)
{
    return (uint64_t)tw_le_get32(p) | (uint64_t)tw_le_get32(p + 4) << 32;
}

/* Reads (writing 0) or writes n bytes at offset off, through short transfers and EINTR.
 * Returns 0, or -1 with errno set (a read that meets the end of the file: errno 0). */
static inline int tw_file_transfer(int fd, void *buf, size_t n, off_t off, int writing)
{
    uint8_t *p = buf;

    while (n > 0) {
        errno = 0;
        ssize_t done = writing ? pwrite(fd, p, n, off) : pread(fd, p, n, off);
        if (done < 0 && errno == EINTR)
            continue;
        if (done <= 0)
            return -1;
        p += done;
        n -= (size_t)done;
        off += done;
    }
    return 0;
}

static inline int tw_pread_all(int fd, void *buf, size_t n, off_t off)
{
    return tw_file_transfer(fd, buf, n, off, 0);
}

static inline int tw_pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
    return tw_file_transfer(fd, (void *)(uintptr_t)buf, n, off, 1);
}

#endif
