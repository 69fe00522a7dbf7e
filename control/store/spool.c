/* spool.c - the store's on-disk buffer (see spool.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "control/store/file_io.h"
#include "control/store/spool.h"

#define HEADER_SIZE 64
#define SLOT_HEAD 16
#define SLOT_SIZE (SLOT_HEAD + sizeof(struct tw_flow_record))
#define SLOT_MAGIC 0x54575352u /* "TWSR" */
#define VERSION 1
#define STAGE 64               /* appends buffered before one write */
#define HEADER_EVERY_MS 200

struct tw_spool {
    int fd;
    uint64_t capacity, want_capacity;
    uint64_t done, tail, read; /* record numbers: done <= read <= tail */
    uint64_t last_header_ms;
    unsigned nstaged;
    uint8_t stage[STAGE * SLOT_SIZE];
};

/* CRC-32 (zlib's, the polynomial of Ethernet and gzip) */
static uint32_t crc32_of(const void *data, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)n);
}

static int write_header(struct tw_spool *sp)
{
    uint8_t h[HEADER_SIZE] = "TWSPOOL1";

    tw_le_put32(h + 8, VERSION);
    tw_le_put32(h + 12, (uint32_t)SLOT_SIZE);
    tw_le_put64(h + 16, sp->capacity);
    tw_le_put64(h + 24, sp->done);
    tw_le_put64(h + 32, sp->tail - sp->nstaged); /* what is in the file */
    tw_le_put32(h + 40, crc32_of(h, 40));
    return tw_pwrite_all(sp->fd, h, sizeof(h), 0);
}

static off_t slot_off(const struct tw_spool *sp, uint64_t number)
{
    return (off_t)(HEADER_SIZE + (number % sp->capacity) * SLOT_SIZE);
}

/* Back to an empty file with the configured capacity. */
static int reset(struct tw_spool *sp)
{
    sp->done = sp->tail = sp->read = 0;
    sp->nstaged = 0;
    sp->capacity = sp->want_capacity;
    if (ftruncate(sp->fd, HEADER_SIZE) != 0)
        return -1;
    return write_header(sp);
}

static int valid_slot(const uint8_t *slot, uint64_t number)
{
    return tw_le_get32(slot) == SLOT_MAGIC && tw_le_get64(slot + 8) == number &&
           tw_le_get32(slot + 4) == crc32_of(slot + SLOT_HEAD, sizeof(struct tw_flow_record));
}

static struct tw_spool *fail_open(struct tw_spool *sp, char *err, size_t errlen,
                                  const char *path, const char *why)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "redis spool %s: %s", path, why);
    if (sp != NULL) {
        if (sp->fd >= 0)
            close(sp->fd);
        free(sp);
    }
    return NULL;
}

struct tw_spool *tw_spool_open(const char *path, uint64_t capacity, uint64_t *recovered,
                               char *err, size_t errlen)
{
    struct tw_spool *sp;
    struct stat st;
    uint8_t h[HEADER_SIZE], slot[SLOT_SIZE];

    *recovered = 0;
    if (capacity == 0)
        return fail_open(NULL, err, errlen, path, "capacity 0");
    if ((sp = calloc(1, sizeof(*sp))) == NULL)
        return fail_open(NULL, err, errlen, path, "out of memory");
    sp->want_capacity = sp->capacity = capacity;
    sp->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (sp->fd < 0)
        return fail_open(sp, err, errlen, path, strerror(errno));
    if (flock(sp->fd, LOCK_EX | LOCK_NB) != 0)
        return fail_open(sp, err, errlen, path,
                         errno == EWOULDBLOCK ? "in use by another process" : strerror(errno));
    if (fstat(sp->fd, &st) != 0)
        return fail_open(sp, err, errlen, path, strerror(errno));
    if (st.st_size < HEADER_SIZE) {
        if (reset(sp) != 0)
            return fail_open(sp, err, errlen, path, strerror(errno));
        return sp;
    }
    if (tw_pread_all(sp->fd, h, sizeof(h), 0) != 0 || memcmp(h, "TWSPOOL1", 8) != 0 ||
        tw_le_get32(h + 40) != crc32_of(h, 40))
        return fail_open(sp, err, errlen, path, "not a tapwatch spool file (move it away)");
    if (tw_le_get32(h + 8) != VERSION || tw_le_get32(h + 12) != SLOT_SIZE || tw_le_get64(h + 16) == 0)
        return fail_open(sp, err, errlen, path,
                         "written by another tapwatch version (replay it with that one)");
    sp->capacity = tw_le_get64(h + 16);
    sp->done = tw_le_get64(h + 24);
    sp->tail = tw_le_get64(h + 32);
    if (sp->tail < sp->done)
        sp->tail = sp->done;
    /* records appended after the header was last written */
    while (sp->tail - sp->done < sp->capacity &&
           tw_pread_all(sp->fd, slot, sizeof(slot), slot_off(sp, sp->tail)) == 0 &&
           valid_slot(slot, sp->tail))
        sp->tail++;
    sp->read = sp->done;
    *recovered = sp->tail - sp->done;
    if (*recovered == 0 && reset(sp) != 0)
        return fail_open(sp, err, errlen, path, strerror(errno));
    return sp;
}

