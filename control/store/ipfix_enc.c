/* ipfix_enc.c - flow records into IPFIX messages with libfixbuf (see ipfix_enc.h).
 *
 * libfixbuf does the encoding: templates, sets, reverse (RFC 5103) elements, the sequence
 * number per observation domain. It writes into our buffer (fbExporterAllocBuffer) and never
 * touches a socket, so the sink keeps the pacing and the non-blocking send it needs: its UDP
 * exporter sends on a blocking socket at the moment a message fills, drops the message when
 * send fails and offers no rate control. Manual mode (fBufSetAutomaticMode FALSE): fBufAppend
 * says FB_ERROR_EOM when a record does not fit, and we emit the message ourselves.
 */
#include "control/store/ipfix_enc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fixbuf/public.h>

/* The record as libfixbuf reads it (the internal template below, same order): widest first,
 * so the struct has no holes. IPv4 addresses are host order, libfixbuf converts them. */
struct ipfix_rec {
    uint64_t start_ms;
    uint64_t end_ms;
    uint64_t octets;
    uint64_t packets;
    uint64_t rev_octets;
    uint64_t rev_packets;
    uint8_t src6[16];
    uint8_t dst6[16];
    fbVarfield_t app_name;
    uint32_t src4;
    uint32_t dst4;
    uint16_t sport;
    uint16_t dport;
    uint16_t vlan;
    uint8_t proto;
    uint8_t end_reason;
    uint8_t app_id[8];
};
_Static_assert(sizeof(struct ipfix_rec) == 6 * 8 + 32 + sizeof(fbVarfield_t) + 8 + 8 + 8,
               "ipfix_rec has padding holes");

/* Flags pick the external templates out of the one spec list: V4 and V6 fields. */
#define F_V4 1u
#define F_V6 2u
#define F_INTERNAL (F_V4 | F_V6)

static fbInfoElementSpec_t spec[] = {
    {"flowStartMilliseconds", 8, 0},
    {"flowEndMilliseconds", 8, 0},
    {"octetDeltaCount", 8, 0},
    {"packetDeltaCount", 8, 0},
    {"reverseOctetDeltaCount", 8, 0},
    {"reversePacketDeltaCount", 8, 0},
    {"sourceIPv6Address", 16, F_V6},
    {"destinationIPv6Address", 16, F_V6},
    {"applicationName", FB_IE_VARLEN, 0},
    {"sourceIPv4Address", 4, F_V4},
    {"destinationIPv4Address", 4, F_V4},
    {"sourceTransportPort", 2, 0},
    {"destinationTransportPort", 2, 0},
    {"vlanId", 2, 0},
    {"protocolIdentifier", 1, 0},
    {"flowEndReason", 1, 0},
    {"applicationId", 8, 0},
    FB_IESPEC_NULL,
};

struct tw_ipfix_enc {
    fbInfoModel_t *model;
    fbSession_t *session;
    fbExporter_t *exporter;
    fBuf_t *fbuf;
    uint16_t itid;      /* the internal template */
    uint16_t cur_tid;   /* the external template of the open data set, 0 = none yet */
    uint32_t pending;   /* data records in the open message */
    int dirty;          /* the open message holds a template or a record */
    uint32_t fixed_time;
    tw_ipfix_out_fn out;
    void *out_ctx;
    uint8_t *buf;       /* where libfixbuf copies each emitted message */
    size_t mtu;
};

static int fail(GError **gerr, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "IPFIX %s: %s", what, *gerr ? (*gerr)->message : "failed");
    g_clear_error(gerr);
    return -1;
}

static uint32_t export_time(const struct tw_ipfix_enc *e)
{
    return e->fixed_time ? e->fixed_time : (uint32_t)time(NULL);
}

/* Emits the open message into e->buf and hands it to out. */
static int emit(struct tw_ipfix_enc *e, char *err, size_t errlen)
{
    GError *gerr = NULL;

    if (!e->dirty)
        return 0;
    if (!fBufEmit(e->fbuf, &gerr))
        return fail(&gerr, "emit", err, errlen);
    e->out(e->out_ctx, e->buf, fbExporterGetMsgLen(e->exporter), e->pending);
    e->pending = 0;
    e->dirty = 0;
    e->cur_tid = 0;
    fBufSetExportTime(e->fbuf, export_time(e));
    return 0;
}

