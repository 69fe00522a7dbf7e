/* redis_acl.h - the Redis ACL users an operator creates for tapwatch, as redis-server's
 * aclfile text (config/redis-acl.conf.example is this text for sensor s1; `tapwatch
 * --print-acl SENSOR` prints it for another, and tests/integration/test_redis_acl.sh checks
 * that the two agree and that the users can do exactly what they must):
 *
 *   tapwatch-<sensor>  the commands the sensor sends, on its own keys (tw_key_acl_pattern)
 *   regulator          the commands tapwatch-query sends, read-only, on every sensor's keys
 *   default            off
 *
 * One line per user, nothing else: redis-server 7.0 refuses comments in an aclfile. Each
 * password is a placeholder (#SHA256-OF-THE-PASSWORD-OF-<user>) that Redis refuses to load
 * until the operator puts the SHA-256 of the password there.
 */
#ifndef TW_REDIS_ACL_H
#define TW_REDIS_ACL_H

#include <stddef.h>

/* Writes the aclfile text for sensor into buf. Returns its length, or -1 when buf is too
 * small. */
int tw_redis_acl_text(char *buf, size_t len, const char *sensor);

#endif
