/* worker.c - the per-packet path (see worker.h). */
#include "clock.h"
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

#include <rte_branch_prediction.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "source.h"

#define MAX_BURST 512

struct tw_worker *tw_worker_alloc(unsigned n)
{
    size_t size = (size_t)n * sizeof(struct tw_worker);
    struct tw_worker *w = aligned_alloc(_Alignof(struct tw_worker), size ? size : sizeof(*w));

    if (w)
        memset(w, 0, size);
    return w;
}

void tw_worker_free(struct tw_worker *w)
{
    free(w);
}

int tw_worker_prepare(struct tw_worker *w, unsigned id, const struct tw_worker_params *p)
{
    memset(w, 0, sizeof(*w));
    w->id = id;
    w->p = *p;
    w->flows = tw_flow_table_create(p->capacity);
    if (!w->flows)
        return -1;
    w->dpi = tw_classifier_create(p->capacity);
    if (p->reassembly && w->dpi) {
        struct tw_reasm_params rp = p->reasm;
        rp.parse = &w->p.parse; /* a rebuilt datagram opens the tunnels it carries */
        w->reasm = tw_reasm_create(&rp);
    }
    if (!w->dpi || (p->reassembly && !w->reasm)) {
        int e = errno;
        tw_classifier_free(w->dpi);
        tw_flow_table_free(w->flows);
        w->flows = NULL;
        w->dpi = NULL;
        errno = e;
        return -1;
    }
    if (p->dedup_us && !(w->dedup = tw_dedup_create(p->dedup_us))) {
        int e = errno;
        tw_worker_fini(w);
        errno = e;
        return -1;
    }
    return 0;
}

void tw_worker_fini(struct tw_worker *w)
{
    tw_reasm_free(w->reasm);
    w->reasm = NULL;
    tw_classifier_free(w->dpi);
    tw_flow_table_free(w->flows);
    tw_dedup_free(w->dedup);
    w->dpi = NULL;
    w->flows = NULL;
    w->dedup = NULL;
}

static void fill_record(struct tw_worker *w, const struct tw_flow *f, struct tw_flow_record *r,
                        enum tw_event_kind kind, enum tw_end_reason why)
{
    const struct tw_flow_key *k = &f->key;

    memset(r, 0, sizeof(*r));
    r->flow_id = f->flow_id;
    r->first_seen_us = f->first_us;
    r->last_seen_us = f->last_us;
    r->c2s_packets = f->c2s_packets;
    r->c2s_bytes = f->c2s_bytes;
    r->s2c_packets = f->s2c_packets;
    r->s2c_bytes = f->s2c_bytes;
    r->seq = ++w->seq;
    /* not tw_ends_put: its selects here made the whole no-store run of bench-big 4-5% slower
     * (1.59 s against 1.53 s, medians of 7 alternating runs), the key's use of it did not */
    if (f->client_is_a) {
        memcpy(r->src_ip, k->addr_a, 16);
        memcpy(r->dst_ip, k->addr_b, 16);
        r->src_port = k->port_a;
        r->dst_port = k->port_b;
    } else {
        memcpy(r->src_ip, k->addr_b, 16);
        memcpy(r->dst_ip, k->addr_a, 16);
        r->src_port = k->port_b;
        r->dst_port = k->port_a;
    }
    r->vlan = k->vlan;
    r->ip_version = k->ip_version;
    r->ip_proto = k->ip_proto;
    r->tunnel = k->tunnel;
    r->tunnel_id = f->tunnel_id;
    r->has_src_mac = f->has_src_mac;
    memcpy(r->src_mac, f->src_mac, 6);
    r->event = (uint8_t)kind;
    r->end_reason = (uint8_t)why;
    r->c2s_tcp_flags = f->c2s_tcp_flags;
    r->s2c_tcp_flags = f->s2c_tcp_flags;
    r->detection_done = f->detection_done;
    r->worker = (uint8_t)w->id;
    tw_classify_result(w->dpi, f, r);
}

