/* netmatch.h - the matching rules the policy and the query tool share, written once:
 * addresses and CIDRs, longest-prefix lookup, nDPI application names, server names. */
#ifndef TW_NETMATCH_H
#define TW_NETMATCH_H

#include <stdint.h>

/* Parses "10.40.0.0/16", "2001:db8::/32" or a bare address (a /32 or /128). Host bits are
 * cleared. Returns 0, or -1 when the text is not an address or the prefix is out of range. */
int tw_cidr_parse(const char *text, uint8_t addr[16], int *v4, uint8_t *bits);

/* 1 when addr (16 bytes, IPv4 in the first 4) is inside net/bits, else 0. */
int tw_cidr_contains(const uint8_t net[16], uint8_t bits, const uint8_t *addr);

/* A longest-prefix table of IPv4 and IPv6 prefixes, each with a value >= 0 (the policy: the
 * index of the equipment that owns the prefix). Filled once (at load), read with no
 * allocation and no lock. One open-addressing hash table per prefix length present, probed
 * from the longest length down, so a lookup costs at most one probe per length in use:
 *
 *   v4: order = [32, 24, 16]      len[32] = {10.0.0.7 -> 3, ...}  len[24] = {10.1.2.0 -> 5}
 *   v6: order = [128, 64]         len[64] = {2001:db8:0:1:: -> 5, ...}
 */
struct tw_prefix_set;

/* Returns an empty table, or NULL with errno ENOMEM. */
struct tw_prefix_set *tw_prefix_set_new(void);

/* Frees a table. NULL is fine. */
void tw_prefix_set_free(struct tw_prefix_set *s);

/* Adds net/bits (16 bytes, IPv4 in the first 4, host bits cleared as tw_cidr_parse leaves
 * them) with value. A prefix already present keeps its first value. Returns 0, or -1 with
 * errno ENOMEM (the table is unchanged) or EINVAL (bits or value out of range). */
int tw_prefix_set_add(struct tw_prefix_set *s, const uint8_t net[16], int v4, uint8_t bits,
                      int32_t value);

/* The value of the longest prefix that contains addr (16 bytes, IPv4 in the first 4; only
 * prefixes of the same family match), or -1 when none does. */
int32_t tw_prefix_set_lookup(const struct tw_prefix_set *s, const uint8_t *addr, int v4);

/* The application rule of policies and `tapwatch-query --app`: "TLS" matches "TLS" and
 * "TLS.Google", "Google" matches "TLS.Google", "TLS.Google" only itself; case-insensitive.
 * Returns 1 on a match, else 0. */
int tw_app_match(const char *want, const char *app);

/* "*.example.com" matches any name under example.com (not example.com itself); anything
 * else matches the exact name; case-insensitive. Returns 1 on a match, else 0. */
int tw_server_name_match(const char *pattern, const char *name);

#endif
