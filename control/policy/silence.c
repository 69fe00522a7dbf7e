/* silence.c - the silence rules (see silence.h): per equipment with expect_traffic, the end
 * of its latest decided activity, the activity reported beyond the horizon (a few spans),
 * the open silence; the mirror's pulse (live). Kept across reloads by equipment name.
 *
 *   activity ──span──> pend[] (sorted; spans closer than silent_after merged: no silence
 *                              fits between them)
 *   tick(H)  ──> pend[0].from <= H: the hole (last, from) holds T0? silent + back; last = to
 *            ──> nothing pending up to H and T0 <= H: silent (open until the next activity)
 */
#include "control/policy/silence.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/policy/policy_model.h"

#define SEC 1000000ull
#define MINUTE (60 * SEC)
#define LOOK_AHEAD (8 * 86400 * SEC) /* a week of windows and a day of time-zone change */
#define PENDING 8
#define NONE UINT64_MAX

struct span {
    uint64_t from, to;
};

struct eq_silence {
    char name[TW_EQUIPMENT_LEN];
    const struct equipment *eq; /* in the policy bound now */
    uint64_t after_us;          /* silent_after */
    uint64_t last;              /* end of the latest decided activity; 0 = the run's start */
    uint64_t t0, t0_of;         /* T0 for last = t0_of (a cache: NONE = none in 8 days) */
    uint64_t open;              /* the open silence's T0, 0 = none */
    struct span pend[PENDING];  /* activity beyond the horizon, sorted by from */
    unsigned npend;
};

struct tw_silence {
    const struct tw_policy *p;
    struct eq_silence *e;       /* one per equipment with expect_traffic, in policy order */
    size_t n;
    int32_t *of_eq;             /* equipment index -> e index, -1 = no expect_traffic */
    uint64_t horizon;           /* H of the last decision */
    uint64_t now;               /* the clock's now at the last tick */
    uint64_t last_eval;         /* now of the last full decision (once a second) */
    int due;                    /* activity waits at or before the horizon */
    int started;                /* the run's start is known */
    /* the mirror, live */
    uint64_t m_packets, m_last, m_open;
    int m_started;
    struct tw_silence_stats st;
};

struct tw_silence *tw_silence_new(void)
{
    struct tw_silence *s = calloc(1, sizeof(*s));

    if (s == NULL)
        errno = ENOMEM;
    return s;
}

void tw_silence_free(struct tw_silence *s)
{
    if (s == NULL)
        return;
    free(s->e);
    free(s->of_eq);
    free(s);
}

int tw_silence_bind(struct tw_silence *s, const struct tw_policy *p)
{
    size_t n = 0;

    for (size_t i = 0; i < p->neq; i++)
        n += p->eq[i].nexpect > 0;
    struct eq_silence *e = calloc(n + 1, sizeof(*e));
    int32_t *of = malloc((p->neq + 1) * sizeof(*of));
    if (e == NULL || of == NULL) {
        free(e);
        free(of);
        errno = ENOMEM;
        return -1;
    }
    n = 0;
    for (size_t i = 0; i < p->neq; i++) {
        const struct equipment *q = &p->eq[i];
        of[i] = -1;
        if (q->nexpect == 0)
            continue;
        /* the same name keeps its state (a reload); a plain search, at load only */
        const struct eq_silence *old = NULL;
        for (size_t k = 0; k < s->n && old == NULL; k++)
            if (strcmp(s->e[k].name, q->name) == 0)
                old = &s->e[k];
        if (old != NULL)
            e[n] = *old;
        else
            e[n].last = s->started ? s->horizon : 0; /* a new one starts its silence now */
        snprintf(e[n].name, sizeof(e[n].name), "%s", q->name);
        e[n].eq = q;
        e[n].after_us = (uint64_t)(q->silent_after_s ? q->silent_after_s : p->silent_after_s) * SEC;
        e[n].t0_of = NONE; /* windows or silent_after may have changed */
        of[i] = (int32_t)n++;
    }
    free(s->e);
    free(s->of_eq);
    s->e = e;
    s->n = n;
    s->of_eq = of;
    s->p = p;
    return 0;
}

/* The first instant at or after from inside one of e's windows, looked for LOOK_AHEAD on:
 * from minute to minute boundary where a window may begin (a window starts and ends on whole
 * local minutes, and local minutes are UTC minutes: offsets are whole minutes). */
static uint64_t first_inside(const struct tw_policy *p, const struct equipment *e, uint64_t from)
{
    uint64_t t = from;

    for (int i = 0; i < 256 && t < from + LOOK_AHEAD; i++) {
        unsigned wd, minute, step;
        tw_policy_local_time(p, t, &wd, &minute, NULL);
        for (size_t w = 0; w < e->nexpect; w++)
            if (tw_window_contains(e->expect[w].days, e->expect[w].start, e->expect[w].end, wd,
                                   minute))
                return t;
        step = 1440 - minute; /* next midnight at the latest: the tail of a window */
        for (size_t w = 0; w < e->nexpect; w++)
            if ((e->expect[w].days >> wd & 1) && e->expect[w].start > minute &&
                e->expect[w].start - minute < step)
                step = e->expect[w].start - minute;
        t = t / MINUTE * MINUTE + step * MINUTE;
    }
    return NONE;
}

