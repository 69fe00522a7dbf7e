/* merge.c - one question to several sensors (query.h): the subcommand runs once per sensor,
 * as it runs for one, its answer caught instead of printed; the rows of all are then ordered
 * newest first and printed once, at most --limit of them, with the sensor first:
 *
 *   table  a SENSOR column (tq_table_print's tables are caught as cells through
 *          tq_table_taker and printed again sized to every row; a subcommand that prints its
 *          own fixed-width lines, summary, gets the column in front of each line)
 *   csv    a "sensor" column first
 *   json   a "sensor" key first in each object, unless it has one (an alert names the
 *          sensor that raised it)
 *
 * The sensor is named by its key namespace: "<bank>/<sensor>", or "<sensor>" without a bank,
 * as alerts name it.
 *
 * The time each row is ordered by: a table's tq_table.key; in JSON the key, in CSV the column
 * of time_keys below. Each sensor's answer is already at most --limit rows newest first, so
 * the first --limit of the merge are the answer's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "control/query/escape.h"
#include "control/query/query.h"

/* The time a subcommand's answer is ordered by: JSON key and CSV column. */
static const struct {
    const char *sub, *json, *csv;
} time_keys[] = {
    {"flows", "last_seen", "last_seen"},
    {"alerts", "ts", "ts"},
    {"summary", "start", "bucket"},
    {"statements", "to", "to"},
};

/* What the sensors' runs leave. */
struct caught {
    const struct tq_opts *o;
    struct tq_merge_row *rows;
    size_t n, cap;
    size_t sensor;       /* the sensor running now */
    size_t seq;
    char *header;        /* CSV header or the text header line, the first sensor's */
    /* tables caught by tq_table_taker: the first one's shape */
    int table;
    size_t ncols;
    const char *const *names;
    const unsigned char *right;
    const char *none;
    int oom;
};

static struct caught *now_catching;

static struct tq_merge_row *add_row(struct caught *k)
{
    struct tq_merge_row *r = tq_grow(k->rows, k->n, &k->cap, sizeof(*r), 256);

    if (r == NULL) {
        k->oom = 1;
        return NULL;
    }
    k->rows = r;
    r = &k->rows[k->n++];
    memset(r, 0, sizeof(*r));
    r->sensor = k->sensor;
    r->seq = k->seq++;
    return r;
}

static void take_table(const struct tq_table *t, const void *rows, size_t n)
{
    struct caught *k = now_catching;
    char raw[512];

    if (!k->table) {
        k->table = 1;
        k->ncols = t->ncols;
        k->names = t->names;
        k->right = t->right;
        k->none = t->none;
    }
    for (size_t i = 0; i < n && !k->oom; i++) {
        struct tq_merge_row *r = add_row(k);
        if (r == NULL || (r->cells = calloc(t->ncols, sizeof(char *))) == NULL) {
            k->oom = 1;
            break;
        }
        r->key = t->key != NULL ? t->key(rows, i) : 0;
        for (size_t col = 0; col < t->ncols; col++) {
            t->cell(rows, i, col, raw, sizeof(raw));
            if ((r->cells[col] = strdup(raw)) == NULL)
                k->oom = 1;
        }
    }
}

uint64_t tq_merge_text_key(const char *text)
{
    const char *p = text;
    uint64_t sec = 0, us = 0, v = 0;
    int digits = 0;

    while (*p == ' ')
        p++;
    /* epoch seconds with decimals: the whole word is digits [. digits] */
    size_t whole = strspn(p, "0123456789");
    if (whole > 0 && whole <= 12 && (p[whole] == '\0' || p[whole] == '.' || p[whole] == ' ')) {
        for (size_t i = 0; i < whole; i++)
            sec = sec * 10 + (uint64_t)(p[i] - '0');
        const char *d = p + whole;
        size_t frac = d[0] == '.' ? strspn(d + 1, "0123456789") : 0;
        if (d[0] != '.' || (frac > 0 && (d[1 + frac] == '\0' || d[1 + frac] == ' '))) {
            for (size_t i = 0; i < 6; i++)
                us = us * 10 + (i < frac ? (uint64_t)(d[1 + i] - '0') : 0);
            return sec * 1000000 + us;
        }
    }
    /* else the digits of the first word: dates and hours */
    for (; *p && *p != ' ' && digits < 19; p++)
        if (*p >= '0' && *p <= '9') {
            v = v * 10 + (uint64_t)(*p - '0');
            digits++;
        }
    return v;
}

