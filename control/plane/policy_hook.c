/* policy_hook.c - the policy on the control plane (see policy_hook.h). */
#include "control/plane/policy_hook.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct tw_policy_hook {
    struct tw_policy *policy;   /* the one in use; replaced whole by a reload */
    struct tw_policy_state *state;
    struct tw_alert_store *store;
    FILE *jsonl;
    int jsonl_owned;
    char path[512];
    char sensor[64];
    struct tw_policy_hook_stats st;
};

struct tw_policy_hook *tw_policy_hook_open(const struct tw_policy_hook_params *p, char *err,
                                           size_t errlen)
{
    struct tw_policy_hook *h = calloc(1, sizeof(*h));

    if (h == NULL) {
        snprintf(err, errlen, "policy: out of memory");
        return NULL;
    }
    snprintf(h->path, sizeof(h->path), "%s", p->policy_path);
    snprintf(h->sensor, sizeof(h->sensor), "%s", p->sensor);
    if ((h->policy = tw_policy_load(p->policy_path, err, errlen)) == NULL)
        goto fail;
    if ((h->state = tw_policy_state_new(p->flows_max)) == NULL) {
        snprintf(err, errlen, "policy: out of memory for the flow state");
        goto fail;
    }
    if (p->alerts_jsonl != NULL) {
        if (strcmp(p->alerts_jsonl, "-") == 0) {
            h->jsonl = stdout;
        } else if ((h->jsonl = fopen(p->alerts_jsonl, "w")) == NULL) {
            snprintf(err, errlen, "--alerts-jsonl %s: %s", p->alerts_jsonl, strerror(errno));
            goto fail;
        } else {
            h->jsonl_owned = 1;
        }
    }
    if (p->redis_url != NULL && p->redis_url[0] != '\0') {
        struct tw_alert_store_params sp = {
            .url = p->redis_url, .sensor = p->sensor, .retention_s = p->retention_s,
            .guard_ttl_s = p->hot_window_s,
            .batch = p->batch, .buffer_items = p->buffer_items, .flush_ms = p->flush_ms,
            .run_dir = p->run_dir,
        };
        if ((h->store = tw_alert_store_open(&sp, err, errlen)) == NULL)
            goto fail;
    }
    return h;
fail:
    tw_policy_hook_close(h);
    return NULL;
}

static void emit(void *ctx, const struct tw_alert *a)
{
    struct tw_policy_hook *h = ctx;
    char line[2048];

    h->st.alerts++;
    if (a->kind < TW_ALERT__COUNT)
        h->st.by_kind[a->kind]++;
    if (h->jsonl != NULL) {
        int n = tw_alert_to_json(a, h->sensor, line, sizeof(line) - 1);
        if (n > 0) {
            line[n++] = '\n';
            if (fwrite(line, 1, (size_t)n, h->jsonl) == (size_t)n)
                h->st.jsonl_written++;
            else
                h->st.jsonl_errors++;
        } else {
            h->st.jsonl_errors++;
        }
    }
    if (h->store != NULL && tw_alert_store_put_alert(h->store, a) != 0)
        h->st.store_refused++;
}

void tw_policy_hook_event(void *ctx, const struct tw_flow_record *r)
{
    struct tw_policy_hook *h = ctx;
    struct tw_policy_ends ends;

    tw_policy_evaluate_ends(h->policy, h->state, r, emit, h, &ends);
    if (r->event != TW_EVENT_END || h->store == NULL)
        return;
    /* summaries: the whole flow once, for each end that is equipment */
    for (int client = 1; client >= 0; client--) {
        const char *eq = client ? ends.src : ends.dst;
        struct tw_summary_item it;
        if (eq == NULL)
            continue;
        tw_summary_item_from_record(&it, r, eq, client);
        h->st.summaries++;
        if (tw_alert_store_put_summary(h->store, &it) != 0)
            h->st.store_refused++;
    }
}

int tw_policy_hook_reload(struct tw_policy_hook *h, char *err, size_t errlen)
{
    struct tw_policy *p = tw_policy_load(h->path, err, errlen);

    if (p == NULL) {
        h->st.reload_errors++;
        return -1;
    }
    /* the hook runs on this thread only: after this line every event sees the new policy */
    struct tw_policy *old = h->policy;
    h->policy = p;
    tw_policy_free(old);
    h->st.reloads++;
    return 0;
}

void tw_policy_hook_poll(struct tw_policy_hook *h, uint64_t now_ms)
{
    if (h->store != NULL)
        tw_alert_store_poll(h->store, now_ms);
}

uint64_t tw_policy_hook_drain(struct tw_policy_hook *h, uint64_t timeout_ms, uint64_t *held)
{
    *held = 0;
    if (h->jsonl != NULL)
        fflush(h->jsonl);
    if (h->store == NULL)
        return 0;
    uint64_t left = tw_alert_store_drain(h->store, timeout_ms);
    if (tw_alert_store_hold(h->store, held) != 0)
        return left;
    return left - *held;
}

uint64_t tw_policy_hook_recovered(const struct tw_policy_hook *h)
{
    struct tw_alert_store_stats as;

    if (h->store == NULL)
        return 0;
    tw_alert_store_get_stats(h->store, &as);
    return as.recovered;
}

const char *tw_policy_hook_hold_path(const struct tw_policy_hook *h)
{
    return h->store != NULL ? tw_alert_store_hold_path(h->store) : "";
}

const struct tw_policy *tw_policy_hook_policy(const struct tw_policy_hook *h)
{
    return h->policy;
}

void tw_policy_hook_get_stats(const struct tw_policy_hook *h, struct tw_policy_hook_stats *out)
{
    struct tw_policy_state_stats ss;

    *out = h->st;
    tw_policy_state_get_stats(h->state, &ss);
    out->evicted = ss.evicted;
}

void tw_policy_hook_summary(const struct tw_policy_hook *h, FILE *out)
{
    struct tw_policy_hook_stats st;
    int any = 0;

    tw_policy_hook_get_stats(h, &st);
    fprintf(out, "  alerts               %" PRIu64, st.alerts);
    for (unsigned k = 0; k < TW_ALERT__COUNT; k++)
        if (st.by_kind[k]) {
            fprintf(out, "%s%s %" PRIu64, any ? ", " : " (", tw_alert_kind_name(k), st.by_kind[k]);
            any = 1;
        }
    fprintf(out, "%s\n", any ? ")" : "");
    if (h->jsonl != NULL)
        fprintf(out, "  alerts-jsonl         %" PRIu64 " alerts%s\n", st.jsonl_written,
                st.jsonl_errors ? " (WRITE ERRORS)" : "");
    if (h->store != NULL) {
        struct tw_alert_store_stats as;
        tw_alert_store_get_stats(h->store, &as);
        fprintf(out, "  redis alerts         written %" PRIu64 ", summaries %" PRIu64
                     ", not written %" PRIu64 ", dropped (buffer full) %" PRIu64 "\n",
                as.alerts_written, as.summaries_written, as.pending, as.dropped_full);
    }
    if (st.reloads || st.reload_errors)
        fprintf(out, "  policy reloads       %" PRIu64 " (failed %" PRIu64 ")\n", st.reloads,
                st.reload_errors);
}

void tw_policy_hook_close(struct tw_policy_hook *h)
{
    if (h == NULL)
        return;
    tw_alert_store_close(h->store);
    if (h->jsonl != NULL && h->jsonl_owned)
        fclose(h->jsonl);
    tw_policy_state_free(h->state);
    tw_policy_free(h->policy);
    free(h);
}
