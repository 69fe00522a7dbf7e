/* log.h - the appliance's log lines: one place that says where they go and how they look.
 *
 *   stderr (default)  2026-12-02T06:50:01.123+00:00 warning tapwatch: redis down ...
 *   syslog, journal   the message with its syslog priority (LOG_DAEMON)
 *
 * Levels are syslog's priorities. Library code never logs (it returns an error and a
 * one-line reason); the control plane's main, its loop and its sinks do.
 */
#ifndef TW_LOG_H
#define TW_LOG_H

#include <stdarg.h>

enum tw_log_level {
    TW_LOG_ERR = 3,
    TW_LOG_WARNING = 4,
    TW_LOG_NOTICE = 5,
    TW_LOG_INFO = 6,
    TW_LOG_DEBUG = 7,
};

/* Sends the log lines to target: "stderr", "syslog" or "journal" (syslog through journald's
 * socket when it runs). ident names the program. Returns 0, or -1 for an unknown target. */
int tw_log_open(const char *target, const char *ident);

/* Lines below min_level (a higher number) are not written; TW_LOG_INFO by default. */
void tw_log_set_level(enum tw_log_level min_level);

/* One log line: fmt without the program name and without a trailing newline. */
void tw_log(enum tw_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tw_vlog(enum tw_log_level level, const char *fmt, va_list ap);

/* The level's name as written on stderr ("error", "warning", ...). */
const char *tw_log_level_name(enum tw_log_level level);

/* The level named by name ("error" or "err", "warning", "notice", "info", "debug").
 * Returns 0, or -1 for an unknown name. */
int tw_log_level_parse(const char *name, enum tw_log_level *out);

/* Writes text as log lines of level: one line each of its lines (empty ones skipped), a
 * leading "tapwatch: " dropped (text printed for stderr by code that names the program). */
void tw_log_lines(enum tw_log_level level, const char *text);

#endif
