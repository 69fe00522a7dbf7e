/* record_json.c - a flow record as one JSON object, and back (see record_json.h).
 *
 * The object is written by hand (fast, see "writing" below) and parsed back with json-c.
 *   - times print as "1654385142.293000" (exact microseconds, not %g), and are read back
 *     from their original text;
 *   - server names come from the wire and may hold any bytes. Quotes and control bytes are
 *     escaped; invalid UTF-8 would make invalid JSON, so each byte that is not part of a valid UTF-8 sequence is replaced by U+FFFD first (lossy on purpose:
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

#include "control/record/record_json.h"

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

/* ---- writing ----
 *
 * The encoder is written by hand: it runs for every record the store writes (json-c cost
 * about 4 us a record, more than Redis spends on it). It prints exactly what json-c 0.16
 * printed with JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, which
 * tests/unit/test_json_encode.c checks byte for byte against json-c over many records:
 * keys in insertion order, no spaces, strings escaped as json_escape_str does (\b \f \n \r \t
 * \" \\, other bytes below 0x20 as \u00xx with lowercase hex, everything else as is).
 */

struct out {
    char *p, *end;
    int full;
};

static void put_mem(struct out *o, const char *s, size_t n)
{
    if ((size_t)(o->end - o->p) < n) {
        o->full = 1;
        return;
    }
    memcpy(o->p, s, n);
    o->p += n;
}

#define PUT_LIT(o, lit) put_mem((o), (lit), sizeof(lit) - 1)

static void put_u64(struct out *o, uint64_t v)
{
    char tmp[20];
    int n = 0;

    do {
        tmp[sizeof(tmp) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put_mem(o, tmp + sizeof(tmp) - n, (size_t)n);
}

/* "seconds.micros" with exactly six decimals */
static void put_time(struct out *o, uint64_t us)
{
    char frac[7];
    uint64_t f = us % 1000000;

    put_u64(o, us / 1000000);
    frac[0] = '.';
    for (int i = 6; i >= 1; i--, f /= 10)
        frac[i] = (char)('0' + f % 10);
    put_mem(o, frac, 7);
}

/* A JSON string of already valid UTF-8 text, escaped as json-c escapes it. */
static void put_escaped(struct out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;

    put_mem(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];
        size_t el = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put_mem(o, s + start, i - start);
        start = i + 1;
        esc[0] = '\\';
        switch (c) {
        case '\b': esc[1] = 'b'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\f': esc[1] = 'f'; break;
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            el = 6;
        }
        put_mem(o, esc, el);
    }
    put_mem(o, s + start, n - start);
    put_mem(o, "\"", 1);
}

/* A fixed-size string field of the record, made valid UTF-8 first. */
static void put_str_field(struct out *o, const char *field, size_t size)
{
    char clean[3 * TW_SERVER_NAME_LEN + 1];
    const unsigned char *s = (const unsigned char *)field;
    size_t n;

    /* every string field of the record is at most TW_SERVER_NAME_LEN bytes */
    if (size > TW_SERVER_NAME_LEN)
        size = TW_SERVER_NAME_LEN;
    n = strnlen(field, size);
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 0x80) {
            utf8_sanitize(field, size, clean);
            put_escaped(o, clean, strlen(clean));
            return;
        }
    put_escaped(o, field, n); /* plain ASCII, the common case: no copy */
}

/* Dotted quad without glibc's inet_ntop, which formats each byte with sprintf: that was
 * the largest cost of the control thread, two addresses per record. */
static size_t format_ipv4(const uint8_t *a, char *text)
{
    size_t n = 0;

    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        if (i)
            text[n++] = '.';
        if (v >= 100)
            text[n++] = (char)('0' + v / 100);
        if (v >= 10)
            text[n++] = (char)('0' + v / 10 % 10);
        text[n++] = (char)('0' + v % 10);
    }
    text[n] = '\0';
    return n;
}

