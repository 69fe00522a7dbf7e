/* redis_cluster.c - routing the writers' batches over a Redis Cluster (see redis_cluster.h).
 *
 *   batches[] (the writer's, in order; at most TW_ENGINE_FLIGHTS)
 *   | batch 0: bytes, cmds[] {offset, len, slot, state} | batch 1 | ...
 *          │ cmds TO_ROUTE grouped by the node of their slot
 *          v
 *   subs[]: one per (batch, node) sent: the node's engine carries it as one of its flights;
 *           idx[] says which command of the batch each of its replies answers (-1: ASKING)
 *
 * A command is TO_ROUTE until a sub carries it (SENT), OK once its node answered, TO_ROUTE
 * again after MOVED (or its node lost its slots), TO_ASK after ASK. A batch is done when no
 * sub of it is open and no command waits to be routed; batches are done in order.
 */
#include "control/store/redis_cluster.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/store/redis_client.h"
#include "control/store/redis_conn.h"
#include "control/store/redis_slot.h"

#define MAX_NODES 64
#define MAX_SUBS (TW_ENGINE_FLIGHTS * MAX_NODES)
#define NO_NODE 0xffff
#define REFRESH_EVERY_MS 1000  /* at most one CLUSTER SLOTS question a second... */
#define REFRESH_SOON_MS 100    /* ...or this soon after a MOVED */
#define DOWN_REFRESH_MS 1000   /* a node unreachable this long: ask who owns its slots now */
#define SLOTS_TIMEOUT_MS 300   /* a CLUSTER SLOTS question waits at most this */

enum cmd_state { SENT, OK, TO_ROUTE, TO_ASK };

struct cmd {
    size_t off, len;
    unsigned slot;
    enum cmd_state state;
    unsigned ask_node;
};

struct batch {
    struct tw_engine_batch tag;
    struct tw_buf bytes;
    struct cmd *cmds;
    unsigned ncmds, subs_open;
    int failed;
};

struct sub {
    int used;
    unsigned batch_seq, node, n;
    int *idx;
};

struct node;
struct node_ctx {
    struct tw_cluster *c;
    unsigned node;
};

struct node {
    char host[64];
    int port;
    struct tw_redis_target t; /* the cluster's target, this host and port (tls shared) */
    struct tw_engine *e;
    int master;
    uint64_t down_since_ms;
    unsigned hello_k; /* hello replies read on this connection */
    struct node_ctx nctx;
};

struct tw_cluster {
    const struct tw_redis_target *t;
    struct tw_engine_ops ops; /* the writer's */
    void *ctx;
    struct node nodes[MAX_NODES];
    unsigned nnodes;
    uint16_t slot_node[TW_CLUSTER_SLOTS];
    int map_known;
    int primed; /* a node answered the writer's hello: batches may be made (they may hold
                 * what the hello returned, e.g. the SHA1 of a script, the same on every node) */
    uint64_t last_refresh_ms, refresh_at_ms;
    uint32_t sample_ms;
    struct tw_buf staging; /* tw_cluster_begin's buffer */
    struct batch batches[TW_ENGINE_FLIGHTS];
    unsigned first, nbatches; /* ring */
    unsigned seq_first;       /* the seq of batches[first] */
    struct sub subs[MAX_SUBS];
    struct tw_cluster_counts counts;
    char why[160];
};

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct batch *batch_by_seq(struct tw_cluster *c, unsigned seq)
{
    unsigned k = seq - c->seq_first;

    return k < c->nbatches ? &c->batches[(c->first + k) % TW_ENGINE_FLIGHTS] : NULL;
}

/* ---- nodes ---- */

static const struct tw_engine_ops node_ops;

