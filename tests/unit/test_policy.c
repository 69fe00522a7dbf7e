/* test_policy.c - the policy: loader (every broken fixture in tests/fixtures/policy/ and the
 * example config/policy.yaml), windows, CIDRs, server-name wildcards, timezones, each rule's
 * decision from hand-made flow records (a case that fires and one that must not), one alert
 * per flow per kind, the daily upload total across its limit, the alert JSON, the Redis key
 * names of the write guards and the alert time index, and a reload that keeps the old policy
 * when the new file is broken.
 *
 * Each broken fixture states its error on its first line, "# expect: MESSAGE"; MESSAGE starts
 * with the file's name, the test puts the fixture folder in front (the path as given).
 * Run from the repository root, or set TW_POLICY_FIXTURES and TW_EXAMPLE_POLICY.
 */
#include <arpa/inet.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <ndpi/ndpi_typedefs.h>

#include "control/record/alert.h"
#include "control/policy/daily_totals.h"
#include "control/store/alert_writer.h"
#include "control/policy/policy.h"
#include "control/plane/policy_hook.h"
#include "control/record/keys.h"

#define ERR_LEN 512
#define T0 1772442000ULL /* 2026-03-02T09:00:00Z, a Monday */
#define SEC 1000000ULL

static const char *fixture_dir(void)
{
    const char *d = getenv("TW_POLICY_FIXTURES");
    return d && *d ? d : "tests/fixtures/policy";
}

/* A policy for the rule tests: one ATM with declared destinations, a server reached by
 * maintenance, a window Monday 10:00-12:00 and daily 22:00-02:00 (UTC), small limits. */
static const char test_policy[] =
    "timezone: UTC\n"
    "domestic_networks: [10.0.0.0/8, \"2001:db8::/32\"]\n"
    "equipment:\n"
    "  - name: atm-ctrl-01\n"
    "    vendor: Vendor A\n"
    "    addresses: [10.40.1.11, \"2001:db8:40::11\"]\n"
    "    declared:\n"
    "      - {peer: 10.40.0.53, proto: udp, port: 53}\n"
    "      - {peer: 203.0.113.0/24, proto: tcp, port: 443}\n"
    "      - {server_name: \"*.vendor-a.example\", app: TLS}\n"
    "      - {peer: \"2001:db8:50::/48\", proto: tcp}\n"
    "  - name: srv-02\n"
    "    addresses: [10.40.2.0/24]\n"
    "maintenance:\n"
    "  hosts: [10.40.9.5]\n"
    "  protocols: [SSH]\n"
    "  windows: [\"mon 10:00-12:00\", \"daily 22:00-02:00\"]\n"
    "limits:\n"
    "  upload_bytes_per_flow: 5000\n"
    "  upload_bytes_per_day: 10000\n"
    "rules:\n"
    "  unclassified_channel: {severity: low}\n"
    "  risky_flow: {severity: critical, risks: [\"Self-signed Certificate\"]}\n";

/* The same without undeclared_destination, for the rules that would otherwise meet it on
 * srv-02 (it declares nothing). */
