/* flow_record.c - public names of the flow record enums (JSON `end_reason`).
 *
 * The names come from the TW_END_REASONS X-macro in flow_record.h, so adding a reason there
 * is the only edit needed.
 */
#include <string.h>

#include "flow_record.h"

static const char *const end_reason_names[TW_END__COUNT] = {
#define TW_X(sym, name) [TW_END_##sym] = name,
    TW_END_REASONS(TW_X)
#undef TW_X
};

/* Returns the public name of an end reason, "none" when out of range (a record from a
 * newer dataplane must still print). */
const char *tw_end_reason_name(unsigned reason)
{
    if (reason >= TW_END__COUNT)
        return end_reason_names[TW_END_NONE];
    return end_reason_names[reason];
}

/* Returns the end reason named `name`, or -1 when the name is NULL or unknown. */
int tw_end_reason_from_name(const char *name)
{
    if (name == NULL)
        return -1;
    for (unsigned i = 0; i < TW_END__COUNT; i++)
        if (strcmp(end_reason_names[i], name) == 0)
            return (int)i;
    return -1;
}

static const char *const tunnel_names[TW_TUNNEL__COUNT] = {
#define TW_X(sym, name) [TW_TUNNEL_##sym] = name,
    TW_TUNNEL_KINDS(TW_X)
#undef TW_X
};

const char *tw_tunnel_name(unsigned kind)
{
    return kind < TW_TUNNEL__COUNT ? tunnel_names[kind] : tunnel_names[TW_TUNNEL_NONE];
}

int tw_tunnel_from_name(const char *name)
{
    if (name == NULL)
        return -1;
    for (unsigned i = 0; i < TW_TUNNEL__COUNT; i++)
        if (strcmp(tunnel_names[i], name) == 0)
            return (int)i;
    return -1;
}
