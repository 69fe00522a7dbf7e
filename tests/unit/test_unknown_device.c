/* test_unknown_device.c - the unknown_device rule (control/policy/unknown_device.c) from
 * hand-made flow records: an address inside monitored_networks that no equipment owns and that
 * sends alerts once per local day, with the client's MAC when the record has one and the flow
 * that showed it; equipment, addresses outside the segments and servers that never answer do
 * not; the memory is bounded (counted evictions) and survives a policy reload.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/plane/policy_hook.h"
#include "control/policy/device_days.h"
#include "control/policy/policy.h"
#include "control/record/alert.h"

#define ERR_LEN 512
#define T0 1772442000ULL /* 2026-03-02T09:00:00Z, a Monday */
#define DAY0 20514       /* its UTC day number */
#define SEC 1000000ULL
#define HOUR (3600ULL)

/* Segments 10.40.0.0/16 and 2001:db8:40::/48; equipment atm-01 (10.40.1.11) and srv-02
 * (10.40.2.0/24, also 2001:db8:40::2) inside them. */
static const char policy_text[] =
    "timezone: UTC\n"
    "monitored_networks: [10.40.0.0/16, \"2001:db8:40::/48\"]\n"
    "equipment:\n"
    "  - name: atm-01\n"
    "    addresses: [10.40.1.11]\n"
    "    declared: [{peer: 0.0.0.0/0}]\n"
    "  - name: srv-02\n"
    "    addresses: [10.40.2.0/24, \"2001:db8:40::2\"]\n"
    "    declared: [{peer: 0.0.0.0/0}, {peer: \"::/0\"}]\n";

static const uint8_t MAC[6] = {0x02, 0x42, 0xac, 0x11, 0x00, 0x07};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static struct tw_policy *load_text(const char *text)
{
    char path[] = "/tmp/tw-unknown-device.XXXXXX", err[ERR_LEN];
    int fd = mkstemp(path);
    struct tw_policy *p;

    assert_true(fd >= 0);
    close(fd);
    write_file(path, text);
    p = tw_policy_load(path, err, sizeof(err));
    if (p == NULL)
        fail_msg("policy should load: %s", err);
    unlink(path);
    return p;
}

static void set_ip(uint8_t out[16], const char *text)
{
    memset(out, 0, 16);
    if (inet_pton(AF_INET, text, out) != 1)
        assert_int_equal(inet_pton(AF_INET6, text, out), 1);
}

/* A classified TLS flow src:51000 -> dst:443 at T0 + at_s, both ways, the client's MAC set. */
static struct tw_flow_record rec(uint64_t id, const char *src, const char *dst, uint64_t at_s)
{
    struct tw_flow_record r;

    memset(&r, 0, sizeof(r));
    r.flow_id = id;
    r.ip_version = strchr(src, ':') ? 6 : 4;
    set_ip(r.src_ip, src);
    set_ip(r.dst_ip, dst);
    r.ip_proto = 6;
    r.src_port = 51000;
    r.dst_port = 443;
    r.first_seen_us = r.last_seen_us = (T0 + at_s) * SEC;
    r.c2s_packets = 5;
    r.c2s_bytes = 600;
    r.s2c_packets = 5;
    r.s2c_bytes = 900;
    r.event = TW_EVENT_CLASSIFIED;
    r.detection_done = 1;
    r.app_proto = 91;
    snprintf(r.app, sizeof(r.app), "TLS");
    memcpy(r.src_mac, MAC, 6);
    r.has_src_mac = 1;
    return r;
}

struct got {
    int n;
    struct tw_alert a[16];
};

static void collect(void *ctx, const struct tw_alert *a)
{
    struct got *g = ctx;
    if (g->n < 16)
        g->a[g->n] = *a;
    g->n++;
}

/* Evaluates r with state st; returns the unknown_device alerts (and checks the count the
 * evaluation returns is every alert it emitted). */
