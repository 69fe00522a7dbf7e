/* html.c - text for the answers: a growing buffer, and every value that came from a record
 * (so from the wire: server names, HTTP Host, application strings) escaped for where it goes:
 * HTML text and quoted attributes (tc_buf_html), a URL's query value (tc_buf_url: every byte
 * but the unreserved ones percent-encoded, so a value never becomes a scheme or a path), a
 * JSON string (tc_buf_json_str).
 *
 * Bytes that are not UTF-8 (a record's text is the wire's bytes) never pass as they are: HTML
 * and JSON get U+FFFD for each such byte, so the page and the API answer are valid UTF-8
 * whatever the record held; a URL value is percent-encoded byte by byte anyway.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "control/console/console.h"

void tc_buf_add(struct tc_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        if ((p = realloc(b->p, cap)) == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void tc_buf_puts(struct tc_buf *b, const char *s)
{
    tc_buf_add(b, s, strlen(s));
}

void tc_buf_printf(struct tc_buf *b, const char *fmt, ...)
{
    char small[512], *big = NULL;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        tc_buf_add(b, small, (size_t)n);
        return;
    }
    va_start(ap, fmt);
    n = vasprintf(&big, fmt, ap);
    va_end(ap);
    if (n >= 0)
        tc_buf_add(b, big, (size_t)n);
    else
        b->oom = 1;
    free(big);
}

/* The length of the valid UTF-8 sequence (RFC 3629: no overlong form, no surrogate, at most
 * U+10FFFF) at p, a byte >= 0x80; 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
    size_t n;
    unsigned lo = 0x80, hi = 0xbf;

    if (*p >= 0xc2 && *p <= 0xdf)
        n = 2;
    else if (*p >= 0xe0 && *p <= 0xef)
        n = 3, lo = *p == 0xe0 ? 0xa0 : 0x80, hi = *p == 0xed ? 0x9f : 0xbf;
    else if (*p >= 0xf0 && *p <= 0xf4)
        n = 4, lo = *p == 0xf0 ? 0x90 : 0x80, hi = *p == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (p[1] < lo || p[1] > hi) /* the NUL at the end stops it too */
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

void tc_buf_html(struct tc_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x80) {
            size_t n = utf8_len(p);
            if (n == 0) {
                tc_buf_puts(b, "&#xfffd;");
            } else {
                tc_buf_add(b, (const char *)p, n);
                p += n - 1;
            }
            continue;
        }
        switch (*p) {
        case '&': tc_buf_puts(b, "&amp;"); break;
        case '<': tc_buf_puts(b, "&lt;"); break;
        case '>': tc_buf_puts(b, "&gt;"); break;
        case '"': tc_buf_puts(b, "&quot;"); break;
        case '\'': tc_buf_puts(b, "&#39;"); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                tc_buf_printf(b, "&#%u;", *p == 0 ? 0xfffd : 0x2400 + (*p == 0x7f ? 0x21 : *p));
            else
                tc_buf_add(b, (const char *)p, 1);
        }
    }
}

void tc_buf_url(struct tc_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            tc_buf_add(b, (const char *)p, 1);
        else
            tc_buf_printf(b, "%%%02X", *p);
    }
}

void tc_buf_json_str(struct tc_buf *b, const char *s)
{
    tc_buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x80) {
            size_t n = utf8_len(p);
            if (n == 0) {
                tc_buf_puts(b, "\\ufffd");
            } else {
                tc_buf_add(b, (const char *)p, n);
                p += n - 1;
            }
        } else if (*p == '"' || *p == '\\') {
            tc_buf_printf(b, "\\%c", *p);
        } else if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>') {
            tc_buf_printf(b, "\\u%04x", *p);
        } else {
            tc_buf_add(b, (const char *)p, 1);
        }
    }
    tc_buf_puts(b, "\"");
}
