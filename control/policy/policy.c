/* policy.c - the policy loader (libyaml) and its evaluation (see policy.h).
 *
 * The loader reads the whole file into libyaml's node tree (every node keeps its line), then
 * walks it with one table of fields per mapping: key, handler, required. A handler checks its
 * value and writes it into the policy being built; the first error stops the load with
 * "FILE:LINE: path: expected ..., got ...". Nothing is shared with config.c: its helpers are
 * static and its schema is flat, this one nests sequences of mappings.
 *
 * Evaluation state (struct tw_policy_state): a set-associative table of flows, TW_WAYS slots
 * per bucket, keyed by flow_id, each slot holding the kinds already raised for the flow and
 * the bytes of the flow already added to the daily upload total. A full bucket evicts its
 * least recently used slot (counted): the table never grows, and END events free slots.
 *
 *   bucket = hash(flow_id) & (nbuckets - 1)
 *   [slot 0][slot 1] ... [slot 7]      slot = {flow_id, counted bytes, lru tick, kinds bitmap}
 */
#include "control/policy/policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <ndpi/ndpi_typedefs.h>
#include <yaml.h>

#include "control/record/netmatch.h"
#include "control/record/record_json.h"
#include "control/record/keys.h"

/* ---- the policy ---------------------------------------------------------------------- */

struct net {
    uint8_t addr[16];
    uint8_t v4;
    uint8_t bits;
};

enum { D_PEER = 1, D_PROTO = 2, D_PORT = 4, D_APP = 8, D_NAME = 16 };

struct declared {
    unsigned has; /* D_* */
    struct net peer;
    uint8_t proto;
    uint16_t port;
    char app[TW_APP_LEN];
    char server_name[TW_SERVER_NAME_LEN];
};

struct equipment {
    char name[TW_EQUIPMENT_LEN];
    char vendor[TW_VENDOR_LEN];
    size_t line;
    struct net *addrs;
    size_t naddrs;
    struct declared *decl;
    size_t ndecl;
};

struct window {
    uint8_t days;
    uint16_t start, end;
};

struct tz_change {
    int64_t utc_s;     /* from this UTC second on ... */
    int32_t offset_s;  /* ... local = UTC + offset */
};

struct rule {
    uint8_t enabled;
    uint8_t severity;
};

struct tw_policy {
    struct tz_change *tz;
    size_t ntz;
    struct net *domestic;
    size_t ndomestic;
    struct equipment *eq;
    size_t neq;
    struct net *mhosts;
    size_t nmhosts;
    char (*mprotos)[TW_APP_LEN];
    size_t nmprotos;
    struct window *windows;
    size_t nwindows;
    int has_windows;
    uint64_t upload_per_flow, upload_per_day;
    struct rule rules[TW_ALERT__COUNT];
    uint64_t risk_mask;
};

static const uint8_t default_severity[TW_ALERT__COUNT] = {
    [TW_ALERT_UNDECLARED_DESTINATION] = TW_SEV_MEDIUM,
    [TW_ALERT_REMOTE_ACCESS_UNAPPROVED_HOST] = TW_SEV_HIGH,
    [TW_ALERT_REMOTE_ACCESS_OUTSIDE_WINDOW] = TW_SEV_HIGH,
    [TW_ALERT_REMOTE_ACCESS_PROTOCOL] = TW_SEV_MEDIUM,
    [TW_ALERT_UPLOAD_VOLUME] = TW_SEV_HIGH,
    [TW_ALERT_UNCLASSIFIED_CHANNEL] = TW_SEV_MEDIUM,
    [TW_ALERT_RISKY_FLOW] = TW_SEV_MEDIUM,
};

void tw_policy_free(struct tw_policy *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->neq; i++) {
        free(p->eq[i].addrs);
        free(p->eq[i].decl);
    }
    free(p->eq);
    free(p->tz);
    free(p->domestic);
    free(p->mhosts);
    free(p->mprotos);
    free(p->windows);
    free(p);
}

size_t tw_policy_equipment_count(const struct tw_policy *p)
{
    return p->neq;
}

size_t tw_policy_rule_count(const struct tw_policy *p)
{
    size_t n = 0;

    for (unsigned k = 0; k < TW_ALERT__COUNT; k++)
        n += p->rules[k].enabled;
    return n;
}

/* ---- small parsers ---------------------------------------------------------------------- */

static int net_contains(const struct net *n, const uint8_t *addr, int v4)
{
    return n->v4 == v4 && tw_cidr_contains(n->addr, n->bits, addr);
}

static int nets_contain(const struct net *n, size_t count, const uint8_t *addr, int v4)
{
    for (size_t i = 0; i < count; i++)
        if (net_contains(&n[i], addr, v4))
            return 1;
    return 0;
}

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static int parse_day(const char *s, size_t n)
{
    for (int i = 0; i < 7; i++)
        if (n == 3 && strncasecmp(s, day_names[i], 3) == 0)
            return i;
    return -1;
}

/* "HH:MM" with 00..23 / 00..59, or "24:00" when end is set. Returns minutes or -1. */
static int parse_hhmm(const char *s, size_t n, int end)
{
    if (n != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
        !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (end && h == 24 && m == 0)
        return 1440;
    if (h > 23 || m > 59)
        return -1;
    return h * 60 + m;
}

int tw_window_parse(const char *text, uint8_t *days, uint16_t *start_min, uint16_t *end_min)
{
    const char *sp = strchr(text, ' ');
    uint8_t mask = 0;

    if (sp == NULL || strchr(sp + 1, ' ') != NULL)
        return -1;
    size_t dn = (size_t)(sp - text);
    if (dn == 5 && strncasecmp(text, "daily", 5) == 0) {
        mask = 0x7f;
    } else {
        const char *p = text, *end = sp;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *item_end = comma ? comma : end;
            const char *dash = memchr(p, '-', (size_t)(item_end - p));
            int a, b;
            if (dash) {
                a = parse_day(p, (size_t)(dash - p));
                b = parse_day(dash + 1, (size_t)(item_end - dash - 1));
            } else {
                a = b = parse_day(p, (size_t)(item_end - p));
            }
            if (a < 0 || b < 0)
                return -1;
            for (int d = a;; d = (d + 1) % 7) { /* "fri-mon" wraps over the weekend */
                mask |= (uint8_t)(1u << d);
                if (d == b)
                    break;
            }
            if (comma && comma + 1 == end)
                return -1;
            p = comma ? comma + 1 : end;
        }
    }
    const char *t = sp + 1, *dash = strchr(t, '-');
    if (dash == NULL)
        return -1;
    int s = parse_hhmm(t, (size_t)(dash - t), 0), e = parse_hhmm(dash + 1, strlen(dash + 1), 1);
    if (s < 0 || e < 0 || s == e)
        return -1;
    if (e < s)
        e += 1440; /* crosses midnight: ends the next day */
    *days = mask;
    *start_min = (uint16_t)s;
    *end_min = (uint16_t)e;
    return 0;
}

