/* config.h - the appliance configuration (YAML), validated at load.
 *
 * Every key is one row of a table in config.c: name, type, bounds, default. Errors name
 * the file and line and what was expected, e.g.
 *   "config/tapwatch.yaml:7: flow_table.capacity: expected an integer from 1024 to 67108864".
 */
#ifndef TW_CONFIG_H
#define TW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TW_PATH_LEN 256
#define TW_SENSOR_LEN 64
#define TW_BANK_LEN 32

struct tw_config {
    char sensor[TW_SENSOR_LEN];    /* sensor: name, [A-Za-z0-9_.-]+, default "tapwatch" */
    char bank[TW_BANK_LEN];        /* bank: the bank the sensor belongs to, [A-Za-z0-9_.-]*,
                                      default "" = none; keys then live under
                                      tw:{<bank>/<sensor>} (control/record/fleet_keys.h) */
    uint32_t workers;              /* workers: worker lcores, 1..64, default 1 */
    uint32_t ring_size;            /* ring_size: events per worker ring, power of 2, default 16384 */
    uint32_t burst;                /* burst: packets per receive burst, 1..512, default 32 */
    uint32_t mbufs;                /* mbufs: packet buffers in the pool, default 8191 */
    uint32_t stats_interval_s;     /* stats_interval: seconds between live stats lines, 0 = off, default 1 */
    char run_dir[TW_PATH_LEN];     /* run_dir: folder for sockets and spool files, default "run" */
    char policy_file[TW_PATH_LEN]; /* policy: path of the policy file, "" = none */
    bool promiscuous;              /* promiscuous: put NIC ports in promiscuous mode, default true */
    char source[16];               /* source: how --iface reads: "af_packet" (default) or "af_xdp" */
    uint32_t idle_sleep_us;        /* idle_sleep: longest nap of a worker with nothing to read, 0 =
                                      spin, default 1 ms */
    bool wait_for_interface;       /* wait_for_interface: a removed --iface interface is waited
                                      for instead of ending the run, default false */
    uint32_t dedup_window_us;      /* dedup_window: drop a packet's SPAN copy seen within it, 0 = off */
    struct {
        uint32_t capacity;             /* flow_table.capacity: flows per worker, default 262144 */
        uint32_t idle_timeout_s;       /* flow_table.idle_timeout: default 120 s */
        uint32_t active_timeout_s;     /* flow_table.active_timeout: 0 = off, default 300 s */
        uint32_t tcp_close_timeout_s;  /* flow_table.tcp_close_timeout: linger after FIN/RST, default 10 s */
        bool evict_when_full;          /* flow_table.evict_when_full: end the oldest flow for a new one, default true */
    } flow_table;
    struct {
        bool enabled;              /* reassembly.enabled: reassemble IP fragments, default true */
        uint32_t datagrams;        /* reassembly.datagrams: datagrams each worker reassembles at once
                                      (64 KiB each), default 256 */
        uint32_t fragments;        /* reassembly.fragments: fragments of one datagram, default 64 */
        uint32_t timeout_s;        /* reassembly.timeout: an incomplete datagram is dropped, default 30 s */
    } reassembly;
    struct {
        char url[TW_PATH_LEN];     /* redis.url: unix:///path, redis://host:port or rediss://, "" = no store */
        uint32_t hot_window_s;     /* redis.hot_window: flow records kept, default 7 d */
        uint32_t retention_s;      /* redis.retention: summaries and alerts kept, default 180 d */
        uint32_t batch;            /* redis.batch: records per pipelined batch, default 512 */
        uint32_t format;           /* redis.format: flow record layout, 1 or 2 (compact, default) */
        uint32_t quiet_posts;      /* redis.quiet_hour_postings: an hour's first postings in one slice, default 16384 */
        uint32_t buffer_records;   /* redis.buffer: records waiting while Redis is slow, default 262144 */
        uint32_t flush_ms;         /* redis.flush_interval: ms before a partial batch is sent, default 100 */
        uint32_t alert_buffer;     /* redis.alert_buffer: alerts and summary updates waiting, default 65536 */
        uint32_t spool_file_records; /* redis.spool_file_records: records the spool file in run_dir holds
                                        beyond the buffer, 0 = memory only, default 1000000 */
        uint32_t drain_ms;         /* redis.drain_timeout: at the end of a run, how long each Redis
                                      writer may wait for Redis before what is left goes to its
                                      file for the next start, default 10 s */
        char user[128];            /* redis.user: ACL user, "" = the URL's or none */
        char password_file[TW_PATH_LEN]; /* redis.password_file: owner-only file, "" = none */
        char tls_ca[TW_PATH_LEN];  /* redis.tls_ca: CA certificates for rediss://, "" = system's */
        char tls_cert[TW_PATH_LEN]; /* redis.tls_cert: client certificate, "" = none */
        char tls_key[TW_PATH_LEN]; /* redis.tls_key: its key (owner-only), "" = none */
        bool tls_verify_host;      /* redis.tls_verify_host: certificate must name the host, default true */
        bool require_safe;         /* redis.require_safe: refuse a Redis that can lose what it
                                      acknowledged (evicts, or no persistence), default false */
        bool cluster;              /* redis.cluster: url names seed nodes of a Redis Cluster */
        uint32_t wait_replicas;    /* redis.wait_replicas: WAIT for this many replicas per batch */
        uint32_t wait_timeout_ms;  /* redis.wait_timeout: how long one WAIT waits, default 1s */
    } redis;
    struct {
        char collector[TW_PATH_LEN]; /* ipfix.collector: HOST:PORT ([IPV6]:PORT), "" = no export */
        uint32_t template_interval_s; /* ipfix.template_interval: templates sent again, default 60 s */
        uint32_t observation_domain; /* ipfix.observation_domain: default 1 */
        uint32_t max_rate;         /* ipfix.max_rate: messages/s, 0 = unpaced, default 10000 */
        uint32_t queue;            /* ipfix.queue: messages waiting to be sent, default 8192 */
        uint32_t mtu;              /* ipfix.mtu: largest message in bytes, default 1400 */
    } ipfix;
    struct {
        char listen[TW_PATH_LEN];  /* metrics.listen: HOST:PORT of the Prometheus endpoint, "" = off */
        bool dpdk_telemetry;       /* metrics.dpdk_telemetry: leave DPDK telemetry on, with
                                      /tapwatch/counters, default false */
    } metrics;
    char log_target[16];           /* log: where log lines go: stderr, syslog or journal, default stderr */
    char log_level[16];            /* log_level: least severe line written: error .. debug, default info */
    struct {
        char target[TW_PATH_LEN];  /* alerts_syslog.target: udp://HOST:PORT or unix:///path, "" = off */
        char facility[16];         /* alerts_syslog.facility: default local0 */
    } alerts_syslog;
    struct {                       /* decap: tunnels opened so the flow is the inner one */
        bool gre;                  /* decap.gre: GRE with IPv4, IPv6 or Ethernet inside, default true */
        bool erspan;               /* decap.erspan: ERSPAN II and III, default true */
        bool vxlan;                /* decap.vxlan: default true */
        char vxlan_ports[32];      /* decap.vxlan_ports: UDP ports, comma-separated, up to 4, default "4789" */
        bool geneve;               /* decap.geneve: default true */
        char geneve_ports[32];     /* decap.geneve_ports: default "6081" */
        bool gtpu;                 /* decap.gtpu: GTP-U G-PDU on UDP 2152, default true */
        bool mpls_pw;              /* decap.mpls_pw: Ethernet over MPLS with control word, default true */
    } decap;
    struct {                       /* geoip: countries and ASNs of flow ends (control/record/geoip.h) */
        char country_db[TW_PATH_LEN]; /* geoip.country_db: MaxMind-format country database, "" = none */
        char asn_db[TW_PATH_LEN];  /* geoip.asn_db: MaxMind-format ASN database, "" = none */
    } geoip;
    struct {
        char key[TW_PATH_LEN];     /* signing.key: the sensor's Ed25519 secret key file
                                    * (tapwatch keygen), "" = records are not signed */
        char previous_key[TW_PATH_LEN]; /* signing.previous_key: the key rotated from (its
                                    * secret key file): signs this run's key_rotation
                                    * statement with signing.key, "" = no rotation */
    } signing;
    struct {
        uint32_t statement_interval_s; /* evidence.statement_interval: seconds between two
                                    * completeness statements (statements.h), default 60 */
        char witness[TW_PATH_LEN]; /* evidence.witness: the regulator's Redis that gets every
                                    * seal's hash (witness_writer.h), "" = none */
        char witness_user[128];    /* evidence.witness_user: its ACL user, "" = the URL's */
        char witness_password_file[TW_PATH_LEN]; /* evidence.witness_password_file: owner-only */
        char witness_tls_ca[TW_PATH_LEN]; /* evidence.witness_tls_ca: CAs for rediss://, "" =
                                    * the system's */
    } evidence;
};

