/* netmatch.c - address, application and server-name matching (see netmatch.h). */
#include "control/record/netmatch.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataplane/flow_record.h"
#include "control/record/keys.h"

int tw_cidr_parse(const char *text, uint8_t addr[16], int *v4, uint8_t *bits)
{
    char a[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t)(slash - text) : strlen(text);
    unsigned max, b;

    if (n == 0 || n >= sizeof(a))
        return -1;
    memcpy(a, text, n);
    a[n] = '\0';
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, a, addr) == 1)
        *v4 = 1;
    else if (inet_pton(AF_INET6, a, addr) == 1)
        *v4 = 0;
    else
        return -1;
    max = *v4 ? 32 : 128;
    b = max;
    if (slash) {
        const char *d = slash + 1;
        if (*d == '\0' || strlen(d) > 3)
            return -1;
        b = 0;
        for (; *d; d++) {
            if (!isdigit((unsigned char)*d))
                return -1;
            b = b * 10 + (unsigned)(*d - '0');
        }
        if (b > max)
            return -1;
    }
    for (unsigned i = b; i < max; i++)
        addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
    *bits = (uint8_t)b;
    return 0;
}

int tw_cidr_contains(const uint8_t net[16], uint8_t bits, const uint8_t *addr)
{
    unsigned full = bits / 8u;

    if (memcmp(addr, net, full) != 0)
        return 0;
    if (bits % 8 == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xffu << (8 - bits % 8));
    return (addr[full] & mask) == (net[full] & mask);
}

/* ---- longest-prefix table -------------------------------------------------------------- */

struct prefix_slot {
    uint8_t key[16]; /* the prefix, host bits cleared */
    int32_t value;   /* -1: empty */
};

struct prefix_len {
    struct prefix_slot *slots;
    uint32_t cap; /* a power of two, or 0 before the first prefix of this length */
    uint32_t count;
};

struct prefix_family {
    struct prefix_len len[129];
    uint8_t order[129]; /* the lengths in use, longest first */
    unsigned norder;
};

struct tw_prefix_set {
    struct prefix_family fam[2]; /* [0] IPv6, [1] IPv4 */
};

struct tw_prefix_set *tw_prefix_set_new(void)
{
    struct tw_prefix_set *s = calloc(1, sizeof(*s));

    if (s == NULL)
        errno = ENOMEM;
    return s;
}

void tw_prefix_set_free(struct tw_prefix_set *s)
{
    if (s == NULL)
        return;
    for (int f = 0; f < 2; f++)
        for (int l = 0; l <= 128; l++)
            free(s->fam[f].len[l].slots);
    free(s);
}

static uint32_t prefix_hash(const uint8_t key[16])
{
    uint64_t a, b;

    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    uint64_t h = a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL) * 0xc2b2ae3d27d4eb4fULL;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    return (uint32_t)(h ^ h >> 32);
}

/* The slot of key in t: the one holding it, or the empty one where it would go. t->cap > 0
 * and the table is never full (at most half used). */
static struct prefix_slot *prefix_slot_of(const struct prefix_len *t, const uint8_t key[16])
{
    uint32_t i = prefix_hash(key) & (t->cap - 1);

    while (t->slots[i].value >= 0 && memcmp(t->slots[i].key, key, 16) != 0)
        i = (i + 1) & (t->cap - 1);
    return &t->slots[i];
}

/* Doubles t (or creates it with 16 slots). Returns 0, or -1 when out of memory. */
static int prefix_len_grow(struct prefix_len *t)
{
    uint32_t cap = t->cap ? t->cap * 2 : 16;
    struct prefix_len n = {.cap = cap, .count = t->count};

    if (cap == 0 || (n.slots = malloc((size_t)cap * sizeof(*n.slots))) == NULL)
        return -1;
    for (uint32_t i = 0; i < cap; i++)
        n.slots[i].value = -1;
    for (uint32_t i = 0; i < t->cap; i++)
        if (t->slots[i].value >= 0)
            *prefix_slot_of(&n, t->slots[i].key) = t->slots[i];
    free(t->slots);
    *t = n;
    return 0;
}

/* addr cut to its first bits bits, in a 16-byte key. */
static void prefix_key(const uint8_t *addr, unsigned bits, uint8_t key[16])
{
    unsigned full = bits / 8u;

    memset(key, 0, 16);
    memcpy(key, addr, full);
    if (bits % 8)
        key[full] = (uint8_t)(addr[full] & (0xffu << (8 - bits % 8)));
}

int tw_prefix_set_add(struct tw_prefix_set *s, const uint8_t net[16], int v4, uint8_t bits,
                      int32_t value)
{
    struct prefix_family *f = &s->fam[v4 ? 1 : 0];
    struct prefix_len *t;
    uint8_t key[16];

    if (bits > (v4 ? 32 : 128) || value < 0) {
        errno = EINVAL;
        return -1;
    }
    t = &f->len[bits];
    if ((t->count + 1) * 2 > t->cap && prefix_len_grow(t) != 0) {
        errno = ENOMEM;
        return -1;
    }
    prefix_key(net, bits, key);
    struct prefix_slot *slot = prefix_slot_of(t, key);
    if (slot->value >= 0)
        return 0;
    memcpy(slot->key, key, 16);
    slot->value = value;
    if (t->count++ == 0) { /* a new length: into the order, longest first */
        unsigned i = f->norder++;
        for (; i > 0 && f->order[i - 1] < bits; i--)
            f->order[i] = f->order[i - 1];
        f->order[i] = bits;
    }
    return 0;
}

int32_t tw_prefix_set_lookup(const struct tw_prefix_set *s, const uint8_t *addr, int v4)
{
    const struct prefix_family *f = &s->fam[v4 ? 1 : 0];
    uint8_t key[16];

    for (unsigned i = 0; i < f->norder; i++) {
        prefix_key(addr, f->order[i], key);
        const struct prefix_slot *slot = prefix_slot_of(&f->len[f->order[i]], key);
        if (slot->value >= 0)
            return slot->value;
    }
    return -1;
}

int tw_server_name_match(const char *pattern, const char *name)
{
    if (pattern[0] == '*' && pattern[1] == '.') {
        size_t pl = strlen(pattern + 1), nl = strlen(name); /* ".example.com" */
        return nl > pl && strcasecmp(name + nl - pl, pattern + 1) == 0;
    }
    return strcasecmp(pattern, name) == 0;
}

int tw_app_match(const char *want, const char *app)
{
    char parts[TW_APP_PARTS_MAX][TW_APP_LEN];
    int n;

    if (strcasecmp(want, app) == 0)
        return 1;
    if (strchr(want, '.') != NULL)
        return 0;
    n = tw_app_parts(app, TW_APP_LEN, parts, TW_APP_PARTS_MAX);
    for (int i = 0; i < n; i++)
        if (strcasecmp(want, parts[i]) == 0)
            return 1;
    return 0;
}