static struct got eval(const struct tw_policy *p, struct tw_policy_state *st,
                       const struct tw_flow_record *r)
{
    struct got all = {0}, g = {0};
    int n = tw_policy_evaluate(p, st, r, collect, &all);

    assert_int_equal(n, all.n);
    for (int i = 0; i < all.n && i < 16; i++)
        if (all.a[i].kind == TW_ALERT_UNKNOWN_DEVICE)
            g.a[g.n++] = all.a[i];
    return g;
}

static void assert_addr(const uint8_t *a, const char *text)
{
    uint8_t want[16];
    set_ip(want, text);
    assert_memory_equal(a, want, 16);
}

/* An undeclared client inside a segment: one alert, no flow (flow_id 0, empty flow fields),
 * its address, MAC, local day and first flow. */
static void test_inside_alerts(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(policy_text);
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_flow_record r = rec(7, "10.40.9.7", "203.0.113.5", 30);

    struct got g = eval(p, st, &r);
    assert_int_equal(g.n, 1);
    const struct tw_alert *a = &g.a[0];
    assert_int_equal(a->kind, TW_ALERT_UNKNOWN_DEVICE);
    assert_int_equal(a->severity, TW_SEV_HIGH);
    assert_int_equal(a->flow_id, 0);
    assert_int_equal(a->record_hour, TW_HOUR_UNKNOWN);
    assert_int_equal(a->ts_us, (T0 + 30) * SEC);
    assert_int_equal(a->ip_version, 4);
    assert_addr(a->src_ip, "10.40.9.7");
    static const uint8_t zero[16];
    assert_memory_equal(a->dst_ip, zero, 16);
    assert_int_equal(a->src_port, 0);
    assert_int_equal(a->dst_port, 0);
    assert_int_equal(a->ip_proto, 0);
    assert_string_equal(a->equipment, "");
    assert_string_equal(a->app, "");
    assert_int_equal(a->has_mac, 1);
    assert_memory_equal(a->src_mac, MAC, 6);
    assert_int_equal(a->guard_period, DAY0);
    assert_string_equal(a->detail, "not in the equipment inventory; first flow: 10.40.9.7:51000 "
                                   "-> 203.0.113.5:443 TCP TLS");
    assert_string_equal(tw_alert_rule_id(a->kind), "TW-R09");
    assert_true(tw_alert_kind_flowless(a->kind));

    /* the count of rules in force includes it */
    struct tw_policy *q = load_text("equipment:\n  - {name: a, addresses: [10.1.1.1]}\n");
    assert_int_equal(tw_policy_rule_count(p), tw_policy_rule_count(q) + 1);
    tw_policy_free(q);
    struct tw_policy_state_stats ss;
    tw_policy_state_get_stats(st, &ss);
    assert_int_equal(ss.alerts, 1);
    assert_int_equal(ss.devices, 1);
    tw_policy_state_free(st);
    tw_policy_free(p);
}

/* Equipment (either end, one address or a range), addresses outside the segments: none. */
static void test_not_unknown(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(policy_text);
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_flow_record r;

    r = rec(1, "10.40.1.11", "203.0.113.5", 0); /* atm-01 */
    assert_int_equal(eval(p, st, &r).n, 0);
    r = rec(2, "10.40.2.77", "10.40.1.11", 0); /* srv-02's range to atm-01 */
    assert_int_equal(eval(p, st, &r).n, 0);
    r = rec(3, "2001:db8:40::2", "2001:db8:99::1", 0); /* srv-02, IPv6 */
    assert_int_equal(eval(p, st, &r).n, 0);
    r = rec(4, "10.41.0.5", "203.0.113.5", 0); /* just outside 10.40.0.0/16 */
    assert_int_equal(eval(p, st, &r).n, 0);
    r = rec(5, "203.0.113.5", "10.39.255.255", 0); /* outside, answered */
    assert_int_equal(eval(p, st, &r).n, 0);
    r = rec(6, "2001:db8:41::9", "2001:db8:99::1", 0); /* outside the IPv6 segment */
    assert_int_equal(eval(p, st, &r).n, 0);

    /* without monitored_networks the rule is off; disabled, it is off too */
    struct tw_policy *q = load_text("equipment:\n  - {name: a, addresses: [10.1.1.1]}\n");
    r = rec(7, "10.40.9.7", "203.0.113.5", 0);
    assert_int_equal(eval(q, st, &r).n, 0);
    tw_policy_free(q);
    q = load_text("monitored_networks: []\nequipment:\n  - {name: a, addresses: [10.1.1.1]}\n");
    assert_int_equal(eval(q, st, &r).n, 0);
    tw_policy_free(q);
    char text[sizeof(policy_text) + 64];
    snprintf(text, sizeof(text), "%srules:\n  unknown_device: {enabled: false}\n", policy_text);
    q = load_text(text);
    assert_int_equal(eval(q, st, &r).n, 0);
    tw_policy_free(q);
    /* ... and it was not remembered meanwhile: the policy that has the rule alerts */
    assert_int_equal(eval(p, st, &r).n, 1);
    tw_policy_state_free(st);
    tw_policy_free(p);
}

