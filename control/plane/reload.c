/* reload.c - SIGHUP: the configuration and the policy read again while running (see
 * reload.h). */
#include "control/plane/reload.h"

#include <stdio.h>
#include <string.h>

#include "control/plane/geoip_enrich.h"
#include "control/plane/inventory_publish.h"
#include "control/plane/log.h"
#include "control/store/redis_conn.h"
#include "dataplane/clock.h"

/* How each key that can change while running is applied; a row flagged reload in config.c
 * without an entry here would be refused (the unit test keeps the two lists equal). */
enum { A_STATS, A_POLICY, A_SINKS, A_LOG, A_GEOIP };
static const struct {
    const char *key;
    int how;
} appliers[] = {
    {"stats_interval", A_STATS},
    {"policy", A_POLICY},
    {"redis.batch", A_SINKS},
    {"redis.flush_interval", A_SINKS},
    {"log_level", A_LOG},
    {"geoip.country_db", A_GEOIP},
    {"geoip.asn_db", A_GEOIP},
};

static int applier_of(const char *key)
{
    for (size_t i = 0; i < sizeof(appliers) / sizeof(appliers[0]); i++)
        if (strcmp(appliers[i].key, key) == 0)
            return appliers[i].how;
    return -1;
}

int tw_reload_applies(const char *key)
{
    return applier_of(key) >= 0;
}

/* Appends ", text" (or text) to res->changed, cut when full. */
static void say(struct tw_reload_result *res, const char *sep, const char *text)
{
    size_t n = strlen(res->changed);

    snprintf(res->changed + n, sizeof(res->changed) - n, "%s%s", n ? sep : "", text);
}

/* Puts the databases just opened in force (NULL: none), unless they are the ones in force
 * already (same SHA-256: the cache stays warm), and says which. */
static void swap_geoip(struct tw_geoip_enrich *e, struct tw_geoip *g, struct tw_reload_result *res)
{
    char line[128];
    const char *now = tw_geoip_sha256(tw_geoip_enrich_db(e));

    if (g == NULL && now[0] == '\0')
        return; /* none before, none now: nothing to say */
    if (strcmp(tw_geoip_sha256(g), now) == 0) {
        tw_geoip_close(g);
        snprintf(line, sizeof(line), "geoip unchanged");
    } else if (tw_geoip_enrich_set(e, g) != 0) { /* no memory for the cache: the old stays */
        snprintf(line, sizeof(line), "geoip not replaced (out of memory)");
    } else {
        snprintf(line, sizeof(line), "geoip %s", g ? tw_geoip_sha256(g) : "none");
    }
    say(res, "; ", line);
}