static char *quiet_policy(void)
{
    static char buf[sizeof(test_policy) + 64];
    snprintf(buf, sizeof(buf), "%s  undeclared_destination: {enabled: false}\n", test_policy);
    return buf;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static struct tw_policy *load_text(const char *text)
{
    char path[] = "/tmp/tw-policy-test.XXXXXX", err[ERR_LEN];
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

/* ---- records ---- */

static void set_ip(uint8_t out[16], const char *text)
{
    memset(out, 0, 16);
    if (inet_pton(AF_INET, text, out) != 1)
        assert_int_equal(inet_pton(AF_INET6, text, out), 1);
}

/* A classified TCP/UDP flow src -> dst:port at T0 + at_s. */
static struct tw_flow_record rec(uint64_t id, const char *src, const char *dst, uint8_t proto,
                                 uint16_t dport, const char *app, const char *sni,
                                 uint64_t at_s)
{
    struct tw_flow_record r;

    memset(&r, 0, sizeof(r));
    r.flow_id = id;
    r.ip_version = strchr(src, ':') ? 6 : 4;
    set_ip(r.src_ip, src);
    set_ip(r.dst_ip, dst);
    r.ip_proto = proto;
    r.src_port = 50000;
    r.dst_port = dport;
    r.first_seen_us = r.last_seen_us = (T0 + at_s) * SEC;
    r.c2s_packets = 5;
    r.c2s_bytes = 600;
    r.s2c_packets = 5;
    r.s2c_bytes = 900;
    r.c2s_tcp_flags = r.s2c_tcp_flags = 0x18; /* PSH|ACK: payload seen */
    r.event = TW_EVENT_CLASSIFIED;
    r.detection_done = 1;
    r.app_proto = 7;
    snprintf(r.app, sizeof(r.app), "%s", app);
    snprintf(r.category, sizeof(r.category), "Web");
    snprintf(r.server_name, sizeof(r.server_name), "%s", sni);
    return r;
}

static struct tw_flow_record remote(uint64_t id, const char *src, const char *dst, const char *app,
                                    uint64_t at_s)
{
    struct tw_flow_record r = rec(id, src, dst, 6, 22, app, "", at_s);
    snprintf(r.category, sizeof(r.category), "RemoteAccess");
    r.category_id = NDPI_PROTOCOL_CATEGORY_REMOTE_ACCESS;
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

/* Evaluates r in fresh state; returns the alerts. */
static struct got eval1(const struct tw_policy *p, const struct tw_flow_record *r)
{
    struct got g = {0};
    struct tw_policy_state *st = tw_policy_state_new(1024);

    assert_non_null(st);
    tw_policy_evaluate(p, st, r, collect, &g);
    tw_policy_state_free(st);
    return g;
}

static int has_kind(const struct got *g, unsigned kind)
{
    for (int i = 0; i < g->n && i < 16; i++)
        if (g->a[i].kind == kind)
            return 1;
    return 0;
}

/* ---- loader ---- */

static void test_bad_fixtures(void **state)
{
    (void)state;
    char pattern[512], err[ERR_LEN], line[1024];
    glob_t g;
    int checked = 0;

    snprintf(pattern, sizeof(pattern), "%s/bad-*.yaml", fixture_dir());
    assert_int_equal(glob(pattern, 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *path = g.gl_pathv[i];
        FILE *f = fopen(path, "r");
        char want[1100];
        assert_non_null(f);
        assert_non_null(fgets(line, sizeof(line), f));
        fclose(f);
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "# expect: ", 10) != 0)
            fail_msg("%s: first line must be \"# expect: MESSAGE\"", path);
        snprintf(want, sizeof(want), "%s/%s", fixture_dir(), line + 10);
        struct tw_policy *p = tw_policy_load(path, err, sizeof(err));
        if (p != NULL) {
            tw_policy_free(p);
            fail_msg("%s should be refused", path);
        }
        if (strcmp(err, want) != 0)
            fail_msg("%s:\n  want: %s\n  got:  %s", path, want, err);
        checked++;
    }
    globfree(&g);
    assert_true(checked >= 15);
}

static void test_example_policy(void **state)
{
    (void)state;
    const char *path = getenv("TW_EXAMPLE_POLICY");
    char err[ERR_LEN];
    struct tw_policy *p = tw_policy_load(path && *path ? path : "config/policy.yaml", err,
                                         sizeof(err));

    if (p == NULL)
        fail_msg("config/policy.yaml: %s", err);
    assert_int_equal(tw_policy_equipment_count(p), 3);
    /* the first round's 7, and mirror_silent and mirror_back, on in every policy */
    assert_int_equal(tw_policy_rule_count(p), 9);
    tw_policy_free(p);
}

static void test_missing_file(void **state)
{
    (void)state;
    char err[ERR_LEN];
    assert_null(tw_policy_load("/nonexistent/policy.yaml", err, sizeof(err)));
    assert_string_equal(err, "/nonexistent/policy.yaml: No such file or directory");
}

/* ---- pieces ---- */

static void test_windows(void **state)
{
    (void)state;
    uint8_t d;
    uint16_t s, e;

    assert_int_equal(tw_window_parse("mon-fri 10:00-12:00", &d, &s, &e), 0);
    assert_int_equal(d, 0x1f);
    assert_int_equal(s, 600);
    assert_int_equal(e, 720);
    assert_true(tw_window_contains(d, s, e, 0, 600));   /* mon 10:00 */
    assert_true(tw_window_contains(d, s, e, 4, 719));   /* fri 11:59 */
    assert_false(tw_window_contains(d, s, e, 4, 720));  /* fri 12:00: end is exclusive */
    assert_false(tw_window_contains(d, s, e, 5, 660));  /* sat */

    assert_int_equal(tw_window_parse("sat 08:00-09:30", &d, &s, &e), 0);
    assert_int_equal(d, 0x20);
    assert_true(tw_window_contains(d, s, e, 5, 9 * 60 + 29));
    assert_false(tw_window_contains(d, s, e, 5, 9 * 60 + 30));

    /* crossing midnight: fri 22:00 to sat 02:00, not sun 01:00 */
    assert_int_equal(tw_window_parse("fri 22:00-02:00", &d, &s, &e), 0);
    assert_int_equal(e, 1440 + 120);
    assert_true(tw_window_contains(d, s, e, 4, 23 * 60));
    assert_true(tw_window_contains(d, s, e, 5, 60));
    assert_false(tw_window_contains(d, s, e, 5, 120));
    assert_false(tw_window_contains(d, s, e, 6, 60));
    assert_false(tw_window_contains(d, s, e, 4, 60));

    assert_int_equal(tw_window_parse("daily 00:00-24:00", &d, &s, &e), 0);
    assert_true(tw_window_contains(d, s, e, 6, 1439));
    assert_int_equal(tw_window_parse("fri-mon 09:00-10:00", &d, &s, &e), 0); /* wraps */
    assert_int_equal(d, 0x10 | 0x20 | 0x40 | 0x01);
    assert_int_equal(tw_window_parse("mon,wed,fri 09:00-10:00", &d, &s, &e), 0);
    assert_int_equal(d, 0x01 | 0x04 | 0x10);

    static const char *const bad[] = {"", "mon", "10:00-12:00", "mon-fry 10:00-12:00",
                                      "mon 10:00-10:00", "mon 24:00-01:00", "mon 10:0-12:00",
                                      "mon 10:00-12:60", "mon,  10:00-11:00", "mon, 10:00-11:00",
                                      "mon 10:00 -12:00", "weekdays 10:00-12:00"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (tw_window_parse(bad[i], &d, &s, &e) == 0)
            fail_msg("window \"%s\" should be refused", bad[i]);
}

static void test_cidr(void **state)
{
    (void)state;
    uint8_t net[16], a[16];
    uint8_t bits;
    int v4;

    assert_int_equal(tw_cidr_parse("10.40.1.77/24", net, &v4, &bits), 0);
    assert_true(v4);
    assert_int_equal(bits, 24);
    set_ip(a, "10.40.1.200");
    assert_true(tw_cidr_contains(net, bits, a));
    set_ip(a, "10.40.2.1");
    assert_false(tw_cidr_contains(net, bits, a));
    assert_int_equal(tw_cidr_parse("10.0.0.0/9", net, &v4, &bits), 0);
    set_ip(a, "10.127.255.255");
    assert_true(tw_cidr_contains(net, bits, a));
    set_ip(a, "10.128.0.0");
    assert_false(tw_cidr_contains(net, bits, a));
    assert_int_equal(tw_cidr_parse("2001:db8:40::/44", net, &v4, &bits), 0);
    assert_false(v4);
    set_ip(a, "2001:db8:4f:ffff::1");
    assert_true(tw_cidr_contains(net, bits, a));
    set_ip(a, "2001:db8:50::1");
    assert_false(tw_cidr_contains(net, bits, a));
    assert_int_equal(tw_cidr_parse("::/0", net, &v4, &bits), 0);
    assert_true(tw_cidr_contains(net, bits, a));
    assert_int_equal(tw_cidr_parse("10.40.1.11", net, &v4, &bits), 0);
    assert_int_equal(bits, 32);
    static const char *const bad[] = {"", "/8", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1",
                                      "10.0.0.256", "::/129", "host.example", "10.0.0.0/8/8"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (tw_cidr_parse(bad[i], net, &v4, &bits) == 0)
            fail_msg("CIDR \"%s\" should be refused", bad[i]);
}

static void test_server_names(void **state)
{
    (void)state;
    assert_true(tw_server_name_match("*.vendor-a.example", "api.vendor-a.example"));
    assert_true(tw_server_name_match("*.vendor-a.example", "a.b.VENDOR-A.example"));
    assert_false(tw_server_name_match("*.vendor-a.example", "vendor-a.example"));
    assert_false(tw_server_name_match("*.vendor-a.example", "evilvendor-a.example"));
    assert_false(tw_server_name_match("*.vendor-a.example", "api.vendor-a.example.evil"));
    assert_true(tw_server_name_match("update.vendor-a.example", "Update.Vendor-A.example"));
    assert_false(tw_server_name_match("update.vendor-a.example", "x.update.vendor-a.example"));
    assert_false(tw_server_name_match("*.vendor-a.example", ""));
}

static void test_timezones(void **state)
{
    (void)state;
    struct tw_policy *p;
    unsigned wd, min;
    int64_t day;

    p = load_text("timezone: \"+08:00\"\nequipment: []\n");
    tw_policy_local_time(p, (T0 + 7 * 3600) * SEC, &wd, &min, &day); /* mon 24:00 UTC+8 */
    assert_int_equal(wd, 1);
    assert_int_equal(min, 0);
    tw_policy_free(p);
    p = load_text("timezone: \"-05:30\"\nequipment: []\n");
    tw_policy_local_time(p, T0 * SEC, &wd, &min, &day);
    assert_int_equal(wd, 0);
    assert_int_equal(min, 9 * 60 - 330);
    tw_policy_free(p);
    /* IANA with DST: Berlin is +1 in March before the last Sunday, +2 in July */
    p = load_text("timezone: Europe/Berlin\nequipment: []\n");
    tw_policy_local_time(p, T0 * SEC, &wd, &min, &day);
    assert_int_equal(min, 10 * 60);
    tw_policy_local_time(p, (T0 + 120ULL * 86400) * SEC, &wd, &min, &day); /* 2026-06-30 */
    assert_int_equal(min, 11 * 60);
    tw_policy_free(p);
    p = load_text("timezone: Asia/Shanghai\nequipment: []\n");
    tw_policy_local_time(p, T0 * SEC, &wd, &min, &day);
    assert_int_equal(min, 17 * 60);
    assert_int_equal(wd, 0);
    tw_policy_free(p);
    assert_null(getenv("TZ") && strcmp(getenv("TZ"), "Asia/Shanghai") == 0 ? "" : NULL);
}

/* ---- rules ---- */

static void test_undeclared(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(test_policy);
    struct tw_flow_record r;
    struct got g;

    /* declared: DNS to the resolver, 443 to the vendor's /24, TLS to *.vendor-a.example */
    r = rec(1, "10.40.1.11", "10.40.0.53", 17, 53, "DNS", "x.example", 10);
    assert_int_equal(eval1(p, &r).n, 0);
    r = rec(2, "10.40.1.11", "203.0.113.80", 6, 443, "TLS", "", 10);
    assert_int_equal(eval1(p, &r).n, 0);
    r = rec(3, "10.40.1.11", "198.51.100.9", 6, 443, "TLS", "api.vendor-a.example", 10);
    assert_int_equal(eval1(p, &r).n, 0);
    r = rec(4, "2001:db8:40::11", "2001:db8:50::99", 6, 8443, "HTTP", "", 10);
    assert_int_equal(eval1(p, &r).n, 0);
    /* not declared: another server name, another port, another app, another v6 network */
    r = rec(5, "10.40.1.11", "198.51.100.9", 6, 443, "TLS", "api.vendor-b.example", 10);
    g = eval1(p, &r);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].kind, TW_ALERT_UNDECLARED_DESTINATION);
    assert_string_equal(g.a[0].equipment, "atm-ctrl-01");
    assert_string_equal(g.a[0].vendor, "Vendor A");
    assert_int_equal(g.a[0].flow_id, 5);
    assert_int_equal(g.a[0].severity, TW_SEV_MEDIUM);
    assert_int_equal(g.a[0].dst_port, 443);
    assert_non_null(strstr(g.a[0].detail, "198.51.100.9"));
    r = rec(6, "10.40.1.11", "203.0.113.80", 6, 80, "HTTP", "", 10);
    assert_true(has_kind((g = eval1(p, &r), &g), TW_ALERT_UNDECLARED_DESTINATION));
    r = rec(7, "10.40.1.11", "198.51.100.9", 6, 443, "HTTP", "api.vendor-a.example", 10);
    assert_true(has_kind((g = eval1(p, &r), &g), TW_ALERT_UNDECLARED_DESTINATION));
    r = rec(8, "2001:db8:40::11", "2001:db8:51::1", 6, 443, "TLS", "", 10);
    assert_true(has_kind((g = eval1(p, &r), &g), TW_ALERT_UNDECLARED_DESTINATION));
    /* equipment as the server, or hosts that are not equipment: never undeclared */
    r = rec(9, "198.51.100.9", "10.40.1.11", 6, 443, "TLS", "", 10);
    assert_int_equal(eval1(p, &r).n, 0);
    r = rec(10, "10.99.0.1", "198.51.100.9", 6, 4444, "Unknown", "", 10);
    assert_int_equal(eval1(p, &r).n, 0);
    /* not decided yet (an UPDATE before detection ended): wait */
    r = rec(11, "10.40.1.11", "198.51.100.9", 6, 443, "TLS", "api.vendor-b.example", 10);
    r.detection_done = 0;
    r.event = TW_EVENT_UPDATE;
    assert_int_equal(eval1(p, &r).n, 0);
    tw_policy_free(p);
}

static void test_remote_access(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(test_policy);
    struct tw_flow_record r;
    struct got g;

    /* T0 is Monday 09:00 UTC; the windows are mon 10:00-12:00 and daily 22:00-02:00 */
    r = remote(1, "10.40.9.5", "10.40.2.7", "SSH", 3600); /* mon 10:00, approved */
    assert_int_equal(eval1(p, &r).n, 0);
    r = remote(2, "10.40.9.5", "10.40.2.7", "SSH", 16 * 3600 + 1800); /* tue 01:30 */
    assert_int_equal(eval1(p, &r).n, 0);
    r = remote(3, "10.77.0.1", "10.40.2.7", "SSH", 3600);
    g = eval1(p, &r);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].kind, TW_ALERT_REMOTE_ACCESS_UNAPPROVED_HOST);
    assert_string_equal(g.a[0].equipment, "srv-02");
    assert_int_equal(g.a[0].severity, TW_SEV_HIGH);
    r = remote(4, "10.40.9.5", "10.40.2.7", "SSH", 0); /* mon 09:00 */
    g = eval1(p, &r);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].kind, TW_ALERT_REMOTE_ACCESS_OUTSIDE_WINDOW);
    r = remote(5, "10.40.9.5", "10.40.2.7", "SSH", 17 * 3600); /* tue 02:00: window over */
    assert_int_equal((g = eval1(p, &r)).a[0].kind, TW_ALERT_REMOTE_ACCESS_OUTSIDE_WINDOW);
    r = remote(6, "10.40.9.5", "10.40.2.7", "RDP", 3600);
    g = eval1(p, &r);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].kind, TW_ALERT_REMOTE_ACCESS_PROTOCOL);
    /* remote access from the equipment outward, or not remote access: none of these */
    r = remote(7, "10.40.2.7", "10.77.0.1", "SSH", 3600);
    assert_false(has_kind((g = eval1(p, &r), &g), TW_ALERT_REMOTE_ACCESS_UNAPPROVED_HOST));
    r = rec(8, "10.77.0.1", "10.40.2.7", 6, 443, "TLS", "", 3600);
    assert_int_equal(eval1(p, &r).n, 0);
    /* the category id alone is enough (TLS.AnyDesk) */
    r = remote(9, "10.77.0.1", "10.40.2.7", "TLS.AnyDesk", 3600);
    snprintf(r.category, sizeof(r.category), "Web");
    assert_int_equal(eval1(p, &r).a[0].kind, TW_ALERT_REMOTE_ACCESS_UNAPPROVED_HOST);
    tw_policy_free(p);
}

