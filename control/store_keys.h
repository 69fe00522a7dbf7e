/* store_keys.h - the names of the Redis keys of store.h, written once so the store that
 * writes them and tapwatch-query that reads them cannot disagree.
 *
 *   tw:{S}:flow:<flow_id>        tw:{S}:hours (zset hour -> hour, the hours that hold flows)
 *   tw:{S}:t:<hour>              tw:{S}:t:<hour>:<kind>:<value>
 * kind is "ip" (inet_ntop text), "net" ("10.1.2.0/24", "2001:db8::/48"), "app" (one
 * lowercased dot-separated part of the nDPI name: "TLS.Google" is indexed as "tls" and
 * "google"), "port" (decimal).
 */
#ifndef TW_STORE_KEYS_H
#define TW_STORE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "../dataplane/flow_record.h"

#define TW_KEY_LEN 256
#define TW_US_PER_HOUR ((uint64_t)3600000000)
#define TW_APP_PARTS_MAX 4

/* Each writes a key into buf. Returns its length, or -1 when buf is too small. */
int tw_key_flow(char *buf, size_t len, const char *sensor, uint64_t flow_id);
int tw_key_hours(char *buf, size_t len, const char *sensor);
/* kind NULL gives the plain time index tw:{S}:t:<hour>. */
int tw_key_index(char *buf, size_t len, const char *sensor, uint64_t hour, const char *kind,
                 const char *value);

/* Writes the network of addr (4 bytes when v4, else 16) with the given prefix length, as
 * "10.1.0.0/16". Returns 0, or -1 when out is too small or bits is too large. */
int tw_net_text(const uint8_t *addr, int v4, unsigned bits, char *out, size_t len);

/* Splits an nDPI app name into its lowercased index parts ("TLS.Google" -> "tls",
 * "google"; empty parts skipped). Returns how many parts were written (0 to max). */
int tw_app_parts(const char *app, size_t applen, char parts[][TW_APP_LEN], int max);

#endif
