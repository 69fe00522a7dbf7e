/* counters.c - names of the packet counters (see counters.h). */
#include "counters.h"

static const char *const counter_names[TW_C__COUNT] = {
#define TW_X(sym, name, drop) [TW_C_##sym] = name,
    TW_PACKET_COUNTERS(TW_X)
#undef TW_X
};

static const unsigned char counter_drop[TW_C__COUNT] = {
#define TW_X(sym, name, drop) [TW_C_##sym] = drop,
    TW_PACKET_COUNTERS(TW_X)
#undef TW_X
};

const char *tw_counter_name(unsigned i)
{
    return i < TW_C__COUNT ? counter_names[i] : "?";
}

int tw_counter_is_drop(unsigned i)
{
    return i < TW_C__COUNT ? counter_drop[i] : 0;
}
