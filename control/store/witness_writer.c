/* witness_writer.c - seal hashes to the witness (see witness_writer.h). */
#include "control/store/witness_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/evidence/witness.h"
#include "control/record/fleet_keys.h"
#include "control/record/keys.h"
#include "control/store/evidence_log.h"
#include "control/store/redis_conn.h"
#include "control/store/redis_engine.h"
#include "control/store/run_dir.h"
#include "dataplane/clock.h"

#define FLUSH_MS 100 /* a partial batch waits at most this long */

struct tw_witness {
    struct tw_engine *e;
    struct tw_evlog *ev;
    char key[TW_KEY_LEN];
    char run_dir[512];
    char path[600];                /* run_dir/witness-seals-<S>.txt, "" = none */
    struct tw_witness_entry *q;    /* ring: head .. head+count-1, the first `sent` in flight */
    unsigned head, count, sent;
    uint64_t last_flush_ms;
    int ended;                     /* the end marker is queued */
    struct tw_witness_stats st;
};

static int push(struct tw_witness *w, const struct tw_witness_entry *e)
{
    if (w->count == TW_WITNESS_QUEUE) {
        w->st.dropped++;
        return -1;
    }
    w->q[(w->head + w->count) % TW_WITNESS_QUEUE] = *e;
    w->count++;
    return 0;
}

void tw_witness_seal(void *ctx, const char *line, size_t len)
{
    struct tw_witness *w = ctx;
    struct tw_witness_entry e;

    if (tw_witness_from_line(line, len, &e) == 0)
        push(w, &e);
}

/* Queues the entries an earlier run left (each checked to be one), then removes the file:
 * from now on they are in memory, and kept again if this run ends without the witness. */
static int load_left(struct tw_witness *w, char *err, size_t errlen)
{
    int fd = open(w->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    char line[TW_WITNESS_FIELD_MAX + TW_WITNESS_VALUE_MAX + 4];
    FILE *f;

    if (fd < 0)
        return errno == ENOENT ? 0 : (snprintf(err, errlen, "evidence.witness: %s: %s", w->path,
                                               strerror(errno)), -1);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
        st.st_uid != geteuid() || (f = fdopen(fd, "r")) == NULL) {
        close(fd);
        snprintf(err, errlen, "evidence.witness: %s: not a regular file of ours", w->path);
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strcspn(line, "\n");
        char *sp = memchr(line, ' ', n);
        struct tw_witness_entry e;
        if (sp != NULL && tw_witness_parse(line, (size_t)(sp - line), sp + 1,
                                           n - (size_t)(sp - line) - 1, &e) == 0 &&
            push(w, &e) == 0)
            w->st.recovered++;
    }
    fclose(f);
    unlink(w->path);
    return 0;
}

static enum tw_verdict on_reply(void *ctx, const struct tw_engine_batch *b, const redisReply *r)
{
    (void)ctx;
    (void)b;
    /* 1: set; 0: the field was there already, from a batch sent again after a reconnect
     * (the witness user cannot read it to tell: HSETNX keeps the first value either way) */
    if (r->type != REDIS_REPLY_ERROR)
        return TW_REPLY_OK;
    return tw_redis_transient_error(r->str) ? TW_REPLY_RETRY : TW_REPLY_REFUSED;
}

static void on_done(void *ctx, const struct tw_engine_batch *b, int ok)
{
    struct tw_witness *w = ctx;
    unsigned n = b->items < w->sent ? b->items : w->sent;

    if (ok)
        w->st.sent += n;
    else
        w->st.dropped += n; /* given up after refusals (not a configuration's: those wait) */
    w->head = (w->head + n) % TW_WITNESS_QUEUE;
    w->count -= n;
    w->sent -= n;
}

static const struct tw_engine_ops engine_ops = {NULL, on_reply, on_done};

static void send_batch(struct tw_witness *w, unsigned n, uint64_t now_ms)
{
    struct tw_buf *out = tw_engine_begin(w->e);
    struct tw_engine_batch tag = {.items = n};

    for (unsigned i = 0; i < n; i++) {
        const struct tw_witness_entry *e = &w->q[(w->head + w->sent + i) % TW_WITNESS_QUEUE];
        char field[TW_WITNESS_FIELD_MAX], value[TW_WITNESS_VALUE_MAX];
        tw_witness_field(e, field);
        tw_witness_value(e, value);
        const char *argv[] = {"HSETNX", w->key, field, value};
        tw_buf_command(out, 4, argv);
    }
    if (tw_engine_commit(w->e, &tag, n, now_ms) < 0) {
        w->st.errors++;
        return;
    }
    w->sent += n;
}

