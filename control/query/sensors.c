/* sensors.c - which sensors a query reads (query.h): one by --sensor NAME (and --bank), a
 * list --sensor a,b,c, a glob --sensor 'branch-*', or --all-sensors; globs and --all-sensors
 * read the registry of sensors each sensor keeps under its bank (fleet_keys.h,
 * sensor_registry.h). What the registry holds was written by whoever could write it: each
 * entry is checked (names, sizes, types) and one that fails is left out, said on stderr.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "control/query/query.h"
#include "control/record/fleet_keys.h"

#define REG_JSON_MAX 4096 /* an entry is about 300 bytes; more is not ours */
#define BANKS_MAX 4096

static int has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

int tq_sensors_several(const struct tq_opts *o)
{
    return o->all_sensors || (o->sensor_sel != NULL && (strchr(o->sensor_sel, ',') != NULL ||
                                                         has_glob(o->sensor_sel)));
}

/* One name of a --sensor list: a sensor, or "bank/sensor" when no --bank is given. */
static int valid_listed(const struct tq_opts *o, const char *name)
{
    const char *slash = strchr(name, '/');
    char bank[64];

    if (slash == NULL)
        return tw_fleet_valid_name(name);
    if (o->bank != NULL || (size_t)(slash - name) >= sizeof(bank) || strlen(name) >= 64)
        return 0;
    snprintf(bank, sizeof(bank), "%.*s", (int)(slash - name), name);
    return tw_fleet_valid_name(bank) && strlen(bank) < 32 && tw_fleet_valid_name(slash + 1);
}

int tq_sensors_check(const struct tq_opts *o)
{
    if (o->bank != NULL && (!tw_fleet_valid_name(o->bank) || strlen(o->bank) >= 32))
        return tq_usage_error("bad --bank \"%s\": expected 1 to 31 letters, digits, '_', '.', '-'",
                              o->bank);
    if (o->all_sensors && o->sensor_sel != NULL)
        return tq_usage_error("--all-sensors and --sensor: give one of them");
    if (o->sensor_sel == NULL)
        return 0;
    if (has_glob(o->sensor_sel)) {
        if (strchr(o->sensor_sel, ',') != NULL || strlen(o->sensor_sel) >= 128)
            return tq_usage_error("bad --sensor \"%s\": a glob is one pattern", o->sensor_sel);
        return 0;
    }
    char list[1024], *save = NULL;
    size_t n = 0;
    if (snprintf(list, sizeof(list), "%s", o->sensor_sel) >= (int)sizeof(list))
        return tq_usage_error("--sensor: list too long");
    for (char *p = strtok_r(list, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save), n++)
        if (!valid_listed(o, p))
            return tq_usage_error("bad --sensor \"%s\": expected letters, digits, '_', '.', '-'%s",
                                  p, strchr(p, '/') && !o->bank ? " (or BANK/SENSOR)" : "");
    if (n == 0 || o->sensor_sel[0] == ',' || o->sensor_sel[strlen(o->sensor_sel) - 1] == ',' ||
        strstr(o->sensor_sel, ",,") != NULL)
        return tq_usage_error("bad --sensor \"%s\": an empty name in the list", o->sensor_sel);
    return 0;
}

/* The namespace and shown name of sensor `name` (a sensor, or bank/sensor without --bank). */
static void name_sensor(const struct tq_opts *o, const char *name, struct tq_sensor *s)
{
    const char *slash = strchr(name, '/');

    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    if (o->bank != NULL) {
        snprintf(s->bank, sizeof(s->bank), "%s", o->bank);
        snprintf(s->sensor, sizeof(s->sensor), "%s", name);
    } else if (slash != NULL) {
        snprintf(s->bank, sizeof(s->bank), "%.*s", (int)(slash - name), name);
        snprintf(s->sensor, sizeof(s->sensor), "%s", slash + 1);
    } else {
        snprintf(s->sensor, sizeof(s->sensor), "%s", name);
    }
    tw_key_namespace(s->ns, sizeof(s->ns), s->bank, s->sensor);
}

