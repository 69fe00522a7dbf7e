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
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <ndpi/ndpi_api.h>

#include "control/record/geoip.h"
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

size_t tw_utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t v;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, v = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, v = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, v = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) || v > 0x10ffff ||
        (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

void tw_utf8_sanitize(const char *src, size_t srclen, char *out)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t n = strnlen(src, srclen), o = 0;

    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = tw_utf8_char(s + i, n - i, &cp);
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
            tw_utf8_sanitize(field, size, clean);
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

/* ---- the keys ----
 *
 * Every key of the object, in the order it is written; the reader takes them in the same
 * order (ip_version before the two addresses, which need it). One row a key, so that the
 * writer and the reader cannot disagree on a name, a field or a bound. */

enum field_kind {
    F_FLOW_ID, /* 16 hex digits, quoted */
    F_EVENT,   /* event_names */
    F_VERSION, /* 4 or 6 */
    F_ADDR,    /* inet_ntop text of the record's IP version */
    F_UINT,    /* a number up to max */
    F_TIME,    /* "seconds.micros" */
    F_STR,     /* a fixed-size text field */
    F_RISKS,   /* an array of risk labels */
    F_REASON,  /* tw_end_reason_name */
    F_TUNNEL,  /* tw_tunnel_name */
    F_COUNTRY, /* "" or two capital letters (control/record/geoip.h) */
    F_MAC,     /* "aa:bb:cc:dd:ee:ff", "" when has_src_mac is 0 */
};

struct field {
    const char *name;
    const char *lit; /* "\"name\":" as written */
    size_t lit_len;
    enum field_kind kind;
    size_t off, size; /* the member of struct tw_flow_record */
    uint64_t max;     /* F_UINT, F_VERSION: the largest value read back */
    int optional;     /* absent in records written before the key existed: read as 0 */
};

#define ROW(name, kind, member, max)                                                        \
    {name, "\"" name "\":", sizeof("\"" name "\":") - 1, kind,                              \
     offsetof(struct tw_flow_record, member), sizeof(((struct tw_flow_record *)0)->member), max, 0}
/* the rows by kind: most keys are named as their member */
#define KEY(member, kind) ROW(#member, kind, member, 0)
#define NUM(member, max) ROW(#member, F_UINT, member, max)
#define ADDR(member) ROW(#member, F_ADDR, member, 0)
#define TEXT(member) ROW(#member, F_STR, member, 0)
#define TIME(name, member) ROW(name, F_TIME, member, 0)
#define ROW_OPT(name, kind, member, max)                                                    \
    {name, "\"" name "\":", sizeof("\"" name "\":") - 1, kind,                              \
     offsetof(struct tw_flow_record, member), sizeof(((struct tw_flow_record *)0)->member), max, 1}

static const struct field fields[] = {
    KEY(flow_id, F_FLOW_ID),
    KEY(event, F_EVENT),
    ROW("ip_version", F_VERSION, ip_version, 6),
    ADDR(src_ip),
    NUM(src_port, UINT16_MAX),
    ADDR(dst_ip),
    NUM(dst_port, UINT16_MAX),
    NUM(ip_proto, UINT8_MAX),
    NUM(vlan, 4095),
    ROW_OPT("tunnel", F_TUNNEL, tunnel, 0),
    ROW_OPT("tunnel_id", F_UINT, tunnel_id, UINT32_MAX),
    ROW_OPT("src_country", F_COUNTRY, src_country, 0),
    ROW_OPT("dst_country", F_COUNTRY, dst_country, 0),
    ROW_OPT("src_asn", F_UINT, src_asn, UINT32_MAX),
    ROW_OPT("dst_asn", F_UINT, dst_asn, UINT32_MAX),
    TIME("first_seen", first_seen_us),
    TIME("last_seen", last_seen_us),
    NUM(c2s_packets, UINT64_MAX),
    NUM(c2s_bytes, UINT64_MAX),
    NUM(s2c_packets, UINT64_MAX),
    NUM(s2c_bytes, UINT64_MAX),
    TEXT(app),
    TEXT(category),
    TEXT(server_name),
    KEY(risks, F_RISKS),
    KEY(end_reason, F_REASON),
    NUM(tls_version, UINT16_MAX),
    TEXT(ja3c),
    ROW_OPT("src_mac", F_MAC, src_mac, 0),
};

/* The unsigned member of f (1, 2, 4 or 8 bytes wide; offsetof keeps it aligned). */
static uint64_t load_uint(const struct tw_flow_record *r, const struct field *f)
{
    const char *p = (const char *)r + f->off;

    return f->size == 1   ? *(const uint8_t *)p
           : f->size == 2 ? *(const uint16_t *)p
           : f->size == 4 ? *(const uint32_t *)p
                          : *(const uint64_t *)p;
}

/* Stores v (at most f->max, so it fits) into the member of f. */
static void store_uint(struct tw_flow_record *r, const struct field *f, uint64_t v)
{
    char *p = (char *)r + f->off;

    if (f->size == 1)
        *(uint8_t *)p = (uint8_t)v;
    else if (f->size == 2)
        *(uint16_t *)p = (uint16_t)v;
    else if (f->size == 4)
        *(uint32_t *)p = (uint32_t)v;
    else
        *(uint64_t *)p = v;
}

static void put_name(struct out *o, const char *name)
{
    put_escaped(o, name, strlen(name));
}

static void put_risks(struct out *o, uint64_t risks)
{
    int first = 1;

    put_mem(o, "[", 1);
    for (unsigned bit = 0; bit < 64; bit++) {
        if (!(risks & ((uint64_t)1 << bit)))
            continue;
        char num[4];
        const char *name = tw_risk_label(bit, num);
        if (!first)
            put_mem(o, ",", 1);
        first = 0;
        put_name(o, name);
    }
    put_mem(o, "]", 1);
}

/* A country field holds what geoip.c checked: two capital letters, or nothing. Anything
 * else (a record altered in Redis) is written and read as nothing, never as text. */
static void put_country(struct out *o, const char *c)
{
    put_mem(o, "\"", 1);
    if (tw_geoip_country_field_valid(c))
        put_mem(o, c, 2);
    put_mem(o, "\"", 1);
}

static void put_mac(struct out *o, const struct tw_flow_record *r)
{
    static const char hex[] = "0123456789abcdef";
    char text[19];

    if (!r->has_src_mac) {
        put_mem(o, "\"\"", 2);
        return;
    }
    text[0] = text[18] = '"';
    for (int i = 0; i < 6; i++) {
        text[1 + 3 * i] = hex[r->src_mac[i] >> 4];
        text[2 + 3 * i] = hex[r->src_mac[i] & 0xf];
        if (i < 5)
            text[3 + 3 * i] = ':';
    }
    put_mem(o, text, 19);
}

static void put_flow_id(struct out *o, uint64_t id)
{
    static const char hex[] = "0123456789abcdef";
    char text[18];

    text[0] = text[17] = '"';
    for (int i = 0; i < 16; i++)
        text[1 + i] = hex[(id >> (60 - 4 * i)) & 0xf];
    put_mem(o, text, 18);
}

int tw_record_to_json(const struct tw_flow_record *r, char *buf, size_t len)
{
    struct out o = {.p = buf, .end = buf + (len > 0 ? len - 1 : 0), .full = len == 0};
    const char *ev = r->event >= 1 && r->event <= 3 ? event_names[r->event] : "unknown";
    const char *reason = tw_end_reason_name(r->end_reason);
    int v4 = r->ip_version == 4;

    put_mem(&o, "{", 1);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const struct field *f = &fields[i];
        const char *member = (const char *)r + f->off;

        if (i > 0)
            put_mem(&o, ",", 1);
        put_mem(&o, f->lit, f->lit_len);
        switch (f->kind) {
        case F_FLOW_ID:
            put_flow_id(&o, r->flow_id);
            break;
        case F_EVENT:
        case F_REASON:
            put_name(&o, f->kind == F_EVENT ? ev : reason);
            break;
        case F_VERSION:
        case F_UINT:
            put_u64(&o, load_uint(r, f));
            break;
        case F_ADDR:
            put_addr(&o, (const uint8_t *)member, v4);
            break;
        case F_TIME:
            put_time(&o, load_uint(r, f));
            break;
        case F_STR:
            put_str_field(&o, member, f->size);
            break;
        case F_RISKS:
            put_risks(&o, r->risks);
            break;
        case F_TUNNEL:
            put_name(&o, tw_tunnel_name(r->tunnel));
            break;
        case F_COUNTRY:
            put_country(&o, member);
            break;
        case F_MAC:
            put_mac(&o, r);
            break;
        }
    }
    put_mem(&o, "}", 1);
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

static int get_flow_id(json_object *o, uint64_t *id, char *err, size_t errlen)
{
    json_object *v = get_key(o, "flow_id", json_type_string, err, errlen);
    const char *s;
    char *end;

    if (v == NULL)
        return -1;
    s = json_object_get_string(v);
    errno = 0;
    *id = strtoull(s, &end, 16);
    if (strlen(s) != 16 || *end != '\0' || errno != 0)
        return fail(err, errlen, "key \"flow_id\": expected 16 hex digits");
    return 0;
}

static int get_event(json_object *o, uint8_t *event, char *err, size_t errlen)
{
    json_object *v = get_key(o, "event", json_type_string, err, errlen);
    const char *s;

    if (v == NULL)
        return -1;
    s = json_object_get_string(v);
    for (unsigned i = TW_EVENT_CLASSIFIED; i <= TW_EVENT_END; i++)
        if (strcmp(s, event_names[i]) == 0) {
            *event = (uint8_t)i;
            return 0;
        }
    return fail(err, errlen, "key \"event\": unknown event \"%s\"", s);
}

static int get_risks(json_object *o, uint64_t *risks, char *err, size_t errlen)
{
    json_object *v = get_key(o, "risks", json_type_array, err, errlen);
    int rc;

    if (v == NULL)
        return -1;
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_string))
            return fail(err, errlen, "key \"risks\": expected an array of strings");
        if ((rc = risk_from_name(json_object_get_string(e))) < 0)
            return fail(err, errlen, "key \"risks\": unknown risk \"%s\"",
                        json_object_get_string(e));
        *risks |= (uint64_t)1 << rc;
    }
    return 0;
}

