/* redis_engine.c - the writers' non-blocking Redis connection (see redis_engine.h).
 *
 *   q (bytes of every unfinished batch, in order):
 *   | flight 0 | flight 1 | flight 2 | ...            flights[i].len bytes each
 *   ^base      ^          ^sent                       base moves when flight 0 is finished;
 *                                                     sent goes back to base to send again
 *   hello: the handshake, sent on a new connection before q
 *
 * Replies come back in the order commands went out: first the hello's, then flight rx's.
 * While a refusal is sorted out (`rewinding`), the flights after the refused one are only
 * waited for; once all replies are back, everything is sent again from flight 0.
 */
#include "control/store/redis_engine.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "control/store/redis_cluster.h"
#include "control/store/redis_conn.h"
#include "control/store/redis_transport.h"

#define CONNECT_TIMEOUT_MS 1000
#define RECONNECT_EVERY_MS 1000
#define REPLY_TIMEOUT_MS 5000 /* no byte from Redis for this long with replies due */
#define HOLD_MAX_MS 1000      /* longest pause after a refusal */
#define OUT_HIGH (4u << 20)   /* unsent bytes beyond which no batch is made */

/* ---- RESP encoding ---- */

char *tw_buf_room(struct tw_buf *b, size_t extra)
{
    if (b->oom)
        return NULL;
    if (b->len + extra > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + extra)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    return b->p + b->len;
}

void tw_buf_head(struct tw_buf *b, char c, size_t n)
{
    char tmp[24];
    int k = 0;
    char *p = tw_buf_room(b, 24);

    if (p == NULL)
        return;
    do {
        tmp[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n != 0);
    *p++ = c;
    while (k > 0)
        *p++ = tmp[--k];
    *p++ = '\r';
    *p++ = '\n';
    b->len = (size_t)(p - b->p);
}

void tw_buf_array(struct tw_buf *b, size_t n)
{
    tw_buf_head(b, '*', n);
}

void tw_buf_bulk(struct tw_buf *b, const void *s, size_t n)
{
    char *p;

    tw_buf_head(b, '$', n);
    if ((p = tw_buf_room(b, n + 2)) == NULL)
        return;
    memcpy(p, s, n);
    memcpy(p + n, "\r\n", 2);
    b->len += n + 2;
}

void tw_buf_str(struct tw_buf *b, const char *s)
{
    tw_buf_bulk(b, s, strlen(s));
}

void tw_buf_u64(struct tw_buf *b, uint64_t v)
{
    char text[24];

    tw_buf_bulk(b, text, (size_t)snprintf(text, sizeof(text), "%" PRIu64, v));
}

void tw_buf_command(struct tw_buf *b, int argc, const char *const *argv)
{
    tw_buf_array(b, (size_t)argc);
    for (int i = 0; i < argc; i++)
        tw_buf_str(b, argv[i]);
}

/* ---- the engine ---- */

struct flight {
    struct tw_engine_batch tag;
    size_t len;          /* its bytes in q */
    unsigned ncmds, got; /* replies expected, replies read */
    unsigned retry, refused, reload;
    int internal;        /* the engine's own INFO sample, not a writer's batch */
    int wait;            /* its last command is the engine's WAIT (redis.wait_replicas) */
    unsigned short_acks; /* WAIT answered fewer replicas than asked: sent again */
};

enum conn_state { C_DOWN, C_CONNECTING, C_UP };

struct tw_engine {
    const struct tw_redis_target *t;
    struct tw_redis_target *own_t; /* made from a bare URL when no target was given */
    struct tw_engine_ops ops;
    void *ctx;
    struct tw_conn *c;
    redisReader *reader;
    enum conn_state state;
    int down, tried;
    uint64_t last_connect_ms, last_io_ms;
    struct tw_buf hello;
    size_t hello_off;
    unsigned hello_replies; /* hello replies still to come */
    unsigned own_replies;   /* of which the engine's own (AUTH) come first */
    char refusal[160];      /* what Redis said when it refused us (NOPERM...), "" = none */
    int refusal_in_hello;   /* it refused the hello (AUTH...): cleared by a good hello */
    char why[160];          /* the last connection failure */
    uint32_t sample_ms;     /* INFO stats every this often (0 = never) */
    uint64_t last_sample_ms;
    int need_hello;         /* a RELOAD: send the hello again before the batches */
    struct tw_buf q;
    size_t base, sent, begin;
    struct flight flights[TW_ENGINE_FLIGHTS];
    unsigned nflights, rx;  /* rx: the flight whose replies come now */
    int rewinding;
    unsigned tries;         /* refusals since flight 0 last changed */
    uint64_t hold_until_ms;
    struct tw_engine_stats st;
    unsigned wait_n, wait_ms; /* redis.wait_replicas, its timeout */
    uint64_t data_us;         /* when the reply before a WAIT came (the wait starts) */
    struct tw_cluster *cl;    /* redis.cluster: the engine is a router over one per node */
};

struct tw_engine *tw_engine_open(const char *url, const struct tw_redis_target *target,
                                 const struct tw_engine_ops *ops, void *ctx, char *err,
                                 size_t errlen)
{
    struct tw_engine *e = calloc(1, sizeof(*e));

    if (e == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "redis: out of memory");
        return NULL;
    }
    if (target == NULL && (e->own_t = tw_redis_target_open(url, NULL, err, errlen)) == NULL) {
        free(e);
        return NULL;
    }
    e->t = target != NULL ? target : e->own_t;
    e->ops = *ops;
    e->ctx = ctx;
    if (e->t->cluster &&
        (e->cl = tw_cluster_open(e->t, ops, ctx, err, errlen)) == NULL) {
        tw_engine_close(e);
        return NULL;
    }
    if (!e->t->cluster)
        tw_engine_set_wait(e, e->t->wait_replicas, e->t->wait_timeout_ms);
    return e;
}

