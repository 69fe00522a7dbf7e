/* audit_verify.c - `tapwatch-query verify-audit`: checks a bank's audit trail (keys.h:
 * tw:{audit:<bank>}:trail and :head; entries: control/evidence/audit_entry.h) and prints one
 * line per finding, then a summary line; exit 0 when it verifies, 3 when it does not.
 *
 *   altered        an entry's fields do not hash to its stored hash
 *   bad signature  the signature does not verify with the key it names
 *   unknown key    signed by a key that is none of --pubkey's
 *   unsigned       no signature (a finding only when --pubkey is given: without one, the
 *                  check is of the chain alone, and the summary says so)
 *   malformed      a field missing, foreign, or not of its form
 *   removed        seq numbers missing between two entries (XDEL)
 *   trimmed        the oldest entries gone: the first entry's seq is not 1 (XTRIM, MAXLEN)
 *   truncated      the newest entries gone: the head (tw:{audit:<bank>}:head, moved by the
 *                  same script as each append) names a later seq than the last entry, or the
 *                  stream counts more entries ever added (XINFO STREAM entries-added, which
 *                  XDEL and XTRIM do not lower) than the last seq
 *   broken link    an entry's prev is not the hash of the entry before it
 *   reordered      a seq not above the one before (a trail started again after a DEL)
 *
 * What cannot be detected from Redis alone: the trail and its head deleted together (DEL of
 * both keys) and started again; `verify-audit` prints the head it verified (seq and hash)
 * so that a regulator can keep it and compare it with the next run (--known-head SEQ:HASH).
 *
 * verify --audit (the sensor's verify, another file) is to call tq_audit_verify() below.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "control/evidence/audit_entry.h"
#include "control/query/query.h"

#define EXIT_UNVERIFIED 3
#define MAX_PUBKEYS 16

static const char *v_pubkey_files[MAX_PUBKEYS];
static size_t v_npub;
static const char *v_known_head; /* --known-head SEQ:HASH */

static int parse_pubkey(const char *v)
{
    if (v_npub == MAX_PUBKEYS)
        return tq_usage_error("at most %d --pubkey", MAX_PUBKEYS);
    v_pubkey_files[v_npub++] = v;
    return 0;
}

int tq_audit_known_head_check(const char *v)
{
    unsigned long long s;
    char h[TW_AUDIT_HASH_HEX + 2];

    if (sscanf(v, "%llu:%65s", &s, h) != 2 || strlen(h) != TW_AUDIT_HASH_HEX || s == 0)
        return tq_usage_error("bad --known-head \"%s\": expected SEQ:HASH as verify-audit "
                              "printed it", v);
    return 0;
}

static int parse_known_head(const char *v)
{
    v_known_head = v;
    return tq_audit_known_head_check(v);
}

/* What the walk over the trail keeps. */
struct walk {
    FILE *out;
    const uint8_t (*pks)[TW_SIGN_PK_LEN];
    const char (*fprs)[TW_SIGN_FPR_LEN + 1];
    size_t npk;
    size_t *signed_by; /* per key */
    uint64_t entries, unsigned_n, unchecked, findings, first_bad;
    uint64_t first_seq, last_seq;
    char last_hash[TW_AUDIT_HASH_HEX + 1]; /* recomputed hash of the entry before */
    int have_last;
    uint64_t known_seq;
    char known_hash[TW_AUDIT_HASH_HEX + 1];
    int known_seen;
};

