/* equipment_check.c - the load rule on the equipment list: names unique, and an address
 * belongs to one equipment only (see policy_model.h).
 *
 * The rule used to be checked pair by pair (every address of every earlier equipment), which
 * is quadratic in the number of addresses: hours for 1024 x 1024. It is now one sort and two
 * passes, and reports the same first conflict the pairwise check did (the first equipment in
 * file order that has one; then the earliest other equipment; a duplicate name before an
 * overlap with the same equipment; then the first address).
 *
 * Prefixes either nest or are apart, so sorted by (family, address, length) they are a forest
 * in depth-first order: a prefix's descendants follow it, its ancestors are on a stack.
 *
 *   10.0.0.0/8 (eq 3)            anc_min = 3             sub_min = min(3, 7, 1) = 1
 *     10.1.0.0/16 (eq 7)         anc_min = min(3, 7) = 3 sub_min = 7
 *     10.2.0.0/16 (eq 1)         anc_min = 1             sub_min = 1
 *
 * The smallest equipment index that overlaps a prefix is min(anc_min, sub_min): the prefix's
 * own equipment when no earlier one overlaps it.
 */
#include "control/policy/policy_model.h"

#include <stdlib.h>
#include <string.h>

struct item {
    uint8_t addr[16];
    uint8_t v4, bits;
    uint32_t eq;    /* index in the equipment list */
    uint32_t a;     /* index in its addresses */
    uint32_t up;    /* the nearest ancestor (an index in the sorted items), or UINT32_MAX */
    uint32_t anc_min, sub_min;
};

static int item_cmp(const void *x, const void *y)
{
    const struct item *a = x, *b = y;
    int c;

    if (a->v4 != b->v4)
        return a->v4 < b->v4 ? -1 : 1;
    if ((c = memcmp(a->addr, b->addr, 16)) != 0)
        return c;
    if (a->bits != b->bits)
        return a->bits < b->bits ? -1 : 1;
    if (a->eq != b->eq)
        return a->eq < b->eq ? -1 : 1;
    return a->a < b->a ? -1 : a->a > b->a;
}

/* 1 when prefix x holds prefix y (same family, x no longer, y inside x). */
static int holds(const struct item *x, const struct item *y)
{
    return x->v4 == y->v4 && x->bits <= y->bits && tw_cidr_contains(x->addr, x->bits, y->addr);
}

static int name_cmp(const void *x, const void *y, void *eq)
{
    const struct equipment *e = eq;
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    int c = strcmp(e[a].name, e[b].name);

    return c ? c : a < b ? -1 : a > b;
}

/* first_same[i]: the first equipment with the name of i (i itself when it is the first). */
static int first_names(const struct equipment *eq, size_t n, size_t *first_same)
{
    size_t *order = malloc((n + 1) * sizeof(*order));

    if (order == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof(*order), name_cmp, (void *)eq);
    for (size_t k = 0; k < n; k++)
        first_same[order[k]] =
            k > 0 && strcmp(eq[order[k]].name, eq[order[k - 1]].name) == 0
                ? first_same[order[k - 1]]
                : order[k];
    free(order);
    return 0;
}

/* Fills and sorts the items of every address; links each to its nearest ancestor and sets
 * anc_min and sub_min. Returns the items (count in *count), or NULL when out of memory. */
static struct item *build_forest(const struct equipment *eq, size_t n, size_t *count)
{
    size_t total = 0, k = 0, depth = 0;
    struct item *it;
    uint32_t *stack;

    for (size_t i = 0; i < n; i++)
        total += eq[i].naddrs;
    it = malloc((total + 1) * sizeof(*it));
    stack = malloc(130 * sizeof(*stack)); /* one ancestor per prefix length at most */
    if (it == NULL || stack == NULL) {
        free(it);
        free(stack);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < eq[i].naddrs; a++, k++) {
            memcpy(it[k].addr, eq[i].addrs[a].addr, 16);
            it[k].v4 = eq[i].addrs[a].v4;
            it[k].bits = eq[i].addrs[a].bits;
            it[k].eq = (uint32_t)i;
            it[k].a = (uint32_t)a;
        }
    qsort(it, total, sizeof(*it), item_cmp);
    for (k = 0; k < total; k++) {
        while (depth > 0 && !holds(&it[stack[depth - 1]], &it[k]))
            depth--;
        /* of equal prefixes the later takes the earlier's place (its parent), so the stack
         * holds one prefix per length: 129 at most */
        if (depth > 0 && it[stack[depth - 1]].bits == it[k].bits) {
            it[k].up = stack[depth - 1];
            depth--;
        } else {
            it[k].up = depth > 0 ? stack[depth - 1] : UINT32_MAX;
        }
        it[k].anc_min = it[k].eq;
        if (it[k].up != UINT32_MAX && it[it[k].up].anc_min < it[k].anc_min)
            it[k].anc_min = it[it[k].up].anc_min;
        it[k].sub_min = it[k].eq;
        stack[depth++] = (uint32_t)k;
    }
    for (k = total; k-- > 0;) /* children follow their parent: fold them up from the end */
        if (it[k].up != UINT32_MAX && it[k].sub_min < it[it[k].up].sub_min)
            it[it[k].up].sub_min = it[k].sub_min;
    free(stack);
    *count = total;
    return it;
}

int tw_equipment_first_conflict(const struct equipment *eq, size_t n,
                                struct tw_equipment_conflict *c)
{
    size_t *first_same = malloc((n + 1) * sizeof(*first_same));
    size_t *over = malloc((n + 1) * sizeof(*over)); /* the earliest equipment overlapping i */
    size_t total = 0;
    struct item *it = NULL;
    int rc = -1;

    if (first_same == NULL || over == NULL || first_names(eq, n, first_same) != 0 ||
        (it = build_forest(eq, n, &total)) == NULL)
        goto out;
    for (size_t i = 0; i < n; i++)
        over[i] = i;
    for (size_t k = 0; k < total; k++) {
        uint32_t m = it[k].anc_min < it[k].sub_min ? it[k].anc_min : it[k].sub_min;
        if (m < over[it[k].eq])
            over[it[k].eq] = m;
    }
    rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        size_t j = first_same[i] < over[i] ? first_same[i] : over[i];
        if (j == i)
            continue;
        rc = 1;
        c->i = i;
        c->j = j;
        c->name = first_same[i] == j;
        c->a = SIZE_MAX;
        if (c->name)
            break;
        /* the first address of i that overlaps j: its overlap minimum is j (none is below) */
        for (size_t k = 0; k < total; k++) {
            uint32_t m = it[k].anc_min < it[k].sub_min ? it[k].anc_min : it[k].sub_min;
            if (it[k].eq == i && m == j && it[k].a < c->a)
                c->a = it[k].a;
        }
    }
out:
    free(it);
    free(over);
    free(first_same);
    return rc;
}
