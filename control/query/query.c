/* query.c - tapwatch-query: what a regulator runs to read flow records out of Redis.
 *
 *   tapwatch-query [--redis URL] [--sensor NAME] SUBCOMMAND [options]
 *
 * Subcommands are rows of one table (name, what it answers, the options it takes, its run
 * function); `flows` is the one written so far, `alerts` and `summary` have their row and
 * answer "not implemented yet". The tool only reads (ZREVRANGEBYSCORE, GETRANGE, HGET...), so it works
 * with a read-only Redis user.
 *
 * How `flows` finds records (keys in store.h and store_keys.h). Every flow has a posting
 * (last_seen, flow_id, record hour) in the indexes of each hour it spans. Walking the hours that
 * hold flows (the tw:{S}:hours zset) from the newest down, hour h contributes the flows whose
 * last_seen lies inside h, except the newest hour walked, which contributes every flow with
 * last_seen >= h (they overlap the range too). Those ranges do not overlap and go down, so
 * printing hour after hour is newest first and stops as soon as --limit is reached; inside an
 * hour the postings (in arrival order) are sorted by last_seen.
 *
 *   hour:       h0 (newest walked)      h1                 h2 (= hour of --since)
 *   last_seen:  [h0, +inf)              [h1, h1+1h)        [max(since, h2), h2+1h)
 *
 * In each hour the index read is the smallest (by STRLEN) of those the filters allow: the
 * time index, the address buckets an --ip covers (its /24 or /64, or for a shorter prefix the
 * buckets the hour's nets zset lists in that range), the --port key, the --app part key.
 * Postings carry the host byte or port, so most misses are dropped before a record is read;
 * the records fetched are then filtered exactly on every filter.
 *
 * Exit status: 0 answered, 1 Redis unreachable or failing, 2 bad command line.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "dataplane/clock.h"
#include "control/record/alert.h"
#include "control/record/keys.h"
#include "control/record/netmatch.h"
#include "control/record/record_json.h"
#include "control/store/redis_conn.h"
#include "control/record/keys.h"
#include "control/query/timeparse.h"

#define PROG "tapwatch-query"
#define EXIT_REDIS 1
#define EXIT_USAGE 2
#define DEFAULT_LIMIT 100
#define MAX_LIMIT 10000000ULL
#define PAGE 512 /* index members fetched (and records MGET) per round trip */
#define CONNECT_TIMEOUT_MS 3000

enum format { FMT_TABLE, FMT_JSON, FMT_CSV };

struct opts {
    const char *redis_url;
    const char *sensor;
    const char *subcommand;
    int help;
    /* flows */
    int has_since, has_until;
    uint64_t since_us, until_us;
    int has_ip, ip_v4;
    unsigned ip_bits; /* 32 or 128 for an exact address */
    uint8_t ip[16];
    int port; /* -1 = any */
    char app[TW_APP_LEN];
    uint64_t limit;
    enum format format;
    unsigned given; /* OPT_* bits of the subcommand options seen */
    /* alerts, summary */
    char equipment[TW_EQUIPMENT_LEN];
    int kind; /* -1 = any */
    char by;  /* 'h' or 'd' */
};

enum { OPT_SINCE = 1, OPT_UNTIL = 2, OPT_IP = 4, OPT_PORT = 8, OPT_APP = 16, OPT_LIMIT = 32,
       OPT_FORMAT = 64, OPT_EQUIPMENT = 128, OPT_KIND = 256, OPT_BY = 512 };

struct subcommand {
    const char *name;
    const char *summary;
    unsigned options; /* OPT_* it accepts */
    int (*run)(redisContext *c, const struct opts *o);
};

static int run_flows(redisContext *c, const struct opts *o);
static int run_alerts(redisContext *c, const struct opts *o);
static int run_summary(redisContext *c, const struct opts *o);

static const struct subcommand subcommands[] = {
    {"flows", "flow records by time, address or subnet, port, application",
     OPT_SINCE | OPT_UNTIL | OPT_IP | OPT_PORT | OPT_APP | OPT_LIMIT | OPT_FORMAT, run_flows},
    {"alerts", "alerts by time, kind, equipment",
     OPT_SINCE | OPT_UNTIL | OPT_EQUIPMENT | OPT_KIND | OPT_LIMIT | OPT_FORMAT, run_alerts},
    {"summary", "per equipment and hour or day: flows, bytes, packets, top peers and apps, alerts",
     OPT_SINCE | OPT_UNTIL | OPT_EQUIPMENT | OPT_BY | OPT_FORMAT, run_summary},
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " [--redis URL] [--sensor NAME] SUBCOMMAND [options]\n"
            "\n"
            "  --redis URL      unix:///path/redis.sock or redis://host:port (default: $TAPWATCH_REDIS)\n"
            "  --sensor NAME    sensor whose records to read (default: tapwatch)\n"
            "  --help           this text\n"
            "\n"
            "subcommands:\n");
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
    fprintf(f,
            "\n"
            "flows options (newest first by last_seen; a flow matches a time range it overlaps):\n"
            "  --since T        from T: 2026-03-02T09:00:00Z, 2026-03-02, +08:00 offsets,\n"
            "                   epoch seconds, or relative -45s -30m -2h -7d\n"
            "  --until T        up to T (same forms)\n"
            "  --ip ADDR|CIDR   either end is ADDR, or inside CIDR (IPv4 or IPv6)\n"
            "  --port N         either end uses port N (1-65535)\n"
            "  --app NAME       nDPI application, e.g. TLS.Google, or one part of it: Google, TLS\n"
            "  --limit N        at most N flows (default %d)\n"
            "  --format F       table (default), json (one object per line) or csv\n"
            "\n"
            "alerts [--since T] [--until T] [--equipment NAME] [--kind KIND] [--limit N] [--format F]\n"
            "                   newest first; T is the alert's packet time (ts); KIND is one of\n"
            "                   undeclared_destination, remote_access_unapproved_host,\n"
            "                   remote_access_outside_window, remote_access_protocol, upload_volume,\n"
            "                   unclassified_channel, risky_flow\n"
            "summary --equipment NAME [--since T] [--until T] [--by hour|day] [--format F]\n"
            "                   one row per hour or day (default day, UTC) that holds flows or alerts\n"
            "\n"
            "exit status: 0 answered, 1 Redis unreachable or failing, 2 bad command line\n",
            DEFAULT_LIMIT);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see " PROG " --help)\n", stderr);
    return EXIT_USAGE;
}