/* Fills every field with its default. */
void tw_config_defaults(struct tw_config *cfg);

/* Loads a YAML file over the current values (call tw_config_defaults first).
 * Returns 0, or -1 with a one-line message "file:line: what was expected" in err. Unknown
 * keys, wrong types and out-of-range values are all errors. On error cfg is left unchanged.
 * Cross-field rules are not checked here (command-line overrides may still fix them):
 * call tw_config_validate once every override is applied. */
int tw_config_load(struct tw_config *cfg, const char *path, char *err, size_t errlen);

/* Sets one key from text, the way the file would ("flow_table.idle_timeout", "2m"): for
 * command-line overrides. Returns 0, or -1 with "key: what was expected" in err (unknown
 * key, bad value, out of range); on error cfg is unchanged. */
int tw_config_set(struct tw_config *cfg, const char *key, const char *value, char *err,
                  size_t errlen);

/* Checks every key's bounds again and the rules between keys (active_timeout is 0 or at
 * least idle_timeout, ...). Returns 0, or -1 with "key: what was expected" in err. */
int tw_config_validate(const struct tw_config *cfg, char *err, size_t errlen);

/* Returns the dotted name of the i-th key in table order, or NULL when i is past the last:
 * with tw_config_get it prints the effective configuration (--check-config). */
const char *tw_config_key_name(size_t i);

/* 1 when the i-th key (tw_config_key_name order) can change while running: SIGHUP applies
 * it (control/plane/reload.h); 0 when only a restart does. */
int tw_config_key_reloads(size_t i);

/* Writes the value of key as config text ("120" for a uint, "2m" for a duration, "true")
 * into buf. Returns 0, or -1 when the key is unknown or buf is too small. */
int tw_config_get(const struct tw_config *cfg, const char *key, char *buf, size_t len);

struct tw_parse_settings;
/* Fills the decoder's settings from the decap: section (the port lists were checked at
 * load). */
void tw_config_parse_settings(const struct tw_config *cfg, struct tw_parse_settings *s);

/* tw_parse_duration: control/record/units.h (shared with the policy loader). */
#include "control/record/units.h"

#endif
