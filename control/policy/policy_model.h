/* policy_model.h - what the policy's files share, inside control/policy/ only: the loaded
 * policy (built by policy_load.c, read by policy_eval.c), the time zone table (timezone.c)
 * and the per-flow slot of the evaluation state (policy_state.c). Users of the policy see
 * policy.h. */
#ifndef TW_POLICY_MODEL_H
#define TW_POLICY_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "control/policy/policy.h"
#include "control/record/netmatch.h"

/* ---- the policy ---- */

struct net {
    uint8_t addr[16];
    uint8_t v4;
    uint8_t bits;
};

enum { D_PEER = 1, D_PROTO = 2, D_PORT = 4, D_APP = 8, D_NAME = 16 };

struct declared {
    unsigned has; /* D_* */
    struct net peer;
    uint8_t proto;
    uint16_t port;
    char app[TW_APP_LEN];
    char server_name[TW_SERVER_NAME_LEN];
};

struct cb_rule;

struct equipment {
    char name[TW_EQUIPMENT_LEN];
    char vendor[TW_VENDOR_LEN];
    size_t line;
    struct net *addrs;
    size_t naddrs;
    struct declared *decl;
    size_t ndecl;
    struct window *expect;   /* expect_traffic: when it must be heard (silence.c) */
    size_t nexpect;
    uint32_t silent_after_s; /* silent_after; 0 = the policy's */
    const struct cb_rule *cb; /* its cross_border.equipment entry, NULL: the section's defaults */
};

/* cross_border: the section's defaults, or one equipment's entry (keys: the CB_* it set,
 * the others come from the defaults). */
enum { CB_ALLOWED = 1, CB_FIRST = 2, CB_DAYS = 4 };
struct cb_rule {
    char (*allowed)[4];    /* ISO 3166 alpha-2 codes, NUL-terminated */
    size_t nallowed;
    uint32_t days;         /* first_contact_days */
    uint8_t first_contact;
    unsigned keys;         /* CB_* */
    char name[TW_EQUIPMENT_LEN]; /* equipment entries: the equipment's name ... */
    size_t line;                 /* ... and the line of its key */
};

struct window {
    uint8_t days;
    uint16_t start, end;
};

struct tz_change {
    int64_t utc_s;     /* from this UTC second on ... */
    int32_t offset_s;  /* ... local = UTC + offset */
};

struct rule {
    uint8_t enabled;
    uint8_t severity;
    uint8_t configured; /* the rule's section exists (kinds that need one: cross_border,
                         * unknown_device, the silence kinds); set by the loader */
};

struct tw_policy {
    struct tz_change *tz; /* sorted by utc_s, tz[0].utc_s = INT64_MIN */
    size_t ntz;
    struct net *domestic;
    size_t ndomestic;
    struct net *monitored;      /* monitored_networks: the equipment segments */
    size_t nmonitored;
    struct tw_prefix_set *monitored_set; /* the same, for the lookup per event */
    struct equipment *eq;
    size_t neq;
    struct tw_prefix_set *owners; /* every equipment address -> its index in eq */
    struct net *mhosts;
    size_t nmhosts;
    char (*mprotos)[TW_APP_LEN];
    size_t nmprotos;
    struct window *windows;
    size_t nwindows;
    int has_windows;
    uint64_t upload_per_flow, upload_per_day;
    struct rule rules[TW_ALERT__COUNT];
    uint64_t risk_mask;
    char sha256[72]; /* of the file's bytes as read, hex (tw_policy_sha256) */
    char tz_name[64]; /* timezone: as written ("UTC" when absent), for --explain */
    struct cb_rule cb;     /* cross_border (cross_border.c) */
    struct cb_rule *cb_eq; /* cross_border.equipment entries */
    size_t ncb_eq;
    uint32_t silent_after_s;        /* silent_after: default of the equipment's, 1 h */
    uint32_t mirror_silent_after_s; /* mirror_silent_after, 60 s */
};

/* 1 when addr (of family v4) is inside one of the count nets, else 0. */
int tw_nets_contain(const struct net *n, size_t count, const uint8_t *addr, int v4);

/* The equipment that owns addr, or NULL. */
const struct equipment *tw_policy_find_equipment(const struct tw_policy *p, const uint8_t *addr,
                                                 int v4);

/* ---- the load rule on equipment (equipment_check.c) ---- */

struct tw_equipment_conflict {
    size_t i;   /* the equipment in conflict ... */
    size_t j;   /* ... with this earlier one */
    int name;   /* 1: the same name; 0: address a of i overlaps an address of j */
    size_t a;
};

/* The first conflict among eq[0..n-1] in file order: the first equipment whose name or one
 * of whose addresses an earlier equipment already has (the earliest such, a name before an
 * address, then the first address). Returns 1 with *c filled, 0 when there is none, -1 when
 * out of memory. */
int tw_equipment_first_conflict(const struct equipment *eq, size_t n,
                                struct tw_equipment_conflict *c);

/* ---- time zone (timezone.c) ---- */

/* Sets p's offset table from text: "UTC", "Z", "GMT", "+08:00", "-0530", or an IANA name
 * read from the TZ database ($TZDIR or /usr/share/zoneinfo). Returns 0, or -1 with errno
 * EINVAL (not a time zone) or ENOMEM; p's previous table is freed either way. */
