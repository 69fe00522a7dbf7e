/* witness_writer.h - the hashes of the sensor's seals to a witness outside the bank
 * (control/evidence/witness.h: what is sent, and where).
 *
 *   tw_evlog_seal ──seal line──> tw_witness_seal: its entry (run, no, time, SHA-256 of the
 *   line) into a bounded queue ──> HSETNX tw:witness:{S} <run>:<no> "<hash> <time>", pipelined,
 *   up to TW_WITNESS_BATCH a batch, over a connection of its own (redis_engine.h: never waits,
 *   reconnects at most once a second)
 *
 * The witness being down or refusing us never stops the sensor nor the store's writers:
 * entries wait in the queue (TW_WITNESS_QUEUE; beyond it a new one is dropped and counted),
 * and at exit in run_dir/witness-seals-<S>.txt (0600, one "<field> <value>" line each), sent
 * first at the next start. At the end of a run an end marker (<run>:end = the last seal's
 * number) follows the run's last seal, so that a seal added to an ended run later is known.
 *
 * Everything runs on the control lcore.
 */
#ifndef TW_STORE_WITNESS_WRITER_H
#define TW_STORE_WITNESS_WRITER_H

#include <stddef.h>
#include <stdint.h>

#define TW_WITNESS_QUEUE 65536 /* entries waiting: 18 h at a seal a second */
#define TW_WITNESS_BATCH 256   /* HSETNX a batch */
#define TW_WITNESS_BYTES ((uint64_t)TW_WITNESS_QUEUE * 80) /* its memory (budget.c) */

struct tw_redis_target;
struct tw_evlog;
struct tw_witness;

struct tw_witness_params {
    const struct tw_redis_target *target; /* evidence.witness with its credentials (borrowed) */
    const char *sensor;   /* the key namespace (<bank>/<sensor> or <sensor>) */
    const char *run_dir;  /* where waiting entries are kept at exit; NULL or "": nowhere */
    struct tw_evlog *evidence; /* the chain whose seals are witnessed (borrowed) */
};

struct tw_witness_stats {
    uint64_t sent;      /* entries the witness acknowledged (seals and end markers) */
    uint64_t pending;   /* waiting now */
    uint64_t dropped;   /* not kept: the queue was full, or the witness refused them */
    uint64_t recovered; /* an earlier run's, read from the file at open */
    uint64_t held;      /* kept in the file for the next start by tw_witness_persist */
    uint64_t errors, reconnects;
    int connected;
    const char *refusal; /* what the witness said when it refused us (NOPERM...), or NULL */
};

/* Opens the writer (its connection is tried now, then at most once a second), queues the
 * entries an earlier run left in run_dir first, and asks p->evidence to tell it every seal.
 * Returns it, or NULL with a one-line reason in err (bad file, no memory). */
struct tw_witness *tw_witness_open(const struct tw_witness_params *p, char *err, size_t errlen);
/* One seal line (tw_evlog_seal_fn): its entry is queued. Never waits. */
void tw_witness_seal(void *w, const char *line, size_t len);
/* Sends what is due (a full batch, or what waits after 100 ms). now_ms monotonic. */
void tw_witness_poll(struct tw_witness *w, uint64_t now_ms);
/* At exit: queues the run's end marker, then sends for at most timeout_ms. Returns the
 * entries left. */
uint64_t tw_witness_drain(struct tw_witness *w, uint64_t timeout_ms);
/* At exit, after the drain: what is left goes to the file (or the file is removed when
 * nothing is). Returns 0, or -1 with errno set (then held is 0: they are lost). */
int tw_witness_persist(struct tw_witness *w);
void tw_witness_get_stats(const struct tw_witness *w, struct tw_witness_stats *out);
const char *tw_witness_url(const struct tw_witness *w);
const char *tw_witness_path(const struct tw_witness *w);
/* Stops being told seals and frees. NULL is fine. */
void tw_witness_close(struct tw_witness *w);

#endif
