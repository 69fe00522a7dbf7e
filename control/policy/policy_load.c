/* policy_load.c - the policy loader: a YAML file (libyaml) into a struct tw_policy (see
 * policy.h for the format, policy_model.h for the result).
 *
 * The loader reads the whole file into libyaml's node tree (every node keeps its line), then
 * walks it with one table of fields per mapping (struct field): key, required, and how the
 * value is taken: a scalar through a check of its text that writes it at the field's offset
 * (s_*), a sequence item by item against its item's field (f_list), a mapping against its own
 * table (f_map), or a handler of its own (f_*). The first error stops the load with
 * "FILE:LINE: path: expected ..., got ...". Nothing is shared with config.c: its helpers are
 * static and its schema is flat, this one nests sequences of mappings.
 */
#include "control/policy/policy_model.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <ndpi/ndpi_typedefs.h>
#include <openssl/evp.h>
#include <yaml.h>

#include "control/record/record_json.h" /* tw_risk_name */
#include "control/record/units.h"       /* tw_parse_duration */

static const uint8_t default_severity[TW_ALERT__COUNT] = {
    [TW_ALERT_UNDECLARED_DESTINATION] = TW_SEV_MEDIUM,
    [TW_ALERT_REMOTE_ACCESS_UNAPPROVED_HOST] = TW_SEV_HIGH,
    [TW_ALERT_REMOTE_ACCESS_OUTSIDE_WINDOW] = TW_SEV_HIGH,
    [TW_ALERT_REMOTE_ACCESS_PROTOCOL] = TW_SEV_MEDIUM,
    [TW_ALERT_UPLOAD_VOLUME] = TW_SEV_HIGH,
    [TW_ALERT_UNCLASSIFIED_CHANNEL] = TW_SEV_MEDIUM,
    [TW_ALERT_RISKY_FLOW] = TW_SEV_MEDIUM,
    [TW_ALERT_CROSS_BORDER] = TW_SEV_HIGH,
    [TW_ALERT_UNKNOWN_DEVICE] = TW_SEV_HIGH,
    [TW_ALERT_SILENT_EQUIPMENT] = TW_SEV_MEDIUM,
    [TW_ALERT_EQUIPMENT_BACK] = TW_SEV_LOW,
    [TW_ALERT_MIRROR_SILENT] = TW_SEV_HIGH,
    [TW_ALERT_MIRROR_BACK] = TW_SEV_LOW,
    [TW_ALERT_CLOCK_STEP] = TW_SEV_HIGH,
};

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

/* A mapping's fields and a sequence's items are described by a struct field: a scalar one
 * by a check of its text (the loader says "expected <what>, got ..." when it fails), any other
 * by a handler that says itself what is wrong. */
struct field;

/* Checks node v (at path) and writes it into obj. Returns 0, or -1 after fail(). */
typedef int (*node_fn)(struct ld *ld, const char *path, yaml_node_t *v, void *obj,
                       const struct field *f);

/* Checks the text t (non-empty) and writes it to out (obj + the field's off); aux is the
 * field's aux. Returns 0, or -1 when t is not what the field's what says. */
typedef int (*scalar_fn)(const char *t, void *out, size_t aux);

struct field {
    const char *key;   /* NULL for a sequence's items */
    int required;      /* a required sequence must also hold an item */
    node_fn node;      /* either this ... */
    scalar_fn scalar;  /* ... or this */
    const char *what;  /* scalars: what the text must be; sequences: what of */
    size_t off;        /* where in obj the value goes */
    size_t aux;        /* strings: their size; sequences: where their count goes; maps: how
                        * many fields */
    const struct field *sub; /* sequences: their items (an array of size bytes each, at off;
                              * none when size is 0: the items go into obj); maps: fields */
    size_t size;
};

/* One value against its field: "expected <what>" for a scalar that does not fit, else what its
 * handler says. Returns 0 or -1. */
static int take(struct ld *ld, const char *path, yaml_node_t *v, void *obj,
                const struct field *f)
{
    const char *t;

    if (f->node != NULL)
        return f->node(ld, path, v, obj, f);
    t = scalar(v);
    if (t == NULL || f->scalar(t, (char *)obj + f->off, f->aux) != 0)
        return expected(ld, v, path, f->what);
    return 0;
}