/* The node at host:port, added when new. Returns its index, or NO_NODE (too many). */
static unsigned node_get(struct tw_cluster *c, const char *host, size_t host_len, int port)
{
    struct node *n;

    if (host_len == 0 || host_len >= sizeof(c->nodes[0].host) || port <= 0 || port > 65535)
        return NO_NODE;
    for (unsigned i = 0; i < c->nnodes; i++)
        if (c->nodes[i].port == port && strlen(c->nodes[i].host) == host_len &&
            memcmp(c->nodes[i].host, host, host_len) == 0)
            return i;
    if (c->nnodes == MAX_NODES)
        return NO_NODE;
    n = &c->nodes[c->nnodes];
    memset(n, 0, sizeof(*n));
    memcpy(n->host, host, host_len);
    n->port = port;
    if (tw_redis_target_at(c->t, host, host_len, port, &n->t) < 0)
        return NO_NODE;
    n->nctx.c = c;
    n->nctx.node = c->nnodes;
    return c->nnodes++;
}

static struct tw_engine *node_engine(struct tw_cluster *c, unsigned i)
{
    struct node *n = &c->nodes[i];

    if (n->e == NULL) {
        char err[160];
        n->e = tw_engine_open(NULL, &n->t, &node_ops, &n->nctx, err, sizeof(err));
        if (n->e != NULL) {
            tw_engine_set_wait(n->e, c->t->wait_replicas, c->t->wait_timeout_ms);
            if (c->sample_ms)
                tw_engine_sample_evictions(n->e, c->sample_ms);
        }
    }
    return n->e;
}

/* "host:port" at s (len bytes) into a node. */
static unsigned node_parse(struct tw_cluster *c, const char *s, size_t len)
{
    const char *colon = NULL;

    for (size_t i = 0; i < len; i++)
        if (s[i] == ':')
            colon = s + i;
    if (colon == NULL)
        return NO_NODE;
    return node_get(c, s, (size_t)(colon - s), atoi(colon + 1));
}

/* ---- subs: what a node carries of a batch ---- */

static void sub_free(struct tw_cluster *c, unsigned i)
{
    free(c->subs[i].idx);
    memset(&c->subs[i], 0, sizeof(c->subs[i]));
}

/* Every open sub on node: its commands go to be routed again, the sub is forgotten. */
static void node_orphan(struct tw_cluster *c, unsigned node)
{
    for (unsigned i = 0; i < MAX_SUBS; i++) {
        struct sub *s = &c->subs[i];
        struct batch *b;
        if (!s->used || s->node != node)
            continue;
        if ((b = batch_by_seq(c, s->batch_seq)) != NULL) {
            for (unsigned k = 0; k < s->n; k++)
                if (s->idx[k] >= 0 && b->cmds[s->idx[k]].state != OK) {
                    b->cmds[s->idx[k]].state = TO_ROUTE;
                    c->counts.rerouted++;
                }
            b->subs_open--;
        }
        sub_free(c, i);
    }
}

/* ---- the slot map ---- */

