/* store_keys.c - Redis key names (see store_keys.h). */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "store_keys.h"

static int fits(int n, size_t len)
{
    return n >= 0 && (size_t)n < len ? n : -1;
}

int tw_key_flow(char *buf, size_t len, const char *sensor, uint64_t flow_id)
{
    return fits(snprintf(buf, len, "tw:{%s}:flow:%016" PRIx64, sensor, flow_id), len);
}

int tw_key_hours(char *buf, size_t len, const char *sensor)
{
    return fits(snprintf(buf, len, "tw:{%s}:hours", sensor), len);
}

int tw_key_index(char *buf, size_t len, const char *sensor, uint64_t hour, const char *kind,
                 const char *value)
{
    if (kind == NULL)
        return fits(snprintf(buf, len, "tw:{%s}:t:%" PRIu64, sensor, hour), len);
    return fits(snprintf(buf, len, "tw:{%s}:t:%" PRIu64 ":%s:%s", sensor, hour, kind, value),
                len);
}

int tw_net_text(const uint8_t *addr, int v4, unsigned bits, char *out, size_t len)
{
    uint8_t net[16] = {0};
    unsigned nbytes = v4 ? 4 : 16;
    char text[INET6_ADDRSTRLEN];

    if (bits > nbytes * 8)
        return -1;
    memcpy(net, addr, bits / 8);
    if (bits % 8)
        net[bits / 8] = addr[bits / 8] & (uint8_t)(0xff << (8 - bits % 8));
    if (inet_ntop(v4 ? AF_INET : AF_INET6, net, text, sizeof(text)) == NULL)
        return -1;
    return fits(snprintf(out, len, "%s/%u", text, bits), len) < 0 ? -1 : 0;
}

int tw_app_parts(const char *app, size_t applen, char parts[][TW_APP_LEN], int max)
{
    size_t n = strnlen(app, applen), start = 0;
    int count = 0;

    for (size_t i = 0; i <= n && count < max; i++) {
        if (i < n && app[i] != '.')
            continue;
        size_t l = i - start;
        if (l > 0 && l < TW_APP_LEN) {
            for (size_t k = 0; k < l; k++)
                parts[count][k] = (char)tolower((unsigned char)app[start + k]);
            parts[count][l] = '\0';
            /* "HTTP.HTTP" would index the same key twice */
            if (count == 0 || strcmp(parts[count], parts[count - 1]) != 0)
                count++;
        }
        start = i + 1;
    }
    return count;
}