int tw_window_contains(uint8_t days, uint16_t start_min, uint16_t end_min, unsigned weekday,
                       unsigned minute)
{
    unsigned end_today = end_min > 1440 ? 1440 : end_min;

    if ((days >> weekday & 1) && minute >= start_min && minute < end_today)
        return 1;
    /* the tail of yesterday's window that crossed midnight */
    if (end_min > 1440 && (days >> ((weekday + 6) % 7) & 1) && minute < (unsigned)end_min - 1440)
        return 1;
    return 0;
}

/* ---- timezone ----------------------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

void tw_policy_local_time(const struct tw_policy *p, uint64_t utc_us, unsigned *weekday,
                          unsigned *minute, int64_t *day)
{
    int64_t s = (int64_t)(utc_us / 1000000);
    size_t lo = 0, hi = p->ntz;

    /* last change at or before s; tz[0] starts at INT64_MIN */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (p->tz[mid].utc_s <= s)
            lo = mid;
        else
            hi = mid;
    }
    int64_t local = s + p->tz[lo].offset_s;
    int64_t d = floor_div(local, 86400);
    int64_t sec = local - d * 86400;

    if (day)
        *day = d;
    if (minute)
        *minute = (unsigned)(sec / 60);
    if (weekday)
        *weekday = (unsigned)(((d + 3) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
}

/* "+08:00", "-0530", "UTC", "Z". Returns 0 with the offset, or -1. */
static int parse_fixed_offset(const char *t, int32_t *off)
{
    if (strcasecmp(t, "UTC") == 0 || strcmp(t, "Z") == 0 || strcasecmp(t, "GMT") == 0) {
        *off = 0;
        return 0;
    }
    if ((t[0] != '+' && t[0] != '-') || !isdigit((unsigned char)t[1]) ||
        !isdigit((unsigned char)t[2]))
        return -1;
    const char *m = t[3] == ':' ? t + 4 : t + 3;
    if (!isdigit((unsigned char)m[0]) || !isdigit((unsigned char)m[1]) || m[2] != '\0')
        return -1;
    int h = (t[1] - '0') * 10 + (t[2] - '0'), mm = (m[0] - '0') * 10 + (m[1] - '0');
    if (h > 14 || mm > 59)
        return -1;
    *off = (t[0] == '-' ? -1 : 1) * (h * 3600 + mm * 60);
    return 0;
}

static int32_t offset_at(time_t t)
{
    struct tm tm;

    if (localtime_r(&t, &tm) == NULL)
        return 0;
    return (int32_t)tm.tm_gmtoff;
}

/* Builds the offset table of an IANA zone from the TZ database: one localtime_r a day from
 * 1970 to 2100, and a binary search to the second where the offset changes. The process's TZ
 * is set for the duration and restored; this runs on the control thread only, at load. */
static int load_iana(struct tw_policy *p, const char *name)
{
    const char *dir = getenv("TZDIR");
    char path[512], magic[4], *old = getenv("TZ");
    char saved[256] = "";
    int had = old != NULL;
    size_t cap = 64;
    FILE *f;

    if (name[0] == '/' || strstr(name, "..") != NULL || strlen(name) > 100)
        return -1;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("/_+-", *c))
            return -1;
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    if ((f = fopen(path, "rb")) == NULL)
        return -1;
    int ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
    fclose(f);
    if (!ok)
        return -1;
    if (had)
        snprintf(saved, sizeof(saved), "%s", old);
    p->tz = malloc(cap * sizeof(*p->tz));
    if (p->tz == NULL)
        return -1;
    setenv("TZ", name, 1);
    tzset();
    const time_t first = 0, last = (time_t)4102444800LL; /* 2100-01-01 */
    p->tz[0].utc_s = INT64_MIN;
    p->tz[0].offset_s = offset_at(first);
    p->ntz = 1;
    int32_t cur = p->tz[0].offset_s;
    for (time_t t = first + 86400; t <= last; t += 86400) {
        int32_t o = offset_at(t);
        if (o == cur)
            continue;
        time_t lo = t - 86400, hi = t; /* offset(lo) == cur, offset(hi) != cur */
        while (hi - lo > 1) {
            time_t mid = lo + (hi - lo) / 2;
            if (offset_at(mid) == cur)
                lo = mid;
            else
                hi = mid;
        }
        if (p->ntz == cap) {
            struct tz_change *n = realloc(p->tz, cap * 2 * sizeof(*n));
            if (n == NULL)
                break;
            p->tz = n;
            cap *= 2;
        }
        p->tz[p->ntz].utc_s = (int64_t)hi;
        p->tz[p->ntz].offset_s = o;
        p->ntz++;
        cur = o;
    }
    if (had)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    return 0;
}

/* ---- loader ----------------------------------------------------------------------------- */

