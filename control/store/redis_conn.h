/* redis_conn.h - where Redis is and who we are to it: the URL, the credentials and the TLS
 * settings, parsed and loaded once into a target that every connection of the program uses
 * (the writers' engine, the start-up check, tapwatch-query). Shared by the store and the query
 * tool so both spell URLs, secrets and errors the same way.
 *
 *   unix:///abs/path/redis.sock          a unix socket (absolute path)
 *   unix://user:password@/abs/path       the same, with an ACL user (or ":password@")
 *   redis://[user:password@]host[:port]  TCP, port 6379 by default; [v6addr] in brackets
 *   rediss://[user:password@]host[:port] TLS (OpenSSL), redis.tls_* settings
 *
 * The secret: a password given in the URL or read from redis.password_file lives in the
 * target only (the URL text kept for messages has it cut out: "redis://sensor:***@host:6379"),
 * and is wiped when the target is closed. The file must belong to the user the program runs as
 * and be unreadable by group and others (as OpenSSH wants of a private key).
 */
#ifndef TW_REDIS_CONN_H
#define TW_REDIS_CONN_H

#include <stddef.h>

#define TW_REDIS_URL_LEN 256
#define TW_REDIS_USER_LEN 128
#define TW_REDIS_PASSWORD_LEN 512

struct tw_conn_type; /* redis_transport.h: how bytes travel (tcp, unix, tls) */

struct tw_redis_url {
    const struct tw_conn_type *type; /* chosen once, here: callers never branch on it */
    int is_unix, is_tls;
    char path[108];             /* unix socket path (sun_path size) */
    char host[TW_REDIS_URL_LEN];
    int port;
    char user[TW_REDIS_USER_LEN];
    char password[TW_REDIS_PASSWORD_LEN]; /* from the URL ("" = none); the target wipes it */
    int has_password;
    char text[TW_REDIS_URL_LEN]; /* the URL for messages, password cut out */
};

/* Parses url. Returns 0, or -1 with a one-line reason in err ("redis: bad URL \"x\": ...";
 * the URL in it with its password cut out). */
int tw_redis_parse_url(const char *url, struct tw_redis_url *out, char *err, size_t errlen);

/* Writes url into out with the password of its user part replaced by "***" (anything
 * between "//" and the last '@' before the path after the first ':'). Never fails; out is
 * cut to len. */
void tw_redis_url_redact(const char *url, char *out, size_t len);

/* Overwrites, in place, the password of url's user part with '*' (same length): for the
 * copy of a URL in argv, which ps shows for as long as the program runs. */
void tw_redis_url_mask(char *url);

/* The settings besides the URL (redis.* keys; NULL or "" = not set). */
struct tw_redis_options {
    const char *user;          /* redis.user: an ACL user, when the URL names none */
    const char *password_file; /* redis.password_file */
    const char *tls_ca;        /* redis.tls_ca: CA certificates (PEM); default: the system's */
    const char *tls_cert;      /* redis.tls_cert: client certificate (PEM) */
    const char *tls_key;       /* redis.tls_key: its key (PEM), owner-only like the password */
    int tls_verify_host;       /* redis.tls_verify_host: the certificate must name the host */
    int cluster;               /* redis.cluster: the URL's hosts are seeds of a Redis Cluster */
    unsigned wait_replicas;    /* redis.wait_replicas: WAIT for this many replicas per batch */
    unsigned wait_timeout_ms;  /* redis.wait_timeout: WAIT's timeout (0: 1000 ms) */
    const char *names;         /* how messages name the settings: "<names>password_file",
                                * "<names>tls_ca"...; NULL: "redis." (the witness's:
                                * "evidence.witness_") */
};

/* One Redis to talk to, with who we are there. Read-only once opened; connections borrow it. */
struct tw_redis_target {
    struct tw_redis_url url;   /* url.password is empty: the secret is below */
    char user[TW_REDIS_USER_LEN];
    char password[TW_REDIS_PASSWORD_LEN];
    size_t password_len;       /* 0 = no AUTH */
    void *tls;                 /* SSL_CTX (redis_transport.c), NULL without TLS */
    int verify_host;
    int cluster;               /* redis_cluster.h: the URL is the first seed, seeds the rest */
    char seeds[TW_REDIS_URL_LEN]; /* "host:port,host:port" after the URL's first host, or "" */
    unsigned wait_replicas, wait_timeout_ms; /* redis_engine.h: WAIT after each batch */
};

/* Parses url, reads the password file (checking its owner and mode) and loads the TLS
 * files. Returns the target, or NULL with a one-line reason in err, e.g.
 * "redis.password_file /etc/tw/pw: mode 0644 is too open: it must be readable by its owner
 * only (chmod 600)". The caller wipes url's own copy if it wants to. */
struct tw_redis_target *tw_redis_target_open(const char *url, const struct tw_redis_options *o,
                                             char *err, size_t errlen);

/* The URL for messages (password cut out). */
const char *tw_redis_target_url(const struct tw_redis_target *t);

/* One node of t's cluster: t's credentials, transport and TLS at host (host_len bytes) and
 * port, as a target of its own (no seeds, not a cluster) in out. Returns 0, or -1 when the
 * host does not fit or the port is not one. Wipe out->password when done with it. */
int tw_redis_target_at(const struct tw_redis_target *t, const char *host, size_t host_len,
                       int port, struct tw_redis_target *out);

/* Wipes the secret and frees the target. NULL is fine. */
void tw_redis_target_close(struct tw_redis_target *t);

/* Reads a secret file: a regular file, not a symlink, owned by the effective user, mode
 * without group or other bits; its first line (without the line end) into buf. Returns its
 * length, or -1 with "WHAT PATH: reason" in err. what names the setting ("redis.password_file").
 * buf NULL: checks owner and mode only, returns 0. */
int tw_secret_file_read(const char *what, const char *path, char *buf, size_t len, char *err,
                        size_t errlen);

/* 1 when an error reply is a refusal that goes away by itself (OOM, MISCONF, LOADING, a
 * failover, too many clients...): the writer waits and sends the same batch again rather
 * than counting it as refused. */
int tw_redis_transient_error(const char *msg);

/* 1 when an error reply says the configuration is wrong, not that Redis is unwell:
 * NOAUTH, WRONGPASS, NOPERM, READONLY (a replica), AUTH without a password set. At start-up
 * that ends the program (exit 2); while running the records wait as during an outage. */
int tw_redis_config_error(const char *msg);

#endif
