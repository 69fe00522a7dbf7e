/* netmatch.h - the matching rules the policy and the query tool share, written once:
 * addresses and CIDRs, nDPI application names, server names. */
#ifndef TW_NETMATCH_H
#define TW_NETMATCH_H

#include <stdint.h>

/* Parses "10.40.0.0/16", "2001:db8::/32" or a bare address (a /32 or /128). Host bits are
 * cleared. Returns 0, or -1 when the text is not an address or the prefix is out of range. */
int tw_cidr_parse(const char *text, uint8_t addr[16], int *v4, uint8_t *bits);

/* 1 when addr (16 bytes, IPv4 in the first 4) is inside net/bits, else 0. */
int tw_cidr_contains(const uint8_t net[16], uint8_t bits, const uint8_t *addr);

/* The application rule of policies and `tapwatch-query --app`: "TLS" matches "TLS" and
 * "TLS.Google", "Google" matches "TLS.Google", "TLS.Google" only itself; case-insensitive.
 * Returns 1 on a match, else 0. */
int tw_app_match(const char *want, const char *app);

/* "*.example.com" matches any name under example.com (not example.com itself); anything
 * else matches the exact name; case-insensitive. Returns 1 on a match, else 0. */
int tw_server_name_match(const char *pattern, const char *name);

#endif