/* Asks one node CLUSTER SLOTS. Returns 0 with the map replaced, or -1. */
static int refresh_from(struct tw_cluster *c, unsigned asked)
{
    enum tw_rclient_fail why;
    char err[256];
    struct tw_rclient *rc = tw_rclient_open(&c->nodes[asked].t, SLOTS_TIMEOUT_MS, &why, err,
                                            sizeof(err));
    redisReply *r;
    uint16_t map[TW_CLUSTER_SLOTS];
    int master[MAX_NODES] = {0};

    if (rc == NULL) {
        snprintf(c->why, sizeof(c->why), "%.150s", err);
        return -1;
    }
    r = tw_rclient_command(rc, "CLUSTER SLOTS");
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        if (r != NULL && r->type == REDIS_REPLY_ERROR)
            snprintf(c->why, sizeof(c->why), "CLUSTER SLOTS: %.130s", r->str);
        freeReplyObject(r);
        tw_rclient_close(rc);
        return -1;
    }
    for (unsigned s = 0; s < TW_CLUSTER_SLOTS; s++)
        map[s] = NO_NODE;
    /* each entry: start, end, [host, port, id...] of the master, then its replicas */
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i], *m;
        unsigned node;
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER ||
            (m = e->element[2])->type != REDIS_REPLY_ARRAY || m->elements < 2 ||
            m->element[0]->type != REDIS_REPLY_STRING ||
            m->element[1]->type != REDIS_REPLY_INTEGER)
            continue; /* not what Redis sends: skipped */
        long long lo = e->element[0]->integer, hi = e->element[1]->integer;
        if (lo < 0 || hi >= TW_CLUSTER_SLOTS || lo > hi)
            continue;
        if (m->element[0]->len == 0) /* "" or "?": the endpoint we asked */
            node = asked;
        else
            node = node_get(c, m->element[0]->str, m->element[0]->len,
                            (int)m->element[1]->integer);
        if (node == NO_NODE)
            continue;
        master[node] = 1;
        for (long long s = lo; s <= hi; s++)
            map[s] = (uint16_t)node;
    }
    freeReplyObject(r);
    tw_rclient_close(rc);
    memcpy(c->slot_node, map, sizeof(map));
    c->map_known = 1;
    c->counts.refreshes++;
    for (unsigned i = 0; i < c->nnodes; i++) {
        c->nodes[i].master = master[i];
        if (!master[i] && c->nodes[i].e != NULL) { /* it lost its slots: a failover */
            node_orphan(c, i);
            tw_engine_close(c->nodes[i].e);
            c->nodes[i].e = NULL;
        }
    }
    return 0;
}

/* Asks the masters first, then every other known node, until one answers. */
static int refresh_map(struct tw_cluster *c, uint64_t now_ms)
{
    c->last_refresh_ms = now_ms;
    c->refresh_at_ms = 0;
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < c->nnodes; i++)
            if (c->nodes[i].master == !pass && c->nodes[i].down_since_ms == 0 &&
                refresh_from(c, i) == 0)
                return 0;
    for (unsigned i = 0; i < c->nnodes; i++) /* down ones too, last */
        if (c->nodes[i].down_since_ms != 0 && refresh_from(c, i) == 0)
            return 0;
    return -1;
}

/* ---- what a node's engine tells ---- */

static int node_hello(void *ctx, struct tw_buf *out)
{
    struct node_ctx *nc = ctx;

    nc->c->nodes[nc->node].hello_k = 0;
    return nc->c->ops.hello != NULL ? nc->c->ops.hello(nc->c->ctx, out) : 0;
}

/* "MOVED 3999 127.0.0.1:6381" / "ASK ...": the slot and the node. Returns 1 when it is one. */
static int redirect(struct tw_cluster *c, const char *msg, size_t len, int *ask, unsigned *slot,
                    unsigned *node)
{
    const char *sp;

    if (len > 6 && memcmp(msg, "MOVED ", 6) == 0)
        *ask = 0;
    else if (len > 4 && memcmp(msg, "ASK ", 4) == 0)
        *ask = 1;
    else
        return 0;
    msg += *ask ? 4 : 6;
    len -= *ask ? 4 : 6;
    *slot = (unsigned)atoi(msg);
    if (*slot >= TW_CLUSTER_SLOTS || (sp = memchr(msg, ' ', len)) == NULL)
        return 0;
    *node = node_parse(c, sp + 1, len - (size_t)(sp + 1 - msg));
    return *node != NO_NODE;
}