static void test_unclassified_and_risky(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(quiet_policy());
    struct tw_flow_record r;
    struct got g;

    r = rec(1, "10.40.2.7", "10.77.0.1", 6, 9999, "Unknown", "", 10);
    r.app_proto = 0;
    g = eval1(p, &r);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].kind, TW_ALERT_UNCLASSIFIED_CHANNEL);
    assert_int_equal(g.a[0].severity, TW_SEV_LOW);
    /* no payload (handshake only): nothing */
    r.c2s_tcp_flags = r.s2c_tcp_flags = 0x12;
    assert_int_equal(eval1(p, &r).n, 0);
    /* declared peer: the ATM may talk to 203.0.113.0/24 on 443 whatever nDPI says */
    r = rec(2, "10.40.1.11", "203.0.113.5", 6, 443, "Unknown", "", 10);
    r.app_proto = 0;
    assert_int_equal(eval1(p, &r).n, 0);
    /* ... but not on another port */
    r.dst_port = 8443;
    g = eval1(p, &r);
    assert_int_equal(g.n, 1);
    assert_true(has_kind(&g, TW_ALERT_UNCLASSIFIED_CHANNEL));
    /* classified flows are not unclassified */
    r = rec(3, "10.40.2.7", "10.77.0.1", 17, 9999, "DNS", "", 10);
    assert_int_equal(eval1(p, &r).n, 0);

    /* risky: the listed risk fires, another one does not */
    r = rec(4, "10.40.2.7", "10.77.0.1", 6, 443, "TLS", "", 10);
    r.risks = UINT64_C(1) << NDPI_TLS_SELFSIGNED_CERTIFICATE;
    g = eval1(p, &r);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].kind, TW_ALERT_RISKY_FLOW);
    assert_int_equal(g.a[0].severity, TW_SEV_CRITICAL);
    assert_non_null(strstr(g.a[0].detail, "Self-signed Certificate"));
    r.risks = UINT64_C(1) << NDPI_TLS_OBSOLETE_VERSION;
    assert_int_equal(eval1(p, &r).n, 0);
    /* a host that is not equipment: recorded, never alerted */
    r = rec(5, "10.99.0.1", "10.77.0.1", 6, 443, "TLS", "", 10);
    r.risks = UINT64_C(1) << NDPI_TLS_SELFSIGNED_CERTIFICATE;
    assert_int_equal(eval1(p, &r).n, 0);
    tw_policy_free(p);
}

