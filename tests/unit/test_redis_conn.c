/* test_redis_conn.c - Redis URLs with credentials, the target, the password file, the error
 * classes (control/store/redis_conn.c), and the ACL key pattern of keys.c.
 *
 * What it shows: every accepted form parses to the host, port, path, user and password it
 * names (%-escapes decoded); hostile URLs are refused with a reason, and no message (nor the
 * URL kept for messages) ever holds the password; the password moves into the target and is
 * wiped from the parsed URL; a password file must be owner-only, not a symlink, not empty;
 * NOAUTH/WRONGPASS/NOPERM/READONLY are configuration errors, not transient ones; the ACL
 * pattern of s1 matches every key of s1 and none of s10. */
#include <fcntl.h>
#include <fnmatch.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/record/keys.h"
#include "control/store/redis_conn.h"
#include "control/store/redis_transport.h"

#define SECRET "s3cr3t-P4ss"

static void test_good_urls(void **state)
{
    struct tw_redis_url u;
    char err[256];
    (void)state;

    assert_int_equal(tw_redis_parse_url("redis://127.0.0.1", &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6379);
    assert_ptr_equal(u.type, &tw_conn_tcp);
    assert_int_equal(u.has_password, 0);

    assert_int_equal(tw_redis_parse_url("redis://sensor:" SECRET "@db.bank:16379", &u, err,
                                        sizeof(err)), 0);
    assert_string_equal(u.user, "sensor");
    assert_string_equal(u.password, SECRET);
    assert_string_equal(u.host, "db.bank");
    assert_int_equal(u.port, 16379);
    assert_string_equal(u.text, "redis://sensor:***@db.bank:16379");

    assert_int_equal(tw_redis_parse_url("redis://:" SECRET "@[::1]:7000/", &u, err, sizeof(err)), 0);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, SECRET);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.text, "redis://:***@[::1]:7000/");

    assert_int_equal(tw_redis_parse_url("rediss://localhost:6380", &u, err, sizeof(err)), 0);
    assert_ptr_equal(u.type, &tw_conn_tls);
    assert_int_equal(u.is_tls, 1);

    /* %-escapes: '@' ':' '/' in a password */
    assert_int_equal(tw_redis_parse_url("rediss://u%40x:p%3a%2F%40w@h", &u, err, sizeof(err)), 0);
    assert_string_equal(u.user, "u@x");
    assert_string_equal(u.password, "p:/@w");
    assert_string_equal(u.host, "h");

    assert_int_equal(tw_redis_parse_url("unix://tapwatch-s1:" SECRET "@/run/redis.sock", &u, err,
                                        sizeof(err)), 0);
    assert_ptr_equal(u.type, &tw_conn_unix);
    assert_string_equal(u.path, "/run/redis.sock");
    assert_string_equal(u.user, "tapwatch-s1");
    assert_string_equal(u.password, SECRET);
    assert_string_equal(u.text, "unix://tapwatch-s1:***@/run/redis.sock");

    assert_int_equal(tw_redis_parse_url("unix://regulator@/run/r.sock", &u, err, sizeof(err)), 0);
    assert_string_equal(u.user, "regulator");
    assert_int_equal(u.has_password, 0);
    assert_int_equal(tw_redis_parse_url("unix:///tmp/a@b/r.sock", &u, err, sizeof(err)), 0);
    assert_string_equal(u.path, "/tmp/a@b/r.sock");
}