struct ld {
    yaml_document_t doc;
    const char *path;
    struct tw_policy *p;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int fail(struct ld *ld, const yaml_node_t *n,
                                                      const char *fmt, ...)
{
    va_list ap;
    int k = snprintf(ld->err, ld->errlen, "%s:%zu: ", ld->path, n->start_mark.line + 1);

    if (k >= 0 && (size_t)k < ld->errlen) {
        va_start(ap, fmt);
        vsnprintf(ld->err + k, ld->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    /* keys are quoted from the file and may hold line breaks: keep the message one line */
    for (char *c = ld->err; ld->errlen > 0 && *c != '\0'; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    return -1;
}

/* What a node is, for "got ...": the quoted text of a scalar (short, one line), else its kind. */
static void got_text(const yaml_node_t *n, char *buf, size_t len)
{
    if (n->type == YAML_MAPPING_NODE) {
        snprintf(buf, len, "a mapping");
        return;
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        snprintf(buf, len, "a sequence");
        return;
    }
    const char *t = (const char *)n->data.scalar.value;
    size_t o = 0;
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (t[0] == '\0' || strcmp(t, "~") == 0 || strcasecmp(t, "null") == 0)) {
        snprintf(buf, len, "nothing");
        return;
    }
    buf[o++] = '"';
    for (size_t i = 0; t[i] && o + 6 < len; i++) {
        if (i == 40) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char c = (unsigned char)t[i];
        buf[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

static int expected(struct ld *ld, const yaml_node_t *n, const char *path, const char *what)
{
    char got[64];

    got_text(n, got, sizeof(got));
    return fail(ld, n, "%s: expected %s, got %s", path, what, got);
}

/* The text of a non-empty scalar, or NULL. */
static const char *scalar(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.length == 0)
        return NULL;
    if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
        return NULL; /* a NUL inside */
    return (const char *)n->data.scalar.value;
}

static yaml_node_t *node(struct ld *ld, int id)
{
    return yaml_document_get_node(&ld->doc, id);
}

typedef int (*field_fn)(struct ld *ld, const char *path, yaml_node_t *val, void *obj);

struct field {
    const char *key;
    field_fn fn;
    int required;
};

/* Walks a mapping against its table of fields. */
static int walk_map(struct ld *ld, const char *path, yaml_node_t *map, const struct field *f,
                    size_t nf, void *obj)
{
    size_t seen[16] = {0};
    char sub[240], names[256]; /* sub: a path, cut to fit, for error messages */

    if (map->type != YAML_MAPPING_NODE) {
        size_t o = 0;
        for (size_t i = 0; i < nf && o < sizeof(names); i++)
            o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "", f[i].key);
        char what[300];
        snprintf(what, sizeof(what), "a mapping of %s", names);
        return expected(ld, map, path[0] ? path : "top level", what);
    }
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = node(ld, pr->key), *v = node(ld, pr->value);
        const char *key = scalar(k);
        size_t i;
        if (key == NULL)
            return expected(ld, k, path[0] ? path : "top level", "a key name");
        for (i = 0; i < nf && strcmp(f[i].key, key) != 0; i++)
            ;
        snprintf(sub, sizeof(sub), "%.170s%s%.60s", path, path[0] ? "." : "", key);
        if (i == nf) {
            size_t o = 0;
            for (size_t j = 0; j < nf && o < sizeof(names); j++)
                o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", j ? ", " : "",
                                      f[j].key);
            return fail(ld, k, "%s: unknown key (expected one of %s)", sub, names);
        }
        if (seen[i])
            return fail(ld, k, "%s: duplicate key, first set on line %zu", sub, seen[i]);
        seen[i] = k->start_mark.line + 1;
        if (f[i].fn(ld, sub, v, obj) != 0)
            return -1;
    }
    for (size_t i = 0; i < nf; i++)
        if (f[i].required && !seen[i])
            return fail(ld, map, "%s%smissing key \"%s\"", path, path[0] ? ": " : "", f[i].key);
    return 0;
}

/* Checks that v is a sequence of at most max items (max 0 = non-empty not required) and
 * returns its length, or -1. */
static long seq_len(struct ld *ld, const char *path, yaml_node_t *v, const char *what,
                    int nonempty)
{
    char w[160];

    snprintf(w, sizeof(w), "a sequence of %s", what);
    if (v->type != YAML_SEQUENCE_NODE)
        return expected(ld, v, path, w);
    long n = v->data.sequence.items.top - v->data.sequence.items.start;
    if (n == 0 && nonempty)
        return fail(ld, v, "%s: expected %s, got an empty sequence", path, w);
    if (n > TW_POLICY_MAX_LIST)
        return fail(ld, v, "%s: expected at most %d items, got %ld", path, TW_POLICY_MAX_LIST, n);
    return n;
}

static int parse_net_node(struct ld *ld, const char *path, yaml_node_t *v, struct net *out)
{
    const char *t = scalar(v);
    int v4;

    if (t == NULL || tw_cidr_parse(t, out->addr, &v4, &out->bits) != 0)
        return expected(ld, v, path, "an IPv4 or IPv6 address or CIDR");
    out->v4 = (uint8_t)v4;
    return 0;
}

static int parse_net_list(struct ld *ld, const char *path, yaml_node_t *v, struct net **out,
                          size_t *count, int nonempty)
{
    long n = seq_len(ld, path, v, "addresses or CIDRs", nonempty);
    char sub[180];

    if (n < 0)
        return -1;
    free(*out);
    *out = calloc((size_t)n + 1, sizeof(**out));
    if (*out == NULL)
        return fail(ld, v, "%s: out of memory", path);
    *count = 0;
    for (long i = 0; i < n; i++) {
        snprintf(sub, sizeof(sub), "%s[%ld]", path, i);
        if (parse_net_node(ld, sub, node(ld, v->data.sequence.items.start[i]), &(*out)[i]) != 0)
            return -1;
        (*count)++;
    }
    return 0;
}

static int copy_string(struct ld *ld, const char *path, yaml_node_t *v, char *out, size_t size,
                       const char *what)
{
    const char *t = scalar(v);

    if (t == NULL || strlen(t) >= size)
        return expected(ld, v, path, what);
    snprintf(out, size, "%s", t);
    return 0;
}

/* -- top level -- */

static int f_timezone(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct tw_policy *p = obj;
    const char *t = scalar(v);
    int32_t off;
    static const char what[] = "UTC, an offset such as +08:00, or an IANA zone name such as "
                               "Asia/Shanghai";

    if (t == NULL)
        return expected(ld, v, path, what);
    free(p->tz);
    p->tz = NULL;
    p->ntz = 0;
    if (parse_fixed_offset(t, &off) == 0) {
        if ((p->tz = malloc(sizeof(*p->tz))) == NULL)
            return fail(ld, v, "%s: out of memory", path);
        p->tz[0].utc_s = INT64_MIN;
        p->tz[0].offset_s = off;
        p->ntz = 1;
        return 0;
    }
    if (load_iana(p, t) != 0)
        return expected(ld, v, path, what);
    return 0;
}

static int f_domestic(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct tw_policy *p = obj;
    return parse_net_list(ld, path, v, &p->domestic, &p->ndomestic, 0);
}

/* -- equipment -- */

static int f_eq_name(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct equipment *e = obj;
    const char *t = scalar(v);
    static const char what[] = "a name of 1 to 63 characters A-Z a-z 0-9 _ . -";

    if (t == NULL || strlen(t) >= TW_EQUIPMENT_LEN ||
        t[strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")] != '\0')
        return expected(ld, v, path, what);
    snprintf(e->name, sizeof(e->name), "%s", t);
    return 0;
}

static int f_eq_vendor(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct equipment *e = obj;
    return copy_string(ld, path, v, e->vendor, sizeof(e->vendor), "a string of 1 to 63 bytes");
}

static int f_eq_addresses(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct equipment *e = obj;
    return parse_net_list(ld, path, v, &e->addrs, &e->naddrs, 1);
}

static int f_d_peer(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct declared *d = obj;
    d->has |= D_PEER;
    return parse_net_node(ld, path, v, &d->peer);
}

static int parse_proto(const char *t, uint8_t *out)
{
    static const struct {
        const char *name;
        uint8_t num;
    } names[] = {{"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58}, {"sctp", 132},
                 {"gre", 47}, {"esp", 50}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(t, names[i].name) == 0) {
            *out = names[i].num;
            return 0;
        }
    if (!isdigit((unsigned char)t[0]) || strlen(t) > 3 || t[strspn(t, "0123456789")] != '\0' ||
        atoi(t) > 255)
        return -1;
    *out = (uint8_t)atoi(t);
    return 0;
}

static int f_d_proto(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct declared *d = obj;
    const char *t = scalar(v);

    if (t == NULL || parse_proto(t, &d->proto) != 0)
        return expected(ld, v, path, "tcp, udp, icmp, icmpv6, sctp, gre, esp or a number 0 to 255");
    d->has |= D_PROTO;
    return 0;
}

static int f_d_port(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct declared *d = obj;
    const char *t = scalar(v);

    if (t == NULL || !isdigit((unsigned char)t[0]) || strlen(t) > 5 ||
        t[strspn(t, "0123456789")] != '\0' || atoi(t) < 1 || atoi(t) > 65535)
        return expected(ld, v, path, "a port from 1 to 65535");
    d->port = (uint16_t)atoi(t);
    d->has |= D_PORT;
    return 0;
}

static int f_d_app(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct declared *d = obj;
    d->has |= D_APP;
    return copy_string(ld, path, v, d->app, sizeof(d->app),
                       "an nDPI application name such as TLS or TLS.Google");
}

static int f_d_server_name(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct declared *d = obj;
    const char *t = scalar(v);
    static const char what[] = "a server name, exact or with a leading \"*.\"";

    if (t == NULL || strlen(t) >= sizeof(d->server_name) || strchr(t + 1, '*') != NULL ||
        (t[0] == '*' && (t[1] != '.' || t[2] == '\0')) || strchr(t, ' ') != NULL)
        return expected(ld, v, path, what);
    snprintf(d->server_name, sizeof(d->server_name), "%s", t);
    d->has |= D_NAME;
    return 0;
}

static const struct field declared_fields[] = {
    {"peer", f_d_peer, 0},      {"proto", f_d_proto, 0},
    {"port", f_d_port, 0},      {"app", f_d_app, 0},
    {"server_name", f_d_server_name, 0},
};

static int f_eq_declared(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct equipment *e = obj;
    long n = seq_len(ld, path, v, "declared entries", 0);
    char sub[180];

    if (n < 0)
        return -1;
    e->decl = calloc((size_t)n + 1, sizeof(*e->decl));
    if (e->decl == NULL)
        return fail(ld, v, "%s: out of memory", path);
    for (long i = 0; i < n; i++) {
        yaml_node_t *item = node(ld, v->data.sequence.items.start[i]);
        snprintf(sub, sizeof(sub), "%s[%ld]", path, i);
        if (walk_map(ld, sub, item, declared_fields, 5, &e->decl[i]) != 0)
            return -1;
        if (e->decl[i].has == 0)
            return fail(ld, item, "%s: expected at least one of peer, proto, port, app, "
                                  "server_name", sub);
        e->ndecl++;
    }
    return 0;
}

static const struct field equipment_fields[] = {
    {"name", f_eq_name, 1},
    {"vendor", f_eq_vendor, 0},
    {"addresses", f_eq_addresses, 1},
    {"declared", f_eq_declared, 0},
};

static const struct equipment *find_equipment(const struct tw_policy *p, const uint8_t *addr,
                                              int v4)
{
    for (size_t i = 0; i < p->neq; i++)
        if (nets_contain(p->eq[i].addrs, p->eq[i].naddrs, addr, v4))
            return &p->eq[i];
    return NULL;
}

static int nets_overlap(const struct net *a, const struct net *b)
{
    if (a->v4 != b->v4)
        return 0;
    return tw_cidr_contains(a->addr, a->bits < b->bits ? a->bits : b->bits, b->addr);
}

static int f_equipment(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct tw_policy *p = obj;
    long n = seq_len(ld, path, v, "equipment entries", 0);
    char sub[180], addr[INET6_ADDRSTRLEN];

    if (n < 0)
        return -1;
    if (n > TW_POLICY_MAX_EQUIPMENT)
        return fail(ld, v, "%s: expected at most %d entries, got %ld", path,
                    TW_POLICY_MAX_EQUIPMENT, n);
    p->eq = calloc((size_t)n + 1, sizeof(*p->eq));
    if (p->eq == NULL)
        return fail(ld, v, "%s: out of memory", path);
    for (long i = 0; i < n; i++) {
        yaml_node_t *item = node(ld, v->data.sequence.items.start[i]);
        struct equipment *e = &p->eq[i];
        snprintf(sub, sizeof(sub), "%s[%ld]", path, i);
        e->line = item->start_mark.line + 1;
        p->neq++;
        if (walk_map(ld, sub, item, equipment_fields, 4, e) != 0)
            return -1;
        /* names are Redis key parts and alert fields: they must be unique; an address must
         * belong to one equipment only, or the alerts would name either */
        for (long j = 0; j < i; j++) {
            if (strcmp(p->eq[j].name, e->name) == 0)
                return fail(ld, item, "%s.name: duplicate equipment name \"%s\", first on line %zu",
                            sub, e->name, p->eq[j].line);
            for (size_t a = 0; a < e->naddrs; a++)
                for (size_t b = 0; b < p->eq[j].naddrs; b++)
                    if (nets_overlap(&e->addrs[a], &p->eq[j].addrs[b])) {
                        inet_ntop(e->addrs[a].v4 ? AF_INET : AF_INET6, e->addrs[a].addr, addr,
                                  sizeof(addr));
                        return fail(ld, item, "%s.addresses[%zu]: %s/%u overlaps the addresses "
                                              "of %s (line %zu)",
                                    sub, a, addr, e->addrs[a].bits, p->eq[j].name, p->eq[j].line);
                    }
        }
    }
    return 0;
}

/* -- maintenance -- */

static int f_m_hosts(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct tw_policy *p = obj;
    return parse_net_list(ld, path, v, &p->mhosts, &p->nmhosts, 0);
}

static int f_m_protocols(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct tw_policy *p = obj;
    long n = seq_len(ld, path, v, "nDPI protocol names", 0);
    char sub[180];

    if (n < 0)
        return -1;
    p->mprotos = calloc((size_t)n + 1, sizeof(*p->mprotos));
    if (p->mprotos == NULL)
        return fail(ld, v, "%s: out of memory", path);
    for (long i = 0; i < n; i++) {
        snprintf(sub, sizeof(sub), "%s[%ld]", path, i);
        if (copy_string(ld, sub, node(ld, v->data.sequence.items.start[i]), p->mprotos[i],
                        TW_APP_LEN, "an nDPI protocol name such as SSH or RDP") != 0)
            return -1;
        p->nmprotos++;
    }
    return 0;
}

static int f_m_windows(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct tw_policy *p = obj;
    long n = seq_len(ld, path, v, "windows", 0);
    char sub[180];

    if (n < 0)
        return -1;
    p->windows = calloc((size_t)n + 1, sizeof(*p->windows));
    if (p->windows == NULL)
        return fail(ld, v, "%s: out of memory", path);
    p->has_windows = 1;
    for (long i = 0; i < n; i++) {
        yaml_node_t *w = node(ld, v->data.sequence.items.start[i]);
        const char *t = scalar(w);
        struct window *win = &p->windows[i];
        snprintf(sub, sizeof(sub), "%s[%ld]", path, i);
        if (t == NULL || tw_window_parse(t, &win->days, &win->start, &win->end) != 0)
            return expected(ld, w, sub, "a window such as \"mon-fri 10:00-12:00\", "
                                        "\"sat 08:00-09:30\" or \"daily 22:00-02:00\"");
        p->nwindows++;
    }
    return 0;
}

static const struct field maintenance_fields[] = {
    {"hosts", f_m_hosts, 0},
    {"protocols", f_m_protocols, 0},
    {"windows", f_m_windows, 0},
};

static int f_maintenance(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    return walk_map(ld, path, v, maintenance_fields, 3, obj);
}

/* -- limits -- */

#define MAX_BYTES (UINT64_C(1) << 60)

static int parse_bytes(struct ld *ld, const char *path, yaml_node_t *v, uint64_t *out)
{
    const char *t = scalar(v);
    uint64_t n = 0;

    if (t == NULL || !isdigit((unsigned char)t[0]) || t[strspn(t, "0123456789")] != '\0' ||
        strlen(t) > 19 || (n = strtoull(t, NULL, 10)) > MAX_BYTES)
        return expected(ld, v, path, "a number of bytes from 0 (no limit) to 2^60");
    *out = n;
    return 0;
}

static int f_l_flow(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    return parse_bytes(ld, path, v, &((struct tw_policy *)obj)->upload_per_flow);
}

static int f_l_day(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    return parse_bytes(ld, path, v, &((struct tw_policy *)obj)->upload_per_day);
}

static const struct field limits_fields[] = {
    {"upload_bytes_per_flow", f_l_flow, 0},
    {"upload_bytes_per_day", f_l_day, 0},
};

static int f_limits(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    return walk_map(ld, path, v, limits_fields, 2, obj);
}

/* -- rules -- */

struct rule_ctx {
    struct tw_policy *p;
    unsigned kind;
};

static int f_r_severity(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct rule_ctx *rc = obj;
    const char *t = scalar(v);
    int s = t ? tw_severity_from_name(t) : -1;

    if (s < 0)
        return expected(ld, v, path, "low, medium, high or critical");
    rc->p->rules[rc->kind].severity = (uint8_t)s;
    return 0;
}

static int f_r_enabled(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct rule_ctx *rc = obj;
    const char *t = scalar(v);

    if (t && (strcasecmp(t, "true") == 0 || strcasecmp(t, "yes") == 0 || strcasecmp(t, "on") == 0))
        rc->p->rules[rc->kind].enabled = 1;
    else if (t && (strcasecmp(t, "false") == 0 || strcasecmp(t, "no") == 0 ||
                   strcasecmp(t, "off") == 0))
        rc->p->rules[rc->kind].enabled = 0;
    else
        return expected(ld, v, path, "true or false");
    return 0;
}

static int f_r_risks(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct rule_ctx *rc = obj;
    long n = seq_len(ld, path, v, "nDPI risk names", 0);
    char sub[180];

    if (n < 0)
        return -1;
    rc->p->risk_mask = 0;
    for (long i = 0; i < n; i++) {
        yaml_node_t *r = node(ld, v->data.sequence.items.start[i]);
        const char *t = scalar(r);
        unsigned bit;
        snprintf(sub, sizeof(sub), "%s[%ld]", path, i);
        for (bit = 1; bit < 64; bit++) {
            const char *name = tw_risk_name(bit);
            if (t && name && strcasecmp(name, t) == 0)
                break;
        }
        if (bit == 64)
            return expected(ld, r, sub, "an nDPI 4.2 risk name such as \"Self-signed Certificate\"");
        rc->p->risk_mask |= UINT64_C(1) << bit;
    }
    return 0;
}

static const struct field rule_fields[] = {
    {"severity", f_r_severity, 0},
    {"enabled", f_r_enabled, 0},
    {"risks", f_r_risks, 0},
};

static int f_rules(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct tw_policy *p = obj;
    char sub[180], names[320];
    size_t seen[TW_ALERT__COUNT] = {0}, o = 0;

    for (unsigned k = 0; k < TW_ALERT__COUNT; k++)
        o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", k ? ", " : "",
                              tw_alert_kind_name(k));
    if (v->type != YAML_MAPPING_NODE) {
        char what[360];
        snprintf(what, sizeof(what), "a mapping of rules (%s)", names);
        return expected(ld, v, path, what);
    }
    for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(ld, pr->key), *val = node(ld, pr->value);
        const char *key = scalar(k);
        int kind = key ? tw_alert_kind_from_name(key) : -1;
        snprintf(sub, sizeof(sub), "%s.%.60s", path, key ? key : "?");
        if (kind < 0)
            return fail(ld, k, "%s: unknown rule (expected one of %s)", sub, names);
        if (seen[kind])
            return fail(ld, k, "%s: duplicate key, first set on line %zu", sub, seen[kind]);
        seen[kind] = k->start_mark.line + 1;
        struct rule_ctx rc = {p, (unsigned)kind};
        /* only risky_flow takes a list of risks */
        if (walk_map(ld, sub, val, rule_fields, kind == TW_ALERT_RISKY_FLOW ? 3 : 2, &rc) != 0)
            return -1;
    }
    return 0;
}

static const struct field top_fields[] = {
    {"timezone", f_timezone, 0},
    {"domestic_networks", f_domestic, 0},
    {"equipment", f_equipment, 1},
    {"maintenance", f_maintenance, 0},
    {"limits", f_limits, 0},
    {"rules", f_rules, 0},
};

struct tw_policy *tw_policy_load(const char *path, char *err, size_t errlen)
{
    struct ld ld = {.path = path, .err = err, .errlen = errlen};
    yaml_parser_t parser;
    struct tw_policy *p;
    struct stat st;
    FILE *f;
    int rc = -1;

    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: %s", path, strerror(EISDIR));
        fclose(f);
        return NULL;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL || !yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
        free(p);
        fclose(f);
        return NULL;
    }
    for (unsigned k = 0; k < TW_ALERT__COUNT; k++) {
        p->rules[k].enabled = 1;
        p->rules[k].severity = default_severity[k];
    }
    /* alert-worthy by default: what a bank's equipment should never show */
    p->risk_mask = UINT64_C(1) << NDPI_POSSIBLE_EXPLOIT | UINT64_C(1) << NDPI_CLEAR_TEXT_CREDENTIALS |
                   UINT64_C(1) << NDPI_URL_POSSIBLE_RCE_INJECTION |
                   UINT64_C(1) << NDPI_URL_POSSIBLE_SQL_INJECTION |
                   UINT64_C(1) << NDPI_URL_POSSIBLE_XSS | UINT64_C(1) << NDPI_SUSPICIOUS_DGA_DOMAIN |
                   UINT64_C(1) << NDPI_MALICIOUS_JA3 | UINT64_C(1) << NDPI_MALICIOUS_SHA1_CERTIFICATE;
    ld.p = p;
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &ld.doc)) {
        size_t line = (parser.error == YAML_READER_ERROR ? parser.mark.line : parser.problem_mark.line) + 1;
        /* for an unclosed bracket or quote the error is at the end of the file: the line
         * where the construct began is the useful one, as config.c says it */
        if (parser.context)
            snprintf(err, errlen, "%s:%zu: YAML syntax error: %s (%s that starts on line %zu)",
                     path, line, parser.problem ? parser.problem : "unknown", parser.context,
                     parser.context_mark.line + 1);
        else
            snprintf(err, errlen, "%s:%zu: YAML syntax error: %s", path, line,
                     parser.problem ? parser.problem : "unknown");
        goto out_parser;
    }
    yaml_node_t *root = yaml_document_get_root_node(&ld.doc);
    if (root == NULL || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
        snprintf(err, errlen, "%s: empty policy", path);
    } else if (root->type != YAML_MAPPING_NODE) {
        expected(&ld, root, "top level", "a mapping of timezone, domestic_networks, equipment, "
                                         "maintenance, limits, rules");
    } else if (walk_map(&ld, "", root, top_fields, 6, p) == 0) {
        rc = 0;
    }
    if (rc == 0) {
        /* another document after the first is a mistake, not something to ignore */
        yaml_document_t more;
        if (yaml_parser_load(&parser, &more)) {
            yaml_node_t *r2 = yaml_document_get_root_node(&more);
            if (r2 != NULL) {
                snprintf(err, errlen, "%s:%zu: expected a single YAML document, found another",
                         path, r2->start_mark.line + 1);
                rc = -1;
            }
            yaml_document_delete(&more);
        }
    }
    if (rc == 0 && p->ntz == 0) { /* timezone absent: UTC */
        if ((p->tz = malloc(sizeof(*p->tz))) == NULL) {
            snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
            rc = -1;
        } else {
            p->tz[0].utc_s = INT64_MIN;
            p->tz[0].offset_s = 0;
            p->ntz = 1;
        }
    }
    yaml_document_delete(&ld.doc);
out_parser:
    yaml_parser_delete(&parser);
    fclose(f);
    if (rc != 0) {
        tw_policy_free(p);
        return NULL;
    }
    return p;
}

