/* config.c - the appliance configuration: one table row per key, loaded from YAML.
 *
 * The table below is the whole schema. A dotted name ("flow_table.capacity") is both the
 * YAML path and the name used by command-line overrides and error messages; sections
 * ("flow_table") are not declared anywhere, they are the prefixes of the names. Loading,
 * overriding, validating, printing and the defaults all walk the same rows, so adding a
 * key is one line here plus its field in config.h.
 *
 * The loader uses libyaml's event API: the file is a single mapping of mappings, so a
 * small recursive walk is enough and every event carries the line for the error message.
 */
#include "control/plane/config.h"
#include "control/plane/log.h"
#include "control/store/syslog_format.h"
#include "control/record/units.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <yaml.h>

#include "dataplane/parse.h"

enum key_type {
    KEY_STRING,   /* char[size], bounds are length in bytes */
    KEY_UINT,     /* uint32_t */
    KEY_DURATION, /* uint32_t seconds: "30", "30s", "5m", "2h", "7d" */
    KEY_MS,       /* uint32_t milliseconds: "100", "100ms", "2s" */
    KEY_US,       /* uint32_t microseconds: "500", "500us", "1ms", "2s" */
    KEY_BOOL,     /* bool */
};

/* An extra rule beyond the bounds; gets the number (numeric keys) or the text (strings). */
typedef bool (*key_check_fn)(uint64_t num, const char *text);

struct key_row {
    const char *name;
    enum key_type type;
    size_t offset;
    size_t size;
    uint64_t min, max;
    const char *def;     /* default, as it would be written in the file */
    key_check_fn check;  /* NULL = bounds only */
    const char *noun;    /* what the value must be, when "an integer"/"a string" is not enough */
    int reload;          /* 1: SIGHUP applies a new value while running (control/plane/reload.c;
                          * README "Reloading" lists these rows); 0: a restart does */
};

static bool is_power_of_two(uint64_t n, const char *text)
{
    (void)text;
    return n != 0 && (n & (n - 1)) == 0;
}

/* The sensor name goes into Redis key names (tw:{sensor}:...) and file names: keep it to
 * characters that need no quoting anywhere. */
static bool is_sensor_name(uint64_t n, const char *text)
{
    (void)n;
    return text[strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                             "0123456789_.-")] == '\0';
}

/* The scheme only: the rest is parsed (and its password kept) by control/store/redis_conn.c. */
static bool is_redis_url(uint64_t n, const char *text)
{
    (void)n;
    return text[0] == '\0' || (strncmp(text, "unix://", 7) == 0 && text[7] != '\0') ||
           (strncmp(text, "redis://", 8) == 0 && text[8] != '\0') ||
           (strncmp(text, "rediss://", 9) == 0 && text[9] != '\0');
}

/* An error message must not show a password given in a URL: what is between "://" and the
 * last '@' becomes "***". */
static void redact_url(char *text, size_t len)
{
    char *p = strstr(text, "://"), *at, rest[TW_PATH_LEN + 8];

    if (p != NULL && p[3] != '/' && (at = strrchr(p + 3, '@')) != NULL) {
        snprintf(rest, sizeof(rest), "%s", at);
        snprintf(p + 3, len - (size_t)(p + 3 - text), "***%s", rest);
    }
}

/* "" (no export), HOST:PORT or [IPV6]:PORT with a port from 1 to 65535. */
static bool is_host_port(uint64_t n, const char *text)
{
    const char *port;
    unsigned long p = 0;

    (void)n;
    if (text[0] == '\0')
        return true;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close == text + 1 || close[1] != ':')
            return false;
        port = close + 2;
    } else {
        const char *colon = strchr(text, ':');
        if (colon == NULL || colon == text || strchr(colon + 1, ':') != NULL)
            return false;
        port = colon + 1;
    }
    if (*port == '\0' || strlen(port) > 5 || port[strspn(port, "0123456789")] != '\0')
        return false;
    p = strtoul(port, NULL, 10);
    return p >= 1 && p <= 65535;
}

/* How --iface reads a kernel interface (dataplane/source_afpacket.c, source_afxdp.c). */
static bool is_iface_source(uint64_t n, const char *text)
{
    (void)n;
    return strcmp(text, "af_packet") == 0 || strcmp(text, "af_xdp") == 0;
}

/* HOST:PORT, the port a number (the address itself is resolved when the endpoint starts). */
static bool is_listen(uint64_t n, const char *text)
{
    const char *colon = strrchr(text, ':');

    (void)n;
    return text[0] == '\0' || (colon != NULL && colon != text && colon[1] != '\0' &&
                                colon[1 + strspn(colon + 1, "0123456789")] == '\0');
}

/* Where log lines go and the least severe one written (control/plane/log.h's names). */
static bool is_log_target(uint64_t n, const char *text)
{
    (void)n;
    return strcmp(text, "stderr") == 0 || strcmp(text, "syslog") == 0 ||
           strcmp(text, "journal") == 0;
}

