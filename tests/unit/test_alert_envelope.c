/* test_alert_envelope.c - what every alert carries, whatever raised it: rule, policy_sha256,
 * geoip_sha256 and src_mac in its JSON; the empty flow fields of a flowless alert
 * (unknown_device keeps its address); the JSON read back from stream fields and written again
 * unchanged, entries older than rule and the hashes; the flowless write guard keys; the
 * policy's SHA-256 against sha256sum of the same file; the policy hook stamping the alerts of
 * flow events and the flowless alerts handed to it (tw_policy_hook_emit), after a reload too.
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
#include <json-c/json.h>

#include "control/plane/policy_hook.h"
#include "control/policy/policy.h"
#include "control/record/alert.h"
#include "control/record/keys.h"
#include "control/store/sink.h"

#define T0 1772442000ULL /* 2026-03-02T09:00:00Z, a Monday */
#define SEC 1000000ULL
static const char sha_a[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char sha_b[] = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

static void set_ip(uint8_t *ip, const char *text)
{
    memset(ip, 0, 16);
    if (inet_pton(AF_INET, text, ip) != 1)
        assert_int_equal(inet_pton(AF_INET6, text, ip), 1);
}

/* A flow's alert with every field set. */
static struct tw_alert flow_alert(void)
{
    struct tw_alert a;

    memset(&a, 0, sizeof(a));
    a.kind = TW_ALERT_UPLOAD_VOLUME;
    a.severity = TW_SEV_HIGH;
    a.flow_id = 0x00ab00cd00ef0012ULL;
    a.record_hour = 492345;
    a.ts_us = (T0 + 10) * SEC + 250;
    a.ip_version = 4;
    set_ip(a.src_ip, "10.40.1.11");
    set_ip(a.dst_ip, "198.51.100.9");
    a.src_port = 50000;
    a.dst_port = 443;
    a.ip_proto = 6;
    snprintf(a.equipment, sizeof(a.equipment), "atm-ctrl-01");
    snprintf(a.vendor, sizeof(a.vendor), "Vendor A");
    snprintf(a.app, sizeof(a.app), "TLS");
    snprintf(a.server_name, sizeof(a.server_name), "up.example");
    snprintf(a.detail, sizeof(a.detail), "atm-ctrl-01 sent 9000 bytes");
    snprintf(a.policy_sha256, sizeof(a.policy_sha256), "%s", sha_a);
    snprintf(a.geoip_sha256, sizeof(a.geoip_sha256), "%s", sha_b);
    return a;
}

/* A flowless alert of kind with junk in its flow fields (they must not show). */
static struct tw_alert flowless_alert(unsigned kind, const char *addr, const char *equipment)
{
    struct tw_alert a = flow_alert();

    a.kind = (uint8_t)kind;
    a.flow_id = 0x1234; /* the producer should leave these zero; the JSON must not trust it */
    a.record_hour = 492345;
    a.guard_period = 20514;
    snprintf(a.equipment, sizeof(a.equipment), "%s", equipment);
    if (addr != NULL) {
        a.ip_version = strchr(addr, ':') ? 6 : 4;
        set_ip(a.src_ip, addr);
    } else {
        a.ip_version = 0;
        memset(a.src_ip, 0, 16);
    }
    return a;
}

static json_object *to_json(const struct tw_alert *a, char *buf, size_t len)
{
    int n = tw_alert_to_json(a, "b-7", buf, len);
    assert_true(n > 0 && (size_t)n < TW_ALERT_JSON_MAX);
    json_object *o = json_tokener_parse(buf);
    assert_non_null(o);
    return o;
}

static const char *str(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v))
        fail_msg("no key %s", key);
    return json_object_get_string(v);
}

static int num(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v))
        fail_msg("no key %s", key);
    assert_true(json_object_is_type(v, json_type_int));
    return json_object_get_int(v);
}

