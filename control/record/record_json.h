/* record_json.h - a flow record as one JSON object (the `--flows-jsonl` format, the value
 * stored in Redis, and what `tapwatch-query flows --format json` prints).
 *
 * Keys, all always present: src_ip, src_port, dst_ip, dst_port, ip_proto, vlan, first_seen,
 * last_seen (epoch seconds, microsecond decimals), c2s_packets, c2s_bytes, s2c_packets,
 * s2c_bytes, app, category, server_name, risks (array of nDPI risk names), end_reason,
 * and extras: flow_id (16 hex digits), ip_version, tls_version, ja3c, event.
 */
#ifndef TW_RECORD_JSON_H
#define TW_RECORD_JSON_H

#include <stddef.h>

#include "dataplane/flow_record.h"

/* Writes the record as one JSON object (no newline) into buf. Returns its length, or -1
 * when buf is too small. 2048 bytes always suffice. */
int tw_record_to_json(const struct tw_flow_record *r, char *buf, size_t len);

/* Parses one JSON object made by tw_record_to_json back into a record. Returns 0, or -1
 * with a reason in err when the text is not such an object. */
int tw_record_from_json(const char *text, struct tw_flow_record *r, char *err, size_t errlen);

/* Name of nDPI risk bit n (as ndpi_risk2str prints it in nDPI 4.2), NULL if unused. */
const char *tw_risk_name(unsigned bit);

/* The label of risk bit n in records: its name, or its number written into num for a bit
 * nDPI 4.2 has no name for (kept, like ndpi_risk2str). Returns the label. */
const char *tw_risk_label(unsigned bit, char num[4]);

#endif
