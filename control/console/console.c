/* console.c - tapwatch-console: the regulator's browser view and HTTP API over the records,
 * answering with the query tool's own code (README "Console").
 *
 *   tapwatch-console --listen 127.0.0.1:8443 --redis URL --cert F --key F --users F [...]
 *   tapwatch-console --config FILE        the same options, one "name value" a line
 *   tapwatch-console passwd USER --users F  adds or changes a user (password on stdin)
 *
 * HTTPS through libmicrohttpd (GnuTLS inside) with the operator's certificate and key; plain
 * HTTP only with --insecure-http and only on a loopback address. One thread per connection;
 * each question a child process (ask.c).
 *
 * Exit status: 0 stopped by a signal, 1 could not serve, 2 bad command line or files.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/console/console.h"
#include "control/store/redis_conn.h"

#define PEM_MAX (1 << 20)

struct tc_config tc_cfg = {
    .listen_host = "127.0.0.1", .port = 8443, .sensor = "tapwatch", .idle_s = 900,
    .timeout_ms = 15000, .max_bytes = 32u << 20, .max_limit = 10000,
};

enum MHD_Result tc_handle(void *cls, struct MHD_Connection *conn, const char *url,
                          const char *method, const char *version, const char *upload,
                          size_t *upload_size, void **con_cls);
void tc_request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                     enum MHD_RequestTerminationCode toe);

const char tc_css[] =
    "body{font:14px/1.4 sans-serif;margin:1em;color:#222}nav a{margin-right:1em}"
    "nav .who{margin-left:2em;color:#555}form.inline{display:inline}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:2px 6px;"
    "text-align:left;vertical-align:top}th{background:#eee}"
    "tr.sev-critical td{background:#f5b7b1}tr.sev-high td{background:#fad7a0}"
    "tr.sev-medium td{background:#fcf3cf}tr.sev-low td{background:#eaf2f8}"
    ".error{color:#a00;font-weight:bold}.filters label{margin-right:.6em}"
    ".filters input{width:9em}\n";

static int usage(FILE *f)
{
    fputs("usage: " CPROG " --listen HOST:PORT --redis URL --users FILE (--cert F --key F |\n"
          "                        --insecure-http) [options]\n"
          "       " CPROG " --config FILE     the options, one \"name value\" a line ('#' comments)\n"
          "       " CPROG " passwd USER --users FILE   add or change a user; password on stdin\n"
          "\n"
          "  --listen HOST:PORT   address to serve (default 127.0.0.1:8443)\n"
          "  --cert F, --key F    the TLS certificate and its key (PEM; the key only its owner reads)\n"
          "  --insecure-http      plain HTTP, only on a loopback address (tests, a local tunnel)\n"
          "  --users FILE         the accounts (`passwd` writes it; mode 0600)\n"
          "  --redis URL, --redis-user NAME, --redis-password-file F, --redis-tls-ca F\n"
          "                       the Redis the records are read from (as tapwatch-query)\n"
          "  --sensor NAME        default sensor (a request may give sensor=)\n"
          "  --bank NAME          the sensors' bank\n"
          "  --audit-key FILE     key that signs the audit entries (as tapwatch-query)\n"
          "  --equipment a,b      the equipment the Equipment page lists when the sensor\n"
          "                       publishes no inventory (tapwatch-query equipment)\n"
          "  --pubkey FILE.pub    the sensor's signing key: Coverage checks each statement's\n"
          "                       signature (verified, BAD, unsigned); again for each key of a\n"
          "                       key rotation, the oldest first (as tapwatch-query's)\n"
          "  --session-idle S     a session unused S seconds ends (default 900)\n"
          "  --timeout-ms N       an answer slower than N ms is cut: 504 (default 15000)\n"
          "  --max-bytes N        an answer larger than N bytes is cut: 413 (default 32 MiB)\n"
          "  --max-limit N        largest limit= a request may ask (default 10000)\n"
          "  --test-no-csp        no Content-Security-Policy header (tests only: proves the\n"
          "                       escaping on its own)\n",
          f);
    return f == stderr ? 2 : 0;
}

static int bad(const char *fmt, const char *v)
{
    fprintf(stderr, CPROG ": ");
    fprintf(stderr, fmt, v);
    fprintf(stderr, " (see " CPROG " --help)\n");
    return 2;
}

static int set_equipment(const char *v)
{
    char *copy = strdup(v), *save = NULL;
    size_t n = 0;
    if (copy == NULL)
        return 1;
    while (tc_cfg.equipment[n])
        n++;
    for (char *t = strtok_r(copy, ",", &save); t != NULL && n < 32; t = strtok_r(NULL, ",", &save))
        tc_cfg.equipment[n++] = t;
    return 0;
}

static int config_file(const char *path);

/* One option name (no "--") and its value. Returns 0 or 2 (said). */
static int option(const char *name, const char *v)
{
    char *end;
    unsigned long long n;

#define NUM(field, lo, hi)                                                                    \
    do {                                                                                      \
        n = strtoull(v, &end, 10);                                                            \
        if (*end || v[0] == '-' || n < (lo) || n > (hi))                                      \
            return bad("bad --%s value", name);                                               \
        tc_cfg.field = n;                                                                     \
    } while (0)
    if (strcmp(name, "listen") == 0) {
        const char *c = strrchr(v, ':');
        char *host;
        if (c == NULL || (n = strtoull(c + 1, &end, 10)) > 65535 || *end || c == v)
            return bad("bad --listen \"%s\": expected HOST:PORT", v);
        if ((host = strndup(v, (size_t)(c - v))) == NULL)
            return 1;
        tc_cfg.listen_host = host, tc_cfg.port = (unsigned)n;
    } else if (strcmp(name, "redis") == 0) tc_cfg.redis_url = v;
    else if (strcmp(name, "redis-user") == 0) tc_cfg.redis_user = v;
    else if (strcmp(name, "redis-password-file") == 0) tc_cfg.redis_password_file = v;
    else if (strcmp(name, "redis-tls-ca") == 0) tc_cfg.redis_tls_ca = v;
    else if (strcmp(name, "sensor") == 0) tc_cfg.sensor = v;
    else if (strcmp(name, "bank") == 0) tc_cfg.bank = v;
    else if (strcmp(name, "audit-key") == 0) tc_cfg.audit_key = v;
    else if (strcmp(name, "cert") == 0) tc_cfg.cert = v;
    else if (strcmp(name, "key") == 0) tc_cfg.key = v;
    else if (strcmp(name, "users") == 0) tc_cfg.users = v;
    else if (strcmp(name, "pubkey") == 0) {
        size_t k = 0;
        while (tc_cfg.pubkeys[k] != NULL)
            k++;
        if (k + 1 >= sizeof(tc_cfg.pubkeys) / sizeof(tc_cfg.pubkeys[0]))
            return bad("too many --pubkey (at most 8): \"%s\"", v);
        tc_cfg.pubkeys[k] = v;
    }
    else if (strcmp(name, "equipment") == 0) return set_equipment(v);
    else if (strcmp(name, "session-idle") == 0) NUM(idle_s, 10, 86400 * 7);
    else if (strcmp(name, "timeout-ms") == 0) NUM(timeout_ms, 100, 600000);
    else if (strcmp(name, "max-bytes") == 0) NUM(max_bytes, 4096, 1ULL << 32);
    else if (strcmp(name, "max-limit") == 0) NUM(max_limit, 1, 10000000);
    else if (strcmp(name, "config") == 0) return config_file(v);
    else return bad("unknown option \"--%s\"", name);
    return 0;
#undef NUM
}

