/* redis_acl.h - the Redis ACL users an operator creates for tapwatch, as redis-server's
 * aclfile text (config/redis-acl.conf.example is this text for sensor s1; `tapwatch
 * --print-acl SENSOR` prints it for another, and tests/integration/test_redis_acl.sh checks
 * that the two agree and that the users can do exactly what they must):
 *
 *   tapwatch-<sensor>  the commands the sensor sends, on its own keys (tw_key_acl_pattern)
 *   regulator          the commands tapwatch-query sends, read-only, on every sensor's keys,
 *                      and the appends to every bank's query audit trail (keys.h)
 *   reader-<bank>      the same on one bank's sensors, registry and audit trail
 *                      (--print-acl-reader BANK)
 *   default            off
 *
 * One line per user, nothing else: redis-server 7.0 refuses comments in an aclfile. Each
 * password is a placeholder (#SHA256-OF-THE-PASSWORD-OF-<user>) that Redis refuses to load
 * until the operator puts the SHA-256 of the password there.
 */
#ifndef TW_REDIS_ACL_H
#define TW_REDIS_ACL_H

#include <stddef.h>

/* Writes the aclfile text for sensor of bank ("" or NULL: none) into buf: the sensor's user
 * is tapwatch-<sensor> or tapwatch-<bank>/<sensor>, on its keys and its registration keys
 * (fleet_keys.h). Returns its length, or -1 when buf is too small. */
int tw_redis_acl_text(char *buf, size_t len, const char *bank, const char *sensor);

/* Writes the aclfile line of reader-<bank>: what tapwatch-query sends, read-only, on bank's
 * sensors and registry only (fleet_keys.h: tw_key_acl_bank_reader). Returns its length, or -1
 * when buf is too small or bank is empty. */
int tw_redis_acl_reader_text(char *buf, size_t len, const char *bank);

/* Writes the aclfile lines of the witness (control/evidence/witness.h), a Redis the regulator
 * runs outside the bank: witness-<ns> (ns: <bank>/<sensor> or <sensor>) may only HSETNX into
 * the sensor's own witness hash (%W~: no read, no overwrite, no delete), and witness-reader
 * may only read every sensor's witness hash (verify --witness). Returns its length, or -1
 * when buf is too small. */
int tw_redis_acl_witness_text(char *buf, size_t len, const char *bank, const char *sensor);

#endif