/* ---- evaluation ------------------------------------------------------------------------- */

#define TW_WAYS 8

struct flow_slot {
    uint64_t flow_id;
    uint64_t counted; /* bytes of this flow already in the daily total */
    uint64_t lru;
    uint8_t used;
    uint8_t fired;    /* bit k = alert kind k raised */
    uint8_t pad[6];
};

struct tw_policy_state {
    struct flow_slot *slots;
    uint32_t nbuckets;
    uint64_t clock;
    struct tw_upload_acc *acc;
    struct tw_policy_state_stats st;
};

struct tw_policy_state *tw_policy_state_new(uint32_t flows_max)
{
    struct tw_policy_state *st = calloc(1, sizeof(*st));
    uint32_t nb = 128;

    if (st == NULL)
        return NULL;
    while ((uint64_t)nb * TW_WAYS < flows_max && nb < (1u << 26))
        nb *= 2;
    st->nbuckets = nb;
    st->slots = calloc((size_t)nb * TW_WAYS, sizeof(*st->slots));
    st->acc = tw_upload_acc_new();
    if (st->slots == NULL || st->acc == NULL) {
        tw_policy_state_free(st);
        errno = ENOMEM;
        return NULL;
    }
    return st;
}

void tw_policy_state_free(struct tw_policy_state *st)
{
    if (st == NULL)
        return;
    free(st->slots);
    tw_upload_acc_free(st->acc);
    free(st);
}

