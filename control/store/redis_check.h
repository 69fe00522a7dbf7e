/* redis_check.h - what tapwatch asks Redis once at start, before any record is made, over a
 * blocking connection (redis_client.h), so that a configuration error ends the start with
 * one line and exit status 2 instead of a run that spools for nothing:
 *
 *   AUTH (the target's user and password)     NOAUTH, WRONGPASS, a certificate refused
 *   ZREMRANGEBYSCORE tw:{S}:runs -inf -inf    a write to the sensor's own keys that changes
 *                                             nothing: NOPERM (ACL), READONLY (a replica)
 *   CONFIG GET maxmemory-policy/appendonly/save, else INFO memory/persistence
 *                                             can Redis lose what it acknowledged?
 *
 * A Redis that does not answer is an outage, not an error: the writers wait for it.
 */
#ifndef TW_REDIS_CHECK_H
#define TW_REDIS_CHECK_H

#include <stddef.h>

#include "control/store/redis_conn.h"

struct tw_redis_check {
    int reachable; /* 0: it did not answer (why in note); the writers keep trying */
    int can_lose;  /* 1: evicts keys or keeps nothing on disk; -1: could not tell; 0: safe */
    char note[1024]; /* one line when can_lose != 0 or !reachable ("" otherwise) */
};

/* Connects to t as sensor, checks what is above. Returns 0 (the findings in out), or -1 with
 * a one-line reason in err naming the URL (never the password) and what Redis said: a
 * configuration error. */
int tw_redis_check_start(const struct tw_redis_target *t, const char *sensor,
                         unsigned timeout_ms, struct tw_redis_check *out, char *err,
                         size_t errlen);

#endif
