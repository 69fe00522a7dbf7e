/* fuzz_file.h - the input of a fuzz target as a file, for code that opens paths (the
 * capture reader, the config and policy loaders). One memfd per process, rewritten for
 * each input: no disk I/O, nothing left behind. */
#ifndef TW_FUZZ_FILE_H
#define TW_FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* Replaces the memfd's content with the input. Returns its path ("/proc/self/fd/N"), or
 * NULL when the memfd cannot be made or written. */
static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
    static int memfd = -1;
    static char path[64];

    if (memfd < 0) {
        memfd = memfd_create("fuzz_input", 0);
        if (memfd < 0)
            return NULL;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
    }
    if (ftruncate(memfd, 0) != 0)
        return NULL;
    for (size_t off = 0; off < size;) {
        ssize_t n = pwrite(memfd, data + off, size - off, (off_t)off);
        if (n <= 0)
            return NULL;
        off += (size_t)n;
    }
    return path;
}

#endif
