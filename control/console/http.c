/* http.c - one request to the console: who asks (the session cookie), what (the path and its
 * parameters, turned into the query tool's command line), and the answer: for /api/v1/... one
 * JSON object {"rows": [the tool's JSON objects], "next": the next page's URL or null}, an
 * HTML page otherwise.
 *
 * Every answer that reads records is a question to the query tool's code (ask.c), which
 * writes it to the audit trail before answering, as tapwatch-query does, with the console
 * user and address as the asker. Parameters are the query tool's option names (since, until,
 * ip, port, app, kind...); one it does not know, or one its subcommand does not take, is a
 * 400 with the tool's own reason as a JSON error.
 *
 * Pages: every value from a record is escaped for its context (html.c); links are built only
 * from this console's own paths with percent-encoded values; no script at all, and a
 * Content-Security-Policy that allows none; charts are SVG drawn here.
 */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/console/console.h"

#define BODY_MAX 8192
#define COOKIE "tw_session"

extern const char tc_css[];

/* One request while its body arrives. */
struct req {
    struct tc_buf body;
    int too_big;
};

/* The query tool's options a request may give, all "--NAME VALUE". */
static const char *const params_known[] = {"since", "until", "limit", "ip", "port", "app",
                                           "tunnel-id", "country", "asn", "equipment", "kind",
                                           "rule", "by", "user", "sensor", "key", "cursor",
                                           "verify", NULL};

/* The endpoints: API name -> subcommand, the JSON key of its order (the cursor), limit taken. */
static const struct endpoint {
    const char *name, *time_key;
    int limit;
} endpoints[] = {{"flows", "last_seen", 1},  {"alerts", "ts", 1}, {"summary", "start", 0},
                 {"statements", "to", 1},     {"audit", "time", 1}, {NULL, NULL, 0}};

static int known_param(const char *k)
{
    for (size_t i = 0; params_known[i]; i++)
        if (strcmp(params_known[i], k) == 0)
            return 1;
    return 0;
}

/* ---- answers ---- */

static enum MHD_Result send_buf(struct MHD_Connection *conn, unsigned status, const char *type,
                                struct tc_buf *b, const char *h1, const char *v1)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (b->oom) {
        free(b->p);
        b->p = NULL;
        b->len = 0;
        status = 500;
    }
    r = MHD_create_response_from_buffer(b->len, b->p ? b->p : (void *)"", b->p ? MHD_RESPMEM_MUST_FREE
                                                                                 : MHD_RESPMEM_PERSISTENT);
    b->p = NULL;
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    if (!tc_cfg.no_csp)
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; style-src 'self'; img-src 'self'; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (!tc_cfg.insecure_http)
        MHD_add_response_header(r, "Strict-Transport-Security", "max-age=31536000");
    if (h1 != NULL)
        MHD_add_response_header(r, h1, v1);
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result json_error(struct MHD_Connection *conn, unsigned status, const char *msg)
{
    struct tc_buf b = {0};
    tc_buf_puts(&b, "{\"error\":");
    tc_buf_json_str(&b, msg);
    tc_buf_printf(&b, ",\"status\":%u}\n", status);
    return send_buf(conn, status, "application/json", &b, NULL, NULL);
}

static enum MHD_Result redirect(struct MHD_Connection *conn, const char *to, const char *cookie)
{
    struct tc_buf b = {0};
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;
    (void)b;
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Location", to);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (cookie != NULL)
        MHD_add_response_header(r, "Set-Cookie", cookie);
    ret = MHD_queue_response(conn, 303, r);
    MHD_destroy_response(r);
    return ret;
}

/* The HTTP status and message of a question the tool did not answer. */
static unsigned failed_status(const struct tc_answer *a, const char **msg)
{
    switch (a->status) {
    case -1: *msg = "the answer took too long (narrow the range or lower limit)"; return 504;
    case -2: *msg = "the answer is too large (narrow the range or lower limit)"; return 413;
    case -3: *msg = "the question could not be run"; return 500;
    case 2: *msg = a->err[0] ? a->err : "bad parameters"; return 400;
    case 3: *msg = a->err[0] ? a->err : "not found"; return 404;
    case 4: *msg = "refused: the question could not be written to the audit trail"; return 503;
    default: *msg = "Redis unreachable or failing"; return 502;
    }
}

/* ---- the question ---- */

struct question {
    struct MHD_Connection *conn;
    const char *user, *addr;
    char *argv[64];
    int argc;
    char *own[64]; /* strings allocated for argv, freed after */
    int nown;
    const char *bad; /* a parameter that is not an option */
    uint64_t limit;
    int verify; /* verify=1: flows/alerts --verify with the console's --pubkey */
};

static void arg(struct question *q, const char *s)
{
    if (q->argc < 62)
        q->argv[q->argc++] = (char *)s;
}

static void arg_own(struct question *q, char *s)
{
    if (s != NULL && q->nown < 64) {
        q->own[q->nown++] = s;
        arg(q, s);
    } else {
        free(s);
    }
}

static enum MHD_Result param_cb(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    struct question *q = cls;
    char *opt;
    (void)kind;
    if (strcmp(k, "limit") == 0 || strcmp(k, "sensor") == 0 || strcmp(k, "id") == 0 ||
        strcmp(k, "download") == 0 || strcmp(k, "name") == 0 || strcmp(k, "check") == 0)
        return MHD_YES; /* placed by the caller */
    if (strcmp(k, "verify") == 0) { /* a flag: placed by build() */
        if (v != NULL && strcmp(v, "1") == 0)
            q->verify = 1;
        else if (v != NULL && v[0] != '\0' && strcmp(v, "0") != 0)
            q->bad = k;
        return q->bad != NULL ? MHD_NO : MHD_YES;
    }
    if (!known_param(k)) {
        q->bad = k;
        return MHD_NO;
    }
    if (v == NULL || v[0] == '\0')
        return MHD_YES; /* an empty form field: not given */
    if (asprintf(&opt, "--%s", k) < 0)
        return MHD_YES;
    arg_own(q, opt);
    arg_own(q, strdup(v));
    return MHD_YES;
}

/* The query tool, Redis and the sensor (the request's sensor=, else --sensor), then sub. */
static void build_head(struct question *q, const char *sub)
{
    const char *sensor = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "sensor");

    arg(q, "tapwatch-query");
    arg(q, "--redis");
    arg(q, tc_cfg.redis_url);
    if (tc_cfg.redis_user) { arg(q, "--redis-user"); arg(q, tc_cfg.redis_user); }
    if (tc_cfg.redis_password_file) { arg(q, "--redis-password-file"); arg(q, tc_cfg.redis_password_file); }
    if (tc_cfg.redis_tls_ca) { arg(q, "--redis-tls-ca"); arg(q, tc_cfg.redis_tls_ca); }
    if (tc_cfg.bank) { arg(q, "--bank"); arg(q, tc_cfg.bank); }
    if (tc_cfg.audit_key) { arg(q, "--audit-key"); arg(q, tc_cfg.audit_key); }
    arg(q, "--sensor");
    arg(q, sensor != NULL && sensor[0] ? sensor : tc_cfg.sensor);
    arg(q, sub);
}

