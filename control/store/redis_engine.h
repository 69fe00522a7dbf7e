/* redis_engine.h - one non-blocking, pipelined Redis connection, shared by the writers.
 *
 *   writer ──tw_engine_begin / RESP bytes / tw_engine_commit──> batches in flight (bytes kept)
 *   tw_engine_poll: connect (never waits) ─> hello (the writer's handshake) ─> send batches
 *                   replies ──ops.reply──> ok / retry / refused / reload ──ops.done──> writer
 *
 * The engine knows nothing of what it carries. A writer encodes a batch of RESP commands once
 * into the engine's buffer and commits it with a tag it chooses; the engine keeps the bytes
 * until every reply of the batch came back OK, so a batch is sent again byte for byte after a
 * reconnect or a refusal, and batches always go (and go again) in the order they were made.
 *
 * What the engine does, so that no writer does it again:
 *  - connects without waiting (a non-blocking connect that later polls finish, given up after
 *    1 s), reconnects at most once a second, throws a failed connection away;
 *  - speaks TCP, a unix socket or TLS (redis_transport.h: chosen once from the URL); on
 *    every new connection sends AUTH [user] password first when the target has a password,
 *    then ops.hello (SCRIPT LOAD); no batch is made until their replies are back;
 *  - a refusal that is the configuration's fault (NOAUTH, WRONGPASS, NOPERM, READONLY,
 *    tw_redis_config_error), in the hello or in a batch, keeps every batch waiting, sent
 *    again as after a RETRY (never given up): the writers spool as in an outage, and
 *    tw_engine_refusal says what Redis said until a batch (or the hello) goes through;
 *  - when asked (tw_engine_sample_evictions), sends INFO stats every so often between the
 *    batches and keeps Redis's evicted_keys (keys Redis threw away for memory);
 *  - a reply the writer calls RETRY or REFUSED: the batches after it are waited for, then all
 *    are sent again from that one after a pause growing to 1 s; a batch REFUSED
 *    TW_ENGINE_TRIES times is given up (ops.done with ok 0). RELOAD sends the hello again
 *    before the batches, without a pause and without counting a try;
 *  - no byte from Redis for 5 s with replies due: the connection is dropped and rebuilt.
 */
#ifndef TW_REDIS_ENGINE_H
#define TW_REDIS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#define TW_ENGINE_TRIES 3     /* refusals of a batch that retrying cannot fix */
#define TW_ENGINE_FLIGHTS 8   /* batches sent and not yet answered */

/* What both writers on the engine are given (store.h, alert_writer.h): the part of the
 * [redis] configuration they share, filled once (control/plane/outputs.c). */
struct tw_redis_target;
struct tw_writer_params {
    const char *url;      /* unix:///path or redis://host:port, when target is NULL */
    const struct tw_redis_target *target; /* the URL with credentials and TLS (redis_conn.h),
                                           * shared by every writer; NULL: url, no AUTH */
    const char *sensor;
    uint32_t retention_s; /* redis.retention */
    uint32_t batch;       /* items per pipelined write */
    uint32_t flush_ms;    /* a partial batch waits at most this long */
    const char *run_dir;  /* what is left at exit waits there for the next start (spill.h);
                           * NULL = nowhere */
};

/* A growable byte buffer for RESP commands; oom is set (and sticks until reset) when it
 * cannot grow, so an encoder checks once at the end. */
struct tw_buf {
    char *p;
    size_t len, cap;
    int oom;
};

/* Room for extra more bytes at b->p + b->len, or NULL (b->oom set). */
char *tw_buf_room(struct tw_buf *b, size_t extra);
/* RESP pieces: "*<n>\r\n", "<c><n>\r\n", a bulk string "$<n>\r\n<bytes>\r\n". */
void tw_buf_array(struct tw_buf *b, size_t n);
void tw_buf_head(struct tw_buf *b, char c, size_t n);
void tw_buf_bulk(struct tw_buf *b, const void *s, size_t n);
void tw_buf_str(struct tw_buf *b, const char *s);
void tw_buf_u64(struct tw_buf *b, uint64_t v);
/* One whole command from argc strings. */
void tw_buf_command(struct tw_buf *b, int argc, const char *const *argv);

/* What a writer says about one reply. */
enum tw_verdict {
    TW_REPLY_OK,
    TW_REPLY_RETRY,   /* a refusal that passes by itself (OOM, LOADING...): pause, send again */
    TW_REPLY_REFUSED, /* a refusal retrying may not fix: given up after TW_ENGINE_TRIES */
    TW_REPLY_RELOAD,  /* the hello must be sent again (NOSCRIPT), then the batch */
};

/* The writer's tag of a batch, given back to it with each reply and when the batch ends. */
struct tw_engine_batch {
    uint32_t items, aux;
    int kind;
    unsigned reply_index; /* set by the engine for ops.reply: which command of the batch */
};