static uint64_t t0_of(const struct tw_silence *s, struct eq_silence *e)
{
    if (e->t0_of != e->last) {
        e->t0 = first_inside(s->p, e->eq, e->last + e->after_us);
        e->t0_of = e->last;
    }
    return e->t0;
}

static void when_text(uint64_t us, char *out, size_t len)
{
    time_t t = (time_t)(us / SEC);
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, len, "?");
}

__attribute__((format(printf, 8, 9))) static int fire(const struct tw_policy *p, unsigned kind,
                                                      const struct equipment *e, uint64_t ts,
                                                      uint64_t first_us, tw_alert_emit_fn emit,
                                                      void *ctx, const char *fmt, ...)
{
    struct tw_alert a;
    va_list ap;

    if (!p->rules[kind].enabled || !p->rules[kind].configured)
        return 0;
    memset(&a, 0, sizeof(a));
    a.record_hour = TW_HOUR_UNKNOWN; /* no flow, no record */
    a.ts_us = ts;
    a.kind = (uint8_t)kind;
    a.severity = p->rules[kind].severity;
    a.guard_period = first_us / SEC;
    if (e != NULL) {
        snprintf(a.equipment, sizeof(a.equipment), "%s", e->name);
        snprintf(a.vendor, sizeof(a.vendor), "%s", e->vendor);
    }
    va_start(ap, fmt);
    vsnprintf(a.detail, sizeof(a.detail), fmt, ap);
    va_end(ap);
    emit(ctx, &a);
    return 1;
}

static int silent(struct tw_silence *s, struct eq_silence *e, uint64_t t0, tw_alert_emit_fn emit,
                  void *ctx)
{
    char since[40];

    e->open = t0;
    s->st.equipment_silent++;
    when_text(e->last, since, sizeof(since));
    return fire(s->p, TW_ALERT_SILENT_EQUIPMENT, e->eq, t0, t0, emit, ctx,
                "%s: no flow since %s, silent_after (%llu s) passed inside its expected hours",
                e->name, since, (unsigned long long)(e->after_us / SEC));
}

static int back(struct tw_silence *s, struct eq_silence *e, uint64_t at, tw_alert_emit_fn emit,
                void *ctx)
{
    char since[40];
    uint64_t t0 = e->open;

    e->open = 0;
    s->st.equipment_silent--;
    when_text(t0, since, sizeof(since));
    return fire(s->p, TW_ALERT_EQUIPMENT_BACK, e->eq, at > t0 ? at : t0, t0, emit, ctx,
                "%s: flows again after the silence that began %s", e->name, since);
}

/* Decides e up to the horizon h. */
static int decide(struct tw_silence *s, struct eq_silence *e, uint64_t h, tw_alert_emit_fn emit,
                  void *ctx)
{
    int n = 0;

    while (e->npend > 0 && e->pend[0].from <= h) {
        struct span sp = e->pend[0];
        memmove(&e->pend[0], &e->pend[1], --e->npend * sizeof(sp));
        if (sp.to <= e->last)
            continue; /* nothing new */
        if (!e->open && sp.from > e->last) {
            uint64_t t0 = t0_of(s, e);
            if (t0 < sp.from) /* a whole silence inside the hole */
                n += silent(s, e, t0, emit, ctx);
        }
        if (e->open)
            n += back(s, e, sp.from, emit, ctx);
        e->last = sp.to;
    }
    if (!e->open && t0_of(s, e) <= h)
        n += silent(s, e, e->t0, emit, ctx);
    return n;
}

/* Adds the span to e's pending activity: sorted, merged with any span it overlaps or comes
 * within silent_after of; a full list merges its two closest spans. */
static void add_span(struct tw_silence *s, struct eq_silence *e, uint64_t from, uint64_t to)
{
    struct span sp = {from, to};
    unsigned i = 0;

    while (i < e->npend) {
        struct span *o = &e->pend[i];
        if (sp.from <= o->to + e->after_us && o->from <= sp.to + e->after_us) {
            sp.from = sp.from < o->from ? sp.from : o->from;
            sp.to = sp.to > o->to ? sp.to : o->to;
            memmove(o, o + 1, (e->npend - i - 1) * sizeof(*o));
            e->npend--;
            continue;
        }
        i++;
    }
    if (e->npend == PENDING) {
        unsigned best = 0;
        for (unsigned k = 1; k + 1 < PENDING; k++)
            if (e->pend[k + 1].from - e->pend[k].to < e->pend[best + 1].from - e->pend[best].to)
                best = k;
        e->pend[best].to = e->pend[best + 1].to;
        memmove(&e->pend[best + 1], &e->pend[best + 2], (PENDING - best - 2) * sizeof(sp));
        e->npend--;
        s->st.merged++;
    }
    for (i = e->npend; i > 0 && e->pend[i - 1].from > sp.from; i--)
        e->pend[i] = e->pend[i - 1];
    e->pend[i] = sp;
    e->npend++;
}

