/* redis_conn.c - Redis URLs, credentials and the target they make (see redis_conn.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/store/redis_conn.h"
#include "control/store/redis_transport.h"

void tw_redis_url_redact(const char *url, char *out, size_t len)
{
    const char *p = url != NULL ? strstr(url, "://") : NULL, *user, *at, *colon;

    if (len == 0)
        return;
    if (p == NULL || p[3] == '/' || (at = strrchr(p + 3, '@')) == NULL) {
        /* unix:// not followed by a path is a user part without its '@': hide it all */
        if (p != NULL && p[3] != '/' && p[3] != '\0' && strncmp(url, "unix://", 7) == 0)
            snprintf(out, len, "unix://***");
        else
            snprintf(out, len, "%s", url != NULL ? url : "");
        return;
    }
    user = p + 3;
    colon = memchr(user, ':', (size_t)(at - user));
    if (colon == NULL) /* "x@host": a user, or a password put where the user goes */
        snprintf(out, len, "%.*s***%s", (int)(user - url), url, at);
    else if (colon == user)
        snprintf(out, len, "%.*s:***%s", (int)(user - url), url, at);
    else
        snprintf(out, len, "%.*s:***%s", (int)(colon - url), url, at);
}

void tw_redis_url_mask(char *url)
{
    char *p = url != NULL ? strstr(url, "://") : NULL, *at, *colon;

    if (p == NULL || p[3] == '/' || (at = strrchr(p + 3, '@')) == NULL)
        return;
    colon = memchr(p + 3, ':', (size_t)(at - p - 3));
    for (char *c = colon != NULL ? colon + 1 : p + 3; c < at; c++)
        *c = '*';
}

static int bad_url(char *err, size_t errlen, const char *url, const char *why)
{
    char shown[TW_REDIS_URL_LEN];

    tw_redis_url_redact(url, shown, sizeof(shown));
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "redis: bad URL \"%.200s\": %s", shown, why);
    return -1;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Copies s[0..n) into out, decoding %XX. Returns the length, or -1 (bad escape, NUL, too
 * long; a user name also refuses control bytes and spaces). */
static int decode(const char *s, size_t n, char *out, size_t len, int is_user)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= n || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || (is_user && (c <= ' ' || c == 0x7f)) || o + 1 >= len)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (int)o;
}

/* The user part "user:password", ":password" or "user" of [s, at). */
static int parse_userinfo(const char *url, const char *s, const char *at, struct tw_redis_url *out,
                          char *err, size_t errlen)
{
    const char *colon = memchr(s, ':', (size_t)(at - s));
    const char *uend = colon != NULL ? colon : at;

    if (decode(s, (size_t)(uend - s), out->user, sizeof(out->user), 1) < 0)
        return bad_url(err, errlen, url, "bad user name (too long, or spaces or control bytes)");
    if (colon != NULL) {
        if (decode(colon + 1, (size_t)(at - colon - 1), out->password, sizeof(out->password), 0) <= 0) {
            explicit_bzero(out->password, sizeof(out->password));
            return bad_url(err, errlen, url, "bad password (empty, too long or a bad %-escape)");
        }
        out->has_password = 1;
    }
    if (out->user[0] == '\0' && !out->has_password)
        return bad_url(err, errlen, url, "nothing before '@'");
    return 0;
}

