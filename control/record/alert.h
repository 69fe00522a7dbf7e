/* alert.h - what the policy raises: the alert record, its names and its JSON.
 *
 *   tw_policy_evaluate ──struct tw_alert──> --alerts-jsonl (tw_alert_to_json)
 *                                       └─> tw_alert_store (Redis, below)
 *   END events of equipment flows ──struct tw_summary_item──> tw_alert_store
 *
 * An alert is a fixed-size value without pointers, like a flow record. Its JSON object
 * (the --alerts-jsonl line, what `tapwatch-query alerts --format json` prints) has the keys:
 *   kind, rule (its rule id, "TW-R01"), severity, equipment, vendor, ts (packet time, epoch
 *   seconds with microseconds), src_ip, src_mac ("aa:bb:cc:dd:ee:ff" when the frame had one,
 *   else ""), src_port, dst_ip, dst_port, ip_proto (as in a flow record), app, server_name,
 *   detail (one human line), flow_id (16 hex digits), flow_key (the hash holding the flow's
 *   record, tw_key_record of store_keys.h: tw:{S}:f:<H>, H its first_seen hour; the field is
 *   flow_id), sensor, policy_sha256 (hex SHA-256 of the policy file in force), geoip_sha256
 *   (of the GeoIP databases in force; "" without one).
 * Flowless alerts (tw_alert_kind_flowless: unknown_device, silent_equipment, equipment_back,
 * mirror_silent, mirror_back, clock_step) belong to no flow: flow_id "", flow_key "", src_port, dst_port
 * and ip_proto 0, app, server_name and dst_ip ""; src_ip is "" except for unknown_device,
 * where it is the unknown device's address (and src_mac its MAC when the frame had one);
 * equipment is "" for unknown_device and mirror_*. Entries written before rule and the hashes
 * existed read back with rule from kind and empty hashes.
 *
 * Redis keys (sensor S, equipment E; all carry EX redis.retention):
 *   tw:{S}:alerts                 stream, one entry per alert, fields = the JSON keys above
 *                                 (values as text), trimmed with XADD MINID ~ now-retention
 *   tw:{S}:alerts:t:<hour>        zset stream entry ID -> alert ts (microseconds), per epoch
 *                                 hour of ts: the time index tapwatch-query alerts reads
 *   tw:{S}:alerts:hours           zset hour -> hour: the hours of the time index
 *   tw:{S}:alert-seen:<flow_id>:<kind>   "1": that alert is written (the write guard)
 *   tw:{S}:alert-seen:<kind>:<subject>:<period>   the same for a flowless alert: subject is
 *                                 the equipment (silent_equipment, equipment_back), the
 *                                 device's address as src_ip text (unknown_device), "mirror"
 *                                 (mirror_*) or "clock" (clock_step); period is guard_period in decimal (the local day
 *                                 number for unknown_device, the silence's first second for the
 *                                 others): once per address per day, once per silence
 *   tw:{S}:sum:E:h:<hour>         hash per equipment and epoch hour (first_seen / 3600 s):
 *   tw:{S}:sum:E:d:<day>          hash per equipment and epoch day (first_seen / 86400 s):
 *       flows, bytes_out, bytes_in, packets_out, packets_in, alerts:<kind> (alerts of no
 *       equipment, unknown_device and mirror_*, count in no summary)
 *       ("out" = sent by the equipment, whichever end of the flow it is)
 *   tw:{S}:sum:E:h:<hour>:peers   zset peer address -> bytes both ways (the top peers)
 *   tw:{S}:sum:E:h:<hour>:apps    zset nDPI application -> bytes both ways
 *   tw:{S}:sum:E:d:<day>:peers, tw:{S}:sum:E:d:<day>:apps   the same per day
 *   tw:{S}:sum:E:d:<day>:countries  zset peer country -> bytes_out (per day only)
 *   tw:{S}:reached:E              zset "CC" / "AS<n>" -> last local day E sent payload there
 *                                 (cross_border's first_contact memory; TTL first_contact_days
 *                                 + 1 day, trimmed to the window and 1024 entries)
 *   tw:{S}:sum:E:hours, tw:{S}:sum:E:days   zsets bucket -> bucket: the buckets that exist
 *   tw:{S}:summed:<hour>          set of "<flow_id>:c" / "<flow_id>:s" (equipment at the client
 *                                 / server end) already summed, per first_seen hour (the guard)
 * Summaries are written from END events only (the whole flow at once, in the buckets of its
 * first_seen), so the memory they take grows with equipment x buckets, plus one guard member
 * per summed flow end.
 *
 * Every write is idempotent: an alert (flow_id, kind; a flowless one: kind, subject, period)
 * and a flow end's summary contribution (flow_id, end) are applied at most once, by a Lua script that checks and sets the guard and
 * does the writes in one step; re-sending a batch or replaying a capture into the same sensor
 * changes nothing (within redis.retention, while the guard lives).
 */
