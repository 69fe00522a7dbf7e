/* query.h - what the parts of tapwatch-query share (internal to control/query/).
 *
 *   query.c        main(): global options, the options several subcommands take, the
 *                  subcommand table, --help
 *   cmd_<name>.c   one subcommand: its own options, its reads, its output
 *   common.c       argument checks, Redis reply failures, growing arrays
 *   output.c       table (columns sized to their cells), CSV, JSON lines, end of the answer
 *   escape.c       text from the wire made safe for a terminal and a spreadsheet
 *   timeparse.c    the times a user types (--since, --until)
 *   sensors.c      which sensors a query reads: --sensor a,b / 'glob', --all-sensors, --bank,
 *                  the registry of sensors per bank (control/record/fleet_keys.h)
 *   inventory.c    the equipment inventory a sensor publishes (tw:{S}:inventory), read and
 *                  checked: flows --equipment, equipment
 *   merge.c        a subcommand run once per sensor, its answers merged newest first with a
 *                  sensor column
 *   verify_items.c flows/alerts --verify: the rows printed, checked with verify's checks
 *                  (cmd_verify.c's tq_verify_items) and marked
 *   audit_trail.c  the audit entries of every question, before and after its answer (the
 *                  one place it writes to Redis: the trail, through one EVAL)
 *
 * A new subcommand is one cmd_<name>.c that defines `const struct tq_subcommand
 * tq_cmd_<name>` and one row in query.c's SUBCOMMANDS list.
 *
 * The tool only reads the sensors' keys (ZREVRANGEBYSCORE, GETRANGE, HGET, XREVRANGE,
 * HGETALL...) and links nothing that writes them (tests/integration/test_query_links.sh); its
 * one write is the audit trail of the questions it answers (audit_trail.c), so its Redis user
 * reads every sensor key and may append to the trail (control/store/redis_acl.c).
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
/* 4: the question's audit entry could not be written (audit_trail.c), so it was not answered
 * (3 is verify's "does not verify") */
#define EXIT_AUDIT 4

#define TQ_DEFAULT_LIMIT 100 /* --limit not given */
#define TQ_STR_(x) #x
#define TQ_STR(x) TQ_STR_(x) /* a number macro as a string literal, for --help */
#define TQ_PAGE 512 /* records read per round trip (flow records, alert stream entries) */

enum tq_format { TQ_TABLE, TQ_JSON, TQ_CSV };

/* The options several subcommands take, parsed once in query.c; a subcommand names those it
 * takes in its row (TQ_OPT_* bits). Its own options it parses itself (tq_subcommand.parse). */
enum { TQ_OPT_SINCE = 1, TQ_OPT_UNTIL = 2, TQ_OPT_LIMIT = 4, TQ_OPT_FORMAT = 8,
       TQ_OPT_EQUIPMENT = 16, TQ_OPT_CURSOR = 32 };

struct tq_opts {
    const char *sensor;
    int has_since, has_until;
    uint64_t since_us, until_us;
    /* --cursor T, the next page of an answer newest first: only rows whose order time
     * (flows last_seen, statements to, alerts ts, audit time) is at most T. until_us is
     * lowered to it too (a row's order time is never before the time --until compares) */
    int has_cursor;
    uint64_t cursor_us;
    uint64_t limit;
    enum tq_format format;
    char equipment[TW_EQUIPMENT_LEN]; /* "" = any */
    /* which sensors (sensors.c): sensor above is the key namespace a subcommand reads */
    const char *bank;       /* --bank NAME, NULL = none */
    const char *sensor_sel; /* --sensor as given (a name, a list a,b,c, a glob), NULL = not given */
    int all_sensors;        /* --all-sensors */
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
    const struct tq_option *own_flags; /* its own options that take no value (parse gets
                                        * "1"), up to a NULL name; NULL: none */
    /* What the options need together, once all are read (NULL: nothing). Returns 0, or
     * EXIT_USAGE after one line on stderr. */
    int (*check)(const struct tq_opts *o);
    /* Its one word after the subcommand's name (`flow FLOW_ID`), or NULL: it takes none.
     * Returns 0, or EXIT_USAGE after one line on stderr. */
    int (*word)(const char *value);
    /* Answers on stdout. Returns the exit status (0, or EXIT_REDIS after saying why). */
    int (*run)(struct tw_rclient *c, const struct tq_opts *o);
    /* Several sensors (merge.c): called once every sensor ran without failing, before the
     * merged answer is printed; returns 0, or an exit status after one line on stderr (the
     * answer is then not printed). NULL: nothing to check. */
    int (*fleet_check)(const struct tq_opts *o);
};

