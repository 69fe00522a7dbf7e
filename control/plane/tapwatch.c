/* tapwatch.c - main(): options, configuration, outputs, the pipeline (dataplane/pipeline.h)
 * and DPDK start-up, control loop, summary.
 * The only place that prints errors and ends the process. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>

#include "dataplane/clock.h"
#include "dataplane/pipeline.h"
#include "dataplane/tsc_rate.h"
#include "control/plane/budget.h"
#include "control/plane/config.h"
#include "control/plane/eal_start.h"
#include "control/plane/control_loop.h"
#include "control/plane/outputs.h"
#include "control/plane/policy_hook.h"

#define TW_VERSION "0.1.0"

static volatile int stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* SIGHUP asks for a policy reload; the control loop's tick does it between two events. */
static volatile sig_atomic_t reload_requested;

static void on_hup(int sig)
{
    (void)sig;
    reload_requested = 1;
}

/* A mapped capture file cut short by another program while we read it: the page is gone
 * and the read faults. Say so in one line rather than die of a bare "Bus error". */
static void on_sigbus(int sig)
{
    static const char msg[] = "tapwatch: the capture file shrank while it was being read "
                              "(truncated or rewritten by another program); stopping\n";
    (void)sig;
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
        /* nothing more can be said */
    }
    _exit(1);
}

static void policy_tick(void *ctx)
{
    struct tw_policy_hook *h = ctx;
    char err[512];

    if (reload_requested) {
        reload_requested = 0;
        if (tw_policy_hook_reload(h, err, sizeof(err)) != 0)
            fprintf(stderr, "tapwatch: policy reload failed, keeping the current policy: %s\n", err);
        else
            fprintf(stderr, "tapwatch: policy reloaded: %zu equipment, %zu rules\n",
                    tw_policy_equipment_count(tw_policy_hook_policy(h)),
                    tw_policy_rule_count(tw_policy_hook_policy(h)));
    }
}

struct options {
    const char *config;
    const char *input_kind; /* the option that named the input: a source row (source.h) */
    const char *input;      /* its value */
    const char *redis;
    const char *flows_jsonl;
    const char *policy;       /* --policy, overrides the config's policy: key */
    const char *alerts_jsonl;
    const char *sensor;
    long workers;
    double replay_speed;
    long loops;
    int check_config;
    int quiet;
    long stats_interval;
    int eal_argc;   /* EAL arguments after "--" */
    char **eal_argv;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tapwatch [options] (--pcap FILE | --iface NAME | --port N -- EAL-ARGS...)\n"
            "  --pcap FILE          replay a capture (pcap or pcapng)\n"
            "  --iface NAME         watch a kernel interface (mirror port) through net_af_packet\n"
            "  --port N             use DPDK port N (a NIC named by EAL arguments after --)\n"
            "  --config FILE        appliance configuration (YAML), see config/tapwatch.yaml\n"
            "  --check-config       validate the configuration and exit\n"
            "  --redis URL          store records in Redis: unix:///path or redis://host:port\n"
            "  --sensor NAME        sensor name (Redis key namespace)\n"
            "  --flows-jsonl FILE   also write each finished flow as a JSON line (- = stdout)\n"
            "  --policy FILE        monitoring rules (YAML), see config/policy.yaml; SIGHUP reloads\n"
            "  --alerts-jsonl FILE  also write each alert as a JSON line (- = stdout)\n"
            "  --workers N          worker cores\n"
            "  --replay-speed X     1 = recorded pace, 0 = as fast as possible (default)\n"
            "  --loop N             replay the capture N times, each pass later in time\n"
            "  --stats-interval S   seconds between live stats lines on stderr (0 = off)\n"
            "  --quiet              no live stats line\n"
            "  --version, --help\n");
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

