/* reached.c - what each equipment reached, for cross_border's first_contact (see
 * policy_model.h): per equipment the countries and ASNs it sent payload to, with the last
 * local day of each.
 *
 * Equipment names hash into a fixed table of TW_REACHED_NAMES slots (linear probing, never
 * deleted: names come from the policy, at most TW_POLICY_MAX_EQUIPMENT per policy, so twice
 * that covers a reload that renames them all). Each name owns an array of (code, day) sorted
 * by code, grown by doubling up to TW_REACHED_MAX; when it is full the entry with the oldest
 * day is forgotten (counted): at worst that country alerts again as a first contact.
 */
#include "control/policy/policy_model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TW_REACHED_NAMES (2 * TW_POLICY_MAX_EQUIPMENT)

struct reached_entry {
    uint64_t code;
    int64_t day;
};

struct reached_eq {
    char name[TW_EQUIPMENT_LEN];
    struct reached_entry *e; /* sorted by code */
    uint32_t n, cap;
};

struct tw_reached {
    uint64_t forgotten;
    struct reached_eq names[TW_REACHED_NAMES];
};

struct tw_reached *tw_reached_new(void)
{
    return calloc(1, sizeof(struct tw_reached));
}

void tw_reached_free(struct tw_reached *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < TW_REACHED_NAMES; i++)
        free(m->names[i].e);
    free(m);
}

uint64_t tw_reached_forgotten(const struct tw_reached *m)
{
    return m->forgotten;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* The slot of equipment (made when absent), or NULL when the table is full. */
static struct reached_eq *find_eq(struct tw_reached *m, const char *equipment)
{
    size_t start = fnv1a(equipment) % TW_REACHED_NAMES;

    for (size_t i = 0; i < TW_REACHED_NAMES; i++) {
        struct reached_eq *q = &m->names[(start + i) % TW_REACHED_NAMES];
        if (q->name[0] == '\0') {
            snprintf(q->name, sizeof(q->name), "%s", equipment);
            return q;
        }
        if (strcmp(q->name, equipment) == 0)
            return q;
    }
    return NULL;
}

/* The index of code in q, or of where it would go (*found 0). */
static uint32_t search(const struct reached_eq *q, uint64_t code, int *found)
{
    uint32_t lo = 0, hi = q->n;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (q->e[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < q->n && q->e[lo].code == code;
    return lo;
}

/* Inserts code at its place i; forgets the oldest entry first when q is full. Returns 0, or
 * -1 when no memory (counted as forgotten). */
static int insert(struct tw_reached *m, struct reached_eq *q, uint64_t code, int64_t day)
{
    int found;
    uint32_t i;

    if (q->n == TW_REACHED_MAX) {
        uint32_t old = 0;
        for (uint32_t k = 1; k < q->n; k++)
            if (q->e[k].day < q->e[old].day)
                old = k;
        memmove(&q->e[old], &q->e[old + 1], (q->n - old - 1) * sizeof(q->e[0]));
        q->n--;
        m->forgotten++;
    }
    if (q->n == q->cap) {
        uint32_t cap = q->cap ? q->cap * 2 : 16;
        struct reached_entry *e = realloc(q->e, cap * sizeof(*e));
        if (e == NULL) {
            m->forgotten++;
            return -1;
        }
        q->e = e;
        q->cap = cap;
    }
    i = search(q, code, &found);
    memmove(&q->e[i + 1], &q->e[i], (q->n - i) * sizeof(q->e[0]));
    q->e[i] = (struct reached_entry){code, day};
    q->n++;
    return 0;
}

int tw_reached_touch(struct tw_reached *m, const char *equipment, uint64_t code, int64_t day,
                     uint32_t days, int *advanced)
{
    struct reached_eq *q = find_eq(m, equipment);
    int found;
    uint32_t i;

    *advanced = 0;
    if (q == NULL) {
        m->forgotten++;
        return -1;
    }
    i = search(q, code, &found);
    if (!found) {
        *advanced = insert(m, q, code, day) == 0;
        return 1;
    }
    int first = day - q->e[i].day >= (int64_t)days;
    if (day > q->e[i].day) { /* an older packet time (a replay of the past) moves nothing */
        q->e[i].day = day;
        *advanced = 1;
    }
    return first;
}

int tw_reached_seed(struct tw_reached *m, const char *equipment, uint64_t code, int64_t day)
{
    struct reached_eq *q = find_eq(m, equipment);
    int found;
    uint32_t i;

    if (q == NULL) {
        m->forgotten++;
        return -1;
    }
    i = search(q, code, &found);
    if (!found)
        return insert(m, q, code, day);
    if (day > q->e[i].day)
        q->e[i].day = day;
    return 0;
}

int tw_reached_code_text(uint64_t code, char *out, size_t len)
{
    int n;

    if (code & TW_REACHED_ASN)
        n = snprintf(out, len, "AS%" PRIu32, (uint32_t)code);
    else if (code >> 16 == 0 && (code >> 8) >= 'A' && (code >> 8) <= 'Z' &&
             (code & 0xff) >= 'A' && (code & 0xff) <= 'Z')
        n = snprintf(out, len, "%c%c", (char)(code >> 8), (char)(code & 0xff));
    else
        return -1;
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

int tw_reached_code_parse(const char *t, uint64_t *code)
{
    if (t[0] >= 'A' && t[0] <= 'Z' && t[1] >= 'A' && t[1] <= 'Z' && t[2] == '\0') {
        *code = (uint64_t)(unsigned char)t[0] << 8 | (unsigned char)t[1];
        return 0;
    }
    if (t[0] == 'A' && t[1] == 'S' && t[2] >= '1' && t[2] <= '9' && strlen(t) <= 12 &&
        t[2 + strspn(t + 2, "0123456789")] == '\0') {
        unsigned long long n = strtoull(t + 2, NULL, 10);
        if (n > UINT32_MAX)
            return -1;
        *code = TW_REACHED_ASN | n;
        return 0;
    }
    return -1;
}