/* ---- query.c ---- */

/* The whole of tapwatch-query on argv (main.c calls it; the console runs it in a child
 * process per question, its stdout captured): parses, writes the audit trail, answers on
 * stdout. Returns the exit status. Run it once per process: the subcommands keep their
 * options in static storage. */
int tq_query_main(int argc, char **argv);

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
    /* the time (epoch µs) the rows are ordered by, newest first: merge.c merges sensors'
     * tables on it. NULL: the rows have no such time. */
    uint64_t (*key)(const void *rows, size_t i);
};

/* merge.c, while it runs a subcommand for one sensor of several: tq_table_print hands it the
 * table instead of printing it. NULL otherwise. */
extern void (*tq_table_taker)(const struct tq_table *t, const void *rows, size_t n);

/* Prints the header and n rows, each column as wide as its widest cell. */
void tq_table_print(const struct tq_table *t, const void *rows, size_t n);

/* Ends the answer: flushes stdout. Returns the exit status: EXIT_REDIS when failed (already
 * said) or when stdout cannot be written (said), else 0. */
int tq_finish(int failed);

/* Rows answered so far: tq_table_print, tq_json_line and CSV lines count them (a header is
 * not a row); merge.c sets it to what the merged answer printed. */
extern uint64_t tq_rows;

/* ---- audit_trail.c ---- */

/* Loads the key that signs the audit entries: path given (--audit-key, $TAPWATCH_AUDIT_KEY):
 * explicit; else the per-user default, which may be absent (entries then go unsigned).
 * Returns 0, or EXIT_USAGE after one line on stderr (a key named that cannot be loaded). */
int tq_audit_key(const char *path, int explicit);

/* Writes the "query" entry of sub with the command line argv to the trail of the bank asked
 * (--bank, else the bank of the sensors asked when they share one, else none). named_user:
 * the ACL user the options name, said when ACL WHOAMI is not allowed. Returns 0, or
 * EXIT_AUDIT after one line on stderr: the question must not be answered. */
int tq_audit_begin(struct tw_rclient *c, const struct tq_subcommand *sub, struct tq_opts *o,
                   int argc, char **argv, const char *named_user);

/* Who asked, when a program answers for someone else (the console: "console:USER@ADDR");
 * written before the OS user in the entry's os_user field. NULL: nobody else. */
extern const char *tq_audit_asker;

/* Writes the "done" entry: rows answered and the exit status rc. Returns rc, or EXIT_AUDIT
 * (after one line on stderr) when the entry could not be written and rc was 0. */
int tq_audit_end(struct tw_rclient *c, int rc, uint64_t rows);

/* The trail (and head) key of bank ("" or NULL: none); head may be NULL. */
void tq_audit_bank_trail(const char *bank, char *trail, size_t tlen, char *head, size_t hlen);

/* ---- cmd_audit.c ---- */

struct tw_audit_entry;
/* A stream entry reply [id, [field, value...]] into e (values borrowed from r), *id its stream
 * id. Returns 0, 1 when it holds a field that is none of an audit entry's (or one twice),
 * -1 when r is not a stream entry. */
int tq_audit_entry_from_reply(const redisReply *r, struct tw_audit_entry *e, const char **id);

/* ---- audit_verify.c ---- */

/* Checks the audit trail of bank ("" or NULL: the one without a bank) against npk public keys
 * (none: the chain alone), printing one line per finding and a summary line on out;
 * known_head "SEQ:HASH" (NULL: none) is a head seen before that must still be there.
 * Returns 0 when it verifies, 3 when not, EXIT_REDIS after saying why. */
/* 0 when v is a --known-head SEQ:HASH as verify --audit prints it, else EXIT_USAGE (said). */
int tq_audit_known_head_check(const char *v);

int tq_audit_verify(struct tw_rclient *c, const char *bank, const uint8_t (*pks)[32],
                    const char (*fprs)[17], size_t npk, const char *known_head, FILE *out);

