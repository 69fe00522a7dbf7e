/* audit_trail.c - every question tapwatch-query answers leaves two entries in the audit trail
 * of its bank (keys.h: tw:{audit:<bank>}:trail; entries: control/evidence/audit_entry.h):
 *
 *   "query"  before the answer: who (Redis ACL user, OS user, host, pid), when, the
 *            subcommand, its arguments (passwords cut out of URLs), the sensors asked
 *   "done"   after it: the rows answered and the exit status, ref = the "query" entry's seq
 *
 * An entry that cannot be written (NOPERM, OOM, READONLY, Redis gone) refuses the question:
 * one line on stderr, exit EXIT_AUDIT, nothing printed on stdout.
 *
 * Appending, with concurrent queries: the entry is built and signed against the head the
 * program read (tw:{audit:<bank>}:head, "<seq> <hash>"), then one EVAL appends it only if the
 * head is still that one, and moves the head in the same script; when another query came
 * first, the entry is built again on the new head (optimistic, at most TRIES times). Both keys
 * share one hash tag: one slot in a Redis Cluster.
 *
 * This file is the one place tapwatch-query writes to Redis (tests/integration/
 * test_query_links.sh allows it EVAL and nothing else), and what it writes is the trail only.
 */
#include <json-c/json.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/evidence/audit_entry.h"
#include "control/query/query.h"
#include "control/record/keys.h"
#include "dataplane/clock.h"

#define TRIES 200

/* KEYS[1] trail, KEYS[2] head; ARGV[1] the head the entry was built on ("" = none),
 * ARGV[2] the head after it; ARGV[3..] the entry's field, value pairs.
 * Returns {1, id} when appended, {0, head now} when another entry came first. */
static const char append_lua[] =
    "local h = redis.call('GET', KEYS[2]) or ''\n"
    "if h ~= ARGV[1] then return {0, h} end\n"
    "local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))\n"
    "redis.call('SET', KEYS[2], ARGV[2])\n"
    "return {1, id}\n";

const char *tq_audit_asker;

static struct {
    int on;
    char trail[TW_KEY_LEN], head[TW_KEY_LEN];
    char redis_user[128], os_user[320], host[256], pid[24], subcommand[32];
    char *args, *sensors;
    char query_seq[24];
    struct tw_sign_key key;
    int signing;
} au;

void tq_audit_bank_trail(const char *bank, char *trail, size_t tlen, char *head, size_t hlen)
{
    tw_key_audit_trail(trail, tlen, bank);
    if (head != NULL)
        tw_key_audit_head(head, hlen, bank);
}

int tq_audit_key(const char *path, int explicit)
{
    char err[512];

    if (path == NULL || path[0] == '\0')
        return 0;
    if (!explicit && access(path, F_OK) != 0)
        return 0; /* the per-user default, not made: entries go unsigned */
    if (tw_sign_key_load(path, &au.key, err, sizeof(err)) < 0) {
        fprintf(stderr, PROG ": audit key: %s\n", err);
        return EXIT_USAGE;
    }
    au.signing = 1;
    return 0;
}

/* One RESP bulk string. */
static int bulk(char **b, size_t *n, size_t *cap, const char *s, size_t len)
{
    size_t need = *n + len + 32;

    if (need > *cap) {
        char *m = realloc(*b, need * 2);
        if (m == NULL)
            return -1;
        *b = m;
        *cap = need * 2;
    }
    *n += (size_t)snprintf(*b + *n, *cap - *n, "$%zu\r\n", len);
    memcpy(*b + *n, s, len);
    *n += len;
    memcpy(*b + *n, "\r\n", 2);
    *n += 2;
    return 0;
}

static int bulk_s(char **b, size_t *n, size_t *cap, const char *s)
{
    return bulk(b, n, cap, s, strlen(s));
}

/* Appends e (built on head `on`, "" = none). Returns 1 appended, 0 when the head moved
 * (*moved: the head now, malloc'd), -1 after saying why on stderr. */
static int append(struct tw_rclient *c, const struct tw_audit_entry *e, const char *on,
                  char **moved)
{
    char *b = NULL, newhead[128], cnt[16];
    size_t n = 0, cap = 0;
    redisReply *r = NULL;
    int rc = -1, nargs = 3 + 2 + 2 + 2 * TW_AF_COUNT;

    snprintf(newhead, sizeof(newhead), "%s %s", e->f[TW_AF_SEQ], e->hash_hex);
    snprintf(cnt, sizeof(cnt), "*%d\r\n", nargs);
    int ok = bulk_s(&b, &n, &cap, "EVAL") == 0 && bulk_s(&b, &n, &cap, append_lua) == 0 &&
             bulk_s(&b, &n, &cap, "2") == 0 && bulk_s(&b, &n, &cap, au.trail) == 0 &&
             bulk_s(&b, &n, &cap, au.head) == 0 && bulk_s(&b, &n, &cap, on) == 0 &&
             bulk_s(&b, &n, &cap, newhead) == 0;
    for (int i = 0; ok && i < TW_AF_COUNT; i++)
        ok = bulk_s(&b, &n, &cap, tw_audit_field_name((enum tw_audit_field)i)) == 0 &&
             bulk_s(&b, &n, &cap, e->f[i] != NULL ? e->f[i] : "") == 0;
    if (!ok)
        goto oom;
    if (tw_rclient_raw(c, cnt, strlen(cnt)) != REDIS_OK || tw_rclient_raw(c, b, n) != REDIS_OK ||
        tw_rclient_get_reply(c, &r) != REDIS_OK)
        r = NULL;
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        const char *e2 = tw_rclient_error(c);
        fprintf(stderr, PROG ": refused: the audit entry cannot be written to %s: %s\n",
                au.trail, r != NULL ? r->str : e2[0] ? e2 : "no reply");
        goto out;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        fprintf(stderr, PROG ": refused: the audit entry cannot be written to %s: "
                        "unexpected reply\n", au.trail);
        goto out;
    }
    if (r->element[0]->integer == 1) {
        rc = 1;
        goto out;
    }
    rc = 0;
    if ((*moved = strdup(r->element[1]->type == REDIS_REPLY_STRING ? r->element[1]->str : ""))
        == NULL)
        goto oom;
    goto out;
