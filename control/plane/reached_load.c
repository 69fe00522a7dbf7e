/* reached_load.c - cross_border's memory from Redis at start (see reached_load.h). */
#include "control/plane/reached_load.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/record/keys.h"
#include "control/store/redis_client.h"

/* One zset reply into the state: member, score pairs (at most TW_REACHED_MAX are kept by the
 * writer; more are seeded as far as the memory holds them). Returns the entries taken. */
static long seed(struct tw_policy_state *st, const char *equipment, const redisReply *r)
{
    long n = 0;

    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *m = r->element[i], *s = r->element[i + 1];
        char *end;
        if (m->type != REDIS_REPLY_STRING || s->type != REDIS_REPLY_STRING)
            continue;
        errno = 0;
        long long day = strtoll(s->str, &end, 10);
        if (errno != 0 || *end != '\0' || end == s->str)
            continue; /* not written by us: ignored */
        if (tw_policy_state_seed_reached(st, equipment, m->str, (int64_t)day) == 0)
            n++;
    }
    return n;
}

long tw_reached_load(struct tw_policy_hook *h, const struct tw_redis_target *t,
                     const char *sensor, unsigned timeout_ms, char *err, size_t errlen)
{
    const struct tw_policy *p = tw_policy_hook_policy(h);
    struct tw_policy_state *st = tw_policy_hook_state(h);
    size_t neq = tw_policy_equipment_count(p), queued = 0;
    enum tw_rclient_fail why;
    struct tw_rclient *c = NULL;
    char key[TW_KEY_LEN];
    const char *name;
    uint32_t days;
    long total = 0;

    for (size_t i = 0; i < neq; i++) {
        if (!tw_policy_first_contact(p, i, &name, &days) ||
            tw_key_reached(key, sizeof(key), sensor, name) < 0)
            continue;
        if (c == NULL && (c = tw_rclient_open(t, timeout_ms, &why, err, errlen)) == NULL)
            return -1;
        if (tw_rclient_append(c, "ZRANGE %s 0 -1 WITHSCORES", key) != REDIS_OK)
            goto io;
        queued++;
    }
    /* the replies come in the order asked: walk the equipment again */
    for (size_t i = 0, got = 0; got < queued && i < neq; i++) {
        redisReply *r = NULL;
        if (!tw_policy_first_contact(p, i, &name, &days) ||
            tw_key_reached(key, sizeof(key), sensor, name) < 0)
            continue;
        got++;
        if (tw_rclient_get_reply(c, &r) != REDIS_OK || r == NULL)
            goto io;
        if (r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "redis %s refused ZRANGE %s: %s", tw_rclient_url(c), key,
                     r->str);
            freeReplyObject(r);
            tw_rclient_close(c);
            return -1;
        }
        if (r->type == REDIS_REPLY_ARRAY)
            total += seed(st, name, r);
        freeReplyObject(r);
    }
    tw_rclient_close(c);
    return total;
io:
    snprintf(err, errlen, "redis %s: %s", tw_rclient_url(c), tw_rclient_error(c));
    tw_rclient_close(c);
    return -1;
}
