/* control_loop.c - the main lcore's loop (see control_loop.h). */
#include "dataplane/clock.h"
#include "control/plane/control_loop.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/plane/budget.h"
#include "control/plane/geoip_enrich.h"
#include "control/plane/log.h"
#include "control/plane/metrics_collect.h"
#include "control/plane/statements.h"

#define DEQUEUE_BURST 64
#define COUNTERS_PERIOD_NS 1000000000ull
#define IDLE_POLLS_LONG 100 /* naps of 1 ms before the long naps of a quiet link */
#define LINK_PERIOD_NS 200000000ull /* link down/up/removal seen within 0.2 s */

uint64_t tw_control_counter(struct tw_control *c, unsigned i)
{
    return tw_pipeline_counter(c->pipeline, i);
}

static void handle(struct tw_control *c, struct tw_flow_record *r)
{
    if (r->event < 4)
        c->events[r->event]++;
    /* countries and ASNs first: the policy and every output see the same record */
    tw_geoip_enrich_record(c->geoip, r);
    if (c->hook)
        c->hook(c->hook_ctx, r);
    if (c->sinks)
        tw_sinks_flow(c->sinks, r);
}

unsigned tw_control_poll(struct tw_control *c)
{
    struct tw_flow_record recs[DEQUEUE_BURST];
    unsigned total = 0;

    for (unsigned w = 0; w < tw_pipeline_workers(c->pipeline); w++) {
        unsigned n;
        do {
            n = tw_pipeline_events(c->pipeline, w, recs, DEQUEUE_BURST);
            for (unsigned i = 0; i < n; i++)
                handle(c, &recs[i]);
            total += n;
        } while (n == DEQUEUE_BURST);
    }
    return total;
}

static uint64_t drops(struct tw_control *c)
{
    uint64_t d = 0;
    for (unsigned i = 0; i < TW_C__COUNT; i++)
        if (tw_counter_is_drop(i))
            d += tw_control_counter(c, i);
    return d;
}

/* " upstream-loss 0.3%": TCP bytes acknowledged and never seen over those acknowledged since
 * the last line (tcp_seen.h), "-" when nothing was acknowledged. */
static void upstream_loss(struct tw_control *c, FILE *out)
{
    uint64_t gap = tw_control_counter(c, TW_C_TCP_GAP_BYTES);
    uint64_t acked = tw_control_counter(c, TW_C_TCP_ACKED_BYTES);
    uint64_t dg = gap - c->last_stats_gap, da = acked - c->last_stats_acked;

    if (da)
        fprintf(out, " upstream-loss %.1f%%", 100.0 * (double)dg / (double)da);
    else
        fprintf(out, " upstream-loss -");
    c->last_stats_gap = gap;
    c->last_stats_acked = acked;
}

static void live_stats(struct tw_control *c, uint64_t now)
{
    uint64_t packets = tw_control_counter(c, TW_C_RECEIVED);
    double secs = (double)(now - c->last_stats_ns) / 1e9;
    double pps = secs > 0 ? (double)(packets - c->last_stats_packets) / secs : 0;
    unsigned ring_used, ring_size;
    struct tw_source_stats ss;
    char *line = NULL;
    size_t len = 0;
    FILE *out;

    tw_pipeline_rings(c->pipeline, &ring_used, &ring_size);
    tw_pipeline_source_stats(c->pipeline, &ss);
    /* composed in memory (the sinks append their parts), then one log line */
    out = open_memstream(&line, &len);
    if (out == NULL) { /* no memory for a line: this interval goes unsaid */
        c->last_stats_ns = now;
        return;
    }
    fprintf(out,
            "%.0fs packets %" PRIu64 " (%.0f/s) dropped %" PRIu64 " flows %" PRIu64
            " active %" PRIu64 " ring %.0f%% imissed %" PRIu64 " ierrors %" PRIu64
            " rx_nombuf %" PRIu64,
            (double)(now - c->start_ns) / 1e9, packets, pps, drops(c),
            tw_control_counter(c, TW_C_FLOWS_CREATED), tw_pipeline_active_flows(c->pipeline),
            ring_size ? 100.0 * ring_used / ring_size : 0.0, ss.imissed, ss.ierrors,
            ss.rx_nombuf);
    if (tw_link_watch_live(&c->link)[0])
        fprintf(out, " %s", tw_link_watch_live(&c->link));
    upstream_loss(c, out);
    if (c->sinks)
        tw_sinks_live(c->sinks, out);
    if (fclose(out) == 0)
        tw_log(TW_LOG_INFO, "%s", line);
    free(line);
    c->last_stats_ns = now;
    c->last_stats_packets = packets;
}

