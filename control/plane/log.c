/* log.c - log lines to stderr with a timestamp and a level, or to syslog (see log.h). */
#include "control/plane/log.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>

static int use_syslog;
static enum tw_log_level min_level = TW_LOG_INFO;
static char ident[32] = "tapwatch";

int tw_log_open(const char *target, const char *name)
{
    if (name)
        snprintf(ident, sizeof(ident), "%s", name);
    if (strcmp(target, "stderr") == 0) {
        if (use_syslog)
            closelog();
        use_syslog = 0;
        return 0;
    }
    /* journald listens on /dev/log too: the journal gets the priority and the ident */
    if (strcmp(target, "syslog") == 0 || strcmp(target, "journal") == 0) {
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
        use_syslog = 1;
        return 0;
    }
    return -1;
}

void tw_log_set_level(enum tw_log_level level)
{
    min_level = level;
}

const char *tw_log_level_name(enum tw_log_level level)
{
    switch (level) {
    case TW_LOG_ERR: return "error";
    case TW_LOG_WARNING: return "warning";
    case TW_LOG_NOTICE: return "notice";
    case TW_LOG_INFO: return "info";
    case TW_LOG_DEBUG: return "debug";
    }
    return "info";
}

int tw_log_level_parse(const char *name, enum tw_log_level *out)
{
    static const struct {
        const char *name;
        enum tw_log_level level;
    } names[] = {
        {"error", TW_LOG_ERR}, {"err", TW_LOG_ERR}, {"warning", TW_LOG_WARNING},
        {"notice", TW_LOG_NOTICE}, {"info", TW_LOG_INFO}, {"debug", TW_LOG_DEBUG},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    return -1;
}

void tw_vlog(enum tw_log_level level, const char *fmt, va_list ap)
{
    char msg[1024];
    struct timeval tv;
    struct tm tm;
    char stamp[40], zone[8];

    if (level > min_level)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (use_syslog) {
        syslog((int)level, "%s", msg);
        return;
    }
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    strftime(zone, sizeof(zone), "%z", &tm); /* +0100: ISO 8601 wants +01:00 */
    /* one fprintf: a line is written whole, even with other threads printing */
    fprintf(stderr, "%s.%03ld%.3s:%.2s %s %s: %s\n", stamp, (long)(tv.tv_usec / 1000), zone,
            zone + 3, tw_log_level_name(level), ident, msg);
}

void tw_log(enum tw_log_level level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    tw_vlog(level, fmt, ap);
    va_end(ap);
}

void tw_log_lines(enum tw_log_level level, const char *text)
{
    while (*text) {
        size_t len = strcspn(text, "\n");
        size_t skip = strncmp(text, "tapwatch: ", 10) == 0 && len >= 10 ? 10 : 0;

        if (len > skip)
            tw_log(level, "%.*s", (int)(len - skip), text + skip);
        text += len;
        if (*text == '\n')
            text++;
    }
}