/* Walks a mapping against its table of fields; *keys (when not NULL) gets bit i set for each
 * field f[i] the mapping has. */
static int walk_map(struct ld *ld, const char *path, yaml_node_t *map, const struct field *f,
                    size_t nf, void *obj, unsigned *keys)
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
        if (take(ld, sub, v, obj, &f[i]) != 0)
            return -1;
    }
    if (keys != NULL)
        *keys = 0;
    for (size_t i = 0; i < nf; i++) {
        if (f[i].required && !seen[i])
            return fail(ld, map, "%s%smissing key \"%s\"", path, path[0] ? ": " : "", f[i].key);
        if (keys != NULL && seen[i])
            *keys |= 1u << i;
    }
    return 0;
}

static int f_map(struct ld *ld, const char *path, yaml_node_t *v, void *obj,
                 const struct field *f)
{
    return walk_map(ld, path, v, f->sub, f->aux, obj, NULL);
}

/* Checks that v is a sequence of at most TW_POLICY_MAX_LIST items (nonempty: and at least
 * one) and returns its length, or -1. */
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

/* A sequence, item by item against f->sub: into a new array at off (zeroed, one more than
 * the items) that the count at aux counts, or into obj itself when f->size is 0. A key is
 * taken once (walk_map refuses a duplicate), so the array is not there yet. */
static int f_list(struct ld *ld, const char *path, yaml_node_t *v, void *obj,
                  const struct field *f)
{
    long n = seq_len(ld, path, v, f->what, f->required);
    char sub[180], *items = NULL;
    size_t *count = NULL;

    if (n < 0)
        return -1;
    if (f->size > 0) {
        items = calloc((size_t)n + 1, f->size);
        if (items == NULL)
            return fail(ld, v, "%s: out of memory", path);
        memcpy((char *)obj + f->off, &items, sizeof(items)); /* the struct's typed pointer */
        count = (size_t *)((char *)obj + f->aux);
        *count = 0;
    }
    for (long i = 0; i < n; i++) {
        snprintf(sub, sizeof(sub), "%s[%ld]", path, i);
        if (take(ld, sub, node(ld, v->data.sequence.items.start[i]),
                 items ? items + (size_t)i * f->size : obj, f->sub) != 0)
            return -1;
        if (count != NULL)
            (*count)++;
    }
    return 0;
}

/* -- scalars -- */

static int s_net(const char *t, void *out, size_t aux)
{
    struct net *n = out;
    int v4;

    (void)aux;
    if (tw_cidr_parse(t, n->addr, &v4, &n->bits) != 0)
        return -1;
    n->v4 = (uint8_t)v4;
    return 0;
}

static const struct field net_item = {.scalar = s_net, .what = "an IPv4 or IPv6 address or CIDR"};

/* The field of a sequence of nets: key name, into the members list and count of type. */
#define NET_LIST(name, req, type, list, count)                                                  \
    {.key = name, .required = req, .node = f_list, .what = "addresses or CIDRs",                \
     .off = offsetof(type, list), .aux = offsetof(type, count), .sub = &net_item,               \
     .size = sizeof(struct net)}

static int s_string(const char *t, void *out, size_t size)
{
    if (strlen(t) >= size)
        return -1;
    snprintf(out, size, "%s", t);
    return 0;
}

/* -- top level -- */

static int f_timezone(struct ld *ld, const char *path, yaml_node_t *v, void *obj,
                      const struct field *f)
{
    struct tw_policy *p = obj;
    const char *t = scalar(v);
    static const char what[] = "UTC, an offset such as +08:00, or an IANA zone name such as "
                               "Asia/Shanghai";

    (void)f;
    if (t == NULL)
        return expected(ld, v, path, what);
    if (tw_policy_set_timezone(p, t) != 0) {
        if (errno == ENOMEM)
            return fail(ld, v, "%s: out of memory", path);
        return expected(ld, v, path, what);
    }
    snprintf(p->tz_name, sizeof(p->tz_name), "%s", t);
    return 0;
}

/* -- equipment -- */