oom:
    fprintf(stderr, PROG ": out of memory\n");
    rc = -1;
out:
    if (r != NULL)
        freeReplyObject(r);
    free(b);
    return rc;
}

/* Writes one entry of kind; *seq_out (24 bytes) gets its seq. Returns 0, or -1 after one
 * line on stderr. */
static int write_entry(struct tw_rclient *c, const char *kind, const char *rows,
                       const char *exitst, char *seq_out)
{
    char *head = NULL, *moved = NULL, seq[24], prev[TW_AUDIT_HASH_HEX + 1], now[24];
    redisReply *r;
    int rc = -1;

    r = tw_rclient_command(c, "GET %s", au.head);
    if (r == NULL || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)) {
        const char *e = tw_rclient_error(c);
        fprintf(stderr, PROG ": refused: the audit trail %s cannot be read: %s\n", au.trail,
                r != NULL && r->type == REDIS_REPLY_ERROR ? r->str : e[0] ? e : "no reply");
        if (r != NULL)
            freeReplyObject(r);
        return -1;
    }
    head = strdup(r->type == REDIS_REPLY_STRING ? r->str : "");
    freeReplyObject(r);
    for (int t = 0; t < TRIES && head != NULL; t++) {
        struct tw_audit_entry e = {0};
        unsigned long long last = 0;
        char hash[TW_AUDIT_HASH_HEX + 1] = "";

        /* a head that is not "<seq> <hash>" (someone SET it): chain from 0, verify says so */
        if (sscanf(head, "%llu %64[0-9a-f]", &last, hash) != 2 || strlen(hash) != 64) {
            last = 0;
            snprintf(hash, sizeof(hash), "%s", TW_AUDIT_ZERO_HASH);
        }
        snprintf(seq, sizeof(seq), "%llu", last + 1);
        snprintf(prev, sizeof(prev), "%s", hash);
        snprintf(now, sizeof(now), "%llu", (unsigned long long)tw_wall_us());
        e.f[TW_AF_V] = "1";
        e.f[TW_AF_SEQ] = seq;
        e.f[TW_AF_PREV] = prev;
        e.f[TW_AF_KIND] = kind;
        e.f[TW_AF_TIME] = now;
        e.f[TW_AF_REF] = kind[0] == 'd' ? au.query_seq : "";
        e.f[TW_AF_REDIS_USER] = au.redis_user;
        e.f[TW_AF_OS_USER] = au.os_user;
        e.f[TW_AF_HOST] = au.host;
        e.f[TW_AF_PID] = au.pid;
        e.f[TW_AF_SUBCOMMAND] = au.subcommand;
        e.f[TW_AF_ARGS] = au.args;
        e.f[TW_AF_SENSORS] = au.sensors;
        e.f[TW_AF_ROWS] = rows;
        e.f[TW_AF_EXIT] = exitst;
        if (tw_audit_seal(&e, au.signing ? &au.key : NULL) < 0)
            break;
        int a = append(c, &e, head, &moved);
        if (a < 0) {
            free(head);
            return -1;
        }
        if (a == 1) {
            snprintf(seq_out, 24, "%s", seq);
            rc = 0;
            break;
        }
        free(head);
        head = moved;
        moved = NULL;
        struct timespec ts = {0, (long)(rand() % 2000) * 1000}; /* 0-2 ms: let the other one go */
        nanosleep(&ts, NULL);
    }
    if (rc < 0 && head != NULL)
        fprintf(stderr, PROG ": refused: the audit trail %s kept moving: no entry written\n",
                au.trail);
    else if (rc < 0)
        fprintf(stderr, PROG ": out of memory\n");
    free(head);
    return rc;
}

/* The command line after the program name as a JSON array, passwords cut out of URLs. */
static char *args_json(int argc, char **argv)
{
    json_object *a = json_object_new_array();
    char *out;

    for (int i = 1; i < argc; i++) {
        char *v = strdup(argv[i]);
        if (v == NULL)
            break;
        if (strstr(v, "://") != NULL)
            tw_redis_url_mask(v);
        json_object_array_add(a, json_object_new_string(v));
        free(v);
    }
    out = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(a);
    return out;
}

