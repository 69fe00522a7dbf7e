/* test_fleet_merge.c - many sensors, many banks:
 *   - merge order (control/query/merge.c): newest first, ties by sensor then by each
 *     sensor's own order, --limit cuts after ordering;
 *   - the time of a cell: epoch seconds with decimals to µs, dates and hours as digits;
 *   - the keys of a bank (control/record/fleet_keys.h): namespace, registry, reader patterns;
 *   - the registration (control/store/sensor_registry.h): its JSON and its commands.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/query/query.h"
#include "control/record/fleet_keys.h"
#include "control/store/sensor_registry.h"

static void merge_orders_newest_first_with_stable_ties(void **state)
{
    (void)state;
    /* two sensors' answers, each newest first already; sensor 1 has a tie with sensor 0 */
    struct tq_merge_row rows[] = {
        {.key = 50, .sensor = 0, .seq = 0}, {.key = 30, .sensor = 0, .seq = 1},
        {.key = 10, .sensor = 0, .seq = 2}, {.key = 40, .sensor = 1, .seq = 0},
        {.key = 30, .sensor = 1, .seq = 1}, {.key = 30, .sensor = 1, .seq = 2},
    };
    const struct { uint64_t key; size_t sensor, seq; } want[] = {
        {50, 0, 0}, {40, 1, 0}, {30, 0, 1}, {30, 1, 1}, {30, 1, 2}, {10, 0, 2}};
    size_t n = tq_merge_order(rows, 6, 0);

    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(rows[i].key, want[i].key);
        assert_int_equal(rows[i].sensor, want[i].sensor);
        assert_int_equal(rows[i].seq, want[i].seq);
    }
}

static void merge_limit_cuts_after_ordering(void **state)
{
    (void)state;
    struct tq_merge_row rows[] = {{.key = 1, .sensor = 0}, {.key = 3, .sensor = 1},
                                  {.key = 2, .sensor = 2}};

    assert_int_equal(tq_merge_order(rows, 3, 2), 2);
    assert_int_equal(rows[0].key, 3);
    assert_int_equal(rows[1].key, 2);
    assert_int_equal(tq_merge_order(rows, 3, 10), 3); /* a limit above n: all */
    assert_int_equal(tq_merge_order(rows, 0, 5), 0);
}

static void text_key_reads_epochs_and_dates(void **state)
{
    (void)state;
    assert_int_equal(tq_merge_text_key("1772442006.121500"), 1772442006121500ULL);
    assert_int_equal(tq_merge_text_key("1772442006.1215"), 1772442006121500ULL);
    assert_int_equal(tq_merge_text_key("1772442006"), 1772442006000000ULL);
    assert_int_equal(tq_merge_text_key("1772442006.1234567"), 1772442006123456ULL);
    /* summary buckets: dates order as their digits */
    assert_int_equal(tq_merge_text_key("2026-03-02"), 20260302ULL);
    assert_int_equal(tq_merge_text_key("2026-03-02T09:00Z"), 202603020900ULL);
    assert_true(tq_merge_text_key("2026-03-02T10:00Z") > tq_merge_text_key("2026-03-02T09:00Z"));
    /* a table line: its first word */
    assert_int_equal(tq_merge_text_key("2026-03-02          3   100"), 20260302ULL);
    assert_int_equal(tq_merge_text_key("-"), 0);
    assert_int_equal(tq_merge_text_key(""), 0);
}

static void bank_keys_and_patterns(void **state)
{
    char b[256];

    (void)state;
    assert_int_equal(tw_key_namespace(b, sizeof(b), "A", "s1"), 4);
    assert_string_equal(b, "A/s1");
    tw_key_namespace(b, sizeof(b), "", "s1");
    assert_string_equal(b, "s1");
    tw_key_namespace(b, sizeof(b), NULL, "s1");
    assert_string_equal(b, "s1");
    tw_key_bank_sensors(b, sizeof(b), "A");
    assert_string_equal(b, "tw:{bank:A}:sensors");
    tw_key_bank_sensors(b, sizeof(b), "");
    assert_string_equal(b, "tw:{bank:}:sensors");
    tw_key_bank_sensor(b, sizeof(b), "A", "s1");
    assert_string_equal(b, "tw:{bank:A}:sensor:s1");
    tw_key_bank_first_seen(b, sizeof(b), "A", "s1");
    assert_string_equal(b, "tw:{bank:A}:first-seen:s1");
    tw_key_bank_members(b, sizeof(b), "");
    assert_string_equal(b, "tw:{bank:}:members");
    tw_key_acl_bank_reader(b, sizeof(b), "A");
    assert_string_equal(b, "%R~tw:{A/* %R~tw:{bank:A}:*");
    assert_int_equal(tw_key_acl_bank_reader(b, sizeof(b), ""), -1);
    /* a sensor's own registration keys, no other sensor's */
    tw_key_acl_registration(b, sizeof(b), "A", "s1");
    assert_string_equal(b, "~tw:{bank:A}:sensor:s1 ~tw:{bank:A}:first-seen:s1 ~tw:{bank:A}:members ~tw:banks");
    tw_key_acl_registration(b, sizeof(b), "", "s1");
    assert_string_equal(b, "~tw:{bank:}:sensor:s1 ~tw:{bank:}:first-seen:s1 ~tw:{bank:}:members");
    assert_int_equal(tw_key_namespace(b, 4, "A", "s1"), -1); /* too small */
    tw_namespace_file_part("A/s1", b, sizeof(b));
    assert_string_equal(b, "A+s1");
    assert_true(tw_fleet_valid_name("branch-1.x_y"));
    assert_false(tw_fleet_valid_name("a/b"));
    assert_false(tw_fleet_valid_name("a*"));
    assert_false(tw_fleet_valid_name(""));
}