/* Once a local day: the same device again (another flow, another event of the flow) is
 * quiet; the next day alerts again; a late event of the day before does not. The day is the
 * policy's: with +08:00, 15:59 and 16:00 UTC are two days. */
static void test_once_a_day(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(policy_text);
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_flow_record r = rec(1, "10.40.9.7", "203.0.113.5", 0);

    assert_int_equal(eval(p, st, &r).n, 1);
    r.event = TW_EVENT_END;
    assert_int_equal(eval(p, st, &r).n, 0);
    r = rec(2, "10.40.9.7", "198.51.100.1", 10 * HOUR);
    assert_int_equal(eval(p, st, &r).n, 0);
    r = rec(3, "198.51.100.1", "10.40.9.7", 14 * HOUR); /* as a server that answers */
    assert_int_equal(eval(p, st, &r).n, 0);
    r = rec(4, "10.40.9.7", "198.51.100.1", 15 * HOUR); /* 2026-03-03 00:00 UTC */
    struct got g = eval(p, st, &r);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].guard_period, DAY0 + 1);
    r = rec(5, "10.40.9.7", "198.51.100.1", 14 * HOUR); /* late, from the day before */
    assert_int_equal(eval(p, st, &r).n, 0);
    tw_policy_state_free(st);
    tw_policy_free(p);

    char text[sizeof(policy_text) + 64];
    snprintf(text, sizeof(text), "timezone: \"+08:00\"\n%s",
             policy_text + strlen("timezone: UTC\n"));
    p = load_text(text);
    st = tw_policy_state_new(1024);
    r = rec(6, "10.40.9.8", "203.0.113.5", 7 * HOUR - 60); /* 15:59 UTC = 23:59 local */
    g = eval(p, st, &r);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].guard_period, DAY0);
    r = rec(7, "10.40.9.8", "203.0.113.5", 7 * HOUR); /* 16:00 UTC = 00:00 local, next day */
    g = eval(p, st, &r);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].guard_period, DAY0 + 1);
    tw_policy_state_free(st);
    tw_policy_free(p);
}

/* A server sends only when it answers: a probe nobody answers shows no device; the answer
 * does, without a MAC (the record's MAC is the client's) and naming the flow it answered. */
static void test_server_answers(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(policy_text);
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_flow_record r = rec(1, "198.51.100.9", "10.40.9.8", 0);

    r.dst_port = 22;
    snprintf(r.app, sizeof(r.app), "SSH");
    r.s2c_packets = 0;
    r.s2c_bytes = 0;
    assert_int_equal(eval(p, st, &r).n, 0);
    r.event = TW_EVENT_END;
    assert_int_equal(eval(p, st, &r).n, 0);
    r.flow_id = 2;
    r.event = TW_EVENT_CLASSIFIED;
    r.s2c_packets = 1;
    struct got g = eval(p, st, &r);
    assert_int_equal(g.n, 1);
    assert_addr(g.a[0].src_ip, "10.40.9.8");
    assert_int_equal(g.a[0].has_mac, 0);
    static const uint8_t zero[6];
    assert_memory_equal(g.a[0].src_mac, zero, 6);
    assert_string_equal(g.a[0].detail, "not in the equipment inventory; first flow: "
                                       "198.51.100.9:51000 -> 10.40.9.8:22 TCP SSH");
    tw_policy_state_free(st);
    tw_policy_free(p);
}

