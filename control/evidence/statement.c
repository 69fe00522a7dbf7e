/* statement.c - completeness statements: canonical text, signature, clock checks
 * (statement.h). */
#include "control/evidence/statement.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/timex.h>
#include <unistd.h>

#include <sodium.h>

#include "dataplane/counters.h"

static const char *const kind_names[TW_ST__COUNT] = {"start", "interval", "reload", "stop",
                                                     "clock_step", "key_rotation"};

const char *tw_statement_kind_name(unsigned kind)
{
    return kind < TW_ST__COUNT ? kind_names[kind] : "unknown";
}

int tw_statement_kind_from_name(const char *name)
{
    for (unsigned i = 0; i < TW_ST__COUNT; i++)
        if (strcmp(name, kind_names[i]) == 0)
            return (int)i;
    return -1;
}

/* appends to buf at *off; sets *off past len on overflow (checked once at the end) */
static void put(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*off >= len)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *off, len - *off, fmt, ap);
    va_end(ap);
    *off = n < 0 ? len : *off + (size_t)n;
}

static void put_sha(char *buf, size_t len, size_t *off, const char *name, const uint8_t *sha,
                    int has)
{
    char hex[65] = "";

    if (has)
        tw_hex(sha, 32, hex);
    put(buf, len, off, ",\"%s\":\"%s\"", name, hex);
}

static void put_seq(char *buf, size_t len, size_t *off, const char *name, uint64_t v)
{
    if (v == TW_SEQ_NONE)
        put(buf, len, off, ",\"%s\":null", name);
    else
        put(buf, len, off, ",\"%s\":%" PRIu64, name, v);
}

int tw_statement_to_json(const struct tw_statement *st, const char *sensor, char *buf,
                         size_t len)
{
    size_t off = 0;
    unsigned d = 0;
    int first = 1;

    /* sensor names are [A-Za-z0-9_.-] and "bank/sensor" (config.c): nothing to escape, but
     * a quote or backslash would change the text's meaning, so it is refused */
    if (strlen(sensor) > 127 || strpbrk(sensor, "\"\\") != NULL)
        return -1;
    put(buf, len, &off, "{\"v\":1,\"sensor\":\"%s\",\"run\":\"%016" PRIx64 "\",\"n\":%" PRIu64
        ",\"kind\":\"%s\",\"interval\":%" PRIu64 ",\"from\":%" PRIu64 ".%06" PRIu64 ",\"to\":%" PRIu64 ".%06" PRIu64,
        sensor, st->run_us, st->n, tw_statement_kind_name(st->kind), st->interval_s,
        st->from_us / 1000000,
        st->from_us % 1000000, st->to_us / 1000000, st->to_us % 1000000);
    put(buf, len, &off, ",\"packets_received\":%" PRIu64 ",\"packets_parsed\":%" PRIu64
        ",\"packets_dropped\":%" PRIu64 ",\"dropped_by_reason\":{", st->received, st->parsed,
        st->dropped);
    /* a key_rotation keeps its old key's part where the drops are: it has none */
    for (unsigned i = 0; i < TW_C__COUNT && d < TW_STATEMENT_DROPS &&
                         st->kind != TW_ST_KEY_ROTATION; i++) {
        if (!tw_counter_is_drop(i))
            continue;
        if (st->drops[d])
            put(buf, len, &off, "%s\"%s\":%" PRIu64, first ? "" : ",", tw_counter_name(i),
                st->drops[d]);
        first = first && st->drops[d] == 0;
        d++;
    }
    put(buf, len, &off, "},\"imissed\":%" PRIu64 ",\"ierrors\":%" PRIu64 ",\"rx_nombuf\":%" PRIu64,
        st->imissed, st->ierrors, st->rx_nombuf);
    put(buf, len, &off, ",\"tcp_gap_bytes\":%" PRIu64 ",\"tcp_acked_bytes\":%" PRIu64
        ",\"tcp_flows_one_way\":%" PRIu64 ",\"tcp_flows_ended\":%" PRIu64, st->tcp_gap_bytes,
        st->tcp_acked_bytes, st->tcp_flows_one_way, st->tcp_flows_ended);
    put(buf, len, &off, ",\"flows_started\":%" PRIu64 ",\"flows_ended\":%" PRIu64
        ",\"records_from\":%" PRIu64 ",\"records_to\":%" PRIu64 ",\"alerts_from\":%" PRIu64
        ",\"alerts_to\":%" PRIu64, st->flows_started, st->flows_ended, st->records_from,
        st->records_to, st->alerts_from, st->alerts_to);
    put_seq(buf, len, &off, "seq_first", st->seq_first);
    put_seq(buf, len, &off, "seq_last", st->seq_last);
    put_seq(buf, len, &off, "seq", st->seq);
    put(buf, len, &off, ",\"gap_records\":%" PRIu64 ",\"records_lost\":%" PRIu64,
        st->gap_records, st->records_lost);
    put_sha(buf, len, &off, "config_sha256", st->config_sha, st->has_config);
    put_sha(buf, len, &off, "policy_sha256", st->policy_sha, st->has_policy);
    put_sha(buf, len, &off, "geoip_sha256", st->geoip_sha, st->has_geoip);
    put(buf, len, &off, ",\"clock_synced\":%s,\"clock_offset_us\":%" PRId64
        ",\"clock_maxerror_us\":%" PRIu64 ",\"clock_esterror_us\":%" PRIu64
        ",\"clock_step_us\":%" PRId64 ",\"key\":\"%s\"",
        st->clock_synced ? "true" : "false", st->clock_offset_us, st->clock_maxerror_us,
        st->clock_esterror_us, st->clock_step_us, st->is_signed ? st->key : "");
    if (st->kind == TW_ST_KEY_ROTATION) /* fingerprints are hex: nothing to escape */
        put(buf, len, &off, ",\"previous_key\":\"%.*s\"", TW_SIGN_FPR_LEN,
            st->rot.previous_key);
    put(buf, len, &off, "}");
    return off < len ? (int)off : -1;
}

