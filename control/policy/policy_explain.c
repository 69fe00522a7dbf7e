/* policy_explain.c - the policy as a regulator reads it, for one address
 * (`tapwatch --check-config --policy FILE --explain ADDR`, see policy.h).
 *
 * Plain lines in a fixed order, one section per function, each printed from the loaded policy
 * only (never from the file's text), so what it says is what the evaluation does:
 *
 *   address A                     the address asked about
 *   equipment: NAME | not equipment
 *   (equipment)     vendor, addresses, may reach (declared entries), expected traffic hours
 *   (not equipment) reached by (equipment declared to reach it), maintenance host or not,
 *                   monitored networks
 *   maintenance     from where, with what, when (windows in the policy's timezone)
 *   limits          upload per flow and per day, domestic networks
 *   countries       allowed countries
 *   rules           rule id, kind, severity, on/off
 *
 * The second round's rules (countries, monitored networks, expected traffic hours) have a
 * function each.
 */
#include "control/policy/policy_model.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "control/record/keys.h" /* tw_net_text */

/* A net as "10.20.0.53" (a single address) or "10.20.0.0/16". */
static void net_text(const struct net *n, char *out, size_t len)
{
    if (n->bits == (n->v4 ? 32 : 128))
        tw_addr_text(n->addr, n->v4, out, len);
    else if (tw_net_text(n->addr, n->v4, n->bits, out, len) != 0)
        snprintf(out, len, "?");
}

/* "  label: a, b, c" (or "  label: none" for an empty list) */
static void net_list(FILE *out, const char *label, const struct net *n, size_t count)
{
    char t[64];

    fprintf(out, "  %s: ", label);
    for (size_t i = 0; i < count; i++) {
        net_text(&n[i], t, sizeof(t));
        fprintf(out, "%s%s", i ? ", " : "", t);
    }
    fprintf(out, "%s\n", count ? "" : "none");
}

static const char *proto_name(uint8_t proto)
{
    switch (proto) {
    case 1: return "icmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 47: return "gre";
    case 50: return "esp";
    case 58: return "icmpv6";
    case 132: return "sctp";
    }
    return NULL;
}

/* One declared entry: "peer 10.20.0.53, udp, port 53" (the keys it gives, in a fixed order). */
static void declared_text(const struct declared *d, FILE *out)
{
    char t[64];
    const char *sep = "";

    if (d->has & D_PEER) {
        net_text(&d->peer, t, sizeof(t));
        fprintf(out, "peer %s", t);
        sep = ", ";
    }
    if (d->has & D_PROTO) {
        const char *name = proto_name(d->proto);
        if (name)
            fprintf(out, "%s%s", sep, name);
        else
            fprintf(out, "%sprotocol %u", sep, d->proto);
        sep = ", ";
    }
    if (d->has & D_PORT) {
        fprintf(out, "%sport %u", sep, d->port);
        sep = ", ";
    }
    if (d->has & D_APP) {
        fprintf(out, "%sapp %s", sep, d->app);
        sep = ", ";
    }
    if (d->has & D_NAME)
        fprintf(out, "%sserver name %s", sep, d->server_name);
    if (!(d->has & D_PEER))
        fprintf(out, " (any peer)");
}

/* "mon-fri", "daily", "mon,wed,fri", "sat" from a day mask (bit 0 = Monday). */
static void days_text(uint8_t days, char *out, size_t len)
{
    size_t o = 0;

    out[0] = '\0';
    if ((days & 0x7f) == 0x7f) {
        snprintf(out, len, "daily");
        return;
    }
    for (unsigned d = 0; d < 7 && o < len; d++) {
        if (!(days >> d & 1))
            continue;
        unsigned e = d;
        while (e + 1 < 7 && (days >> (e + 1) & 1))
            e++;
        if (e >= d + 2)
            o += (size_t)snprintf(out + o, len - o, "%s%s-%s", o ? "," : "", tw_weekday_name(d),
                                  tw_weekday_name(e));
        else
            for (unsigned k = d; k <= e && o < len; k++)
                o += (size_t)snprintf(out + o, len - o, "%s%s", o ? "," : "", tw_weekday_name(k));
        d = e;
    }
}

static void window_text(const struct window *w, char *out, size_t len)
{
    char days[48];
    unsigned end = w->end > 1440 ? w->end - 1440u : w->end;

    days_text(w->days, days, sizeof(days));
    snprintf(out, len, "%s %02u:%02u-%02u:%02u%s", days, w->start / 60u, w->start % 60u,
             end / 60u, end % 60u, w->end > 1440 ? " (ends the next day)" : "");
}