static void test_flow_alert_json(void **state)
{
    char buf[TW_ALERT_JSON_MAX];
    struct tw_alert a = flow_alert();
    (void)state;

    json_object *o = to_json(&a, buf, sizeof(buf));
    assert_string_equal(str(o, "kind"), "upload_volume");
    assert_string_equal(str(o, "rule"), "TW-R05");
    assert_string_equal(str(o, "policy_sha256"), sha_a);
    assert_string_equal(str(o, "geoip_sha256"), sha_b);
    assert_string_equal(str(o, "src_mac"), "");
    assert_string_equal(str(o, "src_ip"), "10.40.1.11");
    assert_string_equal(str(o, "dst_ip"), "198.51.100.9");
    assert_string_equal(str(o, "flow_id"), "00ab00cd00ef0012");
    assert_int_equal(num(o, "dst_port"), 443);
    assert_int_equal(num(o, "ip_proto"), 6);
    assert_true(str(o, "flow_key")[0] != '\0');
    json_object_put(o);

    /* every kind names its own rule id, and the ids are distinct */
    for (unsigned k = 0; k < TW_ALERT__COUNT; k++) {
        char want[8];
        snprintf(want, sizeof(want), "TW-R%02u", k + 1);
        assert_string_equal(tw_alert_rule_id(k), want);
        assert_int_equal(tw_alert_kind_from_rule(want), (int)k);
    }
    assert_int_equal(tw_alert_kind_from_rule("TW-R15"), -1);
    assert_int_equal(tw_alert_kind_from_rule("tw-r01"), -1);

    /* a MAC when the frame had one; a hash that is not hex is left out, not copied */
    a.has_mac = 1;
    memcpy(a.src_mac, "\x02\x00\x5e\x10\xab\xff", 6);
    snprintf(a.geoip_sha256, sizeof(a.geoip_sha256), "not\"hex");
    o = to_json(&a, buf, sizeof(buf));
    assert_string_equal(str(o, "src_mac"), "02:00:5e:10:ab:ff");
    assert_string_equal(str(o, "geoip_sha256"), "");
    json_object_put(o);
}

static void test_flowless_json(void **state)
{
    char buf[TW_ALERT_JSON_MAX];
    (void)state;

    for (unsigned k = 0; k < TW_ALERT__COUNT; k++) {
        int flowless = k >= TW_ALERT_UNKNOWN_DEVICE;
        assert_int_equal(tw_alert_kind_flowless(k), flowless);
        if (!flowless)
            continue;
        int device = k == TW_ALERT_UNKNOWN_DEVICE;
        struct tw_alert a = flowless_alert(k, device ? "10.40.7.99" : NULL,
                                           device ? "" : "srv-02");
        json_object *o = to_json(&a, buf, sizeof(buf));
        assert_string_equal(str(o, "kind"), tw_alert_kind_name(k));
        assert_string_equal(str(o, "rule"), tw_alert_rule_id(k));
        assert_string_equal(str(o, "flow_id"), "");
        assert_string_equal(str(o, "flow_key"), "");
        assert_string_equal(str(o, "dst_ip"), "");
        assert_string_equal(str(o, "app"), "");
        assert_string_equal(str(o, "server_name"), "");
        assert_int_equal(num(o, "src_port"), 0);
        assert_int_equal(num(o, "dst_port"), 0);
        assert_int_equal(num(o, "ip_proto"), 0);
        assert_string_equal(str(o, "src_ip"), device ? "10.40.7.99" : "");
        assert_string_equal(str(o, "policy_sha256"), sha_a);
        json_object_put(o);
    }
    /* unknown_device over IPv6, with its MAC */
    struct tw_alert a = flowless_alert(TW_ALERT_UNKNOWN_DEVICE, "2001:db8:40::99", "");
    a.has_mac = 1;
    memcpy(a.src_mac, "\xaa\xbb\xcc\xdd\xee\xff", 6);
    json_object *o = to_json(&a, buf, sizeof(buf));
    assert_string_equal(str(o, "src_ip"), "2001:db8:40::99");
    assert_string_equal(str(o, "src_mac"), "aa:bb:cc:dd:ee:ff");
    json_object_put(o);
}

