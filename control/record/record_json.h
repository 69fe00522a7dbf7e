/* record_json.h - a flow record as one JSON object (the `--flows-jsonl` format, the value
 * stored in Redis, and what `tapwatch-query flows --format json` prints).
 *
 * Keys, all always present: src_ip, src_port, dst_ip, dst_port, ip_proto, vlan, first_seen,
 * last_seen (epoch seconds, microsecond decimals), c2s_packets, c2s_bytes, s2c_packets,
 * s2c_bytes, app, category, server_name, risks (array of nDPI risk names), end_reason,
 * and extras: flow_id (16 hex digits), ip_version, tls_version, ja3c, event, tunnel,
 * tunnel_id, src_country and dst_country ("" or ISO 3166 alpha-2), src_asn and dst_asn (0:
 * unknown), src_mac (the client's MAC "aa:bb:cc:dd:ee:ff", "" when its frame had none).
 * Keys added after the first records (tunnel ... dst_asn, src_mac) read as zero when absent.
 */
#ifndef TW_RECORD_JSON_H
#define TW_RECORD_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/flow_record.h"

/* The longest object tw_record_to_json writes, with its NUL: a buffer of this size always
 * suffices. Every field at its worst (tests/unit/test_record_json.c builds that record and
 * checks the sum is exact):
 *   TW_RECORD_JSON_FIXED  keys and punctuation, two full IPv6 addresses, 20-digit counters
 *                         and times, the longest event ("classified"), end reason and tunnel
 *                         names, a 10-digit tunnel_id, two countries and two 10-digit
 *                         ASNs, a src_mac (17 characters),
 *                         and the quotes of the four strings
 *   6 bytes a string byte every byte of app, category, server_name and ja3c a control byte
 *                         (\u00XX), none NUL
 *   TW_RISKS_JSON_MAX     all 64 risk bits: nDPI 4.2's names quoted, with commas (the test
 *                         adds them up from tw_risk_label: a newer nDPI with longer names
 *                         fails it instead of losing records) */
#define TW_RECORD_JSON_FIXED 693
#define TW_RISKS_JSON_MAX 1227
#define TW_RECORD_JSON_MAX                                                                   \
    (TW_RECORD_JSON_FIXED +                                                                  \
     6 * (TW_APP_LEN + TW_CATEGORY_LEN + TW_SERVER_NAME_LEN + TW_JA3_LEN) +                  \
     TW_RISKS_JSON_MAX + 1)

/* Writes the record as one JSON object (no newline) into buf. Returns its length, or -1
 * when buf is too small; TW_RECORD_JSON_MAX bytes always suffice. */
int tw_record_to_json(const struct tw_flow_record *r, char *buf, size_t len);

/* Parses one JSON object made by tw_record_to_json back into a record. Returns 0, or -1
 * with a reason in err when the text is not such an object. */
int tw_record_from_json(const char *text, struct tw_flow_record *r, char *err, size_t errlen);

/* Copies the fixed-size field src (NUL-terminated or full) into out as valid UTF-8, each
 * byte that is not part of a valid sequence becoming U+FFFD (overlong forms, surrogates and
 * code points above U+10FFFF are invalid, as RFC 3629 says). out must hold 3 * srclen + 1
 * bytes. Used by tw_record_to_json for app, category, server_name and ja3c. */
void tw_utf8_sanitize(const char *src, size_t srclen, char *out);

/* Length of the valid UTF-8 sequence at s (at most n bytes), with its code point in *cp; 0
 * when invalid (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). The
 * one decoder of wire text: the record encoder and the query tool's escaping use it. */
size_t tw_utf8_char(const unsigned char *s, size_t n, uint32_t *cp);

/* Name of nDPI risk bit n (as ndpi_risk2str prints it in nDPI 4.2), NULL if unused. */
const char *tw_risk_name(unsigned bit);

/* The label of risk bit n in records: its name, or its number written into num for a bit
 * nDPI 4.2 has no name for (kept, like ndpi_risk2str). Returns the label. */
const char *tw_risk_label(unsigned bit, char num[4]);

#endif
