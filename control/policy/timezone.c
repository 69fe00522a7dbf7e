/* timezone.c - the policy's clock: its time zone (a fixed offset, or an IANA zone read from
 * the TZ database into a table of UTC offsets), local time of a packet time, and maintenance
 * windows (see policy.h). */
#include "control/policy/policy_model.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const day_names[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static int parse_day(const char *s, size_t n)
{
    for (int i = 0; i < 7; i++)
        if (n == 3 && strncasecmp(s, day_names[i], 3) == 0)
            return i;
    return -1;
}

/* "HH:MM" with 00..23 / 00..59, or "24:00" when end is set. Returns minutes or -1. */
static int parse_hhmm(const char *s, size_t n, int end)
{
    if (n != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
        !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
        return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (end && h == 24 && m == 0)
        return 1440;
    if (h > 23 || m > 59)
        return -1;
    return h * 60 + m;
}

int tw_window_parse(const char *text, uint8_t *days, uint16_t *start_min, uint16_t *end_min)
{
    const char *sp = strchr(text, ' ');
    uint8_t mask = 0;

    if (sp == NULL || strchr(sp + 1, ' ') != NULL)
        return -1;
    size_t dn = (size_t)(sp - text);
    if (dn == 5 && strncasecmp(text, "daily", 5) == 0) {
        mask = 0x7f;
    } else {
        const char *p = text, *end = sp;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *item_end = comma ? comma : end;
            const char *dash = memchr(p, '-', (size_t)(item_end - p));
            int a, b;
            if (dash) {
                a = parse_day(p, (size_t)(dash - p));
                b = parse_day(dash + 1, (size_t)(item_end - dash - 1));
            } else {
                a = b = parse_day(p, (size_t)(item_end - p));
            }
            if (a < 0 || b < 0)
                return -1;
            for (int d = a;; d = (d + 1) % 7) { /* "fri-mon" wraps over the weekend */
                mask |= (uint8_t)(1u << d);
                if (d == b)
                    break;
            }
            if (comma && comma + 1 == end)
                return -1;
            p = comma ? comma + 1 : end;
        }
    }
    const char *t = sp + 1, *dash = strchr(t, '-');
    if (dash == NULL)
        return -1;
    int s = parse_hhmm(t, (size_t)(dash - t), 0), e = parse_hhmm(dash + 1, strlen(dash + 1), 1);
    if (s < 0 || e < 0 || s == e)
        return -1;
    if (e < s)
        e += 1440; /* crosses midnight: ends the next day */
    *days = mask;
    *start_min = (uint16_t)s;
    *end_min = (uint16_t)e;
    return 0;
}

int tw_window_contains(uint8_t days, uint16_t start_min, uint16_t end_min, unsigned weekday,
                       unsigned minute)
{
    unsigned end_today = end_min > 1440 ? 1440 : end_min;

    if ((days >> weekday & 1) && minute >= start_min && minute < end_today)
        return 1;
    /* the tail of yesterday's window that crossed midnight */
    if (end_min > 1440 && (days >> ((weekday + 6) % 7) & 1) && minute < (unsigned)end_min - 1440)
        return 1;
    return 0;
}