void tq_sensor_namespace(const struct tq_opts *o, char *out, size_t len)
{
    struct tq_sensor s;

    name_sensor(o, o->sensor, &s);
    snprintf(out, len, "%s", s.ns);
}

/* A string field of at most len - 1 bytes (absent: ""). Returns 0, or -1 when not a string
 * or too long. */
static int str_field(json_object *j, const char *key, char *out, size_t len)
{
    json_object *v;

    out[0] = '\0';
    if (!json_object_object_get_ex(j, key, &v))
        return 0;
    if (!json_object_is_type(v, json_type_string) || (size_t)json_object_get_string_len(v) >= len)
        return -1;
    memcpy(out, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
    return 0;
}

/* Epoch seconds (a number, decimals allowed) into µs. Returns 0, or -1. */
static int time_field(json_object *j, const char *key, uint64_t *us)
{
    json_object *v;
    double d;

    *us = 0;
    if (!json_object_object_get_ex(j, key, &v))
        return 0;
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return -1;
    d = json_object_get_double(v);
    if (!(d >= 0 && d < 1e11)) /* NaN too */
        return -1;
    *us = (uint64_t)llround(d * 1e6);
    return 0;
}

/* One registry entry (field sensor, value JSON) of bank into s. Returns 0, or -1 with why. */
static int parse_entry(const char *bank, const char *sensor, const char *json, size_t len,
                       struct tq_sensor *s, const char **why)
{
    json_object *j = NULL;
    char jbank[32];
    int rc = -1;

    *why = "not a sensor name";
    if (!tw_fleet_valid_name(sensor) || strlen(sensor) >= sizeof(s->sensor) ||
        tw_key_namespace(s->ns, sizeof(s->ns), bank, sensor) < 0)
        return -1;
    *why = "not a JSON object of at most " TQ_STR(REG_JSON_MAX) " bytes";
    if (len > REG_JSON_MAX || strlen(json) != len || (j = json_tokener_parse(json)) == NULL ||
        !json_object_is_type(j, json_type_object))
        goto out;
    *why = "a field of the wrong type or size";
    if (str_field(j, "bank", jbank, sizeof(jbank)) < 0 ||
        str_field(j, "version", s->version, sizeof(s->version)) < 0 ||
        str_field(j, "hostname", s->hostname, sizeof(s->hostname)) < 0 ||
        str_field(j, "run", s->run, sizeof(s->run)) < 0 ||
        str_field(j, "geoip_sha256", s->geoip_sha256, sizeof(s->geoip_sha256)) < 0 ||
        str_field(j, "policy_sha256", s->policy_sha256, sizeof(s->policy_sha256)) < 0 ||
        str_field(j, "pubkey", s->pubkey, sizeof(s->pubkey)) < 0 ||
        time_field(j, "last_seen", &s->last_seen_us) < 0 ||
        time_field(j, "started", &s->started_us) < 0)
        goto out;
    *why = "its bank is not the registry's";
    if (strcmp(jbank, bank) != 0)
        goto out;
    snprintf(s->sensor, sizeof(s->sensor), "%s", sensor);
    snprintf(s->bank, sizeof(s->bank), "%s", bank);
    s->registered = 1;
    rc = 0;
out:
    json_object_put(j);
    return rc;
}

struct list {
    struct tq_sensor *v;
    size_t n, cap;
};

static struct tq_sensor *add(struct list *l)
{
    struct tq_sensor *v = tq_grow(l->v, l->n, &l->cap, sizeof(*v), 16);

    if (v == NULL)
        return NULL;
    l->v = v;
    memset(&v[l->n], 0, sizeof(v[0]));
    return &v[l->n++];
}

#define MEMBERS_MAX 65536 /* sensors a bank lists; more is not ours */

static int listed(const struct list *l, size_t from, const char *sensor)
{
    for (size_t i = from; i < l->n; i++)
        if (strcmp(l->v[i].sensor, sensor) == 0)
            return 1;
    return 0;
}

/* Adds one registration (sensor's JSON, and its first-seen text or NULL) to l. */
static int add_entry(struct list *l, const char *bank, const char *where, const char *sensor,
                     const redisReply *json, const redisReply *first, int with_bank_prefix)
{
    struct tq_sensor s = {0}, *d;
    const char *why;

    if (json == NULL || json->type != REDIS_REPLY_STRING)
        return 0; /* listed, but its registration expired (or never was) */
    if (parse_entry(bank, sensor, json->str, json->len, &s, &why) < 0) {
        fprintf(stderr, PROG ": registry %s: entry of %.64s left out: %s\n", where, sensor, why);
        return 0;
    }
    if (first != NULL && first->type == REDIS_REPLY_STRING) /* its first_seen, if a number */
        (void)tq_parse_uint(first->str, 0, 99999999999ULL, &s.first_seen_s);
    snprintf(s.name, sizeof(s.name), "%s", with_bank_prefix ? s.ns : s.sensor);
    if ((d = add(l)) == NULL)
        return -1;
    *d = s;
    return 0;
}

/* The registry before per-sensor keys (fleet_keys.h): its sensors not listed already. */
static int read_old_registry(struct tw_rclient *c, const char *bank, int with_bank_prefix,
                             struct list *l, size_t from)
{
    char key[128];
    redisReply *r;
    int rc = 0;

    tw_key_bank_sensors(key, sizeof(key), bank);
    r = tw_rclient_command(c, "HGETALL %s", key);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0)
        return tq_reply_failed(c, r, "HGETALL (registry)");
    for (size_t i = 0; i + 1 < r->elements && rc == 0; i += 2) {
        const redisReply *k = r->element[i];
        if (k->type != REDIS_REPLY_STRING || listed(l, from, k->str))
            continue;
        rc = add_entry(l, bank, key, k->str, r->element[i + 1], NULL, with_bank_prefix);
    }
    freeReplyObject(r);
    return rc;
}

