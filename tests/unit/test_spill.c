/* test_spill.c - the writers' on-disk spill (control/store/spill.c), for both of its item
 * kinds: flow records (the record spool) and items of the alert writer's size (the alert
 * hold file). Items here are blobs "item NNNN of kind K ..." of each size; the cases append,
 * read back and acknowledge them, save a whole queue, then damage the file in each way the
 * spill must notice (see spill.h for the layout: a 64-byte header, then slots of a 16-byte
 * head and the item). */
#include <errno.h>
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

#include "control/record/alert.h"
#include "control/store/spill.h"
#include "dataplane/flow_record.h"

#define N 100u
#define HEADER 64
#define SLOT_HEAD 16

/* the two kinds: a flow record, and an alert writer item (a tag then an alert or summary) */
static const uint32_t kinds[2] = {sizeof(struct tw_flow_record), sizeof(struct tw_alert) + 8};
static char path[64];
static uint8_t *items;    /* N items of the kind under test */
static uint8_t *got;
static uint32_t isz;

static void make_items(int kind)
{
    isz = kinds[kind];
    free(items);
    free(got);
    items = calloc(N, isz);
    got = calloc(2 * N, isz);
    assert_non_null(items);
    assert_non_null(got);
    for (unsigned i = 0; i < N; i++)
        snprintf((char *)items + (size_t)i * isz, isz, "item %04u of kind %d", i, kind);
}

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof(path), "/tmp/test_spill.%d", (int)getpid());
    unlink(path);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    free(items);
    free(got);
    items = got = NULL;
    return 0;
}

/* Opens path expecting failure with `needle` in the message; the file is left alone. */
static void open_fails(uint32_t size, const char *needle)
{
    char err[256] = "";
    uint64_t rec = 99;

    assert_null(tw_spill_open(path, size, N, &rec, err, sizeof(err)));
    assert_non_null(strstr(err, path));
    if (!strstr(err, needle))
        fail_msg("expected '%s' in '%s'", needle, err);
    assert_int_equal(access(path, F_OK), 0);
}

static void patch(long off, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
}

/* Reads every unread item of sp into got. Returns how many. */
static uint64_t read_all(struct tw_spill *sp, uint64_t *corrupt)
{
    uint64_t nums[N * 2];
    int n, total = 0;

    while ((n = tw_spill_read(sp, got + (size_t)total * isz, nums + total, 7, corrupt)) > 0)
        total += n;
    assert_true(n == 0);
    return (uint64_t)total;
}

/* Append, read back across the ring's end, acknowledge, reopen: both kinds. */
static void test_round_trip(void **state)
{
    uint64_t rec, corrupt = 0, nums[N];
    char err[256];
    struct stat st;
    (void)state;

    for (int kind = 0; kind < 2; kind++) {
        make_items(kind);
        struct tw_spill *sp = tw_spill_open(path, isz, 40, &rec, err, sizeof(err));
        assert_non_null(sp);
        assert_int_equal(rec, 0);
        for (unsigned i = 0; i < 30; i++)
            assert_int_equal(tw_spill_append(sp, items + (size_t)i * isz), 0);
        assert_int_equal(tw_spill_read(sp, got, nums, 20, &corrupt), 20);
        assert_memory_equal(got, items, 20 * (size_t)isz);
        assert_int_equal(tw_spill_ack(sp, nums[19], 0), 0);
        for (unsigned i = 30; i < 60; i++) /* wraps: capacity 40, 10 pending */
            assert_int_equal(tw_spill_append(sp, items + (size_t)i * isz), 0);
        errno = 0;
        assert_int_equal(tw_spill_append(sp, items), -1);
        assert_int_equal(errno, ENOSPC);
        tw_spill_close(sp);
        /* a new start finds the 40 not acknowledged, in order */
        sp = tw_spill_open(path, isz, 40, &rec, err, sizeof(err));
        assert_non_null(sp);
        assert_int_equal(rec, 40);
        assert_int_equal(read_all(sp, &corrupt), 40);
        assert_memory_equal(got, items + 20 * (size_t)isz, 40 * (size_t)isz);
        assert_int_equal(corrupt, 0);
        assert_int_equal(tw_spill_ack(sp, 59, 0), 0); /* all done: back to a header */
        assert_int_equal(tw_spill_pending(sp), 0);
        tw_spill_close(sp);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, HEADER);
        unlink(path);
    }
}

