/* fuzz_record_json.c - libFuzzer target: tw_record_from_json, then tw_record_to_json.
 *
 * The input is the JSON text (cut at its first NUL). When it reads as a record:
 *   - the record prints into TW_RECORD_JSON_MAX bytes (the bound of record_json.h);
 *   - the printed text reads back, and printing that record again gives the same text
 *     (one round may lose bytes on purpose: invalid UTF-8 and over-long strings; a second
 *     round must not change anything);
 *   - the numbers survive: ports, counters, times and the flow id are the same after the
 *     round trip, and a time read back is the number that was written (to the microsecond,
 *     within the precision of a double for times written with an exponent).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "control/record/record_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define JSON_MAX TW_RECORD_JSON_MAX

static int same_numbers(const struct tw_flow_record *a, const struct tw_flow_record *b)
{
    return a->flow_id == b->flow_id && a->first_seen_us == b->first_seen_us &&
           a->last_seen_us == b->last_seen_us && a->c2s_packets == b->c2s_packets &&
           a->c2s_bytes == b->c2s_bytes && a->s2c_packets == b->s2c_packets &&
           a->s2c_bytes == b->s2c_bytes && a->risks == b->risks &&
           a->src_port == b->src_port && a->dst_port == b->dst_port && a->vlan == b->vlan &&
           a->ip_version == b->ip_version && a->ip_proto == b->ip_proto &&
           a->event == b->event && a->end_reason == b->end_reason &&
           a->tls_version == b->tls_version && memcmp(a->src_ip, b->src_ip, 16) == 0 &&
           memcmp(a->dst_ip, b->dst_ip, 16) == 0;
}

/* The time key as json-c reads the number, compared with what the parser kept. */
static void check_time(const char *text, const char *key, uint64_t got_us)
{
    json_object *o = json_tokener_parse(text), *v;

    if (o == NULL)
        abort(); /* tw_record_from_json accepted it */
    if (json_object_object_get_ex(o, key, &v)) {
        double want = json_object_get_double(v) * 1e6;
        double diff = fabs(want - (double)got_us);
        if (!(diff <= 1.0 + want * 1e-12))
            abort();
    }
    json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tw_flow_record r1, r2, r3;
    char *text = malloc(size + 1);
    char *j1 = malloc(JSON_MAX), *j2 = malloc(JSON_MAX);
    char err[256];

    if (text == NULL || j1 == NULL || j2 == NULL)
        goto out;
    memcpy(text, data, size);
    text[size] = '\0';

    if (tw_record_from_json(text, &r1, err, sizeof(err)) != 0)
        goto out;
    check_time(text, "first_seen", r1.first_seen_us);
    check_time(text, "last_seen", r1.last_seen_us);
    if (tw_record_to_json(&r1, j1, JSON_MAX) < 0)
        abort();
    if (tw_record_from_json(j1, &r2, err, sizeof(err)) != 0)
        abort(); /* what we print we must read */
    if (!same_numbers(&r1, &r2))
        abort();
    if (tw_record_to_json(&r2, j2, JSON_MAX) < 0)
        abort();
    if (tw_record_from_json(j2, &r3, err, sizeof(err)) != 0 || !same_numbers(&r2, &r3))
        abort();
    if (tw_record_to_json(&r3, j1, JSON_MAX) < 0 || strcmp(j1, j2) != 0)
        abort(); /* a second round trip changes nothing */
out:
    free(text);
    free(j1);
    free(j2);
    return 0;
}
