/* cmd_flows.c - `tapwatch-query flows`: flow records by time, address or subnet, port,
 * application, newest first by last_seen (keys in control/record/keys.h).
 *
 * How records are found. Every flow has a posting (last_seen, flow_id, record hour) in the
 * indexes of each hour it spans. Walking the hours that hold flows (the tw:{S}:hours zset) from
 * the newest down, hour h contributes the flows whose last_seen lies inside h, except the newest
 * hour walked, which contributes every flow with last_seen >= h (they overlap the range too).
 * Those ranges do not overlap and go down, so printing hour after hour is newest first and
 * stops as soon as --limit is reached; inside an hour the postings (in arrival order) are
 * sorted by last_seen.
 *
 *   hour:       h0 (newest walked)      h1                 h2 (= hour of --since)
 *   last_seen:  [h0, +inf)              [h1, h1+1h)        [max(since, h2), h2+1h)
 *
 * In each hour the index read is the smallest (by STRLEN) of those the filters allow: the
 * time index, the address buckets an --ip covers (its /24 or /64, or for a shorter prefix the
 * buckets the hour's nets zset lists in that range), the --port key, the --app part key.
 * Postings carry the host byte or port, so most misses are dropped before a record is read;
 * the records fetched (pipelined HGETs) are then filtered exactly on every filter.
 * --country and --asn have no index of their own: they filter the records so fetched.
 * --equipment NAME reads the sensor's published inventory (inventory.h) and is the --ip of
 * each of that equipment's addresses at once: the buckets of them all (format 1: when they
 * are of one family, else the time index), each posting kept when one of them holds it.
 *
 * An hour is read in the format that holds it: compact (redis.format 2, compact_read.h), format
 * 1's keys, or both when the format changed within the hour (a restart with redis.format
 * switched, runs of each): then the postings of both are merged newest first and read a page
 * at a time. In every case a flow is decided at its newest version met, whichever format
 * holds it (w->decided), so an older version in the other format never answers for it.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "control/query/compact_read.h"
#include "control/query/coverage.h"
#include "control/query/inventory.h"
#include "control/query/query.h"
#include "control/query/verify_items.h"
#include "control/record/keys.h"
#include "control/record/netmatch.h"
#include "control/record/record_json.h"

/* flows' own options */
static struct {
    int has_ip, ip_v4;
    unsigned ip_bits; /* 32 or 128 for an exact address */
    uint8_t ip[16];
    int port; /* -1 = any */
    char app[TW_APP_LEN];
    int64_t tunnel_id; /* -1 = any */
    char country[3];   /* "" = any */
    int64_t asn;       /* -1 = any */
    /* --equipment: the addresses of the sensor being read (its inventory); NULL = any */
    const struct tq_net *eq;
    size_t neq;
    unsigned eq_known; /* sensors whose inventory named it (several sensors) */
} f = {.port = -1, .tunnel_id = -1, .asn = -1};

/* ---- options ---- */