/* Each is refused; none of the messages shows the password. */
static void test_hostile_urls(void **state)
{
    static const char *const bad[] = {
        "", "http://u:" SECRET "@h", "redis://", "redis://u:" SECRET "@", "redis://u:" SECRET "@:1",
        "redis://u:" SECRET "@h:0", "redis://u:" SECRET "@h:65536", "redis://u:" SECRET "@h:1x",
        "redis://u:" SECRET "@h/0", "redis://u:" SECRET "@h?password=x", "redis://@h",
        "redis://u:@h", "redis://u%00:" SECRET "@h", "redis://u:" SECRET "%0@h",
        "redis://u:" SECRET "%zz@h", "redis://us er:" SECRET "@h", "redis://u:" SECRET "@h h",
        "redis://u:" SECRET "@[::1", "redis://u:" SECRET "@[::1]x", "unix://u:" SECRET "@rel",
        "unix://u:" SECRET "/x", "rediss://u:" SECRET "@h\r\nx:1",
        "redis://u:" SECRET "@h%0d%0a:1", "redis://" SECRET "@h/db",
    };
    struct tw_redis_url u;
    char err[512], shown[256];
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (tw_redis_parse_url(bad[i], &u, err, sizeof(err)) != -1)
            fail_msg("accepted \"%s\"", bad[i]);
        if (strstr(err, "bad URL") == NULL)
            fail_msg("\"%s\": no reason: \"%s\"", bad[i], err);
        if (strstr(err, SECRET) != NULL || strstr(u.password, SECRET) != NULL)
            fail_msg("\"%s\": the password leaks: \"%s\"", bad[i], err);
        tw_redis_url_redact(bad[i], shown, sizeof(shown));
        if (strstr(shown, SECRET) != NULL)
            fail_msg("redact kept the password of \"%s\": \"%s\"", bad[i], shown);
    }
    char longurl[600];
    memset(longurl, 'a', sizeof(longurl) - 1);
    longurl[sizeof(longurl) - 1] = '\0';
    memcpy(longurl, "redis://u:", 10);
    assert_int_equal(tw_redis_parse_url(longurl, &u, err, sizeof(err)), -1);
}