void tw_engine_set_wait(struct tw_engine *e, unsigned n, unsigned timeout_ms)
{
    e->wait_n = n;
    e->wait_ms = timeout_ms ? timeout_ms : 1000;
}

static uint64_t mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const char *tw_engine_url(const struct tw_engine *e)
{
    return tw_redis_target_url(e->t);
}

void tw_engine_sample_evictions(struct tw_engine *e, uint32_t every_ms)
{
    if (e->cl != NULL)
        tw_cluster_sample_evictions(e->cl, every_ms);
    e->sample_ms = every_ms;
}

const char *tw_engine_refusal(const struct tw_engine *e)
{
    if (e->cl != NULL)
        return tw_cluster_refusal(e->cl);
    return e->refusal[0] ? e->refusal : NULL;
}

const char *tw_engine_last_error(const struct tw_engine *e)
{
    if (e->cl != NULL)
        return tw_cluster_last_error(e->cl);
    return e->why[0] ? e->why : NULL;
}

/* What Redis said refusing us, on one line, for the live line. */
static void set_refusal(struct tw_engine *e, const char *msg, int in_hello)
{
    size_t i;

    for (i = 0; msg[i] && i + 1 < sizeof(e->refusal); i++)
        e->refusal[i] = (unsigned char)msg[i] < 0x20 ? ' ' : msg[i];
    e->refusal[i] = '\0';
    e->refusal_in_hello = in_hello;
}

/* Sends the hello before anything else; RELOAD comes here too. Returns 0 or -1. */
static int queue_hello(struct tw_engine *e)
{
    int n;

    if (e->hello.p != NULL)
        explicit_bzero(e->hello.p, e->hello.cap);
    e->hello.len = e->hello_off = 0;
    e->hello.oom = 0;
    e->need_hello = 0;
    e->own_replies = 0;
    if (e->t->password_len > 0) { /* AUTH [user] password first, so every writer has it */
        const char *argv[3] = {"AUTH"};
        int argc = 1;
        if (e->t->user[0])
            argv[argc++] = e->t->user;
        argv[argc++] = e->t->password;
        tw_buf_command(&e->hello, argc, argv);
        e->own_replies = 1;
    }
    n = e->ops.hello != NULL ? e->ops.hello(e->ctx, &e->hello) : 0;
    if (n < 0 || e->hello.oom) {
        explicit_bzero(e->hello.p, e->hello.cap);
        e->hello.len = 0;
        return -1;
    }
    e->hello_replies = e->own_replies + (unsigned)n;
    return 0;
}