static int parse_ip(const char *text)
{
    char addr[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(text, '/');
    size_t n = slash != NULL ? (size_t)(slash - text) : strlen(text);
    unsigned max;

    if (n == 0 || n >= sizeof(addr))
        return tq_usage_error("bad --ip \"%s\": expected an address or a CIDR", text);
    memcpy(addr, text, n);
    addr[n] = '\0';
    memset(f.ip, 0, sizeof(f.ip));
    if (inet_pton(AF_INET, addr, f.ip) == 1)
        f.ip_v4 = 1;
    else if (inet_pton(AF_INET6, addr, f.ip) == 1)
        f.ip_v4 = 0;
    else
        return tq_usage_error("bad --ip \"%s\": not an IPv4 or IPv6 address", text);
    max = f.ip_v4 ? 32 : 128;
    f.ip_bits = max;
    if (slash != NULL) {
        char *end;
        errno = 0;
        unsigned long bits = strtoul(slash + 1, &end, 10);
        if (!isdigit((unsigned char)slash[1]) || *end != '\0' || errno != 0 || bits > max)
            return tq_usage_error("bad --ip \"%s\": prefix length must be 0 to %u", text, max);
        f.ip_bits = (unsigned)bits;
        /* 10.1.2.3/24 means 10.1.2.0/24 */
        for (unsigned i = f.ip_bits; i < max; i++)
            f.ip[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
    }
    f.has_ip = 1;
    return 0;
}

static int parse_port(const char *val)
{
    uint64_t v;

    if (tq_parse_uint(val, 1, 65535, &v) < 0)
        return tq_usage_error("bad --port \"%s\": expected 1 to 65535", val);
    f.port = (int)v;
    return 0;
}

static int parse_app(const char *val)
{
    if (val[0] == '\0' || strlen(val) >= sizeof(f.app))
        return tq_usage_error("bad --app \"%s\": expected an application name", val);
    snprintf(f.app, sizeof(f.app), "%s", val);
    return 0;
}

/* Several switches mirror to one sensor, each with its own ERSPAN session (or VNI ...). */
static int parse_tunnel_id(const char *val)
{
    uint64_t v;

    if (tq_parse_uint(val, 0, UINT32_MAX, &v) < 0)
        return tq_usage_error("bad --tunnel-id \"%s\": expected 0 to 4294967295", val);
    f.tunnel_id = (int64_t)v;
    return 0;
}

/* ISO 3166 alpha-2, as records carry it (control/record/geoip.h); "cn" means CN. */
static int parse_country(const char *val)
{
    if (strlen(val) != 2 || !isalpha((unsigned char)val[0]) || !isalpha((unsigned char)val[1]))
        return tq_usage_error("bad --country \"%s\": expected a two-letter ISO 3166 country "
                              "code, e.g. CN", val);
    f.country[0] = (char)toupper((unsigned char)val[0]);
    f.country[1] = (char)toupper((unsigned char)val[1]);
    f.country[2] = '\0';
    return 0;
}

static int parse_asn(const char *val)
{
    uint64_t v;
    /* "AS4134" is how ASNs are often written */
    const char *digits = strncasecmp(val, "AS", 2) == 0 ? val + 2 : val;

    if (tq_parse_uint(digits, 1, UINT32_MAX, &v) < 0)
        return tq_usage_error("bad --asn \"%s\": expected an AS number from 1 to 4294967295",
                              val);
    f.asn = (int64_t)v;
    return 0;
}

/* ---- matching ---- */

static int record_matches(const struct tq_opts *o, const struct tw_flow_record *r)
{
    if (o->has_since && r->last_seen_us < o->since_us)
        return 0;
    if (o->has_until && r->first_seen_us > o->until_us)
        return 0;
    if (o->has_cursor && r->last_seen_us > o->cursor_us) /* on the pages before */
        return 0;
    if (f.has_ip) {
        if ((r->ip_version == 4) != f.ip_v4)
            return 0;
        if (!tw_cidr_contains(f.ip, (uint8_t)f.ip_bits, r->src_ip) &&
            !tw_cidr_contains(f.ip, (uint8_t)f.ip_bits, r->dst_ip))
            return 0;
    }
    if (f.port >= 0 && r->src_port != f.port && r->dst_port != f.port)
        return 0;
    if (f.app[0] != '\0' && !tw_app_match(f.app, r->app))
        return 0;
    if (f.tunnel_id >= 0 && r->tunnel_id != (uint64_t)f.tunnel_id)
        return 0;
    /* either end: a flow to the country or from it */
    if (f.country[0] != '\0' && strcmp(r->src_country, f.country) != 0 &&
        strcmp(r->dst_country, f.country) != 0)
        return 0;
    if (f.asn >= 0 && r->src_asn != (uint64_t)f.asn && r->dst_asn != (uint64_t)f.asn)
        return 0;
    if (f.eq != NULL && !tq_nets_contain(f.eq, f.neq, r->src_ip, r->ip_version == 4) &&
        !tq_nets_contain(f.eq, f.neq, r->dst_ip, r->ip_version == 4))
        return 0;
    return 1;
}

/* ---- output ---- */

/* CSV: one line per record, its columns in the order of csv_keys. */
enum { K_ID, K_EVENT, K_IPV, K_SRC, K_SPORT, K_DST, K_DPORT, K_PROTO, K_VLAN, K_FIRST, K_LAST,
       K_CP, K_CB, K_SP, K_SB, K_APP, K_CAT, K_SNI, K_RISKS, K_END, K_TLS, K_JA3, K_TUN,
       K_TUNID, K_MAC, K_SCC, K_DCC, K_SASN, K_DASN, NCSV };
static const char *const csv_keys[NCSV] = {"flow_id",    "event",       "ip_version", "src_ip",
                                 "src_port",   "dst_ip",      "dst_port",   "ip_proto",
                                 "vlan",       "first_seen",  "last_seen",  "c2s_packets",
                                 "c2s_bytes",  "s2c_packets", "s2c_bytes",  "app",
                                 "category",   "server_name", "risks",      "end_reason",
                                 "tls_version", "ja3c",       "tunnel",     "tunnel_id",
                                 "src_mac",    "src_country", "dst_country", "src_asn",
                                 "dst_asn"};

static void addr_text(const struct tw_flow_record *r, const uint8_t *a, char *out, size_t len)
{
    if (inet_ntop(r->ip_version == 4 ? AF_INET : AF_INET6, a, out, (socklen_t)len) == NULL)
        snprintf(out, len, "?");
}

/* The text of column col of r: r's own string, or written into buf. */
static const char *csv_text(const struct tw_flow_record *r, size_t col, char *buf, size_t len)
{
    /* the numbers, times in microseconds */
    const uint64_t num[NCSV] = {
        [K_IPV] = r->ip_version,      [K_SPORT] = r->src_port,     [K_DPORT] = r->dst_port,
        [K_PROTO] = r->ip_proto,      [K_VLAN] = r->vlan,          [K_FIRST] = r->first_seen_us,
        [K_LAST] = r->last_seen_us,   [K_CP] = r->c2s_packets,     [K_CB] = r->c2s_bytes,
        [K_SP] = r->s2c_packets,      [K_SB] = r->s2c_bytes,       [K_TLS] = r->tls_version,
        [K_TUNID] = r->tunnel_id,     [K_SASN] = r->src_asn,       [K_DASN] = r->dst_asn};
    size_t o = 0;

    switch (col) {
    case K_ID: snprintf(buf, len, "%016" PRIx64, r->flow_id); return buf;
    case K_EVENT:
        return r->event == TW_EVENT_CLASSIFIED ? "classified"
             : r->event == TW_EVENT_UPDATE     ? "update"
                                               : "end";
    case K_SRC: addr_text(r, r->src_ip, buf, len); return buf;
    case K_DST: addr_text(r, r->dst_ip, buf, len); return buf;
    case K_FIRST:
    case K_LAST:
        snprintf(buf, len, "%" PRIu64 ".%06" PRIu64, num[col] / 1000000, num[col] % 1000000);
        return buf;
    case K_APP: return r->app;
    case K_CAT: return r->category;
    case K_SNI: return r->server_name;
    case K_RISKS:
        buf[0] = '\0';
        for (unsigned bit = 0; bit < 64; bit++) {
            if (!(r->risks & ((uint64_t)1 << bit)))
                continue;
            char n[4];
            const char *name = tw_risk_label(bit, n);
            o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ";" : "", name);
            if (o >= len)
                o = len - 1;
        }
        return buf;
    case K_END: return tw_end_reason_name(r->end_reason);
    case K_JA3: return r->ja3c;
    case K_TUN: return tw_tunnel_name(r->tunnel);
    case K_MAC:
        if (!r->has_src_mac)
            return "";
        snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", r->src_mac[0], r->src_mac[1],
                 r->src_mac[2], r->src_mac[3], r->src_mac[4], r->src_mac[5]);
        return buf;
    case K_SCC: return r->src_country;
    case K_DCC: return r->dst_country;
    default: snprintf(buf, len, "%" PRIu64, num[col]); return buf;
    }
}

/* verified: the last column's text with --verify, else NULL */
static void print_csv(const struct tw_flow_record *r, const char *verified)
{
    char buf[1024];

    for (size_t col = 0; col < NCSV; col++)
        tq_csv_field(csv_text(r, col, buf, sizeof(buf)), col + 1 == NCSV && verified == NULL);
    if (verified != NULL)
        tq_csv_field(verified, 1);
}

static void csv_header(void)
{
    if (tq_vi_wanted())
        tq_vi_csv_header(csv_keys, NCSV);
    else
        tq_csv_header(csv_keys, NCSV);
}

/* The table: flow records kept until the end, then printed by tq_table_print. */
enum { C_TIME, C_DUR, C_SRC, C_DST, C_PROTO, C_APP, C_SNI, C_CP, C_CB, C_SP, C_SB, C_TUN,
       C_END, NCOLS };
static const char *const col_names[NCOLS] = {"TIME_UTC",  "DURATION",  "SRC",      "DST",
                                       "PROTO",     "APP",       "SERVER_NAME", "C2S_PKTS",
                                       "C2S_BYTES", "S2C_PKTS",  "S2C_BYTES", "TUNNEL", "END"};
static const unsigned char col_right[NCOLS] = {[C_DUR] = 1, [C_CP] = 1, [C_CB] = 1, [C_SP] = 1,
                                     [C_SB] = 1};

static void endpoint(const struct tw_flow_record *r, const uint8_t *a, uint16_t port, char *out,
                     size_t len)
{
    char ip[INET6_ADDRSTRLEN];

    addr_text(r, a, ip, sizeof(ip));
    if (r->ip_version == 4)
        snprintf(out, len, "%s:%u", ip, port);
    else
        snprintf(out, len, "[%s]:%u", ip, port);
}