static void test_upload_and_dedupe(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(quiet_policy());
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_flow_record r;
    struct got g = {0};

    /* per flow: over 5000 bytes sent by the equipment, seen on an UPDATE, then again on END:
     * one alert */
    r = rec(1, "10.40.2.7", "10.50.0.1", 6, 8080, "HTTP", "", 10);
    r.event = TW_EVENT_UPDATE;
    r.c2s_bytes = 4000;
    tw_policy_evaluate(p, st, &r, collect, &g);
    assert_int_equal(g.n, 0);
    r.c2s_bytes = 6000;
    tw_policy_evaluate(p, st, &r, collect, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].kind, TW_ALERT_UPLOAD_VOLUME);
    r.event = TW_EVENT_END;
    r.c2s_bytes = 9000;
    tw_policy_evaluate(p, st, &r, collect, &g);
    assert_int_equal(g.n, 1);
    /* equipment as the server sending: s2c counts */
    r = rec(2, "10.50.0.1", "10.40.2.7", 6, 8080, "HTTP", "", 10);
    r.s2c_bytes = 7000;
    tw_policy_evaluate(p, st, &r, collect, &g);
    assert_int_equal(g.n, 2);

    /* per day, outside domestic_networks: 4000 + 4000 stays under 10000, the third flow
     * takes it over and alerts; the fourth does not (once a day); the next day starts at 0 */
    for (uint64_t id = 10; id < 14; id++) {
        r = rec(id, "10.40.2.7", "198.51.100.9", 6, 443, "TLS", "", 10 + id);
        r.event = TW_EVENT_END;
        r.c2s_bytes = 4000;
        tw_policy_evaluate(p, st, &r, collect, &g);
        assert_int_equal(g.n, id < 12 ? 2 : 3);
    }
    assert_int_equal(g.a[2].flow_id, 12);
    assert_non_null(strstr(g.a[2].detail, "per-day limit"));
    /* domestic peers do not count: 3 x 4000 to 10.x raises nothing (under per-flow) */
    for (uint64_t id = 20; id < 23; id++) {
        r = rec(id, "10.40.1.11", "10.40.0.53", 17, 53, "DNS", "", 86400 + id);
        r.event = TW_EVENT_END;
        r.c2s_bytes = 4000;
        tw_policy_evaluate(p, st, &r, collect, &g);
    }
    assert_int_equal(g.n, 3);
    /* incremental: one flow's UPDATE 6000 then END 6000 counts 6000 once, next day */
    r = rec(30, "10.40.2.7", "198.51.100.9", 6, 443, "TLS", "", 86400 + 100);
    r.event = TW_EVENT_UPDATE;
    r.c2s_bytes = 4500;
    tw_policy_evaluate(p, st, &r, collect, &g);
    r.event = TW_EVENT_END;
    tw_policy_evaluate(p, st, &r, collect, &g);
    r.flow_id = 31;
    tw_policy_evaluate(p, st, &r, collect, &g);
    assert_int_equal(g.n, 3); /* 9000 < 10000 */
    r.flow_id = 32;
    tw_policy_evaluate(p, st, &r, collect, &g);
    assert_int_equal(g.n, 4); /* 13500 */

    /* one alert per flow per kind: CLASSIFIED, UPDATE and END of one risky flow */
    struct got h = {0};
    r = rec(40, "10.40.1.11", "198.51.100.9", 6, 25, "SMTP", "", 10);
    r.risks = UINT64_C(1) << NDPI_TLS_SELFSIGNED_CERTIFICATE;
    tw_policy_evaluate(p, st, &r, collect, &h);
    r.event = TW_EVENT_UPDATE;
    tw_policy_evaluate(p, st, &r, collect, &h);
    r.event = TW_EVENT_END;
    tw_policy_evaluate(p, st, &r, collect, &h);
    assert_int_equal(h.n, 1);

    struct tw_policy_state_stats ss;
    tw_policy_state_get_stats(st, &ss);
    assert_int_equal(ss.tracked, 1); /* flow 2 (classified, no END) is still tracked */
    tw_policy_state_free(st);
    tw_policy_free(p);
}

/* Both ends equipment: each end's upload is checked, the server's being its s2c bytes (the
 * README: "the bytes the equipment sends in one flow (either end)"). Before the fix only the
 * client's c2s was. */