/* The command line for subcommand sub (word: its word or NULL), the request's parameters
 * after it; format json unless fmt. Returns 0, or -1 with q->bad set (400). */
static int build(struct question *q, const char *sub, const char *word, const char *fmt,
                 int takes_limit, uint64_t extra)
{
    const char *limit = MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, "limit");
    char *s;

    build_head(q, sub);
    if (word != NULL)
        arg(q, word);
    MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, param_cb, q);
    if (q->bad != NULL)
        return -1;
    if (q->verify) { /* each row against the chain, with the sensor's keys the console holds */
        if (tc_cfg.pubkeys[0] == NULL || (strcmp(sub, "flows") != 0 && strcmp(sub, "alerts") != 0)) {
            q->bad = "verify";
            return -1;
        }
        arg(q, "--verify");
        for (size_t k = 0; tc_cfg.pubkeys[k] != NULL; k++) {
            arg(q, "--pubkey");
            arg(q, tc_cfg.pubkeys[k]);
        }
    }
    arg(q, "--format");
    arg(q, fmt != NULL ? fmt : "json");
    if (takes_limit) {
        char *end = NULL;
        q->limit = 100;
        if (limit != NULL && limit[0]) {
            unsigned long long v = strtoull(limit, &end, 10);
            if (*end != '\0' || v == 0 || v > tc_cfg.max_limit || limit[0] == '-') {
                q->bad = "limit";
                return -1;
            }
            q->limit = v;
        }
        if (asprintf(&s, "%llu", (unsigned long long)(q->limit + extra)) >= 0) {
            arg(q, "--limit");
            arg_own(q, s);
        }
    }
    q->argv[q->argc] = NULL;
    return 0;
}

static void question_free(struct question *q)
{
    for (int i = 0; i < q->nown; i++)
        free(q->own[i]);
}

static int ask(struct question *q, struct tc_answer *a)
{
    char asker[256];
    /* the console account and address; the path's filters are the args the tool writes */
    snprintf(asker, sizeof(asker), "console:%s@%s", q->user, q->addr);
    return tc_ask(q->argv, q->argc, asker, a);
}

/* The answer's JSON lines parsed, up to max (0: all). */
static size_t parse_lines(char *out, json_object **rows, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line != NULL && n < max;
         line = strtok_r(NULL, "\n", &save)) {
        json_object *j = json_tokener_parse(line);
        if (j != NULL)
            rows[n++] = j;
    }
    return n;
}

/* The request's URL again with cursor=CURSOR (the next page), or as it is when cursor is ""
 * (the same question: the downloads), into b. */
static void next_url(struct tc_buf *b, struct MHD_Connection *conn, const char *path,
                     const char *cursor);

static enum MHD_Result api(struct MHD_Connection *conn, const char *user, const char *addr,
                           const char *name)
{
    const struct endpoint *e = endpoints;
    struct question q = {.conn = conn, .user = user, .addr = addr};
    struct tc_answer a;
    struct tc_buf b = {0}, next = {0};
    const char *msg;
    char path[64];
    size_t n = 0;
    enum MHD_Result ret;

    while (e->name != NULL && strcmp(e->name, name) != 0)
        e++;
    if (e->name == NULL)
        return json_error(conn, 404, "no such endpoint: use flows, alerts, summary, statements or audit");
    if (build(&q, e->name, NULL, NULL, e->limit, 1) < 0) {
        char m[160];
        snprintf(m, sizeof(m), "bad parameter \"%.64s\"", q.bad);
        question_free(&q);
        return json_error(conn, 400, m);
    }
    ask(&q, &a);
    question_free(&q);
    if (a.status != 0 && !(q.verify && a.status == 3)) { /* 3: rows that fail, marked */
        unsigned st = failed_status(&a, &msg);
        ret = json_error(conn, st, msg);
        free(a.out);
        return ret;
    }
    /* {"rows": [the lines as they are: the tool's own JSON], "next": URL or null}; one more
     * than the limit was asked: when it came, it is the cursor of the next page */
    tc_buf_puts(&b, "{\"rows\":[");
    for (char *line = a.out, *nl; *line; line = nl) {
        size_t len;
        nl = strchr(line, '\n');
        len = nl ? (size_t)(nl - line) : strlen(line);
        nl = nl ? nl + 1 : line + len;
        if (len == 0)
            continue;
        if (e->limit && n == q.limit) {
            json_object *j, *t;
            line[len] = '\0';
            if ((j = json_tokener_parse(line)) != NULL) {
                if (json_object_object_get_ex(j, e->time_key, &t)) {
                    snprintf(path, sizeof(path), "/api/v1/%s", e->name);
                    next_url(&next, conn, path, json_object_get_string(t));
                }
                json_object_put(j);
            }
            break;
        }
        tc_buf_puts(&b, n ? ",\n" : "\n");
        tc_buf_add(&b, line, len);
        n++;
    }
    tc_buf_puts(&b, n ? "\n],\n\"next\":" : "],\"next\":");
    if (next.p != NULL && !next.oom)
        tc_buf_json_str(&b, next.p); /* the same URL as the Link header's */
    else
        tc_buf_puts(&b, "null");
    tc_buf_puts(&b, "}\n");
    free(a.out);
    if (next.p != NULL && !next.oom) {
        char *link;
        if (asprintf(&link, "<%s>; rel=\"next\"", next.p) < 0)
            link = NULL;
        ret = send_buf(conn, 200, "application/json", &b, link ? "Link" : NULL, link);
        free(link);
    } else {
        ret = send_buf(conn, 200, "application/json", &b, NULL, NULL);
    }
    free(next.p);
    return ret;
}

/* ---- pages ---- */

struct next_ctx {
    struct tc_buf *b;
    int first, paging; /* paging: the request's own cursor is replaced */
};

static enum MHD_Result next_cb(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    struct next_ctx *c = cls;
    (void)kind;
    if ((c->paging && strcmp(k, "cursor") == 0) || v == NULL)
        return MHD_YES;
    tc_buf_puts(c->b, c->first ? "?" : "&");
    c->first = 0;
    tc_buf_url(c->b, k);
    tc_buf_puts(c->b, "=");
    tc_buf_url(c->b, v);
    return MHD_YES;
}

static void next_url(struct tc_buf *b, struct MHD_Connection *conn, const char *path,
                     const char *cursor)
{
    struct next_ctx c = {b, 1, cursor[0] != '\0'};
    tc_buf_puts(b, path);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, next_cb, &c);
    if (cursor[0] == '\0') /* the same question */
        return;
    /* the tool's --cursor: rows whose order time is at most the first row left out's.
     * (--until would not do for flows and statements: it keeps a row that overlaps it,
     * so a long flow would come back on every page) */
    tc_buf_puts(b, c.first ? "?cursor=" : "&cursor=");
    tc_buf_url(b, cursor);
}