static enum tw_verdict node_reply(void *ctx, const struct tw_engine_batch *tag,
                                  const redisReply *r)
{
    struct node_ctx *nc = ctx;
    struct tw_cluster *c = nc->c;
    struct sub *s;
    struct batch *b;
    int ci, ask;
    unsigned slot, node;

    if (tag == NULL) {
        /* The hello's replies: the writer counts them from its hello() on (SCRIPT LOADs in
         * order). Nodes answer in any interleaving, so before each node's first reply the
         * writer's count starts again (its hello's bytes are thrown away). */
        if (c->nodes[nc->node].hello_k++ == 0 && c->ops.hello != NULL) {
            struct tw_buf scratch = {0};
            (void)c->ops.hello(c->ctx, &scratch);
            free(scratch.p);
        }
        return c->ops.reply(c->ctx, NULL, r);
    }
    if (tag->items >= MAX_SUBS || !(s = &c->subs[tag->items])->used || s->n == 0 ||
        (b = batch_by_seq(c, s->batch_seq)) == NULL)
        return TW_REPLY_OK; /* a sub orphaned meanwhile: its commands went elsewhere */
    ci = s->idx[tag->reply_index % s->n];
    if (ci < 0) /* ASKING */
        return TW_REPLY_OK;
    if (r->type == REDIS_REPLY_ERROR && redirect(c, r->str, r->len, &ask, &slot, &node)) {
        if (ask) {
            b->cmds[ci].state = TO_ASK;
            b->cmds[ci].ask_node = node;
            c->counts.ask++;
        } else {
            c->slot_node[slot] = (uint16_t)node; /* at once; the whole map soon */
            c->nodes[node].master = 1;
            b->cmds[ci].state = TO_ROUTE;
            c->counts.moved++;
            if (c->refresh_at_ms == 0)
                c->refresh_at_ms = mono_ms() + REFRESH_SOON_MS;
        }
        return TW_REPLY_OK; /* for this node: the command is done here */
    }
    enum tw_verdict v = c->ops.reply(c->ctx, &b->tag, r);
    if (v == TW_REPLY_OK)
        b->cmds[ci].state = OK;
    return v;
}

static void node_done(void *ctx, const struct tw_engine_batch *tag, int ok)
{
    struct node_ctx *nc = ctx;
    struct tw_cluster *c = nc->c;
    struct sub *s;
    struct batch *b;

    if (tag->items >= MAX_SUBS || !(s = &c->subs[tag->items])->used)
        return;
    if ((b = batch_by_seq(c, s->batch_seq)) != NULL) {
        b->subs_open--;
        if (!ok)
            b->failed = 1;
        for (unsigned k = 0; k < s->n; k++) /* answered neither OK nor redirected */
            if (s->idx[k] >= 0 && b->cmds[s->idx[k]].state == SENT) {
                b->cmds[s->idx[k]].state = OK; /* answered, or given up with the batch */
            }
    }
    sub_free(c, tag->items);
}

static const struct tw_engine_ops node_ops = {node_hello, node_reply, node_done};

/* ---- routing ---- */

/* Sends every command of b that waits to be routed, one sub per node. Commands whose node is
 * unknown or full wait for the next poll. */
static void route(struct tw_cluster *c, struct batch *b, unsigned seq, uint64_t now_ms)
{
    static const char asking[] = "*1\r\n$6\r\nASKING\r\n";

    for (;;) {
        unsigned node = NO_NODE, si;
        struct tw_engine *e;
        /* the first command waiting picks the node; the others for that node join it */
        for (unsigned k = 0; k < b->ncmds && node == NO_NODE; k++) {
            struct cmd *m = &b->cmds[k];
            if (m->state == TO_ASK)
                node = m->ask_node;
            else if (m->state == TO_ROUTE && c->slot_node[m->slot] != NO_NODE)
                node = c->slot_node[m->slot];
        }
        if (node == NO_NODE || (e = node_engine(c, node)) == NULL ||
            tw_engine_in_flight(e) >= TW_ENGINE_FLIGHTS - 1)
            return;
        for (si = 0; si < MAX_SUBS && c->subs[si].used; si++)
            ;
        if (si == MAX_SUBS)
            return;
        struct sub *s = &c->subs[si];
        if ((s->idx = malloc(sizeof(int) * b->ncmds * 2)) == NULL)
            return;
        s->used = 1;
        s->batch_seq = seq;
        s->node = node;
        s->n = 0;
        struct tw_buf *out = tw_engine_begin(e);
        for (unsigned k = 0; k < b->ncmds; k++) {
            struct cmd *m = &b->cmds[k];
            int here = (m->state == TO_ASK && m->ask_node == node) ||
                       (m->state == TO_ROUTE && c->slot_node[m->slot] == node);
            if (!here)
                continue;
            if (m->state == TO_ASK) {
                char *p = tw_buf_room(out, sizeof(asking) - 1);
                if (p != NULL) {
                    memcpy(p, asking, sizeof(asking) - 1);
                    out->len += sizeof(asking) - 1;
                }
                s->idx[s->n++] = -1;
            }
            char *p = tw_buf_room(out, m->len);
            if (p != NULL) {
                memcpy(p, b->bytes.p + m->off, m->len);
                out->len += m->len;
            }
            s->idx[s->n++] = (int)k;
        }
        struct tw_engine_batch tag = {.items = si, .aux = seq};
        if (tw_engine_commit(e, &tag, s->n, now_ms) < 0) {
            sub_free(c, si);
            return;
        }
        for (unsigned k = 0; k < s->n; k++)
            if (s->idx[k] >= 0)
                b->cmds[s->idx[k]].state = SENT;
        b->subs_open++;
    }
}