static void test_upload_both_ends(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(quiet_policy());
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_policy_ends ends = {0};
    struct tw_flow_record r;
    struct got g = {0};

    /* per flow: atm-ctrl-01 (client) sends 600, srv-02 (server) sends 7000 > 5000 */
    r = rec(1, "10.40.1.11", "10.40.2.7", 6, 8080, "HTTP", "", 10);
    r.s2c_bytes = 7000;
    assert_int_equal(tw_policy_evaluate_ends(p, st, &r, collect, &g, &ends), 1);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.a[0].kind, TW_ALERT_UPLOAD_VOLUME);
    assert_string_equal(g.a[0].equipment, "srv-02");
    assert_non_null(strstr(g.a[0].detail, "srv-02 sent 7000 bytes to 10.40.1.11"));
    assert_string_equal(ends.src, "atm-ctrl-01");
    assert_string_equal(ends.dst, "srv-02");
    /* both over: one alert per flow per kind, the client's */
    r = rec(2, "10.40.1.11", "10.40.2.7", 6, 8080, "HTTP", "", 10);
    r.c2s_bytes = r.s2c_bytes = 8000;
    tw_policy_evaluate(p, st, &r, collect, &g);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.a[1].equipment, "atm-ctrl-01");
    tw_policy_state_free(st);
    tw_policy_free(p);

    /* per day: gw-b (client, outside domestic_networks) reaches core-a, which sends 4000 per
     * flow back; the third flow takes core-a over 10000 today. Each end keeps its own count
     * of the flow's bytes: an UPDATE then END of one flow adds its bytes once per end. */
    p = load_text("domestic_networks: [10.0.0.0/8]\n"
                  "equipment:\n"
                  "  - {name: core-a, addresses: [10.1.0.1]}\n"
                  "  - {name: gw-b, addresses: [192.0.2.0/24]}\n"
                  "limits: {upload_bytes_per_day: 10000}\n"
                  "rules: {undeclared_destination: {enabled: false}}\n");
    st = tw_policy_state_new(1024);
    memset(&g, 0, sizeof(g));
    for (uint64_t id = 10; id < 13; id++) {
        r = rec(id, "192.0.2.5", "10.1.0.1", 6, 443, "TLS", "", 10 + id);
        r.c2s_bytes = 9000; /* gw-b to a domestic peer: never counted */
        r.s2c_bytes = 2000;
        r.event = TW_EVENT_UPDATE;
        tw_policy_evaluate(p, st, &r, collect, &g);
        r.s2c_bytes = 4000;
        r.event = TW_EVENT_END;
        tw_policy_evaluate(p, st, &r, collect, &g);
        assert_int_equal(g.n, id < 12 ? 0 : 1);
    }
    assert_string_equal(g.a[0].equipment, "core-a");
    assert_int_equal(g.a[0].flow_id, 12);
    assert_non_null(strstr(g.a[0].detail, "core-a sent 12000 bytes today"));
    tw_policy_state_free(st);
    tw_policy_free(p);
}

/* Equipment lookup with nested addresses of one equipment, both families, and addresses of
 * no equipment: the longest-prefix table answers as the declared lists do. */
static void test_equipment_lookup(void **state)
{
    (void)state;
    struct tw_policy *p = load_text("equipment:\n"
                                    "  - {name: a, addresses: [10.0.0.0/8, 10.1.0.0/16, 10.1.2.3, "
                                    "\"2001:db8:1::/48\"]}\n"
                                    "  - {name: b, addresses: [192.168.0.0/16, \"2001:db8::/48\", "
                                    "\"2001:db8::7\"]}\n");
    static const struct {
        const char *addr, *want;
    } cases[] = {
        {"10.1.2.3", "a"},  {"10.1.2.4", "a"},   {"10.200.0.1", "a"},  {"11.0.0.1", NULL},
        {"192.168.9.9", "b"}, {"192.169.0.1", NULL}, {"2001:db8::7", "b"}, {"2001:db8::8", "b"},
        {"2001:db8:1::1", "a"}, {"2001:db8:2::1", NULL}, {"::ffff:10.1.2.3", NULL},
    };
    uint8_t a[16];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        set_ip(a, cases[i].addr);
        const char *got = tw_policy_equipment_of(p, a, strchr(cases[i].addr, ':') == NULL);
        if (cases[i].want == NULL)
            assert_null(got);
        else
            assert_string_equal(got, cases[i].want);
    }
    tw_policy_free(p);

    /* an overlap before a broken entry is the error reported; a broken entry before an
     * overlap is */
    static const struct {
        const char *text, *want;
    } order[] = {
        {"equipment:\n"
         "  - {name: a, addresses: [10.0.0.0/8]}\n"
         "  - {name: b, addresses: [10.1.0.0/16]}\n"
         "  - {name: c, addresses: [nowhere]}\n",
         ":3: equipment[1].addresses[0]: 10.1.0.0/16 overlaps the addresses of a (line 2)"},
        {"equipment:\n"
         "  - {name: a, addresses: [10.0.0.0/8]}\n"
         "  - {name: b, addresses: [nowhere]}\n"
         "  - {name: c, addresses: [10.1.0.0/16]}\n",
         ":3: equipment[1].addresses[0]: expected an IPv4 or IPv6 address or CIDR, got "
         "\"nowhere\""},
    };
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        char path[] = "/tmp/tw-policy-order.XXXXXX", err[ERR_LEN];
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);
        write_file(path, order[i].text);
        assert_null(tw_policy_load(path, err, sizeof(err)));
        unlink(path);
        assert_string_equal(err + strlen(path), order[i].want);
    }
}

/* The load rule on equipment (names unique, an address in one equipment only) against the
 * pairwise check it replaced, on random small policies where conflicts are frequent: the
 * same first error, word for word; and when the policy loads, tw_policy_equipment_of answers
 * as a scan of the declared addresses does. */