struct tw_engine_ops {
    /* A new connection (or a RELOAD): appends the handshake commands to out and returns how
     * many there are (0 for none), or -1 (the connection is dropped). */
    int (*hello)(void *ctx, struct tw_buf *out);
    /* One reply: of the hello when b is NULL (anything but OK drops the connection), else of
     * batch b. */
    enum tw_verdict (*reply)(void *ctx, const struct tw_engine_batch *b, const redisReply *r);
    /* Batch b is finished: every reply OK (ok 1), or given up after refusals (ok 0). */
    void (*done)(void *ctx, const struct tw_engine_batch *b, int ok);
};

struct tw_engine_stats {
    uint64_t errors;     /* failed connections, refused batches */
    uint64_t reconnects; /* connections made again after a failure */
    uint64_t evicted_keys; /* Redis's INFO stats evicted_keys, last sampled */
    int evicted_known;     /* 1 once a sample came back */
    int connected;
    uint64_t wait_us, wait_max_us; /* redis.wait_replicas: time batches waited for replicas */
    uint64_t wait_resent;          /* batches sent again: WAIT counted too few replicas */
};

struct tw_engine;

/* Starts connecting to target (borrowed: it must outlive the engine), or when target is NULL
 * to url (parsed here, no credentials). Returns the engine, or NULL with a one-line reason in
 * err (bad URL, no memory). */
struct tw_engine *tw_engine_open(const char *url, const struct tw_redis_target *target,
                                 const struct tw_engine_ops *ops, void *ctx, char *err,
                                 size_t errlen);

/* Samples INFO stats every every_ms (0: never), for tw_engine_stats.evicted_keys. */
void tw_engine_sample_evictions(struct tw_engine *e, uint32_t every_ms);

/* What Redis said when it last refused us for a configuration reason ("NOPERM this user has
 * no permissions..."), or NULL while it does not. */
const char *tw_engine_refusal(const struct tw_engine *e);
/* Why the last connection failed or was dropped, or NULL while connected. */
const char *tw_engine_last_error(const struct tw_engine *e);

/* The URL the engine was opened with, password cut out, for messages. */
const char *tw_engine_url(const struct tw_engine *e);

/* Does the I/O that is due, without waiting: connects or finishes connecting (at most one
 * try a second), reads replies (calling ops.reply and ops.done), sends what the socket takes.
 * now_ms is monotonic. Returns 0, or -1 while Redis is unreachable. */
int tw_engine_poll(struct tw_engine *e, uint64_t now_ms);

/* 1 when a new batch may be made now: connected, hello answered, a flight free, no refusal
 * being sorted out or paused for, and not too many unsent bytes. */
int tw_engine_ready(const struct tw_engine *e, uint64_t now_ms);

/* The buffer to append one batch's commands to; then tw_engine_commit or tw_engine_abort. */
struct tw_buf *tw_engine_begin(struct tw_engine *e);
/* Makes the commands appended since tw_engine_begin a batch of ncmds replies, tagged b.
 * Returns 0, or -1 when the buffer ran out of memory (the batch is forgotten, counted). */
int tw_engine_commit(struct tw_engine *e, const struct tw_engine_batch *b, unsigned ncmds,
                     uint64_t now_ms);
void tw_engine_abort(struct tw_engine *e);

/* Batches made and not finished. */
unsigned tw_engine_in_flight(const struct tw_engine *e);

/* Waits up to timeout_ms for the socket to be readable or writable (or sleeps when nothing
 * is due). For callers with nothing else to do, such as a drain. Returns 1 when ready. */
int tw_engine_wait(struct tw_engine *e, unsigned timeout_ms);

void tw_engine_get_stats(const struct tw_engine *e, struct tw_engine_stats *out);
/* The engine's part of a writer's stats: sets *connected and *reconnects, and adds the
 * engine's errors to *errors (which holds the writer's own). */
void tw_engine_fold_stats(const struct tw_engine *e, int *connected, uint64_t *reconnects,
                          uint64_t *errors);

/* redis.wait_replicas: each batch ends with WAIT n timeout_ms; a batch whose WAIT counts
 * fewer than n replicas is sent again (batches are idempotent), so a master that dies after
 * answering loses nothing that its replica had not. n 0: no WAIT (the default). */
void tw_engine_set_wait(struct tw_engine *e, unsigned n, unsigned timeout_ms);

/* The socket to wait on (for the cluster's poll over its nodes): fills pfd, returns 1, or 0
 * when nothing is to be waited on. */
struct pollfd;
int tw_engine_pollfd(const struct tw_engine *e, struct pollfd *pfd);

/* Closes the connection and frees the engine (unfinished batches are forgotten). NULL is
 * fine. */
void tw_engine_close(struct tw_engine *e);

#endif