static int parse_ip(const char *text, struct opts *o)
{
    char addr[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(text, '/');
    size_t n = slash != NULL ? (size_t)(slash - text) : strlen(text);
    unsigned max;

    if (n == 0 || n >= sizeof(addr))
        return usage_error("bad --ip \"%s\": expected an address or a CIDR", text);
    memcpy(addr, text, n);
    addr[n] = '\0';
    memset(o->ip, 0, sizeof(o->ip));
    if (inet_pton(AF_INET, addr, o->ip) == 1)
        o->ip_v4 = 1;
    else if (inet_pton(AF_INET6, addr, o->ip) == 1)
        o->ip_v4 = 0;
    else
        return usage_error("bad --ip \"%s\": not an IPv4 or IPv6 address", text);
    max = o->ip_v4 ? 32 : 128;
    o->ip_bits = max;
    if (slash != NULL) {
        char *end;
        errno = 0;
        unsigned long bits = strtoul(slash + 1, &end, 10);
        if (!isdigit((unsigned char)slash[1]) || *end != '\0' || errno != 0 || bits > max)
            return usage_error("bad --ip \"%s\": prefix length must be 0 to %u", text, max);
        o->ip_bits = (unsigned)bits;
        /* 10.1.2.3/24 means 10.1.2.0/24 */
        for (unsigned i = o->ip_bits; i < max; i++)
            o->ip[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
    }
    o->has_ip = 1;
    return 0;
}

static int parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;

    if (!isdigit((unsigned char)text[0]))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (*end != '\0' || errno != 0 || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int valid_sensor(const char *s)
{
    if (*s == '\0' || strlen(s) >= 64)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
            return 0;
    return 1;
}

/* Parses the whole command line into o. Returns 0, or an exit status after printing one
 * line on stderr. Options may come before or after the subcommand, as "--opt v" or
 * "--opt=v". */
static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct {
        const char *name;
        unsigned bit; /* 0 = global */
    } known[] = {{"redis", 0},        {"sensor", 0},       {"since", OPT_SINCE},
                 {"until", OPT_UNTIL}, {"ip", OPT_IP},     {"port", OPT_PORT},
                 {"app", OPT_APP},     {"limit", OPT_LIMIT}, {"format", OPT_FORMAT},
                 {"equipment", OPT_EQUIPMENT}, {"kind", OPT_KIND}, {"by", OPT_BY}};
    const char *since = NULL, *until = NULL;
    uint64_t now = tw_wall_us(), v;
    char err[256];
    int rc;

    o->sensor = "tapwatch";
    o->redis_url = getenv("TAPWATCH_REDIS");
    if (o->redis_url != NULL && o->redis_url[0] == '\0')
        o->redis_url = NULL;
    o->port = -1;
    o->limit = DEFAULT_LIMIT;
    o->format = FMT_TABLE;
    o->kind = -1;
    o->by = 'd';

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val, *eq;
        char name[32];
        size_t k, nk = sizeof(known) / sizeof(known[0]);

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            o->help = 1;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            if (arg[0] == '-' && arg[1] != '\0')
                return usage_error("unknown option \"%s\"", arg);
            if (o->subcommand != NULL)
                return usage_error("unexpected argument \"%s\"", arg);
            o->subcommand = arg;
            continue;
        }
        eq = strchr(arg, '=');
        snprintf(name, sizeof(name), "%.*s", (int)(eq != NULL ? eq - arg - 2 : (long)strlen(arg + 2)),
                 arg + 2);
        for (k = 0; k < nk && strcmp(known[k].name, name) != 0; k++)
            ;
        if (k == nk)
            return usage_error("unknown option \"%s\"", arg);
        if (eq != NULL) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return usage_error("option --%s needs a value", name);
        }
        o->given |= known[k].bit;
        switch (known[k].bit) {
        case 0:
            if (strcmp(name, "redis") == 0)
                o->redis_url = val;
            else
                o->sensor = val;
            break;
        case OPT_SINCE: since = val; break;
        case OPT_UNTIL: until = val; break;
        case OPT_IP:
            if ((rc = parse_ip(val, o)) != 0)
                return rc;
            break;
        case OPT_PORT:
            if (parse_uint(val, 1, 65535, &v) < 0)
                return usage_error("bad --port \"%s\": expected 1 to 65535", val);
            o->port = (int)v;
            break;
        case OPT_APP:
            if (val[0] == '\0' || strlen(val) >= sizeof(o->app))
                return usage_error("bad --app \"%s\": expected an application name", val);
            snprintf(o->app, sizeof(o->app), "%s", val);
            break;
        case OPT_LIMIT:
            if (parse_uint(val, 1, MAX_LIMIT, &o->limit) < 0)
                return usage_error("bad --limit \"%s\": expected 1 to %llu", val, MAX_LIMIT);
            break;
        case OPT_FORMAT:
            if (strcmp(val, "table") == 0)
                o->format = FMT_TABLE;
            else if (strcmp(val, "json") == 0)
                o->format = FMT_JSON;
            else if (strcmp(val, "csv") == 0)
                o->format = FMT_CSV;
            else
                return usage_error("unknown format \"%s\": use table, json or csv", val);
            break;
        case OPT_EQUIPMENT:
            if (!valid_sensor(val) || strlen(val) >= sizeof(o->equipment))
                return usage_error("bad --equipment \"%s\": expected an equipment name "
                                   "(letters, digits, '_', '.', '-')", val);
            snprintf(o->equipment, sizeof(o->equipment), "%s", val);
            break;
        case OPT_KIND:
            if ((o->kind = tw_alert_kind_from_name(val)) < 0)
                return usage_error("unknown --kind \"%s\": use one of undeclared_destination, "
                                   "remote_access_unapproved_host, remote_access_outside_window, "
                                   "remote_access_protocol, upload_volume, unclassified_channel, "
                                   "risky_flow", val);
            break;
        case OPT_BY:
            if (strcmp(val, "hour") == 0)
                o->by = 'h';
            else if (strcmp(val, "day") == 0)
                o->by = 'd';
            else
                return usage_error("bad --by \"%s\": use hour or day", val);
            break;
        }
    }
    if (since != NULL) {
        if (tw_parse_time(since, now, &o->since_us, err, sizeof(err)) < 0)
            return usage_error("--since: %s", err);
        o->has_since = 1;
    }
    if (until != NULL) {
        if (tw_parse_time(until, now, &o->until_us, err, sizeof(err)) < 0)
            return usage_error("--until: %s", err);
        o->has_until = 1;
    }
    if (o->has_since && o->has_until && o->since_us > o->until_us)
        return usage_error("--since is after --until");
    if (!valid_sensor(o->sensor))
        return usage_error("bad --sensor \"%s\": expected letters, digits, '_', '.', '-'",
                           o->sensor);
    return 0;
}

/* ---- matching ---- */

static int record_matches(const struct opts *o, const struct tw_flow_record *r)
{
    if (o->has_since && r->last_seen_us < o->since_us)
        return 0;
    if (o->has_until && r->first_seen_us > o->until_us)
        return 0;
    if (o->has_ip) {
        if ((r->ip_version == 4) != o->ip_v4)
            return 0;
        if (!tw_cidr_contains(o->ip, (uint8_t)o->ip_bits, r->src_ip) &&
            !tw_cidr_contains(o->ip, (uint8_t)o->ip_bits, r->dst_ip))
            return 0;
    }
    if (o->port >= 0 && r->src_port != o->port && r->dst_port != o->port)
        return 0;
    if (o->app[0] != '\0' && !tw_app_match(o->app, r->app))
        return 0;
    return 1;
}

/* ---- output ---- */

static const char *csv_keys[] = {"flow_id",    "event",       "ip_version", "src_ip",
                                 "src_port",   "dst_ip",      "dst_port",   "ip_proto",
                                 "vlan",       "first_seen",  "last_seen",  "c2s_packets",
                                 "c2s_bytes",  "s2c_packets", "s2c_bytes",  "app",
                                 "category",   "server_name", "risks",      "end_reason",
                                 "tls_version", "ja3c"};

static void csv_field(const char *s, int last)
{
    if (strpbrk(s, ",\"\r\n") != NULL) {
        putchar('"');
        for (; *s; s++) {
            if (*s == '"')
                putchar('"');
            putchar(*s);
        }
        putchar('"');
    } else {
        fputs(s, stdout);
    }
    putchar(last ? '\n' : ',');
}

