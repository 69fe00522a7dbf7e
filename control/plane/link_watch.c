/* link_watch.c - link down, up and removal of the watched interface (see link_watch.h). */
#include "control/plane/link_watch.h"

#include "control/plane/log.h"
#include "dataplane/iface.h"

int tw_link_watch_step(struct tw_link_watch *lw, int state, const char *input)
{
    int was = lw->state;

    if (state == TW_LINK_UNKNOWN || state == was)
        return 0;
    lw->state = state;
    if (was == TW_LINK_UNKNOWN && state != TW_LINK_GONE)
        return 0; /* the state at start */
    switch (state) {
    case TW_LINK_DOWN:
        lw->downs++;
        tw_log(TW_LOG_WARNING, "%s: link down: no traffic until it comes back", input);
        return 0;
    case TW_LINK_UP:
        lw->ups++;
        tw_log(TW_LOG_NOTICE, "%s: link up", input);
        return 0;
    case TW_LINK_GONE:
        lw->removals++;
        if (lw->wait) {
            tw_log(TW_LOG_WARNING, "%s: the interface was removed; waiting for it "
                   "(wait_for_interface)", input);
            return 0;
        }
        tw_log(TW_LOG_ERR, "%s: the interface was removed; ending the run", input);
        return 1;
    }
    return 0;
}

const char *tw_link_watch_live(const struct tw_link_watch *lw)
{
    return lw->state == TW_LINK_DOWN ? "link down" : lw->state == TW_LINK_GONE ? "interface gone" : "";
}
