/* metrics_http.c - the metrics endpoint on libmicrohttpd (see metrics_http.h).
 *
 * The socket is made and bound here rather than by libmicrohttpd, so that a port in use or
 * an address the host does not have is said with its errno at start. */
#include "control/plane/metrics_http.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <microhttpd.h>

#include "control/plane/metrics_text.h"

#define CONNECTIONS_MAX 16
#define CONNECTION_TIMEOUT_S 10
#define TEXT_GUESS (64u << 10)

struct tw_metrics_http {
    struct MHD_Daemon *daemon;
    struct tw_metrics_board *board;
    int fd;
    char url[96];
};

int tw_metrics_parse_listen(const char *text, struct sockaddr_storage *sa, socklen_t *salen,
                            char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(text, ':');
    const char *port;
    size_t hl;

    if (colon == NULL || colon == text || colon[1] == '\0') {
        snprintf(err, errlen, "metrics %s: expected HOST:PORT (127.0.0.1:9464, [::1]:9464)", text);
        return -1;
    }
    port = colon + 1;
    if (port[strspn(port, "0123456789")] != '\0' || strlen(port) > 5 || atol(port) > 65535) {
        snprintf(err, errlen, "metrics %s: the port must be a number from 0 to 65535", text);
        return -1;
    }
    hl = (size_t)(colon - text);
    if (text[0] == '[') { /* [v6 address]:port */
        if (hl < 3 || text[hl - 1] != ']') {
            snprintf(err, errlen, "metrics %s: expected [IPv6 address]:PORT", text);
            return -1;
        }
        text++;
        hl -= 2;
    } else if (memchr(text, ':', hl) != NULL) {
        snprintf(err, errlen, "metrics %s: write an IPv6 address in brackets: [::1]:9464", text);
        return -1;
    }
    if (hl >= sizeof(host)) {
        snprintf(err, errlen, "metrics %.*s...: host name too long", 40, text);
        return -1;
    }
    memcpy(host, text, hl);
    host[hl] = '\0';

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV}, *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "metrics %s: %s", host,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *salen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, char *body,
                              size_t len, const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result rc;

    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result plain(struct MHD_Connection *conn, unsigned status, const char *text)
{
    char *body = strdup(text);

    return body != NULL ? answer(conn, status, body, strlen(body), "text/plain; charset=utf-8")
                        : MHD_NO;
}

/* Renders the board's snapshot into a buffer of the size the text needs. NULL: no memory. */
static char *render(const struct tw_metrics_snapshot *s, size_t *len)
{
    size_t cap = TEXT_GUESS;
    char *buf = malloc(cap);

    if (buf == NULL)
        return NULL;
    *len = tw_metrics_render(s, buf, cap);
    if (*len >= cap) {
        cap = *len + 1;
        char *bigger = realloc(buf, cap);
        if (bigger == NULL) {
            free(buf);
            return NULL;
        }
        buf = bigger;
        *len = tw_metrics_render(s, buf, cap);
    }
    return buf;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **req)
{
    struct tw_metrics_http *h = cls;
    struct tw_metrics_snapshot *snap;
    enum MHD_Result rc;
    size_t len;

    (void)version;
    (void)upload;
    (void)upload_len;
    (void)req;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return plain(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    if (strcmp(url, "/metrics") != 0)
        return plain(conn, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n");
    if ((snap = malloc(sizeof(*snap))) == NULL)
        return MHD_NO;
    if (tw_metrics_board_read(h->board, snap) != 0) {
        free(snap);
        return plain(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "tapwatch is starting\n");
    }
    char *text = render(snap, &len);
    free(snap);
    if (text == NULL)
        return MHD_NO;
    rc = answer(conn, MHD_HTTP_OK, text, len, TW_METRICS_CONTENT_TYPE);
    return rc;
}

struct tw_metrics_http *tw_metrics_http_start(const char *where, struct tw_metrics_board *b,
                                              char *err, size_t errlen)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    struct tw_metrics_http *h;
    const int one = 1;

    if (tw_metrics_parse_listen(where, &sa, &salen, err, errlen) != 0)
        return NULL;
    if ((h = calloc(1, sizeof(*h))) == NULL) {
        snprintf(err, errlen, "metrics %s: out of memory", where);
        return NULL;
    }
    h->board = b;
    h->fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (h->fd < 0 || setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(h->fd, (struct sockaddr *)&sa, salen) != 0 || listen(h->fd, CONNECTIONS_MAX) != 0)
        goto sys_fail;
    salen = sizeof(sa);
    if (getsockname(h->fd, (struct sockaddr *)&sa, &salen) != 0)
        goto sys_fail;

    char addr[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, addr, sizeof(addr));
        port = ntohs(s6->sin6_port);
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&sa;
        inet_ntop(AF_INET, &s4->sin_addr, addr, sizeof(addr));
        port = ntohs(s4->sin_port);
    }
    snprintf(h->url, sizeof(h->url), sa.ss_family == AF_INET6 ? "http://[%s]:%u/metrics"
                                                              : "http://%s:%u/metrics",
             addr, port);

    h->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL,
                                 handle, h, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->fd,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTIONS_MAX,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
                                 MHD_OPTION_END);
    if (h->daemon == NULL) {
        snprintf(err, errlen, "metrics %s: cannot start the HTTP server", where);
        close(h->fd);
        free(h);
        return NULL;
    }
    return h;

sys_fail:
    snprintf(err, errlen, "metrics %s: %s", where, strerror(errno));
    if (h->fd >= 0)
        close(h->fd);
    free(h);
    return NULL;
}

const char *tw_metrics_http_url(const struct tw_metrics_http *h)
{
    return h->url;
}

void tw_metrics_http_stop(struct tw_metrics_http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->daemon); /* closes the listening socket it was given */
    free(h);
}