const char *tw_weekday_name(unsigned weekday)
{
    return day_names[weekday % 7];
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

void tw_policy_local_time(const struct tw_policy *p, uint64_t utc_us, unsigned *weekday,
                          unsigned *minute, int64_t *day)
{
    int64_t s = (int64_t)(utc_us / 1000000);
    size_t lo = 0, hi = p->ntz;

    /* last change at or before s; tz[0] starts at INT64_MIN */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (p->tz[mid].utc_s <= s)
            lo = mid;
        else
            hi = mid;
    }
    int64_t local = s + p->tz[lo].offset_s;
    int64_t d = floor_div(local, 86400);
    int64_t sec = local - d * 86400;

    if (day)
        *day = d;
    if (minute)
        *minute = (unsigned)(sec / 60);
    if (weekday)
        *weekday = (unsigned)(((d + 3) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
}

/* "+08:00", "-0530", "UTC", "Z". Returns 0 with the offset, or -1. */
static int parse_fixed_offset(const char *t, int32_t *off)
{
    if (strcasecmp(t, "UTC") == 0 || strcmp(t, "Z") == 0 || strcasecmp(t, "GMT") == 0) {
        *off = 0;
        return 0;
    }
    if ((t[0] != '+' && t[0] != '-') || !isdigit((unsigned char)t[1]) ||
        !isdigit((unsigned char)t[2]))
        return -1;
    const char *m = t[3] == ':' ? t + 4 : t + 3;
    if (!isdigit((unsigned char)m[0]) || !isdigit((unsigned char)m[1]) || m[2] != '\0')
        return -1;
    int h = (t[1] - '0') * 10 + (t[2] - '0'), mm = (m[0] - '0') * 10 + (m[1] - '0');
    if (h > 14 || mm > 59)
        return -1;
    *off = (t[0] == '-' ? -1 : 1) * (h * 3600 + mm * 60);
    return 0;
}

static int32_t offset_at(time_t t)
{
    struct tm tm;

    if (localtime_r(&t, &tm) == NULL)
        return 0;
    return (int32_t)tm.tm_gmtoff;
}

/* Builds the offset table of an IANA zone from the TZ database: one localtime_r a day from
 * 1970 to 2100, and a binary search to the second where the offset changes. The process's TZ
 * is set for the duration and restored; this runs on the control thread only, at load. */
static int load_iana(struct tw_policy *p, const char *name)
{
    const char *dir = getenv("TZDIR");
    char path[512], magic[4], *old = getenv("TZ");
    char saved[256] = "";
    int had = old != NULL;
    size_t cap = 64;
    FILE *f;

    if (name[0] == '/' || strstr(name, "..") != NULL || strlen(name) > 100)
        return -1;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("/_+-", *c))
            return -1;
    snprintf(path, sizeof(path), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    if ((f = fopen(path, "rb")) == NULL)
        return -1;
    int ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
    fclose(f);
    if (!ok)
        return -1;
    if (had)
        snprintf(saved, sizeof(saved), "%s", old);
    p->tz = malloc(cap * sizeof(*p->tz));
    if (p->tz == NULL)
        return -1;
    setenv("TZ", name, 1);
    tzset();
    const time_t first = 0, last = (time_t)4102444800LL; /* 2100-01-01 */
    p->tz[0].utc_s = INT64_MIN;
    p->tz[0].offset_s = offset_at(first);
    p->ntz = 1;
    int32_t cur = p->tz[0].offset_s;
    for (time_t t = first + 86400; t <= last; t += 86400) {
        int32_t o = offset_at(t);
        if (o == cur)
            continue;
        time_t lo = t - 86400, hi = t; /* offset(lo) == cur, offset(hi) != cur */
        while (hi - lo > 1) {
            time_t mid = lo + (hi - lo) / 2;
            if (offset_at(mid) == cur)
                lo = mid;
            else
                hi = mid;
        }
        if (p->ntz == cap) {
            struct tz_change *n = realloc(p->tz, cap * 2 * sizeof(*n));
            if (n == NULL)
                break;
            p->tz = n;
            cap *= 2;
        }
        p->tz[p->ntz].utc_s = (int64_t)hi;
        p->tz[p->ntz].offset_s = o;
        p->ntz++;
        cur = o;
    }
    if (had)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    return 0;
}

int tw_policy_set_timezone(struct tw_policy *p, const char *text)
{
    int32_t off;

    free(p->tz);
    p->tz = NULL;
    p->ntz = 0;
    if (parse_fixed_offset(text, &off) == 0) {
        if ((p->tz = malloc(sizeof(*p->tz))) == NULL) {
            errno = ENOMEM;
            return -1;
        }
        p->tz[0].utc_s = INT64_MIN;
        p->tz[0].offset_s = off;
        p->ntz = 1;
        return 0;
    }
    if (load_iana(p, text) != 0) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}