/* Hands an event to the control plane. A replayed file waits for room (nothing is lost,
 * the file simply reads slower); live traffic cannot wait, so the event is counted lost. */
static void emit(struct tw_worker *w, const struct tw_flow *f, enum tw_event_kind kind,
                 enum tw_end_reason why)
{
    struct tw_flow_record r;

    fill_record(w, f, &r, kind, why);
    if (likely(rte_ring_sp_enqueue_elem(w->events, &r, sizeof(r)) == 0))
        return;
    if (!w->p.lossless) {
        w->counters.v[TW_C_EVENTS_RING_DROPPED]++;
        return;
    }
    w->counters.v[TW_C_EVENTS_RING_WAIT]++;
    while (rte_ring_sp_enqueue_elem(w->events, &r, sizeof(r)) != 0)
        rte_pause();
}

static void note_detection(struct tw_worker *w, const struct tw_flow *f)
{
    if (f->app_proto == 0 && f->master_proto == 0)
        w->counters.v[TW_C_FLOWS_UNKNOWN]++;
    else if (f->guessed)
        w->counters.v[TW_C_FLOWS_GUESSED]++;
    else
        w->counters.v[TW_C_FLOWS_CLASSIFIED]++;
}

static const unsigned end_counter[TW_END__COUNT] = {
    [TW_END_NONE] = TW_C_FLOWS_END_EOF, /* not used */
    [TW_END_IDLE] = TW_C_FLOWS_END_IDLE,
    [TW_END_TCP_CLOSE] = TW_C_FLOWS_END_TCP_CLOSE,
    [TW_END_EVICTED] = TW_C_FLOWS_END_EVICTED,
    [TW_END_EOF] = TW_C_FLOWS_END_EOF,
    [TW_END_SHUTDOWN] = TW_C_FLOWS_END_SHUTDOWN,
};

static void end_flow(struct tw_worker *w, struct tw_flow *f, enum tw_end_reason why)
{
    if (!f->detection_done && f->dpi) {
        tw_classify_finish(w->dpi, f);
        note_detection(w, f);
    } else if (!f->dpi && !f->detection_done) {
        f->detection_done = 1;
        note_detection(w, f);
    }
    w->counters.v[end_counter[why]]++;
    if (f->key.ip_proto == 6) {
        /* one way, yet that side acknowledged something: the other side's packets were lost
         * (or the mirror carries one direction only); a SYN nobody answered is not counted */
        uint8_t acks = (f->c2s_tcp_flags | f->s2c_tcp_flags) & TW_TCP_ACK;
        w->counters.v[TW_C_TCP_FLOWS_ENDED]++;
        w->counters.v[TW_C_TCP_FLOWS_ONE_WAY] += acks && (!f->c2s_packets || !f->s2c_packets);
    }
    emit(w, f, TW_EVENT_END, why);
    tw_flow_table_remove(w->flows, f);
}

static inline enum tw_end_reason timeout_reason(const struct tw_flow *f)
{
    return f->state == TW_FLOW_CLOSING ? TW_END_TCP_CLOSE : TW_END_IDLE;
}

/* The reader's part of a frame: counts it, keeps time monotonic, parses it.
 * Returns 1 when pkt is a packet of some flow, 0 when it was dropped (and counted). */
static inline int ingest(struct tw_worker *w, const uint8_t *frame, uint32_t caplen,
                         uint32_t wire_len, int linktype, uint64_t *ts_us, struct tw_packet *pkt)
{
    int rc;

    w->counters.v[TW_C_RECEIVED]++;
    if (unlikely(*ts_us < w->now_us)) { /* time never goes back: records stay ordered */
        w->counters.v[TW_C_TS_BACKWARDS]++;
        *ts_us = w->now_us;
    }
    w->now_us = *ts_us;
    rc = tw_parse(frame, caplen, wire_len, linktype, &w->p.parse, pkt);
    if (unlikely(rc != TW_C_PARSED)) {
        if (pkt->fragment && w->reasm)
            return 1; /* a fragment: its owner reassembles it */
        w->counters.v[rc]++;
        return 0;
    }
    if (w->dedup && tw_dedup_seen(w->dedup, pkt, *ts_us)) {
        w->counters.v[TW_C_DROP_DUPLICATE]++;
        return 0;
    }
    return 1;
}

