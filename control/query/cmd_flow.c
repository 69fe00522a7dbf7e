/* cmd_flow.c - `tapwatch-query flow FLOW_ID`: the record of one flow, as an alert names it.
 *
 * An alert carries flow_id and flow_key: flow_key is tw:{S}:f:<H>, H the hour of the flow's
 * first_seen, whatever redis.format the records were written in. In format 1 the record is
 * field flow_id of that hash; in format 2 (compact) it is in one of the record blocks of
 * tw:{S:H}:b (control/record/compact.h), which this reads whole: every version of the flow is
 * there, and the newest (greatest last_seen, then the last written) is printed, the record
 * format 1 keeps. An hour written in both formats is read in both, the newer record printed.
 * Without --key, the hours listed in tw:{S}:hours are tried newest first (within
 * --since/--until).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/query/compact_read.h"
#include "control/query/query.h"
#include "control/record/keys.h"
#include "control/record/record_json.h"

#define EXIT_NOT_FOUND 3 /* the flow is in none of the hours read */

static struct {
    uint64_t id;
    int has_id;
    int has_hour;
    uint64_t hour;
} fl;

static int parse_id(const char *val)
{
    char *end;
    size_t n = strlen(val);

    if (n == 0 || n > 16 || !isxdigit((unsigned char)val[0]))
        return tq_usage_error("bad flow id \"%s\": expected up to 16 hex digits", val);
    fl.id = strtoull(val, &end, 16);
    if (*end != '\0')
        return tq_usage_error("bad flow id \"%s\": expected up to 16 hex digits", val);
    fl.has_id = 1;
    return 0;
}

static int parse_key(const char *val)
{
    unsigned shard;

    if (tw_key_record_parse(val, &fl.hour, &shard) < 0)
        return tq_usage_error("bad --key \"%s\": expected an alert's flow_key, tw:{S}:f:<hour>",
                              val);
    fl.has_hour = 1;
    return 0;
}

static int check(const struct tq_opts *o)
{
    (void)o;
    return fl.has_id ? 0 : tq_usage_error("flow: which flow? tapwatch-query flow FLOW_ID");
}

/* A record found: its JSON (malloc'd) and the record. */
struct found {
    char *json;
    struct tw_flow_record r;
};

static uint64_t found_last(const struct found *f)
{
    return f->r.last_seen_us > f->r.first_seen_us ? f->r.last_seen_us : f->r.first_seen_us;
}

/* Format 1: HGET. Returns 1 (into *out), 0 (not there), -1. */
static int find_v1(struct tw_rclient *c, const struct tq_opts *o, uint64_t hour,
                   struct found *out)
{
    char key[TW_KEY_LEN], id[17];
    struct tw_flow_record r;
    redisReply *e;
    int found = 0;

    tw_key_record(key, sizeof(key), o->sensor, hour, fl.id);
    snprintf(id, sizeof(id), "%016" PRIx64, fl.id);
    e = tw_rclient_command(c, "HGET %s %s", key, id);
    if (e == NULL || (e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_NIL))
        return tq_reply_failed(c, e, "HGET");
    if (e->type == REDIS_REPLY_STRING && tw_record_from_json(e->str, &r, NULL, 0) == 0 &&
        r.flow_id == fl.id) {
        if ((out->json = strdup(e->str)) == NULL) {
            found = -1;
        } else {
            out->r = r;
            found = 1;
        }
    }
    freeReplyObject(e);
    return found;
}

/* Format 2: every block of the hour. Returns 1 (into *out), 0 (not there), -1. */
static int find_v2(struct tw_rclient *c, const struct tq_opts *o, uint64_t hour,
                   struct found *out)
{
    char key[TW_KEY_LEN], err[160], needle[40], best_field[TW_CX_FIELD_LEN + 1] = "";
    char *best = NULL;
    struct tw_flow_record r, best_r;
    redisReply *all;
    int rc = 0;