static void addr_text(const struct tw_flow_record *r, const uint8_t *a, char *out, size_t len)
{
    if (inet_ntop(r->ip_version == 4 ? AF_INET : AF_INET6, a, out, (socklen_t)len) == NULL)
        snprintf(out, len, "?");
}

static void print_csv(const struct tw_flow_record *r)
{
    char v[512], risks[1024] = "";
    size_t rl = 0;

    snprintf(v, sizeof(v), "%016" PRIx64, r->flow_id);
    csv_field(v, 0);
    csv_field(r->event == TW_EVENT_CLASSIFIED ? "classified"
              : r->event == TW_EVENT_UPDATE   ? "update"
                                              : "end",
              0);
#define NUM(x)                                                                                  \
    do {                                                                                        \
        snprintf(v, sizeof(v), "%" PRIu64, (uint64_t)(x));                                      \
        csv_field(v, 0);                                                                        \
    } while (0)
#define TIME(us)                                                                                \
    do {                                                                                        \
        snprintf(v, sizeof(v), "%" PRIu64 ".%06" PRIu64, (us) / 1000000, (us) % 1000000);     \
        csv_field(v, 0);                                                                        \
    } while (0)
    NUM(r->ip_version);
    addr_text(r, r->src_ip, v, sizeof(v));
    csv_field(v, 0);
    NUM(r->src_port);
    addr_text(r, r->dst_ip, v, sizeof(v));
    csv_field(v, 0);
    NUM(r->dst_port);
    NUM(r->ip_proto);
    NUM(r->vlan);
    TIME(r->first_seen_us);
    TIME(r->last_seen_us);
    NUM(r->c2s_packets);
    NUM(r->c2s_bytes);
    NUM(r->s2c_packets);
    NUM(r->s2c_bytes);
    csv_field(r->app, 0);
    csv_field(r->category, 0);
    csv_field(r->server_name, 0);
    for (unsigned bit = 0; bit < 64; bit++) {
        if (!(r->risks & ((uint64_t)1 << bit)))
            continue;
        char num[4];
        const char *name = tw_risk_label(bit, num);
        rl += (size_t)snprintf(risks + rl, sizeof(risks) - rl, "%s%s", rl ? ";" : "", name);
        if (rl >= sizeof(risks))
            rl = sizeof(risks) - 1;
    }
    csv_field(risks, 0);
    csv_field(tw_end_reason_name(r->end_reason), 0);
    NUM(r->tls_version);
    csv_field(r->ja3c, 1);
#undef NUM
#undef TIME
}

/* Table rows are kept until the end so the columns can be sized to their contents. */
enum { C_TIME, C_DUR, C_SRC, C_DST, C_PROTO, C_APP, C_SNI, C_CP, C_CB, C_SP, C_SB, C_END,
       NCOLS };
static const char *col_names[NCOLS] = {"TIME_UTC",  "DURATION",  "SRC",      "DST",
                                       "PROTO",     "APP",       "SERVER_NAME", "C2S_PKTS",
                                       "C2S_BYTES", "S2C_PKTS",  "S2C_BYTES", "END"};
static const int col_right[NCOLS] = {[C_DUR] = 1, [C_CP] = 1, [C_CB] = 1, [C_SP] = 1,
                                     [C_SB] = 1};

struct table {
    struct tw_flow_record *rows;
    size_t n, cap;
};

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

static void cell(const struct tw_flow_record *r, int col, char *out, size_t len)
{
    time_t t = (time_t)(r->first_seen_us / 1000000);
    uint64_t dur = r->last_seen_us > r->first_seen_us ? r->last_seen_us - r->first_seen_us : 0;
    struct tm tm;

    switch (col) {
    case C_TIME:
        gmtime_r(&t, &tm);
        strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm);
        break;
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
    case C_SNI: {
        /* a terminal is no place for control bytes from the wire */
        size_t o = 0;
        for (const char *s = r->server_name; *s && o + 1 < len; s++)
            out[o++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
        out[o] = '\0';
        if (o == 0)
            snprintf(out, len, "-");
        break;
    }
    case C_CP: snprintf(out, len, "%" PRIu64, r->c2s_packets); break;
    case C_CB: snprintf(out, len, "%" PRIu64, r->c2s_bytes); break;
    case C_SP: snprintf(out, len, "%" PRIu64, r->s2c_packets); break;
    case C_SB: snprintf(out, len, "%" PRIu64, r->s2c_bytes); break;
    case C_END:
        snprintf(out, len, "%s", r->event == TW_EVENT_END ? tw_end_reason_name(r->end_reason)
                                                          : "(active)");
        break;
    }
}

/* Display width of UTF-8 text: one column per character (good enough for names). */
static size_t text_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

static void print_table(const struct table *t)
{
    size_t width[NCOLS];
    char text[512];

    for (int c = 0; c < NCOLS; c++)
        width[c] = strlen(col_names[c]);
    for (size_t i = 0; i < t->n; i++)
        for (int c = 0; c < NCOLS; c++) {
            cell(&t->rows[i], c, text, sizeof(text));
            if (text_width(text) > width[c])
                width[c] = text_width(text);
        }
    for (size_t i = 0; i <= t->n; i++) {
        for (int c = 0; c < NCOLS; c++) {
            const char *s = text;
            if (i == 0)
                s = col_names[c];
            else
                cell(&t->rows[i - 1], c, text, sizeof(text));
            size_t pad = width[c] - text_width(s);
            if (col_right[c])
                printf("%*s%s", (int)pad, "", s);
            else if (c == NCOLS - 1)
                fputs(s, stdout);
            else
                printf("%s%*s", s, (int)pad, "");
            fputs(c == NCOLS - 1 ? "\n" : "  ", stdout);
        }
    }
    if (t->n == 0)
        fprintf(stderr, PROG ": no flows match\n");
}

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
    redisContext *c;
    const struct opts *o;
    struct idset seen;
    struct table table;
    uint64_t found;
    int failed;
};

static int redis_failed(struct walk *w, redisReply *reply, const char *what)
{
    if (reply == NULL)
        fprintf(stderr, PROG ": redis: %s: %s\n", what,
                w->c->errstr[0] ? w->c->errstr : "no reply");
    else if (reply->type == REDIS_REPLY_ERROR)
        fprintf(stderr, PROG ": redis: %s: %s\n", what, reply->str);
    else
        fprintf(stderr, PROG ": redis: %s: unexpected reply type %d\n", what, reply->type);
    if (reply != NULL)
        freeReplyObject(reply);
    w->failed = 1;
    return -1;
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
    switch (w->o->format) {
    case FMT_JSON: puts(json); break;
    case FMT_CSV: print_csv(r); break;
    case FMT_TABLE:
        if (w->table.n == w->table.cap) {
            size_t cap = w->table.cap ? w->table.cap * 2 : 256;
            struct tw_flow_record *rows = realloc(w->table.rows, cap * sizeof(*rows));
            if (rows == NULL) {
                fprintf(stderr, PROG ": out of memory\n");
                w->failed = 1;
                return -1;
            }
            w->table.rows = rows;
            w->table.cap = cap;
        }
        w->table.rows[w->table.n++] = *r;
        break;
    }
    w->found++;
    return 0;
}

/* One posting of the hour being walked that passed the time window and the detail filter. */
struct cand {
    uint64_t last_seen_us, flow_id, rec_hour;
};

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