/* The names log.c and syslog_format.c take: one list each, asked here. */
static bool is_log_level(uint64_t n, const char *text)
{
    enum tw_log_level level;

    (void)n;
    return tw_log_level_parse(text, &level) == 0;
}

/* Where alerts go as RFC 5424 syslog messages (control/store/sink_syslog.c). */
static bool is_syslog_target(uint64_t n, const char *text)
{
    (void)n;
    return text[0] == '\0' || (strncmp(text, "udp://", 6) == 0 && strchr(text + 6, ':')) ||
           (strncmp(text, "unix://", 7) == 0 && text[7] == '/');
}

static bool is_syslog_facility(uint64_t n, const char *text)
{
    (void)n;
    return tw_syslog_facility(text) >= 0;
}

/* Up to TW_DECAP_PORTS UDP ports, comma-separated ("4789", "4789,8472"). Fills ports when
 * not NULL; returns the count, or -1 when the text is not such a list. */
static int port_list(const char *text, uint16_t *ports)
{
    int n = 0;

    for (const char *p = text;; p++) {
        uint32_t v = 0;
        const char *start = p;
        for (; *p >= '0' && *p <= '9' && v <= 65535; p++)
            v = v * 10 + (uint32_t)(*p - '0');
        if (p == start || v == 0 || v > 65535 || n == TW_DECAP_PORTS || (*p != ',' && *p))
            return -1;
        if (ports)
            ports[n] = (uint16_t)v;
        n++;
        if (!*p)
            return n;
    }
}

static bool is_port_list(uint64_t n, const char *text)
{
    (void)n;
    return port_list(text, NULL) > 0;
}

/* Offset and size of a field; numeric keys also assert at compile time that the field
 * is the width the loader writes (a negative array size stops the build otherwise). */
#define FIELD(f) offsetof(struct tw_config, f), sizeof(((struct tw_config *)0)->f)
#define U32(f)                                                                         \
    offsetof(struct tw_config, f) +                                                    \
        0 * sizeof(char[sizeof(((struct tw_config *)0)->f) == 4 ? 1 : -1]),            \
        4
#define BOOLF(f)                                                                       \
    offsetof(struct tw_config, f) +                                                    \
        0 * sizeof(char[sizeof(((struct tw_config *)0)->f) == sizeof(bool) ? 1 : -1]), \
        sizeof(bool)

#define HOUR_S 3600u
#define DAY_S 86400u

