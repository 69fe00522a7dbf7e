/* sink_ipfix.c - finished flows to an IPFIX collector over UDP (RFC 7011), --ipfix HOST:PORT.
 *
 *   put_flow ──> ipfix_enc (libfixbuf) ──message──> queue (bounded ring) ──poll──> send()
 *                 one record per END       full or 200 ms old       token bucket, non-blocking
 *
 * One record per finished flow: the END event carries the flow's totals since its first
 * packet; UPDATE events (active timeout) carry the same running totals, and a collector adds
 * up octetDeltaCount, so exporting them too would count the bytes twice.
 *
 * Nothing here waits (drain excepted, at exit): the socket is non-blocking and a message the
 * kernel cannot take now (EAGAIN) stays at the head of the queue for the next poll. Messages
 * leave at most max_rate a second, in bursts of at most 5 ms worth, so that a collector on the
 * same host reads them before its socket buffer overflows (UDP has no flow control: what the
 * collector's buffer cannot hold is lost there, unseen by us). A record that finds the queue
 * full is refused and counted; so is a message the kernel refuses (EMSGSIZE...). The
 * sequence numbers count every encoded record, so the collector sees a gap for each loss.
 * Templates go out at start and every template_interval (RFC 7011 section 8.4: over UDP the
 * collector may have restarted or lost them).
 */
#include "control/store/sink.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/store/ipfix_enc.h"
#include "dataplane/clock.h"

#define FLUSH_MS 200    /* a partly filled message leaves after this long */
#define BURST_MS 5      /* the token bucket holds this many ms of max_rate */

struct slot {
    uint32_t len;
    uint32_t records;
    uint8_t *msg;
};

struct ipfix {
    char collector[TW_IPFIX_COLLECTOR_LEN];
    int fd;
    struct tw_ipfix_enc *enc;
    uint32_t template_ms;
    uint32_t max_rate;      /* messages/s, 0 = as fast as the kernel takes them */
    double tokens, burst;
    uint64_t last_refill_ms, last_template_ms, open_since_ms;
    int started;            /* poll has run once (the clocks above are set) */
    /* the queue: a ring of cap slots of mtu bytes each */
    struct slot *q;
    uint8_t *store;
    uint32_t cap, head, n;
    uint64_t queued_records; /* records in the queue */
    /* counters */
    uint64_t records, messages, sent_records, template_messages;
    uint64_t refused_full;  /* records refused: the queue was full */
    uint64_t encode_errors;
    uint64_t send_lost;     /* records of messages the kernel refused */
    uint64_t unreachable;   /* ICMP port unreachable reports (ECONNREFUSED) */
    uint64_t left_at_exit;  /* records the drain could not send in time */
    char why[192];          /* the first send or encode error */
};

/* The encoder's out callback: a finished message joins the queue. The callers made sure of a
 * free slot (put_flow asks for one, the template timer for two). */
static void enqueue(void *ctx, const uint8_t *msg, size_t len, uint32_t records)
{
    struct ipfix *x = ctx;
    struct slot *s;

    if (x->n == x->cap) { /* not expected: counted rather than overwritten */
        x->refused_full += records;
        return;
    }
    s = &x->q[(x->head + x->n) % x->cap];
    memcpy(s->msg, msg, len);
    s->len = (uint32_t)len;
    s->records = records;
    x->n++;
    x->queued_records += records;
    if (records == 0)
        x->template_messages++;
}

static void note_error(struct ipfix *x, const char *what, int e)
{
    if (x->why[0] == '\0')
        snprintf(x->why, sizeof(x->why), "%s: %s", what, strerror(e));
}

static void pop(struct ipfix *x)
{
    x->queued_records -= x->q[x->head].records;
    x->head = (x->head + 1) % x->cap;
    x->n--;
}

/* Sends from the head of the queue while the bucket has tokens and the kernel takes them. */
static void send_queue(struct ipfix *x)
{
    while (x->n > 0 && (x->max_rate == 0 || x->tokens >= 1.0)) {
        struct slot *s = &x->q[x->head];
        ssize_t rc = send(x->fd, s->msg, s->len, MSG_DONTWAIT);

        if (rc < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS || errno == EINTR)
                return; /* the next poll tries again */
            if (errno == ECONNREFUSED) {
                /* an earlier datagram met a closed port; this one was not sent: retry it */
                x->unreachable++;
                note_error(x, "collector", errno);
                return;
            }
            note_error(x, "send", errno);
            x->send_lost += s->records;
            pop(x);
            continue;
        }
        x->messages++;
        x->sent_records += s->records;
        if (x->max_rate)
            x->tokens -= 1.0;
        pop(x);
    }
}

static void refill(struct ipfix *x, uint64_t now_ms)
{
    if (x->max_rate && now_ms > x->last_refill_ms) {
        x->tokens += (double)(now_ms - x->last_refill_ms) * x->max_rate / 1000.0;
        if (x->tokens > x->burst)
            x->tokens = x->burst;
    }
    x->last_refill_ms = now_ms;
}

