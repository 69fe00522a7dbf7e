/* redis_cluster.h - the writers' engine over a Redis Cluster (redis.cluster: true).
 *
 *   writer ──batch (RESP bytes)──> tw_cluster: split by each command's key slot
 *        ┌───────────────┬───────────────┐
 *     engine(node A)  engine(node B)  engine(node C)   one redis_engine per master
 *        └──── replies ──┴── MOVED/ASK: sent again to the node named ──┘
 *   the writer's batch is done (ops.done, in the order batches were made) when every
 *   command of it was answered OK by the node that owns its slot.
 *
 * The slot map comes from CLUSTER SLOTS (asked of the seeds, then of any known node): at
 * start, soon after a MOVED, and when a node has been unreachable for a second (a failover:
 * its replica becomes master and takes its slots). MOVED updates the slot at once and the
 * command goes to the named node; ASK sends ASKING and the command there, map unchanged.
 * Commands on a node that lost its slots are sent again to the new owner (batches are
 * idempotent). A node that cannot be reached holds its part of the batches; once
 * TW_ENGINE_FLIGHTS batches wait, the writers spool as in an outage.
 *
 * Every node connection uses the target's credentials and transport (TLS, ACL user); the
 * target's wait_replicas applies to every node (redis_engine.h).
 */
#ifndef TW_REDIS_CLUSTER_H
#define TW_REDIS_CLUSTER_H

#include "control/store/redis_engine.h"

struct tw_cluster;
struct tw_redis_target;

/* Reads the slot map from the target's seeds (a short blocking question: at start only) and
 * returns the router, or NULL with a reason in err (bad seed list, unix socket, no memory).
 * Seeds that do not answer yet are asked again by later polls. */
struct tw_cluster *tw_cluster_open(const struct tw_redis_target *t, const struct tw_engine_ops *ops,
                                   void *ctx, char *err, size_t errlen);

/* The engine's calls, over the nodes (same meaning as in redis_engine.h). */
int tw_cluster_poll(struct tw_cluster *c, uint64_t now_ms);
int tw_cluster_ready(const struct tw_cluster *c, uint64_t now_ms);
struct tw_buf *tw_cluster_begin(struct tw_cluster *c);
int tw_cluster_commit(struct tw_cluster *c, const struct tw_engine_batch *b, unsigned ncmds,
                      uint64_t now_ms);
void tw_cluster_abort(struct tw_cluster *c);
unsigned tw_cluster_in_flight(const struct tw_cluster *c);
int tw_cluster_wait(struct tw_cluster *c, unsigned timeout_ms);
void tw_cluster_sample_evictions(struct tw_cluster *c, uint32_t every_ms);
const char *tw_cluster_refusal(const struct tw_cluster *c);
const char *tw_cluster_last_error(const struct tw_cluster *c);
/* Sums over the nodes; connected = every master connected. */
void tw_cluster_get_stats(const struct tw_cluster *c, struct tw_engine_stats *out);
/* NULL is fine. */
void tw_cluster_close(struct tw_cluster *c);

/* Counters of the routing, for tests and the summary. */
struct tw_cluster_counts {
    uint64_t moved, ask, refreshes, rerouted;
};
void tw_cluster_counts(const struct tw_cluster *c, struct tw_cluster_counts *out);

#endif