int tw_reload(const struct tw_reload *r, struct tw_reload_result *res, char *err, size_t errlen)
{
    struct tw_config next;
    const char *key;
    int policy_changes = 0, sinks_change = 0, log_change = 0;

    memset(res, 0, sizeof(*res));
    tw_config_defaults(&next);
    if (r->config_path != NULL && tw_config_load(&next, r->config_path, err, errlen) != 0)
        return -1;
    if (r->options != NULL)
        r->options(&next, r->options_ctx);
    /* the URL in force has its password cut out (redis_conn.h): compare like with like, and
     * keep no secret here */
    char shown[sizeof(next.redis.url)];
    tw_redis_url_redact(next.redis.url, shown, sizeof(shown));
    explicit_bzero(next.redis.url, sizeof(next.redis.url));
    snprintf(next.redis.url, sizeof(next.redis.url), "%s", shown);
    tw_redis_url_redact(next.evidence.witness, shown, sizeof(shown));
    explicit_bzero(next.evidence.witness, sizeof(next.evidence.witness));
    snprintf(next.evidence.witness, sizeof(next.evidence.witness), "%s", shown);
    if (tw_config_validate(&next, err, errlen) != 0)
        return -1;

    /* which keys changed, and which of those may */
    unsigned char apply[256] = {0}; /* by key index: applied (more keys than this: refused) */
    for (size_t i = 0; (key = tw_config_key_name(i)) != NULL; i++) {
        char was[TW_PATH_LEN + 8], now[TW_PATH_LEN + 8];
        if (tw_config_get(r->live, key, was, sizeof(was)) != 0 ||
            tw_config_get(&next, key, now, sizeof(now)) != 0 || strcmp(was, now) == 0)
            continue;
        int how = tw_config_key_reloads(i) ? applier_of(key) : -1;
        /* a policy can be changed for another, not added to a run that has none, nor
         * removed from one (the alert outputs are opened at start) */
        if (how == A_POLICY && (r->policy == NULL || now[0] == '\0'))
            how = -1;
        if (i >= sizeof(apply))
            how = -1;
        if (how < 0) {
            if (res->nrefused < TW_RELOAD_REFUSED_MAX)
                res->refused[res->nrefused++] = key;
            continue;
        }
        apply[i] = 1;
        policy_changes |= how == A_POLICY;
        sinks_change |= how == A_SINKS;
        log_change |= how == A_LOG;
    }

    /* the GeoIP databases are opened again whether their keys changed or not: a file
     * replaced under the same name is the usual update (geoipupdate) */
    struct tw_geoip *geoip = NULL;
    if (r->geoip != NULL && next.geoip.country_db[0] &&
        (geoip = tw_geoip_open(next.geoip.country_db, next.geoip.asn_db, err, errlen)) == NULL)
        return -1;

    /* the policy last of what can fail: after it, nothing can */
    if (r->policy != NULL &&
        (policy_changes ? tw_policy_hook_reload_from(r->policy, next.policy_file, err, errlen)
                        : tw_policy_hook_reload(r->policy, err, errlen)) != 0) {
        res->policy_failed = 1;
        tw_geoip_close(geoip);
        return -1;
    }

    for (size_t i = 0; (key = tw_config_key_name(i)) != NULL; i++) {
        char was[TW_PATH_LEN + 8], now[TW_PATH_LEN + 8], line[2 * TW_PATH_LEN + 64];
        if (i >= sizeof(apply) || !apply[i])
            continue;
        tw_config_get(r->live, key, was, sizeof(was));
        tw_config_get(&next, key, now, sizeof(now));
        /* the text round-trips through the same parser as the file: it cannot fail here */
        tw_config_set(r->live, key, now, err, errlen);
        snprintf(line, sizeof(line), "%s %s -> %s", key, was[0] ? was : "\"\"", now);
        say(res, ", ", line);
    }
    if (r->ctl != NULL)
        r->ctl->stats_interval_s = r->live->stats_interval_s;
    enum tw_log_level level;
    if (log_change && tw_log_level_parse(r->live->log_level, &level) == 0)
        tw_log_set_level(level);
    if (sinks_change)
        tw_sinks_tune(r->sinks, &(struct tw_sink_tuning){.batch = r->live->redis.batch,
                                                          .flush_ms = r->live->redis.flush_ms});
    if (res->changed[0] == '\0')
        say(res, "", "no configuration key changed");
    if (r->geoip != NULL) {
        swap_geoip(r->geoip, geoip, res);
        if (r->policy != NULL) /* alerts from now on name the databases in force */
            tw_policy_hook_set_geoip_sha256(r->policy,
                                            tw_geoip_sha256(tw_geoip_enrich_db(r->geoip)));
    }
    if (r->policy != NULL) {
        char line[128];
        const struct tw_policy *p = tw_policy_hook_policy(r->policy);
        snprintf(line, sizeof(line), "policy reloaded: %zu equipment, %zu rules",
                 tw_policy_equipment_count(p), tw_policy_rule_count(p));
        say(res, "; ", line);
        /* readers learn the new inventory with the next counters (within a second) */
        if (r->inventory != NULL && tw_inventory_publish(r->inventory, p, tw_wall_us()) != 0)
            say(res, "; ", "inventory not published (out of memory)");
    }
    return 0;
}
