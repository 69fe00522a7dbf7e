/* cmd_statements.c - `tapwatch-query statements`: the sensor's completeness statements
 * (control/evidence/statement.h), newest first, whose interval overlaps --since/--until.
 *
 * The stream tw:{S}:statements is read newest first with XREVRANGE from its end down to
 * --since: an entry is added when its statement is written, never before the statement's
 * `to`, so no statement ending after --since has an older ID. Each entry's field `statement`
 * is the signed text: it is parsed as found (a text that is not JSON is said on stderr, one
 * line, and skipped) and, with --pubkey FILE.pub, its signature (field sig) is checked
 * against it: column SIGNATURE says verified, BAD, unsigned (or signed, when not checked).
 * Several --pubkey: the sensor's keys across rotations (key_set.h), the oldest first; each
 * statement is checked against the key accepted at its time, a key_rotation against both of
 * its keys (sig and sig_previous).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "control/evidence/sign_key.h"
#include "control/evidence/statement.h"
#include "control/query/coverage.h"
#include "control/query/key_set.h"
#include "control/query/query.h"
#include "control/record/keys.h"

static const char *pubkey_paths[TQ_KEYS_MAX]; /* --pubkey, repeatable */
static size_t npubkeys;
static struct tq_key_set keys;

/* CSV columns (JSON: the statement's own keys, then id, sig and signature) */
static const char *const csv_keys[] = {
    "id", "sensor", "run", "n", "kind", "interval", "from", "to", "packets_received", "packets_parsed",
    "packets_dropped", "dropped_by_reason", "imissed", "ierrors", "rx_nombuf", "tcp_gap_bytes",
    "tcp_acked_bytes", "tcp_flows_one_way", "tcp_flows_ended", "flows_started", "flows_ended",
    "records_from", "records_to", "alerts_from", "alerts_to", "seq_first", "seq_last", "seq",
    "gap_records", "records_lost", "config_sha256", "policy_sha256", "geoip_sha256",
    "clock_synced", "clock_offset_us", "clock_maxerror_us", "clock_esterror_us",
    "clock_step_us", "key", "previous_key", "sig", "sig_previous", "signature"};
#define NCSV (sizeof(csv_keys) / sizeof(csv_keys[0]))

enum { C_TO, C_KIND, C_N, C_SECONDS, C_RECEIVED, C_DROPPED, C_BELOW, C_RECORDS, C_ALERTS,
       C_GAPS, C_CLOCK, C_SIG, NCOLS };
static const char *const col_names[NCOLS] = {
    "TO_UTC", "KIND", "N", "SECONDS", "RECEIVED", "DROPPED", "LOST_BELOW", "RECORDS",
    "ALERTS", "GAPS", "CLOCK", "SIGNATURE"};
static const unsigned char col_right[NCOLS] = {0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};

struct row {
    uint64_t from_us, to_us, n, received, dropped, below, records, alerts, gaps;
    int synced;
    char kind[16], sig[16];
};

struct out {
    const struct tq_opts *o;
    struct tq_key_set keys; /* --pubkey's, with this sensor's rotations */
    struct row *rows;
    size_t nrows, cap;
    uint64_t found;
    int failed;
};

static uint64_t num(json_object *j, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(j, key, &v))
        return 0;
    return json_object_get_uint64(v);
}

static void cell(const void *rows, size_t i, size_t col, char *out, size_t len)
{
    const struct row *r = (const struct row *)rows + i;

    switch (col) {
    case C_TO: tq_utc_text(r->to_us, 1, out, len); break;
    case C_KIND: snprintf(out, len, "%s", r->kind); break;
    case C_N: snprintf(out, len, "%" PRIu64, r->n); break;
    case C_SECONDS: snprintf(out, len, "%.1f", (double)(r->to_us - r->from_us) / 1e6); break;
    case C_RECEIVED: snprintf(out, len, "%" PRIu64, r->received); break;
    case C_DROPPED: snprintf(out, len, "%" PRIu64, r->dropped); break;
    case C_BELOW: snprintf(out, len, "%" PRIu64, r->below); break;
    case C_RECORDS: snprintf(out, len, "%" PRIu64, r->records); break;
    case C_ALERTS: snprintf(out, len, "%" PRIu64, r->alerts); break;
    case C_GAPS: snprintf(out, len, "%" PRIu64, r->gaps); break;
    case C_CLOCK: snprintf(out, len, "%s", r->synced ? "synced" : "unsynced"); break;
    default: snprintf(out, len, "%s", r->sig); break;
    }
}

