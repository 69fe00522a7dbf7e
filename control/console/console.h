/* console.h - what the parts of tapwatch-console share (internal to control/console/).
 *
 *   console.c  main(): options, the configuration file, `passwd USER`, the HTTPS server
 *   http.c     one request: routing, sessions checked, API answers, pages
 *   ask.c      one question to the query tool's code (tq_query_main) in a child process, its
 *              answer captured, limited in size and time
 *   users.c    the users file (Argon2id hashes), sessions, failed logins slowed down
 *   html.c     text from a record made safe for HTML and URLs; tables and SVG charts
 *   columns.c  the Flows and Alerts tables' columns: those of tapwatch-query's table output
 */
#ifndef TW_CONSOLE_H
#define TW_CONSOLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CPROG "tapwatch-console"

struct tc_config {
    const char *listen_host; /* "127.0.0.1" */
    unsigned port;
    const char *redis_url, *redis_user, *redis_password_file, *redis_tls_ca;
    const char *sensor, *bank, *audit_key;
    const char *cert, *key, *users;
    /* the sensor's signing keys' .pub, oldest first (several across key rotations), NULL-ended:
     * Coverage checks the statements */
    const char *pubkeys[9];
    int insecure_http, no_csp;
    unsigned idle_s;       /* a session unused this long ends */
    unsigned timeout_ms;   /* an answer that takes longer is cut: 504 */
    size_t max_bytes;      /* an answer larger is cut: 413 */
    uint64_t max_limit;    /* largest limit= asked */
    const char *equipment[33]; /* the Equipment page's list (--equipment), NULL-ended */
};
extern struct tc_config tc_cfg;

/* ---- ask.c ---- */

struct tc_answer {
    char *out;      /* stdout of the query tool: JSON lines (free()) */
    size_t out_len;
    char err[512];  /* its first stderr line, "" when none */
    int status;     /* its exit status; -1 killed (too slow), -2 too large, -3 failed to run */
};

/* Runs tapwatch-query's argv (argv[0] its name) in a child on behalf of asker
 * ("console:USER@ADDR", written to the audit trail). Returns 0 (see a->status), -1 no memory. */
int tc_ask(char *const *argv, int argc, const char *asker, struct tc_answer *a);

/* ---- users.c ---- */

/* `passwd USER`: reads the password from stdin (first line), writes the users file (mode
 * 0600). Returns the exit status. */
int tc_passwd(const char *path, const char *user);
/* Checks the users file's owner and mode. Returns 0, or -1 with the reason in err. */
int tc_users_check(const char *path, char *err, size_t len);
/* 1 when user's password is pass, 0 when not or no such user, -1 file unreadable. */
int tc_users_verify(const char *path, const char *user, const char *pass);
/* Failed logins of (user, addr): the delay (ms) to wait before answering a failure, counting
 * it; a success forgets them. */
unsigned tc_login_failed(const char *user, const char *addr, unsigned *count);
void tc_login_ok(const char *user, const char *addr);
/* A new session for user into token (65 bytes). Returns 0, or -1 (table full). */
int tc_session_new(const char *user, char token[65]);
/* The user of a live session (touched) into user (64 bytes). Returns 1, or 0 (none/expired). */
int tc_session_user(const char *token, char *user, size_t len);
void tc_session_end(const char *token);

/* ---- html.c ---- */

/* A growing text buffer (answer bodies). */
struct tc_buf {
    char *p;
    size_t len, cap;
    int oom;
};
void tc_buf_add(struct tc_buf *b, const char *s, size_t n);
void tc_buf_puts(struct tc_buf *b, const char *s);
void tc_buf_printf(struct tc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s escaped for HTML text and quoted attribute values (& < > " ' and control bytes). */
void tc_buf_html(struct tc_buf *b, const char *s);
/* s percent-encoded for a URL query value (all but unreserved characters). */
void tc_buf_url(struct tc_buf *b, const char *s);
/* s as a JSON string, quotes included. */
void tc_buf_json_str(struct tc_buf *b, const char *s);

/* ---- columns.c ---- */

struct json_object;
/* The columns of `tapwatch-query flows` and `tapwatch-query alerts` table output, in its
 * order, NULL-ended. */
extern const char *const tc_flow_cols[];
extern const char *const tc_alert_cols[];
/* The text of column col (of the list cols: tc_flow_cols or tc_alert_cols) for one row, the
 * tool's JSON object, as the tool's table cell gives it, raw (not escaped) into out.
 * Returns 0, -ENOENT when col is none of cols', -EINVAL when len is 0. */
int tc_column_text(const char *const *cols, struct json_object *row, const char *col, char *out,
                   size_t len);
/* 1 when a sensor= value asks several sensors (a list or a glob, as tapwatch-query decides):
 * the tables then begin with the tool's SENSOR column. */
int tc_sensors_several(const char *sel);

#endif
