/* policy_model.c - the loaded policy as its users see it (see policy.h and policy_model.h):
 * its counts, which equipment owns an address, and freeing it. policy_load.c builds it. */
#include "control/policy/policy_model.h"

#include <stdlib.h>

void tw_policy_free(struct tw_policy *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->neq; i++) {
        free(p->eq[i].addrs);
        free(p->eq[i].decl);
        free(p->eq[i].expect);
    }
    free(p->eq);
    tw_prefix_set_free(p->owners);
    free(p->tz);
    free(p->domestic);
    free(p->monitored);
    tw_prefix_set_free(p->monitored_set);
    free(p->mhosts);
    free(p->mprotos);
    free(p->windows);
    free(p->cb.allowed);
    for (size_t i = 0; i < p->ncb_eq; i++)
        free(p->cb_eq[i].allowed);
    free(p->cb_eq);
    free(p);
}

const char *tw_policy_sha256(const struct tw_policy *p)
{
    return p->sha256;
}

size_t tw_policy_equipment_count(const struct tw_policy *p)
{
    return p->neq;
}

size_t tw_policy_rule_count(const struct tw_policy *p)
{
    size_t n = 0;

    for (unsigned k = 0; k < TW_ALERT__COUNT; k++)
        n += p->rules[k].enabled && p->rules[k].configured;
    return n;
}

int tw_nets_contain(const struct net *n, size_t count, const uint8_t *addr, int v4)
{
    for (size_t i = 0; i < count; i++)
        if (n[i].v4 == v4 && tw_cidr_contains(n[i].addr, n[i].bits, addr))
            return 1;
    return 0;
}

const struct equipment *tw_policy_find_equipment(const struct tw_policy *p, const uint8_t *addr,
                                                 int v4)
{
    /* an address belongs to one equipment (checked at load), so the longest prefix that
     * holds it names the same equipment as any other would */
    int32_t i = p->owners != NULL ? tw_prefix_set_lookup(p->owners, addr, v4) : -1;

    return i >= 0 ? &p->eq[i] : NULL;
}

const char *tw_policy_equipment_of(const struct tw_policy *p, const uint8_t *addr, int v4)
{
    const struct equipment *e = tw_policy_find_equipment(p, addr, v4);

    return e ? e->name : NULL;
}