void tw_witness_poll(struct tw_witness *w, uint64_t now_ms)
{
    if (w->count == w->sent) {
        w->last_flush_ms = now_ms;
        if (w->sent == 0)
            return;
    }
    if (tw_engine_poll(w->e, now_ms) < 0)
        return;
    while (w->count - w->sent >= TW_WITNESS_BATCH && tw_engine_ready(w->e, now_ms))
        send_batch(w, TW_WITNESS_BATCH, now_ms);
    if (w->count > w->sent && tw_engine_ready(w->e, now_ms) &&
        now_ms - w->last_flush_ms >= FLUSH_MS) {
        send_batch(w, w->count - w->sent, now_ms);
        w->last_flush_ms = now_ms;
    }
    tw_engine_poll(w->e, now_ms);
}

uint64_t tw_witness_drain(struct tw_witness *w, uint64_t timeout_ms)
{
    uint64_t start = tw_mono_ms(), now = start;

    if (!w->ended && w->ev != NULL && tw_evlog_seals(w->ev) > 0) {
        struct tw_witness_entry e = {.no = 0, .last = tw_evlog_seals(w->ev)};
        snprintf(e.run, sizeof(e.run), "%s", tw_evlog_run(w->ev));
        push(w, &e);
        w->ended = 1;
    }
    while (w->count > 0 && now - start <= timeout_ms) {
        w->last_flush_ms = 0; /* everything now */
        tw_witness_poll(w, now);
        if (w->count > 0)
            tw_engine_wait(w->e, 10);
        now = tw_mono_ms();
    }
    return w->count;
}

int tw_witness_persist(struct tw_witness *w)
{
    char tmp[sizeof(w->path) + 8];
    int fd;
    FILE *f;

    w->st.held = 0;
    if (w->path[0] == '\0')
        return 0;
    if (w->count == 0) {
        unlink(w->path);
        return 0;
    }
    if (tw_run_dir_make(w->run_dir, NULL, 0) != 0)
        return -1;
    snprintf(tmp, sizeof(tmp), "%s.new", w->path);
    unlink(tmp); /* a link planted at the temporary's name is removed, not written through */
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
        return -1;
    if ((f = fdopen(fd, "w")) == NULL) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    for (unsigned i = 0; i < w->count; i++) { /* in flight or not: HSETNX twice is harmless */
        const struct tw_witness_entry *e = &w->q[(w->head + i) % TW_WITNESS_QUEUE];
        char field[TW_WITNESS_FIELD_MAX], value[TW_WITNESS_VALUE_MAX];
        tw_witness_field(e, field);
        tw_witness_value(e, value);
        fprintf(f, "%s %s\n", field, value);
    }
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad = fclose(f) != 0 || bad;
    if (bad || rename(tmp, w->path) != 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    w->st.held = w->count;
    return 0;
}

struct tw_witness *tw_witness_open(const struct tw_witness_params *p, char *err, size_t errlen)
{
    struct tw_witness *w = calloc(1, sizeof(*w));

    if (w == NULL || (w->q = calloc(TW_WITNESS_QUEUE, sizeof(*w->q))) == NULL) {
        snprintf(err, errlen, "evidence.witness: out of memory");
        goto fail;
    }
    if (tw_key_witness(w->key, sizeof(w->key), p->sensor) < 0) {
        snprintf(err, errlen, "evidence.witness: sensor name too long");
        goto fail;
    }
    if (p->run_dir != NULL && p->run_dir[0] != '\0') {
        char part[TW_NS_LEN];
        tw_namespace_file_part(p->sensor, part, sizeof(part));
        snprintf(w->run_dir, sizeof(w->run_dir), "%s", p->run_dir);
        int n = snprintf(w->path, sizeof(w->path), "%s/witness-seals-%s.txt", p->run_dir, part);
        if (n < 0 || (size_t)n >= sizeof(w->path) || strlen(p->run_dir) >= sizeof(w->run_dir)) {
            snprintf(err, errlen, "evidence.witness: run_dir too long for the witness file");
            goto fail;
        }
        if (load_left(w, err, errlen) != 0)
            goto fail;
    }
    if ((w->e = tw_engine_open(NULL, p->target, &engine_ops, w, err, errlen)) == NULL)
        goto fail;
    w->ev = p->evidence;
    if (w->ev != NULL)
        tw_evlog_on_seal(w->ev, tw_witness_seal, w);
    w->last_flush_ms = tw_mono_ms();
    tw_engine_poll(w->e, w->last_flush_ms); /* starts connecting */
    return w;
fail:
    tw_witness_close(w);
    return NULL;
}

void tw_witness_get_stats(const struct tw_witness *w, struct tw_witness_stats *out)
{
    *out = w->st;
    out->pending = w->count;
    tw_engine_fold_stats(w->e, &out->connected, &out->reconnects, &out->errors);
    out->refusal = tw_engine_refusal(w->e);
}

const char *tw_witness_url(const struct tw_witness *w) { return tw_engine_url(w->e); }
const char *tw_witness_path(const struct tw_witness *w) { return w->path; }

void tw_witness_close(struct tw_witness *w)
{
    if (w == NULL)
        return;
    if (w->ev != NULL)
        tw_evlog_on_seal(w->ev, NULL, NULL);
    tw_engine_close(w->e);
    free(w->q);
    free(w);
}