int tw_spool_flush(struct tw_spool *sp)
{
    uint64_t first = sp->tail - sp->nstaged;
    unsigned done = 0;

    while (done < sp->nstaged) {
        uint64_t n = first + done;
        unsigned run = sp->nstaged - done;
        uint64_t to_end = sp->capacity - n % sp->capacity;
        if (run > to_end)
            run = (unsigned)to_end;
        if (tw_pwrite_all(sp->fd, sp->stage + (size_t)done * SLOT_SIZE, (size_t)run * SLOT_SIZE,
                      slot_off(sp, n)) != 0)
            return -1;
        done += run;
    }
    sp->nstaged = 0;
    return 0;
}

int tw_spool_append(struct tw_spool *sp, const struct tw_flow_record *r)
{
    uint8_t *slot;

    if (sp->tail - sp->done >= sp->capacity) {
        errno = ENOSPC;
        return -1;
    }
    if (sp->nstaged == STAGE && tw_spool_flush(sp) != 0)
        return -1;
    slot = sp->stage + (size_t)sp->nstaged * SLOT_SIZE;
    memcpy(slot + SLOT_HEAD, r, sizeof(*r));
    tw_le_put32(slot, SLOT_MAGIC);
    tw_le_put32(slot + 4, crc32_of(r, sizeof(*r)));
    tw_le_put64(slot + 8, sp->tail);
    sp->nstaged++;
    sp->tail++;
    return 0;
}

uint64_t tw_spool_unread(const struct tw_spool *sp)
{
    return sp->tail - sp->read;
}

uint64_t tw_spool_pending(const struct tw_spool *sp)
{
    return sp->tail - sp->done;
}

int tw_spool_read(struct tw_spool *sp, struct tw_flow_record *out, uint64_t *numbers, int max,
                  uint64_t *corrupt)
{
    uint8_t buf[64 * SLOT_SIZE];
    int got = 0;

    if (sp->nstaged > 0 && tw_spool_flush(sp) != 0)
        return -1;
    while (got < max && sp->read < sp->tail) {
        uint64_t n = sp->read, run = sp->tail - n, to_end = sp->capacity - n % sp->capacity;
        if (run > to_end)
            run = to_end;
        if (run > 64)
            run = 64;
        if (run > (uint64_t)(max - got))
            run = (uint64_t)(max - got);
        if (tw_pread_all(sp->fd, buf, (size_t)run * SLOT_SIZE, slot_off(sp, n)) != 0)
            return -1;
        for (uint64_t i = 0; i < run; i++) {
            const uint8_t *slot = buf + i * SLOT_SIZE;
            if (!valid_slot(slot, n + i)) {
                (*corrupt)++;
                continue;
            }
            memcpy(&out[got], slot + SLOT_HEAD, sizeof(*out));
            numbers[got++] = n + i;
        }
        sp->read += run;
    }
    return got;
}

int tw_spool_ack(struct tw_spool *sp, uint64_t number, uint64_t now_ms)
{
    if (number + 1 <= sp->done || number >= sp->tail)
        return 0;
    sp->done = number + 1;
    if (sp->done == sp->tail && sp->read == sp->tail)
        return reset(sp);
    if (now_ms - sp->last_header_ms >= HEADER_EVERY_MS || now_ms < sp->last_header_ms) {
        sp->last_header_ms = now_ms;
        if (tw_spool_flush(sp) != 0)
            return -1;
        return write_header(sp);
    }
    return 0;
}

void tw_spool_close(struct tw_spool *sp)
{
    if (sp == NULL)
        return;
    if (tw_spool_flush(sp) == 0)
        write_header(sp);
    close(sp->fd);
    free(sp);
}
