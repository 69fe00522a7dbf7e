/* inventory.c - the sensor's published equipment inventory, read and checked (see
 * inventory.h). */
#include "control/query/inventory.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "control/query/coverage.h"
#include "control/record/keys.h"
#include "control/record/netmatch.h"

/* A copy of a JSON string of at most len - 1 bytes into out. Returns 0, or -1. */
static int str_field(json_object *o, const char *key, char *out, size_t len)
{
    json_object *v;
    const char *s;

    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string) ||
        (s = json_object_get_string(v)) == NULL ||
        (size_t)json_object_get_string_len(v) >= len || strlen(s) != (size_t)json_object_get_string_len(v))
        return -1;
    memcpy(out, s, strlen(s) + 1);
    return 0;
}

static int hex64(const char *s)
{
    if (s[0] == '\0')
        return 1;
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

/* One element of "equipment" into e. Returns 0, or -1 with why. */
static int one_equipment(json_object *o, struct tq_equipment *e, const char **why)
{
    json_object *list;
    size_t n;

    *why = "an equipment without a valid name";
    if (!json_object_is_type(o, json_type_object) ||
        str_field(o, "name", e->name, sizeof(e->name)) < 0 || !tq_valid_name(e->name))
        return -1;
    *why = "an equipment without a valid vendor";
    if (str_field(o, "vendor", e->vendor, sizeof(e->vendor)) < 0)
        return -1;
    *why = "an equipment without a valid address list";
    if (!json_object_object_get_ex(o, "addresses", &list) ||
        !json_object_is_type(list, json_type_array) ||
        (n = json_object_array_length(list)) > TQ_INV_MAX_ADDRESSES)
        return -1;
    if (n > 0 && (e->nets = calloc(n, sizeof(*e->nets))) == NULL) {
        *why = "out of memory";
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *a = json_object_array_get_idx(list, i);
        struct tq_net *net = &e->nets[e->nnets];
        int v4;
        *why = "an address that is not an address or a CIDR";
        if (!json_object_is_type(a, json_type_string) ||
            tw_cidr_parse(json_object_get_string(a), net->addr, &v4, &net->bits) < 0)
            return -1;
        net->v4 = (uint8_t)v4;
        e->nnets++;
    }
    return 0;
}

int tq_inventory_parse(const char *text, size_t len, struct tq_inventory *inv, const char **why)
{
    json_object *j = tq_json_parse(text, len), *v, *list;
    double since;
    size_t n;
    int rc = -1;

    memset(inv, 0, sizeof(*inv));
    *why = "not valid JSON";
    if (j == NULL)
        return -1;
    *why = "no valid policy_sha256";
    if (str_field(j, "policy_sha256", inv->policy_sha256, sizeof(inv->policy_sha256)) < 0 ||
        !hex64(inv->policy_sha256))
        goto out;
    *why = "no valid since";
    if (!json_object_object_get_ex(j, "since", &v) ||
        !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) ||
        !isfinite(since = json_object_get_double(v)) || since < 0 || since > 4e12)
        goto out;
    inv->since_us = (uint64_t)llround(since * 1e6);
    *why = "no valid equipment list";
    if (!json_object_object_get_ex(j, "equipment", &list) ||
        !json_object_is_type(list, json_type_array) ||
        (n = json_object_array_length(list)) > TQ_INV_MAX_EQUIPMENT)
        goto out;
    if (n > 0 && (inv->eq = calloc(n, sizeof(*inv->eq))) == NULL) {
        *why = "out of memory";
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        inv->neq++;
        if (one_equipment(json_object_array_get_idx(list, i), &inv->eq[i], why) < 0)
            goto out;
        for (size_t k = 0; k < i; k++)
            if (strcmp(inv->eq[k].name, inv->eq[i].name) == 0) {
                *why = "an equipment named twice";
                goto out;
            }
    }
    rc = 0;
out:
    json_object_put(j);
    if (rc < 0)
        tq_inventory_free(inv);
    return rc;
}

int tq_inventory_read(struct tw_rclient *c, const char *sensor, struct tq_inventory *inv)
{
    char key[TW_KEY_LEN];
    const char *why;
    redisReply *r;

    memset(inv, 0, sizeof(*inv));
    if (tw_key_inventory(key, sizeof(key), sensor) < 0) {
        fprintf(stderr, PROG ": sensor name too long\n");
        return -1;
    }
    r = tw_rclient_command(c, "GET %s", key);
    if (r == NULL || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL))
        return tq_reply_failed(c, r, "GET");
    if (r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return 0;
    }
    if (tq_inventory_parse(r->str, r->len, inv, &why) < 0) {
        tq_warn_invalid(key, "JSON", why);
        freeReplyObject(r);
        return 0;
    }
    freeReplyObject(r);
    return 1;
}

const struct tq_equipment *tq_inventory_find(const struct tq_inventory *inv, const char *name)
{
    for (size_t i = 0; i < inv->neq; i++)
        if (strcmp(inv->eq[i].name, name) == 0)
            return &inv->eq[i];
    return NULL;
}

void tq_net_text(const struct tq_net *n, char *out, size_t len)
{
    if (n->bits == (n->v4 ? 32 : 128))
        tw_addr_text(n->addr, n->v4, out, len);
    else if (tw_net_text(n->addr, n->v4, n->bits, out, len) != 0)
        snprintf(out, len, "?");
}

int tq_nets_contain(const struct tq_net *nets, size_t n, const uint8_t *addr, int v4)
{
    for (size_t i = 0; i < n; i++)
        if (nets[i].v4 == (v4 != 0) && tw_cidr_contains(nets[i].addr, nets[i].bits, addr))
            return 1;
    return 0;
}

void tq_inventory_free(struct tq_inventory *inv)
{
    for (size_t i = 0; i < inv->neq; i++)
        free(inv->eq[i].nets);
    free(inv->eq);
    inv->eq = NULL;
    inv->neq = 0;
}