void tw_worker_packet(struct tw_worker *w, const uint8_t *frame, uint32_t caplen,
                      uint32_t wire_len, int linktype, uint64_t ts_us)
{
    struct tw_packet pkt;

    if (ingest(w, frame, caplen, wire_len, linktype, &ts_us, &pkt))
        tw_worker_parsed(w, &pkt, wire_len, ts_us);
}

unsigned tw_worker_of(const struct tw_packet *pkt, unsigned n)
{
    struct tw_flow_key key;
    int from_a;

    /* By address pair, not by 5-tuple: nDPI keeps per-host caches (STUN, mining, TLS
     * certificates...) inside each worker's module, so all flows between two hosts must
     * meet in one worker for a result that does not depend on the worker count. */
    if (unlikely(pkt->fragment)) { /* by the fragmented header: later fragments have no more */
        struct tw_packet t = *pkt;
        const uint8_t *ip = pkt->frag_ip;
        memset(t.src, 0, sizeof(t.src));
        memset(t.dst, 0, sizeof(t.dst));
        t.ip_version = (uint8_t)(ip[0] >> 4);
        memcpy(t.src, ip + (t.ip_version == 4 ? 12 : 8), t.ip_version == 4 ? 4 : 16);
        memcpy(t.dst, ip + (t.ip_version == 4 ? 16 : 24), t.ip_version == 4 ? 4 : 16);
        t.fragment = 0;
        return tw_worker_of(&t, n);
    }
    tw_flow_key_make(pkt, &key, &from_a);
    if (memcmp(key.addr_a, key.addr_b, 16) > 0) { /* once per packet, reader side only */
        uint8_t t[16];
        memcpy(t, key.addr_a, 16);
        memcpy(key.addr_a, key.addr_b, 16);
        memcpy(key.addr_b, t, 16);
    }
    key.port_a = key.port_b = 0;
    key.ip_proto = 0;
    return (unsigned)(((uint64_t)tw_flow_key_hash(&key) * n) >> 32);
}

unsigned tw_worker_mbuf_priv_size(void)
{
    return RTE_ALIGN((unsigned)sizeof(struct tw_packet), RTE_MBUF_PRIV_ALIGN);
}

