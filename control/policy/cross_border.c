/* cross_border.c - the cross_border rule (README "cross_border"): equipment that sends
 * payload to a peer in a country outside its allowed_countries, or (first_contact) to a
 * country or ASN it has not reached in the last first_contact_days.
 *
 * Payload is unclassified_channel's: a UDP datagram, or a TCP segment with PSH, here in the
 * equipment's own direction (a client's c2s, a server's s2c). The peer's country and ASN are
 * the record's (src_/dst_country, src_/dst_asn, filled from GeoIP before the policy sees the
 * record); a peer without a country (private, unknown, no database) raises nothing. Days are
 * local days of the policy's timezone.
 */
#include "control/policy/policy_model.h"
#include "control/record/geoip.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void tw_cross_border_view(const struct tw_policy *p, const struct equipment *e,
                          struct cb_view *out)
{
    const struct cb_rule *o = e ? e->cb : NULL, *d = &p->cb;
    const struct cb_rule *a = o && (o->keys & CB_ALLOWED) ? o : d;

    out->allowed = (const char (*)[4])a->allowed;
    out->nallowed = a->nallowed;
    out->has_allowed = (a->keys & CB_ALLOWED) != 0;
    out->first_contact = (o && (o->keys & CB_FIRST) ? o : d)->first_contact;
    out->days = (o && (o->keys & CB_DAYS) ? o : d)->days;
}

/* The peer's country when it is two capital letters (the record came from the wire and the
 * GeoIP database from a file: neither is trusted to be well formed), else NULL. */
static const char *country_of(const char *c, char out[3])
{
    if (!tw_geoip_country_field_valid(c))
        return NULL;
    out[0] = c[0];
    out[1] = c[1];
    out[2] = '\0';
    return out;
}

static int sent_payload(const struct tw_flow_record *r, int is_client)
{
    if (r->ip_proto == 6)
        return ((is_client ? r->c2s_tcp_flags : r->s2c_tcp_flags) & 0x08) != 0;
    return (is_client ? r->c2s_packets : r->s2c_packets) > 0;
}

/* Remembers code; returns 1 when it is a first contact. */
static int touch(struct tw_policy_state *st, const struct equipment *e, uint64_t code,
                 int64_t day, uint32_t days)
{
    int advanced, first = tw_reached_touch(tw_policy_state_reached(st), e->name, code, day, days,
                                           &advanced);

    if (advanced)
        tw_policy_state_note_reached(st, e->name, code, day, days);
    return first == 1;
}

int tw_cross_border_decide(const struct tw_policy *p, struct tw_policy_state *st,
                           const struct tw_flow_record *r, const struct equipment *e,
                           int is_client, char *detail, size_t len)
{
    const char *cc;
    char ccbuf[3], ps[INET6_ADDRSTRLEN], as[24] = "";
    uint32_t asn = is_client ? r->dst_asn : r->src_asn;
    uint64_t sent = is_client ? r->c2s_bytes : r->s2c_bytes;
    struct cb_view v;
    int disallowed = 0, first_cc = 0, first_as = 0;
    size_t o = 0;

    if (!p->rules[TW_ALERT_CROSS_BORDER].configured || !p->rules[TW_ALERT_CROSS_BORDER].enabled)
        return 0;
    cc = country_of(is_client ? r->dst_country : r->src_country, ccbuf);
    if (cc == NULL || !sent_payload(r, is_client))
        return 0;
    tw_cross_border_view(p, e, &v);
    if (v.has_allowed) {
        disallowed = 1;
        for (size_t i = 0; i < v.nallowed && disallowed; i++)
            disallowed = strcmp(v.allowed[i], cc) != 0;
    }
    if (v.first_contact) {
        int64_t day;
        tw_policy_local_time(p, r->last_seen_us, NULL, NULL, &day);
        first_cc = touch(st, e, (uint64_t)(unsigned char)cc[0] << 8 | (unsigned char)cc[1],
                         day, v.days);
        if (asn != 0)
            first_as = touch(st, e, TW_REACHED_ASN | asn, day, v.days);
    }
    if (!disallowed && !first_cc && !first_as)
        return 0;
    if (asn != 0)
        snprintf(as, sizeof(as), " (AS%" PRIu32 ")", asn);
    if (inet_ntop(r->ip_version == 4 ? AF_INET : AF_INET6, is_client ? r->dst_ip : r->src_ip, ps,
                  sizeof(ps)) == NULL)
        snprintf(ps, sizeof(ps), "?");
    o = (size_t)snprintf(detail, len, "%s sent %" PRIu64 " bytes to %s in %s%s", e->name, sent,
                         ps, cc, as);
    if (disallowed && o < len) {
        o += (size_t)snprintf(detail + o, len - o, ", allowed:");
        for (size_t i = 0; i < v.nallowed && o < len; i++)
            o += (size_t)snprintf(detail + o, len - o, "%s %s", i ? "," : "", v.allowed[i]);
        if (v.nallowed == 0 && o < len)
            o += (size_t)snprintf(detail + o, len - o, " none");
    }
    if ((first_cc || first_as) && o < len) {
        if (first_cc && first_as)
            snprintf(detail + o, len - o, "; first contact with %s and AS%" PRIu32 " in %" PRIu32
                     " days", cc, asn, v.days);
        else if (first_cc)
            snprintf(detail + o, len - o, "; first contact with %s in %" PRIu32 " days", cc,
                     v.days);
        else
            snprintf(detail + o, len - o, "; first contact with AS%" PRIu32 " in %" PRIu32
                     " days", asn, v.days);
    }
    return 1;
}

int tw_policy_first_contact(const struct tw_policy *p, size_t i, const char **name,
                            uint32_t *days)
{
    struct cb_view v;

    if (i >= p->neq || !p->rules[TW_ALERT_CROSS_BORDER].configured)
        return 0;
    tw_cross_border_view(p, &p->eq[i], &v);
    *name = p->eq[i].name;
    *days = v.days;
    return v.first_contact;
}
