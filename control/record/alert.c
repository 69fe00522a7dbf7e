/* alert.c - alert kinds and severities, the alert as JSON and back from a stream entry
 * (see alert.h). */
#include "control/record/alert.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "control/record/keys.h"

/* ---- names ---- */

static const char *const kind_names[] = {
#define TW_X(sym, name, rule) name,
    TW_ALERT_KINDS(TW_X)
#undef TW_X
};
static const char *const rule_ids[] = {
#define TW_X(sym, name, rule) rule,
    TW_ALERT_KINDS(TW_X)
#undef TW_X
};
static const char *const sev_names[] = {
#define TW_X(sym, name) name,
    TW_SEVERITIES(TW_X)
#undef TW_X
};

const char *tw_alert_kind_name(unsigned kind)
{
    return kind < TW_ALERT__COUNT ? kind_names[kind] : "unknown";
}

const char *tw_alert_rule_id(unsigned kind)
{
    return kind < TW_ALERT__COUNT ? rule_ids[kind] : "";
}

int tw_alert_kind_from_rule(const char *rule)
{
    for (unsigned i = 0; i < TW_ALERT__COUNT; i++)
        if (strcmp(rule_ids[i], rule) == 0)
            return (int)i;
    return -1;
}

int tw_alert_kind_flowless(unsigned kind)
{
    return kind >= TW_ALERT_UNKNOWN_DEVICE && kind < TW_ALERT__COUNT;
}

const char *tw_severity_name(unsigned sev)
{
    return sev < TW_SEV__COUNT ? sev_names[sev] : "unknown";
}

int tw_alert_kind_from_name(const char *name)
{
    for (unsigned i = 0; i < TW_ALERT__COUNT; i++)
        if (strcmp(kind_names[i], name) == 0)
            return (int)i;
    return -1;
}

int tw_severity_from_name(const char *name)
{
    for (unsigned i = 0; i < TW_SEV__COUNT; i++)
        if (strcmp(sev_names[i], name) == 0)
            return (int)i;
    return -1;
}

/* ---- JSON ---- */

void tw_addr_text(const uint8_t *a, int v4, char *out, size_t len)
{
    if (inet_ntop(v4 ? AF_INET : AF_INET6, a, out, (socklen_t)len) == NULL)
        snprintf(out, len, "?");
}

