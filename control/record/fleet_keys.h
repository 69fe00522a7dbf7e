/* fleet_keys.h - the keys of many sensors and banks in one Redis: a sensor's key namespace
 * under its bank, the per-bank registry of sensors, and the ACL patterns that give a reader
 * one bank and nothing else.
 *
 *   tw:{<bank>/<sensor>}:...   every key of keys.h of a sensor whose configuration sets
 *                              bank: (a sensor without a bank keeps tw:{<sensor>}:...)
 *   tw:{bank:<bank>}:sensors   hash sensor -> registration JSON (sensor_registry.h), per bank;
 *                              tw:{bank:}:sensors for the sensors without a bank
 *   tw:{bank:<bank>}:first-seen  hash sensor -> epoch seconds of its first registration
 *                              (HSETNX: later starts leave it)
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

/* tw:{bank:<bank>}:sensors and tw:{bank:<bank>}:first-seen (bank "" or NULL: no bank).
 * Return the length, or -1 when buf is too small. */
int tw_key_bank_sensors(char *buf, size_t len, const char *bank);
int tw_key_bank_first_seen(char *buf, size_t len, const char *bank);

/* The ACL key selectors of a reader of one bank, read-only (a '*' ends each):
 * "%R~tw:{<bank>/" and "%R~tw:{bank:<bank>}:".
 * Returns the length, or -1 (buf too small, bank empty). */
int tw_key_acl_bank_reader(char *buf, size_t len, const char *bank);

/* The ACL key patterns a sensor needs for its registration, write and read-free:
 * "~tw:{bank:<bank>}:sensors ~tw:{bank:<bank>}:first-seen" and " ~tw:banks" when it has a bank.
 * Returns the length, or -1 when buf is too small. */
int tw_key_acl_registration(char *buf, size_t len, const char *bank);

/* A namespace as part of a file name: '/' becomes '+' ("A/s1" -> "A+s1"). out holds TW_NS_LEN. */
void tw_namespace_file_part(const char *ns, char *out, size_t len);

#endif