static void cell(const void *rows, size_t i, size_t col, char *out, size_t len)
{
    const struct tw_flow_record *r = (const struct tw_flow_record *)rows + i;
    uint64_t dur = r->last_seen_us > r->first_seen_us ? r->last_seen_us - r->first_seen_us : 0;

    switch (col) {
    case C_TIME: tq_utc_text(r->first_seen_us, 1, out, len); break;
    case C_DUR: snprintf(out, len, "%" PRIu64 ".%03" PRIu64 "s", dur / 1000000, dur / 1000 % 1000); break;
    case C_SRC: endpoint(r, r->src_ip, r->src_port, out, len); break;
    case C_DST: endpoint(r, r->dst_ip, r->dst_port, out, len); break;
    case C_PROTO:
        snprintf(out, len, "%s", r->ip_proto == 6    ? "TCP"
                                 : r->ip_proto == 17 ? "UDP"
                                 : r->ip_proto == 1  ? "ICMP"
                                 : r->ip_proto == 58 ? "ICMPv6"
                                                     : "");
        if (out[0] == '\0')
            snprintf(out, len, "%u", r->ip_proto);
        break;
    case C_APP: snprintf(out, len, "%s", r->app[0] ? r->app : "-"); break;
    case C_SNI: /* escaped for the terminal by tq_table_print, as every cell */
        snprintf(out, len, "%s", r->server_name[0] ? r->server_name : "-");
        break;
    case C_CP: snprintf(out, len, "%" PRIu64, r->c2s_packets); break;
    case C_CB: snprintf(out, len, "%" PRIu64, r->c2s_bytes); break;
    case C_SP: snprintf(out, len, "%" PRIu64, r->s2c_packets); break;
    case C_SB: snprintf(out, len, "%" PRIu64, r->s2c_bytes); break;
    case C_END:
        snprintf(out, len, "%s", r->event == TW_EVENT_END ? tw_end_reason_name(r->end_reason)
                                                          : "(active)");
        break;
    case C_TUN: /* kind:id, "-" outside a tunnel */
        if (r->tunnel)
            snprintf(out, len, "%s:%u", tw_tunnel_name(r->tunnel), r->tunnel_id);
        else
            snprintf(out, len, "-");
        break;
    }
}

/* the order of the answer: newest first by last_seen */
static uint64_t row_key(const void *rows, size_t i)
{
    return ((const struct tw_flow_record *)rows)[i].last_seen_us;
}

static const struct tq_table flow_table = {
    .ncols = NCOLS, .names = col_names, .right = col_right, .cell = cell, .none = "no flows match",
    .key = row_key};

/* ---- flow ids already printed ---- */

struct idset {
    uint64_t *slots; /* id + 1 would overflow for ~0: keep a separate flag for zero */
    size_t n, cap;
    int has_zero;
};

static int idset_add(struct idset *s, uint64_t id)
{
    if (id == 0) {
        int had = s->has_zero;
        s->has_zero = 1;
        return !had;
    }
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *slots = calloc(cap, sizeof(*slots));
        if (slots == NULL)
            return -1;
        for (size_t i = 0; i < s->cap; i++) {
            if (s->slots[i] == 0)
                continue;
            size_t j = (s->slots[i] * 0x9e3779b97f4a7c15ULL) >> 20 & (cap - 1);
            while (slots[j] != 0)
                j = (j + 1) & (cap - 1);
            slots[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    size_t j = (id * 0x9e3779b97f4a7c15ULL) >> 20 & (s->cap - 1);
    for (; s->slots[j] != 0; j = (j + 1) & (s->cap - 1))
        if (s->slots[j] == id)
            return 0;
    s->slots[j] = id;
    s->n++;
    return 1;
}

/* ---- the walk ---- */

struct walk {
    struct tw_rclient *c;
    const struct tq_opts *o;
    struct idset seen;
    struct idset decided; /* compact hours: flows whose newest version was met */
    struct tw_flow_record *rows; /* table, or --verify: printed at the end */
    size_t nrows, cap;
    struct tq_vi_rows vrows; /* --verify: the rows' stored text, checked before printing */
    uint64_t found;
    int failed;
};

static int redis_failed(struct walk *w, redisReply *reply, const char *what)
{
    w->failed = 1;
    return tq_reply_failed(w->c, reply, what);
}

static int emit(struct walk *w, const char *json, const struct tw_flow_record *r)
{
    int isnew = idset_add(&w->seen, r->flow_id);

    if (isnew < 0) {
        fprintf(stderr, PROG ": out of memory\n");
        w->failed = 1;
        return -1;
    }
    if (!isnew)
        return 0;
    if (tq_vi_wanted()) { /* every format waits for the rows' check */
        char label[32];
        snprintf(label, sizeof(label), "flow %016" PRIx64, r->flow_id);
        if (tq_vi_add_record(&w->vrows, json, strlen(json), label) < 0) {
            w->failed = 1;
            return -1;
        }
    }
    switch (tq_vi_wanted() ? TQ_TABLE : w->o->format) {
    case TQ_JSON: tq_json_line(json); break;
    case TQ_CSV: print_csv(r, NULL); break;
    case TQ_TABLE: {
        struct tw_flow_record *rows = tq_grow(w->rows, w->nrows, &w->cap, sizeof(*rows), 256);
        if (rows == NULL) {
            w->failed = 1;
            return -1;
        }
        w->rows = rows;
        w->rows[w->nrows++] = *r;
        break;
    }
    }
    w->found++;
    return 0;
}

/* One posting of the hour being walked that passed the time window and the detail filter. */
struct cand {
    uint64_t last_seen_us, flow_id, rec_hour;
};

/* A format 1 record that is not a record (not JSON, altered): said, left out (coverage.h). */
static void f1_invalid(const struct tq_opts *o, const struct cand *cd)
{
    char key[TW_KEY_LEN], id[17];

    tw_key_record(key, sizeof(key), o->sensor, cd->rec_hour, cd->flow_id);
    snprintf(id, sizeof(id), "%016" PRIx64, cd->flow_id);
    tq_warn_invalid(key, id, "not valid JSON");
}

static int cand_newest_first(const void *pa, const void *pb)
{
    const struct cand *a = pa, *b = pb;

    if (a->last_seen_us != b->last_seen_us)
        return a->last_seen_us < b->last_seen_us ? 1 : -1;
    return a->flow_id < b->flow_id ? 1 : a->flow_id > b->flow_id ? -1 : 0;
}

/* The posting keys of one way to answer the filters in one hour. */
struct plan {
    enum tw_post_kind kind;
    int eq;         /* address postings of --equipment's nets (else of --ip) */
    size_t n;
    char (*keys)[TW_KEY_LEN];
    uint64_t bytes; /* their total size: the work of reading them */
};

static void plan_free(struct plan *p)
{
    free(p->keys);
    p->keys = NULL;
    p->n = 0;
}

static int plan_add(struct plan *p, uint64_t hour, const char *sensor, const char *value)
{
    char(*keys)[TW_KEY_LEN] = realloc(p->keys, (p->n + 1) * sizeof(*keys));

    if (keys == NULL)
        return -1;
    p->keys = keys;
    return tw_key_post(p->keys[p->n++], TW_KEY_LEN, sensor, hour, p->kind, value) < 0 ? -1 : 0;
}

static void hex_text(const uint8_t *b, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 0xf];
    }
    out[2 * n] = '\0';
}

/* The address buckets (/24 or /64 keys) of hour that net/bits covers: the bucket of the
 * address when the prefix is at least that long, else the buckets listed in the hour's nets
 * zset. Added to p, whose kind is that of the family. */
