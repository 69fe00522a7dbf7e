/* alert_hold.c - alerts and summary updates kept in a file between runs (see alert_hold.h). */
#include "control/store/alert_hold.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "control/store/file_io.h"

#define HOLD_MAGIC "TWHOLD01"
#define HOLD_HEADER 32u

/* CRC-32 of n bytes on top of crc (zlib's crc32_z would restart from 0 on a NULL buffer) */
static uLong crc_more(uLong crc, const void *data, size_t n)
{
    return n ? crc32_z(crc, data, n) : crc;
}

int tw_hold_save(const char *path, uint32_t item_size, const void *first, uint64_t n_first,
                 const void *second, uint64_t n_second)
{
    char tmp[PATH_MAX];
    uint8_t h[HOLD_HEADER] = {0};
    size_t len1 = (size_t)n_first * item_size, len2 = (size_t)n_second * item_size;

    if (n_first + n_second == 0)
        return tw_hold_remove(path);
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    uLong crc = crc_more(crc_more(0, first, len1), second, len2);
    memcpy(h, HOLD_MAGIC, 8);
    tw_le_put32(h + 8, item_size);
    tw_le_put32(h + 12, (uint32_t)crc);
    tw_le_put64(h + 16, n_first + n_second);
    tw_le_put32(h + 24, (uint32_t)crc_more(0, h, 24));
    int rc = tw_pwrite_all(fd, h, sizeof(h), 0);
    if (rc == 0)
        rc = tw_pwrite_all(fd, first, len1, HOLD_HEADER);
    if (rc == 0)
        rc = tw_pwrite_all(fd, second, len2, (off_t)(HOLD_HEADER + len1));
    if (rc == 0)
        rc = fsync(fd);
    int saved = errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) == 0)
        return 0;
    saved = rc == 0 ? errno : saved;
    unlink(tmp);
    errno = saved;
    return -1;
}

int tw_hold_load(const char *path, uint32_t item_size, int (*take)(void *ctx, const void *item),
                 void *ctx, uint64_t *loaded, char *err, size_t errlen)
{
    struct stat st;
    uint8_t *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *loaded = 0;
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (st.st_size < (off_t)HOLD_HEADER || !(buf = malloc((size_t)st.st_size))) {
        snprintf(err, errlen, "%s: %s", path,
                 buf || st.st_size < (off_t)HOLD_HEADER ? "too short to be an alert hold file"
                                                         : "out of memory");
        goto fail;
    }
    if (tw_pread_all(fd, buf, (size_t)st.st_size, 0) != 0) {
        snprintf(err, errlen, "%s: cannot read it whole", path);
        goto fail;
    }
    uint64_t n = tw_le_get64(buf + 16);
    if (memcmp(buf, HOLD_MAGIC, 8) != 0 ||
        tw_le_get32(buf + 24) != (uint32_t)crc_more(0, buf, 24)) {
        snprintf(err, errlen, "%s: not an alert hold file (or its header is damaged)", path);
        goto fail;
    }
    if (tw_le_get32(buf + 8) != item_size) {
        snprintf(err, errlen, "%s: items of %u bytes, this build's are %u (written by another "
                              "version of tapwatch)", path, tw_le_get32(buf + 8), item_size);
        goto fail;
    }
    int sized = n <= ((uint64_t)st.st_size - HOLD_HEADER) / item_size &&
                HOLD_HEADER + n * item_size == (uint64_t)st.st_size;
    if (!sized || tw_le_get32(buf + 12) != (uint32_t)crc_more(0, buf + HOLD_HEADER,
                                                                        n * item_size)) {
        snprintf(err, errlen, "%s: damaged (%llu bytes for %llu items of %u bytes, or a wrong "
                              "checksum)", path, (unsigned long long)st.st_size,
                 (unsigned long long)n, item_size);
        goto fail;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (take(ctx, buf + HOLD_HEADER + i * item_size) != 0) {
            snprintf(err, errlen, "%s: out of memory for its %llu items", path,
                     (unsigned long long)n);
            goto fail;
        }
    }
    *loaded = n;
    free(buf);
    close(fd);
    return 0;
fail:
    free(buf);
    if (fd >= 0)
        close(fd);
    return -1;
}

int tw_hold_remove(const char *path)
{
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}
