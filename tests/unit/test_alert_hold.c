/* test_alert_hold.c - the file that keeps unwritten alerts between runs (control/alert_hold.c).
 *
 * Items are 24-byte blobs "item NNNN ..." here; the cases save and load them, then damage the
 * file in each way the loader must notice (see alert_hold.h for the layout: a 32-byte
 * header, then the items). */
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

#include "control/store/alert_hold.h"

#define ITEM 24u
#define N 100u

static char path[64];
static uint8_t items[N][ITEM];
static uint8_t got[2 * N][ITEM];
static unsigned ngot;

static int take(void *ctx, const void *item)
{
    (void)ctx;
    if (ngot == 2 * N)
        return -1;
    memcpy(got[ngot++], item, ITEM);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof(path), "/tmp/test_alert_hold.%d", (int)getpid());
    for (unsigned i = 0; i < N; i++)
        snprintf((char *)items[i], ITEM, "item %04u of the test", i);
    ngot = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

/* Loads path, expecting failure with `needle` in the message. */
static void load_fails(const char *needle)
{
    char err[256] = "";
    uint64_t loaded = 99;

    ngot = 0;
    assert_int_equal(tw_hold_load(path, ITEM, take, NULL, &loaded, err, sizeof(err)), -1);
    assert_int_equal(loaded, 0);
    assert_non_null(strstr(err, path));
    if (!strstr(err, needle))
        fail_msg("expected '%s' in '%s'", needle, err);
    assert_int_equal(access(path, F_OK), 0); /* left for the user to look at */
}

static void patch(long off, uint8_t byte)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    assert_int_equal(fputc(byte, f), byte);
    fclose(f);
}

static void test_round_trip(void **state)
{
    char err[256];
    uint64_t loaded;
    struct stat st;
    (void)state;

    assert_int_equal(tw_hold_save(path, ITEM, items, N - 30, items[N - 30], 30), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 32 + N * ITEM);
    assert_int_equal(tw_hold_load(path, ITEM, take, NULL, &loaded, err, sizeof(err)), 0);
    assert_int_equal(loaded, N);
    assert_int_equal(ngot, N);
    assert_memory_equal(got, items, sizeof(items));
    /* saving nothing removes the file; loading no file loads nothing */
    assert_int_equal(tw_hold_save(path, ITEM, items, 0, NULL, 0), 0);
    assert_int_equal(access(path, F_OK), -1);
    ngot = 0;
    assert_int_equal(tw_hold_load(path, ITEM, take, NULL, &loaded, err, sizeof(err)), 0);
    assert_int_equal(loaded, 0);
    assert_int_equal(ngot, 0);
    assert_int_equal(tw_hold_remove(path), 0);
}

static void test_damage_is_refused(void **state)
{
    (void)state;
    assert_int_equal(tw_hold_save(path, ITEM, items, N - 30, items[N - 30], 30), 0);
    patch(32 + 5 * ITEM + 3, 'X'); /* a byte of item 5 */
    load_fails("damaged");

    assert_int_equal(tw_hold_save(path, ITEM, items, N - 30, items[N - 30], 30), 0);
    patch(17, 0x7f); /* the count, under the header checksum */
    load_fails("header is damaged");

    assert_int_equal(tw_hold_save(path, ITEM, items, N - 30, items[N - 30], 30), 0);
    assert_int_equal(truncate(path, 32 + (N - 1) * ITEM), 0); /* the last item cut off */
    load_fails("damaged");

    assert_int_equal(tw_hold_save(path, ITEM, items, N - 30, items[N - 30], 30), 0);
    char err[256];
    uint64_t loaded;
    assert_int_equal(tw_hold_load(path, ITEM + 8, take, NULL, &loaded, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "another version"));

    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("this is not a hold file at all, but long enough", f);
    fclose(f);
    load_fails("not an alert hold file");
    assert_int_equal(truncate(path, 10), 0);
    load_fails("too short");
}

static void test_take_failure_is_reported(void **state)
{
    char err[256];
    uint64_t loaded;
    (void)state;

    assert_int_equal(tw_hold_save(path, ITEM, items, N - 30, items[N - 30], 30), 0);
    ngot = 2 * N - 10; /* room for 10 more */
    assert_int_equal(tw_hold_load(path, ITEM, take, NULL, &loaded, err, sizeof(err)), -1);
    assert_int_equal(loaded, 0);
    assert_non_null(strstr(err, "out of memory"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_failure_is_reported, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
