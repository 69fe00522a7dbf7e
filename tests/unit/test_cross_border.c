/* test_cross_border.c - the cross_border rule from hand-made flow records whose GeoIP fields
 * are set directly (src_country, dst_country, src_asn, dst_asn): a peer in an allowed
 * country, in another one, without a country; first_contact the first time, again inside
 * first_contact_days and after it, by ASN; a per-equipment entry overriding the section; one
 * alert per flow when a flow is both not allowed and a first contact; payload only in the
 * equipment's own direction; the memory seeded as from Redis and told each advance; its
 * bound; the loader's defaults and the country codes it refuses.
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

#include "control/policy/policy.h"
#include "control/record/alert.h"

#define ERR_LEN 512
#define T0 1772442000ULL /* 2026-03-02T09:00:00Z, a Monday */
#define DAY 86400ULL
#define SEC 1000000ULL

/* One bank: atm-01 may reach CN and HK, with first contact (10 days); swift-gw may reach CN
 * and BE and has no first contact; branch-db keeps the defaults. */
#define POLICY_EQUIPMENT                                                                        \
    "timezone: UTC\n"                                                                           \
    "equipment:\n"                                                                              \
    "  - name: atm-01\n"                                                                        \
    "    addresses: [10.40.1.11]\n"                                                             \
    "  - name: swift-gw\n"                                                                      \
    "    addresses: [10.40.2.5]\n"                                                              \
    "  - name: branch-db\n"                                                                     \
    "    addresses: [10.40.3.0/24]\n"
#define POLICY_CROSS_BORDER                                                                     \
    "cross_border:\n"                                                                           \
    "  allowed_countries: [CN, HK]\n"                                                           \
    "  first_contact: true\n"                                                                   \
    "  first_contact_days: 10\n"                                                                \
    "  equipment:\n"                                                                            \
    "    swift-gw: {allowed_countries: [CN, BE], first_contact: false}\n"
static const char policy_text[] = POLICY_EQUIPMENT POLICY_CROSS_BORDER;

static struct tw_policy *load_text(const char *text, char *err)
{
    char path[] = "/tmp/tw-xborder-test.XXXXXX";
    int fd = mkstemp(path);
    struct tw_policy *p;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    p = tw_policy_load(path, err, ERR_LEN);
    unlink(path);
    return p;
}

static struct tw_policy *load_ok(const char *text)
{
    char err[ERR_LEN];
    struct tw_policy *p = load_text(text, err);

    if (p == NULL)
        fail_msg("policy should load: %s", err);
    return p;
}

/* A TCP flow src -> dst:443 at T0 + at_s with payload both ways; the server's country and
 * ASN as given (the client's are empty, a private address). */
static struct tw_flow_record rec(uint64_t id, const char *src, const char *dst, const char *cc,
                                 uint32_t asn, uint64_t at_s)
{
    struct tw_flow_record r;

    memset(&r, 0, sizeof(r));
    r.flow_id = id;
    r.ip_version = 4;
    assert_int_equal(inet_pton(AF_INET, src, r.src_ip), 1);
    assert_int_equal(inet_pton(AF_INET, dst, r.dst_ip), 1);
    r.ip_proto = 6;
    r.src_port = 50000;
    r.dst_port = 443;
    r.first_seen_us = r.last_seen_us = (T0 + at_s) * SEC;
    r.c2s_packets = 5;
    r.c2s_bytes = 12345;
    r.s2c_packets = 5;
    r.s2c_bytes = 900;
    r.c2s_tcp_flags = r.s2c_tcp_flags = 0x18; /* PSH|ACK: payload both ways */
    r.event = TW_EVENT_CLASSIFIED;
    r.detection_done = 1;
    snprintf(r.app, sizeof(r.app), "TLS");
    snprintf(r.dst_country, sizeof(r.dst_country), "%s", cc);
    r.dst_asn = asn;
    return r;
}

struct got {
    int n;
    struct tw_alert a[8];
};

/* keeps the cross_border alerts (the inventories here declare nothing: undeclared_destination
 * fires too) */
static void collect(void *ctx, const struct tw_alert *a)
{
    struct got *g = ctx;
    if (a->kind != TW_ALERT_CROSS_BORDER)
        return;
    if (g->n < 8)
        g->a[g->n] = *a;
    g->n++;
}

/* The cross_border alerts of one event. */
static int eval(const struct tw_policy *p, struct tw_policy_state *st,
                const struct tw_flow_record *r, struct got *g)
{
    memset(g, 0, sizeof(*g));
    tw_policy_evaluate(p, st, r, collect, g);
    return g->n;
}