/* A whole queue saved (the alert writer at exit), in two halves, then read back. */
static void test_save(void **state)
{
    uint64_t rec, corrupt = 0;
    char err[256];
    (void)state;

    for (int kind = 0; kind < 2; kind++) {
        make_items(kind);
        assert_int_equal(tw_spill_save(path, isz, items, N - 30, items + (N - 30) * (size_t)isz,
                                       30), 0);
        struct tw_spill *sp = tw_spill_open(path, isz, 5, &rec, err, sizeof(err));
        assert_non_null(sp);
        assert_int_equal(rec, N); /* its own capacity, not the 5 asked for */
        assert_int_equal(read_all(sp, &corrupt), N);
        assert_memory_equal(got, items, N * (size_t)isz);
        tw_spill_close(sp);
        /* saving nothing removes the file */
        assert_int_equal(tw_spill_save(path, isz, items, 0, NULL, 0), 0);
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(tw_spill_remove(path), 0);
    }
}

/* Every damage: the header's is refused with one line, a slot's is skipped and counted, a
 * torn tail ends the spill. */
static void test_damage(void **state)
{
    uint64_t rec, corrupt = 0;
    char err[256];
    (void)state;

    for (int kind = 0; kind < 2; kind++) {
        make_items(kind);
        size_t slot = SLOT_HEAD + isz;
        /* a byte of item 5: that item is skipped and counted, the others read */
        assert_int_equal(tw_spill_save(path, isz, items, N, NULL, 0), 0);
        patch(HEADER + 5 * (long)slot + SLOT_HEAD + 3, "X", 1);
        struct tw_spill *sp = tw_spill_open(path, isz, N, &rec, err, sizeof(err));
        assert_non_null(sp);
        corrupt = 0;
        assert_int_equal(read_all(sp, &corrupt), N - 1);
        assert_int_equal(corrupt, 1);
        assert_memory_equal(got + 5 * (size_t)isz, items + 6 * (size_t)isz, isz);
        tw_spill_close(sp);

        /* the last slot torn (a crash while appending), header tail rewound: ends there */
        assert_int_equal(tw_spill_save(path, isz, items, N, NULL, 0), 0);
        uint8_t zero8[8] = {0};
        sp = tw_spill_open(path, isz, N, &rec, err, sizeof(err));
        assert_non_null(sp);
        tw_spill_close(sp);
        assert_int_equal(truncate(path, HEADER + (off_t)(N - 1) * (off_t)slot + 10), 0);
        patch(32, zero8, 8); /* tail 0: the header is then damaged, checked first */
        open_fails(isz, "header is damaged");

        /* header fields under the checksum */
        assert_int_equal(tw_spill_save(path, isz, items, N, NULL, 0), 0);
        patch(17, "\x7f", 1);
        open_fails(isz, "header is damaged");

        /* items of another size (another build, signing turned on or off) */
        assert_int_equal(tw_spill_save(path, isz, items, N, NULL, 0), 0);
        open_fails(isz + 8, "another size");
        /* ... but once every item was taken, nothing is left to replay: made anew */
        sp = tw_spill_open(path, isz, N, &rec, err, sizeof(err));
        assert_non_null(sp);
        assert_int_equal(read_all(sp, &corrupt), N);
        assert_int_equal(tw_spill_ack(sp, N - 1, 0), 0);
        tw_spill_close(sp);
        sp = tw_spill_open(path, isz + 8, N, &rec, err, sizeof(err));
        assert_non_null(sp);
        assert_int_equal(rec, 0);
        tw_spill_close(sp);
        assert_int_equal(tw_spill_save(path, isz, items, N, NULL, 0), 0);

        /* the older formats */
        patch(0, "TWSPOOL1", 8);
        open_fails(isz, "older tapwatch");
        patch(0, "TWHOLD01", 8);
        open_fails(isz, "older tapwatch");

        /* not a spill at all, and too short to be one */
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        fputs("this is not a spill file at all, but long enough to hold a header.....", f);
        fclose(f);
        open_fails(isz, "not a tapwatch spill file");
        assert_int_equal(truncate(path, 10), 0);
        open_fails(isz, "too short");
        unlink(path);
    }
}