static int plan_net(struct walk *w, uint64_t hour, struct plan *p, const uint8_t *net, int v4,
                    unsigned bits)
{
    const struct tq_opts *o = w->o;
    unsigned nb = v4 ? 3 : 8;
    uint8_t lo[16], hi[16];
    char lo_t[24], hi_t[24], min[32], max[32], key[TW_KEY_LEN];
    redisReply *r;

    p->kind = v4 ? TW_POST_NET4 : TW_POST_NET6;
    memcpy(lo, net, 16);
    memcpy(hi, net, 16);
    for (unsigned i = bits; i < nb * 8; i++)
        hi[i / 8] |= (uint8_t)(0x80 >> (i % 8));
    hex_text(lo, nb, lo_t);
    hex_text(hi, nb, hi_t);
    if (bits >= nb * 8)
        return plan_add(p, hour, o->sensor, lo_t);
    tw_key_nets(key, sizeof(key), o->sensor, hour);
    snprintf(min, sizeof(min), "[%c:%s", v4 ? '4' : '6', lo_t);
    snprintf(max, sizeof(max), "[%c:%s", v4 ? '4' : '6', hi_t);
    r = tw_rclient_command(w->c, "ZRANGEBYLEX %s %s %s", key, min, max);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return redis_failed(w, r, "ZRANGEBYLEX");
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING && r->element[i]->len > 2 &&
            plan_add(p, hour, o->sensor, r->element[i]->str + 2) < 0) {
            freeReplyObject(r);
            return -1;
        }
    freeReplyObject(r);
    return 0;
}

static int plan_ip(struct walk *w, uint64_t hour, struct plan *p)
{
    return plan_net(w, hour, p, f.ip, f.ip_v4, f.ip_bits);
}

/* --equipment's nets, when all are of one family (a plan reads entries of one size). A
 * bucket named twice is read twice: the flow ids are made unique afterwards. */
static int plan_equipment(struct walk *w, uint64_t hour, struct plan *p)
{
    p->eq = 1;
    for (size_t i = 0; i < f.neq; i++)
        if (plan_net(w, hour, p, f.eq[i].addr, f.eq[i].v4, f.eq[i].bits) < 0)
            return -1;
    return 0;
}

/* 1 when --equipment's nets are all of one family (and there is one at least). */
static int equipment_one_family(void)
{
    for (size_t i = 1; i < f.neq; i++)
        if (f.eq[i].v4 != f.eq[0].v4)
            return 0;
    return f.neq > 0;
}

/* Sizes the keys of a plan with one pipelined round of STRLEN. */
static int plan_size(struct walk *w, struct plan *p)
{
    p->bytes = 0;
    for (size_t i = 0; i < p->n; i++)
        tw_rclient_append(w->c, "STRLEN %s", p->keys[i]);
    for (size_t i = 0; i < p->n; i++) {
        redisReply *r = NULL;
        if (tw_rclient_get_reply(w->c, &r) != REDIS_OK || r == NULL ||
            r->type != REDIS_REPLY_INTEGER)
            return redis_failed(w, r, "STRLEN");
        p->bytes += (uint64_t)r->integer;
        freeReplyObject(r);
    }
    return 0;
}

/* Does the detail of a posting pass the filter its kind answers (eq: --equipment's nets)? */
static int detail_matches(enum tw_post_kind kind, int eq, const char *key,
                          const struct tw_posting *e)
{
    uint8_t addr[16] = {0};
    const char *hex;

    switch (kind) {
    case TW_POST_PORT: return (e->detail[0] << 8 | e->detail[1]) == f.port;
    case TW_POST_NET4:
    case TW_POST_NET6: {
        unsigned nb = kind == TW_POST_NET4 ? 3 : 8;
        hex = strrchr(key, ':') + 1;
        for (unsigned i = 0; i < nb; i++) {
            unsigned v;
            if (sscanf(hex + 2 * i, "%2x", &v) != 1)
                return 0;
            addr[i] = (uint8_t)v;
        }
        memcpy(addr + nb, e->detail, kind == TW_POST_NET4 ? 1 : 8);
        if (eq)
            return tq_nets_contain(f.eq, f.neq, addr, kind == TW_POST_NET4);
        return tw_cidr_contains(f.ip, (uint8_t)f.ip_bits, addr);
    }
    default: return 1;
    }
}

#define CHUNK (1u << 22) /* bytes of postings read per GETRANGE */

/* Reads every posting of the plan, keeping those with last_seen in [lo, hi] whose detail
 * matches. Returns 0 or -1. */
static int read_plan(struct walk *w, const struct plan *p, uint64_t hour, uint64_t lo,
                     uint64_t hi, struct cand **cands, size_t *n, size_t *cap)
{
    size_t esize = tw_post_entry_size(p->kind);

    for (size_t k = 0; k < p->n; k++) {
        for (long long off = 0;; off += CHUNK) {
            /* a chunk is a whole number of entries, so none is cut in two */
            long long end = off + (long long)(CHUNK / esize * esize) - 1;
            redisReply *r = tw_rclient_command(w->c, "GETRANGE %s %lld %lld", p->keys[k], off, end);
            if (r == NULL || r->type != REDIS_REPLY_STRING)
                return redis_failed(w, r, "GETRANGE");
            size_t len = r->len;
            for (size_t i = 0; i + esize <= len; i += esize) {
                struct tw_posting e;
                tw_post_decode(p->kind, (const uint8_t *)r->str + i, &e);
                if (e.last_seen_us < lo || e.last_seen_us > hi || e.back > hour ||
                    !detail_matches(p->kind, p->eq, p->keys[k], &e))
                    continue;
                struct cand *c = tq_grow(*cands, *n, cap, sizeof(*c), 4096);
                if (c == NULL) {
                    freeReplyObject(r);
                    w->failed = 1;
                    return -1;
                }
                *cands = c;
                (*cands)[(*n)++] = (struct cand){e.last_seen_us, e.flow_id, hour - e.back};
            }
            freeReplyObject(r);
            if (len < CHUNK / esize * esize)
                break;
        }
    }
    return 0;
}

/* Fetches the records of cands[0..n) (pipelined HGETs) and emits the matching ones. A
 * posting whose last_seen is not the record's is of an older version of the flow (an update
 * since): the newer posting stands for it. */
static int fetch_and_emit(struct walk *w, const struct cand *cands, size_t n)
{
    char key[TW_KEY_LEN], id[17];
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        tw_key_record(key, sizeof(key), w->o->sensor, cands[i].rec_hour, cands[i].flow_id);
        snprintf(id, sizeof(id), "%016" PRIx64, cands[i].flow_id);
        tw_rclient_append(w->c, "HGET %s %s", key, id);
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *e = NULL;
        struct tw_flow_record r;
        if (tw_rclient_get_reply(w->c, &e) != REDIS_OK || e == NULL)
            return redis_failed(w, e, "HGET");
        if (e->type == REDIS_REPLY_STRING && tw_record_from_json(e->str, &r, NULL, 0) < 0)
            f1_invalid(w->o, &cands[i]);
        if (rc == 0 && w->found < w->o->limit && e->type == REDIS_REPLY_STRING &&
            tw_record_from_json(e->str, &r, NULL, 0) == 0 &&
            (r.last_seen_us > r.first_seen_us ? r.last_seen_us : r.first_seen_us) ==
                cands[i].last_seen_us) {
            /* the flow's newest format 1 version; a newer one in format 2 (a newer hour)
             * decided it already. Within format 1 alone this changes nothing: the record
             * is met once, at its own last_seen. */
            int isnew = idset_add(&w->decided, r.flow_id);
            if (isnew < 0) {
                fprintf(stderr, PROG ": out of memory\n");
                w->failed = 1;
                rc = -1;
            } else if (isnew && record_matches(w->o, &r) && emit(w, e->str, &r) < 0) {
                rc = -1;
            }
        }
        /* not a string: expired since the postings were read; not parsed: not ours, or
         * written by a newer version: skipped rather than failing */
        freeReplyObject(e);
    }
    return rc;
}

