/* control_loop.c - the main lcore's loop (see control_loop.h). */
#include "dataplane/clock.h"
#include "control/plane/control_loop.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "control/plane/budget.h"
#include "control/record/record_json.h"

#define DEQUEUE_BURST 64
#define COUNTERS_PERIOD_NS 1000000000ull

uint64_t tw_control_counter(const struct tw_control *c, unsigned i)
{
    uint64_t sum = 0;
    for (unsigned w = 0; w < c->nb_workers; w++)
        sum += c->workers[w].counters.v[i];
    return sum;
}

static void handle(struct tw_control *c, const struct tw_flow_record *r)
{
    char line[4096]; /* the worst case of tw_record_to_json is 3049 (test_record_json) */
    int to_store = c->store && r->event != TW_EVENT_CLASSIFIED;
    int n = 0;

    if (r->event < 4)
        c->events[r->event]++;
    if (c->hook)
        c->hook(c->hook_ctx, r);
    /* encoded once, for both outputs that want it */
    if ((r->event == TW_EVENT_END && c->jsonl) || to_store)
        n = tw_record_to_json(r, line, sizeof(line) - 1);
    if (r->event == TW_EVENT_END && c->jsonl) {
        if (n > 0) {
            line[n] = '\n';
            if (fwrite(line, 1, (size_t)n + 1, c->jsonl) == (size_t)n + 1)
                c->jsonl_records++;
            else
                c->jsonl_errors++;
        } else {
            c->jsonl_errors++;
        }
    }
    if (to_store && tw_store_put(c->store, r, n > 0 ? line : NULL, n > 0 ? (size_t)n : 0) != 0)
        c->store_refused++;
}

unsigned tw_control_poll(struct tw_control *c)
{
    struct tw_flow_record recs[DEQUEUE_BURST];
    unsigned total = 0;

    for (unsigned w = 0; w < c->nb_workers; w++) {
        unsigned n;
        do {
            n = rte_ring_sc_dequeue_burst_elem(c->workers[w].events, recs, sizeof(recs[0]),
                                               DEQUEUE_BURST, NULL);
            for (unsigned i = 0; i < n; i++)
                handle(c, &recs[i]);
            total += n;
        } while (n == DEQUEUE_BURST);
    }
    return total;
}

static uint64_t drops(const struct tw_control *c)
{
    uint64_t d = 0;
    for (unsigned i = 0; i < TW_C__COUNT; i++)
        if (tw_counter_is_drop(i))
            d += tw_control_counter(c, i);
    return d;
}

static void live_stats(struct tw_control *c, uint64_t now)
{
    uint64_t packets = tw_control_counter(c, TW_C_RECEIVED);
    double secs = (double)(now - c->last_stats_ns) / 1e9;
    double pps = secs > 0 ? (double)(packets - c->last_stats_packets) / secs : 0;
    unsigned ring_used = 0, ring_size = 0;
    uint64_t active = 0;

    for (unsigned w = 0; w < c->nb_workers; w++) {
        ring_used += rte_ring_count(c->workers[w].events);
        ring_size += rte_ring_get_capacity(c->workers[w].events);
        active += c->workers[w].active_flows;
    }
    fprintf(stderr,
            "tapwatch: %.0fs packets %" PRIu64 " (%.0f/s) dropped %" PRIu64 " flows %" PRIu64
            " active %" PRIu64 " ring %.0f%%",
            (double)(now - c->start_ns) / 1e9, packets, pps, drops(c),
            tw_control_counter(c, TW_C_FLOWS_CREATED), active,
            ring_size ? 100.0 * ring_used / ring_size : 0.0);
    if (c->store) {
        struct tw_store_stats st;
        tw_store_get_stats(c->store, &st);
        fprintf(stderr, " redis %s written %" PRIu64 " pending %" PRIu64 " dropped %" PRIu64,
                st.connected ? "up" : "DOWN", st.written, st.pending, st.dropped_full);
    }
    fputc('\n', stderr);
    c->last_stats_ns = now;
    c->last_stats_packets = packets;
}

