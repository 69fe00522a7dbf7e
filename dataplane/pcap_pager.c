/* pcap_pager.c - a mapped capture kept resident ahead of its reader (see pcap_pager.h). */
#include "pcap_pager.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096u
/* The pager's sleep when it is ahead: the reader moves under 1 MiB in that time. */
#define NAP_NS 1000000L

struct tw_pcap_pager {
    /* written by the reader, read by the pager: a cache line of their own */
    uint64_t pos __attribute__((aligned(64)));
    uint64_t pass;
    int stop;
    /* the pager thread's own */
    pthread_t thread __attribute__((aligned(64)));
    const uint8_t *base;
    uint64_t size;
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static void page_table_op(const uint8_t *base, uint64_t from, uint64_t to, int advice)
{
    /* best effort: on a kernel without MADV_POPULATE_READ (before 5.14) the reader's
     * touches fault the pages in; on a file that shrank the reader gets the SIGBUS */
    if (to > from)
        (void)madvise((void *)(uintptr_t)(base + from), (size_t)(to - from), advice);
}

static void *pager_main(void *arg)
{
    struct tw_pcap_pager *p = arg;
    uint64_t mapped = 0, given_back = 0, pass = 0;

    while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE)) {
        uint64_t now_pass = __atomic_load_n(&p->pass, __ATOMIC_ACQUIRE);
        uint64_t pos = __atomic_load_n(&p->pos, __ATOMIC_RELAXED);

        if (now_pass != pass) { /* a new pass starts at the top: the old window goes */
            page_table_op(p->base, given_back, mapped, MADV_DONTNEED);
            mapped = given_back = 0;
            pass = now_pass;
        }
        uint64_t want = min_u64(p->size, pos + TW_PCAP_PAGER_AHEAD);
        if (mapped < want) {
            uint64_t to = min_u64(p->size, mapped + TW_PCAP_PAGER_STEP);
            page_table_op(p->base, mapped, to, MADV_POPULATE_READ);
            mapped = to;
            continue;
        }
        uint64_t behind = pos > TW_PCAP_PAGER_SLACK ? (pos - TW_PCAP_PAGER_SLACK) & ~(uint64_t)(PAGE - 1) : 0;
        if (behind >= given_back + TW_PCAP_PAGER_STEP) {
            page_table_op(p->base, given_back, given_back + TW_PCAP_PAGER_STEP, MADV_DONTNEED);
            given_back += TW_PCAP_PAGER_STEP;
            continue;
        }
        struct timespec nap = {0, NAP_NS};
        nanosleep(&nap, NULL);
    }
    return NULL;
}

struct tw_pcap_pager *tw_pcap_pager_start(const uint8_t *base, uint64_t size)
{
    struct tw_pcap_pager *p = aligned_alloc(64, sizeof(*p));
    sigset_t all, old;

    if (!p)
        return NULL;
    *p = (struct tw_pcap_pager){.base = base, .size = size};
    /* signals belong to the main thread: the new thread starts with all of them blocked */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&p->thread, NULL, pager_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(p);
        errno = rc;
        return NULL;
    }
    pthread_setname_np(p->thread, "tw-pager");
    return p;
}

int tw_pcap_pager_share_cpu(struct tw_pcap_pager *p)
{
    cpu_set_t cpus;
    int rc = pthread_getaffinity_np(pthread_self(), sizeof(cpus), &cpus);

    return rc ? rc : pthread_setaffinity_np(p->thread, sizeof(cpus), &cpus);
}

void tw_pcap_pager_follow(struct tw_pcap_pager *p, uint64_t pos)
{
    __atomic_store_n(&p->pos, pos, __ATOMIC_RELAXED);
}

void tw_pcap_pager_rewound(struct tw_pcap_pager *p)
{
    __atomic_store_n(&p->pos, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->pass, __atomic_load_n(&p->pass, __ATOMIC_RELAXED) + 1, __ATOMIC_RELEASE);
}

void tw_pcap_pager_stop(struct tw_pcap_pager *p)
{
    if (!p)
        return;
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    pthread_join(p->thread, NULL);
    free(p);
}