/* The JSON object's pairs as stream fields (values as text), read back, written again. */
static void round_trip(const struct tw_alert *a)
{
    char buf[TW_ALERT_JSON_MAX], again[TW_ALERT_JSON_MAX], err[256];
    const char *f[32], *v[32];
    size_t n = 0;
    struct tw_alert back;

    json_object *o = to_json(a, buf, sizeof(buf));
    json_object_object_foreach(o, key, val)
    {
        assert_true(n < 32);
        f[n] = key;
        v[n++] = json_object_get_string(val);
    }
    if (tw_alert_from_fields(&back, f, v, n, err, sizeof(err)) != 0)
        fail_msg("%s: %s", buf, err);
    assert_true(tw_alert_to_json(&back, "b-7", again, sizeof(again)) > 0);
    assert_string_equal(again, buf);
    assert_string_equal(back.policy_sha256, a->policy_sha256);
    json_object_put(o);
}

static void test_from_fields(void **state)
{
    struct tw_alert a = flow_alert(), back;
    char err[256];
    (void)state;

    round_trip(&a);
    a.has_mac = 1;
    memcpy(a.src_mac, "\x02\x00\x5e\x10\xab\xff", 6);
    a.geoip_sha256[0] = '\0';
    round_trip(&a);
    for (unsigned k = TW_ALERT_UNKNOWN_DEVICE; k < TW_ALERT__COUNT; k++) {
        int device = k == TW_ALERT_UNKNOWN_DEVICE;
        struct tw_alert f = flowless_alert(k, device ? "10.40.7.99" : NULL, device ? "" : "srv-02");
        round_trip(&f);
    }
    struct tw_alert d6 = flowless_alert(TW_ALERT_UNKNOWN_DEVICE, "2001:db8:40::99", "");
    round_trip(&d6);

    /* an entry written before rule and the hashes: rule from the kind, hashes empty */
    const char *f[] = {"kind", "severity", "equipment", "ts", "src_ip", "dst_ip", "flow_id"};
    const char *v[] = {"risky_flow", "high", "atm-1", "1772442010.5", "10.0.0.1", "10.0.0.2",
                       "00000000000000ff"};
    assert_int_equal(tw_alert_from_fields(&back, f, v, 7, err, sizeof(err)), 0);
    assert_string_equal(back.policy_sha256, "");
    assert_string_equal(back.geoip_sha256, "");
    assert_string_equal(tw_alert_rule_id(back.kind), "TW-R07");
    /* a flowless entry: empty flow fields are fine; a flow's are not */
    const char *vs[] = {"silent_equipment", "medium", "srv-02", "1772442010.5", "", "", ""};
    assert_int_equal(tw_alert_from_fields(&back, f, vs, 7, err, sizeof(err)), 0);
    assert_int_equal(back.kind, TW_ALERT_SILENT_EQUIPMENT);
    assert_int_equal(back.flow_id, 0);
    assert_int_equal(back.ip_version, 0);
    const char *vf[] = {"risky_flow", "high", "atm-1", "1772442010.5", "", "", ""};
    assert_int_equal(tw_alert_from_fields(&back, f, vf, 7, err, sizeof(err)), -1);
    /* malformed new fields are refused, with the field's name */
    const char *f2[] = {"kind", "severity", "equipment", "ts", "src_ip", "dst_ip", "flow_id",
                        "policy_sha256"};
    const char *v2[] = {"risky_flow", "high", "atm-1", "1772442010.5", "10.0.0.1", "10.0.0.2",
                        "00000000000000ff", "abc"};
    assert_int_equal(tw_alert_from_fields(&back, f2, v2, 8, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "policy_sha256"));
    f2[7] = "src_mac";
    v2[7] = "aa:bb:cc:dd:ee";
    assert_int_equal(tw_alert_from_fields(&back, f2, v2, 8, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "src_mac"));
}

