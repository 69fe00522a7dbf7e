/* sink_jsonl.c - JSON lines: one object a line, for --flows-jsonl (finished flows) and
 * --alerts-jsonl (alerts). The same writer for both: the list hands it the text already
 * encoded (sink.h), it adds the newline. */
#include "control/store/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct jsonl {
    FILE *f;
    int owned;          /* opened here (not stdout) */
    const char *label;  /* "flows-jsonl" / "alerts-jsonl" */
    const char *unit;   /* "records" / "alerts" */
    uint64_t written, errors;
};

static int put_line(struct jsonl *j, const char *json, size_t len)
{
    if (fwrite(json, 1, len, j->f) == len && putc('\n', j->f) != EOF) {
        j->written++;
        return 0;
    }
    j->errors++;
    return -1;
}

static int put_flow(void *ctx, const struct tw_flow_record *r, const char *json, size_t len)
{
    (void)r;
    return put_line(ctx, json, len);
}

static int put_alert(void *ctx, const struct tw_alert *a, const char *json, size_t len)
{
    (void)a;
    return put_line(ctx, json, len);
}

static uint64_t drain(void *ctx, uint64_t timeout_ms)
{
    struct jsonl *j = ctx;

    (void)timeout_ms;
    if (fflush(j->f) != 0)
        j->errors++;
    return 0;
}

static void stats(void *ctx, FILE *out)
{
    const struct jsonl *j = ctx;

    fprintf(out, "  %-20s %" PRIu64 " %s%s\n", j->label, j->written, j->unit,
            j->errors ? " (WRITE ERRORS)" : "");
}

static void metrics(void *ctx, struct tw_sink_metrics *out)
{
    const struct jsonl *j = ctx;
    int alerts = strcmp(j->unit, "alerts") == 0;

    snprintf(out->output, sizeof(out->output), "%s", j->label);
    tw_sink_metric_add(out, alerts ? "tapwatch_alerts_written_total" : "tapwatch_records_written_total",
                       0, j->written,
                       alerts ? "Alerts acknowledged by the output" : "Flow records acknowledged by the output");
    tw_sink_metric_add(out, "tapwatch_output_write_errors_total", 0, j->errors,
                       "Items a file output could not write");
}

static void close_jsonl(void *ctx)
{
    struct jsonl *j = ctx;

    if (j->owned)
        fclose(j->f);
    free(j);
}

static const struct tw_sink_ops jsonl_ops = {
    .name = "jsonl", .json = 1, .put_flow = put_flow, .put_alert = put_alert, .drain = drain,
    .stats = stats, .close = close_jsonl, .metrics = metrics,
};

/* fopen(path, "w"), but a file it creates is 0640, not 0666 less the umask: the records of
 * a bank's traffic are for the service's group at most. (An existing file keeps its mode.) */
static FILE *open_private(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    FILE *f;

    if (fd < 0)
        return NULL;
    if ((f = fdopen(fd, "w")) == NULL) {
        int saved = errno;
        close(fd);
        errno = saved;
    }
    return f;
}

int tw_sink_jsonl_open(struct tw_sink *s, const char *path, unsigned takes, const char *option,
                       char *err, size_t errlen)
{
    struct jsonl *j = calloc(1, sizeof(*j));

    if (j == NULL) {
        snprintf(err, errlen, "%s %s: out of memory", option, path);
        return -1;
    }
    j->label = takes & TW_TAKES_ALERT ? "alerts-jsonl" : "flows-jsonl";
    j->unit = takes & TW_TAKES_ALERT ? "alerts" : "records";
    if (strcmp(path, "-") == 0) {
        j->f = stdout;
    } else if ((j->f = open_private(path)) != NULL) {
        j->owned = 1;
    } else {
        snprintf(err, errlen, "%s %s: %s", option, path, strerror(errno));
        free(j);
        return -1;
    }
    *s = (struct tw_sink){.ops = &jsonl_ops, .ctx = j, .takes = takes};
    return 0;
}

int tw_sink_jsonl_is_stdout(const struct tw_sink *s)
{
    return s->ops == &jsonl_ops && ((const struct jsonl *)s->ctx)->f == stdout;
}