static void put_addr(struct out *o, const uint8_t *addr, int v4)
{
    char text[INET6_ADDRSTRLEN];

    if (v4) {
        put_escaped(o, text, format_ipv4(addr, text));
        return;
    }
    if (inet_ntop(AF_INET6, addr, text, sizeof(text)) == NULL)
        text[0] = '\0';
    put_escaped(o, text, strlen(text));
}

const char *tw_risk_label(unsigned bit, char num[4])
{
    const char *name = tw_risk_name(bit);

    if (name != NULL)
        return name;
    snprintf(num, 4, "%u", bit % 100u);
    return num;
}

int tw_record_to_json(const struct tw_flow_record *r, char *buf, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    struct out o = {.p = buf, .end = buf + (len > 0 ? len - 1 : 0), .full = len == 0};
    char id[18];
    const char *ev = r->event >= 1 && r->event <= 3 ? event_names[r->event] : "unknown";
    const char *reason = tw_end_reason_name(r->end_reason);
    int v4 = r->ip_version == 4, first = 1;

    id[0] = id[17] = '"';
    for (int i = 0; i < 16; i++)
        id[1 + i] = hex[(r->flow_id >> (60 - 4 * i)) & 0xf];
    PUT_LIT(&o, "{\"flow_id\":");
    put_mem(&o, id, 18);
    PUT_LIT(&o, ",\"event\":");
    put_escaped(&o, ev, strlen(ev));
    PUT_LIT(&o, ",\"ip_version\":");
    put_u64(&o, r->ip_version);
    PUT_LIT(&o, ",\"src_ip\":");
    put_addr(&o, r->src_ip, v4);
    PUT_LIT(&o, ",\"src_port\":");
    put_u64(&o, r->src_port);
    PUT_LIT(&o, ",\"dst_ip\":");
    put_addr(&o, r->dst_ip, v4);
    PUT_LIT(&o, ",\"dst_port\":");
    put_u64(&o, r->dst_port);
    PUT_LIT(&o, ",\"ip_proto\":");
    put_u64(&o, r->ip_proto);
    PUT_LIT(&o, ",\"vlan\":");
    put_u64(&o, r->vlan);
    PUT_LIT(&o, ",\"first_seen\":");
    put_time(&o, r->first_seen_us);
    PUT_LIT(&o, ",\"last_seen\":");
    put_time(&o, r->last_seen_us);
    PUT_LIT(&o, ",\"c2s_packets\":");
    put_u64(&o, r->c2s_packets);
    PUT_LIT(&o, ",\"c2s_bytes\":");
    put_u64(&o, r->c2s_bytes);
    PUT_LIT(&o, ",\"s2c_packets\":");
    put_u64(&o, r->s2c_packets);
    PUT_LIT(&o, ",\"s2c_bytes\":");
    put_u64(&o, r->s2c_bytes);
    PUT_LIT(&o, ",\"app\":");
    put_str_field(&o, r->app, sizeof(r->app));
    PUT_LIT(&o, ",\"category\":");
    put_str_field(&o, r->category, sizeof(r->category));
    PUT_LIT(&o, ",\"server_name\":");
    put_str_field(&o, r->server_name, sizeof(r->server_name));
    PUT_LIT(&o, ",\"risks\":[");
    for (unsigned bit = 0; bit < 64; bit++) {
        if (!(r->risks & ((uint64_t)1 << bit)))
            continue;
        char num[4];
        const char *name = tw_risk_label(bit, num);
        if (!first)
            put_mem(&o, ",", 1);
        first = 0;
        put_escaped(&o, name, strlen(name));
    }
    PUT_LIT(&o, "],\"end_reason\":");
    put_escaped(&o, reason, strlen(reason));
    PUT_LIT(&o, ",\"tls_version\":");
    put_u64(&o, r->tls_version);
    PUT_LIT(&o, ",\"ja3c\":");
    put_str_field(&o, r->ja3c, sizeof(r->ja3c));
    PUT_LIT(&o, "}");
    if (o.full)
        return -1;
    *o.p = '\0';
    return (int)(o.p - buf);
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
    /* not llround: its long long ends at 9.2e18 us (year 2262), below the 1.8e13 s allowed */
    *out = (uint64_t)(d * 1e6 + 0.5);
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