void tw_policy_state_get_stats(const struct tw_policy_state *st, struct tw_policy_state_stats *out)
{
    *out = st->st;
}

static struct flow_slot *slot_get(struct tw_policy_state *st, uint64_t id)
{
    uint64_t h = id * 0x9e3779b97f4a7c15ULL;
    struct flow_slot *b = &st->slots[(size_t)((h >> 32) & (st->nbuckets - 1)) * TW_WAYS];
    struct flow_slot *free_slot = NULL, *oldest = &b[0];

    st->clock++;
    for (int i = 0; i < TW_WAYS; i++) {
        if (b[i].used && b[i].flow_id == id) {
            b[i].lru = st->clock;
            return &b[i];
        }
        if (!b[i].used && free_slot == NULL)
            free_slot = &b[i];
        if (b[i].lru < oldest->lru)
            oldest = &b[i];
    }
    if (free_slot == NULL) {
        free_slot = oldest;
        st->st.evicted++;
        st->st.tracked--;
    }
    memset(free_slot, 0, sizeof(*free_slot));
    free_slot->used = 1;
    free_slot->flow_id = id;
    free_slot->lru = st->clock;
    st->st.tracked++;
    return free_slot;
}

const char *tw_policy_equipment_of(const struct tw_policy *p, const uint8_t *addr, int v4)
{
    const struct equipment *e = find_equipment(p, addr, v4);
    return e ? e->name : NULL;
}