static int get_reason(json_object *o, uint8_t *reason, char *err, size_t errlen)
{
    json_object *v = get_key(o, "end_reason", json_type_string, err, errlen);
    int rc;

    if (v == NULL)
        return -1;
    if ((rc = tw_end_reason_from_name(json_object_get_string(v))) < 0)
        return fail(err, errlen, "key \"end_reason\": unknown reason \"%s\"",
                    json_object_get_string(v));
    *reason = (uint8_t)rc;
    return 0;
}

static int get_tunnel(json_object *o, uint8_t *tunnel, char *err, size_t errlen)
{
    json_object *v = get_key(o, "tunnel", json_type_string, err, errlen);
    int rc;

    if (v == NULL)
        return -1;
    if ((rc = tw_tunnel_from_name(json_object_get_string(v))) < 0)
        return fail(err, errlen, "key \"tunnel\": unknown tunnel \"%s\"",
                    json_object_get_string(v));
    *tunnel = (uint8_t)rc;
    return 0;
}

static int get_country(json_object *o, const char *key, char *field, char *err, size_t errlen)
{
    json_object *v = get_key(o, key, json_type_string, err, errlen);
    const char *s;

    if (v == NULL)
        return -1;
    s = json_object_get_string(v);
    memset(field, 0, 4);
    if (s[0] == '\0')
        return 0;
    if (json_object_get_string_len(v) != 2 || !tw_geoip_country_valid(s, 2))
        return fail(err, errlen, "key \"%s\": expected \"\" or two capital letters", key);
    memcpy(field, s, 2);
    return 0;
}

