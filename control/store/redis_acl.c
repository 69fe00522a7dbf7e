/* redis_acl.c - the ACL users of tapwatch (see redis_acl.h). */
#include "control/store/redis_acl.h"

#include <stdio.h>

#include "control/record/compact.h"
#include "control/record/fleet_keys.h"
#include "control/record/keys.h"

/* What a sensor sends, and where from: a command missing here is a NOPERM in
 * test_redis_acl.sh, one too many is a right the sensor does not need. */
static const char *const sensor_commands[] = {
    "hset", "append", "expire", "zadd", "zremrangebyscore", /* flow_writer.c, redis_check.c */
    "evalsha", "script|load",                                /* alert_writer.c */
    "set", "xadd", "hincrby", "sadd", "zincrby",             /* its Lua scripts */
    "info",                                                  /* evicted keys, persistence */
    "zremrangebyrank", "zrange",                             /* reached:<E> (cross_border) */
    "cluster|slots", /* redis_cluster.c: the slot map (redis.cluster; without it nothing is
                        written) */
    "wait",          /* redis_engine.c: redis.wait_replicas */
};

/* What tapwatch-query sends (control/query/cmd_*.c): reads, and the appends of the audit
 * trail (control/query/audit_trail.c). The write commands (eval and, inside its script, get,
 * xadd, set) reach only the keys the user may write: the audit trail and its head (keys.h:
 * tw_key_acl_audit); every sensor key is read-only (%R~). What the ACL cannot stop on the trail
 * is what those commands can do: XADD ... MAXLEN 0 empties it, SET rewrites the head, XADD
 * forges an entry; verify-audit detects each. DEL, UNLINK, XDEL, XTRIM, RENAME, EXPIRE,
 * RESTORE are not granted (NOPERM). */
static const char *const regulator_commands[] = {
    "exists", "getrange", "hget", "hgetall", "strlen", "xrange", "xrevrange",
    "zrange", /* cmd_verify.c: every hour of a sensor */
    "zrangebylex", "zrangebyscore", "zrevrange", "zrevrangebyscore",
    "smembers", "get", /* tw:banks, the registry (cmd_sensors.c, sensors.c) */
    "acl|whoami", "eval", "xadd", "set", /* audit_trail.c: who asks, the append */
    "xinfo|stream",                      /* audit_verify.c: entries ever added */
    "info", "cluster|slots", /* cmd_verify.c: the keys each master evicted (INFO stats) */
};

static int put(char *buf, size_t len, size_t *o, const char *fmt, const char *a, const char *b)
{
    int n = snprintf(buf + *o, len - *o, fmt, a, b);

    if (n < 0 || (size_t)n >= len - *o)
        return -1;
    *o += (size_t)n;
    return 0;
}

static int commands(char *buf, size_t len, size_t *o, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (put(buf, len, o, " +%s%s", list[i], "") < 0)
            return -1;
    return put(buf, len, o, "%s%s\n", "", "");
}

int tw_redis_acl_text(char *buf, size_t len, const char *bank, const char *sensor)
{
    char ns[TW_NS_LEN], pattern[TW_KEY_LEN], hourly[TW_KEY_LEN], user[TW_KEY_LEN], reg[512],
        audit[TW_KEY_LEN];
    size_t o = 0;

    if (len == 0 || tw_key_namespace(ns, sizeof(ns), bank, sensor) < 0 ||
        tw_key_acl_pattern(pattern, sizeof(pattern), ns) < 0 ||
        tw_key_cx_acl_pattern(hourly, sizeof(hourly), ns) < 0 ||
        tw_key_acl_registration(reg, sizeof(reg), bank, sensor) < 0)
        return -1;
    snprintf(user, sizeof(user), "tapwatch-%s", ns);
    buf[0] = '\0';
    /* redis-server 7.0 refuses comments in an aclfile: the explanation is in README */
    if (put(buf, len, &o, "user %s on #SHA256-OF-THE-PASSWORD-OF-%s resetchannels resetkeys",
            user, user) < 0 ||
        /* compact.h's hourly tw:{S:H} keys, then the registration under the bank */
        put(buf, len, &o, " %s %s", pattern, hourly) < 0 ||
        put(buf, len, &o, " %s%s -@all", reg, "") < 0 ||
        commands(buf, len, &o, sensor_commands,
                 sizeof(sensor_commands) / sizeof(sensor_commands[0])) < 0 ||
        tw_key_acl_audit(audit, sizeof(audit), NULL) < 0 ||
        put(buf, len, &o, "user regulator on #SHA256-OF-THE-PASSWORD-OF-regulator "
                          "resetchannels resetkeys %s %s -@all",
            tw_key_acl_read_all(), audit) < 0 ||
        commands(buf, len, &o, regulator_commands,
                 sizeof(regulator_commands) / sizeof(regulator_commands[0])) < 0 ||
        put(buf, len, &o, "user default off resetchannels resetkeys -@all%s%s\n", "", "") < 0)
        return -1;
    return (int)o;
}

int tw_redis_acl_reader_text(char *buf, size_t len, const char *bank)
{
    char keys[TW_KEY_LEN], audit[TW_KEY_LEN];
    size_t o = 0;

    if (len == 0 || tw_key_acl_bank_reader(keys, sizeof(keys), bank) < 0 ||
        tw_key_acl_audit(audit, sizeof(audit), bank) < 0)
        return -1;
    buf[0] = '\0';
    if (put(buf, len, &o, "user reader-%s on #SHA256-OF-THE-PASSWORD-OF-reader-%s "
                          "resetchannels resetkeys", bank, bank) < 0 ||
        put(buf, len, &o, " %s %s -@all", keys, audit) < 0 ||
        commands(buf, len, &o, regulator_commands,
                 sizeof(regulator_commands) / sizeof(regulator_commands[0])) < 0)
        return -1;
    return (int)o;
}

int tw_redis_acl_witness_text(char *buf, size_t len, const char *bank, const char *sensor)
{
    char ns[TW_NS_LEN], keys[TW_KEY_LEN], user[TW_KEY_LEN];
    size_t o = 0;

    if (len == 0 || tw_key_namespace(ns, sizeof(ns), bank, sensor) < 0 ||
        tw_key_acl_witness(keys, sizeof(keys), ns) < 0)
        return -1;
    snprintf(user, sizeof(user), "witness-%s", ns);
    buf[0] = '\0';
    /* HSETNX needs write permission only (its key is INSERT, not ACCESS): %W~ suffices, and
     * the user can neither read what it wrote nor overwrite or delete it. AUTH is always
     * allowed; the writer sends nothing else (control/store/witness_writer.c). */
    if (put(buf, len, &o, "user %s on #SHA256-OF-THE-PASSWORD-OF-%s resetchannels resetkeys",
            user, user) < 0 ||
        put(buf, len, &o, " %s -@all +hsetnx\n", keys, "") < 0 ||
        put(buf, len, &o, "user witness-reader on #SHA256-OF-THE-PASSWORD-OF-witness-reader "
                          "resetchannels resetkeys %s%s -@all +hgetall +hlen\n",
            "%R~tw:witness:*", "") < 0)
        return -1;
    return (int)o;
}