/* Does a declared entry of e allow a flow with this peer (the other end), the record's
 * protocol and server port, application and server name? */
static int declared_match(const struct equipment *e, const struct tw_flow_record *r,
                          const uint8_t *peer)
{
    int v4 = r->ip_version == 4;

    for (size_t i = 0; i < e->ndecl; i++) {
        const struct declared *d = &e->decl[i];
        if ((d->has & D_PEER) && !net_contains(&d->peer, peer, v4))
            continue;
        if ((d->has & D_PROTO) && d->proto != r->ip_proto)
            continue;
        if ((d->has & D_PORT) && d->port != r->dst_port)
            continue;
        if ((d->has & D_APP) && !tw_app_match(d->app, r->app))
            continue;
        if ((d->has & D_NAME) && !tw_server_name_match(d->server_name, r->server_name))
            continue;
        return 1;
    }
    return 0;
}

static int is_remote_access(const struct tw_flow_record *r)
{
    return r->category_id == NDPI_PROTOCOL_CATEGORY_REMOTE_ACCESS ||
           strcmp(r->category, "RemoteAccess") == 0;
}

static int is_unknown(const struct tw_flow_record *r)
{
    return (r->app_proto == 0 && r->master_proto == 0 && r->app[0] == '\0') ||
           strcmp(r->app, "Unknown") == 0;
}

