/* spill.c - the writers' on-disk spill (see spill.h). */
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
#include "control/store/spill.h"

#define MAGIC "TWSPILL1"
#define HEADER_SIZE 64
#define SLOT_HEAD 16
#define SLOT_MAGIC 0x49535754u /* "TWSI" */
#define VERSION 1
#define STAGE 64               /* appends buffered before one write; slots per read */
#define HEADER_EVERY_MS 200
#define ITEM_MAX (1u << 20)

struct tw_spill {
    int fd;
    uint32_t item_size;
    size_t slot_size;
    uint64_t capacity, want_capacity;
    uint64_t done, tail, read; /* item numbers: done <= read <= tail */
    uint64_t last_header_ms;
    unsigned nstaged;
    uint8_t *stage;            /* STAGE slots: appends, then reads */
};

/* CRC-32 (zlib's, the polynomial of Ethernet and gzip) */
static uint32_t crc32_of(const void *data, size_t n)
{
    return (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)n);
}

static int write_header(struct tw_spill *sp)
{
    uint8_t h[HEADER_SIZE] = MAGIC;

    tw_le_put32(h + 8, VERSION);
    tw_le_put32(h + 12, sp->item_size);
    tw_le_put64(h + 16, sp->capacity);
    tw_le_put64(h + 24, sp->done);
    tw_le_put64(h + 32, sp->tail - sp->nstaged); /* what is in the file */
    tw_le_put32(h + 40, crc32_of(h, 40));
    return tw_pwrite_all(sp->fd, h, sizeof(h), 0);
}

static off_t slot_off(const struct tw_spill *sp, uint64_t number)
{
    return (off_t)(HEADER_SIZE + (number % sp->capacity) * sp->slot_size);
}

/* Back to an empty file with the configured capacity. */
static int reset(struct tw_spill *sp)
{
    sp->done = sp->tail = sp->read = 0;
    sp->nstaged = 0;
    sp->capacity = sp->want_capacity;
    if (ftruncate(sp->fd, HEADER_SIZE) != 0)
        return -1;
    return write_header(sp);
}

static int valid_slot(const struct tw_spill *sp, const uint8_t *slot, uint64_t number)
{
    return tw_le_get32(slot) == SLOT_MAGIC && tw_le_get64(slot + 8) == number &&
           tw_le_get32(slot + 4) == crc32_of(slot + SLOT_HEAD, sp->item_size);
}

static struct tw_spill *fail_open(struct tw_spill *sp, char *err, size_t errlen,
                                  const char *path, const char *why)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "redis spill %s: %s", path, why);
    if (sp != NULL) {
        if (sp->fd >= 0)
            close(sp->fd);
        free(sp->stage);
        free(sp);
    }
    return NULL;
}

/* Checks the header of an existing file. Returns NULL, or why it is refused. */
static const char *check_header(const struct tw_spill *sp, const uint8_t *h)
{
    if (memcmp(h, "TWSPOOL1", 8) == 0 || memcmp(h, "TWHOLD01", 8) == 0)
        return "written by an older tapwatch in its own format (replay it with that version, "
               "or move it away)";
    if (memcmp(h, MAGIC, 8) != 0)
        return "not a tapwatch spill file (move it away)";
    if (tw_le_get32(h + 40) != crc32_of(h, 40))
        return "its header is damaged (move it away)";
    if (tw_le_get32(h + 8) != VERSION || tw_le_get32(h + 12) != sp->item_size)
        return "items of another size or version: written by another tapwatch version "
               "(replay it with that one)";
    if (tw_le_get64(h + 16) == 0)
        return "its header is damaged (capacity 0; move it away)";
    return NULL;
}

/* A file of this version but of another item size (signing.key turned on or off changes a
 * record's size) that holds nothing: its header says every item was taken, and no slot was
 * appended after it. Nothing to replay, so it may be made anew with this size. */
static int holds_nothing(const struct tw_spill *sp, const uint8_t *h, off_t size)
{
    struct tw_spill old = *sp;
    uint64_t done = tw_le_get64(h + 24), tail = tw_le_get64(h + 32);
    uint8_t *slot;
    int valid;

    old.item_size = tw_le_get32(h + 12);
    old.slot_size = SLOT_HEAD + (size_t)old.item_size;
    old.capacity = tw_le_get64(h + 16);
    if (tw_le_get32(h + 8) != VERSION || tail != done || old.capacity == 0 ||
        old.item_size == 0 || old.item_size > ITEM_MAX)
        return 0;
    if (size == HEADER_SIZE)
        return 1;
    if ((slot = malloc(old.slot_size)) == NULL)
        return 0;
    valid = tw_pread_all(sp->fd, slot, old.slot_size, slot_off(&old, tail)) == 0 &&
            valid_slot(&old, slot, tail);
    free(slot);
    return !valid;
}

