/* test_config.c - the configuration loader: defaults, duration forms, overrides, good
 * files, and one test per broken fixture (tests/fixtures/config/bad-*.yaml).
 *
 * Each broken fixture states its error on its first line, "# expect: MESSAGE". MESSAGE
 * starting with the file's own name is what tw_config_load must say (with the fixture
 * folder in front, as the path was given); any other MESSAGE is a cross-field rule: the
 * file must load and tw_config_validate must say it.
 *
 * Run from the repository root, or set TW_FIXTURES to the fixture folder and
 * TW_EXAMPLE_CONFIG to config/tapwatch.yaml.
 */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "control/plane/config.h"
#include "control/plane/reload.h"
#include "dataplane/parse.h"

#define ERR_LEN 512

static const char *fixture_dir(void)
{
    const char *d = getenv("TW_FIXTURES");
    return d && *d ? d : "tests/fixtures/config";
}

static const char *example_config(void)
{
    const char *p = getenv("TW_EXAMPLE_CONFIG");
    return p && *p ? p : "config/tapwatch.yaml";
}

static void fixture_path(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", fixture_dir(), name);
}

/* Loads a file over the defaults and asserts it loads and validates. */
static void load_ok(const char *path, struct tw_config *cfg)
{
    char err[ERR_LEN] = "";

    tw_config_defaults(cfg);
    if (tw_config_load(cfg, path, err, sizeof(err)) != 0)
        fail_msg("%s should load: %s", path, err);
    if (tw_config_validate(cfg, err, sizeof(err)) != 0)
        fail_msg("%s should validate: %s", path, err);
}

static void test_defaults(void **state)
{
    (void)state;
    struct tw_config c;
    char err[ERR_LEN];

    tw_config_defaults(&c);
    assert_string_equal(c.sensor, "tapwatch");
    assert_int_equal(c.workers, 1);
    assert_int_equal(c.ring_size, 16384);
    assert_int_equal(c.burst, 32);
    assert_int_equal(c.mbufs, 8191);
    assert_int_equal(c.stats_interval_s, 1);
    assert_string_equal(c.run_dir, "run");
    assert_string_equal(c.policy_file, "");
    assert_true(c.promiscuous);
    assert_int_equal(c.flow_table.capacity, 262144);
    assert_int_equal(c.flow_table.idle_timeout_s, 120);
    assert_int_equal(c.flow_table.active_timeout_s, 300);
    assert_int_equal(c.flow_table.tcp_close_timeout_s, 10);
    assert_string_equal(c.redis.url, "");
    assert_int_equal(c.redis.hot_window_s, 7 * 86400);
    assert_int_equal(c.redis.retention_s, 180 * 86400);
    assert_int_equal(c.redis.batch, 512);
    assert_int_equal(c.redis.buffer_records, 262144);
    assert_int_equal(c.redis.flush_ms, 100);
    /* A default that broke its own row's bounds would be caught here. */
    if (tw_config_validate(&c, err, sizeof(err)) != 0)
        fail_msg("defaults do not validate: %s", err);
}

static void test_duration_forms(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint32_t seconds;
    } good[] = {
        {"0", 0},         {"30", 30},       {"30s", 30},          {"5m", 300},
        {"2h", 7200},     {"7d", 604800},   {"180d", 15552000},   {"4294967295", 4294967295u},
        {"49710d", 4294944000u}, {"0d", 0}, {"007s", 7},
    };
    static const char *const bad[] = {
        "", "s", "-5", "+5", "1.5h", "5 m", " 5m", "5m ", "5M", "5ms", "2w", "1h30m",
        "4294967296", "49711d", "99999999999999999999", "0x10", "5mm",
    };
    uint32_t s;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        s = 12345;
        if (tw_parse_duration(good[i].text, &s) != 0)
            fail_msg("\"%s\" should parse", good[i].text);
        assert_int_equal(s, good[i].seconds);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s = 12345;
        if (tw_parse_duration(bad[i], &s) == 0)
            fail_msg("\"%s\" should be refused", bad[i]);
        assert_int_equal(s, 12345); /* untouched on failure */
    }
}

static void test_good_minimal(void **state)
{
    (void)state;
    struct tw_config c, d;
    char path[512];

    fixture_path("good-minimal.yaml", path, sizeof(path));
    load_ok(path, &c);
    tw_config_defaults(&d);
    assert_string_equal(c.sensor, "branch-0142");
    /* Everything else stays at its default. */
    memcpy(d.sensor, c.sensor, sizeof(d.sensor));
    assert_memory_equal(&c, &d, sizeof(c));
}

