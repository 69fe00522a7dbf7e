/* test_redis_engine.c - the writers' Redis engine (control/store/redis_engine.c) against a
 * scripted server on a unix socket, played by the test itself: the bytes the engine must
 * send are RESP commands written out below, the replies are RESP text. Time is passed in
 * (now_ms), so pauses and the reconnect rate are checked without sleeping.
 *
 * What it shows: the hello goes first on every connection; batches go in order and leave
 * only when answered; a RETRY refusal re-sends the same bytes, in order, after the pause;
 * a dropped connection re-sends the unanswered batches after a reconnect (not before 1 s);
 * a RELOAD sends the hello again before the batch; a batch REFUSED 3 times is given up;
 * with a password, AUTH goes before the writer's hello; WRONGPASS drops the connection and
 * is kept as the refusal; a NOPERM batch is never given up, only waits, and the refusal ends
 * with the first batch that goes through; INFO stats is sampled between batches. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/store/redis_conn.h"
#include "control/store/redis_engine.h"

#define PING "*1\r\n$4\r\nPING\r\n"           /* the hello of this test */
#define SET_A "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
#define SET_B "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"

static char path[64];
static int lsock = -1, conn = -1;
static unsigned hellos;
static char done_log[64]; /* "A+" batch A written, "B-" batch B given up, in order */

static int hello(void *ctx, struct tw_buf *out)
{
    const char *argv[] = {"PING"};
    (void)ctx;
    hellos++;
    tw_buf_command(out, 1, argv);
    return 1;
}

static enum tw_verdict reply(void *ctx, const struct tw_engine_batch *b, const redisReply *r)
{
    (void)ctx;
    if (b == NULL)
        return r->type == REDIS_REPLY_STATUS ? TW_REPLY_OK : TW_REPLY_REFUSED;
    if (r->type != REDIS_REPLY_ERROR)
        return TW_REPLY_OK;
    if (strncmp(r->str, "NOSCRIPT", 8) == 0)
        return TW_REPLY_RELOAD;
    return strncmp(r->str, "OOM", 3) == 0 ? TW_REPLY_RETRY : TW_REPLY_REFUSED;
}

static void done(void *ctx, const struct tw_engine_batch *b, int ok)
{
    size_t n = strlen(done_log);
    (void)ctx;
    snprintf(done_log + n, sizeof(done_log) - n, "%c%c", (char)b->kind, ok ? '+' : '-');
}

static const struct tw_engine_ops ops = {hello, reply, done};

static int setup(void **state)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    (void)state;
    snprintf(path, sizeof(path), "/tmp/test_redis_engine.%d", (int)getpid());
    unlink(path);
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    lsock = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(lsock >= 0);
    assert_int_equal(bind(lsock, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(lsock, 4), 0);
    hellos = 0;
    done_log[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (conn >= 0)
        close(conn);
    close(lsock);
    conn = lsock = -1;
    unlink(path);
    return 0;
}

/* Polls the engine at now_ms a few times (what the control loop does). */
static void spin(struct tw_engine *e, uint64_t now_ms)
{
    for (int i = 0; i < 20; i++) {
        tw_engine_poll(e, now_ms);
        usleep(500);
    }
}

/* The server accepts the engine's connection. */
static void server_accept(void)
{
    struct pollfd p = {.fd = lsock, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 2000), 1);
    conn = accept(lsock, NULL, NULL);
    assert_true(conn >= 0);
}

/* The server must receive exactly `want` next (polling the engine meanwhile). */
static void expect(struct tw_engine *e, uint64_t now_ms, const char *want)
{
    char got[512];
    size_t n = 0, len = strlen(want);

    while (n < len) {
        tw_engine_poll(e, now_ms);
        struct pollfd p = {.fd = conn, .events = POLLIN};
        if (poll(&p, 1, 2000) != 1)
            fail_msg("waited for \"%s\", got \"%.*s\"", want, (int)n, got);
        ssize_t r = recv(conn, got + n, len - n, 0);
        assert_true(r > 0);
        n += (size_t)r;
    }
    assert_memory_equal(got, want, len);
}

static void nothing_more(struct tw_engine *e, uint64_t now_ms)
{
    char c;
    spin(e, now_ms);
    assert_int_equal(recv(conn, &c, 1, MSG_DONTWAIT), -1);
}

static void server_says(const char *text)
{
    assert_int_equal(send(conn, text, strlen(text), 0), (ssize_t)strlen(text));
}

/* An engine connected at now_ms, its hello answered (and no batch made before that). */
static struct tw_engine *open_engine(uint64_t now_ms)
{
    char url[80], err[128];
    snprintf(url, sizeof(url), "unix://%s", path);
    struct tw_engine *e = tw_engine_open(url, NULL, &ops, NULL, err, sizeof(err));
    assert_non_null(e);
    spin(e, now_ms);
    server_accept();
    expect(e, now_ms, PING);
    assert_false(tw_engine_ready(e, now_ms));
    server_says("+PONG\r\n");
    spin(e, now_ms);
    return e;
}

/* Commits one command as a batch tagged kind. */
static void batch(struct tw_engine *e, char kind, const char *key, uint64_t now_ms)
{
    const char *argv[] = {"SET", key, kind == 'A' ? "1" : "2"};
    struct tw_engine_batch b = {.items = 1, .kind = kind};
    assert_true(tw_engine_ready(e, now_ms));
    tw_buf_command(tw_engine_begin(e), 3, argv);
    assert_int_equal(tw_engine_commit(e, &b, 1, now_ms), 0);
}