/* Payload seen: there is no payload byte count in the record, so for TCP a segment with PSH
 * (every stack sets it on the last segment of a write) stands for it; a UDP datagram always
 * carries some. */
static int has_payload(const struct tw_flow_record *r)
{
    if (r->ip_proto == 6)
        return ((r->c2s_tcp_flags | r->s2c_tcp_flags) & 0x08) != 0;
    return r->c2s_packets + r->s2c_packets > 0;
}

struct eval {
    const struct tw_policy *p;
    struct tw_policy_state *st;
    const struct tw_flow_record *r;
    struct flow_slot *slot;
    tw_alert_emit_fn emit;
    void *ctx;
    int n;
};

static void addr_str(const struct tw_flow_record *r, const uint8_t *a, char *out, size_t len)
{
    if (inet_ntop(r->ip_version == 4 ? AF_INET : AF_INET6, a, out, (socklen_t)len) == NULL)
        snprintf(out, len, "?");
}

static const char *proto_name(uint8_t p)
{
    return p == 6 ? "tcp" : p == 17 ? "udp" : p == 1 ? "icmp" : p == 58 ? "icmpv6" : "ip";
}

__attribute__((format(printf, 4, 5))) static void fire(struct eval *ev, unsigned kind,
                                                       const struct equipment *e,
                                                       const char *fmt, ...)
{
    const struct tw_flow_record *r = ev->r;
    struct tw_alert a;
    va_list ap;

    if (!ev->p->rules[kind].enabled || (ev->slot->fired >> kind & 1))
        return;
    ev->slot->fired |= (uint8_t)(1u << kind);
    memset(&a, 0, sizeof(a));
    a.flow_id = r->flow_id;
    a.record_hour = r->first_seen_us / TW_US_PER_HOUR;
    a.ts_us = r->last_seen_us;
    memcpy(a.src_ip, r->src_ip, 16);
    memcpy(a.dst_ip, r->dst_ip, 16);
    a.src_port = r->src_port;
    a.dst_port = r->dst_port;
    a.ip_version = r->ip_version;
    a.ip_proto = r->ip_proto;
    a.kind = (uint8_t)kind;
    a.severity = ev->p->rules[kind].severity;
    snprintf(a.equipment, sizeof(a.equipment), "%s", e->name);
    snprintf(a.vendor, sizeof(a.vendor), "%s", e->vendor);
    snprintf(a.app, sizeof(a.app), "%.*s", (int)strnlen(r->app, sizeof(r->app)), r->app);
    snprintf(a.server_name, sizeof(a.server_name), "%.*s",
             (int)strnlen(r->server_name, sizeof(r->server_name)), r->server_name);
    va_start(ap, fmt);
    vsnprintf(a.detail, sizeof(a.detail), fmt, ap);
    va_end(ap);
    ev->st->st.alerts++;
    ev->n++;
    ev->emit(ev->ctx, &a);
}

