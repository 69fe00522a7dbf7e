/* unknown_device.c - the unknown_device rule: an address inside monitored_networks (the
 * equipment segments) that no equipment owns, seen sending, alerts once per local day.
 *
 * An end sends when it is the flow's client (it sent the first packet) or a server that
 * answered (s2c_packets > 0): a scan of an empty address, which nobody answers, reveals no
 * device. The alert belongs to no flow (flow_id 0, empty flow fields): src_ip is the device,
 * the detail names the flow that showed it, and the MAC is the client's first frame's
 * (a server's MAC is not in the record). The memory of who alerted which day is the state's
 * (device_days.h), so a reload does not alert again; across a restart the alert's Redis write
 * guard (address and day) keeps one per day.
 */
#include "control/policy/policy_model.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *proto_upper(uint8_t p)
{
    return p == 6 ? "TCP" : p == 17 ? "UDP" : p == 1 ? "ICMP" : p == 58 ? "ICMPv6" :
           p == 132 ? "SCTP" : NULL;
}

/* "10.9.0.7:51000", "[2001:db8::7]:51000", or the bare address for protocols without
 * ports. */
static void end_text(const struct tw_flow_record *r, const uint8_t *a, uint16_t port,
                     char *out, size_t len)
{
    char t[64];
    int v4 = r->ip_version == 4;

    tw_addr_text(a, v4, t, sizeof(t));
    if (r->ip_proto != 6 && r->ip_proto != 17 && r->ip_proto != 132)
        snprintf(out, len, "%s", t);
    else
        snprintf(out, len, v4 ? "%s:%u" : "[%s]:%u", t, port);
}

/* One alert for device addr, the client of r (is_client) or its server. */
static void fire(const struct tw_policy *p, struct tw_policy_state *st,
                 const struct tw_flow_record *r, const uint8_t *addr, int is_client,
                 int64_t day, tw_alert_emit_fn emit, void *ctx)
{
    struct tw_alert a;
    char from[80], to[80], proto[8], app[TW_APP_LEN + 1], line[256];
    const char *pn = proto_upper(r->ip_proto);

    memset(&a, 0, sizeof(a));
    a.kind = TW_ALERT_UNKNOWN_DEVICE;
    a.severity = p->rules[TW_ALERT_UNKNOWN_DEVICE].severity;
    a.flow_id = 0;
    a.record_hour = TW_HOUR_UNKNOWN;
    a.ts_us = r->last_seen_us;
    a.ip_version = r->ip_version;
    memcpy(a.src_ip, addr, 16);
    a.guard_period = (uint64_t)day;
    if (is_client && r->has_src_mac) {
        memcpy(a.src_mac, r->src_mac, 6);
        a.has_mac = 1;
    }
    end_text(r, r->src_ip, r->src_port, from, sizeof(from));
    end_text(r, r->dst_ip, r->dst_port, to, sizeof(to));
    if (pn != NULL)
        snprintf(proto, sizeof(proto), "%s", pn);
    else
        snprintf(proto, sizeof(proto), "IP/%u", r->ip_proto);
    /* wire text: printable ASCII only, and short enough that the flow always fits */
    tw_ascii_copy(r->app, strnlen(r->app, sizeof(r->app)), app);
    /* two full IPv6 ends ("[...]:65535", 47 each) and the app cut to 32 take 183 bytes:
     * the detail always holds the whole line, the copy below only satisfies the compiler */
    snprintf(line, sizeof(line), "not in the equipment inventory; first flow: %s -> %s %s %.32s",
             from, to, proto, app[0] ? app : "Unknown");
    snprintf(a.detail, sizeof(a.detail), "%.*s", (int)sizeof(a.detail) - 1, line);
    tw_policy_state_count_alert(st);
    emit(ctx, &a);
}

/* Is this end a device to report: inside the segments, nobody's equipment, news today? */
static int check_end(const struct tw_policy *p, struct tw_policy_state *st,
                     const struct tw_flow_record *r, const uint8_t *addr,
                     const struct equipment *owner, int64_t *day)
{
    int v4 = r->ip_version == 4;

    if (owner != NULL || tw_prefix_set_lookup(p->monitored_set, addr, v4) < 0)
        return 0;
    if (*day == INT64_MIN)
        tw_policy_local_time(p, r->last_seen_us, NULL, NULL, day);
    return tw_policy_state_device_new_day(st, addr, v4, *day);
}

int tw_unknown_device_check(const struct tw_policy *p, struct tw_policy_state *st,
                            const struct tw_flow_record *r, const struct equipment *src,
                            const struct equipment *dst, tw_alert_emit_fn emit, void *ctx)
{
    const struct rule *rule = &p->rules[TW_ALERT_UNKNOWN_DEVICE];
    int64_t day = INT64_MIN;
    int n = 0;

    if (!rule->enabled || !rule->configured || p->monitored_set == NULL)
        return 0;
    if (r->ip_version != 4 && r->ip_version != 6)
        return 0;
    if (r->c2s_packets > 0 && check_end(p, st, r, r->src_ip, src, &day)) {
        fire(p, st, r, r->src_ip, 1, day, emit, ctx);
        n++;
    }
    if (r->s2c_packets > 0 && check_end(p, st, r, r->dst_ip, dst, &day)) {
        fire(p, st, r, r->dst_ip, 0, day, emit, ctx);
        n++;
    }
    return n;
}
