/* sink.c - the list of outputs the control loop walks (see sink.h). */
#include "control/store/sink.h"

#include <inttypes.h>
#include <string.h>

void tw_sinks_init(struct tw_sinks *l, const char *sensor)
{
    memset(l, 0, sizeof(*l));
    snprintf(l->sensor, sizeof(l->sensor), "%s", sensor != NULL ? sensor : "");
}

int tw_sinks_add(struct tw_sinks *l, const struct tw_sink *s)
{
    if (l->n == TW_SINKS_MAX) {
        if (s->ops->close != NULL)
            s->ops->close(s->ctx);
        return -1;
    }
    l->s[l->n++] = *s;
    l->takes |= s->takes;
    if (s->ops->json)
        l->json_takes |= s->takes;
    return 0;
}

/* Whether a sink that takes bit reads JSON: then the item is encoded, once for all. */
static int wants_json(const struct tw_sinks *l, unsigned bit)
{
    return (l->json_takes & bit) != 0;
}

#define NO_JSON (-2) /* nobody reads the item's JSON: it was not made */

/* Hands item (a flow record for the TW_TAKES_UPDATE/END bits, an alert for TW_TAKES_ALERT)
 * to every sink that takes bit. n is what the encoder returned into l->json (-1: it failed,
 * counted; the sinks that read JSON then skip the item) or NO_JSON. */
static void hand_out(struct tw_sinks *l, unsigned bit, const void *item, int n)
{
    const char *json = n >= 0 ? l->json : NULL;

    if (n == -1)
        l->encode_errors++;
    for (unsigned i = 0; i < l->n; i++) {
        const struct tw_sink *s = &l->s[i];
        const char *j = s->ops->json ? json : NULL;
        size_t jl = j != NULL ? (size_t)n : 0;
        int rc;

        if (!(s->takes & bit) || (s->ops->json && json == NULL))
            continue;
        if (bit == TW_TAKES_ALERT)
            rc = s->ops->put_alert(s->ctx, item, j, jl);
        else
            rc = s->ops->put_flow(s->ctx, item, j, jl);
        if (rc != 0)
            l->refused++;
    }
}

void tw_sinks_flow(struct tw_sinks *l, const struct tw_flow_record *r)
{
    unsigned bit = r->event == TW_EVENT_END ? TW_TAKES_END
                 : r->event == TW_EVENT_UPDATE ? TW_TAKES_UPDATE : 0;

    if (!tw_sinks_takes(l, bit))
        return;
    l->records_out++;
    hand_out(l, bit, r, wants_json(l, bit) ? tw_record_to_json(r, l->json, sizeof(l->json))
                                           : NO_JSON);
}

void tw_sinks_alert(struct tw_sinks *l, const struct tw_alert *a)
{
    if (!tw_sinks_takes(l, TW_TAKES_ALERT))
        return;
    l->alerts_out++;
    hand_out(l, TW_TAKES_ALERT, a,
             wants_json(l, TW_TAKES_ALERT) ? tw_alert_to_json(a, l->sensor, l->json, sizeof(l->json))
                                           : NO_JSON);
}

void tw_sinks_summary(struct tw_sinks *l, const struct tw_summary_item *it)
{
    for (unsigned i = 0; l != NULL && i < l->n; i++)
        if ((l->s[i].takes & TW_TAKES_SUMMARY) && l->s[i].ops->put_summary(l->s[i].ctx, it))
            l->refused++;
}

void tw_sinks_reached(struct tw_sinks *l, const struct tw_reached_item *it)
{
    for (unsigned i = 0; l != NULL && i < l->n; i++)
        if ((l->s[i].takes & TW_TAKES_SUMMARY) && l->s[i].ops->put_reached != NULL &&
            l->s[i].ops->put_reached(l->s[i].ctx, it))
            l->refused++;
}

void tw_sinks_statement(struct tw_sinks *l, const struct tw_statement *st)
{
    for (unsigned i = 0; l != NULL && i < l->n; i++)
        if ((l->s[i].takes & TW_TAKES_STATEMENT) && l->s[i].ops->put_statement != NULL &&
            l->s[i].ops->put_statement(l->s[i].ctx, st))
            l->refused++;
}

