/* sources.c - the one place that lists the capture sources (see source.h). A new source
 * is its own file and one line here; tapwatch's --NAME option chooses it. */
#include <string.h>

#include "source.h"

static const struct tw_source_kind *const kinds[] = {
    &tw_source_pcap,
    &tw_source_afpacket,
    &tw_source_port,
    &tw_source_afxdp,
};

const struct tw_source_kind *tw_source_kind_find(const char *name)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}
