/* daily_totals.h - the policy's daily upload accumulators.
 *
 * Bytes each equipment sent to peers outside domestic_networks, per day. A fixed table of
 * TW_UPLOAD_SLOTS entries keyed by equipment name; an entry whose day is over is reused, so
 * the table never grows. */
#ifndef TW_DAILY_TOTALS_H
#define TW_DAILY_TOTALS_H

#include <stdint.h>

#include "control/record/alert.h" /* TW_EQUIPMENT_LEN */

#define TW_UPLOAD_SLOTS 8192

struct tw_upload_acc;

/* Returns a table, or NULL with errno ENOMEM. */
struct tw_upload_acc *tw_upload_acc_new(void);
void tw_upload_acc_free(struct tw_upload_acc *u);

/* Adds bytes to equipment's total of day (any day number: the caller's calendar). A new day
 * starts from zero. Returns the total after the addition and sets *first_over to 1 the first
 * time that day's total exceeds limit (0 = no limit). Returns UINT64_MAX when the table is
 * full of entries of the current day (the bytes are not counted). */
uint64_t tw_upload_acc_add(struct tw_upload_acc *u, const char *equipment, int64_t day,
                           uint64_t bytes, uint64_t limit, int *first_over);

#endif