static int parse_url(const char *url, struct tw_redis_url *out, char *err, size_t errlen)
{
    const char *hp, *colon, *end, *at;
    char *num_end;
    size_t hostlen;
    long port = 6379;

    memset(out, 0, sizeof(*out));
    if (url == NULL || *url == '\0')
        return bad_url(err, errlen, "", "empty");
    if (strlen(url) >= sizeof(out->text))
        return bad_url(err, errlen, url, "too long");
    tw_redis_url_redact(url, out->text, sizeof(out->text));

    if (strncmp(url, "unix://", 7) == 0) {
        const char *path = url + 7;
        if (path[0] != '/') { /* unix://user:password@/path */
            if ((at = strchr(path, '@')) == NULL || at[1] != '/')
                return bad_url(err, errlen, url, "expected unix:///absolute/path or "
                                                 "unix://user:password@/absolute/path");
            if (parse_userinfo(url, path, at, out, err, errlen) < 0)
                return -1;
            path = at + 1;
        }
        if (strlen(path) >= sizeof(out->path))
            return bad_url(err, errlen, url, "socket path too long");
        out->is_unix = 1;
        out->type = &tw_conn_unix;
        snprintf(out->path, sizeof(out->path), "%s", path);
        return 0;
    }
    if (strncmp(url, "redis://", 8) == 0) {
        hp = url + 8;
        out->type = &tw_conn_tcp;
    } else if (strncmp(url, "rediss://", 9) == 0) {
        hp = url + 9;
        out->is_tls = 1;
        out->type = &tw_conn_tls;
    } else {
        return bad_url(err, errlen, url,
                       "expected unix:///path, redis://host:port or rediss://host:port");
    }
    if ((at = strrchr(hp, '@')) != NULL) {
        if (parse_userinfo(url, hp, at, out, err, errlen) < 0)
            return -1;
        hp = at + 1;
    }
    end = hp + strcspn(hp, "/?#");
    if (*end == '/' && end[1] == '\0')
        ; /* a trailing slash is harmless */
    else if (*end != '\0')
        return bad_url(err, errlen, url, "database numbers and options are not supported");
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
    for (size_t i = 0; i < hostlen; i++)
        if ((unsigned char)hp[i] <= ' ' || hp[i] == 0x7f || hp[i] == '%')
            return bad_url(err, errlen, url, "bad host name");
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

int tw_redis_parse_url(const char *url, struct tw_redis_url *out, char *err, size_t errlen)
{
    if (parse_url(url, out, err, errlen) == 0)
        return 0;
    explicit_bzero(out->password, sizeof(out->password)); /* a refused URL keeps no secret */
    out->has_password = 0;
    return -1;
}

int tw_secret_file_read(const char *what, const char *path, char *buf, size_t len, char *err,
                        size_t errlen)
{
    struct stat st;
    ssize_t n;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);

    if (fd < 0) {
        snprintf(err, errlen, "%s %s: %s", what, path,
                 errno == ELOOP ? "is a symbolic link (name the file itself)" : strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s %s: not a regular file", what, path);
        close(fd);
        return -1;
    }
    /* sshkey_perm_ok: a secret others can read, or that another user can rewrite, is not one */
    if (st.st_uid != geteuid()) {
        snprintf(err, errlen, "%s %s: owned by uid %u, not by the user this runs as (uid %u)",
                 what, path, (unsigned)st.st_uid, (unsigned)geteuid());
        close(fd);
        return -1;
    }
    if ((st.st_mode & 077) != 0) {
        snprintf(err, errlen, "%s %s: mode %04o is too open: it must be readable by its owner "
                              "only (chmod 600)", what, path, (unsigned)(st.st_mode & 07777));
        close(fd);
        return -1;
    }
    if (buf == NULL) { /* the owner and mode only (a TLS key, which OpenSSL reads) */
        close(fd);
        return 0;
    }
    while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    buf[got] = '\0';
    got = strcspn(buf, "\r\n"); /* the first line */
    explicit_bzero(buf + got, len - got);
    if (got == 0) {
        snprintf(err, errlen, "%s %s: empty", what, path);
        return -1;
    }
    if (got >= len - 1) { /* no line end in the whole buffer */
        explicit_bzero(buf, len);
        snprintf(err, errlen, "%s %s: longer than %zu bytes", what, path, len - 2);
        return -1;
    }
    return (int)got;
}

static struct tw_redis_target *target_fail(struct tw_redis_target *t)
{
    tw_redis_target_close(t);
    return NULL;
}

int tw_redis_target_at(const struct tw_redis_target *t, const char *host, size_t host_len,
                       int port, struct tw_redis_target *out)
{
    if (host_len == 0 || host_len >= sizeof(out->url.host) || port <= 0 || port > 65535)
        return -1;
    *out = *t; /* credentials, transport, TLS context: the same for every node */
    out->cluster = 0;
    out->seeds[0] = '\0';
    memset(out->url.host, 0, sizeof(out->url.host));
    memcpy(out->url.host, host, host_len);
    out->url.port = port;
    snprintf(out->url.text, sizeof(out->url.text), "%s://%.*s:%d",
             t->url.is_tls ? "rediss" : "redis", (int)host_len, host, port);
    return 0;
}

struct tw_redis_target *tw_redis_target_open(const char *url, const struct tw_redis_options *o,
                                             char *err, size_t errlen)
{
    static const struct tw_redis_options none = {.tls_verify_host = 1};
    struct tw_redis_target *t = calloc(1, sizeof(*t));

    if (o == NULL)
        o = &none;
    if (t == NULL) {
        snprintf(err, errlen, "redis: out of memory");
        return NULL;
    }
    /* redis://a:7000,b:7001 (cluster seeds): the URL is the first, the rest are host:port */
    char first[TW_REDIS_URL_LEN * 2];
    const char *comma = strchr(url, ',');
    if (comma != NULL && strncmp(url, "unix:", 5) != 0) {
        size_t n = (size_t)(comma - url);
        const char *path = strchr(comma, '/');
        size_t sl = path != NULL ? (size_t)(path - comma - 1) : strlen(comma + 1);
        if (n >= sizeof(first) || sl >= sizeof(t->seeds)) {
            snprintf(err, errlen, "redis: the list of seed nodes is too long");
            return target_fail(t);
        }
        snprintf(first, sizeof(first), "%.*s%s", (int)n, url, path != NULL ? path : "");
        memcpy(t->seeds, comma + 1, sl);
        t->seeds[sl] = '\0';
        url = first;
        if (!o->cluster) {
            snprintf(err, errlen, "redis: several hosts in redis.url need redis.cluster: true");
            explicit_bzero(first, sizeof(first));
            return target_fail(t);
        }
    }
    int bad = tw_redis_parse_url(url, &t->url, err, errlen) < 0;
    if (url == first)
        explicit_bzero(first, sizeof(first));
    if (bad)
        return target_fail(t);
    t->cluster = o->cluster;
    t->wait_replicas = o->wait_replicas;
    t->wait_timeout_ms = o->wait_timeout_ms ? o->wait_timeout_ms : 1000;
    /* the secret moves to its one place */
    memcpy(t->password, t->url.password, sizeof(t->password));
    t->password_len = t->url.has_password ? strlen(t->password) : 0;
    explicit_bzero(t->url.password, sizeof(t->url.password));
    snprintf(t->user, sizeof(t->user), "%s", t->url.user);
    t->verify_host = o->tls_verify_host;

    if (o->user != NULL && o->user[0] != '\0') {
        if (t->user[0] != '\0' && strcmp(t->user, o->user) != 0) {
            snprintf(err, errlen, "redis: %s names user \"%s\" and redis.user \"%s\": name one",
                     t->url.text, t->user, o->user);
            return target_fail(t);
        }
        if (strlen(o->user) >= sizeof(t->user) || strpbrk(o->user, " \t\r\n") != NULL) {
            snprintf(err, errlen, "redis.user: expected a user name without spaces");
            return target_fail(t);
        }
        snprintf(t->user, sizeof(t->user), "%s", o->user);
    }
    if (o->password_file != NULL && o->password_file[0] != '\0') {
        char what[64];
        int n;
        snprintf(what, sizeof(what), "%spassword_file", o->names ? o->names : "redis.");
        if (t->password_len > 0) {
            snprintf(err, errlen, "redis: %s has a password and redis.password_file names "
                                  "another: give one", t->url.text);
            return target_fail(t);
        }
        n = tw_secret_file_read(what, o->password_file, t->password,
                                sizeof(t->password), err, errlen);
        if (n < 0)
            return target_fail(t);
        t->password_len = (size_t)n;
    }
    if (t->user[0] != '\0' && t->password_len == 0) {
        snprintf(err, errlen, "redis: user \"%s\" needs a password (redis.password_file, or "
                              "user:password@ in the URL)", t->user);
        return target_fail(t);
    }
    const char *tls_key = o->tls_ca && o->tls_ca[0] ? "redis.tls_ca"
                        : o->tls_cert && o->tls_cert[0] ? "redis.tls_cert"
                        : o->tls_key && o->tls_key[0] ? "redis.tls_key" : NULL;
    if (!t->url.is_tls && tls_key != NULL) {
        snprintf(err, errlen, "%s is set but %s is not a rediss:// URL (TLS)", tls_key,
                 t->url.text);
        return target_fail(t);
    }
    if (t->url.is_tls && (t->tls = tw_tls_context(o, err, errlen)) == NULL)
        return target_fail(t);
    return t;
}

const char *tw_redis_target_url(const struct tw_redis_target *t)
{
    return t->url.text;
}

void tw_redis_target_close(struct tw_redis_target *t)
{
    if (t == NULL)
        return;
    tw_tls_context_free(t->tls);
    explicit_bzero(t, sizeof(*t));
    free(t);
}

static int starts(const char *msg, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strncmp(msg, list[i], strlen(list[i])) == 0)
            return 1;
    return 0;
}

int tw_redis_transient_error(const char *msg)
{
    /* NOAUTH and READONLY are not here: waiting does not fix a configuration */
    static const char *const again[] = {"OOM",         "MISCONF",    "LOADING",    "BUSY",
                                        "MASTERDOWN",  "NOREPLICAS", "TRYAGAIN",   "CLUSTERDOWN",
                                        "ERR max number of clients"};

    return starts(msg, again, sizeof(again) / sizeof(again[0]));
}

int tw_redis_config_error(const char *msg)
{
    static const char *const config[] = {"NOAUTH", "WRONGPASS", "NOPERM", "READONLY",
                                         "ERR AUTH", "ERR Client sent AUTH"};

    return msg != NULL && starts(msg, config, sizeof(config) / sizeof(config[0]));
}