/* The packet counters, then what the source lost below us (NIC, kernel, pool). */
static void put_counters(struct tw_control *c)
{
    const char *names[TW_C__COUNT + 6];
    uint64_t values[TW_C__COUNT + 6];
    struct tw_source_stats ss;

    for (unsigned i = 0; i < TW_C__COUNT; i++) {
        names[i] = tw_counter_name(i);
        values[i] = tw_control_counter(c, i);
    }
    tw_pipeline_source_stats(c->pipeline, &ss);
    names[TW_C__COUNT] = "imissed";
    values[TW_C__COUNT] = ss.imissed;
    names[TW_C__COUNT + 1] = "ierrors";
    values[TW_C__COUNT + 1] = ss.ierrors;
    names[TW_C__COUNT + 2] = "rx_nombuf";
    values[TW_C__COUNT + 2] = ss.rx_nombuf;
    names[TW_C__COUNT + 3] = "link_down";
    values[TW_C__COUNT + 3] = c->link.downs;
    names[TW_C__COUNT + 4] = "link_up";
    values[TW_C__COUNT + 4] = c->link.ups;
    names[TW_C__COUNT + 5] = "interface_removed";
    values[TW_C__COUNT + 5] = c->link.removals;
    tw_sinks_counters(c->sinks, names, values, TW_C__COUNT + 6);
}

/* The interface's link, a few times a second: a removed interface ends the run (the workers
 * see stop, flush their flows, and we go on until they are done), or is waited for and read
 * again when it is back (wait_for_interface). */
static void watch_link(struct tw_control *c, volatile int *stop, uint64_t now)
{
    struct tw_source_stats ss;

    char err[256];
    const char *input = tw_pipeline_input_name(c->pipeline);

    c->last_link_ns = now;
    tw_pipeline_source_stats(c->pipeline, &ss);
    switch (tw_link_watch_step(&c->link, ss.link, input)) {
    case TW_LINK_KEEP:
        break;
    case TW_LINK_REOPEN:
        if (tw_pipeline_reattach(c->pipeline, err, sizeof(err)) == 0)
            break;
        tw_log(TW_LOG_ERR, "%s: cannot read the interface again: %s; ending the run", input, err);
        /* fall through */
    case TW_LINK_END:
        c->input_gone = 1;
        *stop = 1;
        break;
    }
}

/* The silence rules' time: packet time on a replay (what every worker has handed over, read
 * before the rings were polled), the clock live; and the holes the file reader found. */
static void clock_tick(struct tw_control *c, const struct tw_pipeline_progress *pr, int final)
{
    struct tw_silence_clock clk = {.packets = pr->packets, .replay = (uint8_t)pr->replay,
                                   .final = (uint8_t)final};
    uint64_t gaps[16][2];
    unsigned ng;

    if (pr->replay) {
        clk.start_us = pr->first_us;
        clk.now_us = pr->now_us > pr->first_us ? pr->now_us : pr->first_us;
    } else {
        clk.start_us = c->clock_start_us;
        clk.now_us = tw_wall_us();
    }
    do {
        for (ng = 0; ng < 16 && tw_pipeline_next_gap(c->pipeline, &gaps[ng][0], &gaps[ng][1]);)
            ng++;
        tw_pipeline_set_gap_threshold(c->pipeline, c->clock(c->clock_ctx, &clk, gaps, ng));
    } while (ng == 16);
}

