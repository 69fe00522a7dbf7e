/* test_syslog_format.c - an alert as an RFC 5424 message (control/store/syslog_format.h):
 * the exact text of a plain alert, the escaping of hostile bytes from the wire (a server name
 * with a newline, quote, bracket, backslash, ESC and a byte above 0x7f), the facilities, and
 * the buffer bound (TW_SYSLOG_MSG_MAX for the worst alert; -1 for a buffer too small). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "control/store/syslog_format.h"

/* 10.40.1.11:41000 -> 198.51.100.7:8080 tcp, 2026-03-02T09:00:01.050300Z */
static void plain_alert(struct tw_alert *a)
{
    memset(a, 0, sizeof(*a));
    a->flow_id = 0x9bc9850277ad888dull;
    a->ts_us = 1772442001050300ull;
    memcpy(a->src_ip, (uint8_t[]){10, 40, 1, 11}, 4);
    memcpy(a->dst_ip, (uint8_t[]){198, 51, 100, 7}, 4);
    a->src_port = 41000;
    a->dst_port = 8080;
    a->ip_version = 4;
    a->ip_proto = 6;
    a->kind = TW_ALERT_UNDECLARED_DESTINATION;
    a->severity = TW_SEV_MEDIUM;
    strcpy(a->equipment, "atm-ctrl-01");
    strcpy(a->vendor, "Vendor A");
    strcpy(a->app, "HTTP");
    strcpy(a->server_name, "www.example");
    strcpy(a->detail, "atm-ctrl-01 opened tcp/8080");
}

static void test_plain(void **state)
{
    struct tw_alert a;
    char buf[TW_SYSLOG_MSG_MAX];
    (void)state;

    plain_alert(&a);
    int n = tw_syslog_format(buf, sizeof(buf), &a, 16, "sensor-host", "s1", 4242);
    /* local0 (16) * 8 + warning (4) = 132 */
    const char *want =
        "<132>1 2026-03-02T09:00:01.050300Z sensor-host tapwatch 4242 undeclared_destination "
        "[tapwatch@32473 kind=\"undeclared_destination\" rule=\"TW-R01\" severity=\"medium\" "
        "sensor=\"s1\" "
        "equipment=\"atm-ctrl-01\" vendor=\"Vendor A\" src=\"10.40.1.11\" src_port=\"41000\" "
        "dst=\"198.51.100.7\" dst_port=\"8080\" ip_proto=\"6\" app=\"HTTP\" "
        "server_name=\"www.example\" flow_id=\"9bc9850277ad888d\" policy_sha256=\"\" "
        "geoip_sha256=\"\"] atm-ctrl-01 opened tcp/8080";
    assert_int_equal(n, (int)strlen(want));
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static void test_hostile(void **state)
{
    struct tw_alert a;
    char buf[TW_SYSLOG_MSG_MAX];
    (void)state;

    plain_alert(&a);
    a.severity = TW_SEV_CRITICAL;
    /* what an HTTP Host or a TLS SNI may carry */
    strcpy(a.server_name, "a\"b]c\\d\ne\x1b[41mf\xff");
    strcpy(a.detail, "x\\y\r\n<13>1 fake");
    int n = tw_syslog_format(buf, sizeof(buf), &a, 3, "host name\n", "s1", 1);
    assert_true(n > 0);
    buf[n] = '\0';
    for (int i = 0; i < n; i++) /* one line of printable ASCII */
        assert_true(buf[i] >= 0x20 && buf[i] < 0x7f);
    assert_non_null(strstr(buf, "server_name=\"a\\\"b\\]c\\\\d\\x0Ae\\x1B[41mf\\xFF\""));
    assert_non_null(strstr(buf, "] x\\\\y\\x0D\\x0A<13>1 fake"));
    /* daemon (3) * 8 + crit (2); the host's space and newline dropped */
    assert_memory_equal(buf, "<26>1 2026-03-02T09:00:01.050300Z hostname tapwatch 1 ", 54);
}

static void test_bounds(void **state)
{
    struct tw_alert a;
    char buf[TW_SYSLOG_MSG_MAX], host[300];
    (void)state;

    /* every field full of bytes that need four characters each */
    plain_alert(&a);
    memset(a.equipment, 0x01, sizeof(a.equipment) - 1);
    memset(a.vendor, 0x01, sizeof(a.vendor) - 1);
    memset(a.app, 0x01, sizeof(a.app) - 1);
    memset(a.server_name, 0x01, sizeof(a.server_name));
    memset(a.detail, 0x01, sizeof(a.detail));
    memset(a.dst_ip, 0xff, 16);
    a.ip_version = 6;
    memset(host, 'h', sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    int n = tw_syslog_format(buf, sizeof(buf), &a, 23, host, "s1", 2147483647);
    assert_true(n > 0 && n < (int)sizeof(buf));
    assert_int_equal(tw_syslog_format(buf, (size_t)n - 1, &a, 23, host, "s1", 2147483647), -1);
    assert_int_equal(tw_syslog_format(buf, (size_t)n, &a, 23, host, "s1", 2147483647), n);
}

static void test_facility(void **state)
{
    (void)state;
    assert_int_equal(tw_syslog_facility("kern"), 0);
    assert_int_equal(tw_syslog_facility("daemon"), 3);
    assert_int_equal(tw_syslog_facility("local0"), 16);
    assert_int_equal(tw_syslog_facility("local7"), 23);
    assert_int_equal(tw_syslog_facility("local8"), -1);
    assert_int_equal(tw_syslog_facility(""), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_facility),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
