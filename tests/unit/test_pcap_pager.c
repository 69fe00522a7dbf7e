/* test_pcap_pager.c - the pager keeps a window of a mapped file resident around its reader.
 *
 * A 48 MiB file is mapped and nothing reads it: every page with a page-table entry (the
 * mapping's Rss in /proc/self/smaps) is there because the pager mapped it. The reader's
 * position is then moved by hand and the window must follow:
 *
 *   reader at 0      -> [0, AHEAD) mapped                          16 MiB
 *   reader at 40 MiB -> [40 - SLACK, 48) mapped, the rest zapped   12 MiB
 *   a new pass       -> the old window zapped, [0, AHEAD) mapped    16 MiB
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "dataplane/pcap_pager.h"

#define MIB (1u << 20)
#define FILE_SIZE (48u * MIB)

static const uint8_t *base;

/* Resident bytes of the mapping at base, from /proc/self/smaps. */
static uint64_t mapping_rss(void)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    int inside = 0;
    uint64_t kb = UINT64_MAX;

    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = lo == (unsigned long)(uintptr_t)base;
            continue;
        }
        unsigned long v;
        if (inside && sscanf(line, "Rss: %lu kB", &v) == 1) {
            kb = v;
            break;
        }
    }
    fclose(f);
    assert_true(kb != UINT64_MAX);
    return kb * 1024u;
}

/* Waits (up to 10 s: the pager works in the background) until the mapping's resident
 * size is `want`; returns the last size seen. */
static uint64_t wait_rss(uint64_t want)
{
    uint64_t rss = 0;

    for (int i = 0; i < 1000; i++) {
        rss = mapping_rss();
        if (rss == want)
            break;
        struct timespec nap = {0, 10000000};
        nanosleep(&nap, NULL);
    }
    return rss;
}

static void test_window_follows_the_reader(void **state)
{
    (void)state;
    char path[] = "/tmp/test_pcap_pager.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    static uint8_t chunk[MIB];
    memset(chunk, 0x5a, sizeof(chunk));
    for (unsigned i = 0; i < FILE_SIZE / MIB; i++)
        assert_int_equal(write(fd, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
    base = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(base != MAP_FAILED);
    close(fd);
    assert_int_equal(mapping_rss(), 0);

    struct tw_pcap_pager *p = tw_pcap_pager_start(base, FILE_SIZE);
    assert_non_null(p);
    assert_int_equal(wait_rss(TW_PCAP_PAGER_AHEAD), TW_PCAP_PAGER_AHEAD);

    tw_pcap_pager_follow(p, 40u * MIB);
    assert_int_equal(wait_rss(FILE_SIZE - (40u * MIB - TW_PCAP_PAGER_SLACK)),
                     FILE_SIZE - (40u * MIB - TW_PCAP_PAGER_SLACK));

    tw_pcap_pager_rewound(p);
    assert_int_equal(wait_rss(TW_PCAP_PAGER_AHEAD), TW_PCAP_PAGER_AHEAD);

    tw_pcap_pager_stop(p);
    /* the pages still read the file's bytes, mapped or not */
    assert_int_equal(base[0], 0x5a);
    assert_int_equal(base[FILE_SIZE - 1], 0x5a);
    munmap((void *)(uintptr_t)base, FILE_SIZE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_follows_the_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