static void page_head(struct tc_buf *b, const char *title, const char *user)
{
    tc_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                   "<title>tapwatch: ");
    tc_buf_html(b, title);
    tc_buf_puts(b, "</title><link rel=\"stylesheet\" href=\"/static/console.css\"></head><body>\n");
    if (user != NULL) {
        tc_buf_puts(b, "<nav><a href=\"/flows\">Flows</a> <a href=\"/alerts\">Alerts</a> "
                       "<a href=\"/equipment\">Equipment</a> <a href=\"/coverage\">Coverage</a> "
                       "<a href=\"/audit\">Audit</a> <span class=\"who\">");
        tc_buf_html(b, user);
        tc_buf_puts(b, "</span> <form method=\"post\" action=\"/logout\" class=\"inline\">"
                       "<button type=\"submit\">Log out</button></form></nav>\n");
    }
    tc_buf_puts(b, "<h1>");
    tc_buf_html(b, title);
    tc_buf_puts(b, "</h1>\n");
}

static void page_end(struct tc_buf *b)
{
    tc_buf_puts(b, "</body></html>\n");
}

/* The filter form: fields named like the parameters, their values the request's. */
static void filters(struct tc_buf *b, struct MHD_Connection *conn, const char *action,
                    const char *const *fields)
{
    static const char *const presets[][2] = {{"-1h", "last hour"}, {"-24h", "last day"},
                                             {"-7d", "last week"}, {"-30d", "last 30 days"}};
    tc_buf_puts(b, "<form method=\"get\" class=\"filters\" action=\"");
    tc_buf_html(b, action);
    tc_buf_puts(b, "\">");
    for (size_t i = 0; fields[i]; i++) {
        const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, fields[i]);
        tc_buf_puts(b, "<label>");
        tc_buf_html(b, fields[i]);
        tc_buf_puts(b, " <input name=\"");
        tc_buf_html(b, fields[i]);
        tc_buf_puts(b, "\" id=\"f-");
        tc_buf_html(b, fields[i]);
        tc_buf_puts(b, "\" value=\"");
        tc_buf_html(b, v ? v : "");
        tc_buf_puts(b, "\"></label> ");
    }
    tc_buf_puts(b, "<button type=\"submit\" id=\"apply\">Apply</button></form>\n<p class=\"presets\">");
    for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
        tc_buf_puts(b, "<a href=\"");
        tc_buf_html(b, action);
        tc_buf_puts(b, "?since=");
        tc_buf_url(b, presets[i][0]);
        tc_buf_puts(b, "\">");
        tc_buf_html(b, presets[i][1]);
        tc_buf_puts(b, "</a> ");
    }
    tc_buf_puts(b, "</p>\n");
}

/* A value as text: strings as they are, times (epoch seconds or µs) also in UTC. */
static void cell_text(struct tc_buf *b, json_object *v, const char *key)
{
    const char *s;
    if (v == NULL)
        return;
    if (json_object_is_type(v, json_type_array)) { /* [{"peer":..,"bytes":..}]: "peer bytes, ..." */
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *e = json_object_array_get_idx(v, i);
            if (i)
                tc_buf_puts(b, ", ");
            if (json_object_is_type(e, json_type_object)) {
                int first = 1;
                json_object_object_foreach(e, k, x) {
                    (void)k;
                    tc_buf_puts(b, first ? "" : " ");
                    tc_buf_html(b, json_object_get_string(x));
                    first = 0;
                }
            } else {
                tc_buf_html(b, json_object_get_string(e));
            }
        }
        return;
    }
    if (json_object_is_type(v, json_type_object)) { /* alerts by kind: the non-zero ones */
        int first = 1;
        json_object_object_foreach(v, k, x) {
            if (json_object_is_type(x, json_type_int) && json_object_get_int64(x) == 0)
                continue;
            tc_buf_puts(b, first ? "" : ", ");
            tc_buf_html(b, k);
            tc_buf_puts(b, ": ");
            tc_buf_html(b, json_object_get_string(x));
            first = 0;
        }
        return;
    }
    s = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                  : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    if ((strcmp(key, "last_seen") == 0 || strcmp(key, "first_seen") == 0 || strcmp(key, "ts") == 0 ||
         strcmp(key, "time") == 0 || strcmp(key, "from") == 0 || strcmp(key, "to") == 0 ||
         strcmp(key, "start") == 0) &&
        (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))) {
        double t = json_object_get_double(v);
        time_t sec = (time_t)(t > 1e14 ? t / 1e6 : t);
        struct tm tm;
        char out[32];
        gmtime_r(&sec, &tm);
        strftime(out, sizeof(out), "%Y-%m-%d %H:%M:%S", &tm);
        tc_buf_html(b, out);
        return;
    }
    tc_buf_html(b, s);
}

/* The flow page's link of a row holding flow_id (and flow_key, an alert's). */
static void flow_link(struct tc_buf *b, json_object *row, const char *text)
{
    json_object *id, *key;
    if (!json_object_object_get_ex(row, "flow_id", &id) || json_object_get_string(id)[0] == '\0') {
        tc_buf_html(b, text);
        return;
    }
    tc_buf_puts(b, "<a class=\"flow\" href=\"/flow?id=");
    tc_buf_url(b, json_object_get_string(id));
    if (json_object_object_get_ex(row, "flow_key", &key) && json_object_get_string(key)[0]) {
        tc_buf_puts(b, "&amp;key=");
        tc_buf_url(b, json_object_get_string(key));
    }
    tc_buf_puts(b, "\">");
    tc_buf_html(b, text);
    tc_buf_puts(b, "</a>");
}

/* A table of rows: columns cols (NULL: the first row's keys). tc_flow_cols and tc_alert_cols
 * are the query tool's table columns (columns.c), the time cell linking to the row's flow;
 * several: several sensors were asked, the tool's sensor column comes first. */