/* Returns 0, 1 for --help/--version (exit 0), or -1 for a bad command line (exit 2). */
static int parse_options(int argc, char **argv, struct options *o)
{
    enum { O_PCAP = 256, O_IFACE, O_PORT, O_CONFIG, O_CHECK, O_REDIS, O_SENSOR, O_JSONL,
           O_WORKERS, O_SPEED, O_STATS, O_QUIET, O_VERSION, O_HELP, O_POLICY, O_ALERTS, O_LOOP };
    static const struct option longopts[] = {
        {"pcap", required_argument, 0, O_PCAP}, {"iface", required_argument, 0, O_IFACE},
        {"port", required_argument, 0, O_PORT}, {"config", required_argument, 0, O_CONFIG},
        {"check-config", no_argument, 0, O_CHECK}, {"redis", required_argument, 0, O_REDIS},
        {"sensor", required_argument, 0, O_SENSOR}, {"flows-jsonl", required_argument, 0, O_JSONL},
        {"workers", required_argument, 0, O_WORKERS}, {"replay-speed", required_argument, 0, O_SPEED},
        {"loop", required_argument, 0, O_LOOP},
        {"stats-interval", required_argument, 0, O_STATS}, {"quiet", no_argument, 0, O_QUIET},
        {"version", no_argument, 0, O_VERSION}, {"help", no_argument, 0, O_HELP},
        {"policy", required_argument, 0, O_POLICY}, {"alerts-jsonl", required_argument, 0, O_ALERTS}, {0, 0, 0, 0},
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
            long port;
            if (o->input_kind) {
                fprintf(stderr, "tapwatch: --%s %s: an input is already given (--%s %s); name "
                                "exactly one input (see --help)\n",
                        kind, optarg, o->input_kind, o->input);
                return -1;
            }
            if (c == O_PORT && parse_long("--port", optarg, 0, 1023, &port))
                return -1;
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
        argv[n++] = "--no-telemetry"; /* its thread and socket cost start-up time, unused here */
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
        },
        .mbufs = cfg->mbufs,
        .ring_size = cfg->ring_size,
        .stop = &stop_requested,
    };
    char err[512];
    tw_config_parse_settings(cfg, &pp.worker.parse);
    struct tw_pipeline *pl = tw_pipeline_open(&pp, err, sizeof(err));

    if (!pl)
        fprintf(stderr, "tapwatch: %s\n", err);
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
        fprintf(stderr, "tapwatch: DPDK start-up failed: %s%s%s%s\n", why,
                o->eal_argc ? " (EAL arguments after --:" : "", given, o->eal_argc ? ")" : "");
        return -1;
    }
    if (prepared != 0) {
        fprintf(stderr, "tapwatch: %s\n", err);
        return 1;
    }
    return 0;
}

static void print_budget(const struct tw_config *cfg)
{
    struct tw_memory_budget b;
    const double mib = 1 << 20;

    tw_memory_budget(cfg, &b);
    printf("tapwatch: memory budget %.0f MiB: flow tables %.0f, nDPI states %.0f, nDPI modules "
           "%.0f, packet pools %.0f, event rings %.0f, Redis buffer %.0f, base %.0f\n",
           b.total / mib, b.flow_tables / mib, b.dpi_states / mib, b.ndpi_modules / mib,
           b.packet_pools / mib, b.event_rings / mib, b.redis_buffer / mib, b.base / mib);
}

