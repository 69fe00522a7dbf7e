/* evidence_log.c - numbering, chaining and sealing the sensor's evidence (see
 * evidence_log.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/record/fleet_keys.h"
#include "control/store/evidence_log.h"
#include "control/store/run_dir.h"
#include "dataplane/clock.h"


struct tw_evlog {
    char sensor[64];
    char run[TW_CHAIN_RUN_LEN + 1];
    uint64_t run_id;
    struct tw_sign_key key;
    uint32_t ttl_s, keep_s;
    uint64_t lng[TW_SEAL_LONG_MAX];      /* the long-lived items since the last seal */
    unsigned nlong;
    uint64_t seq;                        /* the last item's number */
    uint64_t stmt_seq;                   /* the last statement's number, 0 none yet */
    struct tw_chain cur;                 /* the items since the last seal, hashed */
    uint64_t sealed;                     /* the last sealed number */
    uint8_t sealed_h[TW_CHAIN_HASH_LEN]; /* the last seal's chain value (h(0) at first) */
    uint8_t prev_seal[TW_CHAIN_HASH_LEN];
    uint64_t seal_no;
    uint64_t last_seal_ms;
    char path[512];                      /* run_dir/evidence-seals-<sensor>.txt, "" = none */
    /* the queue: lines head .. head+count-1, the first `sent` of them in flight */
    char (*lines)[TW_SEAL_TEXT_MAX];
    unsigned head, count, sent;
    tw_evlog_seal_fn on_seal; /* the witness, told each new seal line */
    void *on_seal_ctx;
};

static int queue_push(struct tw_evlog *ev, const char *line, size_t len)
{
    if (ev->count == TW_EVLOG_QUEUE || len >= TW_SEAL_TEXT_MAX)
        return -1;
    char *dst = ev->lines[(ev->head + ev->count) % TW_EVLOG_QUEUE];
    memcpy(dst, line, len);
    dst[len] = '\0';
    ev->count++;
    return 0;
}

/* Queues the lines an earlier run left (each checked to be a seal line), then removes the
 * file: from now on they are in memory, and persisted again if this run ends in an outage. */
static int load_left(struct tw_evlog *ev, char *err, size_t errlen)
{
    int fd = open(ev->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    char line[TW_SEAL_TEXT_MAX + 2];
    FILE *f;

    if (fd < 0)
        return errno == ENOENT ? 0 : (snprintf(err, errlen, "%s: %s", ev->path, strerror(errno)), -1);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
        st.st_uid != geteuid() || (f = fdopen(fd, "r")) == NULL) {
        close(fd);
        snprintf(err, errlen, "%s: not a regular file of ours", ev->path);
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t n = strcspn(line, "\n");
        struct tw_seal s;
        if (tw_seal_parse(line, n, &s) == 0) /* anything else is not ours to send */
            queue_push(ev, line, n);
    }
    fclose(f);
    unlink(ev->path);
    return 0;
}

struct tw_evlog *tw_evlog_open(const struct tw_evlog_params *p, char *err, size_t errlen)
{
    struct tw_evlog *ev = calloc(1, sizeof(*ev));