/* Why the file just opened as fd cannot be trusted, or NULL. Nobody else can write to
 * run_dir (run_dir.h); this catches what we would otherwise follow or share: a FIFO or a
 * device at the name, a hard link to a file elsewhere, a file of another user. */
static const char *untrusted(int fd, struct stat *st)
{
    if (fstat(fd, st) != 0)
        return strerror(errno);
    if (!S_ISREG(st->st_mode))
        return "not a regular file (refused; move it away)";
    if (st->st_nlink != 1)
        return "has other hard links (refused; move it away)";
    if (st->st_uid != geteuid())
        return "belongs to another user (refused; move it away)";
    return NULL;
}

/* tw_spill_open, with extra open flags (O_EXCL for a temporary). */
static struct tw_spill *spill_open(const char *path, uint32_t item_size, uint64_t capacity,
                                   uint64_t *recovered, int flags, char *err, size_t errlen)
{
    struct tw_spill *sp;
    struct stat st;
    uint8_t h[HEADER_SIZE];
    const char *why;

    *recovered = 0;
    if (capacity == 0 || item_size == 0 || item_size > ITEM_MAX)
        return fail_open(NULL, err, errlen, path, "capacity 0 or a bad item size");
    if ((sp = calloc(1, sizeof(*sp))) == NULL)
        return fail_open(NULL, err, errlen, path, "out of memory");
    sp->fd = -1;
    sp->item_size = item_size;
    sp->slot_size = SLOT_HEAD + (size_t)item_size;
    sp->want_capacity = sp->capacity = capacity;
    if ((sp->stage = malloc(STAGE * sp->slot_size)) == NULL)
        return fail_open(sp, err, errlen, path, "out of memory");
    /* never through a symbolic link; O_NONBLOCK: a FIFO planted at the name must not
     * block the open (it is refused just after) */
    sp->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | flags, 0600);
    if (sp->fd < 0)
        return fail_open(sp, err, errlen, path,
                         errno == ELOOP ? "is a symbolic link (refused, not followed; move it "
                                          "away)"
                                        : strerror(errno));
    if ((why = untrusted(sp->fd, &st)) != NULL)
        return fail_open(sp, err, errlen, path, why);
    if (flock(sp->fd, LOCK_EX | LOCK_NB) != 0)
        return fail_open(sp, err, errlen, path,
                         errno == EWOULDBLOCK ? "in use by another process" : strerror(errno));
    if (st.st_size == 0) {
        if (reset(sp) != 0)
            return fail_open(sp, err, errlen, path, strerror(errno));
        return sp;
    }
    if (st.st_size < HEADER_SIZE || tw_pread_all(sp->fd, h, sizeof(h), 0) != 0)
        return fail_open(sp, err, errlen, path, "too short to be a tapwatch spill file "
                                                "(move it away)");
    if ((why = check_header(sp, h)) != NULL) {
        if (tw_le_get32(h + 12) == sp->item_size || !holds_nothing(sp, h, st.st_size))
            return fail_open(sp, err, errlen, path, why);
        if (reset(sp) != 0)
            return fail_open(sp, err, errlen, path, strerror(errno));
        return sp;
    }
    sp->capacity = tw_le_get64(h + 16);
    sp->done = tw_le_get64(h + 24);
    sp->tail = tw_le_get64(h + 32);
    if (sp->tail < sp->done)
        sp->tail = sp->done;
    /* items appended after the header was last written; a torn or foreign slot ends it */
    while (sp->tail - sp->done < sp->capacity &&
           tw_pread_all(sp->fd, sp->stage, sp->slot_size, slot_off(sp, sp->tail)) == 0 &&
           valid_slot(sp, sp->stage, sp->tail))
        sp->tail++;
    sp->read = sp->done;
    *recovered = sp->tail - sp->done;
    if (*recovered == 0 && reset(sp) != 0)
        return fail_open(sp, err, errlen, path, strerror(errno));
    return sp;
}

struct tw_spill *tw_spill_open(const char *path, uint32_t item_size, uint64_t capacity,
                               uint64_t *recovered, char *err, size_t errlen)
{
    return spill_open(path, item_size, capacity, recovered, 0, err, errlen);
}

struct tw_spill *tw_spill_create(const char *path, uint32_t item_size, uint64_t capacity,
                                 char *err, size_t errlen)
{
    uint64_t recovered;

    return spill_open(path, item_size, capacity, &recovered, O_EXCL, err, errlen);
}