static void drop_connection(struct tw_engine *e)
{
    if (e->c != NULL && e->why[0] == '\0')
        snprintf(e->why, sizeof(e->why), "%s", tw_conn_error(e->c));
    tw_conn_close(e->c);
    e->c = NULL;
    if (e->reader != NULL)
        redisReaderFree(e->reader);
    e->reader = NULL;
    e->state = C_DOWN;
    e->down = 1;
    e->st.errors++;
    if (e->hello.p != NULL)
        explicit_bzero(e->hello.p, e->hello.cap);
    e->hello.len = e->hello_off = 0;
    e->hello_replies = e->own_replies = 0;
    /* every unfinished batch goes again, in order, on the next connection */
    e->sent = e->base;
    e->rx = 0;
    e->rewinding = 0;
    for (unsigned i = 0; i < e->nflights; i++)
        e->flights[i].got = e->flights[i].retry = e->flights[i].refused =
            e->flights[i].reload = 0;
}

/* Starts a connection when down and the last try is old enough; finishes one in progress.
 * Never waits. Returns 0 when connected. */
static int ensure_connected(struct tw_engine *e, uint64_t now_ms)
{
    if (e->state == C_UP)
        return 0;
    if (e->state == C_DOWN) {
        if (e->tried && now_ms - e->last_connect_ms < RECONNECT_EVERY_MS &&
            now_ms >= e->last_connect_ms)
            return -1;
        e->tried = 1;
        e->last_connect_ms = now_ms;
        e->why[0] = '\0';
        if ((e->c = tw_conn_start(e->t, e->why, sizeof(e->why))) == NULL ||
            (e->reader = redisReaderCreate()) == NULL) {
            tw_conn_close(e->c);
            e->c = NULL;
            e->st.errors++;
            e->down = 1;
            return -1;
        }
        e->state = C_CONNECTING;
    }
    int r = tw_conn_step(e->c);
    if (r != 0) {
        if (r < 0 || queue_hello(e) < 0) {
            drop_connection(e);
            return -1;
        }
        e->state = C_UP;
        if (e->down)
            e->st.reconnects++;
        e->down = 0;
        e->why[0] = '\0';
        e->last_io_ms = now_ms;
        return 0;
    }
    if (now_ms - e->last_connect_ms >= CONNECT_TIMEOUT_MS) {
        snprintf(e->why, sizeof(e->why), "no answer within %u ms", CONNECT_TIMEOUT_MS);
        drop_connection(e);
    }
    return -1;
}

/* Sends from buf at *off what the socket takes. Returns 0, or -1 when the connection failed. */
static int send_from(struct tw_engine *e, const struct tw_buf *b, size_t *off, size_t end,
                     uint64_t now_ms)
{
    while (*off < end) {
        ssize_t w = tw_conn_write(e->c, b->p + *off, end - *off);
        if (w <= 0) {
            if (w < 0 && errno == EAGAIN)
                return 0;
            drop_connection(e);
            return -1;
        }
        *off += (size_t)w;
        e->last_io_ms = now_ms;
    }
    return 0;
}

static size_t q_end(const struct tw_engine *e)
{
    size_t end = e->base;

    for (unsigned i = 0; i < e->nflights; i++)
        end += e->flights[i].len;
    return end;
}

static int send_some(struct tw_engine *e, uint64_t now_ms)
{
    if (send_from(e, &e->hello, &e->hello_off, e->hello.len, now_ms) < 0)
        return -1;
    if (e->hello_off < e->hello.len)
        return 0;
    if (e->hello.len > 0) { /* sent: the AUTH in it is not kept */
        explicit_bzero(e->hello.p, e->hello.len);
        e->hello.len = e->hello_off = 0;
    }
    return send_from(e, &e->q, &e->sent, q_end(e), now_ms);
}

/* Flight 0 leaves: its bytes are no longer needed. */
static void remove_first(struct tw_engine *e)
{
    e->base += e->flights[0].len;
    memmove(&e->flights[0], &e->flights[1], (--e->nflights) * sizeof(e->flights[0]));
    e->tries = 0;
    if (e->nflights == 0) {
        e->q.len = e->base = e->sent = 0;
    } else if (e->base > e->q.len / 2) { /* keep the buffer from creeping on */
        memmove(e->q.p, e->q.p + e->base, e->q.len - e->base);
        e->q.len -= e->base;
        e->sent -= e->base;
        e->base = 0;
    }
}

