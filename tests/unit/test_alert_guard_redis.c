/* test_alert_guard_redis.c - the alert writer (control/store/alert_writer.c) against a real
 * redis-server (scripts/redis-local.sh, a private one on a unix socket): the write guard of
 * flowless alerts. The same flowless alert written twice makes one stream entry; the same
 * subject in another period makes a second one; another subject in the same period too. A
 * flow's alert keeps its guard alert-seen:<flow_id>:<kind>. Stream entries carry rule,
 * policy_sha256 and the empty flow fields, and read back (tw_alert_from_fields) as written;
 * alerts that name no equipment count in no summary, silent_equipment counts in its
 * equipment's.
 *
 * Run from the repository root (tests/run.sh does). Exit 77 without redis-server.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "control/record/alert.h"
#include "control/record/keys.h"
#include "control/store/alert_writer.h"

#define SENSOR "guard-t"
#define T0 1772442000ULL /* 2026-03-02T09:00:00Z */
static const char sha[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static char dir[64], sock[128];
static redisContext *rc;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static long long integer(const char *fmt, const char *key)
{
    redisReply *r = redisCommand(rc, fmt, key);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_INTEGER)
        fail_msg("%s %s: not an integer reply", fmt, key);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static struct tw_alert flowless(unsigned kind, const char *equipment, uint64_t period)
{
    struct tw_alert a;

    memset(&a, 0, sizeof(a));
    a.kind = (uint8_t)kind;
    a.severity = TW_SEV_MEDIUM;
    a.record_hour = TW_HOUR_UNKNOWN;
    a.ts_us = (T0 + period % 1000) * 1000000ULL;
    a.guard_period = period;
    snprintf(a.equipment, sizeof(a.equipment), "%s", equipment);
    snprintf(a.detail, sizeof(a.detail), "test alert");
    snprintf(a.policy_sha256, sizeof(a.policy_sha256), "%s", sha);
    return a;
}

/* Writes the alerts through a new writer and waits until Redis acknowledged them all. */
static void write_all(const struct tw_alert *a, size_t n)
{
    char err[256];
    struct tw_alert_store_params p = {
        .w = {.url = NULL, .sensor = SENSOR, .retention_s = 3600, .batch = 4, .flush_ms = 1},
        .buffer_items = 64};
    char url[160];
    struct tw_alert_store_stats st;

    snprintf(url, sizeof(url), "unix://%s", sock);
    p.w.url = url;
    struct tw_alert_store *s = tw_alert_store_open(&p, err, sizeof(err));
    if (s == NULL)
        fail_msg("open: %s", err);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tw_alert_store_put_alert(s, &a[i]), 0);
    uint64_t t0 = mono_ms();
    while (tw_alert_store_drain(s, 100) > 0 && mono_ms() - t0 < 10000)
        ;
    tw_alert_store_get_stats(s, &st);
    assert_int_equal(st.pending, 0);
    assert_int_equal(st.errors, 0);
    tw_alert_store_close(s);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/tw-guard.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "bash scripts/redis-local.sh start %s", dir);
    FILE *f = popen(cmd, "r");
    if (f == NULL || fgets(sock, sizeof(sock), f) == NULL) {
        if (f)
            pclose(f);
        return -1;
    }
    pclose(f);
    sock[strcspn(sock, "\n")] = '\0';
    rc = redisConnectUnix(sock);
    return rc == NULL || rc->err ? -1 : 0;
}

