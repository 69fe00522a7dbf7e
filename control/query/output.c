/* output.c - how tapwatch-query prints: CSV fields, tables with columns sized to their cells,
 * JSON lines, and the end of an answer. Every cell and line goes through escape.h on its way
 * out: what a record holds came from the wire. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/query/escape.h"
#include "control/query/query.h"

uint64_t tq_rows;

void tq_csv_field(const char *s, int last)
{
    char cell[2 * 4096 + 8];

    tq_csv_cell(s, cell, sizeof(cell));
    fputs(cell, stdout);
    putchar(last ? '\n' : ',');
    tq_rows += last != 0;
}

void tq_json_line(const char *json)
{
    size_t len = 6 * strlen(json) + 1;
    char *out = malloc(len);

    if (out == NULL) { /* nothing unescaped goes out: the line is lost, the answer fails */
        fprintf(stderr, PROG ": out of memory\n");
        return;
    }
    tq_json_text(json, out, len);
    puts(out);
    tq_rows++;
    free(out);
}

void tq_csv_header(const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tq_csv_field(names[i], i + 1 == n);
    tq_rows--; /* a header is not a row */
}

void tq_utc_text(uint64_t us, int with_time, char *out, size_t len)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, len, with_time ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d", &tm);
}

/* Display width of UTF-8 text: one column per character (good enough for names). */
static size_t text_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

#define TQ_MAX_COLS 16

/* The text of row i, column col, escaped for a terminal (escape.h). */
static void safe_cell(const struct tq_table *t, const void *rows, size_t i, size_t col,
                      char *out, size_t len)
{
    char raw[512];

    t->cell(rows, i, col, raw, sizeof(raw));
    tq_escape_text(raw, out, len);
}

void (*tq_table_taker)(const struct tq_table *t, const void *rows, size_t n);

void tq_table_print(const struct tq_table *t, const void *rows, size_t n)
{
    size_t width[TQ_MAX_COLS], nc = t->ncols < TQ_MAX_COLS ? t->ncols : TQ_MAX_COLS;
    char text[4 * 512];

    if (tq_table_taker != NULL) { /* one sensor's answer of several (merge.c) */
        tq_table_taker(t, rows, n);
        return;
    }
    for (size_t c = 0; c < nc; c++)
        width[c] = text_width(t->names[c]);
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < nc; c++) {
            safe_cell(t, rows, i, c, text, sizeof(text));
            if (text_width(text) > width[c])
                width[c] = text_width(text);
        }
    /* line 0 is the header */
    for (size_t i = 0; i <= n; i++) {
        for (size_t c = 0; c < nc; c++) {
            const char *s = text;
            if (i == 0)
                s = t->names[c];
            else
                safe_cell(t, rows, i - 1, c, text, sizeof(text));
            int pad = (int)(width[c] - text_width(s));
            if (t->right != NULL && t->right[c])
                printf("%*s%s", pad, "", s);
            else if (c == nc - 1)
                fputs(s, stdout); /* no trailing blanks */
            else
                printf("%s%*s", s, pad, "");
            fputs(c == nc - 1 ? "\n" : "  ", stdout);
        }
    }
    tq_rows += n;
    if (n == 0)
        fprintf(stderr, PROG ": %s\n", t->none);
}

int tq_finish(int failed)
{
    if (fflush(stdout) != 0 && !failed) {
        fprintf(stderr, PROG ": cannot write the answer: %s\n", strerror(errno));
        return EXIT_REDIS;
    }
    return failed ? EXIT_REDIS : 0;
}