/* Every reply of every flight is back after a refusal: sends all again from flight 0. */
static void rewind_now(struct tw_engine *e, uint64_t now_ms)
{
    struct flight *f = &e->flights[0];
    struct tw_engine_batch tag = f->tag;

    e->rewinding = 0;
    e->rx = 0;
    if (f->retry || f->refused) {
        e->tries++;
        e->st.errors++;
        e->hold_until_ms = now_ms + (e->tries >= 5 ? HOLD_MAX_MS : 50u << e->tries);
    }
    if (f->reload)
        e->need_hello = 1;
    if (f->refused && !f->reload && e->tries >= TW_ENGINE_TRIES) {
        remove_first(e); /* retrying cannot fix it: the writer gives it up */
        e->ops.done(e->ctx, &tag, 0);
    }
    e->sent = e->base; /* the rest goes again, from the first */
    for (unsigned i = 0; i < e->nflights; i++)
        e->flights[i].got = e->flights[i].retry = e->flights[i].refused =
            e->flights[i].reload = 0;
}

/* One reply arrived. Returns 0, or -1 when the stream is out of step (the caller drops). */
static int take_reply(struct tw_engine *e, const redisReply *reply, uint64_t now_ms)
{
    int refused = reply->type == REDIS_REPLY_ERROR && tw_redis_config_error(reply->str);

    if (e->hello_replies > 0) {
        e->hello_replies--;
        if (refused) { /* NOAUTH, WRONGPASS, NOPERM: said, and tried again in a second */
            set_refusal(e, reply->str, 1);
            snprintf(e->why, sizeof(e->why), "refused: %.140s", e->refusal);
            return -1;
        }
        if (e->own_replies > 0) {
            e->own_replies--;
            if (reply->type == REDIS_REPLY_ERROR) {
                snprintf(e->why, sizeof(e->why), "AUTH: %.140s", reply->str);
                return -1;
            }
            return 0;
        }
        if (e->ops.reply(e->ctx, NULL, reply) != TW_REPLY_OK)
            return -1;
        if (e->hello_replies == 0 && e->refusal_in_hello)
            e->refusal[0] = '\0'; /* let in again */
        return 0;
    }
    if (e->rx >= e->nflights)
        return -1; /* a reply nobody asked for */
    struct flight *f = &e->flights[e->rx];
    if (f->internal) { /* INFO stats: the evicted keys; a refusal (no +info) leaves them */
        const char *p;
        if ((reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS) &&
            (p = strstr(reply->str, "\nevicted_keys:")) != NULL) {
            e->st.evicted_keys = strtoull(p + 14, NULL, 10);
            e->st.evicted_known = 1;
        }
        f->got++;
        if (!e->rewinding) {
            remove_first(e); /* rx is 0 here */
            return 0;
        }
        if (++e->rx == e->nflights)
            rewind_now(e, now_ms);
        return 0;
    }
    enum tw_verdict v;
    if (f->wait && f->got + 1 == f->ncmds) { /* the engine's WAIT: enough replicas? */
        uint64_t waited = mono_us() - e->data_us;
        e->st.wait_us += waited;
        if (waited > e->st.wait_max_us)
            e->st.wait_max_us = waited;
        v = TW_REPLY_OK;
        if (reply->type != REDIS_REPLY_INTEGER || reply->integer < (long long)e->wait_n) {
            v = TW_REPLY_RETRY; /* not on enough replicas: the batch goes again */
            f->short_acks++;
            e->st.wait_resent++;
        }
    } else {
        /* the writers' data waits (as in an outage) until the configuration is fixed */
        f->tag.reply_index = f->got;
        v = refused ? TW_REPLY_RETRY : e->ops.reply(e->ctx, &f->tag, reply);
        if (f->wait && f->got + 2 == f->ncmds)
            e->data_us = mono_us();
    }
    if (refused)
        set_refusal(e, reply->str, 0);
    switch (v) {
    case TW_REPLY_OK: break;
    case TW_REPLY_RETRY: f->retry++; break;
    case TW_REPLY_REFUSED: f->refused++; break;
    case TW_REPLY_RELOAD: f->reload++; break;
    }
    if (++f->got < f->ncmds)
        return 0;
    if (!e->rewinding && f->retry + f->refused + f->reload == 0) {
        struct tw_engine_batch tag = f->tag;
        if (!e->refusal_in_hello)
            e->refusal[0] = '\0';
        remove_first(e); /* rx is 0 here: nothing was refused before it */
        e->ops.done(e->ctx, &tag, 1);
        return 0;
    }
    e->rewinding = 1; /* this one (or one before it) goes again */
    if (++e->rx == e->nflights)
        rewind_now(e, now_ms);
    return 0;
}

