/* classify.c - nDPI 4.2 per worker (see classify.h). */
#include "classify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <ndpi/ndpi_api.h>

struct tw_classifier {
    struct ndpi_detection_module_struct *ndpi;
    uint8_t *pool;          /* states * state_size bytes, touched on first use */
    size_t pool_bytes;
    uint32_t *free_list;    /* stack of free state indexes */
    uint32_t free_top;
    uint32_t never_used;
    uint32_t states;
    uint32_t in_use;
    uint32_t peak;
};

size_t tw_classify_state_size(void)
{
    /* rounded to a cache line so that two flows never share one */
    return (SIZEOF_FLOW_STRUCT + 63) & ~(size_t)63;
}

struct tw_classifier *tw_classifier_create(uint32_t states)
{
    struct tw_classifier *c = calloc(1, sizeof(*c));
    NDPI_PROTOCOL_BITMASK all;

    if (!c)
        return NULL;
    c->states = states;
    c->pool_bytes = (size_t)states * tw_classify_state_size();
    c->pool = mmap(NULL, c->pool_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (c->pool == MAP_FAILED)
        goto fail_pool;
    c->free_list = malloc((size_t)states * sizeof(uint32_t));
    if (!c->free_list)
        goto fail_list;
    c->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
    if (!c->ndpi)
        goto fail_ndpi;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(c->ndpi, &all);
    ndpi_finalize_initialization(c->ndpi);
    return c;

fail_ndpi:
    free(c->free_list);
fail_list:
    munmap(c->pool, c->pool_bytes);
fail_pool:
    free(c);
    errno = c ? EIO : ENOMEM;
    return NULL;
}

void tw_classifier_free(struct tw_classifier *c)
{
    if (!c)
        return;
    ndpi_exit_detection_module(c->ndpi);
    free(c->free_list);
    munmap(c->pool, c->pool_bytes);
    free(c);
}

static struct ndpi_flow_struct *state_get(struct tw_classifier *c)
{
    uint32_t idx;

