/* tapwatch.c - main(): options, configuration, outputs, the pipeline (dataplane/pipeline.h)
 * and DPDK start-up, control loop, summary.
 * The only place that prints errors and ends the process. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>

#include "dataplane/clock.h"
#include "dataplane/iface_name.h"
#include "dataplane/pipeline.h"
#include "dataplane/tsc_rate.h"
#include "control/plane/budget.h"
#include "control/plane/config.h"
#include "control/plane/eal_start.h"
#include "control/plane/keygen_cmd.h"
#include "control/store/evidence_log.h"
#include "control/plane/geoip_enrich.h"
#include "control/plane/control_loop.h"
#include "control/plane/log.h"
#include "control/plane/outputs.h"
#include "control/plane/log.h"
#include "control/plane/policy_hook.h"
#include "control/plane/metrics_collect.h"
#include "control/plane/metrics_http.h"
#include "control/plane/metrics_telemetry.h"
#include "control/plane/reload.h"
#include "control/plane/statements.h"
#include "control/evidence/sign_key.h"
#include "control/record/fleet_keys.h"
#include "control/store/sensor_registry.h"
#include "control/store/inventory.h"
#include "control/plane/inventory_publish.h"
#include "control/store/run_dir.h"
#include "control/store/redis_acl.h"
#include "control/store/redis_check.h"
#include "control/plane/reached_load.h"
#include "control/store/redis_conn.h"

#define TW_VERSION "0.1.0"

static volatile int stop_requested;

/* The GeoIP databases (geoip_enrich.h): opened with the configuration, before anything
 * starts; kept here so that the early returns of main leave nothing unreachable. */
static struct tw_geoip_enrich *geoip;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* SIGHUP asks for a reload (reload.h); the control loop's tick does it between two events. */
static volatile sig_atomic_t reload_requested;

static void on_hup(int sig)
{
    (void)sig;
    reload_requested = 1;
}