/* ---- sections ---- */

static void explain_equipment(const struct equipment *e, FILE *out)
{
    fprintf(out, "equipment: %s\n", e->name);
    fprintf(out, "  vendor: %s\n", e->vendor[0] ? e->vendor : "(not given)");
    net_list(out, "addresses", e->addrs, e->naddrs);
}

static void explain_may_reach(const struct equipment *e, FILE *out)
{
    fprintf(out, "may open connections to (declared; anything else raises %s):\n",
            tw_alert_kind_name(TW_ALERT_UNDECLARED_DESTINATION));
    if (e->ndecl == 0)
        fprintf(out, "  nothing declared: every connection it opens alerts\n");
    for (size_t i = 0; i < e->ndecl; i++) {
        fprintf(out, "  ");
        declared_text(&e->decl[i], out);
        fprintf(out, "\n");
    }
}

/* Spot for the silence rules (silent_equipment): the equipment's expect_traffic hours and
 * silent_after. Nothing is printed until the policy has them. */
/* When the equipment must be heard (silent_equipment), in the policy's timezone. */
static void explain_expected_traffic(const struct tw_policy *p, const struct equipment *e,
                                     FILE *out)
{
    char t[96];

    if (e->nexpect == 0) {
        fprintf(out, "expected traffic: not set (its silence raises nothing)\n");
        return;
    }
    fprintf(out, "expected traffic (times in %s): ", p->tz_name);
    for (size_t i = 0; i < e->nexpect; i++) {
        window_text(&e->expect[i], t, sizeof(t));
        fprintf(out, "%s%s", i ? ", " : "", t);
    }
    fprintf(out, "\n  silent after: %" PRIu32 " s without a flow inside those hours\n",
            e->silent_after_s ? e->silent_after_s : p->silent_after_s);
}

/* An address that is not equipment: the equipment declared to reach it (a declared peer
 * that contains it), and the entries that name no peer (they allow any peer, by name or
 * application). */
static void explain_reached_by(const struct tw_policy *p, const uint8_t *addr, int v4, FILE *out)
{
    int any = 0;

    fprintf(out, "equipment declared to reach it:\n");
    for (size_t i = 0; i < p->neq; i++)
        for (size_t j = 0; j < p->eq[i].ndecl; j++) {
            const struct declared *d = &p->eq[i].decl[j];
            if (!(d->has & D_PEER) || !tw_nets_contain(&d->peer, 1, addr, v4))
                continue;
            fprintf(out, "  %s: ", p->eq[i].name);
            declared_text(d, out);
            fprintf(out, "\n");
            any = 1;
        }
    if (!any)
        fprintf(out, "  none by address\n");
    any = 0;
    for (size_t i = 0; i < p->neq; i++)
        for (size_t j = 0; j < p->eq[i].ndecl; j++) {
            const struct declared *d = &p->eq[i].decl[j];
            if (d->has & D_PEER)
                continue;
            if (!any)
                fprintf(out, "equipment that may reach any peer by protocol, name or "
                             "application:\n");
            fprintf(out, "  %s: ", p->eq[i].name);
            declared_text(d, out);
            fprintf(out, "\n");
            any = 1;
        }
}

static void explain_maintenance_host(const struct tw_policy *p, const uint8_t *addr, int v4,
                                     FILE *out)
{
    fprintf(out, "approved maintenance host: %s\n",
            tw_nets_contain(p->mhosts, p->nmhosts, addr, v4) ? "yes" : "no");
}

/* Spot for unknown_device: whether the address is inside monitored_networks (an address
 * there that is not equipment alerts). Nothing is printed until the policy has them. */
/* An address that is no equipment's inside the equipment segments is an unknown device. */
static void explain_monitored_networks(const struct tw_policy *p, const uint8_t *addr, int v4,
                                       FILE *out)
{
    if (p->nmonitored == 0) {
        fprintf(out, "monitored networks: none (unknown_device is off)\n");
        return;
    }
    fprintf(out, "inside the monitored networks: %s\n",
            tw_nets_contain(p->monitored, p->nmonitored, addr, v4)
                ? "yes: sending traffic raises unknown_device (once a day)"
                : "no");
}

