/* inventory.c - the published equipment inventory (see inventory.h). */
#include "control/store/inventory.h"

#include <stdlib.h>

#include "control/record/keys.h"

void tw_inventory_set(struct tw_inventory *inv, char *json, size_t len)
{
    free(inv->json);
    inv->json = json;
    inv->len = json != NULL ? len : 0;
    inv->gen++;
}

void tw_inventory_clear(struct tw_inventory *inv)
{
    if (inv == NULL)
        return;
    free(inv->json);
    inv->json = NULL;
    inv->len = 0;
}

int tw_inventory_put(struct tw_buf *b, const char *ns, const struct tw_inventory *inv,
                     uint32_t ttl_s)
{
    char key[TW_KEY_LEN];

    if (inv == NULL || inv->json == NULL)
        return 0;
    if (ttl_s == 0 || tw_key_inventory(key, sizeof(key), ns) < 0)
        return -1;
    tw_buf_array(b, 5);
    tw_buf_str(b, "SET");
    tw_buf_str(b, key);
    tw_buf_bulk(b, inv->json, inv->len);
    tw_buf_str(b, "EX");
    tw_buf_u64(b, ttl_s);
    return 1;
}
