/* test_record_json.c - flow records to JSON and back (control/record_json.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "control/record/record_json.h"

/* A TLS flow 10.1.2.3:51000 -> 93.184.216.34:443, seen 2022-06-04T23:25:42.293Z for 1.5 s. */
static void v4_record(struct tw_flow_record *r)
{
    static const uint8_t src[4] = {10, 1, 2, 3}, dst[4] = {93, 184, 216, 34};

    memset(r, 0, sizeof(*r));
    r->flow_id = 0x00c0ffee12345678ULL;
    r->first_seen_us = 1654385142293000ULL;
    r->last_seen_us = 1654385143793001ULL;
    r->c2s_packets = 12;
    r->c2s_bytes = 1834;
    r->s2c_packets = 10;
    r->s2c_bytes = 18000000000ULL; /* beyond 32 bits */
    r->risks = (1ULL << 6) | (1ULL << 24); /* self-signed certificate, missing SNI */
    memcpy(r->src_ip, src, 4);
    memcpy(r->dst_ip, dst, 4);
    r->src_port = 51000;
    r->dst_port = 443;
    r->vlan = 100;
    r->tunnel = TW_TUNNEL_VXLAN;
    r->tunnel_id = 16777215; /* the largest VNI */
    memcpy(r->dst_country, "US", 3); /* the source is private: no country, no ASN */
    r->dst_asn = 15133;
    r->tls_version = 0x0303;
    r->ip_version = 4;
    r->ip_proto = 6;
    r->event = TW_EVENT_END;
    r->end_reason = TW_END_TCP_CLOSE;
    snprintf(r->app, sizeof(r->app), "TLS.Google");
    snprintf(r->category, sizeof(r->category), "Web");
    snprintf(r->server_name, sizeof(r->server_name), "www.example.com");
    snprintf(r->ja3c, sizeof(r->ja3c), "e7d705a3286e19ea42f587b344ee6865");
    static const uint8_t mac[6] = {0x02, 0x00, 0x5e, 0x10, 0xab, 0xcd};
    memcpy(r->src_mac, mac, 6);
    r->has_src_mac = 1;
}

/* Only the fields the JSON carries (record_json.h); the rest come back zero. */
static void assert_same_public(const struct tw_flow_record *a, const struct tw_flow_record *b)
{
    assert_int_equal(a->flow_id, b->flow_id);
    assert_int_equal(a->first_seen_us, b->first_seen_us);
    assert_int_equal(a->last_seen_us, b->last_seen_us);
    assert_int_equal(a->c2s_packets, b->c2s_packets);
    assert_int_equal(a->c2s_bytes, b->c2s_bytes);
    assert_int_equal(a->s2c_packets, b->s2c_packets);
    assert_int_equal(a->s2c_bytes, b->s2c_bytes);
    assert_int_equal(a->risks, b->risks);
    assert_memory_equal(a->src_ip, b->src_ip, 16);
    assert_memory_equal(a->dst_ip, b->dst_ip, 16);
    assert_int_equal(a->src_port, b->src_port);
    assert_int_equal(a->dst_port, b->dst_port);
    assert_int_equal(a->vlan, b->vlan);
    assert_int_equal(a->tunnel, b->tunnel);
    assert_int_equal(a->tunnel_id, b->tunnel_id);
    assert_string_equal(a->src_country, b->src_country);
    assert_string_equal(a->dst_country, b->dst_country);
    assert_int_equal(a->src_asn, b->src_asn);
    assert_int_equal(a->dst_asn, b->dst_asn);
    assert_int_equal(a->tls_version, b->tls_version);
    assert_int_equal(a->ip_version, b->ip_version);
    assert_int_equal(a->ip_proto, b->ip_proto);
    assert_int_equal(a->event, b->event);
    assert_int_equal(a->end_reason, b->end_reason);
    assert_string_equal(a->app, b->app);
    assert_string_equal(a->category, b->category);
    assert_string_equal(a->server_name, b->server_name);
    assert_string_equal(a->ja3c, b->ja3c);
    assert_int_equal(a->has_src_mac, b->has_src_mac);
    assert_memory_equal(a->src_mac, b->src_mac, 6);
}

