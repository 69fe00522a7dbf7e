/* test_sink.c - the list of outputs (control/store/sink.h) and the JSON-lines row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "control/store/sink.h"

/* A finished TLS flow 10.0.0.1:40000 -> 10.0.0.2:443 whose SNI is 95 control bytes (0x01,
 * each written \u0001) and which carries every risk nDPI names: about 2.3 KB of JSON, more
 * than the 2048 bytes the writers used to give it. */
static void long_record(struct tw_flow_record *r)
{
    memset(r, 0, sizeof(*r));
    r->flow_id = 0x1122334455667788ULL;
    r->first_seen_us = 1700000000000000ULL;
    r->last_seen_us = 1700000001000000ULL;
    r->ip_version = 4;
    r->ip_proto = 6;
    r->src_ip[0] = 10, r->src_ip[3] = 1;
    r->dst_ip[0] = 10, r->dst_ip[3] = 2;
    r->src_port = 40000;
    r->dst_port = 443;
    r->event = TW_EVENT_END;
    r->end_reason = TW_END_TCP_CLOSE;
    r->risks = ~(uint64_t)0;
    snprintf(r->app, sizeof(r->app), "TLS");
    memset(r->server_name, 0x01, sizeof(r->server_name) - 1);
}

/* Reads the file into a NUL-terminated string (caller frees). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *text = calloc(1, 1 << 16);
    size_t n;

    assert_non_null(f);
    assert_non_null(text);
    n = fread(text, 1, (1 << 16) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static int temp_path(char *path, size_t len)
{
    snprintf(path, len, "/tmp/tw-test-sink.XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* --flows-jsonl gets the long record: one line, valid JSON, the SNI whole. */
static void test_long_record_in_jsonl(void **state)
{
    static struct tw_sinks l; /* static: the list holds the encode buffer */
    struct tw_sink s;
    struct tw_flow_record r;
    char path[64], err[256];
    (void)state;

    assert_int_equal(temp_path(path, sizeof(path)), 0);
    tw_sinks_init(&l, "t");
    assert_int_equal(tw_sink_jsonl_open(&s, path, TW_TAKES_END, "--flows-jsonl", err, sizeof(err)), 0);
    assert_int_equal(tw_sinks_add(&l, &s), 0);
    long_record(&r);
    tw_sinks_flow(&l, &r);
    tw_sinks_drain(&l, 0);
    tw_sinks_close(&l);
    char *text = slurp(path);
    unlink(path);
    print_message("line of %zu bytes\n", strlen(text));
    assert_int_equal(l.encode_errors, 0);
    assert_true(strlen(text) > 2048);
    assert_int_equal(text[strlen(text) - 1], '\n');
    assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1); /* one line */
    json_object *o = json_tokener_parse(text), *v;
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "server_name", &v));
    assert_int_equal(json_object_get_string_len(v), sizeof(r.server_name) - 1);
    assert_true(json_object_object_get_ex(o, "risks", &v));
    assert_true(json_object_array_length(v) >= 50);
    json_object_put(o);
    free(text);
}

/* A sink that remembers what it was handed. */
struct seen {
    int flows, alerts, summaries;
    const char *json;
    size_t len;
};

static int seen_flow(void *ctx, const struct tw_flow_record *r, const char *json, size_t len)
{
    struct seen *s = ctx;
    (void)r;
    s->flows++;
    s->json = json;
    s->len = len;
    return 0;
}

static int seen_alert(void *ctx, const struct tw_alert *a, const char *json, size_t len)
{
    struct seen *s = ctx;
    (void)a;
    s->alerts++;
    s->json = json;
    s->len = len;
    return 0;
}

static int seen_summary(void *ctx, const struct tw_summary_item *it)
{
    struct seen *s = ctx;
    (void)it;
    s->summaries++;
    return 0;
}

static const struct tw_sink_ops text_ops = {.name = "text", .json = 1, .put_flow = seen_flow,
                                            .put_alert = seen_alert};
static const struct tw_sink_ops struct_ops = {.name = "struct", .json = 0, .put_flow = seen_flow,
                                              .put_alert = seen_alert,
                                              .put_summary = seen_summary};

/* Each item goes to the sinks that take it; the text is made once and shared; a sink that
 * does not read text gets none. */
