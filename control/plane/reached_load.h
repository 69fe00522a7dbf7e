/* reached_load.h - cross_border's first_contact memory read back from Redis at start.
 *
 * For each equipment of the policy with first_contact on, tw:{S}:reached:<equipment> (zset
 * "DE" / "AS3320" -> last local day, written through the alert writer) seeds the evaluation
 * state, so that a restart does not take a country reached in the window for a first
 * contact. Read once, over a blocking connection (redis_client.h), before any flow; the
 * writers keep it up to date afterwards.
 */
#ifndef TW_REACHED_LOAD_H
#define TW_REACHED_LOAD_H

#include <stddef.h>

#include "control/plane/policy_hook.h"
#include "control/store/redis_conn.h"

/* Seeds h's state from t for sensor. Returns the number of entries loaded (0 when no
 * equipment has first_contact), or -1 with a one-line reason in err (Redis unreachable or
 * refusing: the memory then starts empty and may alert a first contact again). */
long tw_reached_load(struct tw_policy_hook *h, const struct tw_redis_target *t,
                     const char *sensor, unsigned timeout_ms, char *err, size_t errlen);

#endif
