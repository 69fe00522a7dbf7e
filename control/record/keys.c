/* store_keys.c - Redis key names (see store_keys.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "control/record/keys.h"

#include "control/record/alert.h"

static int fits(int n, size_t len)
{
    return n >= 0 && (size_t)n < len ? n : -1;
}

/* Parses the decimal digits of s[0..n) into *v. Returns 0, or -1 when empty, not digits, or
 * too large. */
static int dec(const char *s, size_t n, uint64_t *v)
{
    *v = 0;
    if (n == 0 || n > 19)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (uint64_t)(s[i] - '0');
    }
    return 0;
}

int tw_key_record_parse(const char *key, uint64_t *hour, unsigned *shard)
{
    /* from the end: "}:f:<H>" or "}:f:<H>:<k>"; the sensor (A-Za-z0-9_.-) has no ':' or '}' */
    const char *end = key + strlen(key), *c2 = end + 1, *c1;
    uint64_t h, k = 0;

    if (strncmp(key, "tw:{", 4) != 0)
        return -1;
    if (TW_RECORD_SHARDS > 1) {
        for (c2 = end; c2 > key && c2[-1] != ':'; c2--)
            ;
        if (c2 <= key + 1 || dec(c2, (size_t)(end - c2), &k) < 0 || k >= TW_RECORD_SHARDS)
            return -1;
    }
    for (c1 = c2 - 1; c1 > key && c1[-1] != ':'; c1--)
        ;
    if (c1 - key < 8 || memcmp(c1 - 4, "}:f:", 4) != 0 || dec(c1, (size_t)(c2 - 1 - c1), &h) < 0)
        return -1;
    *hour = h;
    *shard = (unsigned)k;
    return 0;
}

int tw_key_hours(char *buf, size_t len, const char *sensor)
{
    return fits(snprintf(buf, len, "tw:{%s}:hours", sensor), len);
}

_Static_assert((TW_RECORD_SHARDS & (TW_RECORD_SHARDS - 1)) == 0, "shards: a power of two");

int tw_key_record(char *buf, size_t len, const char *sensor, uint64_t hour, uint64_t flow_id)
{
    if (TW_RECORD_SHARDS == 1)
        return fits(snprintf(buf, len, "tw:{%s}:f:%" PRIu64, sensor, hour), len);
    return fits(snprintf(buf, len, "tw:{%s}:f:%" PRIu64 ":%u", sensor, hour,
                         (unsigned)(flow_id & (TW_RECORD_SHARDS - 1))),
                len);
}

int tw_key_nets(char *buf, size_t len, const char *sensor, uint64_t hour)
{
    return fits(snprintf(buf, len, "tw:{%s}:x:%" PRIu64 ":nets", sensor, hour), len);
}

int tw_key_gaps(char *buf, size_t len, const char *sensor)
{
    return fits(snprintf(buf, len, "tw:{%s}:gaps", sensor), len);
}

int tw_key_statements(char *buf, size_t len, const char *sensor)
{
    return fits(snprintf(buf, len, "tw:{%s}:statements", sensor), len);
}

int tw_key_statements_seen(char *buf, size_t len, const char *sensor)
{
    return fits(snprintf(buf, len, "tw:{%s}:statements:seen", sensor), len);
}

int tw_key_rotations(char *buf, size_t len, const char *sensor)
{
    return fits(snprintf(buf, len, "tw:{%s}:rotations", sensor), len);
}

int tw_key_seals(char *buf, size_t len, const char *sensor)
{
    return fits(snprintf(buf, len, "tw:{%s}:seals", sensor), len);
}

int tw_key_witness(char *buf, size_t len, const char *sensor)
{
    return fits(snprintf(buf, len, "tw:witness:{%s}", sensor), len);
}

int tw_key_acl_witness(char *buf, size_t len, const char *sensor)
{
    char key[TW_KEY_LEN];
    size_t o = 3;

    if (tw_key_witness(key, sizeof(key), sensor) < 0 || len < 4)
        return -1;
    memcpy(buf, "%W~", 3);
    for (const char *p = key; *p; p++) {
        if (strchr("*?[]\\", *p) != NULL) { /* Redis's glob specials, taken literally */
            if (o + 1 >= len)
                return -1;
            buf[o++] = '\\';
        }
        if (o + 1 >= len)
            return -1;
        buf[o++] = *p;
    }
    buf[o] = '\0';
    return (int)o;
}

int tw_key_inventory(char *buf, size_t len, const char *sensor)
{
    return fits(snprintf(buf, len, "tw:{%s}:inventory", sensor), len);
}

int tw_key_stats(char *buf, size_t len, const char *sensor)
{
    return fits(snprintf(buf, len, "tw:{%s}:stats", sensor), len);
}

int tw_key_stats_run(char *buf, size_t len, const char *sensor, const char *run)
{
    return fits(snprintf(buf, len, "tw:{%s}:stats:%s", sensor, run), len);
}

