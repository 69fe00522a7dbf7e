/* inventory_publish.c - the inventory in force into the published holder (see
 * inventory_publish.h). */
#include "control/plane/inventory_publish.h"

#include <stdio.h>
#include <string.h>

int tw_inventory_publish(struct tw_inventory *inv, const struct tw_policy *p, uint64_t now_us)
{
    const char *sha = p != NULL ? tw_policy_sha256(p) : "";
    char *json;
    size_t len;
    int rc;

    if (inv->gen != 0 && strcmp(inv->policy_sha256, sha) == 0)
        return 0; /* the same bytes: in force since it was first loaded */
    if ((rc = tw_policy_inventory_json(p, now_us, &json, &len)) < 0)
        return rc;
    tw_inventory_set(inv, json, len);
    snprintf(inv->policy_sha256, sizeof(inv->policy_sha256), "%s", sha);
    return 0;
}
