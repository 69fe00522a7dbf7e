/* redis_slot.h - Redis Cluster's key-slot rule and the RESP command walk that routing needs.
 *
 * A key's slot is CRC16 (XMODEM: poly 0x1021, init 0) of its hash tag, modulo 16384. The hash
 * tag is what lies between the first '{' and the first '}' after it, when that is not empty;
 * otherwise the whole key. So "tw:{S}:f:123" and "tw:{S}:x:123:sip" share a slot: one
 * sensor's keys, or one sensor-and-hour's with "{S:H}", stay together and a Lua script over
 * them runs on one node.
 */
#ifndef TW_REDIS_SLOT_H
#define TW_REDIS_SLOT_H

#include <stddef.h>

#define TW_CLUSTER_SLOTS 16384

/* CRC16-XMODEM of n bytes ("123456789" -> 0x31C3). */
unsigned tw_crc16(const void *p, size_t n);

/* The slot of a key of n bytes (0..16383). */
unsigned tw_key_slot(const char *key, size_t n);

/* One RESP command in a buffer: "*<argc>\r\n" then argc bulk strings. */
struct tw_resp_cmd {
    size_t len;       /* its bytes */
    const char *key;  /* the key it routes by (NULL: none, e.g. WAIT, SCRIPT LOAD) */
    size_t key_len;
};

/* Reads the command at p (n bytes available). The key is argv[1], or for EVAL/EVALSHA/FCALL
 * the first of their keys (argv[3]) when numkeys > 0. Returns 0, or -1 when p does not hold a
 * whole well-formed command. */
int tw_resp_next(const char *p, size_t n, struct tw_resp_cmd *out);

#endif
