/* timeparse.c - command-line times into epoch microseconds (see timeparse.h).
 *
 * Hand-written rather than strptime: strptime has no fraction or offset with a colon, and it
 * silently accepts out-of-range fields ("2026-02-31"). The grammar is small and fixed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "control/query/timeparse.h"

#define US_PER_S 1000000ULL
#define MAX_YEAR 9999

static int bad(char *err, size_t errlen, const char *text, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(char *err, size_t errlen, const char *text, const char *fmt, ...)
{
    char why[128];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "bad time \"%.64s\": %s", text, why);
    return -1;
}

/* Reads exactly n decimal digits at *p. Returns 0 and advances, or -1. */
static int digits(const char **p, int n, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (unsigned)(c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* Reads ".ddd" (1 to 9 digits) as microseconds, truncating beyond 6 digits. Nothing to read
 * is 0. Returns 0, or -1 for a dot without digits or too many digits. */
static int fraction(const char **p, uint64_t *us)
{
    int n = 0;

    *us = 0;
    if (**p != '.' && **p != ',')
        return 0;
    for ((*p)++; **p >= '0' && **p <= '9'; (*p)++, n++)
        if (n < 6)
            *us = *us * 10 + (uint64_t)(**p - '0');
    if (n == 0 || n > 9)
        return -1;
    for (; n < 6; n++)
        *us *= 10;
    return 0;
}

static int is_leap(unsigned y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), Howard Hinnant's days_from_civil. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int parse_iso(const char *text, uint64_t *out_us, char *err, size_t errlen)
{
    static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = text;
    unsigned y, mo, d, h = 0, mi = 0, s = 0, oh = 0, om = 0;
    uint64_t frac = 0;
    int64_t secs, offset = 0;

    if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
        digits(&p, 2, &d) < 0)
        return bad(err, errlen, text, "expected YYYY-MM-DD");
    if (y < 1970 || y > MAX_YEAR)
        return bad(err, errlen, text, "year must be 1970 to %d", MAX_YEAR);
    if (mo < 1 || mo > 12)
        return bad(err, errlen, text, "month must be 01 to 12");
    if (d < 1 || d > mdays[mo - 1] + (mo == 2 && is_leap(y)))
        return bad(err, errlen, text, "day %02u does not exist in %04u-%02u", d, y, mo);

    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
            return bad(err, errlen, text, "expected hh:mm after the date");
        if (*p == ':') {
            p++;
            if (digits(&p, 2, &s) < 0)
                return bad(err, errlen, text, "expected two digits of seconds");
            if (fraction(&p, &frac) < 0)
                return bad(err, errlen, text, "expected 1 to 9 digits after the decimal point");
        }
        if (h > 23 || mi > 59 || s > 59)
            return bad(err, errlen, text, "time of day out of range");
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1;
            if (digits(&p, 2, &oh) < 0)
                return bad(err, errlen, text, "expected an offset +hh:mm");
            if (*p == ':')
                p++;
            if (digits(&p, 2, &om) < 0)
                return bad(err, errlen, text, "expected an offset +hh:mm");
            if (oh > 14 || om > 59)
                return bad(err, errlen, text, "offset out of range");
            offset = sign * (int64_t)(oh * 3600 + om * 60);
        } else if (*p == '\0') {
            return bad(err, errlen, text, "add a time zone: Z for UTC or an offset like +08:00");
        } else {
            return bad(err, errlen, text, "unexpected \"%.16s\" after the time", p);
        }
    }
    if (*p != '\0')
        return bad(err, errlen, text, "unexpected \"%.16s\" after the date", p);

    /* local time = UTC + offset, so UTC = local - offset */
    secs = days_from_civil(y, mo, d) * 86400 + (int64_t)(h * 3600 + mi * 60 + s) - offset;
    if (secs < 0)
        return bad(err, errlen, text, "before 1970-01-01T00:00:00Z");
    *out_us = (uint64_t)secs * US_PER_S + frac;
    return 0;
}

static int parse_epoch(const char *text, uint64_t *out_us, char *err, size_t errlen)
{
    const char *p = text;
    uint64_t secs = 0, frac = 0;
    int n = 0;

    for (; *p >= '0' && *p <= '9'; p++, n++) {
        secs = secs * 10 + (uint64_t)(*p - '0');
        if (n >= 12) /* beyond year 33658: surely not seconds */
            return bad(err, errlen, text, "too large for epoch seconds");
    }
    if (n > 0 && fraction(&p, &frac) < 0)
        return bad(err, errlen, text, "expected 1 to 9 digits after the decimal point");
    if (n == 0 || *p != '\0')
        return bad(err, errlen, text,
                   "expected epoch seconds, YYYY-MM-DD[Thh:mm[:ss]Z] or -N[smhd]");
    *out_us = secs * US_PER_S + frac;
    return 0;
}

static int parse_relative(const char *text, uint64_t now_us, uint64_t *out_us, char *err,
                          size_t errlen)
{
    const char *p = text + 1;
    uint64_t n = 0, unit;
    int nd = 0;

    for (; *p >= '0' && *p <= '9'; p++, nd++) {
        n = n * 10 + (uint64_t)(*p - '0');
        if (nd >= 9)
            return bad(err, errlen, text, "too long ago");
    }
    if (nd == 0)
        return bad(err, errlen, text, "expected a number after '-', as in -2h");
    switch (*p) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case '\0': return bad(err, errlen, text, "add a unit: s, m, h or d");
    default: return bad(err, errlen, text, "unknown unit \"%.8s\" (use s, m, h or d)", p);
    }
    if (p[1] != '\0')
        return bad(err, errlen, text, "unexpected \"%.16s\" after the unit", p + 1);
    /* divide rather than multiply: n x unit x 10^6 wraps 64 bits from -213503983d on */
    if (n > now_us / (unit * US_PER_S))
        return bad(err, errlen, text, "before 1970-01-01T00:00:00Z");
    *out_us = now_us - n * unit * US_PER_S;
    return 0;
}

int tw_parse_time(const char *text, uint64_t now_us, uint64_t *out_us, char *err, size_t errlen)
{
    if (text == NULL || *text == '\0')
        return bad(err, errlen, text == NULL ? "" : text, "empty");
    if (strcmp(text, "now") == 0) {
        *out_us = now_us;
        return 0;
    }
    if (text[0] == '-')
        return parse_relative(text, now_us, out_us, err, errlen);
    /* "2026-..." is a date; a date needs its dash after exactly four digits */
    if (strlen(text) >= 5 && text[4] == '-')
        return parse_iso(text, out_us, err, errlen);
    return parse_epoch(text, out_us, err, errlen);
}