/* The address buckets (/24 or /64 keys) of hour that --ip covers: the bucket of the address
 * when the prefix is at least that long, else the buckets listed in the hour's nets zset. */
static int plan_ip(struct walk *w, uint64_t hour, struct plan *p)
{
    const struct opts *o = w->o;
    unsigned nb = o->ip_v4 ? 3 : 8;
    uint8_t lo[16], hi[16];
    char lo_t[24], hi_t[24], min[32], max[32], key[TW_KEY_LEN];
    redisReply *r;

    p->kind = o->ip_v4 ? TW_POST_NET4 : TW_POST_NET6;
    memcpy(lo, o->ip, 16);
    memcpy(hi, o->ip, 16);
    for (unsigned i = o->ip_bits; i < nb * 8; i++)
        hi[i / 8] |= (uint8_t)(0x80 >> (i % 8));
    hex_text(lo, nb, lo_t);
    hex_text(hi, nb, hi_t);
    if (o->ip_bits >= nb * 8)
        return plan_add(p, hour, o->sensor, lo_t);
    tw_key_nets(key, sizeof(key), o->sensor, hour);
    snprintf(min, sizeof(min), "[%c:%s", o->ip_v4 ? '4' : '6', lo_t);
    snprintf(max, sizeof(max), "[%c:%s", o->ip_v4 ? '4' : '6', hi_t);
    r = redisCommand(w->c, "ZRANGEBYLEX %s %s %s", key, min, max);
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

/* Sizes the keys of a plan with one pipelined round of STRLEN. */
static int plan_size(struct walk *w, struct plan *p)
{
    p->bytes = 0;
    for (size_t i = 0; i < p->n; i++)
        redisAppendCommand(w->c, "STRLEN %s", p->keys[i]);
    for (size_t i = 0; i < p->n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(w->c, (void **)&r) != REDIS_OK || r == NULL ||
            r->type != REDIS_REPLY_INTEGER)
            return redis_failed(w, r, "STRLEN");
        p->bytes += (uint64_t)r->integer;
        freeReplyObject(r);
    }
    return 0;
}

/* Does the detail of a posting pass the filter its kind answers? */
static int detail_matches(const struct opts *o, enum tw_post_kind kind, const char *key,
                          const struct tw_posting *e)
{
    uint8_t addr[16] = {0};
    const char *hex;

    switch (kind) {
    case TW_POST_PORT: return (e->detail[0] << 8 | e->detail[1]) == o->port;
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
        return tw_cidr_contains(o->ip, (uint8_t)o->ip_bits, addr);
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
            redisReply *r = redisCommand(w->c, "GETRANGE %s %lld %lld", p->keys[k], off, end);
            if (r == NULL || r->type != REDIS_REPLY_STRING)
                return redis_failed(w, r, "GETRANGE");
            size_t len = r->len;
            for (size_t i = 0; i + esize <= len; i += esize) {
                struct tw_posting e;
                tw_post_decode(p->kind, (const uint8_t *)r->str + i, &e);
                if (e.last_seen_us < lo || e.last_seen_us > hi || e.back > hour ||
                    !detail_matches(w->o, p->kind, p->keys[k], &e))
                    continue;
                if (*n == *cap) {
                    size_t nc = *cap ? *cap * 2 : 4096;
                    struct cand *c = realloc(*cands, nc * sizeof(*c));
                    if (c == NULL) {
                        freeReplyObject(r);
                        fprintf(stderr, PROG ": out of memory\n");
                        w->failed = 1;
                        return -1;
                    }
                    *cands = c;
                    *cap = nc;
                }
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
        redisAppendCommand(w->c, "HGET %s %s", key, id);
    }
    for (size_t i = 0; i < n; i++) {
        redisReply *e = NULL;
        struct tw_flow_record r;
        if (redisGetReply(w->c, (void **)&e) != REDIS_OK || e == NULL)
            return redis_failed(w, e, "HGET");
        if (rc == 0 && w->found < w->o->limit && e->type == REDIS_REPLY_STRING &&
            tw_record_from_json(e->str, &r, NULL, 0) == 0 &&
            (r.last_seen_us > r.first_seen_us ? r.last_seen_us : r.first_seen_us) ==
                cands[i].last_seen_us &&
            record_matches(w->o, &r) && emit(w, e->str, &r) < 0)
            rc = -1;
        /* not a string: expired since the postings were read; not parsed: not ours, or
         * written by a newer version: skipped rather than failing */
        freeReplyObject(e);
    }
    return rc;
}

/* The flows of one hour, newest first: flows whose last_seen lies in the hour, or at or after
 * it for the newest hour walked. Picks the cheapest index the filters allow. */
static int walk_hour(struct walk *w, uint64_t hour, int newest)
{
    const struct opts *o = w->o;
    struct plan plans[4], *best = NULL;
    size_t nplans = 0, n = 0, cap = 0;
    struct cand *cands = NULL;
    struct idset here = {0};
    uint64_t lo = hour * TW_US_PER_HOUR, hi = newest ? UINT64_MAX : lo + TW_US_PER_HOUR - 1;
    int rc = -1;

    if (o->has_since && o->since_us > lo)
        lo = o->since_us;
    memset(plans, 0, sizeof(plans));
    /* the time index always answers; a filter's index usually answers with less */
    plans[nplans].kind = TW_POST_TIME;
    if (plan_add(&plans[nplans++], hour, o->sensor, NULL) < 0)
        goto out;
    if (o->has_ip && plan_ip(w, hour, &plans[nplans++]) < 0)
        goto out;
    if (o->port >= 0) {
        char v[8];
        snprintf(v, sizeof(v), "%u", tw_port_bucket((uint16_t)o->port));
        plans[nplans].kind = TW_POST_PORT;
        if (plan_add(&plans[nplans++], hour, o->sensor, v) < 0)
            goto out;
    }
    if (o->app[0] != '\0') {
        char parts[TW_APP_PARTS_MAX][TW_APP_LEN];
        int np = tw_app_parts(o->app, sizeof(o->app), parts, TW_APP_PARTS_MAX);
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
    if (read_plan(w, best, hour, lo, hi, &cands, &n, &cap) < 0)
        goto out;
    if (n > 1)
        qsort(cands, n, sizeof(*cands), cand_newest_first);
    /* the same flow can be there twice (both ends in one /24, a batch sent again) */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int isnew = idset_add(&here, cands[i].flow_id);
        if (isnew < 0) {
            fprintf(stderr, PROG ": out of memory\n");
            w->failed = 1;
            goto out;
        }
        if (isnew)
            cands[k++] = cands[i];
    }
    for (size_t i = 0; i < k && w->found < o->limit; i += PAGE)
        if (fetch_and_emit(w, cands + i, k - i < PAGE ? k - i : PAGE) < 0)
            goto out;
    rc = 0;
out:
    for (size_t i = 0; i < nplans; i++)
        plan_free(&plans[i]);
    free(here.slots);
    free(cands);
    return rc;
}

static int run_flows(redisContext *c, const struct opts *o)
{
    struct walk w = {.c = c, .o = o};
    char hours_key[TW_KEY_LEN], max[24], min[24];
    redisReply *hours;

    tw_key_hours(hours_key, sizeof(hours_key), o->sensor);
    if (o->has_until)
        snprintf(max, sizeof(max), "%" PRIu64, o->until_us / TW_US_PER_HOUR);
    else
        snprintf(max, sizeof(max), "+inf");
    if (o->has_since)
        snprintf(min, sizeof(min), "%" PRIu64, o->since_us / TW_US_PER_HOUR);
    else
        snprintf(min, sizeof(min), "-inf");
    hours = redisCommand(c, "ZREVRANGEBYSCORE %s %s %s", hours_key, max, min);
    if (hours == NULL || hours->type != REDIS_REPLY_ARRAY)
        return redis_failed(&w, hours, "ZREVRANGEBYSCORE") < 0 ? EXIT_REDIS : 0;

    if (o->format == FMT_CSV)
        for (size_t i = 0; i < sizeof(csv_keys) / sizeof(csv_keys[0]); i++)
            csv_field(csv_keys[i], i + 1 == sizeof(csv_keys) / sizeof(csv_keys[0]));
    for (size_t i = 0; i < hours->elements && w.found < o->limit && !w.failed; i++) {
        uint64_t h;
        if (hours->element[i]->type != REDIS_REPLY_STRING ||
            parse_uint(hours->element[i]->str, 0, UINT64_MAX / TW_US_PER_HOUR - 1, &h) < 0)
            continue;
        walk_hour(&w, h, i == 0);
    }
    freeReplyObject(hours);
    if (!w.failed && o->format == FMT_TABLE)
        print_table(&w.table);
    free(w.table.rows);
    free(w.seen.slots);
    if (fflush(stdout) != 0 && !w.failed) {
        fprintf(stderr, PROG ": cannot write the answer: %s\n", strerror(errno));
        return EXIT_REDIS;
    }
    return w.failed ? EXIT_REDIS : 0;
}

/* ---- alerts and summaries (keys in alerts.h) ----
 *
 * alerts: the stream tw:{S}:alerts is read newest first, with XREVRANGE in pages when no time
 * range is given, else only the entries the time index (alerts:t:<hour>, by ts) names in the
 * range, sorted newest first by stream ID; every entry is filtered on its packet time (ts),
 * equipment and kind, so both ways give the same answer. summary: the equipment's bucket set
 * (hours or days) gives the buckets in range; each is one HGETALL and the top 5 of its peers
 * and apps. */

#define TOP_N 5

static void utc_text(uint64_t us, int with_time, char *out, size_t len)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, len, with_time ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d", &tm);
}