/* The flow part of a packet, once its key and hash are known. */
static void account(struct tw_worker *w, const struct tw_packet *pkt,
                    const struct tw_flow_key *key, uint32_t hash, int from_a, uint32_t wire_len,
                    uint64_t ts_us)
{
    struct tw_flow *f;

    /* a tunnel that carried an Ethernet frame is the mirror's transport: count that frame */
    wire_len = wire_len > pkt->outer_len ? wire_len - pkt->outer_len : 0;
    if (ts_us > w->now_us)
        w->now_us = ts_us;
    f = tw_flow_table_find(w->flows, key, hash);
    if (f) {
        /* Decide on the flow's own timestamps, not on when the reaper last ran, so the
         * records do not depend on burst boundaries or the worker count. */
        if (tw_flow_expired(f, ts_us, w->p.idle_us, w->p.close_us)) {
            end_flow(w, f, timeout_reason(f));
            f = NULL;
        } else if (f->state == TW_FLOW_CLOSING && (pkt->tcp_flags & (TW_TCP_SYN | TW_TCP_ACK)) == TW_TCP_SYN) {
            end_flow(w, f, TW_END_TCP_CLOSE); /* a new connection reuses the ports */
            f = NULL;
        }
    }
    if (!f) {
        f = tw_flow_table_insert(w->flows, key, hash);
        if (unlikely(!f)) {
            struct tw_flow *victim = w->p.evict_when_full ? tw_flow_table_oldest(w->flows) : NULL;
            if (!victim) {
                w->counters.v[TW_C_DROP_FLOW_TABLE_FULL]++;
                return;
            }
            end_flow(w, victim, TW_END_EVICTED);
            f = tw_flow_table_insert(w->flows, key, hash);
        }
        f->client_is_a = (uint8_t)from_a;
        f->tunnel_id = pkt->tunnel_id;
        /* the first packet's sender is the client: its frame's MAC is the client's */
        const uint8_t *mac = tw_packet_src_mac(pkt);
        if (mac) {
            memcpy(f->src_mac, mac, 6);
            f->has_src_mac = 1;
        }
        f->first_us = f->last_export_us = ts_us;
        f->flow_id = tw_flow_id(f);
        w->counters.v[TW_C_FLOWS_CREATED]++;
        tw_classify_begin(w->dpi, f);
    }

    f->last_us = ts_us;
    if (pkt->ip_proto == 6) {
        struct tw_tcp_gap g = {0, 0};
        unsigned s2c = from_a != f->client_is_a;
        uint64_t mine = s2c ? f->s2c_packets : f->c2s_packets;
        uint64_t peer = s2c ? f->c2s_packets : f->s2c_packets;
        tw_tcp_seen_packet(&f->tcp, s2c, mine == 0, peer != 0, pkt, &g);
        w->counters.v[TW_C_TCP_GAP_BYTES] += g.gap_bytes;
        w->counters.v[TW_C_TCP_ACKED_BYTES] += g.acked_bytes;
    }
    if (from_a == f->client_is_a) {
        f->c2s_packets++;
        f->c2s_bytes += wire_len;
        f->c2s_tcp_flags |= pkt->tcp_flags;
    } else {
        f->s2c_packets++;
        f->s2c_bytes += wire_len;
        f->s2c_tcp_flags |= pkt->tcp_flags;
    }
    tw_flow_table_touch(w->flows, f);
    if (pkt->first_fragment)
        w->counters.v[TW_C_IPV4_FIRST_FRAGMENT]++;
    if (pkt->tcp_flags & (TW_TCP_FIN | TW_TCP_RST)) {
        if ((pkt->tcp_flags & TW_TCP_RST) ||
            ((f->c2s_tcp_flags & TW_TCP_FIN) && (f->s2c_tcp_flags & TW_TCP_FIN)))
            tw_flow_table_set_closing(w->flows, f);
    }

    if (f->dpi && !pkt->snapped) {
        w->counters.v[TW_C_DPI_PACKETS]++;
        if (tw_classify_packet(w->dpi, f, pkt, ts_us)) {
            note_detection(w, f);
            emit(w, f, TW_EVENT_CLASSIFIED, TW_END_NONE);
        }
    }
    if (w->p.active_us && ts_us - f->last_export_us >= w->p.active_us) {
        f->last_export_us = ts_us;
        w->counters.v[TW_C_FLOW_UPDATES]++;
        emit(w, f, TW_EVENT_UPDATE, TW_END_NONE);
    }
    w->counters.v[TW_C_PARSED]++;
}

/* A fragment goes to the reassembler (its bytes are copied there, so its frame may go);
 * the datagram it completes goes on as one packet, with the fragments' bytes summed. */
static void fragment(struct tw_worker *w, const struct tw_packet *p, uint32_t wire_len,
                     uint64_t ts_us)
{
    struct tw_packet d;
    struct tw_flow_key key;
    uint32_t wire;
    int rc, from_a;

    if (ts_us > w->now_us)
        w->now_us = ts_us;
    /* a fragment inside a tunnel that carries Ethernet counts its inner frame (as account()
     * does for a whole packet): the sum is the datagram's bytes on the monitored link */
    if (!tw_reasm_add(w->reasm, p, wire_len - p->outer_len, ts_us, &w->counters, &d, &wire, &rc))
        return;
    if (rc != TW_C_PARSED) {
        w->counters.v[rc]++;
        return;
    }
    tw_flow_key_make(&d, &key, &from_a);
    account(w, &d, &key, tw_flow_key_hash(&key), from_a, wire, ts_us);
}

