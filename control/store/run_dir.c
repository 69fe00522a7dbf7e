/* run_dir.c - the state folder's owner and mode (see run_dir.h). */
#include "control/store/run_dir.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int refuse(char *err, size_t errlen, const char *path, const char *fmt, unsigned a)
{
    char why[160];

    snprintf(why, sizeof(why), fmt, a);
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "run_dir %s: %s", path, why);
    errno = EPERM;
    return -1;
}

int tw_run_dir_check(const char *path, char *err, size_t errlen)
{
    struct stat st;

    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        int saved = errno;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "run_dir %s: %s", path, strerror(saved));
        errno = saved;
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return refuse(err, errlen, path, "not a folder", 0);
    if (st.st_uid != geteuid())
        return refuse(err, errlen, path,
                      "belongs to uid %u, not to the user tapwatch runs as (chown it, or "
                      "choose another run_dir)", (unsigned)st.st_uid);
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return refuse(err, errlen, path,
                      "writable by its group or by others (mode %04o): another user could "
                      "plant files there (chmod go-w it, or choose another run_dir)",
                      (unsigned)(st.st_mode & 07777));
    return 0;
}

int tw_run_dir_make(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        int saved = errno;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "run_dir %s: %s", path, strerror(saved));
        errno = saved;
        return -1;
    }
    return tw_run_dir_check(path, err, errlen);
}
