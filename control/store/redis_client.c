/* redis_client.c - blocking commands over the transport (see redis_client.h). */
#include "control/store/redis_client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/store/redis_slot.h"
#include "control/store/redis_transport.h"

#define SIDES_MAX 16 /* cluster nodes a client was redirected to, kept open */

struct tw_rclient;
struct side { /* another node of a cluster, for commands redirected there */
    struct tw_redis_target t;
    struct tw_rclient *c;
};

struct tw_rclient {
    const struct tw_redis_target *t;
    struct tw_conn *conn;
    redisReader *reader;
    char *out;            /* commands appended and not yet sent */
    size_t len, cap;
    unsigned timeout_ms;
    int failed;
    int got_reply;        /* a reply came on this connection */
    int tls_refused;      /* TLS: closed before the first reply (a client certificate refused) */
    char err[256];
    /* Redis Cluster: commands sent and not yet answered, kept to go again to the node a
     * MOVED or ASK names (the AUTH is never kept: tracking starts after it) */
    int track;
    char *pend;
    size_t plen, pcap, pfirst;
    struct side *sides;
    unsigned nsides;
    struct tw_redis_target seed; /* a cluster seed after the first, when that one was down */
};

static int io_error(struct tw_rclient *c, const char *why)
{
    if (!c->failed)
        snprintf(c->err, sizeof(c->err), "%s", why);
    c->failed = 1;
    return REDIS_ERR;
}

/* The connection failed. */
static int net_error(struct tw_rclient *c, const char *why)
{
    /* A TLS 1.3 server checks our certificate after the handshake: refusing it, it sends an
     * alert and closes, and the alert is often lost to the reset. A TLS connection closed
     * before its first reply is taken for that: a configuration error, not an outage. */
    if (!c->failed && c->t->url.is_tls && !c->got_reply && !tw_conn_tls_failed(c->conn)) {
        c->tls_refused = 1;
        snprintf(c->err, sizeof(c->err), "TLS: the server closed the connection before "
                 "answering (%.100s): does it want a client certificate (redis.tls_cert)?", why);
    } else if (!c->failed) {
        snprintf(c->err, sizeof(c->err), "%s", why);
    }
    c->failed = 1;
    return REDIS_ERR;
}

static int vappend(struct tw_rclient *c, const char *fmt, va_list ap)
{
    char *cmd = NULL;
    int n = redisvFormatCommand(&cmd, fmt, ap);

    if (n < 0 || cmd == NULL)
        return io_error(c, "cannot format a command");
    if (c->len + (size_t)n > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + (size_t)n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (p == NULL) {
            explicit_bzero(cmd, (size_t)n);
            free(cmd);
            return io_error(c, "out of memory");
        }
        c->out = p;
        c->cap = cap;
    }
    memcpy(c->out + c->len, cmd, (size_t)n);
    c->len += (size_t)n;
    explicit_bzero(cmd, (size_t)n); /* it may be the AUTH */
    free(cmd);
    return REDIS_OK;
}

int tw_rclient_append(struct tw_rclient *c, const char *fmt, ...)
{
    va_list ap;
    int rc;

    if (c->failed)
        return REDIS_ERR;
    va_start(ap, fmt);
    rc = vappend(c, fmt, ap);
    va_end(ap);
    return rc;
}

/* Sends everything queued. */
static int flush(struct tw_rclient *c)
{
    size_t off = 0;

    while (off < c->len) {
        ssize_t w = tw_conn_write(c->conn, c->out + off, c->len - off);
        if (w > 0) {
            off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EAGAIN) {
            int r = tw_conn_io_wait(c->conn, 1, c->timeout_ms);
            if (r == 0)
                return net_error(c, "Redis takes no more bytes (timed out)");
            if (r > 0)
                continue;
        }
        return net_error(c, tw_conn_error(c->conn));
    }
    if (c->track) { /* kept until answered */
        if (c->pfirst == c->plen)
            c->plen = c->pfirst = 0;
        if (c->plen + c->len > c->pcap) {
            size_t cap = c->pcap ? c->pcap : 4096;
            while (cap < c->plen + c->len)
                cap *= 2;
            char *p = realloc(c->pend, cap);
            if (p == NULL)
                return io_error(c, "out of memory");
            c->pend = p;
            c->pcap = cap;
        }
        memcpy(c->pend + c->plen, c->out, c->len);
        c->plen += c->len;
    }
    explicit_bzero(c->out, c->len);
    c->len = 0;
    return REDIS_OK;
}