static void put_counters(struct tw_control *c)
{
    const char *names[TW_C__COUNT];
    uint64_t values[TW_C__COUNT];

    for (unsigned i = 0; i < TW_C__COUNT; i++) {
        names[i] = tw_counter_name(i);
        values[i] = tw_control_counter(c, i);
    }
    tw_store_put_counters(c->store, names, values, TW_C__COUNT);
}

static int all_done(const struct tw_control *c)
{
    for (unsigned w = 0; w < c->nb_workers; w++)
        if (!c->workers[w].done)
            return 0;
    return 1;
}

void tw_control_run(struct tw_control *c, volatile int *stop, uint64_t drain_ms)
{
    (void)stop; /* workers watch it; we run until they have flushed */

    c->start_ns = c->last_stats_ns = c->last_counters_ns = tw_mono_ns();
    for (;;) {
        int done = all_done(c); /* read before polling, so nothing enqueued after is missed */
        unsigned n = tw_control_poll(c);
        uint64_t now = tw_mono_ns();

        if (c->store) {
            tw_store_poll(c->store, now / 1000000u);
            if (now - c->last_counters_ns >= COUNTERS_PERIOD_NS) {
                put_counters(c);
                c->last_counters_ns = now;
            }
        }
        if (c->stats_interval_s && !c->quiet &&
            now - c->last_stats_ns >= (uint64_t)c->stats_interval_s * 1000000000ull)
            live_stats(c, now);
        if (c->tick)
            c->tick(c->tick_ctx);
        if (done && n == 0)
            break;
        /* Idle: sleep 1 ms, a few hundred events at full rate against a ring of thousands.
         * Shorter naps that grew with idleness (50 us steps) woke this thread so often that
         * the worker on the other CPU lost 5% (main job of make bench, same-run pairs). */
        if (n == 0)
            usleep(1000);
    }
    c->packets_end_ns = tw_mono_ns();
    if (c->jsonl)
        fflush(c->jsonl);
    if (c->store) {
        put_counters(c);
        if (tw_store_drain(c->store, drain_ms) > 0)
            tw_store_persist(c->store); /* Redis still down: keep them for the next start */
    }
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
    if (c->jsonl)
        fprintf(out, "  flows-jsonl          %" PRIu64 " records%s\n", c->jsonl_records,
                c->jsonl_errors ? " (WRITE ERRORS)" : "");
    if (c->store) {
        struct tw_store_stats st;
        tw_store_get_stats(c->store, &st);
        fprintf(out, "  redis                written %" PRIu64 ", not written %" PRIu64
                ", dropped (buffer full) %" PRIu64 ", reconnects %" PRIu64 "\n",
                st.written, st.pending, st.dropped_full, st.reconnects);
        fprintf(out, "  redis spool          spooled %" PRIu64 ", in spool file %" PRIu64
                ", gaps %" PRIu64 ", refused %" PRIu64 ", recovered %" PRIu64 "\n",
                st.spooled, st.spool_pending + st.persisted, st.gaps, st.refused, st.recovered);
    } else {
        fprintf(out, "  redis                none (no store configured)\n");
    }
    fprintf(out, "  peak memory          %.1f MiB", (double)tw_peak_rss() / (1 << 20));
    if (c->memory_budget)
        fprintf(out, " (budget %.1f MiB)", (double)c->memory_budget / (1 << 20));
    fputc('\n', out);
    fprintf(out, "  wall time            %.3f s\n", secs);
    /* over the packet phase only: a drain waiting on an unreachable Redis is not packet work */
    double psecs = c->packets_end_ns ? (double)(c->packets_end_ns - c->start_ns) / 1e9 : secs;
    fprintf(out, "  packets/s            %.0f\n", psecs > 0 ? rx / psecs : 0.0);
}