struct notes {
    int n;
    char what[16][16];
    char equipment[16][64];
    int64_t day[16];
    uint32_t days[16];
};

static void on_note(void *ctx, const char *equipment, const char *what, int64_t day,
                    uint32_t days)
{
    struct notes *n = ctx;
    if (n->n < 16) {
        snprintf(n->what[n->n], sizeof(n->what[0]), "%s", what);
        snprintf(n->equipment[n->n], sizeof(n->equipment[0]), "%s", equipment);
        n->day[n->n] = day;
        n->days[n->n] = days;
    }
    n->n++;
}

static void test_allowed_and_not(void **state)
{
    struct tw_policy *p = load_ok(policy_text);
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_flow_record r;
    struct got g;

    (void)state;
    /* swift-gw (no first contact): CN and BE allowed, DE not */
    r = rec(1, "10.40.2.5", "198.51.100.7", "BE", 5432, 0);
    assert_int_equal(eval(p, st, &r, &g), 0);
    r = rec(2, "10.40.2.5", "198.51.100.8", "DE", 3320, 10);
    assert_int_equal(eval(p, st, &r, &g), 1);
    assert_string_equal(g.a[0].equipment, "swift-gw");
    assert_string_equal(g.a[0].detail,
                        "swift-gw sent 12345 bytes to 198.51.100.8 in DE (AS3320), allowed: CN, BE");
    /* HK is allowed for all, not for swift-gw: its entry replaces the list */
    r = rec(3, "10.40.2.5", "198.51.100.9", "HK", 0, 20);
    assert_int_equal(eval(p, st, &r, &g), 1);
    assert_string_equal(g.a[0].detail,
                        "swift-gw sent 12345 bytes to 198.51.100.9 in HK, allowed: CN, BE");
    /* unknown country ("" private/unknown) and a malformed one raise nothing */
    r = rec(4, "10.40.2.5", "198.51.100.10", "", 3320, 30);
    assert_int_equal(eval(p, st, &r, &g), 0);
    r = rec(5, "10.40.2.5", "198.51.100.11", "de", 0, 40);
    assert_int_equal(eval(p, st, &r, &g), 0);
    tw_policy_state_free(st);
    tw_policy_free(p);
}

static void test_one_alert_per_flow(void **state)
{
    struct tw_policy *p = load_ok(policy_text);
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_flow_record r;
    struct got g;

    (void)state;
    /* atm-01 to DE: not allowed and a first contact (country and ASN): one alert saying both */
    r = rec(10, "10.40.1.11", "198.51.100.20", "DE", 3320, 0);
    assert_int_equal(eval(p, st, &r, &g), 1);
    assert_string_equal(g.a[0].detail,
                        "atm-01 sent 12345 bytes to 198.51.100.20 in DE (AS3320), allowed: CN, HK; "
                        "first contact with DE and AS3320 in 10 days");
    /* the same flow again (an update, then its end) raises nothing more */
    r.event = TW_EVENT_UPDATE;
    r.c2s_bytes = 99999;
    assert_int_equal(eval(p, st, &r, &g), 0);
    r.event = TW_EVENT_END;
    assert_int_equal(eval(p, st, &r, &g), 0);
    /* another flow to DE: still not allowed (one alert for that flow), no longer a first contact */
    r = rec(11, "10.40.1.11", "198.51.100.21", "DE", 3320, 60);
    assert_int_equal(eval(p, st, &r, &g), 1);
    assert_null(strstr(g.a[0].detail, "first contact"));
    /* rules: cross_border: {enabled: false} silences it */
    tw_policy_free(p);
    p = load_ok(POLICY_EQUIPMENT "rules:\n  cross_border: {enabled: false}\n" POLICY_CROSS_BORDER);
    r = rec(12, "10.40.1.11", "198.51.100.22", "FR", 0, 120);
    assert_int_equal(eval(p, st, &r, &g), 0);
    tw_policy_state_free(st);
    tw_policy_free(p);
}

