/* redis_slot.c - key slots and the RESP command walk (see redis_slot.h). */
#include "control/store/redis_slot.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

unsigned tw_crc16(const void *p, size_t n)
{
    const unsigned char *s = p;
    unsigned crc = 0;

    while (n-- > 0) {
        crc ^= (unsigned)*s++ << 8;
        for (int i = 0; i < 8; i++)
            crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    return crc;
}

unsigned tw_key_slot(const char *key, size_t n)
{
    const char *open = memchr(key, '{', n);

    if (open != NULL) {
        size_t from = (size_t)(open - key) + 1;
        const char *close = memchr(open + 1, '}', n - from);
        if (close != NULL && close > open + 1) /* "{}" is no tag: the whole key */
            return tw_crc16(open + 1, (size_t)(close - open - 1)) & (TW_CLUSTER_SLOTS - 1);
    }
    return tw_crc16(key, n) & (TW_CLUSTER_SLOTS - 1);
}

/* Reads "<c><digits>\r\n" at *off. Returns the number, or -1. */
static long long read_head(const char *p, size_t n, size_t *off, char c)
{
    long long v = 0;
    size_t i = *off;

    if (i >= n || p[i] != c)
        return -1;
    i++;
    if (i >= n || p[i] < '0' || p[i] > '9')
        return -1;
    while (i < n && p[i] >= '0' && p[i] <= '9') {
        v = v * 10 + (p[i] - '0');
        if (v > (1ll << 40))
            return -1;
        i++;
    }
    if (i + 1 >= n || p[i] != '\r' || p[i + 1] != '\n')
        return -1;
    *off = i + 2;
    return v;
}

int tw_resp_next(const char *p, size_t n, struct tw_resp_cmd *out)
{
    size_t off = 0;
    long long argc = read_head(p, n, &off, '*');
    const char *arg0 = NULL, *arg2 = NULL;
    size_t arg0_len = 0, arg2_len = 0;

    if (argc < 1)
        return -1;
    out->key = NULL;
    out->key_len = 0;
    for (long long i = 0; i < argc; i++) {
        long long len = read_head(p, n, &off, '$');
        if (len < 0 || off + (size_t)len + 2 > n || p[off + len] != '\r' ||
            p[off + len + 1] != '\n')
            return -1;
        if (i == 0) {
            arg0 = p + off;
            arg0_len = (size_t)len;
        } else if (i == 2) {
            arg2 = p + off;
            arg2_len = (size_t)len;
        }
        int scripted = arg0 != NULL && ((arg0_len == 4 && !strncasecmp(arg0, "EVAL", 4)) ||
                                        (arg0_len == 7 && !strncasecmp(arg0, "EVALSHA", 7)) ||
                                        (arg0_len == 5 && !strncasecmp(arg0, "FCALL", 5)));
        if ((i == 1 && !scripted) ||
            (i == 3 && scripted && arg2 != NULL && !(arg2_len == 1 && arg2[0] == '0'))) {
            out->key = p + off;
            out->key_len = (size_t)len;
        }
        off += (size_t)len + 2;
    }
    /* commands that name no key (WAIT n t, SCRIPT LOAD s, INFO x) route anywhere */
    if (arg0 != NULL && out->key != NULL &&
        ((arg0_len == 4 && !strncasecmp(arg0, "WAIT", 4)) ||
         (arg0_len == 6 && !strncasecmp(arg0, "SCRIPT", 6)) ||
         (arg0_len == 4 && !strncasecmp(arg0, "INFO", 4)))) {
        out->key = NULL;
        out->key_len = 0;
    }
    out->len = off;
    return 0;
}
