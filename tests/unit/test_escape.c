/* test_escape.c - text from the wire made safe for where it goes (control/query/escape.h) and
 * --iface names (dataplane/iface_name.h), from byte strings written out below:
 *   - table/CSV text: control bytes, DEL, the backslash, invalid UTF-8, C1 controls and bidi
 *     overrides become \xNN, byte by byte; printable UTF-8 is kept; escapes are never cut;
 *   - CSV cells: OWASP's formula starts (= + - @ TAB CR) get a single quote inside a quoted
 *     cell; ',' and '"' are quoted RFC 4180 style; nothing below 0x20 is left;
 *   - JSON lines: raw control bytes and C1 controls become \u00XX, escapes already there
 *     and other text are kept;
 *   - interface names: what Linux accepts, without ',' '=' (DPDK devargs) or unprintables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "control/query/escape.h"
#include "dataplane/iface_name.h"

static void expect_text(const char *in, const char *want)
{
    char out[512];

    tq_escape_text(in, out, sizeof(out));
    assert_string_equal(out, want);
}

static void expect_cell(const char *in, const char *want)
{
    char out[512];

    tq_csv_cell(in, out, sizeof(out));
    assert_string_equal(out, want);
}

static void no_control_bytes(const char *s)
{
    for (; *s; s++)
        assert_true((unsigned char)*s >= 0x20 && (unsigned char)*s != 0x7f);
}

static void test_text(void **state)
{
    (void)state;
    expect_text("example.com", "example.com");
    expect_text("", "");
    /* ESC [ 4 1 m: a terminal would paint the background red */
    expect_text("\x1b[41mred", "\\x1b[41mred");
    expect_text("a\r\nb\tc\x7f", "a\\x0d\\x0ab\\x09c\\x7f");
    /* the backslash itself, so that "\x" always means an escape */
    expect_text("a\\x41", "a\\x5cx41");
    /* UTF-8 kept: e acute, CJK, an emoji */
    expect_text("caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x98\x80");
    /* U+009B (CSI as a C1 control), U+202E (right-to-left override), U+2066 */
    expect_text("x\xc2\x9by", "x\\xc2\\x9by");
    expect_text("\xe2\x80\xaegnp.exe", "\\xe2\\x80\\xaegnp.exe");
    expect_text("\xe2\x81\xa6z", "\\xe2\\x81\\xa6z");
    /* invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong '/' */
    expect_text("\x80", "\\x80");
    expect_text("a\xe4\xb8", "a\\xe4\\xb8");
    expect_text("\xc0\xaf", "\\xc0\\xaf");
}

static void test_text_cut(void **state)
{
    char out[8];

    (void)state;
    /* 7 bytes of room: "ab" then an escape of 4 that fits, then one that does not */
    assert_int_equal(tq_escape_text("ab\x01\x02", out, sizeof(out)), 6);
    assert_string_equal(out, "ab\\x01");
    /* a multi-byte character is not cut either */
    assert_int_equal(tq_escape_text("abcde\xc3\xa9", out, 7), 5);
    assert_string_equal(out, "abcde");
}

static void test_csv(void **state)
{
    (void)state;
    expect_cell("example.com", "example.com");
    expect_cell("", "");
    expect_cell("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"");
    expect_cell("+cmd", "\"'+cmd\"");
    expect_cell("-1", "\"'-1\"");
    expect_cell("@SUM(1)", "\"'@SUM(1)\"");
    expect_cell("\tx", "\"'\\x09x\"");
    expect_cell("\rx", "\"'\\x0dx\"");
    expect_cell("a,b", "\"a,b\"");
    expect_cell("say \"hi\"", "\"say \"\"hi\"\"\"");
    expect_cell("a\nb", "a\\x0ab");
    expect_cell("x=1", "x=1"); /* only the start makes a formula */
    char out[512];
    tq_csv_cell("\x1b[41m,\"\n=", out, sizeof(out));
    no_control_bytes(out);
    assert_string_equal(out, "\"\\x1b[41m,\"\"\\x0a=\"");
}

static void test_csv_cut(void **state)
{
    char out[10];

    (void)state;
    /* still a closed quoted cell when cut */
    tq_csv_cell("=aaaaaaaaaaaaaaaaaa", out, sizeof(out));
    assert_string_equal(out, "\"'=aaaaa\"");
}

static void test_json(void **state)
{
    char out[256];

    (void)state;
    tq_json_text("{\"server_name\":\"a\\u001b[41m\"}", out, sizeof(out));
    assert_string_equal(out, "{\"server_name\":\"a\\u001b[41m\"}");
    tq_json_text("{\"s\":\"a\x1b[41m\x7f\xc2\x9b\"}", out, sizeof(out));
    assert_string_equal(out, "{\"s\":\"a\\u001b[41m\\u007f\\u009b\"}");
    tq_json_text("{\"s\":\"caf\xc3\xa9\xff\"}", out, sizeof(out));
    assert_string_equal(out, "{\"s\":\"caf\xc3\xa9\xef\xbf\xbd\"}");
}

static void test_iface(void **state)
{
    char err[160];

    (void)state;
    assert_int_equal(tw_iface_name_check("eth0", err, sizeof(err)), 0);
    assert_int_equal(tw_iface_name_check("enp3s0f1.100", err, sizeof(err)), 0);
    assert_int_equal(tw_iface_name_check("br-1a2b3c4d5e6f", err, sizeof(err)), 0); /* 15 */
    assert_int_equal(tw_iface_name_check("tw_0@x", err, sizeof(err)), 0);
    assert_int_equal(tw_iface_name_check("eth1,framecnt=7", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--iface eth1,framecnt=7: "));
    assert_int_equal(tw_iface_name_check("eth1=x", err, sizeof(err)), -1);
    assert_int_equal(tw_iface_name_check("", err, sizeof(err)), -1);
    assert_int_equal(tw_iface_name_check(".", err, sizeof(err)), -1);
    assert_int_equal(tw_iface_name_check("..", err, sizeof(err)), -1);
    assert_int_equal(tw_iface_name_check("a/b", err, sizeof(err)), -1);
    assert_int_equal(tw_iface_name_check("eth0:1", err, sizeof(err)), -1);
    assert_int_equal(tw_iface_name_check("eth 0", err, sizeof(err)), -1);
    assert_int_equal(tw_iface_name_check("br-1a2b3c4d5e6f7", err, sizeof(err)), -1); /* 16 */
    assert_int_equal(tw_iface_name_check("e\x1b[41m", err, sizeof(err)), -1);
    no_control_bytes(err);
    assert_int_equal(tw_iface_name_check("caf\xc3\xa9", err, sizeof(err)), -1);
    no_control_bytes(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),     cmocka_unit_test(test_text_cut),
        cmocka_unit_test(test_csv),      cmocka_unit_test(test_csv_cut),
        cmocka_unit_test(test_json),     cmocka_unit_test(test_iface),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
