/* cmd_summary.c - `tapwatch-query summary`: per equipment and hour or day, its flows, bytes,
 * packets, top peers and apps, alerts, and per day the bytes it sent to each country (keys in
 * control/record/keys.h).
 *
 * The equipment's bucket set (hours or days) gives the buckets in range; each is one HGETALL
 * and the top 5 of its peers and apps (ZREVRANGE); a day also its countries (ZREVRANGE of
 * sum:E:d:<day>:countries, the largest COUNTRIES_MAX).
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "control/query/escape.h"
#include "control/query/query.h"
#include "control/record/keys.h"

#define TOP_N 5
#define COUNTRIES_MAX 32

static char s_by = 'd'; /* --by: 'h' (hour) or 'd' (day) */

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
    char countries[COUNTRIES_MAX][48];
    uint64_t country_bytes[COUNTRIES_MAX];
    size_t ncountries;
};

/* The countries of a day (bytes sent by the equipment), largest first. */
static int read_countries(struct tw_rclient *c, const char *key, struct bucket_sum *s)
{
    redisReply *r = tw_rclient_command(c, "ZREVRANGE %s 0 %d WITHSCORES", key, COUNTRIES_MAX - 1);

    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, r, "ZREVRANGE");
    s->ncountries = 0;
    for (size_t i = 0; i + 1 < r->elements && s->ncountries < COUNTRIES_MAX; i += 2) {
        if (r->element[i]->type != REDIS_REPLY_STRING || r->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        snprintf(s->countries[s->ncountries], sizeof(s->countries[0]), "%s", r->element[i]->str);
        s->country_bytes[s->ncountries++] = strtoull(r->element[i + 1]->str, NULL, 10);
    }
    freeReplyObject(r);
    return 0;
}

static int read_top(struct tw_rclient *c, const char *key, char names[][TW_APP_LEN > 48 ? TW_APP_LEN : 48],
                    size_t namelen, uint64_t *scores, size_t *n)
{
    redisReply *r = tw_rclient_command(c, "ZREVRANGE %s 0 %d WITHSCORES", key, TOP_N - 1);

    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, r, "ZREVRANGE");
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

static int read_bucket(struct tw_rclient *c, const struct tq_opts *o, uint64_t b, struct bucket_sum *s)
{
    char key[TW_KEY_LEN], names[TOP_N][TW_APP_LEN > 48 ? TW_APP_LEN : 48];
    redisReply *r;

    memset(s, 0, sizeof(*s));
    s->bucket = b;
    tw_key_summary(key, sizeof(key), o->sensor, o->equipment, s_by, b, NULL);
    r = tw_rclient_command(c, "HGETALL %s", key);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, r, "HGETALL");
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *f = r->element[i]->str, *v = r->element[i + 1]->str;
        uint64_t n;
        if (f == NULL || v == NULL || tq_parse_uint(v, 0, UINT64_MAX, &n) < 0)
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
    tw_key_summary(key, sizeof(key), o->sensor, o->equipment, s_by, b, "peers");
    if (read_top(c, key, names, sizeof(s->peers[0]), s->peer_bytes, &s->npeers) < 0)
        return -1;
    for (size_t i = 0; i < s->npeers; i++)
        snprintf(s->peers[i], sizeof(s->peers[i]), "%s", names[i]);
    tw_key_summary(key, sizeof(key), o->sensor, o->equipment, s_by, b, "apps");
    if (read_top(c, key, names, sizeof(s->apps[0]), s->app_bytes, &s->napps) < 0)
        return -1;
    for (size_t i = 0; i < s->napps; i++)
        snprintf(s->apps[i], sizeof(s->apps[i]), "%s", names[i]);
    if (s_by == 'd') { /* countries are counted per day only */
        tw_key_summary(key, sizeof(key), o->sensor, o->equipment, s_by, b, "countries");
        if (read_countries(c, key, s) < 0)
            return -1;
    }
    return 0;
}