/* A row that leaves out the last column (reload) is a key that needs a restart: 0. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
static const struct key_row rows[] = {
    /* name                       type          field                         min     max              default     check            noun */
    {"sensor",                    KEY_STRING,   FIELD(sensor),                1,      TW_SENSOR_LEN - 1, "tapwatch", is_sensor_name,  "1 to 63 characters of A-Z a-z 0-9 _ . -"},
    {"bank",                      KEY_STRING,   FIELD(bank),                  0,      TW_BANK_LEN - 1, "",         is_sensor_name,  "0 to 31 characters of A-Z a-z 0-9 _ . -"},
    {"workers",                   KEY_UINT,     U32(workers),                 1,      64,              "1",        NULL,            NULL},
    {"ring_size",                 KEY_UINT,     U32(ring_size),               1024,   1u << 24,        "16384",    is_power_of_two, "a power of two"},
    {"burst",                     KEY_UINT,     U32(burst),                   1,      512,             "32",       NULL,            NULL},
    {"mbufs",                     KEY_UINT,     U32(mbufs),                   1023,   1u << 24,        "8191",     NULL,            NULL},
    {"stats_interval",            KEY_DURATION, U32(stats_interval_s),        0,      HOUR_S,          "1s",       NULL,            NULL, 1},
    {"run_dir",                   KEY_STRING,   FIELD(run_dir),               1,      TW_PATH_LEN - 1, "run",      NULL,            NULL},
    {"policy",                    KEY_STRING,   FIELD(policy_file),           0,      TW_PATH_LEN - 1, "",         NULL,            NULL, 1},
    {"promiscuous",               KEY_BOOL,     BOOLF(promiscuous),           0,      1,               "true",     NULL,            NULL},
    {"flow_table.capacity",       KEY_UINT,     U32(flow_table.capacity),     1024,   1u << 26,        "262144",   NULL,            NULL},
    {"flow_table.idle_timeout",   KEY_DURATION, U32(flow_table.idle_timeout_s), 1,    DAY_S,           "2m",       NULL,            NULL},
    {"flow_table.active_timeout", KEY_DURATION, U32(flow_table.active_timeout_s), 0,  7 * DAY_S,       "5m",       NULL,            NULL},
    {"flow_table.tcp_close_timeout", KEY_DURATION, U32(flow_table.tcp_close_timeout_s), 0, HOUR_S,     "10s",      NULL,            NULL},
    {"flow_table.evict_when_full", KEY_BOOL,    BOOLF(flow_table.evict_when_full), 0,  1,               "true",     NULL,            NULL},
    {"reassembly.enabled",        KEY_BOOL,     BOOLF(reassembly.enabled),    0,      1,               "true",     NULL,            NULL},
    {"reassembly.datagrams",      KEY_UINT,     U32(reassembly.datagrams),    1,      65536,           "256",      NULL,            NULL},
    {"reassembly.fragments",      KEY_UINT,     U32(reassembly.fragments),    2,      8192,            "64",       NULL,            NULL},
    {"reassembly.timeout",        KEY_DURATION, U32(reassembly.timeout_s),    1,      HOUR_S,          "30s",      NULL,            NULL},
    {"redis.url",                 KEY_STRING,   FIELD(redis.url),             0,      TW_PATH_LEN - 1, "",         is_redis_url,    "\"\", unix:///path, redis://host:port or rediss://host:port"},
    {"redis.hot_window",          KEY_DURATION, U32(redis.hot_window_s),      HOUR_S, 365 * DAY_S,     "7d",       NULL,            NULL},
    {"redis.retention",           KEY_DURATION, U32(redis.retention_s),       DAY_S,  3650 * DAY_S,    "180d",     NULL,            NULL},
    {"redis.format",              KEY_UINT,     U32(redis.format),            1,      2,               "2",        NULL,            NULL},
    {"redis.quiet_hour_postings", KEY_UINT,     U32(redis.quiet_posts),       0,      1u << 20,        "16384",    NULL,            NULL},
    {"redis.batch",               KEY_UINT,     U32(redis.batch),             1,      65536,           "512",      NULL,            NULL, 1},
    {"redis.buffer",              KEY_UINT,     U32(redis.buffer_records),    1,      1u << 26,        "262144",   NULL,            NULL},
    {"redis.flush_interval",      KEY_MS,       U32(redis.flush_ms),          1,      60000,           "100ms",    NULL,            NULL, 1},
    {"redis.alert_buffer",        KEY_UINT,     U32(redis.alert_buffer),      16,     1u << 24,        "65536",    NULL,            NULL},
    {"redis.spool_file_records",  KEY_UINT,     U32(redis.spool_file_records), 0,     1u << 28,        "1000000",  NULL,            NULL},
    {"redis.drain_timeout",       KEY_MS,       U32(redis.drain_ms),          0,      600000,          "10s",      NULL,            NULL},
    {"ipfix.collector",           KEY_STRING,   FIELD(ipfix.collector),       0,      TW_PATH_LEN - 1, "",         is_host_port,    "\"\", HOST:PORT or [IPV6]:PORT"},
    {"ipfix.template_interval",   KEY_DURATION, U32(ipfix.template_interval_s), 1,    HOUR_S,          "60s",      NULL,            NULL},
    {"ipfix.observation_domain",  KEY_UINT,     U32(ipfix.observation_domain), 0,     UINT32_MAX,      "1",        NULL,            NULL},
    {"ipfix.max_rate",            KEY_UINT,     U32(ipfix.max_rate),          0,      10000000,        "10000",    NULL,            NULL},
    {"ipfix.queue",               KEY_UINT,     U32(ipfix.queue),             16,     1u << 20,        "8192",     NULL,            NULL},
    {"ipfix.mtu",                 KEY_UINT,     U32(ipfix.mtu),               512,    65000,           "1400",     NULL,            NULL},
    {"source",                    KEY_STRING,   FIELD(source),                1,      sizeof(((struct tw_config *)0)->source) - 1, "af_packet", is_iface_source, "af_packet or af_xdp"},
    {"idle_sleep",                KEY_US,       U32(idle_sleep_us),           0,      100000,          "1ms",    NULL,            NULL},
    {"wait_for_interface",        KEY_BOOL,     BOOLF(wait_for_interface),    0,      1,               "false",    NULL,            NULL},
    {"metrics.listen",            KEY_STRING,   FIELD(metrics.listen),        0,      TW_PATH_LEN - 1, "",         is_listen,       "\"\" or HOST:PORT (127.0.0.1:9464, [::1]:9464)"},
    {"metrics.dpdk_telemetry",    KEY_BOOL,     BOOLF(metrics.dpdk_telemetry), 0,     1,               "false",    NULL,            NULL},
    {"log",                       KEY_STRING,   FIELD(log_target),            1,      15,              "stderr",   is_log_target,   "stderr, syslog or journal"},
    {"log_level",                 KEY_STRING,   FIELD(log_level),             1,      15,              "info",     is_log_level,    "error, warning, notice, info or debug", 1},
    {"alerts_syslog.target",      KEY_STRING,   FIELD(alerts_syslog.target),  0,      TW_PATH_LEN - 1, "",         is_syslog_target, "\"\", udp://HOST:PORT or unix:///path"},
    {"alerts_syslog.facility",    KEY_STRING,   FIELD(alerts_syslog.facility), 1,     15,              "local0",   is_syslog_facility, "a syslog facility: kern, user, daemon, auth, local0 .. local7, ..."},
    {"dedup_window",              KEY_US,       U32(dedup_window_us),         0,      1000000,         "0",        NULL,            NULL},
    {"redis.user",                KEY_STRING,   FIELD(redis.user),            0,      127,             "",         NULL,            NULL},
    {"redis.password_file",       KEY_STRING,   FIELD(redis.password_file),   0,      TW_PATH_LEN - 1, "",         NULL,            NULL},
    {"redis.tls_ca",              KEY_STRING,   FIELD(redis.tls_ca),          0,      TW_PATH_LEN - 1, "",         NULL,            NULL},
    {"redis.tls_cert",            KEY_STRING,   FIELD(redis.tls_cert),        0,      TW_PATH_LEN - 1, "",         NULL,            NULL},
    {"redis.tls_key",             KEY_STRING,   FIELD(redis.tls_key),         0,      TW_PATH_LEN - 1, "",         NULL,            NULL},
    {"redis.tls_verify_host",     KEY_BOOL,     BOOLF(redis.tls_verify_host), 0,      1,               "true",     NULL,            NULL},
    {"redis.cluster",             KEY_BOOL,     BOOLF(redis.cluster),         0,      1,               "false",    NULL,            NULL},
    {"redis.wait_replicas",       KEY_UINT,     U32(redis.wait_replicas),     0,      16,              "0",        NULL,            NULL},
    {"redis.wait_timeout",        KEY_MS,       U32(redis.wait_timeout_ms),   1,      60000,           "1s",       NULL,            NULL},
    {"redis.require_safe",        KEY_BOOL,     BOOLF(redis.require_safe),    0,      1,               "false",    NULL,            NULL},
    {"decap.gre",                 KEY_BOOL,     BOOLF(decap.gre),             0,      1,               "true",     NULL,            NULL},
    {"decap.erspan",              KEY_BOOL,     BOOLF(decap.erspan),          0,      1,               "true",     NULL,            NULL},
    {"decap.vxlan",               KEY_BOOL,     BOOLF(decap.vxlan),           0,      1,               "true",     NULL,            NULL},
    {"decap.vxlan_ports",         KEY_STRING,   FIELD(decap.vxlan_ports),     1,      31,              "4789",     is_port_list,    "1 to 4 UDP ports, comma-separated"},
    {"decap.geneve",              KEY_BOOL,     BOOLF(decap.geneve),          0,      1,               "true",     NULL,            NULL},
    {"decap.geneve_ports",        KEY_STRING,   FIELD(decap.geneve_ports),    1,      31,              "6081",     is_port_list,    "1 to 4 UDP ports, comma-separated"},
    {"decap.gtpu",                KEY_BOOL,     BOOLF(decap.gtpu),            0,      1,               "true",     NULL,            NULL},
    {"decap.mpls_pw",             KEY_BOOL,     BOOLF(decap.mpls_pw),         0,      1,               "true",     NULL,            NULL},
    {"geoip.country_db",          KEY_STRING,   FIELD(geoip.country_db),      0,      TW_PATH_LEN - 1, "",         NULL,            NULL, 1},
    {"signing.key",               KEY_STRING,   FIELD(signing.key),           0,      TW_PATH_LEN - 1, "",         NULL,            NULL},
    {"signing.previous_key",      KEY_STRING,   FIELD(signing.previous_key),  0,      TW_PATH_LEN - 1, "",         NULL,            NULL},
    {"evidence.statement_interval", KEY_DURATION, U32(evidence.statement_interval_s), 1, DAY_S,         "60s",      NULL,            NULL},
    {"evidence.witness",          KEY_STRING,   FIELD(evidence.witness),      0,      TW_PATH_LEN - 1, "",         is_redis_url,    "\"\", unix:///path, redis://host:port or rediss://host:port"},
    {"evidence.witness_user",     KEY_STRING,   FIELD(evidence.witness_user), 0,      127,             "",         NULL,            NULL},
    {"evidence.witness_password_file", KEY_STRING, FIELD(evidence.witness_password_file), 0, TW_PATH_LEN - 1, "", NULL,          NULL},
    {"evidence.witness_tls_ca",   KEY_STRING,   FIELD(evidence.witness_tls_ca), 0,    TW_PATH_LEN - 1, "",         NULL,            NULL},
    {"geoip.asn_db",              KEY_STRING,   FIELD(geoip.asn_db),          0,      TW_PATH_LEN - 1, "",         NULL,            NULL, 1},
};
#pragma GCC diagnostic pop

