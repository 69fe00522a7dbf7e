/* silence.h - the silence rules: silent_equipment / equipment_back (an equipment with
 * expect_traffic heard of no flow for its silent_after inside those hours) and
 * mirror_silent / mirror_back (no packet at all for mirror_silent_after). Flowless alerts
 * (flow_id 0, empty flow fields); guard_period = the silence's first second.
 *
 * Time. A replay decides on packet time only, so the same capture gives the same alerts:
 * now = the packet time every worker has reached (tw_pipeline_progress); the run starts at
 * the first packet; the mirror's silences are the holes in the packet times of at least
 * mirror_silent_after, found where the file is read in order (dataplane/time_gaps.h), each
 * one mirror_silent then mirror_back. Live, now is CLOCK_REALTIME: the mirror is silent when
 * the received-packet count has not moved for mirror_silent_after, back when it moves.
 *
 * An equipment's activity is the span [first_seen, last_seen] of every flow event where it
 * is either end. Events come late: a flow says it is alive at the latest active_timeout +
 * idle_timeout after a packet (report_lag_us), so equipment silences are decided up to the
 * horizon H = now - report_lag_us (H = now once the input is over and every flow ended): a
 * silence is judged only once everything that could fill it has been reported, whatever
 * order the workers' events arrive in.
 *
 *   last  = the end of the latest activity up to H (the run's start while there is none)
 *   T0    = the first instant >= last + silent_after inside expect_traffic (policy time
 *           zone; windows as in maintenance)
 *   T0 <= H and nothing since last: silent_equipment, ts = T0, guard_period = T0 in epoch
 *           seconds (once per silence); the next activity: equipment_back, same guard_period,
 *           ts = when the activity began
 * Silence outside the expected hours raises nothing. An equipment a reload adds starts its
 * silence at the reload. With flow_table.active_timeout 0 a flow is only heard of when it
 * is classified and when it ends: a flow longer than silent_after can look like a silence.
 */
#ifndef TW_SILENCE_H
#define TW_SILENCE_H

#include <stdint.h>

#include "control/policy/policy.h"

/* What the control loop knows of time (tw_pipeline_progress, the clock). */
struct tw_silence_clock {
    uint64_t now_us;        /* replay: packet time every event up to is handed over; live:
                             * CLOCK_REALTIME */
    uint64_t start_us;      /* the run's start: replay, the first packet time; live, the
                             * clock when it began; 0 = not yet (nothing is decided) */
    uint64_t packets;       /* packets received so far (live: the mirror's pulse) */
    uint64_t report_lag_us; /* active_timeout + idle_timeout */
    uint8_t replay;
    uint8_t final;          /* the input is over and every event handled: H = now */
};

struct tw_silence;

struct tw_silence_stats {
    uint64_t equipment_silent; /* silences open now */
    uint64_t mirror_silent;    /* 1 while the mirror is silent (live) */
    uint64_t merged;           /* activity spans merged for room (a silence may be missed) */
};

/* Returns the state, or NULL (ENOMEM). It is kept across reloads (tw_silence_bind). */
struct tw_silence *tw_silence_new(void);
void tw_silence_free(struct tw_silence *s);

/* Takes the equipment of p that have expect_traffic: those of the same name keep their
 * state, new ones start their silence now. Call after each load; p must stay while it is
 * the one in use. Returns 0, or -1 (ENOMEM: the state of before stays). */
int tw_silence_bind(struct tw_silence *s, const struct tw_policy *p);

/* A flow event: activity of its ends that are equipment with expect_traffic. No alert. */
void tw_silence_activity(struct tw_silence *s, const struct tw_flow_record *r);

/* Decides up to the clock: equipment silences (at most once per second of now, or at
 * once when activity waits or the run is final) and, live, the mirror. Emits the alerts.
 * Returns how many. */
int tw_silence_tick(struct tw_silence *s, const struct tw_silence_clock *clk,
                    tw_alert_emit_fn emit, void *ctx);

/* A hole in a replay's packet times (start = the packet before, end = the packet after):
 * mirror_silent and mirror_back when it is at least mirror_silent_after. Returns how many
 * alerts. */
int tw_silence_gap(struct tw_silence *s, uint64_t start_us, uint64_t end_us,
                   tw_alert_emit_fn emit, void *ctx);

/* The shortest hole in a replay's packet times worth reporting: mirror_silent_after in
 * microseconds, 0 when mirror_silent is disabled. */
uint64_t tw_silence_gap_threshold_us(const struct tw_policy *p);

void tw_silence_get_stats(const struct tw_silence *s, struct tw_silence_stats *out);

#endif