void tw_control_run(struct tw_control *c, volatile int *stop, uint64_t drain_ms)
{
    /* workers watch stop; we run until they have flushed */
    c->start_ns = c->last_stats_ns = c->last_counters_ns = tw_mono_ns();
    c->link.wait = c->wait_for_interface;
    unsigned idle_polls = 0;
    for (;;) {
        /* read before polling (acquire), so nothing enqueued before it is missed */
        int done = tw_pipeline_done(c->pipeline);
        struct tw_pipeline_progress pr;
        if (c->clock) /* before the poll: every event up to pr.now_us is then handled */
            tw_pipeline_progress(c->pipeline, &pr);
        unsigned n = tw_control_poll(c);
        uint64_t now = tw_mono_ns();

        if (c->sinks) {
            tw_sinks_poll(c->sinks, now / 1000000u);
            uint64_t took = tw_mono_ns() - now;
            if (took > c->longest_outputs_ns)
                c->longest_outputs_ns = took;
            if (tw_sinks_takes(c->sinks, TW_TAKES_COUNTERS) &&
                now - c->last_counters_ns >= COUNTERS_PERIOD_NS) {
                put_counters(c);
                c->last_counters_ns = now;
            }
        }
        if (c->stats_interval_s && !c->quiet &&
            now - c->last_stats_ns >= (uint64_t)c->stats_interval_s * 1000000000ull)
            live_stats(c, now);
        if (now - c->last_link_ns >= LINK_PERIOD_NS)
            watch_link(c, stop, now);
        if (c->tick)
            c->tick(c->tick_ctx);
        tw_statements_tick(c->statements, c);
        if (c->clock)
            clock_tick(c, &pr, done && n == 0);
        if (c->metrics)
            tw_metrics_feed_tick(c->metrics, c, now, 0);
        if (done && n == 0)
            break;
        /* Idle: sleep 1 ms, a few hundred events at full rate against a ring of thousands.
         * Shorter naps that grew with idleness (50 us steps) woke this thread so often that
         * the worker on the other CPU lost 5% (main job of make bench, same-run pairs).
         * After 100 ms without an event (a quiet link), 10 ms: each wake-up costs some 35 us
         * here, and an idle appliance should not cost 4% of a core. */
        if (n == 0) {
            idle_polls += idle_polls < IDLE_POLLS_LONG;
            usleep(idle_polls < IDLE_POLLS_LONG ? 1000 : 10000);
        } else {
            idle_polls = 0;
        }
    }
    c->packets_end_ns = tw_mono_ns();
    /* every event is handled: the summary buckets still open are sealed, and the stop
     * statement counts them all, and drains with the rest */
    if (c->sinks)
        tw_sinks_seal(c->sinks);
    tw_statements_stop(c->statements, c);
    if (c->sinks) {
        if (tw_sinks_takes(c->sinks, TW_TAKES_COUNTERS))
            put_counters(c);
        tw_sinks_drain(c->sinks, drain_ms);
    }
    if (c->metrics) /* the figures the summary prints */
        tw_metrics_feed_tick(c->metrics, c, tw_mono_ns(), 1);
}