struct tw_ipfix_enc *tw_ipfix_enc_open(uint32_t domain, size_t mtu, tw_ipfix_out_fn out,
                                       void *out_ctx, char *err, size_t errlen)
{
    struct tw_ipfix_enc *e = calloc(1, sizeof(*e));
    GError *gerr = NULL;
    fbTemplate_t *t;

    if (mtu < TW_IPFIX_MTU_MIN || mtu > TW_IPFIX_MTU_MAX) {
        snprintf(err, errlen, "IPFIX message size %zu: expected %d to %d bytes", mtu,
                 TW_IPFIX_MTU_MIN, TW_IPFIX_MTU_MAX);
        free(e);
        return NULL;
    }
    if (e == NULL || (e->buf = malloc(mtu)) == NULL) {
        snprintf(err, errlen, "IPFIX: out of memory");
        free(e);
        return NULL;
    }
    e->mtu = mtu;
    e->out = out;
    e->out_ctx = out_ctx;
    e->model = fbInfoModelAlloc();
    e->session = fbSessionAlloc(e->model);
    fbSessionSetDomain(e->session, domain);

    const struct { uint32_t flags; int internal; uint16_t tid; } tmpls[] = {
        {F_INTERNAL, 1, FB_TID_AUTO}, {F_V4, 0, TW_IPFIX_TID_V4}, {F_V6, 0, TW_IPFIX_TID_V6},
    };
    for (size_t i = 0; i < sizeof(tmpls) / sizeof(tmpls[0]); i++) {
        uint16_t tid;
        t = fbTemplateAlloc(e->model);
        if (!fbTemplateAppendSpecArray(t, spec, tmpls[i].flags, &gerr)) {
            fbTemplateFreeUnused(t);
            fail(&gerr, "template", err, errlen);
            goto fail;
        }
        tid = fbSessionAddTemplate(e->session, tmpls[i].internal, tmpls[i].tid, t, &gerr);
        if (tid == 0) {
            fbTemplateFreeUnused(t);
            fail(&gerr, "template", err, errlen);
            goto fail;
        }
        if (tmpls[i].internal)
            e->itid = tid;
    }
    e->exporter = fbExporterAllocBuffer(e->buf, (uint16_t)mtu);
    e->fbuf = fBufAllocForExport(e->session, e->exporter);
    fBufSetAutomaticMode(e->fbuf, FALSE);
    fBufSetExportTime(e->fbuf, export_time(e));
    if (!fBufSetInternalTemplate(e->fbuf, e->itid, &gerr)) {
        fail(&gerr, "template", err, errlen);
        goto fail;
    }
    if (tw_ipfix_enc_templates(e, err, errlen) != 0)
        goto fail;
    return e;
fail:
    tw_ipfix_enc_close(e);
    return NULL;
}

void tw_ipfix_enc_set_time(struct tw_ipfix_enc *e, uint32_t export_time_s)
{
    e->fixed_time = export_time_s;
    fBufSetExportTime(e->fbuf, export_time(e));
}

uint8_t tw_ipfix_end_reason(unsigned end_reason)
{
    switch (end_reason) {
    case TW_END_IDLE:
        return TW_IPFIX_END_IDLE;
    case TW_END_TCP_CLOSE:
        return TW_IPFIX_END_OF_FLOW;
    case TW_END_EVICTED: /* the flow table was full: the oldest flow made room */
        return TW_IPFIX_END_RESOURCES;
    default: /* eof, shutdown: the run ended the flow */
        return TW_IPFIX_END_FORCED;
    }
}

void tw_ipfix_application_id(const struct tw_flow_record *r, uint8_t out[8])
{
    /* the most specific of the two: TLS.Google is Google (126), plain DNS is DNS */
    uint32_t proto = r->app_proto ? r->app_proto : r->master_proto;

    out[0] = TW_IPFIX_ENGINE_PANA_L7_PEN;
    out[1] = (uint8_t)(TW_IPFIX_PEN_NTOP >> 24);
    out[2] = (uint8_t)(TW_IPFIX_PEN_NTOP >> 16);
    out[3] = (uint8_t)(TW_IPFIX_PEN_NTOP >> 8);
    out[4] = (uint8_t)TW_IPFIX_PEN_NTOP;
    out[5] = (uint8_t)(proto >> 16);
    out[6] = (uint8_t)(proto >> 8);
    out[7] = (uint8_t)proto;
}

