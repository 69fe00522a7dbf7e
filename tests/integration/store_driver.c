/* store_driver.c - puts flow records into Redis through the store, for the integration test
 * and to measure the store's throughput.
 *
 *   store_driver write URL SENSOR < records.jsonl   one record per line, as tw_record_to_json
 *                                                  prints it; exit 0 when all are written
 *   store_driver bench URL SENSOR N [BATCH]         N synthetic records (as many flows), prints
 *                                                  records/s on stdout
 *   store_driver down URL SENSOR                    a store whose Redis is unreachable: checks
 *                                                  that records wait and are counted
 * env: STORE_FORMAT 1 or 2 (redis.format, default 2); STORE_SPAN_S: bench's N records end
 * evenly over this many seconds (default: 100 k records a second), e.g. 86400 to fill a
 * day for the query benchmark; STORE_QUIET: redis.quiet_hour_postings (default the
 * configuration's, TW_CX_QUIET_POSTS).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/record/compact.h"
#include "control/record/record_json.h"
#include "control/store/redis_conn.h"
#include "control/store/store.h"

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void print_stats(struct tw_store *s, const char *what)
{
    struct tw_store_stats st;

    tw_store_get_stats(s, &st);
    fprintf(stderr,
            "store_driver %s: queued %" PRIu64 " written %" PRIu64 " pending %" PRIu64
            " dropped_full %" PRIu64 " reconnects %" PRIu64 " errors %" PRIu64 " connected %d\n",
            what, st.queued, st.written, st.pending, st.dropped_full, st.reconnects, st.errors,
            st.connected);
    if (st.wait_us || st.wait_resent)
        fprintf(stderr, "store_driver %s: waited for replicas %.1f ms (max %.1f ms), resent %"
                PRIu64 "\n", what, st.wait_us / 1000.0, st.wait_max_us / 1000.0, st.wait_resent);
}

/* Queues r with its JSON (encoded once here, as the control loop does), polling while the
 * buffer is full (Redis slow or down) for at most 30 s. */
static int put_waiting(struct tw_store *s, const struct tw_flow_record *r)
{
    uint64_t t0 = mono_ms();
    char json[4096];
    int n = tw_record_to_json(r, json, sizeof(json));

    if (n < 0) {
        fprintf(stderr, "store_driver: record too long to encode\n");
        return -1;
    }
    while (tw_store_put(s, r, json, (size_t)n) < 0) {
        if (tw_store_poll(s, mono_ms()) < 0) {
            struct timespec nap = {.tv_sec = 0, .tv_nsec = 10 * 1000000};
            nanosleep(&nap, NULL);
        }
        if (mono_ms() - t0 > 30000) {
            fprintf(stderr, "store_driver: buffer full for 30 s\n");
            return -1;
        }
    }
    return 0;
}

static int do_write(struct tw_store *s)
{
    char line[8192], err[256];
    struct tw_flow_record r;
    unsigned long lineno = 0;

    while (fgets(line, sizeof(line), stdin) != NULL) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '\0')
            continue;
        if (tw_record_from_json(line, &r, err, sizeof(err)) < 0) {
            fprintf(stderr, "store_driver: line %lu: %s\n", lineno, err);
            return 1;
        }
        if (put_waiting(s, &r) < 0)
            return 1;
        tw_store_poll(s, mono_ms());
    }
    if (tw_store_drain(s, 5000) != 0) {
        print_stats(s, "write");
        return 1;
    }
    return 0;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Record i of a realistic hour: 100 k flows/s ending in time order, lasting up to 2 min;
 * 20000 clients in 10.0.0.0/16 (a few hundred busy ones make a third of the flows), 2000
 * servers of which a few dozen take most flows, their port and app fixed per server, client
 * ports random in the Linux ephemeral range. */
static uint64_t step_us = 10; /* between two records' last_seen */

static void synth(struct tw_flow_record *r, uint64_t i)
{
    static const char *const apps[] = {"TLS.Google", "TLS", "DNS", "HTTP", "QUIC.YouTube",
                                       "SSH", "TLS.Microsoft", "Unknown", "NTP", "SMB"};
    static const uint16_t ports[] = {443, 443, 53, 80, 443, 22, 443, 8443, 123, 445};
    uint64_t h = mix(i), h2 = mix(h);
    uint32_t client = h % 3 == 0 ? (uint32_t)(h2 % 300) : (uint32_t)(h2 % 20000);
    uint64_t sx = (h >> 20) % 2000;
    uint32_t server = (uint32_t)(sx * sx / 2000); /* skewed towards the first servers */

    memset(r, 0, sizeof(*r));
    r->flow_id = 0x1000000000000000ULL + i;
    /* from 2026-03-02T09:30:00Z on: mid-hour, as most flows are. Starting on the hour made
     * every 2-minute flow span two hours and cost two index postings, which real traffic
     * pays only for the flows that cross an hour boundary. */
    r->last_seen_us = 1772443800000000ULL + i * step_us;
    r->first_seen_us = r->last_seen_us - (h >> 8) % 120000000;
    r->c2s_packets = 10 + h % 50;
    r->c2s_bytes = 1500 + h % 100000;
    r->s2c_packets = 12 + h2 % 80;
    r->s2c_bytes = 9000 + h2 % 1000000;
    r->ip_version = 4;
    r->ip_proto = server % 10 == 2 || server % 10 == 8 ? 17 : 6;
    r->src_ip[0] = 10;
    r->src_ip[1] = 0;
    r->src_ip[2] = (uint8_t)(client >> 8);
    r->src_ip[3] = (uint8_t)client;
    r->dst_ip[0] = server < 1000 ? 172 : 93;
    r->dst_ip[1] = (uint8_t)(16 + server % 7);
    r->dst_ip[2] = (uint8_t)(server >> 3);
    r->dst_ip[3] = (uint8_t)(server * 37);
    r->src_port = (uint16_t)(32768 + (h >> 40) % 28232);
    r->dst_port = ports[server % 10];
    r->event = TW_EVENT_END;
    r->end_reason = TW_END_IDLE;
    r->tls_version = 0x0303;
    snprintf(r->app, sizeof(r->app), "%s", apps[server % 10]);
    snprintf(r->category, sizeof(r->category), "Web");
    snprintf(r->server_name, sizeof(r->server_name), "www%u.example.com", server);
    snprintf(r->ja3c, sizeof(r->ja3c), "%032" PRIx64, (uint64_t)(mix(client) & 0xffffffffffULL));
}