/* MAC present and absent; two unknown devices in one flow both alert (the client with its
 * MAC); IPv6 and ICMP write their ends as such; an unknown device reaching equipment alerts
 * besides the equipment rules. */
static void test_mac_and_ends(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(policy_text);
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_flow_record r = rec(1, "10.40.9.10", "203.0.113.5", 0);
    struct got g;

    r.has_src_mac = 0;
    memset(r.src_mac, 0, 6);
    g = eval(p, st, &r);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].has_mac, 0);

    r = rec(2, "10.40.9.11", "10.40.9.12", 0);
    g = eval(p, st, &r);
    assert_int_equal(g.n, 2);
    assert_addr(g.a[0].src_ip, "10.40.9.11");
    assert_int_equal(g.a[0].has_mac, 1);
    assert_memory_equal(g.a[0].src_mac, MAC, 6);
    assert_addr(g.a[1].src_ip, "10.40.9.12");
    assert_int_equal(g.a[1].has_mac, 0);

    r = rec(3, "2001:db8:40::77", "2001:db8:99::1", 0);
    g = eval(p, st, &r);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].ip_version, 6);
    assert_addr(g.a[0].src_ip, "2001:db8:40::77");
    assert_string_equal(g.a[0].detail, "not in the equipment inventory; first flow: "
                                       "[2001:db8:40::77]:51000 -> [2001:db8:99::1]:443 TCP TLS");

    r = rec(4, "10.40.9.13", "203.0.113.9", 0);
    r.ip_proto = 1;
    r.src_port = r.dst_port = 0;
    r.app[0] = '\0';
    g = eval(p, st, &r);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.a[0].detail, "not in the equipment inventory; first flow: "
                                       "10.40.9.13 -> 203.0.113.9 ICMP Unknown");

    /* to srv-02 (it declares everything): unknown_device only; the evaluation counts it */
    r = rec(5, "10.40.9.14", "10.40.2.1", 0);
    struct got all = {0};
    assert_int_equal(tw_policy_evaluate(p, st, &r, collect, &all), 1);
    assert_int_equal(all.n, 1);
    assert_int_equal(all.a[0].kind, TW_ALERT_UNKNOWN_DEVICE);
    /* ... and to atm-01 with a remote-access app: both rules speak */
    r = rec(6, "10.40.9.15", "10.40.1.11", 0);
    r.dst_port = 22;
    snprintf(r.app, sizeof(r.app), "SSH");
    snprintf(r.category, sizeof(r.category), "RemoteAccess");
    memset(&all, 0, sizeof(all));
    assert_int_equal(tw_policy_evaluate(p, st, &r, collect, &all), 2);
    assert_int_equal(all.a[0].kind, TW_ALERT_UNKNOWN_DEVICE);
    assert_int_equal(all.a[1].kind, TW_ALERT_REMOTE_ACCESS_UNAPPROVED_HOST);

    /* wire text in the app name stays printable in the detail */
    r = rec(7, "10.40.9.16", "203.0.113.5", 0);
    snprintf(r.app, sizeof(r.app), "TLS\n\x1b[31m");
    g = eval(p, st, &r);
    assert_int_equal(g.n, 1);
    for (const char *c = g.a[0].detail; *c; c++)
        assert_true(*c >= 0x20 && *c < 0x7f);
    tw_policy_state_free(st);
    tw_policy_free(p);
}