void tw_sinks_counters(struct tw_sinks *l, const char *const *names, const uint64_t *values,
                       size_t n)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->s[i].takes & TW_TAKES_COUNTERS)
            l->s[i].ops->put_counters(l->s[i].ctx, names, values, n);
}

void tw_sinks_poll(struct tw_sinks *l, uint64_t now_ms)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->s[i].ops->poll != NULL)
            l->s[i].ops->poll(l->s[i].ctx, now_ms);
}

void tw_sinks_seal(struct tw_sinks *l)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->s[i].ops->seal != NULL)
            l->s[i].ops->seal(l->s[i].ctx);
}

void tw_sinks_drain(struct tw_sinks *l, uint64_t timeout_ms)
{
    for (unsigned i = 0; i < l->n; i++) {
        const struct tw_sink *s = &l->s[i];
        if (s->ops->drain != NULL)
            s->ops->drain(s->ctx, timeout_ms);
        if (s->ops->persist != NULL)
            s->ops->persist(s->ctx);
    }
}

void tw_sinks_stats(const struct tw_sinks *l, FILE *out, unsigned mask)
{
    for (unsigned i = 0; i < l->n; i++)
        if ((l->s[i].takes & mask) && l->s[i].ops->stats != NULL)
            l->s[i].ops->stats(l->s[i].ctx, out);
}

void tw_sinks_tune(struct tw_sinks *l, const struct tw_sink_tuning *t)
{
    for (unsigned i = 0; l != NULL && i < l->n; i++)
        if (l->s[i].ops->tune != NULL)
            l->s[i].ops->tune(l->s[i].ctx, t);
}

void tw_sinks_live(const struct tw_sinks *l, FILE *out)
{
    for (unsigned i = 0; i < l->n; i++)
        if (l->s[i].ops->live != NULL)
            l->s[i].ops->live(l->s[i].ctx, out);
}

unsigned tw_sinks_metrics(const struct tw_sinks *l, struct tw_sink_metrics *out, unsigned max)
{
    unsigned n = 0;

    for (unsigned i = 0; l != NULL && i < l->n && n < max; i++)
        if (l->s[i].ops->metrics != NULL) {
            memset(&out[n], 0, sizeof(out[n]));
            l->s[i].ops->metrics(l->s[i].ctx, &out[n]);
            n++;
        }
    return n;
}

int tw_sinks_notes(const struct tw_sinks *l, int at_end, FILE *err)
{
    int rc = 0;

    for (unsigned i = 0; i < l->n; i++)
        if (l->s[i].ops->notes != NULL && l->s[i].ops->notes(l->s[i].ctx, at_end, err) != 0)
            rc = -1;
    return rc;
}

void tw_sinks_close(struct tw_sinks *l)
{
    if (l == NULL)
        return;
    for (unsigned i = 0; i < l->n; i++)
        if (l->s[i].ops->close != NULL)
            l->s[i].ops->close(l->s[i].ctx);
    l->n = 0;
    l->takes = l->json_takes = 0;
}

int tw_sink_carry_notes(const struct tw_sink_carry *c, int at_end, FILE *err)
{
    if (!at_end) {
        if (c->recovered)
            fprintf(err, "%s: %" PRIu64 " %s of an earlier run waited for Redis; "
                         "writing them first\n",
                    c->path, c->recovered, c->noun);
        return 0;
    }
    if (c->kept)
        fprintf(err, "Redis %s did not come back: %" PRIu64 " %s wait in %s; the next "
                     "start writes them first\n",
                c->url, c->kept, c->noun, c->path);
    if (c->lost == 0)
        return 0;
    fprintf(err, "Redis %s: %s%s%" PRIu64 " %s did not reach Redis\n", c->url,
            c->why != NULL ? c->why : "", c->why != NULL ? "; " : "", c->lost, c->noun);
    return -1;
}