static void finding(struct walk *w, uint64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finding(struct walk *w, uint64_t seq, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(w->out, fmt, ap);
    va_end(ap);
    fputc('\n', w->out);
    w->findings++;
    if (w->first_bad == 0 || (seq != 0 && seq < w->first_bad))
        w->first_bad = seq;
}

static void check_entry(struct walk *w, const struct tw_audit_entry *e, const char *id, int foreign)
{
    const char *seq_text = e->f[TW_AF_SEQ] != NULL ? e->f[TW_AF_SEQ] : "";
    uint64_t seq = strtoull(seq_text, NULL, 10);
    char hash[TW_AUDIT_HASH_HEX + 1] = "";
    int which = -1;
    enum tw_audit_check c = foreign ? TW_AUDIT_MALFORMED
                                    : tw_audit_check(e, w->pks, w->fprs, w->npk, &which);

    w->entries++;
    if (c == TW_AUDIT_MALFORMED) {
        finding(w, seq, "malformed: stream entry %s (seq \"%.20s\"): not an audit entry", id,
                seq_text);
        return; /* no seq to place it by; the next entry's link says what it broke */
    }
    if (c == TW_AUDIT_UNKNOWN_KEY && w->npk == 0) /* no --pubkey: signatures not checked */
        c = TW_AUDIT_OK;
    if (c == TW_AUDIT_OK && which >= 0)
        w->signed_by[which]++;
    else if (c == TW_AUDIT_OK)
        w->unchecked++;
    else if (c == TW_AUDIT_UNSIGNED) {
        w->unsigned_n++;
        if (w->npk > 0)
            finding(w, seq, "unsigned: seq %" PRIu64 " (stream id %s)", seq, id);
    } else
        finding(w, seq, "%s: seq %" PRIu64 " (stream id %s)%s%s", tw_audit_check_name(c), seq,
                id, c == TW_AUDIT_UNKNOWN_KEY ? ": key " : "",
                c == TW_AUDIT_UNKNOWN_KEY ? e->f[TW_AF_KEY] : "");
    if (!w->have_last) {
        w->first_seq = seq;
        if (seq != 1)
            finding(w, 1, "trimmed: seq 1 to %" PRIu64 " are gone (the oldest entries); the "
                          "trail starts at seq %" PRIu64 " (stream id %s)", seq - 1, seq, id);
        else if (strcmp(e->f[TW_AF_PREV], TW_AUDIT_ZERO_HASH) != 0)
            finding(w, 1, "broken link: seq 1 (stream id %s) names a previous entry", id);
    } else if (seq <= w->last_seq) {
        finding(w, seq, "reordered: seq %" PRIu64 " (stream id %s) after seq %" PRIu64, seq, id,
                w->last_seq);
    } else if (seq > w->last_seq + 1) {
        finding(w, w->last_seq + 1, "removed: seq %" PRIu64 " to %" PRIu64 " are gone "
                "(between stream ids before %s)", w->last_seq + 1, seq - 1, id);
    } else if (strcmp(e->f[TW_AF_PREV], w->last_hash) != 0) {
        finding(w, seq, "broken link: seq %" PRIu64 " (stream id %s) does not follow seq %" PRIu64,
                seq, id, w->last_seq);
    }
    if (w->known_seq != 0 && seq == w->known_seq) {
        w->known_seen = 1;
        tw_audit_hash(e, hash);
        if (strcmp(hash, w->known_hash) != 0)
            finding(w, seq, "altered: seq %" PRIu64 " is not the entry of --known-head", seq);
    }
    tw_audit_hash(e, w->last_hash);
    w->last_seq = seq;
    w->have_last = 1;
}

int tq_audit_verify(struct tw_rclient *c, const char *bank, const uint8_t (*pks)[TW_SIGN_PK_LEN],
                    const char (*fprs)[TW_SIGN_FPR_LEN + 1], size_t npk, const char *known_head,
                    FILE *out)
{
    char trail[256], head_key[256], start[64] = "-", *head = NULL;
    size_t signed_by[MAX_PUBKEYS] = {0};
    struct walk w = {.out = out, .pks = pks, .fprs = fprs, .npk = npk, .signed_by = signed_by};
    unsigned long long hseq = 0, added = 0;
    char hhash[TW_AUDIT_HASH_HEX + 1] = "";
    int done = 0, has_head = 0, exists = 0;
    redisReply *r;

    if (npk > MAX_PUBKEYS)
        return EXIT_USAGE;
    tq_audit_bank_trail(bank, trail, sizeof(trail), head_key, sizeof(head_key));
    if (known_head != NULL) {
        unsigned long long s;
        sscanf(known_head, "%llu:%64s", &s, w.known_hash);
        w.known_seq = s;
    }
    /* the head and the count of entries ever added, read before the entries: an append
     * meanwhile only adds entries after them */
    r = tw_rclient_command(c, "GET %s", head_key);
    if (r == NULL || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL))
        return tq_reply_failed(c, r, "GET"), EXIT_REDIS;
    if (r->type == REDIS_REPLY_STRING && (head = strdup(r->str)) != NULL)
        has_head = sscanf(head, "%llu %64[0-9a-f]", &hseq, hhash) == 2;
    freeReplyObject(r);
    r = tw_rclient_command(c, "XINFO STREAM %s", trail);
    if (r != NULL && r->type == REDIS_REPLY_ARRAY) {
        exists = 1;
        for (size_t i = 0; i + 1 < r->elements; i += 2)
            if (r->element[i]->type == REDIS_REPLY_STRING &&
                strcmp(r->element[i]->str, "entries-added") == 0 &&
                r->element[i + 1]->type == REDIS_REPLY_INTEGER)
                added = (unsigned long long)r->element[i + 1]->integer;
        freeReplyObject(r);
    } else if (r != NULL && r->type == REDIS_REPLY_ERROR && strstr(r->str, "no such key") != NULL) {
        freeReplyObject(r);
    } else {
        free(head);
        return tq_reply_failed(c, r, "XINFO STREAM"), EXIT_REDIS;
    }
    if (head != NULL && !has_head)
        finding(&w, 0, "malformed: the head %s is \"%.80s\", not SEQ HASH", head_key, head);
    free(head);
    while (!done && exists) {
        r = tw_rclient_command(c, "XRANGE %s %s + COUNT %d", trail, start, TQ_PAGE);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY)
            return tq_reply_failed(c, r, "XRANGE"), EXIT_REDIS;
        done = r->elements < TQ_PAGE;
        for (size_t i = 0; i < r->elements; i++) {
            struct tw_audit_entry e;
            const char *id = "?";
            int f = tq_audit_entry_from_reply(r->element[i], &e, &id);
            if (f < 0)
                continue;
            check_entry(&w, &e, id, f == 1);
            if (i + 1 == r->elements)
                snprintf(start, sizeof(start), "(%s", id);
        }
        freeReplyObject(r);
    }
    /* the newest end: what the head and the stream's own count say was there */
    if (has_head && (!w.have_last || hseq > w.last_seq))
        finding(&w, w.have_last ? w.last_seq + 1 : 1, "truncated: seq %llu to %llu are gone "
                "(the newest entries; the head %s names seq %llu)",
                w.have_last ? (unsigned long long)w.last_seq + 1 : 1ULL, hseq, head_key, hseq);
    else if (has_head && hseq < w.last_seq)
        finding(&w, hseq + 1, "inserted: seq %llu to %" PRIu64 " were not appended by "
                "tapwatch-query (the head %s names seq %llu)", hseq + 1, w.last_seq, head_key,
                hseq);
    else if (has_head && strcmp(hhash, w.last_hash) != 0)
        finding(&w, hseq, "altered: seq %llu is not the entry the head %s names", hseq,
                head_key);
    else if (!has_head && w.have_last)
        finding(&w, w.last_seq, "truncated: the head %s is gone (DEL)", head_key);
    if (exists && added > (has_head ? hseq : w.last_seq))
        finding(&w, (has_head ? hseq : w.last_seq) + 1, "truncated: the stream counts %llu "
                "entries ever added (XINFO STREAM entries-added), the head %llu: entries were "
                "added and removed", added, has_head ? hseq : (unsigned long long)w.last_seq);
    if (w.known_seq != 0 && !w.known_seen && (!has_head || hseq >= w.known_seq))
        finding(&w, w.known_seq, "removed: seq %" PRIu64 " of --known-head is not in the trail",
                w.known_seq);
    else if (w.known_seq != 0 && has_head && hseq < w.known_seq)
        finding(&w, hseq + 1, "truncated: the trail ends at seq %llu, before --known-head's %"
                PRIu64 " (deleted and started again?)", hseq, w.known_seq);

    /* summary */
    fprintf(out, "audit trail %s: %" PRIu64 " entries", trail, w.entries);
    if (w.have_last)
        fprintf(out, " (seq %" PRIu64 " to %" PRIu64 ")", w.first_seq, w.last_seq);
    for (size_t i = 0; i < npk; i++)
        fprintf(out, ", %zu signed by %s", signed_by[i], fprs[i]);
    fprintf(out, ", %" PRIu64 " unsigned", w.unsigned_n);
    if (npk == 0)
        fprintf(out, ", %" PRIu64 " signed; no --pubkey: signatures not checked, the chain "
                     "proves order, not who wrote it", w.unchecked);
    else if (w.unsigned_n > 0)
        fprintf(out, "; an unsigned entry proves nothing against whoever can write the trail");
    if (has_head)
        fprintf(out, "; head %llu:%s", hseq, hhash);
    if (w.findings == 0) {
        fprintf(out, "; verifies\n");
        return 0;
    }
    fprintf(out, "; does NOT verify: %" PRIu64 " finding(s), first bad seq %" PRIu64 "\n",
            w.findings, w.first_bad);
    return EXIT_UNVERIFIED;
}