static void table(struct tc_buf *b, json_object **rows, size_t n, const char *const *cols,
                  const char *id, int several)
{
    const char *keys[64];
    size_t nk = 0;
    int tool_cols = cols == tc_flow_cols || cols == tc_alert_cols;

    if (cols != NULL) {
        if (several)
            keys[nk++] = tool_cols ? "SENSOR" : "sensor";
        for (size_t i = 0; cols[i] && nk < 63; i++)
            keys[nk++] = cols[i];
        /* verify=1: the tool's VERIFIED column, from each row's "verified" */
        if (tool_cols && n > 0 && json_object_object_get_ex(rows[0], "verified", NULL))
            keys[nk++] = "VERIFIED";
    } else if (n > 0) {
        json_object_object_foreach(rows[0], k, v) {
            (void)v;
            if (nk < 63)
                keys[nk++] = k;
        }
    }
    tc_buf_printf(b, "<table id=\"%s\"><thead><tr>", id);
    for (size_t c = 0; c < nk; c++) {
        tc_buf_puts(b, "<th>");
        tc_buf_html(b, keys[c]);
        tc_buf_puts(b, "</th>");
    }
    tc_buf_puts(b, "</tr></thead><tbody>\n");
    for (size_t i = 0; i < n; i++) {
        json_object *sev;
        tc_buf_puts(b, "<tr");
        if (json_object_object_get_ex(rows[i], "severity", &sev)) {
            tc_buf_puts(b, " class=\"sev-");
            tc_buf_url(b, json_object_get_string(sev));
            tc_buf_puts(b, "\"");
        }
        tc_buf_puts(b, ">");
        for (size_t c = 0; c < nk; c++) {
            json_object *v = NULL;
            struct tc_buf t = {0};
            char text[1024];
            tc_buf_puts(b, "<td data-k=\"");
            tc_buf_html(b, keys[c]);
            tc_buf_puts(b, "\">");
            if (tool_cols && strcmp(keys[c], "SENSOR") == 0) {
                json_object_object_get_ex(rows[i], "sensor", &v);
                cell_text(b, v, "sensor");
            } else if (tool_cols && strcmp(keys[c], "VERIFIED") == 0) {
                json_object_object_get_ex(rows[i], "verified", &v);
                tc_buf_puts(b, v != NULL && json_object_get_boolean(v) ? "yes" : "FAILED");
            } else if (tool_cols && tc_column_text(cols, rows[i], keys[c], text, sizeof(text)) == 0) {
                if (strcmp(keys[c], "TIME_UTC") == 0) /* the tool's table has no id column */
                    flow_link(b, rows[i], text);
                else
                    tc_buf_html(b, text);
            } else if (json_object_object_get_ex(rows[i], keys[c], &v) &&
                       strcmp(keys[c], "flow_id") == 0) {
                flow_link(b, rows[i], json_object_get_string(v));
            } else {
                cell_text(&t, v, keys[c]);
                if (t.p)
                    tc_buf_puts(b, t.p); /* already escaped */
                free(t.p);
            }
            tc_buf_puts(b, "</td>");
        }
        tc_buf_puts(b, "</tr>\n");
    }
    tc_buf_puts(b, "</tbody></table>\n");
}

static enum MHD_Result page_error(struct MHD_Connection *conn, const char *user, unsigned st,
                                  const char *msg)
{
    struct tc_buf b = {0};
    page_head(&b, "Error", user);
    tc_buf_printf(&b, "<p class=\"error\" id=\"error\">%u: ", st);
    tc_buf_html(&b, msg);
    tc_buf_puts(&b, "</p>\n");
    page_end(&b);
    return send_buf(conn, st, "text/html; charset=utf-8", &b, NULL, NULL);
}

/* A list page (flows, alerts, statements, audit): the question, its table, the next page. */
static enum MHD_Result list_page(struct MHD_Connection *conn, const char *user, const char *addr,
                                 const char *sub, const char *title, const char *const *fields,
                                 const char *const *cols, const char *time_key, int downloads)
{
    struct question q = {.conn = conn, .user = user, .addr = addr};
    const char *dl = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "download");
    struct tc_answer a;
    struct tc_buf b = {0};
    json_object **rows;
    const char *msg;
    char path[64];
    size_t n;
    enum MHD_Result ret;

    if (dl != NULL && (!downloads || (strcmp(dl, "csv") != 0 && strcmp(dl, "jsonl") != 0)))
        return page_error(conn, user, 400, "download: csv or jsonl");
    if (build(&q, sub, NULL, dl && strcmp(dl, "csv") == 0 ? "csv" : "json", 1, dl ? 0 : 1) < 0) {
        char m[160];
        snprintf(m, sizeof(m), "bad parameter \"%.64s\"", q.bad);
        question_free(&q);
        return page_error(conn, user, 400, m);
    }
    ask(&q, &a);
    question_free(&q);
    if (a.status != 0 && !(q.verify && a.status == 3)) { /* 3: rows that fail, marked */
        unsigned st = failed_status(&a, &msg);
        ret = page_error(conn, user, st, msg);
        free(a.out);
        return ret;
    }
    if (dl != NULL) { /* the tool's own CSV or JSON lines, as a file */
        char disp[96];
        b.p = a.out, b.len = a.out_len, b.cap = a.out_len + 1;
        snprintf(disp, sizeof(disp), "attachment; filename=\"%s.%s\"", sub, dl);
        return send_buf(conn, 200, strcmp(dl, "csv") == 0 ? "text/csv; charset=utf-8"
                                                          : "application/x-ndjson",
                        &b, "Content-Disposition", disp);
    }
    rows = calloc(q.limit + 2, sizeof(*rows));
    n = rows ? parse_lines(a.out, rows, q.limit + 1) : 0;
    page_head(&b, title, user);
    snprintf(path, sizeof(path), "/%s", sub);
    filters(&b, conn, path, fields);
    table(&b, rows, n > q.limit ? q.limit : n, cols, "rows",
          tc_sensors_several(MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "sensor")));
    tc_buf_printf(&b, "<p class=\"count\" id=\"count\">%zu rows</p>\n", n > q.limit ? (size_t)q.limit : n);
    if (n > q.limit) {
        json_object *t;
        if (json_object_object_get_ex(rows[q.limit], time_key, &t)) {
            struct tc_buf u = {0};
            next_url(&u, conn, path, json_object_get_string(t));
            tc_buf_puts(&b, "<p><a id=\"next\" href=\"");
            tc_buf_html(&b, u.p ? u.p : "");
            tc_buf_puts(&b, "\">Older</a></p>\n");
            free(u.p);
        }
    }
    if (downloads) {
        struct tc_buf u = {0};
        next_url(&u, conn, path, ""); /* the same filters */
        const char *sep = u.p && strchr(u.p, '?') ? "&amp;" : "?";
        tc_buf_puts(&b, "<p>Download: <a id=\"dl-csv\" href=\"");
        tc_buf_html(&b, u.p ? u.p : "");
        tc_buf_printf(&b, "%sdownload=csv\">CSV</a> <a id=\"dl-jsonl\" href=\"", sep);
        tc_buf_html(&b, u.p ? u.p : "");
        tc_buf_printf(&b, "%sdownload=jsonl\">JSON lines</a></p>\n", sep);
        free(u.p);
    }
    page_end(&b);
    for (size_t i = 0; i < n; i++)
        json_object_put(rows[i]);
    free(rows);
    free(a.out);
    return send_buf(conn, 200, "text/html; charset=utf-8", &b, NULL, NULL);
}

