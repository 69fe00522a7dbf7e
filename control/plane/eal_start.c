/* eal_start.c - rte_eal_init with its output held back (see eal_start.h). */
#include "control/plane/eal_start.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>

#include "control/plane/log.h"

#define MAX_LOG (64u << 10)

/* Joins the log's lines into why: "EAL: " and "FATAL: " prefixes dropped, repeats left out. */
static void join_log_lines(char *log, char *why, size_t why_len)
{
    size_t used = 0;

    why[0] = '\0';
    for (char *save = NULL, *line = strtok_r(log, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "EAL: ", 5) == 0)
            line += 5;
        if (strncmp(line, "FATAL: ", 7) == 0)
            line += 7;
        while (*line == ' ')
            line++;
        size_t n = strlen(line);
        while (n && (line[n - 1] == ' ' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (!n || strstr(why, line))
            continue;
        used += (size_t)snprintf(why + used, used < why_len ? why_len - used : 0, "%s%s",
                                 used ? "; " : "", line);
        if (used >= why_len)
            break;
    }
}

/* DPDK's log, once EAL runs: a stream whose lines become log lines (log.h) with the
 * priority DPDK gave the message. A message arrives in one or more writes; a line is logged
 * when its newline comes (one that overflows the buffer is logged in pieces). Workers log
 * too (a driver's error): each thread collects its own line. */
static __thread char dpdk_line[1024];
static __thread size_t dpdk_used;

static enum tw_log_level dpdk_level(void)
{
    int l = rte_log_cur_msg_loglevel();
    const int err = RTE_LOG_ERR, warning = RTE_LOG_WARNING, notice = RTE_LOG_NOTICE,
              info = RTE_LOG_INFO;

    return l <= err ? TW_LOG_ERR : l == warning ? TW_LOG_WARNING : l == notice ? TW_LOG_NOTICE
           : l == info ? TW_LOG_INFO : TW_LOG_DEBUG;
}

static ssize_t dpdk_log_write(void *cookie, const char *buf, size_t len)
{
    (void)cookie;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n' && dpdk_used < sizeof(dpdk_line) - 1) {
            dpdk_line[dpdk_used++] = buf[i];
            continue;
        }
        dpdk_line[dpdk_used] = '\0';
        if (dpdk_used)
            tw_log(dpdk_level(), "%s", dpdk_line);
        dpdk_used = 0;
        if (buf[i] != '\n')
            dpdk_line[dpdk_used++] = buf[i];
    }
    return (ssize_t)len;
}

static FILE *dpdk_log_stream(void)
{
    static FILE *f;

    if (!f) {
        f = fopencookie(NULL, "w", (cookie_io_functions_t){.write = dpdk_log_write});
        if (f)
            setvbuf(f, NULL, _IONBF, 0); /* each write reaches the line buffer at once */
    }
    return f ? f : stderr;
}

/* Points fd at `to`; returns a copy of what fd was (-1 when that failed: fd is left alone). */
static int redirect(int fd, int to)
{
    int saved = to >= 0 ? dup(fd) : -1;

    if (saved >= 0 && dup2(to, fd) < 0) {
        close(saved);
        saved = -1;
    }
    return saved;
}

static void restore(int fd, int saved)
{
    if (saved >= 0) {
        dup2(saved, fd);
        close(saved);
    }
}

int tw_eal_start(int argc, char **argv, char *why, size_t why_len)
{
    /* EAL writes its usage to stdout, its fatal alert straight to stderr and its log to
     * the log stream: stdout goes nowhere, the other two into one memory file */
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int held = memfd_create("tapwatch-eal-log", MFD_CLOEXEC);

    fflush(stdout);
    fflush(stderr);
    int saved_out = redirect(STDOUT_FILENO, devnull);
    int saved_err = redirect(STDERR_FILENO, held);
    /* DPDK's log goes to stderr: into the memory file now, to the real stderr afterwards
     * (its default is stdout, where tapwatch prints its summary) */
    rte_openlog_stream(stderr);

    int rc = rte_eal_init(argc, argv);
    int err = rte_errno;

    fflush(stdout);
    fflush(stderr);
    restore(STDOUT_FILENO, saved_out);
    restore(STDERR_FILENO, saved_err);

    char *log = calloc(1, MAX_LOG + 1);
    ssize_t got = 0;
    if (log && saved_err >= 0) /* stderr went into the memory file */
        got = pread(held, log, MAX_LOG, 0);
    if (got < 0)
        got = 0;
    if (rc >= 0) {
        /* what EAL said while it started (nothing at the default log level), then its log
         * from now on: log lines, as tapwatch's own */
        if (got) {
            log[got] = '\0';
            tw_log_lines(TW_LOG_WARNING, log);
        }
        rte_openlog_stream(dpdk_log_stream());
    } else {
        join_log_lines(log ? log : (char[]){""}, why, why_len);
        if (!why[0])
            snprintf(why, why_len, "%s", rte_strerror(err));
    }
    free(log);
    if (held >= 0)
        close(held);
    if (devnull >= 0)
        close(devnull);
    rte_errno = err;
    return rc;
}
