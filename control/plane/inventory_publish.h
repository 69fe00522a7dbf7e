/* inventory_publish.h - the equipment inventory of the policy in force into the holder the
 * flow store publishes from (control/store/inventory.h): at start and after each reload that
 * went through, on the control thread. */
#ifndef TW_INVENTORY_PUBLISH_H
#define TW_INVENTORY_PUBLISH_H

#include <stdint.h>

#include "control/policy/policy.h"
#include "control/store/inventory.h"

/* Makes p's inventory (p NULL: an empty one, no policy) the one inv holds, in force since
 * now_us; a policy with the SHA-256 of the one held is the same file loaded again: nothing
 * changes. Returns 0, or -ENOMEM (the inventory held stays). */
int tw_inventory_publish(struct tw_inventory *inv, const struct tw_policy *p, uint64_t now_us);

#endif
