/* test_metrics_text.c - the Prometheus text of a metrics snapshot (control/plane/metrics_text.h),
 * from values: samples where the counters put them, label values escaped, one family per name
 * across the outputs, a buffer too small cut like snprintf. The board (metrics_board.h), and
 * the pairs a JSON lines output gives through the list (tw_sinks_metrics). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/plane/metrics_board.h"
#include "control/plane/metrics_text.h"

#define TEXT_MAX (256u << 10)

/* A snapshot with a distinct value in every counter (1000 + i), two Redis writers and a JSON
 * lines output, and a policy. */
static void sample_snapshot(struct tw_metrics_snapshot *s)
{
    memset(s, 0, sizeof(*s));
    for (unsigned i = 0; i < TW_C__COUNT; i++)
        s->counters[i] = 1000 + i;
    s->imissed = 5, s->ierrors = 6, s->rx_nombuf = 7;
    s->active_flows = 42;
    s->ring_used = 3, s->ring_size = 16383;
    s->events[1] = 10, s->events[2] = 20, s->events[3] = 30;
    s->n_sinks = 3;
    snprintf(s->sinks[0].output, sizeof(s->sinks[0].output), "redis-flows");
    tw_sink_metric_add(&s->sinks[0], "tapwatch_redis_up", 1, 1, "up");
    tw_sink_metric_add(&s->sinks[0], "tapwatch_records_written_total", 0, 900, "written");
    snprintf(s->sinks[1].output, sizeof(s->sinks[1].output), "flows-jsonl");
    tw_sink_metric_add(&s->sinks[1], "tapwatch_records_written_total", 0, 950, "written");
    snprintf(s->sinks[2].output, sizeof(s->sinks[2].output), "redis-alerts");
    tw_sink_metric_add(&s->sinks[2], "tapwatch_redis_up", 1, 0, "up");
    s->policy = 1;
    for (unsigned k = 0; k < TW_ALERT__COUNT; k++)
        s->alerts_by_kind[k] = 100 + k;
    s->reloads = 2, s->reload_errors = 1, s->last_reload_ok = 0;
    s->version = "0.1.0";
    s->start_time_s = 1700000000.25;
}

static char *render(const struct tw_metrics_snapshot *s)
{
    char *text = malloc(TEXT_MAX);

    assert_non_null(text);
    size_t n = tw_metrics_render(s, text, TEXT_MAX);
    assert_true(n < TEXT_MAX);
    assert_int_equal(strlen(text), n);
    return text;
}

/* 1 when text has exactly this line */
static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

