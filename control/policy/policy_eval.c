/* policy_eval.c - the evaluation of one flow event against the policy (see policy.h for
 * the rules and their decisions). Each end of the flow is looked up once in the policy's
 * address table; the state (policy_state.c) remembers what each flow already raised. */
#include "control/policy/policy_model.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ndpi/ndpi_typedefs.h>

#include "control/record/keys.h"
#include "control/record/record_json.h" /* tw_risk_name */

/* Does a declared entry of e allow a flow with this peer (the other end), the record's
 * protocol and server port, application and server name? */
static int declared_match(const struct equipment *e, const struct tw_flow_record *r,
                          const uint8_t *peer)
{
    int v4 = r->ip_version == 4;

    for (size_t i = 0; i < e->ndecl; i++) {
        const struct declared *d = &e->decl[i];
        if ((d->has & D_PEER) && !tw_nets_contain(&d->peer, 1, peer, v4))
            continue;
        if ((d->has & D_PROTO) && d->proto != r->ip_proto)
            continue;
        if ((d->has & D_PORT) && d->port != r->dst_port)
            continue;
        if ((d->has & D_APP) && !tw_app_match(d->app, r->app))
            continue;
        if ((d->has & D_NAME) && !tw_server_name_match(d->server_name, r->server_name))
            continue;
        return 1;
    }
    return 0;
}

static int is_remote_access(const struct tw_flow_record *r)
{
    return r->category_id == NDPI_PROTOCOL_CATEGORY_REMOTE_ACCESS ||
           strcmp(r->category, "RemoteAccess") == 0;
}

static int is_unknown(const struct tw_flow_record *r)
{
    return (r->app_proto == 0 && r->master_proto == 0 && r->app[0] == '\0') ||
           strcmp(r->app, "Unknown") == 0;
}

/* Payload seen: there is no payload byte count in the record, so for TCP a segment with PSH
 * (every stack sets it on the last segment of a write) stands for it; a UDP datagram always
 * carries some. */
static int has_payload(const struct tw_flow_record *r)
{
    if (r->ip_proto == 6)
        return ((r->c2s_tcp_flags | r->s2c_tcp_flags) & 0x08) != 0;
    return r->c2s_packets + r->s2c_packets > 0;
}

struct eval {
    const struct tw_policy *p;
    struct tw_policy_state *st;
    const struct tw_flow_record *r;
    struct flow_slot *slot;
    tw_alert_emit_fn emit;
    void *ctx;
    int n;
};

static void addr_str(const struct tw_flow_record *r, const uint8_t *a, char *out, size_t len)
{
    if (inet_ntop(r->ip_version == 4 ? AF_INET : AF_INET6, a, out, (socklen_t)len) == NULL)
        snprintf(out, len, "?");
}

static const char *proto_name(uint8_t p)
{
    return p == 6 ? "tcp" : p == 17 ? "udp" : p == 1 ? "icmp" : p == 58 ? "icmpv6" : "ip";
}

__attribute__((format(printf, 4, 5))) static void fire(struct eval *ev, unsigned kind,
                                                       const struct equipment *e,
                                                       const char *fmt, ...)
{
    const struct tw_flow_record *r = ev->r;
    struct tw_alert a;
    va_list ap;

    if (!ev->p->rules[kind].enabled || (ev->slot->fired >> kind & 1))
        return;
    ev->slot->fired |= (uint16_t)(1u << kind);
    memset(&a, 0, sizeof(a));
    a.flow_id = r->flow_id;
    a.record_hour = r->first_seen_us / TW_US_PER_HOUR;
    a.ts_us = r->last_seen_us;
    memcpy(a.src_ip, r->src_ip, 16);
    memcpy(a.dst_ip, r->dst_ip, 16);
    a.src_port = r->src_port;
    a.dst_port = r->dst_port;
    a.ip_version = r->ip_version;
    a.ip_proto = r->ip_proto;
    a.kind = (uint8_t)kind;
    a.severity = ev->p->rules[kind].severity;
    snprintf(a.equipment, sizeof(a.equipment), "%s", e->name);
    snprintf(a.vendor, sizeof(a.vendor), "%s", e->vendor);
    snprintf(a.app, sizeof(a.app), "%.*s", (int)strnlen(r->app, sizeof(r->app)), r->app);
    snprintf(a.server_name, sizeof(a.server_name), "%.*s",
             (int)strnlen(r->server_name, sizeof(r->server_name)), r->server_name);
    va_start(ap, fmt);
    vsnprintf(a.detail, sizeof(a.detail), fmt, ap);
    va_end(ap);
    tw_policy_state_count_alert(ev->st);
    ev->n++;
    ev->emit(ev->ctx, &a);
}