struct tw_rclient *tw_rclient_node(struct tw_rclient *c, const char *host, size_t hl, int port)
{
    if (hl == 0 || hl >= sizeof(c->t->url.host))
        return NULL;
    if (c->t->url.port == port && strlen(c->t->url.host) == hl &&
        memcmp(c->t->url.host, host, hl) == 0)
        return c;
    for (unsigned i = 0; i < c->nsides; i++)
        if (c->sides[i].t.url.port == port && strlen(c->sides[i].t.url.host) == hl &&
            memcmp(c->sides[i].t.url.host, host, hl) == 0)
            return c->sides[i].c;
    if (c->sides == NULL && (c->sides = calloc(SIDES_MAX, sizeof(*c->sides))) == NULL)
        return NULL;
    if (c->nsides == SIDES_MAX)
        return NULL;
    struct side *s = &c->sides[c->nsides];
    enum tw_rclient_fail why;
    char err[256];
    if (tw_redis_target_at(c->t, host, hl, port, &s->t) < 0) /* the same credentials and TLS */
        return NULL;
    if ((s->c = tw_rclient_open(&s->t, c->timeout_ms, &why, err, sizeof(err))) == NULL) {
        explicit_bzero(s->t.password, sizeof(s->t.password));
        return NULL;
    }
    c->nsides++;
    return s->c;
}

/* "MOVED 3999 host:port" or "ASK 3999 host:port": a client to that node (opened once and
 * kept), *ask set for ASK. Returns NULL when the reply is no redirection or the node cannot
 * be reached (the error reply is then the answer). */
static struct tw_rclient *redirected(struct tw_rclient *c, const redisReply *r, int *ask)
{
    const char *sp, *colon;
    size_t skip;

    if (r->type != REDIS_REPLY_ERROR)
        return NULL;
    if (strncmp(r->str, "MOVED ", 6) == 0)
        skip = 6, *ask = 0;
    else if (strncmp(r->str, "ASK ", 4) == 0)
        skip = 4, *ask = 1;
    else
        return NULL;
    if ((sp = strchr(r->str + skip, ' ')) == NULL || (colon = strrchr(sp, ':')) == NULL ||
        colon == sp + 1)
        return NULL;
    /* to itself (a map that changes under us): the error is the answer, no loop */
    struct tw_rclient *to = tw_rclient_node(c, sp + 1, (size_t)(colon - sp - 1), atoi(colon + 1));
    return to != c ? to : NULL;
}

/* The reply r answers the oldest command kept: when it is a MOVED or ASK, the command goes
 * to the node named and that node's reply replaces r. */
static void follow(struct tw_rclient *c, redisReply **r)
{
    struct tw_resp_cmd cmd;
    struct tw_rclient *to;
    int ask;

    if (c->pfirst >= c->plen ||
        tw_resp_next(c->pend + c->pfirst, c->plen - c->pfirst, &cmd) < 0)
        return;
    c->pfirst += cmd.len;
    for (int hops = 0; hops < 5 && (to = redirected(c, *r, &ask)) != NULL; hops++) {
        redisReply *again = NULL;
        if (ask) {
            redisReply *ok = tw_rclient_command(to, "ASKING");
            freeReplyObject(ok);
        }
        /* the command's own bytes, as they were sent */
        if (tw_rclient_raw(to, c->pend + c->pfirst - cmd.len, cmd.len) != REDIS_OK ||
            tw_rclient_get_reply(to, &again) != REDIS_OK || again == NULL)
            return;
        freeReplyObject(*r);
        *r = again;
    }
}

int tw_rclient_raw(struct tw_rclient *c, const char *bytes, size_t n)
{
    if (c->failed)
        return REDIS_ERR;
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (p == NULL)
            return io_error(c, "out of memory");
        c->out = p;
        c->cap = cap;
    }
    memcpy(c->out + c->len, bytes, n);
    c->len += n;
    return REDIS_OK;
}

int tw_rclient_get_reply(struct tw_rclient *c, redisReply **r)
{
    char buf[16384];

    *r = NULL;
    if (c->failed || flush(c) != REDIS_OK)
        return REDIS_ERR;
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(c->reader, &reply) != REDIS_OK)
            return io_error(c, c->reader->errstr[0] ? c->reader->errstr : "protocol error");
        if (reply != NULL) {
            redisReply *rr = reply;
            /* an error or status is printed as is by callers: no control bytes reach a
             * terminal from a hostile server */
            if (rr->type == REDIS_REPLY_ERROR || rr->type == REDIS_REPLY_STATUS)
                for (size_t i = 0; i < rr->len; i++)
                    if ((unsigned char)rr->str[i] < 0x20 || rr->str[i] == 0x7f)
                        rr->str[i] = '?';
            c->got_reply = 1;
            *r = reply;
            if (c->track)
                follow(c, r);
            return REDIS_OK;
        }
        ssize_t n = tw_conn_read(c->conn, buf, sizeof(buf));
        if (n > 0) {
            if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK)
                return io_error(c, "out of memory");
            continue;
        }
        if (n == 0)
            return net_error(c, "connection closed by the server");
        if (errno != EAGAIN)
            return net_error(c, tw_conn_error(c->conn));
        int w = tw_conn_io_wait(c->conn, 0, c->timeout_ms);
        if (w == 0) {
            io_error(c, "");
            snprintf(c->err, sizeof(c->err), "no reply within %u ms", c->timeout_ms);
            return REDIS_ERR;
        }
        if (w < 0)
            return io_error(c, strerror(errno));
    }
}