static int config_file(const char *path)
{
    char line[4096];
    FILE *f = fopen(path, "r");
    int rc = 0;

    if (f == NULL) {
        fprintf(stderr, CPROG ": %s: %s\n", path, strerror(errno));
        return 2;
    }
    while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
        char *p = line, *name, *val;
        line[strcspn(line, "\r\n")] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        name = p;
        p += strcspn(p, " \t");
        if (*p)
            *p++ = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (strcmp(name, "insecure-http") == 0) {
            tc_cfg.insecure_http = 1;
            continue;
        }
        if ((val = strdup(p)) == NULL || *val == '\0') {
            fprintf(stderr, CPROG ": %s: \"%s\" needs a value\n", path, name);
            rc = 2;
            break;
        }
        rc = option(name, val);
    }
    fclose(f);
    return rc;
}

/* A PEM file whole into a new string; the key checked like the project's other secrets. */
static char *read_pem(const char *what, const char *path, int secret)
{
    char err[512], *buf;
    size_t n;
    FILE *f;

    if (secret && tw_secret_file_read(what, path, NULL, 0, err, sizeof(err)) < 0) {
        fprintf(stderr, CPROG ": %s\n", err);
        return NULL;
    }
    if ((f = fopen(path, "r")) == NULL) {
        fprintf(stderr, CPROG ": %s %s: %s\n", what, path, strerror(errno));
        return NULL;
    }
    if ((buf = calloc(1, PEM_MAX + 1)) != NULL)
        n = fread(buf, 1, PEM_MAX, f), buf[n] = '\0';
    fclose(f);
    return buf;
}