static void test_first_contact_days(void **state)
{
    struct tw_policy *p = load_ok(policy_text);
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct notes notes = {0};
    struct tw_flow_record r;
    struct got g;

    (void)state;
    tw_policy_state_on_reached(st, on_note, &notes);
    /* CN is allowed: the first flow is a first contact, told to the store */
    r = rec(20, "10.40.1.11", "198.51.100.30", "CN", 4134, 0);
    assert_int_equal(eval(p, st, &r, &g), 1);
    assert_string_equal(g.a[0].detail, "atm-01 sent 12345 bytes to 198.51.100.30 in CN (AS4134); "
                                       "first contact with CN and AS4134 in 10 days");
    assert_int_equal(notes.n, 2);
    assert_string_equal(notes.what[0], "CN");
    assert_string_equal(notes.what[1], "AS4134");
    assert_string_equal(notes.equipment[0], "atm-01");
    assert_int_equal(notes.day[0], (int64_t)(T0 / DAY));
    assert_int_equal(notes.days[0], 10);
    /* the same day again: nothing, and nothing new to store */
    r = rec(21, "10.40.1.11", "198.51.100.31", "CN", 4134, 3600);
    assert_int_equal(eval(p, st, &r, &g), 0);
    assert_int_equal(notes.n, 2);
    /* 9 days later: inside the 10 days, no alert, the day moves forward (stored) */
    r = rec(22, "10.40.1.11", "198.51.100.31", "CN", 4134, 9 * DAY);
    assert_int_equal(eval(p, st, &r, &g), 0);
    assert_int_equal(notes.n, 4);
    assert_int_equal(notes.day[2], (int64_t)(T0 / DAY + 9));
    /* a new ASN in CN: a first contact with the ASN only */
    r = rec(23, "10.40.1.11", "198.51.100.32", "CN", 4837, 9 * DAY + 60);
    assert_int_equal(eval(p, st, &r, &g), 1);
    assert_string_equal(g.a[0].detail, "atm-01 sent 12345 bytes to 198.51.100.32 in CN (AS4837); "
                                       "first contact with AS4837 in 10 days");
    /* 19 days: 10 after the last contact, the window is over: a first contact again */
    r = rec(24, "10.40.1.11", "198.51.100.31", "CN", 4134, 19 * DAY);
    assert_int_equal(eval(p, st, &r, &g), 1);
    assert_non_null(strstr(g.a[0].detail, "first contact with CN and AS4134 in 10 days"));
    /* a packet time in the past (an old capture replayed) does not move the memory back */
    int before = notes.n;
    r = rec(25, "10.40.1.11", "198.51.100.31", "CN", 4134, 2 * DAY);
    assert_int_equal(eval(p, st, &r, &g), 0);
    assert_int_equal(notes.n, before);
    /* swift-gw has first_contact off: a new allowed country raises nothing, stores nothing */
    r = rec(26, "10.40.2.5", "198.51.100.40", "BE", 5432, 19 * DAY);
    assert_int_equal(eval(p, st, &r, &g), 0);
    assert_int_equal(notes.n, before);
    /* branch-db has the defaults: HK allowed, first contact on */
    r = rec(27, "10.40.3.9", "198.51.100.41", "HK", 0, 19 * DAY);
    assert_int_equal(eval(p, st, &r, &g), 1);
    assert_string_equal(g.a[0].detail, "branch-db sent 12345 bytes to 198.51.100.41 in HK; "
                                       "first contact with HK in 10 days");
    tw_policy_state_free(st);
    tw_policy_free(p);
}

static void test_seed_from_store(void **state)
{
    struct tw_policy *p = load_ok(policy_text);
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_flow_record r;
    struct got g;
    const char *name;
    uint32_t days;

    (void)state;
    /* which equipment a start loads: atm-01 and branch-db (first contact), not swift-gw */
    assert_int_equal(tw_policy_first_contact(p, 0, &name, &days), 1);
    assert_string_equal(name, "atm-01");
    assert_int_equal(days, 10);
    assert_int_equal(tw_policy_first_contact(p, 1, &name, &days), 0);
    assert_int_equal(tw_policy_first_contact(p, 2, &name, &days), 1);
    assert_int_equal(tw_policy_first_contact(p, 3, &name, &days), 0);
    /* what an earlier run stored: HK 3 days ago, AS4760 20 days ago */
    assert_int_equal(tw_policy_state_seed_reached(st, "atm-01", "HK", (int64_t)(T0 / DAY - 3)), 0);
    assert_int_equal(tw_policy_state_seed_reached(st, "atm-01", "AS4760", (int64_t)(T0 / DAY - 20)), 0);
    assert_int_equal(tw_policy_state_seed_reached(st, "atm-01", "hk", 1), -1);
    assert_int_equal(tw_policy_state_seed_reached(st, "atm-01", "AS0", 1), -1);
    assert_int_equal(tw_policy_state_seed_reached(st, "atm-01", "AS99999999999", 1), -1);
    r = rec(30, "10.40.1.11", "198.51.100.50", "HK", 0, 0);
    assert_int_equal(eval(p, st, &r, &g), 0);
    r = rec(31, "10.40.1.11", "198.51.100.51", "HK", 4760, 60);
    assert_int_equal(eval(p, st, &r, &g), 1);
    assert_non_null(strstr(g.a[0].detail, "first contact with AS4760 in 10 days"));
    tw_policy_state_free(st);
    tw_policy_free(p);
}