/* Reads the replies that arrived. Returns 0, or -1 when the connection failed. */
static int read_replies(struct tw_engine *e, uint64_t now_ms)
{
    char chunk[65536];

    for (int rounds = 0; rounds < 64; rounds++) {
        ssize_t r = tw_conn_read(e->c, chunk, sizeof(chunk));
        if (r < 0 && errno == EAGAIN)
            break;
        if (r <= 0 || redisReaderFeed(e->reader, chunk, (size_t)r) != REDIS_OK) {
            if (r == 0)
                snprintf(e->why, sizeof(e->why), "connection closed by the server");
            drop_connection(e);
            return -1;
        }
        e->last_io_ms = now_ms;
        if ((size_t)r < sizeof(chunk) && tw_conn_pending(e->c) == 0)
            break; /* (a TLS read returns one record: more may be there) */
    }
    for (;;) {
        redisReply *reply = NULL;
        if (redisReaderGetReply(e->reader, (void **)&reply) != REDIS_OK) {
            drop_connection(e);
            return -1;
        }
        if (reply == NULL)
            break;
        int rc = take_reply(e, reply, now_ms);
        freeReplyObject(reply);
        if (rc < 0) {
            drop_connection(e);
            return -1;
        }
    }
    return 0;
}

/* 1 when commands went out whose replies have not all come back. */
static int replies_due(const struct tw_engine *e)
{
    return e->hello_replies > 0 || e->sent > e->base;
}

static int commit_flight(struct tw_engine *e, const struct tw_engine_batch *b, unsigned ncmds,
                         uint64_t now_ms, int internal);

int tw_engine_poll(struct tw_engine *e, uint64_t now_ms)
{
    if (e->cl != NULL)
        return tw_cluster_poll(e->cl, now_ms);
    if (ensure_connected(e, now_ms) < 0)
        return -1;
    if (replies_due(e) && read_replies(e, now_ms) < 0)
        return -1;
    if (e->need_hello && !e->rewinding && queue_hello(e) < 0) {
        drop_connection(e);
        return -1;
    }
    if (e->sample_ms != 0 && tw_engine_ready(e, now_ms) &&
        (e->last_sample_ms == 0 || now_ms - e->last_sample_ms >= e->sample_ms ||
         now_ms < e->last_sample_ms)) {
        const char *info[] = {"INFO", "stats"};
        tw_buf_command(tw_engine_begin(e), 2, info);
        if (commit_flight(e, &(struct tw_engine_batch){0}, 1, now_ms, 1) == 0)
            e->flights[e->nflights - 1].internal = 1;
        e->last_sample_ms = now_ms;
    }
    if (e->tries > 0 && now_ms < e->hold_until_ms && e->sent == e->base)
        return 0; /* paused after a refusal: nothing is sent again before the time */
    if (send_some(e, now_ms) < 0)
        return -1;
    if (replies_due(e) && now_ms > e->last_io_ms && now_ms - e->last_io_ms > REPLY_TIMEOUT_MS) {
        drop_connection(e); /* Redis hangs: start over on a new connection */
        return -1;
    }
    return 0;
}

int tw_engine_ready(const struct tw_engine *e, uint64_t now_ms)
{
    if (e->cl != NULL)
        return tw_cluster_ready(e->cl, now_ms);
    return e->state == C_UP && e->hello_replies == 0 && !e->need_hello && !e->rewinding &&
           e->nflights < TW_ENGINE_FLIGHTS && (e->tries == 0 || now_ms >= e->hold_until_ms) &&
           q_end(e) - e->sent < OUT_HIGH;
}

struct tw_buf *tw_engine_begin(struct tw_engine *e)
{
    if (e->cl != NULL)
        return tw_cluster_begin(e->cl);
    e->begin = e->q.len;
    e->q.oom = 0;
    return &e->q;
}

void tw_engine_abort(struct tw_engine *e)
{
    if (e->cl != NULL) {
        tw_cluster_abort(e->cl);
        return;
    }
    e->q.len = e->begin;
    e->q.oom = 0;
}