static void test_round_trip_v4(void **state)
{
    struct tw_flow_record r, back;
    char buf[2048], err[128];
    (void)state;

    v4_record(&r);
    int n = tw_record_to_json(&r, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(n, (int)strlen(buf));
    assert_int_equal(tw_record_from_json(buf, &back, err, sizeof(err)), 0);
    assert_same_public(&r, &back);
    assert_non_null(strstr(buf, "\"first_seen\":1654385142.293000"));
    assert_non_null(strstr(buf, "\"last_seen\":1654385143.793001"));
    assert_non_null(strstr(buf, "\"flow_id\":\"00c0ffee12345678\""));
    assert_non_null(strstr(buf, "\"src_ip\":\"10.1.2.3\""));
    assert_non_null(strstr(buf, "\"end_reason\":\"tcp_close\""));
    assert_non_null(strstr(buf, "\"event\":\"end\""));
    assert_non_null(strstr(buf, "\"s2c_bytes\":18000000000"));
    assert_non_null(strstr(buf, "\"src_mac\":\"02:00:5e:10:ab:cd\""));
    assert_non_null(strstr(buf, "\"tunnel\":\"vxlan\",\"tunnel_id\":16777215"));
    assert_non_null(strstr(buf, "\"src_country\":\"\",\"dst_country\":\"US\","
                                "\"src_asn\":0,\"dst_asn\":15133"));
}

static void test_every_key_present(void **state)
{
    static const char *keys[] = {
        "src_ip", "src_port", "dst_ip", "dst_port", "ip_proto", "vlan", "first_seen",
        "last_seen", "c2s_packets", "c2s_bytes", "s2c_packets", "s2c_bytes", "app",
        "category", "server_name", "risks", "end_reason", "flow_id", "ip_version",
        "tls_version", "ja3c", "event", "tunnel", "tunnel_id", "src_country", "dst_country",
        "src_asn", "dst_asn", "src_mac"};
    struct tw_flow_record r;
    char buf[2048];
    json_object *o, *v;
    (void)state;

    memset(&r, 0, sizeof(r)); /* an empty record still has every key */
    r.ip_version = 4;
    r.event = TW_EVENT_CLASSIFIED;
    assert_true(tw_record_to_json(&r, buf, sizeof(buf)) > 0);
    o = json_tokener_parse(buf);
    assert_non_null(o);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (!json_object_object_get_ex(o, keys[i], &v))
            fail_msg("key %s missing in %s", keys[i], buf);
    }
    assert_int_equal(json_object_object_length(o), sizeof(keys) / sizeof(keys[0]));
    json_object_object_get_ex(o, "first_seen", &v);
    assert_true(json_object_is_type(v, json_type_double));
    json_object_object_get_ex(o, "risks", &v);
    assert_true(json_object_is_type(v, json_type_array));
    json_object_put(o);
    assert_non_null(strstr(buf, "\"first_seen\":0.000000"));
    assert_non_null(strstr(buf, "\"event\":\"classified\""));
    assert_non_null(strstr(buf, "\"end_reason\":\"none\""));
    assert_non_null(strstr(buf, "\"tunnel\":\"\",\"tunnel_id\":0"));
    assert_non_null(strstr(buf, "\"src_mac\":\"\""));
}

static void test_round_trip_v6(void **state)
{
    /* 2001:db8::1 port 53000 -> 2001:db8:0:1::53 port 53, a DNS query over UDP */
    static const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x53};
    struct tw_flow_record r, back;
    char buf[2048], err[128];
    (void)state;

    v4_record(&r);
    r.ip_version = 6;
    r.ip_proto = 17;
    memcpy(r.src_ip, src, 16);
    memcpy(r.dst_ip, dst, 16);
    r.event = TW_EVENT_UPDATE;
    r.end_reason = TW_END_NONE;
    assert_true(tw_record_to_json(&r, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"src_ip\":\"2001:db8::1\""));
    assert_non_null(strstr(buf, "\"dst_ip\":\"2001:db8:0:1::53\""));
    assert_non_null(strstr(buf, "\"ip_version\":6"));
    assert_int_equal(tw_record_from_json(buf, &back, err, sizeof(err)), 0);
    assert_same_public(&r, &back);
}