void tw_worker_parsed(struct tw_worker *w, const struct tw_packet *p, uint32_t wire_len,
                      uint64_t ts_us)
{
    struct tw_flow_key key;
    int from_a;

    if (unlikely(p->fragment && w->reasm)) {
        fragment(w, p, wire_len, ts_us);
        return;
    }
    tw_flow_key_make(p, &key, &from_a);
    account(w, p, &key, tw_flow_key_hash(&key), from_a, wire_len, ts_us);
}

void tw_worker_expire(struct tw_worker *w)
{
    struct tw_flow *f;

    while ((f = tw_flow_table_next_expired(w->flows, w->now_us, w->p.idle_us, w->p.close_us)))
        end_flow(w, f, timeout_reason(f));
    if (w->reasm)
        tw_reasm_expire(w->reasm, w->now_us, &w->counters);
    w->active_flows = tw_flow_table_count(w->flows);
    __atomic_store_n(&w->published_now_us, w->now_us, __ATOMIC_RELEASE);
}

void tw_worker_flush(struct tw_worker *w, enum tw_end_reason why)
{
    struct tw_flow *f;

    if (w->reasm) /* fragments still waiting for the rest of their datagram */
        tw_reasm_flush(w->reasm, &w->counters);
    /* a connection that already closed ended by its close, whatever stops the run now */
    while ((f = tw_flow_table_oldest(w->flows)))
        end_flow(w, f, f->state == TW_FLOW_CLOSING ? TW_END_TCP_CLOSE : why);
    w->active_flows = 0;
}

/* Nothing to read: spin a little (the next burst may be microseconds away), then nap, each
 * nap twice the last, up to idle_sleep_us. An idle worker then costs a few thousand wake-ups
 * a second instead of a core, and a burst arriving after a quiet spell waits at most
 * idle_sleep_us (the port's descriptors or the kernel's ring hold it meanwhile).
 * idle_sleep 0 keeps the spinning of a dedicated core. */
static inline void idle_wait(const struct tw_worker *w, unsigned *idle)
{
    enum { SPINS = 64 };

    if (!w->p.idle_sleep_us || ++*idle <= SPINS) {
        rte_pause();
        return;
    }
    unsigned shift = *idle - SPINS;
    uint64_t us = shift >= 20 ? w->p.idle_sleep_us : 1ull << shift;
    if (us > w->p.idle_sleep_us)
        us = w->p.idle_sleep_us;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(us * 1000)};
    nanosleep(&ts, NULL);
}

/* The control lcore is re-opening the source: park until it is done. Only the workers
 * that read the source park; the others go on with what is queued for them. */
static void park(struct tw_worker *w)
{
    __atomic_store_n(&w->paused, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(w->pause, __ATOMIC_ACQUIRE) && !*w->stop) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 1000000};
        nanosleep(&ts, NULL);
    }
    __atomic_store_n(&w->paused, 0, __ATOMIC_RELEASE);
}

/* Packets other workers redirected to this one: their time is the reader's, so it is kept
 * from going back here (a flow's times must not). Returns how many. */
static unsigned drain_redirected(struct tw_worker *w, uint16_t burst)
{
    struct rte_mbuf *pkts[MAX_BURST];
    unsigned n = rte_ring_sc_dequeue_burst(w->inq, (void **)pkts, burst, NULL);

    for (unsigned i = 0; i < n; i++) {
        struct tw_mbuf_meta *meta = tw_mbuf_meta(pkts[i]);
        if (i + 1 < n)
            rte_prefetch0(((struct tw_packet *)rte_mbuf_to_priv(pkts[i + 1]))->l3);
        if (meta->ts_us < w->now_us)
            meta->ts_us = w->now_us;
        tw_worker_parsed(w, rte_mbuf_to_priv(pkts[i]), meta->wire_len, meta->ts_us);
    }
    if (n)
        rte_pktmbuf_free_bulk(pkts, n);
    return n;
}