static const char *alert_csv_keys[] = {"kind",     "severity", "equipment", "vendor",
                                       "ts",       "src_ip",   "src_port",  "dst_ip",
                                       "dst_port", "ip_proto", "app",       "server_name",
                                       "detail",   "flow_id",  "flow_key"};
#define N_ALERT_KEYS (sizeof(alert_csv_keys) / sizeof(alert_csv_keys[0]))

static void alert_endpoint(const struct tw_alert *a, const uint8_t *ip, uint16_t port, char *out,
                           size_t len)
{
    char t[INET6_ADDRSTRLEN];

    if (inet_ntop(a->ip_version == 4 ? AF_INET : AF_INET6, ip, t, sizeof(t)) == NULL)
        snprintf(t, sizeof(t), "?");
    snprintf(out, len, a->ip_version == 4 ? "%s:%u" : "[%s]:%u", t, port);
}

/* One alert's text for column or CSV key i. */
static void alert_value(const struct tw_alert *a, const char *sensor, const char *key, char *out,
                        size_t len)
{
    char ip[INET6_ADDRSTRLEN];
    int v4 = a->ip_version == 4;

    if (strcmp(key, "kind") == 0) snprintf(out, len, "%s", tw_alert_kind_name(a->kind));
    else if (strcmp(key, "severity") == 0) snprintf(out, len, "%s", tw_severity_name(a->severity));
    else if (strcmp(key, "equipment") == 0) snprintf(out, len, "%s", a->equipment);
    else if (strcmp(key, "vendor") == 0) snprintf(out, len, "%s", a->vendor);
    else if (strcmp(key, "ts") == 0)
        snprintf(out, len, "%" PRIu64 ".%06" PRIu64, a->ts_us / 1000000, a->ts_us % 1000000);
    else if (strcmp(key, "src_ip") == 0 || strcmp(key, "dst_ip") == 0) {
        if (inet_ntop(v4 ? AF_INET : AF_INET6, key[0] == 's' ? a->src_ip : a->dst_ip, ip,
                      sizeof(ip)) == NULL)
            snprintf(ip, sizeof(ip), "?");
        snprintf(out, len, "%s", ip);
    } else if (strcmp(key, "src_port") == 0) snprintf(out, len, "%u", a->src_port);
    else if (strcmp(key, "dst_port") == 0) snprintf(out, len, "%u", a->dst_port);
    else if (strcmp(key, "ip_proto") == 0) snprintf(out, len, "%u", a->ip_proto);
    else if (strcmp(key, "app") == 0) snprintf(out, len, "%s", a->app);
    else if (strcmp(key, "server_name") == 0) snprintf(out, len, "%s", a->server_name);
    else if (strcmp(key, "detail") == 0) snprintf(out, len, "%s", a->detail);
    else if (strcmp(key, "flow_id") == 0) snprintf(out, len, "%016" PRIx64, a->flow_id);
    else if (strcmp(key, "flow_key") == 0) {
        if (a->record_hour == TW_HOUR_UNKNOWN ||
            tw_key_record(out, len, sensor, a->record_hour, a->flow_id) < 0)
            out[0] = '\0';
    } else
        out[0] = '\0';
    /* a terminal or a CSV reader is no place for control bytes from the wire */
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

static void print_alert_table(const struct tw_alert *rows, size_t n)
{
    static const char *cols[] = {"TIME_UTC", "KIND", "SEVERITY", "EQUIPMENT", "SRC", "DST",
                                 "APP", "DETAIL"};
    enum { NC = 8 };
    size_t width[NC];
    char text[512];

    for (int c = 0; c < NC; c++)
        width[c] = strlen(cols[c]);
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            for (int c = 0; c < NC; c++)
                printf("%-*s%s", c == NC - 1 ? 0 : (int)width[c], cols[c], c == NC - 1 ? "\n" : "  ");
        for (size_t i = 0; i < n; i++) {
            const struct tw_alert *a = &rows[i];
            for (int c = 0; c < NC; c++) {
                switch (c) {
                case 0: utc_text(a->ts_us, 1, text, sizeof(text)); break;
                case 1: alert_value(a, "", "kind", text, sizeof(text)); break;
                case 2: alert_value(a, "", "severity", text, sizeof(text)); break;
                case 3: alert_value(a, "", "equipment", text, sizeof(text)); break;
                case 4: alert_endpoint(a, a->src_ip, a->src_port, text, sizeof(text)); break;
                case 5: alert_endpoint(a, a->dst_ip, a->dst_port, text, sizeof(text)); break;
                case 6: alert_value(a, "", "app", text, sizeof(text)); break;
                default: alert_value(a, "", "detail", text, sizeof(text)); break;
                }
                if (text[0] == '\0')
                    snprintf(text, sizeof(text), "-");
                if (pass == 0) {
                    if (text_width(text) > width[c])
                        width[c] = text_width(text);
                } else if (c == NC - 1) {
                    printf("%s\n", text);
                } else {
                    printf("%s%*s  ", text, (int)(width[c] - text_width(text)), "");
                }
            }
        }
    }
    if (n == 0)
        fprintf(stderr, PROG ": no alerts match\n");
}

