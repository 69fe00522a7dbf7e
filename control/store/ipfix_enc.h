/* ipfix_enc.h - flow records into IPFIX messages (RFC 7011), encoded by libfixbuf.
 *
 * The encoder owns no socket: each finished message is handed to the out callback, which
 * queues it (sink_ipfix.c paces and sends). libfixbuf writes the message header (version 10,
 * length, export time, sequence number = data records sent before this message in the
 * observation domain), the template sets and the data sets; messages stay under mtu bytes.
 *
 * Two templates, one per IP version, the same fields otherwise (RFC 5103 biflow: forward =
 * client to server, reverse = server to client, reverse IEs under PEN 29305):
 *
 *   256 (IPv4)  sourceIPv4Address(8) destinationIPv4Address(12)
 *   257 (IPv6)  sourceIPv6Address(27) destinationIPv6Address(28)
 *   both        protocolIdentifier(4) sourceTransportPort(7) destinationTransportPort(11)
 *               vlanId(58) flowStartMilliseconds(152) flowEndMilliseconds(153)
 *               octetDeltaCount(1) packetDeltaCount(2) reverseOctetDeltaCount(29305/1)
 *               reversePacketDeltaCount(29305/2) flowEndReason(136)
 *               applicationId(95, 8 bytes) applicationName(96, variable length)
 *
 * applicationId follows RFC 6759 with classification engine 20 (PANA-L7-PEN):
 *
 *   +------+----------------------+------------------+
 *   | 0x14 | PEN 35632 (ntop)     | nDPI protocol id |
 *   | 1 B  | 4 B, network order   | 3 B              |
 *   +------+----------------------+------------------+
 *
 * nDPI's protocol ids are ntop's own registry, so the PEN names ntop (35632) as the owner of
 * the ids, as RFC 6759 section 4.1 asks of a third-party registry; the selector has the default
 * length of engine 20 (3 bytes, RFC 6759 table 2).
 */
#ifndef TW_IPFIX_ENC_H
#define TW_IPFIX_ENC_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/flow_record.h"

#define TW_IPFIX_TID_V4 256
#define TW_IPFIX_TID_V6 257
#define TW_IPFIX_ENGINE_PANA_L7_PEN 20
#define TW_IPFIX_PEN_NTOP 35632u
#define TW_IPFIX_MTU_MIN 512
#define TW_IPFIX_MTU_MAX 65000

/* flowEndReason values (RFC 7012, IE 136) */
enum {
    TW_IPFIX_END_IDLE = 1,
    TW_IPFIX_END_ACTIVE = 2,
    TW_IPFIX_END_OF_FLOW = 3, /* TCP FIN or RST */
    TW_IPFIX_END_FORCED = 4,
    TW_IPFIX_END_RESOURCES = 5,
};

/* Receives a finished message (msg is valid during the call only). */
typedef void (*tw_ipfix_out_fn)(void *ctx, const uint8_t *msg, size_t len, uint32_t records);

struct tw_ipfix_enc;

/* Opens an encoder for one observation domain; messages are at most mtu bytes (512..65000).
 * The templates are handed to out as the first message, before this returns. Returns NULL with a one-line reason in err. */
struct tw_ipfix_enc *tw_ipfix_enc_open(uint32_t domain, size_t mtu, tw_ipfix_out_fn out,
                                       void *out_ctx, char *err, size_t errlen);
/* Sets the export time written into the messages started from now on (seconds since the
 * epoch; 0 = the wall clock when each message starts, the default). */
void tw_ipfix_enc_set_time(struct tw_ipfix_enc *e, uint32_t export_time_s);
/* Appends the record of a flow END event; a full message is handed to out first (out is
 * called at most once). Returns 0,
 * or -1 with a reason in err (the record is not in any message). */
int tw_ipfix_enc_add(struct tw_ipfix_enc *e, const struct tw_flow_record *r, char *err,
                     size_t errlen);
/* Hands the open message to out, then a message of both templates (the periodic re-send,
 * RFC 7011 section 8.4; libfixbuf puts templates in a message of their own): out is called
 * at most twice. Returns 0, or -1 with a reason in err. */
int tw_ipfix_enc_templates(struct tw_ipfix_enc *e, char *err, size_t errlen);
/* Hands the open message to out when it holds anything. Returns 0, or -1 with a reason. */
int tw_ipfix_enc_flush(struct tw_ipfix_enc *e, char *err, size_t errlen);
/* Data records in the open message (not yet handed to out). */
uint32_t tw_ipfix_enc_pending(const struct tw_ipfix_enc *e);
/* The flowEndReason (IE 136) of a tapwatch end reason. */
uint8_t tw_ipfix_end_reason(unsigned end_reason);
/* The 8 bytes of applicationId (IE 95) of a record (layout above). */
void tw_ipfix_application_id(const struct tw_flow_record *r, uint8_t out[8]);
/* Frees the encoder (what is still open is not handed out: flush first). NULL is fine. */
void tw_ipfix_enc_close(struct tw_ipfix_enc *e);

#endif
