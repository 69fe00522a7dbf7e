/* summary_seal.h - what the sensor added to each summary bucket, kept on the control lcore
 * until it is sealed (README "Evidence", "Summaries").
 *
 *   alert writer put_summary / put_alert (equipment) ──tw_sumseal_add──> open buckets
 *   hour boundary of the sensor's time, memory full, stop ──tw_sumseal_take──> one canonical
 *   snapshot per bucket (control/evidence/sum_snapshot.h) ──> chain item 'u', written to
 *   tw:{S}:sum:<E>:<h|d>:<n>:seals (alert_writer.c)
 *
 * Why a snapshot is a delta (what this run added since its previous snapshot of the bucket),
 * not the bucket's value: the values in Redis are the sum of every run that wrote the bucket
 * (a restart within an hour, a second capture of the same day), which one run cannot know
 * without reading Redis back, and that would make the evidence depend on what it is meant to
 * check. Deltas need no memory once sealed (a closed bucket is forgotten; a late flow opens it
 * again and its delta is sealed at the next boundary), nothing is superseded (every snapshot
 * stays, so no sequence number goes missing), and the verifier's check is plain: the sum of
 * every snapshot of a bucket must be what Redis holds.
 *
 * The sensor's time is the newest packet time of the items it was given (a flow's first_seen,
 * an alert's ts): the buckets are the UTC hours and days the summaries use. When that time
 * passes an hour boundary every open bucket is taken (the day buckets too: a day is sealed
 * hour by hour, its last part when it closes); on a link gone quiet, after an hour without
 * anything summed (the alert writer's poll). Memory is bounded (max_entries entries): when
 * it is full the caller takes every bucket early and adds again; nothing is dropped.
 */
#ifndef TW_STORE_SUMMARY_SEAL_H
#define TW_STORE_SUMMARY_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "control/evidence/sum_snapshot.h"

#define TW_SUMSEAL_ENTRIES 16384
/* What it costs (control/plane/budget.c): per entry the pool's, the take's copy, a bucket
 * and two index slots (88 + 80 + 80 + 16 bytes): 4.1 MiB. */
#define TW_SUMSEAL_BYTES ((uint64_t)TW_SUMSEAL_ENTRIES * 264)

struct tw_sumseal;

/* Returns the accumulator, or NULL (no memory). */
struct tw_sumseal *tw_sumseal_open(uint32_t max_entries);
void tw_sumseal_close(struct tw_sumseal *ss);

/* Adds value to entry (sect, name) of bucket (equipment, by, bucket). Returns 0, or -ENOSPC
 * when the memory is full (take the buckets, then add again). A name longer than
 * TW_SUM_NAME_MAX is cut (the sensor's names are shorter). */
int tw_sumseal_add(struct tw_sumseal *ss, const char *equipment, char by, uint64_t bucket,
                   char sect, const char *name, int64_t value);
/* The sensor's time moves to t_us (never back). Returns 1 when an hour boundary was passed
 * while entries wait (take them), else 0. */
int tw_sumseal_time(struct tw_sumseal *ss, uint64_t t_us);
/* How many entries wait. */
size_t tw_sumseal_pending(const struct tw_sumseal *ss);
/* Hands every open bucket, normalized (sum_snapshot.h), to fn, then forgets them all. */
void tw_sumseal_take(struct tw_sumseal *ss,
                     void (*fn)(void *arg, const struct tw_sum_bucket *b), void *arg);

#endif