static void test_risks(void **state)
{
    struct tw_flow_record r, back;
    char buf[2048], err[128];
    (void)state;

    v4_record(&r);
    assert_true(tw_record_to_json(&r, buf, sizeof(buf)) > 0);
    /* names as nDPI 4.2's ndpi_risk2str prints them */
    char want[256];
    snprintf(want, sizeof(want), "\"risks\":[\"%s\",\"%s\"]", tw_risk_name(6), tw_risk_name(24));
    assert_non_null(strstr(buf, want));
    assert_string_equal(tw_risk_name(6), "Self-signed Certificate");
    assert_null(tw_risk_name(0));
    assert_null(tw_risk_name(63));

    /* every bit, named or not, survives the round trip */
    r.risks = ~(uint64_t)0;
    assert_true(tw_record_to_json(&r, buf, sizeof(buf)) > 0);
    assert_int_equal(tw_record_from_json(buf, &back, err, sizeof(err)), 0);
    assert_int_equal(back.risks, r.risks);
}

static void test_odd_server_names(void **state)
{
    /* quotes, a backslash, control bytes, a valid 2-byte UTF-8 character, then invalid bytes:
     * a lone continuation byte, a truncated sequence, an overlong '/' and 0xff */
    static const char odd[] = "a\"b\\c\x01\x1f\n\t/\xc3\xa9|\x80|\xe2\x82|\xc0\xaf|\xff";
    struct tw_flow_record r, back;
    char buf[2048], err[128];
    json_object *o, *v;
    (void)state;

    v4_record(&r);
    memset(r.server_name, 0, sizeof(r.server_name));
    memcpy(r.server_name, odd, sizeof(odd) - 1);
    assert_true(tw_record_to_json(&r, buf, sizeof(buf)) > 0);
    o = json_tokener_parse(buf);
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "server_name", &v));
    assert_string_equal(json_object_get_string(v),
                        "a\"b\\c\x01\x1f\n\t/\xc3\xa9|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
                        "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd");
    json_object_put(o);
    assert_null(strchr(buf, '\n'));            /* one line */
    assert_non_null(strstr(buf, "\\u0001"));    /* control bytes escaped */
    assert_null(strstr(buf, "\\/"));            /* no needless slash escape */
    assert_int_equal(tw_record_from_json(buf, &back, err, sizeof(err)), 0);

    /* a name of 95 invalid bytes grows to 285 bytes of U+FFFD: still valid, cut on parse at
     * a character boundary */
    memset(r.server_name, 0xff, sizeof(r.server_name) - 1);
    assert_true(tw_record_to_json(&r, buf, sizeof(buf)) > 0);
    assert_int_equal(tw_record_from_json(buf, &back, err, sizeof(err)), 0);
    assert_int_equal(strlen(back.server_name), 93); /* 31 whole characters */

    /* a field without its NUL (all 96 bytes used) stops at the field's end */
    memset(r.server_name, 'x', sizeof(r.server_name));
    assert_true(tw_record_to_json(&r, buf, sizeof(buf)) > 0);
    o = json_tokener_parse(buf);
    json_object_object_get_ex(o, "server_name", &v);
    assert_int_equal(json_object_get_string_len(v), sizeof(r.server_name));
    json_object_put(o);
}

/* TW_RECORD_JSON_MAX (record_json.h) is the exact bound: every field at its worst (all 64
 * risk bits, every string byte a control byte escaped as \u00XX, the longest numbers and
 * names) fills it to the last byte, and one byte less does not do. */
