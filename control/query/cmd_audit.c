/* cmd_audit.c - `tapwatch-query audit`: the audit trail of a bank (--bank, else the trail of
 * the questions without a bank), newest first: who asked what, when, and how many rows it got
 * (keys.h: tw:{audit:<bank>}:trail; entries: control/evidence/audit_entry.h).
 *
 * The stream is read newest first with XREVRANGE in pages, from --until to --since by stream
 * ID (the milliseconds Redis gave the entry when it was appended, at most a few ms after the
 * entry's own time); --user keeps the entries whose Redis user or OS user name is U. This
 * lists; `verify-audit` checks (audit_verify.c).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "control/evidence/audit_entry.h"
#include "control/query/query.h"

static const char *a_user; /* --user, NULL = any */

static int parse_user(const char *v)
{
    if (v[0] == '\0' || strlen(v) > 127)
        return tq_usage_error("bad --user \"%s\": expected a Redis or OS user name", v);
    a_user = v;
    return 0;
}

int tq_audit_entry_from_reply(const redisReply *r, struct tw_audit_entry *e, const char **id)
{
    const redisReply *kv;
    int bad = 0;

    memset(e, 0, sizeof(*e));
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY)
        return -1;
    *id = r->element[0]->str;
    kv = r->element[1];
    for (size_t i = 0; i + 1 < kv->elements; i += 2) {
        const redisReply *k = kv->element[i], *v = kv->element[i + 1];
        int f;
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
            (f = tw_audit_field_of(k->str, k->len)) < 0 || e->f[f] != NULL ||
            strlen(v->str) != v->len) {
            bad = 1; /* a field that is none of ours, twice, or holds a NUL byte */
            continue;
        }
        e->f[f] = v->str;
    }
    return bad || (kv->elements % 2) != 0 ? 1 : 0;
}

static const char *fv(const struct tw_audit_entry *e, int f)
{
    return e->f[f] != NULL ? e->f[f] : "";
}

/* The name part of os_user "name(uid)" equals u, or the Redis user does. */
static int user_matches(const struct tw_audit_entry *e)
{
    const char *os = fv(e, TW_AF_OS_USER), *paren = strchr(os, '(');
    size_t n = paren != NULL ? (size_t)(paren - os) : strlen(os);

    return a_user == NULL || strcmp(fv(e, TW_AF_REDIS_USER), a_user) == 0 ||
           (strlen(a_user) == n && strncmp(os, a_user, n) == 0);
}

/* The table's rows: the cells kept as text (what a terminal and merge need). */
enum { C_TIME, C_SEQ, C_KIND, C_RUSER, C_OSUSER, C_HOST, C_SUB, C_SENSORS, C_ROWS, C_EXIT,
       C_KEY, C_ARGS, NCOLS };
static const char *const col_names[NCOLS] = {"TIME_UTC", "SEQ", "KIND", "REDIS_USER", "OS_USER",
                                             "HOST", "SUBCOMMAND", "SENSORS", "ROWS", "EXIT",
                                             "KEY", "ARGS"};
static const unsigned char right[NCOLS] = {[C_SEQ] = 1, [C_ROWS] = 1, [C_EXIT] = 1};

struct row {
    char *cell[NCOLS];
    uint64_t us;
};

static void cell(const void *rows, size_t i, size_t col, char *out, size_t len)
{
    snprintf(out, len, "%s", ((const struct row *)rows)[i].cell[col]);
}

static uint64_t row_key(const void *rows, size_t i)
{
    return ((const struct row *)rows)[i].us;
}

static const struct tq_table audit_table = {.ncols = NCOLS, .names = col_names, .right = right,
                                            .cell = cell, .none = "no audit entry matches",
                                            .key = row_key};

/* CSV columns and JSON keys: the entry's fields, then its stream id */
static const int out_fields[] = {TW_AF_TIME, TW_AF_SEQ, TW_AF_KIND, TW_AF_REF, TW_AF_REDIS_USER,
                                 TW_AF_OS_USER, TW_AF_HOST, TW_AF_PID, TW_AF_SUBCOMMAND,
                                 TW_AF_ARGS, TW_AF_SENSORS, TW_AF_ROWS, TW_AF_EXIT, TW_AF_KEY,
                                 TW_AF_PREV, TW_AF_HASH, TW_AF_SIG};
#define NOUT (sizeof(out_fields) / sizeof(out_fields[0]))