/* "aa:bb:cc:dd:ee:ff" (either case) sets the MAC, "" leaves none. */
static int get_mac(json_object *o, struct tw_flow_record *r, char *err, size_t errlen)
{
    json_object *v = get_key(o, "src_mac", json_type_string, err, errlen);
    const char *s;
    unsigned b[6];
    char end;

    if (v == NULL)
        return -1;
    s = json_object_get_string(v);
    if (s[0] == '\0')
        return 0;
    if (strlen(s) != 17 || strspn(s, "0123456789abcdefABCDEF:") != 17 ||
        sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
               &end) != 6 ||
        s[2] != ':' || s[5] != ':' || s[8] != ':' || s[11] != ':' || s[14] != ':')
        return fail(err, errlen, "key \"src_mac\": expected \"aa:bb:cc:dd:ee:ff\" or \"\"");
    for (int i = 0; i < 6; i++)
        r->src_mac[i] = (uint8_t)b[i];
    r->has_src_mac = 1;
    return 0;
}

/* Reads the key of f into the record. Returns 0, or -1 with a reason in err. */
static int get_field(json_object *o, const struct field *f, struct tw_flow_record *r, char *err,
                     size_t errlen)
{
    char *member = (char *)r + f->off;
    uint64_t u = 0; /* set by every path that reads it; gcc cannot tell */

    if (f->optional && !json_object_object_get_ex(o, f->name, NULL))
        return 0; /* a record stored before the key existed */
    switch (f->kind) {
    case F_FLOW_ID:
        return get_flow_id(o, &r->flow_id, err, errlen);
    case F_EVENT:
        return get_event(o, &r->event, err, errlen);
    case F_VERSION:
    case F_UINT:
        if (get_uint(o, f->name, f->max, &u, err, errlen) < 0)
            return -1;
        if (f->kind == F_VERSION && u != 4 && u != 6)
            return fail(err, errlen, "key \"%s\": expected 4 or 6", f->name);
        store_uint(r, f, u);
        return 0;
    case F_ADDR:
        return get_addr(o, f->name, r->ip_version == 4, (uint8_t *)member, err, errlen);
    case F_TIME:
        if (get_time(o, f->name, &u, err, errlen) < 0)
            return -1;
        store_uint(r, f, u);
        return 0;
    case F_STR:
        return get_str(o, f->name, member, f->size, err, errlen);
    case F_RISKS:
        return get_risks(o, &r->risks, err, errlen);
    case F_REASON:
        return get_reason(o, &r->end_reason, err, errlen);
    case F_TUNNEL:
        return get_tunnel(o, &r->tunnel, err, errlen);
    case F_COUNTRY:
        return get_country(o, f->name, member, err, errlen);
    case F_MAC:
        return get_mac(o, r, err, errlen);
    }
    return fail(err, errlen, "key \"%s\": unknown kind", f->name);
}

static int from_object(json_object *o, struct tw_flow_record *r, char *err, size_t errlen)
{
    if (!json_object_is_type(o, json_type_object))
        return fail(err, errlen, "not a JSON object");
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (get_field(o, &fields[i], r, err, errlen) < 0)
            return -1;
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