int tw_key_runs(char *buf, size_t len, const char *sensor)
{
    return fits(snprintf(buf, len, "tw:{%s}:runs", sensor), len);
}

static const char *const kind_names[TW_POST__COUNT] = {"t", "n4", "n6", "p", "a"};
static const uint8_t detail_sizes[TW_POST__COUNT] = {0, 1, 8, 2, 0};

int tw_key_post(char *buf, size_t len, const char *sensor, uint64_t hour, enum tw_post_kind kind,
                const char *value)
{
    if (kind == TW_POST_TIME)
        return fits(snprintf(buf, len, "tw:{%s}:x:%" PRIu64 ":t", sensor, hour), len);
    return fits(snprintf(buf, len, "tw:{%s}:x:%" PRIu64 ":%s:%s", sensor, hour,
                         kind_names[kind], value),
                len);
}

size_t tw_post_entry_size(enum tw_post_kind kind)
{
    return TW_POST_HEAD + detail_sizes[kind];
}

int tw_net_bucket(const uint8_t *addr, int v4, char *out, uint8_t *detail)
{
    static const char hex[] = "0123456789abcdef";
    unsigned nb = v4 ? 3 : 8;

    for (unsigned i = 0; i < nb; i++) {
        out[2 * i] = hex[addr[i] >> 4];
        out[2 * i + 1] = hex[addr[i] & 0xf];
    }
    out[2 * nb] = '\0';
    if (v4) {
        detail[0] = addr[3];
        return 1;
    }
    memcpy(detail, addr + 8, 8);
    return 8;
}

uint16_t tw_port_bucket(uint16_t port)
{
    if (port < 1024)
        return port;
    return port < TW_PORT_BLOCK ? 1024 : (uint16_t)(port & ~(TW_PORT_BLOCK - 1));
}

static void be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

void tw_post_encode(enum tw_post_kind kind, const struct tw_posting *p, uint8_t *out)
{
    be64(out, p->last_seen_us);
    be64(out + 8, p->flow_id);
    out[16] = (uint8_t)(p->back >> 8);
    out[17] = (uint8_t)p->back;
    memcpy(out + TW_POST_HEAD, p->detail, detail_sizes[kind]);
}

void tw_post_decode(enum tw_post_kind kind, const uint8_t *in, struct tw_posting *p)
{
    p->last_seen_us = get_be64(in);
    p->flow_id = get_be64(in + 8);
    p->back = (uint16_t)(in[16] << 8 | in[17]);
    memset(p->detail, 0, sizeof(p->detail));
    memcpy(p->detail, in + TW_POST_HEAD, detail_sizes[kind]);
}

int tw_net_text(const uint8_t *addr, int v4, unsigned bits, char *out, size_t len)
{
    uint8_t net[16] = {0};
    unsigned nbytes = v4 ? 4 : 16;
    char text[INET6_ADDRSTRLEN];

    if (bits > nbytes * 8)
        return -1;
    memcpy(net, addr, bits / 8);
    if (bits % 8)
        net[bits / 8] = addr[bits / 8] & (uint8_t)(0xff << (8 - bits % 8));
    if (inet_ntop(v4 ? AF_INET : AF_INET6, net, text, sizeof(text)) == NULL)
        return -1;
    return fits(snprintf(out, len, "%s/%u", text, bits), len) < 0 ? -1 : 0;
}

int tw_app_parts(const char *app, size_t applen, char parts[][TW_APP_LEN], int max)
{
    size_t n = strnlen(app, applen), start = 0;
    int count = 0;

    for (size_t i = 0; i <= n && count < max; i++) {
        if (i < n && app[i] != '.')
            continue;
        size_t l = i - start;
        if (l > 0 && l < TW_APP_LEN) {
            for (size_t k = 0; k < l; k++)
                parts[count][k] = (char)tolower((unsigned char)app[start + k]);
            parts[count][l] = '\0';
            /* "HTTP.HTTP" would index the same key twice */
            if (count == 0 || strcmp(parts[count], parts[count - 1]) != 0)
                count++;
        }
        start = i + 1;
    }
    return count;
}

/* ---- alerts and summaries ---- */

static int alert_key_result(int n, size_t len)
{
    return n < 0 || (size_t)n >= len ? -1 : n;
}

int tw_key_alerts(char *buf, size_t len, const char *sensor)
{
    return alert_key_result(snprintf(buf, len, "tw:{%s}:alerts", sensor), len);
}

int tw_key_alerts_time(char *buf, size_t len, const char *sensor, uint64_t hour)
{
    return alert_key_result(snprintf(buf, len, "tw:{%s}:alerts:t:%" PRIu64, sensor, hour), len);
}

int tw_key_alerts_hours(char *buf, size_t len, const char *sensor)
{
    return alert_key_result(snprintf(buf, len, "tw:{%s}:alerts:hours", sensor), len);
}

