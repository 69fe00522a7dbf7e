/* classify.h - nDPI 4.2 classification of one worker's flows.
 *
 * Each worker owns one nDPI detection module and a pool of nDPI per-flow states sized at
 * start-up. A flow gets a state on its first packet and gives it back as soon as detection
 * is over, so only flows still being detected cost nDPI memory.
 *
 * The stopping rule is ndpiReader's: feed packets until nDPI names an application and has
 * no extra dissection to do (certificates, ...), or until a TCP flow has passed 80 packets
 * (a UDP flow 24); then give up with guessing by port.
 */
#ifndef TW_CLASSIFY_H
#define TW_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "flow_record.h"
#include "flow_table.h"
#include "parse.h"

#define TW_DPI_MAX_TCP_PACKETS 80
#define TW_DPI_MAX_UDP_PACKETS 24

struct tw_classifier;

/* Creates a classifier with room for `states` flows in detection at once.
 * Returns NULL with errno set (ENOMEM, or EIO when nDPI fails to initialise). */
struct tw_classifier *tw_classifier_create(uint32_t states);
void tw_classifier_free(struct tw_classifier *c);

/* Gives f an nDPI state. Returns 0, or -1 when the pool is empty (f is then left
 * unclassified: detection_done with protocol Unknown). */
int tw_classify_begin(struct tw_classifier *c, struct tw_flow *f);

/* Feeds one packet of f (already counted in f's packet totals) to nDPI. Returns 1 when
 * detection ended with this packet (the result is in f and the state is released), else 0. */
int tw_classify_packet(struct tw_classifier *c, struct tw_flow *f, const struct tw_packet *pkt,
                       uint64_t ts_us);

/* Ends detection of f now (flow end): asks nDPI to give up and guess, keeps the result,
 * releases the state. Does nothing when detection is already over. */
void tw_classify_finish(struct tw_classifier *c, struct tw_flow *f);

/* Writes what detection says of f into its record: nDPI's protocol ids, the application
 * name as nDPI prints it ("TLS.Google", "DNS", "Unknown"), category id and name, TLS
 * version, risks, server name and JA3 client hash in hex. The rest of r is the caller's;
 * without a JA3 hash r->ja3c is left as it was (zero). */
void tw_classify_result(struct tw_classifier *c, const struct tw_flow *f,
                        struct tw_flow_record *r);

/* Flows in detection now, and the most there ever were at once. */
uint32_t tw_classify_in_use(const struct tw_classifier *c);
uint32_t tw_classify_peak(const struct tw_classifier *c);

/* Bytes of one nDPI per-flow state. */
size_t tw_classify_state_size(void);

#endif
