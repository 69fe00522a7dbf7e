/* record_json.c - a flow record as one JSON object, and back (see record_json.h).
 *
 * json-c builds and parses the object. Two things it does not do for us:
 *   - times must print as "1654385142.293000" (exact microseconds, not %g), so they are made
 *     with json_object_new_double_s and read back from their original text;
 *   - server names come from the wire and may hold any bytes. json-c escapes quotes and
 *     control bytes but passes invalid UTF-8 through, which makes invalid JSON, so each byte
 *     that is not part of a valid UTF-8 sequence is replaced by U+FFFD first (lossy on purpose:
 *     JSON cannot carry raw bytes).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <ndpi/ndpi_api.h>

#include "record_json.h"

#define KEYF JSON_C_OBJECT_ADD_CONSTANT_KEY

static const char *const event_names[] = {
    [TW_EVENT_CLASSIFIED] = "classified",
    [TW_EVENT_UPDATE] = "update",
    [TW_EVENT_END] = "end",
};

/* Returns the nDPI 4.2 name of risk bit n, or NULL for bit 0 (no risk) and bits nDPI 4.2
 * does not define (ndpi_risk2str would print their number). */
const char *tw_risk_name(unsigned bit)
{
    if (bit == NDPI_NO_RISK || bit >= NDPI_MAX_RISK)
        return NULL;
    return ndpi_risk2str((ndpi_risk_enum)bit);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 when invalid. Rejects
 * overlong forms, surrogates and code points above U+10FFFF, as RFC 3629 asks. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Copies the fixed-size field src (NUL-terminated or full) into out as valid UTF-8, each bad
 * byte becoming U+FFFD. out must hold 3 * srclen + 1 bytes. */
static void utf8_sanitize(const char *src, size_t srclen, char *out)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t n = strnlen(src, srclen), o = 0;

    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq_len(s + i, n - i);
        if (l == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, l);
            o += l;
            i += l;
        }
    }
    out[o] = '\0';
}

static void add_str_field(json_object *o, const char *key, const char *field, size_t size)
{
    char clean[3 * TW_SERVER_NAME_LEN + 1];

    /* every string field of the record is at most TW_SERVER_NAME_LEN bytes */
    if (size > TW_SERVER_NAME_LEN)
        size = TW_SERVER_NAME_LEN;
    utf8_sanitize(field, size, clean);
    json_object_object_add_ex(o, key, json_object_new_string(clean), KEYF);
}

