/* inventory.h - the equipment inventory of the policy in force, published for readers (the
 * query tool's `flows --equipment`, `equipment`, the console's Equipment page):
 *
 *   SET tw:{S}:inventory <JSON> EX <redis.retention>
 *
 * one JSON object (control/policy: tw_policy_inventory_json builds it), replaced whole so a
 * reader never sees half of one:
 *
 *   {"policy_sha256":"<64 hex, \"\" without a policy>","since":<epoch s, 6 decimals>,
 *    "equipment":[{"name":"atm-01","vendor":"Vendor A","addresses":["10.20.120.5",
 *                  "10.20.0.0/24","2001:db8::/64"]}, ...]}
 *
 * since: when that policy came into force (the sensor's start, or the reload that loaded it).
 * Only what a reader needs to name equipment and find its flows: no rule, no declared peer.
 *
 * The flow store sends it with its counters (store.h: tw_store_put_counters, through the same
 * engine, never waiting on Redis): when it changed, once a minute (the TTL is renewed), and
 * after every reconnect (a Redis that came back empty has it again). The caller owns the
 * holder and changes it on the control thread only (start, SIGHUP), the thread that sends it.
 */
#ifndef TW_STORE_INVENTORY_H
#define TW_STORE_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include "control/store/redis_engine.h"

struct tw_inventory {
    char *json;   /* NULL: nothing to publish (yet) */
    size_t len;
    uint64_t gen; /* 1, 2, ...: bumped at every change; 0 = never set */
    char policy_sha256[72]; /* whose inventory it is (the caller's note: a reload of the same
                             * file changes nothing, not even since) */
};

/* Makes json (len bytes, malloc'd; taken over, NULL to clear) the inventory in force and bumps
 * its generation. */
void tw_inventory_set(struct tw_inventory *inv, char *json, size_t len);

/* Frees the holder's text. NULL is fine. */
void tw_inventory_clear(struct tw_inventory *inv);

/* Appends the SET of inv to b for sensor namespace ns. Returns how many commands (1), 0 when
 * there is nothing to send, or -1 (a key too long, ttl_s 0). */
int tw_inventory_put(struct tw_buf *b, const char *ns, const struct tw_inventory *inv,
                     uint32_t ttl_s);

#endif