static void explain_maintenance(const struct tw_policy *p, FILE *out)
{
    char t[96];

    fprintf(out, "maintenance (remote access to equipment; times in %s):\n", p->tz_name);
    net_list(out, "from hosts", p->mhosts, p->nmhosts);
    fprintf(out, "  protocols: ");
    for (size_t i = 0; i < p->nmprotos; i++)
        fprintf(out, "%s%s", i ? ", " : "", p->mprotos[i]);
    fprintf(out, "%s\n", p->nmprotos ? "" : "none");
    if (!p->has_windows) {
        fprintf(out, "  windows: any time\n");
        return;
    }
    fprintf(out, "  windows: ");
    for (size_t i = 0; i < p->nwindows; i++) {
        window_text(&p->windows[i], t, sizeof(t));
        fprintf(out, "%s%s", i ? ", " : "", t);
    }
    fprintf(out, "%s\n", p->nwindows ? "" : "none (never)");
}

static void explain_limits(const struct tw_policy *p, FILE *out)
{
    fprintf(out, "limits (bytes the equipment sends):\n");
    if (p->upload_per_flow)
        fprintf(out, "  per flow: %" PRIu64 " bytes\n", p->upload_per_flow);
    else
        fprintf(out, "  per flow: no limit\n");
    if (p->upload_per_day)
        fprintf(out, "  per day (%s) to peers outside the domestic networks: %" PRIu64 " bytes\n",
                p->tz_name, p->upload_per_day);
    else
        fprintf(out, "  per day: no limit\n");
    net_list(out, "domestic networks", p->domestic, p->ndomestic);
}

/* Spot for cross_border: the countries (and ASNs) the equipment may send to, and
 * first_contact. Nothing is printed until the policy has them. */
/* cross_border as it applies to e (its own entry over the section's defaults). */
static void explain_countries(const struct tw_policy *p, const struct equipment *e, FILE *out)
{
    struct cb_view v;

    if (e == NULL)
        return;
    if (!p->rules[TW_ALERT_CROSS_BORDER].configured) {
        fprintf(out, "countries: no cross_border section (any country)\n");
        return;
    }
    tw_cross_border_view(p, e, &v);
    fprintf(out, "countries:\n  allowed: ");
    if (!v.has_allowed)
        fprintf(out, "any");
    for (size_t i = 0; v.has_allowed && i < v.nallowed; i++)
        fprintf(out, "%s%s", i ? ", " : "", v.allowed[i]);
    fprintf(out, "%s\n", v.has_allowed && v.nallowed == 0 ? "none" : "");
    if (v.first_contact)
        fprintf(out, "  first contact: alerts on a country or ASN not reached in %" PRIu32
                     " days\n", v.days);
    else
        fprintf(out, "  first contact: off\n");
}

static void explain_rules(const struct tw_policy *p, FILE *out)
{
    fprintf(out, "rules:\n");
    for (unsigned k = 0; k < TW_ALERT__COUNT; k++) {
        const struct rule *r = &p->rules[k];
        fprintf(out, "  %s %-30s %-8s %s\n", tw_alert_rule_id(k), tw_alert_kind_name(k),
                tw_severity_name(r->severity),
                /* clock_step is the sensor's own: it needs no section (statements.c) */
                !r->configured && k != TW_ALERT_CLOCK_STEP ? "off (not configured)"
                : r->enabled                               ? "on"
                                                           : "off");
    }
}

int tw_policy_explain(const struct tw_policy *p, const uint8_t *addr, int v4, const char *geo,
                      FILE *out)
{
    const struct equipment *e = tw_policy_find_equipment(p, addr, v4);
    char text[INET6_ADDRSTRLEN];

    tw_addr_text(addr, v4, text, sizeof(text));
    fprintf(out, "address %s\n", text);
    fprintf(out, "policy sha256 %s\n", p->sha256);
    if (geo != NULL)
        fprintf(out, "country (GeoIP): %s\n", geo);
    if (e != NULL) {
        explain_equipment(e, out);
        explain_may_reach(e, out);
        explain_expected_traffic(p, e, out);
    } else {
        fprintf(out, "not equipment\n");
        explain_reached_by(p, addr, v4, out);
        explain_maintenance_host(p, addr, v4, out);
        /* uploads to it count toward upload_bytes_per_day only when it is outside */
        fprintf(out, "inside the domestic networks: %s\n",
                tw_nets_contain(p->domestic, p->ndomestic, addr, v4) ? "yes" : "no");
        explain_monitored_networks(p, addr, v4, out);
    }
    explain_maintenance(p, out);
    explain_limits(p, out);
    explain_countries(p, e, out);
    explain_rules(p, out);
    return ferror(out) ? -1 : 0;
}