static void test_good_full(void **state)
{
    (void)state;
    struct tw_config c;
    char path[512];

    fixture_path("good-full.yaml", path, sizeof(path));
    load_ok(path, &c);
    assert_string_equal(c.sensor, "Branch_0142.core-a");
    assert_int_equal(c.workers, 4);
    assert_int_equal(c.ring_size, 65536);
    assert_int_equal(c.burst, 64);
    assert_int_equal(c.mbufs, 65535);
    assert_int_equal(c.stats_interval_s, 0);
    assert_string_equal(c.run_dir, "/var/lib/tapwatch");
    assert_string_equal(c.policy_file, "config/policy.yaml");
    assert_false(c.promiscuous);
    assert_int_equal(c.flow_table.capacity, 1048576);
    assert_int_equal(c.flow_table.idle_timeout_s, 90);
    assert_int_equal(c.flow_table.active_timeout_s, 0);
    assert_int_equal(c.flow_table.tcp_close_timeout_s, 5);
    assert_string_equal(c.redis.url, "unix:///run/redis/redis.sock");
    assert_int_equal(c.redis.hot_window_s, 2 * 86400);
    assert_int_equal(c.redis.retention_s, 400 * 86400);
    assert_int_equal(c.redis.batch, 1024);
    assert_int_equal(c.redis.buffer_records, 1048576);
    assert_int_equal(c.redis.flush_ms, 2000);
}

static void test_good_durations(void **state)
{
    (void)state;
    struct tw_config c;
    char path[512];

    fixture_path("good-durations.yaml", path, sizeof(path));
    load_ok(path, &c);
    assert_int_equal(c.stats_interval_s, 30);
    assert_int_equal(c.flow_table.idle_timeout_s, 45);
    assert_int_equal(c.flow_table.active_timeout_s, 300);
    assert_int_equal(c.flow_table.tcp_close_timeout_s, 0);
    assert_int_equal(c.redis.hot_window_s, 7200);
    assert_int_equal(c.redis.retention_s, 7 * 86400);
    assert_int_equal(c.redis.flush_ms, 250);
}

static void test_good_flow_style(void **state)
{
    (void)state;
    struct tw_config c;
    char path[512];

    fixture_path("good-flow-style.yaml", path, sizeof(path));
    load_ok(path, &c);
    assert_string_equal(c.sensor, "dc1-tap");
    assert_int_equal(c.workers, 2);
    assert_true(c.promiscuous);
    assert_int_equal(c.flow_table.capacity, 4096);
    assert_int_equal(c.flow_table.idle_timeout_s, 60);
    assert_int_equal(c.redis.batch, 512);
}

/* The example must load, validate, set every key (a key it forgot would keep whatever
 * was in the struct before) and document the defaults. */
