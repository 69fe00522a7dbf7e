/* query.c - tapwatch-query: what a regulator runs to read flow records, alerts and summaries
 * out of Redis.
 *
 *   tapwatch-query [--redis URL] [--sensor NAME] SUBCOMMAND [options]
 *
 * main() reads the global options (--redis, $TAPWATCH_REDIS, --sensor), the options several
 * subcommands take (--since, --until, --limit, --format, --equipment), picks the subcommand
 * from the table below once and hands it its own options; the subcommand (cmd_<name>.c) reads
 * and prints. The tool only reads, so it works with a read-only Redis user.
 *
 * Before the subcommand answers, its question is written to the audit trail (audit_trail.c);
 * afterwards, the rows it answered.
 *
 * Exit status: 0 answered, 1 Redis unreachable or failing, 2 bad command line, 3 flow not
 * found or verify-audit found the trail altered, 4 refused: the question's audit entry could
 * not be written.
 */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "dataplane/clock.h"
#include "control/query/query.h"
#include "control/query/timeparse.h"
#include "control/store/redis_conn.h"
#include "control/store/redis_client.h"

#define MAX_LIMIT 10000000ULL
#define CONNECT_TIMEOUT_MS 3000

/* The subcommands, in --help order: one row each, X(name) for tq_cmd_<name> of cmd_<name>.c. */
#define SUBCOMMANDS(X) X(flows) X(alerts) X(summary) X(equipment) X(sensors) X(flow) X(statements) X(audit) X(verify) X(verify_audit)

#define DECLARE(name) extern const struct tq_subcommand tq_cmd_##name;
SUBCOMMANDS(DECLARE)
#define ROW(name) &tq_cmd_##name,
static const struct tq_subcommand *const subcommands[] = {SUBCOMMANDS(ROW)};
#define N_SUBCOMMANDS (sizeof(subcommands) / sizeof(subcommands[0]))

/* The command line as read, before the subcommand runs. */
struct cmdline {
    struct tq_opts o;
    const char *redis_url;
    const char *audit_key; /* --audit-key FILE, $TAPWATCH_AUDIT_KEY; NULL: the default's */
    struct tw_redis_options redis; /* credentials and TLS: files, never a secret on argv */
    const char *subcommand; /* the word given, NULL if none */
    int help;
    int word_given; /* the subcommand's word (tq_subcommand.word) was read */
    unsigned given;    /* TQ_OPT_* seen */
    int foreign_given; /* an option of another subcommand's own was seen */
};

static void usage_text(FILE *f);

/* The text is longer than a stdio buffer (4096 bytes): written in one write() when it can be
 * composed first, so that a reader that stops at its first line (`--help | grep -q usage`,
 * with pipefail) does not make the rest of it a SIGPIPE. */
static void usage(FILE *f)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);

    if (m == NULL) {
        usage_text(f);
        return;
    }
    usage_text(m);
    if (fclose(m) == 0) {
        /* past stdio, whose 4096-byte buffer would split it */
        size_t off = 0;
        ssize_t n = 0;
        fflush(f);
        while (off < len && (n = write(fileno(f), text + off, len - off)) > 0)
            off += (size_t)n;
    }
    free(text);
}

