/* test_json_encode.c - the hand-written tw_record_to_json (control/record_json.c) prints the
 * same bytes as the json-c encoder it replaced, kept here as the reference: json-c 0.16 with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, keys in the documented order.
 * Records are random (a fixed seed, so a failure repeats), with odd strings: control bytes,
 * quotes, backslashes, slashes, DEL, invalid and valid UTF-8, fields without a NUL. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "control/record/record_json.h"

#define KEYF JSON_C_OBJECT_ADD_CONSTANT_KEY
#define BIG 4096

/* ---- the reference: json-c ---- */

static void ref_str(json_object *o, const char *key, const char *field, size_t size)
{
    char clean[3 * TW_SERVER_NAME_LEN + 1];

    /* the sanitizing is record_json.c's own: json-c takes any bytes, so the reference is
     * what json-c makes of the same valid UTF-8 */
    if (size > TW_SERVER_NAME_LEN)
        size = TW_SERVER_NAME_LEN;
    tw_utf8_sanitize(field, size, clean);
    json_object_object_add_ex(o, key, json_object_new_string(clean), KEYF);
}

static void ref_time(json_object *o, const char *key, uint64_t us)
{
    char text[32];

    snprintf(text, sizeof(text), "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
    json_object_object_add_ex(o, key, json_object_new_double_s((double)us / 1e6, text), KEYF);
}

static void ref_addr(json_object *o, const char *key, const uint8_t *addr, int v4)
{
    char text[INET6_ADDRSTRLEN];

    if (inet_ntop(v4 ? AF_INET : AF_INET6, addr, text, sizeof(text)) == NULL)
        text[0] = '\0';
    json_object_object_add_ex(o, key, json_object_new_string(text), KEYF);
}

/* A country is two capital letters or "": anything else in the field is written as "". */
static void ref_country(json_object *o, const char *key, const char *field)
{
    char cc[3] = "";

    if (field[0] >= 'A' && field[0] <= 'Z' && field[1] >= 'A' && field[1] <= 'Z' && !field[2])
        memcpy(cc, field, 3);
    json_object_object_add_ex(o, key, json_object_new_string(cc), KEYF);
}

static int ref_to_json(const struct tw_flow_record *r, char *buf, size_t len)
{
    static const char *const events[] = {"unknown", "classified", "update", "end"};
    json_object *o = json_object_new_object(), *risks;
    char id[17];
    const char *text;
    size_t n;
    int v4 = r->ip_version == 4;

    snprintf(id, sizeof(id), "%016" PRIx64, r->flow_id);
    json_object_object_add_ex(o, "flow_id", json_object_new_string(id), KEYF);
    json_object_object_add_ex(
        o, "event", json_object_new_string(events[r->event >= 1 && r->event <= 3 ? r->event : 0]),
        KEYF);
    json_object_object_add_ex(o, "ip_version", json_object_new_int(r->ip_version), KEYF);
    ref_addr(o, "src_ip", r->src_ip, v4);
    json_object_object_add_ex(o, "src_port", json_object_new_int(r->src_port), KEYF);
    ref_addr(o, "dst_ip", r->dst_ip, v4);
    json_object_object_add_ex(o, "dst_port", json_object_new_int(r->dst_port), KEYF);
    json_object_object_add_ex(o, "ip_proto", json_object_new_int(r->ip_proto), KEYF);
    json_object_object_add_ex(o, "vlan", json_object_new_int(r->vlan), KEYF);
    json_object_object_add_ex(o, "tunnel", json_object_new_string(tw_tunnel_name(r->tunnel)), KEYF);
    json_object_object_add_ex(o, "tunnel_id", json_object_new_int64(r->tunnel_id), KEYF);
    ref_country(o, "src_country", r->src_country);
    ref_country(o, "dst_country", r->dst_country);
    json_object_object_add_ex(o, "src_asn", json_object_new_int64(r->src_asn), KEYF);
    json_object_object_add_ex(o, "dst_asn", json_object_new_int64(r->dst_asn), KEYF);
    ref_time(o, "first_seen", r->first_seen_us);
    ref_time(o, "last_seen", r->last_seen_us);
    json_object_object_add_ex(o, "c2s_packets", json_object_new_uint64(r->c2s_packets), KEYF);
    json_object_object_add_ex(o, "c2s_bytes", json_object_new_uint64(r->c2s_bytes), KEYF);
    json_object_object_add_ex(o, "s2c_packets", json_object_new_uint64(r->s2c_packets), KEYF);
    json_object_object_add_ex(o, "s2c_bytes", json_object_new_uint64(r->s2c_bytes), KEYF);
    ref_str(o, "app", r->app, sizeof(r->app));
    ref_str(o, "category", r->category, sizeof(r->category));
    ref_str(o, "server_name", r->server_name, sizeof(r->server_name));
    risks = json_object_new_array();
    for (unsigned bit = 0; bit < 64; bit++) {
        if (!(r->risks & ((uint64_t)1 << bit)))
            continue;
        const char *name = tw_risk_name(bit);
        char num[4];
        if (name == NULL) {
            snprintf(num, sizeof(num), "%u", bit);
            name = num;
        }
        json_object_array_add(risks, json_object_new_string(name));
    }
    json_object_object_add_ex(o, "risks", risks, KEYF);
    json_object_object_add_ex(o, "end_reason",
                              json_object_new_string(tw_end_reason_name(r->end_reason)), KEYF);
    json_object_object_add_ex(o, "tls_version", json_object_new_int(r->tls_version), KEYF);
    ref_str(o, "ja3c", r->ja3c, sizeof(r->ja3c));
    if (r->has_src_mac) {
        char mac[18];
        snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", r->src_mac[0], r->src_mac[1],
                 r->src_mac[2], r->src_mac[3], r->src_mac[4], r->src_mac[5]);
        json_object_object_add_ex(o, "src_mac", json_object_new_string(mac), KEYF);
    } else {
        json_object_object_add_ex(o, "src_mac", json_object_new_string(""), KEYF);
    }
    text = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (text == NULL || n >= len) {
        json_object_put(o);
        return -1;
    }
    memcpy(buf, text, n + 1);
    json_object_put(o);
    return (int)n;
}

