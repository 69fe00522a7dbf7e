/* sensor_registry.h - a sensor registers itself under its bank (fleet_keys.h):
 *
 *   SET    tw:{bank:<B>}:sensor:<sensor> <registration JSON> EX <ttl>
 *   SET    tw:{bank:<B>}:first-seen:<sensor> <epoch seconds> NX EX <ttl>, then EXPIRE (a
 *          first-seen of a sensor still registering stays)
 *   SADD   tw:{bank:<B>}:members <sensor>, EXPIRE
 *   SADD   tw:banks <B>                                     (only when it has a bank)
 *
 * Each its own keys: the sensor's ACL user names exactly these (fleet_keys.h), so no sensor
 * can alter another's registration. ttl: redis.retention; renewed at every registration.
 *
 * sent by the flow store with its counters (tw_store_put_counters: every second while
 * running, and once more at exit), so last_seen is the latest of those. The JSON, one line:
 *
 *   {"sensor":"s1","bank":"A","namespace":"A/s1","version":"0.1.0","hostname":"h",
 *    "run":"<16 hex>","started":<epoch s>,"last_seen":<epoch s>,
 *    "geoip_sha256":"<hex or empty>","policy_sha256":"<hex or empty>","pubkey":""}
 *
 * (the GeoIP databases and the policy as at start: a SIGHUP reload does not change them)
 *
 * pubkey is the fingerprint of the sensor's signing key (signing.key), empty when it does not
 * sign. Readers validate every field (control/query/sensors.c): whoever can write the key (the
 * sensor, an administrator of the Redis) can alter it.
 */
#ifndef TW_SENSOR_REGISTRY_H
#define TW_SENSOR_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "control/record/fleet_keys.h"
#include "control/store/redis_engine.h"

#define TW_REG_JSON_MAX 1024

struct tw_sensor_info {
    char sensor[TW_NS_LEN];
    char bank[32];          /* "" = no bank */
    char version[32];
    char hostname[256];
    char geoip_sha256[65];  /* "" = no GeoIP databases */
    char policy_sha256[65]; /* the policy file at start, "" = no policy */
    char pubkey[128];       /* the signing key's fingerprint, "" when not signing */
};

/* Fills the host name (gethostname) and copies the rest into info. Returns 0, or -1 when a
 * name is too long or not a valid sensor/bank name. */
int tw_sensor_info_init(struct tw_sensor_info *info, const char *bank, const char *sensor,
                        const char *version, const char *geoip_sha256);

/* The registration JSON of info at now_us for the run started at run_us into out. Returns
 * its length, or -1 when out is too small or no memory. */
int tw_sensor_info_json(const struct tw_sensor_info *info, uint64_t run_us, uint64_t now_us,
                        char *out, size_t len);

/* Appends the registration commands (above) to b. Returns how many commands (one reply
 * each), or -1 (b->oom may also be set: the caller checks once). */
int tw_sensor_registry_put(struct tw_buf *b, const struct tw_sensor_info *info, uint64_t run_us,
                           uint64_t now_us, uint32_t ttl_s);

#endif