static int s_eq_name(const char *t, void *out, size_t size)
{
    if (t[strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")] != '\0')
        return -1;
    return s_string(t, out, size);
}

static int s_proto(const char *t, void *out, size_t aux)
{
    static const struct {
        const char *name;
        uint8_t num;
    } names[] = {{"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58}, {"sctp", 132},
                 {"gre", 47}, {"esp", 50}};
    uint8_t *proto = out;

    (void)aux;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(t, names[i].name) == 0) {
            *proto = names[i].num;
            return 0;
        }
    if (!isdigit((unsigned char)t[0]) || strlen(t) > 3 || t[strspn(t, "0123456789")] != '\0' ||
        atoi(t) > 255)
        return -1;
    *proto = (uint8_t)atoi(t);
    return 0;
}

static int s_port(const char *t, void *out, size_t aux)
{
    (void)aux;
    if (!isdigit((unsigned char)t[0]) || strlen(t) > 5 || t[strspn(t, "0123456789")] != '\0' ||
        atoi(t) < 1 || atoi(t) > 65535)
        return -1;
    *(uint16_t *)out = (uint16_t)atoi(t);
    return 0;
}

static int s_server_name(const char *t, void *out, size_t size)
{
    if (strchr(t + 1, '*') != NULL || (t[0] == '*' && (t[1] != '.' || t[2] == '\0')) ||
        strchr(t, ' ') != NULL)
        return -1;
    return s_string(t, out, size);
}

/* The keys' places are the D_* bits (policy_model.h) that say which ones an entry has. */
static const struct field declared_fields[] = {
    {.key = "peer", .scalar = s_net, .what = "an IPv4 or IPv6 address or CIDR",
     .off = offsetof(struct declared, peer)},
    {.key = "proto", .scalar = s_proto,
     .what = "tcp, udp, icmp, icmpv6, sctp, gre, esp or a number 0 to 255",
     .off = offsetof(struct declared, proto)},
    {.key = "port", .scalar = s_port, .what = "a port from 1 to 65535",
     .off = offsetof(struct declared, port)},
    {.key = "app", .scalar = s_string, .what = "an nDPI application name such as TLS or TLS.Google",
     .off = offsetof(struct declared, app), .aux = TW_APP_LEN},
    {.key = "server_name", .scalar = s_server_name,
     .what = "a server name, exact or with a leading \"*.\"",
     .off = offsetof(struct declared, server_name), .aux = TW_SERVER_NAME_LEN},
};

static int f_declared(struct ld *ld, const char *path, yaml_node_t *v, void *obj,
                      const struct field *f)
{
    struct declared *d = obj;

    (void)f;
    if (walk_map(ld, path, v, declared_fields, 5, d, &d->has) != 0)
        return -1;
    if (d->has == 0)
        return fail(ld, v, "%s: expected at least one of peer, proto, port, app, server_name",
                    path);
    return 0;
}

static const struct field declared_item = {.node = f_declared};

/* -- silence (silence.c) -- */

static int s_window(const char *t, void *out, size_t aux);

#define EXPECT_WHAT "a window such as \"mon-fri 08:00-18:00\" or a list of them"
static const struct field expect_item = {.scalar = s_window, .what = EXPECT_WHAT};

/* expect_traffic: one window as a string, or a non-empty list of them */
static int f_expect(struct ld *ld, const char *path, yaml_node_t *v, void *obj,
                    const struct field *f)
{
    struct equipment *e = obj;

    if (v->type == YAML_SEQUENCE_NODE) {
        struct field nonempty = *f; /* a list must hold a window */
        nonempty.required = 1;
        return f_list(ld, path, v, obj, &nonempty);
    }
    if ((e->expect = calloc(1, sizeof(*e->expect))) == NULL)
        return fail(ld, v, "%s: out of memory", path);
    if (take(ld, path, v, e->expect, &expect_item) != 0)
        return -1;
    e->nexpect = 1;
    return 0;
}

/* A duration from 1 s to aux seconds ("90s", "15m", "1h", "2d"; units.h). */
static int s_duration(const char *t, void *out, size_t max)
{
    uint32_t s;

    if (tw_parse_duration(t, &s) != 0 || s == 0 || s > max)
        return -1;
    *(uint32_t *)out = s;
    return 0;
}

#define SILENT_AFTER_MAX (30u * 86400u)
#define MIRROR_AFTER_MAX 86400u

static const struct field equipment_fields[] = {
    {.key = "name", .required = 1, .scalar = s_eq_name,
     .what = "a name of 1 to 63 characters A-Z a-z 0-9 _ . -",
     .off = offsetof(struct equipment, name), .aux = TW_EQUIPMENT_LEN},
    {.key = "vendor", .scalar = s_string, .what = "a string of 1 to 63 bytes",
     .off = offsetof(struct equipment, vendor), .aux = TW_VENDOR_LEN},
    NET_LIST("addresses", 1, struct equipment, addrs, naddrs),
    {.key = "declared", .node = f_list, .what = "declared entries",
     .off = offsetof(struct equipment, decl), .aux = offsetof(struct equipment, ndecl),
     .sub = &declared_item, .size = sizeof(struct declared)},
    {.key = "expect_traffic", .node = f_expect, .what = "windows",
     .off = offsetof(struct equipment, expect), .aux = offsetof(struct equipment, nexpect),
     .sub = &expect_item, .size = sizeof(struct window)},
    {.key = "silent_after", .scalar = s_duration,
     .what = "a duration from 1s to 30d (e.g. 90s, 15m, 1h, 2d)",
     .off = offsetof(struct equipment, silent_after_s), .aux = SILENT_AFTER_MAX},
};

static int f_equipment(struct ld *ld, const char *path, yaml_node_t *v, void *obj,
                       const struct field *f)
{
    struct tw_policy *p = obj;
    long n = seq_len(ld, path, v, "equipment entries", 0), walked;
    char sub[180], addr[INET6_ADDRSTRLEN];
    struct tw_equipment_conflict c;

    (void)f;
    if (n < 0)
        return -1;
    if (n > TW_POLICY_MAX_EQUIPMENT)
        return fail(ld, v, "%s: expected at most %d entries, got %ld", path,
                    TW_POLICY_MAX_EQUIPMENT, n);
    p->eq = calloc((size_t)n + 1, sizeof(*p->eq));
    if (p->eq == NULL)
        return fail(ld, v, "%s: out of memory", path);
    for (walked = 0; walked < n; walked++) {
        yaml_node_t *item = node(ld, v->data.sequence.items.start[walked]);
        struct equipment *e = &p->eq[walked];
        snprintf(sub, sizeof(sub), "%s[%ld]", path, walked);
        e->line = item->start_mark.line + 1;
        p->neq++;
        if (walk_map(ld, sub, item, equipment_fields, 6, e, NULL) != 0)
            break; /* its error stands, unless an equipment before it breaks the rule below */
    }
    /* names are Redis key parts and alert fields: they must be unique; an address must
     * belong to one equipment only, or the alerts would name either */
    int k = tw_equipment_first_conflict(p->eq, (size_t)walked, &c);
    if (k < 0)
        return fail(ld, v, "%s: out of memory", path);
    if (k > 0) {
        const struct equipment *e = &p->eq[c.i], *o = &p->eq[c.j];
        yaml_node_t *item = node(ld, v->data.sequence.items.start[c.i]);
        snprintf(sub, sizeof(sub), "%s[%zu]", path, c.i);
        if (c.name)
            return fail(ld, item, "%s.name: duplicate equipment name \"%s\", first on line %zu",
                        sub, e->name, o->line);
        inet_ntop(e->addrs[c.a].v4 ? AF_INET : AF_INET6, e->addrs[c.a].addr, addr, sizeof(addr));
        return fail(ld, item, "%s.addresses[%zu]: %s/%u overlaps the addresses of %s (line %zu)",
                    sub, c.a, addr, e->addrs[c.a].bits, o->name, o->line);
    }
    if (walked < n)
        return -1;
    for (long i = 0; i < n; i++)
        for (size_t a = 0; a < p->eq[i].naddrs; a++) {
            const struct net *a_net = &p->eq[i].addrs[a];
            if (tw_prefix_set_add(p->owners, a_net->addr, a_net->v4, a_net->bits, (int32_t)i) != 0)
                return fail(ld, v, "%s: out of memory", path);
        }
    return 0;
}

/* -- maintenance -- */

static int s_window(const char *t, void *out, size_t aux)
{
    struct window *w = out;

    (void)aux;
    return tw_window_parse(t, &w->days, &w->start, &w->end) != 0 ? -1 : 0;
}

static const struct field protocol_item = {
    .scalar = s_string, .what = "an nDPI protocol name such as SSH or RDP", .aux = TW_APP_LEN};
static const struct field window_item = {
    .scalar = s_window,
    .what = "a window such as \"mon-fri 10:00-12:00\", \"sat 08:00-09:30\" or \"daily "
            "22:00-02:00\""};

/* windows, even none, replace "at any time" */
static int f_m_windows(struct ld *ld, const char *path, yaml_node_t *v, void *obj,
                       const struct field *f)
{
    ((struct tw_policy *)obj)->has_windows = 1;
    return f_list(ld, path, v, obj, f);
}

static const struct field maintenance_fields[] = {
    NET_LIST("hosts", 0, struct tw_policy, mhosts, nmhosts),
    {.key = "protocols", .node = f_list, .what = "nDPI protocol names",
     .off = offsetof(struct tw_policy, mprotos), .aux = offsetof(struct tw_policy, nmprotos),
     .sub = &protocol_item, .size = TW_APP_LEN},
    {.key = "windows", .node = f_m_windows, .what = "windows",
     .off = offsetof(struct tw_policy, windows), .aux = offsetof(struct tw_policy, nwindows),
     .sub = &window_item, .size = sizeof(struct window)},
};

/* -- limits -- */

#define MAX_BYTES (UINT64_C(1) << 60)

static int s_bytes(const char *t, void *out, size_t aux)
{
    uint64_t n = 0;

    (void)aux;
    if (!isdigit((unsigned char)t[0]) || t[strspn(t, "0123456789")] != '\0' ||
        strlen(t) > 19 || (n = strtoull(t, NULL, 10)) > MAX_BYTES)
        return -1;
    *(uint64_t *)out = n;
    return 0;
}

#define BYTES(name, member)                                                                     \
    {.key = name, .scalar = s_bytes, .what = "a number of bytes from 0 (no limit) to 2^60",      \
     .off = offsetof(struct tw_policy, member)}

static const struct field limits_fields[] = {
    BYTES("upload_bytes_per_flow", upload_per_flow),
    BYTES("upload_bytes_per_day", upload_per_day),
};

/* -- rules -- */

struct rule_ctx {
    struct tw_policy *p;
    unsigned kind;
};

static int s_r_severity(const char *t, void *out, size_t aux)
{
    struct rule_ctx *rc = out;
    int s = tw_severity_from_name(t);

    (void)aux;
    if (s < 0)
        return -1;
    rc->p->rules[rc->kind].severity = (uint8_t)s;
    return 0;
}

static int s_r_enabled(const char *t, void *out, size_t aux)
{
    static const char *const words[] = {"false", "no", "off", "true", "yes", "on"};
    struct rule_ctx *rc = out;

    (void)aux;
    for (unsigned i = 0; i < 6; i++)
        if (strcasecmp(t, words[i]) == 0) {
            rc->p->rules[rc->kind].enabled = i >= 3;
            return 0;
        }
    return -1;
}

static int s_r_risk(const char *t, void *out, size_t aux)
{
    struct rule_ctx *rc = out;

    (void)aux;
    for (unsigned bit = 1; bit < 64; bit++) {
        const char *name = tw_risk_name(bit);
        if (name && strcasecmp(name, t) == 0) {
            rc->p->risk_mask |= UINT64_C(1) << bit;
            return 0;
        }
    }
    return -1;
}

static const struct field risk_item = {
    .scalar = s_r_risk, .what = "an nDPI 4.2 risk name such as \"Self-signed Certificate\""};

/* the list replaces the default risks */
static int f_r_risks(struct ld *ld, const char *path, yaml_node_t *v, void *obj,
                     const struct field *f)
{
    ((struct rule_ctx *)obj)->p->risk_mask = 0;
    return f_list(ld, path, v, obj, f);
}

static const struct field rule_fields[] = {
    {.key = "severity", .scalar = s_r_severity, .what = "low, medium, high or critical"},
    {.key = "enabled", .scalar = s_r_enabled, .what = "true or false"},
    {.key = "risks", .node = f_r_risks, .what = "nDPI risk names", .sub = &risk_item},
};

static int f_rules(struct ld *ld, const char *path, yaml_node_t *v, void *obj,
                   const struct field *f)
{
    struct tw_policy *p = obj;
    char sub[180], names[512];
    size_t seen[TW_ALERT__COUNT] = {0}, o = 0;

    (void)f;
    for (unsigned k = 0; k < TW_ALERT__COUNT; k++)
        o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", k ? ", " : "",
                              tw_alert_kind_name(k));
    if (v->type != YAML_MAPPING_NODE) {
        char what[560];
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
        if (walk_map(ld, sub, val, rule_fields, kind == TW_ALERT_RISKY_FLOW ? 3 : 2, &rc,
                     NULL) != 0)
            return -1;
    }
    return 0;
}

/* -- cross_border -- */

static int s_country(const char *t, void *out, size_t aux)
{
    (void)aux;
    if (t[0] < 'A' || t[0] > 'Z' || t[1] < 'A' || t[1] > 'Z' || t[2] != '\0')
        return -1;
    memcpy(out, t, 3);
    return 0;
}

static int s_flag(const char *t, void *out, size_t aux)
{
    static const char *const words[] = {"false", "no", "off", "true", "yes", "on"};

    (void)aux;
    for (unsigned i = 0; i < 6; i++)
        if (strcasecmp(t, words[i]) == 0) {
            *(uint8_t *)out = i >= 3;
            return 0;
        }
    return -1;
}

static int s_cb_days(const char *t, void *out, size_t aux)
{
    (void)aux;
    if (!isdigit((unsigned char)t[0]) || strlen(t) > 4 || t[strspn(t, "0123456789")] != '\0' ||
        atoi(t) < 1 || atoi(t) > TW_CB_DAYS_MAX)
        return -1;
    *(uint32_t *)out = (uint32_t)atoi(t);
    return 0;
}

static const struct field country_item = {
    .scalar = s_country, .what = "an ISO 3166 country code of two capital letters such as CN"};

/* The keys an equipment entry shares with the section, in the order of the CB_* bits. */
#define CB_FIELDS                                                                               \
    {.key = "allowed_countries", .node = f_list, .what = "country codes",                      \
     .off = offsetof(struct cb_rule, allowed), .aux = offsetof(struct cb_rule, nallowed),       \
     .sub = &country_item, .size = 4},                                                          \
    {.key = "first_contact", .scalar = s_flag, .what = "true or false",                        \
     .off = offsetof(struct cb_rule, first_contact)},                                           \
    {.key = "first_contact_days", .scalar = s_cb_days, .what = "a number of days from 1 to 3650", \
     .off = offsetof(struct cb_rule, days)}

static const struct field cb_eq_fields[] = {CB_FIELDS};

/* cross_border.equipment: a mapping of equipment name -> its keys (checked against the
 * inventory once the whole file is read: the sections may come in any order) */
static int f_cb_equipment(struct ld *ld, const char *path, yaml_node_t *v, void *obj,
                          const struct field *f)
{
    struct tw_policy *p = ld->p;
    char sub[240];

    (void)obj;
    (void)f;
    if (v->type != YAML_MAPPING_NODE)
        return expected(ld, v, path, "a mapping of equipment names to allowed_countries, "
                                     "first_contact, first_contact_days");
    long n = v->data.mapping.pairs.top - v->data.mapping.pairs.start;
    if (n > TW_POLICY_MAX_EQUIPMENT)
        return fail(ld, v, "%s: expected at most %d entries, got %ld", path,
                    TW_POLICY_MAX_EQUIPMENT, n);
    if ((p->cb_eq = calloc((size_t)n + 1, sizeof(*p->cb_eq))) == NULL)
        return fail(ld, v, "%s: out of memory", path);
    for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(ld, pr->key), *val = node(ld, pr->value);
        const char *key = scalar(k);
        struct cb_rule *r = &p->cb_eq[p->ncb_eq];
        if (key == NULL || s_eq_name(key, r->name, sizeof(r->name)) != 0)
            return expected(ld, k, path, "an equipment name (1 to 63 characters A-Z a-z 0-9 _ . -)");
        snprintf(sub, sizeof(sub), "%.170s.%.60s", path, key);
        for (size_t i = 0; i < p->ncb_eq; i++)
            if (strcmp(p->cb_eq[i].name, key) == 0)
                return fail(ld, k, "%s: duplicate key, first set on line %zu", sub,
                            p->cb_eq[i].line);
        r->line = k->start_mark.line + 1;
        p->ncb_eq++;
        if (walk_map(ld, sub, val, cb_eq_fields, 3, r, &r->keys) != 0)
            return -1;
    }
    return 0;
}