/* Writes n digits of v into p (async-signal-safe: no stdio). */
static char *put_digits(char *p, long v, int n)
{
    for (int i = n - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + n;
}

/* A mapped capture file cut short by another program while we read it: the page is gone
 * and the read faults. Say so in one line rather than die of a bare "Bus error". Only
 * async-signal-safe calls here (clock_gettime, write): the line has log.h's stderr shape
 * with the time in UTC, computed by hand (localtime_r and printf are not safe here). */
static void on_sigbus(int sig)
{
    static const char msg[] = " error tapwatch: the capture file shrank while it was being "
                              "read (truncated or rewritten by another program); stopping\n";
    struct timespec ts = {0, 0};
    char line[64 + sizeof(msg)], *p = line;

    (void)sig;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* days since 1970 to a civil date (Howard Hinnant's days_from_civil, inverted) */
    long days = (long)(ts.tv_sec / 86400), secs = (long)(ts.tv_sec % 86400);
    long z = days + 719468, era = z / 146097, doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    long y = yoe + era * 400 + (m <= 2);
    p = put_digits(p, y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, secs / 3600, 2);
    *p++ = ':';
    p = put_digits(p, secs / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, secs % 60, 2);
    *p++ = '.';
    p = put_digits(p, ts.tv_nsec / 1000000, 3);
    memcpy(p, "+00:00", 6);
    p += 6;
    memcpy(p, msg, sizeof(msg) - 1);
    p += sizeof(msg) - 1;
    if (write(STDERR_FILENO, line, (size_t)(p - line)) < 0) {
        /* nothing more can be said */
    }
    _exit(1);
}

/* The control loop's tick: a SIGHUP's reload (reload.h), between two events. */
static void reload_tick(void *ctx)
{
    const struct tw_reload *rl = ctx;
    struct tw_reload_result res;
    char err[512];

    if (!reload_requested)
        return;
    reload_requested = 0;
    if (tw_reload(rl, &res, err, sizeof(err)) != 0) {
        tw_log(TW_LOG_ERR, "%sreload failed, keeping the current configuration and policy: %s",
               res.policy_failed ? "policy " : "", err);
        return;
    }
    for (size_t i = 0; i < res.nrefused; i++)
        tw_log(TW_LOG_WARNING, "reload: %s cannot change while running; restart to apply",
               res.refused[i]);
    tw_log(TW_LOG_NOTICE, "reloaded: %s", res.changed);
    tw_statements_reload(rl->statements, rl->ctl); /* a reload is a statement of its own */
}

struct options {
    const char *config;
    const char *input_kind; /* the option that named the input: a source row (source.h) */
    const char *input;      /* its value */
    const char *redis;
    const char *flows_jsonl;
    const char *policy;       /* --policy, overrides the config's policy: key */
    const char *alerts_jsonl;
    const char *ipfix;        /* --ipfix HOST:PORT, overrides ipfix.collector */
    const char *sensor;
    long workers;
    double replay_speed;
    long loops;
    int check_config;
    int quiet;
    long stats_interval;
    int xdp;        /* --xdp: read --iface through AF_XDP */
    const char *metrics;      /* --metrics HOST:PORT, overrides metrics.listen */
    long metrics_linger;      /* --metrics-linger S: serve the final figures S more seconds */
    int telemetry;            /* --telemetry (or metrics.dpdk_telemetry): DPDK telemetry on */
    const char *sensor_name;  /* the configuration's sensor (names the telemetry file prefix) */
    const char *log;       /* --log: stderr, syslog, journal (else the config's log:) */
    const char *log_level; /* --log-level (else the config's log_level:) */
    const char *run_dir;   /* --run-dir (else the config's run_dir:) */
    const char *print_acl; /* --print-acl SENSOR or BANK/SENSOR */
    const char *print_acl_reader; /* --print-acl-reader BANK */
    const char *print_acl_witness; /* --print-acl-witness SENSOR or BANK/SENSOR */
    const char *explain;   /* --explain ADDR (with --check-config) */
    uint8_t explain_addr[16];
    int explain_v4;
    int eal_argc;   /* EAL arguments after "--" */
    char **eal_argv;
};

/* The whole manual, short: the installed man page (scripts/man/tapwatch.8) says the same
 * at more length. */
static void usage(FILE *out)
{
    fprintf(out,
            "usage: tapwatch [options] (--pcap FILE | --iface NAME | --port N -- EAL-ARGS...)\n"
            "\n"
            "Passive traffic inspection: classifies every flow with nDPI, checks it against the\n"
            "monitoring rules, and writes flow records, summaries and alerts to Redis (and JSON\n"
            "lines). Exactly one input:\n"
            "  --pcap FILE          replay a capture (pcap or pcapng)\n"
            "  --iface NAME         watch a kernel interface (mirror port) through net_af_packet;\n"
            "                       needs CAP_NET_RAW and CAP_NET_ADMIN\n"
            "  --xdp                with --iface: read it through AF_XDP (net_af_xdp) instead;\n"
            "                       needs CAP_BPF too (falls back to af_packet, saying so)\n"
            "  --port N             use DPDK port N (a NIC named by EAL arguments after --)\n"
            "\n"
            "options:\n"
            "  --config FILE        appliance configuration (YAML), see config/tapwatch.yaml;\n"
            "                       installed as /etc/tapwatch/tapwatch.yaml\n"
            "  --check-config       check the configuration and policy, print the memory budget, exit\n"
            "  --explain ADDR       with --check-config: print what the policy says about the\n"
            "                       address (equipment, what it may reach, maintenance, limits,\n"
            "                       rules) instead of the budget\n"
            "  --redis URL          store records in Redis: unix:///path, redis://host:port or\n"
            "                       rediss://host:port (TLS); [user:password@] before the host\n"
            "                       (better: redis.user and redis.password_file)\n"
            "  --sensor NAME        sensor name (Redis key namespace)\n"
            "  --flows-jsonl FILE   also write each finished flow as a JSON line (- = stdout)\n"
            "  --policy FILE        monitoring rules (YAML), see config/policy.yaml; SIGHUP reloads\n"
            "  --alerts-jsonl FILE  also write each alert as a JSON line (- = stdout)\n"
            "  --ipfix HOST:PORT    also export each finished flow to an IPFIX collector (UDP)\n"
            "  --workers N          worker cores\n"
            "  --replay-speed X     1 = recorded pace, 0 = as fast as possible (default)\n"
            "  --loop N             replay the capture N times, each pass later in time\n"
            "  --stats-interval S   seconds between live stats lines (0 = off)\n"
            "  --print-acl SENSOR   print the Redis ACL users for SENSOR (aclfile text) and exit;\n"
            "                       BANK/SENSOR for a sensor whose configuration says bank: BANK\n"
            "  --print-acl-reader BANK  print the ACL user reader-BANK: tapwatch-query on BANK's\n"
            "                       sensors only (aclfile text) and exit\n"
            "  --print-acl-witness SENSOR  print the witness's ACL users (evidence.witness):\n"
            "                       SENSOR may only HSETNX its seals' hashes; and exit\n"
            "  --quiet              no live stats line\n"
            "  --metrics HOST:PORT  serve Prometheus metrics at http://HOST:PORT/metrics\n"
            "  --metrics-linger S   after a replay, serve the final metrics S more seconds\n"
            "  --telemetry          leave DPDK telemetry on, with /tapwatch/counters\n"
            "  --log TARGET         where log lines go: stderr (default; ISO timestamp and level\n"
            "                       on each line), syslog, or journal (both with priorities)\n"
            "  --log-level LEVEL    least severe line written: error, warning, notice, info\n"
            "                       (default; includes the live stats line) or debug\n"
            "  --run-dir DIR        folder for the spool and hold files (config run_dir:);\n"
            "                       a relative one is resolved once, against the working folder\n"
            "  --version, --help\n"
            "Options override the configuration's keys of the same meaning.\n"
            "\n"
            "output: log lines (errors, warnings, notices, the live stats line) as --log says;\n"
            "the end-of-run summary on stdout (on stderr when a JSON-lines output is stdout);\n"
            "alerts also as RFC 5424 syslog messages with alerts_syslog.target (configuration).\n"
            "\n"
            "signals: SIGHUP reloads the policy and the GeoIP databases (a bad one is refused, the\n"
            "old one stays); SIGINT and SIGTERM end the run cleanly: active flows end as \"shutdown\",\n"
            "queued records are written (or kept in run_dir for the next start), the summary prints.\n"
            "\n"
            "exit status: 0 the run completed and every record reached its outputs; 1 the input\n"
            "could not be read, DPDK did not start, or records were lost; 2 a bad command line\n"
            "or configuration.\n"
            "\n"
            "files: /etc/tapwatch/tapwatch.yaml, /etc/tapwatch/policy.yaml (installed),\n"
            "run_dir/redis-spool-SENSOR.dat and redis-alerts-SENSOR.dat (records and alerts\n"
            "waiting for Redis). As a service: systemctl start tapwatch@IFACE (man tapwatch).\n");
}

static int parse_long(const char *opt, const char *text, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) {
        fprintf(stderr, "tapwatch: %s: expected an integer from %ld to %ld, got '%s'\n", opt, lo,
                hi, text);
        return -1;
    }
    *out = v;
    return 0;
}

/* The command-line options over the configuration file's values: at start and at every
 * reload, so that options win over the file both times. */
static void apply_options(struct tw_config *cfg, const void *ctx)
{
    const struct options *o = ctx;

    if (o->redis)
        snprintf(cfg->redis.url, sizeof(cfg->redis.url), "%s", o->redis);
    if (o->sensor)
        snprintf(cfg->sensor, sizeof(cfg->sensor), "%s", o->sensor);
    if (o->ipfix) {
        char err[160]; /* valid: main checked it before the first call */
        (void)tw_config_set(cfg, "ipfix.collector", o->ipfix, err, sizeof(err));
    }
    if (o->workers > 0)
        cfg->workers = (uint32_t)o->workers;
    if (o->stats_interval >= 0)
        cfg->stats_interval_s = (uint32_t)o->stats_interval;
    if (o->metrics)
        snprintf(cfg->metrics.listen, sizeof(cfg->metrics.listen), "%s", o->metrics);
    if (o->policy)
        snprintf(cfg->policy_file, sizeof(cfg->policy_file), "%s", o->policy);
}

/* Returns 0, 1 for --help/--version (exit 0), or -1 for a bad command line (exit 2). */
static int parse_options(int argc, char **argv, struct options *o)
{
    enum { O_PCAP = 256, O_IFACE, O_PORT, O_CONFIG, O_CHECK, O_REDIS, O_SENSOR, O_JSONL,
           O_WORKERS, O_SPEED, O_STATS, O_QUIET, O_VERSION, O_HELP, O_POLICY, O_ALERTS, O_LOOP,
           O_IPFIX, O_XDP, O_METRICS, O_LINGER, O_TELEMETRY, O_LOG, O_LOG_LEVEL, O_RUN_DIR,
           O_PRINT_ACL, O_EXPLAIN, O_PRINT_ACL_READER,
           O_PRINT_ACL_WITNESS };
    static const struct option longopts[] = {
        {"pcap", required_argument, 0, O_PCAP}, {"iface", required_argument, 0, O_IFACE},
        {"port", required_argument, 0, O_PORT}, {"config", required_argument, 0, O_CONFIG},
        {"check-config", no_argument, 0, O_CHECK}, {"redis", required_argument, 0, O_REDIS},
        {"sensor", required_argument, 0, O_SENSOR}, {"flows-jsonl", required_argument, 0, O_JSONL},
        {"workers", required_argument, 0, O_WORKERS}, {"replay-speed", required_argument, 0, O_SPEED},
        {"loop", required_argument, 0, O_LOOP}, {"xdp", no_argument, 0, O_XDP},
        {"stats-interval", required_argument, 0, O_STATS}, {"quiet", no_argument, 0, O_QUIET},
        {"version", no_argument, 0, O_VERSION}, {"help", no_argument, 0, O_HELP},
        {"policy", required_argument, 0, O_POLICY}, {"alerts-jsonl", required_argument, 0, O_ALERTS},
        {"ipfix", required_argument, 0, O_IPFIX},
        {"metrics", required_argument, 0, O_METRICS},
        {"metrics-linger", required_argument, 0, O_LINGER},
        {"telemetry", no_argument, 0, O_TELEMETRY},
        {"log", required_argument, 0, O_LOG}, {"log-level", required_argument, 0, O_LOG_LEVEL},
        {"run-dir", required_argument, 0, O_RUN_DIR},
        {"print-acl", required_argument, 0, O_PRINT_ACL},
        {"print-acl-reader", required_argument, 0, O_PRINT_ACL_READER},
        {"print-acl-witness", required_argument, 0, O_PRINT_ACL_WITNESS},
        {"explain", required_argument, 0, O_EXPLAIN}, {0, 0, 0, 0},
    };
    int c;

    memset(o, 0, sizeof(*o));
    o->workers = -1;
    o->stats_interval = -1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case O_PCAP:
        case O_IFACE:
        case O_PORT: {
            const char *kind = c == O_PCAP ? "pcap" : c == O_IFACE ? "iface" : "port";
            char why[160];
            long port;
            if (o->input_kind) {
                fprintf(stderr, "tapwatch: --%s %s: an input is already given (--%s %s); name "
                                "exactly one input (see --help)\n",
                        kind, optarg, o->input_kind, o->input);
                return -1;
            }
            if (c == O_PORT && parse_long("--port", optarg, 0, 1023, &port))
                return -1;
            if (c == O_IFACE && tw_iface_name_check(optarg, why, sizeof(why)) != 0) {
                fprintf(stderr, "tapwatch: %s\n", why);
                return -1;
            }
            o->input_kind = kind;
            o->input = optarg;
            break;
        }
        case O_CONFIG: o->config = optarg; break;
        case O_CHECK: o->check_config = 1; break;
        case O_REDIS: o->redis = optarg; break;
        case O_SENSOR: o->sensor = optarg; break;
        case O_JSONL: o->flows_jsonl = optarg; break;
        case O_POLICY: o->policy = optarg; break;
        case O_ALERTS: o->alerts_jsonl = optarg; break;
        case O_IPFIX: o->ipfix = optarg; break;
        case O_WORKERS: if (parse_long("--workers", optarg, 1, 64, &o->workers)) return -1; break;
        case O_STATS: if (parse_long("--stats-interval", optarg, 0, 3600, &o->stats_interval)) return -1; break;
        case O_LOOP: if (parse_long("--loop", optarg, 1, 1000000, &o->loops)) return -1; break;
        case O_SPEED:
            errno = 0;
            o->replay_speed = strtod(optarg, &end);
            if (errno || end == optarg || *end || o->replay_speed < 0 || o->replay_speed > 1e6) {
                fprintf(stderr, "tapwatch: --replay-speed: expected a number >= 0, got '%s'\n", optarg);
                return -1;
            }
            break;
        case O_QUIET: o->quiet = 1; break;
        case O_XDP: o->xdp = 1; break;
        case O_METRICS: o->metrics = optarg; break;
        case O_LINGER: if (parse_long("--metrics-linger", optarg, 0, 86400, &o->metrics_linger)) return -1; break;
        case O_TELEMETRY: o->telemetry = 1; break;
        case O_LOG: o->log = optarg; break;
        case O_LOG_LEVEL: o->log_level = optarg; break;
        case O_RUN_DIR: o->run_dir = optarg; break;
        case O_PRINT_ACL: o->print_acl = optarg; break;
        case O_PRINT_ACL_READER: o->print_acl_reader = optarg; break;
        case O_PRINT_ACL_WITNESS: o->print_acl_witness = optarg; break;
        case O_EXPLAIN:
            o->explain = optarg;
            if (inet_pton(AF_INET, optarg, o->explain_addr) == 1) {
                o->explain_v4 = 1;
            } else if (inet_pton(AF_INET6, optarg, o->explain_addr) != 1) {
                fprintf(stderr, "tapwatch: --explain: expected an IPv4 or IPv6 address, got "
                                "'%s'\n", optarg);
                return -1;
            }
            break;
        case O_VERSION: printf("tapwatch %s\n", TW_VERSION); return 1;
        case O_HELP: usage(stdout); return 1;
        case ':':
            fprintf(stderr, "tapwatch: option %s needs a value (see --help)\n", argv[optind - 1]);
            return -1;
        default:
            fprintf(stderr, "tapwatch: unknown option '%s' (see --help)\n", argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc && strcmp(argv[optind - 1], "--") != 0) {
        fprintf(stderr, "tapwatch: unexpected argument '%s' (see --help)\n", argv[optind]);
        return -1;
    }
    if (o->explain && !o->check_config) {
        fprintf(stderr, "tapwatch: --explain needs --check-config and a policy (see --help)\n");
        return -1;
    }
    o->eal_argc = argc - optind;
    o->eal_argv = argv + optind;
    return 0;
}

/* EAL arguments: file mode needs no hugepages, no PCI scan and no shared config, so several
 * tapwatch processes can run at once. Lcore 0 runs the control plane, 1..N the workers,
 * mapped over the CPUs there are. */
static int build_eal_args(const struct options *o, unsigned workers, const char *vdev,
                          char **argv, int max, char *lcores, size_t lcores_len)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int n = 0;
    size_t used = 0;

    if (ncpu < 1)
        ncpu = 1;
    for (unsigned i = 0; i <= workers && used < lcores_len; i++)
        used += (size_t)snprintf(lcores + used, lcores_len - used, "%s%u@%ld", i ? "," : "", i,
                                 (long)i % ncpu);
    argv[n++] = "tapwatch";
    argv[n++] = "--lcores";
    argv[n++] = lcores;
    argv[n++] = "--log-level";
    argv[n++] = "*:error";
    if (o->eal_argc == 0) {
        argv[n++] = "--no-huge";
        argv[n++] = "-m";
        argv[n++] = "512";
        argv[n++] = "--no-pci";
        argv[n++] = "--no-shconf";
        if (!o->telemetry) {
            argv[n++] = "--no-telemetry"; /* its thread and socket cost start-up time */
        } else { /* the socket: <runtime dir>/tapwatch-<sensor>/dpdk_telemetry.v2 */
            static char prefix[96];
            snprintf(prefix, sizeof(prefix), "tapwatch-%s", o->sensor_name);
            argv[n++] = "--file-prefix";
            argv[n++] = prefix;
        }
    }
    if (vdev[0]) { /* what the source needs EAL to create (an af_packet port) */
        argv[n++] = "--vdev";
        argv[n++] = (char *)vdev;
    }
    for (int i = 0; i < o->eal_argc && n < max - 1; i++)
        argv[n++] = o->eal_argv[i];
    argv[n] = NULL;
    return n;
}