static void test_guard_keys(void **state)
{
    char k[TW_KEY_LEN];
    struct tw_alert a = flow_alert();
    (void)state;

    /* a flow's alert: the guard of before */
    assert_true(tw_key_alert_guard(k, sizeof(k), "b-7", &a) > 0);
    assert_string_equal(k, "tw:{b-7}:alert-seen:00ab00cd00ef0012:upload_volume");
    /* the device's address and day */
    a = flowless_alert(TW_ALERT_UNKNOWN_DEVICE, "10.40.7.99", "");
    assert_true(tw_key_alert_guard(k, sizeof(k), "b-7", &a) > 0);
    assert_string_equal(k, "tw:{b-7}:alert-seen:unknown_device:10.40.7.99:20514");
    a = flowless_alert(TW_ALERT_UNKNOWN_DEVICE, "2001:db8:40::99", "");
    a.guard_period = 20515;
    assert_true(tw_key_alert_guard(k, sizeof(k), "b-7", &a) > 0);
    assert_string_equal(k, "tw:{b-7}:alert-seen:unknown_device:2001:db8:40::99:20515");
    /* the equipment and the silence's first second */
    a = flowless_alert(TW_ALERT_SILENT_EQUIPMENT, NULL, "srv-02");
    a.guard_period = T0 + 3600;
    assert_true(tw_key_alert_guard(k, sizeof(k), "b-7", &a) > 0);
    assert_string_equal(k, "tw:{b-7}:alert-seen:silent_equipment:srv-02:1772445600");
    a.kind = TW_ALERT_EQUIPMENT_BACK;
    assert_true(tw_key_alert_guard(k, sizeof(k), "b-7", &a) > 0);
    assert_string_equal(k, "tw:{b-7}:alert-seen:equipment_back:srv-02:1772445600");
    /* the mirror: no equipment, the subject "mirror" */
    a = flowless_alert(TW_ALERT_MIRROR_SILENT, NULL, "");
    a.guard_period = T0;
    assert_true(tw_key_alert_guard(k, sizeof(k), "b-7", &a) > 0);
    assert_string_equal(k, "tw:{b-7}:alert-seen:mirror_silent:mirror:1772442000");
    a.kind = TW_ALERT_MIRROR_BACK;
    assert_true(tw_key_alert_guard(k, sizeof(k), "b-7", &a) > 0);
    assert_string_equal(k, "tw:{b-7}:alert-seen:mirror_back:mirror:1772442000");
    /* no subject, or no room: refused */
    a = flowless_alert(TW_ALERT_SILENT_EQUIPMENT, NULL, "");
    assert_int_equal(tw_key_alert_guard(k, sizeof(k), "b-7", &a), -1);
    a = flowless_alert(TW_ALERT_UNKNOWN_DEVICE, NULL, "");
    assert_int_equal(tw_key_alert_guard(k, sizeof(k), "b-7", &a), -1);
    a = flowless_alert(TW_ALERT_UNKNOWN_DEVICE, "10.40.7.99", "");
    assert_int_equal(tw_key_alert_guard(k, 30, "b-7", &a), -1);
    /* every key stays in the sensor's slot, which the ACL pattern covers */
    char acl[TW_KEY_LEN];
    assert_true(tw_key_acl_pattern(acl, sizeof(acl), "b-7") > 0);
    assert_string_equal(acl, "~tw:{b-7}:*");
}

static const char policy_text[] =
    "timezone: UTC\n"
    "equipment:\n"
    "  - name: atm-ctrl-01\n"
    "    addresses: [10.40.1.11]\n"
    "    declared:\n"
    "      - {peer: 10.40.0.53, proto: udp, port: 53}\n";

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* sha256sum's answer for path (coreutils: independent of the code under test). */
static void sha256sum(const char *path, char *out)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%64s", out), 1);
    pclose(p);
    assert_int_equal(strlen(out), 64);
}

static void test_policy_sha256(void **state)
{
    char path[] = "/tmp/tw-envelope-test.XXXXXX", err[512], want[80];
    int fd = mkstemp(path);
    (void)state;

    assert_true(fd >= 0);
    close(fd);
    write_file(path, policy_text);
    struct tw_policy *p = tw_policy_load(path, err, sizeof(err));
    assert_non_null(p);
    sha256sum(path, want);
    assert_string_equal(tw_policy_sha256(p), want);
    tw_policy_free(p);
    /* one byte more (a comment): another hash */
    char more[sizeof(policy_text) + 8];
    snprintf(more, sizeof(more), "%s#\n", policy_text);
    write_file(path, more);
    assert_non_null(p = tw_policy_load(path, err, sizeof(err)));
    char before[80];
    snprintf(before, sizeof(before), "%s", want);
    sha256sum(path, want);
    assert_string_equal(tw_policy_sha256(p), want);
    assert_string_not_equal(want, before);
    tw_policy_free(p);
    unlink(path);
}

/* ---- the hook stamps what it hands out ---- */

struct caught {
    int n;
    struct tw_alert a[8];
};

