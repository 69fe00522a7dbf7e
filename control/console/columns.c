/* columns.c - the Flows and Alerts pages' tables have the columns of tapwatch-query's table
 * output (control/query/cmd_flows.c col_names, cmd_alerts.c table_cols), named and ordered
 * as the tool prints them, each cell the text the tool's cell gives, made here from the
 * tool's JSON object of the row (the page asks --format json: it needs flow_id for links).
 *
 * A value came from Redis, so from the wire: the text is returned raw and the caller escapes
 * it for HTML (tc_buf_html). Numbers are read from their JSON text, never through a double,
 * so a microsecond time stays exact.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "control/console/console.h"

const char *const tc_flow_cols[] = {"TIME_UTC",  "DURATION",  "SRC",         "DST",
                                    "PROTO",     "APP",       "SERVER_NAME", "C2S_PKTS",
                                    "C2S_BYTES", "S2C_PKTS",  "S2C_BYTES",   "TUNNEL",
                                    "END",       NULL};
const char *const tc_alert_cols[] = {"TIME_UTC",  "RULE", "KIND", "SEVERITY", "EQUIPMENT",
                                     "SRC",       "DST",  "APP",  "DETAIL",   NULL};

/* The text of key in row ("" when absent or null). */
static const char *text_of(json_object *row, const char *key)
{
    json_object *v;
    const char *s;

    if (!json_object_object_get_ex(row, key, &v) || v == NULL)
        return "";
    s = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
                                                  : json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    return s != NULL ? s : "";
}

/* "S.UUUUUU" (a record's time, as written) as microseconds; 0 when it is not one. */
static uint64_t time_us(const char *s)
{
    uint64_t sec = 0, us = 0;
    int digits = 0;

    for (; *s >= '0' && *s <= '9' && sec < UINT64_MAX / 10000000; s++)
        sec = sec * 10 + (uint64_t)(*s - '0');
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++)
            if (digits < 6) {
                us = us * 10 + (uint64_t)(*s - '0');
                digits++;
            }
    for (; digits < 6; digits++)
        us *= 10;
    return sec * 1000000 + us;
}

static void utc_text(uint64_t us, char *out, size_t len)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(out, len, "?");
}

/* "ip:port", "[ip]:port" for IPv6 (as the tool's table) */
static void endpoint(const char *ip, const char *port, char *out, size_t len)
{
    snprintf(out, len, strchr(ip, ':') ? "[%s]:%s" : "%s:%s", ip, port);
}

static int flow_cell(json_object *row, const char *col, char *out, size_t len)
{
    if (strcmp(col, "TIME_UTC") == 0) {
        utc_text(time_us(text_of(row, "first_seen")), out, len);
    } else if (strcmp(col, "DURATION") == 0) {
        uint64_t f = time_us(text_of(row, "first_seen")), l = time_us(text_of(row, "last_seen"));
        uint64_t d = l > f ? l - f : 0;
        snprintf(out, len, "%" PRIu64 ".%03" PRIu64 "s", d / 1000000, d / 1000 % 1000);
    } else if (strcmp(col, "SRC") == 0 || strcmp(col, "DST") == 0) {
        int s = col[0] == 'S';
        endpoint(text_of(row, s ? "src_ip" : "dst_ip"), text_of(row, s ? "src_port" : "dst_port"),
                 out, len);
    } else if (strcmp(col, "PROTO") == 0) {
        const char *p = text_of(row, "ip_proto");
        snprintf(out, len, "%s", strcmp(p, "6") == 0    ? "TCP"
                                 : strcmp(p, "17") == 0 ? "UDP"
                                 : strcmp(p, "1") == 0  ? "ICMP"
                                 : strcmp(p, "58") == 0 ? "ICMPv6"
                                                        : p);
    } else if (strcmp(col, "APP") == 0 || strcmp(col, "SERVER_NAME") == 0) {
        const char *v = text_of(row, col[0] == 'A' ? "app" : "server_name");
        snprintf(out, len, "%s", v[0] ? v : "-");
    } else if (strcmp(col, "C2S_PKTS") == 0) {
        snprintf(out, len, "%s", text_of(row, "c2s_packets"));
    } else if (strcmp(col, "C2S_BYTES") == 0) {
        snprintf(out, len, "%s", text_of(row, "c2s_bytes"));
    } else if (strcmp(col, "S2C_PKTS") == 0) {
        snprintf(out, len, "%s", text_of(row, "s2c_packets"));
    } else if (strcmp(col, "S2C_BYTES") == 0) {
        snprintf(out, len, "%s", text_of(row, "s2c_bytes"));
    } else if (strcmp(col, "TUNNEL") == 0) { /* kind:id, "-" outside a tunnel */
        const char *t = text_of(row, "tunnel"), *id = text_of(row, "tunnel_id");
        if (t[0] == '\0')
            snprintf(out, len, "-");
        else
            snprintf(out, len, "%s:%s", t, id[0] ? id : "0");
    } else if (strcmp(col, "END") == 0) {
        snprintf(out, len, "%s", strcmp(text_of(row, "event"), "end") == 0
                                     ? text_of(row, "end_reason")
                                     : "(active)");
    } else {
        return -ENOENT;
    }
    return 0;
}

static int alert_cell(json_object *row, const char *col, char *out, size_t len)
{
    /* an alert of no flow has flow_id "": its src_ip alone (unknown_device's address), no DST */
    int flowless = text_of(row, "flow_id")[0] == '\0';

    if (strcmp(col, "TIME_UTC") == 0) {
        utc_text(time_us(text_of(row, "ts")), out, len);
    } else if (strcmp(col, "RULE") == 0 || strcmp(col, "KIND") == 0 ||
               strcmp(col, "SEVERITY") == 0 || strcmp(col, "EQUIPMENT") == 0 ||
               strcmp(col, "APP") == 0 || strcmp(col, "DETAIL") == 0) {
        char key[16];
        size_t i;
        for (i = 0; col[i] && i + 1 < sizeof(key); i++)
            key[i] = (char)(col[i] - 'A' + 'a');
        key[i] = '\0';
        snprintf(out, len, "%s", text_of(row, key));
    } else if (strcmp(col, "SRC") == 0) {
        if (flowless)
            snprintf(out, len, "%s", text_of(row, "src_ip"));
        else
            endpoint(text_of(row, "src_ip"), text_of(row, "src_port"), out, len);
    } else if (strcmp(col, "DST") == 0) {
        if (flowless)
            out[0] = '\0';
        else
            endpoint(text_of(row, "dst_ip"), text_of(row, "dst_port"), out, len);
    } else {
        return -ENOENT;
    }
    if (out[0] == '\0')
        snprintf(out, len, "-");
    return 0;
}

int tc_column_text(const char *const *cols, struct json_object *row, const char *col, char *out,
                   size_t len)
{
    if (len == 0)
        return -EINVAL;
    out[0] = '\0';
    if (cols == tc_flow_cols)
        return flow_cell(row, col, out, len);
    if (cols == tc_alert_cols)
        return alert_cell(row, col, out, len);
    return -ENOENT;
}

int tc_sensors_several(const char *sel)
{
    return sel != NULL && strpbrk(sel, ",*?[") != NULL;
}