/* Does the RESP text of b hold s? */
static const void *has(const struct tw_buf *b, const char *s)
{
    return memmem(b->p, b->len, s, strlen(s));
}

static void registration_json_and_commands(void **state)
{
    struct tw_sensor_info info;
    struct tw_buf b = {0};
    char json[TW_REG_JSON_MAX];

    (void)state;
    assert_int_equal(tw_sensor_info_init(&info, "A", "s1", "0.1.0", ""), 0);
    assert_int_equal(tw_sensor_info_init(&info, "A*", "s1", "0.1.0", ""), -1);
    assert_int_equal(tw_sensor_info_init(&info, "A", "s/1", "0.1.0", ""), -1);
    assert_int_equal(tw_sensor_info_init(&info, "A", "s1", "0.1.0", ""), 0);
    snprintf(info.hostname, sizeof(info.hostname), "h\"x"); /* quoted in JSON */
    assert_true(tw_sensor_info_json(&info, 1000000, 2500000, json, sizeof(json)) > 0);
    assert_string_equal(json, "{\"sensor\":\"s1\",\"bank\":\"A\",\"namespace\":\"A/s1\","
                              "\"version\":\"0.1.0\",\"hostname\":\"h\\\"x\",\"run\":\"00000000000f4240\","
                              "\"started\":1.000000,\"last_seen\":2.500000,\"geoip_sha256\":\"\","
                              "\"policy_sha256\":\"\",\"pubkey\":\"\"}");
    /* SET registration EX, SET first-seen NX EX, EXPIRE, SADD members, EXPIRE, SADD tw:banks */
    assert_int_equal(tw_sensor_registry_put(&b, &info, 1000000, 2500000, 86400), 6);
    assert_false(b.oom);
    assert_non_null(has(&b, "$3\r\nSET\r\n$21\r\ntw:{bank:A}:sensor:s1\r\n"));
    assert_non_null(has(&b, "$3\r\nSET\r\n$25\r\ntw:{bank:A}:first-seen:s1\r\n$1\r\n2\r\n$2\r\nNX\r\n$2\r\nEX\r\n$5\r\n86400\r\n"));
    assert_non_null(has(&b, "$4\r\nSADD\r\n$19\r\ntw:{bank:A}:members\r\n$2\r\ns1\r\n"));
    assert_non_null(has(&b, "$4\r\nSADD\r\n$8\r\ntw:banks\r\n$1\r\nA\r\n"));
    assert_null(has(&b, "HSET")); /* the one hash every sensor could overwrite: gone */
    free(b.p);
    /* without a bank: no SADD of tw:banks */
    memset(&b, 0, sizeof(b));
    assert_int_equal(tw_sensor_info_init(&info, "", "s1", "0.1.0", ""), 0);
    assert_int_equal(tw_sensor_registry_put(&b, &info, 1000000, 2500000, 86400), 5);
    assert_null(has(&b, "tw:banks"));
    assert_non_null(has(&b, "tw:{bank:}:sensor:s1"));
    free(b.p);
    /* no TTL: refused (a registration must leave when its sensor does) */
    memset(&b, 0, sizeof(b));
    assert_int_equal(tw_sensor_registry_put(&b, &info, 1000000, 2500000, 0), -1);
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merge_orders_newest_first_with_stable_ties),
        cmocka_unit_test(merge_limit_cuts_after_ordering),
        cmocka_unit_test(text_key_reads_epochs_and_dates),
        cmocka_unit_test(bank_keys_and_patterns),
        cmocka_unit_test(registration_json_and_commands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
