/* eal_start.h - rte_eal_init with its output held back, so that a failure is one line.
 *
 * On a bad argument, DPDK 22.11 prints its whole usage text (about 100 lines) on stdout and
 * two or three log lines on stderr. tapwatch's rule is one line per bad input: while EAL
 * starts, its log goes to memory and stdout to /dev/null; a failure becomes one line that
 * says what EAL said and which EAL arguments the user gave; on success the log (empty at the
 * default log level) becomes log lines (control/plane/log.h), and so does DPDK's log from
 * then on, each line with the priority DPDK gave it (its default stream is stdout, where
 * tapwatch prints its summary). */
#ifndef TW_EAL_START_H
#define TW_EAL_START_H

#include <stddef.h>

/* rte_eal_init(argc, argv). Returns its result; on failure (< 0, rte_errno set) why holds
 * EAL's own log lines joined in one line (or rte_strerror's text when it logged nothing). */
int tw_eal_start(int argc, char **argv, char *why, size_t why_len);

#endif