static const struct field cb_fields[] = {
    CB_FIELDS,
    {.key = "equipment", .node = f_cb_equipment},
};

static int f_cross_border(struct ld *ld, const char *path, yaml_node_t *v, void *obj,
                          const struct field *f)
{
    struct tw_policy *p = obj;

    (void)f;
    if (walk_map(ld, path, v, cb_fields, 4, &p->cb, &p->cb.keys) != 0)
        return -1;
    p->cb.keys &= CB_ALLOWED | CB_FIRST | CB_DAYS;
    p->rules[TW_ALERT_CROSS_BORDER].configured = 1;
    return 0;
}

/* Each cross_border.equipment entry names an equipment of the inventory. Returns 0, or -1
 * with the error in ld->err. */
static int cb_resolve(struct ld *ld)
{
    struct tw_policy *p = ld->p;

    for (size_t i = 0; i < p->ncb_eq; i++) {
        struct cb_rule *r = &p->cb_eq[i];
        size_t j;
        for (j = 0; j < p->neq && strcmp(p->eq[j].name, r->name) != 0; j++)
            ;
        if (j == p->neq) {
            snprintf(ld->err, ld->errlen, "%s:%zu: cross_border.equipment.%s: expected the name "
                     "of an equipment of the inventory, got \"%s\"", ld->path, r->line, r->name,
                     r->name);
            return -1;
        }
        p->eq[j].cb = r;
    }
    return 0;
}