int tw_policy_set_timezone(struct tw_policy *p, const char *text);

/* "mon" ... "sun" for weekday 0 ... 6. */
const char *tw_weekday_name(unsigned weekday);

/* ---- cross_border (cross_border.c, reached.c) ---- */

#define TW_CB_DAYS_DEFAULT 30
#define TW_CB_DAYS_MAX 3650

/* The rule in force for equipment e: allowed countries (has_allowed 0: every country is
 * allowed, the section named none), first contact and its days. */
struct cb_view {
    const char (*allowed)[4];
    size_t nallowed;
    int has_allowed;
    int first_contact;
    uint32_t days;
};
void tw_cross_border_view(const struct tw_policy *p, const struct equipment *e,
                          struct cb_view *out);

/* cross_border for the end of r that is equipment e (is_client: it sent c2s). Records the
 * country and ASN reached in the state's memory when first_contact is on. Returns 1 with the
 * alert's detail in detail when the flow must alert, else 0. */
int tw_cross_border_decide(const struct tw_policy *p, struct tw_policy_state *st,
                           const struct tw_flow_record *r, const struct equipment *e,
                           int is_client, char *detail, size_t len);

/* The memory of what each equipment reached (reached.c): per equipment at most
 * TW_REACHED_MAX countries and ASNs with the last local day each was reached; the oldest is
 * forgotten (counted) when a new one does not fit. Codes: a country "DE" is ('D' << 8 | 'E'),
 * an ASN n is (1 << 32 | n). */
#define TW_REACHED_ASN (UINT64_C(1) << 32)
struct tw_reached;
struct tw_reached *tw_reached_new(void);
void tw_reached_free(struct tw_reached *m);
/* Equipment reached code on day. Returns 1 when it had not reached it in the days before
 * (day - last >= days, or never: a first contact), else 0, and -1 when the equipment does
 * not fit (TW_POLICY_MAX_EQUIPMENT * 2 names; not remembered, counted). *advanced is 1 when
 * the remembered day moved forward (the caller writes it through). */
int tw_reached_touch(struct tw_reached *m, const char *equipment, uint64_t code, int64_t day,
                     uint32_t days, int *advanced);
/* Remembers code reached on day unless a later day is known (a load from Redis). Returns 0,
 * or -1 (the equipment does not fit). */
int tw_reached_seed(struct tw_reached *m, const char *equipment, uint64_t code, int64_t day);
/* What the memory forgot or could not hold. */
uint64_t tw_reached_forgotten(const struct tw_reached *m);
/* "DE" or "AS3320" for a code (out: 16 bytes); returns 0, or -1 when code is neither. The
 * inverse parses such text. */
int tw_reached_code_text(uint64_t code, char *out, size_t len);
int tw_reached_code_parse(const char *text, uint64_t *code);

/* The state's memory and its note on each advance (policy_state.c). */
struct tw_reached *tw_policy_state_reached(struct tw_policy_state *st);
void tw_policy_state_note_reached(struct tw_policy_state *st, const char *equipment,
                                  uint64_t code, int64_t day, uint32_t days);

/* ---- evaluation state (policy_state.c) ---- */

/* One tracked flow: the alert kinds already raised and, for each end, the bytes of the flow
 * already added to the daily upload total. */
struct flow_slot {
    uint64_t flow_id;
    uint64_t counted[2]; /* [1] the client's c2s bytes, [0] the server's s2c bytes */
    uint64_t lru;
    uint16_t fired;      /* bit k = alert kind k raised */
    uint8_t used;
    uint8_t pad[5];
};

/* The slot of flow_id, a new one (zeroed) when the flow is not tracked; a full bucket gives
 * up its least recently used flow (counted as evicted). Never fails. */
struct flow_slot *tw_policy_state_slot(struct tw_policy_state *st, uint64_t flow_id);

/* Forgets the flow of slot (its END). */
void tw_policy_state_release(struct tw_policy_state *st, struct flow_slot *slot);

/* Counts one alert emitted. */
void tw_policy_state_count_alert(struct tw_policy_state *st);

/* 1 when addr has not alerted unknown_device on local day yet, and remembers that it now
 * has; 0 when it already has (device_days.h: bounded, a forgotten address may alert again). */
int tw_policy_state_device_new_day(struct tw_policy_state *st, const uint8_t *addr, int v4,
                                   int64_t day);

/* tw_upload_acc_add on the state's daily totals (daily_totals.h). */
uint64_t tw_policy_state_add_upload(struct tw_policy_state *st, const char *equipment,
                                    int64_t day, uint64_t bytes, uint64_t limit,
                                    int *first_over);

/* ---- unknown devices (unknown_device.c) ---- */

/* unknown_device for each end of r inside monitored_networks that no equipment owns (src,
 * dst: the ends' equipment, NULL when none) and that sends (the client; the server when it
 * answered): at most once per address per local day. Returns the number of alerts emitted. */
int tw_unknown_device_check(const struct tw_policy *p, struct tw_policy_state *st,
                            const struct tw_flow_record *r, const struct equipment *src,
                            const struct equipment *dst, tw_alert_emit_fn emit, void *ctx);

#endif
