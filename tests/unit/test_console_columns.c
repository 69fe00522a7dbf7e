/* test_console_columns.c - the console's Flows and Alerts tables (control/console/columns.c):
 * their column names are those tapwatch-query prints, in its order, and each cell is the
 * tool's table cell, made from the tool's JSON objects written out below:
 *   - a finished IPv4 TLS flow, an active IPv6 flow in a VXLAN tunnel with no application or
 *     server name ("-"), a protocol without a name (number);
 *   - an alert of a flow (endpoints ip:port), a flowless unknown_device alert (its address
 *     alone, DST "-"), an alert with an empty field ("-");
 *   - times kept exact to the microsecond (read from their JSON text, never a double);
 *   - a column of neither list, a zero-length output: refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "control/console/console.h"

/* a record as the sensor writes it (control/record/record_json.c), keys the page reads */
static const char flow_v4[] =
    "{\"flow_id\":\"c5fd35daeaf59c88\",\"event\":\"end\",\"ip_version\":4,"
    "\"src_ip\":\"10.1.2.3\",\"src_port\":51000,\"dst_ip\":\"93.184.216.34\",\"dst_port\":443,"
    "\"ip_proto\":6,\"vlan\":0,\"tunnel\":\"\",\"tunnel_id\":0,"
    "\"first_seen\":1772449199.999999,\"last_seen\":1772449216.567517,"
    "\"c2s_packets\":12,\"c2s_bytes\":1834,\"s2c_packets\":10,\"s2c_bytes\":5120,"
    "\"app\":\"TLS.Google\",\"server_name\":\"www.example.com\",\"end_reason\":\"fin\"}";
static const char flow_v6[] =
    "{\"flow_id\":\"0000000000000001\",\"event\":\"update\",\"ip_version\":6,"
    "\"src_ip\":\"2001:db8::1\",\"src_port\":0,\"dst_ip\":\"2001:db8::2\",\"dst_port\":0,"
    "\"ip_proto\":132,\"tunnel\":\"vxlan\",\"tunnel_id\":4242,"
    "\"first_seen\":1772449200.000000,\"last_seen\":1772449200.000999,"
    "\"c2s_packets\":1,\"c2s_bytes\":98,\"s2c_packets\":0,\"s2c_bytes\":0,"
    "\"app\":\"\",\"server_name\":\"\",\"end_reason\":\"none\"}";
/* alerts as tw_alert_to_json writes them (control/record/alert.c) */
static const char alert_flow[] =
    "{\"kind\":\"undeclared_destination\",\"rule\":\"TW-R01\",\"severity\":\"high\","
    "\"equipment\":\"atm-ctrl-01\",\"ts\":1772442010.050300,\"src_ip\":\"10.1.2.3\","
    "\"src_port\":51000,\"dst_ip\":\"203.0.113.9\",\"dst_port\":8443,\"ip_proto\":6,"
    "\"app\":\"TLS\",\"detail\":\"not declared\",\"flow_id\":\"c5fd35daeaf59c88\"}";
static const char alert_flowless[] =
    "{\"kind\":\"unknown_device\",\"rule\":\"TW-R09\",\"severity\":\"medium\","
    "\"equipment\":\"\",\"ts\":1772442010.000000,\"src_ip\":\"10.1.9.9\",\"src_port\":0,"
    "\"dst_ip\":\"\",\"dst_port\":0,\"ip_proto\":0,\"app\":\"\",\"detail\":\"\","
    "\"flow_id\":\"\"}";

static void expect_cells(const char *const *cols, const char *json, const char *const *want)
{
    json_object *row = json_tokener_parse(json);
    char out[256];

    assert_non_null(row);
    for (size_t c = 0; cols[c]; c++) {
        assert_int_equal(tc_column_text(cols, row, cols[c], out, sizeof(out)), 0);
        assert_string_equal(out, want[c]);
    }
    json_object_put(row);
}

static void test_names(void **state)
{
    /* control/query/cmd_flows.c col_names and cmd_alerts.c table_cols */
    static const char *const flows[] = {"TIME_UTC", "DURATION", "SRC", "DST", "PROTO", "APP",
                                        "SERVER_NAME", "C2S_PKTS", "C2S_BYTES", "S2C_PKTS",
                                        "S2C_BYTES", "TUNNEL", "END", NULL};
    static const char *const alerts[] = {"TIME_UTC", "RULE", "KIND", "SEVERITY", "EQUIPMENT",
                                         "SRC", "DST", "APP", "DETAIL", NULL};
    size_t i;
    (void)state;

    for (i = 0; flows[i]; i++)
        assert_string_equal(tc_flow_cols[i], flows[i]);
    assert_null(tc_flow_cols[i]);
    for (i = 0; alerts[i]; i++)
        assert_string_equal(tc_alert_cols[i], alerts[i]);
    assert_null(tc_alert_cols[i]);
}

static void test_flows(void **state)
{
    static const char *const v4[] = {"2026-03-02 10:59:59", "16.567s", "10.1.2.3:51000",
                                     "93.184.216.34:443", "TCP", "TLS.Google",
                                     "www.example.com", "12", "1834", "10", "5120", "-", "fin"};
    /* 999 us: 0.000s (milliseconds, cut as the tool cuts them) */
    static const char *const v6[] = {"2026-03-02 11:00:00", "0.000s", "[2001:db8::1]:0",
                                     "[2001:db8::2]:0", "132", "-", "-", "1", "98", "0", "0",
                                     "vxlan:4242", "(active)"};
    (void)state;
    expect_cells(tc_flow_cols, flow_v4, v4);
    expect_cells(tc_flow_cols, flow_v6, v6);
}

static void test_alerts(void **state)
{
    static const char *const a[] = {"2026-03-02 09:00:10", "TW-R01", "undeclared_destination",
                                    "high", "atm-ctrl-01", "10.1.2.3:51000",
                                    "203.0.113.9:8443", "TLS", "not declared"};
    static const char *const b[] = {"2026-03-02 09:00:10", "TW-R09", "unknown_device", "medium",
                                    "-", "10.1.9.9", "-", "-", "-"};
    (void)state;
    expect_cells(tc_alert_cols, alert_flow, a);
    expect_cells(tc_alert_cols, alert_flowless, b);
}

static void test_refused(void **state)
{
    json_object *row = json_tokener_parse(flow_v4);
    static const char *const other[] = {"flows", NULL};
    char out[8];
    (void)state;

    assert_int_equal(tc_column_text(tc_flow_cols, row, "flow_id", out, sizeof(out)), -ENOENT);
    assert_int_equal(tc_column_text(tc_alert_cols, row, "DURATION", out, sizeof(out)), -ENOENT);
    assert_int_equal(tc_column_text(other, row, "TIME_UTC", out, sizeof(out)), -ENOENT);
    assert_int_equal(tc_column_text(tc_flow_cols, row, "TIME_UTC", out, 0), -EINVAL);
    /* a cell longer than out: cut, still a string */
    assert_int_equal(tc_column_text(tc_flow_cols, row, "SERVER_NAME", out, sizeof(out)), 0);
    assert_string_equal(out, "www.exa");
    json_object_put(row);
    /* several sensors: a list or a glob, as tapwatch-query decides */
    assert_false(tc_sensors_several(NULL));
    assert_false(tc_sensors_several("s1"));
    assert_true(tc_sensors_several("s1,s2"));
    assert_true(tc_sensors_several("branch-*"));
    assert_true(tc_sensors_several("b?"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_flows),
        cmocka_unit_test(test_alerts),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
