/* sum_snapshot.h - the canonical text of a summary bucket (README "Summaries"), shared by the
 * sensor (control/store/summary_seal.h: what it added, sealed as chain items of kind 'u') and
 * the verifier (control/query/verify_summaries.c: what Redis holds, and the sum of what the
 * sensor sealed), so that both render a bucket byte for byte the same way.
 *
 * A bucket is the set of keys tw:{S}:sum:<E>:<h|d>:<n> (hash), its :peers, :apps and (days)
 * :countries zsets. Its content is a list of entries (section, name, value):
 *
 *   'f'  a field of the hash (flows, bytes_out, ..., alerts:<kind>) and its integer
 *   'p'  a member of :peers and its score        'a'  of :apps
 *   'c'  a member of :countries (days only)
 *
 * The text, one entry a line, entries sorted by section then name (bytes), each name present
 * once, names escaped (bytes outside 0x21..0x7e and '%' as %XX: what Redis returns is data):
 *
 *   tws-sum1 <E> <h|d> <n>\n
 *   f bytes_in 1200\n
 *   p 10.0.0.2 3400\n
 *   ...
 *   seq=<seq> run=<run>\n          (a sealed snapshot only: its place in the chain)
 *
 * A sealed snapshot holds what one run added to the bucket since its previous snapshot of it
 * (a delta: see summary_seal.h for why), perhaps split over several snapshots when long; a
 * verifier sums every snapshot of a bucket and renders the sum with tw_sum_render, and what
 * Redis holds the same way, and compares the two texts.
 */
#ifndef TW_EVIDENCE_SUM_SNAPSHOT_H
#define TW_EVIDENCE_SUM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#define TW_SUM_NAME_MAX 64     /* the longest name an entry keeps (an app, a peer, alerts:<kind>) */
#define TW_SUM_EQUIPMENT_MAX 64
/* the longest line: a section, a name all escaped, the smallest int64, the newline */
#define TW_SUM_LINE_MAX (2 + 3 * TW_SUM_NAME_MAX + 1 + 20 + 1)
#define TW_SUM_TAG_MAX 48      /* seq=<20 digits> run=<16 hex>\n */

struct tw_sum_entry {
    char sect;                     /* 'f', 'p', 'a', 'c' */
    uint8_t nlen;
    char name[TW_SUM_NAME_MAX];    /* not NUL-ended: nlen bytes */
    int64_t value;
};

struct tw_sum_bucket {
    char equipment[TW_SUM_EQUIPMENT_MAX + 1];
    char by;                       /* 'h' or 'd' */
    uint64_t bucket;               /* epoch hour or day */
    struct tw_sum_entry *e;        /* n entries (owned by the caller) */
    size_t n;
};

/* Orders entries (section, then name bytes, then shorter first): the canonical order. */
int tw_sum_entry_cmp(const void *a, const void *b);
/* Sorts b's entries and merges those of the same section and name (values added), so that
 * each is there once. */
void tw_sum_normalize(struct tw_sum_bucket *b);

/* Renders the header, then b's entries from *from (b normalized) as long as they fit in cap
 * bytes with the tag, then, when seq is not 0, the tag seq=<seq> run=<run>. *from becomes the
 * first entry not rendered. Returns the length (out NUL-ended), or -1 when not even the
 * header, one entry and the tag fit. cap of TW_SUM_LINE_MAX * (n + 1) + TW_SUM_TAG_MAX holds
 * every entry. */
long tw_sum_render(const struct tw_sum_bucket *b, size_t *from, uint64_t seq, const char *run,
                   char *out, size_t cap);

/* One entry's line, as tw_sum_render writes it, without its newline, into out
 * (TW_SUM_LINE_MAX bytes). Returns its length. */
size_t tw_sum_line(const struct tw_sum_entry *e, char *out);

/* Parses a text tw_sum_render wrote (with or without its tag): b's header fields and its
 * entries (b->e malloc'd, free it), *seq and run (17 bytes; 0 and "" without a tag). Returns
 * 0, or -1 when the text is not a snapshot (b->e then NULL). */
int tw_sum_parse(const char *text, size_t len, struct tw_sum_bucket *b, uint64_t *seq,
                 char run[17]);

#endif
