/* verify_items.c - `flows --verify` and `alerts --verify` (verify_items.h): the options, the
 * rows an answer prints, their outcome from verify's checks (cmd_verify.c, tq_verify_items)
 * and how they are marked. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "control/evidence/chain.h"
#include "control/query/verify_items.h"

/* the options: the tool answers one question per process (query.h) */
static const char *key_paths[TQ_KEYS_MAX];
static size_t nkey_paths;
static int wanted;
static struct tq_key_set keys;

int tq_vi_opt_verify(const char *v)
{
    (void)v;
    wanted = 1;
    return 0;
}

int tq_vi_opt_pubkey(const char *v)
{
    if (nkey_paths == TQ_KEYS_MAX)
        return tq_usage_error("at most %d --pubkey", TQ_KEYS_MAX);
    key_paths[nkey_paths++] = v;
    return 0;
}

int tq_vi_wanted(void)
{
    return wanted;
}

int tq_vi_check(const struct tq_opts *o)
{
    char err[256];

    if (!wanted)
        return nkey_paths > 0 ? tq_usage_error("--pubkey goes with --verify") : 0;
    if (nkey_paths == 0)
        return tq_usage_error("--verify needs --pubkey FILE.pub");
    if (tq_sensors_several(o)) /* each sensor has its own key */
        return tq_usage_error("--verify checks one sensor at a time (--sensor NAME)");
    if (tq_key_set_load(&keys, key_paths, nkey_paths, err, sizeof(err)) != 0)
        return tq_usage_error("--pubkey: %s", err);
    return 0;
}

/* ---- rows ---- */

static struct tq_vi_row *new_row(struct tq_vi_rows *v, char kind, const void *bytes, size_t len,
                                 const char *label)
{
    struct tq_vi_row *r = tq_grow(v->r, v->n, &v->cap, sizeof(*r), 128);

    if (r == NULL)
        return NULL;
    v->r = r;
    r = &v->r[v->n];
    memset(r, 0, sizeof(*r));
    if ((r->bytes = malloc(len + 1)) == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return NULL;
    }
    memcpy(r->bytes, bytes, len);
    r->bytes[len] = '\0';
    r->len = len;
    r->kind = kind;
    r->status = TQ_VI_NO_SEQ;
    snprintf(r->label, sizeof(r->label), "%s", label);
    v->n++;
    return r;
}

int tq_vi_add_record(struct tq_vi_rows *v, const char *json, size_t len, const char *label)
{
    struct tq_vi_row *r = new_row(v, TW_ITEM_RECORD, json, len, label);

    if (r == NULL)
        return -1;
    if (tw_chain_json_untag(json, len, &r->seq, r->run) != 0)
        r->seq = 0;
    if (r->seq != 0)
        r->status = TQ_VI_NOT_COVERED; /* until an item read says otherwise */
    return 0;
}

int tq_vi_add_alert(struct tq_vi_rows *v, const redisReply *fv, const char *label)
{
    size_t np = fv->type == REDIS_REPLY_ARRAY ? fv->elements / 2 : 0, cap = 64;
    const char **p = calloc(2 * np + 1, sizeof(*p));
    size_t *l = calloc(2 * np + 1, sizeof(*l));
    uint8_t *bytes = NULL;
    char run[17] = "";
    uint64_t seq = 0;
    long n = -1;
    int rc = -1;

    /* every field and value in stream order, as verify reads them (chain.h, kind 'a') */
    for (size_t k = 0; p != NULL && l != NULL && k < 2 * np; k++) {
        p[k] = fv->element[k]->str ? fv->element[k]->str : "";
        l[k] = fv->element[k]->str ? fv->element[k]->len : 0;
        cap += 4 + l[k];
        if (k % 2 == 1 && strcmp(p[k - 1], "seq") == 0)
            tq_parse_uint(p[k], 1, UINT64_MAX, &seq);
        if (k % 2 == 1 && strcmp(p[k - 1], "run") == 0 && l[k] == 16)
            memcpy(run, p[k], 17);
    }
    if (p != NULL && l != NULL && (bytes = malloc(cap)) != NULL)
        n = tw_chain_fields(p, l, np, bytes, cap);
    struct tq_vi_row *r = n >= 0 ? new_row(v, TW_ITEM_ALERT, bytes, (size_t)n, label) : NULL;
    if (n < 0)
        fprintf(stderr, PROG ": out of memory\n");
    if (r != NULL) {
        if (seq != 0 && run[0] != '\0') {
            r->seq = seq;
            memcpy(r->run, run, sizeof(r->run));
            r->status = TQ_VI_NOT_COVERED;
        }
        rc = 0;
    }
    free(p);
    free(l);
    free(bytes);
    return rc;
}

/* ---- checking ---- */

struct matcher {
    struct tq_vi_rows *v;
    size_t *order; /* row indexes sorted by kind, run, seq */
};

static int row_cmp3(const struct tq_vi_row *r, char kind, const char *run, uint64_t seq)
{
    int c;

    if (r->kind != kind)
        return r->kind < kind ? -1 : 1;
    if ((c = strcmp(r->run, run)) != 0)
        return c;
    return r->seq < seq ? -1 : r->seq > seq;
}

static struct tq_vi_rows *sort_rows; /* qsort's comparison has no argument */