/* 1 when a command of b waits to be routed (new, MOVED, ASK, or its node lost its slots). */
static int unrouted(const struct batch *b)
{
    for (unsigned k = 0; k < b->ncmds; k++)
        if (b->cmds[k].state == TO_ROUTE || b->cmds[k].state == TO_ASK)
            return 1;
    return 0;
}

/* Routes what waits and finishes, in order, the batches that are done. A batch is routed only
 * once every batch before it is: a command sent again after MOVED goes to its new node
 * before any later command of the same key (an END record is never overwritten by the
 * UPDATE before it), since each node's commands travel in order on one connection. */
static void route_all(struct tw_cluster *c, uint64_t now_ms)
{
    for (unsigned k = 0; k < c->nbatches; k++) {
        struct batch *b = &c->batches[(c->first + k) % TW_ENGINE_FLIGHTS];
        route(c, b, c->seq_first + k, now_ms);
        if (unrouted(b))
            break;
    }
}

static void progress(struct tw_cluster *c, uint64_t now_ms)
{
    route_all(c, now_ms);
    while (c->nbatches > 0) {
        struct batch *b = &c->batches[c->first];
        int waiting = b->subs_open > 0;
        for (unsigned k = 0; k < b->ncmds && !waiting; k++)
            waiting = b->cmds[k].state != OK;
        if (waiting)
            break;
        struct tw_engine_batch tag = b->tag;
        int ok = !b->failed;
        free(b->cmds);
        b->cmds = NULL;
        b->bytes.len = 0;
        c->first = (c->first + 1) % TW_ENGINE_FLIGHTS;
        c->nbatches--;
        c->seq_first++;
        c->ops.done(c->ctx, &tag, ok);
    }
}

/* ---- the engine's calls ---- */

struct tw_cluster *tw_cluster_open(const struct tw_redis_target *t, const struct tw_engine_ops *ops,
                                   void *ctx, char *err, size_t errlen)
{
    struct tw_cluster *c;

    if (t->url.is_unix) {
        snprintf(err, errlen, "redis.cluster: the seeds must be redis:// or rediss:// "
                              "host:port (a cluster announces TCP addresses)");
        return NULL;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        snprintf(err, errlen, "redis: out of memory");
        return NULL;
    }
    c->t = t;
    c->ops = *ops;
    c->ctx = ctx;
    for (unsigned s = 0; s < TW_CLUSTER_SLOTS; s++)
        c->slot_node[s] = NO_NODE;
    if (node_get(c, t->url.host, strlen(t->url.host), t->url.port) == NO_NODE)
        goto bad;
    for (const char *p = t->seeds; *p;) {
        size_t n = strcspn(p, ",");
        if (n > 0 && node_parse(c, p, n) == NO_NODE)
            goto bad;
        p += n;
        if (*p == ',')
            p++;
    }
    for (unsigned i = 0; i < c->nnodes; i++)
        c->nodes[i].master = 1; /* asked first */
    (void)refresh_map(c, mono_ms()); /* not yet: the polls ask again */
    return c;
bad:
    snprintf(err, errlen, "redis: bad seed list in %s (expected host:port,host:port)",
             tw_redis_target_url(t));
    free(c);
    return NULL;
}