int tw_key_alert_seen(char *buf, size_t len, const char *sensor, uint64_t flow_id,
                      unsigned kind)
{
    return alert_key_result(snprintf(buf, len, "tw:{%s}:alert-seen:%016" PRIx64 ":%s", sensor,
                               flow_id, tw_alert_kind_name(kind)),
                      len);
}

int tw_key_alert_seen_flowless(char *buf, size_t len, const char *sensor, unsigned kind,
                               const char *subject, uint64_t period)
{
    if (subject[0] == '\0')
        return -1;
    return alert_key_result(snprintf(buf, len, "tw:{%s}:alert-seen:%s:%s:%" PRIu64, sensor,
                                     tw_alert_kind_name(kind), subject, period),
                            len);
}

int tw_key_alert_guard(char *buf, size_t len, const char *sensor, const struct tw_alert *a)
{
    char subject[64];

    if (!tw_alert_kind_flowless(a->kind))
        return tw_key_alert_seen(buf, len, sensor, a->flow_id, a->kind);
    if (a->kind == TW_ALERT_UNKNOWN_DEVICE) {
        if (a->ip_version != 4 && a->ip_version != 6)
            return -1;
        tw_addr_text(a->src_ip, a->ip_version == 4, subject, sizeof(subject));
    } else if (a->kind == TW_ALERT_MIRROR_SILENT || a->kind == TW_ALERT_MIRROR_BACK) {
        snprintf(subject, sizeof(subject), "mirror");
    } else if (a->kind == TW_ALERT_CLOCK_STEP) {
        snprintf(subject, sizeof(subject), "clock"); /* period: the step's second */
    } else {
        /* a policy's equipment name: [A-Za-z0-9_.-], nothing that could break the key */
        tw_ascii_copy(a->equipment, sizeof(a->equipment) - 1, subject);
    }
    return tw_key_alert_seen_flowless(buf, len, sensor, a->kind, subject, a->guard_period);
}

int tw_key_summed(char *buf, size_t len, const char *sensor, uint64_t hour)
{
    return alert_key_result(snprintf(buf, len, "tw:{%s}:summed:%" PRIu64, sensor, hour), len);
}

int tw_key_summary(char *buf, size_t len, const char *sensor, const char *equipment, char by,
                   uint64_t bucket, const char *suffix)
{
    return alert_key_result(snprintf(buf, len, "tw:{%s}:sum:%s:%c:%" PRIu64 "%s%s", sensor, equipment,
                               by, bucket, suffix ? ":" : "", suffix ? suffix : ""),
                      len);
}

int tw_key_summary_buckets(char *buf, size_t len, const char *sensor, const char *equipment,
                           char by)
{
    return alert_key_result(snprintf(buf, len, "tw:{%s}:sum:%s:%s", sensor, equipment,
                               by == 'h' ? "hours" : "days"),
                      len);
}

int tw_key_sum_sealed(char *buf, size_t len, const char *sensor)
{
    return alert_key_result(snprintf(buf, len, "tw:{%s}:sum-sealed", sensor), len);
}

int tw_key_reached(char *buf, size_t len, const char *sensor, const char *equipment)
{
    return alert_key_result(snprintf(buf, len, "tw:{%s}:reached:%s", sensor, equipment), len);
}

/* Every key name above starts with this: the ACL pattern is made from the same text. */
static int key_prefix(char *buf, size_t len, const char *sensor)
{
    return fits(snprintf(buf, len, "tw:{%s}:", sensor), len);
}

int tw_key_acl_pattern(char *buf, size_t len, const char *sensor)
{
    char prefix[TW_KEY_LEN];
    size_t o = 0;

    if (key_prefix(prefix, sizeof(prefix), sensor) < 0 || len < 3)
        return -1;
    buf[o++] = '~';
    for (const char *p = prefix; *p; p++) {
        if (strchr("*?[]\\", *p) != NULL) { /* Redis's glob specials, taken literally */
            if (o + 1 >= len)
                return -1;
            buf[o++] = '\\';
        }
        if (o + 1 >= len)
            return -1;
        buf[o++] = *p;
    }
    if (o + 2 > len)
        return -1;
    buf[o++] = '*';
    buf[o] = '\0';
    return (int)o;
}

const char *tw_key_acl_read_all(void)
{
    return "%R~tw:*";
}

int tw_key_audit_trail(char *buf, size_t len, const char *bank)
{
    return fits(snprintf(buf, len, "tw:{audit:%s}:trail", bank ? bank : ""), len);
}

int tw_key_audit_head(char *buf, size_t len, const char *bank)
{
    return fits(snprintf(buf, len, "tw:{audit:%s}:head", bank ? bank : ""), len);
}

int tw_key_acl_audit(char *buf, size_t len, const char *bank)
{
    /* bank names hold no glob character ([A-Za-z0-9_.-]): nothing to escape */
    if (bank == NULL)
        return fits(snprintf(buf, len, "~tw:{audit:*"), len);
    return fits(snprintf(buf, len, "~tw:{audit:%s}:*", bank), len);
}
