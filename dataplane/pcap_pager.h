/* pcap_pager.h - keeps a mapped capture file resident just ahead of its reader and returns
 * it just behind, on a thread of its own.
 *
 * Reading a mapped file costs the kernel two page-table operations per 4 KiB page: mapping
 * it in before the reader touches it, and zapping it again once read so that resident memory
 * stays a window rather than the whole file. Done on the worker, that was 8% of its time on
 * bench-big.pcap. The pager does both on another core, following the position the reader
 * publishes once per burst:
 *
 *   file: [ given back ][ SLACK: frames in flight ][reader pos][ AHEAD: mapped ][ not yet ]
 *
 * The reader never waits for the pager: a page the pager has not reached yet is faulted in
 * by the first touch, as in any mapping, and a page it zapped too early comes back from the
 * page cache. Both only cost time.
 */
#ifndef TW_PCAP_PAGER_H
#define TW_PCAP_PAGER_H

#include <stdint.h>

/* Bytes mapped ahead of the reader: about 20 ms of reading at full speed here, far more
 * than the pager's nap. */
#define TW_PCAP_PAGER_AHEAD (16u << 20)
/* One madvise call maps or zaps this much, so the pager notices a rewind or a stop soon. */
#define TW_PCAP_PAGER_STEP (2u << 20)
/* Pages this far behind the reader stay mapped: frames in flight (rings, held records). */
#define TW_PCAP_PAGER_SLACK (4u << 20)

struct tw_pcap_pager;

/* Starts following a reader of the size-byte mapping at base (which must stay mapped until
 * tw_pcap_pager_stop). The thread blocks every signal. Returns the pager, or NULL with errno
 * set when the thread cannot be created. */
struct tw_pcap_pager *tw_pcap_pager_start(const uint8_t *base, uint64_t size);

/* Moves the pager to the CPUs of the calling thread, so that it shares a core with that
 * thread (the main lcore) and never with a worker. Returns 0 or a positive errno. */
int tw_pcap_pager_share_cpu(struct tw_pcap_pager *p);

/* Reader side, once per burst: the offset of the next record to read. */
void tw_pcap_pager_follow(struct tw_pcap_pager *p, uint64_t pos);

/* Reader side: the reader starts again at the beginning of the file (--loop). */
void tw_pcap_pager_rewound(struct tw_pcap_pager *p);

/* Stops the thread and frees the pager (NULL is a no-op). The mapping is left as it is. */
void tw_pcap_pager_stop(struct tw_pcap_pager *p);

#endif
