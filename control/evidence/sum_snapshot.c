/* sum_snapshot.c - the canonical text of a summary bucket (sum_snapshot.h). */
#include "control/evidence/sum_snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tw_sum_entry_cmp(const void *a, const void *b)
{
    const struct tw_sum_entry *x = a, *y = b;
    size_t n = x->nlen < y->nlen ? x->nlen : y->nlen;
    int c;

    if (x->sect != y->sect)
        return (unsigned char)x->sect < (unsigned char)y->sect ? -1 : 1;
    if ((c = memcmp(x->name, y->name, n)) != 0)
        return c;
    return x->nlen < y->nlen ? -1 : x->nlen > y->nlen;
}

void tw_sum_normalize(struct tw_sum_bucket *b)
{
    size_t k = 0;

    if (b->n < 2)
        return;
    qsort(b->e, b->n, sizeof(*b->e), tw_sum_entry_cmp);
    for (size_t i = 1; i < b->n; i++) {
        if (tw_sum_entry_cmp(&b->e[k], &b->e[i]) == 0)
            b->e[k].value = (int64_t)((uint64_t)b->e[k].value + (uint64_t)b->e[i].value);
        else
            b->e[++k] = b->e[i];
    }
    b->n = k + 1;
}

static int plain(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '%';
}

/* One entry's line into out (at least TW_SUM_LINE_MAX bytes). Returns its length. */
static size_t line(const struct tw_sum_entry *e, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    out[o++] = e->sect;
    out[o++] = ' ';
    for (size_t i = 0; i < e->nlen; i++) {
        unsigned char c = (unsigned char)e->name[i];
        if (plain(c)) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    o += (size_t)snprintf(out + o, 24, " %" PRId64 "\n", e->value);
    return o;
}

long tw_sum_render(const struct tw_sum_bucket *b, size_t *from, uint64_t seq, const char *run,
                   char *out, size_t cap)
{
    char tag[TW_SUM_TAG_MAX], ln[TW_SUM_LINE_MAX + 1];
    size_t tl = 0, o, i = *from;
    int n;

    if (seq != 0)
        tl = (size_t)snprintf(tag, sizeof(tag), "seq=%" PRIu64 " run=%.16s\n", seq, run);
    n = snprintf(out, cap, "tws-sum1 %s %c %" PRIu64 "\n", b->equipment, b->by, b->bucket);
    if (n < 0 || (size_t)n + tl >= cap)
        return -1;
    o = (size_t)n;
    for (; i < b->n; i++) {
        size_t l = line(&b->e[i], ln);
        if (o + l + tl >= cap)
            break;
        memcpy(out + o, ln, l);
        o += l;
    }
    if (i == *from && i < b->n)
        return -1; /* not one entry fits: the caller's buffer is too small */
    memcpy(out + o, tag, tl);
    o += tl;
    out[o] = '\0';
    *from = i;
    return (long)o;
}

size_t tw_sum_line(const struct tw_sum_entry *e, char *out)
{
    size_t n = line(e, out);

    out[n - 1] = '\0';
    return n - 1;
}

static int unhex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Parses a decimal (with a '-' for int64) from p to end, exactly. Returns 0 or -1. */
static int number(const char *p, const char *end, int sign, uint64_t *out)
{
    uint64_t v = 0;
    int neg = 0;

    if (sign && p < end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p == end || end - p > 20 || (*p == '0' && end - p > 1))
        return -1;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (sign && v > (uint64_t)INT64_MAX + neg)
        return -1;
    *out = neg ? (uint64_t)0 - v : v;
    return 0;
}

int tw_sum_parse(const char *text, size_t len, struct tw_sum_bucket *b, uint64_t *seq,
                 char run[17])
{
    const char *p = text, *end = text + len, *nl, *sp;
    size_t cap = 0;
    uint64_t v;

    memset(b, 0, sizeof(*b));
    *seq = 0;
    run[0] = '\0';
    /* header: tws-sum1 <E> <h|d> <n> */
    if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL || nl - p < 9 ||
        memcmp(p, "tws-sum1 ", 9) != 0)
        return -1;
    p += 9;
    if ((sp = memchr(p, ' ', (size_t)(nl - p))) == NULL || sp == p ||
        sp - p > TW_SUM_EQUIPMENT_MAX)
        return -1;
    memcpy(b->equipment, p, (size_t)(sp - p));
    p = sp + 1;
    if (nl - p < 3 || (p[0] != 'h' && p[0] != 'd') || p[1] != ' ' ||
        number(p + 2, nl, 0, &b->bucket) != 0)
        return -1;
    b->by = p[0];
    for (p = nl + 1; p < end; p = nl + 1) {
        if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
            goto bad;
        if (nl - p > 4 && memcmp(p, "seq=", 4) == 0) { /* the tag: the last line */
            if (nl + 1 != end || (sp = memchr(p, ' ', (size_t)(nl - p))) == NULL ||
                number(p + 4, sp, 0, seq) != 0 || *seq == 0 || nl - sp != 5 + 16 ||
                memcmp(sp, " run=", 5) != 0)
                goto bad;
            memcpy(run, sp + 5, 16);
            run[16] = '\0';
            break;
        }
        struct tw_sum_entry e = {0};
        if (nl - p < 4 || !strchr("fpac", p[0]) || p[0] == '\0' || p[1] != ' ')
            goto bad;
        e.sect = p[0];
        const char *q = p + 2;
        const char *last = nl;
        while (last > q && last[-1] != ' ')
            last--;
        if (last <= q + 1 || number(last, nl, 1, &v) != 0)
            goto bad;
        e.value = (int64_t)v;
        for (const char *c = q; c < last - 1; c++) {
            int hi, lo;
            if (e.nlen == TW_SUM_NAME_MAX)
                goto bad;
            if (*c != '%') {
                if (!plain((unsigned char)*c))
                    goto bad;
                e.name[e.nlen++] = *c;
                continue;
            }
            if (last - 1 - c < 3 || (hi = unhex(c[1])) < 0 || (lo = unhex(c[2])) < 0)
                goto bad;
            e.name[e.nlen++] = (char)(hi * 16 + lo);
            c += 2;
        }
        if (b->n == cap) {
            size_t nc = cap ? 2 * cap : 16;
            struct tw_sum_entry *ne = realloc(b->e, nc * sizeof(*ne));
            if (ne == NULL)
                goto bad;
            b->e = ne;
            cap = nc;
        }
        b->e[b->n++] = e;
    }
    return 0;
bad:
    free(b->e);
    b->e = NULL;
    b->n = 0;
    return -1;
}