/* The memory survives a reload (the state is the hook's, not the policy's). */
static void test_reload_remembers(void **state)
{
    (void)state;
    char path[] = "/tmp/tw-unknown-reload.XXXXXX", err[ERR_LEN];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, policy_text);
    struct tw_policy_hook_params hp = {.policy_path = path, .flows_max = 1024};
    struct tw_policy_hook *h = tw_policy_hook_open(&hp, err, sizeof(err));
    if (h == NULL)
        fail_msg("hook: %s", err);
    struct tw_flow_record r = rec(1, "10.40.9.7", "203.0.113.5", 0);
    struct tw_policy_hook_stats hs;

    tw_policy_hook_event(h, &r);
    tw_policy_hook_get_stats(h, &hs);
    assert_int_equal(hs.by_kind[TW_ALERT_UNKNOWN_DEVICE], 1);
    assert_int_equal(tw_policy_hook_reload(h, err, sizeof(err)), 0);
    r.flow_id = 2;
    tw_policy_hook_event(h, &r);
    tw_policy_hook_get_stats(h, &hs);
    assert_int_equal(hs.by_kind[TW_ALERT_UNKNOWN_DEVICE], 1);
    r = rec(3, "10.40.9.7", "203.0.113.5", 24 * HOUR);
    tw_policy_hook_event(h, &r);
    tw_policy_hook_get_stats(h, &hs);
    assert_int_equal(hs.by_kind[TW_ALERT_UNKNOWN_DEVICE], 2);
    assert_int_equal(hs.devices, 1);
    assert_int_equal(hs.devices_evicted, 0);
    tw_policy_hook_close(h);
    unlink(path);
}

/* Bounded: more addresses than the table holds are counted as evicted, the table never holds
 * more than its slots, and an address still remembered stays quiet. */
static void test_memory_bounded(void **state)
{
    (void)state;
    struct tw_device_days *d = tw_device_days_new();
    struct tw_device_days_stats ds;
    uint8_t a[16] = {0};
    const unsigned n = TW_DEVICE_DAYS_SLOTS + TW_DEVICE_DAYS_SLOTS / 4;

    assert_non_null(d);
    for (unsigned i = 0; i < n; i++) {
        a[0] = 10;
        a[1] = (uint8_t)(i >> 16);
        a[2] = (uint8_t)(i >> 8);
        a[3] = (uint8_t)i;
        assert_int_equal(tw_device_days_mark(d, a, 1, DAY0), 1);
    }
    tw_device_days_get_stats(d, &ds);
    assert_true(ds.tracked <= TW_DEVICE_DAYS_SLOTS);
    assert_true(ds.evicted >= n - TW_DEVICE_DAYS_SLOTS);
    assert_int_equal(ds.tracked + ds.evicted, n);
    /* the last address is the most recent in its bucket: remembered */
    assert_int_equal(tw_device_days_mark(d, a, 1, DAY0), 0);
    /* the same bytes as IPv6 are another address */
    assert_int_equal(tw_device_days_mark(d, a, 0, DAY0), 1);
    assert_int_equal(tw_device_days_mark(d, a, 1, DAY0 + 1), 1);
    tw_device_days_free(d);

    /* through the policy state: the counters are there too */
    struct tw_policy *p = load_text(policy_text);
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_policy_state_stats ss;
    for (unsigned i = 0; i < 3; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.40.100.%u", i);
        struct tw_flow_record r = rec(i + 1, ip, "203.0.113.5", 0);
        assert_int_equal(eval(p, st, &r).n, 1);
    }
    tw_policy_state_get_stats(st, &ss);
    assert_int_equal(ss.devices, 3);
    assert_int_equal(ss.devices_evicted, 0);
    tw_policy_state_free(st);
    tw_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inside_alerts),    cmocka_unit_test(test_not_unknown),
        cmocka_unit_test(test_once_a_day),       cmocka_unit_test(test_server_answers),
        cmocka_unit_test(test_mac_and_ends),     cmocka_unit_test(test_reload_remembers),
        cmocka_unit_test(test_memory_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