static int reply_failed(redisContext *c, redisReply *r, const char *what)
{
    fprintf(stderr, PROG ": redis: %s: %s\n", what,
            r == NULL ? (c->errstr[0] ? c->errstr : "no reply")
            : r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    if (r)
        freeReplyObject(r);
    return -1;
}

/* What run_alerts keeps while it reads stream entries. */
struct alert_out {
    const struct opts *o;
    struct tw_alert *rows; /* table: printed at the end, columns sized to fit */
    size_t nrows, cap;
    uint64_t found;
    int failed;
};

/* One stream entry (the reply [id, [field, value, ...]]): parsed, filtered on ts, equipment
 * and kind, then printed (json, csv) or kept (table). */
static void alert_entry(struct alert_out *w, const redisReply *e)
{
    const struct opts *o = w->o;
    char err[256], json[4096], text[512];
    const char *f[64], *v[64];
    size_t nf = 0;
    struct tw_alert a;

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
        return;
    redisReply *fv = e->element[1];
    for (size_t j = 0; j + 1 < fv->elements && nf < 64; j += 2) {
        if (fv->element[j]->type != REDIS_REPLY_STRING ||
            fv->element[j + 1]->type != REDIS_REPLY_STRING)
            continue;
        f[nf] = fv->element[j]->str;
        v[nf++] = fv->element[j + 1]->str;
    }
    if (tw_alert_from_fields(&a, f, v, nf, err, sizeof(err)) < 0)
        return; /* not ours, or from a newer version: skip rather than fail */
    if ((o->has_since && a.ts_us < o->since_us) || (o->has_until && a.ts_us > o->until_us) ||
        (o->equipment[0] && strcmp(o->equipment, a.equipment) != 0) ||
        (o->kind >= 0 && a.kind != o->kind))
        return;
    w->found++;
    if (o->format == FMT_JSON) {
        if (tw_alert_to_json(&a, o->sensor, json, sizeof(json)) > 0)
            puts(json);
    } else if (o->format == FMT_CSV) {
        for (size_t k = 0; k < N_ALERT_KEYS; k++) {
            alert_value(&a, o->sensor, alert_csv_keys[k], text, sizeof(text));
            csv_field(text, k + 1 == N_ALERT_KEYS);
        }
    } else {
        if (w->nrows == w->cap) {
            size_t nc = w->cap ? w->cap * 2 : 256;
            struct tw_alert *nr = realloc(w->rows, nc * sizeof(*nr));
            if (nr == NULL) {
                fprintf(stderr, PROG ": out of memory\n");
                w->failed = 1;
                return;
            }
            w->rows = nr;
            w->cap = nc;
        }
        w->rows[w->nrows++] = a;
    }
}

/* The whole stream, newest first, in pages, until --limit alerts matched. */
static void alerts_scan(redisContext *c, const char *key, struct alert_out *w)
{
    char end[64] = "+";

    while (w->found < w->o->limit && !w->failed) {
        redisReply *r = redisCommand(c, "XREVRANGE %s %s - COUNT %d", key, end, PAGE);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            reply_failed(c, r, "XREVRANGE");
            w->failed = 1;
            break;
        }
        size_t n = r->elements;
        for (size_t i = 0; i < n && w->found < w->o->limit && !w->failed; i++) {
            redisReply *e = r->element[i];
            if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
                e->element[0]->type == REDIS_REPLY_STRING)
                snprintf(end, sizeof(end), "(%s", e->element[0]->str);
            alert_entry(w, e);
        }
        freeReplyObject(r);
        if (n < PAGE)
            break;
    }
}

struct stream_id {
    uint64_t ms, seq;
};

static int stream_id_newest_first(const void *pa, const void *pb)
{
    const struct stream_id *a = pa, *b = pb;

    if (a->ms != b->ms)
        return a->ms < b->ms ? 1 : -1;
    return a->seq < b->seq ? 1 : a->seq > b->seq ? -1 : 0;
}

/* With --since or --until: the IDs of the alerts whose ts is in range come from the time
 * index (alerts:hours, then alerts:t:<hour> by score = ts); they are read newest first in
 * stream order, as alerts_scan would, so the answer is the same, without reading the stream
 * outside the range. Returns 0, 1 when the sensor has no time index (written before it
 * existed: scan instead), or -1 (failed, said). */
static int alerts_by_time(redisContext *c, const char *key, struct alert_out *w)
{
    const struct opts *o = w->o;
    char hkey[TW_KEY_LEN], tkey[TW_KEY_LEN], lo[24] = "-inf", hi[24] = "+inf", hlo[24] = "-inf",
        hhi[24] = "+inf", id[64];
    struct stream_id *ids = NULL;
    size_t nids = 0, cap = 0;
    redisReply *r, *hours = NULL;
    int rc = -1;

    tw_key_alerts_hours(hkey, sizeof(hkey), o->sensor);
    if ((r = redisCommand(c, "EXISTS %s", hkey)) == NULL || r->type != REDIS_REPLY_INTEGER)
        return reply_failed(c, r, "EXISTS");
    int exists = r->integer != 0;
    freeReplyObject(r);
    if (!exists)
        return 1;
    if (o->has_since) {
        snprintf(lo, sizeof(lo), "%" PRIu64, o->since_us);
        snprintf(hlo, sizeof(hlo), "%" PRIu64, o->since_us / TW_US_PER_HOUR);
    }
    if (o->has_until) {
        snprintf(hi, sizeof(hi), "%" PRIu64, o->until_us);
        snprintf(hhi, sizeof(hhi), "%" PRIu64, o->until_us / TW_US_PER_HOUR);
    }
    hours = redisCommand(c, "ZRANGEBYSCORE %s %s %s", hkey, hlo, hhi);
    if (hours == NULL || hours->type != REDIS_REPLY_ARRAY) {
        reply_failed(c, hours, "ZRANGEBYSCORE");
        return -1;
    }
    size_t nh = 0;
    for (size_t i = 0; i < hours->elements; i++) {
        uint64_t h;
        if (hours->element[i]->type != REDIS_REPLY_STRING ||
            parse_uint(hours->element[i]->str, 0, UINT64_MAX, &h) < 0 ||
            tw_key_alerts_time(tkey, sizeof(tkey), o->sensor, h) < 0)
            continue;
        if (redisAppendCommand(c, "ZRANGEBYSCORE %s %s %s", tkey, lo, hi) != REDIS_OK) {
            fprintf(stderr, PROG ": out of memory\n");
            goto out;
        }
        nh++;
    }
    for (size_t i = 0; i < nh; i++) {
        if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL || r->type != REDIS_REPLY_ARRAY) {
            reply_failed(c, r, "ZRANGEBYSCORE");
            goto out; /* the connection is not reused after a failure */
        }
        for (size_t j = 0; j < r->elements; j++) {
            struct stream_id s;
            char *dash;
            if (r->element[j]->type != REDIS_REPLY_STRING)
                continue;
            s.ms = strtoull(r->element[j]->str, &dash, 10);
            if (*dash != '-')
                continue;
            s.seq = strtoull(dash + 1, NULL, 10);
            if (nids == cap) {
                size_t nc = cap ? cap * 2 : 1024;
                struct stream_id *ni = realloc(ids, nc * sizeof(*ni));
                if (ni == NULL) {
                    fprintf(stderr, PROG ": out of memory\n");
                    freeReplyObject(r);
                    goto out;
                }
                ids = ni;
                cap = nc;
            }
            ids[nids++] = s;
        }
        freeReplyObject(r);
    }
    if (nids > 1) {
        qsort(ids, nids, sizeof(ids[0]), stream_id_newest_first);
        size_t u = 1;
        for (size_t i = 1; i < nids; i++)
            if (ids[i].ms != ids[u - 1].ms || ids[i].seq != ids[u - 1].seq)
                ids[u++] = ids[i];
        nids = u;
    }
    /* XRANGE id id per alert, PAGE per round trip; an ID the stream no longer holds (trimmed)
     * answers nothing */
    for (size_t start = 0; start < nids && w->found < o->limit && !w->failed; start += PAGE) {
        size_t end = start + PAGE < nids ? start + PAGE : nids;
        for (size_t i = start; i < end; i++) {
            snprintf(id, sizeof(id), "%" PRIu64 "-%" PRIu64, ids[i].ms, ids[i].seq);
            if (redisAppendCommand(c, "XRANGE %s %s %s", key, id, id) != REDIS_OK) {
                fprintf(stderr, PROG ": out of memory\n");
                goto out;
            }
        }
        for (size_t i = start; i < end; i++) {
            if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL ||
                r->type != REDIS_REPLY_ARRAY) {
                reply_failed(c, r, "XRANGE");
                goto out;
            }
            if (r->elements == 1 && w->found < o->limit && !w->failed)
                alert_entry(w, r->element[0]);
            freeReplyObject(r);
        }
    }
    rc = 0;
