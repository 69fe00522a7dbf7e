/* statement_check.c - a stored statement's signature checked (statement.h), apart from the
 * renderer so that readers (tapwatch-query) link no dataplane counter names. */
#include "control/evidence/statement.h"

#include <string.h>

int tw_statement_check_sig(const char *text, size_t len, const char *sig_hex,
                           const uint8_t pk[TW_SIGN_PK_LEN])
{
    uint8_t sig[TW_SIGN_SIG_LEN];

    if (sig_hex == NULL || sig_hex[0] == '\0')
        return 0;
    if (tw_unhex(sig_hex, sig, sizeof(sig)) != 0)
        return -1;
    return tw_sign_verify(pk, text, len, sig) == 0 ? 1 : -1;
}