static void usage_text(FILE *f)
{
    fputs("usage: " PROG " [--redis URL] [--sensor NAME] SUBCOMMAND [options]\n"
          "\n"
          "  --redis URL      unix:///path/redis.sock, redis://[user@]host:port or\n"
          "                   rediss://[user@]host:port (TLS) (default: $TAPWATCH_REDIS)\n"
          "  --redis-password-file FILE  the Redis user's password, first line of FILE, which\n"
          "                   only its owner may read (default: $TAPWATCH_REDIS_PASSWORD_FILE)\n"
          "  --redis-user NAME           the Redis ACL user (or user@ in the URL)\n"
          "  --redis-tls-ca FILE         CA certificates for rediss:// (default: $TAPWATCH_REDIS_TLS_CA,\n"
          "                   else the system's)\n"
          "  --redis-tls-cert FILE, --redis-tls-key FILE   a client certificate and its key\n"
          "  --sensor NAME    sensor whose records to read (default: tapwatch)\n"
          "  --sensor a,b,c   several sensors, or a glob over the registered ones: 'branch-*';\n"
          "                   flows, alerts and summary then merge their answers newest first\n"
          "                   with a sensor column (without --bank a name is BANK/SENSOR for a\n"
          "                   sensor that has a bank)\n"
          "  --all-sensors    every registered sensor (of --bank, else of every bank)\n"
          "  --bank NAME      the bank of the sensors (the configuration's bank:)\n"
          "  --audit-key FILE the key that signs this program's audit entries (made by\n"
          "                   `tapwatch keygen --out FILE`; default: $TAPWATCH_AUDIT_KEY, else\n"
          "                   ~/.config/tapwatch/audit.key when it exists, else unsigned)\n"
          "  --help           this text\n"
          "\n"
          "subcommands:\n",
          f);
    for (size_t i = 0; i < N_SUBCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", subcommands[i]->name, subcommands[i]->summary);
    for (size_t i = 0; i < N_SUBCOMMANDS; i++)
        fprintf(f, "\n%s", subcommands[i]->usage);
    fputs("\n"
          "every question is first written to the audit trail of its bank (tw:{audit:BANK}:trail):\n"
          "who asked, when, what; and afterwards how many rows it answered\n"
          "\n"
          "exit status: 0 answered, 1 Redis unreachable or failing, 2 bad command line,\n"
          "3 flow: not found, verify-audit: the trail does not verify, 4 refused: the audit\n"
          "entry could not be written\n",
          f);
}

/* The audit key: --audit-key, else $TAPWATCH_AUDIT_KEY (both must load), else
 * ~/.config/tapwatch/audit.key when it exists. Returns 0 or EXIT_USAGE (said). */
static int load_audit_key(const struct cmdline *cl)
{
    const char *path = cl->audit_key, *home;
    char def[4096];

    if (path == NULL && (path = getenv("TAPWATCH_AUDIT_KEY")) != NULL && path[0] == '\0')
        path = NULL;
    if (path != NULL)
        return tq_audit_key(path, 1);
    if ((home = getenv("HOME")) == NULL || home[0] == '\0')
        return 0;
    snprintf(def, sizeof(def), "%s/.config/tapwatch/audit.key", home);
    return tq_audit_key(def, 0);
}

static const struct tq_subcommand *subcommand_named(const char *name)
{
    for (size_t i = 0; i < N_SUBCOMMANDS; i++)
        if (strcmp(subcommands[i]->name, name) == 0)
            return subcommands[i];
    return NULL;
}

static const struct tq_option *own_named(const struct tq_subcommand *sub, const char *name)
{
    for (const struct tq_option *p = sub->own; p != NULL && p->name != NULL; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    for (const struct tq_option *p = sub->own_flags; p != NULL && p->name != NULL; p++)
        if (strcmp(p->name, name) == 0)
            return p;
    return NULL;
}

/* Is opt one of the options that take no value? */
static int is_flag_option(const struct tq_option *opt)
{
    for (size_t i = 0; i < N_SUBCOMMANDS; i++)
        for (const struct tq_option *p = subcommands[i]->own_flags; p != NULL && p->name; p++)
            if (p == opt)
                return 1;
    return 0;
}

/* Is "--NAME" (arg) an option of some subcommand that takes no value? */
static int is_flag_arg(const char *arg)
{
    for (size_t i = 0; i < N_SUBCOMMANDS; i++)
        for (const struct tq_option *p = subcommands[i]->own_flags; p != NULL && p->name; p++)
            if (strcmp(arg + 2, p->name) == 0)
                return 1;
    return 0;
}

/* The own option name: the given subcommand's if it takes it, else that of the first of the
 * table that does (its parser checks the value, so a bad value reads the same whichever
 * subcommand was given), else NULL; *owner is set to its subcommand. */
static const struct tq_option *own_option(const struct tq_subcommand *given, const char *name,
                                          const struct tq_subcommand **owner)
{
    const struct tq_option *opt;

    *owner = given;
    if (given != NULL && (opt = own_named(given, name)) != NULL)
        return opt;
    for (size_t i = 0; i < N_SUBCOMMANDS; i++) {
        *owner = subcommands[i];
        if ((opt = own_named(subcommands[i], name)) != NULL)
            return opt;
    }
    return NULL;
}

/* The subcommand named by the first word that is not an option or an option's value (options
 * may come before it), or NULL; its own options then go to it. */
static const struct tq_subcommand *find_subcommand(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
            strcmp(argv[i], "--all-sensors") == 0)
            continue;
        if (strncmp(argv[i], "--", 2) == 0) {
            if (strchr(argv[i], '=') == NULL && !is_flag_arg(argv[i]))
                i++; /* its value */
            continue;
        }
        return subcommand_named(argv[i]);
    }
    return NULL;
}

/* One option of the global or shared ones (bit 0 = global). Returns 0, or EXIT_USAGE after one
 * line on stderr. */