static uint64_t row_key(const void *rows, size_t i)
{
    return ((const struct row *)rows)[i].to_us;
}

static const struct tq_table statement_table = {
    .ncols = NCOLS, .names = col_names, .right = col_right, .cell = cell,
    .none = "no statement matches", .key = row_key};

/* A CSV cell of the statement j for key k (objects as name=n;name=n, null as ""). */
static void csv_value(json_object *j, const char *k, char *out, size_t len)
{
    json_object *v;

    out[0] = '\0';
    if (!json_object_object_get_ex(j, k, &v) || v == NULL)
        return;
    if (json_object_is_type(v, json_type_object)) {
        size_t off = 0;
        json_object_object_foreach(v, name, val) {
            int n = snprintf(out + off, len - off, "%s%s=%" PRIu64, off ? ";" : "", name,
                             json_object_get_uint64(val));
            if (n < 0 || (size_t)n >= len - off)
                break;
            off += (size_t)n;
        }
        return;
    }
    if (json_object_is_type(v, json_type_string))
        snprintf(out, len, "%s", json_object_get_string(v));
    else
        snprintf(out, len, "%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
}

/* One stream entry: id, then field/value pairs statement, sig. */
static void entry(struct out *w, const redisReply *e, const char *key)
{
    const struct tq_opts *o = w->o;
    const char *id, *text = NULL, *sig = "", *sig_previous = "";
    size_t text_len = 0;
    json_object *j;
    char sigcheck[16];

    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
        return;
    id = e->element[0]->str;
    const redisReply *fv = e->element[1];
    for (size_t i = 0; i + 1 < fv->elements; i += 2) {
        if (fv->element[i]->type != REDIS_REPLY_STRING ||
            fv->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        if (strcmp(fv->element[i]->str, "statement") == 0) {
            text = fv->element[i + 1]->str;
            text_len = fv->element[i + 1]->len;
        } else if (strcmp(fv->element[i]->str, "sig") == 0) {
            sig = fv->element[i + 1]->str;
        } else if (strcmp(fv->element[i]->str, "sig_previous") == 0) {
            sig_previous = fv->element[i + 1]->str;
        }
    }
    if (text == NULL || (j = tq_json_parse(text, text_len)) == NULL) {
        tq_warn_invalid(key, id, text == NULL ? "no field statement" : "not valid JSON");
        return;
    }
    uint64_t from_us = (uint64_t)llround(json_object_get_double(
                           json_object_object_get(j, "from")) * 1e6),
             to_us = (uint64_t)llround(json_object_get_double(
                           json_object_object_get(j, "to")) * 1e6);
    if ((o->has_since && to_us < o->since_us) || (o->has_until && from_us > o->until_us) ||
        (o->has_cursor && to_us > o->cursor_us)) { /* --cursor: on the pages before */
        json_object_put(j);
        return;
    }
    if (npubkeys > 0) {
        int v = tq_key_set_check_statement(&w->keys, text, text_len, sig, sig_previous);
        snprintf(sigcheck, sizeof(sigcheck), "%s", v > 0 ? "verified" : v == 0 ? "unsigned" : "BAD");
    } else {
        snprintf(sigcheck, sizeof(sigcheck), "%s", sig[0] ? "signed" : "unsigned");
    }
    w->found++;
    if (o->format == TQ_JSON) {
        json_object_object_add(j, "id", json_object_new_string(id));
        json_object_object_add(j, "sig", json_object_new_string(sig));
        if (sig_previous[0]) /* a key_rotation: the old key's signature */
            json_object_object_add(j, "sig_previous", json_object_new_string(sig_previous));
        json_object_object_add(j, "signature", json_object_new_string(sigcheck));
        tq_json_line(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE));
    } else if (o->format == TQ_CSV) {
        char v[512];
        for (size_t k = 0; k < NCSV; k++) {
            if (k == 0)
                snprintf(v, sizeof(v), "%s", id);
            else if (strcmp(csv_keys[k], "sig") == 0)
                snprintf(v, sizeof(v), "%s", sig);
            else if (strcmp(csv_keys[k], "sig_previous") == 0)
                snprintf(v, sizeof(v), "%s", sig_previous);
            else if (strcmp(csv_keys[k], "signature") == 0)
                snprintf(v, sizeof(v), "%s", sigcheck);
            else
                csv_value(j, csv_keys[k], v, sizeof(v));
            tq_csv_field(v, k + 1 == NCSV);
        }
    } else {
        struct row *rows = tq_grow(w->rows, w->nrows, &w->cap, sizeof(*rows), 64);
        if (rows == NULL) {
            w->failed = 1;
            json_object_put(j);
            return;
        }
        w->rows = rows;
        struct row *r = &rows[w->nrows++];
        memset(r, 0, sizeof(*r));
        r->from_us = from_us;
        r->to_us = to_us;
        r->n = num(j, "n");
        r->received = num(j, "packets_received");
        r->dropped = num(j, "packets_dropped");
        r->below = num(j, "imissed") + num(j, "ierrors") + num(j, "rx_nombuf");
        r->records = num(j, "records_to") - num(j, "records_from");
        r->alerts = num(j, "alerts_to") - num(j, "alerts_from");
        r->gaps = num(j, "gap_records");
        json_object *b;
        r->synced = json_object_object_get_ex(j, "clock_synced", &b) && json_object_get_boolean(b);
        json_object *k;
        snprintf(r->kind, sizeof(r->kind), "%s",
                 json_object_object_get_ex(j, "kind", &k) ? json_object_get_string(k) : "?");
        snprintf(r->sig, sizeof(r->sig), "%s", sigcheck);
    }
    json_object_put(j);
}

/* A rotation that admits no key (key_set.h): one line on stderr; its statements then say
 * BAD. */
static void said_rotation(void *ctx, const char *id, int outcome, const char *why)
{
    (void)ctx;
    if (outcome == TQ_ROT_BAD || outcome == TQ_ROT_NOTE)
        fprintf(stderr, PROG ": key rotation %s: %s%s\n", id, why,
                outcome == TQ_ROT_BAD ? ": not valid" : "");
}

static int run(struct tw_rclient *c, const struct tq_opts *o)
{
    char key[TW_KEY_LEN], end[48] = "+", lo[32] = "-";
    struct out w = {.o = o, .keys = keys}; /* a copy: each sensor has its rotations */
    redisReply *r;

    tw_key_statements(key, sizeof(key), o->sensor);
    if (npubkeys > 1 && tq_key_set_read(&w.keys, c, o->sensor, said_rotation, NULL) != 0)
        return tq_finish(1);
    if (o->has_since)
        snprintf(lo, sizeof(lo), "%" PRIu64, o->since_us / 1000);
    if (o->format == TQ_CSV)
        tq_csv_header(csv_keys, NCSV);
    while (w.found < o->limit && !w.failed) {
        r = tw_rclient_command(c, "XREVRANGE %s %s %s COUNT %d", key, end, lo, TQ_PAGE);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            tq_reply_failed(c, r, "XREVRANGE");
            w.failed = 1;
            break;
        }
        size_t n = r->elements;
        for (size_t i = 0; i < n && w.found < o->limit && !w.failed; i++) {
            const redisReply *e = r->element[i];
            if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 &&
                e->element[0]->type == REDIS_REPLY_STRING)
                snprintf(end, sizeof(end), "(%s", e->element[0]->str);
            entry(&w, e, key);
        }
        freeReplyObject(r);
        if (n < TQ_PAGE)
            break;
    }
    if (!w.failed && o->format == TQ_TABLE)
        tq_table_print(&statement_table, w.rows, w.nrows);
    free(w.rows);
    return tq_finish(w.failed);
}

