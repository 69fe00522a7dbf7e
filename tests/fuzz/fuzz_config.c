/* fuzz_config.c - libFuzzer target: tw_config_load on any bytes.
 *
 * The input is written to a memfd and loaded by path, as `tapwatch --config` does. Beyond
 * "no crash, no sanitizer report" it checks what config.h promises:
 *   - on error: cfg is unchanged and err is one non-empty line naming the file;
 *   - on success: every key prints (tw_config_get) and setting every printed value on a
 *     fresh default configuration (tw_config_set) gives the same configuration back, so
 *     --check-config shows exactly what was loaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_file.h"
#include "control/plane/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tw_config cfg, before, again;
    char err[512] = "", value[TW_PATH_LEN + 8];

    const char *path = fuzz_file(data, size);
    if (path == NULL)
        abort();
    tw_config_defaults(&cfg);
    before = cfg;
    if (tw_config_load(&cfg, path, err, sizeof(err)) != 0) {
        if (memcmp(&cfg, &before, sizeof(cfg)) != 0)
            abort(); /* "on error cfg is left unchanged" */
        if (strncmp(err, path, strlen(path)) != 0 || strchr(err, '\n') != NULL)
            abort(); /* one line, naming the file */
        return 0;
    }
    tw_config_defaults(&again);
    for (size_t i = 0; tw_config_key_name(i) != NULL; i++) {
        const char *key = tw_config_key_name(i);
        if (tw_config_get(&cfg, key, value, sizeof(value)) != 0)
            abort();
        if (tw_config_set(&again, key, value, err, sizeof(err)) != 0)
            abort(); /* a loaded value that the same key refuses when set again */
    }
    if (memcmp(&cfg, &again, sizeof(cfg)) != 0)
        abort();
    (void)tw_config_validate(&cfg, err, sizeof(err)); /* cross-key rules may refuse it */
    return 0;
}