    tw_key_cx_blocks(key, sizeof(key), o->sensor, hour);
    snprintf(needle, sizeof(needle), "\"%016" PRIx64 "\"", fl.id);
    all = tw_rclient_command(c, "HGETALL %s", key);
    if (all == NULL || all->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, all, "HGETALL");
    for (size_t k = 0; k + 1 < all->elements && rc == 0; k += 2) {
        const redisReply *fld = all->element[k], *v = all->element[k + 1];
        uint8_t *raw;
        size_t rawlen;
        uint32_t *off;
        uint16_t *len;
        char field[TW_CX_FIELD_LEN + 1];
        int n;
        /* a block (version 2) or a frame of one (version 3: <block id>:<frame>) */
        if (fld->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            (fld->len != TW_CX_BLOCK_ID_LEN && fld->len != TW_CX_FIELD_LEN))
            continue;
        memcpy(field, fld->str, fld->len);
        field[fld->len] = '\0';
        if (tw_cx_unpack('R', v->str, v->len, &raw, &rawlen, err, sizeof(err)) < 0) {
            fprintf(stderr, PROG ": block %.*s of hour %" PRIu64 ": %s\n", (int)fld->len,
                    fld->str, hour, err);
            continue;
        }
        if ((n = tw_cx_block_split(raw, rawlen, &off, &len)) < 0) {
            fprintf(stderr, PROG ": block %.*s of hour %" PRIu64 ": malformed record block\n",
                    (int)fld->len, fld->str, hour);
            free(raw);
            continue;
        }
        for (int i = 0; i < n && rc == 0; i++) {
            char *text = (char *)raw + off[i];
            if (memmem(text, len[i], needle, strlen(needle)) == NULL)
                continue; /* cheap: the id's text is not in this record */
            char *json = strndup(text, len[i]);
            if (json == NULL) {
                rc = -1;
                break;
            }
            if (tw_record_from_json(json, &r, NULL, 0) < 0 || r.flow_id != fl.id) {
                free(json);
                continue;
            }
            uint64_t last = r.last_seen_us > r.first_seen_us ? r.last_seen_us : r.first_seen_us;
            uint64_t blast = best == NULL ? 0
                             : best_r.last_seen_us > best_r.first_seen_us ? best_r.last_seen_us
                                                                          : best_r.first_seen_us;
            /* newer: a greater last_seen, or the same written later (block id, frame,
             * ordinal) */
            if (best == NULL || last > blast || (last == blast && strcmp(field, best_field) >= 0)) {
                free(best);
                best = json;
                best_r = r;
                memcpy(best_field, field, sizeof(field));
            } else {
                free(json);
            }
        }
        free(off);
        free(len);
        free(raw);
    }
    freeReplyObject(all);
    if (rc == 0 && best != NULL) {
        out->json = best;
        out->r = best_r;
        return 1;
    }
    free(best);
    return rc;
}

/* The flow's record in hour, printed. A compact hour may hold format 1 records too (the
 * format switched within the hour): the newer of the two is the flow's, format 2's when
 * their last_seen are equal (a store goes from format 1 to format 2, as `flows` orders
 * them). Returns 1 (printed), 0 (not there), -1. */
static int find_in(struct tw_rclient *c, const struct tq_opts *o, uint64_t hour)
{
    struct found v1 = {0}, v2 = {0};
    int cx = tq_cx_hour_has(c, o->sensor, hour), r1 = 0, r2 = 0;
    const struct found *pick;

    if (cx < 0)
        return -1;
    if (cx && (r2 = find_v2(c, o, hour, &v2)) < 0)
        return -1;
    if ((r1 = find_v1(c, o, hour, &v1)) < 0) {
        free(v2.json);
        return -1;
    }
    if (r1 == 0 && r2 == 0)
        return 0;
    pick = r1 == 0 ? &v2 : r2 == 0 ? &v1 : found_last(&v1) > found_last(&v2) ? &v1 : &v2;
    tq_flows_print_one(o, pick->json, &pick->r);
    free(v1.json);
    free(v2.json);
    return 1;
}

static int run(struct tw_rclient *c, const struct tq_opts *o)
{
    char hours_key[TW_KEY_LEN], max[24], min[24];
    redisReply *hours;
    int found = 0;

    if (fl.has_hour) {
        found = find_in(c, o, fl.hour);
    } else {
        tw_key_hours(hours_key, sizeof(hours_key), o->sensor);
        snprintf(max, sizeof(max), o->has_until ? "%" PRIu64 : "+inf",
                 o->until_us / TW_US_PER_HOUR);
        snprintf(min, sizeof(min), o->has_since ? "%" PRIu64 : "-inf",
                 o->since_us / TW_US_PER_HOUR);
        hours = tw_rclient_command(c, "ZREVRANGEBYSCORE %s %s %s", hours_key, max, min);
        if (hours == NULL || hours->type != REDIS_REPLY_ARRAY)
            return tq_reply_failed(c, hours, "ZREVRANGEBYSCORE") < 0 ? EXIT_REDIS : 0;
        for (size_t i = 0; i < hours->elements && found == 0; i++) {
            uint64_t h;
            if (hours->element[i]->type != REDIS_REPLY_STRING ||
                tq_parse_uint(hours->element[i]->str, 0, UINT64_MAX / TW_US_PER_HOUR - 1, &h) < 0)
                continue;
            found = find_in(c, o, h);
        }
        freeReplyObject(hours);
    }
    if (found == 0)
        fprintf(stderr, PROG ": flow %016" PRIx64 " not found (expired, or another sensor's)\n",
                fl.id);
    return found < 0 ? tq_finish(1) : found == 0 ? (tq_finish(0), EXIT_NOT_FOUND) : tq_finish(0);
}

const struct tq_subcommand tq_cmd_flow = {
    .name = "flow",
    .summary = "the record of one flow (FLOW_ID, as an alert's flow_id names it)",
    .usage =
        "flow FLOW_ID options (the newest record of that flow; exit 3 when not found):\n"
        "  --key FLOW_KEY   the alert's flow_key (tw:{S}:f:<hour>): read that hour only\n"
        "  --since T, --until T   otherwise the hours tried, newest first (default: all)\n"
        "  --format F       table (default), json or csv\n",
    .common = TQ_OPT_SINCE | TQ_OPT_UNTIL | TQ_OPT_FORMAT,
    .own = (const struct tq_option[]){{"key", parse_key}, {NULL, NULL}},
    .check = check,
    .word = parse_id,
    .run = run,
};