static int is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    struct sockaddr_storage ss = {0};
    struct MHD_Daemon *d;
    char err[512], *cert = NULL, *key = NULL;
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG;
    int rc;

    if (argc >= 2 && strcmp(argv[1], "passwd") == 0) {
        const char *users = NULL, *user = NULL;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--users") == 0 && i + 1 < argc)
                users = argv[++i];
            else if (argv[i][0] != '-' && user == NULL)
                user = argv[i];
            else
                return bad("passwd: unexpected \"%s\"", argv[i]);
        }
        if (user == NULL || users == NULL)
            return bad("%s", "passwd USER --users FILE");
        return tc_passwd(users, user);
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq;
        char name[64];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return usage(stdout);
        if (strcmp(a, "--insecure-http") == 0) {
            tc_cfg.insecure_http = 1;
            continue;
        }
        if (strcmp(a, "--test-no-csp") == 0) {
            tc_cfg.no_csp = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0)
            return bad("unexpected argument \"%s\"", a);
        eq = strchr(a, '=');
        snprintf(name, sizeof(name), "%.*s", (int)(eq ? eq - a - 2 : (long)strlen(a + 2)), a + 2);
        if (eq == NULL && i + 1 >= argc)
            return bad("option %s needs a value", a);
        if ((rc = option(name, eq ? eq + 1 : argv[++i])) != 0)
            return rc;
    }
    if (tc_cfg.redis_url == NULL && (tc_cfg.redis_url = getenv("TAPWATCH_REDIS")) == NULL)
        return bad("%s", "no Redis named: use --redis URL");
    if (tc_cfg.users == NULL)
        return bad("%s", "no users file: use --users FILE (made by `passwd USER`)");
    if (tc_users_check(tc_cfg.users, err, sizeof(err)) < 0) {
        fprintf(stderr, CPROG ": %s\n", err);
        return 2;
    }
    if (tc_cfg.insecure_http) {
        if (!is_loopback(tc_cfg.listen_host))
            return bad("--insecure-http serves a loopback address only, not \"%s\"",
                       tc_cfg.listen_host);
    } else {
        if (tc_cfg.cert == NULL || tc_cfg.key == NULL)
            return bad("%s", "HTTPS needs --cert FILE and --key FILE (or --insecure-http on loopback)");
        if ((cert = read_pem("certificate", tc_cfg.cert, 0)) == NULL ||
            (key = read_pem("TLS key", tc_cfg.key, 1)) == NULL)
            return 2;
        flags |= MHD_USE_TLS;
    }
    if (sodium_init() < 0)
        return 1;
    if (strchr(tc_cfg.listen_host, ':') != NULL) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)tc_cfg.port);
        if (inet_pton(AF_INET6, tc_cfg.listen_host, &s6->sin6_addr) != 1)
            return bad("bad --listen address \"%s\"", tc_cfg.listen_host);
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)tc_cfg.port);
        if (inet_pton(AF_INET, tc_cfg.listen_host, &s4->sin_addr) != 1)
            return bad("bad --listen address \"%s\" (an IP address)", tc_cfg.listen_host);
    }
    signal(SIGPIPE, SIG_IGN);
    if (tc_cfg.insecure_http)
        d = MHD_start_daemon(flags, (uint16_t)tc_cfg.port, NULL, NULL, tc_handle, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                             MHD_OPTION_NOTIFY_COMPLETED, tc_request_done, NULL,
                             MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                             MHD_OPTION_CONNECTION_LIMIT, 64u,
                             MHD_OPTION_PER_IP_CONNECTION_LIMIT, 32u, MHD_OPTION_END);
    else
        d = MHD_start_daemon(flags, (uint16_t)tc_cfg.port, NULL, NULL, tc_handle, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                             MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
                             MHD_OPTION_NOTIFY_COMPLETED, tc_request_done, NULL,
                             MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                             MHD_OPTION_CONNECTION_LIMIT, 64u,
                             MHD_OPTION_PER_IP_CONNECTION_LIMIT, 32u, MHD_OPTION_END);
    /* cert and key stay: the daemon may read them again while it runs */
    if (d == NULL) {
        fprintf(stderr, CPROG ": cannot serve %s:%u (in use? a bad certificate or key?)\n",
                tc_cfg.listen_host, tc_cfg.port);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    fprintf(stderr, CPROG ": serving %s://%s:%u/ (sensor %s)\n", tc_cfg.insecure_http ? "http" : "https",
            tc_cfg.listen_host, tc_cfg.port, tc_cfg.sensor);
    while (!stop)
        pause();
    MHD_stop_daemon(d);
    return 0;
}