static void check_upload(struct eval *ev, const struct equipment *e, int is_client)
{
    const struct tw_policy *p = ev->p;
    const struct tw_flow_record *r = ev->r;
    uint64_t sent = is_client ? r->c2s_bytes : r->s2c_bytes;
    const uint8_t *peer = is_client ? r->dst_ip : r->src_ip;
    int v4 = r->ip_version == 4;
    char ps[INET6_ADDRSTRLEN];

    if (!p->rules[TW_ALERT_UPLOAD_VOLUME].enabled)
        return;
    addr_str(r, peer, ps, sizeof(ps));
    if (p->upload_per_flow && sent > p->upload_per_flow)
        fire(ev, TW_ALERT_UPLOAD_VOLUME, e,
             "%s sent %" PRIu64 " bytes to %s in one flow, over the per-flow limit of %" PRIu64,
             e->name, sent, ps, p->upload_per_flow);
    if (p->upload_per_day && !nets_contain(p->domestic, p->ndomestic, peer, v4)) {
        uint64_t delta = sent > ev->slot->counted ? sent - ev->slot->counted : 0;
        int64_t day;
        int over = 0;
        ev->slot->counted = sent > ev->slot->counted ? sent : ev->slot->counted;
        if (delta == 0)
            return;
        tw_policy_local_time(p, r->last_seen_us, NULL, NULL, &day);
        /* a flow that already has its upload_volume alert (per flow) cannot carry the day's
         * crossing: limit 0 leaves the day "not over yet", so the next flow that adds bytes
         * raises it */
        int can_fire = !(ev->slot->fired >> TW_ALERT_UPLOAD_VOLUME & 1);
        uint64_t total = tw_upload_acc_add(ev->st->acc, e->name, day, delta,
                                           can_fire ? p->upload_per_day : 0, &over);
        if (over)
            fire(ev, TW_ALERT_UPLOAD_VOLUME, e,
                 "%s sent %" PRIu64 " bytes today to peers outside domestic_networks, over the "
                 "per-day limit of %" PRIu64 " (this flow to %s)",
                 e->name, total, p->upload_per_day, ps);
    }
}

int tw_policy_evaluate(const struct tw_policy *p, struct tw_policy_state *st,
                       const struct tw_flow_record *r, tw_alert_emit_fn emit, void *ctx)
{
    int v4 = r->ip_version == 4;
    const struct equipment *src = find_equipment(p, r->src_ip, v4);
    const struct equipment *dst = find_equipment(p, r->dst_ip, v4);
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

    if (src == NULL && dst == NULL)
        return 0;
    struct eval ev = {.p = p, .st = st, .r = r, .slot = slot_get(st, r->flow_id), .emit = emit,
                      .ctx = ctx};
    int decided = r->detection_done || r->event == TW_EVENT_END;
    const struct equipment *any = src ? src : dst;
    const char *app = r->app[0] ? r->app : "Unknown";

    addr_str(r, r->src_ip, s, sizeof(s));
    addr_str(r, r->dst_ip, d, sizeof(d));
    check_upload(&ev, any, src != NULL);

    if (decided && src && !declared_match(src, r, r->dst_ip))
        fire(&ev, TW_ALERT_UNDECLARED_DESTINATION, src,
             "%s opened %s/%u to %s (%s%s%.60s), which no declared entry allows", src->name,
             proto_name(r->ip_proto), r->dst_port, d, app, r->server_name[0] ? ", " : "",
             r->server_name);

    if (decided && dst && is_remote_access(r)) {
        unsigned wd, minute;
        int inside = !p->has_windows;
        tw_policy_local_time(p, r->first_seen_us, &wd, &minute, NULL);
        for (size_t i = 0; i < p->nwindows && !inside; i++)
            inside = tw_window_contains(p->windows[i].days, p->windows[i].start,
                                        p->windows[i].end, wd, minute);
        int proto_ok = 0;
        for (size_t i = 0; i < p->nmprotos && !proto_ok; i++)
            proto_ok = tw_app_match(p->mprotos[i], r->app);
        if (!nets_contain(p->mhosts, p->nmhosts, r->src_ip, v4))
            fire(&ev, TW_ALERT_REMOTE_ACCESS_UNAPPROVED_HOST, dst,
                 "%s reached %s with %s but is not an approved maintenance host", s, dst->name,
                 app);
        else if (!inside)
            fire(&ev, TW_ALERT_REMOTE_ACCESS_OUTSIDE_WINDOW, dst,
                 "approved host %s reached %s with %s at %02u:%02u %s (policy time), outside "
                 "every maintenance window", s, dst->name, app, minute / 60, minute % 60,
                 day_names[wd]);
        else if (!proto_ok)
            fire(&ev, TW_ALERT_REMOTE_ACCESS_PROTOCOL, dst,
                 "approved host %s reached %s with %s, not an approved remote-access protocol", s,
                 dst->name, app);
    }

    if (decided && is_unknown(r) && has_payload(r) &&
        !(src ? declared_match(src, r, r->dst_ip) : declared_match(dst, r, r->src_ip)))
        fire(&ev, TW_ALERT_UNCLASSIFIED_CHANNEL, any,
             "%s/%u between %s and %s carries payload nDPI cannot classify, and no declared "
             "entry allows it", proto_name(r->ip_proto), r->dst_port, s, d);

    if (decided && (r->risks & p->risk_mask)) {
        char names[120] = "";
        size_t o = 0;
        uint64_t hit = r->risks & p->risk_mask;
        for (unsigned b = 1; b < 64 && o < sizeof(names); b++)
            if ((hit >> b & 1) && tw_risk_name(b))
                o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", o ? ", " : "",
                                      tw_risk_name(b));
        fire(&ev, TW_ALERT_RISKY_FLOW, any, "%s -> %s (%s): nDPI risk %s", s, d, app, names);
    }

    if (r->event == TW_EVENT_END) {
        ev.slot->used = 0;
        st->st.tracked--;
    }
    return ev.n;
}
