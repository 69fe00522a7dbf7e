/* test_redis_slot.c - Redis Cluster's key-slot rule and the RESP walk that splits a batch
 * (control/store/redis_slot.c).
 *
 * What it shows: CRC16-XMODEM gives the reference vector; a key's slot is that of its hash
 * tag ({...}), so keys with the same tag share a slot and tapwatch's keys of one sensor
 * ("tw:{S}:...") stay together; an empty tag is no tag; the walk finds each command's length
 * and the key it routes by (argv[1]; the first key of EVALSHA; none for WAIT or SCRIPT); a
 * list of seed nodes in redis.url is the first node's URL plus the others' host:port, and is
 * refused without redis.cluster. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "control/store/redis_conn.h"
#include "control/store/redis_slot.h"

static unsigned slot_of(const char *k)
{
    return tw_key_slot(k, strlen(k));
}

static void test_crc_and_slots(void **state)
{
    (void)state;
    assert_int_equal(tw_crc16("123456789", 9), 0x31C3);
    assert_int_equal(slot_of("123456789"), 12739);
    assert_int_equal(slot_of("{user1000}.following"), slot_of("{user1000}.followers"));
    assert_int_equal(slot_of("{user1000}.following"), slot_of("user1000"));
    /* values Redis's CLUSTER KEYSLOT gives */
    assert_int_equal(slot_of("foo"), 12182);
    assert_int_equal(slot_of("bar"), 5061);
    /* "{}" is no tag: the whole key; the first '}' after the first '{' ends the tag */
    assert_int_equal(slot_of("{}x"), tw_crc16("{}x", 3) & 16383);
    assert_int_equal(slot_of("a{b}{c}"), slot_of("b"));
    assert_int_equal(slot_of("tw:{s1}:f:482000"), slot_of("tw:{s1}:x:482000:sip"));
    assert_int_equal(slot_of("tw:{s1:482000}:b:7"), slot_of("s1:482000"));
}

static void test_resp_walk(void **state)
{
    /* three commands of a batch, as the writers encode them */
    static const char batch[] = "*3\r\n$6\r\nAPPEND\r\n$9\r\ntw:{a}:x1\r\n$2\r\nab\r\n"
                                "*5\r\n$7\r\nEVALSHA\r\n$3\r\nsha\r\n$1\r\n2\r\n"
                                "$8\r\ntw:{b}:k\r\n$8\r\ntw:{b}:j\r\n"
                                "*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$4\r\n1000\r\n";
    struct tw_resp_cmd c;
    size_t off = 0, n = sizeof(batch) - 1;
    (void)state;

    assert_int_equal(tw_resp_next(batch, n, &c), 0);
    assert_int_equal(c.len, 39); /* 4 + 12 + 15 + 8 */
    assert_memory_equal(c.key, "tw:{a}:x1", 9);
    off += c.len;
    assert_int_equal(tw_resp_next(batch + off, n - off, &c), 0);
    assert_int_equal(c.key_len, 8);
    assert_memory_equal(c.key, "tw:{b}:k", 8);
    off += c.len;
    assert_int_equal(tw_resp_next(batch + off, n - off, &c), 0);
    assert_null(c.key);
    off += c.len;
    assert_int_equal(off, n);
    /* truncated or malformed bytes are refused */
    assert_int_equal(tw_resp_next(batch, 20, &c), -1);
    assert_int_equal(tw_resp_next("*1\r\n$9\r\nab\r\n", 12, &c), -1);
    assert_int_equal(tw_resp_next("+OK\r\n", 5, &c), -1);
}

static void test_seed_list(void **state)
{
    struct tw_redis_options o = {.tls_verify_host = 1, .cluster = 1, .wait_replicas = 1};
    struct tw_redis_target *t;
    char err[256];
    (void)state;

    t = tw_redis_target_open("redis://u:pw@127.0.0.1:7000,127.0.0.1:7001,h:7002", &o, err,
                             sizeof(err));
    assert_non_null(t);
    assert_string_equal(t->url.host, "127.0.0.1");
    assert_int_equal(t->url.port, 7000);
    assert_string_equal(t->seeds, "127.0.0.1:7001,h:7002");
    assert_string_equal(t->user, "u");
    assert_int_equal(t->password_len, 2);
    assert_int_equal(t->cluster, 1);
    assert_int_equal(t->wait_replicas, 1);
    assert_int_equal(t->wait_timeout_ms, 1000);
    assert_null(strstr(tw_redis_target_url(t), "pw"));
    tw_redis_target_close(t);
    o.cluster = 0;
    assert_null(tw_redis_target_open("redis://a:7000,b:7001", &o, err, sizeof(err)));
    assert_non_null(strstr(err, "redis.cluster"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_and_slots),
        cmocka_unit_test(test_resp_walk),
        cmocka_unit_test(test_seed_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