#define N_KEYS (sizeof(rows) / sizeof(rows[0]))

/* ---- rows ------------------------------------------------------------------------------ */

static const struct key_row *find_row(const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (strcmp(rows[i].name, name) == 0)
            return &rows[i];
    return NULL;
}

/* A section is any proper prefix of key names ending at a dot; returns its first key. */
static const struct key_row *find_section(const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; i < N_KEYS; i++)
        if (strncmp(rows[i].name, name, n) == 0 && rows[i].name[n] == '.')
            return &rows[i];
    return NULL;
}

static const struct tw_unit *units_of(const struct key_row *r)
{
    return r->type == KEY_MS ? tw_ms_units : r->type == KEY_US ? tw_us_units : tw_second_units;
}

/* "an integer from 1 to 64", "a duration from 1s to 1d (e.g. ...)", ... */
static void describe(const struct key_row *r, char *buf, size_t len)
{
    char lo[24], hi[24];

    switch (r->type) {
    case KEY_UINT:
        snprintf(buf, len, "%s from %llu to %llu", r->noun ? r->noun : "an integer",
                 (unsigned long long)r->min, (unsigned long long)r->max);
        break;
    case KEY_DURATION:
    case KEY_MS:
    case KEY_US:
        tw_format_amount((uint32_t)r->min, units_of(r), lo, sizeof(lo));
        tw_format_amount((uint32_t)r->max, units_of(r), hi, sizeof(hi));
        snprintf(buf, len, "a duration from %s to %s (e.g. %s)", lo, hi,
                 r->type == KEY_MS ? "100ms, 2s" : r->type == KEY_US ? "100us, 1ms" : "30s, 5m, 2h, 7d");
        break;
    case KEY_BOOL:
        snprintf(buf, len, "true or false");
        break;
    case KEY_STRING:
        if (r->noun)
            snprintf(buf, len, "%s", r->noun);
        else if (r->min > 0)
            snprintf(buf, len, "a string of %llu to %llu bytes", (unsigned long long)r->min,
                     (unsigned long long)r->max);
        else
            snprintf(buf, len, "a string of at most %llu bytes", (unsigned long long)r->max);
        break;
    }
}