out:
    if (hours)
        freeReplyObject(hours);
    free(ids);
    return rc;
}

static int run_alerts(redisContext *c, const struct opts *o)
{
    char key[TW_KEY_LEN];
    struct alert_out w = {.o = o};

    tw_key_alerts(key, sizeof(key), o->sensor);
    if (o->format == FMT_CSV)
        for (size_t i = 0; i < N_ALERT_KEYS; i++)
            csv_field(alert_csv_keys[i], i + 1 == N_ALERT_KEYS);
    if (o->has_since || o->has_until) {
        int rc = alerts_by_time(c, key, &w);
        if (rc < 0)
            w.failed = 1;
        else if (rc > 0)
            alerts_scan(c, key, &w);
    } else {
        alerts_scan(c, key, &w);
    }
    if (!w.failed && o->format == FMT_TABLE)
        print_alert_table(w.rows, w.nrows);
    free(w.rows);
    if (fflush(stdout) != 0 && !w.failed) {
        fprintf(stderr, PROG ": cannot write the answer: %s\n", strerror(errno));
        return EXIT_REDIS;
    }
    return w.failed ? EXIT_REDIS : 0;
}

struct bucket_sum {
    uint64_t bucket;
    uint64_t flows, bytes_out, bytes_in, packets_out, packets_in;
    uint64_t alerts[TW_ALERT__COUNT];
    char peers[TOP_N][48];
    uint64_t peer_bytes[TOP_N];
    size_t npeers;
    char apps[TOP_N][TW_APP_LEN];
    uint64_t app_bytes[TOP_N];
    size_t napps;
};

static int read_top(redisContext *c, const char *key, char names[][TW_APP_LEN > 48 ? TW_APP_LEN : 48],
                    size_t namelen, uint64_t *scores, size_t *n)
{
    redisReply *r = redisCommand(c, "ZREVRANGE %s 0 %d WITHSCORES", key, TOP_N - 1);

    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return reply_failed(c, r, "ZREVRANGE");
    *n = 0;
    for (size_t i = 0; i + 1 < r->elements && *n < TOP_N; i += 2) {
        if (r->element[i]->type != REDIS_REPLY_STRING || r->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        snprintf(names[*n], namelen, "%s", r->element[i]->str);
        scores[*n] = strtoull(r->element[i + 1]->str, NULL, 10);
        (*n)++;
    }
    freeReplyObject(r);
    return 0;
}

static int read_bucket(redisContext *c, const struct opts *o, uint64_t b, struct bucket_sum *s)
{
    char key[TW_KEY_LEN], names[TOP_N][TW_APP_LEN > 48 ? TW_APP_LEN : 48];
    redisReply *r;

    memset(s, 0, sizeof(*s));
    s->bucket = b;
    tw_key_summary(key, sizeof(key), o->sensor, o->equipment, o->by, b, NULL);
    r = redisCommand(c, "HGETALL %s", key);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return reply_failed(c, r, "HGETALL");
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *f = r->element[i]->str, *v = r->element[i + 1]->str;
        uint64_t n;
        if (f == NULL || v == NULL || parse_uint(v, 0, UINT64_MAX, &n) < 0)
            continue;
        if (strcmp(f, "flows") == 0) s->flows = n;
        else if (strcmp(f, "bytes_out") == 0) s->bytes_out = n;
        else if (strcmp(f, "bytes_in") == 0) s->bytes_in = n;
        else if (strcmp(f, "packets_out") == 0) s->packets_out = n;
        else if (strcmp(f, "packets_in") == 0) s->packets_in = n;
        else if (strncmp(f, "alerts:", 7) == 0) {
            int k = tw_alert_kind_from_name(f + 7);
            if (k >= 0)
                s->alerts[k] = n;
        }
    }
    freeReplyObject(r);
    tw_key_summary(key, sizeof(key), o->sensor, o->equipment, o->by, b, "peers");
    if (read_top(c, key, names, sizeof(s->peers[0]), s->peer_bytes, &s->npeers) < 0)
        return -1;
    for (size_t i = 0; i < s->npeers; i++)
        snprintf(s->peers[i], sizeof(s->peers[i]), "%s", names[i]);
    tw_key_summary(key, sizeof(key), o->sensor, o->equipment, o->by, b, "apps");
    if (read_top(c, key, names, sizeof(s->apps[0]), s->app_bytes, &s->napps) < 0)
        return -1;
    for (size_t i = 0; i < s->napps; i++)
        snprintf(s->apps[i], sizeof(s->apps[i]), "%s", names[i]);
    return 0;
}

static void bucket_label(const struct opts *o, uint64_t b, char *out, size_t len)
{
    time_t t = (time_t)(b * (o->by == 'h' ? 3600 : 86400));
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, len, o->by == 'h' ? "%Y-%m-%dT%H:00Z" : "%Y-%m-%d", &tm);
}

/* "a=1;b=2" for CSV and the table; top lists and alert counts */
static void join_top(char names[][48], const uint64_t *v, size_t n, char *out, size_t len)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(out + o, len - o, "%s%s=%" PRIu64, i ? ";" : "", names[i], v[i]);
}

static void summary_texts(const struct bucket_sum *s, char *peers, char *apps, char *alerts,
                          size_t len)
{
    char names[TOP_N][48];
    size_t o = 0;

    for (size_t i = 0; i < s->npeers; i++)
        snprintf(names[i], sizeof(names[i]), "%s", s->peers[i]);
    join_top(names, s->peer_bytes, s->npeers, peers, len);
    for (size_t i = 0; i < s->napps; i++)
        snprintf(names[i], sizeof(names[i]), "%.47s", s->apps[i]);
    join_top(names, s->app_bytes, s->napps, apps, len);
    alerts[0] = '\0';
    for (unsigned k = 0; k < TW_ALERT__COUNT && o < len; k++)
        if (s->alerts[k])
            o += (size_t)snprintf(alerts + o, len - o, "%s%s=%" PRIu64, o ? ";" : "",
                                  tw_alert_kind_name(k), s->alerts[k]);
}

