/* cmd_sensors.c - `tapwatch-query sensors`: the sensors registered under their banks
 * (control/record/fleet_keys.h, control/store/sensor_registry.h), by name: of --bank, or of
 * every bank and those without one; --sensor a list or a glob narrows them.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "control/query/query.h"

enum { C_NAME, C_BANK, C_FIRST, C_LAST, C_VERSION, C_HOST, NCOLS };
static const char *const col_names[NCOLS] = {"SENSOR", "BANK", "FIRST_SEEN_UTC",
                                             "LAST_SEEN_UTC", "VERSION", "HOSTNAME"};

static void cell(const void *rows, size_t i, size_t col, char *out, size_t len)
{
    const struct tq_sensor *s = (const struct tq_sensor *)rows + i;

    switch (col) {
    case C_NAME: snprintf(out, len, "%s", s->sensor); break;
    case C_BANK: snprintf(out, len, "%s", s->bank[0] ? s->bank : "-"); break;
    case C_FIRST:
        if (s->first_seen_s)
            tq_utc_text(s->first_seen_s * 1000000, 1, out, len);
        else
            snprintf(out, len, "-");
        break;
    case C_LAST: tq_utc_text(s->last_seen_us, 1, out, len); break;
    case C_VERSION: snprintf(out, len, "%s", s->version[0] ? s->version : "-"); break;
    default: snprintf(out, len, "%s", s->hostname[0] ? s->hostname : "-"); break;
    }
}

static const struct tq_table sensor_table = {
    .ncols = NCOLS, .names = col_names, .cell = cell, .none = "no registered sensor"};

/* CSV columns and JSON keys */
static const char *const keys[] = {"sensor", "bank", "namespace", "first_seen", "last_seen",
                                   "version", "hostname", "run", "started", "geoip_sha256",
                                   "policy_sha256", "pubkey"};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void epoch_text(uint64_t us, char *out, size_t len)
{
    snprintf(out, len, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
}

static void values(const struct tq_sensor *s, char v[NKEYS][256])
{
    snprintf(v[0], 256, "%s", s->sensor);
    snprintf(v[1], 256, "%s", s->bank);
    snprintf(v[2], 256, "%s", s->ns);
    snprintf(v[3], 256, "%" PRIu64, s->first_seen_s);
    epoch_text(s->last_seen_us, v[4], 256);
    snprintf(v[5], 256, "%s", s->version);
    snprintf(v[6], 256, "%s", s->hostname);
    snprintf(v[7], 256, "%s", s->run);
    epoch_text(s->started_us, v[8], 256);
    snprintf(v[9], 256, "%s", s->geoip_sha256);
    snprintf(v[10], 256, "%s", s->policy_sha256);
    snprintf(v[11], 256, "%s", s->pubkey);
}

static void print_json(const struct tq_sensor *s)
{
    json_object *j = json_object_new_object();
    char v[NKEYS][256];

    values(s, v);
    for (size_t k = 0; k < NKEYS; k++) {
        if (k == 3)
            json_object_object_add(j, keys[k], json_object_new_uint64(s->first_seen_s));
        else if (k == 4 || k == 8)
            json_object_object_add(j, keys[k], json_object_new_double_s(
                                                   (k == 4 ? s->last_seen_us : s->started_us) / 1e6,
                                                   v[k]));
        else
            json_object_object_add(j, keys[k], json_object_new_string(v[k]));
    }
    tq_json_line(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
}

static int run(struct tw_rclient *c, const struct tq_opts *o)
{
    struct tq_sensor *s;
    size_t n;
    char v[NKEYS][256];

    if (tq_sensors_select(c, o, 1, &s, &n) < 0)
        return EXIT_REDIS;
    switch (o->format) {
    case TQ_TABLE: tq_table_print(&sensor_table, s, n); break;
    case TQ_CSV:
        tq_csv_header(keys, NKEYS);
        for (size_t i = 0; i < n; i++) {
            values(&s[i], v);
            for (size_t k = 0; k < NKEYS; k++)
                tq_csv_field(v[k], k + 1 == NKEYS);
        }
        break;
    case TQ_JSON:
        for (size_t i = 0; i < n; i++)
            print_json(&s[i]);
        break;
    }
    free(s);
    return tq_finish(0);
}

const struct tq_subcommand tq_cmd_sensors = {
    .name = "sensors",
    .summary = "the sensors registered under their banks: bank, first and last seen, version, host",
    .usage = "sensors [--bank NAME] [--sensor LIST|GLOB] [--format F]\n"
             "                   the registered sensors by name: of --bank, else of every bank and\n"
             "                   those without one (then named BANK/SENSOR in --sensor)\n",
    .common = TQ_OPT_FORMAT,
    .run = run,
};