/* One flow's full record: every key and value. */
static enum MHD_Result flow_page(struct MHD_Connection *conn, const char *user, const char *addr)
{
    struct question q = {.conn = conn, .user = user, .addr = addr};
    const char *id = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "id");
    struct tc_answer a;
    struct tc_buf b = {0};
    json_object *rows[1];
    const char *msg;
    size_t n;

    if (id == NULL || id[0] == '\0')
        return page_error(conn, user, 400, "no flow id");
    if (build(&q, "flow", id, "json", 0, 0) < 0) {
        question_free(&q);
        return page_error(conn, user, 400, "bad parameter");
    }
    ask(&q, &a);
    question_free(&q);
    if (a.status != 0) {
        unsigned st = failed_status(&a, &msg);
        enum MHD_Result ret = page_error(conn, user, st, msg);
        free(a.out);
        return ret;
    }
    n = parse_lines(a.out, rows, 1);
    page_head(&b, "Flow", user);
    tc_buf_puts(&b, "<table id=\"record\"><tbody>\n");
    if (n == 1) {
        json_object_object_foreach(rows[0], k, v) {
            tc_buf_puts(&b, "<tr><th>");
            tc_buf_html(&b, k);
            tc_buf_puts(&b, "</th><td data-k=\"");
            tc_buf_html(&b, k);
            tc_buf_puts(&b, "\">");
            cell_text(&b, v, k);
            tc_buf_puts(&b, "</td></tr>\n");
        }
        json_object_put(rows[0]);
    }
    tc_buf_puts(&b, "</tbody></table>\n");
    page_end(&b);
    free(a.out);
    return send_buf(conn, 200, "text/html; charset=utf-8", &b, NULL, NULL);
}

/* Equipment: one's buckets as an SVG bar chart of bytes out and in, and its table. */
static void chart(struct tc_buf *b, json_object **rows, size_t n)
{
    const double W = 900, H = 240, top = 10, bottom = 30;
    double max = 1, bw;
    /* newest first from the tool: drawn oldest left */
    for (size_t i = 0; i < n; i++) {
        json_object *o, *in;
        double vo = json_object_object_get_ex(rows[i], "bytes_out", &o) ? json_object_get_double(o) : 0;
        double vi = json_object_object_get_ex(rows[i], "bytes_in", &in) ? json_object_get_double(in) : 0;
        if (vo > max) max = vo;
        if (vi > max) max = vi;
    }
    bw = n ? (W - 60) / (double)n : 0;
    tc_buf_printf(b, "<svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
                     "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\">"
                     "<title>bytes out and in per bucket (max %.0f)</title>",
                  W, H, W, H, max);
    /* drawn oldest left, whichever order the rows came in */
    json_object *s0, *s1;
    int newest_first = n > 1 && json_object_object_get_ex(rows[0], "start", &s0) &&
                       json_object_object_get_ex(rows[n - 1], "start", &s1) &&
                       json_object_get_double(s0) > json_object_get_double(s1);
    for (size_t k = 0; k < n; k++) {
        json_object *row = rows[newest_first ? n - 1 - k : k], *o, *in, *bk;
        double vo = json_object_object_get_ex(row, "bytes_out", &o) ? json_object_get_double(o) : 0;
        double vi = json_object_object_get_ex(row, "bytes_in", &in) ? json_object_get_double(in) : 0;
        double x = 50 + bw * (double)k, ho = (H - top - bottom) * vo / max,
               hi = (H - top - bottom) * vi / max;
        tc_buf_puts(b, "<g class=\"bucket\"><title>");
        if (json_object_object_get_ex(row, "bucket", &bk))
            tc_buf_html(b, json_object_get_string(bk));
        tc_buf_printf(b, ": out %.0f, in %.0f</title>", vo, vi);
        tc_buf_printf(b, "<rect class=\"out\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#c0392b\"/>",
                      x, H - bottom - ho, bw * 0.45, ho);
        tc_buf_printf(b, "<rect class=\"in\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#2471a3\"/>",
                      x + bw * 0.45, H - bottom - hi, bw * 0.45, hi);
        if (n <= 24 && json_object_object_get_ex(row, "bucket", &bk)) { /* its label */
            tc_buf_printf(b, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"10\">", x, H - bottom + 12);
            tc_buf_html(b, json_object_get_string(bk));
            tc_buf_puts(b, "</text>");
        }
        tc_buf_puts(b, "</g>");
    }
    tc_buf_printf(b, "<line x1=\"50\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#333\"/>"
                     "<text x=\"50\" y=\"%.0f\" font-size=\"12\">red: bytes out, blue: bytes in (oldest left; "
                     "highest %.0f bytes)</text></svg>\n",
                  H - bottom, W - 10, H - bottom, H - 2, max);
}

/* The equipment the Equipment page lists: the inventory the sensor publishes (`equipment`),
 * each name once (several sensors may name one); none published: --equipment's. Returns how
 * many, up to max; rows' JSON (NULL for --equipment's) is put by the caller. */
struct listed {
    const char *name;
    json_object *j; /* the inventory's object: vendor, addresses */
};
static size_t equipment_listed(struct MHD_Connection *conn, const char *user, const char *addr,
                               struct listed *out, size_t max)
{
    struct question q = {.conn = conn, .user = user, .addr = addr};
    struct tc_answer a;
    size_t n = 0;

    build_head(&q, "equipment");
    arg(&q, "--format");
    arg(&q, "json");
    q.argv[q.argc] = NULL;
    ask(&q, &a);
    question_free(&q);
    if (a.status == 0) {
        char *save = NULL;
        for (char *line = strtok_r(a.out, "\n", &save); line && n < max;
             line = strtok_r(NULL, "\n", &save)) {
            json_object *j = json_tokener_parse(line), *v;
            size_t k = 0;
            if (j == NULL || !json_object_object_get_ex(j, "name", &v) ||
                !json_object_is_type(v, json_type_string)) {
                json_object_put(j);
                continue;
            }
            while (k < n && strcmp(out[k].name, json_object_get_string(v)) != 0)
                k++;
            if (k < n) { /* named by another sensor too */
                json_object_put(j);
                continue;
            }
            out[n].name = json_object_get_string(v);
            out[n++].j = j;
        }
    }
    free(a.out);
    if (n == 0) /* none published: the console's own list */
        for (; n < max && tc_cfg.equipment[n]; n++)
            out[n] = (struct listed){.name = tc_cfg.equipment[n]};
    return n;
}

/* The inventory's vendor and addresses of one listed equipment, as two cells. */
static void listed_cells(struct tc_buf *b, const struct listed *l)
{
    json_object *v;

    tc_buf_puts(b, "<td>");
    if (l->j != NULL && json_object_object_get_ex(l->j, "vendor", &v))
        tc_buf_html(b, json_object_get_string(v));
    tc_buf_puts(b, "</td><td>");
    if (l->j != NULL && json_object_object_get_ex(l->j, "addresses", &v) &&
        json_object_is_type(v, json_type_array))
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            tc_buf_puts(b, i ? ", " : "");
            tc_buf_html(b, json_object_get_string(json_object_array_get_idx(v, i)));
        }
    tc_buf_puts(b, "</td>");
}