static void test_equipment_rule_random(void **state)
{
    (void)state;
    uint64_t seed = 0x5eed;
    int loaded = 0, refused = 0;

    for (int round = 0; round < 400; round++) {
        char text[8192], path[] = "/tmp/tw-policy-rule.XXXXXX", err[ERR_LEN], want[ERR_LEN];
        char names[12][16], addrs[12][5][48];
        uint8_t net[12][5][16], bits[12][5];
        int v4[12][5], neq, nad[12];
        size_t o = 0;
#define RND() (seed = seed * 6364136223846793005ULL + 1442695040888963407ULL, (unsigned)(seed >> 33))
        neq = 2 + (int)(RND() % 11);
        o += (size_t)snprintf(text + o, sizeof(text) - o, "equipment:\n");
        for (int i = 0; i < neq; i++) {
            if (i > 0 && RND() % 12 == 0)
                memcpy(names[i], names[RND() % (unsigned)i], sizeof(names[i]));
            else
                snprintf(names[i], sizeof(names[i]), "e%d", i);
            nad[i] = 1 + (int)(RND() % 5);
            o += (size_t)snprintf(text + o, sizeof(text) - o, "  - {name: %s, addresses: [", names[i]);
            for (int a = 0; a < nad[i]; a++) {
                static const unsigned b4[] = {22, 24, 28, 30, 32}, b6[] = {104, 112, 120, 128};
                unsigned r1 = RND(), r2 = RND(), r3 = RND(), r4 = RND();
                if (r1 % 3)
                    snprintf(addrs[i][a], sizeof(addrs[i][a]), "10.0.%u.%u/%u", r2 % 16,
                             r3 % 256, b4[r4 % 5]);
                else
                    snprintf(addrs[i][a], sizeof(addrs[i][a]), "\"2001:db8::%x:%x/%u\"",
                             r2 % 4, r3 % 65536, b6[r4 % 4]);
                o += (size_t)snprintf(text + o, sizeof(text) - o, "%s%s", a ? ", " : "",
                                      addrs[i][a]);
                char bare[48];
                snprintf(bare, sizeof(bare), "%s", addrs[i][a] + (addrs[i][a][0] == '"'));
                if (strchr(bare, '"'))
                    *strchr(bare, '"') = '\0';
                assert_int_equal(tw_cidr_parse(bare, net[i][a], &v4[i][a], &bits[i][a]), 0);
            }
            o += (size_t)snprintf(text + o, sizeof(text) - o, "]}\n");
        }
#undef RND
        /* the pairwise check, as it was: item i is on line i + 2 */
        want[0] = '\0';
        for (int i = 0; i < neq && !want[0]; i++)
            for (int j = 0; j < i && !want[0]; j++) {
                if (strcmp(names[i], names[j]) == 0) {
                    snprintf(want, sizeof(want),
                             "equipment[%d].name: duplicate equipment name \"%s\", first on line %d",
                             i, names[i], j + 2);
                    break;
                }
                for (int a = 0; a < nad[i] && !want[0]; a++)
                    for (int b = 0; b < nad[j] && !want[0]; b++) {
                        unsigned m = bits[i][a] < bits[j][b] ? bits[i][a] : bits[j][b];
                        char t[INET6_ADDRSTRLEN];
                        if (v4[i][a] != v4[j][b] || !tw_cidr_contains(net[j][b], (uint8_t)m, net[i][a]))
                            continue;
                        inet_ntop(v4[i][a] ? AF_INET : AF_INET6, net[i][a], t, sizeof(t));
                        snprintf(want, sizeof(want),
                                 "equipment[%d].addresses[%d]: %s/%u overlaps the addresses of "
                                 "%s (line %d)", i, a, t, bits[i][a], names[j], j + 2);
                    }
            }
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);
        write_file(path, text);
        struct tw_policy *p = tw_policy_load(path, err, sizeof(err));
        unlink(path);
        if (want[0]) {
            char full[ERR_LEN + 64];
            refused++;
            assert_null(p);
            /* the line of the conflicting item, then the message */
            const char *colon = strchr(err + strlen(path) + 1, ':');
            assert_non_null(colon);
            snprintf(full, sizeof(full), "%s", colon + 2);
            assert_string_equal(full, want);
            continue;
        }
        if (p == NULL)
            fail_msg("policy should load: %s\n%s", err, text);
        loaded++;
        for (int q = 0; q < 200; q++) { /* random addresses near the declared ones */
            int i = (int)(seed % (uint64_t)neq), a = (int)(seed / 7 % (uint64_t)nad[i]);
            uint8_t x[16];
            const char *want_eq = NULL;
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            memcpy(x, net[i][a], 16);
            x[v4[i][a] ? 2 : 13] ^= (uint8_t)(seed >> 40 & 1);
            x[v4[i][a] ? 3 : 15] = (uint8_t)(seed >> 48);
            for (int e = 0; e < neq && !want_eq; e++)
                for (int b = 0; b < nad[e] && !want_eq; b++)
                    if (v4[e][b] == v4[i][a] && tw_cidr_contains(net[e][b], bits[e][b], x))
                        want_eq = names[e];
            const char *got = tw_policy_equipment_of(p, x, v4[i][a]);
            if (want_eq == NULL)
                assert_null(got);
            else
                assert_string_equal(got, want_eq);
        }
        tw_policy_free(p);
    }
    /* both outcomes were exercised */
    assert_true(loaded > 20);
    assert_true(refused > 20);
}

static void test_dedupe_bounded(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(test_policy);
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_policy_state_stats ss;
    struct got g = {0};

    /* 100000 live flows in a table of 1024: it evicts, never grows */
    for (uint64_t id = 1; id <= 100000; id++) {
        struct tw_flow_record r = rec(id, "10.40.1.11", "10.40.0.53", 17, 53, "DNS", "", 10);
        tw_policy_evaluate(p, st, &r, collect, &g);
    }
    tw_policy_state_get_stats(st, &ss);
    assert_true(ss.tracked <= 1024);
    assert_int_equal(ss.tracked + ss.evicted, 100000);
    tw_policy_state_free(st);
    tw_policy_free(p);
}

static void test_upload_acc(void **state)
{
    (void)state;
    struct tw_upload_acc *u = tw_upload_acc_new();
    int over;

    assert_int_equal(tw_upload_acc_add(u, "a", 100, 60, 100, &over), 60);
    assert_false(over);
    assert_int_equal(tw_upload_acc_add(u, "b", 100, 500, 100, &over), 500);
    assert_true(over);
    assert_int_equal(tw_upload_acc_add(u, "a", 100, 40, 100, &over), 100);
    assert_false(over); /* equal is not over */
    assert_int_equal(tw_upload_acc_add(u, "a", 100, 1, 100, &over), 101);
    assert_true(over);
    assert_int_equal(tw_upload_acc_add(u, "a", 100, 1, 100, &over), 102);
    assert_false(over); /* once a day */
    assert_int_equal(tw_upload_acc_add(u, "a", 101, 5, 100, &over), 5);
    assert_int_equal(tw_upload_acc_add(u, "a", 100, 5, 100, &over), 5); /* late: ignored */
    /* more names than slots, one day: the table refuses; the next day reuses */
    char name[16];
    uint64_t refused = 0;
    for (int i = 0; i < TW_UPLOAD_SLOTS + 10; i++) {
        snprintf(name, sizeof(name), "eq%d", i);
        refused += tw_upload_acc_add(u, name, 200, 1, 0, &over) == UINT64_MAX;
    }
    assert_true(refused > 0);
    assert_int_equal(tw_upload_acc_add(u, "new", 201, 7, 0, &over), 7);
    tw_upload_acc_free(u);
}

static void test_rules_section(void **state)
{
    (void)state;
    struct tw_policy *p = load_text("equipment:\n  - {name: e1, addresses: [10.1.1.1]}\n"
                                    "rules:\n  undeclared_destination: {enabled: false}\n"
                                    "  remote_access_protocol: {enabled: no}\n");
    struct tw_flow_record r = rec(1, "10.1.1.1", "198.51.100.9", 6, 443, "TLS", "", 10);

    assert_int_equal(tw_policy_rule_count(p), 7); /* 5 of the first round, the mirror's 2 */
    assert_int_equal(eval1(p, &r).n, 0);
    tw_policy_free(p);
}

/* ---- JSON ---- */

/* The record key as store_keys.h documents it, written out independently of tw_key_record. */
static void record_key(char *out, size_t len, const char *sensor, uint64_t hour, uint64_t id)
{
    if (TW_RECORD_SHARDS == 1)
        snprintf(out, len, "tw:{%s}:f:%llu", sensor, (unsigned long long)hour);
    else
        snprintf(out, len, "tw:{%s}:f:%llu:%u", sensor, (unsigned long long)hour,
                 (unsigned)(id % TW_RECORD_SHARDS));
}

/* TW_ALERT_JSON_MAX (alert.h) bounds every alert: the fixed part is exact (empty strings,
 * the longest numbers and names), and the worst strings (every byte '"', escaped as two;
 * sensors of 63 quotes or control bytes) fit. */