int tw_cluster_poll(struct tw_cluster *c, uint64_t now_ms)
{
    int rc = 0, down = 0;

    for (unsigned i = 0; i < c->nnodes; i++) {
        struct node *n = &c->nodes[i];
        if (n->e == NULL)
            continue;
        if (tw_engine_poll(n->e, now_ms) < 0) {
            rc = -1;
            if (n->down_since_ms == 0)
                n->down_since_ms = now_ms ? now_ms : 1;
            if (now_ms - n->down_since_ms >= DOWN_REFRESH_MS)
                down = 1;
        } else {
            n->down_since_ms = 0;
        }
    }
    if (!c->map_known || down || (c->refresh_at_ms && now_ms >= c->refresh_at_ms)) {
        if (now_ms - c->last_refresh_ms >= REFRESH_EVERY_MS ||
            (c->refresh_at_ms && now_ms >= c->refresh_at_ms && !down))
            (void)refresh_map(c, now_ms);
    }
    if (!c->map_known)
        rc = -1;
    for (unsigned i = 0; i < c->nnodes; i++) /* every master gets its connection now */
        if (c->nodes[i].master && c->map_known && node_engine(c, i) != NULL &&
            tw_engine_ready(c->nodes[i].e, now_ms))
            c->primed = 1;
    progress(c, now_ms);
    return rc;
}

int tw_cluster_ready(const struct tw_cluster *c, uint64_t now_ms)
{
    (void)now_ms;
    if (!c->map_known || !c->primed || c->nbatches == TW_ENGINE_FLIGHTS)
        return 0;
    for (unsigned i = 0; i < c->nnodes; i++)
        if (c->nodes[i].e != NULL && c->nodes[i].master &&
            tw_engine_in_flight(c->nodes[i].e) >= TW_ENGINE_FLIGHTS - 1)
            return 0;
    return 1;
}

struct tw_buf *tw_cluster_begin(struct tw_cluster *c)
{
    c->staging.len = 0;
    c->staging.oom = 0;
    return &c->staging;
}

void tw_cluster_abort(struct tw_cluster *c)
{
    c->staging.len = 0;
    c->staging.oom = 0;
}

int tw_cluster_commit(struct tw_cluster *c, const struct tw_engine_batch *tag, unsigned ncmds,
                      uint64_t now_ms)
{
    struct batch *b;
    struct tw_buf swap;
    size_t off = 0;

    if (c->staging.oom || ncmds == 0 || c->nbatches == TW_ENGINE_FLIGHTS)
        goto fail;
    b = &c->batches[(c->first + c->nbatches) % TW_ENGINE_FLIGHTS];
    if ((b->cmds = calloc(ncmds, sizeof(*b->cmds))) == NULL)
        goto fail;
    for (unsigned k = 0; k < ncmds; k++) { /* each command, and the slot of its key */
        struct tw_resp_cmd rc;
        if (tw_resp_next(c->staging.p + off, c->staging.len - off, &rc) < 0) {
            free(b->cmds);
            b->cmds = NULL;
            goto fail;
        }
        b->cmds[k].off = off;
        b->cmds[k].len = rc.len;
        b->cmds[k].slot = rc.key != NULL ? tw_key_slot(rc.key, rc.key_len) : 0;
        b->cmds[k].state = TO_ROUTE;
        off += rc.len;
    }
    b->tag = *tag;
    b->ncmds = ncmds;
    b->subs_open = 0;
    b->failed = 0;
    swap = b->bytes; /* the batch keeps the bytes; the staging buffer is the old one */
    b->bytes = c->staging;
    c->staging = swap;
    c->staging.len = 0;
    c->staging.oom = 0;
    c->nbatches++;
    route_all(c, now_ms); /* sends it now unless an earlier batch waits (done: in polls) */
    return 0;
fail:
    tw_cluster_abort(c);
    return -1;
}

