/* sensor_registry.c - a sensor's registration under its bank (see sensor_registry.h). */
#include "control/store/sensor_registry.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

static int copy(char *dst, size_t len, const char *src)
{
    int n = snprintf(dst, len, "%s", src ? src : "");

    return n >= 0 && (size_t)n < len ? 0 : -1;
}

int tw_sensor_info_init(struct tw_sensor_info *info, const char *bank, const char *sensor,
                        const char *version, const char *geoip_sha256)
{
    memset(info, 0, sizeof(*info));
    if (!tw_fleet_valid_name(sensor) || (bank && bank[0] && !tw_fleet_valid_name(bank)) ||
        copy(info->sensor, sizeof(info->sensor), sensor) < 0 ||
        copy(info->bank, sizeof(info->bank), bank) < 0 ||
        copy(info->version, sizeof(info->version), version) < 0 ||
        copy(info->geoip_sha256, sizeof(info->geoip_sha256), geoip_sha256) < 0)
        return -1;
    if (gethostname(info->hostname, sizeof(info->hostname) - 1) != 0)
        info->hostname[0] = '\0';
    return 0;
}

/* Epoch seconds with six decimals, as a JSON number written as such. */
static json_object *epoch(uint64_t us)
{
    char text[32];

    snprintf(text, sizeof(text), "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
    return json_object_new_double_s((double)us / 1e6, text);
}

int tw_sensor_info_json(const struct tw_sensor_info *info, uint64_t run_us, uint64_t now_us,
                        char *out, size_t len)
{
    json_object *j = json_object_new_object();
    char ns[TW_NS_LEN], run[17];
    int n = -1;

    if (j == NULL || tw_key_namespace(ns, sizeof(ns), info->bank, info->sensor) < 0)
        goto out;
    snprintf(run, sizeof(run), "%016" PRIx64, run_us);
    json_object_object_add(j, "sensor", json_object_new_string(info->sensor));
    json_object_object_add(j, "bank", json_object_new_string(info->bank));
    json_object_object_add(j, "namespace", json_object_new_string(ns));
    json_object_object_add(j, "version", json_object_new_string(info->version));
    json_object_object_add(j, "hostname", json_object_new_string(info->hostname));
    json_object_object_add(j, "run", json_object_new_string(run));
    json_object_object_add(j, "started", epoch(run_us));
    json_object_object_add(j, "last_seen", epoch(now_us));
    json_object_object_add(j, "geoip_sha256", json_object_new_string(info->geoip_sha256));
    json_object_object_add(j, "policy_sha256", json_object_new_string(info->policy_sha256));
    json_object_object_add(j, "pubkey", json_object_new_string(info->pubkey));
    n = snprintf(out, len, "%s",
                 json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
    if (n < 0 || (size_t)n >= len)
        n = -1;
out:
    json_object_put(j);
    return n;
}

static void expire(struct tw_buf *b, const char *key, uint32_t ttl_s)
{
    tw_buf_array(b, 3);
    tw_buf_str(b, "EXPIRE");
    tw_buf_str(b, key);
    tw_buf_u64(b, ttl_s);
}

int tw_sensor_registry_put(struct tw_buf *b, const struct tw_sensor_info *info, uint64_t run_us,
                           uint64_t now_us, uint32_t ttl_s)
{
    char json[TW_REG_JSON_MAX], key[128], first[128], members[128];
    int n = tw_sensor_info_json(info, run_us, now_us, json, sizeof(json));

    if (n < 0 || ttl_s == 0 || tw_key_bank_sensor(key, sizeof(key), info->bank, info->sensor) < 0 ||
        tw_key_bank_first_seen(first, sizeof(first), info->bank, info->sensor) < 0 ||
        tw_key_bank_members(members, sizeof(members), info->bank) < 0)
        return -1;
    tw_buf_array(b, 5);
    tw_buf_str(b, "SET");
    tw_buf_str(b, key);
    tw_buf_bulk(b, json, (size_t)n);
    tw_buf_str(b, "EX");
    tw_buf_u64(b, ttl_s);
    tw_buf_array(b, 6);
    tw_buf_str(b, "SET");
    tw_buf_str(b, first);
    tw_buf_u64(b, now_us / 1000000);
    tw_buf_str(b, "NX");
    tw_buf_str(b, "EX");
    tw_buf_u64(b, ttl_s);
    expire(b, first, ttl_s);
    tw_buf_array(b, 3);
    tw_buf_str(b, "SADD");
    tw_buf_str(b, members);
    tw_buf_str(b, info->sensor);
    expire(b, members, ttl_s);
    if (info->bank[0] == '\0')
        return 5;
    tw_buf_array(b, 3);
    tw_buf_str(b, "SADD");
    tw_buf_str(b, TW_KEY_BANKS);
    tw_buf_str(b, info->bank);
    return 6;
}