static void test_example_config(void **state)
{
    (void)state;
    struct tw_config zero, ones, def;
    char err[ERR_LEN], a[300], b[300], d[300];
    const char *key;

    memset(&zero, 0x00, sizeof(zero));
    memset(&ones, 0xff, sizeof(ones));
    if (tw_config_load(&zero, example_config(), err, sizeof(err)) != 0 ||
        tw_config_load(&ones, example_config(), err, sizeof(err)) != 0)
        fail_msg("%s should load: %s", example_config(), err);
    if (tw_config_validate(&zero, err, sizeof(err)) != 0)
        fail_msg("%s should validate: %s", example_config(), err);
    tw_config_defaults(&def);
    for (size_t i = 0; (key = tw_config_key_name(i)) != NULL; i++) {
        assert_int_equal(tw_config_get(&zero, key, a, sizeof(a)), 0);
        assert_int_equal(tw_config_get(&ones, key, b, sizeof(b)), 0);
        assert_int_equal(tw_config_get(&def, key, d, sizeof(d)), 0);
        if (strcmp(a, b) != 0)
            fail_msg("%s does not set %s", example_config(), key);
        if (strcmp(a, d) != 0)
            fail_msg("%s: %s is %s, the default is %s", example_config(), key, a, d);
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    struct tw_config c;
    char err[ERR_LEN], path[512], want[600];

    tw_config_defaults(&c);
    fixture_path("no-such-file.yaml", path, sizeof(path));
    assert_int_equal(tw_config_load(&c, path, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    assert_string_equal(err, want);

    assert_int_equal(tw_config_load(&c, fixture_dir(), err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: Is a directory", fixture_dir());
    assert_string_equal(err, want);
}

/* A file that fails half-way leaves the caller's values as they were. */
static void test_load_error_keeps_config(void **state)
{
    (void)state;
    struct tw_config c, before;
    char err[ERR_LEN], path[512];

    tw_config_defaults(&c);
    /* bad-duplicate.yaml sets idle_timeout and capacity before failing. */
    fixture_path("bad-duplicate.yaml", path, sizeof(path));
    before = c;
    assert_int_equal(tw_config_load(&c, path, err, sizeof(err)), -1);
    assert_memory_equal(&c, &before, sizeof(c));
}

static void test_set_and_get(void **state)
{
    (void)state;
    struct tw_config c, before;
    char err[ERR_LEN], buf[300];
    const char *key;

    tw_config_defaults(&c);
    assert_int_equal(tw_config_set(&c, "flow_table.idle_timeout", "1h", err, sizeof(err)), 0);
    assert_int_equal(c.flow_table.idle_timeout_s, 3600);
    assert_int_equal(tw_config_set(&c, "redis.url", "redis://127.0.0.1:6379", err, sizeof(err)), 0);
    assert_string_equal(c.redis.url, "redis://127.0.0.1:6379");
    assert_int_equal(tw_config_set(&c, "promiscuous", "off", err, sizeof(err)), 0);
    assert_false(c.promiscuous);

    before = c;
    assert_int_equal(tw_config_set(&c, "workers", "65", err, sizeof(err)), -1);
    assert_string_equal(err, "workers: expected an integer from 1 to 64, got \"65\"");
    assert_int_equal(tw_config_set(&c, "flow_table", "1", err, sizeof(err)), -1);
    assert_string_equal(err, "flow_table: unknown key");
    assert_int_equal(tw_config_set(&c, "redis.url", "redis://", err, sizeof(err)), -1);
    assert_memory_equal(&c, &before, sizeof(c));

    /* What get writes, set reads back to the same value, for every key. */
    for (size_t i = 0; (key = tw_config_key_name(i)) != NULL; i++) {
        assert_int_equal(tw_config_get(&c, key, buf, sizeof(buf)), 0);
        if (tw_config_set(&c, key, buf, err, sizeof(err)) != 0)
            fail_msg("%s: \"%s\" does not read back: %s", key, buf, err);
    }
    assert_memory_equal(&c, &before, sizeof(c));

    assert_int_equal(tw_config_get(&c, "flow_table.idle_timeout", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "1h");
    assert_int_equal(tw_config_get(&c, "redis.flush_interval", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "100ms");
    assert_int_equal(tw_config_get(&c, "nope", buf, sizeof(buf)), -1);
    assert_int_equal(tw_config_get(&c, "sensor", buf, 4), -1); /* "tapwatch" does not fit */
}

/* The rules between keys, and the bounds again, for values set after loading. */
/* decap: the switches and port lists become the decoder's settings. */
static void test_decap(void **state)
{
    struct tw_config cfg;
    struct tw_parse_settings s;
    char err[256];
    (void)state;

    tw_config_defaults(&cfg);
    tw_config_parse_settings(&cfg, &s);
    assert_int_equal(s.decap, TW_DECAP_ALL);
    assert_int_equal(s.vxlan_ports[0], 4789);
    assert_int_equal(s.vxlan_ports[1], 0);
    assert_int_equal(s.geneve_ports[0], 6081);
    assert_int_equal(s.gtpu_port, 2152);

    assert_int_equal(tw_config_set(&cfg, "decap.vxlan_ports", "4789,8472", err, sizeof(err)), 0);
    assert_int_equal(tw_config_set(&cfg, "decap.gtpu", "false", err, sizeof(err)), 0);
    assert_int_equal(tw_config_set(&cfg, "decap.erspan", "false", err, sizeof(err)), 0);
    tw_config_parse_settings(&cfg, &s);
    assert_int_equal(s.decap, TW_DECAP_ALL & ~(TW_DECAP_GTPU | TW_DECAP_ERSPAN));
    assert_int_equal(s.vxlan_ports[0], 4789);
    assert_int_equal(s.vxlan_ports[1], 8472);

    static const char *bad[] = {"", "0", "65536", "1,2,3,4,5", "4789,", ",4789", "47 89", "x",
                                "4789;8472", "-1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (tw_config_set(&cfg, "decap.geneve_ports", bad[i], err, sizeof(err)) == 0)
            fail_msg("accepted decap.geneve_ports \"%s\"", bad[i]);
        assert_non_null(strstr(err, "decap.geneve_ports"));
    }
    assert_int_equal(tw_config_set(&cfg, "decap.geneve_ports", "1,2,3,65535", err, sizeof(err)), 0);
}

static void test_validate(void **state)
{
    (void)state;
    struct tw_config c;
    char err[ERR_LEN];

    tw_config_defaults(&c);
    c.flow_table.capacity = 512; /* e.g. from a command-line option that skipped set */
    assert_int_equal(tw_config_validate(&c, err, sizeof(err)), -1);
    assert_string_equal(err, "flow_table.capacity: expected an integer from 1024 to 67108864, got 512");

    tw_config_defaults(&c);
    c.ring_size = 3000;
    assert_int_equal(tw_config_validate(&c, err, sizeof(err)), -1);
    assert_string_equal(err, "ring_size: expected a power of two from 1024 to 16777216, got 3000");

    tw_config_defaults(&c);
    c.flow_table.active_timeout_s = 0; /* off is always fine */
    c.flow_table.idle_timeout_s = 86400;
    assert_int_equal(tw_config_validate(&c, err, sizeof(err)), 0);
    c.flow_table.active_timeout_s = 86400; /* equal to idle is fine */
    assert_int_equal(tw_config_validate(&c, err, sizeof(err)), 0);

    tw_config_defaults(&c);
    memset(c.sensor, 'a', sizeof(c.sensor)); /* no terminating NUL */
    assert_int_equal(tw_config_validate(&c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "sensor: expected 1 to 63 characters"));
}

/* ---- one test per broken fixture ------------------------------------------------------ */

static void test_bad_fixture(void **state)
{
    const char *path = *state;
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char line[ERR_LEN], want[ERR_LEN + 256], err[ERR_LEN] = "";
    struct tw_config c;
    FILE *f = fopen(path, "r");

    assert_non_null(f);
    if (fgets(line, sizeof(line), f) == NULL || strncmp(line, "# expect: ", 10) != 0) {
        fclose(f);
        fail_msg("%s: first line must be \"# expect: MESSAGE\"", path);
    }
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    const char *expect = line + 10;

    tw_config_defaults(&c);
    int loaded = tw_config_load(&c, path, err, sizeof(err));
    if (strncmp(expect, base, strlen(base)) == 0) {
        /* The loader names the path as it was given: the fixture folder comes first. */
        snprintf(want, sizeof(want), "%.*s%s", (int)(base - path), path, expect);
        if (loaded == 0)
            fail_msg("%s loaded, expected: %s", path, want);
    } else {
        snprintf(want, sizeof(want), "%s", expect);
        if (loaded != 0)
            fail_msg("%s should load (the error is a cross-field one): %s", path, err);
        if (tw_config_validate(&c, err, sizeof(err)) == 0)
            fail_msg("%s validated, expected: %s", path, want);
    }
    assert_string_equal(err, want);
    assert_null(strchr(err, '\n'));
}

static const char *readme(void)
{
    const char *p = getenv("TW_README");
    return p && *p ? p : "README.md";
}

/* The keys a reload applies are the rows flagged reload in config.c; the reload knows how
 * to apply each of those and no other; README's "Reloading" table lists exactly those. */
static void test_reloadable_keys(void **state)
{
    (void)state;
    char line[1024], listed[64][64];
    size_t nlisted = 0, nflagged = 0;
    const char *key;
    int in_section = 0;
    FILE *f = fopen(readme(), "r");

    if (f == NULL)
        fail_msg("%s: cannot open (run from the repo root or set TW_README)", readme());
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strcmp(line, "### Reloading\n") == 0) {
            in_section = 1;
            continue;
        }
        if (in_section && line[0] == '#')
            break;
        char name[64];
        if (in_section && sscanf(line, "| `%63[^`]` |", name) == 1 && nlisted < 64)
            snprintf(listed[nlisted++], sizeof(listed[0]), "%s", name);
    }
    fclose(f);
    if (!in_section)
        fail_msg("%s has no \"### Reloading\" section", readme());
    for (size_t i = 0; (key = tw_config_key_name(i)) != NULL; i++) {
        int in_readme = 0;
        for (size_t j = 0; j < nlisted; j++)
            in_readme |= strcmp(listed[j], key) == 0;
        if (tw_config_key_reloads(i) && !tw_reload_applies(key))
            fail_msg("%s is flagged reload in config.c, reload.c cannot apply it", key);
        if (!tw_config_key_reloads(i) && tw_reload_applies(key))
            fail_msg("reload.c applies %s, config.c does not flag it", key);
        if (tw_config_key_reloads(i) != in_readme)
            fail_msg("%s: flagged reload %d in config.c, listed %d in README's Reloading", key,
                     tw_config_key_reloads(i), in_readme);
        nflagged += (size_t)tw_config_key_reloads(i);
    }
    assert_int_equal(nlisted, nflagged);
    assert_true(nflagged >= 4);
    assert_int_equal(tw_config_key_reloads(9999), 0);
}

/* dedup_window: microseconds, with us, ms or s; bounded at 1 s; printed back in its unit. */
static void test_dedup_window(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint32_t us;
    } good[] = {{"0", 0}, {"100", 100}, {"100us", 100}, {"2ms", 2000}, {"1s", 1000000}};
    static const char *const bad[] = {"-1", "1.5ms", "2s", "1000001", "100 us", "5m", "1h"};
    struct tw_config c;
    char err[ERR_LEN], buf[32];

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        tw_config_defaults(&c);
        if (tw_config_set(&c, "dedup_window", good[i].text, err, sizeof(err)) != 0)
            fail_msg("\"%s\" should be accepted: %s", good[i].text, err);
        assert_int_equal(c.dedup_window_us, good[i].us);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tw_config_defaults(&c);
        if (tw_config_set(&c, "dedup_window", bad[i], err, sizeof(err)) == 0)
            fail_msg("\"%s\" should be refused", bad[i]);
    }
    assert_int_equal(tw_config_set(&c, "dedup_window", "2s", err, sizeof(err)), -1);
    assert_string_equal(err, "dedup_window: expected a duration from 0 to 1s (e.g. 100us, 1ms), got \"2s\"");
    tw_config_defaults(&c);
    assert_int_equal(c.dedup_window_us, 0); /* off by default */
    assert_int_equal(tw_config_set(&c, "dedup_window", "100us", err, sizeof(err)), 0);
    assert_int_equal(tw_config_get(&c, "dedup_window", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "100us");
    assert_int_equal(tw_config_set(&c, "dedup_window", "3000", err, sizeof(err)), 0);
    assert_int_equal(tw_config_get(&c, "dedup_window", buf, sizeof(buf)), 0);
    assert_string_equal(buf, "3ms");
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_dedup_window),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_duration_forms),
        cmocka_unit_test(test_good_minimal),
        cmocka_unit_test(test_good_full),
        cmocka_unit_test(test_good_durations),
        cmocka_unit_test(test_good_flow_style),
        cmocka_unit_test(test_example_config),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_load_error_keeps_config),
        cmocka_unit_test(test_set_and_get),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_reloadable_keys),
        cmocka_unit_test(test_decap),
    };
    char pattern[512];
    glob_t g;
    int failed;

    failed = cmocka_run_group_tests_name("config", fixed, NULL, NULL);

    snprintf(pattern, sizeof(pattern), "%s/bad-*.yaml", fixture_dir());
    if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc < 15) {
        fprintf(stderr, "test_config: fewer than 15 fixtures match %s (set TW_FIXTURES?)\n",
                pattern);
        return 1;
    }
    struct CMUnitTest *bad = calloc(g.gl_pathc, sizeof(*bad));
    if (bad == NULL)
        return 1;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        bad[i].name = strrchr(g.gl_pathv[i], '/') + 1;
        bad[i].test_func = test_bad_fixture;
        bad[i].initial_state = g.gl_pathv[i];
    }
    /* The macro form needs an array of static size; this is the function it calls. */
    failed += _cmocka_run_group_tests("config fixtures", bad, g.gl_pathc, NULL, NULL);
    free(bad);
    globfree(&g);
    return failed == 0 ? 0 : 1;
}
