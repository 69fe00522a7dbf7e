/* timeparse.h - the times a user types on the command line (tapwatch-query --since/--until).
 *
 * Accepted, all meaning UTC unless an offset is given:
 *   2026-03-02                       midnight UTC of that day
 *   2026-03-02T09:00:00Z             ISO 8601 date and time ('T' or one space between them;
 *   2026-03-02T09:00Z                 seconds optional, fraction up to microseconds kept)
 *   2026-03-02T09:00:00.250+08:00    with an offset east (+) or west (-) of UTC, +hh:mm or +hhmm
 *   1654385142 / 1654385142.293      epoch seconds, integer or decimal
 *   -45s  -30m  -2h  -7d             that long before now
 *   now
 * A date and time without 'Z' or an offset is refused rather than guessed.
 */
#ifndef TW_TIMEPARSE_H
#define TW_TIMEPARSE_H

#include <stddef.h>
#include <stdint.h>

/* Parses text into microseconds since the epoch; relative forms count back from now_us.
 * Returns 0, or -1 with a one-line reason in err (e.g. "bad time \"2026-13-01\": month must
 * be 01 to 12") when the text is none of the accepted forms or lies before 1970. */
int tw_parse_time(const char *text, uint64_t now_us, uint64_t *out_us, char *err, size_t errlen);

#endif
