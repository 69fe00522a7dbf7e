/* ask.c - one question answered by the query tool's own code: tq_query_main (query.c) runs in
 * a child process forked for it, with its stdout and stderr captured through pipes. The child
 * gives every question a fresh copy of the subcommands' static options and its own Redis
 * connection, and it writes the question's audit entries itself, exactly as tapwatch-query
 * does; the console only adds who asked (tq_audit_asker). An answer larger than
 * tc_cfg.max_bytes or slower than tc_cfg.timeout_ms is cut: the child is killed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "control/console/console.h"
#include "control/query/query.h"

static uint64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

int tc_ask(char *const *argv, int argc, const char *asker, struct tc_answer *a)
{
    int po[2], pe[2];
    pid_t pid;
    size_t cap = 1 << 16, elen = 0;
    uint64_t deadline = mono_ms() + tc_cfg.timeout_ms;
    int open_o = 1, open_e = 1, st = 0;

    memset(a, 0, sizeof(*a));
    if ((a->out = malloc(cap)) == NULL)
        return -1;
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
        a->status = -3;
        snprintf(a->err, sizeof(a->err), "pipe: %s", strerror(errno));
        return 0;
    }
    fflush(NULL);
    if ((pid = fork()) < 0) {
        a->status = -3;
        snprintf(a->err, sizeof(a->err), "fork: %s", strerror(errno));
        close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
        return 0;
    }
    if (pid == 0) {
        char **args = calloc((size_t)argc + 1, sizeof(char *));
        dup2(po[1], 1);
        dup2(pe[1], 2);
        /* nothing of the parent's: its clients' sockets, the listening one, and the pipes of
         * other questions asked meanwhile (whose readers wait for the end of their pipe) */
        close_range(3, ~0U, 0);
        signal(SIGPIPE, SIG_IGN);
        if (args == NULL)
            _exit(EXIT_REDIS);
        for (int i = 0; i < argc; i++)
            args[i] = argv[i];
        tq_audit_asker = asker;
        int rc = tq_query_main(argc, args);
        fflush(NULL);
        _exit(rc);
    }
    close(po[1]);
    close(pe[1]);
    while (open_o || open_e) {
        struct pollfd p[2] = {{open_o ? po[0] : -1, POLLIN, 0}, {open_e ? pe[0] : -1, POLLIN, 0}};
        uint64_t now = mono_ms();
        int n;
        if (now >= deadline) {
            a->status = -1;
            break;
        }
        if ((n = poll(p, 2, (int)(deadline - now))) < 0 && errno != EINTR)
            break;
        if (n <= 0)
            continue;
        if (p[0].revents) {
            if (a->out_len + 4096 + 1 > cap) {
                char *m;
                cap *= 2;
                if ((m = realloc(a->out, cap)) == NULL) {
                    a->status = -2;
                    break;
                }
                a->out = m;
            }
            ssize_t r = read(po[0], a->out + a->out_len, cap - a->out_len - 1);
            if (r <= 0)
                open_o = 0;
            else if ((a->out_len += (size_t)r) > tc_cfg.max_bytes) {
                a->status = -2;
                break;
            }
        }
        if (p[1].revents) {
            char tmp[1024];
            ssize_t r = read(pe[0], tmp, sizeof(tmp));
            if (r <= 0)
                open_e = 0;
            else /* the first line is what it said; warnings after it are not needed */
                for (ssize_t i = 0; i < r && elen + 1 < sizeof(a->err); i++)
                    if (elen == 0 || a->err[elen - 1] != '\n')
                        a->err[elen++] = tmp[i];
        }
    }
    a->err[elen] = '\0';
    if (elen > 0 && a->err[elen - 1] == '\n')
        a->err[elen - 1] = '\0';
    a->out[a->out_len] = '\0';
    { /* the tool's usage line without its name and its pointer to --help */
        static const char pre[] = "tapwatch-query: ", post[] = " (see tapwatch-query --help)";
        size_t l;
        if (strncmp(a->err, pre, sizeof(pre) - 1) == 0)
            memmove(a->err, a->err + sizeof(pre) - 1, strlen(a->err + sizeof(pre) - 1) + 1);
        if ((l = strlen(a->err)) >= sizeof(post) - 1 && strcmp(a->err + l - (sizeof(post) - 1), post) == 0)
            a->err[l - (sizeof(post) - 1)] = '\0';
    }
    close(po[0]);
    close(pe[0]);
    if (a->status < 0)
        kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (a->status == 0)
        a->status = WIFEXITED(st) ? WEXITSTATUS(st) : -3;
    return 0;
}
