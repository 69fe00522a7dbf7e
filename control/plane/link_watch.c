/* link_watch.c - link down, up and removal of the watched interface (see link_watch.h). */
#include "control/plane/link_watch.h"

#include "control/plane/log.h"
#include "dataplane/iface.h"

enum tw_link_action tw_link_watch_step(struct tw_link_watch *lw, int state, const char *input)
{
    int was = lw->state;

    if (state == TW_LINK_UNKNOWN || state == was)
        return TW_LINK_KEEP;
    lw->state = state;
    if (was == TW_LINK_UNKNOWN && state != TW_LINK_GONE)
        return TW_LINK_KEEP; /* the state at start */
    if (was == TW_LINK_GONE) {
        tw_log(TW_LOG_NOTICE, "%s: the interface is back (link %s); reading it again", input,
               tw_link_state_name(state));
        lw->ups += state == TW_LINK_UP;
        return TW_LINK_REOPEN;
    }
    switch (state) {
    case TW_LINK_DOWN:
        lw->downs++;
        tw_log(TW_LOG_WARNING, "%s: link down: no traffic until it comes back", input);
        return TW_LINK_KEEP;
    case TW_LINK_UP:
        lw->ups++;
        tw_log(TW_LOG_NOTICE, "%s: link up", input);
        return TW_LINK_KEEP;
    case TW_LINK_GONE:
        lw->removals++;
        if (lw->wait) {
            tw_log(TW_LOG_WARNING, "%s: the interface was removed; waiting for it "
                   "(wait_for_interface)", input);
            return TW_LINK_KEEP;
        }
        tw_log(TW_LOG_ERR, "%s: the interface was removed; ending the run", input);
        return TW_LINK_END;
    }
    return TW_LINK_KEEP;
}

const char *tw_link_watch_live(const struct tw_link_watch *lw)
{
    return lw->state == TW_LINK_DOWN ? "link down" : lw->state == TW_LINK_GONE ? "interface gone" : "";
}