static void flush_open(struct ipfix *x)
{
    char err[160];

    if (tw_ipfix_enc_pending(x->enc) == 0 || x->n == x->cap)
        return;
    if (tw_ipfix_enc_flush(x->enc, err, sizeof(err)) != 0 && x->why[0] == '\0')
        snprintf(x->why, sizeof(x->why), "%s", err);
}

static void poll_ipfix(void *ctx, uint64_t now_ms)
{
    struct ipfix *x = ctx;
    char err[160];

    if (!x->started) {
        x->started = 1;
        x->last_refill_ms = x->last_template_ms = now_ms;
        x->tokens = x->burst;
    }
    refill(x, now_ms);
    if (now_ms - x->last_template_ms >= x->template_ms && x->cap - x->n >= 2) {
        if (tw_ipfix_enc_templates(x->enc, err, sizeof(err)) != 0 && x->why[0] == '\0')
            snprintf(x->why, sizeof(x->why), "%s", err);
        x->last_template_ms = now_ms;
    }
    if (tw_ipfix_enc_pending(x->enc) && now_ms - x->open_since_ms >= FLUSH_MS)
        flush_open(x);
    send_queue(x);
}

static int put_flow(void *ctx, const struct tw_flow_record *r, const char *json, size_t len)
{
    struct ipfix *x = ctx;
    char err[160];

    (void)json, (void)len;
    if (r->event != TW_EVENT_END)
        return 0;
    if (x->n == x->cap) {
        x->refused_full++;
        return -1;
    }
    if (tw_ipfix_enc_pending(x->enc) == 0)
        x->open_since_ms = tw_mono_ms();
    if (tw_ipfix_enc_add(x->enc, r, err, sizeof(err)) != 0) {
        x->encode_errors++;
        if (x->why[0] == '\0')
            snprintf(x->why, sizeof(x->why), "%s", err);
        return -1;
    }
    x->records++;
    return 0;
}

static uint64_t left(const struct ipfix *x)
{
    return x->queued_records + tw_ipfix_enc_pending(x->enc);
}

static uint64_t drain(void *ctx, uint64_t timeout_ms)
{
    struct ipfix *x = ctx;
    uint64_t start = tw_mono_ms();

    for (;;) {
        uint64_t now = tw_mono_ms();
        flush_open(x);
        poll_ipfix(x, now);
        if (left(x) == 0 || now - start >= timeout_ms)
            break;
        usleep(1000);
    }
    x->left_at_exit = left(x);
    return x->left_at_exit;
}

static uint64_t lost(const struct ipfix *x)
{
    return x->refused_full + x->encode_errors + x->send_lost + x->left_at_exit;
}

static void stats(void *ctx, FILE *out)
{
    const struct ipfix *x = ctx;

    fprintf(out, "  %-20s %" PRIu64 " records in %" PRIu64 " messages (%" PRIu64
            " of templates) to %s", "ipfix", x->sent_records, x->messages, x->template_messages,
            x->collector);
    if (lost(x))
        fprintf(out, ", LOST %" PRIu64 " (queue full %" PRIu64 ", send errors %" PRIu64
                ", not sent at exit %" PRIu64 ", encoding %" PRIu64 ")",
                lost(x), x->refused_full, x->send_lost, x->left_at_exit, x->encode_errors);
    if (x->unreachable)
        fprintf(out, ", collector unreachable %" PRIu64 " times", x->unreachable);
    fputc('\n', out);
}

static void live(void *ctx, FILE *out)
{
    const struct ipfix *x = ctx;

    fprintf(out, " ipfix sent %" PRIu64 " queued %" PRIu64, x->sent_records, left(x));
    if (lost(x))
        fprintf(out, " lost %" PRIu64, lost(x));
    if (x->unreachable)
        fprintf(out, " unreachable %" PRIu64, x->unreachable);
}

static void metrics(void *ctx, struct tw_sink_metrics *out)
{
    const struct ipfix *x = ctx;

    snprintf(out->output, sizeof(out->output), "ipfix");
    tw_sink_metric_add(out, "tapwatch_records_written_total", 0, x->sent_records,
                       "Flow records acknowledged by the output");
    tw_sink_metric_add(out, "tapwatch_records_pending", 1, left(x),
                       "Flow records waiting for the output");
    tw_sink_metric_add(out, "tapwatch_records_dropped_total", 0, lost(x),
                       "Flow records the output lost (queue full, send errors, not sent at exit)");
    tw_sink_metric_add(out, "tapwatch_ipfix_messages_total", 0, x->messages,
                       "IPFIX messages sent, templates included");
    tw_sink_metric_add(out, "tapwatch_ipfix_collector_unreachable_total", 0, x->unreachable,
                       "ICMP port unreachable reports from the collector's host");
}