/* Hands the packets of out[t] to worker t. A replay waits for room, draining its own ring
 * meanwhile (two workers may wait on each other); live traffic counts them lost. */
static void redirect_out(struct tw_worker *w, struct rte_mbuf *out[][MAX_BURST], unsigned *nout,
                         uint16_t burst)
{
    struct tw_redirect *r = w->redirect;

    for (unsigned t = 0; t < r->nb_workers; t++) {
        unsigned done = 0;
        while (done < nout[t]) {
            done += rte_ring_mp_enqueue_burst(r->workers[t].inq, (void **)&out[t][done],
                                              nout[t] - done, NULL);
            if (done < nout[t]) {
                if (!w->p.lossless) {
                    w->counters.v[TW_C_DROP_DISPATCH_FULL] += nout[t] - done;
                    rte_pktmbuf_free_bulk(&out[t][done], nout[t] - done);
                    break;
                }
                if (!drain_redirected(w, burst))
                    rte_pause();
            }
        }
        nout[t] = 0;
    }
}

/* The end under redirect: stop reading, then drain until every worker has stopped (none
 * will enqueue any more) and the ring is empty. */
static void redirect_finish(struct tw_worker *w, uint16_t burst)
{
    struct tw_redirect *r = w->redirect;

    __atomic_add_fetch(&r->stopped, 1, __ATOMIC_ACQ_REL);
    for (;;) {
        int all = __atomic_load_n(&r->stopped, __ATOMIC_ACQUIRE) == r->nb_workers;
        if (!drain_redirected(w, burst)) {
            if (all)
                break;
            sched_yield();
        }
    }
    tw_worker_expire(w);
}

/* One worker reading its own source queue (a single worker, or a NIC queue under RSS).
 * A burst goes through in passes so that the flow table's memory is asked for before it
 * is needed: parse every frame and prefetch its bucket; prefetch the flow each bucket
 * points to; then update the flows and run DPI in packet order (the order, and so the
 * records, are those of one packet at a time). */
static enum tw_end_reason run_direct(struct tw_worker *w, uint16_t burst)
{
    struct rte_mbuf *pkts[MAX_BURST];
    struct tw_packet pkt[MAX_BURST];
    struct tw_flow_key key[MAX_BURST];
    uint32_t hash[MAX_BURST];
    uint8_t from_a[MAX_BURST], used[MAX_BURST];
    int linktype = w->source->linktype;
    unsigned idle = 0;
    unsigned nw = w->redirect ? w->redirect->nb_workers : 1;
    struct rte_mbuf *out[TW_MAX_WORKERS][MAX_BURST]; /* as run_reader: 256 KiB of stack */
    unsigned nout[TW_MAX_WORKERS] = {0};