static void test_payload_direction(void **state)
{
    struct tw_policy *p = load_ok(policy_text);
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_flow_record r;
    struct got g;

    (void)state;
    /* TCP: a bare handshake (no PSH from the equipment) is no payload */
    r = rec(40, "10.40.2.5", "198.51.100.60", "DE", 0, 0);
    r.c2s_tcp_flags = 0x12;
    assert_int_equal(eval(p, st, &r, &g), 0);
    /* the peer sending (s2c PSH) is not the equipment sending */
    r.s2c_tcp_flags = 0x18;
    assert_int_equal(eval(p, st, &r, &g), 0);
    /* equipment as the server: its payload is s2c, the peer's country is src_country */
    r = rec(41, "198.51.100.61", "10.40.2.5", "", 0, 10);
    snprintf(r.src_country, sizeof(r.src_country), "RU");
    r.c2s_tcp_flags = 0x18;
    r.s2c_tcp_flags = 0x10;
    assert_int_equal(eval(p, st, &r, &g), 0);
    r.s2c_tcp_flags = 0x18;
    assert_int_equal(eval(p, st, &r, &g), 1);
    assert_string_equal(g.a[0].detail,
                        "swift-gw sent 900 bytes to 198.51.100.61 in RU, allowed: CN, BE");
    /* UDP: any datagram from the equipment */
    r = rec(42, "10.40.2.5", "198.51.100.62", "US", 0, 20);
    r.ip_proto = 17;
    r.c2s_tcp_flags = r.s2c_tcp_flags = 0;
    r.c2s_packets = 0;
    assert_int_equal(eval(p, st, &r, &g), 0);
    r.c2s_packets = 1;
    assert_int_equal(eval(p, st, &r, &g), 1);
    tw_policy_state_free(st);
    tw_policy_free(p);
}

static void test_loader(void **state)
{
    char err[ERR_LEN];
    struct tw_policy *p;
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_flow_record r;
    struct got g;

    (void)state;
    /* without the section the rule is not configured: it counts no rule and raises nothing */
    p = load_ok("equipment:\n  - {name: a, addresses: [10.0.0.1]}\n");
    assert_int_equal(tw_policy_rule_count(p), 9); /* the first round's 7 and the mirror's 2 */
    r = rec(50, "10.0.0.1", "198.51.100.70", "DE", 0, 0);
    assert_int_equal(eval(p, st, &r, &g), 0);
    tw_policy_free(p);
    /* the section alone: every country allowed, first contact off (default), 30 days */
    p = load_ok("cross_border: {}\nequipment:\n  - {name: a, addresses: [10.0.0.1]}\n");
    assert_int_equal(tw_policy_rule_count(p), 10);
    r = rec(51, "10.0.0.1", "198.51.100.70", "DE", 0, 0);
    assert_int_equal(eval(p, st, &r, &g), 0);
    tw_policy_free(p);
    /* first_contact alone: default days 30; an empty list allows no country */
    p = load_ok("cross_border: {first_contact: yes, allowed_countries: []}\n"
                "equipment:\n  - {name: a, addresses: [10.0.0.1]}\n");
    const char *name;
    uint32_t days;
    assert_int_equal(tw_policy_first_contact(p, 0, &name, &days), 1);
    assert_int_equal(days, 30);
    r = rec(52, "10.0.0.1", "198.51.100.70", "CN", 0, 0);
    assert_int_equal(eval(p, st, &r, &g), 1);
    assert_string_equal(g.a[0].detail, "a sent 12345 bytes to 198.51.100.70 in CN, allowed: none; "
                                       "first contact with CN in 30 days");
    tw_policy_free(p);
    /* the section may come before the inventory it names */
    p = load_ok("cross_border:\n  equipment:\n    a: {first_contact_days: 3650}\n"
                "equipment:\n  - {name: a, addresses: [10.0.0.1]}\n");
    tw_policy_free(p);
    /* refused: named in the message (the fixtures hold one of each, with their lines) */
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"cross_border: {allowed_countries: [cn]}\nequipment: []\n",
         "cross_border.allowed_countries[0]: expected an ISO 3166 country code of two capital "
         "letters such as CN, got \"cn\""},
        {"cross_border: {first_contact_days: 0}\nequipment: []\n",
         "cross_border.first_contact_days: expected a number of days from 1 to 3650, got \"0\""},
        {"cross_border: {first_contact: maybe}\nequipment: []\n",
         "cross_border.first_contact: expected true or false, got \"maybe\""},
        {"cross_border: {equipment: {nosuch: {first_contact: true}}}\nequipment: []\n",
         "cross_border.equipment.nosuch: expected the name of an equipment of the inventory, "
         "got \"nosuch\""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_null(p = load_text(bad[i].text, err));
        if (strstr(err, bad[i].msg) == NULL)
            fail_msg("case %zu: got %s", i, err);
    }
    tw_policy_state_free(st);
}