static int catch_alert(void *ctx, const struct tw_alert *a, const char *json, size_t len)
{
    struct caught *c = ctx;
    (void)json;
    (void)len;
    if (c->n < 8)
        c->a[c->n] = *a;
    c->n++;
    return 0;
}

static const struct tw_sink_ops catch_ops = {.name = "catch", .put_alert = catch_alert};

static void test_hook_stamps(void **state)
{
    static struct tw_sinks sinks;
    char path[] = "/tmp/tw-envelope-hook.XXXXXX", err[512], sha1[80], sha2[80];
    struct caught c = {0};
    struct tw_policy_hook_stats st;
    struct tw_flow_record r;
    int fd = mkstemp(path);
    (void)state;

    assert_true(fd >= 0);
    close(fd);
    write_file(path, policy_text);
    sha256sum(path, sha1);
    tw_sinks_init(&sinks, "b-7");
    assert_int_equal(tw_sinks_add(&sinks, &(struct tw_sink){.ops = &catch_ops, .ctx = &c,
                                                            .takes = TW_TAKES_ALERT}),
                     0);
    struct tw_policy_hook_params hp = {.policy_path = path, .flows_max = 1024, .sinks = &sinks};
    struct tw_policy_hook *h = tw_policy_hook_open(&hp, err, sizeof(err));
    assert_non_null(h);

    /* atm-ctrl-01 opens tcp/443 to a peer it did not declare: undeclared_destination */
    memset(&r, 0, sizeof(r));
    r.flow_id = 77;
    r.ip_version = 4;
    set_ip(r.src_ip, "10.40.1.11");
    set_ip(r.dst_ip, "198.51.100.9");
    r.ip_proto = 6;
    r.src_port = 50000;
    r.dst_port = 443;
    r.first_seen_us = r.last_seen_us = T0 * SEC;
    r.event = TW_EVENT_CLASSIFIED;
    r.detection_done = 1;
    snprintf(r.app, sizeof(r.app), "TLS");
    tw_policy_hook_event(h, &r);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].policy_sha256, sha1);
    assert_string_equal(c.a[0].geoip_sha256, "");

    /* a flowless alert from outside a flow event: counted and stamped the same way,
     * whatever hashes it came with */
    tw_policy_hook_set_geoip_sha256(h, sha_b);
    struct tw_alert m = flowless_alert(TW_ALERT_MIRROR_SILENT, NULL, "");
    snprintf(m.policy_sha256, sizeof(m.policy_sha256), "stale");
    m.geoip_sha256[0] = '\0';
    tw_policy_hook_emit(h, &m);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.a[1].policy_sha256, sha1);
    assert_string_equal(c.a[1].geoip_sha256, sha_b);
    assert_int_equal(c.a[1].kind, TW_ALERT_MIRROR_SILENT);
    assert_int_equal(c.a[1].guard_period, m.guard_period);
    tw_policy_hook_get_stats(h, &st);
    assert_int_equal(st.alerts, 2);
    assert_int_equal(st.by_kind[TW_ALERT_MIRROR_SILENT], 1);

    /* after a reload, the new file's hash */
    char more[sizeof(policy_text) + 32];
    snprintf(more, sizeof(more), "%s# reloaded\n", policy_text);
    write_file(path, more);
    sha256sum(path, sha2);
    assert_int_equal(tw_policy_hook_reload(h, err, sizeof(err)), 0);
    r.flow_id = 78;
    tw_policy_hook_event(h, &r);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.a[2].policy_sha256, sha2);
    assert_string_not_equal(sha1, sha2);

    /* the summary says which policy and databases judged the run */
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    tw_policy_hook_summary(h, out);
    fclose(out);
    char line[160];
    snprintf(line, sizeof(line), "  policy sha256        %s\n", sha2);
    assert_non_null(strstr(text, line));
    snprintf(line, sizeof(line), "  geoip sha256         %s\n", sha_b);
    assert_non_null(strstr(text, line));
    free(text);
    tw_policy_hook_close(h);
    tw_sinks_close(&sinks);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_alert_json),  cmocka_unit_test(test_flowless_json),
        cmocka_unit_test(test_from_fields),      cmocka_unit_test(test_guard_keys),
        cmocka_unit_test(test_policy_sha256),    cmocka_unit_test(test_hook_stamps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
