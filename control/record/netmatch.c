/* netmatch.c - address, application and server-name matching (see netmatch.h). */
#include "control/record/netmatch.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "dataplane/flow_record.h"
#include "control/record/keys.h"

int tw_cidr_parse(const char *text, uint8_t addr[16], int *v4, uint8_t *bits)
{
    char a[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t)(slash - text) : strlen(text);
    unsigned max, b;

    if (n == 0 || n >= sizeof(a))
        return -1;
    memcpy(a, text, n);
    a[n] = '\0';
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, a, addr) == 1)
        *v4 = 1;
    else if (inet_pton(AF_INET6, a, addr) == 1)
        *v4 = 0;
    else
        return -1;
    max = *v4 ? 32 : 128;
    b = max;
    if (slash) {
        const char *d = slash + 1;
        if (*d == '\0' || strlen(d) > 3)
            return -1;
        b = 0;
        for (; *d; d++) {
            if (!isdigit((unsigned char)*d))
                return -1;
            b = b * 10 + (unsigned)(*d - '0');
        }
        if (b > max)
            return -1;
    }
    for (unsigned i = b; i < max; i++)
        addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
    *bits = (uint8_t)b;
    return 0;
}

int tw_cidr_contains(const uint8_t net[16], uint8_t bits, const uint8_t *addr)
{
    unsigned full = bits / 8u;

    if (memcmp(addr, net, full) != 0)
        return 0;
    if (bits % 8 == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xffu << (8 - bits % 8));
    return (addr[full] & mask) == (net[full] & mask);
}

int tw_server_name_match(const char *pattern, const char *name)
{
    if (pattern[0] == '*' && pattern[1] == '.') {
        size_t pl = strlen(pattern + 1), nl = strlen(name); /* ".example.com" */
        return nl > pl && strcasecmp(name + nl - pl, pattern + 1) == 0;
    }
    return strcasecmp(pattern, name) == 0;
}

int tw_app_match(const char *want, const char *app)
{
    char parts[TW_APP_PARTS_MAX][TW_APP_LEN];
    int n;

    if (strcasecmp(want, app) == 0)
        return 1;
    if (strchr(want, '.') != NULL)
        return 0;
    n = tw_app_parts(app, TW_APP_LEN, parts, TW_APP_PARTS_MAX);
    for (int i = 0; i < n; i++)
        if (strcasecmp(want, parts[i]) == 0)
            return 1;
    return 0;
}