static void fill(struct ipfix_rec *x, const struct tw_flow_record *r)
{
    memset(x, 0, sizeof(*x));
    x->start_ms = r->first_seen_us / 1000;
    x->end_ms = r->last_seen_us / 1000;
    x->octets = r->c2s_bytes;
    x->packets = r->c2s_packets;
    x->rev_octets = r->s2c_bytes;
    x->rev_packets = r->s2c_packets;
    if (r->ip_version == 6) {
        memcpy(x->src6, r->src_ip, 16);
        memcpy(x->dst6, r->dst_ip, 16);
    } else {
        x->src4 = (uint32_t)r->src_ip[0] << 24 | (uint32_t)r->src_ip[1] << 16 |
                  (uint32_t)r->src_ip[2] << 8 | r->src_ip[3];
        x->dst4 = (uint32_t)r->dst_ip[0] << 24 | (uint32_t)r->dst_ip[1] << 16 |
                  (uint32_t)r->dst_ip[2] << 8 | r->dst_ip[3];
    }
    x->app_name.len = strnlen(r->app, sizeof(r->app));
    x->app_name.buf = (uint8_t *)(uintptr_t)r->app;
    x->sport = r->src_port;
    x->dport = r->dst_port;
    x->vlan = r->vlan;
    x->proto = r->ip_proto;
    x->end_reason = tw_ipfix_end_reason(r->end_reason);
    tw_ipfix_application_id(r, x->app_id);
}

int tw_ipfix_enc_add(struct tw_ipfix_enc *e, const struct tw_flow_record *r, char *err,
                     size_t errlen)
{
    uint16_t tid = r->ip_version == 6 ? TW_IPFIX_TID_V6 : TW_IPFIX_TID_V4;
    struct ipfix_rec x;
    GError *gerr = NULL;

    fill(&x, r);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (tid != e->cur_tid) {
            if (!fBufSetExportTemplate(e->fbuf, tid, &gerr))
                return fail(&gerr, "template", err, errlen);
            e->cur_tid = tid;
        }
        if (fBufAppend(e->fbuf, (uint8_t *)&x, sizeof(x), &gerr)) {
            e->pending++;
            e->dirty = 1;
            return 0;
        }
        /* the message is full: send it and start the next one with this record */
        if (attempt > 0 || !g_error_matches(gerr, FB_ERROR_DOMAIN, FB_ERROR_EOM))
            return fail(&gerr, "record", err, errlen);
        g_clear_error(&gerr);
        if (emit(e, err, errlen) != 0)
            return -1;
    }
    return -1;
}

int tw_ipfix_enc_templates(struct tw_ipfix_enc *e, char *err, size_t errlen)
{
    GError *gerr = NULL;

    /* libfixbuf in manual mode keeps templates in messages of their own: it answers EOM
     * ("must start new message for template export") until the open message is sent, and
     * again for the first record after them. So: send the data, then one message of both
     * templates. */
    for (int attempt = 0;; attempt++) {
        if (fbSessionExportTemplates(e->session, &gerr))
            break;
        if (attempt > 0 || !g_error_matches(gerr, FB_ERROR_DOMAIN, FB_ERROR_EOM))
            return fail(&gerr, "templates", err, errlen);
        g_clear_error(&gerr);
        if (emit(e, err, errlen) != 0)
            return -1;
    }
    e->dirty = 1;
    return emit(e, err, errlen);
}

int tw_ipfix_enc_flush(struct tw_ipfix_enc *e, char *err, size_t errlen)
{
    return emit(e, err, errlen);
}

uint32_t tw_ipfix_enc_pending(const struct tw_ipfix_enc *e)
{
    return e->pending;
}

void tw_ipfix_enc_close(struct tw_ipfix_enc *e)
{
    if (e == NULL)
        return;
    if (e->fbuf != NULL)
        fBufFree(e->fbuf); /* frees the exporter and the session too */
    else if (e->session != NULL)
        fbSessionFree(e->session);
    if (e->model != NULL)
        fbInfoModelFree(e->model);
    free(e->buf);
    free(e);
}