static int do_bench(struct tw_store *s, uint64_t n)
{
    struct tw_flow_record r;
    uint64_t t0 = mono_ms(), t1;

    for (uint64_t i = 0; i < n; i++) {
        struct tw_store_stats st;
        synth(&r, i);
        /* wait for room rather than have puts refused (each refusal counts as a loss) */
        for (tw_store_get_stats(s, &st); st.pending >= 65536; tw_store_get_stats(s, &st)) {
            tw_store_wait(s, 1);
            tw_store_poll(s, mono_ms());
        }
        if (put_waiting(s, &r) < 0)
            return 1;
        if ((i & 63) == 0)
            tw_store_poll(s, mono_ms());
    }
    if (tw_store_drain(s, 60000) != 0)
        return 1;
    t1 = mono_ms();
    printf("%" PRIu64 " records in %.3f s: %.0f records/s\n", n, (double)(t1 - t0) / 1e3,
           (double)n * 1e3 / (double)(t1 - t0 ? t1 - t0 : 1));
    return 0;
}

/* Redis is unreachable: puts must still succeed up to the buffer, then be refused and
 * counted; drain must give up in time and report what is left. */
static int do_down(struct tw_store *s)
{
    struct tw_flow_record r;
    struct tw_store_stats st;
    uint64_t t0;
    int fails = 0;

    for (uint64_t i = 0; i < 20; i++) {
        synth(&r, i);
        if (tw_store_put(s, &r, NULL, 0) < 0) /* the store encodes it */
            fails++;
    }
    if (tw_store_poll(s, mono_ms()) != -1) {
        fprintf(stderr, "store_driver down: poll did not report Redis down\n");
        return 1;
    }
    t0 = mono_ms();
    uint64_t left = tw_store_drain(s, 300);
    tw_store_get_stats(s, &st);
    if (fails != 4 || st.dropped_full != 4 || st.queued != 16 || left != 16 || st.pending != 16 ||
        st.written != 0 || st.connected || mono_ms() - t0 > 2000) {
        print_stats(s, "down");
        fprintf(stderr, "store_driver down: fails %d left %" PRIu64 "\n", fails, left);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct tw_store_params p = {.w = {.batch = 512, .flush_ms = 100},
                                .hot_window_s = 7 * 86400, .buffer_records = 65536};
    struct tw_store *s;
    char err[256];
    int rc;

    if (argc < 4) {
        fprintf(stderr, "usage: store_driver write|bench|down URL SENSOR [N [BATCH]]\n");
        return 2;
    }
    p.w.url = argv[2];
    p.w.sensor = argv[3];
    if (strcmp(argv[1], "down") == 0) {
        p.buffer_records = 16;
        p.w.batch = 8;
    }
    if (strcmp(argv[1], "bench") == 0 && argc > 5)
        p.w.batch = (uint32_t)strtoul(argv[5], NULL, 10);
    /* STORE_DRIVER_WAIT_REPLICAS=N: redis.wait_replicas N (what WAIT costs, scripts/bench_wait.sh) */
    struct tw_redis_target *t = NULL;
    const char *wait = getenv("STORE_DRIVER_WAIT_REPLICAS");
    if (wait != NULL && wait[0]) {
        struct tw_redis_options o = {.tls_verify_host = 1,
                                     .wait_replicas = (unsigned)strtoul(wait, NULL, 10)};
        if ((t = tw_redis_target_open(p.w.url, &o, err, sizeof(err))) == NULL) {
            fprintf(stderr, "store_driver: %s\n", err);
            return 1;
        }
        p.w.target = t;
    }
    p.quiet_posts = getenv("STORE_QUIET") != NULL ? (uint32_t)strtoul(getenv("STORE_QUIET"), NULL, 10)
                                                  : TW_CX_QUIET_POSTS;
    if (getenv("STORE_FORMAT") != NULL)
        p.format = (uint32_t)strtoul(getenv("STORE_FORMAT"), NULL, 10);
    if (getenv("STORE_SPAN_S") != NULL && argc > 4 && strtoull(argv[4], NULL, 10) > 0)
        step_us = strtoull(getenv("STORE_SPAN_S"), NULL, 10) * 1000000 / strtoull(argv[4], NULL, 10);
    if ((s = tw_store_open(&p, err, sizeof(err))) == NULL) {
        fprintf(stderr, "store_driver: %s\n", err);
        return 1;
    }
    if (strcmp(argv[1], "write") == 0)
        rc = do_write(s);
    else if (strcmp(argv[1], "bench") == 0 && argc > 4)
        rc = do_bench(s, strtoull(argv[4], NULL, 10));
    else if (strcmp(argv[1], "down") == 0)
        rc = do_down(s);
    else {
        fprintf(stderr, "store_driver: unknown mode %s\n", argv[1]);
        rc = 2;
    }
    if (rc == 0 && strcmp(argv[1], "down") != 0)
        print_stats(s, argv[1]);
    tw_store_close(s);
    tw_redis_target_close(t);
    return rc;
}