/* -- monitored networks -- */

/* The equipment segments: the list, then its lookup table; a list with a network turns the
 * unknown_device rule on. */
static int f_monitored(struct ld *ld, const char *path, yaml_node_t *v, void *obj,
                       const struct field *f)
{
    struct tw_policy *p = obj;

    if (f_list(ld, path, v, obj, f) != 0)
        return -1;
    if (p->nmonitored == 0)
        return 0;
    if ((p->monitored_set = tw_prefix_set_new()) == NULL)
        return fail(ld, v, "%s: out of memory", path);
    for (size_t i = 0; i < p->nmonitored; i++) {
        const struct net *n = &p->monitored[i];
        if (tw_prefix_set_add(p->monitored_set, n->addr, n->v4, n->bits, 0) != 0)
            return fail(ld, v, "%s: out of memory", path);
    }
    p->rules[TW_ALERT_UNKNOWN_DEVICE].configured = 1;
    return 0;
}

static const struct field top_fields[] = {
    {.key = "timezone", .node = f_timezone},
    NET_LIST("domestic_networks", 0, struct tw_policy, domestic, ndomestic),
    {.key = "monitored_networks", .node = f_monitored, .what = "addresses or CIDRs",
     .off = offsetof(struct tw_policy, monitored), .aux = offsetof(struct tw_policy, nmonitored),
     .sub = &net_item, .size = sizeof(struct net)},
    {.key = "equipment", .required = 1, .node = f_equipment},
    {.key = "maintenance", .node = f_map, .sub = maintenance_fields, .aux = 3},
    {.key = "limits", .node = f_map, .sub = limits_fields, .aux = 2},
    {.key = "rules", .node = f_rules},
    {.key = "cross_border", .node = f_cross_border},
    {.key = "silent_after", .scalar = s_duration,
     .what = "a duration from 1s to 30d (e.g. 90s, 15m, 1h, 2d)",
     .off = offsetof(struct tw_policy, silent_after_s), .aux = SILENT_AFTER_MAX},
    {.key = "mirror_silent_after", .scalar = s_duration,
     .what = "a duration from 1s to 1d (e.g. 60s, 5m)",
     .off = offsetof(struct tw_policy, mirror_silent_after_s), .aux = MIRROR_AFTER_MAX},
};