/* ---- hours in the compact format (control/record/compact.h) ---- */

/* The index a compact hour is read by: its kind, or with eq --equipment's addresses (the
 * postings of both families). */
struct cx_index {
    enum tw_post_kind kind;
    int eq;
};

/* Does a compact posting pass the filter of the index it was read for? */
static int cx_keep(const struct tw_cx_posting *p, void *arg)
{
    const struct cx_index *ix = arg;
    enum tw_post_kind kind = ix->kind;
    uint8_t addr[16] = {0};

    if (ix->eq && (p->kind == TW_POST_NET4 || p->kind == TW_POST_NET6))
        kind = p->kind;
    if (p->kind != kind)
        return 0;
    switch (kind) {
    case TW_POST_PORT: return (p->detail[0] << 8 | p->detail[1]) == f.port;
    case TW_POST_NET4:
    case TW_POST_NET6: {
        unsigned nb = kind == TW_POST_NET4 ? 3 : 8;
        if (p->vlen != nb)
            return 0;
        memcpy(addr, p->value, nb);
        memcpy(addr + nb, p->detail, kind == TW_POST_NET4 ? 1 : 8);
        if (ix->eq)
            return tq_nets_contain(f.eq, f.neq, addr, kind == TW_POST_NET4);
        return tw_cidr_contains(f.ip, (uint8_t)f.ip_bits, addr);
    }
    default: return 1;
    }
}

static int cx_newest_first(const void *pa, const void *pb)
{
    const struct tq_cx_ref *a = pa, *b = pb;
    int c;

    if (a->last_us != b->last_us)
        return a->last_us < b->last_us ? 1 : -1;
    if (a->rec_hour != b->rec_hour)
        return a->rec_hour < b->rec_hour ? 1 : -1;
    if ((c = strcmp(a->block, b->block)) != 0)
        return -c;
    return a->ord < b->ord ? 1 : a->ord > b->ord ? -1 : 0;
}

/* A record version read back, for ordering a page exactly as format 1 prints: of a compact
 * hour (ref), or in a mixed hour also a format 1 record (ref NULL). */
struct cx_row {
    const struct tq_cx_ref *ref;
    uint64_t last_us; /* the posting's */
    struct tw_flow_record r;
    char *json;
    int ok;
};

static int cx_row_order(const void *pa, const void *pb)
{
    const struct cx_row *a = pa, *b = pb;

    if (a->last_us != b->last_us)
        return a->last_us < b->last_us ? 1 : -1;
    if (a->r.flow_id != b->r.flow_id) /* format 1's tie order */
        return a->r.flow_id < b->r.flow_id ? 1 : -1;
    if (a->ref != NULL && b->ref != NULL)
        return cx_newest_first(a->ref, b->ref); /* the later-written version first */
    /* one version in each format with the same last_seen: which was written last is not
     * recorded; a store goes from format 1 to format 2 (the default), so format 2's */
    return (a->ref == NULL) - (b->ref == NULL);
}

/* The compact postings of hour for the filters, newest first (cx_newest_first), each record
 * version once: the index the filters allow (an address, a port, else time). The app index
 * is not used: a flow's app can change between versions, and its older versions would then
 * answer for it; --app filters the records exactly instead. Returns 0 or -1 (said). */
static int cx_refs(struct walk *w, uint64_t hour, int newest, struct tq_cx_ref **refs,
                   size_t *n)
{
    const struct tq_opts *o = w->o;
    uint64_t lo = hour * TW_US_PER_HOUR, hi = newest ? UINT64_MAX : lo + TW_US_PER_HOUR - 1;
    struct cx_index ix = {.kind = TW_POST_TIME};
    enum tw_post_kind kind = TW_POST_TIME;
    unsigned buckets[TW_CX_BUCKETS];
    uint8_t want[TW_CX_BUCKETS] = {0};
    size_t nb = 0, cap = 0;

    *refs = NULL;
    *n = 0;
    if (o->has_since && o->since_us > lo)
        lo = o->since_us;
    if (f.has_ip && f.ip_bits >= (f.ip_v4 ? 24u : 64u)) {
        kind = f.ip_v4 ? TW_POST_NET4 : TW_POST_NET6;
        buckets[nb++] = tw_cx_bucket(kind, f.ip, f.ip_v4 ? 3 : 8);
    } else if (f.has_ip) { /* a shorter prefix: its buckets are anywhere */
        kind = f.ip_v4 ? TW_POST_NET4 : TW_POST_NET6;
        for (unsigned k = 0; k < TW_CX_BUCKETS; k++)
            buckets[nb++] = k;
    } else if (f.eq != NULL) { /* each address's bucket, or every bucket for a short prefix */
        ix.eq = 1;
        kind = TW_POST_NET4;
        for (size_t i = 0; i < f.neq; i++) {
            const struct tq_net *e = &f.eq[i];
            unsigned need = e->v4 ? 24u : 64u;
            if (e->bits < need) {
                memset(want, 1, sizeof(want));
                break;
            }
            want[tw_cx_bucket(e->v4 ? TW_POST_NET4 : TW_POST_NET6, e->addr, e->v4 ? 3 : 8)] = 1;
        }
        for (unsigned k = 0; k < TW_CX_BUCKETS; k++)
            if (want[k])
                buckets[nb++] = k;
    } else if (f.port >= 0) {
        uint16_t bk = tw_port_bucket((uint16_t)f.port);
        uint8_t v[2] = {(uint8_t)(bk >> 8), (uint8_t)bk};
        kind = TW_POST_PORT;
        buckets[nb++] = tw_cx_bucket(kind, v, 2);
    } else {
        buckets[nb++] = tw_cx_bucket(TW_POST_TIME, NULL, 0);
    }
    ix.kind = kind;
    if (tq_cx_postings(w->c, o->sensor, hour, buckets, nb, cx_keep, &ix, lo, hi, refs, n,
                       &cap) < 0)
        return -1;
    if (*n > 1)
        qsort(*refs, *n, sizeof(**refs), cx_newest_first);
    /* one record can be posted twice (both ends in one /24) */
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if (k == 0 || cx_newest_first(&(*refs)[k - 1], &(*refs)[i]) != 0)
            (*refs)[k++] = (*refs)[i];
    *n = k;
    return 0;
}

/* Records per page of a compact or mixed hour: no more than --limit still needs (a block
 * holds 2048 records: reading one is the cost), at least 16. */
static size_t cx_page(const struct walk *w)
{
    uint64_t want = w->o->limit - w->found < TQ_PAGE ? w->o->limit - w->found : TQ_PAGE;

    return want < 16 ? 16 : (size_t)want;
}

/* Emits the rows of one page in order: a flow is decided at its first version met (the
 * newest), matching or not, as format 1's overwritten hash field is. Frees their JSON.
 * Returns 0 or -1. */
