/* cmd_alerts.c - `tapwatch-query alerts`: alerts by time, kind, equipment, newest first
 * (keys in control/record/keys.h, fields in control/record/alert.h).
 *
 * The stream tw:{S}:alerts is read newest first, with XREVRANGE in pages when no time range is
 * given, else only the entries the time index (alerts:t:<hour>, by ts) names in the range,
 * sorted newest first by stream ID; every entry is filtered on its packet time (ts), equipment
 * and kind, so both ways give the same answer.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "control/query/coverage.h"
#include "control/query/query.h"
#include "control/query/verify_items.h"
#include "control/record/keys.h"

static int a_kind = -1; /* --kind, -1 = any */
static int a_rule = -1; /* --rule, as the kind it names; -1 = any */

/* the JSON keys (alert.h), in its order */
static const char *const alert_csv_keys[] = {
    "kind",     "rule",     "severity", "equipment", "vendor", "ts",          "src_ip",
    "src_mac",  "src_port", "dst_ip",   "dst_port",  "ip_proto", "app",       "server_name",
    "detail",   "flow_id",  "flow_key", "policy_sha256", "geoip_sha256"};
#define N_ALERT_KEYS (sizeof(alert_csv_keys) / sizeof(alert_csv_keys[0]))

static void alert_endpoint(const struct tw_alert *a, const uint8_t *ip, uint16_t port, char *out,
                           size_t len)
{
    char t[INET6_ADDRSTRLEN];

    if (inet_ntop(a->ip_version == 4 ? AF_INET : AF_INET6, ip, t, sizeof(t)) == NULL)
        snprintf(t, sizeof(t), "?");
    snprintf(out, len, a->ip_version == 4 ? "%s:%u" : "[%s]:%u", t, port);
}