/* A policy larger than this is a mistake (4096 equipment of 1024 entries fit in far less). */
#define TW_POLICY_FILE_MAX (64u << 20)

/* Reads the whole of f into a new buffer (*len bytes, NUL after them). Returns it, or NULL
 * with the reason in err. One read: the bytes hashed are the bytes parsed. */
static unsigned char *read_all(FILE *f, const char *path, size_t *len, char *err, size_t errlen)
{
    size_t cap = 65536, n = 0;
    unsigned char *buf = malloc(cap + 1), *grown;

    while (buf != NULL) {
        errno = 0;
        n += fread(buf + n, 1, cap - n, f);
        if (ferror(f)) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
            free(buf);
            return NULL;
        }
        if (feof(f)) {
            buf[n] = '\0';
            *len = n;
            return buf;
        }
        if (cap >= TW_POLICY_FILE_MAX) {
            snprintf(err, errlen, "%s: larger than %u MiB, not a policy", path,
                     TW_POLICY_FILE_MAX >> 20);
            free(buf);
            return NULL;
        }
        cap *= 2;
        if ((grown = realloc(buf, cap + 1)) == NULL)
            free(buf);
        buf = grown;
    }
    snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
    return NULL;
}

/* The SHA-256 of data as 64 lowercase hex digits into out (72 bytes). Returns 0 or -1. */
static int sha256_hex(const unsigned char *data, size_t len, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
        return -1;
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

struct tw_policy *tw_policy_load(const char *path, char *err, size_t errlen)
{
    struct ld ld = {.path = path, .err = err, .errlen = errlen};
    yaml_parser_t parser;
    struct tw_policy *p;
    struct stat st;
    unsigned char *text;
    size_t textlen;
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
    text = read_all(f, path, &textlen, err, errlen);
    fclose(f);
    if (text == NULL)
        return NULL;
    p = calloc(1, sizeof(*p));
    if (p != NULL)
        p->owners = tw_prefix_set_new();
    if (p == NULL || p->owners == NULL || sha256_hex(text, textlen, p->sha256) != 0 ||
        !yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
        tw_policy_free(p);
        free(text);
        return NULL;
    }
    for (unsigned k = 0; k < TW_ALERT__COUNT; k++) {
        p->rules[k].enabled = 1;
        p->rules[k].severity = default_severity[k];
        /* the first rounds' rules need no section of their own */
        p->rules[k].configured = k <= TW_ALERT_RISKY_FLOW;
    }
    p->cb.days = TW_CB_DAYS_DEFAULT;
    /* alert-worthy by default: what a bank's equipment should never show */
    p->risk_mask = UINT64_C(1) << NDPI_POSSIBLE_EXPLOIT | UINT64_C(1) << NDPI_CLEAR_TEXT_CREDENTIALS |
                   UINT64_C(1) << NDPI_URL_POSSIBLE_RCE_INJECTION |
                   UINT64_C(1) << NDPI_URL_POSSIBLE_SQL_INJECTION |
                   UINT64_C(1) << NDPI_URL_POSSIBLE_XSS | UINT64_C(1) << NDPI_SUSPICIOUS_DGA_DOMAIN |
                   UINT64_C(1) << NDPI_MALICIOUS_JA3 | UINT64_C(1) << NDPI_MALICIOUS_SHA1_CERTIFICATE;
    p->silent_after_s = 3600;
    p->mirror_silent_after_s = 60;
    /* mirror_silent and mirror_back are the sensor's own: on in every policy (rules: can
     * disable them); the equipment's silence rules need an expect_traffic (below) */
    p->rules[TW_ALERT_MIRROR_SILENT].configured = 1;
    p->rules[TW_ALERT_MIRROR_BACK].configured = 1;
    ld.p = p;
    yaml_parser_set_input_string(&parser, text, textlen);
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
    } else if (walk_map(&ld, "", root, top_fields, sizeof(top_fields) / sizeof(top_fields[0]), p,
                        NULL) == 0 && /* (not a mapping: "expected a mapping of <its keys>") */
               cb_resolve(&ld) == 0) {
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
    for (size_t i = 0; rc == 0 && i < p->neq; i++)
        if (p->eq[i].nexpect > 0)
            p->rules[TW_ALERT_SILENT_EQUIPMENT].configured =
                p->rules[TW_ALERT_EQUIPMENT_BACK].configured = 1;
    if (rc == 0 && p->ntz == 0 && tw_policy_set_timezone(p, "UTC") != 0) { /* absent: UTC */
        snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
        rc = -1;
    }
    if (p->tz_name[0] == '\0')
        snprintf(p->tz_name, sizeof(p->tz_name), "UTC");
    yaml_document_delete(&ld.doc);
out_parser:
    yaml_parser_delete(&parser);
    free(text);
    if (rc != 0) {
        tw_policy_free(p);
        return NULL;
    }
    return p;
}