static void bucket_label(uint64_t b, char *out, size_t len)
{
    time_t t = (time_t)(b * (s_by == 'h' ? 3600 : 86400));
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, len, s_by == 'h' ? "%Y-%m-%dT%H:00Z" : "%Y-%m-%d", &tm);
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
                          char *countries, size_t len)
{
    size_t oc = 0;

    countries[0] = '\0';
    for (size_t i = 0; i < s->ncountries && oc < len; i++)
        oc += (size_t)snprintf(countries + oc, len - oc, "%s%s=%" PRIu64, i ? ";" : "",
                               s->countries[i], s->country_bytes[i]);
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

/* A top list as JSON, [{"<key>": name, "bytes": n}, ...]: n names, each a row of stride bytes
 * from names, with their bytes. */
static json_object *top_json(const char *key, const char *names, size_t stride,
                             const uint64_t *bytes, size_t n)
{
    json_object *a = json_object_new_array();

    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, key, json_object_new_string(names + i * stride));
        json_object_object_add(e, "bytes", json_object_new_uint64(bytes[i]));
        json_object_array_add(a, e);
    }
    return a;
}

static void print_summary_json(const struct tq_opts *o, const struct bucket_sum *s)
{
    json_object *j = json_object_new_object(), *a;
    char label[32];

    bucket_label(s->bucket, label, sizeof(label));
    json_object_object_add(j, "equipment", json_object_new_string(o->equipment));
    json_object_object_add(j, "by", json_object_new_string(s_by == 'h' ? "hour" : "day"));
    json_object_object_add(j, "bucket", json_object_new_string(label));
    json_object_object_add(j, "start", json_object_new_int64((int64_t)(s->bucket * (s_by == 'h' ? 3600 : 86400))));
    json_object_object_add(j, "flows", json_object_new_uint64(s->flows));
    json_object_object_add(j, "bytes_out", json_object_new_uint64(s->bytes_out));
    json_object_object_add(j, "bytes_in", json_object_new_uint64(s->bytes_in));
    json_object_object_add(j, "packets_out", json_object_new_uint64(s->packets_out));
    json_object_object_add(j, "packets_in", json_object_new_uint64(s->packets_in));
    json_object_object_add(j, "top_peers", top_json("peer", s->peers[0], sizeof(s->peers[0]),
                                                    s->peer_bytes, s->npeers));
    json_object_object_add(j, "top_apps", top_json("app", s->apps[0], sizeof(s->apps[0]),
                                                   s->app_bytes, s->napps));
    a = json_object_new_object();
    for (unsigned k = 0; k < TW_ALERT__COUNT; k++)
        json_object_object_add(a, tw_alert_kind_name(k), json_object_new_uint64(s->alerts[k]));
    json_object_object_add(j, "alerts", a);
    json_object_object_add(j, "countries", top_json("country", s->countries[0],
                                                    sizeof(s->countries[0]), s->country_bytes,
                                                    s->ncountries));
    tq_json_line(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
}

static int run(struct tw_rclient *c, const struct tq_opts *o)
{
    static const char *const keys[] = {"equipment", "by", "bucket", "flows", "bytes_out", "bytes_in",
                                 "packets_out", "packets_in", "top_peers", "top_apps", "alerts",
                                 "countries"};
    uint64_t unit = s_by == 'h' ? TW_US_PER_HOUR : TW_US_PER_HOUR * 24;
    char key[TW_KEY_LEN], min[24], max[24], label[32], num[24];
    char peers[512], apps[512], alerts[512], countries[512];
    redisReply *bk;
    int failed = 0;

    tw_key_summary_buckets(key, sizeof(key), o->sensor, o->equipment, s_by);
    snprintf(min, sizeof(min), o->has_since ? "%" PRIu64 : "-inf", o->since_us / unit);
    if (o->has_until)
        snprintf(max, sizeof(max), "%" PRIu64, o->until_us / unit);
    else
        snprintf(max, sizeof(max), "+inf");
    if (!o->has_since)
        snprintf(min, sizeof(min), "-inf");
    bk = tw_rclient_command(c, "ZRANGEBYSCORE %s %s %s", key, min, max);
    if (bk == NULL || bk->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, bk, "ZRANGEBYSCORE") < 0 ? EXIT_REDIS : 0;
    if (o->format == TQ_CSV)
        tq_csv_header(keys, sizeof(keys) / sizeof(keys[0]));
    if (o->format == TQ_TABLE)
        printf("%-17s %8s %14s %14s %11s %11s  %s\n", s_by == 'h' ? "HOUR_UTC" : "DAY_UTC", "FLOWS",
               "BYTES_OUT", "BYTES_IN", "PKTS_OUT", "PKTS_IN",
               "TOP_PEERS / TOP_APPS / ALERTS / COUNTRIES");
    for (size_t i = 0; i < bk->elements && !failed; i++) {
        struct bucket_sum s;
        uint64_t b;
        if (bk->element[i]->type != REDIS_REPLY_STRING ||
            tq_parse_uint(bk->element[i]->str, 0, UINT64_MAX / 3600, &b) < 0)
            continue;
        if (read_bucket(c, o, b, &s) < 0) {
            failed = 1;
            break;
        }
        bucket_label(b, label, sizeof(label));
        summary_texts(&s, peers, apps, alerts, countries, sizeof(peers));
        switch (o->format) {
        case TQ_JSON: print_summary_json(o, &s); break;
        case TQ_CSV: {
            uint64_t v[5] = {s.flows, s.bytes_out, s.bytes_in, s.packets_out, s.packets_in};
            tq_csv_field(o->equipment, 0);
            tq_csv_field(s_by == 'h' ? "hour" : "day", 0);
            tq_csv_field(label, 0);
            for (int k = 0; k < 5; k++) {
                snprintf(num, sizeof(num), "%" PRIu64, v[k]);
                tq_csv_field(num, 0);
            }
            tq_csv_field(peers, 0);
            tq_csv_field(apps, 0);
            tq_csv_field(alerts, 0);
            tq_csv_field(countries, 1);
            break;
        }
        case TQ_TABLE: {
            /* app names came from the wire: escaped for the terminal (escape.h) */
            char safe_peers[4 * sizeof(peers)], safe_apps[4 * sizeof(apps)],
                safe_countries[4 * sizeof(countries)];
            tq_escape_text(peers, safe_peers, sizeof(safe_peers));
            tq_escape_text(apps, safe_apps, sizeof(safe_apps));
            tq_escape_text(countries, safe_countries, sizeof(safe_countries));
            printf("%-17s %8" PRIu64 " %14" PRIu64 " %14" PRIu64 " %11" PRIu64 " %11" PRIu64
                   "  %s / %s / %s / %s\n", label, s.flows, s.bytes_out, s.bytes_in,
                   s.packets_out, s.packets_in, peers[0] ? safe_peers : "-",
                   apps[0] ? safe_apps : "-", alerts[0] ? alerts : "-",
                   countries[0] ? safe_countries : "-");
            tq_rows++; /* its own fixed-width lines: counted here for the audit trail */
            break;
        }
        }
    }
    if (!failed && bk->elements == 0 && o->format == TQ_TABLE)
        fprintf(stderr, PROG ": no summary for %s in that range\n", o->equipment);
    freeReplyObject(bk);
    return tq_finish(failed);
}

/* --by, the only option of summary's own */
static int parse_by(const char *val)
{
    if (strcmp(val, "hour") == 0)
        s_by = 'h';
    else if (strcmp(val, "day") == 0)
        s_by = 'd';
    else
        return tq_usage_error("bad --by \"%s\": use hour or day", val);
    return 0;
}

static int check(const struct tq_opts *o)
{
    if (o->equipment[0] == '\0')
        return tq_usage_error("summary needs --equipment NAME");
    return 0;
}

const struct tq_subcommand tq_cmd_summary = {
    .name = "summary",
    .summary = "per equipment and hour or day: flows, bytes, packets, top peers and apps, alerts, "
               "bytes out per country (days)",
    .usage =
        "summary --equipment NAME [--since T] [--until T] [--by hour|day] [--format F]\n"
        "                   one row per hour or day (default day, UTC) that holds flows or alerts\n",
    .common = TQ_OPT_SINCE | TQ_OPT_UNTIL | TQ_OPT_EQUIPMENT | TQ_OPT_FORMAT,
    .own = (const struct tq_option[]){{"by", parse_by}, {NULL, NULL}},
    .check = check,
    .run = run,
};
