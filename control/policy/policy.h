/* policy.h - the monitoring rules: equipment inventory, maintenance, limits, rules (YAML),
 * and their evaluation on every flow event (the control plane's tw_event_hook).
 *
 * A policy is immutable once loaded: a reload loads a new one fully, then swaps the pointer
 * (tw_policy_hook in policy_hook.h). The evaluation state (one alert per flow per kind, the
 * per-flow byte counts already added to the daily totals, the daily totals) lives apart in a
 * tw_policy_state, so it survives a reload.
 *
 * Times are packet times. Maintenance windows are read in the policy's timezone:
 *   timezone: UTC | +08:00 | -05:30 | an IANA name (Asia/Shanghai)
 * An IANA name is resolved from the system TZ database once, at load: its UTC offsets and
 * their changes (DST) from 1970 to 2100 are put in a table, so evaluation never touches the
 * process's TZ or localtime and is the same on replay.
 *
 * Rule decisions, for a record with client src_ip and server dst_ip ("equipment opens" =
 * equipment is src; "reaches equipment" = equipment is dst); flows between two hosts that
 * are not equipment raise nothing:
 *   undeclared_destination        src is equipment, none of its declared entries matches
 *   remote_access_unapproved_host dst is equipment, the app is in nDPI's RemoteAccess category,
 *                                 src is not in maintenance.hosts
 *   remote_access_outside_window  same with src approved, first_seen outside every window
 *   remote_access_protocol        approved and inside a window, app not in maintenance.protocols
 *   upload_volume                 bytes sent by the equipment in this flow > upload_bytes_per_flow,
 *                                 or this flow takes the equipment's total of the day (policy
 *                                 timezone) to peers outside domestic_networks over
 *                                 upload_bytes_per_day (that one flow alerts, once a day);
 *                                 checked for each end that is equipment (a client sends
 *                                 c2s bytes, a server s2c); one alert per flow still
 *   unclassified_channel          equipment at either end, no declared entry matches, nDPI
 *                                 gave up with app Unknown, and payload was seen (UDP: any
 *                                 packet; TCP: a segment with PSH)
 *   risky_flow                    equipment at either end, a risk of rules.risky_flow.risks set
 *   cross_border                  an end that is equipment sends payload (unclassified_channel's
 *                                 sense, in its own direction) to a peer whose country is
 *                                 known and not in its allowed_countries, or (first_contact)
 *                                 to a country or ASN it did not reach in first_contact_days;
 *                                 one alert per flow (cross_border.c, reached.c)
 *   unknown_device                an end inside monitored_networks that no equipment owns and
 *                                 that sends (the client, or a server that answered): once
 *                                 per address per local day, whatever the flow
 *                                 (unknown_device.c; the one rule flows without equipment raise)
 * Files: policy_load.c (YAML), equipment_check.c (names unique, an address in one equipment),
 * unknown_device.c and device_days.c (the unknown_device rule and its per-day memory),
 * timezone.c (time zones, windows), policy_state.c (per-flow state, daily_totals.c),
 * policy_eval.c (evaluation), policy_model.c/.h (the loaded policy, shared inside).
 *
 * Decisions that need the application wait for detection_done (the CLASSIFIED event, or END
 * for flows too short to be classified); upload_volume is checked on every event.
 */
#ifndef TW_POLICY_H
#define TW_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "control/record/netmatch.h"

#include "dataplane/flow_record.h"
#include "control/record/alert.h"
#include "control/policy/daily_totals.h"

/* Bounds of one policy, checked at load. */
#define TW_POLICY_MAX_EQUIPMENT 4096
#define TW_POLICY_MAX_LIST 1024 /* addresses, declared entries, hosts, windows, networks */

struct tw_policy;

/* Loads and validates a policy file. Returns the policy, or NULL with a one-line message in
 * err: "FILE:LINE: key: expected ..., got ..." (or "FILE: reason" when the file cannot be
 * read). */
struct tw_policy *tw_policy_load(const char *path, char *err, size_t errlen);

/* Frees a policy. NULL is fine. */
void tw_policy_free(struct tw_policy *p);

/* The SHA-256 of the policy file's bytes, as the loader read and parsed them: 64 lowercase
 * hex digits (what `sha256sum FILE` prints). Stamped on every alert (policy_sha256). */
const char *tw_policy_sha256(const struct tw_policy *p);

/* The equipment inventory of p as published in Redis (control/store/inventory.h: names,
 * vendors, addresses, the policy's SHA-256), in force since since_us (epoch µs); p NULL: an
 * empty inventory (a sensor without a policy). Returns 0 with the text in *out (malloc'd,
 * *len bytes, NUL-terminated), or -ENOMEM. */
int tw_policy_inventory_json(const struct tw_policy *p, uint64_t since_us, char **out,
                             size_t *len);

/* Numbers for "policy OK: N equipment, M rules" (M = enabled rules). */
size_t tw_policy_equipment_count(const struct tw_policy *p);
size_t tw_policy_rule_count(const struct tw_policy *p);

/* The name of the equipment that owns addr (16 bytes, v4 in the first 4), or NULL. A
 * longest-prefix lookup (netmatch.h), no allocation. */