static void print_summary_json(const struct opts *o, const struct bucket_sum *s)
{
    json_object *j = json_object_new_object(), *a;
    char label[32];

    bucket_label(o, s->bucket, label, sizeof(label));
    json_object_object_add(j, "equipment", json_object_new_string(o->equipment));
    json_object_object_add(j, "by", json_object_new_string(o->by == 'h' ? "hour" : "day"));
    json_object_object_add(j, "bucket", json_object_new_string(label));
    json_object_object_add(j, "start", json_object_new_int64((int64_t)(s->bucket * (o->by == 'h' ? 3600 : 86400))));
    json_object_object_add(j, "flows", json_object_new_uint64(s->flows));
    json_object_object_add(j, "bytes_out", json_object_new_uint64(s->bytes_out));
    json_object_object_add(j, "bytes_in", json_object_new_uint64(s->bytes_in));
    json_object_object_add(j, "packets_out", json_object_new_uint64(s->packets_out));
    json_object_object_add(j, "packets_in", json_object_new_uint64(s->packets_in));
    a = json_object_new_array();
    for (size_t i = 0; i < s->npeers; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "peer", json_object_new_string(s->peers[i]));
        json_object_object_add(e, "bytes", json_object_new_uint64(s->peer_bytes[i]));
        json_object_array_add(a, e);
    }
    json_object_object_add(j, "top_peers", a);
    a = json_object_new_array();
    for (size_t i = 0; i < s->napps; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "app", json_object_new_string(s->apps[i]));
        json_object_object_add(e, "bytes", json_object_new_uint64(s->app_bytes[i]));
        json_object_array_add(a, e);
    }
    json_object_object_add(j, "top_apps", a);
    a = json_object_new_object();
    for (unsigned k = 0; k < TW_ALERT__COUNT; k++)
        json_object_object_add(a, tw_alert_kind_name(k), json_object_new_uint64(s->alerts[k]));
    json_object_object_add(j, "alerts", a);
    puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
}

static int run_summary(redisContext *c, const struct opts *o)
{
    static const char *keys[] = {"equipment", "by", "bucket", "flows", "bytes_out", "bytes_in",
                                 "packets_out", "packets_in", "top_peers", "top_apps", "alerts"};
    uint64_t unit = o->by == 'h' ? TW_US_PER_HOUR : TW_US_PER_HOUR * 24;
    char key[TW_KEY_LEN], min[24], max[24], label[32], num[24];
    char peers[512], apps[512], alerts[512];
    redisReply *bk;
    int failed = 0;

    tw_key_summary_buckets(key, sizeof(key), o->sensor, o->equipment, o->by);
    snprintf(min, sizeof(min), o->has_since ? "%" PRIu64 : "-inf", o->since_us / unit);
    if (o->has_until)
        snprintf(max, sizeof(max), "%" PRIu64, o->until_us / unit);
    else
        snprintf(max, sizeof(max), "+inf");
    if (!o->has_since)
        snprintf(min, sizeof(min), "-inf");
    bk = redisCommand(c, "ZRANGEBYSCORE %s %s %s", key, min, max);
    if (bk == NULL || bk->type != REDIS_REPLY_ARRAY)
        return reply_failed(c, bk, "ZRANGEBYSCORE") < 0 ? EXIT_REDIS : 0;
    if (o->format == FMT_CSV)
        for (size_t i = 0; i < 11; i++)
            csv_field(keys[i], i == 10);
    if (o->format == FMT_TABLE)
        printf("%-17s %8s %14s %14s %11s %11s  %s\n", o->by == 'h' ? "HOUR_UTC" : "DAY_UTC", "FLOWS",
               "BYTES_OUT", "BYTES_IN", "PKTS_OUT", "PKTS_IN", "TOP_PEERS / TOP_APPS / ALERTS");
    for (size_t i = 0; i < bk->elements && !failed; i++) {
        struct bucket_sum s;
        uint64_t b;
        if (bk->element[i]->type != REDIS_REPLY_STRING ||
            parse_uint(bk->element[i]->str, 0, UINT64_MAX / 3600, &b) < 0)
            continue;
        if (read_bucket(c, o, b, &s) < 0) {
            failed = 1;
            break;
        }
        bucket_label(o, b, label, sizeof(label));
        summary_texts(&s, peers, apps, alerts, sizeof(peers));
        switch (o->format) {
        case FMT_JSON: print_summary_json(o, &s); break;
        case FMT_CSV: {
            uint64_t v[5] = {s.flows, s.bytes_out, s.bytes_in, s.packets_out, s.packets_in};
            csv_field(o->equipment, 0);
            csv_field(o->by == 'h' ? "hour" : "day", 0);
            csv_field(label, 0);
            for (int k = 0; k < 5; k++) {
                snprintf(num, sizeof(num), "%" PRIu64, v[k]);
                csv_field(num, 0);
            }
            csv_field(peers, 0);
            csv_field(apps, 0);
            csv_field(alerts, 1);
            break;
        }
        case FMT_TABLE:
            printf("%-17s %8" PRIu64 " %14" PRIu64 " %14" PRIu64 " %11" PRIu64 " %11" PRIu64
                   "  %s / %s / %s\n", label, s.flows, s.bytes_out, s.bytes_in, s.packets_out,
                   s.packets_in, peers[0] ? peers : "-", apps[0] ? apps : "-",
                   alerts[0] ? alerts : "-");
            break;
        }
    }
    if (!failed && bk->elements == 0 && o->format == FMT_TABLE)
        fprintf(stderr, PROG ": no summary for %s in that range\n", o->equipment);
    freeReplyObject(bk);
    if (fflush(stdout) != 0 && !failed) {
        fprintf(stderr, PROG ": cannot write the answer: %s\n", strerror(errno));
        return EXIT_REDIS;
    }
    return failed ? EXIT_REDIS : 0;
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    const struct subcommand *sub = NULL;
    struct tw_redis_url url;
    redisContext *c;
    char err[512];
    int rc;

    if ((rc = parse_args(argc, argv, &o)) != 0)
        return rc;
    if (o.help) {
        usage(stdout);
        return 0;
    }
    if (o.subcommand == NULL)
        return usage_error("no subcommand: use flows");
    for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
        if (strcmp(subcommands[i].name, o.subcommand) == 0)
            sub = &subcommands[i];
    if (sub == NULL)
        return usage_error("unknown subcommand \"%s\"", o.subcommand);
    if (sub->run == NULL)
        return usage_error("%s: not implemented yet", sub->name);
    if (o.given & ~sub->options)
        return usage_error("%s does not take one of the options given", sub->name);
    if (sub->run == run_summary && o.equipment[0] == '\0')
        return usage_error("summary needs --equipment NAME");
    if (o.redis_url == NULL)
        return usage_error("no Redis named: use --redis URL");
    if (tw_redis_parse_url(o.redis_url, &url, err, sizeof(err)) < 0)
        return usage_error("%s", err);

    c = tw_redis_connect(&url, CONNECT_TIMEOUT_MS, err, sizeof(err));
    if (c == NULL) {
        fprintf(stderr, PROG ": %s\n", err);
        return EXIT_REDIS;
    }
    rc = sub->run(c, &o);
    redisFree(c);
    return rc;
}