/* Opens the input of kind `input`: a capture is checked before DPDK starts, so a bad file
 * fails at once, and the workers' tables are built on a thread while DPDK starts. Returns
 * the pipeline, or NULL (said). */
static struct tw_pipeline *open_pipeline(const struct tw_source_kind *input,
                                         const struct options *o, const struct tw_config *cfg)
{
    struct tw_pipeline_params pp = {
        .kind = input,
        .source = {.arg = o->input, .promiscuous = cfg->promiscuous,
                   .replay_speed = o->replay_speed, .loops = (uint32_t)o->loops},
        .workers = cfg->workers,
        .worker = {
            .capacity = cfg->flow_table.capacity,
            .idle_us = (uint64_t)cfg->flow_table.idle_timeout_s * 1000000u,
            .active_us = (uint64_t)cfg->flow_table.active_timeout_s * 1000000u,
            .close_us = (uint64_t)cfg->flow_table.tcp_close_timeout_s * 1000000u,
            .evict_when_full = cfg->flow_table.evict_when_full,
            .burst = cfg->burst,
            .idle_sleep_us = cfg->idle_sleep_us,
            .dedup_us = cfg->dedup_window_us,
            .reassembly = cfg->reassembly.enabled,
            .reasm = {.datagrams = cfg->reassembly.datagrams,
                      .fragments = cfg->reassembly.fragments,
                      .timeout_us = (uint64_t)cfg->reassembly.timeout_s * 1000000u},
        },
        .mbufs = cfg->mbufs,
        .ring_size = cfg->ring_size,
        .stop = &stop_requested,
    };
    char err[512];
    tw_config_parse_settings(cfg, &pp.worker.parse);
    struct tw_pipeline *pl = tw_pipeline_open(&pp, err, sizeof(err));

    if (!pl)
        tw_log(TW_LOG_ERR, "%s", err);
    return pl;
}