int tw_statement_sign(struct tw_statement *st, const char *sensor, const struct tw_sign_key *k)
{
    char text[TW_STATEMENT_JSON_MAX];
    int n;

    memset(st->sig, 0, sizeof(st->sig));
    st->is_signed = k != NULL;
    snprintf(st->key, sizeof(st->key), "%s", k ? k->fpr : "");
    if ((n = tw_statement_to_json(st, sensor, text, sizeof(text))) < 0)
        return -1;
    if (k != NULL)
        tw_sign(k, text, (size_t)n, st->sig);
    return 0;
}

int tw_statement_sign_rotation(struct tw_statement *st, const char *sensor,
                               const struct tw_sign_key *new_key,
                               const struct tw_sign_key *old_key)
{
    char text[TW_STATEMENT_JSON_MAX];
    int n;

    st->kind = TW_ST_KEY_ROTATION;
    memset(&st->rot, 0, sizeof(st->rot));
    snprintf(st->rot.previous_key, sizeof(st->rot.previous_key), "%s", old_key->fpr);
    if (tw_statement_sign(st, sensor, new_key) != 0 ||
        (n = tw_statement_to_json(st, sensor, text, sizeof(text))) < 0)
        return -1;
    tw_sign(old_key, text, (size_t)n, st->rot.sig_previous);
    return 0;
}

int tw_sha256_file(const char *path, uint8_t raw[32], char hex[65])
{
    crypto_hash_sha256_state h;
    uint8_t out[32], chunk[65536];
    ssize_t n;
    int fd;

    if (tw_sign_init(NULL, 0) != 0) {
        errno = ENOSYS;
        return -1;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    crypto_hash_sha256_init(&h);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        crypto_hash_sha256_update(&h, chunk, (unsigned long long)n);
    int saved = errno;
    close(fd);
    if (n < 0) {
        errno = saved;
        return -1;
    }
    crypto_hash_sha256_final(&h, out);
    if (raw)
        memcpy(raw, out, 32);
    if (hex)
        tw_hex(out, 32, hex);
    return 0;
}

int tw_clock_watch_step(struct tw_clock_watch *w, uint64_t wall_us, uint64_t mono_us,
                        uint64_t threshold_us, int64_t *step_us)
{
    int64_t step;

    if (!w->primed) {
        w->primed = 1;
        w->last_wall_us = wall_us;
        w->last_mono_us = mono_us;
        return 0;
    }
    step = ((int64_t)wall_us - (int64_t)w->last_wall_us) -
           ((int64_t)mono_us - (int64_t)w->last_mono_us);
    w->last_wall_us = wall_us;
    w->last_mono_us = mono_us;
    if (step_us)
        *step_us = step;
    return (uint64_t)(step < 0 ? -step : step) > threshold_us;
}

int tw_clock_sync_state(int *synced, int64_t *offset_us, uint64_t *maxerror_us,
                        uint64_t *esterror_us)
{
    struct timex tx = {.modes = 0}; /* read only */
    int rc = adjtimex(&tx);

    *synced = 0;
    *offset_us = 0;
    *maxerror_us = *esterror_us = 0;
    if (rc < 0)
        return -1;
    /* offset is in nanoseconds when STA_NANO is set */
    *offset_us = (tx.status & STA_NANO) ? (int64_t)tx.offset / 1000 : (int64_t)tx.offset;
    *maxerror_us = tx.maxerror < 0 ? 0 : (uint64_t)tx.maxerror;
    *esterror_us = tx.esterror < 0 ? 0 : (uint64_t)tx.esterror;
    *synced = rc != TIME_ERROR && !(tx.status & STA_UNSYNC);
    return 0;
}