static int newest_first(const void *a, const void *b)
{
    const struct tq_merge_row *x = a, *y = b;

    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    if (x->sensor != y->sensor)
        return x->sensor < y->sensor ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

size_t tq_merge_order(struct tq_merge_row *rows, size_t n, uint64_t limit)
{
    if (n > 1)
        qsort(rows, n, sizeof(*rows), newest_first);
    return limit != 0 && limit < n ? (size_t)limit : n;
}

/* The value of CSV field col of line (quoted fields: "" is a quote), into out. */
static void csv_cell(const char *line, size_t col, char *out, size_t len)
{
    size_t o = 0;

    for (size_t c = 0; c < col && *line; c++) { /* skip col fields */
        int q = 0;
        for (; *line && (q || *line != ','); line++)
            if (*line == '"')
                q = !q;
        if (*line == ',')
            line++;
    }
    int q = 0;
    for (; *line && (q || *line != ',') && o + 1 < len; line++) {
        if (*line == '"') {
            if (q && line[1] == '"')
                out[o++] = *++line;
            else
                q = !q;
            continue;
        }
        out[o++] = *line;
    }
    out[o] = '\0';
}

/* The index of column name in a CSV header line, or -1. */
static long csv_column(const char *header, const char *name)
{
    char cell[128];

    for (size_t c = 0; c < 64; c++) {
        csv_cell(header, c, cell, sizeof(cell));
        if (cell[0] == '\0')
            return -1;
        if (strcmp(cell, name) == 0)
            return (long)c;
    }
    return -1;
}

/* The time of a JSON line at key; *has_sensor: the object has a "sensor" key of its own. */
static uint64_t json_key(const char *line, const char *key, int *has_sensor)
{
    json_object *j = json_tokener_parse(line), *v;
    uint64_t us = 0;

    *has_sensor = j != NULL && json_object_object_get_ex(j, "sensor", NULL);
    if (j != NULL && json_object_object_get_ex(j, key, &v)) {
        double d = json_object_get_double(v);
        if (json_object_is_type(v, json_type_string))
            us = tq_merge_text_key(json_object_get_string(v));
        else if (d > 0 && d < 1e11)
            us = (uint64_t)llround(d * 1e6);
    }
    json_object_put(j);
    return us;
}

/* The lines one sensor's run printed (text: the answer, len bytes) into rows. */
static void take_lines(struct caught *k, const char *sub, char *text)
{
    const char *json_key_name = NULL, *csv_name = NULL;
    long csv_col = -1;
    int first = 1;

    for (size_t i = 0; i < sizeof(time_keys) / sizeof(time_keys[0]); i++)
        if (strcmp(time_keys[i].sub, sub) == 0) {
            json_key_name = time_keys[i].json;
            csv_name = time_keys[i].csv;
        }
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line != NULL && !k->oom;
         line = strtok_r(NULL, "\n", &save), first = 0) {
        struct tq_merge_row *r;
        char cell[64];
        if (first && k->o->format != TQ_JSON) { /* the header (CSV, summary's table) */
            if (k->header == NULL && (k->header = strdup(line)) == NULL)
                k->oom = 1;
            if (k->o->format == TQ_CSV && csv_name != NULL)
                csv_col = csv_column(line, csv_name);
            continue;
        }
        if ((r = add_row(k)) == NULL || (r->line = strdup(line)) == NULL) {
            k->oom = 1;
            break;
        }
        if (k->o->format == TQ_JSON)
            r->key = json_key(line, json_key_name ? json_key_name : "", &r->has_sensor);
        else if (k->o->format == TQ_CSV) {
            csv_cell(line, csv_col < 0 ? 0 : (size_t)csv_col, cell, sizeof(cell));
            r->key = csv_col < 0 ? 0 : tq_merge_text_key(cell);
        } else
            r->key = tq_merge_text_key(line);
    }
}

/* The merged table: SENSOR, then the caught columns. */
static const struct tq_sensor *printing_sensors;

static void merged_cell(const void *rows, size_t i, size_t col, char *out, size_t len)
{
    const struct tq_merge_row *r = (const struct tq_merge_row *)rows + i;

    snprintf(out, len, "%s", col == 0 ? printing_sensors[r->sensor].ns : r->cells[col - 1]);
}

#define MAX_COLS 16