static int shared_option(struct cmdline *cl, const char *name, unsigned bit, const char *val,
                         const char **since, const char **until, const char **cursor)
{
    struct tq_opts *o = &cl->o;

    switch (bit) {
    case 0:
        if (strcmp(name, "redis") == 0)
            cl->redis_url = val;
        else if (strcmp(name, "redis-password-file") == 0)
            cl->redis.password_file = val;
        else if (strcmp(name, "redis-user") == 0)
            cl->redis.user = val;
        else if (strcmp(name, "redis-tls-ca") == 0)
            cl->redis.tls_ca = val;
        else if (strcmp(name, "redis-tls-cert") == 0)
            cl->redis.tls_cert = val;
        else if (strcmp(name, "redis-tls-key") == 0)
            cl->redis.tls_key = val;
        else if (strcmp(name, "bank") == 0)
            o->bank = val;
        else if (strcmp(name, "audit-key") == 0)
            cl->audit_key = val;
        else
            o->sensor = o->sensor_sel = val;
        break;
    case TQ_OPT_SINCE: *since = val; break;
    case TQ_OPT_UNTIL: *until = val; break;
    case TQ_OPT_CURSOR: *cursor = val; break;
    case TQ_OPT_LIMIT:
        if (tq_parse_uint(val, 1, MAX_LIMIT, &o->limit) < 0)
            return tq_usage_error("bad --limit \"%s\": expected 1 to %llu", val, MAX_LIMIT);
        break;
    case TQ_OPT_FORMAT:
        if (strcmp(val, "table") == 0)
            o->format = TQ_TABLE;
        else if (strcmp(val, "json") == 0)
            o->format = TQ_JSON;
        else if (strcmp(val, "csv") == 0)
            o->format = TQ_CSV;
        else
            return tq_usage_error("unknown format \"%s\": use table, json or csv", val);
        break;
    case TQ_OPT_EQUIPMENT:
        if (!tq_valid_name(val) || strlen(val) >= sizeof(o->equipment))
            return tq_usage_error("bad --equipment \"%s\": expected an equipment name "
                                  "(letters, digits, '_', '.', '-')", val);
        snprintf(o->equipment, sizeof(o->equipment), "%s", val);
        break;
    }
    return 0;
}

/* Parses the whole command line into cl. Returns 0, or an exit status after printing one
 * line on stderr. Options may come before or after the subcommand, as "--opt v" or
 * "--opt=v"; the first error in the order given is the one said. */
static int parse_args(int argc, char **argv, struct cmdline *cl)
{
    static const struct {
        const char *name;
        unsigned bit; /* 0 = global */
    } shared[] = {{"redis", 0},          {"sensor", 0},          {"bank", 0},
                  {"redis-password-file", 0},
                  {"redis-user", 0},     {"redis-tls-ca", 0},    {"redis-tls-cert", 0},
                  {"redis-tls-key", 0},  {"audit-key", 0},   {"since", TQ_OPT_SINCE},
                  {"until", TQ_OPT_UNTIL}, {"limit", TQ_OPT_LIMIT}, {"format", TQ_OPT_FORMAT},
                  {"equipment", TQ_OPT_EQUIPMENT}, {"cursor", TQ_OPT_CURSOR}};
    const struct tq_subcommand *sub = find_subcommand(argc, argv);
    struct tq_opts *o = &cl->o;
    const char *since = NULL, *until = NULL, *cursor = NULL;
    uint64_t now = tw_wall_us();
    char err[256];
    int rc;

    o->sensor = "tapwatch";
    cl->redis_url = getenv("TAPWATCH_REDIS");
    if (cl->redis_url != NULL && cl->redis_url[0] == '\0')
        cl->redis_url = NULL;
    cl->redis.password_file = getenv("TAPWATCH_REDIS_PASSWORD_FILE");
    cl->redis.tls_ca = getenv("TAPWATCH_REDIS_TLS_CA");
    cl->redis.tls_verify_host = 1;
    o->limit = TQ_DEFAULT_LIMIT;
    o->format = TQ_TABLE;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val, *eq;
        const struct tq_subcommand *owner = NULL;
        const struct tq_option *own = NULL;
        char name[32];
        size_t k, nk = sizeof(shared) / sizeof(shared[0]);

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cl->help = 1;
            continue;
        }
        if (strcmp(arg, "--all-sensors") == 0) { /* the one option without a value */
            o->all_sensors = 1;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) {
            if (arg[0] == '-' && arg[1] != '\0')
                return tq_usage_error("unknown option \"%s\"", arg);
            if (cl->subcommand != NULL && sub != NULL && sub->word != NULL && !cl->word_given) {
                cl->word_given = 1;
                if ((rc = sub->word(arg)) != 0)
                    return rc;
                continue;
            }
            if (cl->subcommand != NULL)
                return tq_usage_error("unexpected argument \"%s\"", arg);
            cl->subcommand = arg;
            continue;
        }
        eq = strchr(arg, '=');
        snprintf(name, sizeof(name), "%.*s", (int)(eq != NULL ? eq - arg - 2 : (long)strlen(arg + 2)),
                 arg + 2);
        for (k = 0; k < nk && strcmp(shared[k].name, name) != 0; k++)
            ;
        if (k == nk && (own = own_option(sub, name, &owner)) == NULL)
            return tq_usage_error("unknown option \"%s\"", arg);
        if (own != NULL && is_flag_option(own))
            val = "1";
        else if (eq != NULL)
            val = eq + 1;
        else if (i + 1 < argc)
            val = argv[++i];
        else
            return tq_usage_error("option --%s needs a value", name);
        if (own != NULL) {
            if ((rc = own->parse(val)) != 0)
                return rc;
            cl->foreign_given |= owner != sub;
            continue;
        }
        cl->given |= shared[k].bit;
        if ((rc = shared_option(cl, name, shared[k].bit, val, &since, &until, &cursor)) != 0)
            return rc;
    }
    if (since != NULL) {
        if (tw_parse_time(since, now, &o->since_us, err, sizeof(err)) < 0)
            return tq_usage_error("--since: %s", err);
        o->has_since = 1;
    }
    if (until != NULL) {
        if (tw_parse_time(until, now, &o->until_us, err, sizeof(err)) < 0)
            return tq_usage_error("--until: %s", err);
        o->has_until = 1;
    }
    if (o->has_since && o->has_until && o->since_us > o->until_us)
        return tq_usage_error("--since is after --until");
    if (cursor != NULL) {
        if (tw_parse_time(cursor, now, &o->cursor_us, err, sizeof(err)) < 0)
            return tq_usage_error("--cursor: %s", err);
        o->has_cursor = 1;
        /* every row of the next page began (flows first_seen, statements from) by then */
        if (!o->has_until || o->cursor_us < o->until_us) {
            o->until_us = o->cursor_us;
            o->has_until = 1;
        }
    }
    if (!tq_sensors_several(o) && strchr(o->sensor, '/') == NULL && !tq_valid_name(o->sensor))
        return tq_usage_error("bad --sensor \"%s\": expected letters, digits, '_', '.', '-'",
                              o->sensor);
    return tq_sensors_check(o);
}