static enum MHD_Result equipment_page(struct MHD_Connection *conn, const char *user, const char *addr)
{
    static const char *const fields[] = {"equipment", "since", "until", "by", NULL};
    static const char *const cols[] = {"bucket", "flows", "bytes_out", "bytes_in", "packets_out",
                                       "packets_in", "top_peers", "top_apps", "alerts", NULL};
    const char *eq = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "equipment");
    struct question q = {.conn = conn, .user = user, .addr = addr};
    struct tc_answer a;
    struct tc_buf b = {0};
    json_object **rows;
    const char *msg;
    size_t n = 0, cap = 4096;

    page_head(&b, eq && eq[0] ? eq : "Equipment", user);
    filters(&b, conn, "/equipment", fields);
    if (eq == NULL || eq[0] == '\0') {
        /* every equipment the sensor publishes (else --equipment's), with its totals over
         * the range (default: the last day): one summary question each */
        const char *since = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "since");
        struct listed listed[256];
        size_t nl = equipment_listed(conn, user, addr, listed, 256);
        tc_buf_puts(&b, "<table id=\"equipment-list\"><thead><tr><th>equipment</th><th>flows</th>"
                        "<th>bytes_out</th><th>bytes_in</th><th>alerts</th><th>vendor</th>"
                        "<th>addresses</th></tr></thead><tbody>\n");
        for (size_t i = 0; i < nl; i++) {
            struct question qi = {.conn = conn, .user = user, .addr = addr};
            double tot[4] = {0};
            if (build(&qi, "summary", NULL, "json", 0, 0) == 0) {
                arg(&qi, "--equipment");
                arg(&qi, listed[i].name);
                arg(&qi, "--by");
                arg(&qi, "day");
                if (since == NULL || since[0] == '\0') {
                    arg(&qi, "--since");
                    arg(&qi, "-1d");
                }
                qi.argv[qi.argc] = NULL;
                ask(&qi, &a);
                if (a.status == 0) {
                    char *save = NULL;
                    for (char *line = strtok_r(a.out, "\n", &save); line;
                         line = strtok_r(NULL, "\n", &save)) {
                        json_object *j = json_tokener_parse(line), *v;
                        if (j == NULL)
                            continue;
                        if (json_object_object_get_ex(j, "flows", &v)) tot[0] += json_object_get_double(v);
                        if (json_object_object_get_ex(j, "bytes_out", &v)) tot[1] += json_object_get_double(v);
                        if (json_object_object_get_ex(j, "bytes_in", &v)) tot[2] += json_object_get_double(v);
                        if (json_object_object_get_ex(j, "alerts", &v) && json_object_is_type(v, json_type_object)) {
                            json_object_object_foreach(v, k, c) {
                                (void)k;
                                tot[3] += json_object_get_double(c);
                            }
                        }
                        json_object_put(j);
                    }
                }
                free(a.out);
            }
            question_free(&qi);
            tc_buf_puts(&b, "<tr><td><a href=\"/equipment?equipment=");
            tc_buf_url(&b, listed[i].name);
            tc_buf_puts(&b, "&amp;by=hour&amp;since=");
            tc_buf_url(&b, since && since[0] ? since : "-1d");
            tc_buf_puts(&b, "\">");
            tc_buf_html(&b, listed[i].name);
            tc_buf_printf(&b, "</a></td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.0f</td>",
                          tot[0], tot[1], tot[2], tot[3]);
            listed_cells(&b, &listed[i]);
            tc_buf_puts(&b, "</tr>\n");
            json_object_put(listed[i].j);
        }
        tc_buf_printf(&b, "</tbody></table><p>The equipment %s; name another above.</p>\n",
                      nl > 0 && listed[0].j != NULL
                          ? "of the inventory the sensor publishes (the policy in force)"
                          : "of the console's --equipment list (the sensor publishes none)");
        page_end(&b);
        return send_buf(conn, 200, "text/html; charset=utf-8", &b, NULL, NULL);
    }
    if (build(&q, "summary", NULL, "json", 0, 0) < 0) {
        question_free(&q);
        free(b.p);
        return page_error(conn, user, 400, "bad parameter");
    }
    ask(&q, &a);
    question_free(&q);
    if (a.status != 0) {
        unsigned st = failed_status(&a, &msg);
        free(b.p);
        enum MHD_Result ret = page_error(conn, user, st, msg);
        free(a.out);
        return ret;
    }
    rows = calloc(cap, sizeof(*rows));
    n = rows ? parse_lines(a.out, rows, cap) : 0;
    chart(&b, rows, n);
    table(&b, rows, n, cols, "rows",
          tc_sensors_several(MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "sensor")));
    tc_buf_printf(&b, "<p class=\"count\" id=\"count\">%zu buckets</p>\n", n);
    page_end(&b);
    for (size_t i = 0; i < n; i++)
        json_object_put(rows[i]);
    free(rows);
    free(a.out);
    return send_buf(conn, 200, "text/html; charset=utf-8", &b, NULL, NULL);
}

/* Coverage's check of the signed log over the range (`verify --pubkey ... --since --until`),
 * asked only with check=1: it reads every item the range's seals cover, too much for every
 * view. Its lines (findings, then the summary) are shown as the tool wrote them. */
static void verify_block(struct tc_buf *b, struct MHD_Connection *conn, const char *user,
                         const char *addr)
{
    const char *check = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "check");
    static const char *const range[] = {"since", "until", NULL};
    struct question q = {.conn = conn, .user = user, .addr = addr};
    struct tc_answer a;

    if (tc_cfg.pubkeys[0] == NULL) {
        tc_buf_puts(b, "<p id=\"verify\">the signed log: not checked (the console has no "
                       "--pubkey)</p>\n");
        return;
    }
    if (check == NULL || strcmp(check, "1") != 0) {
        struct tc_buf u = {0};
        next_url(&u, conn, "/coverage", ""); /* the same filters */
        tc_buf_puts(b, "<p id=\"verify\"><a id=\"check\" href=\"");
        tc_buf_html(b, u.p ? u.p : "/coverage");
        tc_buf_html(b, u.p && strchr(u.p, '?') ? "&check=1" : "?check=1");
        tc_buf_puts(b, "\">Check the signed log of this range</a> (verify: every record, alert, "
                       "gap record and statement its seals cover)</p>\n");
        free(u.p);
        return;
    }
    build_head(&q, "verify");
    for (size_t k = 0; tc_cfg.pubkeys[k] != NULL; k++) {
        arg(&q, "--pubkey");
        arg(&q, tc_cfg.pubkeys[k]);
    }
    for (size_t i = 0; range[i] != NULL; i++) {
        const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, range[i]);
        if (v != NULL && v[0]) {
            char *opt;
            if (asprintf(&opt, "--%s", range[i]) >= 0)
                arg_own(&q, opt);
            arg_own(&q, strdup(v));
        }
    }
    q.argv[q.argc] = NULL;
    ask(&q, &a);
    question_free(&q);
    /* exit 0 verified, 3 not verified; anything else is the tool's own failure */
    tc_buf_printf(b, "<p id=\"verify\" class=\"%s\">the signed log of this range: %s</p>\n",
                  a.status == 0 ? "" : "error",
                  a.status == 0 ? "verified" : a.status == 3 ? "NOT VERIFIED" : "not checked");
    if (a.status != 0 && a.status != 3) {
        const char *msg;
        (void)failed_status(&a, &msg);
        tc_buf_puts(b, "<p class=\"error\">");
        tc_buf_html(b, msg);
        tc_buf_puts(b, "</p>\n");
    }
    if (a.out != NULL && a.out_len) { /* line by line: the escaping shows a newline as such */
        char *save = NULL;
        tc_buf_puts(b, "<pre id=\"verify-lines\">");
        for (char *l = strtok_r(a.out, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
            tc_buf_html(b, l);
            tc_buf_puts(b, "\n");
        }
        tc_buf_puts(b, "</pre>\n");
    }
    free(a.out);
}