static void time_text(const char *us_text, char *out, size_t len, int table)
{
    uint64_t us = strtoull(us_text, NULL, 10);

    if (table) {
        char d[32];
        tq_utc_text(us, 1, d, sizeof(d));
        snprintf(out, len, "%s.%03u", d, (unsigned)(us % 1000000 / 1000));
    } else
        snprintf(out, len, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
}

static int print_entry(const struct tw_audit_entry *e, const char *id, enum tq_format fmt,
                       struct row **rows, size_t *n, size_t *cap)
{
    char t[48];

    time_text(fv(e, TW_AF_TIME), t, sizeof(t), fmt == TQ_TABLE);
    if (fmt == TQ_CSV) {
        for (size_t k = 0; k < NOUT; k++)
            tq_csv_field(out_fields[k] == TW_AF_TIME ? t : fv(e, out_fields[k]), 0);
        tq_csv_field(id, 1);
    } else if (fmt == TQ_JSON) {
        json_object *j = json_object_new_object(), *a = NULL;
        for (size_t k = 0; k < NOUT; k++) {
            int f = out_fields[k];
            a = NULL;
            const char *v = fv(e, f);
            if (f == TW_AF_TIME)
                json_object_object_add(j, "time", json_object_new_double_s(atof(t), t));
            else if ((f == TW_AF_SEQ || f == TW_AF_ROWS || f == TW_AF_EXIT || f == TW_AF_PID ||
                      f == TW_AF_REF) && v[0] != '\0' && strspn(v, "0123456789") == strlen(v))
                json_object_object_add(j, tw_audit_field_name(f),
                                       json_object_new_uint64(strtoull(v, NULL, 10)));
            else if (f == TW_AF_ARGS && (a = json_tokener_parse(v)) != NULL &&
                     json_object_is_type(a, json_type_array))
                json_object_object_add(j, "args", a); /* the command line as a JSON array */
            else {
                json_object_put(a);
                a = NULL;
                json_object_object_add(j, tw_audit_field_name(f), json_object_new_string(v));
            }
        }
        json_object_object_add(j, "id", json_object_new_string(id));
        tq_json_line(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(j);
    } else {
        struct row *r = tq_grow(*rows, *n, cap, sizeof(**rows), 64);
        if (r == NULL)
            return -1;
        *rows = r;
        r = &(*rows)[(*n)++];
        memset(r, 0, sizeof(*r));
        r->us = strtoull(fv(e, TW_AF_TIME), NULL, 10);
        const char *v[NCOLS] = {t, fv(e, TW_AF_SEQ), fv(e, TW_AF_KIND), fv(e, TW_AF_REDIS_USER),
                                fv(e, TW_AF_OS_USER), fv(e, TW_AF_HOST), fv(e, TW_AF_SUBCOMMAND),
                                fv(e, TW_AF_SENSORS), fv(e, TW_AF_ROWS), fv(e, TW_AF_EXIT),
                                fv(e, TW_AF_KEY), fv(e, TW_AF_ARGS)};
        for (int c = 0; c < NCOLS; c++)
            if ((r->cell[c] = strdup(v[c][0] ? v[c] : "-")) == NULL)
                return -1;
    }
    return 0;
}

static int run(struct tw_rclient *c, const struct tq_opts *o)
{
    char trail[256], end[48], start[48];
    struct row *rows = NULL;
    size_t n = 0, cap = 0;
    uint64_t shown = 0;
    int failed = 0, done = 0;

    tq_audit_bank_trail(o->bank, trail, sizeof(trail), NULL, 0);
    if (o->has_until)
        snprintf(end, sizeof(end), "%" PRIu64, o->until_us / 1000 + 1000); /* the ID's ms */
    else
        snprintf(end, sizeof(end), "+");
    if (o->has_since)
        snprintf(start, sizeof(start), "%" PRIu64, o->since_us / 1000);
    else
        snprintf(start, sizeof(start), "-");
    if (o->format == TQ_CSV) {
        const char *names[NOUT + 1];
        for (size_t k = 0; k < NOUT; k++)
            names[k] = tw_audit_field_name((enum tw_audit_field)out_fields[k]);
        names[NOUT] = "id";
        tq_csv_header(names, NOUT + 1);
    }
    while (!done && !failed) {
        redisReply *r = tw_rclient_command(c, "XREVRANGE %s %s %s COUNT %d", trail, end, start,
                                           TQ_PAGE);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
            tq_reply_failed(c, r, "XREVRANGE");
            failed = 1;
            break;
        }
        done = r->elements < TQ_PAGE;
        for (size_t i = 0; i < r->elements && !failed; i++) {
            struct tw_audit_entry e;
            const char *id = "";
            if (tq_audit_entry_from_reply(r->element[i], &e, &id) < 0)
                continue;
            if (i + 1 == r->elements) /* the next page: strictly before this id */
                snprintf(end, sizeof(end), "(%s", id);
            uint64_t us = strtoull(fv(&e, TW_AF_TIME), NULL, 10);
            if ((o->has_since && us < o->since_us) || (o->has_until && us > o->until_us) ||
                !user_matches(&e))
                continue;
            if (print_entry(&e, id, o->format, &rows, &n, &cap) < 0) {
                fprintf(stderr, PROG ": out of memory\n");
                failed = 1;
            }
            if (++shown >= o->limit) {
                done = 1;
                break;
            }
        }
        freeReplyObject(r);
    }
    if (!failed && o->format == TQ_TABLE)
        tq_table_print(&audit_table, rows, n);
    else if (!failed && shown == 0)
        fprintf(stderr, PROG ": no audit entry matches\n");
    for (size_t i = 0; i < n; i++)
        for (int col = 0; col < NCOLS; col++)
            free(rows[i].cell[col]);
    free(rows);
    return tq_finish(failed);
}

const struct tq_subcommand tq_cmd_audit = {
    .name = "audit",
    .summary = "the audit trail: who asked what, when, and how many rows it got",
    .usage = "audit [--bank NAME] [--since T] [--until T] [--user U] [--limit N] [--cursor T]\n"
             "      [--format F]\n"
             "                   the audit trail of --bank (else of the questions without a bank),\n"
             "                   newest first: a \"query\" entry before each answer, a \"done\" entry\n"
             "                   after it (rows, exit status); --user U: Redis or OS user U;\n"
             "                   --cursor T, the next page: only entries of time at most T\n",
    .common = TQ_OPT_SINCE | TQ_OPT_UNTIL | TQ_OPT_LIMIT | TQ_OPT_FORMAT | TQ_OPT_CURSOR,
    .own = (const struct tq_option[]){{"user", parse_user}, {NULL, NULL}},
    .run = run,
};
