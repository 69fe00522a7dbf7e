/* cmd_equipment.c - `tapwatch-query equipment`: the equipment inventory the sensor publishes
 * (tw:{S}:inventory, control/store/inventory.h): name, vendor, addresses, and since when the
 * policy that holds them is in force, in the policy's order. What `flows --equipment NAME`
 * reads, and the console's Equipment page.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "control/query/inventory.h"
#include "control/query/query.h"

static const struct tq_inventory *shown; /* the inventory whose rows are being printed */

/* Its addresses joined by sep into out (cut when full). */
static void addresses(const struct tq_equipment *e, const char *sep, char *out, size_t len)
{
    size_t o = 0;
    char t[64];

    out[0] = '\0';
    for (size_t i = 0; i < e->nnets && o < len; i++) {
        tq_net_text(&e->nets[i], t, sizeof(t));
        int n = snprintf(out + o, len - o, "%s%s", i ? sep : "", t);
        if (n < 0)
            break;
        o += (size_t)n;
    }
}

static void since_text(char *out, size_t len)
{
    snprintf(out, len, "%" PRIu64 ".%06" PRIu64, shown->since_us / 1000000,
             shown->since_us % 1000000);
}

enum { C_NAME, C_VENDOR, C_ADDRS, C_SINCE, NCOLS };
static const char *const col_names[NCOLS] = {"EQUIPMENT", "VENDOR", "ADDRESSES", "SINCE_UTC"};

static void cell(const void *rows, size_t i, size_t col, char *out, size_t len)
{
    const struct tq_equipment *e = (const struct tq_equipment *)rows + i;

    switch (col) {
    case C_NAME: snprintf(out, len, "%s", e->name); break;
    case C_VENDOR: snprintf(out, len, "%s", e->vendor[0] ? e->vendor : "-"); break;
    case C_ADDRS: addresses(e, ",", out, len); break;
    default: tq_utc_text(shown->since_us, 1, out, len); break;
    }
}

static const struct tq_table equipment_table = {
    .ncols = NCOLS, .names = col_names, .cell = cell, .none = "no equipment published"};

/* CSV columns and JSON keys */
static const char *const keys[] = {"name", "vendor", "addresses", "since", "policy_sha256"};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static void print_csv(const struct tq_equipment *e)
{
    char addrs[TQ_INV_MAX_ADDRESSES * 44], since[32];

    addresses(e, ";", addrs, sizeof(addrs));
    since_text(since, sizeof(since));
    tq_csv_field(e->name, 0);
    tq_csv_field(e->vendor, 0);
    tq_csv_field(addrs, 0);
    tq_csv_field(since, 0);
    tq_csv_field(shown->policy_sha256, 1);
}

static void print_json(const struct tq_equipment *e)
{
    json_object *j = json_object_new_object(), *list = json_object_new_array();
    char t[64], since[32];

    if (j == NULL || list == NULL) {
        json_object_put(j);
        json_object_put(list);
        return;
    }
    for (size_t i = 0; i < e->nnets; i++) {
        tq_net_text(&e->nets[i], t, sizeof(t));
        json_object_array_add(list, json_object_new_string(t));
    }
    since_text(since, sizeof(since));
    json_object_object_add(j, "name", json_object_new_string(e->name));
    json_object_object_add(j, "vendor", json_object_new_string(e->vendor));
    json_object_object_add(j, "addresses", list);
    json_object_object_add(j, "since",
                           json_object_new_double_s((double)shown->since_us / 1e6, since));
    json_object_object_add(j, "policy_sha256", json_object_new_string(shown->policy_sha256));
    tq_json_line(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(j);
}

static int run(struct tw_rclient *c, const struct tq_opts *o)
{
    struct tq_inventory inv;
    int rc = tq_inventory_read(c, o->sensor, &inv);

    if (rc < 0) {
        tq_inventory_free(&inv);
        return tq_finish(1);
    }
    if (rc == 0 && !tq_sensors_several(o))
        fprintf(stderr, PROG ": sensor %s publishes no equipment inventory\n", o->sensor);
    shown = &inv;
    switch (o->format) {
    case TQ_TABLE: tq_table_print(&equipment_table, inv.eq, inv.neq); break;
    case TQ_CSV:
        tq_csv_header(keys, NKEYS);
        for (size_t i = 0; i < inv.neq; i++)
            print_csv(&inv.eq[i]);
        break;
    case TQ_JSON:
        for (size_t i = 0; i < inv.neq; i++)
            print_json(&inv.eq[i]);
        break;
    }
    tq_inventory_free(&inv);
    return tq_finish(0);
}

const struct tq_subcommand tq_cmd_equipment = {
    .name = "equipment",
    .summary = "the equipment inventory the sensor publishes: name, vendor, addresses, since",
    .usage = "equipment [--format F]\n"
             "                   the equipment of the policy in force on the sensor, in the\n"
             "                   policy's order; since: when that policy came into force\n",
    .common = TQ_OPT_FORMAT,
    .run = run,
};