static int cx_emit_rows(struct walk *w, struct cx_row *rows, size_t nrows)
{
    int rc = 0;

    qsort(rows, nrows, sizeof(*rows), cx_row_order);
    for (size_t j = 0; j < nrows; j++) {
        struct cx_row *row = &rows[j];
        if (rc == 0 && row->ok && w->found < w->o->limit) {
            int isnew = idset_add(&w->decided, row->r.flow_id);
            if (isnew < 0)
                rc = -1;
            else if (isnew && record_matches(w->o, &row->r) && emit(w, row->json, &row->r) < 0)
                rc = -1;
        }
        free(row->json);
        row->json = NULL;
    }
    return rc;
}

/* Reads the compact record version of ref into row. Returns 0, or -1 (no memory). */
static int cx_row_read(struct tq_cx_cache *cache, const struct tq_cx_ref *ref,
                       struct cx_row *row, const char *sensor)
{
    size_t len;
    const char *text = tq_cx_json(cache, ref, &len);

    memset(row, 0, sizeof(*row));
    row->ref = ref;
    row->last_us = ref->last_us;
    if (text == NULL) /* its block expired or was refused */
        return 0;
    if ((row->json = malloc(len + 1)) == NULL)
        return -1;
    memcpy(row->json, text, len);
    row->json[len] = '\0';
    row->ok = tw_record_from_json(row->json, &row->r, NULL, 0) == 0;
    if (!row->ok) { /* said, not skipped in silence (coverage.h) */
        char key[TW_KEY_LEN], field[64];
        tw_key_cx_blocks(key, sizeof(key), sensor, ref->rec_hour);
        snprintf(field, sizeof(field), "block %s record %u", ref->block, (unsigned)ref->ord);
        tq_warn_invalid(key, field, "not a valid flow record");
    }
    return 0;
}

/* The flows of one compact hour (cx_refs), newest first. Every version of a flow is a record
 * there; the newest (greatest last_seen, then the last written) stands for the flow. */
static int walk_hour_cx(struct walk *w, uint64_t hour, int newest)
{
    const struct tq_opts *o = w->o;
    size_t n = 0;
    struct tq_cx_ref *refs = NULL;
    struct tq_cx_cache *cache = tq_cx_cache_new();
    struct cx_row *rows = NULL;
    int rc = -1;

    if (cache == NULL)
        goto fail;
    if (cx_refs(w, hour, newest, &refs, &n) < 0)
        goto fail;
    if ((rows = calloc(TQ_PAGE + 1, sizeof(*rows))) == NULL && n > 0)
        goto fail;
    for (size_t i = 0; i < n && w->found < o->limit;) {
        /* a page never splits equal last_seen: they are ordered by flow id once read */
        size_t page = cx_page(w), m = i + page < n ? i + page : n, nrows = 0;
        while (m < n && m > i && refs[m].last_us == refs[m - 1].last_us)
            m++;
        if (m - i > TQ_PAGE + 1) { /* a long tie: grow the page */
            struct cx_row *more = realloc(rows, (m - i) * sizeof(*rows));
            if (more == NULL)
                goto fail;
            rows = more;
        }
        if (tq_cx_fetch(w->c, cache, o->sensor, refs + i, m - i) < 0)
            goto fail;
        for (size_t j = i; j < m; j++)
            if (cx_row_read(cache, &refs[j], &rows[nrows++], o->sensor) < 0) {
                while (nrows > 0)
                    free(rows[--nrows].json);
                goto fail;
            }
        if (cx_emit_rows(w, rows, nrows) < 0)
            goto fail;
        i = m;
    }
    rc = 0;
    goto out;
fail:
    w->failed = 1;
out:
    free(rows);
    free(refs);
    tq_cx_cache_free(cache);
    return rc;
}

/* The format 1 postings of hour for the filters, newest first (cand_newest_first), each flow
 * once: from the cheapest index the filters allow (by STRLEN). Returns 0 or -1. */
static int f1_cands(struct walk *w, uint64_t hour, int newest, struct cand **cands, size_t *n)
{
    const struct tq_opts *o = w->o;
    struct plan plans[5], *best = NULL;
    size_t nplans = 0, cap = 0;
    struct idset here = {0};
    uint64_t lo = hour * TW_US_PER_HOUR, hi = newest ? UINT64_MAX : lo + TW_US_PER_HOUR - 1;
    int rc = -1;

    *cands = NULL;
    *n = 0;
    if (o->has_since && o->since_us > lo)
        lo = o->since_us;
    memset(plans, 0, sizeof(plans));
    /* the time index always answers; a filter's index usually answers with less */
    plans[nplans].kind = TW_POST_TIME;
    if (plan_add(&plans[nplans++], hour, o->sensor, NULL) < 0)
        goto out;
    if (f.has_ip && plan_ip(w, hour, &plans[nplans++]) < 0)
        goto out;
    if (equipment_one_family() && plan_equipment(w, hour, &plans[nplans++]) < 0)
        goto out;
    if (f.port >= 0) {
        char v[8];
        snprintf(v, sizeof(v), "%u", tw_port_bucket((uint16_t)f.port));
        plans[nplans].kind = TW_POST_PORT;
        if (plan_add(&plans[nplans++], hour, o->sensor, v) < 0)
            goto out;
    }
    if (f.app[0] != '\0') {
        char parts[TW_APP_PARTS_MAX][TW_APP_LEN];
        int np = tw_app_parts(f.app, sizeof(f.app), parts, TW_APP_PARTS_MAX);
        if (np > 0) {
            /* the last part is the most specific: "google" of "TLS.Google" */
            plans[nplans].kind = TW_POST_APP;
            if (plan_add(&plans[nplans++], hour, o->sensor, parts[np - 1]) < 0)
                goto out;
        }
    }
    for (size_t i = 0; i < nplans; i++) {
        if (plan_size(w, &plans[i]) < 0)
            goto out;
        uint64_t entries = plans[i].bytes / tw_post_entry_size(plans[i].kind);
        if (best == NULL || entries < best->bytes / tw_post_entry_size(best->kind))
            best = &plans[i];
    }
    if (read_plan(w, best, hour, lo, hi, cands, n, &cap) < 0)
        goto out;
    if (*n > 1)
        qsort(*cands, *n, sizeof(**cands), cand_newest_first);
    /* the same flow can be there twice (both ends in one /24, a batch sent again) */
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        int isnew = idset_add(&here, (*cands)[i].flow_id);
        if (isnew < 0) {
            fprintf(stderr, PROG ": out of memory\n");
            w->failed = 1;
            goto out;
        }
        if (isnew)
            (*cands)[k++] = (*cands)[i];
    }
    *n = k;
    rc = 0;
out:
    for (size_t i = 0; i < nplans; i++)
        plan_free(&plans[i]);
    free(here.slots);
    return rc;
}

/* The records of format 1 candidates cands[0..n) (pipelined HGETs) appended to rows as
 * versions: ok when the record is the version the posting names (same last_seen), as
 * fetch_and_emit keeps them. Returns 0 or -1. */