/* Starts DPDK (with what the source needs of it) and waits for the workers' tables.
 * Returns 0; 1 when DPDK runs but the tables could not be built; -1 when DPDK did not
 * start. Each failure is said. */
static int start_dpdk(const struct options *o, const struct tw_config *cfg,
                      struct tw_pipeline *pipeline)
{
    char *eal_argv[96], lcores[512], why[400], err[512];
    int eal_argc = build_eal_args(o, cfg->workers, tw_pipeline_eal_vdev(pipeline), eal_argv, 96,
                                  lcores, sizeof(lcores));
    int eal_rc = tw_eal_start(eal_argc, eal_argv, why, sizeof(why));
    int prepared = tw_pipeline_prepared(pipeline, err, sizeof(err));

    if (eal_rc < 0) {
        char given[300] = "";
        size_t used = 0;
        for (int i = 0; i < o->eal_argc && used < sizeof(given); i++)
            used += (size_t)snprintf(given + used, sizeof(given) - used, " %s", o->eal_argv[i]);
        tw_log(TW_LOG_ERR, "DPDK start-up failed: %s%s%s%s", why,
                o->eal_argc ? " (EAL arguments after --:" : "", given, o->eal_argc ? ")" : "");
        return -1;
    }
    if (prepared != 0) {
        tw_log(TW_LOG_ERR, "%s", err);
        return 1;
    }
    return 0;
}

/* The command line's overrides that go through the configuration's rows (checked there).
 * Returns 0, or -1 with "--option value: key: what was expected" in err. */
static int set_overrides(struct tw_config *cfg, const struct options *o, char *err, size_t errlen)
{
    const struct {
        const char *option, *key, *value;
    } set[] = {
        {"--log", "log", o->log}, {"--log-level", "log_level", o->log_level},
        {"--run-dir", "run_dir", o->run_dir},
    };
    char why[400];

    for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++)
        if (set[i].value && tw_config_set(cfg, set[i].key, set[i].value, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s %s: %s", set[i].option, set[i].value, why);
            return -1;
        }
    return 0;
}

/* Log lines go where the configuration says (its values are checked: they cannot fail). */
static void start_log(const struct tw_config *cfg)
{
    enum tw_log_level level = TW_LOG_INFO;

    tw_log_level_parse(cfg->log_level, &level);
    tw_log_open(cfg->log_target, "tapwatch");
    tw_log_set_level(level);
}

/* A relative run_dir is resolved once, against the working directory at start, and said:
 * the spool of a service started from / must not land in /run. Returns 0, or -1 (said). */
static int resolve_run_dir(struct tw_config *cfg, int say)
{
    char cwd[TW_PATH_LEN], rel[TW_PATH_LEN];

    if (cfg->run_dir[0] == '/')
        return 0;
    if (!getcwd(cwd, sizeof(cwd))) {
        tw_log(TW_LOG_ERR, "run_dir %s: cannot resolve it against the working directory: %s",
               cfg->run_dir, strerror(errno));
        return -1;
    }
    snprintf(rel, sizeof(rel), "%s", cfg->run_dir);
    if ((size_t)snprintf(cfg->run_dir, sizeof(cfg->run_dir), "%s%s%s", cwd,
                         strcmp(cwd, "/") ? "/" : "", rel) >= sizeof(cfg->run_dir)) {
        tw_log(TW_LOG_ERR, "run_dir %s/%s: longer than %d bytes", cwd, rel, TW_PATH_LEN - 1);
        return -1;
    }
    if (say && cfg->redis.url[0]) /* said where it is used: the Redis writers' files */
        tw_log(TW_LOG_NOTICE, "run_dir %s is relative: using %s", rel, cfg->run_dir);
    return 0;
}

/* What a reload puts over the file, as main does at start: the options, then a relative
 * run_dir resolved against the same working directory (quietly: it was said at start). */
static void reload_options(struct tw_config *cfg, const void *ctx)
{
    char err[400];

    (void)set_overrides(cfg, ctx, err, sizeof(err)); /* checked at start */
    apply_options(cfg, ctx);
    (void)resolve_run_dir(cfg, 0);
}

static void print_budget(const struct tw_config *cfg)
{
    struct tw_memory_budget b;
    const double mib = 1 << 20;

    tw_memory_budget(cfg, &b);
    printf("tapwatch: memory budget %.0f MiB: flow tables %.0f, nDPI states %.0f, nDPI modules "
           "%.0f, packet pools %.0f, event rings %.0f, Redis buffer %.0f, base %.0f",
           b.total / mib, b.flow_tables / mib, b.dpi_states / mib, b.ndpi_modules / mib,
           b.packet_pools / mib, b.event_rings / mib, b.redis_buffer / mib, b.base / mib);
    if (b.ipfix_queue)
        printf(", IPFIX queue %.0f", b.ipfix_queue / mib);
    if (b.geoip)
        printf(", GeoIP %.0f", b.geoip / mib);
    putchar('\n');
    if (b.reassembly)
        printf("tapwatch: of which IP reassembly %.0f MiB\n", b.reassembly / mib);
}