unsigned tw_cluster_in_flight(const struct tw_cluster *c)
{
    return c->nbatches;
}

int tw_cluster_wait(struct tw_cluster *c, unsigned timeout_ms)
{
    struct pollfd pfd[MAX_NODES];
    int n = 0;

    for (unsigned i = 0; i < c->nnodes; i++)
        if (c->nodes[i].e != NULL && tw_engine_pollfd(c->nodes[i].e, &pfd[n])) {
            if (pfd[n].revents)
                return 1;
            n++;
        }
    if (n == 0) {
        struct timespec nap = {.tv_sec = timeout_ms / 1000,
                               .tv_nsec = (long)(timeout_ms % 1000) * 1000000};
        nanosleep(&nap, NULL);
        return 0;
    }
    return poll(pfd, (nfds_t)n, (int)timeout_ms) > 0;
}

void tw_cluster_sample_evictions(struct tw_cluster *c, uint32_t every_ms)
{
    c->sample_ms = every_ms;
    for (unsigned i = 0; i < c->nnodes; i++)
        if (c->nodes[i].e != NULL)
            tw_engine_sample_evictions(c->nodes[i].e, every_ms);
}

const char *tw_cluster_refusal(const struct tw_cluster *c)
{
    for (unsigned i = 0; i < c->nnodes; i++) {
        const char *r = c->nodes[i].e != NULL ? tw_engine_refusal(c->nodes[i].e) : NULL;
        if (r != NULL)
            return r;
    }
    return NULL;
}

const char *tw_cluster_last_error(const struct tw_cluster *c)
{
    for (unsigned i = 0; i < c->nnodes; i++) {
        const char *r = c->nodes[i].e != NULL && c->nodes[i].master
                            ? tw_engine_last_error(c->nodes[i].e) : NULL;
        if (r != NULL)
            return r;
    }
    return c->map_known ? NULL : (c->why[0] ? c->why : "no slot map yet");
}

void tw_cluster_get_stats(const struct tw_cluster *c, struct tw_engine_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->connected = c->map_known;
    for (unsigned i = 0; i < c->nnodes; i++) {
        struct tw_engine_stats s;
        if (c->nodes[i].e == NULL)
            continue;
        tw_engine_get_stats(c->nodes[i].e, &s);
        out->errors += s.errors;
        out->reconnects += s.reconnects;
        out->evicted_keys += s.evicted_keys;
        out->evicted_known |= s.evicted_known;
        out->wait_us += s.wait_us;
        if (s.wait_max_us > out->wait_max_us)
            out->wait_max_us = s.wait_max_us;
        out->wait_resent += s.wait_resent;
        if (c->nodes[i].master && !s.connected)
            out->connected = 0;
    }
}

void tw_cluster_counts(const struct tw_cluster *c, struct tw_cluster_counts *out)
{
    *out = c->counts;
}

void tw_cluster_close(struct tw_cluster *c)
{
    if (c == NULL)
        return;
    for (unsigned i = 0; i < c->nnodes; i++)
        tw_engine_close(c->nodes[i].e);
    for (unsigned i = 0; i < MAX_SUBS; i++)
        free(c->subs[i].idx);
    for (unsigned k = 0; k < TW_ENGINE_FLIGHTS; k++) {
        free(c->batches[k].cmds);
        free(c->batches[k].bytes.p);
    }
    free(c->staging.p);
    /* the node targets are copies: their secret goes too */
    for (unsigned i = 0; i < c->nnodes; i++)
        explicit_bzero(c->nodes[i].t.password, sizeof(c->nodes[i].t.password));
    free(c);
}
