/* query.c - tapwatch-query: what a regulator runs to read flow records out of Redis.
 *
 *   tapwatch-query [--redis URL] [--sensor NAME] SUBCOMMAND [options]
 *
 * Subcommands are rows of one table (name, what it answers, the options it takes, its run
 * function); `flows` is the one written so far, `alerts` and `summary` have their row and
 * answer "not implemented yet". The tool only reads (ZREVRANGEBYSCORE, MGET), so it works
 * with a read-only Redis user.
 *
 * How `flows` finds records (keys in store.h and store_keys.h). Every flow is in the index of
 * each hour it spans, scored by its last_seen. Walking the hours that hold flows (the
 * tw:{S}:hours zset) from the newest down, hour h contributes the flows whose last_seen lies
 * inside h, except the newest hour walked, which contributes every flow with last_seen >= h
 * (they overlap the range too). Those score ranges do not overlap and go down, so printing
 * them in order is newest first with no sorting and stops as soon as --limit is reached.
 *
 *   hour:       h0 (newest walked)      h1                 h2 (= hour of --since)
 *   scores:     [h0, +inf)              [h1, h1+1h)        [max(since, h2), h2+1h)
 *
 * The index picked is the most specific one the filters allow (ip, then net /24 /16 /64 /48,
 * then port, then app, else the plain hour index); the records fetched are then filtered
 * exactly on every filter, so the index only has to be a superset.
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

#include "record_json.h"
#include "redis_conn.h"
#include "store_keys.h"
#include "timeparse.h"

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
};

enum { OPT_SINCE = 1, OPT_UNTIL = 2, OPT_IP = 4, OPT_PORT = 8, OPT_APP = 16, OPT_LIMIT = 32,
       OPT_FORMAT = 64 };

struct subcommand {
    const char *name;
    const char *summary;
    unsigned options; /* OPT_* it accepts */
    int (*run)(redisContext *c, const struct opts *o);
};

static int run_flows(redisContext *c, const struct opts *o);

static const struct subcommand subcommands[] = {
    {"flows", "flow records by time, address or subnet, port, application",
     OPT_SINCE | OPT_UNTIL | OPT_IP | OPT_PORT | OPT_APP | OPT_LIMIT | OPT_FORMAT, run_flows},
    {"alerts", "alerts by time, rule, equipment (not implemented yet)", 0, NULL},
    {"summary", "per equipment, application, peer and hour (not implemented yet)", 0, NULL},
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

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
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
                 {"app", OPT_APP},     {"limit", OPT_LIMIT}, {"format", OPT_FORMAT}};
    const char *since = NULL, *until = NULL;
    uint64_t now = now_us(), v;
    char err[256];
    int rc;

    o->sensor = "tapwatch";
    o->redis_url = getenv("TAPWATCH_REDIS");
    if (o->redis_url != NULL && o->redis_url[0] == '\0')
        o->redis_url = NULL;
    o->port = -1;
    o->limit = DEFAULT_LIMIT;
    o->format = FMT_TABLE;

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