/* The fixture with every key (also a fuzz seed): loads, and says what it says. */
static void test_fixture(void **state)
{
    const char *d = getenv("TW_POLICY_FIXTURES");
    char path[512], err[ERR_LEN];
    struct tw_policy *p;
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_flow_record r;
    struct got g;
    const char *name;
    uint32_t days;

    (void)state;
    snprintf(path, sizeof(path), "%s/ok-cross-border.yaml", d && *d ? d : "tests/fixtures/policy");
    if ((p = tw_policy_load(path, err, sizeof(err))) == NULL)
        fail_msg("%s", err);
    assert_int_equal(tw_policy_first_contact(p, 0, &name, &days), 1);
    assert_int_equal(days, 30);
    assert_int_equal(tw_policy_first_contact(p, 1, &name, &days), 0);
    assert_int_equal(tw_policy_first_contact(p, 2, &name, &days), 1);
    assert_int_equal(days, 3650);
    r = rec(70, "10.40.2.5", "198.51.100.90", "US", 0, 0);
    assert_int_equal(eval(p, st, &r, &g), 0);
    assert_int_equal(g.n, 0);
    r = rec(71, "10.40.3.7", "198.51.100.91", "CN", 0, 0);
    assert_int_equal(eval(p, st, &r, &g), 1);
    assert_int_equal(g.a[0].severity, TW_SEV_CRITICAL);
    tw_policy_state_free(st);
    tw_policy_free(p);
}

static void test_memory_bound(void **state)
{
    struct tw_policy *p = load_ok(policy_text);
    struct tw_policy_state *st = tw_policy_state_new(1024);
    struct tw_policy_state_stats ss;
    struct tw_flow_record r;
    struct got g;

    (void)state;
    /* ASN 1 reached on day 0, then TW_REACHED_MAX more on day 1: ASN 1, the oldest, is
     * forgotten (counted) and is a first contact again; the last ones are not (CN, touched
     * by every flow, may go with AS1: the memory holds TW_REACHED_MAX entries in all) */
    r = rec(60, "10.40.1.11", "198.51.100.80", "CN", 1, 0);
    eval(p, st, &r, &g);
    for (uint32_t i = 0; i < TW_REACHED_MAX; i++) {
        r = rec(61 + i, "10.40.1.11", "198.51.100.80", "CN", 100 + i, DAY);
        eval(p, st, &r, &g);
    }
    tw_policy_state_get_stats(st, &ss);
    assert_true(ss.reached_forgotten >= 1);
    r = rec(5000, "10.40.1.11", "198.51.100.80", "CN", 1, DAY + 60);
    assert_int_equal(eval(p, st, &r, &g), 1);
    assert_non_null(strstr(g.a[0].detail, "AS1 in 10 days"));
    r = rec(5001, "10.40.1.11", "198.51.100.80", "CN", 100 + TW_REACHED_MAX - 1, DAY + 60);
    eval(p, st, &r, &g);
    assert_true(g.n == 0 || strstr(g.a[0].detail, "first contact with CN in") != NULL);
    tw_policy_state_free(st);
    tw_policy_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allowed_and_not),
        cmocka_unit_test(test_one_alert_per_flow),
        cmocka_unit_test(test_first_contact_days),
        cmocka_unit_test(test_seed_from_store),
        cmocka_unit_test(test_payload_direction),
        cmocka_unit_test(test_loader),
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_memory_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
