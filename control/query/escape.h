/* escape.h - text from the wire made safe for the place it goes (internal to control/query/).
 *
 * Everything in a flow record or an alert (server names, HTTP hosts, DNS names, JA3 text...)
 * came from captured traffic: it is data, never a terminal command or a spreadsheet formula.
 * The tool escapes it at the moment it prints it:
 *
 *   tq_escape_text   table cells and CSV cells: every byte that a terminal or a spreadsheet
 *                    could act on becomes \xNN (two lowercase hex digits): bytes below 0x20,
 *                    0x7f, the backslash itself (so that "\x" in the output always means an
 *                    escape), bytes that are not part of valid UTF-8, the C1 controls
 *                    U+0080..U+009F (some terminals act on them) and the bidirectional
 *                    overrides U+202A..U+202E, U+2066..U+2069 (they reorder what is shown);
 *                    each such character is written byte by byte ("\xc2\x9b").
 *   tq_csv_cell      a CSV cell (RFC 4180): the escaped text, neutralised as OWASP's CSV
 *                    injection rules ask when it starts with = + - @ TAB or CR (a single
 *                    quote before it, inside a quoted cell: '=HYPERLINK(... is shown as text
 *                    by spreadsheet programs), and quoted when it holds , " or starts so.
 *   tq_json_text     a JSON line read from Redis: bytes below 0x20 and 0x7f that are not
 *                    escaped already become \u00XX, the C1 controls \u0080..\u009f (the JSON
 *                    value is the same; our own encoder never writes them raw, a record
 *                    altered in Redis might).
 */
#ifndef TW_QUERY_ESCAPE_H
#define TW_QUERY_ESCAPE_H

#include <stddef.h>

/* Writes s escaped as above into out (at most len bytes with the NUL; len >= 1). An escape
 * is never cut: the text stops before one that does not fit. Returns the length written. */
size_t tq_escape_text(const char *s, char *out, size_t len);

/* Writes s as one CSV cell (without separator) into out: escaped, neutralised and quoted
 * as above. Returns the length written; the cell is cut (still well formed) when len is too
 * small (4 * strlen(s) + 4 always suffices). */
size_t tq_csv_cell(const char *s, char *out, size_t len);

/* Writes the JSON text s with its raw control bytes escaped into out (6 * strlen(s) + 1
 * always suffices). Returns the length written; cut at a character boundary when short. */
size_t tq_json_text(const char *s, char *out, size_t len);

#endif
