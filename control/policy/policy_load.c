/* policy_load.c - the policy loader: a YAML file (libyaml) into a struct tw_policy (see
 * policy.h for the format, policy_model.h for the result).
 *
 * The loader reads the whole file into libyaml's node tree (every node keeps its line), then
 * walks it with one table of fields per mapping: key, handler, required. A handler checks its
 * value and writes it into the policy being built; the first error stops the load with
 * "FILE:LINE: path: expected ..., got ...". Nothing is shared with config.c: its helpers are
 * static and its schema is flat, this one nests sequences of mappings.
 */
#include "control/policy/policy_model.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <ndpi/ndpi_typedefs.h>
#include <yaml.h>

#include "control/record/record_json.h" /* tw_risk_name */

static const uint8_t default_severity[TW_ALERT__COUNT] = {
    [TW_ALERT_UNDECLARED_DESTINATION] = TW_SEV_MEDIUM,
    [TW_ALERT_REMOTE_ACCESS_UNAPPROVED_HOST] = TW_SEV_HIGH,
    [TW_ALERT_REMOTE_ACCESS_OUTSIDE_WINDOW] = TW_SEV_HIGH,
    [TW_ALERT_REMOTE_ACCESS_PROTOCOL] = TW_SEV_MEDIUM,
    [TW_ALERT_UPLOAD_VOLUME] = TW_SEV_HIGH,
    [TW_ALERT_UNCLASSIFIED_CHANNEL] = TW_SEV_MEDIUM,
    [TW_ALERT_RISKY_FLOW] = TW_SEV_MEDIUM,
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
    static const char what[] = "UTC, an offset such as +08:00, or an IANA zone name such as "
                               "Asia/Shanghai";

    if (t == NULL)
        return expected(ld, v, path, what);
    if (tw_policy_set_timezone(p, t) != 0) {
        if (errno == ENOMEM)
            return fail(ld, v, "%s: out of memory", path);
        return expected(ld, v, path, what);
    }
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

static int f_equipment(struct ld *ld, const char *path, yaml_node_t *v, void *obj)
{
    struct tw_policy *p = obj;
    long n = seq_len(ld, path, v, "equipment entries", 0), walked;
    char sub[180], addr[INET6_ADDRSTRLEN];
    struct tw_equipment_conflict c;

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
        if (walk_map(ld, sub, item, equipment_fields, 4, e) != 0)
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
    if (p != NULL)
        p->owners = tw_prefix_set_new();
    if (p == NULL || p->owners == NULL || !yaml_parser_initialize(&parser)) {
        snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
        tw_policy_free(p);
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
    if (rc == 0 && p->ntz == 0 && tw_policy_set_timezone(p, "UTC") != 0) { /* absent: UTC */
        snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
        rc = -1;
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