int main(int argc, char **argv)
{
    struct options o;
    struct tw_config cfg;
    char err[512];

    tw_tsc_rate_start(); /* EAL's TSC measure starts here, not with a sleep of its own */
    int rc = parse_options(argc, argv, &o);

    if (rc)
        return rc > 0 ? 0 : 2;

    tw_config_defaults(&cfg);
    if (o.config && tw_config_load(&cfg, o.config, err, sizeof(err)) != 0) {
        fprintf(stderr, "tapwatch: %s\n", err);
        return 2;
    }
    if (o.redis)
        snprintf(cfg.redis.url, sizeof(cfg.redis.url), "%s", o.redis);
    if (o.sensor)
        snprintf(cfg.sensor, sizeof(cfg.sensor), "%s", o.sensor);
    if (o.workers > 0)
        cfg.workers = (uint32_t)o.workers;
    if (o.stats_interval >= 0)
        cfg.stats_interval_s = (uint32_t)o.stats_interval;
    if (tw_config_validate(&cfg, err, sizeof(err)) != 0) {
        /* a rule between keys: name the file they come from (and the options, if any) */
        if (o.config)
            fprintf(stderr, "tapwatch: %s%s: %s\n", o.config,
                    o.redis || o.sensor || o.workers > 0 || o.stats_interval >= 0
                        ? " with the command-line options" : "", err);
        else
            fprintf(stderr, "tapwatch: %s\n", err);
        return 2;
    }
    const char *policy_path = o.policy ? o.policy : cfg.policy_file[0] ? cfg.policy_file : NULL;
    if (policy_path) {
        struct tw_policy *pol = tw_policy_load(policy_path, err, sizeof(err));
        if (!pol) {
            fprintf(stderr, "tapwatch: %s\n", err);
            return 2;
        }
        if (o.check_config)
            printf("tapwatch: policy OK: %zu equipment, %zu rules\n", tw_policy_equipment_count(pol),
                   tw_policy_rule_count(pol));
        tw_policy_free(pol);
    } else if (o.alerts_jsonl) {
        fprintf(stderr, "tapwatch: --alerts-jsonl needs a policy: --policy FILE or policy: in the "
                        "configuration\n");
        return 2;
    }
    if (o.check_config) {
        printf("tapwatch: configuration OK%s%s\n", o.config ? ": " : " (defaults)",
               o.config ? o.config : "");
        print_budget(&cfg);
        return 0;
    }
    if (!o.input_kind) {
        fprintf(stderr, "tapwatch: name exactly one input: --pcap FILE, --iface NAME or --port N "
                        "(see --help)\n");
        return 2;
    }

    /* the input is chosen here, once (dataplane/sources.c lists the kinds) */
    const struct tw_source_kind *input = tw_source_kind_find(o.input_kind);
    if (!input->replays && (o.loops > 0 || o.replay_speed > 0)) {
        fprintf(stderr, "tapwatch: --loop and --replay-speed apply to --pcap only\n");
        return 2;
    }
    struct tw_pipeline *pipeline = open_pipeline(input, &o, &cfg);
    if (!pipeline)
        return 1;

    /* the outputs (outputs.h): a file that cannot be made fails before DPDK starts */
    struct tw_sinks sinks;
    struct tw_outputs_params op = {.cfg = &cfg, .flows_jsonl = o.flows_jsonl,
                                   .alerts_jsonl = o.alerts_jsonl, .policy = policy_path != NULL};
    tw_sinks_init(&sinks, cfg.sensor);
    if (tw_outputs_open(&sinks, &op, err, sizeof(err)) != 0) {
        fprintf(stderr, "tapwatch: %s\n", err);
        tw_pipeline_close(pipeline);
        return 1;
    }
    FILE *report = tw_outputs_use_stdout(&sinks) ? stderr : stdout;

    int started_dpdk = start_dpdk(&o, &cfg, pipeline);
    if (started_dpdk < 0) {
        tw_sinks_close(&sinks);
        tw_pipeline_close(pipeline);
        return 1;
    }
    rc = 1;
    signal(SIGINT, on_signal);
    /* a peer closing a socket (Redis killed mid-write) is an error return, not our death */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_hup);
    if (tw_pipeline_maps_file(pipeline))
        signal(SIGBUS, on_sigbus);

    struct tw_policy_hook *policy = NULL;
    unsigned started = 0;

    if (started_dpdk != 0) /* the tables could not be built (said) */
        goto out;
    if (tw_pipeline_start(pipeline, err, sizeof(err)) != 0) {
        fprintf(stderr, "tapwatch: %s\n", err);
        goto out;
    }

    if (!cfg.redis.url[0])
        fprintf(stderr, "tapwatch: no Redis configured: flows go to --flows-jsonl and the "
                        "summary only\n");
    tw_sinks_notes(&sinks, 0, stderr); /* an earlier run's records, written first */

    if (policy_path) {
        struct tw_policy_hook_params hp = {
            .policy_path = policy_path,
            .flows_max = cfg.flow_table.capacity * cfg.workers, .sinks = &sinks,
        };
        if (!(policy = tw_policy_hook_open(&hp, err, sizeof(err)))) {
            fprintf(stderr, "tapwatch: %s\n", err);
            goto out;
        }
    }
    struct tw_control ctl = {
        .pipeline = pipeline, .sinks = &sinks,
        .stats_interval_s = cfg.stats_interval_s, .quiet = o.quiet,
        .hook = policy ? tw_policy_hook_event : NULL, .hook_ctx = policy,
        .tick = policy ? policy_tick : NULL, .tick_ctx = policy,
    };
    struct tw_memory_budget budget;
    tw_memory_budget(&cfg, &budget);
    ctl.memory_budget = budget.total;
    started = tw_pipeline_launch(pipeline);
    if (started < cfg.workers)
        fprintf(stderr, "tapwatch: cannot start worker %u\n", started);
    tw_control_run(&ctl, &stop_requested, cfg.redis.drain_ms);
    tw_pipeline_wait(pipeline);
    const char *end_note = tw_pipeline_end_note(pipeline);
    tw_control_summary(&ctl, report, tw_pipeline_input_name(pipeline), end_note);
    if (policy)
        tw_policy_hook_summary(policy, report);
    if (end_note[0])
        fprintf(stderr, "tapwatch: %s: %s\n", o.input, end_note);
    rc = started == cfg.workers ? 0 : 1;
    if (tw_sinks_notes(&sinks, 1, stderr) != 0) /* records kept for the next start, or lost */
        rc = 1;

out:
    tw_policy_hook_close(policy);
    tw_sinks_close(&sinks);
    tw_pipeline_close(pipeline);
    rte_eal_cleanup();
    return rc;
}