/* Copies text for an error message: short, on one line whatever the input, in double
 * quotes when quoted is set. */
static void one_line(const char *text, bool quoted, char *buf, size_t len)
{
    const size_t max = 40;
    size_t o = 0;

    if (len < 8) {
        buf[0] = '\0';
        return;
    }
    if (quoted)
        buf[o++] = '"';
    for (size_t i = 0; text[i] && o + 5 < len; i++) {
        if (i == max) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char c = (unsigned char)text[i];
        buf[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (quoted)
        buf[o++] = '"';
    buf[o] = '\0';
}

static int value_error(const struct key_row *r, const char *got, char *msg, size_t msglen)
{
    char what[128];

    describe(r, what, sizeof(what));
    snprintf(msg, msglen, "%s: expected %s, got %s", r->name, what, got);
    return -1;
}

/* Sets one row from text; text NULL is a YAML null (an empty value). Writes nothing to cfg
 * on error. Returns 0, or -1 with "key: expected ..., got ..." in msg. */
static int apply(struct tw_config *cfg, const struct key_row *r, const char *text, char *msg,
                 size_t msglen)
{
    char got[64];
    uint32_t num = 0;
    char *field = (char *)cfg + r->offset;

    if (text == NULL && r->type != KEY_STRING)
        return value_error(r, "nothing", msg, msglen);
    if (text == NULL)
        text = "";
    one_line(text, true, got, sizeof(got));
    if (r->check == is_redis_url) {
        char shown[TW_PATH_LEN];
        snprintf(shown, sizeof(shown), "%s", text);
        redact_url(shown, sizeof(shown));
        one_line(shown, true, got, sizeof(got));
    }

    switch (r->type) {
    case KEY_STRING: {
        size_t n = strlen(text);
        if (n < r->min || n > r->max || (r->check && !r->check(0, text)))
            return value_error(r, got, msg, msglen);
        memset(field, 0, r->size);
        memcpy(field, text, n);
        return 0;
    }
    case KEY_BOOL: {
        static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
        for (size_t i = 0; i < 3; i++) {
            if (strcasecmp(text, yes[i]) == 0 || strcasecmp(text, no[i]) == 0) {
                *(bool *)field = strcasecmp(text, yes[i]) == 0;
                return 0;
            }
        }
        return value_error(r, got, msg, msglen);
    }
    case KEY_UINT:
        if (tw_parse_amount(text, (const struct tw_unit[]){{"", 1}, {NULL, 0}}, &num) != 0)
            return value_error(r, got, msg, msglen);
        break;
    case KEY_DURATION:
    case KEY_MS:
    case KEY_US:
        if (tw_parse_amount(text, units_of(r), &num) != 0)
            return value_error(r, got, msg, msglen);
        break;
    }
    if (num < r->min || num > r->max || (r->check && !r->check(num, text)))
        return value_error(r, got, msg, msglen);
    memcpy(field, &num, sizeof(num));
    return 0;
}

static int format_row(const struct tw_config *cfg, const struct key_row *r, char *buf, size_t len)
{
    const char *field = (const char *)cfg + r->offset;
    uint32_t num;
    int n;

    switch (r->type) {
    case KEY_STRING:
        n = snprintf(buf, len, "%.*s", (int)strnlen(field, r->size), field);
        break;
    case KEY_BOOL:
        n = snprintf(buf, len, "%s", *(const bool *)field ? "true" : "false");
        break;
    case KEY_UINT:
        memcpy(&num, field, sizeof(num));
        n = snprintf(buf, len, "%u", num);
        break;
    default: {
        char tmp[24];
        memcpy(&num, field, sizeof(num));
        tw_format_amount(num, units_of(r), tmp, sizeof(tmp));
        n = snprintf(buf, len, "%s", tmp);
        break;
    }
    }
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ---- public: defaults, overrides, reading back ----------------------------------------- */

void tw_config_defaults(struct tw_config *cfg)
{
    char msg[256]; /* unused: defaults parse (test_config), but the parser may write one */

    memset(cfg, 0, sizeof(*cfg));
    /* Defaults go through the same parser as the file; the unit test checks they all pass. */
    for (size_t i = 0; i < N_KEYS; i++)
        (void)apply(cfg, &rows[i], rows[i].def, msg, sizeof(msg));
}

int tw_config_set(struct tw_config *cfg, const char *key, const char *value, char *err,
                  size_t errlen)
{
    const struct key_row *r = find_row(key);

    if (r == NULL) {
        char name[64];
        one_line(key, false, name, sizeof(name));
        snprintf(err, errlen, "%s: unknown key", name);
        return -1;
    }
    return apply(cfg, r, value, err, errlen);
}

const char *tw_config_key_name(size_t i)
{
    return i < N_KEYS ? rows[i].name : NULL;
}

int tw_config_key_reloads(size_t i)
{
    return i < N_KEYS && rows[i].reload;
}

int tw_config_get(const struct tw_config *cfg, const char *key, char *buf, size_t len)
{
    const struct key_row *r = find_row(key);

    if (r == NULL || len == 0)
        return -1;
    return format_row(cfg, r, buf, len);
}

/* ---- validation -------------------------------------------------------------------------- */

static int check_row(const struct tw_config *cfg, const struct key_row *r, char *err,
                     size_t errlen)
{
    const char *field = (const char *)cfg + r->offset;
    char text[TW_PATH_LEN + 8], got[64];
    uint32_t num = 0;
    bool ok;

    if (r->type == KEY_BOOL)
        return 0;
    if (r->type == KEY_STRING) {
        size_t n = strnlen(field, r->size);
        ok = n < r->size && n >= r->min && n <= r->max && (!r->check || r->check(0, field));
    } else {
        memcpy(&num, field, sizeof(num));
        ok = num >= r->min && num <= r->max && (!r->check || r->check(num, NULL));
    }
    if (ok)
        return 0;
    format_row(cfg, r, text, sizeof(text));
    if (r->check == is_redis_url)
        redact_url(text, sizeof(text));
    one_line(text, true, got, sizeof(got));
    return value_error(r, r->type == KEY_STRING ? got : text, err, errlen);
}

int tw_config_validate(const struct tw_config *cfg, char *err, size_t errlen)
{
    char a[24], b[24];

    for (size_t i = 0; i < N_KEYS; i++)
        if (check_row(cfg, &rows[i], err, errlen) != 0)
            return -1;
    /* the key namespace <bank>/<sensor> is kept where a sensor name fits (fleet_keys.h) */
    if (cfg->bank[0] && strlen(cfg->bank) + 1 + strlen(cfg->sensor) >= TW_SENSOR_LEN) {
        snprintf(err, errlen, "bank and sensor: expected at most %d characters together, got %zu",
                 TW_SENSOR_LEN - 2, strlen(cfg->bank) + strlen(cfg->sensor));
        return -1;
    }

    const uint32_t idle = cfg->flow_table.idle_timeout_s;
    tw_format_amount(idle, tw_second_units, b, sizeof(b));
    /* A periodic update shorter than the idle timeout would report a flow as alive more
     * often than we can tell it is alive; 0 turns updates off. */
    if (cfg->flow_table.active_timeout_s != 0 && cfg->flow_table.active_timeout_s < idle) {
        tw_format_amount(cfg->flow_table.active_timeout_s, tw_second_units, a, sizeof(a));
        snprintf(err, errlen,
                 "flow_table.active_timeout: expected 0 (off) or at least "
                 "flow_table.idle_timeout (%s), got %s", b, a);
        return -1;
    }
    /* A closed flow lingers for late packets; longer than idle would never be reached. */
    if (cfg->flow_table.tcp_close_timeout_s > idle) {
        tw_format_amount(cfg->flow_table.tcp_close_timeout_s, tw_second_units, a, sizeof(a));
        snprintf(err, errlen,
                 "flow_table.tcp_close_timeout: expected at most flow_table.idle_timeout (%s), got %s",
                 b, a);
        return -1;
    }
    /* Each worker holds a burst of mbufs while it works on it; the pool must outlast that. */
    if ((uint64_t)cfg->workers * cfg->burst >= cfg->mbufs) {
        snprintf(err, errlen, "mbufs: expected more than workers x burst (%llu), got %u",
                 (unsigned long long)cfg->workers * cfg->burst, cfg->mbufs);
        return -1;
    }
    /* The spill buffer must hold at least one full batch, or no batch ever fills. */
    if (cfg->redis.buffer_records < cfg->redis.batch) {
        snprintf(err, errlen, "redis.buffer: expected at least redis.batch (%u), got %u",
                 cfg->redis.batch, cfg->redis.buffer_records);
        return -1;
    }
    /* A rotation is signed by both keys: the old one alone rotates to nothing. */
    if (cfg->signing.previous_key[0] && !cfg->signing.key[0]) {
        snprintf(err, errlen, "signing.previous_key: expected signing.key too (the key rotated "
                 "to)");
        return -1;
    }
    /* The ASN database adds to the countries (geoip.h): one without the other is a slip. */
    if (cfg->geoip.asn_db[0] && !cfg->geoip.country_db[0]) {
        snprintf(err, errlen, "geoip.asn_db: expected geoip.country_db too (the ASN database "
                              "adds to a country database)");
        return -1;
    }
    /* The witness gets the seals' hashes: without a signing key there are no seals. */
    if (cfg->evidence.witness[0] && !cfg->signing.key[0]) {
        snprintf(err, errlen, "evidence.witness: expected signing.key too (the witness gets "
                              "the hashes of the signed seals)");
        return -1;
    }
    if (!cfg->evidence.witness[0] &&
        (cfg->evidence.witness_user[0] || cfg->evidence.witness_password_file[0] ||
         cfg->evidence.witness_tls_ca[0])) {
        snprintf(err, errlen, "evidence.witness_*: expected evidence.witness too");
        return -1;
    }
    /* Summaries are built from flow records: records cannot outlive the retention. */
    if (cfg->redis.hot_window_s > cfg->redis.retention_s) {
        tw_format_amount(cfg->redis.hot_window_s, tw_second_units, a, sizeof(a));
        tw_format_amount(cfg->redis.retention_s, tw_second_units, b, sizeof(b));
        snprintf(err, errlen, "redis.hot_window: expected at most redis.retention (%s), got %s",
                 b, a);
        return -1;
    }
    return 0;
}

/* ---- YAML loader ----------------------------------------------------------------------- */

struct loader {
    yaml_parser_t parser;
    const char *path;
    struct tw_config cfg;     /* working copy: the caller's is replaced only on success */
    size_t seen_line[N_KEYS]; /* line where each key was set, 0 = not yet */
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int fail(struct loader *ld, size_t line,
                                                      const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(ld->err, ld->errlen, "%s:%zu: ", ld->path, line);

    if (n >= 0 && (size_t)n < ld->errlen) {
        va_start(ap, fmt);
        vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int next_event(struct loader *ld, yaml_event_t *ev)
{
    yaml_parser_t *p = &ld->parser;

    if (yaml_parser_parse(p, ev))
        return 0;
    /* The reader (bad encoding, read error) sets no problem mark, only the current one. */
    size_t line = (p->error == YAML_READER_ERROR ? p->mark.line : p->problem_mark.line) + 1;
    /* libyaml says what it was inside ("a quoted scalar") and where that began: for an
     * unclosed quote the start is the useful line, the error is at the end of the file. */
    if (p->context)
        return fail(ld, line, "YAML syntax error: %s (%s that starts on line %zu)",
                    p->problem ? p->problem : "unknown", p->context, p->context_mark.line + 1);
    return fail(ld, line, "YAML syntax error: %s", p->problem ? p->problem : "unknown");
}

static const char *kind_name(const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_MAPPING_START_EVENT:
        return "a mapping";
    case YAML_SEQUENCE_START_EVENT:
        return "a sequence";
    case YAML_ALIAS_EVENT:
        return "an alias (not supported)";
    default:
        return "a scalar";
    }
}

/* A plain empty value, "~" or "null": YAML's way of writing nothing. */
static bool is_null(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;

    return ev->type == YAML_SCALAR_EVENT && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (v[0] == '\0' || strcmp(v, "~") == 0 || strcasecmp(v, "null") == 0);
}

static int load_mapping(struct loader *ld, const char *prefix);

/* Handles one "key: value" pair whose key event is already read. */
static int load_pair(struct loader *ld, const char *prefix, const yaml_event_t *key)
{
    size_t line = key->start_mark.line + 1;
    char name[96], raw[96], what[128];
    yaml_event_t val;
    int rc;

    if (key->type != YAML_SCALAR_EVENT)
        return fail(ld, line, "%s%sexpected a key name, got %s", prefix, *prefix ? ": " : "",
                    kind_name(key));
    snprintf(raw, sizeof(raw), "%s%s%s", prefix, *prefix ? "." : "",
             (const char *)key->data.scalar.value);
    one_line(raw, false, name, sizeof(name));

    if (next_event(ld, &val) != 0)
        return -1;

    const struct key_row *r = find_row(raw);
    const struct key_row *section = r ? NULL : find_section(raw);
    if (r != NULL) {
        size_t i = (size_t)(r - rows);
        char msg[256];
        if (val.type != YAML_SCALAR_EVENT) {
            describe(r, what, sizeof(what));
            rc = fail(ld, line, "%s: expected %s, got %s", r->name, what, kind_name(&val));
        } else if (ld->seen_line[i] != 0) {
            rc = fail(ld, line, "%s: duplicate key, first set on line %zu", r->name,
                      ld->seen_line[i]);
        } else if (apply(&ld->cfg, r, is_null(&val) ? NULL : (const char *)val.data.scalar.value,
                         msg, sizeof(msg)) != 0) {
            rc = fail(ld, line, "%s", msg);
        } else {
            ld->seen_line[i] = line;
            rc = 0;
        }
    } else if (section != NULL) {
        if (val.type == YAML_MAPPING_START_EVENT)
            rc = load_mapping(ld, raw);
        else if (is_null(&val))
            rc = 0; /* "redis:" with every key commented out */
        else
            rc = fail(ld, line, "%s: expected a mapping of keys such as %s, got %s", name,
                      section->name, kind_name(&val));
    } else {
        rc = fail(ld, line, "%s: unknown key", name);
    }
    yaml_event_delete(&val);
    return rc;
}

/* Reads pairs up to the end of the mapping whose start event was just read. */
static int load_mapping(struct loader *ld, const char *prefix)
{
    for (;;) {
        yaml_event_t key;
        int rc;

        if (next_event(ld, &key) != 0)
            return -1;
        if (key.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&key);
            return 0;
        }
        rc = load_pair(ld, prefix, &key);
        yaml_event_delete(&key);
        if (rc != 0)
            return rc;
    }
}

/* The file is: stream start, one document whose root is a mapping, stream end. */
static int load_stream(struct loader *ld)
{
    yaml_event_t ev;
    int rc = 0;

    for (int step = 0; rc == 0; step++) {
        if (next_event(ld, &ev) != 0)
            return -1;
        size_t line = ev.start_mark.line + 1;
        yaml_event_type_t type = ev.type;

        if (type == YAML_STREAM_END_EVENT) {
            if (step == 1) {
                snprintf(ld->err, ld->errlen, "%s: empty configuration", ld->path);
                rc = -1;
            }
            yaml_event_delete(&ev);
            return rc;
        }
        if (type == YAML_DOCUMENT_START_EVENT && step > 1)
            rc = fail(ld, line, "expected a single YAML document, found another");
        else if (step == 2 && type == YAML_MAPPING_START_EVENT)
            rc = load_mapping(ld, "");
        else if (step == 2 && is_null(&ev)) {
            snprintf(ld->err, ld->errlen, "%s: empty configuration", ld->path);
            rc = -1;
        } else if (step == 2)
            rc = fail(ld, line, "expected a mapping of keys at the top level, got %s",
                      kind_name(&ev));
        yaml_event_delete(&ev);
    }
    return rc;
}

int tw_config_load(struct tw_config *cfg, const char *path, char *err, size_t errlen)
{
    struct loader ld = {.path = path, .err = err, .errlen = errlen};
    struct stat st;
    FILE *f;
    int rc;

    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* fopen succeeds on a directory; the read error that follows would say less. */
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: %s", path, strerror(EISDIR));
        fclose(f);
        return -1;
    }
    if (!yaml_parser_initialize(&ld.parser)) {
        snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
        fclose(f);
        return -1;
    }
    yaml_parser_set_input_file(&ld.parser, f);
    ld.cfg = *cfg;

    rc = load_stream(&ld);
    if (rc == 0)
        *cfg = ld.cfg;

    yaml_parser_delete(&ld.parser);
    fclose(f);
    return rc;
}

void tw_config_parse_settings(const struct tw_config *cfg, struct tw_parse_settings *s)
{
    memset(s, 0, sizeof(*s)); /* header only: config.c links without the dataplane */
    s->gtpu_port = TW_GTPU_PORT;
    s->decap = (cfg->decap.gre ? TW_DECAP_GRE : 0) | (cfg->decap.erspan ? TW_DECAP_ERSPAN : 0) |
               (cfg->decap.vxlan ? TW_DECAP_VXLAN : 0) | (cfg->decap.geneve ? TW_DECAP_GENEVE : 0) |
               (cfg->decap.gtpu ? TW_DECAP_GTPU : 0) | (cfg->decap.mpls_pw ? TW_DECAP_MPLS_PW : 0);
    if (port_list(cfg->decap.vxlan_ports, s->vxlan_ports) < 0)
        s->vxlan_ports[0] = 4789;
    if (port_list(cfg->decap.geneve_ports, s->geneve_ports) < 0)
        s->geneve_ports[0] = 6081;
}
