/* test_geoip.c - GeoIP lookups and their checks (control/record/geoip.c) and the per-flow
 * cache that fills records (control/plane/geoip_enrich.c).
 *
 * The databases are built by scripts/make_geoip_db.pl (MaxMind::DB::Writer) into a temporary
 * folder; without the Perl module the tests that need one are skipped, the others run:
 *   country: 198.51.100.0/24 CN, 203.0.113.0/24 US, 192.0.2.0/25 only a registered country
 *            SG, 192.0.2.128/25 "cn" (not a code), 198.18.0.0/24 "CHN" (not a code),
 *            10.0.0.0/8 JP (private: never a country), 2001:db8:86::/48 CN
 *   asn:     198.51.100.0/24 4134, 2001:db8:86::/48 4134, 10.0.0.0/8 64512
 * Run from the repository root (as tests/run.sh does).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "control/plane/geoip_enrich.h"
#include "control/record/geoip.h"

static char dir[64] = "/tmp/tw-geoip-unit.XXXXXX";
static char country_db[128], asn_db[128], other_db[128];
static int have_writer;

static int make_db(const char *out, const char *args)
{
    char cmd[1024];

    snprintf(cmd, sizeof(cmd), "perl scripts/make_geoip_db.pl %s %s >/dev/null 2>&1", out, args);
    return system(cmd);
}

static int setup(void **state)
{
    (void)state;
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(country_db, sizeof(country_db), "%s/country.mmdb", dir);
    snprintf(asn_db, sizeof(asn_db), "%s/asn.mmdb", dir);
    snprintf(other_db, sizeof(other_db), "%s/other.mmdb", dir);
    have_writer =
        make_db(country_db, "country 198.51.100.0/24=CN 203.0.113.0/24=US "
                            "192.0.2.0/25=registered:SG 192.0.2.128/25=cn 198.18.0.0/24=CHN "
                            "10.0.0.0/8=JP 2001:db8:86::/48=CN") == 0 &&
        make_db(asn_db, "asn 198.51.100.0/24=4134:CHINANET 2001:db8:86::/48=4134 "
                        "10.0.0.0/8=64512") == 0 &&
        make_db(other_db, "country 198.51.100.0/24=JP") == 0;
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void addr(const char *text, uint8_t out[16], int *v4)
{
    memset(out, 0, 16);
    *v4 = strchr(text, ':') == NULL;
    assert_int_equal(inet_pton(*v4 ? AF_INET : AF_INET6, text, out), 1);
}

static void test_country_code_check(void **state)
{
    (void)state;
    assert_true(tw_geoip_country_valid("CN", 2));
    assert_true(tw_geoip_country_valid("XK", 2));
    assert_false(tw_geoip_country_valid("cn", 2));
    assert_false(tw_geoip_country_valid("CHN", 3));
    assert_false(tw_geoip_country_valid("C", 1));
    assert_false(tw_geoip_country_valid("C\x1b", 2));
    assert_false(tw_geoip_country_valid("\xc3\x89", 2)); /* É in UTF-8 */
}

/* Without a database every answer is nothing, and a record passes unchanged. */
static void test_no_database(void **state)
{
    struct tw_geoip_enrich *e = tw_geoip_enrich_new();
    struct tw_flow_record r;
    uint8_t a[16];
    char cc[4] = "XX";
    uint32_t asn = 7;
    int v4;

    (void)state;
    addr("198.51.100.7", a, &v4);
    tw_geoip_lookup(NULL, a, v4, cc, &asn);
    assert_string_equal(cc, "");
    assert_int_equal(asn, 0);
    assert_string_equal(tw_geoip_sha256(NULL), "");
    assert_non_null(e);
    memset(&r, 0, sizeof(r));
    r.ip_version = 4;
    memcpy(r.dst_ip, a, 16);
    tw_geoip_enrich_record(e, &r);
    tw_geoip_enrich_record(NULL, &r);
    assert_string_equal(r.dst_country, "");
    assert_null(tw_geoip_enrich_db(e));
    tw_geoip_enrich_free(e);
}

