/* verify_items.h - `flows --verify` and `alerts --verify`: each row an answer prints, checked
 * against the sensor's signed chain (control/evidence/chain.h, seal.h) and marked.
 *
 *   flows/alerts ──tq_vi_add (a row: its run, seq, bytes as chained)──> rows
 *   tq_vi_check_rows ──tq_verify_items (cmd_verify.c: verify's reads and chain checks, quiet)──>
 *       every item of the store with its outcome ──matched on run, seq, kind and bytes──> rows
 *   printing: JSON `"verified":true|false`, CSV column `verified`, table column VERIFIED
 *   (yes / FAILED), one stderr line per row that fails saying why; exit 3 when one does.
 *
 * Cost: a seal covers items of any hour, and nothing says where an item of a given number
 * is stored, so the whole signed store of the sensor is read, as `verify` reads it (every
 * record frame, alert, gap record, statement): --verify costs what `verify` costs, whatever
 * --limit is. The chain cannot tell which item of a seal was changed: one item altered fails
 * every row its seal covers.
 */
#ifndef TQ_VERIFY_ITEMS_H
#define TQ_VERIFY_ITEMS_H

#include <stddef.h>
#include <stdint.h>

#include "control/query/key_set.h"
#include "control/query/query.h"

/* the exit status of an answer one of whose rows does not verify (as verify's) */
#define TQ_VI_EXIT_UNVERIFIED 3

/* What became of one item (and so of the row that printed it). */
enum tq_vi_status {
    TQ_VI_OK = 0,          /* in a seal with a good signature, its seal's items hash to its chain */
    TQ_VI_ALTERED,         /* its seal's items do not hash to its chain */
    TQ_VI_DELETED_SEAL,    /* the seal that covered its number is gone (a hole in the seals) */
    TQ_VI_NOT_COVERED,     /* no seal covers its number (inserted, or not sealed yet) */
    TQ_VI_BAD_SIGNATURE,   /* its seal is not signed by a key given (or accepted then) */
    TQ_VI_NO_SEQ,          /* it carries no sequence number */
    TQ_VI_INCOMPLETE,      /* items of its seal were deleted: its chain cannot be recomputed */
    TQ_VI_EXPIRED,         /* items of its seal expired (TTL): its chain cannot be recomputed */
    TQ_VI_INSERTED,        /* another item holds its number and the chain took that one */
};

/* cmd_verify.c: runs verify's reads and chain checks over o's sensor's whole store (no time
 * range: o's --since/--until are ignored) with keys (loaded, rotations read in), printing
 * nothing, and calls result once per chain item read with its outcome (enum tq_vi_status).
 * Returns 0, or -1 after saying why on stderr (Redis failed, no memory). */
typedef void tq_vi_result(void *arg, const char *run, uint64_t seq, char kind, const void *bytes,
                          size_t len, int status);
int tq_verify_items(struct tw_rclient *c, const struct tq_opts *o, const struct tq_key_set *keys,
                    tq_vi_result *result, void *arg);

/* The options of flows and alerts: --verify (a flag), --pubkey FILE.pub (repeatable: the
 * first trusted, later ones through the sensor's key rotations, key_set.h). parse functions
 * of struct tq_option: 0, or EXIT_USAGE (said). */
int tq_vi_opt_verify(const char *v);
int tq_vi_opt_pubkey(const char *v);
/* 1 when --verify was given. */
int tq_vi_wanted(void);
/* The subcommand's check: --verify needs --pubkey and one sensor, --pubkey needs --verify;
 * the key files are loaded here. Returns 0, or EXIT_USAGE (said). */
int tq_vi_check(const struct tq_opts *o);

/* The rows of an answer, in the order they print. */
struct tq_vi_row {
    char run[17];
    uint64_t seq; /* 0: the row carries none */
    char kind;    /* chain.h: TW_ITEM_RECORD, TW_ITEM_ALERT */
    char *bytes;  /* what the chain hashes (NUL-ended after len), malloc'd */
    size_t len;
    int status;   /* enum tq_vi_status, after tq_vi_check_rows */
    char label[64]; /* how the stderr line names it: "flow 0123...", "alert 1700000000000-0" */
};

struct tq_vi_rows {
    struct tq_vi_row *r;
    size_t n, cap;
};

/* Adds a row: a record's stored JSON text (its run and seq from the tag at its end). Returns 0,
 * or -1 (no memory, said). */
int tq_vi_add_record(struct tq_vi_rows *v, const char *json, size_t len, const char *label);
/* Adds a row: an alert's stream entry fields fv (the reply's [field, value, ...] array), its
 * bytes as chain.h's tw_chain_fields makes them, run and seq from its fields. Returns 0 or -1. */
int tq_vi_add_alert(struct tq_vi_rows *v, const redisReply *fv, const char *label);

/* Checks every row (tq_verify_items) and sets its status. Returns 0, or EXIT_REDIS (said). */
int tq_vi_check_rows(struct tw_rclient *c, const struct tq_opts *o, struct tq_vi_rows *v);

/* 1 when row i verified. */
int tq_vi_ok(const struct tq_vi_rows *v, size_t i);

/* Prints json (one object) with "verified":true|false before its closing brace. */
void tq_vi_json_line(const char *json, int ok);

/* Prints the CSV header names[0..n) and `verified`. */
void tq_vi_csv_header(const char *const *names, size_t n);

/* Prints table t (n rows) with a last column VERIFIED: yes, or FAILED. */
void tq_vi_table_print(const struct tq_table *t, const void *rows, size_t n,
                       const struct tq_vi_rows *v);

/* Says on stderr one line per row that did not verify, and why. Returns how many. */
size_t tq_vi_report(const struct tq_vi_rows *v);

void tq_vi_rows_free(struct tq_vi_rows *v);

#endif