static int commit_flight(struct tw_engine *e, const struct tw_engine_batch *b, unsigned ncmds,
                         uint64_t now_ms, int internal)
{
    struct flight *f;
    int wait = e->wait_n > 0 && !internal && ncmds > 0;

    if (wait) { /* WAIT n timeout: its reply says how many replicas have the batch */
        char n[16], ms[16];
        const char *argv[] = {"WAIT", n, ms};
        snprintf(n, sizeof(n), "%u", e->wait_n);
        snprintf(ms, sizeof(ms), "%u", e->wait_ms);
        tw_buf_command(&e->q, 3, argv);
        ncmds++;
    }
    if (e->q.oom || ncmds == 0 || e->nflights == TW_ENGINE_FLIGHTS) {
        if (e->q.oom)
            e->st.errors++;
        tw_engine_abort(e);
        return -1;
    }
    f = &e->flights[e->nflights++];
    memset(f, 0, sizeof(*f));
    f->tag = *b;
    f->len = e->q.len - e->begin;
    f->ncmds = ncmds;
    f->wait = wait;
    if (e->nflights == 1 && e->hello_replies == 0)
        e->last_io_ms = now_ms; /* the reply clock starts now */
    return 0;
}

int tw_engine_commit(struct tw_engine *e, const struct tw_engine_batch *b, unsigned ncmds,
                     uint64_t now_ms)
{
    if (e->cl != NULL)
        return tw_cluster_commit(e->cl, b, ncmds, now_ms);
    return commit_flight(e, b, ncmds, now_ms, 0);
}

unsigned tw_engine_in_flight(const struct tw_engine *e)
{
    if (e->cl != NULL)
        return tw_cluster_in_flight(e->cl);
    return e->nflights;
}

int tw_engine_pollfd(const struct tw_engine *e, struct pollfd *pfd)
{
    if (e->state != C_UP || !replies_due(e))
        return 0;
    pfd->fd = tw_conn_fd(e->c);
    pfd->events = tw_conn_events(e->c, e->hello_off < e->hello.len || e->sent < q_end(e));
    pfd->revents = 0;
    if (tw_conn_pending(e->c) > 0)
        pfd->revents = POLLIN; /* already read (TLS): no need to wait */
    return 1;
}

int tw_engine_wait(struct tw_engine *e, unsigned timeout_ms)
{
    if (e->cl != NULL)
        return tw_cluster_wait(e->cl, timeout_ms);
    if (e->state == C_UP && replies_due(e)) {
        int out = e->hello_off < e->hello.len || e->sent < q_end(e);
        struct pollfd pfd = {.fd = tw_conn_fd(e->c), .events = tw_conn_events(e->c, out)};
        if (tw_conn_pending(e->c) > 0)
            return 1;
        return poll(&pfd, 1, (int)timeout_ms) > 0;
    }
    struct timespec nap = {.tv_sec = timeout_ms / 1000,
                           .tv_nsec = (long)(timeout_ms % 1000) * 1000000};
    nanosleep(&nap, NULL);
    return 0;
}

void tw_engine_get_stats(const struct tw_engine *e, struct tw_engine_stats *out)
{
    if (e->cl != NULL) {
        tw_cluster_get_stats(e->cl, out);
        return;
    }
    *out = e->st;
    out->connected = e->state == C_UP;
}

void tw_engine_fold_stats(const struct tw_engine *e, int *connected, uint64_t *reconnects,
                          uint64_t *errors)
{
    if (e->cl != NULL) {
        struct tw_engine_stats st;
        tw_cluster_get_stats(e->cl, &st);
        *connected = st.connected;
        *reconnects = st.reconnects;
        *errors += st.errors;
        return;
    }
    *connected = e->state == C_UP;
    *reconnects = e->st.reconnects;
    *errors += e->st.errors;
}

void tw_engine_close(struct tw_engine *e)
{
    if (e == NULL)
        return;
    tw_cluster_close(e->cl);
    tw_conn_close(e->c);
    if (e->reader != NULL)
        redisReaderFree(e->reader);
    if (e->hello.p != NULL)
        explicit_bzero(e->hello.p, e->hello.cap);
    tw_redis_target_close(e->own_t);
    free(e->hello.p);
    free(e->q.p);
    free(e);
}