    if (ev == NULL || (ev->lines = calloc(TW_EVLOG_QUEUE, TW_SEAL_TEXT_MAX)) == NULL) {
        snprintf(err, errlen, "signing: out of memory");
        goto fail;
    }
    if (strlen(p->sensor) >= sizeof(ev->sensor)) {
        snprintf(err, errlen, "signing: sensor name too long");
        goto fail;
    }
    if (tw_sign_key_load(p->key_path, &ev->key, err, errlen) != 0)
        goto fail;
    snprintf(ev->sensor, sizeof(ev->sensor), "%s", p->sensor);
    ev->run_id = tw_wall_us();
    snprintf(ev->run, sizeof(ev->run), "%016" PRIx64, ev->run_id);
    ev->ttl_s = p->hot_window_s;
    ev->keep_s = p->retention_s ? p->retention_s : p->hot_window_s;
    tw_chain_start(ev->sensor, ev->run, ev->sealed_h);
    if (tw_chain_begin(&ev->cur, ev->sealed_h) != 0) {
        snprintf(err, errlen, "signing: out of memory");
        goto fail;
    }
    ev->last_seal_ms = tw_mono_ms();
    if (p->run_dir != NULL && p->run_dir[0] != '\0') {
        char part[TW_NS_LEN];
        tw_namespace_file_part(p->sensor, part, sizeof(part));
        int n = snprintf(ev->path, sizeof(ev->path), "%s/evidence-seals-%s.txt", p->run_dir, part);
        if (n < 0 || (size_t)n >= sizeof(ev->path)) {
            snprintf(err, errlen, "signing: run_dir too long for the seal file");
            goto fail;
        }
        if (load_left(ev, err, errlen) != 0)
            goto fail;
    }
    return ev;
fail:
    tw_evlog_close(ev);
    return NULL;
}

void tw_evlog_close(struct tw_evlog *ev)
{
    if (ev == NULL)
        return;
    tw_sign_key_wipe(&ev->key);
    tw_chain_free(&ev->cur);
    free(ev->lines);
    free(ev);
}

const char *tw_evlog_run(const struct tw_evlog *ev) { return ev->run; }
uint64_t tw_evlog_run_id(const struct tw_evlog *ev) { return ev->run_id; }
const char *tw_evlog_fingerprint(const struct tw_evlog *ev) { return ev->key.fpr; }
uint64_t tw_evlog_next_seq(const struct tw_evlog *ev) { return ev->seq + 1; }

uint64_t tw_evidence_append(struct tw_evlog *ev, char kind, const void *bytes, size_t len)
{
    ev->seq++;
    tw_chain_add(&ev->cur, kind, ev->seq, bytes, len);
    if (kind != TW_ITEM_RECORD && kind != TW_ITEM_GAP) {
        /* (with the seal queue full no seal can be made: an item past the list is then told
         * as a record is, expired after the hot window) */
        if (ev->nlong < TW_SEAL_LONG_MAX)
            ev->lng[ev->nlong++] = ev->seq;
        if (ev->nlong == TW_SEAL_LONG_MAX)
            tw_evlog_seal(ev, tw_mono_ms()); /* the list is full: sealed now */
    }
    return ev->seq;
}

int tw_evlog_append_json(struct tw_evlog *ev, char kind, const char *json, size_t len,
                         char *out, size_t cap, uint64_t *seq)
{
    int n = tw_chain_json_tag(json, len, ev->seq + 1, ev->run, out, cap);

    if (n < 0)
        return -1;
    uint64_t s = tw_evidence_append(ev, kind, out, (size_t)n);
    if (seq != NULL)
        *seq = s;
    return n;
}

void tw_evlog_statement_seq(void *ctx, struct tw_statement *st)
{
    struct tw_evlog *ev = ctx;

    st->run_us = ev->run_id;
    st->seq_first = ev->stmt_seq + 1;
    st->seq_last = ev->seq;
    st->seq = ev->seq + 1;
}

void tw_evlog_statement_append(void *ctx, const struct tw_statement *st, const char *text,
                               size_t len)
{
    struct tw_evlog *ev = ctx;

    (void)st; /* its seq is tw_evlog_statement_seq's, the next number: nothing came between */
    ev->stmt_seq = tw_evidence_append(ev, TW_ITEM_STATEMENT, text, len);
}

int tw_evlog_seal_due(const struct tw_evlog *ev, uint64_t now_ms)
{
    return ev->seq > ev->sealed && now_ms - ev->last_seal_ms >= 1000;
}