/* Coverage: the statements on a timeline (watched green, dropped amber, a gap red). */
static enum MHD_Result coverage_page(struct MHD_Connection *conn, const char *user, const char *addr)
{
    static const char *const fields[] = {"since", "until", "limit", NULL};
    struct question q = {.conn = conn, .user = user, .addr = addr};
    struct tc_answer a;
    struct tc_buf b = {0};
    json_object **rows;
    const char *msg;
    double lo = 0, hi = 0;
    size_t n;

    if (build(&q, "statements", NULL, "json", 1, 0) < 0) {
        question_free(&q);
        return page_error(conn, user, 400, "bad parameter");
    }
    /* the signatures checked (verified, BAD, unsigned), across key rotations */
    for (size_t k = 0; tc_cfg.pubkeys[k] != NULL; k++) {
        arg(&q, "--pubkey");
        arg(&q, tc_cfg.pubkeys[k]);
        q.argv[q.argc] = NULL;
    }
    ask(&q, &a);
    question_free(&q);
    if (a.status != 0) {
        unsigned st = failed_status(&a, &msg);
        enum MHD_Result ret = page_error(conn, user, st, msg);
        free(a.out);
        return ret;
    }
    rows = calloc(q.limit + 1, sizeof(*rows));
    n = rows ? parse_lines(a.out, rows, q.limit) : 0;
    page_head(&b, "Coverage", user);
    filters(&b, conn, "/coverage", fields);
    for (size_t i = 0; i < n; i++) {
        json_object *f, *t;
        if (json_object_object_get_ex(rows[i], "from", &f) && json_object_object_get_ex(rows[i], "to", &t)) {
            double vf = json_object_get_double(f), vt = json_object_get_double(t);
            if (lo == 0 || vf < lo) lo = vf;
            if (vt > hi) hi = vt;
        }
    }
    tc_buf_puts(&b, "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"60\" "
                    "viewBox=\"0 0 900 60\" role=\"img\"><title>statements, oldest left</title>"
                    "<rect x=\"0\" y=\"10\" width=\"900\" height=\"30\" fill=\"#ddd\"/>");
    /* newest first from the tool: a gap is where a statement begins more than a second
     * after the one before it (oldest first) ended */
    for (size_t k = 0; hi > lo && k < n; k++) {
        json_object *row = rows[n - 1 - k], *f, *t, *d;
        if (!json_object_object_get_ex(row, "from", &f) || !json_object_object_get_ex(row, "to", &t))
            continue;
        double vf = json_object_get_double(f), vt = json_object_get_double(t);
        double x0 = 900 * (vf - lo) / (hi - lo), x1 = 900 * (vt - lo) / (hi - lo);
        int drops = json_object_object_get_ex(row, "packets_dropped", &d) && json_object_get_int64(d) > 0;
        tc_buf_printf(&b, "<rect class=\"%s\" x=\"%.2f\" y=\"10\" width=\"%.2f\" height=\"30\" fill=\"%s\"/>",
                      drops ? "dropped" : "watched", x0, x1 - x0 > 0.5 ? x1 - x0 : 0.5,
                      drops ? "#d68910" : "#1e8449");
    }
    {
        struct tc_buf g = {0};
        double prev_to = 0;
        for (size_t k = 0; hi > lo && k < n; k++) {
            json_object *row = rows[n - 1 - k], *f, *t;
            if (!json_object_object_get_ex(row, "from", &f) || !json_object_object_get_ex(row, "to", &t))
                continue;
            double vf = json_object_get_double(f), vt = json_object_get_double(t);
            if (prev_to > 0 && vf > prev_to + 1.0) {
                char a1[32], a2[32];
                time_t s1 = (time_t)prev_to, s2 = (time_t)vf;
                struct tm tm;
                gmtime_r(&s1, &tm);
                strftime(a1, sizeof(a1), "%Y-%m-%d %H:%M:%S", &tm);
                gmtime_r(&s2, &tm);
                strftime(a2, sizeof(a2), "%Y-%m-%d %H:%M:%S", &tm);
                tc_buf_printf(&b, "<rect class=\"gap\" x=\"%.2f\" y=\"10\" width=\"%.2f\" height=\"30\" "
                                  "fill=\"#c0392b\"/>", 900 * (prev_to - lo) / (hi - lo),
                              900 * (vf - prev_to) / (hi - lo));
                tc_buf_printf(&g, "<li class=\"gap\">not watched: %s to %s UTC (%.1f s)</li>", a1, a2,
                              vf - prev_to);
            }
            if (vt > prev_to)
                prev_to = vt;
        }
        tc_buf_puts(&b, "</svg>\n<p>green: watched, amber: watched with drops, red: a gap between "
                        "statements (not watched), grey: outside the statements read</p>\n<ul id=\"gaps\">");
        if (g.p)
            tc_buf_puts(&b, g.p);
        tc_buf_puts(&b, "</ul>\n");
        free(g.p);
    }
    { /* the signatures of the range */
        size_t c[4] = {0}; /* verified, BAD, unsigned, signed (not checked) */
        for (size_t i = 0; i < n; i++) {
            json_object *v;
            const char *t = json_object_object_get_ex(rows[i], "signature", &v) ? json_object_get_string(v) : "";
            c[strcmp(t, "verified") == 0 ? 0 : strcmp(t, "BAD") == 0 ? 1 : strcmp(t, "signed") == 0 ? 3 : 2]++;
        }
        tc_buf_printf(&b, "<p id=\"signatures\" class=\"%s\">signatures of the %zu statements read: "
                          "%zu verified, %zu BAD, %zu unsigned%s</p>\n",
                      c[1] ? "error" : "", n, c[0], c[1], c[2],
                      tc_cfg.pubkeys[0] ? "" : " (not checked: the console has no --pubkey)");
        if (c[3])
            tc_buf_printf(&b, "<p>%zu signed, not checked</p>\n", c[3]);
    }
    verify_block(&b, conn, user, addr);
    table(&b, rows, n, NULL, "rows", 0);
    tc_buf_printf(&b, "<p class=\"count\" id=\"count\">%zu statements</p>\n", n);
    page_end(&b);
    for (size_t i = 0; i < n; i++)
        json_object_put(rows[i]);
    free(rows);
    free(a.out);
    return send_buf(conn, 200, "text/html; charset=utf-8", &b, NULL, NULL);
}