static void test_alert_json_bound(void **state)
{
    struct tw_alert a;
    char buf[4 * TW_ALERT_JSON_MAX], sensor[TW_SENSOR_NAME_MAX + 2];
    size_t longest_kind = 0, longest_sev = 0;
    (void)state;

    memset(&a, 0, sizeof(a));
    for (unsigned k = 0; k < TW_ALERT__COUNT; k++)
        if (strlen(tw_alert_kind_name(k)) > strlen(tw_alert_kind_name(a.kind)))
            a.kind = (uint8_t)k;
    for (unsigned v = 0; v < TW_SEV__COUNT; v++)
        if (strlen(tw_severity_name(v)) > strlen(tw_severity_name(a.severity)))
            a.severity = (uint8_t)v;
    longest_kind = strlen(tw_alert_kind_name(a.kind));
    longest_sev = strlen(tw_severity_name(a.severity));
    print_message("longest kind %zu, severity %zu\n", longest_kind, longest_sev);
    a.ip_version = 6;
    memset(a.src_ip, 0xff, 16);
    memset(a.dst_ip, 0xff, 16);
    a.src_port = a.dst_port = UINT16_MAX;
    a.ip_proto = UINT8_MAX;
    a.ts_us = a.flow_id = UINT64_MAX;
    a.record_hour = UINT64_MAX - 1; /* the largest hour that is not TW_HOUR_UNKNOWN */
    a.has_mac = 1;
    memset(a.policy_sha256, 'f', 64); /* full hashes: 64 hex digits, NUL after */
    memset(a.geoip_sha256, 'f', 64);
    assert_false(tw_alert_kind_flowless(a.kind)); /* a flow's alert: every field written */
    assert_int_equal(tw_alert_to_json(&a, "", buf, sizeof(buf)), TW_ALERT_JSON_FIXED);
    /* a longest flowless alert (an address, a MAC, no flow) is shorter */
    for (unsigned k = 0; k < TW_ALERT__COUNT; k++)
        if (tw_alert_kind_flowless(k)) {
            struct tw_alert f = a;
            f.kind = (uint8_t)k;
            int n = tw_alert_to_json(&f, "", buf, sizeof(buf));
            assert_true(n > 0 && n < TW_ALERT_JSON_FIXED);
        }

    memset(a.equipment, '"', sizeof(a.equipment)); /* full fields, no NUL */
    memset(a.vendor, '"', sizeof(a.vendor));
    memset(a.app, '"', sizeof(a.app));
    memset(a.server_name, '"', sizeof(a.server_name));
    memset(a.detail, '"', sizeof(a.detail));
    for (int c = 0; c < 2; c++) {
        memset(sensor, c ? 0x01 : '"', TW_SENSOR_NAME_MAX);
        sensor[TW_SENSOR_NAME_MAX] = '\0';
        int n = tw_alert_to_json(&a, sensor, buf, sizeof(buf));
        print_message("worst alert JSON (sensor of %s): %d bytes, TW_ALERT_JSON_MAX %d\n",
                      c ? "control bytes" : "quotes", n, TW_ALERT_JSON_MAX);
        assert_true(n > 0 && n < TW_ALERT_JSON_MAX);
        assert_int_equal(tw_alert_to_json(&a, sensor, buf, TW_ALERT_JSON_MAX), n);
    }
    /* a longer sensor than the bound counts on is refused, not written past it */
    memset(sensor, 's', TW_SENSOR_NAME_MAX + 1);
    sensor[TW_SENSOR_NAME_MAX + 1] = '\0';
    assert_int_equal(tw_alert_to_json(&a, sensor, buf, sizeof(buf)), -1);
}

static void test_alert_json(void **state)
{
    (void)state;
    struct tw_policy *p = load_text(test_policy);
    struct tw_flow_record r = rec(0xabcdef0123456789ULL, "10.40.1.11", "198.51.100.9", 6, 443,
                                  "TLS", "bad\x01\xffname", 10);
    struct got g = eval1(p, &r);
    char buf[2048];
    struct tw_alert back;

    assert_int_equal(g.n, 1);
    int n = tw_alert_to_json(&g.a[0], "branch-7", buf, sizeof(buf));
    assert_true(n > 0);
    json_object *o = json_tokener_parse(buf);
    assert_non_null(o);
    static const char *const keys[] = {"kind", "severity", "equipment", "vendor", "ts",
                                       "src_ip", "src_port", "dst_ip", "dst_port", "ip_proto",
                                       "app", "server_name", "detail", "flow_id", "flow_key"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!json_object_object_get_ex(o, keys[i], NULL))
            fail_msg("alert JSON lacks %s: %s", keys[i], buf);
    json_object *v;
    char want[64];
    /* the hash the record is really in: first_seen hour 492345 (shard = the id's low bits) */
    record_key(want, sizeof(want), "branch-7", 492345, 0xabcdef0123456789ULL);
    json_object_object_get_ex(o, "flow_key", &v);
    assert_string_equal(json_object_get_string(v), want);
    json_object_object_get_ex(o, "server_name", &v);
    assert_string_equal(json_object_get_string(v), "bad??name");
    json_object_object_get_ex(o, "dst_port", &v);
    assert_int_equal(json_object_get_int(v), 443);
    assert_non_null(strstr(buf, "\"ts\":1772442010.000000"));
    json_object_put(o);
    assert_int_equal(tw_alert_to_json(&g.a[0], "branch-7", buf, 64), -1);

    /* back from stream fields */
    const char *f[] = {"kind", "severity", "equipment", "ts", "src_ip", "dst_ip", "flow_id",
                       "dst_port"};
    const char *vals[] = {"risky_flow", "high", "atm-1", "1772442010.5", "2001:db8::1",
                          "2001:db8::2", "00000000000000ff", "22"};
    assert_int_equal(tw_alert_from_fields(&back, f, vals, 8, buf, sizeof(buf)), 0);
    assert_int_equal(back.kind, TW_ALERT_RISKY_FLOW);
    assert_int_equal(back.ts_us, 1772442010500000ULL);
    assert_int_equal(back.ip_version, 6);
    assert_int_equal(back.flow_id, 255);
    assert_int_equal(back.dst_port, 22);
    assert_true(back.record_hour == TW_HOUR_UNKNOWN); /* no flow_key */
    /* flow_key gives the record's hour back, so the key printed is the key stored */
    const char *f2[] = {"kind", "severity", "equipment", "ts", "src_ip", "dst_ip", "flow_id",
                        "flow_key"};
    const char *vals2[] = {"risky_flow", "high", "atm-1", "1772442010.5", "10.0.0.1",
                           "10.0.0.2", "abcdef0123456789", want};
    assert_int_equal(tw_alert_from_fields(&back, f2, vals2, 8, buf, sizeof(buf)), 0);
    assert_int_equal(back.record_hour, 492345);
    assert_true(tw_alert_to_json(&back, "branch-7", buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, want));
    /* the 0.1 key, or a key of another shard, names no record: left empty, not made up */
    vals2[7] = "tw:{branch-7}:flow:abcdef0123456789";
    assert_int_equal(tw_alert_from_fields(&back, f2, vals2, 8, buf, sizeof(buf)), 0);
    assert_true(back.record_hour == TW_HOUR_UNKNOWN);
    assert_true(tw_alert_to_json(&back, "branch-7", buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"flow_key\":\"\""));
    vals2[6] = "abcdef0123456788"; /* another shard, when there are shards */
    vals2[7] = want;
    assert_int_equal(tw_alert_from_fields(&back, f2, vals2, 8, buf, sizeof(buf)), 0);
    assert_true(back.record_hour == (TW_RECORD_SHARDS > 1 ? TW_HOUR_UNKNOWN : 492345));
    vals[0] = "nope";
    assert_int_equal(tw_alert_from_fields(&back, f, vals, 8, buf, sizeof(buf)), -1);
    assert_int_equal(tw_alert_from_fields(&back, f, vals, 2, buf, sizeof(buf)), -1);
    tw_policy_free(p);
}