/* Strings from the wire may hold any byte: JSON gets printable ASCII, the rest as '?'. */
void tw_ascii_copy(const char *src, size_t size, char *out)
{
    size_t i = 0;

    for (; i < size && src[i]; i++) {
        unsigned char c = (unsigned char)src[i];
        out[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    out[i] = '\0';
}

static void add_str(json_object *o, const char *key, const char *val, size_t size)
{
    char tmp[256];

    if (size >= sizeof(tmp))
        size = sizeof(tmp) - 1;
    tw_ascii_copy(val, size, tmp);
    json_object_object_add(o, key, json_object_new_string(tmp));
}

/* A SHA-256 in hex as stored ("" unless it is 1 to 64 lowercase hex digits): the bound of
 * TW_ALERT_JSON_MAX counts 64 bytes for it. */
static void add_hex(json_object *o, const char *key, const char *val, size_t size)
{
    size_t n = strnlen(val, size);

    if (n > 64 || val[strspn(val, "0123456789abcdef")] != '\0')
        n = 0;
    json_object_object_add(o, key, json_object_new_string_len(val, (int)n));
}

void tw_mac_text(const uint8_t *mac, char *out, size_t len)
{
    snprintf(out, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
}

int tw_alert_to_json(const struct tw_alert *a, const char *sensor, char *buf, size_t len)
{
    json_object *o = json_object_new_object();
    char text[128];
    int v4 = a->ip_version == 4;
    /* an alert of no flow: its flow fields are empty (its src_ip is unknown_device's
     * address), whatever the struct holds */
    int flowless = tw_alert_kind_flowless(a->kind);

    if (o == NULL)
        return -1;
    if (strlen(sensor) > TW_SENSOR_NAME_MAX) { /* TW_ALERT_JSON_MAX counts on it */
        json_object_put(o);
        return -1;
    }
    json_object_object_add(o, "kind", json_object_new_string(tw_alert_kind_name(a->kind)));
    json_object_object_add(o, "rule", json_object_new_string(tw_alert_rule_id(a->kind)));
    json_object_object_add(o, "severity", json_object_new_string(tw_severity_name(a->severity)));
    add_str(o, "equipment", a->equipment, sizeof(a->equipment));
    add_str(o, "vendor", a->vendor, sizeof(a->vendor));
    snprintf(text, sizeof(text), "%" PRIu64 ".%06" PRIu64, a->ts_us / 1000000, a->ts_us % 1000000);
    json_object_object_add(o, "ts", json_object_new_double_s((double)a->ts_us / 1e6, text));
    text[0] = '\0';
    if (!flowless || (a->kind == TW_ALERT_UNKNOWN_DEVICE && a->ip_version != 0))
        tw_addr_text(a->src_ip, v4, text, sizeof(text));
    json_object_object_add(o, "src_ip", json_object_new_string(text));
    text[0] = '\0';
    if (a->has_mac)
        tw_mac_text(a->src_mac, text, sizeof(text));
    json_object_object_add(o, "src_mac", json_object_new_string(text));
    json_object_object_add(o, "src_port", json_object_new_int(flowless ? 0 : a->src_port));
    text[0] = '\0';
    if (!flowless)
        tw_addr_text(a->dst_ip, v4, text, sizeof(text));
    json_object_object_add(o, "dst_ip", json_object_new_string(text));
    json_object_object_add(o, "dst_port", json_object_new_int(flowless ? 0 : a->dst_port));
    json_object_object_add(o, "ip_proto", json_object_new_int(flowless ? 0 : a->ip_proto));
    add_str(o, "app", flowless ? "" : a->app, sizeof(a->app));
    add_str(o, "server_name", flowless ? "" : a->server_name, sizeof(a->server_name));
    add_str(o, "detail", a->detail, sizeof(a->detail));
    text[0] = '\0';
    if (!flowless)
        snprintf(text, sizeof(text), "%016" PRIx64, a->flow_id);
    json_object_object_add(o, "flow_id", json_object_new_string(text));
    if (flowless || a->record_hour == TW_HOUR_UNKNOWN ||
        tw_key_record(text, sizeof(text), sensor, a->record_hour, a->flow_id) < 0)
        text[0] = '\0';
    json_object_object_add(o, "flow_key", json_object_new_string(text));
    add_str(o, "sensor", sensor, strlen(sensor) + 1);
    add_hex(o, "policy_sha256", a->policy_sha256, sizeof(a->policy_sha256));
    add_hex(o, "geoip_sha256", a->geoip_sha256, sizeof(a->geoip_sha256));

    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                          JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t n = s ? strlen(s) : 0;
    int rc = -1;
    if (s != NULL && n < len) {
        memcpy(buf, s, n + 1);
        rc = (int)n;
    }
    json_object_put(o);
    return rc;
}

static int parse_u64(const char *t, int base, uint64_t max, uint64_t *out)
{
    char *end;

    if (t[0] == '\0' || t[0] == '-' || isspace((unsigned char)t[0]))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(t, &end, base);
    if (*end != '\0' || errno != 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

/* "seconds.micros" (micros optional, up to 6 digits) */
static int parse_ts(const char *t, uint64_t *us)
{
    char secs[24];
    const char *dot = strchr(t, '.');
    size_t n = dot ? (size_t)(dot - t) : strlen(t);
    uint64_t s, frac = 0;

    if (n == 0 || n >= sizeof(secs))
        return -1;
    memcpy(secs, t, n);
    secs[n] = '\0';
    if (parse_u64(secs, 10, UINT64_MAX / 1000000 - 1, &s) < 0)
        return -1;
    if (dot) {
        size_t k = strlen(dot + 1);
        if (k == 0 || k > 6 || parse_u64(dot + 1, 10, 999999, &frac) < 0)
            return -1;
        for (; k < 6; k++)
            frac *= 10;
    }
    *us = s * 1000000 + frac;
    return 0;
}

static int ferr(char *err, size_t errlen, const char *field)
{
    if (err && errlen)
        snprintf(err, errlen, "alert field \"%s\" missing or malformed", field);
    return -1;
}

/* "aa:bb:cc:dd:ee:ff" into mac. Returns 0 or -1. */
static int parse_mac(const char *t, uint8_t *mac)
{
    unsigned b[6];
    char end;

    if (strlen(t) != 17 || sscanf(t, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
                                  &b[4], &b[5], &end) != 6)
        return -1;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)b[i];
    return 0;
}

/* A stored SHA-256: "" or 64 lowercase hex digits. Returns 0 or -1. */
static int take_hex(const char *t, char *out, size_t size)
{
    size_t n = strlen(t);

    if ((n != 0 && n != 64) || t[strspn(t, "0123456789abcdef")] != '\0' || n >= size)
        return -1;
    memcpy(out, t, n + 1);
    return 0;
}

int tw_alert_from_fields(struct tw_alert *a, const char *const *fields,
                         const char *const *values, size_t n, char *err, size_t errlen)
{
    const char *need[] = {"kind", "severity", "equipment", "ts", "src_ip", "dst_ip", "flow_id"};
    const char *v[24] = {0};
    static const char *const names[] = {"kind",     "severity", "equipment", "vendor",
                                        "ts",       "src_ip",   "src_port",  "dst_ip",
                                        "dst_port", "ip_proto", "app",       "server_name",
                                        "detail",   "flow_id",  "flow_key",  "src_mac",
                                        "policy_sha256", "geoip_sha256"};
    enum { KIND, SEV, EQ, VEND, TS, SIP, SPORT, DIP, DPORT, PROTO, APP, SNI, DETAIL, FID, FKEY,
           MAC, PSHA, GSHA, NF };
    uint64_t u;
    unsigned shard;
    int k;

    memset(a, 0, sizeof(*a));
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < NF; j++)
            if (strcmp(fields[i], names[j]) == 0)
                v[j] = values[i];
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
        for (int j = 0; j < NF; j++)
            if (strcmp(need[i], names[j]) == 0 && v[j] == NULL)
                return ferr(err, errlen, need[i]);
    /* the field rule is not read: the kind says it (entries older than rule have none) */
    if ((k = tw_alert_kind_from_name(v[KIND])) < 0)
        return ferr(err, errlen, "kind");
    a->kind = (uint8_t)k;
    if ((k = tw_severity_from_name(v[SEV])) < 0)
        return ferr(err, errlen, "severity");
    a->severity = (uint8_t)k;
    snprintf(a->equipment, sizeof(a->equipment), "%s", v[EQ]);
    snprintf(a->vendor, sizeof(a->vendor), "%s", v[VEND] ? v[VEND] : "");
    if (parse_ts(v[TS], &a->ts_us) < 0)
        return ferr(err, errlen, "ts");
    snprintf(a->detail, sizeof(a->detail), "%s", v[DETAIL] ? v[DETAIL] : "");
    if ((v[PSHA] && take_hex(v[PSHA], a->policy_sha256, sizeof(a->policy_sha256)) < 0))
        return ferr(err, errlen, "policy_sha256");
    if ((v[GSHA] && take_hex(v[GSHA], a->geoip_sha256, sizeof(a->geoip_sha256)) < 0))
        return ferr(err, errlen, "geoip_sha256");
    if (v[MAC] && v[MAC][0] != '\0') {
        if (parse_mac(v[MAC], a->src_mac) < 0)
            return ferr(err, errlen, "src_mac");
        a->has_mac = 1;
    }
    if (tw_alert_kind_flowless(a->kind)) {
        /* no flow: flow fields empty; only unknown_device names an address (src_ip) */
        a->record_hour = TW_HOUR_UNKNOWN;
        if (v[SIP][0] == '\0')
            return 0;
        if (inet_pton(AF_INET, v[SIP], a->src_ip) == 1)
            a->ip_version = 4;
        else if (inet_pton(AF_INET6, v[SIP], a->src_ip) == 1)
            a->ip_version = 6;
        else
            return ferr(err, errlen, "src_ip");
        return 0;
    }
    if (inet_pton(AF_INET, v[SIP], a->src_ip) == 1 && inet_pton(AF_INET, v[DIP], a->dst_ip) == 1)
        a->ip_version = 4;
    else if (inet_pton(AF_INET6, v[SIP], a->src_ip) == 1 &&
             inet_pton(AF_INET6, v[DIP], a->dst_ip) == 1)
        a->ip_version = 6;
    else
        return ferr(err, errlen, "src_ip");
    if (v[SPORT] && parse_u64(v[SPORT], 10, 65535, &u) == 0)
        a->src_port = (uint16_t)u;
    if (v[DPORT] && parse_u64(v[DPORT], 10, 65535, &u) == 0)
        a->dst_port = (uint16_t)u;
    if (v[PROTO] && parse_u64(v[PROTO], 10, 255, &u) == 0)
        a->ip_proto = (uint8_t)u;
    snprintf(a->app, sizeof(a->app), "%s", v[APP] ? v[APP] : "");
    snprintf(a->server_name, sizeof(a->server_name), "%s", v[SNI] ? v[SNI] : "");
    if (strlen(v[FID]) != 16 || parse_u64(v[FID], 16, UINT64_MAX, &a->flow_id) < 0)
        return ferr(err, errlen, "flow_id");
    /* tw:{S}:flow:<id> of older entries names no record: unknown rather than wrong */
    if (v[FKEY] == NULL || tw_key_record_parse(v[FKEY], &a->record_hour, &shard) < 0 ||
        shard != (a->flow_id & (TW_RECORD_SHARDS - 1)))
        a->record_hour = TW_HOUR_UNKNOWN;
    return 0;
}
