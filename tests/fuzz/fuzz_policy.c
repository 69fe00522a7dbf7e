/* fuzz_policy.c - libFuzzer target: tw_policy_load (the monitoring rules, YAML) on any bytes.
 *
 * The input is written to a memfd and loaded by path, as `tapwatch` loads `policy:`. Beyond
 * "no crash, no leak, no sanitizer report":
 *   - a refusal is one non-empty line naming the file;
 *   - a policy that loads is evaluated on a few fixed flow events (IPv4 and IPv6, each event
 *     kind, remote-access and unknown apps, big uploads), so what the loader built is walked;
 *     it has a SHA-256 and is explained (--explain) for an equipment-side and a peer address.
 *     the same events feed the silence rules (silence.h: expect_traffic windows, silent_after,
 *     mirror_silent_after), whose clock then runs over a week of packet time, with a hole.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "control/policy/policy.h"
#include "control/policy/silence.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count_alert(void *ctx, const struct tw_alert *a)
{
    (void)a;
    (*(unsigned *)ctx)++;
}

/* A flow record between a and b (IPv4 10.0.0.x or IPv6 2001:db8::x). */
static void record(struct tw_flow_record *r, int v6, uint8_t a, uint8_t b, const char *app,
                   const char *category, uint8_t event, uint64_t flow_id)
{
    memset(r, 0, sizeof(*r));
    r->flow_id = flow_id;
    r->first_seen_us = 1772442000000000ull + flow_id * 3600000000ull; /* hours apart */
    r->last_seen_us = r->first_seen_us + 5000000;
    r->c2s_packets = r->s2c_packets = 10;
    r->c2s_bytes = flow_id * 1000000000ull;
    r->s2c_bytes = 1000;
    r->risks = flow_id & 1 ? (1ull << 2) | (1ull << 17) : 0;
    r->ip_version = v6 ? 6 : 4;
    r->ip_proto = 6;
    if (v6) {
        static const uint8_t pre[] = {0x20, 0x01, 0x0d, 0xb8};
        memcpy(r->src_ip, pre, 4);
        memcpy(r->dst_ip, pre, 4);
        r->src_ip[15] = a;
        r->dst_ip[15] = b;
    } else {
        r->src_ip[0] = r->dst_ip[0] = 10;
        r->src_ip[3] = a;
        r->dst_ip[3] = b;
    }
    r->src_port = 40000;
    r->dst_port = 22;
    r->event = event;
    r->end_reason = event == TW_EVENT_END ? TW_END_IDLE : TW_END_NONE;
    r->detection_done = 1;
    snprintf(r->app, sizeof(r->app), "%s", app);
    snprintf(r->category, sizeof(r->category), "%s", category);
    snprintf(r->server_name, sizeof(r->server_name), "host.example.com");
    r->has_src_mac = a & 1; /* unknown_device copies the client's MAC when there is one */
    r->src_mac[5] = a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    unsigned alerts = 0;

    const char *path = fuzz_file(data, size);
    if (path == NULL)
        abort();
    struct tw_policy *p = tw_policy_load(path, err, sizeof(err));
    if (p == NULL) {
        if (strncmp(err, path, strlen(path)) != 0 || strchr(err, '\n') != NULL)
            abort(); /* one line, naming the file */
        return 0;
    }
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_silence *si = tw_silence_new();
    if (st == NULL || si == NULL || tw_silence_bind(si, p) != 0)
        abort();
    static const char *const apps[][2] = {
        {"SSH", "RemoteAccess"}, {"Unknown", "Unspecified"}, {"TLS.Google", "Web"}, {"RDP", "RemoteAccess"},
    };
    static const uint8_t events[] = {TW_EVENT_CLASSIFIED, TW_EVENT_UPDATE, TW_EVENT_END};
    struct tw_flow_record r;
    uint64_t id = 1;
    for (int v6 = 0; v6 < 2; v6++)
        for (unsigned a = 0; a < 4; a++)
            for (unsigned e = 0; e < 3; e++, id++) {
                record(&r, v6, (uint8_t)(1 + a), (uint8_t)(200 + a), apps[a][0], apps[a][1],
                       events[e], id);
                tw_policy_evaluate(p, st, &r, count_alert, &alerts);
                record(&r, v6, (uint8_t)(200 + a), (uint8_t)(1 + a), apps[a][0], apps[a][1],
                       events[e], id + 100);
                tw_policy_evaluate(p, st, &r, count_alert, &alerts);
                tw_silence_activity(si, &r);
            }
    /* a week of packet time in 7-minute steps, then the end of the input */
    struct tw_silence_clock clk = {.start_us = 1772442000000000ull, .replay = 1,
                                   .report_lag_us = 420000000ull};
    for (uint64_t t = 0; t <= 7 * 86400; t += 420) {
        clk.now_us = clk.start_us + t * 1000000ull;
        clk.final = t + 420 > 7 * 86400;
        tw_silence_tick(si, &clk, count_alert, &alerts);
    }
    tw_silence_gap(si, clk.start_us, clk.start_us + 300000000ull, count_alert, &alerts);
    (void)tw_policy_equipment_of(p, r.src_ip, 0);
    /* --explain walks every list the loader built: an equipment end and a peer, v4 and v6 */
    static FILE *devnull;
    if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
        abort();
    if (strlen(tw_policy_sha256(p)) != 64)
        abort();
    for (int v6 = 0; v6 < 2; v6++) {
        record(&r, v6, 1, 200, "SSH", "RemoteAccess", TW_EVENT_END, 1);
        tw_policy_explain(p, r.src_ip, !v6, "CN, AS 4134", devnull);
        tw_policy_explain(p, r.dst_ip, !v6, NULL, devnull);
    }
    tw_silence_free(si);
    tw_policy_state_free(st);
    tw_policy_free(p);
    return 0;
}