/* The sinks' notes (sink.h), a log line each: what an earlier run left is a notice; what is
 * kept for the next start a warning; a loss an error. Returns tw_sinks_notes's value. */
/* signing.previous_key: refused as signing.key is (mode, owner, not a key), and when it is
 * signing.key itself (a rotation to the same key proves nothing); said like it. 0 or -1. */
static int check_previous_key(const struct tw_config *cfg, const struct tw_sign_key *k, int say)
{
    struct tw_sign_key prev;
    char err[512];

    if (!cfg->signing.previous_key[0])
        return 0;
    if (tw_sign_key_load(cfg->signing.previous_key, &prev, err, sizeof(err)) != 0) {
        tw_log(TW_LOG_ERR, "signing.previous_key: %s", err);
        return -1;
    }
    int same = memcmp(prev.pk, k->pk, sizeof(prev.pk)) == 0;
    if (same)
        tw_log(TW_LOG_ERR, "signing.previous_key: it is signing.key's key (fingerprint %s): a "
                           "rotation needs the old key and a new one", k->fpr);
    else if (say)
        printf("tapwatch: previous signing key OK: fingerprint %s (this run rotates from it to "
               "%s)\n", prev.fpr, k->fpr);
    tw_sign_key_wipe(&prev);
    return same ? -1 : 0;
}

static int log_notes(const struct tw_sinks *sinks, int at_end)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    int rc;

    if (!out) /* no memory: the notes still reach stderr */
        return tw_sinks_notes(sinks, at_end, stderr);
    rc = tw_sinks_notes(sinks, at_end, out);
    if (fclose(out) == 0)
        tw_log_lines(!at_end ? TW_LOG_NOTICE : rc ? TW_LOG_ERR : TW_LOG_WARNING, text);
    free(text);
    return rc;
}

