/* keygen_cmd.c - `tapwatch keygen --out FILE` (see keygen_cmd.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "control/evidence/sign_key.h"
#include "control/plane/keygen_cmd.h"

int tw_keygen_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    char err[512], pub[4200], fpr[TW_SIGN_FPR_LEN + 1];
    uint8_t pk[TW_SIGN_PK_LEN];
    int c;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: tapwatch keygen --out FILE\n"
                   "Writes a new Ed25519 secret key to FILE (mode 0600, never over an existing\n"
                   "file) and its public key to FILE.pub; name FILE in the configuration\n"
                   "(signing.key) and give FILE.pub to whoever verifies.\n");
            return 0;
        default:
            fprintf(stderr, "tapwatch keygen: bad option '%s' (usage: tapwatch keygen --out FILE)\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (out == NULL || optind < argc) {
        fprintf(stderr, "tapwatch keygen: usage: tapwatch keygen --out FILE\n");
        return 2;
    }
    if (tw_sign_keygen(out, err, sizeof(err)) < 0) {
        fprintf(stderr, "tapwatch keygen: %s\n", err);
        return 2;
    }
    snprintf(pub, sizeof(pub), "%s.pub", out);
    if (tw_sign_pub_load(pub, pk, fpr, err, sizeof(err)) < 0) {
        fprintf(stderr, "tapwatch keygen: %s\n", err);
        return 2;
    }
    printf("tapwatch keygen: wrote %s (secret, mode 0600) and %s (public); fingerprint %s\n", out,
           pub, fpr);
    return 0;
}