/* The registered sensors of bank ("" = without a bank) appended to l, shown as "bank/sensor"
 * unless with_bank_prefix is 0: the members set, then each member's registration and first
 * seen (one pipelined round; one slot, the bank's hash tag). Returns 0, or -1 after saying
 * why. */
static int read_registry(struct tw_rclient *c, const char *bank, int with_bank_prefix,
                         struct list *l)
{
    char key[128], fkey[128], mkey[128];
    size_t from = l->n, asked = 0;
    redisReply *m;
    int rc = 0;

    tw_key_bank_members(mkey, sizeof(mkey), bank);
    m = tw_rclient_command(c, "SMEMBERS %s", mkey);
    if (m == NULL || m->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, m, "SMEMBERS (registry)");
    for (size_t i = 0; i < m->elements && i < MEMBERS_MAX; i++) {
        const redisReply *e = m->element[i];
        if (e->type != REDIS_REPLY_STRING || !tw_fleet_valid_name(e->str))
            continue; /* not a sensor name: not ours */
        tw_key_bank_sensor(key, sizeof(key), bank, e->str);
        tw_key_bank_first_seen(fkey, sizeof(fkey), bank, e->str);
        tw_rclient_append(c, "GET %s", key);
        tw_rclient_append(c, "GET %s", fkey);
        asked++;
    }
    for (size_t i = 0, k = 0; k < asked; i++) {
        const redisReply *e = m->element[i];
        redisReply *json = NULL, *first = NULL;
        if (e->type != REDIS_REPLY_STRING || !tw_fleet_valid_name(e->str))
            continue;
        k++;
        if (tw_rclient_get_reply(c, &json) != 0 || tw_rclient_get_reply(c, &first) != 0 ||
            json == NULL || first == NULL || json->type == REDIS_REPLY_ERROR ||
            first->type == REDIS_REPLY_ERROR) {
            redisReply *bad = json != NULL && json->type == REDIS_REPLY_ERROR    ? json
                              : first != NULL && first->type == REDIS_REPLY_ERROR ? first
                                                                                  : NULL;
            if (rc == 0)
                tq_reply_failed(c, bad, "GET (registry)"); /* frees bad */
            else
                freeReplyObject(bad);
            if (json != bad)
                freeReplyObject(json);
            if (first != bad)
                freeReplyObject(first);
            rc = -1;
            continue;
        }
        if (rc == 0 && add_entry(l, bank, mkey, e->str, json, first, with_bank_prefix) < 0)
            rc = -1;
        freeReplyObject(json);
        freeReplyObject(first);
    }
    freeReplyObject(m);
    if (rc == 0)
        rc = read_old_registry(c, bank, with_bank_prefix, l, from);
    return rc;
}