/* ---- random records ---- */

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Fills a string field: plain names mostly, sometimes every kind of odd byte, sometimes full
 * to the last byte without a NUL. */
static void rnd_str(char *f, size_t size)
{
    static const char *const plain[] = {"TLS.Google", "DNS", "Web", "www.example.com", ""};
    static const char odd[] = "\x01\x08\x09\x0a\x0c\x0d\x1f\"\\/\x7f\x80\xbf\xc3\xa9\xe2\x82\xac"
                              "\xf0\x9f\x98\x80\xed\xa0\x80\xc0\xaf\xff aZ.";
    unsigned kind = (unsigned)(rnd() % 4);

    memset(f, 0, size);
    if (kind == 0) {
        snprintf(f, size, "%s", plain[rnd() % 5]);
        return;
    }
    size_t n = kind == 3 ? size : (size_t)(rnd() % size);
    for (size_t i = 0; i < n; i++)
        f[i] = rnd() % 3 ? odd[rnd() % (sizeof(odd) - 1)] : (char)(rnd() & 0xff);
    if (kind == 3 && f[size - 1] == '\0')
        f[size - 1] = 'x';
}

static void rnd_record(struct tw_flow_record *r)
{
    memset(r, 0, sizeof(*r));
    r->flow_id = rnd();
    r->first_seen_us = rnd() % 4 ? 1772442000000000ULL + rnd() % 100000000000ULL : rnd();
    r->last_seen_us = r->first_seen_us + rnd() % 1000000000;
    r->c2s_packets = rnd() % 2 ? rnd() : rnd() % 100;
    r->c2s_bytes = rnd();
    r->s2c_packets = rnd() % 1000;
    r->s2c_bytes = rnd() % 2 ? 0 : rnd();
    r->risks = rnd() % 3 ? 0 : rnd();
    r->ip_version = rnd() % 3 ? 4 : 6;
    for (int i = 0; i < (r->ip_version == 4 ? 4 : 16); i++) {
        r->src_ip[i] = (uint8_t)rnd();
        r->dst_ip[i] = (uint8_t)(rnd() % 4 ? 0 : rnd());
    }
    r->src_port = (uint16_t)rnd();
    r->dst_port = (uint16_t)(rnd() % 2 ? 443 : rnd());
    r->vlan = (uint16_t)(rnd() % 4096);
    r->tunnel = (uint8_t)(rnd() % (TW_TUNNEL__COUNT + 1)); /* one beyond: named "" */
    r->tunnel_id = (uint32_t)rnd();
    /* countries: mostly a code or none, sometimes any bytes (a record altered in Redis) */
    for (int end = 0; end < 2; end++) {
        char *cc = end ? r->dst_country : r->src_country;
        unsigned kind = (unsigned)(rnd() % 4);
        if (kind == 1)
            memcpy(cc, "CN", 3);
        else if (kind >= 2)
            for (int i = 0; i < 4; i++)
                cc[i] = kind == 2 ? (char)('A' + rnd() % 28) : (char)rnd();
    }
    r->src_asn = (uint32_t)(rnd() % 2 ? 0 : rnd());
    r->dst_asn = (uint32_t)rnd();
    r->has_src_mac = (uint8_t)(rnd() % 2);
    for (int i = 0; i < 6; i++)
        r->src_mac[i] = (uint8_t)rnd();
    r->tls_version = (uint16_t)(rnd() % 2 ? 0x0303 : rnd());
    r->ip_proto = (uint8_t)rnd();
    r->event = (uint8_t)(rnd() % 5);
    r->end_reason = (uint8_t)(rnd() % 8);
    rnd_str(r->app, sizeof(r->app));
    rnd_str(r->category, sizeof(r->category));
    rnd_str(r->server_name, sizeof(r->server_name));
    rnd_str(r->ja3c, sizeof(r->ja3c));
}

static void test_same_bytes_as_jsonc(void **state)
{
    (void)state;
    static char want[BIG], got[BIG];
    struct tw_flow_record r;

    for (int i = 0; i < 100000; i++) {
        rnd_record(&r);
        int wn = ref_to_json(&r, want, sizeof(want));
        int gn = tw_record_to_json(&r, got, sizeof(got));
        if (wn != gn || memcmp(want, got, (size_t)wn) != 0) {
            print_error("record %d differs:\n json-c: %s\n   ours: %s\n", i, want, got);
            fail();
        }
    }
}

/* Every buffer size: -1 while too small, the whole text (NUL-terminated) once it fits. */
static void test_buffer_sizes(void **state)
{
    (void)state;
    char want[BIG], got[BIG];
    struct tw_flow_record r;

    for (int k = 0; k < 50; k++) {
        rnd_record(&r);
        int wn = ref_to_json(&r, want, sizeof(want));
        for (size_t len = 0; len <= (size_t)wn + 1; len++) {
            memset(got, 'Z', sizeof(got));
            int gn = tw_record_to_json(&r, got, len);
            if (len <= (size_t)wn) {
                assert_int_equal(gn, -1);
                assert_true(len == 0 || got[len] == 'Z'); /* nothing past the buffer */
            } else {
                assert_int_equal(gn, wn);
                assert_memory_equal(got, want, (size_t)wn + 1);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_as_jsonc),
        cmocka_unit_test(test_buffer_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
