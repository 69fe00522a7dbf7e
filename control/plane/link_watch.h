/* link_watch.h - what happens to the watched interface while tapwatch runs: link down, link
 * up, removal. Each change is one log line and a count; a removal ends the run (the records
 * are flushed, the exit status is 1) unless the configuration says to wait for the
 * interface (wait_for_interface). The control loop feeds it the source's link state
 * (struct tw_source_stats.link) a few times a second. */
#ifndef TW_LINK_WATCH_H
#define TW_LINK_WATCH_H

#include <stdint.h>

struct tw_link_watch {
    int state;           /* enum tw_link_state (dataplane/iface.h) last seen */
    int wait;            /* wait_for_interface: a removal does not end the run */
    uint64_t downs;      /* up -> down */
    uint64_t ups;        /* down or gone -> up */
    uint64_t removals;   /* -> gone */
};

enum tw_link_action {
    TW_LINK_KEEP,   /* nothing to do */
    TW_LINK_END,    /* the interface is gone and we do not wait: end the run */
    TW_LINK_REOPEN, /* the interface we waited for is back: open it again */
};

/* Takes the state seen now; logs and counts a change. input names the interface in the
 * lines. Returns what the control loop must do. The first state seen is only remembered
 * (the start says nothing). */
enum tw_link_action tw_link_watch_step(struct tw_link_watch *lw, int state, const char *input);

/* "" while the link is up or unknown, else a short word for the live line ("link down",
 * "interface gone"). */
const char *tw_link_watch_live(const struct tw_link_watch *lw);

#endif