/* The bank part of a namespace "A/s1" into out ("" when none). */
static void bank_of(const char *ns, char *out, size_t len)
{
    const char *slash = strchr(ns, '/');

    snprintf(out, len, "%.*s", slash != NULL ? (int)(slash - ns) : 0, ns);
}

int tq_audit_begin(struct tw_rclient *c, const struct tq_subcommand *sub, struct tq_opts *o,
                   int argc, char **argv, const char *named_user)
{
    struct passwd *pw = getpwuid(geteuid());
    char bank[64] = "", b2[64];
    redisReply *r;
    int rows_sensors = strcmp(sub->name, "sensors") != 0 && strcmp(sub->name, "audit") != 0 &&
                       strcmp(sub->name, "verify-audit") != 0;

    srand((unsigned)(tw_wall_us() ^ (uint64_t)getpid()));
    snprintf(au.subcommand, sizeof(au.subcommand), "%s", sub->name);
    snprintf(au.pid, sizeof(au.pid), "%ld", (long)getpid());
    if (gethostname(au.host, sizeof(au.host)) != 0)
        snprintf(au.host, sizeof(au.host), "?");
    au.host[sizeof(au.host) - 1] = '\0';
    if (pw != NULL)
        snprintf(au.os_user, sizeof(au.os_user), "%s%s%s(%ld)", tq_audit_asker ? tq_audit_asker : "",
                 tq_audit_asker ? " via " : "", pw->pw_name, (long)geteuid());
    else
        snprintf(au.os_user, sizeof(au.os_user), "%s%s?(%ld)", tq_audit_asker ? tq_audit_asker : "",
                 tq_audit_asker ? " via " : "", (long)geteuid());
    r = tw_rclient_command(c, "ACL WHOAMI");
    if (r != NULL && r->type == REDIS_REPLY_STRING)
        snprintf(au.redis_user, sizeof(au.redis_user), "%s", r->str);
    else /* a Redis that will not say: the user the options named, marked as such */
        snprintf(au.redis_user, sizeof(au.redis_user), "%s (not confirmed by ACL WHOAMI)",
                 named_user != NULL && named_user[0] ? named_user : "default");
    if (r != NULL)
        freeReplyObject(r);
    if ((au.args = args_json(argc, argv)) == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return EXIT_AUDIT;
    }
    /* the sensors asked, and so the bank whose trail it goes to */
    if (o->bank != NULL)
        snprintf(bank, sizeof(bank), "%s", o->bank);
    if (!rows_sensors) {
        au.sensors = strdup("");
    } else if (!tq_sensors_several(o)) {
        char ns[64];
        tq_sensor_namespace(o, ns, sizeof(ns));
        au.sensors = strdup(ns);
        if (o->bank == NULL)
            bank_of(ns, bank, sizeof(bank));
    } else {
        struct tq_sensor *s;
        size_t n, len = 1;
        if (tq_sensors_select(c, o, 0, &s, &n) < 0) {
            fprintf(stderr, PROG ": refused: the sensors asked cannot be named in the audit "
                            "trail\n");
            return EXIT_AUDIT;
        }
        for (size_t i = 0; i < n; i++)
            len += strlen(s[i].ns) + 1;
        if ((au.sensors = malloc(len)) != NULL) {
            au.sensors[0] = '\0';
            for (size_t i = 0; i < n; i++) {
                if (i)
                    strcat(au.sensors, ",");
                strcat(au.sensors, s[i].ns);
            }
        }
        /* without --bank: the bank of them all when they share one */
        for (size_t i = 0; o->bank == NULL && i < n; i++) {
            bank_of(s[i].ns, b2, sizeof(b2));
            if (i == 0)
                snprintf(bank, sizeof(bank), "%s", b2);
            else if (strcmp(bank, b2) != 0)
                bank[0] = '\0';
        }
        free(s);
    }
    if (au.sensors == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return EXIT_AUDIT;
    }
    tq_audit_bank_trail(bank, au.trail, sizeof(au.trail), au.head, sizeof(au.head));
    if (write_entry(c, "query", "", "", au.query_seq) < 0)
        return EXIT_AUDIT;
    au.on = 1;
    return 0;
}

int tq_audit_end(struct tw_rclient *c, int rc, uint64_t rows)
{
    char r[24], x[16], seq[24];

    if (!au.on)
        return rc;
    snprintf(r, sizeof(r), "%llu", (unsigned long long)rows);
    snprintf(x, sizeof(x), "%d", rc);
    au.on = 0;
    if (write_entry(c, "done", r, x, seq) < 0) {
        fprintf(stderr, PROG ": the answer above has no completion entry in the audit trail "
                        "(its query entry is %s)\n", au.query_seq);
        if (rc == 0)
            rc = EXIT_AUDIT;
    }
    free(au.args);
    free(au.sensors);
    if (au.signing)
        tw_sign_key_wipe(&au.key);
    return rc;
}

const char *tq_audit_trail_key(void)
{
    return au.trail;
}