/* upload_volume for the end of the flow that is equipment e: the client (is_client, its
 * upload is c2s) or the server (s2c). */
static void check_upload(struct eval *ev, const struct equipment *e, int is_client)
{
    const struct tw_policy *p = ev->p;
    const struct tw_flow_record *r = ev->r;
    uint64_t sent = is_client ? r->c2s_bytes : r->s2c_bytes;
    uint64_t *counted = &ev->slot->counted[is_client ? 1 : 0];
    const uint8_t *peer = is_client ? r->dst_ip : r->src_ip;
    int v4 = r->ip_version == 4;
    char ps[INET6_ADDRSTRLEN];

    if (!p->rules[TW_ALERT_UPLOAD_VOLUME].enabled)
        return;
    addr_str(r, peer, ps, sizeof(ps));
    if (p->upload_per_flow && sent > p->upload_per_flow)
        fire(ev, TW_ALERT_UPLOAD_VOLUME, e,
             "%s sent %" PRIu64 " bytes to %s in one flow, over the per-flow limit of %" PRIu64,
             e->name, sent, ps, p->upload_per_flow);
    if (p->upload_per_day && !tw_nets_contain(p->domestic, p->ndomestic, peer, v4)) {
        uint64_t delta = sent > *counted ? sent - *counted : 0;
        int64_t day;
        int over = 0;
        *counted = sent > *counted ? sent : *counted;
        if (delta == 0)
            return;
        tw_policy_local_time(p, r->last_seen_us, NULL, NULL, &day);
        /* a flow that already has its upload_volume alert (per flow, or for its other end)
         * cannot carry the day's crossing: limit 0 leaves the day "not over yet", so the next
         * flow that adds bytes raises it */
        int can_fire = !(ev->slot->fired >> TW_ALERT_UPLOAD_VOLUME & 1);
        uint64_t total = tw_policy_state_add_upload(ev->st, e->name, day, delta,
                                                    can_fire ? p->upload_per_day : 0, &over);
        if (over)
            fire(ev, TW_ALERT_UPLOAD_VOLUME, e,
                 "%s sent %" PRIu64 " bytes today to peers outside domestic_networks, over the "
                 "per-day limit of %" PRIu64 " (this flow to %s)",
                 e->name, total, p->upload_per_day, ps);
    }
}

/* cross_border for the end of the flow that is equipment e (cross_border.c decides). */
static void check_cross_border(struct eval *ev, const struct equipment *e, int is_client)
{
    char detail[TW_DETAIL_LEN];

    if (tw_cross_border_decide(ev->p, ev->st, ev->r, e, is_client, detail, sizeof(detail)))
        fire(ev, TW_ALERT_CROSS_BORDER, e, "%s", detail);
}