    for (;;) {
        if (unlikely(*w->stop)) {
            if (w->redirect)
                redirect_finish(w, burst);
            return TW_END_SHUTDOWN;
        }
        if (unlikely(__atomic_load_n(w->pause, __ATOMIC_RELAXED)))
            park(w);
        int n = tw_source_rx(w->source, w->queue, pkts, burst);
        if (n < 0) {
            if (w->redirect)
                redirect_finish(w, burst);
            return TW_END_EOF;
        }
        int kept = 0;
        for (int i = 0; i < n; i++) {
            struct rte_mbuf *m = pkts[i];
            struct tw_mbuf_meta *meta = tw_mbuf_meta(m);
            if (i + 1 < n)
                rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
            used[i] = (uint8_t)ingest(w, rte_pktmbuf_mtod(m, const uint8_t *),
                                      rte_pktmbuf_data_len(m), meta->wire_len, linktype,
                                      &meta->ts_us, &pkt[i]);
            if (nw > 1 && used[i]) {
                unsigned to = tw_worker_of(&pkt[i], nw);
                if (to != w->id) { /* another worker's flow: the parse rides in the mbuf */
                    *(struct tw_packet *)rte_mbuf_to_priv(m) = pkt[i];
                    out[to][nout[to]++] = m;
                    w->counters.v[TW_C_REDIRECTED]++;
                    continue;
                }
            }
            if (kept != i) { /* close the gaps the redirected left, keeping the order */
                pkts[kept] = m;
                pkt[kept] = pkt[i];
                used[kept] = used[i];
            }
            kept++;
        }
        int got = n;
        if (nw > 1) {
            redirect_out(w, out, nout, burst);
            n = kept;
        }
        for (int i = 0; i < n; i++) {
            if (used[i] && unlikely(pkt[i].fragment && w->reasm)) {
                used[i] = 2; /* reassembled in packet order, below */
            } else if (used[i]) {
                int a;
                tw_flow_key_make(&pkt[i], &key[i], &a);
                from_a[i] = (uint8_t)a;
                hash[i] = tw_flow_key_hash(&key[i]);
                tw_flow_table_prefetch_bucket(w->flows, hash[i]);
            }
        }
        for (int i = 0; i < n; i++)
            if (used[i] == 1)
                tw_flow_table_prefetch_flow(w->flows, hash[i]);
        for (int i = 0; i < n; i++) {
            const struct tw_mbuf_meta *meta = tw_mbuf_meta(pkts[i]);
            if (used[i] == 1)
                account(w, &pkt[i], &key[i], hash[i], from_a[i], meta->wire_len, meta->ts_us);
            else if (used[i] == 2)
                fragment(w, &pkt[i], meta->wire_len, meta->ts_us);
        }
        if (n > 0)
            rte_pktmbuf_free_bulk(pkts, (unsigned)n);
        if (nw > 1) /* then what the other workers read for this one */
            got += (int)drain_redirected(w, burst);
        if (got == 0) {
            if (!w->source->replayable) {
                /* a quiet port: let the wall clock move time on, so silent flows still end */
                uint64_t now = tw_wall_us();
                if (now > w->now_us)
                    w->now_us = now;
            }
            idle_wait(w, &idle);
        } else {
            idle = 0;
        }
        tw_worker_expire(w);
    }
}

/* Waiting on another worker: spin briefly, then give the CPU away. More lcores than CPUs
 * (the control lcore shares one) is the normal case on small machines, and a spinning
 * waiter would take the time slice of the very worker it waits for. */
static inline void backoff(unsigned *spins)
{
    if (++*spins < 64) {
        rte_pause();
    } else {
        sched_yield();
        *spins = 0;
    }
}

/* Worker 0 under dispatch: reads, parses once, keeps its own flows, queues the others'. */
static enum tw_end_reason run_reader(struct tw_worker *w, uint16_t burst)
{
    struct tw_dispatch *d = w->dispatch;
    struct rte_mbuf *pkts[MAX_BURST], *out[TW_MAX_WORKERS][MAX_BURST];
    unsigned nout[TW_MAX_WORKERS];
    int linktype = w->source->linktype;
    enum tw_end_reason why = TW_END_EOF;
    unsigned spins = 0, idle = 0;

