/* syslog_format.h - an alert as an RFC 5424 syslog message with structured data, for the
 * bank's SIEM (sink_syslog.c sends it):
 *
 *   <PRI>1 TIMESTAMP HOSTNAME tapwatch PROCID MSGID [tapwatch@32473 k="v" ...] MSG
 *    │                                        │      │                         └ detail
 *    │                                        │      └ SD-ELEMENT, one SD-PARAM per field
 *    │                                        └ the alert kind ("upload_volume")
 *    └ facility * 8 + severity (low notice, medium warning, high err, critical crit)
 *
 * TIMESTAMP is the alert's packet time in UTC with microseconds. The SD-ID uses 32473, the
 * enterprise number RFC 5612 reserves for documentation (tapwatch has none of its own).
 * SD-PARAMs: kind rule severity sensor equipment vendor src src_port dst dst_port ip_proto
 * app server_name flow_id policy_sha256 geoip_sha256 (a flowless alert, alert.h: src, dst,
 * flow_id "", ports and ip_proto 0, except unknown_device's src). Values come from the wire (server_name, app, detail): '"', '\' and ']'
 * are escaped with a backslash as RFC 5424 section 6.3.3 says, and every byte that is not
 * printable ASCII (control bytes, newlines, bytes of 0x80 and up) is written as the four
 * characters \xHH, so a message is always one line of printable ASCII and its framing
 * cannot be broken. MSG (the detail) gets the same treatment, its backslashes doubled.
 */
#ifndef TW_SYSLOG_FORMAT_H
#define TW_SYSLOG_FORMAT_H

#include <stddef.h>

#include "control/record/alert.h"

/* Facility numbers by name (RFC 5424 table 1: "kern" 0 ... "local7" 23). Returns the
 * number, or -1 for an unknown name. */
int tw_syslog_facility(const char *name);

/* The message for alert a. host is the HOSTNAME field (non-printable bytes dropped, "-" when
 * empty), sensor a sensor name, pid the PROCID. Returns the length written (no NUL counted,
 * no newline), or -1 when len is too small; TW_SYSLOG_MSG_MAX always suffices. */
int tw_syslog_format(char *buf, size_t len, const struct tw_alert *a, int facility,
                     const char *host, const char *sensor, long pid);

/* Every field at its longest with every byte escaped (4 bytes each), and the fixed text. */
#define TW_SYSLOG_MSG_MAX                                                                   \
    (512 + 4 * (TW_EQUIPMENT_LEN + TW_VENDOR_LEN + TW_APP_LEN + TW_SERVER_NAME_LEN +         \
                TW_DETAIL_LEN + 64 + 255 + 2 * 64))

#endif