void tw_control_summary(struct tw_control *c, FILE *out, const char *input, const char *end_note)
{
    double secs = (double)(tw_mono_ns() - c->start_ns) / 1e9;
    uint64_t rx = tw_control_counter(c, TW_C_RECEIVED);
    uint64_t parsed = tw_control_counter(c, TW_C_PARSED);
    uint64_t flows = tw_control_counter(c, TW_C_FLOWS_CREATED);
    uint64_t classified = tw_control_counter(c, TW_C_FLOWS_CLASSIFIED);
    uint64_t guessed = tw_control_counter(c, TW_C_FLOWS_GUESSED);
    uint64_t unknown = tw_control_counter(c, TW_C_FLOWS_UNKNOWN);

    fprintf(out, "tapwatch summary\n");
    fprintf(out, "  input                %s\n", input);
    if (end_note && *end_note)
        fprintf(out, "  note                 %s\n", end_note);
    fprintf(out, "  packets received     %" PRIu64 "\n", rx);
    fprintf(out, "  packets parsed       %" PRIu64 "\n", parsed);
    fprintf(out, "  packets dropped      %" PRIu64 "\n", drops(c));
    for (unsigned i = 0; i < TW_C__COUNT; i++)
        if (tw_counter_is_drop(i) && tw_control_counter(c, i))
            fprintf(out, "    %-22s %" PRIu64 "\n", tw_counter_name(i), tw_control_counter(c, i));
    /* received = parsed + dropped + merged: a datagram's fragments count once, as it */
    fprintf(out, "  fragments merged     %" PRIu64 "\n", tw_control_counter(c, TW_C_FRAGMENTS_MERGED));
    if (tw_control_counter(c, TW_C_FRAG_REASSEMBLED) || tw_control_counter(c, TW_C_FRAG_OVERLAP))
        fprintf(out, "  reassembled          %" PRIu64 " datagrams, overlaps %" PRIu64
                " (%" PRIu64 " with different bytes, first kept)\n",
                tw_control_counter(c, TW_C_FRAG_REASSEMBLED), tw_control_counter(c, TW_C_FRAG_OVERLAP),
                tw_control_counter(c, TW_C_FRAG_OVERLAP_DIFFERS));
    if (tw_control_counter(c, TW_C_REDIRECTED))
        fprintf(out, "  redirected           %" PRIu64 " (read by one worker, owned by another)\n",
                tw_control_counter(c, TW_C_REDIRECTED));
    struct tw_source_stats ss;
    tw_pipeline_source_stats(c->pipeline, &ss);
    fprintf(out, "  lost below us        imissed %" PRIu64 ", ierrors %" PRIu64 ", rx_nombuf %" PRIu64
            "\n", ss.imissed, ss.ierrors, ss.rx_nombuf);
    if (c->link.downs || c->link.ups || c->link.removals)
        fprintf(out, "  link                 down %" PRIu64 ", up %" PRIu64 ", removed %" PRIu64 "\n",
                c->link.downs, c->link.ups, c->link.removals);
    if (tw_pipeline_gaps_dropped(c->pipeline)) /* the silence rules missed these (time_gaps.h) */
        fprintf(out, "  time holes lost      %" PRIu64 " (not taken by the control loop in time)\n",
                tw_pipeline_gaps_dropped(c->pipeline));
    if (tw_control_counter(c, TW_C_TS_BACKWARDS))
        fprintf(out, "  timestamps backwards %" PRIu64 "\n", tw_control_counter(c, TW_C_TS_BACKWARDS));
    fprintf(out, "  flows                %" PRIu64 "\n", flows);
    fprintf(out, "  classified           %" PRIu64 " (%.1f%%), guessed %" PRIu64 " (%.1f%%), unknown %" PRIu64 "\n",
            classified, flows ? 100.0 * classified / flows : 0.0, guessed,
            flows ? 100.0 * guessed / flows : 0.0, unknown);
    fprintf(out, "  packets to nDPI      %" PRIu64 " (%.1f%% of parsed)\n",
            tw_control_counter(c, TW_C_DPI_PACKETS),
            parsed ? 100.0 * tw_control_counter(c, TW_C_DPI_PACKETS) / parsed : 0.0);
    fprintf(out, "  flows ended          idle %" PRIu64 ", tcp_close %" PRIu64 ", evicted %" PRIu64
            ", eof %" PRIu64 ", shutdown %" PRIu64 "\n",
            tw_control_counter(c, TW_C_FLOWS_END_IDLE), tw_control_counter(c, TW_C_FLOWS_END_TCP_CLOSE),
            tw_control_counter(c, TW_C_FLOWS_END_EVICTED), tw_control_counter(c, TW_C_FLOWS_END_EOF),
            tw_control_counter(c, TW_C_FLOWS_END_SHUTDOWN));
    fprintf(out, "  events               classified %" PRIu64 ", update %" PRIu64 ", end %" PRIu64
            ", lost %" PRIu64 "\n",
            c->events[TW_EVENT_CLASSIFIED], c->events[TW_EVENT_UPDATE], c->events[TW_EVENT_END],
            tw_control_counter(c, TW_C_EVENTS_RING_DROPPED));
    uint64_t gap = tw_control_counter(c, TW_C_TCP_GAP_BYTES);
    uint64_t acked = tw_control_counter(c, TW_C_TCP_ACKED_BYTES);
    uint64_t one_way = tw_control_counter(c, TW_C_TCP_FLOWS_ONE_WAY);
    uint64_t tcp_ended = tw_control_counter(c, TW_C_TCP_FLOWS_ENDED);
    fprintf(out, "  upstream loss        %.2f%% of acknowledged TCP bytes never seen (%" PRIu64
            " of %" PRIu64 "), TCP flows seen one way %" PRIu64 " of %" PRIu64 " (%.1f%%)\n",
            acked ? 100.0 * (double)gap / (double)acked : 0.0, gap, acked, one_way, tcp_ended,
            tcp_ended ? 100.0 * (double)one_way / (double)tcp_ended : 0.0);
    if (c->sinks)
        tw_sinks_stats(c->sinks, out, TW_TAKES_FLOWS | TW_TAKES_STATEMENT | TW_TAKES_SEALS);
    /* the flow-record store is the output that takes the counters */
    if (!tw_sinks_takes(c->sinks, TW_TAKES_COUNTERS))
        fprintf(out, "  redis                none (no store configured)\n");
    if (c->sinks) /* the drain at the end is not counted: it waits on Redis by design */
        fprintf(out, "  outputs              longest poll %.1f ms\n",
                (double)c->longest_outputs_ns / 1e6);
    fprintf(out, "  peak memory          %.1f MiB", (double)tw_peak_rss() / (1 << 20));
    if (c->memory_budget)
        fprintf(out, " (budget %.1f MiB)", (double)c->memory_budget / (1 << 20));
    fputc('\n', out);
    fprintf(out, "  wall time            %.3f s\n", secs);
    /* over the packet phase only: a drain waiting on an unreachable Redis is not packet work */
    double psecs = c->packets_end_ns ? (double)(c->packets_end_ns - c->start_ns) / 1e9 : secs;
    fprintf(out, "  packets/s            %.0f\n", psecs > 0 ? rx / psecs : 0.0);
}
