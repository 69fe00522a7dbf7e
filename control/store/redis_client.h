/* redis_client.h - a blocking request-reply connection to Redis over the transport
 * (redis_transport.h), for tapwatch-query and tapwatch's start-up check: connect, AUTH when
 * the target has a password, then commands in printf form (hiredis's formatting and reply
 * reader), one at a time or pipelined (append, then get the replies in order).
 *
 * Every wait is bounded by the timeout given at open, so a hung server fails the call.
 */
#ifndef TW_REDIS_CLIENT_H
#define TW_REDIS_CLIENT_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "control/store/redis_conn.h"

struct tw_rclient;

/* Why an open failed. */
enum tw_rclient_fail {
    TW_RCLIENT_DOWN = 1, /* not reachable: an outage */
    TW_RCLIENT_CONFIG,   /* refused us: AUTH (NOAUTH, WRONGPASS), a certificate: configuration */
};

/* Connects to t (borrowed) and authenticates. Returns the client, or NULL with a one-line
 * reason in err naming the URL without its password ("redis rediss://localhost:6380 refused
 * AUTH: WRONGPASS invalid username-password pair ...") and *why set. */
struct tw_rclient *tw_rclient_open(const struct tw_redis_target *t, unsigned timeout_ms,
                                   enum tw_rclient_fail *why, char *err, size_t errlen);

/* Sends one command and waits for its reply. Returns the reply (freeReplyObject), or NULL on
 * an I/O error (tw_rclient_error says which; the client is not usable afterwards). */
redisReply *tw_rclient_command(struct tw_rclient *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Queues one command (sent with the next get_reply). Returns REDIS_OK or REDIS_ERR. */
int tw_rclient_append(struct tw_rclient *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Queues n bytes that are already RESP commands. Returns REDIS_OK or REDIS_ERR. */
int tw_rclient_raw(struct tw_rclient *c, const char *bytes, size_t n);
/* Sends what is queued and reads the next reply into *r. Returns REDIS_OK or REDIS_ERR.
 * A Redis Cluster's MOVED or ASK is followed: the command goes again (after ASKING for an
 * ASK) to the node named, over a connection to it kept with the client, and its reply is
 * the one returned; the commands are the same bytes as on a single Redis. */
int tw_rclient_get_reply(struct tw_rclient *c, redisReply **r);

/* A Redis Cluster's node host (hl bytes):port, with c's credentials and TLS: c itself when it
 * is c's own node, else a client to it opened once and kept with c (as MOVED uses; closed
 * with c, never by the caller). Returns NULL when it cannot be reached or c keeps too many. */
struct tw_rclient *tw_rclient_node(struct tw_rclient *c, const char *host, size_t hl, int port);

/* The last I/O error ("" when none). */
const char *tw_rclient_error(const struct tw_rclient *c);
/* The URL, password cut out. */
const char *tw_rclient_url(const struct tw_rclient *c);
/* 1 when the connection failed in TLS (a certificate refused after the handshake). */
int tw_rclient_tls_failed(const struct tw_rclient *c);

/* NULL is fine. */
void tw_rclient_close(struct tw_rclient *c);

#endif
