/* redis_conn.c - Redis URLs and connections (see redis_conn.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "control/store/redis_conn.h"

static int bad_url(char *err, size_t errlen, const char *url, const char *why)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "redis: bad URL \"%.200s\": %s", url, why);
    return -1;
}

int tw_redis_parse_url(const char *url, struct tw_redis_url *out, char *err, size_t errlen)
{
    const char *hp, *colon, *end;
    char *num_end;
    size_t hostlen;
    long port = 6379;

    memset(out, 0, sizeof(*out));
    if (url == NULL || *url == '\0')
        return bad_url(err, errlen, "", "empty");
    if (strlen(url) >= sizeof(out->text))
        return bad_url(err, errlen, url, "too long");
    snprintf(out->text, sizeof(out->text), "%s", url);

    if (strncmp(url, "unix://", 7) == 0) {
        const char *path = url + 7;
        if (path[0] != '/')
            return bad_url(err, errlen, url, "expected unix:///absolute/path");
        if (strlen(path) >= sizeof(out->path))
            return bad_url(err, errlen, url, "socket path too long");
        out->is_unix = 1;
        snprintf(out->path, sizeof(out->path), "%s", path);
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return bad_url(err, errlen, url, "expected unix:///path or redis://host:port");

    hp = url + 8;
    end = hp + strcspn(hp, "/?#");
    if (*end == '/' && end[1] == '\0')
        ; /* a trailing slash is harmless */
    else if (*end != '\0')
        return bad_url(err, errlen, url, "database numbers, users and options are not supported");
    if (memchr(hp, '@', (size_t)(end - hp)) != NULL)
        return bad_url(err, errlen, url, "database numbers, users and options are not supported");
    if (*hp == '[') { /* [v6addr]:port */
        const char *rb = memchr(hp, ']', (size_t)(end - hp));
        if (rb == NULL)
            return bad_url(err, errlen, url, "missing ']' after an IPv6 address");
        hostlen = (size_t)(rb - hp - 1);
        hp++;
        colon = rb + 1 < end ? rb + 1 : NULL;
        if (colon != NULL && *colon != ':')
            return bad_url(err, errlen, url, "expected ':' after ']'");
    } else {
        colon = memchr(hp, ':', (size_t)(end - hp));
        hostlen = (size_t)((colon != NULL ? colon : end) - hp);
    }
    if (hostlen == 0)
        return bad_url(err, errlen, url, "no host");
    if (hostlen >= sizeof(out->host))
        return bad_url(err, errlen, url, "host too long");
    memcpy(out->host, hp, hostlen);
    if (colon != NULL) {
        errno = 0;
        port = strtol(colon + 1, &num_end, 10);
        if (num_end == colon + 1 || num_end != end || errno != 0 || port < 1 || port > 65535)
            return bad_url(err, errlen, url, "port must be 1 to 65535");
    }
    out->port = (int)port;
    return 0;
}

redisContext *tw_redis_connect(const struct tw_redis_url *u, unsigned timeout_ms, char *err,
                               size_t errlen)
{
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    redisContext *c;

    c = u->is_unix ? redisConnectUnixWithTimeout(u->path, tv)
                   : redisConnectWithTimeout(u->host, u->port, tv);
    if (c == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "redis: cannot connect to %s: out of memory", u->text);
        return NULL;
    }
    /* the command timeout keeps a hung server from hanging the caller */
    if (c->err == 0 && redisSetTimeout(c, tv) != REDIS_OK && c->err == 0) {
        c->err = REDIS_ERR_IO;
        snprintf(c->errstr, sizeof(c->errstr), "cannot set a timeout");
    }
    if (c->err != 0) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "redis: cannot connect to %s: %s", u->text, c->errstr);
        redisFree(c);
        return NULL;
    }
    return c;
}

int tw_redis_transient_error(const char *msg)
{
    static const char *const again[] = {"OOM",        "MISCONF",    "LOADING",    "BUSY",
                                        "READONLY",   "MASTERDOWN", "NOREPLICAS", "TRYAGAIN",
                                        "CLUSTERDOWN", "NOAUTH",    "ERR max number of clients"};

    for (size_t i = 0; i < sizeof(again) / sizeof(again[0]); i++)
        if (strncmp(msg, again[i], strlen(again[i])) == 0)
            return 1;
    return 0;
}
