/* query.h - what the parts of tapwatch-query share (internal to control/query/).
 *
 *   query.c        main(): global options, the options several subcommands take, the
 *                  subcommand table, --help
 *   cmd_<name>.c   one subcommand: its own options, its reads, its output
 *   common.c       argument checks, Redis reply failures, growing arrays
 *   output.c       table (columns sized to their cells), CSV, JSON lines, end of the answer
 *   escape.c       text from the wire made safe for a terminal and a spreadsheet
 *   timeparse.c    the times a user types (--since, --until)
 *
 * A new subcommand is one cmd_<name>.c that defines `const struct tq_subcommand
 * tq_cmd_<name>` and one row in query.c's SUBCOMMANDS list.
 *
 * The tool only reads Redis (ZREVRANGEBYSCORE, GETRANGE, HGET, XREVRANGE, HGETALL...): it
 * works with a read-only Redis user, and links nothing that writes
 * (tests/integration/test_query_links.sh).
 */
#ifndef TW_QUERY_H
#define TW_QUERY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <hiredis/hiredis.h>

#include "control/record/alert.h"
#include "control/store/redis_client.h"

#define PROG "tapwatch-query"

/* Exit status: 0 answered, 1 Redis unreachable or failing, 2 bad command line or a Redis that
 * refuses us (NOAUTH, WRONGPASS, NOPERM, a certificate): a configuration error. */
#define EXIT_REDIS 1
#define EXIT_USAGE 2

#define TQ_DEFAULT_LIMIT 100 /* --limit not given */
#define TQ_STR_(x) #x
#define TQ_STR(x) TQ_STR_(x) /* a number macro as a string literal, for --help */
#define TQ_PAGE 512 /* records read per round trip (flow records, alert stream entries) */

enum tq_format { TQ_TABLE, TQ_JSON, TQ_CSV };

/* The options several subcommands take, parsed once in query.c; a subcommand names those it
 * takes in its row (TQ_OPT_* bits). Its own options it parses itself (tq_subcommand.parse). */
enum { TQ_OPT_SINCE = 1, TQ_OPT_UNTIL = 2, TQ_OPT_LIMIT = 4, TQ_OPT_FORMAT = 8,
       TQ_OPT_EQUIPMENT = 16 };

struct tq_opts {
    const char *sensor;
    int has_since, has_until;
    uint64_t since_us, until_us;
    uint64_t limit;
    enum tq_format format;
    char equipment[TW_EQUIPMENT_LEN]; /* "" = any */
};

/* One of a subcommand's own options: its name (no leading "--") and parse(value), called when
 * it is given. parse returns 0, or EXIT_USAGE after one line on stderr (tq_usage_error). */
struct tq_option {
    const char *name;
    int (*parse)(const char *value);
};

struct tq_subcommand {
    const char *name;
    const char *summary; /* its line in --help's list */
    const char *usage;   /* its section of --help: synopsis and options */
    unsigned common;     /* TQ_OPT_* it takes */
    const struct tq_option *own; /* its own options, up to a NULL name; NULL: none */
    /* What the options need together, once all are read (NULL: nothing). Returns 0, or
     * EXIT_USAGE after one line on stderr. */
    int (*check)(const struct tq_opts *o);
    /* Its one word after the subcommand's name (`flow FLOW_ID`), or NULL: it takes none.
     * Returns 0, or EXIT_USAGE after one line on stderr. */
    int (*word)(const char *value);
    /* Answers on stdout. Returns the exit status (0, or EXIT_REDIS after saying why). */
    int (*run)(struct tw_rclient *c, const struct tq_opts *o);
};

/* ---- common.c ---- */

/* Prints "tapwatch-query: <message> (see tapwatch-query --help)" on stderr; returns
 * EXIT_USAGE. */
int tq_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Decimal text (digits only) in [min, max] into *out. Returns 0, or -1 (*out untouched). */
int tq_parse_uint(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* Is s a sensor or equipment name: 1 to 63 of [A-Za-z0-9_.-]? Returns 1 or 0. */
int tq_valid_name(const char *s);

/* Says on stderr why a reply r to `what` is not what was asked (error reply, no reply: the
 * connection's error, wrong type) and frees r. Returns -1; the connection is not used
 * afterwards. */
int tq_reply_failed(struct tw_rclient *c, redisReply *r, const char *what);

/* 1 once a reply said the configuration is wrong (NOPERM...): main then exits EXIT_USAGE. */
int tq_refused(void);

/* Makes room for item n of the growing array items (n used, *cap allocated, each size bytes;
 * the first allocation holds `first`). Returns the array, moved or not, or NULL after saying
 * "out of memory" on stderr (items is then unchanged and still to be freed). */
void *tq_grow(void *items, size_t n, size_t *cap, size_t size, size_t first);

/* ---- output.c ---- */

/* Prints one CSV field, then ',' or (last) '\n': control bytes escaped as \xNN, a cell that
 * starts like a formula (= + - @ TAB CR) neutralised with a quote, quoted when it holds ','
 * or '"' (escape.h: tq_csv_cell). */
void tq_csv_field(const char *s, int last);

/* Prints one JSON object and '\n', with any raw control byte escaped (escape.h:
 * tq_json_text): the text came from Redis, where anyone with write access could alter it. */
void tq_json_line(const char *json);

/* Prints the header line of n CSV columns. */
void tq_csv_header(const char *const *names, size_t n);

/* Writes "YYYY-MM-DD HH:MM:SS" (with_time) or "YYYY-MM-DD", UTC, of us into out. */
void tq_utc_text(uint64_t us, int with_time, char *out, size_t len);

/* Table rows are kept until the end so the columns can be sized to their cells. */
struct tq_table {
    size_t ncols;
    const char *const *names;  /* header */
    const unsigned char *right; /* per column: 1 = right-aligned (numbers); NULL: none */
    /* writes the text of row i, column col into out (at most len bytes) */
    void (*cell)(const void *rows, size_t i, size_t col, char *out, size_t len);
    const char *none; /* said on stderr when there is no row: "no flows match" */
};

/* Prints the header and n rows, each column as wide as its widest cell. */
void tq_table_print(const struct tq_table *t, const void *rows, size_t n);

/* Ends the answer: flushes stdout. Returns the exit status: EXIT_REDIS when failed (already
 * said) or when stdout cannot be written (said), else 0. */
int tq_finish(int failed);

#endif
