/* redis_transport.c - TCP, unix socket and TLS connections to Redis (see redis_transport.h).
 *
 *   tw_conn_start ──socket, connect (EINPROGRESS)──> S_CONNECTING ──writable, SO_ERROR 0──>
 *   S_HANDSHAKE (TLS: SSL_connect until it stops asking to read or write) ──> S_UP
 *   a TCP connect that fails moves on to the host's next address (localhost: ::1, 127.0.0.1)
 */
#include "control/store/redis_transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

enum { S_CONNECTING, S_HANDSHAKE, S_UP, S_FAILED };

struct tw_conn {
    const struct tw_conn_type *type;
    const struct tw_redis_target *t;
    int fd, state;
    struct addrinfo *ai, *cur; /* TCP: the host's addresses, the one being tried */
    SSL *ssl;
    int hs_wants_read;         /* the handshake waits to read (else to write) */
    int rd_wants_write;        /* TLS: a read must write first (renegotiation, key update) */
    int wr_wants_read;         /* TLS: a write must read first */
    int tls_failed;
    char err[256];
};

static int fail(struct tw_conn *c, const char *fmt, const char *what)
{
    snprintf(c->err, sizeof(c->err), fmt, what);
    c->state = S_FAILED;
    return -1;
}

/* ---- plain sockets ---- */