    if (c->free_top)
        idx = c->free_list[--c->free_top];
    else if (c->never_used < c->states)
        idx = c->never_used++;
    else
        return NULL;
    c->in_use++;
    if (c->in_use > c->peak)
        c->peak = c->in_use;
    struct ndpi_flow_struct *s = (void *)(c->pool + (size_t)idx * tw_classify_state_size());
    memset(s, 0, SIZEOF_FLOW_STRUCT);
    return s;
}

static void state_put(struct tw_classifier *c, struct ndpi_flow_struct *s)
{
    uint32_t idx = (uint32_t)(((uint8_t *)s - c->pool) / tw_classify_state_size());

    ndpi_free_flow_data(s); /* strings nDPI allocated for this flow */
    c->free_list[c->free_top++] = idx;
    c->in_use--;
}

int tw_classify_begin(struct tw_classifier *c, struct tw_flow *f)
{
    f->dpi = state_get(c);
    if (!f->dpi) {
        f->detection_done = 1;
        return -1;
    }
    return 0;
}

/* Appends s to buf[at..len), truncating like snprintf. Returns the new length. */
static size_t append(char *buf, size_t len, size_t at, const char *s)
{
    while (*s && at + 1 < len)
        buf[at++] = *s++;
    buf[at] = '\0';
    return at;
}

static int is_tls_like(uint16_t p)
{
    switch (p) {
    case NDPI_PROTOCOL_TLS: case NDPI_PROTOCOL_DTLS: case NDPI_PROTOCOL_QUIC:
    case NDPI_PROTOCOL_MAIL_IMAPS: case NDPI_PROTOCOL_MAIL_POPS: case NDPI_PROTOCOL_MAIL_SMTPS:
        return 1;
    default:
        return 0;
    }
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Copies what detection found from the nDPI state into the flow, then frees the state. */
static void finish(struct tw_classifier *c, struct tw_flow *f, ndpi_protocol p)
{
    struct ndpi_flow_struct *s = f->dpi;

    f->master_proto = p.master_protocol;
    f->app_proto = p.app_protocol;
    f->category_id = (uint16_t)p.category;
    f->risks = s->risk;
    append(f->server_name, sizeof(f->server_name), 0, s->host_server_name);
    if (is_tls_like(p.master_protocol) || is_tls_like(p.app_protocol)) {
        const char *ja3 = s->protos.tls_quic.ja3_client;
        f->tls_version = s->protos.tls_quic.ssl_version;
        f->has_ja3 = strlen(ja3) == 32;
        for (unsigned i = 0; f->has_ja3 && i < 16; i++) {
            int hi = hexval(ja3[2 * i]), lo = hexval(ja3[2 * i + 1]);
            if (hi < 0 || lo < 0)
                f->has_ja3 = 0;
            else
                f->ja3c[i] = (uint8_t)(hi << 4 | lo);
        }
    }
    f->detection_done = 1;
    state_put(c, s);
    f->dpi = NULL;
}

int tw_classify_packet(struct tw_classifier *c, struct tw_flow *f, const struct tw_packet *pkt,
                       uint64_t ts_us)
{
    struct ndpi_flow_struct *s = f->dpi;
    uint64_t packets = f->c2s_packets + f->s2c_packets;
    ndpi_protocol p;
    int enough;

    if (!s)
        return 0;
    enough = (pkt->ip_proto == 17 && packets > TW_DPI_MAX_UDP_PACKETS) ||
             (pkt->ip_proto == 6 && packets > TW_DPI_MAX_TCP_PACKETS);
    p = ndpi_detection_process_packet(c->ndpi, s, pkt->l3, pkt->l3_len, ts_us / 1000);
    if (!enough && p.app_protocol == NDPI_PROTOCOL_UNKNOWN)
        return 0;
    if (!enough && ndpi_extra_dissection_possible(c->ndpi, s))
        return 0; /* detected, but nDPI still wants e.g. the certificate */
    if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN) {
        uint8_t guessed = 0;
        p = ndpi_detection_giveup(c->ndpi, s, 1, &guessed);
        f->guessed = 1;
    }
    finish(c, f, p);
    return 1;
}

void tw_classify_finish(struct tw_classifier *c, struct tw_flow *f)
{
    uint8_t guessed = 0;
    ndpi_protocol p;

    if (!f->dpi)
        return;
    p = ndpi_detection_giveup(c->ndpi, f->dpi, 1, &guessed);
    f->guessed = 1;
    finish(c, f, p);
}

/* Writes f's application name as nDPI prints it ("TLS.Google", "DNS", "Unknown") and its
 * category name. */
static void names(struct tw_classifier *c, const struct tw_flow *f, char *app, size_t app_len,
                  char *category, size_t category_len)
{
    /* The rule of ndpi_protocol2name, without a printf per flow event (it showed in the
     * profile): "master.app" when both are known and differ, else the one that is. */
    size_t n = 0;

    if (f->master_proto != NDPI_PROTOCOL_UNKNOWN && f->master_proto != f->app_proto) {
        n = append(app, app_len, 0, ndpi_get_proto_name(c->ndpi, f->master_proto));
        if (f->app_proto != NDPI_PROTOCOL_UNKNOWN) {
            n = append(app, app_len, n, ".");
            append(app, app_len, n, ndpi_get_proto_name(c->ndpi, f->app_proto));
        }
    } else {
        append(app, app_len, 0, ndpi_get_proto_name(c->ndpi, f->app_proto));
    }
    const char *cat = ndpi_category_get_name(c->ndpi, (ndpi_protocol_category_t)f->category_id);
    append(category, category_len, 0, cat ? cat : "");
}

void tw_classify_result(struct tw_classifier *c, const struct tw_flow *f,
                        struct tw_flow_record *r)
{
    static const char hex[] = "0123456789abcdef";

    r->master_proto = f->master_proto;
    r->app_proto = f->app_proto;
    r->category_id = f->category_id;
    r->tls_version = f->tls_version;
    r->risks = f->risks;
    names(c, f, r->app, sizeof(r->app), r->category, sizeof(r->category));
    memcpy(r->server_name, f->server_name, sizeof(f->server_name));
    if (f->has_ja3) /* the flow keeps it binary (finish): half the room */
        for (unsigned i = 0; i < 16; i++) {
            r->ja3c[2 * i] = hex[f->ja3c[i] >> 4];
            r->ja3c[2 * i + 1] = hex[f->ja3c[i] & 15];
        }
}

uint32_t tw_classify_in_use(const struct tw_classifier *c)
{
    return c->in_use;
}

uint32_t tw_classify_peak(const struct tw_classifier *c)
{
    return c->peak;
}