/* The write guards and the time index: their names, all in the sensor's {S} slot, and the
 * identity a summary item carries (flow_id and end). */
static void test_store_keys(void **state)
{
    (void)state;
    char k[256], want[64];
    struct tw_summary_item it;
    struct tw_flow_record r = rec(0x00ab00cd00ef0012ULL, "10.40.1.11", "198.51.100.9", 6, 443,
                                  "TLS", "", 7200);

    assert_true(tw_key_alert_seen(k, sizeof(k), "b-7", 0x00ab00cd00ef0012ULL,
                                  TW_ALERT_UPLOAD_VOLUME) > 0);
    assert_string_equal(k, "tw:{b-7}:alert-seen:00ab00cd00ef0012:upload_volume");
    assert_true(tw_key_summed(k, sizeof(k), "b-7", 492345) > 0);
    assert_string_equal(k, "tw:{b-7}:summed:492345");
    assert_true(tw_key_alerts_time(k, sizeof(k), "b-7", 492345) > 0);
    assert_string_equal(k, "tw:{b-7}:alerts:t:492345");
    assert_true(tw_key_alerts_hours(k, sizeof(k), "b-7") > 0);
    assert_string_equal(k, "tw:{b-7}:alerts:hours");
    assert_int_equal(tw_key_alert_seen(k, 20, "b-7", 1, TW_ALERT_RISKY_FLOW), -1);

    /* the record hashes: one per hour and shard, the shard from the id's low bits */
    uint64_t hour;
    unsigned shard;
    assert_true(tw_key_record(k, sizeof(k), "b-7", 492345, 0x00ab00cd00ef0012ULL) > 0);
    record_key(want, sizeof(want), "b-7", 492345, 0x00ab00cd00ef0012ULL);
    assert_string_equal(k, want);
    assert_int_equal(tw_key_record_parse(k, &hour, &shard), 0);
    assert_int_equal(hour, 492345);
    assert_int_equal(shard, 0x12 & (TW_RECORD_SHARDS - 1));
    assert_true(tw_key_record(k, sizeof(k), "b-7", 492345, TW_RECORD_SHARDS - 1) > 0);
    record_key(want, sizeof(want), "b-7", 492345, TW_RECORD_SHARDS - 1);
    assert_string_equal(k, want);
    assert_int_equal(tw_key_record(k, 16, "b-7", 492345, 1), -1);
    static const char *const bad[] = {"", "tw:{b-7}:flow:00ab00cd00ef0012",
#if TW_RECORD_SHARDS > 1
                                      "tw:{b-7}:f:492345",
#else
                                      "tw:{b-7}:f:492345:0",
#endif
                                      "tw:{b-7}:f::1", "tw:{b-7}:f:492345:", "tw:{b-7}:x:1:2",
                                      "tw:{b-7}:f:12a:1", "tw:{b-7}:f:1:999", "xx:{b}:f:1:1",
                                      "tw:{}:f:1:1x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (tw_key_record_parse(bad[i], &hour, &shard) == 0)
            fail_msg("parsed %s", bad[i]);
    assert_int_equal(tw_key_summed(k, 10, "b-7", 492345), -1);

    tw_summary_item_from_record(&it, &r, "atm-1", 1);
    assert_int_equal(it.flow_id, 0x00ab00cd00ef0012ULL);
    assert_int_equal(it.end, 'c');
    assert_int_equal(it.bytes_out, 600);
    assert_string_equal(it.peer, "198.51.100.9");
    tw_summary_item_from_record(&it, &r, "srv-1", 0);
    assert_int_equal(it.flow_id, 0x00ab00cd00ef0012ULL);
    assert_int_equal(it.end, 's');
    assert_int_equal(it.bytes_out, 900);
    assert_string_equal(it.peer, "10.40.1.11");
}

/* ---- reload ---- */

static void test_reload_keeps_old(void **state)
{
    (void)state;
    char path[] = "/tmp/tw-policy-reload.XXXXXX", err[ERR_LEN];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_file(path, test_policy);
    struct tw_policy_hook_params hp = {.policy_path = path, .flows_max = 1024};
    struct tw_policy_hook *h = tw_policy_hook_open(&hp, err, sizeof(err));
    if (h == NULL)
        fail_msg("hook: %s", err);
    const struct tw_policy *before = tw_policy_hook_policy(h);
    assert_int_equal(tw_policy_equipment_count(before), 2);

    write_file(path, "equipment:\n  - name: bad name\n    addresses: [10.1.1.1]\n");
    assert_int_equal(tw_policy_hook_reload(h, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":2: equipment[0].name: expected"));
    assert_null(strchr(err, '\n'));
    assert_ptr_equal(tw_policy_hook_policy(h), before);
    /* the old policy still evaluates */
    struct tw_flow_record r = rec(1, "10.40.1.11", "198.51.100.9", 6, 25, "SMTP", "", 10);
    tw_policy_hook_event(h, &r);
    struct tw_policy_hook_stats st;
    tw_policy_hook_get_stats(h, &st);
    assert_int_equal(st.alerts, 1);
    assert_int_equal(st.reload_errors, 1);

    write_file(path, "equipment:\n  - {name: only, addresses: [10.1.1.1]}\n");
    assert_int_equal(tw_policy_hook_reload(h, err, sizeof(err)), 0);
    assert_int_equal(tw_policy_equipment_count(tw_policy_hook_policy(h)), 1);
    r.flow_id = 2;
    tw_policy_hook_event(h, &r); /* 10.40.1.11 is no longer equipment */
    tw_policy_hook_get_stats(h, &st);
    assert_int_equal(st.alerts, 1);
    assert_int_equal(st.reloads, 1);
    tw_policy_hook_close(h);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_fixtures),
        cmocka_unit_test(test_example_policy),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_server_names),
        cmocka_unit_test(test_timezones),
        cmocka_unit_test(test_undeclared),
        cmocka_unit_test(test_remote_access),
        cmocka_unit_test(test_unclassified_and_risky),
        cmocka_unit_test(test_upload_and_dedupe),
        cmocka_unit_test(test_upload_both_ends),
        cmocka_unit_test(test_equipment_lookup),
        cmocka_unit_test(test_equipment_rule_random),
        cmocka_unit_test(test_dedupe_bounded),
        cmocka_unit_test(test_upload_acc),
        cmocka_unit_test(test_rules_section),
        cmocka_unit_test(test_alert_json),
        cmocka_unit_test(test_alert_json_bound),
        cmocka_unit_test(test_store_keys),
        cmocka_unit_test(test_reload_keeps_old),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
