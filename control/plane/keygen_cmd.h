/* keygen_cmd.h - `tapwatch keygen --out FILE`: the sensor's Ed25519 key pair for the
 * evidence (control/evidence/sign_key.h), FILE (mode 0600) and FILE.pub. */
#ifndef TW_PLANE_KEYGEN_CMD_H
#define TW_PLANE_KEYGEN_CMD_H

/* argv[0] is "keygen". Returns the process's exit status (0, or 2 with one line said). */
int tw_keygen_main(int argc, char **argv);

#endif