    for (;;) {
        if (unlikely(*w->stop)) {
            why = TW_END_SHUTDOWN;
            break;
        }
        if (unlikely(__atomic_load_n(w->pause, __ATOMIC_RELAXED)))
            park(w);
        int n = tw_source_rx(w->source, w->queue, pkts, burst);
        if (n < 0)
            break;
        if (n == 0)
            idle_wait(w, &idle);
        else
            idle = 0;
        memset(nout, 0, sizeof(nout[0]) * d->nb_workers);
        for (int i = 0; i < n; i++) {
            struct rte_mbuf *m = pkts[i];
            struct tw_packet *pkt = rte_mbuf_to_priv(m);
            struct tw_mbuf_meta *meta = tw_mbuf_meta(m);
            if (i + 1 < n)
                rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
            if (!ingest(w, rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m),
                        meta->wire_len, linktype, &meta->ts_us, pkt)) {
                rte_pktmbuf_free(m);
                continue;
            }
            unsigned to = tw_worker_of(pkt, d->nb_workers);
            if (to == 0) {
                tw_worker_parsed(w, pkt, meta->wire_len, meta->ts_us);
                rte_pktmbuf_free(m);
            } else {
                out[to][nout[to]++] = m;
            }
        }
        for (unsigned t = 1; t < d->nb_workers; t++) {
            unsigned done = 0;
            while (done < nout[t]) {
                done += rte_ring_sp_enqueue_burst(d->workers[t].inq, (void **)&out[t][done],
                                                  nout[t] - done, NULL);
                if (done < nout[t]) {
                    if (!w->p.lossless || *w->stop) { /* live: the packets are lost, counted */
                        w->counters.v[TW_C_DROP_DISPATCH_FULL] += nout[t] - done;
                        rte_pktmbuf_free_bulk(&out[t][done], nout[t] - done);
                        break;
                    }
                    backoff(&spins);
                }
            }
        }
        __atomic_store_n(&d->reader_now_us, w->now_us, __ATOMIC_RELEASE);
        tw_worker_expire(w);
    }
    __atomic_store_n(&d->reader_now_us, w->now_us, __ATOMIC_RELEASE);
    __atomic_store_n(&d->input_done, 1, __ATOMIC_RELEASE);
    return why;
}

/* Workers 1..n-1 under dispatch: their flows come through the input ring. */
static enum tw_end_reason run_follower(struct tw_worker *w, uint16_t burst)
{
    struct tw_dispatch *d = w->dispatch;
    struct rte_mbuf *pkts[MAX_BURST];
    unsigned idle = 0;

    for (;;) {
        /* read the reader's state before looking at the ring: what it published was
         * enqueued before, so an empty ring means everything up to then was seen */
        int input_done = __atomic_load_n(&d->input_done, __ATOMIC_ACQUIRE);
        uint64_t reader_now = __atomic_load_n(&d->reader_now_us, __ATOMIC_ACQUIRE);
        unsigned n = rte_ring_sc_dequeue_burst(w->inq, (void **)pkts, burst, NULL);

        for (unsigned i = 0; i < n; i++) {
            struct rte_mbuf *m = pkts[i];
            if (i + 1 < n)
                rte_prefetch0(((struct tw_packet *)rte_mbuf_to_priv(pkts[i + 1]))->l3);
            tw_worker_parsed(w, rte_mbuf_to_priv(m), tw_mbuf_meta(m)->wire_len,
                             tw_mbuf_meta(m)->ts_us);
        }
        if (n > 0) {
            rte_pktmbuf_free_bulk(pkts, n);
            idle = 0;
        } else {
            if (reader_now > w->now_us)
                w->now_us = reader_now; /* nothing older is still queued for us */
            if (input_done) {
                tw_worker_expire(w); /* what timed out before the end, as one worker would */
                return *w->stop ? TW_END_SHUTDOWN : TW_END_EOF;
            }
            idle_wait(w, &idle);
        }
        tw_worker_expire(w);
    }
}

int tw_worker_run(void *arg)
{
    struct tw_worker *w = arg;
    uint16_t burst = w->p.burst > MAX_BURST ? MAX_BURST : (uint16_t)w->p.burst;
    enum tw_end_reason why;

    if (!w->dispatch)
        why = run_direct(w, burst);
    else if (w->id == 0)
        why = run_reader(w, burst);
    else
        why = run_follower(w, burst);
    tw_worker_flush(w, why);
    /* release: the control loop, seeing done, sees every event enqueued before it */
    __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
    return 0;
}
