/* escape.c - text from the wire made safe for a terminal, a spreadsheet, a JSON reader (see
 * escape.h). */
#include "control/query/escape.h"

#include <stdint.h>
#include <string.h>

#include "control/record/record_json.h"

static const char hex[] = "0123456789abcdef";

/* Characters a terminal acts on or that change how the text around them is shown. */
static int unsafe(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || cp == '\\' || (cp >= 0x80 && cp <= 0x9f) ||
           (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

size_t tq_escape_text(const char *s, char *out, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), o = 0;

    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        size_t l = tw_utf8_char(u + i, n - i, &cp);
        size_t esc = l == 0 ? 1 : unsafe(cp) ? l : 0; /* bytes to write as \xNN */
        if (esc == 0) {
            if (o + l >= len)
                break;
            memcpy(out + o, s + i, l);
            o += l;
            i += l;
            continue;
        }
        if (o + 4 * esc >= len)
            break;
        for (size_t k = 0; k < esc; k++, i++) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[u[i] >> 4];
            out[o++] = hex[u[i] & 0xf];
        }
    }
    out[o] = '\0';
    return o;
}

size_t tq_csv_cell(const char *s, char *out, size_t len)
{
    /* OWASP: a cell starting with one of these is read as a formula by some program */
    int formula = s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
    char text[4096];
    size_t n = tq_escape_text(s, text, sizeof(text)), o = 0;
    int quote = formula || strpbrk(text, ",\"") != NULL;

    if (len < 4) {
        out[0] = '\0';
        return 0;
    }
    if (quote)
        out[o++] = '"';
    if (formula)
        out[o++] = '\'';
    /* room for the closing quote and the NUL */
    for (size_t i = 0; i < n && o + (text[i] == '"' ? 2 : 1) + 2 <= len; i++) {
        if (text[i] == '"')
            out[o++] = '"';
        out[o++] = text[i];
    }
    if (quote)
        out[o++] = '"';
    out[o] = '\0';
    return o;
}

size_t tq_json_text(const char *s, char *out, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), o = 0;

    for (size_t i = 0; i < n;) {
        uint32_t cp = 0;
        size_t l = tw_utf8_char(u + i, n - i, &cp);
        if (l == 0) /* not UTF-8: JSON cannot hold it; the replacement character */
            l = 1, cp = 0xfffd;
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
            if (o + 6 >= len)
                break;
            memcpy(out + o, "\\u00", 4);
            out[o + 4] = hex[cp >> 4];
            out[o + 5] = hex[cp & 0xf];
            o += 6;
        } else if (cp == 0xfffd && l == 1) {
            if (o + 3 >= len)
                break;
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
        } else {
            if (o + l >= len)
                break;
            memcpy(out + o, s + i, l);
            o += l;
        }
        i += l;
    }
    out[o] = '\0';
    return o;
}
