/* redis_conn.h - where Redis is (a URL) and one connection to it, shared by the store and
 * the query tool so both spell URLs and errors the same way.
 *
 *   unix:///abs/path/redis.sock     a unix socket (absolute path)
 *   redis://host[:port]             TCP, port 6379 by default; [v6addr] in brackets
 */
#ifndef TW_REDIS_CONN_H
#define TW_REDIS_CONN_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#define TW_REDIS_URL_LEN 256

struct tw_redis_url {
    int is_unix;
    char path[108];             /* unix socket path (sun_path size) */
    char host[TW_REDIS_URL_LEN];
    int port;
    char text[TW_REDIS_URL_LEN]; /* the URL as given, for messages */
};

/* Parses url. Returns 0, or -1 with a one-line reason in err ("redis: bad URL \"x\": ..."). */
int tw_redis_parse_url(const char *url, struct tw_redis_url *out, char *err, size_t errlen);

/* Connects with connect and command timeouts of timeout_ms. Returns a connected context (free
 * it with redisFree), or NULL with a one-line reason in err, e.g.
 * "redis: cannot connect to unix:///x: No such file or directory". */
redisContext *tw_redis_connect(const struct tw_redis_url *u, unsigned timeout_ms, char *err,
                               size_t errlen);

/* 1 when an error reply is a refusal that goes away by itself (OOM, MISCONF, LOADING, a
 * failover, too many clients...): the writer waits and sends the same batch again rather
 * than counting it as refused. */
int tw_redis_transient_error(const char *msg);

#endif