const char *tw_policy_equipment_of(const struct tw_policy *p, const uint8_t *addr, int v4);

/* Prints what the policy says about addr (16 bytes, v4 in the first 4) as plain lines in a
 * fixed order (policy_explain.c): which equipment it is or "not equipment" (and then which
 * equipment is declared to reach it, whether it is a maintenance host), what it may reach,
 * maintenance, limits, the rules with their ids and severities. geo, when not NULL, is what
 * the GeoIP databases say of addr ("CN, AS 4134"), printed as its country. Returns 0, or -1 when
 * writing to out failed. */
int tw_policy_explain(const struct tw_policy *p, const uint8_t *addr, int v4, const char *geo,
                      FILE *out);

/* ---- evaluation ---- */

struct tw_policy_state;

/* State for flows_max concurrent equipment flows (rounded up to a power of two, at least
 * 1024). Returns it, or NULL with errno ENOMEM. */
struct tw_policy_state *tw_policy_state_new(uint32_t flows_max);
void tw_policy_state_free(struct tw_policy_state *st);

struct tw_policy_state_stats {
    uint64_t tracked;  /* flows in the dedupe table now */
    uint64_t evicted;  /* flows pushed out of the full table (may alert twice) */
    uint64_t alerts;   /* alerts emitted */
    uint64_t reached_forgotten; /* cross_border memory: countries/ASNs forgotten (full) */
    uint64_t devices;  /* unknown devices remembered (device_days.h) */
    uint64_t devices_evicted; /* ... forgotten to make room (may alert twice a day) */
};
void tw_policy_state_get_stats(const struct tw_policy_state *st, struct tw_policy_state_stats *out);

typedef void (*tw_alert_emit_fn)(void *ctx, const struct tw_alert *a);

/* Evaluates one flow event; calls emit for each new alert (at most one per flow per kind).
 * END events release the flow's state. Returns the number of alerts emitted. */
int tw_policy_evaluate(const struct tw_policy *p, struct tw_policy_state *st,
                       const struct tw_flow_record *r, tw_alert_emit_fn emit, void *ctx);

/* The equipment names of a flow's two ends (NULL: not equipment), valid while the policy is. */
struct tw_policy_ends {
    const char *src; /* the client, src_ip */
    const char *dst; /* the server, dst_ip */
};

/* tw_policy_evaluate that also fills ends (when not NULL) from the lookups it makes, so the
 * caller needs no second tw_policy_equipment_of per end. Returns as tw_policy_evaluate. */
int tw_policy_evaluate_ends(const struct tw_policy *p, struct tw_policy_state *st,
                            const struct tw_flow_record *r, tw_alert_emit_fn emit, void *ctx,
                            struct tw_policy_ends *ends);

/* ---- cross_border's memory of what each equipment reached (first_contact) ---- */

/* Told each time an equipment's last day for a country ("DE") or an ASN ("AS3320") moves
 * forward (day: local day number of the policy; days: its first_contact_days), so that the
 * caller keeps it across restarts (Redis, tw:{S}:reached:<equipment>). */
#define TW_REACHED_MAX 1024 /* countries and ASNs remembered per equipment, oldest forgotten */
typedef void (*tw_reached_note_fn)(void *ctx, const char *equipment, const char *what,
                                   int64_t day, uint32_t days);
void tw_policy_state_on_reached(struct tw_policy_state *st, tw_reached_note_fn fn, void *ctx);
/* Remembers that equipment reached what ("DE", "AS3320") on day (a later day known wins).
 * Returns 0, or -1 when what is neither form or the memory is full. */
int tw_policy_state_seed_reached(struct tw_policy_state *st, const char *equipment,
                                 const char *what, int64_t day);
/* For equipment i (0 .. tw_policy_equipment_count - 1): its name and first_contact_days, and
 * 1 when cross_border's first_contact is on for it, else 0. */
int tw_policy_first_contact(const struct tw_policy *p, size_t i, const char **name,
                            uint32_t *days);

/* ---- pieces, exported for the unit tests ---- */

/* Parses a maintenance window ("mon-fri 10:00-12:00", "sat 08:00-09:30", "daily 22:00-02:00",
 * "mon,wed,fri 09:00-10:00"). Returns 0 and fills days (bit 0 = Monday) and minutes from
 * local midnight (end > 1440 when the window crosses midnight), or -1. */
int tw_window_parse(const char *text, uint8_t *days, uint16_t *start_min, uint16_t *end_min);

/* 1 when local time (weekday 0 = Monday, minute of the day) is inside the window. */
int tw_window_contains(uint8_t days, uint16_t start_min, uint16_t end_min, unsigned weekday,
                       unsigned minute);

/* CIDR, application and server-name matching: netmatch.h (shared with tapwatch-query). */

/* Local time of utc_us in the policy's timezone: weekday (0 = Monday), minute of the day, and
 * the local day number (days since 1970-01-01 local). */
void tw_policy_local_time(const struct tw_policy *p, uint64_t utc_us, unsigned *weekday,
                          unsigned *minute, int64_t *day);

#endif