redisReply *tw_rclient_command(struct tw_rclient *c, const char *fmt, ...)
{
    redisReply *r = NULL;
    va_list ap;
    int rc;

    if (c->failed)
        return NULL;
    va_start(ap, fmt);
    rc = vappend(c, fmt, ap);
    va_end(ap);
    if (rc != REDIS_OK || tw_rclient_get_reply(c, &r) != REDIS_OK)
        return NULL;
    return r;
}

const char *tw_rclient_error(const struct tw_rclient *c)
{
    return c->err;
}

const char *tw_rclient_url(const struct tw_rclient *c)
{
    return c->t->url.text;
}

int tw_rclient_tls_failed(const struct tw_rclient *c)
{
    return c->tls_refused || (c->conn != NULL && tw_conn_tls_failed(c->conn));
}

/* AUTH [user] password, sent through the format below (never a printf of the secret). */
static int auth(struct tw_rclient *c, const struct tw_redis_target *t)
{
    return t->user[0] ? tw_rclient_append(c, "AUTH %s %s", t->user, t->password)
                      : tw_rclient_append(c, "AUTH %s", t->password);
}

/* A cluster's first seed did not answer: the others in turn (redis://a:7000,b:7001). The
 * connection, with c->t the seed that answered, or NULL (err says the last one's why). */
static struct tw_conn *open_other_seed(struct tw_rclient *c, const struct tw_redis_target *t,
                                       int *tls_failed, char *err, size_t errlen)
{
    for (const char *p = t->seeds; *p != '\0' && !*tls_failed;) {
        const char *end = strchr(p, ','), *colon;
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        char hostport[TW_REDIS_URL_LEN];
        struct tw_conn *conn;
        snprintf(hostport, sizeof(hostport), "%.*s", (int)n, p);
        p += n + (end != NULL);
        if ((colon = strrchr(hostport, ':')) == NULL ||
            tw_redis_target_at(t, hostport, (size_t)(colon - hostport), atoi(colon + 1),
                               &c->seed) < 0)
            continue;
        if ((conn = tw_conn_open_wait(&c->seed, c->timeout_ms, tls_failed, err, errlen)) != NULL) {
            c->t = &c->seed;
            return conn;
        }
    }
    return NULL;
}

struct tw_rclient *tw_rclient_open(const struct tw_redis_target *t, unsigned timeout_ms,
                                   enum tw_rclient_fail *why, char *err, size_t errlen)
{
    struct tw_rclient *c = calloc(1, sizeof(*c));
    int tls_failed = 0;
    redisReply *r = NULL;

    *why = TW_RCLIENT_DOWN;
    if (c == NULL || (c->reader = redisReaderCreate()) == NULL) {
        snprintf(err, errlen, "redis %s: out of memory", t->url.text);
        tw_rclient_close(c);
        return NULL;
    }
    c->t = t;
    c->timeout_ms = timeout_ms;
    c->conn = tw_conn_open_wait(t, timeout_ms, &tls_failed, err, errlen);
    if (c->conn == NULL && !tls_failed && t->cluster)
        c->conn = open_other_seed(c, t, &tls_failed, err, errlen);
    t = c->t;
    if (c->conn == NULL) {
        if (tls_failed)
            *why = TW_RCLIENT_CONFIG;
        tw_rclient_close(c);
        return NULL;
    }
    if (t->password_len == 0) {
        c->track = 1;
        return c;
    }
    if (auth(c, t) != REDIS_OK || tw_rclient_get_reply(c, &r) != REDIS_OK) {
        if (tw_rclient_tls_failed(c))
            *why = TW_RCLIENT_CONFIG;
        snprintf(err, errlen, "redis %s: AUTH: %s", t->url.text, c->err);
        tw_rclient_close(c);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        *why = tw_redis_config_error(r->str) ? TW_RCLIENT_CONFIG : TW_RCLIENT_DOWN;
        snprintf(err, errlen, "redis %s refused AUTH: %s", t->url.text, r->str);
        freeReplyObject(r);
        tw_rclient_close(c);
        return NULL;
    }
    freeReplyObject(r);
    c->track = 1; /* a cluster's MOVED and ASK are followed from here on */
    return c;
}

void tw_rclient_close(struct tw_rclient *c)
{
    if (c == NULL)
        return;
    tw_conn_close(c->conn);
    if (c->reader != NULL)
        redisReaderFree(c->reader);
    if (c->out != NULL)
        explicit_bzero(c->out, c->cap);
    free(c->out);
    free(c->pend);
    for (unsigned i = 0; i < c->nsides; i++) {
        tw_rclient_close(c->sides[i].c);
        explicit_bzero(c->sides[i].t.password, sizeof(c->sides[i].t.password));
    }
    free(c->sides);
    explicit_bzero(c->seed.password, sizeof(c->seed.password));
    free(c);
}
