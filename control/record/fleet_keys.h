/* fleet_keys.h - the keys of many sensors and banks in one Redis: a sensor's key namespace
 * under its bank, the per-bank registry of sensors, and the ACL patterns that give a reader
 * one bank and nothing else.
 *
 *   tw:{<bank>/<sensor>}:...   every key of keys.h of a sensor whose configuration sets
 *                              bank: (a sensor without a bank keeps tw:{<sensor>}:...)
 *   tw:{bank:<bank>}:sensor:<sensor>      string: the sensor's registration JSON
 *                              (sensor_registry.h); bank "" (tw:{bank:}:...) for the
 *                              sensors without a bank
 *   tw:{bank:<bank>}:first-seen:<sensor>  string: epoch seconds of its first registration
 *                              (SET NX: later starts leave it)
 *   tw:{bank:<bank>}:members   set of the bank's sensor names
 *   tw:{bank:<bank>}:sensors   hash sensor -> registration JSON: the registry before
 *                              per-sensor keys, read (a store an older sensor writes), not
 *                              written: in one hash, every sensor of a bank could overwrite
 *                              the others' entries
 *   (the registration keys expire with redis.retention, renewed at every registration: a
 *   sensor gone for longer leaves the registry)
 *   tw:banks                   set of the bank names that have registered sensors (for
 *                              --all-sensors without --bank)
 *
 * Names ([A-Za-z0-9_.-]) hold no '/', ':', '{' or '}', so a namespace "A/s1" cannot be a
 * sensor name and "bank:A" cannot be a namespace: the read patterns "tw:{A/" + '*' and
 * "tw:{bank:A}:" + '*' cover bank A's sensors and registry exactly, and no sensor pattern
 * (tw:{S}: + '*') covers a registry.
 */
#ifndef TW_FLEET_KEYS_H
#define TW_FLEET_KEYS_H

#include <stddef.h>

#define TW_KEY_BANKS "tw:banks"
#define TW_NS_LEN 64 /* a namespace, as a sensor name: bank + '/' + sensor, at most 63 */

/* Is s a sensor or bank name: 1 to 63 of [A-Za-z0-9_.-]? Returns 1 or 0. */
int tw_fleet_valid_name(const char *s);

/* The key namespace of sensor in bank: "<bank>/<sensor>", or "<sensor>" when bank is "" or
 * NULL. Returns its length, or -1 when buf is too small. */
int tw_key_namespace(char *buf, size_t len, const char *bank, const char *sensor);

/* tw:{bank:<bank>}:sensor:<sensor>, tw:{bank:<bank>}:first-seen:<sensor>,
 * tw:{bank:<bank>}:members and the older tw:{bank:<bank>}:sensors (bank "" or NULL: no bank).
 * Return the length, or -1 when buf is too small. */
int tw_key_bank_sensor(char *buf, size_t len, const char *bank, const char *sensor);
int tw_key_bank_first_seen(char *buf, size_t len, const char *bank, const char *sensor);
int tw_key_bank_members(char *buf, size_t len, const char *bank);
int tw_key_bank_sensors(char *buf, size_t len, const char *bank);

/* The ACL key selectors of a reader of one bank, read-only (a '*' ends each):
 * "%R~tw:{<bank>/" and "%R~tw:{bank:<bank>}:".
 * Returns the length, or -1 (buf too small, bank empty). */
int tw_key_acl_bank_reader(char *buf, size_t len, const char *bank);

/* The ACL key patterns a sensor needs for its own registration, and no other sensor's:
 * "~tw:{bank:<bank>}:sensor:<sensor> ~tw:{bank:<bank>}:first-seen:<sensor>
 * ~tw:{bank:<bank>}:members" and " ~tw:banks" when it has a bank. Returns the length, or -1
 * when buf is too small. */
int tw_key_acl_registration(char *buf, size_t len, const char *bank, const char *sensor);

/* A namespace as part of a file name: '/' becomes '+' ("A/s1" -> "A+s1"). out holds TW_NS_LEN. */
void tw_namespace_file_part(const char *ns, char *out, size_t len);

#endif