static int f1_rows(struct walk *w, const struct cand *cands, size_t n, struct cx_row *rows,
                   size_t *nrows)
{
    char key[TW_KEY_LEN], id[17];
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        tw_key_record(key, sizeof(key), w->o->sensor, cands[i].rec_hour, cands[i].flow_id);
        snprintf(id, sizeof(id), "%016" PRIx64, cands[i].flow_id);
        tw_rclient_append(w->c, "HGET %s %s", key, id);
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *e = NULL;
        struct cx_row *row = &rows[*nrows];
        if (tw_rclient_get_reply(w->c, &e) != REDIS_OK || e == NULL)
            return redis_failed(w, e, "HGET");
        memset(row, 0, sizeof(*row));
        row->last_us = cands[i].last_seen_us;
        row->r.flow_id = cands[i].flow_id;
        if (e->type == REDIS_REPLY_STRING && tw_record_from_json(e->str, &row->r, NULL, 0) < 0)
            f1_invalid(w->o, &cands[i]);
        if (rc == 0 && e->type == REDIS_REPLY_STRING &&
            tw_record_from_json(e->str, &row->r, NULL, 0) == 0 &&
            (row->r.last_seen_us > row->r.first_seen_us ? row->r.last_seen_us
                                                         : row->r.first_seen_us) ==
                cands[i].last_seen_us) {
            if ((row->json = strdup(e->str)) == NULL)
                rc = -1;
            row->ok = row->json != NULL;
            (*nrows)++;
        }
        freeReplyObject(e);
    }
    return rc;
}

/* An hour written in both formats (redis.format switched mid-hour, or runs of each): both
 * postings merged newest first, a page at a time, and each page's versions ordered and
 * decided as one format's would be (cx_row_order, cx_emit_rows). */
static int walk_hour_mixed(struct walk *w, uint64_t hour, int newest)
{
    const struct tq_opts *o = w->o;
    size_t n1 = 0, n2 = 0, i1 = 0, i2 = 0, rows_cap = 0;
    struct cand *cands = NULL;
    struct tq_cx_ref *refs = NULL;
    struct tq_cx_cache *cache = tq_cx_cache_new();
    struct cx_row *rows = NULL;
    int rc = -1;

    if (cache == NULL || f1_cands(w, hour, newest, &cands, &n1) < 0 ||
        cx_refs(w, hour, newest, &refs, &n2) < 0)
        goto fail;
    while ((i1 < n1 || i2 < n2) && w->found < o->limit) {
        /* the next page of both, by last_seen; a page never splits equal last_seen */
        size_t m1 = i1, m2 = i2, page = cx_page(w), nrows = 0;
        uint64_t last = 0;
        while (m1 + m2 - i1 - i2 < page && (m1 < n1 || m2 < n2)) {
            if (m2 >= n2 || (m1 < n1 && cands[m1].last_seen_us >= refs[m2].last_us))
                last = cands[m1++].last_seen_us;
            else
                last = refs[m2++].last_us;
        }
        while (m1 < n1 && cands[m1].last_seen_us == last)
            m1++;
        while (m2 < n2 && refs[m2].last_us == last)
            m2++;
        if (m1 - i1 + m2 - i2 > rows_cap) {
            struct cx_row *more = realloc(rows, (m1 - i1 + m2 - i2) * sizeof(*rows));
            if (more == NULL)
                goto fail;
            rows = more;
            rows_cap = m1 - i1 + m2 - i2;
        }
        if (f1_rows(w, cands + i1, m1 - i1, rows, &nrows) < 0 ||
            tq_cx_fetch(w->c, cache, o->sensor, refs + i2, m2 - i2) < 0) {
            while (nrows > 0)
                free(rows[--nrows].json);
            goto fail;
        }
        for (size_t j = i2; j < m2; j++)
            if (cx_row_read(cache, &refs[j], &rows[nrows++], o->sensor) < 0) {
                while (nrows > 0)
                    free(rows[--nrows].json);
                goto fail;
            }
        if (cx_emit_rows(w, rows, nrows) < 0)
            goto fail;
        i1 = m1;
        i2 = m2;
    }
    rc = 0;
    goto out;
fail:
    w->failed = 1;
out:
    free(rows);
    free(cands);
    free(refs);
    tq_cx_cache_free(cache);
    return rc;
}

/* The flows of one hour, newest first: flows whose last_seen lies in the hour, or at or after
 * it for the newest hour walked. An hour holds compact data (redis.format 2), format 1's keys,
 * or both (the format switched within the hour): each format is read as it is written. */
static int walk_hour(struct walk *w, uint64_t hour, int newest)
{
    const struct tq_opts *o = w->o;
    size_t k = 0;
    struct cand *cands = NULL;
    char tkey[TW_KEY_LEN];
    int cx = tq_cx_hour_has(w->c, o->sensor, hour);

    if (cx < 0) {
        w->failed = 1;
        return -1;
    }
    if (cx) {
        /* format 1's time postings name every flow of its in the hour */
        redisReply *r;
        long long f1;
        if (tw_key_post(tkey, sizeof(tkey), o->sensor, hour, TW_POST_TIME, NULL) < 0) {
            w->failed = 1;
            return -1;
        }
        r = tw_rclient_command(w->c, "EXISTS %s", tkey);
        if (r == NULL || r->type != REDIS_REPLY_INTEGER)
            return redis_failed(w, r, "EXISTS");
        f1 = r->integer;
        freeReplyObject(r);
        return f1 ? walk_hour_mixed(w, hour, newest) : walk_hour_cx(w, hour, newest);
    }
    if (f1_cands(w, hour, newest, &cands, &k) < 0) {
        free(cands);
        return -1;
    }
    for (size_t i = 0; i < k && w->found < o->limit; i += TQ_PAGE)
        if (fetch_and_emit(w, cands + i, k - i < TQ_PAGE ? k - i : TQ_PAGE) < 0) {
            free(cands);
            return -1;
        }
    free(cands);
    return 0;
}

/* --equipment: the addresses of the equipment in the inventory o's sensor publishes, into f.
 * Returns 0, 1 when that sensor names no such equipment (said when it is the one sensor
 * asked: EXIT_USAGE), or EXIT_REDIS (said). */
static int equipment_nets(struct tw_rclient *c, const struct tq_opts *o,
                          struct tq_inventory *inv)
{
    const struct tq_equipment *e;
    int rc = tq_inventory_read(c, o->sensor, inv);

    if (rc < 0)
        return EXIT_REDIS;
    if (rc == 0 || (e = tq_inventory_find(inv, o->equipment)) == NULL) {
        if (tq_sensors_several(o)) /* another sensor's, perhaps: this one adds nothing
                                    * (fleet_check: unless none has it) */
            return 1;
        if (rc == 0)
            return tq_usage_error("unknown equipment \"%s\": sensor %s publishes no inventory "
                                  "(tw:{%s}:inventory)", o->equipment, o->sensor, o->sensor);
        return tq_usage_error("unknown equipment \"%s\": not in the inventory of sensor %s "
                              "(tapwatch-query equipment lists it)", o->equipment, o->sensor);
    }
    f.eq = e->nets;
    f.neq = e->nnets;
    f.eq_known++;
    return 0;
}

/* Several sensors: a name none of their inventories holds is the one sensor's error. */
static int fleet_check(const struct tq_opts *o)
{
    if (o->equipment[0] != '\0' && f.eq_known == 0)
        return tq_usage_error("unknown equipment \"%s\": in none of the inventories of the "
                              "sensors asked (tapwatch-query equipment lists them)", o->equipment);
    return 0;
}