static void test_open_errors(void **state)
{
    char err[512], path[160];
    FILE *f;

    (void)state;
    assert_null(tw_geoip_open("/nonexistent/geo.mmdb", NULL, err, sizeof(err)));
    assert_string_equal(err, "geoip.country_db: /nonexistent/geo.mmdb: No such file or directory");
    assert_null(tw_geoip_open(dir, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "not a regular file"));
    assert_null(tw_geoip_open("", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "geoip.country_db: expected"));
    /* an empty file and a text file are not MaxMind databases */
    snprintf(path, sizeof(path), "%s/text.mmdb", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("not a database\n", f);
    fclose(f);
    assert_null(tw_geoip_open(path, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "geoip.country_db: "));
    assert_null(strchr(err, '\n'));
    chmod(path, 0666);
    assert_null(tw_geoip_open(path, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "writable by others"));
}

static void test_lookups(void **state)
{
    static const struct {
        const char *addr, *country;
        uint32_t asn;
    } cases[] = {
        {"198.51.100.7", "CN", 4134},
        {"203.0.113.1", "US", 0},
        {"192.0.2.1", "SG", 0},   /* registered_country when country is absent */
        {"192.0.2.200", "", 0},   /* "cn": refused */
        {"198.18.0.1", "", 0},    /* "CHN": refused */
        {"10.1.2.3", "", 0},      /* private, whatever the database says */
        {"8.8.8.8", "", 0},       /* not in the database */
        {"2001:db8:86::1", "CN", 4134},
        {"2001:db8:87::1", "", 0},
        {"fe80::1", "", 0},
        {"::1", "", 0},
        {"::ffff:10.1.2.3", "", 0},         /* private, mapped into IPv6 */
        {"::ffff:198.51.100.7", "CN", 4134}, /* a mapped address is its IPv4 address */
    };
    struct tw_geoip_stats st;
    char err[512], cc[4];
    uint8_t a[16];
    uint32_t asn;
    int v4;

    (void)state;
    if (!have_writer)
        skip();
    struct tw_geoip *g = tw_geoip_open(country_db, asn_db, err, sizeof(err));
    if (g == NULL)
        fail_msg("%s", err);
    assert_true(tw_geoip_has_asn(g));
    assert_int_equal(strlen(tw_geoip_sha256(g)), 64);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        addr(cases[i].addr, a, &v4);
        tw_geoip_lookup(g, a, v4, cc, &asn);
        if (strcmp(cc, cases[i].country) != 0 || asn != cases[i].asn)
            fail_msg("%s: got \"%s\" AS%u, want \"%s\" AS%u", cases[i].addr, cc, asn,
                     cases[i].country, cases[i].asn);
    }
    tw_geoip_get_stats(g, &st);
    assert_int_equal(st.rejected, 2);
    assert_int_equal(st.errors, 0);
    assert_int_equal(st.lookups, 9); /* the private and link-local ones are not looked up */
    tw_geoip_close(g);

    /* alone, the hash is the file's; with an ASN database, another one */
    struct tw_geoip *c1 = tw_geoip_open(country_db, NULL, err, sizeof(err));
    struct tw_geoip *c2 = tw_geoip_open(country_db, asn_db, err, sizeof(err));
    assert_non_null(c1);
    assert_non_null(c2);
    assert_false(tw_geoip_has_asn(c1));
    assert_string_not_equal(tw_geoip_sha256(c1), tw_geoip_sha256(c2));
    tw_geoip_close(c1);
    tw_geoip_close(c2);
}

static void flow(struct tw_flow_record *r, uint64_t id, uint8_t event)
{
    int v4;

    memset(r, 0, sizeof(*r));
    r->flow_id = id;
    r->event = event;
    r->ip_version = 4;
    addr("10.1.1.1", r->src_ip, &v4);
    addr("198.51.100.7", r->dst_ip, &v4);
}

/* A flow's events cost one lookup pair; its END frees the slot; a new database empties the
 * cache, so the next event looks up again. */
static void test_enrich_cache(void **state)
{
    struct tw_geoip_enrich *e = tw_geoip_enrich_new();
    struct tw_geoip_enrich_stats st;
    struct tw_flow_record r;
    char err[512];

    (void)state;
    if (!have_writer)
        skip();
    assert_non_null(e);
    assert_int_equal(tw_geoip_enrich_set(e, tw_geoip_open(country_db, asn_db, err, sizeof(err))), 0);
    flow(&r, 42, TW_EVENT_CLASSIFIED);
    tw_geoip_enrich_record(e, &r);
    assert_string_equal(r.src_country, "");
    assert_string_equal(r.dst_country, "CN");
    assert_int_equal(r.dst_asn, 4134);
    flow(&r, 42, TW_EVENT_UPDATE);
    tw_geoip_enrich_record(e, &r);
    flow(&r, 42, TW_EVENT_END);
    tw_geoip_enrich_record(e, &r);
    assert_string_equal(r.dst_country, "CN");
    tw_geoip_enrich_get_stats(e, &st);
    assert_int_equal(st.records, 3);
    assert_int_equal(st.cache_hits, 2);
    assert_int_equal(st.db.lookups, 1); /* the private source is not looked up */

    /* the same id again after its END: a new flow, looked up again */
    flow(&r, 42, TW_EVENT_CLASSIFIED);
    tw_geoip_enrich_record(e, &r);
    tw_geoip_enrich_get_stats(e, &st);
    assert_int_equal(st.cache_hits, 2);

    /* another database: later events of the same flow see its answer */
    assert_int_equal(tw_geoip_enrich_set(e, tw_geoip_open(other_db, NULL, err, sizeof(err))), 0);
    flow(&r, 42, TW_EVENT_UPDATE);
    tw_geoip_enrich_record(e, &r);
    assert_string_equal(r.dst_country, "JP");
    assert_int_equal(r.dst_asn, 0);
    tw_geoip_enrich_get_stats(e, &st);
    assert_int_equal(st.swaps, 1);
    assert_int_equal(st.db.lookups, 3); /* the replaced database's lookups are kept */

    /* none: records pass unchanged */
    assert_int_equal(tw_geoip_enrich_set(e, NULL), 0);
    flow(&r, 43, TW_EVENT_END);
    tw_geoip_enrich_record(e, &r);
    assert_string_equal(r.dst_country, "");
    tw_geoip_enrich_free(e);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_country_code_check), cmocka_unit_test(test_no_database),
        cmocka_unit_test(test_open_errors),        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_enrich_cache),
    };
    return cmocka_run_group_tests_name("geoip", tests, setup, teardown);
}