int tw_policy_evaluate_ends(const struct tw_policy *p, struct tw_policy_state *st,
                            const struct tw_flow_record *r, tw_alert_emit_fn emit, void *ctx,
                            struct tw_policy_ends *ends)
{
    int v4 = r->ip_version == 4;
    const struct equipment *src = tw_policy_find_equipment(p, r->src_ip, v4);
    const struct equipment *dst = tw_policy_find_equipment(p, r->dst_ip, v4);
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];

    if (ends != NULL) {
        ends->src = src ? src->name : NULL;
        ends->dst = dst ? dst->name : NULL;
    }
    /* an unknown device is by definition no equipment: before the equipment rules' exit */
    int n = tw_unknown_device_check(p, st, r, src, dst, emit, ctx);
    if (src == NULL && dst == NULL)
        return n;
    struct eval ev = {.p = p, .st = st, .r = r, .slot = tw_policy_state_slot(st, r->flow_id),
                      .emit = emit, .ctx = ctx, .n = n};
    int decided = r->detection_done || r->event == TW_EVENT_END;
    const struct equipment *any = src ? src : dst;
    const char *app = r->app[0] ? r->app : "Unknown";

    addr_str(r, r->src_ip, s, sizeof(s));
    addr_str(r, r->dst_ip, d, sizeof(d));
    /* the upload of each end that is equipment: the client's c2s, the server's s2c */
    if (src)
        check_upload(&ev, src, 1);
    if (dst)
        check_upload(&ev, dst, 0);
    /* payload needs no application: decided on every event, as upload_volume */
    if (src)
        check_cross_border(&ev, src, 1);
    if (dst)
        check_cross_border(&ev, dst, 0);

    if (decided && src && !declared_match(src, r, r->dst_ip))
        fire(&ev, TW_ALERT_UNDECLARED_DESTINATION, src,
             "%s opened %s/%u to %s (%s%s%.60s), which no declared entry allows", src->name,
             proto_name(r->ip_proto), r->dst_port, d, app, r->server_name[0] ? ", " : "",
             r->server_name);

    if (decided && dst && is_remote_access(r)) {
        unsigned wd, minute;
        int inside = !p->has_windows;
        tw_policy_local_time(p, r->first_seen_us, &wd, &minute, NULL);
        for (size_t i = 0; i < p->nwindows && !inside; i++)
            inside = tw_window_contains(p->windows[i].days, p->windows[i].start,
                                        p->windows[i].end, wd, minute);
        int proto_ok = 0;
        for (size_t i = 0; i < p->nmprotos && !proto_ok; i++)
            proto_ok = tw_app_match(p->mprotos[i], r->app);
        if (!tw_nets_contain(p->mhosts, p->nmhosts, r->src_ip, v4))
            fire(&ev, TW_ALERT_REMOTE_ACCESS_UNAPPROVED_HOST, dst,
                 "%s reached %s with %s but is not an approved maintenance host", s, dst->name,
                 app);
        else if (!inside)
            fire(&ev, TW_ALERT_REMOTE_ACCESS_OUTSIDE_WINDOW, dst,
                 "approved host %s reached %s with %s at %02u:%02u %s (policy time), outside "
                 "every maintenance window", s, dst->name, app, minute / 60, minute % 60,
                 tw_weekday_name(wd));
        else if (!proto_ok)
            fire(&ev, TW_ALERT_REMOTE_ACCESS_PROTOCOL, dst,
                 "approved host %s reached %s with %s, not an approved remote-access protocol", s,
                 dst->name, app);
    }

    if (decided && is_unknown(r) && has_payload(r) &&
        !(src ? declared_match(src, r, r->dst_ip) : declared_match(dst, r, r->src_ip)))
        fire(&ev, TW_ALERT_UNCLASSIFIED_CHANNEL, any,
             "%s/%u between %s and %s carries payload nDPI cannot classify, and no declared "
             "entry allows it", proto_name(r->ip_proto), r->dst_port, s, d);

    if (decided && (r->risks & p->risk_mask)) {
        char names[120] = "";
        size_t o = 0;
        uint64_t hit = r->risks & p->risk_mask;
        for (unsigned b = 1; b < 64 && o < sizeof(names); b++)
            if ((hit >> b & 1) && tw_risk_name(b))
                o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", o ? ", " : "",
                                      tw_risk_name(b));
        fire(&ev, TW_ALERT_RISKY_FLOW, any, "%s -> %s (%s): nDPI risk %s", s, d, app, names);
    }

    if (r->event == TW_EVENT_END)
        tw_policy_state_release(st, ev.slot);
    return ev.n;
}

int tw_policy_evaluate(const struct tw_policy *p, struct tw_policy_state *st,
                       const struct tw_flow_record *r, tw_alert_emit_fn emit, void *ctx)
{
    return tw_policy_evaluate_ends(p, st, r, emit, ctx, NULL);
}