static int teardown(void **state)
{
    char cmd[256];
    (void)state;
    if (rc)
        redisFree(rc);
    snprintf(cmd, sizeof(cmd), "bash scripts/redis-local.sh stop %s >/dev/null; rm -rf %s", dir,
             dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_flowless_guard(void **state)
{
    char key[TW_KEY_LEN], stream[TW_KEY_LEN];
    (void)state;

    tw_key_alerts(stream, sizeof(stream), SENSOR);
    /* the same silence twice (a replay, a re-sent batch): one entry */
    struct tw_alert silent = flowless(TW_ALERT_SILENT_EQUIPMENT, "srv-02", T0 + 3600);
    struct tw_alert twice[2] = {silent, silent};
    write_all(twice, 2);
    assert_int_equal(integer("XLEN %s", stream), 1);
    write_all(&silent, 1);
    assert_int_equal(integer("XLEN %s", stream), 1);
    tw_key_alert_guard(key, sizeof(key), SENSOR, &silent);
    assert_string_equal(key, "tw:{" SENSOR "}:alert-seen:silent_equipment:srv-02:1772445600");
    assert_int_equal(integer("EXISTS %s", key), 1);

    /* the next silence of the same equipment: a second entry; another equipment: a third */
    struct tw_alert later = flowless(TW_ALERT_SILENT_EQUIPMENT, "srv-02", T0 + 7200);
    struct tw_alert other = flowless(TW_ALERT_SILENT_EQUIPMENT, "atm-01", T0 + 3600);
    struct tw_alert two[2] = {later, other};
    write_all(two, 2);
    assert_int_equal(integer("XLEN %s", stream), 3);

    /* an unknown device: once per address per day */
    struct tw_alert dev = flowless(TW_ALERT_UNKNOWN_DEVICE, "", 20514);
    dev.ip_version = 4;
    inet_pton(AF_INET, "10.40.7.99", dev.src_ip);
    dev.has_mac = 1;
    memcpy(dev.src_mac, "\x02\x00\x5e\x10\xab\xff", 6);
    struct tw_alert dev_again = dev, dev_next_day = dev;
    dev_again.ts_us += 600000000ULL; /* later the same day */
    dev_next_day.guard_period = 20515;
    struct tw_alert devs[3] = {dev, dev_again, dev_next_day};
    write_all(devs, 3);
    assert_int_equal(integer("XLEN %s", stream), 5);

    /* the mirror: subject "mirror" */
    struct tw_alert m = flowless(TW_ALERT_MIRROR_SILENT, "", T0);
    struct tw_alert ms[2] = {m, m};
    write_all(ms, 2);
    assert_int_equal(integer("XLEN %s", stream), 6);
    tw_key_alert_guard(key, sizeof(key), SENSOR, &m);
    assert_int_equal(integer("EXISTS %s", key), 1);

    /* a flow's alert keeps its own guard, whatever its guard_period */
    struct tw_alert fa = flowless(TW_ALERT_UNDECLARED_DESTINATION, "atm-01", 1);
    fa.flow_id = 0xabcdef0123456789ULL;
    fa.ip_version = 4;
    inet_pton(AF_INET, "10.20.120.5", fa.src_ip);
    inet_pton(AF_INET, "198.51.100.9", fa.dst_ip);
    fa.dst_port = 443;
    fa.ip_proto = 6;
    struct tw_alert fa2 = fa;
    fa2.guard_period = 2;
    struct tw_alert fas[2] = {fa, fa2};
    write_all(fas, 2);
    assert_int_equal(integer("XLEN %s", stream), 7);
    assert_int_equal(integer("EXISTS %s", "tw:{" SENSOR "}:alert-seen:abcdef0123456789:"
                                          "undeclared_destination"),
                     1);

    /* summaries: silent_equipment counts in its equipment's; no equipment, no summary key */
    tw_key_summary(key, sizeof(key), SENSOR, "srv-02", 'd', (T0 + 600) / 86400, NULL);
    redisReply *r = redisCommand(rc, "HGET %s alerts:silent_equipment", key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "2");
    freeReplyObject(r);
    r = redisCommand(rc, "KEYS tw:{" SENSOR "}:sum::*");
    assert_non_null(r);
    assert_int_equal(r->elements, 0);
    freeReplyObject(r);

    /* every entry reads back as written: kind, rule, hashes, empty flow fields */
    r = redisCommand(rc, "XRANGE %s - +", stream);
    assert_non_null(r);
    assert_int_equal(r->elements, 7);
    unsigned kinds[7] = {TW_ALERT_SILENT_EQUIPMENT, TW_ALERT_SILENT_EQUIPMENT,
                         TW_ALERT_SILENT_EQUIPMENT, TW_ALERT_UNKNOWN_DEVICE,
                         TW_ALERT_UNKNOWN_DEVICE,   TW_ALERT_MIRROR_SILENT,
                         TW_ALERT_UNDECLARED_DESTINATION};
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *fv = r->element[i]->element[1];
        const char *f[32], *v[32];
        size_t n = 0;
        const char *rule = NULL, *flow_id = NULL;
        for (size_t j = 0; j + 1 < fv->elements && n < 32; j += 2, n++) {
            f[n] = fv->element[j]->str;
            v[n] = fv->element[j + 1]->str;
            if (strcmp(f[n], "rule") == 0)
                rule = v[n];
            if (strcmp(f[n], "flow_id") == 0)
                flow_id = v[n];
        }
        struct tw_alert back;
        char err[256];
        if (tw_alert_from_fields(&back, f, v, n, err, sizeof(err)) != 0)
            fail_msg("entry %zu: %s", i, err);
        assert_int_equal(back.kind, kinds[i]);
        assert_non_null(rule);
        assert_string_equal(rule, tw_alert_rule_id(kinds[i]));
        assert_string_equal(back.policy_sha256, sha);
        assert_non_null(flow_id);
        if (tw_alert_kind_flowless(kinds[i]))
            assert_string_equal(flow_id, "");
        else
            assert_string_equal(flow_id, "abcdef0123456789");
        if (kinds[i] == TW_ALERT_UNKNOWN_DEVICE) {
            char ip[64];
            tw_addr_text(back.src_ip, back.ip_version == 4, ip, sizeof(ip));
            assert_string_equal(ip, "10.40.7.99");
            assert_int_equal(back.has_mac, 1);
            assert_memory_equal(back.src_mac, "\x02\x00\x5e\x10\xab\xff", 6);
        }
    }
    freeReplyObject(r);
}

int main(void)
{
    if (system("command -v redis-server >/dev/null 2>&1") != 0) {
        printf("skip: redis-server not installed\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flowless_guard),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
