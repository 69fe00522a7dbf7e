/* reload.h - SIGHUP: the configuration and the policy read again while running.
 *
 * The signal handler only sets a flag; the control loop's tick calls tw_reload between two
 * events, on the control lcore, so nothing it changes is read by another thread:
 *
 *   config file ──load──> defaults + file + command-line options (as at start: options win)
 *               ──validate whole──> bad: nothing changes (one line)
 *   policy file ──load──> bad: nothing changes (one line)
 *   each key whose value changed:
 *       its row in config.c says reload ──> applied (the live line, the policy hook, the
 *                                           Redis writers' next batch)
 *       else ──> refused (named in the result, the old value stays; a restart applies it)
 *
 * What can change and why the rest cannot (README "Reloading" lists the rows):
 *   stats_interval        read by the control loop at every turn
 *   policy                a new file is loaded, then swapped in between two events
 *   redis.batch,          read by the writers when they make the next batch; batches in
 *   redis.flush_interval  flight keep their own count
 *   log_level             the log module's threshold, read by every line
 *   geoip.country_db,     the databases are opened again at every reload (a file replaced
 *   geoip.asn_db          under the same name is taken too) and swapped in between two events;
 *                         one that does not open fails the reload, the old ones stay
 * The workers, rings, pools and flow tables are sized and handed their timeouts at start
 * (per-worker state, read on the packet path without locks); the Redis connection, the
 * sensor's key names, run_dir's files and the buffers are made once: those need a restart.
 */
#ifndef TW_RELOAD_H
#define TW_RELOAD_H

#include <stddef.h>

#include "control/plane/config.h"
#include "control/plane/control_loop.h"
#include "control/plane/geoip_enrich.h"
#include "control/plane/policy_hook.h"
#include "control/store/sink.h"

struct tw_statements;
struct tw_inventory;

struct tw_reload {
    const char *config_path; /* --config FILE, NULL: defaults and options only */
    /* puts the command-line options over cfg, exactly as at start */
    void (*options)(struct tw_config *cfg, const void *ctx);
    const void *options_ctx;
    struct tw_config *live;        /* the configuration in force: what is applied lands here */
    struct tw_control *ctl;        /* the live line's period */
    struct tw_policy_hook *policy; /* NULL: no policy was loaded at start (none can be added) */
    struct tw_sinks *sinks;        /* the Redis writers' batch and flush interval */
    struct tw_geoip_enrich *geoip; /* the GeoIP databases, opened again at every reload;
                                    * NULL: left alone */
    struct tw_statements *statements; /* a reload that went through is a statement of its
                                       * own (statements.h); NULL: none */
    struct tw_inventory *inventory; /* the equipment inventory published in Redis: the new
                                     * policy's after a reload (inventory_publish.h); NULL: none */
};

#define TW_RELOAD_REFUSED_MAX 64

struct tw_reload_result {
    char changed[768];  /* "stats_interval 1s -> 5s, policy: 2 equipment, 3 rules" */
    const char *refused[TW_RELOAD_REFUSED_MAX]; /* keys that changed and cannot while running */
    size_t nrefused;
    int policy_failed;  /* on -1: 1 when the policy file was the fault, 0 the configuration */
};

/* Reads the configuration and the policy again and applies what can change (above).
 * Returns 0 with what changed and what was refused in res, or -1 with the file's one-line
 * error in err ("FILE:LINE: ...") and nothing changed. */
int tw_reload(const struct tw_reload *r, struct tw_reload_result *res, char *err, size_t errlen);

/* 1 when tw_reload knows how to apply key while running. Every row flagged reload in
 * config.c must be one of these (tests/unit/test_config.c checks). */
int tw_reload_applies(const char *key);

#endif