/* One alert's text for a CSV key (a column of the table takes the same text). */
static void alert_value(const struct tw_alert *a, const char *sensor, const char *key, char *out,
                        size_t len)
{
    char ip[INET6_ADDRSTRLEN];
    int v4 = a->ip_version == 4;
    int flowless = tw_alert_kind_flowless(a->kind);

    /* a flowless alert's flow fields are empty, as in its JSON (alert.h) */
    if (flowless && (strcmp(key, "dst_ip") == 0 || strcmp(key, "flow_id") == 0 ||
                     strcmp(key, "flow_key") == 0 ||
                     (strcmp(key, "src_ip") == 0 && a->ip_version == 0))) {
        out[0] = '\0';
        return;
    }
    if (strcmp(key, "kind") == 0) snprintf(out, len, "%s", tw_alert_kind_name(a->kind));
    else if (strcmp(key, "rule") == 0) snprintf(out, len, "%s", tw_alert_rule_id(a->kind));
    else if (strcmp(key, "src_mac") == 0) {
        out[0] = '\0';
        if (a->has_mac)
            tw_mac_text(a->src_mac, out, len);
    } else if (strcmp(key, "policy_sha256") == 0) snprintf(out, len, "%s", a->policy_sha256);
    else if (strcmp(key, "geoip_sha256") == 0) snprintf(out, len, "%s", a->geoip_sha256);
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

static const char *const table_cols[] = {"TIME_UTC", "RULE", "KIND",     "SEVERITY", "EQUIPMENT",
                                         "SRC",      "DST",  "APP",      "DETAIL"};

static void cell(const void *rows, size_t i, size_t col, char *out, size_t len)
{
    const struct tw_alert *a = (const struct tw_alert *)rows + i;
    int flowless = tw_alert_kind_flowless(a->kind);

    out[0] = '\0';
    switch (col) {
    case 0: tq_utc_text(a->ts_us, 1, out, len); break;
    case 1: alert_value(a, "", "rule", out, len); break;
    case 2: alert_value(a, "", "kind", out, len); break;
    case 3: alert_value(a, "", "severity", out, len); break;
    case 4: alert_value(a, "", "equipment", out, len); break;
    case 5: /* a flowless alert: unknown_device's address, no port */
        if (!flowless)
            alert_endpoint(a, a->src_ip, a->src_port, out, len);
        else
            alert_value(a, "", "src_ip", out, len);
        break;
    case 6: if (!flowless) alert_endpoint(a, a->dst_ip, a->dst_port, out, len); break;
    case 7: alert_value(a, "", "app", out, len); break;
    default: alert_value(a, "", "detail", out, len); break;
    }
    if (out[0] == '\0')
        snprintf(out, len, "-");
}

/* the order of the answer: newest first by ts */
static uint64_t row_key(const void *rows, size_t i)
{
    return ((const struct tw_alert *)rows)[i].ts_us;
}

static const struct tq_table alert_table = {
    .ncols = sizeof(table_cols) / sizeof(table_cols[0]), .names = table_cols, .cell = cell,
    .none = "no alerts match", .key = row_key};

/* What run keeps while it reads stream entries. */
struct alert_out {
    const struct tq_opts *o;
    struct tw_alert *rows; /* table, or --verify: printed at the end, columns sized to fit */
    size_t nrows, cap;
    struct tq_vi_rows vrows; /* --verify: the rows' entries as chained, checked before printing */
    uint64_t found;
    int failed;
};

/* verified: the last column's text with --verify, else NULL */
static void print_csv(const struct tw_alert *a, const char *sensor, const char *verified)
{
    char text[512];

    for (size_t k = 0; k < N_ALERT_KEYS; k++) {
        alert_value(a, sensor, alert_csv_keys[k], text, sizeof(text));
        tq_csv_field(text, k + 1 == N_ALERT_KEYS && verified == NULL);
    }
    if (verified != NULL)
        tq_csv_field(verified, 1);
}

/* --verify: checks the rows kept (verify_items.h), prints them marked, says those that fail on
 * stderr (*bad of them). Returns 0, or EXIT_REDIS (said). */
static int print_verified(struct tw_rclient *c, struct alert_out *w, size_t *bad)
{
    const struct tq_opts *o = w->o;
    char json[4096];
    int rc = tq_vi_check_rows(c, o, &w->vrows);

    if (rc != 0)
        return rc;
    for (size_t i = 0; i < w->nrows && o->format != TQ_TABLE; i++) {
        int ok = tq_vi_ok(&w->vrows, i);
        if (o->format == TQ_CSV)
            print_csv(&w->rows[i], o->sensor, ok ? "true" : "false");
        else if (tw_alert_to_json(&w->rows[i], o->sensor, json, sizeof(json)) > 0)
            tq_vi_json_line(json, ok);
    }
    if (o->format == TQ_TABLE)
        tq_vi_table_print(&alert_table, w->rows, w->nrows, &w->vrows);
    *bad = tq_vi_report(&w->vrows);
    return 0;
}

/* One stream entry (the reply [id, [field, value, ...]]): parsed, filtered on ts, equipment
 * and kind, then printed (json, csv) or kept (table). */
static void alert_entry(struct alert_out *w, const redisReply *e)
{
    const struct tq_opts *o = w->o;
    char err[256], json[4096];
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
    if (tw_alert_from_fields(&a, f, v, nf, err, sizeof(err)) < 0) {
        /* not ours, altered, or from a newer version: said, and left out (coverage.h) */
        char key[TW_KEY_LEN];
        tw_key_alerts(key, sizeof(key), o->sensor);
        tq_warn_invalid(key, e->element[0]->str, err);
        return;
    }
    if ((o->has_since && a.ts_us < o->since_us) || (o->has_until && a.ts_us > o->until_us) ||
        (o->equipment[0] && strcmp(o->equipment, a.equipment) != 0) ||
        (a_kind >= 0 && a.kind != a_kind) || (a_rule >= 0 && a.kind != a_rule))
        return;
    w->found++;
    if (tq_vi_wanted()) { /* every format waits for the rows' check */
        char label[96];
        snprintf(label, sizeof(label), "alert %.80s", e->element[0]->str);
        if (tq_vi_add_alert(&w->vrows, fv, label) < 0) {
            w->failed = 1;
            return;
        }
    }
    if (o->format == TQ_JSON && !tq_vi_wanted()) {
        if (tw_alert_to_json(&a, o->sensor, json, sizeof(json)) > 0)
            tq_json_line(json);
    } else if (o->format == TQ_CSV && !tq_vi_wanted()) {
        print_csv(&a, o->sensor, NULL);
    } else {
        struct tw_alert *rows = tq_grow(w->rows, w->nrows, &w->cap, sizeof(*rows), 256);
        if (rows == NULL) {
            w->failed = 1;
            return;
        }
        w->rows = rows;
        w->rows[w->nrows++] = a;
    }
}

/* The whole stream, newest first, in pages, until --limit alerts matched. */
static void alerts_scan(struct tw_rclient *c, const char *key, struct alert_out *w)
{
    char end[64] = "+";

    while (w->found < w->o->limit && !w->failed) {
        redisReply *r = tw_rclient_command(c, "XREVRANGE %s %s - COUNT %d", key, end, TQ_PAGE);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            tq_reply_failed(c, r, "XREVRANGE");
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
        if (n < TQ_PAGE)
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
static int alerts_by_time(struct tw_rclient *c, const char *key, struct alert_out *w)
{
    const struct tq_opts *o = w->o;
    char hkey[TW_KEY_LEN], tkey[TW_KEY_LEN], lo[24] = "-inf", hi[24] = "+inf", hlo[24] = "-inf",
        hhi[24] = "+inf", id[64];
    struct stream_id *ids = NULL;
    size_t nids = 0, cap = 0;
    redisReply *r, *hours = NULL;
    int rc = -1;

    tw_key_alerts_hours(hkey, sizeof(hkey), o->sensor);
    if ((r = tw_rclient_command(c, "EXISTS %s", hkey)) == NULL || r->type != REDIS_REPLY_INTEGER)
        return tq_reply_failed(c, r, "EXISTS");
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
    hours = tw_rclient_command(c, "ZRANGEBYSCORE %s %s %s", hkey, hlo, hhi);
    if (hours == NULL || hours->type != REDIS_REPLY_ARRAY) {
        tq_reply_failed(c, hours, "ZRANGEBYSCORE");
        return -1;
    }
    size_t nh = 0;
    for (size_t i = 0; i < hours->elements; i++) {
        uint64_t h;
        if (hours->element[i]->type != REDIS_REPLY_STRING ||
            tq_parse_uint(hours->element[i]->str, 0, UINT64_MAX, &h) < 0 ||
            tw_key_alerts_time(tkey, sizeof(tkey), o->sensor, h) < 0)
            continue;
        if (tw_rclient_append(c, "ZRANGEBYSCORE %s %s %s", tkey, lo, hi) != REDIS_OK) {
            fprintf(stderr, PROG ": out of memory\n");
            goto out;
        }
        nh++;
    }
    for (size_t i = 0; i < nh; i++) {
        if (tw_rclient_get_reply(c, &r) != REDIS_OK || r == NULL || r->type != REDIS_REPLY_ARRAY) {
            tq_reply_failed(c, r, "ZRANGEBYSCORE");
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
            struct stream_id *grown = tq_grow(ids, nids, &cap, sizeof(*ids), 1024);
            if (grown == NULL) {
                freeReplyObject(r);
                goto out;
            }
            ids = grown;
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
    /* XRANGE id id per alert, TQ_PAGE per round trip; an ID the stream no longer holds (trimmed)
     * answers nothing */
    for (size_t start = 0; start < nids && w->found < o->limit && !w->failed; start += TQ_PAGE) {
        size_t end = start + TQ_PAGE < nids ? start + TQ_PAGE : nids;
        for (size_t i = start; i < end; i++) {
            snprintf(id, sizeof(id), "%" PRIu64 "-%" PRIu64, ids[i].ms, ids[i].seq);
            if (tw_rclient_append(c, "XRANGE %s %s %s", key, id, id) != REDIS_OK) {
                fprintf(stderr, PROG ": out of memory\n");
                goto out;
            }
        }
        for (size_t i = start; i < end; i++) {
            if (tw_rclient_get_reply(c, &r) != REDIS_OK || r == NULL ||
                r->type != REDIS_REPLY_ARRAY) {
                tq_reply_failed(c, r, "XRANGE");
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

static int run(struct tw_rclient *c, const struct tq_opts *o)
{
    char key[TW_KEY_LEN];
    struct alert_out w = {.o = o};

    tw_key_alerts(key, sizeof(key), o->sensor);
    if (tq_coverage_warn(c, o) < 0) /* gaps and unwatched spans, on stderr */
        return tq_finish(1);
    if (o->format == TQ_CSV && tq_vi_wanted())
        tq_vi_csv_header(alert_csv_keys, N_ALERT_KEYS);
    else if (o->format == TQ_CSV)
        tq_csv_header(alert_csv_keys, N_ALERT_KEYS);
    if (o->has_since || o->has_until) {
        int rc = alerts_by_time(c, key, &w);
        if (rc < 0)
            w.failed = 1;
        else if (rc > 0)
            alerts_scan(c, key, &w);
    } else {
        alerts_scan(c, key, &w);
    }
    int rc = 0;
    size_t bad = 0;
    if (!w.failed && tq_vi_wanted()) /* the rows against the chain, then printed marked */
        rc = print_verified(c, &w, &bad);
    else if (!w.failed && o->format == TQ_TABLE)
        tq_table_print(&alert_table, w.rows, w.nrows);
    free(w.rows);
    tq_vi_rows_free(&w.vrows);
    if (rc != 0)
        return rc;
    rc = tq_finish(w.failed);
    return rc == 0 && bad > 0 ? TQ_VI_EXIT_UNVERIFIED : rc;
}

/* ", undeclared_destination, ..., risky_flow": the kinds alert.h lists */
#define KIND_NAME(sym, name, rule) ", " name
static const char kind_names[] = TW_ALERT_KINDS(KIND_NAME);
#undef KIND_NAME

/* ", TW-R01, ..., TW-R14": the rule ids alert.h lists */
#define RULE_ID(sym, name, rule) ", " rule
static const char rule_ids[] = TW_ALERT_KINDS(RULE_ID);
#undef RULE_ID

/* --kind and --rule, the options of alerts' own */
static int parse_kind(const char *val)
{
    a_kind = tw_alert_kind_from_name(val);
    return a_kind >= 0 ? 0
                       : tq_usage_error("unknown --kind \"%s\": use one of %s", val, kind_names + 2);
}

static int parse_rule(const char *val)
{
    a_rule = tw_alert_kind_from_rule(val);
    return a_rule >= 0 ? 0
                       : tq_usage_error("unknown --rule \"%s\": use one of %s", val, rule_ids + 2);
}

const struct tq_subcommand tq_cmd_alerts = {
    .name = "alerts",
    .summary = "alerts by time, kind, equipment",
    .usage =
        "alerts [--since T] [--until T] [--equipment NAME] [--kind KIND] [--rule ID] [--limit N]\n"
        "       [--cursor T] [--format F]\n"
        "                   newest first; T is the alert's packet time (ts); KIND is one of\n"
        "                   undeclared_destination, remote_access_unapproved_host,\n"
        "                   remote_access_outside_window, remote_access_protocol, upload_volume,\n"
        "                   unclassified_channel, risky_flow, cross_border, unknown_device,\n"
        "                   silent_equipment, equipment_back, mirror_silent, mirror_back,\n"
        "                   clock_step;\n"
        "                   ID is its rule id, TW-R01 ... TW-R14 in that order; --cursor T, the\n"
        "                   next page: only alerts whose ts is at most T\n"
        "  --verify --pubkey FILE.pub [--pubkey NEW.pub ...]\n"
        "                   check each alert printed against the sensor's signed chain (as\n"
        "                   verify, reading its whole store): JSON key and CSV column verified\n"
        "                   (true/false), table column VERIFIED (yes/FAILED), one line on\n"
        "                   stderr per alert that fails; exit 3 when one does\n",
    .common = TQ_OPT_SINCE | TQ_OPT_UNTIL | TQ_OPT_EQUIPMENT | TQ_OPT_LIMIT | TQ_OPT_FORMAT |
              TQ_OPT_CURSOR,
    .own = (const struct tq_option[]){{"kind", parse_kind}, {"rule", parse_rule},
                                      {"pubkey", tq_vi_opt_pubkey}, {NULL, NULL}},
    .own_flags = (const struct tq_option[]){{"verify", tq_vi_opt_verify}, {NULL, NULL}},
    .check = tq_vi_check,
    .run = run,
};