static void test_mask(void **state)
{
    char a[] = "redis://u:" SECRET "@h:1", b[] = "unix://:pw@/r.sock", c[] = "unix:///r.sock";
    (void)state;

    tw_redis_url_mask(a);
    tw_redis_url_mask(b);
    tw_redis_url_mask(c);
    assert_string_equal(a, "redis://u:***********@h:1");
    assert_string_equal(b, "unix://:**@/r.sock");
    assert_string_equal(c, "unix:///r.sock");
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_target_and_password_file(void **state)
{
    char dir[] = "/tmp/test_redis_conn.XXXXXX", pw[64], link[80], err[512];
    struct tw_redis_options o = {.tls_verify_host = 1};
    struct tw_redis_target *t;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(pw, sizeof(pw), "%s/pw", dir);
    snprintf(link, sizeof(link), "%s/link", dir);

    /* from the URL: kept in the target, gone from the parsed URL */
    t = tw_redis_target_open("redis://s:" SECRET "@h", &o, err, sizeof(err));
    assert_non_null(t);
    assert_string_equal(t->password, SECRET);
    assert_string_equal(t->user, "s");
    assert_string_equal(t->url.password, "");
    assert_string_equal(tw_redis_target_url(t), "redis://s:***@h");
    tw_redis_target_close(t);

    /* from the file: its first line */
    write_file(pw, SECRET "\nsecond line\n", 0600);
    o.user = "tapwatch-s1";
    o.password_file = pw;
    t = tw_redis_target_open("redis://h", &o, err, sizeof(err));
    assert_non_null(t);
    assert_string_equal(t->password, SECRET);
    assert_int_equal(t->password_len, strlen(SECRET));
    assert_string_equal(t->user, "tapwatch-s1");
    tw_redis_target_close(t);

    /* refusals, none showing the password */
    chmod(pw, 0644);
    assert_null(tw_redis_target_open("redis://h", &o, err, sizeof(err)));
    assert_non_null(strstr(err, "mode 0644 is too open"));
    chmod(pw, 0600);
    assert_int_equal(symlink(pw, link), 0);
    o.password_file = link;
    assert_null(tw_redis_target_open("redis://h", &o, err, sizeof(err)));
    assert_non_null(strstr(err, "symbolic link"));
    o.password_file = pw;
    assert_null(tw_redis_target_open("redis://h:" SECRET "@h", &o, err, sizeof(err)));
    assert_null(strstr(err, SECRET));
    assert_null(tw_redis_target_open("redis://other:" SECRET "@h", &o, err, sizeof(err)));
    assert_null(strstr(err, SECRET));
    write_file(pw, "\n", 0600);
    assert_null(tw_redis_target_open("redis://h", &o, err, sizeof(err)));
    assert_non_null(strstr(err, "empty"));
    o.password_file = NULL;
    assert_null(tw_redis_target_open("redis://h", &o, err, sizeof(err))); /* a user, no password */
    o.user = NULL;
    o.tls_ca = "/nonexistent/ca.pem";
    assert_null(tw_redis_target_open("redis://h", &o, err, sizeof(err))); /* TLS key, no TLS */
    assert_non_null(strstr(err, "not a rediss://"));
    assert_null(tw_redis_target_open("rediss://h", &o, err, sizeof(err)));
    assert_non_null(strstr(err, "redis.tls_ca /nonexistent/ca.pem"));
    unlink(link);
    unlink(pw);
    rmdir(dir);
}

static void test_error_classes(void **state)
{
    (void)state;
    static const char *const config[] = {
        "NOAUTH Authentication required.", "WRONGPASS invalid username-password pair",
        "NOPERM this user has no permissions to run the 'hset' command",
        "READONLY You can't write against a read only replica.",
        "ERR AUTH <password> called without any password configured for the default user"};
    for (size_t i = 0; i < sizeof(config) / sizeof(config[0]); i++) {
        assert_true(tw_redis_config_error(config[i]));
        assert_false(tw_redis_transient_error(config[i]));
    }
    assert_true(tw_redis_transient_error("OOM command not allowed"));
    assert_false(tw_redis_config_error("OOM command not allowed"));
    assert_false(tw_redis_config_error("WRONGTYPE Operation against a key"));
}

/* The s1 pattern covers every key of s1 and no key of s10 (nor s1 without braces). */
static void test_acl_pattern(void **state)
{
    char pat[TW_KEY_LEN], key[TW_KEY_LEN];
    const char *sensors[] = {"s1", "s10"};
    (void)state;

    assert_int_equal(tw_key_acl_pattern(pat, sizeof(pat), "s1"), 10);
    assert_string_equal(pat, "~tw:{s1}:*");
    for (int k = 0; k < 2; k++) {
        const char *s = sensors[k];
        int want = k == 0 ? 0 : FNM_NOMATCH;
        char keys[24][TW_KEY_LEN];
        int n = 0;
        tw_key_hours(keys[n++], TW_KEY_LEN, s);
        tw_key_record(keys[n++], TW_KEY_LEN, s, 493000, 7);
        tw_key_nets(keys[n++], TW_KEY_LEN, s, 493000);
        tw_key_gaps(keys[n++], TW_KEY_LEN, s);
        tw_key_stats(keys[n++], TW_KEY_LEN, s);
        tw_key_stats_run(keys[n++], TW_KEY_LEN, s, "0123456789abcdef");
        tw_key_runs(keys[n++], TW_KEY_LEN, s);
        tw_key_post(keys[n++], TW_KEY_LEN, s, 493000, TW_POST_APP, "tls");
        tw_key_alerts(keys[n++], TW_KEY_LEN, s);
        tw_key_alerts_time(keys[n++], TW_KEY_LEN, s, 493000);
        tw_key_alerts_hours(keys[n++], TW_KEY_LEN, s);
        tw_key_alert_seen(keys[n++], TW_KEY_LEN, s, 42, 1);
        tw_key_summed(keys[n++], TW_KEY_LEN, s, 493000);
        tw_key_summary(keys[n++], TW_KEY_LEN, s, "core-sw", 'h', 493000, "peers");
        tw_key_summary_buckets(keys[n++], TW_KEY_LEN, s, "core-sw", 'd');
        tw_key_summary(keys[n++], TW_KEY_LEN, s, "core-sw", 'd', 20514, "countries");
        tw_key_reached(keys[n++], TW_KEY_LEN, s, "core-sw");
        tw_key_statements(keys[n++], TW_KEY_LEN, s);
        tw_key_statements_seen(keys[n++], TW_KEY_LEN, s);
        tw_key_rotations(keys[n++], TW_KEY_LEN, s);
        tw_key_seals(keys[n++], TW_KEY_LEN, s);
        tw_key_inventory(keys[n++], TW_KEY_LEN, s);
        for (int i = 0; i < n; i++)
            if (fnmatch(pat + 1, keys[i], 0) != want)
                fail_msg("%s %s %s", pat, want ? "matches" : "misses", keys[i]);
    }
    snprintf(key, sizeof(key), "tw:s1:x");
    assert_int_equal(fnmatch(pat + 1, key, 0), FNM_NOMATCH);
    assert_string_equal(tw_key_acl_read_all(), "%R~tw:*");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_urls),
        cmocka_unit_test(test_hostile_urls),
        cmocka_unit_test(test_mask),
        cmocka_unit_test(test_target_and_password_file),
        cmocka_unit_test(test_error_classes),
        cmocka_unit_test(test_acl_pattern),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
