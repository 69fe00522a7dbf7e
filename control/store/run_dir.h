/* run_dir.h - the state folder (configuration run_dir) where the Redis writers keep what
 * Redis has not taken yet: the record spool and the alert hold file (spill.h).
 *
 * Files there are read back at the next start and written by a process that may run as
 * root, so nobody else may place anything there: the folder must belong to the user
 * tapwatch runs as, and neither its group nor others may write to it (OpenSSH's
 * secure_filename does the same for authorized_keys). Only the folder itself is checked,
 * not its parents. Every file in it is opened with O_NOFOLLOW (a symbolic link is refused,
 * never followed) and must be a regular file with one link; temporaries are created with
 * O_EXCL, fsynced, then renamed over the file they replace (spill.c).
 */
#ifndef TW_RUN_DIR_H
#define TW_RUN_DIR_H

#include <stddef.h>

/* Checks the folder path when it exists (none yet is fine: tw_run_dir_make makes it 0700
 * when first needed). Returns 0, or -1 with one line in err: "run_dir PATH: ..." (not a
 * folder, belongs to uid N, writable by its group or by others: mode 0777). */
int tw_run_dir_check(const char *path, char *err, size_t errlen);

/* Makes the folder (mode 0700) when it does not exist, then checks it as above. Returns 0,
 * or -1 with errno set (EPERM for a folder that fails the check) and, when err is not NULL,
 * one line in err. */
int tw_run_dir_make(const char *path, char *err, size_t errlen);

#endif