static void test_worst_case_size(void **state)
{
    struct tw_flow_record r;
    char buf[TW_RECORD_JSON_MAX + 16];
    size_t risks = 0;
    (void)state;

    /* the risk list as the encoder writes it: "name" quoted, commas between */
    for (unsigned bit = 0; bit < 64; bit++) {
        char num[4];
        risks += strlen(tw_risk_label(bit, num)) + 2 + (bit > 0);
    }
    assert_int_equal(risks, TW_RISKS_JSON_MAX);

    memset(&r, 0, sizeof(r));
    r.flow_id = UINT64_MAX;
    r.event = TW_EVENT_CLASSIFIED;          /* the longest event name */
    r.end_reason = TW_END_TCP_CLOSE;        /* the longest end reason */
    r.ip_version = 6;
    memset(r.src_ip, 0xff, 16);             /* ffff:...:ffff, 39 characters */
    memset(r.dst_ip, 0xff, 16);
    r.src_port = r.dst_port = r.vlan = r.tls_version = UINT16_MAX;
    r.ip_proto = UINT8_MAX;
    r.tunnel = TW_TUNNEL_ERSPAN2;           /* a longest tunnel name (7 characters) */
    r.tunnel_id = UINT32_MAX;
    memcpy(r.src_country, "ZZ", 3);         /* a country is two letters at most */
    memcpy(r.dst_country, "ZZ", 3);
    r.src_asn = r.dst_asn = UINT32_MAX;
    r.has_src_mac = 1;
    memset(r.src_mac, 0xff, 6);
    r.c2s_packets = r.c2s_bytes = r.s2c_packets = r.s2c_bytes = UINT64_MAX;
    r.first_seen_us = r.last_seen_us = UINT64_MAX;
    r.risks = ~(uint64_t)0;
    memset(r.app, 0x01, sizeof(r.app));            /* \u0001: 6 bytes each, no NUL */
    memset(r.category, 0x01, sizeof(r.category));
    memset(r.server_name, 0x01, sizeof(r.server_name));
    memset(r.ja3c, 0x01, sizeof(r.ja3c));
    int n = tw_record_to_json(&r, buf, sizeof(buf));
    print_message("worst-case record JSON: %d bytes, TW_RECORD_JSON_MAX %d\n", n,
                  TW_RECORD_JSON_MAX);
    assert_int_equal(n + 1, TW_RECORD_JSON_MAX);
    assert_int_equal(tw_record_to_json(&r, buf, TW_RECORD_JSON_MAX), n);
    assert_int_equal(tw_record_to_json(&r, buf, TW_RECORD_JSON_MAX - 1), -1);
}

static void test_too_small_buffer(void **state)
{
    struct tw_flow_record r;
    char buf[2048], small[64];
    (void)state;

    v4_record(&r);
    int n = tw_record_to_json(&r, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal(tw_record_to_json(&r, small, sizeof(small)), -1);
    assert_int_equal(tw_record_to_json(&r, buf, (size_t)n), -1);      /* no room for NUL */
    assert_int_equal(tw_record_to_json(&r, buf, (size_t)n + 1), n);   /* just enough */
}

static void test_bad_json(void **state)
{
    static const char *bad[] = {
        "", "nope", "[]", "{}", "{\"flow_id\":\"12\"}",
        /* a valid record with one field broken is made below */
    };
    struct tw_flow_record r, back;
    char buf[2048], text[2200], err[128];
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(tw_record_from_json(bad[i], &back, err, sizeof(err)), -1);
        assert_true(err[0] != '\0');
    }
    assert_int_equal(tw_record_from_json(NULL, &back, err, sizeof(err)), -1);

    v4_record(&r);
    tw_record_to_json(&r, buf, sizeof(buf));
    static const struct {
        const char *from, *to;
    } edits[] = {
        {"\"src_ip\":\"10.1.2.3\"", "\"src_ip\":\"10.1.2.300\""},
        {"\"dst_port\":443", "\"dst_port\":70000"},
        {"\"end_reason\":\"tcp_close\"", "\"end_reason\":\"bored\""},
        {"\"event\":\"end\"", "\"event\":\"later\""},
        {"\"ip_version\":4", "\"ip_version\":5"},
        {"\"src_port\":51000", "\"src_port\":-1"},
        {"\"app\":\"TLS.Google\"", "\"app\":7"},
        {"\"tunnel\":\"vxlan\"", "\"tunnel\":\"ipsec\""},
        {"\"tunnel\":\"vxlan\"", "\"tunnel\":4"},
        {"\"tunnel_id\":16777215", "\"tunnel_id\":4294967296"},
        {"\"dst_country\":\"US\"", "\"dst_country\":\"us\""},
        {"\"dst_country\":\"US\"", "\"dst_country\":\"USA\""},
        {"\"dst_country\":\"US\"", "\"dst_country\":\"U\""},
        {"\"dst_country\":\"US\"", "\"dst_country\":\"\\u001b[\""},
        {"\"dst_country\":\"US\"", "\"dst_country\":1"},
        {"\"dst_asn\":15133", "\"dst_asn\":4294967296"},
        {"\"dst_asn\":15133", "\"dst_asn\":-5"},
        {"\"src_mac\":\"02:00:5e:10:ab:cd\"", "\"src_mac\":\"02:00:5e:10:ab\""},
        {"\"src_mac\":\"02:00:5e:10:ab:cd\"", "\"src_mac\":\"02-00-5e-10-ab-cd\""},
        {"\"src_mac\":\"02:00:5e:10:ab:cd\"", "\"src_mac\":\"02:00:5e:10:ab:cg\""},
        {"\"src_mac\":\"02:00:5e:10:ab:cd\"", "\"src_mac\":\" 2:00:5e:10:ab:cd\""},
        {"\"src_mac\":\"02:00:5e:10:ab:cd\"", "\"src_mac\":\"02:00:5e:10:ab:cd0\""},
        {"\"src_mac\":\"02:00:5e:10:ab:cd\"", "\"src_mac\":2"},
    };
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        char *at = strstr(buf, edits[i].from);
        assert_non_null(at);
        snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - buf), buf, edits[i].to,
                 at + strlen(edits[i].from));
        if (tw_record_from_json(text, &back, err, sizeof(err)) != -1)
            fail_msg("accepted: %s", edits[i].to);
    }
}