static void print_merged(const struct caught *k, const struct tq_sensor *sensors, size_t n)
{
    const struct tq_opts *o = k->o;

    if (k->table) {
        const char *names[MAX_COLS];
        unsigned char right[MAX_COLS] = {0};
        size_t nc = k->ncols + 1 < MAX_COLS ? k->ncols + 1 : MAX_COLS;
        names[0] = "SENSOR";
        for (size_t c = 1; c < nc; c++) {
            names[c] = k->names[c - 1];
            right[c] = k->right != NULL && k->right[c - 1];
        }
        struct tq_table t = {.ncols = nc, .names = names, .right = right,
                             .cell = merged_cell, .none = k->none};
        printing_sensors = sensors;
        tq_table_print(&t, k->rows, n);
        return;
    }
    if (o->format == TQ_TABLE && k->header != NULL) { /* fixed-width lines: a column before */
        size_t w = strlen("SENSOR");
        char name[4 * 64];
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(sensors[k->rows[i].sensor].ns);
            w = l > w ? l : w;
        }
        printf("%-*s  %s\n", (int)w, "SENSOR", k->header);
        for (size_t i = 0; i < n; i++) {
            tq_escape_text(sensors[k->rows[i].sensor].ns, name, sizeof(name));
            printf("%-*s  %s\n", (int)w, name, k->rows[i].line);
        }
        tq_rows += n;
        return;
    }
    if (o->format == TQ_CSV) {
        if (k->header != NULL)
            printf("sensor,%s\n", k->header);
        for (size_t i = 0; i < n; i++) {
            tq_csv_field(sensors[k->rows[i].sensor].ns, 0);
            puts(k->rows[i].line);
        }
        tq_rows += n;
        return;
    }
    tq_rows += n;
    for (size_t i = 0; i < n; i++) { /* JSON: the caught line is escaped already */
        const char *line = k->rows[i].line;
        if (k->rows[i].has_sensor) { /* an alert names its sensor itself */
            puts(line);
            continue;
        }
        /* names are [A-Za-z0-9_.-/]: nothing to escape in JSON */
        printf("{\"sensor\":\"%s\"%s%s\n", sensors[k->rows[i].sensor].ns,
               line[0] == '{' && line[1] != '}' ? "," : "", line[0] == '{' ? line + 1 : line);
    }
}

static void free_caught(struct caught *k)
{
    for (size_t i = 0; i < k->n; i++) {
        free(k->rows[i].line);
        if (k->rows[i].cells != NULL)
            for (size_t c = 0; c < k->ncols; c++)
                free(k->rows[i].cells[c]);
        free(k->rows[i].cells);
    }
    free(k->rows);
    free(k->header);
}

/* Runs sub for one sensor with its answer caught into k. Returns the exit status. */
static int run_caught(const struct tq_subcommand *sub, struct tw_rclient *c, struct tq_opts *o,
                      struct caught *k)
{
    FILE *saved = stdout, *mem;
    char *text = NULL;
    size_t len = 0;
    int rc;

    if ((mem = open_memstream(&text, &len)) == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return EXIT_REDIS;
    }
    now_catching = k;
    tq_table_taker = take_table;
    stdout = mem;
    rc = sub->run(c, o);
    fflush(mem);
    stdout = saved;
    tq_table_taker = NULL;
    now_catching = NULL;
    fclose(mem);
    if (rc == 0 && text != NULL)
        take_lines(k, sub->name, text);
    free(text);
    if (rc == 0 && k->oom) {
        fprintf(stderr, PROG ": out of memory\n");
        rc = EXIT_REDIS;
    }
    return rc;
}

int tq_fleet_run(const struct tq_subcommand *sub, struct tw_rclient *c, struct tq_opts *o)
{
    struct tq_sensor *sensors;
    struct caught k = {.o = o};
    uint64_t rows_before = tq_rows;
    char ns[64];
    size_t n, shown;
    int rc = 0;

    if (strcmp(sub->name, "sensors") == 0 || strcmp(sub->name, "audit") == 0 ||
        strcmp(sub->name, "verify-audit") == 0) /* not a sensor's keys: once */
        return sub->run(c, o);
    if (!tq_sensors_several(o)) { /* one sensor: as before */
        tq_sensor_namespace(o, ns, sizeof(ns));
        o->sensor = ns;
        return sub->run(c, o);
    }
    if (tq_sensors_select(c, o, 0, &sensors, &n) < 0)
        return EXIT_REDIS;
    if (n == 0)
        fprintf(stderr, PROG ": no registered sensor matches%s%s\n", o->bank ? " in bank " : "",
                o->bank ? o->bank : "");
    for (size_t i = 0; i < n && rc == 0; i++) {
        k.sensor = i;
        k.seq = 0;
        o->sensor = sensors[i].ns;
        rc = run_caught(sub, c, o, &k);
    }
    tq_rows = rows_before; /* the sensors' answers were caught: the merged one is the answer */
    if (rc == 0 && n > 0 && sub->fleet_check != NULL)
        rc = sub->fleet_check(o);
    if (rc == 0) {
        shown = tq_merge_order(k.rows, k.n, (sub->common & TQ_OPT_LIMIT) ? o->limit : 0);
        print_merged(&k, sensors, shown);
        rc = tq_finish(0);
    }
    free_caught(&k);
    free(sensors);
    return rc;
}
