/* inventory.h - the equipment inventory a sensor publishes (tw:{S}:inventory, written by the
 * sensor: control/store/inventory.h has the layout), read back and checked: `flows
 * --equipment`, `equipment`, and through them the console's Equipment page.
 *
 * Whoever may write the key (the sensor, the Redis administrator) could alter it, so every
 * field is checked: names as the policy's ([A-Za-z0-9_.-], 1-63), addresses parsed as CIDRs
 * (and printed again from the parsed bytes, never as stored), at most the policy's bounds.
 * An inventory that fails a check is said on stderr (coverage.h's warning) and read as none.
 */
#ifndef TW_QUERY_INVENTORY_H
#define TW_QUERY_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "control/query/query.h"

/* the policy's bounds (control/policy/policy.h) */
#define TQ_INV_MAX_EQUIPMENT 4096
#define TQ_INV_MAX_ADDRESSES 1024

struct tq_net {
    uint8_t addr[16]; /* host bits cleared, IPv4 in the first 4 bytes */
    uint8_t v4, bits;
};

struct tq_equipment {
    char name[TW_EQUIPMENT_LEN];
    char vendor[TW_VENDOR_LEN];
    struct tq_net *nets;
    size_t nnets;
};

struct tq_inventory {
    char policy_sha256[65]; /* "" when the sensor runs without a policy */
    uint64_t since_us;      /* when that policy came into force */
    struct tq_equipment *eq;
    size_t neq;
};

/* Reads sensor's inventory into inv (free it with tq_inventory_free, whatever the result).
 * Returns 1 when there is one, 0 when there is none (never published, expired, or not a
 * valid inventory: said), -1 when Redis failed (said). */
int tq_inventory_read(struct tw_rclient *c, const char *sensor, struct tq_inventory *inv);

/* The inventory text (len bytes, from Redis: anything) into inv. Returns 0, or -1 with why
 * ("not valid JSON", "an address that is not an address or a CIDR"...) and inv empty. */
int tq_inventory_parse(const char *text, size_t len, struct tq_inventory *inv,
                       const char **why);

/* The equipment named name, or NULL. */
const struct tq_equipment *tq_inventory_find(const struct tq_inventory *inv, const char *name);

/* "10.20.120.5" for a single address, "10.20.0.0/24" for a network, into out (64 bytes). */
void tq_net_text(const struct tq_net *n, char *out, size_t len);

/* 1 when addr (16 bytes, IPv4 in the first 4; v4 its family) is inside one of the n nets. */
int tq_nets_contain(const struct tq_net *nets, size_t n, const uint8_t *addr, int v4);

void tq_inventory_free(struct tq_inventory *inv);

#endif
