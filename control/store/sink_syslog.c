/* sink_syslog.c - alerts to a syslog collector as RFC 5424 messages (syslog_format.h), one
 * datagram each: UDP (RFC 5426) to udp://HOST:PORT, or a local syslog socket at
 * unix:///path. The socket never blocks: a datagram the kernel cannot take at once (buffer
 * full, collector gone) is counted as not sent, never retried, never waited for. */
#include "control/store/sink.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/store/syslog_format.h"

struct syslog_sink {
    int fd;
    int facility;
    struct sockaddr_storage to;
    socklen_t to_len;
    char target[256];
    char sensor[64];
    char host[256];
    long pid;
    uint64_t sent, unsent;
    int last_errno; /* why the last one was not sent */
    char msg[TW_SYSLOG_MSG_MAX];
};

static int put_alert(void *ctx, const struct tw_alert *a, const char *json, size_t len)
{
    struct syslog_sink *s = ctx;
    int n = tw_syslog_format(s->msg, sizeof(s->msg), a, s->facility, s->host, s->sensor, s->pid);

    (void)json;
    (void)len;
    if (n > 0 && sendto(s->fd, s->msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL,
                        (const struct sockaddr *)&s->to, s->to_len) == n) {
        s->sent++;
        return 0;
    }
    s->last_errno = n > 0 ? errno : EMSGSIZE;
    s->unsent++;
    return -1;
}

static void stats(void *ctx, FILE *out)
{
    const struct syslog_sink *s = ctx;

    fprintf(out, "  alerts-syslog        sent %" PRIu64 ", not sent %" PRIu64 "%s%s%s (%s)\n",
            s->sent, s->unsent, s->unsent ? " (last: " : "",
            s->unsent ? strerror(s->last_errno) : "", s->unsent ? ")" : "", s->target);
}

static void live(void *ctx, FILE *out)
{
    const struct syslog_sink *s = ctx;

    fprintf(out, " syslog sent %" PRIu64 " unsent %" PRIu64, s->sent, s->unsent);
}

static void close_syslog(void *ctx)
{
    struct syslog_sink *s = ctx;

    if (s->fd >= 0)
        close(s->fd);
    free(s);
}

static const struct tw_sink_ops syslog_ops = {
    .name = "syslog", .put_alert = put_alert, .stats = stats, .live = live,
    .close = close_syslog,
};

/* Resolves target into s->to: "udp://HOST:PORT" (HOST a name, an IPv4 address or an IPv6
 * one in brackets) or "unix:///path". Returns the socket family, or -1 with a reason. */
static int resolve(struct syslog_sink *s, const char *target, char *err, size_t errlen)
{
    if (strncmp(target, "unix://", 7) == 0) {
        struct sockaddr_un *un = (struct sockaddr_un *)&s->to;
        const char *path = target + 7;
        if (path[0] != '/' || strlen(path) >= sizeof(un->sun_path)) {
            snprintf(err, errlen, "alerts_syslog.target %s: expected unix:///absolute/path", target);
            return -1;
        }
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, path, strlen(path) + 1);
        s->to_len = (socklen_t)sizeof(*un);
        return AF_UNIX;
    }
    char host[256], *port;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *ai = NULL;
    if (strncmp(target, "udp://", 6) != 0 ||
        snprintf(host, sizeof(host), "%s", target + 6) >= (int)sizeof(host) ||
        (port = strrchr(host, ':')) == NULL || port[1] == '\0') {
        snprintf(err, errlen, "alerts_syslog.target %s: expected udp://HOST:PORT or "
                 "unix:///path", target);
        return -1;
    }
    *port++ = '\0';
    char *name = host;
    if (name[0] == '[' && port - 2 > name && port[-2] == ']') { /* [v6]:port */
        port[-2] = '\0';
        name++;
    }
    int rc = getaddrinfo(name, port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "alerts_syslog.target %s: %s", target, gai_strerror(rc));
        return -1;
    }
    memcpy(&s->to, ai->ai_addr, ai->ai_addrlen);
    s->to_len = ai->ai_addrlen;
    int family = ai->ai_family;
    freeaddrinfo(ai);
    return family;
}

int tw_sink_syslog_open(struct tw_sink *out, const struct tw_syslog_params *p, char *err,
                        size_t errlen)
{
    struct syslog_sink *s = calloc(1, sizeof(*s));
    int family;

    if (s == NULL) {
        snprintf(err, errlen, "alerts_syslog: out of memory");
        return -1;
    }
    s->fd = -1;
    s->facility = tw_syslog_facility(p->facility);
    if (s->facility < 0) {
        snprintf(err, errlen, "alerts_syslog.facility %s: expected kern .. local7", p->facility);
        goto fail;
    }
    if ((family = resolve(s, p->target, err, errlen)) < 0)
        goto fail;
    s->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        snprintf(err, errlen, "alerts_syslog.target %s: %s", p->target, strerror(errno));
        goto fail;
    }
    snprintf(s->target, sizeof(s->target), "%s", p->target);
    snprintf(s->sensor, sizeof(s->sensor), "%s", p->sensor);
    if (gethostname(s->host, sizeof(s->host)) != 0)
        s->host[0] = '\0';
    s->host[sizeof(s->host) - 1] = '\0';
    s->pid = (long)getpid();
    *out = (struct tw_sink){.ops = &syslog_ops, .ctx = s, .takes = TW_TAKES_ALERT};
    return 0;
fail:
    close_syslog(s);
    return -1;
}