/* ---- login ---- */

static enum MHD_Result login_page(struct MHD_Connection *conn, unsigned status, const char *msg)
{
    struct tc_buf b = {0};
    page_head(&b, "Log in", NULL);
    if (msg != NULL) {
        tc_buf_puts(&b, "<p class=\"error\" id=\"error\">");
        tc_buf_html(&b, msg);
        tc_buf_puts(&b, "</p>");
    }
    tc_buf_puts(&b, "<form method=\"post\" action=\"/login\"><label>User <input name=\"user\" id=\"user\" "
                    "autocomplete=\"username\"></label> <label>Password <input type=\"password\" "
                    "name=\"password\" id=\"password\" autocomplete=\"current-password\"></label> "
                    "<button type=\"submit\" id=\"login\">Log in</button></form>\n");
    page_end(&b);
    return send_buf(conn, status, "text/html; charset=utf-8", &b, NULL, NULL);
}

/* value of name in an application/x-www-form-urlencoded body, decoded, into out. */
static int form_value(const char *body, const char *name, char *out, size_t len)
{
    size_t nl = strlen(name);
    for (const char *p = body; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t k = 0;
            while (*v && *v != '&' && k + 1 < len) {
                if (*v == '+') {
                    out[k++] = ' ';
                    v++;
                } else if (*v == '%' && v[1] && v[2]) {
                    char h[3] = {v[1], v[2], 0};
                    out[k++] = (char)strtol(h, NULL, 16);
                    v += 3;
                } else {
                    out[k++] = *v++;
                }
            }
            out[k] = '\0';
            return 0;
        }
    }
    out[0] = '\0';
    return -1;
}

static enum MHD_Result do_login(struct MHD_Connection *conn, const char *body, const char *addr)
{
    char user[128], pass[256], token[65], cookie[256];
    unsigned count, delay;
    int ok;

    form_value(body, "user", user, sizeof(user));
    form_value(body, "password", pass, sizeof(pass));
    ok = user[0] != '\0' && strlen(user) < 64 && tc_users_verify(tc_cfg.users, user, pass) == 1;
    memset(pass, 0, sizeof(pass));
    if (!ok) {
        delay = tc_login_failed(user, addr, &count);
        fprintf(stderr, CPROG ": login failed for user \"%.63s\" from %s (%u in a row)\n", user,
                addr, count);
        usleep(delay * 1000u); /* this connection's thread only */
        return login_page(conn, 401, "wrong user or password");
    }
    tc_login_ok(user, addr);
    if (tc_session_new(user, token) < 0)
        return login_page(conn, 503, "too many sessions");
    fprintf(stderr, CPROG ": %s logged in from %s\n", user, addr);
    snprintf(cookie, sizeof(cookie), COOKIE "=%s; Path=/; HttpOnly; Secure; SameSite=Strict", token);
    return redirect(conn, "/flows", cookie);
}

/* ---- the handler ---- */

enum MHD_Result tc_handle(void *cls, struct MHD_Connection *conn, const char *url,
                          const char *method, const char *version, const char *upload,
                          size_t *upload_size, void **con_cls)
{
    static const char *const flow_fields[] = {"since", "until", "ip", "port", "app", "tunnel-id",
                                              "country", "asn", "equipment", "limit", NULL};
    static const char *const alert_fields[] = {"since", "until", "kind", "rule", "equipment", "limit", NULL};
    static const char *const audit_fields[] = {"since", "until", "user", "limit", NULL};
    struct req *rq = *con_cls;
    const union MHD_ConnectionInfo *ci;
    const char *token;
    char addr[64] = "?", user[64];
    int is_api = strncmp(url, "/api/", 5) == 0;
    (void)cls, (void)version;

    if (rq == NULL) {
        if ((rq = calloc(1, sizeof(*rq))) == NULL)
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (rq->body.len + *upload_size > BODY_MAX)
            rq->too_big = 1;
        else
            tc_buf_add(&rq->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci != NULL && ci->client_addr != NULL) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof(addr));
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr, sizeof(addr));
    }
    if (rq->too_big)
        return json_error(conn, 413, "request body too large");
    if (strcmp(url, "/static/console.css") == 0) {
        struct tc_buf b = {0};
        tc_buf_puts(&b, tc_css);
        return send_buf(conn, 200, "text/css", &b, NULL, NULL);
    }
    if (strcmp(url, "/login") == 0) {
        if (strcmp(method, "POST") == 0)
            return do_login(conn, rq->body.p ? rq->body.p : "", addr);
        return login_page(conn, 200, NULL);
    }
    token = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, COOKIE);
    if (!tc_session_user(token, user, sizeof(user))) {
        if (is_api)
            return json_error(conn, 401, "no session: POST /login first");
        return redirect(conn, "/login", NULL);
    }
    if (strcmp(url, "/logout") == 0 && strcmp(method, "POST") == 0) {
        tc_session_end(token);
        return redirect(conn, "/login", COOKIE "=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict");
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return is_api ? json_error(conn, 405, "GET only") : page_error(conn, user, 405, "GET only");
    if (strncmp(url, "/api/v1/", 8) == 0)
        return api(conn, user, addr, url + 8);
    if (is_api)
        return json_error(conn, 404, "no such endpoint: /api/v1/...");
    if (strcmp(url, "/") == 0)
        return redirect(conn, "/flows", NULL);
    if (strcmp(url, "/flows") == 0)
        return list_page(conn, user, addr, "flows", "Flows", flow_fields, tc_flow_cols, "last_seen", 1);
    if (strcmp(url, "/alerts") == 0)
        return list_page(conn, user, addr, "alerts", "Alerts", alert_fields, tc_alert_cols, "ts", 1);
    if (strcmp(url, "/audit") == 0)
        return list_page(conn, user, addr, "audit", "Audit", audit_fields, NULL, "time", 0);
    if (strcmp(url, "/flow") == 0)
        return flow_page(conn, user, addr);
    if (strcmp(url, "/equipment") == 0)
        return equipment_page(conn, user, addr);
    if (strcmp(url, "/coverage") == 0)
        return coverage_page(conn, user, addr);
    return page_error(conn, user, 404, "no such page");
}

void tc_request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                     enum MHD_RequestTerminationCode toe)
{
    struct req *rq = *con_cls;
    (void)cls, (void)conn, (void)toe;
    if (rq != NULL) {
        if (rq->body.p)
            memset(rq->body.p, 0, rq->body.len); /* a login form's password */
        free(rq->body.p);
        free(rq);
    }
    *con_cls = NULL;
}