static void test_routing_and_one_encoding(void **state)
{
    static struct tw_sinks l;
    struct seen a = {0}, b = {0}, c = {0};
    struct tw_flow_record r;
    struct tw_alert al;
    struct tw_summary_item it;
    (void)state;

    tw_sinks_init(&l, "t");
    tw_sinks_add(&l, &(struct tw_sink){.ops = &text_ops, .ctx = &a, .takes = TW_TAKES_END});
    tw_sinks_add(&l, &(struct tw_sink){.ops = &text_ops, .ctx = &b,
                                       .takes = TW_TAKES_END | TW_TAKES_UPDATE | TW_TAKES_ALERT});
    tw_sinks_add(&l, &(struct tw_sink){.ops = &struct_ops, .ctx = &c, .takes = TW_TAKES_ALERTS});
    long_record(&r);
    r.risks = 1ull << 6; /* an ordinary record: this test is about routing */
    memset(r.server_name, 0, sizeof(r.server_name));
    tw_sinks_flow(&l, &r);
    assert_int_equal(a.flows, 1);
    assert_int_equal(b.flows, 1);
    assert_int_equal(c.flows, 0);
    assert_non_null(a.json);
    assert_ptr_equal(a.json, b.json); /* one encoding */
    assert_int_equal(a.len, strlen(a.json));
    r.event = TW_EVENT_UPDATE;
    tw_sinks_flow(&l, &r);
    r.event = TW_EVENT_CLASSIFIED;
    tw_sinks_flow(&l, &r);
    assert_int_equal(a.flows, 1);
    assert_int_equal(b.flows, 2);

    memset(&al, 0, sizeof(al));
    al.ip_version = 4;
    al.record_hour = TW_HOUR_UNKNOWN;
    tw_sinks_alert(&l, &al);
    assert_int_equal(b.alerts, 1);
    assert_non_null(strstr(b.json, "\"kind\":"));
    assert_int_equal(c.alerts, 1);
    assert_null(c.json);
    assert_int_equal(c.len, 0);
    memset(&it, 0, sizeof(it));
    tw_sinks_summary(&l, &it);
    assert_int_equal(c.summaries, 1);
    assert_int_equal(l.refused, 0);
    assert_true(tw_sinks_takes(&l, TW_TAKES_SUMMARY));
    assert_false(tw_sinks_takes(&l, TW_TAKES_COUNTERS));
    tw_sinks_close(&l);
}

/* The alert writer's hold file (alert_writer.c, the persist op of the Redis alerts row): what
 * a run with Redis down keeps comes back first at the next start, also into a smaller
 * redis.alert_buffer, whose ring then doubles until the held items fit. */
static void test_alert_hold(void **state)
{
    char dir[] = "/tmp/tw_hold_XXXXXX", path[64], err[256];
    struct tw_alert_store_params p = {
        .w = {.url = "unix:///nonexistent/tw.sock", .sensor = "t", .retention_s = 60,
              .batch = 2, .flush_ms = 10},
        .buffer_items = 4,
    };
    struct tw_alert_store_stats st;
    struct tw_alert_store *s;
    struct tw_alert a;
    (void)state;

    memset(&a, 0, sizeof(a));
    assert_non_null(mkdtemp(dir));
    p.w.run_dir = dir;
    s = tw_alert_store_open(&p, err, sizeof(err));
    assert_non_null(s);
    for (int i = 0; i < 4; i++)
        assert_int_equal(tw_alert_store_put_alert(s, &a), 0);
    assert_int_equal(tw_alert_store_put_alert(s, &a), -1); /* full */
    assert_int_equal(tw_alert_store_hold(s), 0);
    tw_alert_store_get_stats(s, &st);
    assert_int_equal(st.held, 4);
    assert_int_equal(st.pending, 4);
    tw_alert_store_close(s);

    p.buffer_items = 3; /* 4 held: the ring grows to 6 */
    s = tw_alert_store_open(&p, err, sizeof(err));
    assert_non_null(s);
    tw_alert_store_get_stats(s, &st);
    assert_int_equal(st.recovered, 4);
    assert_int_equal(st.pending, 4);
    assert_int_equal(tw_alert_store_put_alert(s, &a), 0);
    assert_int_equal(tw_alert_store_put_alert(s, &a), 0);
    assert_int_equal(tw_alert_store_put_alert(s, &a), -1);
    tw_alert_store_close(s);

    snprintf(path, sizeof(path), "%s/redis-alerts-t.dat", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* The notes of the Redis rows, word for word as the operator reads them (and as
 * test_redis_outage.sh looks for them). */
static void test_carry_notes(void **state)
{
    struct tw_sink_carry c = {.url = "unix:///run/r.sock", .path = "run/x.dat",
                              .noun = "flow records", .recovered = 3};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    (void)state;

    assert_non_null(f);
    assert_int_equal(tw_sink_carry_notes(&c, 0, f), 0);
    c.kept = 5;
    assert_int_equal(tw_sink_carry_notes(&c, 1, f), 0); /* kept, none lost */
    c.lost = 2;
    c.why = "cannot connect";
    assert_int_equal(tw_sink_carry_notes(&c, 1, f), -1);
    c.kept = 0;
    c.why = NULL;
    c.noun = "alerts and summary updates";
    assert_int_equal(tw_sink_carry_notes(&c, 1, f), -1);
    fclose(f);
    assert_string_equal(
        text,
        "run/x.dat: 3 flow records of an earlier run waited for Redis; writing them "
        "first\n"
        "Redis unix:///run/r.sock did not come back: 5 flow records wait in run/x.dat; "
        "the next start writes them first\n"
        "Redis unix:///run/r.sock did not come back: 5 flow records wait in run/x.dat; "
        "the next start writes them first\n"
        "Redis unix:///run/r.sock: cannot connect; 2 flow records did not reach Redis\n"
        "Redis unix:///run/r.sock: 2 alerts and summary updates did not reach Redis\n");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_long_record_in_jsonl),
        cmocka_unit_test(test_routing_and_one_encoding),
        cmocka_unit_test(test_alert_hold),
        cmocka_unit_test(test_carry_notes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