/* A record stored before the tunnel keys existed reads back with no tunnel. */
static void test_record_without_tunnel_keys(void **state)
{
    struct tw_flow_record r, back;
    char buf[2048], text[2048], err[128];
    (void)state;

    v4_record(&r);
    tw_record_to_json(&r, buf, sizeof(buf));
    char *at = strstr(buf, ",\"tunnel\":\"vxlan\",\"tunnel_id\":16777215");
    assert_non_null(at);
    snprintf(text, sizeof(text), "%.*s%s", (int)(at - buf), buf,
             at + strlen(",\"tunnel\":\"vxlan\",\"tunnel_id\":16777215"));
    assert_int_equal(tw_record_from_json(text, &back, err, sizeof(err)), 0);
    assert_int_equal(back.tunnel, TW_TUNNEL_NONE);
    assert_int_equal(back.tunnel_id, 0);
    assert_int_equal(back.vlan, 100);
    for (unsigned i = 0; i < TW_TUNNEL__COUNT; i++)
        assert_int_equal(tw_tunnel_from_name(tw_tunnel_name(i)), (int)i);
    assert_string_equal(tw_tunnel_name(TW_TUNNEL_MPLS_PW), "mpls-pw");
    assert_string_equal(tw_tunnel_name(200), "");
    assert_int_equal(tw_tunnel_from_name("nope"), -1);
}

/* A record stored before the GeoIP keys reads back without countries or ASNs; a country
 * field that is not two capital letters is written as "" (record_json.c). */
static void test_country_keys(void **state)
{
    static const char old_keys[] = ",\"src_country\":\"\",\"dst_country\":\"US\","
                                   "\"src_asn\":0,\"dst_asn\":15133";
    struct tw_flow_record r, back;
    char buf[2048], text[2048], err[128];
    (void)state;

    v4_record(&r);
    tw_record_to_json(&r, buf, sizeof(buf));
    char *at = strstr(buf, old_keys);
    assert_non_null(at);
    snprintf(text, sizeof(text), "%.*s%s", (int)(at - buf), buf, at + strlen(old_keys));
    assert_int_equal(tw_record_from_json(text, &back, err, sizeof(err)), 0);
    assert_string_equal(back.dst_country, "");
    assert_int_equal(back.dst_asn, 0);
    assert_int_equal(back.tunnel_id, 16777215);

    memcpy(r.src_country, "\x1b[4", 4); /* not NUL-terminated, not letters */
    memcpy(r.dst_country, "us", 3);
    tw_record_to_json(&r, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"src_country\":\"\",\"dst_country\":\"\","));
    assert_int_equal(tw_record_from_json(buf, &back, err, sizeof(err)), 0);
}

/* src_mac: upper case reads back, "" is no MAC, and a record stored before the key existed
 * reads as no MAC. */
static void test_src_mac(void **state)
{
    struct tw_flow_record r, back;
    char buf[2048], text[2048], err[128];
    (void)state;

    v4_record(&r);
    tw_record_to_json(&r, buf, sizeof(buf));
    char *at = strstr(buf, ",\"src_mac\":\"02:00:5e:10:ab:cd\"");
    assert_non_null(at);
    snprintf(text, sizeof(text), "%.*s%s", (int)(at - buf), buf,
             at + strlen(",\"src_mac\":\"02:00:5e:10:ab:cd\""));
    assert_int_equal(tw_record_from_json(text, &back, err, sizeof(err)), 0);
    assert_int_equal(back.has_src_mac, 0);
    snprintf(text, sizeof(text), "%.*s,\"src_mac\":\"02:00:5E:10:AB:CD\"%s", (int)(at - buf),
             buf, at + strlen(",\"src_mac\":\"02:00:5e:10:ab:cd\""));
    assert_int_equal(tw_record_from_json(text, &back, err, sizeof(err)), 0);
    assert_same_public(&r, &back);
    r.has_src_mac = 0;
    memset(r.src_mac, 0, 6);
    tw_record_to_json(&r, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"src_mac\":\"\""));
    assert_int_equal(tw_record_from_json(buf, &back, err, sizeof(err)), 0);
    assert_same_public(&r, &back);
}