int tq_query_main(int argc, char **argv)
{
    struct cmdline cl = {0};
    const struct tq_subcommand *sub;
    struct tw_redis_target *target;
    enum tw_rclient_fail why;
    struct tw_rclient *c;
    char err[512];
    int rc;

    if ((rc = parse_args(argc, argv, &cl)) != 0)
        return rc;
    if (cl.help) {
        /* one write: `--help | grep -q` closing the pipe after the first line must not be a
         * SIGPIPE halfway through (the text is longer than stdio's 4 KiB buffer) */
        static char help_buf[1 << 16];
        setvbuf(stdout, help_buf, _IOFBF, sizeof(help_buf));
        usage(stdout);
        return 0;
    }
    if (cl.subcommand == NULL)
        return tq_usage_error("no subcommand: use flows");
    if ((sub = subcommand_named(cl.subcommand)) == NULL)
        return tq_usage_error("unknown subcommand \"%s\"", cl.subcommand);
    if ((cl.given & ~sub->common) != 0 || cl.foreign_given)
        return tq_usage_error("%s does not take one of the options given", sub->name);
    if (sub->check != NULL && (rc = sub->check(&cl.o)) != 0)
        return rc;
    if (cl.redis_url == NULL)
        return tq_usage_error("no Redis named: use --redis URL");
    if ((rc = load_audit_key(&cl)) != 0)
        return rc;
    /* redis://a:7000,b:7001: a Redis Cluster's nodes; the client follows MOVED and ASK */
    cl.redis.cluster = cl.redis_url != NULL && strchr(cl.redis_url, ',') != NULL;
    if ((target = tw_redis_target_open(cl.redis_url, &cl.redis, err, sizeof(err))) == NULL)
        return tq_usage_error("%s", err);
    tw_redis_url_mask((char *)cl.redis_url); /* argv or the environment: what ps shows */
    /* a peer closing a TLS connection must be an error return, not our death */
    signal(SIGPIPE, SIG_IGN);
    c = tw_rclient_open(target, CONNECT_TIMEOUT_MS, &why, err, sizeof(err));
    if (c == NULL) {
        fprintf(stderr, PROG ": %s\n", err);
        tw_redis_target_close(target);
        return why == TW_RCLIENT_CONFIG ? EXIT_USAGE : EXIT_REDIS;
    }
    /* the question is written to the audit trail before it is answered, or not answered */
    if ((rc = tq_audit_begin(c, sub, &cl.o, argc, argv, cl.redis.user)) == 0) {
        rc = tq_fleet_run(sub, c, &cl.o); /* one sensor, or several merged (merge.c) */
        rc = tq_audit_end(c, rc == EXIT_REDIS && tq_refused() ? EXIT_USAGE : rc, tq_rows);
    }
    tw_rclient_close(c);
    tw_redis_target_close(target);
    return rc == EXIT_REDIS && tq_refused() ? EXIT_USAGE : rc;
}