void tw_silence_activity(struct tw_silence *s, const struct tw_flow_record *r)
{
    int v4 = r->ip_version == 4;

    if (s->n == 0)
        return;
    for (int end = 0; end < 2; end++) {
        const struct equipment *q = tw_policy_find_equipment(s->p, end ? r->dst_ip : r->src_ip, v4);
        if (q == NULL || s->of_eq[q - s->p->eq] < 0)
            continue;
        struct eq_silence *e = &s->e[s->of_eq[q - s->p->eq]];
        uint64_t from = r->first_seen_us, to = r->last_seen_us > from ? r->last_seen_us : from;
        add_span(s, e, from, to);
        if (from <= s->horizon)
            s->due = 1;
    }
}

/* The mirror, live: the packet count against the clock. */
static int mirror_live(struct tw_silence *s, const struct tw_silence_clock *clk,
                       tw_alert_emit_fn emit, void *ctx)
{
    uint64_t after = (uint64_t)s->p->mirror_silent_after_s * SEC, now = clk->now_us;
    char since[40];

    if (!s->m_started) {
        s->m_started = 1;
        s->m_packets = clk->packets;
        s->m_last = clk->start_us;
    }
    if (clk->packets != s->m_packets) {
        s->m_packets = clk->packets;
        s->m_last = now;
        if (s->m_open) {
            uint64_t t0 = s->m_open;
            s->m_open = 0;
            s->st.mirror_silent = 0;
            when_text(t0, since, sizeof(since));
            return fire(s->p, TW_ALERT_MIRROR_BACK, NULL, now, t0, emit, ctx,
                        "packets arrive again after the mirror's silence that began %s", since);
        }
        return 0;
    }
    if (s->m_open || now < s->m_last + after)
        return 0;
    s->m_open = s->m_last + after;
    s->st.mirror_silent = 1;
    when_text(s->m_last, since, sizeof(since));
    return fire(s->p, TW_ALERT_MIRROR_SILENT, NULL, s->m_open, s->m_open, emit, ctx,
                "no packet since %s, for %u s: the mirror port is silent", since,
                s->p->mirror_silent_after_s);
}

int tw_silence_tick(struct tw_silence *s, const struct tw_silence_clock *clk,
                    tw_alert_emit_fn emit, void *ctx)
{
    int n = 0;

    if (s->p == NULL || clk->start_us == 0)
        return 0; /* no time yet */
    s->now = clk->now_us;
    if (!clk->replay)
        n += mirror_live(s, clk, emit, ctx);
    if (!s->started) {
        s->started = 1;
        for (size_t i = 0; i < s->n; i++)
            if (s->e[i].last == 0)
                s->e[i].last = clk->start_us;
    }
    uint64_t h = clk->now_us > clk->report_lag_us ? clk->now_us - clk->report_lag_us : 0;
    if (clk->final)
        h = clk->now_us;
    if (h < s->horizon)
        h = s->horizon; /* never back */
    if (!s->due && !clk->final && clk->now_us < s->last_eval + SEC)
        return n;
    s->horizon = h;
    s->last_eval = clk->now_us;
    s->due = 0;
    for (size_t i = 0; i < s->n; i++)
        n += decide(s, &s->e[i], h, emit, ctx);
    return n;
}

int tw_silence_gap(struct tw_silence *s, uint64_t start_us, uint64_t end_us,
                   tw_alert_emit_fn emit, void *ctx)
{
    uint64_t after;
    char since[40];
    int n;

    if (s->p == NULL)
        return 0;
    after = (uint64_t)s->p->mirror_silent_after_s * SEC;
    if (end_us < start_us + after)
        return 0; /* found under an older, shorter mirror_silent_after */
    when_text(start_us, since, sizeof(since));
    n = fire(s->p, TW_ALERT_MIRROR_SILENT, NULL, start_us + after, start_us + after, emit, ctx,
             "no packet since %s, for %u s: the capture has a hole", since,
             s->p->mirror_silent_after_s);
    when_text(start_us + after, since, sizeof(since));
    n += fire(s->p, TW_ALERT_MIRROR_BACK, NULL, end_us, start_us + after, emit, ctx,
              "packets again after the capture's hole that began %s", since);
    return n;
}

void tw_silence_get_stats(const struct tw_silence *s, struct tw_silence_stats *out)
{
    *out = s->st;
}

uint64_t tw_silence_gap_threshold_us(const struct tw_policy *p)
{
    return p->rules[TW_ALERT_MIRROR_SILENT].enabled ? (uint64_t)p->mirror_silent_after_s * SEC : 0;
}
