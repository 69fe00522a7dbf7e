/* fleet_keys.c - keys of sensors under banks (see fleet_keys.h). */
#include "control/record/fleet_keys.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static int fits(int n, size_t len)
{
    return n >= 0 && (size_t)n < len ? n : -1;
}

int tw_fleet_valid_name(const char *s)
{
    if (s == NULL || *s == '\0' || strlen(s) >= TW_NS_LEN)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
            return 0;
    return 1;
}

int tw_key_namespace(char *buf, size_t len, const char *bank, const char *sensor)
{
    if (bank == NULL || bank[0] == '\0')
        return fits(snprintf(buf, len, "%s", sensor), len);
    return fits(snprintf(buf, len, "%s/%s", bank, sensor), len);
}

int tw_key_bank_sensors(char *buf, size_t len, const char *bank)
{
    return fits(snprintf(buf, len, "tw:{bank:%s}:sensors", bank ? bank : ""), len);
}

int tw_key_bank_sensor(char *buf, size_t len, const char *bank, const char *sensor)
{
    return fits(snprintf(buf, len, "tw:{bank:%s}:sensor:%s", bank ? bank : "", sensor), len);
}

int tw_key_bank_first_seen(char *buf, size_t len, const char *bank, const char *sensor)
{
    return fits(snprintf(buf, len, "tw:{bank:%s}:first-seen:%s", bank ? bank : "", sensor), len);
}

int tw_key_bank_members(char *buf, size_t len, const char *bank)
{
    return fits(snprintf(buf, len, "tw:{bank:%s}:members", bank ? bank : ""), len);
}

int tw_key_acl_bank_reader(char *buf, size_t len, const char *bank)
{
    if (bank == NULL || bank[0] == '\0')
        return -1;
    /* names hold no glob character ([A-Za-z0-9_.-]): nothing to escape */
    return fits(snprintf(buf, len, "%%R~tw:{%s/* %%R~tw:{bank:%s}:*", bank, bank), len);
}

int tw_key_acl_registration(char *buf, size_t len, const char *bank, const char *sensor)
{
    const char *b = bank ? bank : "";

    /* names hold no glob character: the patterns name exactly these keys */
    return fits(snprintf(buf, len,
                         "~tw:{bank:%s}:sensor:%s ~tw:{bank:%s}:first-seen:%s ~tw:{bank:%s}:members%s",
                         b, sensor, b, sensor, b, b[0] ? " ~" TW_KEY_BANKS : ""),
                len);
}

void tw_namespace_file_part(const char *ns, char *out, size_t len)
{
    size_t i;

    if (len == 0)
        return;
    for (i = 0; ns[i] != '\0' && i + 1 < len; i++)
        out[i] = ns[i] == '/' ? '+' : ns[i];
    out[i] = '\0';
}