static int notes(void *ctx, int at_end, FILE *err)
{
    const struct ipfix *x = ctx;

    if (!at_end || (lost(x) == 0 && x->unreachable == 0))
        return 0;
    fprintf(err, "tapwatch: IPFIX collector %s: ", x->collector);
    if (lost(x))
        fprintf(err, "%" PRIu64 " of %" PRIu64 " flow records were not sent", lost(x),
                x->records + x->refused_full + x->encode_errors);
    if (x->unreachable)
        fprintf(err, "%s%" PRIu64 " ICMP port unreachable (records sent before them were "
                     "lost)", lost(x) ? "; " : "", x->unreachable);
    fprintf(err, "%s%s\n", x->why[0] ? "; first error: " : "", x->why);
    return -1;
}

static void close_ipfix(void *ctx)
{
    struct ipfix *x = ctx;

    tw_ipfix_enc_close(x->enc);
    if (x->fd >= 0)
        close(x->fd);
    free(x->store);
    free(x->q);
    free(x);
}

static const struct tw_sink_ops ipfix_ops = {
    .name = "ipfix", .put_flow = put_flow, .poll = poll_ipfix, .drain = drain,
    .stats = stats, .live = live, .notes = notes, .close = close_ipfix, .metrics = metrics,
};

/* Splits HOST:PORT or [IPV6]:PORT. Returns 0, or -1 when text is neither. */
static int split_collector(const char *text, char *host, size_t hostlen, char *port,
                           size_t portlen)
{
    const char *colon, *h = text;
    size_t hl;

    if (text[0] == '[') { /* [2001:db8::1]:4739 */
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return -1;
        h = text + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL || memchr(text, ':', (size_t)(colon - text)) != NULL)
            return -1; /* an IPv6 address needs its brackets */
        hl = (size_t)(colon - text);
    }
    if (hl == 0 || hl >= hostlen || colon[1] == '\0' || strlen(colon + 1) >= portlen)
        return -1;
    char *end;
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (errno || *end != '\0' || p == 0 || p > 65535 || colon[1] < '0' || colon[1] > '9')
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    snprintf(port, portlen, "%lu", p);
    return 0;
}

/* A non-blocking UDP socket connected to the collector (connected: the kernel reports an
 * ICMP port unreachable as ECONNREFUSED on the next send). */
static int open_socket(const char *collector, char *err, size_t errlen)
{
    char host[TW_IPFIX_COLLECTOR_LEN], port[8];
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_protocol = IPPROTO_UDP}, *res, *a;
    int fd = -1, rc, saved = 0;

    if (split_collector(collector, host, sizeof(host), port, sizeof(port)) != 0) {
        snprintf(err, errlen, "--ipfix %s: expected HOST:PORT (an IPv6 address in brackets)",
                 collector);
        return -1;
    }
    if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
        snprintf(err, errlen, "--ipfix %s: %s", collector, gai_strerror(rc));
        return -1;
    }
    for (a = res; a != NULL; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        saved = errno;
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "--ipfix %s: %s", collector, strerror(saved));
    return fd;
}

int tw_sink_ipfix_open(struct tw_sink *s, const struct tw_ipfix_params *p, char *err,
                       size_t errlen)
{
    struct ipfix *x = calloc(1, sizeof(*x));

    if (x == NULL) {
        snprintf(err, errlen, "--ipfix: out of memory");
        return -1;
    }
    x->fd = -1;
    snprintf(x->collector, sizeof(x->collector), "%s", p->collector);
    x->template_ms = p->template_interval_s * 1000u;
    x->max_rate = p->max_rate;
    x->burst = (double)p->max_rate * BURST_MS / 1000.0;
    if (x->burst < 1.0)
        x->burst = 1.0;
    x->cap = p->queue;
    x->q = calloc(x->cap, sizeof(*x->q));
    /* untouched pages of a large calloc are not resident: a quiet queue costs little */
    x->store = calloc(x->cap, p->mtu);
    if (x->cap < 2 || x->q == NULL || x->store == NULL) {
        snprintf(err, errlen, "--ipfix: cannot allocate a queue of %u messages", p->queue);
        goto fail;
    }
    for (uint32_t i = 0; i < x->cap; i++)
        x->q[i].msg = x->store + (size_t)i * p->mtu;
    if ((x->fd = open_socket(p->collector, err, errlen)) < 0)
        goto fail;
    /* the templates are the first message in the queue */
    if (!(x->enc = tw_ipfix_enc_open(p->observation_domain, p->mtu, enqueue, x, err, errlen)))
        goto fail;
    *s = (struct tw_sink){.ops = &ipfix_ops, .ctx = x, .takes = TW_TAKES_END};
    return 0;
fail:
    close_ipfix(x);
    return -1;
}
