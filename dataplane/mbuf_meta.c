/* mbuf_meta.c - the per-packet time and wire length carried in an mbuf dynamic field. */
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "source.h"

int tw_mbuf_meta_offset = -1;

int tw_mbuf_meta_register(void)
{
    static const struct rte_mbuf_dynfield desc = {
        .name = "tapwatch_meta",
        .size = sizeof(struct tw_mbuf_meta),
        .align = __alignof__(struct tw_mbuf_meta),
    };

    tw_mbuf_meta_offset = rte_mbuf_dynfield_register(&desc);
    return tw_mbuf_meta_offset < 0 ? -1 : 0;
}