/* Every registered sensor: of --bank, or of every bank and without one. */
static int read_all(struct tw_rclient *c, const struct tq_opts *o, struct list *l)
{
    redisReply *b;
    int rc = 0;

    if (o->bank != NULL)
        return read_registry(c, o->bank, 0, l);
    if (read_registry(c, "", 1, l) < 0)
        return -1;
    b = tw_rclient_command(c, "SMEMBERS %s", TW_KEY_BANKS);
    if (b == NULL || b->type != REDIS_REPLY_ARRAY)
        return tq_reply_failed(c, b, "SMEMBERS " TW_KEY_BANKS);
    for (size_t i = 0; i < b->elements && i < BANKS_MAX && rc == 0; i++) {
        redisReply *e = b->element[i];
        if (e->type != REDIS_REPLY_STRING || !tw_fleet_valid_name(e->str) || e->len >= 32)
            continue; /* not a bank name: not ours */
        rc = read_registry(c, e->str, 1, l);
    }
    freeReplyObject(b);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct tq_sensor *)a)->name, ((const struct tq_sensor *)b)->name);
}

int tq_sensors_select(struct tw_rclient *c, const struct tq_opts *o, int registered_only,
                      struct tq_sensor **out, size_t *n)
{
    struct list all = {0}, sel = {0};
    const char *pick = o->sensor_sel;
    int listed = pick != NULL && !has_glob(pick);

    *out = NULL;
    *n = 0;
    if ((!listed || registered_only) && read_all(c, o, &all) < 0)
        goto fail;
    if (listed) { /* as given, registered or not (a store from before registration) */
        char list[1024], *save = NULL;
        snprintf(list, sizeof(list), "%s", pick);
        for (char *p = strtok_r(list, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
            struct tq_sensor s, *d = NULL;
            name_sensor(o, p, &s);
            for (size_t i = 0; i < all.n && d == NULL; i++)
                if (strcmp(all.v[i].name, s.name) == 0)
                    d = &all.v[i];
            if (d == NULL && registered_only)
                continue;
            for (size_t i = 0; i < sel.n; i++) /* a name listed twice is read once */
                if (strcmp(sel.v[i].name, s.name) == 0)
                    goto next;
            struct tq_sensor *slot = add(&sel);
            if (slot == NULL)
                goto fail;
            *slot = d ? *d : s;
        next:;
        }
    } else {
        for (size_t i = 0; i < all.n; i++) {
            if (pick != NULL && fnmatch(pick, all.v[i].name, 0) != 0)
                continue;
            struct tq_sensor *slot = add(&sel);
            if (slot == NULL)
                goto fail;
            *slot = all.v[i];
        }
    }
    if (sel.n > 1)
        qsort(sel.v, sel.n, sizeof(sel.v[0]), by_name);
    free(all.v);
    *out = sel.v;
    *n = sel.n;
    return 0;
fail:
    free(all.v);
    free(sel.v);
    return -1;
}
