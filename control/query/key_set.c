/* key_set.c - the keys a reader trusts across key rotations (see key_set.h). */
#include "control/query/key_set.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "control/evidence/seal.h"
#include "control/evidence/statement.h"
#include "control/query/coverage.h"
#include "control/query/query.h"
#include "control/record/keys.h"

int tq_key_set_add(struct tq_key_set *ks, const uint8_t pk[TW_SIGN_PK_LEN])
{
    struct tq_key *k;

    if (ks->n == TQ_KEYS_MAX)
        return -1;
    for (size_t i = 0; i < ks->n; i++)
        if (memcmp(ks->k[i].pk, pk, TW_SIGN_PK_LEN) == 0)
            return -1;
    k = &ks->k[ks->n];
    memset(k, 0, sizeof(*k));
    memcpy(k->pk, pk, TW_SIGN_PK_LEN);
    tw_sign_fingerprint(pk, k->fpr);
    k->admitted = ks->n == 0;
    k->admitted_by = -1;
    k->from_us = 0;
    k->until_us = UINT64_MAX;
    ks->n++;
    return 0;
}

int tq_key_set_load(struct tq_key_set *ks, const char *const *paths, size_t n, char *err,
                    size_t errlen)
{
    uint8_t pk[TW_SIGN_PK_LEN];

    memset(ks, 0, sizeof(*ks));
    if (n == 0 || n > TQ_KEYS_MAX) {
        snprintf(err, errlen, "1 to %d public keys", TQ_KEYS_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (tw_sign_pub_load(paths[i], pk, NULL, err, errlen) != 0)
            return -1;
        if (tq_key_set_add(ks, pk) != 0) {
            snprintf(err, errlen, "%s: that key was given already", paths[i]);
            return -1;
        }
    }
    return 0;
}

static struct tq_key *by_fpr(struct tq_key_set *ks, const char *fpr)
{
    for (size_t i = 0; i < ks->n; i++)
        if (strcmp(ks->k[i].fpr, fpr) == 0)
            return &ks->k[i];
    return NULL;
}

const struct tq_key *tq_key_set_signer(const struct tq_key_set *ks, const char *fpr,
                                       uint64_t t_us)
{
    for (size_t i = 0; i < ks->n; i++) {
        const struct tq_key *k = &ks->k[i];
        if (strcmp(k->fpr, fpr) == 0)
            return k->admitted && t_us >= k->from_us && t_us < k->until_us ? k : NULL;
    }
    return NULL;
}

int tq_key_set_check_seal(const struct tq_key_set *ks, const struct tw_seal *seal)
{
    const struct tq_key *k = tq_key_set_signer(ks, seal->key, seal->time_us);

    return k != NULL && tw_seal_verify(seal, k->pk) == 0 ? 0 : -1;
}

/* What a reader needs of a statement's text. */
struct st_view {
    char kind[16], sensor[128], key[TW_SIGN_FPR_LEN + 1], previous[TW_SIGN_FPR_LEN + 1];
    uint64_t from_us, to_us;
};

static void str_of(json_object *j, const char *name, char *out, size_t len)
{
    json_object *v;

    out[0] = '\0';
    if (json_object_object_get_ex(j, name, &v) && json_object_is_type(v, json_type_string))
        snprintf(out, len, "%s", json_object_get_string(v));
}

static uint64_t time_of(json_object *j, const char *name)
{
    json_object *v;
    double d;

    if (!json_object_object_get_ex(j, name, &v) ||
        !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
        return 0;
    d = json_object_get_double(v);
    return d > 0 && d < 1e11 ? (uint64_t)llround(d * 1e6) : 0;
}

/* Parses the text (hostile: whatever Redis holds). Returns 0, or -1 when it is not JSON. */
static int view(const char *text, size_t len, struct st_view *v)
{
    json_object *j = tq_json_parse(text, len);

    memset(v, 0, sizeof(*v));
    if (j == NULL)
        return -1;
    str_of(j, "kind", v->kind, sizeof(v->kind));
    str_of(j, "sensor", v->sensor, sizeof(v->sensor));
    str_of(j, "key", v->key, sizeof(v->key));
    str_of(j, "previous_key", v->previous, sizeof(v->previous));
    v->from_us = time_of(j, "from");
    v->to_us = time_of(j, "to");
    json_object_put(j);
    return 0;
}

static int sig_ok(const struct tq_key *k, const char *text, size_t len, const char *sig)
{
    return sig != NULL && tw_statement_check_sig(text, len, sig, k->pk) == 1;
}

int tq_key_set_rotation(struct tq_key_set *ks, const char *sensor, const char *text, size_t len,
                        const char *sig, const char *sig_previous, char *why, size_t whylen)
{
    struct st_view v;
    struct tq_key *nk, *pk;

    why[0] = '\0';
    if (view(text, len, &v) != 0 || strcmp(v.kind, "key_rotation") != 0) {
        snprintf(why, whylen, "not a key_rotation statement");
        return TQ_ROT_BAD;
    }
    if (strcmp(v.sensor, sensor) != 0) {
        snprintf(why, whylen, "a rotation of another sensor");
        return TQ_ROT_BAD;
    }
    if (v.from_us == 0 || strlen(v.key) != TW_SIGN_FPR_LEN ||
        strlen(v.previous) != TW_SIGN_FPR_LEN || strcmp(v.key, v.previous) == 0) {
        snprintf(why, whylen, "its from, key or previous_key is missing or wrong");
        return TQ_ROT_BAD;
    }
    if ((nk = by_fpr(ks, v.key)) == NULL) {
        snprintf(why, whylen, "rotation from key %s to key %s, which was not given (--pubkey): "
                 "not checked", v.previous, v.key);
        return TQ_ROT_NOTE;
    }
    if ((pk = by_fpr(ks, v.previous)) == NULL) {
        snprintf(why, whylen, "rotation to key %s from key %s, which was not given (--pubkey): "
                 "not checked", v.key, v.previous);
        return TQ_ROT_NOTE;
    }
    if (!sig_ok(nk, text, len, sig)) {
        snprintf(why, whylen, "rotation to key %s: key %s did not sign it (sig)", v.key, v.key);
        return TQ_ROT_BAD;
    }
    if (sig_previous == NULL || sig_previous[0] == '\0' || !sig_ok(pk, text, len, sig_previous)) {
        snprintf(why, whylen, "rotation to key %s: its previous key %s did not sign it "
                 "(sig_previous)", v.key, v.previous);
        return TQ_ROT_BAD;
    }
    /* said again (previous_key left in the configuration): both signatures check, and the
     * key was admitted from that same previous key already */
    if (nk->admitted && nk->admitted_by == (int)(pk - ks->k))
        return TQ_ROT_KNOWN;
    if (nk->admitted) {
        snprintf(why, whylen, "rotation to key %s, which is trusted already (given first, or "
                 "admitted from another key)", v.key);
        return TQ_ROT_BAD;
    }
    if (tq_key_set_signer(ks, pk->fpr, v.from_us) == NULL) {
        snprintf(why, whylen, "rotation to key %s: its previous key %s is not accepted at its "
                 "time (give the oldest key first)", v.key, v.previous);
        return TQ_ROT_BAD;
    }
    nk->admitted = 1;
    nk->admitted_by = (int)(pk - ks->k);
    nk->from_us = v.from_us;
    nk->until_us = UINT64_MAX;
    if (pk->until_us > v.from_us)
        pk->until_us = v.from_us;
    snprintf(why, whylen, "key %s accepted from this rotation on, key %s before it", v.key,
             v.previous);
    return TQ_ROT_ADMITTED;
}

int tq_key_set_check_statement(const struct tq_key_set *ks, const char *text, size_t len,
                               const char *sig, const char *sig_previous)
{
    struct st_view v;
    const struct tq_key *k, *p;

    if (sig == NULL || sig[0] == '\0')
        return 0;
    if (view(text, len, &v) != 0 || (k = tq_key_set_signer(ks, v.key, v.to_us)) == NULL ||
        tw_statement_check_sig(text, len, sig, k->pk) != 1)
        return -1;
    if (strcmp(v.kind, "key_rotation") != 0)
        return 1;
    /* a rotation: its previous key signed the same bytes, and is the one that admitted k
     * (the first key given is admitted by nothing: its rotation is checked for both
     * signatures only) */
    for (size_t i = 0; i < ks->n; i++) {
        p = &ks->k[i];
        if (strcmp(p->fpr, v.previous) != 0)
            continue;
        if (k->admitted_by >= 0 && &ks->k[k->admitted_by] != p)
            return -1;
        return sig_previous != NULL && tw_statement_check_sig(text, len, sig_previous,
                                                              p->pk) == 1 ? 1 : -1;
    }
    return -1;
}

int tq_key_set_read(struct tq_key_set *ks, struct tw_rclient *c, const char *sensor,
                    void (*say)(void *ctx, const char *id, int outcome, const char *why),
                    void *ctx)
{
    char key[TW_KEY_LEN], start[48] = "-", why[256];
    redisReply *r;

    if (tw_key_rotations(key, sizeof(key), sensor) < 0)
        return -1;
    for (;;) {
        r = tw_rclient_command(c, "XRANGE %s %s + COUNT %d", key, start, TQ_PAGE);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY)
            return tq_reply_failed(c, r, "XRANGE rotations");
        size_t got = r->elements;
        for (size_t i = 0; i < got; i++) {
            const redisReply *e = r->element[i];
            const char *text = NULL, *sig = "", *sigp = "";
            size_t tlen = 0;
            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
                e->element[0]->type != REDIS_REPLY_STRING ||
                e->element[1]->type != REDIS_REPLY_ARRAY)
                continue;
            snprintf(start, sizeof(start), "(%s", e->element[0]->str);
            const redisReply *fv = e->element[1];
            for (size_t f = 0; f + 1 < fv->elements; f += 2) {
                const redisReply *n = fv->element[f], *val = fv->element[f + 1];
                if (n->type != REDIS_REPLY_STRING || val->type != REDIS_REPLY_STRING)
                    continue;
                if (strcmp(n->str, "statement") == 0)
                    text = val->str, tlen = val->len;
                else if (strcmp(n->str, "sig") == 0)
                    sig = val->str;
                else if (strcmp(n->str, "sig_previous") == 0)
                    sigp = val->str;
            }
            int rc = text == NULL ? TQ_ROT_BAD
                                  : tq_key_set_rotation(ks, sensor, text, tlen, sig, sigp, why,
                                                        sizeof(why));
            if (text == NULL)
                snprintf(why, sizeof(why), "no field statement");
            if (rc != TQ_ROT_KNOWN && say != NULL)
                say(ctx, e->element[0]->str, rc, why);
        }
        freeReplyObject(r);
        if (got < TQ_PAGE)
            return 0;
    }
}