static int check(const struct tq_opts *o)
{
    (void)o;
    return 0;
}

static int run(struct tw_rclient *c, const struct tq_opts *o)
{
    uint8_t pks[MAX_PUBKEYS][TW_SIGN_PK_LEN];
    char fprs[MAX_PUBKEYS][TW_SIGN_FPR_LEN + 1], err[512];
    int rc;

    for (size_t i = 0; i < v_npub; i++)
        if (tw_sign_pub_load(v_pubkey_files[i], pks[i], fprs[i], err, sizeof(err)) < 0) {
            fprintf(stderr, PROG ": --pubkey: %s\n", err);
            return EXIT_USAGE;
        }
    rc = tq_audit_verify(c, o->bank, (const uint8_t(*)[TW_SIGN_PK_LEN])pks,
                         (const char(*)[TW_SIGN_FPR_LEN + 1])fprs, v_npub, v_known_head, stdout);
    if (rc == EXIT_REDIS || rc == EXIT_USAGE)
        return rc;
    tq_rows += 1; /* its answer: one summary line */
    int f = tq_finish(0);
    return f != 0 ? f : rc;
}

const struct tq_subcommand tq_cmd_verify_audit = {
    .name = "verify-audit",
    .summary = "check the audit trail: chain, signatures, entries removed, altered or trimmed",
    .usage = "verify-audit [--bank NAME] [--pubkey FILE.pub ...] [--known-head SEQ:HASH]\n"
             "                   checks the audit trail of --bank: one line per finding (altered,\n"
             "                   bad signature, unknown key, unsigned, removed, trimmed, truncated,\n"
             "                   broken link, reordered), then a summary with the head (SEQ:HASH) to\n"
             "                   keep for --known-head next time; exit 0 verifies, 3 does not\n"
             "                   (without --pubkey only the chain is checked, and it says so)\n",
    .common = 0,
    .own = (const struct tq_option[]){{"pubkey", parse_pubkey},
                                      {"known-head", parse_known_head},
                                      {NULL, NULL}},
    .check = check,
    .run = run,
};
