/* inventory.c - the equipment inventory of a policy as readers get it in Redis (the layout is
 * in control/store/inventory.h): names, vendors, addresses; nothing of the rules. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "control/policy/policy_model.h"
#include "control/record/alert.h" /* tw_addr_text */
#include "control/record/keys.h"  /* tw_net_text */

/* "10.20.120.5" for a single address, "10.20.0.0/24" for a network, as the policy says it. */
static json_object *net_json(const struct net *n)
{
    char t[64];

    if (n->bits == (n->v4 ? 32 : 128))
        tw_addr_text(n->addr, n->v4, t, sizeof(t));
    else if (tw_net_text(n->addr, n->v4, n->bits, t, sizeof(t)) != 0)
        return NULL;
    return json_object_new_string(t);
}

int tw_policy_inventory_json(const struct tw_policy *p, uint64_t since_us, char **out,
                             size_t *len)
{
    json_object *j = json_object_new_object(), *list = json_object_new_array();
    char since[32];
    int rc = -ENOMEM;

    *out = NULL;
    *len = 0;
    if (j == NULL || list == NULL) {
        json_object_put(list);
        goto out;
    }
    snprintf(since, sizeof(since), "%" PRIu64 ".%06" PRIu64, since_us / 1000000,
             since_us % 1000000);
    json_object_object_add(j, "policy_sha256", json_object_new_string(p ? p->sha256 : ""));
    json_object_object_add(j, "since", json_object_new_double_s((double)since_us / 1e6, since));
    json_object_object_add(j, "equipment", list);
    for (size_t i = 0; p != NULL && i < p->neq; i++) {
        const struct equipment *e = &p->eq[i];
        json_object *one = json_object_new_object(), *addrs = json_object_new_array();
        if (one == NULL || addrs == NULL) {
            json_object_put(one);
            json_object_put(addrs);
            goto out;
        }
        json_object_object_add(one, "name", json_object_new_string(e->name));
        json_object_object_add(one, "vendor", json_object_new_string(e->vendor));
        json_object_object_add(one, "addresses", addrs);
        json_object_array_add(list, one);
        for (size_t k = 0; k < e->naddrs; k++) {
            json_object *a = net_json(&e->addrs[k]);
            if (a == NULL)
                goto out;
            json_object_array_add(addrs, a);
        }
    }
    const char *text = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE);
    if (text == NULL || (*out = strdup(text)) == NULL)
        goto out;
    *len = strlen(*out);
    rc = 0;
out:
    json_object_put(j);
    return rc;
}
