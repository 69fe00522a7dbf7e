/* syslog_format.c - an alert as an RFC 5424 message (see syslog_format.h). */
#include "control/store/syslog_format.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int tw_syslog_facility(const char *name)
{
    static const char *const names[] = {
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
        "authpriv", "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2",
        "local3", "local4", "local5", "local6", "local7",
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return (int)i;
    return -1;
}

/* The output and where it stands; a write past the end only sets over. */
struct out {
    char *p, *end;
    int over;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->over || (size_t)(o->end - o->p) < n) {
        o->over = 1;
        return;
    }
    memcpy(o->p, s, n);
    o->p += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* size bytes at most of s (stops at NUL): printable ASCII as is, the bytes in `quote`
 * behind a backslash, every other byte as \xHH. */
static void put_escaped(struct out *o, const char *s, size_t size, const char *quote)
{
    static const char hex[] = "0123456789ABCDEF";

    for (size_t i = 0; i < size && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f) {
            char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            put(o, e, 4);
            continue;
        }
        if (strchr(quote, c))
            put(o, "\\", 1);
        put(o, (const char *)&c, 1);
    }
}

static void param(struct out *o, const char *name, const char *value, size_t size)
{
    put(o, " ", 1);
    puts_(o, name);
    put(o, "=\"", 2);
    put_escaped(o, value, size, "\"\\]");
    put(o, "\"", 1);
}

/* RFC 5424 severities of the policy's four */
static int syslog_severity(unsigned sev)
{
    switch (sev) {
    case TW_SEV_LOW: return 5;      /* notice */
    case TW_SEV_MEDIUM: return 4;   /* warning */
    case TW_SEV_HIGH: return 3;     /* err */
    case TW_SEV_CRITICAL: return 2; /* crit */
    }
    return 4;
}

int tw_syslog_format(char *buf, size_t len, const struct tw_alert *a, int facility,
                     const char *host, const char *sensor, long pid)
{
    struct out o = {buf, buf + len, 0};
    char text[96], src[64], dst[64];
    time_t secs = (time_t)(a->ts_us / 1000000u);
    struct tm tm;
    int n;

    /* header: PRI VERSION TIMESTAMP */
    gmtime_r(&secs, &tm);
    n = snprintf(text, sizeof(text), "<%d>1 %04d-%02d-%02dT%02d:%02d:%02d.%06uZ ",
                 facility * 8 + syslog_severity(a->severity), tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(a->ts_us % 1000000u));
    put(&o, text, (size_t)n);
    /* HOSTNAME: PRINTUSASCII, 255 at most (a space would end the field) */
    size_t hn = 0;
    for (const char *h = host; *h && hn < 255; h++)
        if (*h > 0x20 && *h < 0x7f) {
            put(&o, h, 1);
            hn++;
        }
    if (!hn)
        put(&o, "-", 1);
    /* APP-NAME PROCID MSGID: the kind names are printable ASCII of 32 bytes at most */
    n = snprintf(text, sizeof(text), " tapwatch %ld %s [tapwatch@32473", pid,
                 tw_alert_kind_name(a->kind));
    put(&o, text, (size_t)n);
    /* the values of the alert's JSON (alert.h): a flowless alert's flow fields empty */
    int flowless = tw_alert_kind_flowless(a->kind);
    src[0] = dst[0] = '\0';
    if (!flowless || (a->kind == TW_ALERT_UNKNOWN_DEVICE && a->ip_version != 0))
        tw_addr_text(a->src_ip, a->ip_version == 4, src, sizeof(src));
    if (!flowless)
        tw_addr_text(a->dst_ip, a->ip_version == 4, dst, sizeof(dst));
    param(&o, "kind", tw_alert_kind_name(a->kind), 64);
    param(&o, "rule", tw_alert_rule_id(a->kind), 16);
    param(&o, "severity", tw_severity_name(a->severity), 64);
    param(&o, "sensor", sensor, 64);
    param(&o, "equipment", a->equipment, sizeof(a->equipment));
    param(&o, "vendor", a->vendor, sizeof(a->vendor));
    param(&o, "src", src, sizeof(src));
    snprintf(text, sizeof(text), "%u", flowless ? 0 : a->src_port);
    param(&o, "src_port", text, sizeof(text));
    param(&o, "dst", dst, sizeof(dst));
    snprintf(text, sizeof(text), "%u", flowless ? 0 : a->dst_port);
    param(&o, "dst_port", text, sizeof(text));
    snprintf(text, sizeof(text), "%u", flowless ? 0 : a->ip_proto);
    param(&o, "ip_proto", text, sizeof(text));
    param(&o, "app", flowless ? "" : a->app, sizeof(a->app));
    param(&o, "server_name", flowless ? "" : a->server_name, sizeof(a->server_name));
    text[0] = '\0';
    if (!flowless)
        snprintf(text, sizeof(text), "%016" PRIx64, a->flow_id);
    param(&o, "flow_id", text, sizeof(text));
    /* 64 hex digits each (alert.h); TW_SYSLOG_MSG_MAX counts them escaped */
    param(&o, "policy_sha256", a->policy_sha256, 64);
    param(&o, "geoip_sha256", a->geoip_sha256, 64);
    put(&o, "]", 1);
    /* MSG: the detail, one line of printable ASCII */
    if (a->detail[0]) {
        put(&o, " ", 1);
        put_escaped(&o, a->detail, sizeof(a->detail), "\\");
    }
    if (o.over)
        return -1;
    return (int)(o.p - buf);
}