#ifndef TW_ALERT_H
#define TW_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/flow_record.h"

/* Alert kinds: symbol, public name (field `kind`, `rules:` keys, --kind) and rule id (field
 * `rule`, --rule; stable: a kind keeps its id forever, a new kind takes the next number). The
 * last six belong to no flow ("flowless": flow_id 0, empty flow fields, see the write guard
 * above). clock_step is the sensor's own (control/plane/statements.c): the host's wall clock
 * jumped against CLOCK_MONOTONIC; flowless too, its guard subject "clock". */
#define TW_ALERT_KINDS(X)                                                              \
    X(UNDECLARED_DESTINATION, "undeclared_destination", "TW-R01")                      \
    X(REMOTE_ACCESS_UNAPPROVED_HOST, "remote_access_unapproved_host", "TW-R02")        \
    X(REMOTE_ACCESS_OUTSIDE_WINDOW, "remote_access_outside_window", "TW-R03")          \
    X(REMOTE_ACCESS_PROTOCOL, "remote_access_protocol", "TW-R04")                      \
    X(UPLOAD_VOLUME, "upload_volume", "TW-R05")                                        \
    X(UNCLASSIFIED_CHANNEL, "unclassified_channel", "TW-R06")                          \
    X(RISKY_FLOW, "risky_flow", "TW-R07")                                              \
    X(CROSS_BORDER, "cross_border", "TW-R08")                                          \
    X(UNKNOWN_DEVICE, "unknown_device", "TW-R09")                                      \
    X(SILENT_EQUIPMENT, "silent_equipment", "TW-R10")                                  \
    X(EQUIPMENT_BACK, "equipment_back", "TW-R11")                                      \
    X(MIRROR_SILENT, "mirror_silent", "TW-R12")                                        \
    X(MIRROR_BACK, "mirror_back", "TW-R13")                                            \
    X(CLOCK_STEP, "clock_step", "TW-R14")

enum tw_alert_kind {
#define TW_X(sym, name, rule) TW_ALERT_##sym,
    TW_ALERT_KINDS(TW_X)
#undef TW_X
        TW_ALERT__COUNT
};

#define TW_SEVERITIES(X) X(LOW, "low") X(MEDIUM, "medium") X(HIGH, "high") X(CRITICAL, "critical")

enum tw_severity {
#define TW_X(sym, name) TW_SEV_##sym,
    TW_SEVERITIES(TW_X)
#undef TW_X
        TW_SEV__COUNT
};

/* Returns the public name, or "unknown" when out of range. */
const char *tw_alert_kind_name(unsigned kind);
/* Returns the rule id ("TW-R01"), or "" when out of range. */
const char *tw_alert_rule_id(unsigned kind);
/* Returns the kind of a rule id, or -1 when unknown. */
int tw_alert_kind_from_rule(const char *rule);
/* 1 for the kinds that belong to no flow (unknown_device, silent_equipment, ...). */
int tw_alert_kind_flowless(unsigned kind);
const char *tw_severity_name(unsigned sev);
/* Returns the value for a public name, or -1 when unknown. */
int tw_alert_kind_from_name(const char *name);
int tw_severity_from_name(const char *name);

#define TW_EQUIPMENT_LEN 64 /* [A-Za-z0-9_.-], it is part of Redis key names */
#define TW_VENDOR_LEN 64
#define TW_DETAIL_LEN 192