void tw_evlog_seal(struct tw_evlog *ev, uint64_t now_ms)
{
    struct tw_seal s;
    char line[TW_SEAL_TEXT_MAX];
    int n;

    if (ev->seq == ev->sealed || ev->count == TW_EVLOG_QUEUE)
        return; /* nothing new, or the queue is full: the next seal covers more */
    memset(&s, 0, sizeof(s));
    snprintf(s.sensor, sizeof(s.sensor), "%s", ev->sensor);
    memcpy(s.run, ev->run, sizeof(s.run));
    s.no = ev->seal_no + 1;
    s.first = ev->sealed + 1;
    s.last = ev->seq;
    memcpy(s.prev_chain, ev->sealed_h, sizeof(s.prev_chain));
    tw_chain_end(&ev->cur, s.chain);
    memcpy(s.prev_seal, ev->prev_seal, sizeof(s.prev_seal));
    s.time_us = tw_wall_us();
    s.ttl_s = ev->ttl_s;
    s.keep_s = ev->keep_s;
    memcpy(s.lng, ev->lng, sizeof(s.lng));
    s.nlong = ev->nlong;
    /* the hash goes on from this seal's chain value, whatever happens to the line */
    tw_chain_begin(&ev->cur, s.chain);
    if ((n = tw_seal_sign(&s, &ev->key, line, sizeof(line))) < 0 ||
        queue_push(ev, line, (size_t)n) != 0)
        return; /* cannot happen: checked above, and a line fits TW_SEAL_TEXT_MAX */
    ev->seal_no++;
    ev->sealed = ev->seq;
    ev->nlong = 0;
    memcpy(ev->sealed_h, s.chain, sizeof(s.chain));
    tw_seal_hash(&s, ev->prev_seal);
    ev->last_seal_ms = now_ms;
    if (ev->on_seal != NULL)
        ev->on_seal(ev->on_seal_ctx, line, (size_t)n);
}

void tw_evlog_on_seal(struct tw_evlog *ev, tw_evlog_seal_fn fn, void *ctx)
{
    ev->on_seal = fn;
    ev->on_seal_ctx = ctx;
}

uint64_t tw_evlog_seals(const struct tw_evlog *ev) { return ev->seal_no; }

unsigned tw_evlog_unsent(const struct tw_evlog *ev) { return ev->count - ev->sent; }

const char *tw_evlog_line(const struct tw_evlog *ev, unsigned i, char *field)
{
    const char *line = ev->lines[(ev->head + ev->sent + i) % TW_EVLOG_QUEUE];
    struct tw_seal s;

    if (tw_seal_parse(line, strlen(line), &s) != 0)
        snprintf(field, TW_SEAL_FIELD_LEN + 1, "bad");
    else
        tw_seal_field(&s, field);
    return line;
}

void tw_evlog_sent(struct tw_evlog *ev, unsigned n) { ev->sent += n; }

void tw_evlog_done(struct tw_evlog *ev, unsigned n)
{
    if (n > ev->sent)
        n = ev->sent;
    ev->head = (ev->head + n) % TW_EVLOG_QUEUE;
    ev->count -= n;
    ev->sent -= n;
}

int tw_evlog_unsealed(const struct tw_evlog *ev) { return ev->seq > ev->sealed; }

int tw_evlog_busy(const struct tw_evlog *ev) { return ev->seq > ev->sealed || ev->count > 0; }

long tw_evlog_persist(struct tw_evlog *ev, char *err, size_t errlen)
{
    char tmp[sizeof(ev->path) + 8];
    int fd;
    FILE *f;

    if (ev->count == 0 || ev->path[0] == '\0')
        return 0;
    snprintf(tmp, sizeof(tmp), "%s.new", ev->path);
    unlink(tmp);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
        (f = fdopen(fd, "w")) == NULL) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (unsigned i = 0; i < ev->count; i++)
        fprintf(f, "%s\n", ev->lines[(ev->head + i) % TW_EVLOG_QUEUE]);
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    bad = fclose(f) != 0 || bad;
    if (bad || rename(tmp, ev->path) != 0) {
        snprintf(err, errlen, "%s: %s", ev->path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return (long)ev->count;
}