/* ---- verify_witness.c ---- */
/* verify's options --witness URL, --witness-user U, --witness-password-file F,
 * --witness-tls-ca F, --witness-grace S (tq_option parse functions). */
int tq_witness_opt_url(const char *v);
int tq_witness_opt_user(const char *v);
int tq_witness_opt_password_file(const char *v);
int tq_witness_opt_tls_ca(const char *v);
int tq_witness_opt_grace(const char *v); /* --witness-grace S: younger seals may lack */
/* 1 when --witness was given. */
int tq_witness_wanted(void);
/* The options together (audit: verify --audit). Returns 0 or EXIT_USAGE (said). */
int tq_witness_check(int audit);
/* Compares the store's seals of o->sensor (read through store) with the witness's hashes of
 * them, printing one line per finding (altered/deleted/inserted: witness: ...), the pending
 * ones, and a summary line. Returns the findings, -1 when a Redis failed (said), -2 when the
 * witness refused us or its settings are wrong (said). */
long tq_verify_witness(struct tw_rclient *store, const struct tq_opts *o, uint64_t now_us);

/* ---- sensors.c ---- */

/* One sensor a query reads: its registration when it has one. */
struct tq_sensor {
    char name[64];   /* as --sensor names it: "s1", or "A/s1" without --bank */
    char ns[64];     /* its key namespace (fleet_keys.h), as the sensor column names it */
    char sensor[64], bank[32];
    int registered;
    uint64_t first_seen_s, last_seen_us, started_us;
    char version[32], hostname[256], run[17], geoip_sha256[65], policy_sha256[65], pubkey[128];
};

/* Checks --sensor and --bank once the command line is read. Returns 0, or EXIT_USAGE after
 * one line on stderr. */
int tq_sensors_check(const struct tq_opts *o);

/* 1 when the command line asks several sensors (--sensor a,b, a glob, --all-sensors): the
 * answer then has a sensor column. */
int tq_sensors_several(const struct tq_opts *o);

/* The key namespace of the one sensor asked (--bank and --sensor) into out (64 bytes). */
void tq_sensor_namespace(const struct tq_opts *o, char *out, size_t len);

/* The sensors the command line selects, sorted by name, into *out (n of them, free()):
 * a list is taken as given; a glob or --all-sensors reads the registry of --bank, or without
 * it those of every bank (tw:banks) and of the sensors without a bank. registered_only: a
 * listed name must be registered too (the sensors subcommand). Returns 0, or -1 after saying
 * why (Redis failed). */
int tq_sensors_select(struct tw_rclient *c, const struct tq_opts *o, int registered_only,
                      struct tq_sensor **out, size_t *n);

/* ---- merge.c ---- */

/* Runs sub for the sensors the command line asks: once as before for one sensor, else once
 * per sensor with the answers merged newest first (by the time of tq_table.key, the JSON key
 * or CSV column of the subcommand's order), at most --limit rows, a sensor column first
 * (its key namespace: "<bank>/<sensor>" or "<sensor>").
 * Returns the exit status. */
int tq_fleet_run(const struct tq_subcommand *sub, struct tw_rclient *c, struct tq_opts *o);

/* One row of a merged answer. */
struct tq_merge_row {
    uint64_t key;   /* its time: newest first */
    size_t sensor;  /* index of its sensor (ties: the earlier sensor first) */
    size_t seq;     /* its place in its sensor's answer (ties: kept) */
    char *line;     /* JSON, CSV or text line as the subcommand printed it */
    char **cells;   /* table cells (raw text), NULL for a line */
    int has_sensor; /* a JSON line with a "sensor" key of its own */
};

/* Sorts rows newest first (key descending, then sensor, then seq ascending) and returns how
 * many to print: at most limit (0: all). */
size_t tq_merge_order(struct tq_merge_row *rows, size_t n, uint64_t limit);

/* The time of a cell or a line's first field: "1700000000.123456" (epoch seconds with up to
 * six decimals) in µs; else the digits of its first word ("2026-03-02" -> 20260302), which
 * order dates and hours as time does. 0 when it has no digit. */
uint64_t tq_merge_text_key(const char *text);

#endif
