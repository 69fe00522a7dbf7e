/* spool.c - the store's on-disk buffer (see spool.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

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

static uint32_t crc_table[256];

static uint32_t crc32_of(const void *data, size_t n)
{
    const uint8_t *p = data;
    uint32_t c = 0xffffffffu;

    if (crc_table[1] == 0)
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t v = i;
            for (int k = 0; k < 8; k++)
                v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
            crc_table[i] = v;
        }
    for (size_t i = 0; i < n; i++)
        c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int write_all(int fd, const void *buf, size_t n, off_t off)
{
    const uint8_t *p = buf;

    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

static int read_all(int fd, void *buf, size_t n, off_t off)
{
    uint8_t *p = buf;

    while (n > 0) {
        ssize_t r = pread(fd, p, n, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
        off += r;
    }
    return 0;
}

static int write_header(struct tw_spool *sp)
{
    uint8_t h[HEADER_SIZE] = "TWSPOOL1";

    put32(h + 8, VERSION);
    put32(h + 12, (uint32_t)SLOT_SIZE);
    put64(h + 16, sp->capacity);
    put64(h + 24, sp->done);
    put64(h + 32, sp->tail - sp->nstaged); /* what is in the file */
    put32(h + 40, crc32_of(h, 40));
    return write_all(sp->fd, h, sizeof(h), 0);
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
    return get32(slot) == SLOT_MAGIC && get64(slot + 8) == number &&
           get32(slot + 4) == crc32_of(slot + SLOT_HEAD, sizeof(struct tw_flow_record));
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
    if (read_all(sp->fd, h, sizeof(h), 0) != 0 || memcmp(h, "TWSPOOL1", 8) != 0 ||
        get32(h + 40) != crc32_of(h, 40))
        return fail_open(sp, err, errlen, path, "not a tapwatch spool file (move it away)");
    if (get32(h + 8) != VERSION || get32(h + 12) != SLOT_SIZE || get64(h + 16) == 0)
        return fail_open(sp, err, errlen, path,
                         "written by another tapwatch version (replay it with that one)");
    sp->capacity = get64(h + 16);
    sp->done = get64(h + 24);
    sp->tail = get64(h + 32);
    if (sp->tail < sp->done)
        sp->tail = sp->done;
    /* records appended after the header was last written */
    while (sp->tail - sp->done < sp->capacity &&
           read_all(sp->fd, slot, sizeof(slot), slot_off(sp, sp->tail)) == 0 &&
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
        if (write_all(sp->fd, sp->stage + (size_t)done * SLOT_SIZE, (size_t)run * SLOT_SIZE,
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
    put32(slot, SLOT_MAGIC);
    put32(slot + 4, crc32_of(r, sizeof(*r)));
    put64(slot + 8, sp->tail);
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
        if (read_all(sp->fd, buf, (size_t)run * SLOT_SIZE, slot_off(sp, n)) != 0)
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
