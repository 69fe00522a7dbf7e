/* output.c - how tapwatch-query prints: CSV fields, tables with columns sized to their cells,
 * and the end of an answer. JSON lines are printed by each subcommand (one object per line). */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "control/query/query.h"

void tq_csv_field(const char *s, int last)
{
    if (strpbrk(s, ",\"\r\n") != NULL) {
        putchar('"');
        for (; *s; s++) {
            if (*s == '"')
                putchar('"');
            putchar(*s);
        }
        putchar('"');
    } else {
        fputs(s, stdout);
    }
    putchar(last ? '\n' : ',');
}

void tq_csv_header(const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tq_csv_field(names[i], i + 1 == n);
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

void tq_table_print(const struct tq_table *t, const void *rows, size_t n)
{
    size_t width[TQ_MAX_COLS], nc = t->ncols < TQ_MAX_COLS ? t->ncols : TQ_MAX_COLS;
    char text[512];

    for (size_t c = 0; c < nc; c++)
        width[c] = text_width(t->names[c]);
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < nc; c++) {
            t->cell(rows, i, c, text, sizeof(text));
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
                t->cell(rows, i - 1, c, text, sizeof(text));
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