static void test_end_reason_names(void **state)
{
    (void)state;
    assert_string_equal(tw_end_reason_name(TW_END_IDLE), "idle");
    assert_string_equal(tw_end_reason_name(TW_END_EOF), "eof");
    assert_string_equal(tw_end_reason_name(TW_END__COUNT + 5), "none");
    for (unsigned i = 0; i < TW_END__COUNT; i++)
        assert_int_equal(tw_end_reason_from_name(tw_end_reason_name(i)), (int)i);
    assert_int_equal(tw_end_reason_from_name("nope"), -1);
    assert_int_equal(tw_end_reason_from_name(NULL), -1);
}

/* IPv4 addresses are formatted by hand (inet_ntop's sprintf was the control thread's largest
 * cost): the text must be inet_ntop's for the edge values and for addresses across the range. */
static void test_ipv4_text(void **state)
{
    static const uint8_t edges[][4] = {{0, 0, 0, 0}, {255, 255, 255, 255}, {10, 0, 100, 9},
                                       {1, 2, 3, 4}, {100, 10, 1, 0}, {99, 199, 9, 250}};
    char buf[TW_RECORD_JSON_MAX], want[INET_ADDRSTRLEN], needle[64];
    struct tw_flow_record r;
    uint32_t x = 0x12345678;
    (void)state;

    for (unsigned i = 0; i < 2000; i++) {
        v4_record(&r);
        if (i < sizeof(edges) / sizeof(edges[0])) {
            memcpy(r.src_ip, edges[i], 4);
        } else {
            x = x * 1103515245u + 12345u; /* the whole range, deterministic */
            for (int b = 0; b < 4; b++)
                r.src_ip[b] = (uint8_t)(x >> (8 * b) ^ x >> (8 * b + 5));
        }
        assert_true(tw_record_to_json(&r, buf, sizeof(buf)) > 0);
        assert_non_null(inet_ntop(AF_INET, r.src_ip, want, sizeof(want)));
        snprintf(needle, sizeof(needle), "\"src_ip\":\"%s\",", want);
        if (strstr(buf, needle) == NULL)
            fail_msg("address %s: %s", want, buf);
    }
}

/* tw_utf8_sanitize on the edges RFC 3629 draws (test_json_encode trusts it: its json-c
 * reference sanitizes with the same function). */
static void test_utf8_sanitize(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},         /* U+1F600: valid, 4 bytes */
        {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},         /* U+10FFFF: the last one */
        {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* above */
        {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},     /* a surrogate */
        {"\xe0\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},     /* overlong, 3 bytes */
        {"\xf0\x80\x80\xaf", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* 4 */
        {"a\xe2\x82", "a\xef\xbf\xbd\xef\xbf\xbd"},                   /* cut short */
    };
    char out[64];
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tw_utf8_sanitize(cases[i].in, strlen(cases[i].in), out);
        assert_string_equal(out, cases[i].out);
    }
    /* a field full to its last byte, without a NUL, stops at its size */
    tw_utf8_sanitize("abc\xff", 3, out);
    assert_string_equal(out, "abc");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_v4),     cmocka_unit_test(test_every_key_present),
        cmocka_unit_test(test_round_trip_v6),     cmocka_unit_test(test_risks),
        cmocka_unit_test(test_odd_server_names),  cmocka_unit_test(test_worst_case_size),
        cmocka_unit_test(test_src_mac),
        cmocka_unit_test(test_too_small_buffer),  cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_end_reason_names),  cmocka_unit_test(test_ipv4_text),
        cmocka_unit_test(test_utf8_sanitize),     cmocka_unit_test(test_record_without_tunnel_keys),
        cmocka_unit_test(test_country_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
