/* redis_check.c - tapwatch's start-up questions to Redis (see redis_check.h). */
#include "control/store/redis_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/record/keys.h"
#include "control/store/redis_client.h"

/* CONFIG GET name: its value into out. Returns 0, 1 when refused (NOPERM, renamed away: the
 * refusal in why), -1 on an I/O error. */
static int config_get(struct tw_rclient *c, const char *name, char *out, size_t len, char *why,
                      size_t whylen)
{
    redisReply *r = tw_rclient_command(c, "CONFIG GET %s", name);
    int rc = 0;

    if (r == NULL)
        return -1;
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(why, whylen, "%.200s", r->str);
        rc = 1;
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
               r->element[1]->type == REDIS_REPLY_STRING) {
        snprintf(out, len, "%s", r->element[1]->str);
    } else {
        snprintf(why, whylen, "unexpected reply to CONFIG GET");
        rc = 1;
    }
    freeReplyObject(r);
    return rc;
}

/* INFO section: the value of field into out ("" when absent). Same returns. */
static int info_field(struct tw_rclient *c, const char *section, const char *field, char *out,
                      size_t len, char *why, size_t whylen)
{
    redisReply *r = tw_rclient_command(c, "INFO %s", section);
    char key[64];
    const char *p;
    int rc = 0;

    out[0] = '\0';
    if (r == NULL)
        return -1;
    snprintf(key, sizeof(key), "\n%s:", field);
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(why, whylen, "%.200s", r->str);
        rc = 1;
    } else if (r->type == REDIS_REPLY_STRING && (p = strstr(r->str, key)) != NULL) {
        p += strlen(key);
        snprintf(out, len, "%.*s", (int)strcspn(p, "\r\n"), p);
    }
    freeReplyObject(r);
    return rc;
}

int tw_redis_check_start(const struct tw_redis_target *t, const char *sensor,
                         unsigned timeout_ms, struct tw_redis_check *out, char *err,
                         size_t errlen)
{
    const char *url = tw_redis_target_url(t);
    enum tw_rclient_fail fail;
    char key[TW_KEY_LEN], policy[64] = "", aof[16] = "", save[128] = "", why[256] = "";
    int rc, from_info = 0;
    struct tw_rclient *c;
    redisReply *r;

    memset(out, 0, sizeof(*out));
    if ((c = tw_rclient_open(t, timeout_ms, &fail, err, errlen)) == NULL) {
        if (fail == TW_RCLIENT_CONFIG)
            return -1;
        snprintf(out->note, sizeof(out->note), "%s; records wait for it", err);
        return 0;
    }
    out->reachable = 1;
    if (tw_key_runs(key, sizeof(key), sensor) < 0) {
        snprintf(err, errlen, "redis: sensor name too long");
        tw_rclient_close(c);
        return -1;
    }
    /* a write that removes nothing (no run starts at -inf): allowed on our keys, or not */
    r = tw_rclient_command(c, "ZREMRANGEBYSCORE %s -inf -inf", key);
    if (r == NULL) {
        snprintf(out->note, sizeof(out->note), "redis %s: %s; records wait for it", url,
                 tw_rclient_error(c));
        if (tw_rclient_tls_failed(c)) {
            snprintf(err, errlen, "redis %s: %s", url, tw_rclient_error(c));
            tw_rclient_close(c);
            return -1;
        }
        out->reachable = 0;
        tw_rclient_close(c);
        return 0;
    }
    if (r->type == REDIS_REPLY_ERROR && tw_redis_config_error(r->str)) {
        snprintf(err, errlen, "redis %s refused a write to %s: %s", url, key, r->str);
        freeReplyObject(r);
        tw_rclient_close(c);
        return -1;
    }
    freeReplyObject(r);

    /* can it lose what it acknowledged? CONFIG GET says all; an ACL user may only run INFO */
    rc = config_get(c, "maxmemory-policy", policy, sizeof(policy), why, sizeof(why));
    if (rc == 0)
        rc = config_get(c, "appendonly", aof, sizeof(aof), why, sizeof(why));
    if (rc == 0)
        rc = config_get(c, "save", save, sizeof(save), why, sizeof(why));
    if (rc == 1) {
        char info_why[256] = "";
        from_info = 1;
        rc = info_field(c, "memory", "maxmemory_policy", policy, sizeof(policy), info_why,
                        sizeof(info_why));
        if (rc == 0)
            rc = info_field(c, "persistence", "aof_enabled", aof, sizeof(aof), info_why,
                            sizeof(info_why));
        if (rc == 1 || (rc == 0 && (policy[0] == '\0' || aof[0] == '\0'))) {
            out->can_lose = -1;
            snprintf(out->note, sizeof(out->note),
                     "redis %s: could not check whether Redis can lose what it acknowledged "
                     "(CONFIG GET: %.120s; INFO: %.120s)", url, why, info_why[0] ? info_why : "no answer");
            tw_rclient_close(c);
            return 0;
        }
        snprintf(aof, sizeof(aof), "%s", strcmp(aof, "1") == 0 ? "yes" : "no");
    }
    if (rc < 0) {
        snprintf(out->note, sizeof(out->note), "redis %s: %s; records wait for it", url,
                 tw_rclient_error(c));
        out->reachable = 0;
        tw_rclient_close(c);
        return 0;
    }
    tw_rclient_close(c);

    int evicts = strcmp(policy, "noeviction") != 0;
    int no_aof = strcmp(aof, "yes") != 0;
    int lost_disk = no_aof && !from_info && save[0] == '\0';
    int unknown_disk = no_aof && from_info;
    char disk[200] = "";
    if (lost_disk)
        snprintf(disk, sizeof(disk), "%sno persistence (appendonly no, save \"\")",
                 evicts ? "; " : "");
    else if (unknown_disk)
        snprintf(disk, sizeof(disk), "%sappendonly no, and RDB snapshots could not be checked "
                 "(CONFIG GET: %.100s)", evicts ? "; " : "", why);
    if (!evicts && !lost_disk && !unknown_disk)
        return 0;
    out->can_lose = evicts || lost_disk ? 1 : -1;
    snprintf(out->note, sizeof(out->note), "redis %s %s lose what it acknowledged: %s%s%s%s",
             url, out->can_lose > 0 ? "can" : "may", evicts ? "maxmemory-policy " : "",
             evicts ? policy : "", evicts ? " evicts keys when memory is full" : "", disk);
    return 0;
}