static int count(const char *text, const char *what)
{
    int n = 0;

    for (const char *p = text; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    return n;
}

static void test_samples_from_values(void **state)
{
    struct tw_metrics_snapshot s;
    char line[256];

    (void)state;
    sample_snapshot(&s);
    char *text = render(&s);

    assert_true(has_line(text, "tapwatch_build_info{version=\"0.1.0\"} 1"));
    assert_true(has_line(text, "tapwatch_process_start_time_seconds 1700000000.250"));
    snprintf(line, sizeof(line), "tapwatch_packets_total{stage=\"received\"} %u", 1000 + TW_C_RECEIVED);
    assert_true(has_line(text, line));
    snprintf(line, sizeof(line), "tapwatch_packets_total{stage=\"parsed\"} %u", 1000 + TW_C_PARSED);
    assert_true(has_line(text, line));
    /* every drop reason of the X-macro list, and no other counter, as a reason */
    int drops = 0;
    for (unsigned i = 0; i < TW_C__COUNT; i++) {
        snprintf(line, sizeof(line), "tapwatch_packets_dropped_total{reason=\"%s\"} %u",
                 tw_counter_name(i), 1000 + i);
        assert_int_equal(has_line(text, line), tw_counter_is_drop(i));
        drops += tw_counter_is_drop(i);
    }
    assert_int_equal(count(text, "tapwatch_packets_dropped_total{"), drops);
    snprintf(line, sizeof(line), "tapwatch_flows_ended_total{reason=\"idle\"} %u", 1000 + TW_C_FLOWS_END_IDLE);
    assert_true(has_line(text, line));
    snprintf(line, sizeof(line), "tapwatch_flows_ended_total{reason=\"tcp_close\"} %u",
             1000 + TW_C_FLOWS_END_TCP_CLOSE);
    assert_true(has_line(text, line));
    snprintf(line, sizeof(line), "tapwatch_ndpi_flows_total{result=\"guessed\"} %u", 1000 + TW_C_FLOWS_GUESSED);
    assert_true(has_line(text, line));
    snprintf(line, sizeof(line), "tapwatch_flows_created_total %u", 1000 + TW_C_FLOWS_CREATED);
    assert_true(has_line(text, line));
    snprintf(line, sizeof(line), "tapwatch_events_ring_dropped_total %u", 1000 + TW_C_EVENTS_RING_DROPPED);
    assert_true(has_line(text, line));
    assert_true(has_line(text, "tapwatch_source_packets_lost_total{reason=\"imissed\"} 5"));
    assert_true(has_line(text, "tapwatch_source_packets_lost_total{reason=\"rx_nombuf\"} 7"));
    assert_true(has_line(text, "tapwatch_flows_active 42"));
    assert_true(has_line(text, "# TYPE tapwatch_flows_active gauge"));
    assert_true(has_line(text, "tapwatch_event_ring_used_events 3"));
    assert_true(has_line(text, "tapwatch_event_ring_size_events 16383"));
    assert_true(has_line(text, "tapwatch_flow_events_total{kind=\"end\"} 30"));
    assert_true(has_line(text, "tapwatch_redis_up{output=\"redis-flows\"} 1"));
    assert_true(has_line(text, "tapwatch_redis_up{output=\"redis-alerts\"} 0"));
    assert_true(has_line(text, "tapwatch_records_written_total{output=\"flows-jsonl\"} 950"));
    snprintf(line, sizeof(line), "tapwatch_alerts_total{kind=\"%s\"} %u",
             tw_alert_kind_name(TW_ALERT__COUNT - 1), 100 + TW_ALERT__COUNT - 1);
    assert_true(has_line(text, line));
    assert_int_equal(count(text, "tapwatch_alerts_total{"), TW_ALERT__COUNT);
    assert_true(has_line(text, "tapwatch_policy_reloads_total{result=\"success\"} 2"));
    assert_true(has_line(text, "tapwatch_policy_reloads_total{result=\"failure\"} 1"));
    assert_true(has_line(text, "tapwatch_policy_last_reload_success 0"));
    free(text);

    s.policy = 0; /* no policy: no alert families at all */
    text = render(&s);
    assert_int_equal(count(text, "tapwatch_alerts_total"), 0);
    assert_int_equal(count(text, "tapwatch_policy_"), 0);
    free(text);
}

/* Each family once, its samples right after its HELP and TYPE, counters named *_total, and
 * every sample line "name{...} value" or "name value" of the family declared last. */
static void test_families_are_whole(void **state)
{
    struct tw_metrics_snapshot s;
    char family[128] = "", type[16] = "", *save = NULL;

    (void)state;
    sample_snapshot(&s);
    char *text = render(&s);
    assert_int_equal(count(text, "# TYPE tapwatch_redis_up gauge\n"), 1);
    assert_int_equal(count(text, "# TYPE tapwatch_records_written_total counter\n"), 1);
    assert_true(strstr(text, "# TYPE tapwatch_records_written_total counter\n"
                             "tapwatch_records_written_total{output=\"redis-flows\"} 900\n"
                             "tapwatch_records_written_total{output=\"flows-jsonl\"} 950\n") != NULL);
    assert_true(strstr(text, "tapwatch_redis_up{output=\"redis-flows\"} 1\n"
                             "tapwatch_redis_up{output=\"redis-alerts\"} 0\n") != NULL);

    char *copy = strdup(text);
    int families = 0;
    for (char *l = strtok_r(copy, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
        if (strncmp(l, "# HELP ", 7) == 0)
            continue;
        if (strncmp(l, "# TYPE ", 7) == 0) {
            assert_int_equal(sscanf(l, "# TYPE %127s %15s", family, type), 2);
            char decl[160];
            snprintf(decl, sizeof(decl), "# TYPE %s ", family);
            assert_int_equal(count(text, decl), 1); /* declared once */
            size_t fl = strlen(family);
            if (strcmp(type, "counter") == 0)
                assert_true(fl > 6 && strcmp(family + fl - 6, "_total") == 0);
            else
                assert_string_equal(type, "gauge");
            families++;
            continue;
        }
        size_t fl = strlen(family);
        assert_true(fl > 0);
        assert_memory_equal(l, family, fl);
        assert_true(l[fl] == ' ' || l[fl] == '{');
    }
    assert_true(families > 20);
    free(copy);
    free(text);
}

/* Label values from outside (a version string, an output's name): \ " and newline escaped as
 * the text format says; HELP text escapes \ and newline only. */
static void test_label_escaping(void **state)
{
    struct tw_metrics_snapshot s;

    (void)state;
    sample_snapshot(&s);
    s.version = "1.0\\beta \"x\"\nnext";
    snprintf(s.sinks[1].output, sizeof(s.sinks[1].output), "a\"b\\c\nd");
    s.sinks[1].m[0].help = "line one\nback\\slash \"quoted\"";
    s.sinks[0].m[1].help = s.sinks[1].m[0].help; /* the family's HELP is its first sink's */
    char *text = render(&s);
    assert_true(has_line(text, "tapwatch_build_info{version=\"1.0\\\\beta \\\"x\\\"\\nnext\"} 1"));
    assert_true(has_line(text, "tapwatch_records_written_total{output=\"a\\\"b\\\\c\\nd\"} 950"));
    assert_true(has_line(text, "# HELP tapwatch_records_written_total line one\\nback\\\\slash \"quoted\""));
    /* no raw newline inside any line: every line starts with '#' or a metric name */
    for (const char *p = text; *p; p = strchr(p, '\n') + 1)
        assert_true(*p == '#' || strncmp(p, "tapwatch_", 9) == 0);
    free(text);
}

/* A buffer too small: cut, NUL-terminated, and the length the whole text needs returned. */
static void test_small_buffer(void **state)
{
    struct tw_metrics_snapshot s;
    char small[100];

    (void)state;
    sample_snapshot(&s);
    char *text = render(&s);
    size_t full = strlen(text);
    memset(small, 'X', sizeof(small));
    assert_int_equal(tw_metrics_render(&s, small, sizeof(small)), full);
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, text, sizeof(small) - 1);
    assert_int_equal(tw_metrics_render(&s, NULL, 0), full);
    free(text);
}

/* The board: nothing before the first publication, then the latest copy. */
static void test_board(void **state)
{
    struct tw_metrics_board *b = tw_metrics_board_new();
    struct tw_metrics_snapshot s, got;

    (void)state;
    assert_non_null(b);
    assert_int_equal(tw_metrics_board_read(b, &got), -1);
    sample_snapshot(&s);
    assert_int_equal(tw_metrics_board_publish(b, &s, 0), 0);
    s.active_flows = 43;
    assert_int_equal(tw_metrics_board_publish(b, &s, 1), 0);
    assert_int_equal(tw_metrics_board_read(b, &got), 0);
    assert_int_equal(got.active_flows, 43);
    assert_int_equal(got.counters[TW_C_RECEIVED], s.counters[TW_C_RECEIVED]);
    assert_int_equal(got.n_sinks, 3);
    assert_string_equal(got.sinks[2].output, "redis-alerts");
    tw_metrics_board_free(b);
}

/* The outputs' pairs through the list: a JSON lines output of flows labels itself
 * "flows-jsonl" and counts what it wrote; the text then carries them. */
static void test_sink_pairs(void **state)
{
    char path[] = "/tmp/tw-test-metrics-XXXXXX", err[256];
    struct tw_sinks l;
    struct tw_sink s;
    struct tw_flow_record r;
    struct tw_metrics_snapshot snap;
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    tw_sinks_init(&l, "t");
    assert_int_equal(tw_sink_jsonl_open(&s, path, TW_TAKES_END, "--flows-jsonl", err, sizeof(err)), 0);
    assert_int_equal(tw_sinks_add(&l, &s), 0);
    memset(&r, 0, sizeof(r));
    r.event = TW_EVENT_END;
    r.ip_version = 4;
    tw_sinks_flow(&l, &r);
    tw_sinks_flow(&l, &r);
    memset(&snap, 0, sizeof(snap));
    snap.n_sinks = tw_sinks_metrics(&l, snap.sinks, TW_SINKS_MAX);
    assert_int_equal(snap.n_sinks, 1);
    assert_string_equal(snap.sinks[0].output, "flows-jsonl");
    char *text = render(&snap);
    assert_true(has_line(text, "tapwatch_records_written_total{output=\"flows-jsonl\"} 2"));
    assert_true(has_line(text, "tapwatch_output_write_errors_total{output=\"flows-jsonl\"} 0"));
    free(text);
    tw_sinks_close(&l);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_from_values),
        cmocka_unit_test(test_families_are_whole),
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_small_buffer),
        cmocka_unit_test(test_board),
        cmocka_unit_test(test_sink_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