static ssize_t sock_read(struct tw_conn *c, void *buf, size_t len)
{
    ssize_t r;

    do
        r = recv(c->fd, buf, len, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        snprintf(c->err, sizeof(c->err), "%s", strerror(errno));
    if (r < 0 && errno == EWOULDBLOCK)
        errno = EAGAIN;
    return r;
}

static ssize_t sock_write(struct tw_conn *c, const void *buf, size_t len)
{
    ssize_t w;

    do
        w = send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        snprintf(c->err, sizeof(c->err), "%s", strerror(errno));
    if (w < 0 && errno == EWOULDBLOCK)
        errno = EAGAIN;
    return w;
}

static size_t sock_pending(const struct tw_conn *c)
{
    (void)c;
    return 0;
}

static void sock_close(struct tw_conn *c)
{
    (void)c;
}

/* ---- TLS ---- */

/* The reason of the last OpenSSL error, or of a failed verification. */
static void tls_reason(struct tw_conn *c, const char *when)
{
    unsigned long e = ERR_peek_last_error();
    long v = c->ssl != NULL ? SSL_get_verify_result(c->ssl) : X509_V_OK;

    if (v != X509_V_OK)
        snprintf(c->err, sizeof(c->err), "TLS %s: certificate refused: %s", when,
                 X509_verify_cert_error_string(v));
    else if (e != 0)
        snprintf(c->err, sizeof(c->err), "TLS %s: %s", when, ERR_reason_error_string(e));
    else
        snprintf(c->err, sizeof(c->err), "TLS %s: %s", when,
                 errno != 0 ? strerror(errno) : "connection closed by the server");
    ERR_clear_error();
}

static int tls_handshake(struct tw_conn *c)
{
    const struct tw_redis_target *t = c->t;
    int r, e;

    if (c->ssl == NULL) {
        struct in6_addr a6;
        int is_ip = inet_pton(AF_INET, t->url.host, &a6) == 1 ||
                    inet_pton(AF_INET6, t->url.host, &a6) == 1;
        if ((c->ssl = SSL_new(t->tls)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
            return fail(c, "TLS: %s", "cannot make a TLS session (out of memory)");
        if (!is_ip)
            SSL_set_tlsext_host_name(c->ssl, t->url.host);
        if (t->verify_host) { /* the certificate must name what the URL names */
            X509_VERIFY_PARAM *p = SSL_get0_param(c->ssl);
            if (!(is_ip ? X509_VERIFY_PARAM_set1_ip_asc(p, t->url.host)
                        : X509_VERIFY_PARAM_set1_host(p, t->url.host, 0)))
                return fail(c, "TLS: cannot check the host name %.200s", t->url.host);
        }
    }
    ERR_clear_error();
    errno = 0;
    if ((r = SSL_connect(c->ssl)) == 1)
        return 1;
    e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->hs_wants_read = e == SSL_ERROR_WANT_READ;
        return 0;
    }
    c->tls_failed = e == SSL_ERROR_SSL;
    tls_reason(c, "handshake");
    c->state = S_FAILED;
    return -1;
}

static ssize_t tls_read(struct tw_conn *c, void *buf, size_t len)
{
    int r, e;

    ERR_clear_error();
    errno = 0;
    if ((r = SSL_read(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len)) > 0) {
        c->rd_wants_write = 0;
        return r;
    }
    e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->rd_wants_write = e == SSL_ERROR_WANT_WRITE;
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    /* a TLS 1.3 server refuses a client certificate after the handshake: it shows here */
    c->tls_failed = e == SSL_ERROR_SSL;
    tls_reason(c, "read");
    errno = ECONNRESET;
    return -1;
}

static ssize_t tls_write(struct tw_conn *c, const void *buf, size_t len)
{
    int w, e;

    ERR_clear_error();
    errno = 0;
    if ((w = SSL_write(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len)) > 0) {
        c->wr_wants_read = 0;
        return w;
    }
    e = SSL_get_error(c->ssl, w);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->wr_wants_read = e == SSL_ERROR_WANT_READ;
        errno = EAGAIN;
        return -1;
    }
    c->tls_failed = e == SSL_ERROR_SSL;
    tls_reason(c, "write");
    errno = EPIPE;
    return -1;
}

static size_t tls_pending(const struct tw_conn *c)
{
    return c->ssl != NULL ? (size_t)SSL_pending(c->ssl) : 0;
}

static void tls_close(struct tw_conn *c)
{
    if (c->ssl != NULL) {
        if (c->state == S_UP)
            SSL_shutdown(c->ssl); /* one close_notify, not waited for */
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
}

const struct tw_conn_type tw_conn_tcp = {"tcp", NULL, sock_read, sock_write, sock_pending,
                                         sock_close};
const struct tw_conn_type tw_conn_unix = {"unix", NULL, sock_read, sock_write, sock_pending,
                                          sock_close};
/* SSL_write must be called again with the same bytes after WANT_WRITE: the engine's buffer
 * may have moved (realloc) and grown meanwhile, which the modes below allow. */
const struct tw_conn_type tw_conn_tls = {"tls", tls_handshake, tls_read, tls_write, tls_pending,
                                         tls_close};

static int tls_file_error(char *err, size_t errlen, const char *what, const char *path)
{
    unsigned long e = ERR_get_error();

    if (access(path, R_OK) != 0)
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
    else
        snprintf(err, errlen, "%s %s: %s", what, path,
                 e ? ERR_reason_error_string(e) : "cannot be loaded");
    ERR_clear_error();
    return -1;
}

void *tw_tls_context(const struct tw_redis_options *o, char *err, size_t errlen)
{
    int has_cert = o->tls_cert != NULL && o->tls_cert[0] != '\0';
    int has_key = o->tls_key != NULL && o->tls_key[0] != '\0';
    SSL_CTX *ctx;

    if (has_cert != has_key) {
        snprintf(err, errlen, "%s is set without %s: a client certificate needs both",
                 has_cert ? "redis.tls_cert" : "redis.tls_key",
                 has_cert ? "redis.tls_key" : "redis.tls_cert");
        return NULL;
    }
    if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
        snprintf(err, errlen, "redis: TLS: cannot make a context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (o->tls_ca != NULL && o->tls_ca[0] != '\0') {
        if (SSL_CTX_load_verify_locations(ctx, o->tls_ca, NULL) != 1) {
            char what[64];
            snprintf(what, sizeof(what), "%stls_ca", o->names ? o->names : "redis.");
            tls_file_error(err, errlen, what, o->tls_ca);
            goto fail;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        snprintf(err, errlen, "redis: TLS: cannot load the system's CA certificates");
        goto fail;
    }
    if (has_cert) {
        char key_err[512];
        /* the key is a secret: owner-only, as the password file */
        if (tw_secret_file_read("redis.tls_key", o->tls_key, NULL, 0, key_err,
                                sizeof(key_err)) < 0) {
            snprintf(err, errlen, "%s", key_err);
            goto fail;
        }
        if (SSL_CTX_use_certificate_chain_file(ctx, o->tls_cert) != 1) {
            tls_file_error(err, errlen, "redis.tls_cert", o->tls_cert);
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, o->tls_key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            tls_file_error(err, errlen, "redis.tls_key", o->tls_key);
            goto fail;
        }
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

void tw_tls_context_free(void *ctx)
{
    SSL_CTX_free(ctx);
}

/* ---- connecting ---- */

/* Tries the addresses from c->cur on. Returns 0 (connecting or connected), -1 when none is
 * left. */
static int try_addresses(struct tw_conn *c)
{
    int last = ECONNREFUSED;

    for (; c->cur != NULL; c->cur = c->cur->ai_next) {
        int fd = socket(c->cur->ai_family, c->cur->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        c->cur->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, c->cur->ai_addr, c->cur->ai_addrlen) == 0 || errno == EINPROGRESS) {
            c->fd = fd;
            return 0;
        }
        last = errno;
        close(fd);
    }
    return fail(c, "%s", strerror(last));
}

struct tw_conn *tw_conn_start(const struct tw_redis_target *t, char *err, size_t errlen)
{
    struct tw_conn *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->type = t->url.type;
    c->t = t;
    c->fd = -1;
    c->state = S_CONNECTING;
    if (t->url.is_unix) {
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "%s", t->url.path);
        c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0 ||
            (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)) {
            snprintf(err, errlen, "%s", strerror(errno));
            tw_conn_close(c);
            return NULL;
        }
        return c;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    char port[8];
    int rc;
    snprintf(port, sizeof(port), "%d", t->url.port);
    if ((rc = getaddrinfo(t->url.host, port, &hints, &c->ai)) != 0) {
        snprintf(err, errlen, "%s: %s", t->url.host, gai_strerror(rc));
        tw_conn_close(c);
        return NULL;
    }
    c->cur = c->ai;
    if (try_addresses(c) < 0) {
        snprintf(err, errlen, "%s", c->err);
        tw_conn_close(c);
        return NULL;
    }
    return c;
}

int tw_conn_step(struct tw_conn *c)
{
    while (c->state == S_CONNECTING) {
        struct pollfd p = {.fd = c->fd, .events = POLLOUT};
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (poll(&p, 1, 0) != 1)
            return 0;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
            soerr = errno;
        if (soerr == 0 && !(p.revents & (POLLERR | POLLHUP))) {
            if (!c->t->url.is_unix)
                setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
            c->state = c->type->handshake != NULL ? S_HANDSHAKE : S_UP;
            break;
        }
        close(c->fd);
        c->fd = -1;
        if (c->cur == NULL || (c->cur = c->cur->ai_next) == NULL)
            return fail(c, "%s", strerror(soerr ? soerr : ECONNREFUSED));
        if (try_addresses(c) < 0)
            return -1;
    }
    if (c->state == S_HANDSHAKE) {
        int r = c->type->handshake(c);
        if (r <= 0)
            return r;
        c->state = S_UP;
    }
    return c->state == S_UP ? 1 : -1;
}

int tw_conn_tls_failed(const struct tw_conn *c)
{
    return c->tls_failed;
}

ssize_t tw_conn_read(struct tw_conn *c, void *buf, size_t len)
{
    return c->type->read(c, buf, len);
}

ssize_t tw_conn_write(struct tw_conn *c, const void *buf, size_t len)
{
    return c->type->write(c, buf, len);
}

size_t tw_conn_pending(const struct tw_conn *c)
{
    return c->type->pending(c);
}

short tw_conn_events(const struct tw_conn *c, int out)
{
    if (c->state == S_CONNECTING)
        return POLLOUT;
    if (c->state == S_HANDSHAKE)
        return c->hs_wants_read ? POLLIN : POLLOUT;
    return (short)(POLLIN | (out || c->rd_wants_write ? POLLOUT : 0));
}

int tw_conn_fd(const struct tw_conn *c)
{
    return c->fd;
}

const char *tw_conn_error(const struct tw_conn *c)
{
    return c->err[0] ? c->err : "connection failed";
}

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct tw_conn *tw_conn_open_wait(const struct tw_redis_target *t, unsigned timeout_ms,
                                  int *tls_failed, char *err, size_t errlen)
{
    char why[256];
    uint64_t end = mono_ms() + timeout_ms;
    struct tw_conn *c = tw_conn_start(t, why, sizeof(why));
    int r = -1;

    *tls_failed = 0;
    if (c != NULL) {
        while ((r = tw_conn_step(c)) == 0) {
            uint64_t now = mono_ms();
            struct pollfd p = {.fd = c->fd, .events = tw_conn_events(c, 0)};
            if (now >= end) {
                snprintf(c->err, sizeof(c->err), "no answer within %u ms", timeout_ms);
                r = -1;
                break;
            }
            poll(&p, 1, (int)(end - now));
        }
        if (r < 0) {
            snprintf(why, sizeof(why), "%s", tw_conn_error(c));
            *tls_failed = c->tls_failed;
        }
    }
    if (r == 1)
        return c;
    snprintf(err, errlen, "redis: cannot connect to %s: %s", t->url.text, why);
    tw_conn_close(c);
    return NULL;
}

int tw_conn_io_wait(struct tw_conn *c, int out, unsigned timeout_ms)
{
    struct pollfd p = {.fd = c->fd};

    if (!out && tw_conn_pending(c) > 0)
        return 1;
    if (out)
        p.events = c->wr_wants_read ? POLLIN : POLLOUT;
    else
        p.events = c->rd_wants_write ? POLLOUT : POLLIN;
    int r = poll(&p, 1, (int)timeout_ms);
    return r < 0 ? (errno == EINTR ? 0 : -1) : r > 0;
}

void tw_conn_close(struct tw_conn *c)
{
    if (c == NULL)
        return;
    c->type->close(c);
    if (c->fd >= 0)
        close(c->fd);
    if (c->ai != NULL)
        freeaddrinfo(c->ai);
    free(c);
}