/* A slot appended after the header was last written is found by a new start; a torn one
 * after it is not. */
static void test_torn_tail(void **state)
{
    uint64_t rec, corrupt = 0;
    char err[256];
    struct stat st;
    (void)state;

    make_items(0);
    size_t slot = SLOT_HEAD + isz;
    struct tw_spill *sp = tw_spill_open(path, isz, N, &rec, err, sizeof(err));
    assert_non_null(sp);
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(tw_spill_append(sp, items + (size_t)i * isz), 0);
    tw_spill_close(sp);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, HEADER + 10 * (off_t)slot);
    patch(HEADER + 9 * (long)slot + SLOT_HEAD, "torn", 4); /* the last one torn */
    sp = tw_spill_open(path, isz, N, &rec, err, sizeof(err));
    assert_non_null(sp);
    assert_int_equal(rec, 10); /* the header says 10; the torn one is found on reading */
    assert_int_equal(read_all(sp, &corrupt), 9);
    assert_int_equal(corrupt, 1);
    tw_spill_close(sp);
}

/* What may sit at a spill's name and must be refused, never followed or shared
 * (run_dir.h): a symbolic link (to a file, to nothing), a hard link, a FIFO; and a
 * temporary is only ever a new file (O_EXCL). */
static void test_refused(void **state)
{
    (void)state;
    char target[80], other[80], err[256];
    uint64_t recovered;
    struct tw_spill *sp;
    FILE *f;

    make_items(0);
    snprintf(target, sizeof(target), "%s.target", path);
    snprintf(other, sizeof(other), "%s.other", path);
    f = fopen(target, "w");
    assert_non_null(f);
    fputs("precious", f);
    fclose(f);

    /* a symbolic link to a file, then to nothing: refused, the target untouched */
    assert_int_equal(symlink(target, path), 0);
    assert_null(tw_spill_open(path, isz, N, &recovered, err, sizeof(err)));
    assert_non_null(strstr(err, "is a symbolic link (refused, not followed"));
    assert_null(tw_spill_create(path, isz, N, err, sizeof(err)));
    unlink(path);
    assert_int_equal(symlink(other, path), 0);
    assert_null(tw_spill_open(path, isz, N, &recovered, err, sizeof(err)));
    assert_int_equal(access(other, F_OK), -1);
    unlink(path);
    struct stat st;
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_size, 8);

    /* a hard link to that file */
    assert_int_equal(link(target, path), 0);
    assert_null(tw_spill_open(path, isz, N, &recovered, err, sizeof(err)));
    assert_non_null(strstr(err, "has other hard links"));
    unlink(path);
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_size, 8);

    /* a FIFO: refused at once, not waited on */
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_null(tw_spill_open(path, isz, N, &recovered, err, sizeof(err)));
    assert_non_null(strstr(err, "not a regular file"));
    unlink(path);

    /* a temporary: made new, never over something already there */
    sp = tw_spill_create(path, isz, N, err, sizeof(err));
    assert_non_null(sp);
    tw_spill_close(sp);
    assert_null(tw_spill_create(path, isz, N, err, sizeof(err)));
    assert_non_null(strstr(err, "File exists"));
    /* and tw_spill_save removes a link at its temporary's name rather than write through */
    char tmp[80];
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    assert_int_equal(symlink(target, tmp), 0);
    assert_int_equal(tw_spill_save(path, isz, items, N, NULL, 0), 0);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(lstat(tmp, &st), -1);
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_size, 8);
    unlink(target);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