static int prefix_match(const uint8_t *a, const uint8_t *net, unsigned bits)
{
    unsigned full = bits / 8;

    if (memcmp(a, net, full) != 0)
        return 0;
    if (bits % 8 == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
    return (a[full] & mask) == (net[full] & mask);
}

static int app_match(const char *want, const char *app)
{
    char parts[TW_APP_PARTS_MAX][TW_APP_LEN];
    int n;

    if (strcasecmp(want, app) == 0)
        return 1;
    if (strchr(want, '.') != NULL)
        return 0;
    n = tw_app_parts(app, TW_APP_LEN, parts, TW_APP_PARTS_MAX);
    for (int i = 0; i < n; i++)
        if (strcasecmp(want, parts[i]) == 0)
            return 1;
    return 0;
}

static int record_matches(const struct opts *o, const struct tw_flow_record *r)
{
    if (o->has_since && r->last_seen_us < o->since_us)
        return 0;
    if (o->has_until && r->first_seen_us > o->until_us)
        return 0;
    if (o->has_ip) {
        if ((r->ip_version == 4) != o->ip_v4)
            return 0;
        if (!prefix_match(r->src_ip, o->ip, o->ip_bits) &&
            !prefix_match(r->dst_ip, o->ip, o->ip_bits))
            return 0;
    }
    if (o->port >= 0 && r->src_port != o->port && r->dst_port != o->port)
        return 0;
    if (o->app[0] != '\0' && !app_match(o->app, r->app))
        return 0;
    return 1;
}

/* The index kind and value to walk, most specific first; kind NULL = the plain hour index. */
static void pick_index(const struct opts *o, const char **kind, char *value, size_t len)
{
    *kind = NULL;
    if (o->has_ip) {
        unsigned full = o->ip_v4 ? 32 : 128, hi = o->ip_v4 ? 24 : 64, lo = o->ip_v4 ? 16 : 48;
        if (o->ip_bits == full && tw_net_text(o->ip, o->ip_v4, full, value, len) == 0) {
            *strchr(value, '/') = '\0';
            *kind = "ip";
            return;
        }
        if (o->ip_bits >= lo) {
            tw_net_text(o->ip, o->ip_v4, o->ip_bits >= hi ? hi : lo, value, len);
            *kind = "net";
            return;
        }
    }
    if (o->port >= 0) {
        snprintf(value, len, "%d", o->port);
        *kind = "port";
        return;
    }
    if (o->app[0] != '\0') {
        char parts[TW_APP_PARTS_MAX][TW_APP_LEN];
        int n = tw_app_parts(o->app, sizeof(o->app), parts, TW_APP_PARTS_MAX);
        if (n > 0) {
            /* the last part is the most specific: "google" of "TLS.Google" */
            snprintf(value, len, "%s", parts[n - 1]);
            *kind = "app";
        }
    }
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
        const char *name = tw_risk_name(bit);
        char num[4];
        if (name == NULL) {
            snprintf(num, sizeof(num), "%u", bit);
            name = num;
        }
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

/* Fetches the records of ids[0..n) with one MGET and emits the matching ones. */
static int fetch_and_emit(struct walk *w, redisReply *ids)
{
    const char *argv[PAGE + 1];
    size_t argl[PAGE + 1];
    char keys[PAGE][TW_KEY_LEN];
    redisReply *reply;
    size_t n = ids->elements;

    argv[0] = "MGET";
    argl[0] = 4;
    for (size_t i = 0; i < n; i++) {
        const char *member = ids->element[i]->str;
        char *end;
        uint64_t id = strtoull(member ? member : "", &end, 16);
        tw_key_flow(keys[i], sizeof(keys[i]), w->o->sensor, id);
        argv[i + 1] = keys[i];
        argl[i + 1] = strlen(keys[i]);
    }
    reply = redisCommandArgv(w->c, (int)n + 1, argv, argl);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
        return redis_failed(w, reply, "MGET");
    for (size_t i = 0; i < reply->elements && w->found < w->o->limit; i++) {
        redisReply *e = reply->element[i];
        struct tw_flow_record r;
        if (e->type != REDIS_REPLY_STRING)
            continue; /* expired since the index was read */
        if (tw_record_from_json(e->str, &r, NULL, 0) < 0)
            continue; /* not ours, or written by a newer version: skip rather than fail */
        if (record_matches(w->o, &r) && emit(w, e->str, &r) < 0)
            break;
    }
    freeReplyObject(reply);
    return w->failed ? -1 : 0;
}

static void score_text(uint64_t us, char *out, size_t len)
{
    snprintf(out, len, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
}

static int walk_hour(struct walk *w, uint64_t hour, int newest, const char *kind,
                     const char *value)
{
    char key[TW_KEY_LEN], max[40], min[40];
    uint64_t lo = hour * TW_US_PER_HOUR;

    if (tw_key_index(key, sizeof(key), w->o->sensor, hour, kind, value) < 0)
        return 0;
    if (newest)
        snprintf(max, sizeof(max), "+inf");
    else {
        max[0] = '(';
        score_text((hour + 1) * TW_US_PER_HOUR, max + 1, sizeof(max) - 1);
    }
    if (w->o->has_since && w->o->since_us > lo)
        lo = w->o->since_us;
    score_text(lo, min, sizeof(min));

    for (long long offset = 0; w->found < w->o->limit; offset += PAGE) {
        redisReply *ids = redisCommand(w->c, "ZREVRANGEBYSCORE %s %s %s LIMIT %lld %d", key, max,
                                       min, offset, PAGE);
        if (ids == NULL || ids->type != REDIS_REPLY_ARRAY)
            return redis_failed(w, ids, "ZREVRANGEBYSCORE");
        size_t n = ids->elements;
        int rc = n > 0 ? fetch_and_emit(w, ids) : 0;
        freeReplyObject(ids);
        if (rc < 0)
            return -1;
        if (n < PAGE)
            break;
    }
    return 0;
}

static int run_flows(redisContext *c, const struct opts *o)
{
    struct walk w = {.c = c, .o = o};
    const char *kind;
    char value[64], hours_key[TW_KEY_LEN], max[24], min[24];
    redisReply *hours;

    pick_index(o, &kind, value, sizeof(value));
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
        walk_hour(&w, h, i == 0, kind, value);
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
