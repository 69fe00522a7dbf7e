/* redis_transport.h - how bytes travel to Redis: one connection-type table (Redis 7's
 * connection.h, hiredis's redisContextFuncs) with a row per transport:
 *
 *   tw_conn_tcp    TCP (TCP_NODELAY)            tw_conn_unix   a unix socket
 *   tw_conn_tls    TLS over TCP, OpenSSL's libssl: the server certificate checked against
 *                  redis.tls_ca (or the system's CAs) and, by default, the host name
 *
 * The row is chosen once, when the URL is parsed (redis_conn.c); callers never branch on it.
 * Everything is non-blocking: tw_conn_start begins connecting, tw_conn_step finishes the
 * connect and the TLS handshake over later calls; read and write return -1 with errno EAGAIN
 * when the socket (or TLS, which may need to read to write) cannot go on, and tw_conn_events
 * says what to poll for then. A blocking caller (tapwatch-query, the start-up check) polls
 * with a timeout: tw_conn_open_wait, tw_conn_io_wait.
 *
 * hiredis still speaks the protocol (its reply reader, its command formatting): only the
 * transport is ours, because Debian's hiredis 0.14 has no TLS.
 */
#ifndef TW_REDIS_TRANSPORT_H
#define TW_REDIS_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>

#include "control/store/redis_conn.h"

struct tw_conn;

struct tw_conn_type {
    const char *name;
    /* the TLS handshake after the socket connected (NULL: none); 1 done, 0 again, -1 failed */
    int (*handshake)(struct tw_conn *c);
    ssize_t (*read)(struct tw_conn *c, void *buf, size_t len);
    ssize_t (*write)(struct tw_conn *c, const void *buf, size_t len);
    size_t (*pending)(const struct tw_conn *c); /* bytes read and not yet handed out */
    void (*close)(struct tw_conn *c);
};

extern const struct tw_conn_type tw_conn_tcp, tw_conn_unix, tw_conn_tls;

/* Starts connecting to t (borrowed: it must outlive the connection). Returns the connection,
 * or NULL with a one-line reason in err (no such host, no socket). */
struct tw_conn *tw_conn_start(const struct tw_redis_target *t, char *err, size_t errlen);

/* Finishes connecting without waiting. Returns 1 when connected (TLS handshake done), 0 when
 * not yet, -1 when it failed (tw_conn_error says why). */
int tw_conn_step(struct tw_conn *c);

/* 1 when the failure was the TLS handshake (a certificate refused, not TLS on the other end):
 * a configuration error rather than an outage. */
int tw_conn_tls_failed(const struct tw_conn *c);

/* Reads or writes what the connection takes now: > 0 bytes, 0 (read: closed by the peer),
 * or -1 with errno EAGAIN (try again when tw_conn_events says) or another error (the reason
 * in tw_conn_error). */
ssize_t tw_conn_read(struct tw_conn *c, void *buf, size_t len);
ssize_t tw_conn_write(struct tw_conn *c, const void *buf, size_t len);

/* Bytes already read from the socket and not yet returned by tw_conn_read (TLS records):
 * poll would not see them. */
size_t tw_conn_pending(const struct tw_conn *c);

/* The poll events the connection waits for now; out: the caller has bytes to write. */
short tw_conn_events(const struct tw_conn *c, int out);
int tw_conn_fd(const struct tw_conn *c);
const char *tw_conn_error(const struct tw_conn *c);

/* Connects and waits up to timeout_ms. Returns the connection, or NULL with
 * "cannot connect to URL: reason" in err (*tls_failed set when the TLS handshake refused). */
struct tw_conn *tw_conn_open_wait(const struct tw_redis_target *t, unsigned timeout_ms,
                                  int *tls_failed, char *err, size_t errlen);

/* Waits up to timeout_ms for the connection to be ready to read (out 0) or to write (out 1).
 * Returns 1 ready, 0 timed out, -1 error. */
int tw_conn_io_wait(struct tw_conn *c, int out, unsigned timeout_ms);

/* Closes and frees. NULL is fine. */
void tw_conn_close(struct tw_conn *c);

/* The TLS settings of o loaded into an SSL_CTX (certificates read now, so a missing file is
 * said at start-up). Returns it, or NULL with a one-line reason. */
void *tw_tls_context(const struct tw_redis_options *o, char *err, size_t errlen);
void tw_tls_context_free(void *ctx);

#endif