static int order_cmp(const void *a, const void *b)
{
    const struct tq_vi_row *x = &sort_rows->r[*(const size_t *)a],
                           *y = &sort_rows->r[*(const size_t *)b];

    return row_cmp3(x, y->kind, y->run, y->seq);
}

/* One item of the store: the rows that printed it (same number, same bytes) take its outcome. */
static void on_item(void *arg, const char *run, uint64_t seq, char kind, const void *bytes,
                    size_t len, int status)
{
    struct matcher *m = arg;
    size_t lo = 0, hi = m->v->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (row_cmp3(&m->v->r[m->order[mid]], kind, run, seq) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < m->v->n && row_cmp3(&m->v->r[m->order[lo]], kind, run, seq) == 0; lo++) {
        struct tq_vi_row *r = &m->v->r[m->order[lo]];
        if (r->len == len && memcmp(r->bytes, bytes, len) == 0)
            r->status = status;
    }
}

int tq_vi_check_rows(struct tw_rclient *c, const struct tq_opts *o, struct tq_vi_rows *v)
{
    struct matcher m = {.v = v};
    int rc = 0;

    if (v->n == 0) /* nothing printed: nothing to read */
        return 0;
    if ((m.order = malloc(v->n * sizeof(*m.order))) == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return EXIT_REDIS;
    }
    for (size_t i = 0; i < v->n; i++)
        m.order[i] = i;
    sort_rows = v;
    qsort(m.order, v->n, sizeof(*m.order), order_cmp);
    if (tq_verify_items(c, o, &keys, on_item, &m) != 0)
        rc = EXIT_REDIS;
    free(m.order);
    return rc;
}

int tq_vi_ok(const struct tq_vi_rows *v, size_t i)
{
    return i < v->n && v->r[i].status == TQ_VI_OK;
}

/* ---- printing ---- */

void tq_vi_json_line(const char *json, int ok)
{
    size_t len = strlen(json);
    char *out;

    while (len > 0 && json[len - 1] != '}')
        len--;
    if (len == 0 || (out = malloc(len + 32)) == NULL) { /* not an object: as it is */
        tq_json_line(json);
        return;
    }
    memcpy(out, json, len - 1);
    snprintf(out + len - 1, 32, "%s\"verified\":%s}", len > 2 ? "," : "", ok ? "true" : "false");
    tq_json_line(out);
    free(out);
}

void tq_vi_csv_header(const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tq_csv_field(names[i], 0);
    tq_csv_field("verified", 1);
    tq_rows--; /* a header is not a row */
}

#define VI_MAX_COLS 16

static const struct tq_table *inner;
static const struct tq_vi_rows *inner_v;
static const char *names[VI_MAX_COLS];
static unsigned char right[VI_MAX_COLS];

static void vi_cell(const void *rows, size_t i, size_t col, char *out, size_t len)
{
    if (col < inner->ncols)
        inner->cell(rows, i, col, out, len);
    else
        snprintf(out, len, "%s", tq_vi_ok(inner_v, i) ? "yes" : "FAILED");
}

void tq_vi_table_print(const struct tq_table *t, const void *rows, size_t n,
                       const struct tq_vi_rows *v)
{
    struct tq_table w = *t;

    if (t->ncols + 1 > VI_MAX_COLS) { /* no room: the table as it is (not one of ours) */
        tq_table_print(t, rows, n);
        return;
    }
    for (size_t c = 0; c < t->ncols; c++) {
        names[c] = t->names[c];
        right[c] = t->right != NULL ? t->right[c] : 0;
    }
    names[t->ncols] = "VERIFIED";
    right[t->ncols] = 0;
    inner = t;
    inner_v = v;
    w.ncols = t->ncols + 1;
    w.names = names;
    w.right = right;
    w.cell = vi_cell;
    tq_table_print(&w, rows, n);
}

static const char *why(int status)
{
    switch (status) {
    case TQ_VI_ALTERED:
        return "altered: the items of its seal do not hash to the seal's chain (it, or another "
               "item that seal covers, was changed)";
    case TQ_VI_DELETED_SEAL: return "deleted seal: the seal that covered its number is gone";
    case TQ_VI_NOT_COVERED: return "not covered by a seal (inserted, or not sealed yet)";
    case TQ_VI_BAD_SIGNATURE: return "bad signature: its seal is not signed by the key given";
    case TQ_VI_NO_SEQ: return "no sequence number";
    case TQ_VI_INCOMPLETE:
        return "deleted: items of its seal are missing, its chain cannot be recomputed";
    case TQ_VI_EXPIRED:
        return "expired: items of its seal expired (hot window), its chain cannot be recomputed";
    case TQ_VI_INSERTED: return "inserted: another item holds its sequence number";
    default: return "?";
    }
}

size_t tq_vi_report(const struct tq_vi_rows *v)
{
    size_t bad = 0;

    for (size_t i = 0; i < v->n; i++) {
        const struct tq_vi_row *r = &v->r[i];
        if (r->status == TQ_VI_OK)
            continue;
        bad++;
        if (r->seq != 0)
            fprintf(stderr, PROG ": not verified: %s (run %s seq %" PRIu64 "): %s\n", r->label,
                    r->run, r->seq, why(r->status));
        else
            fprintf(stderr, PROG ": not verified: %s: %s\n", r->label, why(r->status));
    }
    return bad;
}

void tq_vi_rows_free(struct tq_vi_rows *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->r[i].bytes);
    free(v->r);
    v->r = NULL;
    v->n = v->cap = 0;
}