static void test_order_retry_reconnect(void **state)
{
    (void)state;
    uint64_t t = 1000;
    struct tw_engine *e = open_engine(t);

    /* two batches in order; A refused for now (OOM), B accepted: both go again, in order,
     * once the pause (100 ms after the first refusal) is over */
    batch(e, 'A', "a", t);
    batch(e, 'B', "b", t);
    expect(e, t, SET_A SET_B);
    server_says("-OOM command not allowed\r\n+OK\r\n");
    spin(e, t);
    assert_string_equal(done_log, "");
    nothing_more(e, t + 50);
    expect(e, t + 150, SET_A SET_B);
    server_says("+OK\r\n+OK\r\n");
    spin(e, t + 150);
    assert_string_equal(done_log, "A+B+");

    /* the connection drops with A in flight: a new one at once (the last try is old), the
     * hello first, then the same bytes; it drops again: the next try waits for 1 s */
    t += 10000;
    batch(e, 'A', "a", t);
    expect(e, t, SET_A);
    close(conn);
    conn = -1;
    spin(e, t);
    server_accept();
    expect(e, t, PING SET_A);
    close(conn);
    conn = -1;
    spin(e, t);
    spin(e, t + 500);
    struct pollfd p = {.fd = lsock, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 50), 0);
    spin(e, t + 1100);
    server_accept();
    expect(e, t + 1100, PING SET_A);
    server_says("+PONG\r\n+OK\r\n");
    spin(e, t + 1100);
    assert_string_equal(done_log, "A+B+A+");
    assert_int_equal(hellos, 3);

    struct tw_engine_stats st;
    tw_engine_get_stats(e, &st);
    assert_int_equal(st.reconnects, 2);
    assert_int_equal(st.connected, 1);
    tw_engine_close(e);
}

static void test_reload_and_give_up(void **state)
{
    (void)state;
    uint64_t t = 1000;
    struct tw_engine *e = open_engine(t);

    /* NOSCRIPT: the hello again, then the batch, at once (no pause, no try counted) */
    batch(e, 'A', "a", t);
    expect(e, t, SET_A);
    server_says("-NOSCRIPT No matching script\r\n");
    expect(e, t, PING SET_A);
    server_says("+PONG\r\n+OK\r\n");
    spin(e, t);
    assert_string_equal(done_log, "A+");

    /* WRONGTYPE three times: B is given up; A behind it goes on */
    batch(e, 'B', "b", t);
    batch(e, 'A', "a", t);
    expect(e, t, SET_B SET_A);
    for (int i = 1; i <= 3; i++) {
        server_says("-WRONGTYPE Operation against a key\r\n+OK\r\n");
        spin(e, t);
        t += 2000; /* past every pause */
        if (i < 3)
            expect(e, t, SET_B SET_A);
    }
    assert_string_equal(done_log, "A+B-");
    expect(e, t, SET_A);
    server_says("+OK\r\n");
    spin(e, t);
    assert_string_equal(done_log, "A+B-A+");
    tw_engine_close(e);
}


#define AUTH "*3\r\n$4\r\nAUTH\r\n$2\r\ns1\r\n$6\r\nsecret\r\n"
#define INFO "*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n"

static void test_auth_and_refusals(void **state)
{
    (void)state;
    uint64_t t = 1000;
    char url[96], err[128];
    struct tw_engine_stats st;

    snprintf(url, sizeof(url), "unix://s1:secret@%s", path);
    struct tw_redis_target *target = tw_redis_target_open(url, NULL, err, sizeof(err));
    assert_non_null(target);
    struct tw_engine *e = tw_engine_open(NULL, target, &ops, NULL, err, sizeof(err));
    assert_non_null(e);
    assert_non_null(strstr(tw_engine_url(e), "unix://s1:***@/tmp/test_redis_engine."));
    assert_null(strstr(tw_engine_url(e), "secret"));

    /* WRONGPASS: said, the connection dropped, tried again a second later */
    spin(e, t);
    server_accept();
    expect(e, t, AUTH PING);
    server_says("-WRONGPASS invalid username-password pair\r\n-NOAUTH Authentication required.\r\n");
    spin(e, t);
    assert_non_null(tw_engine_refusal(e));
    assert_non_null(strstr(tw_engine_refusal(e), "WRONGPASS"));
    tw_engine_get_stats(e, &st);
    assert_int_equal(st.connected, 0);
    close(conn);
    conn = -1;

    /* the password was fixed: in again, the refusal gone; INFO sampled once connected */
    tw_engine_sample_evictions(e, 10000);
    t += 1100;
    spin(e, t);
    server_accept();
    expect(e, t, AUTH PING);
    server_says("+OK\r\n+PONG\r\n");
    spin(e, t);
    assert_null(tw_engine_refusal(e));
    expect(e, t, INFO);
    server_says("$35\r\n# Stats\r\nevicted_keys:17\r\nother:1\r\n\r\n");
    spin(e, t);
    tw_engine_get_stats(e, &st);
    assert_int_equal(st.evicted_keys, 17);

    /* NOPERM on a batch: kept, sent again (never given up), the refusal said meanwhile */
    batch(e, 'A', "a", t);
    expect(e, t, SET_A);
    for (int i = 0; i < 4; i++) {
        server_says("-NOPERM this user has no permissions to run the 'set' command\r\n");
        spin(e, t);
        assert_non_null(tw_engine_refusal(e));
        t += 2000;
        expect(e, t, SET_A); /* (8 s in all: before the next INFO sample) */
    }
    server_says("+OK\r\n");
    spin(e, t);
    assert_string_equal(done_log, "A+");
    assert_null(tw_engine_refusal(e));
    tw_engine_close(e);
    tw_redis_target_close(target);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_retry_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_and_give_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_and_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