struct tw_alert {
    uint64_t flow_id;
    uint64_t record_hour;   /* epoch hour of the flow's first_seen, the hour of its record key
                             * (tw_key_record); TW_HOUR_UNKNOWN when read back from an entry
                             * without a record key */
    uint64_t ts_us;         /* packet time at which the decision was made */
    uint8_t src_ip[16];     /* as in the flow record: IPv4 in the first 4 bytes */
    uint8_t dst_ip[16];
    uint16_t src_port;
    uint16_t dst_port;
    uint8_t ip_version;
    uint8_t ip_proto;
    uint8_t kind;           /* enum tw_alert_kind */
    uint8_t severity;       /* enum tw_severity */
    char equipment[TW_EQUIPMENT_LEN];
    char vendor[TW_VENDOR_LEN];
    char app[TW_APP_LEN];
    char server_name[TW_SERVER_NAME_LEN];
    char detail[TW_DETAIL_LEN];
    /* flowless alerts (flow_id 0): with the kind and the subject (equipment, or src_ip for
     * unknown_device, "mirror" for mirror_*), the period makes the write guard: the local day
     * number for unknown_device, the silence's first second for the silence kinds */
    uint64_t guard_period;
    uint8_t src_mac[6];     /* unknown_device: the frame's source MAC when it had one */
    uint8_t has_mac;
    uint8_t pad;
    char policy_sha256[72]; /* hex SHA-256 of the policy file in force (64 digits, NUL) */
    char geoip_sha256[72];  /* of the GeoIP database(s) in force, "" without one */
};
_Static_assert(sizeof(struct tw_alert) % 8 == 0, "alert size");

#define TW_HOUR_UNKNOWN UINT64_MAX

/* Sensor names: at most this many characters (config.c allows [A-Za-z0-9_.-]). */
#define TW_SENSOR_NAME_MAX 63

/* The longest object tw_alert_to_json writes, with its NUL: a buffer of this size always
 * suffices (tests/unit/test_policy.c builds the worst alerts and checks they fit):
 *   TW_ALERT_JSON_FIXED   keys and punctuation, two full IPv6 addresses, a MAC, the largest
 *                         time, port and flow id, the longest kind and severity names, a rule
 *                         id, a record key of the largest hour with an empty sensor, two full
 *                         SHA-256 (64 hex digits each)
 *   2 bytes a field byte  equipment, vendor, app, server_name, detail (printable ASCII, '"'
 *                         and '\\' escaped), each full, without NUL
 *   2 + 6 bytes a sensor byte  field sensor (printable ASCII, escaped as above) and inside
 *                         flow_key (as given: a control byte would be \u00XX), plus ":<k>" of
 *                         a sharded record key */
#define TW_ALERT_JSON_FIXED 599
#define TW_ALERT_JSON_MAX                                                                    \
    (TW_ALERT_JSON_FIXED +                                                                   \
     2 * (TW_EQUIPMENT_LEN + TW_VENDOR_LEN + TW_APP_LEN + TW_SERVER_NAME_LEN + TW_DETAIL_LEN) + \
     (2 + 6) * TW_SENSOR_NAME_MAX + 4 + 1)

/* Writes the alert as one JSON object (no newline). sensor names the flow key (empty when
 * record_hour is TW_HOUR_UNKNOWN). Returns its length, or -1 when buf is too small, sensor
 * is longer than TW_SENSOR_NAME_MAX or json-c has no memory; TW_ALERT_JSON_MAX bytes always
 * suffice. */
int tw_alert_to_json(const struct tw_alert *a, const char *sensor, char *buf, size_t len);

/* Reads an alert back from field/value pairs (a stream entry; unknown fields ignored).
 * record_hour comes from flow_key (TW_HOUR_UNKNOWN when that is absent or is not the record
 * key of flow_id, as in entries written before records were sharded). Returns 0, or -1 with a reason in err when a needed field is missing or malformed. */
int tw_alert_from_fields(struct tw_alert *a, const char *const *fields,
                         const char *const *values, size_t n, char *err, size_t errlen);

/* A MAC address as "aa:bb:cc:dd:ee:ff" (len at least 18). */
void tw_mac_text(const uint8_t *mac, char *out, size_t len);

/* An address as text (inet_ntop; "?" when it cannot be written). */
void tw_addr_text(const uint8_t *a, int v4, char *out, size_t len);

/* Copies a string from the wire of at most size bytes into out (size + 1 bytes), printable
 * ASCII kept and every other byte written as '?'. */
void tw_ascii_copy(const char *src, size_t size, char *out);

#endif
