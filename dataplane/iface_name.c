/* iface_name.c - is a text an interface name (see iface_name.h). */
#include "dataplane/iface_name.h"

#include <net/if.h>
#include <stdio.h>
#include <string.h>

int tw_iface_name_check(const char *name, char *err, size_t errlen)
{
    char shown[IF_NAMESIZE + 4];
    size_t n = strlen(name), i;
    const char *why = NULL;

    /* the name as it can be shown on one line: at most IFNAMSIZ bytes, '?' for the rest */
    for (i = 0; i < n && i < sizeof(shown) - 4; i++)
        shown[i] = name[i] > 0x20 && name[i] < 0x7f ? name[i] : '?';
    strcpy(shown + i, n > i ? "..." : "");

    if (n == 0)
        why = "an interface name is needed";
    else if (n >= IF_NAMESIZE)
        why = "an interface name has at most 15 characters";
    else if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        why = "not an interface name";
    for (i = 0; why == NULL && i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == ':')
            why = "an interface name has no '/', ':', blank or unprintable character";
        else if (c == ',' || c == '=')
            why = "an interface name only (',' and '=' would pass options to the DPDK driver)";
    }
    if (why == NULL)
        return 0;
    snprintf(err, errlen, "--iface %s: %s", shown, why);
    return -1;
}