static int parse_pubkey(const char *val)
{
    char err[256];

    if (npubkeys == TQ_KEYS_MAX)
        return tq_usage_error("at most %d --pubkey", TQ_KEYS_MAX);
    pubkey_paths[npubkeys++] = val;
    if (tq_key_set_load(&keys, pubkey_paths, npubkeys, err, sizeof(err)) != 0)
        return tq_usage_error("--pubkey %s: %s", val, err);
    return 0;
}

const struct tq_subcommand tq_cmd_statements = {
    .name = "statements",
    .summary = "the sensor's completeness statements: what it watched, dropped and wrote",
    .usage = "statements [--since T] [--until T] [--pubkey FILE.pub ...] [--limit N] [--cursor T]\n"
             "           [--format F]\n"
             "                   newest first, those whose interval (wall clock) overlaps the\n"
             "                   range; --pubkey checks each signature (SIGNATURE verified, BAD,\n"
             "                   unsigned); several: the sensor's keys across rotations, the\n"
             "                   oldest first; --cursor T, the next page: only those whose to is\n"
             "                   at most T\n",
    .common = TQ_OPT_SINCE | TQ_OPT_UNTIL | TQ_OPT_LIMIT | TQ_OPT_FORMAT | TQ_OPT_CURSOR,
    .own = (const struct tq_option[]){{"pubkey", parse_pubkey}, {NULL, NULL}},
    .run = run,
};