int tw_spill_flush(struct tw_spill *sp)
{
    uint64_t first = sp->tail - sp->nstaged;
    unsigned done = 0;

    while (done < sp->nstaged) {
        uint64_t n = first + done;
        unsigned run = sp->nstaged - done;
        uint64_t to_end = sp->capacity - n % sp->capacity;
        if (run > to_end)
            run = (unsigned)to_end;
        if (tw_pwrite_all(sp->fd, sp->stage + (size_t)done * sp->slot_size,
                          (size_t)run * sp->slot_size, slot_off(sp, n)) != 0)
            return -1;
        done += run;
    }
    sp->nstaged = 0;
    return 0;
}

int tw_spill_append(struct tw_spill *sp, const void *item)
{
    uint8_t *slot;

    if (sp->tail - sp->done >= sp->capacity) {
        errno = ENOSPC;
        return -1;
    }
    if (sp->nstaged == STAGE && tw_spill_flush(sp) != 0)
        return -1;
    slot = sp->stage + (size_t)sp->nstaged * sp->slot_size;
    memcpy(slot + SLOT_HEAD, item, sp->item_size);
    tw_le_put32(slot, SLOT_MAGIC);
    tw_le_put32(slot + 4, crc32_of(item, sp->item_size));
    tw_le_put64(slot + 8, sp->tail);
    sp->nstaged++;
    sp->tail++;
    return 0;
}

uint64_t tw_spill_unread(const struct tw_spill *sp)
{
    return sp->tail - sp->read;
}

uint64_t tw_spill_pending(const struct tw_spill *sp)
{
    return sp->tail - sp->done;
}

int tw_spill_read(struct tw_spill *sp, void *out, uint64_t *numbers, int max,
                  uint64_t *corrupt)
{
    uint8_t *dst = out;
    int got = 0;

    if (sp->nstaged > 0 && tw_spill_flush(sp) != 0)
        return -1;
    while (got < max && sp->read < sp->tail) {
        uint64_t n = sp->read, run = sp->tail - n, to_end = sp->capacity - n % sp->capacity;
        if (run > to_end)
            run = to_end;
        if (run > STAGE)
            run = STAGE;
        if (run > (uint64_t)(max - got))
            run = (uint64_t)(max - got);
        if (tw_pread_all(sp->fd, sp->stage, (size_t)run * sp->slot_size, slot_off(sp, n)) != 0)
            return -1;
        for (uint64_t i = 0; i < run; i++) {
            const uint8_t *slot = sp->stage + i * sp->slot_size;
            if (!valid_slot(sp, slot, n + i)) {
                (*corrupt)++;
                continue;
            }
            memcpy(dst + (size_t)got * sp->item_size, slot + SLOT_HEAD, sp->item_size);
            numbers[got++] = n + i;
        }
        sp->read += run;
    }
    return got;
}

int tw_spill_ack(struct tw_spill *sp, uint64_t number, uint64_t now_ms)
{
    if (number + 1 <= sp->done || number >= sp->tail)
        return 0;
    sp->done = number + 1;
    if (sp->done == sp->tail && sp->read == sp->tail)
        return reset(sp);
    if (now_ms - sp->last_header_ms >= HEADER_EVERY_MS || now_ms < sp->last_header_ms) {
        sp->last_header_ms = now_ms;
        if (tw_spill_flush(sp) != 0)
            return -1;
        return write_header(sp);
    }
    return 0;
}

void tw_spill_close(struct tw_spill *sp)
{
    if (sp == NULL)
        return;
    if (sp->nstaged == 0 || tw_spill_flush(sp) == 0)
        write_header(sp);
    close(sp->fd);
    free(sp->stage);
    free(sp);
}

int tw_spill_save(const char *path, uint32_t item_size, const void *first, uint64_t n_first,
                  const void *second, uint64_t n_second)
{
    char tmp[4096 + 8];
    const uint8_t *half[2] = {first, second};
    uint64_t n[2] = {n_first, n_second};
    struct tw_spill *sp;
    int rc = 0, saved;

    if (n_first + n_second == 0)
        return tw_spill_remove(path);
    if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    unlink(tmp); /* a leftover of an interrupted save holds nothing path lacks */
    if ((sp = tw_spill_create(tmp, item_size, n_first + n_second, NULL, 0)) == NULL) {
        if (errno == 0)
            errno = EIO;
        return -1;
    }
    for (int h = 0; h < 2 && rc == 0; h++)
        for (uint64_t i = 0; i < n[h] && rc == 0; i++)
            rc = tw_spill_append(sp, half[h] + i * item_size);
    if (rc == 0)
        rc = tw_spill_flush(sp);
    if (rc == 0)
        rc = write_header(sp);
    if (rc == 0)
        rc = fsync(sp->fd);
    saved = errno;
    tw_spill_close(sp);
    if (rc == 0 && rename(tmp, path) == 0)
        return 0;
    saved = rc == 0 ? errno : saved;
    unlink(tmp);
    errno = saved;
    return -1;
}

int tw_spill_remove(const char *path)
{
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
}