static void add_time(json_object *o, const char *key, uint64_t us)
{
    char text[32];

    snprintf(text, sizeof(text), "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
    json_object_object_add_ex(o, key, json_object_new_double_s((double)us / 1e6, text), KEYF);
}

static void add_addr(json_object *o, const char *key, const uint8_t *addr, int v4)
{
    char text[INET6_ADDRSTRLEN];

    if (inet_ntop(v4 ? AF_INET : AF_INET6, addr, text, sizeof(text)) == NULL)
        text[0] = '\0';
    json_object_object_add_ex(o, key, json_object_new_string(text), KEYF);
}

int tw_record_to_json(const struct tw_flow_record *r, char *buf, size_t len)
{
    json_object *o = json_object_new_object(), *risks;
    char id[17];
    const char *text;
    size_t n;
    int v4 = r->ip_version == 4;

    if (o == NULL)
        return -1;
    snprintf(id, sizeof(id), "%016" PRIx64, r->flow_id);
    json_object_object_add_ex(o, "flow_id", json_object_new_string(id), KEYF);
    json_object_object_add_ex(o, "event",
                              json_object_new_string(r->event >= 1 && r->event <= 3
                                                         ? event_names[r->event]
                                                         : "unknown"),
                              KEYF);
    json_object_object_add_ex(o, "ip_version", json_object_new_int(r->ip_version), KEYF);
    add_addr(o, "src_ip", r->src_ip, v4);
    json_object_object_add_ex(o, "src_port", json_object_new_int(r->src_port), KEYF);
    add_addr(o, "dst_ip", r->dst_ip, v4);
    json_object_object_add_ex(o, "dst_port", json_object_new_int(r->dst_port), KEYF);
    json_object_object_add_ex(o, "ip_proto", json_object_new_int(r->ip_proto), KEYF);
    json_object_object_add_ex(o, "vlan", json_object_new_int(r->vlan), KEYF);
    add_time(o, "first_seen", r->first_seen_us);
    add_time(o, "last_seen", r->last_seen_us);
    json_object_object_add_ex(o, "c2s_packets", json_object_new_uint64(r->c2s_packets), KEYF);
    json_object_object_add_ex(o, "c2s_bytes", json_object_new_uint64(r->c2s_bytes), KEYF);
    json_object_object_add_ex(o, "s2c_packets", json_object_new_uint64(r->s2c_packets), KEYF);
    json_object_object_add_ex(o, "s2c_bytes", json_object_new_uint64(r->s2c_bytes), KEYF);
    add_str_field(o, "app", r->app, sizeof(r->app));
    add_str_field(o, "category", r->category, sizeof(r->category));
    add_str_field(o, "server_name", r->server_name, sizeof(r->server_name));
    risks = json_object_new_array();
    for (unsigned bit = 0; bit < 64; bit++) {
        if (!(r->risks & ((uint64_t)1 << bit)))
            continue;
        const char *name = tw_risk_name(bit);
        char num[4];
        if (name == NULL) {
            /* a bit nDPI 4.2 has no name for: keep it, as its number, like ndpi_risk2str */
            snprintf(num, sizeof(num), "%u", bit);
            name = num;
        }
        json_object_array_add(risks, json_object_new_string(name));
    }
    json_object_object_add_ex(o, "risks", risks, KEYF);
    json_object_object_add_ex(o, "end_reason",
                              json_object_new_string(tw_end_reason_name(r->end_reason)), KEYF);
    json_object_object_add_ex(o, "tls_version", json_object_new_int(r->tls_version), KEYF);
    add_str_field(o, "ja3c", r->ja3c, sizeof(r->ja3c));

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

/* ---- parsing back ---- */

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static json_object *get_key(json_object *o, const char *key, json_type type, char *err,
                            size_t errlen)
{
    json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || v == NULL) {
        fail(err, errlen, "missing key \"%s\"", key);
        return NULL;
    }
    if (!json_object_is_type(v, type)) {
        fail(err, errlen, "key \"%s\": expected %s", key, json_type_to_name(type));
        return NULL;
    }
    return v;
}

static int get_uint(json_object *o, const char *key, uint64_t max, uint64_t *out, char *err,
                    size_t errlen)
{
    json_object *v = get_key(o, key, json_type_int, err, errlen);

    if (v == NULL)
        return -1;
    /* json-c keeps integers as int64 or uint64; a negative one reads as 0 through get_uint64 */
    if (json_object_get_int64(v) < 0 && json_object_get_uint64(v) == 0)
        return fail(err, errlen, "key \"%s\": negative", key);
    *out = json_object_get_uint64(v);
    if (*out > max)
        return fail(err, errlen, "key \"%s\": %" PRIu64 " is out of range", key, *out);
    return 0;
}

/* Reads a time written as "seconds.micros" exactly from the number's original text; other
 * spellings (an exponent, a plain integer) go through the double. */
static int get_time(json_object *o, const char *key, uint64_t *out, char *err, size_t errlen)
{
    json_object *v;
    const char *t, *p;
    uint64_t sec = 0, frac = 0;
    int digits = 0;

    if (!json_object_object_get_ex(o, key, &v) || v == NULL)
        return fail(err, errlen, "missing key \"%s\"", key);
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return fail(err, errlen, "key \"%s\": expected a number", key);
    t = json_object_get_string(v);
    for (p = t; *p >= '0' && *p <= '9' && p - t < 12; p++)
        sec = sec * 10 + (uint64_t)(*p - '0');
    if (p > t && (*p == '\0' || *p == '.')) {
        if (*p == '.')
            for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                if (digits < 6)
                    frac = frac * 10 + (uint64_t)(*p - '0');
        if (*p == '\0') {
            for (; digits < 6; digits++)
                frac *= 10;
            *out = sec * 1000000 + frac;
            return 0;
        }
    }
    double d = json_object_get_double(v);
    if (!(d >= 0 && d < 1.8e13))
        return fail(err, errlen, "key \"%s\": not a time in epoch seconds", key);
    *out = (uint64_t)llround(d * 1e6);
    return 0;
}

/* Copies a string key into a fixed field, cut at a UTF-8 character boundary when too long
 * (a sanitized name can be longer than the field it came from). */
static int get_str(json_object *o, const char *key, char *field, size_t size, char *err,
                   size_t errlen)
{
    json_object *v = get_key(o, key, json_type_string, err, errlen);
    const char *s;
    size_t n;

    if (v == NULL)
        return -1;
    s = json_object_get_string(v);
    n = (size_t)json_object_get_string_len(v);
    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    memset(field, 0, size);
    memcpy(field, s, n);
    return 0;
}

static int get_addr(json_object *o, const char *key, int v4, uint8_t *addr, char *err,
                    size_t errlen)
{
    json_object *v = get_key(o, key, json_type_string, err, errlen);

    if (v == NULL)
        return -1;
    memset(addr, 0, 16);
    if (inet_pton(v4 ? AF_INET : AF_INET6, json_object_get_string(v), addr) != 1)
        return fail(err, errlen, "key \"%s\": not an IPv%d address", key, v4 ? 4 : 6);
    return 0;
}

static int risk_from_name(const char *name)
{
    char *end;
    unsigned long n;

    for (unsigned bit = 1; bit < 64; bit++) {
        const char *known = tw_risk_name(bit);
        if (known != NULL && strcmp(known, name) == 0)
            return (int)bit;
    }
    errno = 0;
    n = strtoul(name, &end, 10);
    if (name[0] >= '0' && name[0] <= '9' && *end == '\0' && errno == 0 && n < 64)
        return (int)n;
    return -1;
}

static int from_object(json_object *o, struct tw_flow_record *r, char *err, size_t errlen)
{
    json_object *v;
    uint64_t u;
    char *end;
    const char *s;
    int rc;

    if (!json_object_is_type(o, json_type_object))
        return fail(err, errlen, "not a JSON object");

    if ((v = get_key(o, "flow_id", json_type_string, err, errlen)) == NULL)
        return -1;
    s = json_object_get_string(v);
    errno = 0;
    r->flow_id = strtoull(s, &end, 16);
    if (strlen(s) != 16 || *end != '\0' || errno != 0)
        return fail(err, errlen, "key \"flow_id\": expected 16 hex digits");

    if ((v = get_key(o, "event", json_type_string, err, errlen)) == NULL)
        return -1;
    s = json_object_get_string(v);
    for (unsigned i = TW_EVENT_CLASSIFIED; i <= TW_EVENT_END; i++)
        if (strcmp(s, event_names[i]) == 0)
            r->event = (uint8_t)i;
    if (r->event == 0)
        return fail(err, errlen, "key \"event\": unknown event \"%s\"", s);

    if (get_uint(o, "ip_version", 6, &u, err, errlen) < 0)
        return -1;
    if (u != 4 && u != 6)
        return fail(err, errlen, "key \"ip_version\": expected 4 or 6");
    r->ip_version = (uint8_t)u;
    if (get_addr(o, "src_ip", u == 4, r->src_ip, err, errlen) < 0 ||
        get_addr(o, "dst_ip", u == 4, r->dst_ip, err, errlen) < 0)
        return -1;

    if (get_uint(o, "src_port", UINT16_MAX, &u, err, errlen) < 0)
        return -1;
    r->src_port = (uint16_t)u;
    if (get_uint(o, "dst_port", UINT16_MAX, &u, err, errlen) < 0)
        return -1;
    r->dst_port = (uint16_t)u;
    if (get_uint(o, "ip_proto", UINT8_MAX, &u, err, errlen) < 0)
        return -1;
    r->ip_proto = (uint8_t)u;
    if (get_uint(o, "vlan", 4095, &u, err, errlen) < 0)
        return -1;
    r->vlan = (uint16_t)u;
    if (get_time(o, "first_seen", &r->first_seen_us, err, errlen) < 0 ||
        get_time(o, "last_seen", &r->last_seen_us, err, errlen) < 0)
        return -1;
    if (get_uint(o, "c2s_packets", UINT64_MAX, &r->c2s_packets, err, errlen) < 0 ||
        get_uint(o, "c2s_bytes", UINT64_MAX, &r->c2s_bytes, err, errlen) < 0 ||
        get_uint(o, "s2c_packets", UINT64_MAX, &r->s2c_packets, err, errlen) < 0 ||
        get_uint(o, "s2c_bytes", UINT64_MAX, &r->s2c_bytes, err, errlen) < 0)
        return -1;
    if (get_str(o, "app", r->app, sizeof(r->app), err, errlen) < 0 ||
        get_str(o, "category", r->category, sizeof(r->category), err, errlen) < 0 ||
        get_str(o, "server_name", r->server_name, sizeof(r->server_name), err, errlen) < 0 ||
        get_str(o, "ja3c", r->ja3c, sizeof(r->ja3c), err, errlen) < 0)
        return -1;

    if ((v = get_key(o, "risks", json_type_array, err, errlen)) == NULL)
        return -1;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_string))
            return fail(err, errlen, "key \"risks\": expected an array of strings");
        if ((rc = risk_from_name(json_object_get_string(e))) < 0)
            return fail(err, errlen, "key \"risks\": unknown risk \"%s\"",
                        json_object_get_string(e));
        r->risks |= (uint64_t)1 << rc;
    }

    if ((v = get_key(o, "end_reason", json_type_string, err, errlen)) == NULL)
        return -1;
    if ((rc = tw_end_reason_from_name(json_object_get_string(v))) < 0)
        return fail(err, errlen, "key \"end_reason\": unknown reason \"%s\"",
                    json_object_get_string(v));
    r->end_reason = (uint8_t)rc;
    if (get_uint(o, "tls_version", UINT16_MAX, &u, err, errlen) < 0)
        return -1;
    r->tls_version = (uint16_t)u;
    return 0;
}

int tw_record_from_json(const char *text, struct tw_flow_record *r, char *err, size_t errlen)
{
    enum json_tokener_error jerr;
    json_object *o;
    int rc;

    memset(r, 0, sizeof(*r));
    if (text == NULL)
        return fail(err, errlen, "no text");
    o = json_tokener_parse_verbose(text, &jerr);
    if (o == NULL)
        return fail(err, errlen, "not JSON: %s", json_tokener_error_desc(jerr));
    rc = from_object(o, r, err, errlen);
    json_object_put(o);
    return rc;
}