/* --verify: checks the rows kept (verify_items.h), prints them marked, says those that fail on
 * stderr (*bad of them). Returns 0, or EXIT_REDIS (said). */
static int print_verified(struct tw_rclient *c, const struct tq_opts *o, struct walk *w,
                          size_t *bad)
{
    int rc = tq_vi_check_rows(c, o, &w->vrows);

    if (rc != 0)
        return rc;
    for (size_t i = 0; i < w->nrows && o->format != TQ_TABLE; i++) {
        int ok = tq_vi_ok(&w->vrows, i);
        if (o->format == TQ_JSON)
            tq_vi_json_line(w->vrows.r[i].bytes, ok);
        else
            print_csv(&w->rows[i], ok ? "true" : "false");
    }
    if (o->format == TQ_TABLE)
        tq_vi_table_print(&flow_table, w->rows, w->nrows, &w->vrows);
    *bad = tq_vi_report(&w->vrows);
    return 0;
}

/* The hours of the range, newest first, until --limit flows are printed. */
static int walk_all(struct tw_rclient *c, const struct tq_opts *o)
{
    struct walk w = {.c = c, .o = o};
    char hours_key[TW_KEY_LEN], max[24], min[24];
    redisReply *hours;

    tw_key_hours(hours_key, sizeof(hours_key), o->sensor);
    if (tq_coverage_warn(c, o) < 0) /* gaps and unwatched spans, on stderr */
        return tq_finish(1);
    if (o->has_until)
        snprintf(max, sizeof(max), "%" PRIu64, o->until_us / TW_US_PER_HOUR);
    else
        snprintf(max, sizeof(max), "+inf");
    if (o->has_since)
        snprintf(min, sizeof(min), "%" PRIu64, o->since_us / TW_US_PER_HOUR);
    else
        snprintf(min, sizeof(min), "-inf");
    hours = tw_rclient_command(c, "ZREVRANGEBYSCORE %s %s %s", hours_key, max, min);
    if (hours == NULL || hours->type != REDIS_REPLY_ARRAY)
        return redis_failed(&w, hours, "ZREVRANGEBYSCORE") < 0 ? EXIT_REDIS : 0;

    if (o->format == TQ_CSV)
        csv_header();
    for (size_t i = 0; i < hours->elements && w.found < o->limit && !w.failed; i++) {
        uint64_t h;
        if (hours->element[i]->type != REDIS_REPLY_STRING ||
            tq_parse_uint(hours->element[i]->str, 0, UINT64_MAX / TW_US_PER_HOUR - 1, &h) < 0)
            continue;
        walk_hour(&w, h, i == 0);
    }
    freeReplyObject(hours);
    int rc = 0;
    size_t bad = 0;
    if (!w.failed && tq_vi_wanted()) /* the rows against the chain, then printed marked */
        rc = print_verified(c, o, &w, &bad);
    else if (!w.failed && o->format == TQ_TABLE)
        tq_table_print(&flow_table, w.rows, w.nrows);
    free(w.rows);
    free(w.seen.slots);
    free(w.decided.slots);
    tq_vi_rows_free(&w.vrows);
    if (rc != 0)
        return rc;
    rc = tq_finish(w.failed);
    return rc == 0 && bad > 0 ? TQ_VI_EXIT_UNVERIFIED : rc;
}

static int run(struct tw_rclient *c, const struct tq_opts *o)
{
    struct tq_inventory inv = {0};
    int rc;

    f.eq = NULL;
    f.neq = 0;
    if (o->equipment[0] != '\0' && (rc = equipment_nets(c, o, &inv)) != 0) {
        tq_inventory_free(&inv);
        if (rc != 1)
            return rc;
        if (o->format == TQ_CSV) /* no flow of this sensor: an empty answer */
            csv_header();
        return tq_finish(0);
    }
    rc = walk_all(c, o);
    tq_inventory_free(&inv);
    f.eq = NULL;
    return rc;
}

const struct tq_subcommand tq_cmd_flows = {
    .name = "flows",
    .summary = "flow records by time, address or subnet, port, application",
    .usage =
        "flows options (newest first by last_seen; a flow matches a time range it overlaps):\n"
        "  --since T        from T: 2026-03-02T09:00:00Z, 2026-03-02, +08:00 offsets,\n"
        "                   epoch seconds, or relative -45s -30m -2h -7d\n"
        "  --until T        up to T (same forms)\n"
        "  --ip ADDR|CIDR   either end is ADDR, or inside CIDR (IPv4 or IPv6)\n"
        "  --port N         either end uses port N (1-65535)\n"
        "  --app NAME       nDPI application, e.g. TLS.Google, or one part of it: Google, TLS\n"
        "  --tunnel-id N    the tunnel's id: ERSPAN session, VXLAN/Geneve VNI, GRE key, GTP-U TEID\n"
        "  --country CC     either end is in country CC (ISO 3166 code, e.g. CN; needs geoip)\n"
        "  --asn N          either end is in autonomous system N (needs geoip.asn_db)\n"
        "  --equipment NAME either end is one of the addresses of equipment NAME in the\n"
        "                   inventory the sensor publishes (`equipment` lists it)\n"
        "  --limit N        at most N flows (default " TQ_STR(TQ_DEFAULT_LIMIT) ")\n"
        "  --cursor T       the next page: only flows whose last_seen is at most T (the\n"
        "                   last_seen of the first flow the page before left out)\n"
        "  --format F       table (default), json (one object per line) or csv\n"
        "  --verify --pubkey FILE.pub [--pubkey NEW.pub ...]\n"
        "                   check each flow printed against the sensor's signed chain (as\n"
        "                   verify, reading its whole store): JSON key and CSV column verified\n"
        "                   (true/false), table column VERIFIED (yes/FAILED), one line on\n"
        "                   stderr per flow that fails; exit 3 when one does\n",
    .common = TQ_OPT_SINCE | TQ_OPT_UNTIL | TQ_OPT_LIMIT | TQ_OPT_FORMAT | TQ_OPT_CURSOR |
              TQ_OPT_EQUIPMENT,
    .own = (const struct tq_option[]){{"ip", parse_ip}, {"port", parse_port}, {"app", parse_app},
                                      {"tunnel-id", parse_tunnel_id}, {"country", parse_country},
                                      {"asn", parse_asn}, {"pubkey", tq_vi_opt_pubkey},
                                      {NULL, NULL}},
    .own_flags = (const struct tq_option[]){{"verify", tq_vi_opt_verify}, {NULL, NULL}},
    .check = tq_vi_check,
    .run = run,
    .fleet_check = fleet_check,
};

/* One record in the --format of o, as `flows` prints it (`flow FLOW_ID`, cmd_flow.c). */
void tq_flows_print_one(const struct tq_opts *o, const char *json, const struct tw_flow_record *r)
{
    switch (o->format) {
    case TQ_JSON: tq_json_line(json); break;
    case TQ_CSV:
        tq_csv_header(csv_keys, NCSV);
        print_csv(r, NULL);
        break;
    case TQ_TABLE: tq_table_print(&flow_table, r, 1); break;
    }
}