int main(int argc, char **argv)
{
    struct options o;
    struct tw_config cfg;
    char err[512];

    tw_tsc_rate_start(); /* EAL's TSC measure starts here, not with a sleep of its own */
    struct timespec started_at;
    clock_gettime(CLOCK_REALTIME, &started_at);
    int rc;

    if (argc > 1 && strcmp(argv[1], "keygen") == 0) /* a command, not a run */
        return tw_keygen_main(argc - 1, argv + 1);
    rc = parse_options(argc, argv, &o);

    if (rc)
        return rc > 0 ? 0 : 2;

    /* a reload asked for while starting (systemd's ExecReload) waits for the loop, rather
     * than end the process as SIGHUP does by default */
    signal(SIGHUP, on_hup);
    tw_config_defaults(&cfg);
    if (o.print_acl_reader) { /* the bank name is checked as the configuration checks it */
        char acl[4096];
        if (tw_config_set(&cfg, "bank", o.print_acl_reader, err, sizeof(err)) != 0 ||
            !cfg.bank[0] || tw_redis_acl_reader_text(acl, sizeof(acl), cfg.bank) < 0) {
            fprintf(stderr, "tapwatch: --print-acl-reader: %s\n",
                    cfg.bank[0] ? err : "expected a bank name");
            return 2;
        }
        fputs(acl, stdout);
        return 0;
    }
    if (o.print_acl || o.print_acl_witness) { /* names checked as the configuration does */
        char acl[4096];
        const char *arg = o.print_acl ? o.print_acl : o.print_acl_witness;
        const char *opt = o.print_acl ? "--print-acl" : "--print-acl-witness";
        const char *slash = strchr(arg, '/');
        char bank[TW_BANK_LEN + 1] = "";
        if (slash != NULL) { /* BANK/SENSOR */
            snprintf(bank, sizeof(bank), "%.*s", (int)(slash - arg), arg);
            if (tw_config_set(&cfg, "bank", bank, err, sizeof(err)) != 0 || !cfg.bank[0]) {
                fprintf(stderr, "tapwatch: %s: %s\n", opt, cfg.bank[0] ? err : "empty bank");
                return 2;
            }
        }
        err[0] = '\0';
        if (tw_config_set(&cfg, "sensor", slash ? slash + 1 : arg, err, sizeof(err)) != 0 ||
            tw_config_validate(&cfg, err, sizeof(err)) != 0 ||
            (o.print_acl ? tw_redis_acl_text(acl, sizeof(acl), cfg.bank, cfg.sensor)
                         : tw_redis_acl_witness_text(acl, sizeof(acl), cfg.bank, cfg.sensor)) < 0) {
            fprintf(stderr, "tapwatch: %s: %s\n", opt, err);
            return 2;
        }
        fputs(acl, stdout);
        return 0;
    }
    /* the command line's log target first, so that the configuration's errors reach it */
    if (set_overrides(&cfg, &o, err, sizeof(err)) != 0) {
        fprintf(stderr, "tapwatch: %s\n", err); /* a usage error, as parse_options's */
        return 2;
    }
    start_log(&cfg);
    if (o.config && tw_config_load(&cfg, o.config, err, sizeof(err)) != 0) {
        tw_log(TW_LOG_ERR, "%s", err);
        return 2;
    }
    set_overrides(&cfg, &o, err, sizeof(err)); /* over the file's values; checked above */
    start_log(&cfg);
    /* --ipfix is checked here, once: apply_options can then set it again without failing */
    if (o.ipfix && tw_config_set(&cfg, "ipfix.collector", o.ipfix, err, sizeof(err)) != 0) {
        fprintf(stderr, "tapwatch: --ipfix: %s\n", err);
        return 2;
    }
    apply_options(&cfg, &o);
    o.telemetry = o.telemetry || cfg.metrics.dpdk_telemetry;
    o.sensor_name = cfg.sensor;
    if (tw_config_validate(&cfg, err, sizeof(err)) != 0) {
        /* a rule between keys: name the file they come from (and the options, if any) */
        if (o.config)
            tw_log(TW_LOG_ERR, "%s%s: %s", o.config,
                    o.redis || o.sensor || o.workers > 0 || o.stats_interval >= 0
                        ? " with the command-line options" : "", err);
        else
            tw_log(TW_LOG_ERR, "%s", err);
        return 2;
    }
    /* the sensor's keys: tw:{<bank>/<sensor>}:... with a bank (fleet_keys.h); checked to fit
     * by tw_config_validate */
    char key_ns[TW_NS_LEN];
    tw_key_namespace(key_ns, sizeof(key_ns), cfg.bank, cfg.sensor);
    if (resolve_run_dir(&cfg, 1) != 0)
        return 2;
    /* the Redis writers keep files in run_dir: nobody else may write there (run_dir.h) */
    if (cfg.redis.url[0] && tw_run_dir_check(cfg.run_dir, err, sizeof(err)) != 0) {
        tw_log(TW_LOG_ERR, "%s", err);
        return 2;
    }
    /* a database that does not open is a configuration error, said before anything starts */
    if (!(geoip = tw_geoip_enrich_new())) {
        tw_log(TW_LOG_ERR, "geoip: out of memory");
        return 1;
    }
    if (cfg.geoip.country_db[0]) {
        struct tw_geoip *db = tw_geoip_open(cfg.geoip.country_db, cfg.geoip.asn_db, err,
                                            sizeof(err));
        if (!db) {
            tw_log(TW_LOG_ERR, "%s", err);
            return 2;
        }
        if (tw_geoip_enrich_set(geoip, db) != 0) {
            tw_log(TW_LOG_ERR, "geoip: out of memory");
            return 1;
        }
        if (o.check_config)
            printf("tapwatch: geoip OK: %s sha256 %s\n",
                   tw_geoip_has_asn(db) ? "country and ASN databases," : "country database,",
                   tw_geoip_sha256(db));
    }
    const char *policy_path = o.policy ? o.policy : cfg.policy_file[0] ? cfg.policy_file : NULL;
    char policy_sha256[65] = ""; /* the sensor's registration names it */
    if (policy_path) {
        struct tw_policy *pol = tw_policy_load(policy_path, err, sizeof(err));
        if (!pol) {
            tw_log(TW_LOG_ERR, "%s", err);
            return 2;
        }
        snprintf(policy_sha256, sizeof(policy_sha256), "%s", tw_policy_sha256(pol));
        if (o.check_config)
            printf("tapwatch: policy OK: %zu equipment, %zu rules\n", tw_policy_equipment_count(pol),
                   tw_policy_rule_count(pol));
        if (o.explain) {
            char geo[96], *where = NULL;
            struct tw_geoip *db = tw_geoip_enrich_db(geoip);
            if (db != NULL) { /* the address's own country, as its flow records would carry */
                char cc[4];
                uint32_t asn;
                tw_geoip_lookup(db, o.explain_addr, o.explain_v4, cc, &asn);
                snprintf(geo, sizeof(geo), "%s, AS %" PRIu32, cc[0] ? cc : "no country", asn);
                where = geo;
            }
            int failed = tw_policy_explain(pol, o.explain_addr, o.explain_v4, where, stdout) != 0 ||
                         fflush(stdout) != 0;
            tw_policy_free(pol);
            if (failed)
                fprintf(stderr, "tapwatch: --explain: cannot write the explanation\n");
            return failed ? 1 : 0;
        }
        tw_policy_free(pol);
    } else if (o.explain) {
        tw_log(TW_LOG_ERR, "--explain needs a policy: --policy FILE or policy: in the "
                           "configuration");
        return 2;
    } else if (o.alerts_jsonl) {
        tw_log(TW_LOG_ERR, "--alerts-jsonl needs a policy: --policy FILE or policy: in the "
                           "configuration");
        return 2;
    }
    /* the signing key is a configuration error when it cannot be used (a file others may
     * read, not ours, not a key), said before anything starts; statements.c loads it again */
    if (cfg.signing.key[0]) {
        struct tw_sign_key k;
        if (tw_sign_key_load(cfg.signing.key, &k, err, sizeof(err)) != 0) {
            tw_log(TW_LOG_ERR, "signing.key: %s", err);
            return 2;
        }
        if (o.check_config)
            printf("tapwatch: signing key OK: fingerprint %s\n", k.fpr);
        if (check_previous_key(&cfg, &k, o.check_config) != 0) {
            tw_sign_key_wipe(&k);
            return 2;
        }
        tw_sign_key_wipe(&k);
    }
    if (o.metrics_linger > 0 && !cfg.metrics.listen[0]) {
        tw_log(TW_LOG_ERR, "--metrics-linger needs --metrics HOST:PORT or metrics.listen");
        return 2;
    }
    if (o.check_config && cfg.metrics.listen[0]) {
        struct sockaddr_storage sa;
        socklen_t salen;
        if (tw_metrics_parse_listen(cfg.metrics.listen, &sa, &salen, err, sizeof(err)) != 0) {
            tw_log(TW_LOG_ERR, "%s", err);
            return 2;
        }
    }
    /* Redis's URL, credentials and TLS files, loaded once (the secret lives in the target
     * only: the configuration's copy of the URL keeps the password cut out) */
    struct tw_redis_target *redis = NULL;
    if (cfg.redis.url[0]) {
        struct tw_redis_options ro = {
            .user = cfg.redis.user, .password_file = cfg.redis.password_file,
            .tls_ca = cfg.redis.tls_ca, .tls_cert = cfg.redis.tls_cert,
            .tls_key = cfg.redis.tls_key, .tls_verify_host = cfg.redis.tls_verify_host,
            .cluster = cfg.redis.cluster, .wait_replicas = cfg.redis.wait_replicas,
            .wait_timeout_ms = cfg.redis.wait_timeout_ms,
        };
        if (!(redis = tw_redis_target_open(cfg.redis.url, &ro, err, sizeof(err)))) {
            tw_log(TW_LOG_ERR, "%s", err);
            explicit_bzero(cfg.redis.url, sizeof(cfg.redis.url));
            return 2;
        }
        explicit_bzero(cfg.redis.url, sizeof(cfg.redis.url));
        snprintf(cfg.redis.url, sizeof(cfg.redis.url), "%s", tw_redis_target_url(redis));
        if (o.redis)
            tw_redis_url_mask((char *)o.redis); /* argv: what ps shows */
    }
    /* signing.key (evidence_log.h): loaded now, so a key others may read, or the wrong
     * store format, stops the start; only its fingerprint is ever printed or logged */
    struct tw_evlog *evidence = NULL;
    if (cfg.signing.key[0]) {
        if (!cfg.redis.url[0] || cfg.redis.format == 1) {
            tw_log(TW_LOG_ERR, "signing.key needs redis.url and redis.format 2 (format 1 "
                               "overwrites a flow's older record versions)");
            tw_redis_target_close(redis);
            return 2;
        }
        struct tw_evlog_params ep = {.sensor = key_ns, .key_path = cfg.signing.key,
                                     .hot_window_s = cfg.redis.hot_window_s,
                                     .retention_s = cfg.redis.retention_s,
                                     .run_dir = o.check_config ? NULL : cfg.run_dir};
        if (!(evidence = tw_evlog_open(&ep, err, sizeof(err)))) {
            tw_log(TW_LOG_ERR, "signing.key: %s", err);
            tw_redis_target_close(redis);
            return 2;
        }
        if (o.check_config)
            printf("tapwatch: signing key OK: fingerprint %s\n", tw_evlog_fingerprint(evidence));
    }
    /* evidence.witness (witness_writer.h): its URL, credentials and CA loaded now, so a bad
     * URL or a password file others may read stops the start; the witness being down does
     * not (its writer waits for it) */
    struct tw_redis_target *witness = NULL;
    if (cfg.evidence.witness[0]) {
        struct tw_redis_options wo = {
            .user = cfg.evidence.witness_user,
            .password_file = cfg.evidence.witness_password_file,
            .tls_ca = cfg.evidence.witness_tls_ca, .tls_verify_host = 1,
            .names = "evidence.witness_",
        };
        witness = tw_redis_target_open(cfg.evidence.witness, &wo, err, sizeof(err));
        explicit_bzero(cfg.evidence.witness, sizeof(cfg.evidence.witness));
        if (witness == NULL) {
            tw_log(TW_LOG_ERR, "evidence.witness: %s", err);
            tw_evlog_close(evidence);
            tw_redis_target_close(redis);
            return 2;
        }
        snprintf(cfg.evidence.witness, sizeof(cfg.evidence.witness), "%s",
                 tw_redis_target_url(witness));
        if (o.check_config)
            printf("tapwatch: witness OK: %s%s%s\n", tw_redis_target_url(witness),
                   witness->user[0] ? " as " : "", witness->user);
    }
    if (o.check_config) {
        tw_redis_target_close(witness);
        tw_redis_target_close(redis);
        tw_evlog_close(evidence);
        printf("tapwatch: configuration OK%s%s\n", o.config ? ": " : " (defaults)",
               o.config ? o.config : "");
        print_budget(&cfg);
        return 0;
    }
    if (!o.input_kind) {
        tw_log(TW_LOG_ERR, "name exactly one input: --pcap FILE, --iface NAME or --port N "
                           "(see --help)");
        tw_redis_target_close(redis);
        tw_redis_target_close(witness);
        return 2;
    }
    /* Redis refusing us (AUTH, ACL, a replica, a certificate) is a configuration error, said
     * now; Redis not answering is an outage the writers wait through */
    if (redis) {
        struct tw_redis_check chk;
        /* OpenSSL writes with write(): a server that hung up must be an error, not SIGPIPE */
        signal(SIGPIPE, SIG_IGN);
        if (tw_redis_check_start(redis, key_ns, 2000, &chk, err, sizeof(err)) != 0) {
            tw_log(TW_LOG_ERR, "%s", err);
            tw_redis_target_close(redis);
            tw_redis_target_close(witness);
            return 2;
        }
        if (chk.note[0] && chk.reachable && cfg.redis.require_safe) {
            tw_log(TW_LOG_ERR, "%s; redis.require_safe is true: not starting", chk.note);
            tw_redis_target_close(redis);
            tw_redis_target_close(witness);
            return 2;
        }
        if (chk.note[0] && chk.reachable) /* (not answering: the live line says DOWN) */
            tw_log(TW_LOG_WARNING, "%s", chk.note);
    }

    /* the input is chosen here, once (dataplane/sources.c lists the kinds) */
    int xdp = o.xdp || strcmp(cfg.source, "af_xdp") == 0;
    if (o.xdp && strcmp(o.input_kind, "iface") != 0) {
        fprintf(stderr, "tapwatch: --xdp applies to --iface only\n");
        return 2;
    }
    const struct tw_source_kind *input =
        tw_source_kind_find(xdp && strcmp(o.input_kind, "iface") == 0 ? "iface-xdp" : o.input_kind);
    if (!input->replays && (o.loops > 0 || o.replay_speed > 0)) {
        tw_log(TW_LOG_ERR, "--loop and --replay-speed apply to --pcap only");
        return 2;
    }
    /* metrics: a bad address or a port in use is a configuration error, said before anything
     * starts; the endpoint answers 503 until the control loop publishes its first figures */
    struct tw_metrics_board *board = NULL;
    struct tw_metrics_http *http = NULL;
    if (cfg.metrics.listen[0] || o.telemetry) {
        if (!(board = tw_metrics_board_new())) {
            tw_log(TW_LOG_ERR, "metrics: out of memory");
            return 1;
        }
    }
    if (cfg.metrics.listen[0]) {
        if (!(http = tw_metrics_http_start(cfg.metrics.listen, board, err, sizeof(err)))) {
            tw_log(TW_LOG_ERR, "%s", err);
            tw_metrics_board_free(board);
            return 2;
        }
        tw_log(TW_LOG_NOTICE, "metrics at %s", tw_metrics_http_url(http));
    }
    if (o.telemetry && tw_metrics_telemetry_register(board) != 0)
        tw_log(TW_LOG_WARNING, "DPDK telemetry refused the command %s", TW_TELEMETRY_CMD);

    struct tw_pipeline *pipeline = open_pipeline(input, &o, &cfg);
    if (!pipeline) {
        tw_metrics_http_stop(http);
        tw_redis_target_close(redis);
        tw_redis_target_close(witness);
        return 1;
    }

    /* the outputs (outputs.h): a file that cannot be made fails before DPDK starts */
    struct tw_sinks sinks;
    struct tw_sensor_info registry;
    int registered = tw_sensor_info_init(&registry, cfg.bank, cfg.sensor, TW_VERSION,
                                         tw_geoip_sha256(tw_geoip_enrich_db(geoip))) == 0;
    snprintf(registry.policy_sha256, sizeof(registry.policy_sha256), "%s", policy_sha256);
    if (evidence) /* the registry names the key that signs this sensor's evidence */
        snprintf(registry.pubkey, sizeof(registry.pubkey), "%s", tw_evlog_fingerprint(evidence));
    /* the equipment inventory in force, published with the counters (filled once the policy
     * is loaded below, changed by reloads) */
    struct tw_inventory inventory = {0};
    struct tw_outputs_params op = {.cfg = &cfg, .redis = redis, .flows_jsonl = o.flows_jsonl,
                                   .alerts_jsonl = o.alerts_jsonl, .policy = policy_path != NULL,
                                   .key_namespace = key_ns,
                                   .registry = registered ? &registry : NULL,
                                   .inventory = &inventory,
                                   .evidence = evidence, .witness = witness};
    tw_sinks_init(&sinks, key_ns);
    if (tw_outputs_open(&sinks, &op, err, sizeof(err)) != 0) {
        tw_log(TW_LOG_ERR, "%s", err);
        tw_pipeline_close(pipeline);
        tw_metrics_http_stop(http);
        tw_redis_target_close(redis);
        tw_redis_target_close(witness);
        return 1;
    }
    FILE *report = tw_outputs_use_stdout(&sinks) ? stderr : stdout;

    int started_dpdk = start_dpdk(&o, &cfg, pipeline);
    if (started_dpdk < 0) {
        tw_sinks_close(&sinks);
        tw_pipeline_close(pipeline);
        tw_metrics_http_stop(http);
        tw_redis_target_close(redis);
        tw_redis_target_close(witness);
        return 1;
    }
    rc = 1;
    signal(SIGINT, on_signal);
    /* a peer closing a socket (Redis killed mid-write) is an error return, not our death */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    if (tw_pipeline_maps_file(pipeline))
        signal(SIGBUS, on_sigbus);

    struct tw_policy_hook *policy = NULL;
    struct tw_statements *ctl_statements = NULL;
    unsigned started = 0;

    if (started_dpdk != 0) /* the tables could not be built (said) */
        goto out;
    if (tw_pipeline_start(pipeline, err, sizeof(err)) != 0) {
        tw_log(TW_LOG_ERR, "%s", err);
        goto out;
    }
    if (tw_pipeline_source_note(pipeline)[0]) /* a fall-back the operator must know of */
        tw_log(TW_LOG_WARNING, "%s", tw_pipeline_source_note(pipeline));

    if (!cfg.redis.url[0])
        tw_log(TW_LOG_NOTICE, "no Redis configured: flows go to --flows-jsonl and the "
                              "summary only");
    log_notes(&sinks, 0); /* an earlier run's records, written first */
    if (evidence)
        tw_log(TW_LOG_NOTICE, "signing evidence: key fingerprint %s, run %s",
               tw_evlog_fingerprint(evidence), tw_evlog_run(evidence));

    if (policy_path) {
        struct tw_policy_hook_params hp = {
            .policy_path = policy_path,
            .flows_max = cfg.flow_table.capacity * cfg.workers, .sinks = &sinks,
            .report_lag_us = ((uint64_t)cfg.flow_table.active_timeout_s +
                              cfg.flow_table.idle_timeout_s) * 1000000u,
        };
        if (!(policy = tw_policy_hook_open(&hp, err, sizeof(err)))) {
            tw_log(TW_LOG_ERR, "%s", err);
            goto out;
        }
        /* alerts name the GeoIP databases that gave their countries */
        tw_policy_hook_set_geoip_sha256(policy, tw_geoip_sha256(tw_geoip_enrich_db(geoip)));
        /* cross_border's first_contact memory survives restarts in Redis (reached_load.h) */
        if (redis && tw_reached_load(policy, redis, key_ns, 2000, err, sizeof(err)) < 0)
            tw_log(TW_LOG_WARNING, "cross_border: %s; what equipment reached before this start "
                                   "is not known (a first contact may alert again)", err);
    }
    if (tw_inventory_publish(&inventory, policy ? tw_policy_hook_policy(policy) : NULL,
                             tw_wall_us()) != 0)
        tw_log(TW_LOG_WARNING, "equipment inventory: out of memory; not published");
    struct tw_control ctl = {
        .pipeline = pipeline, .sinks = &sinks,
        .stats_interval_s = cfg.stats_interval_s, .quiet = o.quiet,
        .hook = policy ? tw_policy_hook_event : NULL, .hook_ctx = policy, .geoip = geoip,
        .wait_for_interface = cfg.wait_for_interface,
    };
    /* SIGHUP: the configuration and the policy again (reload.h) */
    struct tw_reload reload = {
        .config_path = o.config, .options = reload_options, .options_ctx = &o, .live = &cfg,
        .ctl = &ctl, .policy = policy, .sinks = &sinks, .geoip = geoip,
        .inventory = &inventory,
    };
    ctl.tick = reload_tick;
    ctl.tick_ctx = &reload;
    struct tw_memory_budget budget;
    tw_memory_budget(&cfg, &budget);
    ctl.memory_budget = budget.total;
    struct tw_metrics_feed feed = {
        .board = board, .policy = policy, .version = TW_VERSION,
        .start_time_s = (double)started_at.tv_sec + started_at.tv_nsec / 1e9,
    };
    ctl.metrics = board ? &feed : NULL;
    /* completeness statements (statements.h), into Redis through their own writer */
    struct tw_statements_params stp = {
        .sensor = key_ns, .interval_s = cfg.evidence.statement_interval_s,
        .config_path = o.config, .key_path = cfg.signing.key,
        .previous_key_path = cfg.signing.previous_key, .policy = policy, .geoip = geoip,
        .sinks = &sinks,
    };
    if (evidence) { /* statements are items of the signed chain (evidence_log.h) */
        stp.on_seq = tw_evlog_statement_seq;
        stp.on_statement = tw_evlog_statement_append;
        stp.hook_ctx = evidence;
    }
    if (!(ctl.statements = tw_statements_open(&stp, err, sizeof(err)))) {
        tw_log(TW_LOG_ERR, "%s", err);
        goto out;
    }
    reload.statements = ctl_statements = ctl.statements;
    if (tw_statements_signing(ctl_statements)[0])
        tw_log(TW_LOG_INFO, "statements signed with key %s", tw_statements_signing(ctl_statements));
    if (policy) { /* the silence rules (silence.h): holes are looked for from the first packet */
        ctl.clock = tw_policy_hook_clock;
        ctl.clock_ctx = policy;
        ctl.clock_start_us = tw_wall_us();
        tw_pipeline_set_gap_threshold(pipeline, tw_policy_hook_gap_threshold_us(policy));
    }
    tw_statements_start(ctl.statements, &ctl); /* before the first packet: its counters are 0 */
    started = tw_pipeline_launch(pipeline);
    if (started < cfg.workers)
        tw_log(TW_LOG_ERR, "cannot start worker %u", started);
    tw_control_run(&ctl, &stop_requested, cfg.redis.drain_ms);
    tw_pipeline_wait(pipeline);
    const char *end_note = tw_pipeline_end_note(pipeline);
    tw_control_summary(&ctl, report, tw_pipeline_input_name(pipeline), end_note);
    tw_geoip_enrich_summary(geoip, report);
    if (policy)
        tw_policy_hook_summary(policy, report);
    if (end_note[0])
        tw_log(TW_LOG_WARNING, "%s: %s", o.input, end_note);
    rc = started == cfg.workers && !ctl.input_gone ? 0 : 1;
    if (log_notes(&sinks, 1) != 0) /* records kept for the next start, or lost */
        rc = 1;
    if (http && o.metrics_linger > 0 && !stop_requested) {
        /* a replay's end is over before a scraper comes by: keep its final figures there */
        fflush(report);
        tw_log(TW_LOG_NOTICE, "run over: serving the final metrics for %ld s more (SIGINT or "
                              "SIGTERM ends it)", o.metrics_linger);
        for (long i = 0; i < o.metrics_linger * 10 && !stop_requested; i++)
            usleep(100000);
    }

out:
    tw_statements_close(ctl_statements);
    tw_metrics_http_stop(http);
    tw_policy_hook_close(policy);
    tw_geoip_enrich_free(geoip);
    tw_sinks_close(&sinks);
    tw_inventory_clear(&inventory); /* after the writer that reads it */
    tw_evlog_close(evidence); /* after the writers that feed it; wipes the key */
    tw_redis_target_close(redis); /* after the writers that borrow it */
    tw_redis_target_close(witness);
    tw_pipeline_close(pipeline);
    rte_eal_cleanup();
    if (!o.telemetry) /* DPDK's telemetry thread may still read it: left to the exit */
        tw_metrics_board_free(board);
    return rc;
}
