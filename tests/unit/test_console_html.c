/* test_console_html.c - the console's escaping of text from a record (control/console/html.c),
 * from byte strings written out below:
 *   - HTML text and quoted attributes: & < > " ' become entities, control bytes and DEL
 *     their control pictures (U+2400 + byte, U+2421), bytes that are not UTF-8 U+FFFD each,
 *     valid UTF-8 is kept; what comes out holds no byte that could open markup or a quote;
 *   - URL query values: every byte but A-Z a-z 0-9 - _ . ~ percent-encoded (upper-case hex),
 *     so a value never becomes a scheme, a path, another parameter or a fragment;
 *   - JSON strings: quotes and backslashes escaped, control bytes, DEL, < and > as \u00XX,
 *     bytes that are not UTF-8 \ufffd; the result parses back (json-c) to the text;
 *   - the buffer: empty input adds nothing, long input (1 MiB) grows it by doubling, len is
 *     always strlen (no NUL inside), printf longer than its 512-byte stack copy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "control/console/console.h"

enum { HTML, URL, JSON };

/* f(s) into a fresh buffer, compared with want; the buffer's len is its string's length */
static void expect(int f, const char *s, const char *want)
{
    struct tc_buf b = {0};

    if (f == HTML)
        tc_buf_html(&b, s);
    else if (f == URL)
        tc_buf_url(&b, s);
    else
        tc_buf_json_str(&b, s);
    assert_false(b.oom);
    assert_string_equal(b.p ? b.p : "", want);
    assert_int_equal(b.len, strlen(b.p ? b.p : ""));
    free(b.p);
}

/* 1 when s is valid UTF-8 (what a browser or a JSON parser is given must be) */
static int valid_utf8(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = s[i] < 0x80 ? 1 : (s[i] & 0xe0) == 0xc0 ? 2 : (s[i] & 0xf0) == 0xe0 ? 3
                                   : (s[i] & 0xf8) == 0xf0 ? 4 : 0;
        if (n == 0 || i + n > len)
            return 0;
        for (size_t k = 1; k < n; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += n;
    }
    return 1;
}

static void test_html_specials(void **state)
{
    (void)state;
    expect(HTML, "&<>\"'", "&amp;&lt;&gt;&quot;&#39;");
    /* an SNI from the test capture: an attribute and an element that must stay text */
    expect(HTML, "\"><script>alert(1)</script>",
           "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(HTML, "<img src=x onerror='a()'>", "&lt;img src=x onerror=&#39;a()&#39;&gt;");
    /* an entity already there is text, escaped again */
    expect(HTML, "&amp;", "&amp;amp;");
    expect(HTML, "plain.example.com", "plain.example.com");
    expect(HTML, "", "");
}

static void test_html_controls(void **state)
{
    (void)state;
    /* TAB, LF, CR, ESC, DEL: their control pictures (U+2409, U+240A, U+240D, U+241B, U+2421) */
    expect(HTML, "a\tb\nc\rd\x1b[31me\x7f", "a&#9225;b&#9226;c&#9229;d&#9243;[31me&#9249;");
    expect(HTML, "\x01", "&#9217;");
    expect(HTML, "\x1f", "&#9247;");
}

static void test_html_utf8(void **state)
{
    (void)state;
    /* valid: e-acute (2 bytes), the euro sign (3), U+1F600 (4), U+10FFFF (the last one) */
    expect(HTML, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",
           "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
    /* a lone continuation byte, a lead byte cut by the end, 0xff */
    expect(HTML, "a\x80z", "a&#xfffd;z");
    expect(HTML, "a\xc3", "a&#xfffd;");
    expect(HTML, "\xff\xfe", "&#xfffd;&#xfffd;");
    /* overlong "<" (C0 BC): must not come out as "<" nor as the raw bytes */
    expect(HTML, "\xc0\xbcscript", "&#xfffd;&#xfffd;script");
    /* overlong 3-byte form, a UTF-16 surrogate (ED A0 80), above U+10FFFF (F4 90 80 80) */
    expect(HTML, "\xe0\x80\xbc", "&#xfffd;&#xfffd;&#xfffd;");
    expect(HTML, "\xed\xa0\x80", "&#xfffd;&#xfffd;&#xfffd;");
    expect(HTML, "\xf4\x90\x80\x80", "&#xfffd;&#xfffd;&#xfffd;&#xfffd;");
    /* a lead byte followed by an ASCII special: the special is still escaped */
    expect(HTML, "\xe2<", "&#xfffd;&lt;");
}

static void test_url(void **state)
{
    (void)state;
    expect(URL, "10.0.0.0/8", "10.0.0.0%2F8");
    expect(URL, "AZaz09-_.~", "AZaz09-_.~");
    expect(URL, "&<>\"'", "%26%3C%3E%22%27");
    /* a scheme, another parameter, a fragment, a blank and a plus: all encoded */
    expect(URL, "javascript:alert(1)", "javascript%3Aalert%281%29");
    expect(URL, "a=1&until=2#x y+z", "a%3D1%26until%3D2%23x%20y%2Bz");
    expect(URL, "\x01\x7f\n", "%01%7F%0A");
    /* bytes above 0x7f, valid UTF-8 or not, byte by byte */
    expect(URL, "\xc3\xa9\xff", "%C3%A9%FF");
    expect(URL, "", "");
}

static void test_json(void **state)
{
    (void)state;
    expect(JSON, "", "\"\"");
    expect(JSON, "a\"b\\c", "\"a\\\"b\\\\c\"");
    expect(JSON, "<\x01\n\x7f>", "\"\\u003c\\u0001\\u000a\\u007f\\u003e\"");
    expect(JSON, "caf\xc3\xa9", "\"caf\xc3\xa9\"");
    expect(JSON, "a\xff\xc3", "\"a\\ufffd\\ufffd\"");
}

/* Every byte value 1..255 once, then each format's answer: no markup byte left in HTML, only
 * unreserved characters and %XX in a URL value, valid UTF-8 JSON that parses back. */
static void test_all_bytes(void **state)
{
    char in[256];
    struct tc_buf h = {0}, u = {0}, j = {0};
    json_object *o;
    (void)state;

    for (int i = 1; i < 256; i++)
        in[i - 1] = (char)i;
    in[255] = '\0';
    tc_buf_html(&h, in);
    tc_buf_url(&u, in);
    tc_buf_json_str(&j, in);
    assert_false(h.oom || u.oom || j.oom);
    assert_int_equal(h.len, strlen(h.p));
    assert_null(strpbrk(h.p, "<>\"'"));
    for (size_t i = 0; i < h.len; i++) {
        assert_true((unsigned char)h.p[i] >= 0x20 && h.p[i] != 0x7f);
        if (h.p[i] == '&') /* only entities: &name; or &#...; */
            assert_non_null(strchr(h.p + i, ';'));
    }
    assert_true(valid_utf8((const unsigned char *)h.p, h.len));
    assert_int_equal(u.len, 3 * (255 - 66) + 66); /* 66 unreserved bytes kept */
    assert_int_equal(strspn(u.p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%"),
                     u.len);
    assert_true(valid_utf8((const unsigned char *)j.p, j.len));
    o = json_tokener_parse(j.p);
    assert_non_null(o);
    assert_true(json_object_is_type(o, json_type_string));
    /* ASCII comes back as it was; the 128 bytes above it are each one U+FFFD (3 bytes) */
    assert_int_equal(json_object_get_string_len(o), 127 + 128 * 3);
    assert_memory_equal(json_object_get_string(o), in, 127);
    json_object_put(o);
    free(h.p);
    free(u.p);
    free(j.p);
}

/* 1 MiB of "<&" pairs: the buffer doubles from 4 KiB to hold 4.5 MiB of entities. */
static void test_long(void **state)
{
    size_t n = 1 << 20;
    char *in = malloc(n + 1);
    struct tc_buf b = {0};
    (void)state;

    assert_non_null(in);
    for (size_t i = 0; i < n; i++)
        in[i] = i % 2 ? '&' : '<';
    in[n] = '\0';
    tc_buf_html(&b, in);
    assert_false(b.oom);
    assert_int_equal(b.len, n / 2 * (4 + 5));
    assert_int_equal(strlen(b.p), b.len);
    assert_true(b.cap > b.len && b.cap >= 4096 && (b.cap & (b.cap - 1)) == 0);
    for (size_t i = 0; i < b.len; i += 9)
        assert_memory_equal(b.p + i, "&lt;&amp;", 9);
    free(b.p);
    free(in);
}

static void test_buffer(void **state)
{
    struct tc_buf b = {0};
    char big[2000];
    (void)state;

    /* nothing added: the text stays "" */
    tc_buf_add(&b, "x", 0);
    tc_buf_puts(&b, "");
    tc_buf_html(&b, "");
    tc_buf_url(&b, "");
    assert_int_equal(b.len, 0);
    assert_true(b.p == NULL || b.p[0] == '\0');
    /* appends in order, within the first 4 KiB */
    for (int i = 0; i < 1000; i++)
        tc_buf_printf(&b, "%03d,", i);
    tc_buf_puts(&b, "<tail>");
    assert_int_equal(b.len, 4006);
    assert_int_equal(b.cap, 4096);
    assert_memory_equal(b.p, "000,001,", 8);
    assert_string_equal(b.p + 3996, "999,<tail>");
    /* printf longer than its 512-byte stack copy: the whole text, the buffer doubled */
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    tc_buf_printf(&b, "[%s]", big);
    assert_int_equal(b.len, 4006 + 2 + 1999);
    assert_int_equal(b.cap, 8192);
    assert_memory_equal(b.p + 3996, "999,<tail>[qqq", 14);
    assert_int_equal(b.p[b.len - 1], ']');
    assert_int_equal(strlen(b.p), b.len);
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_specials), cmocka_unit_test(test_html_controls),
        cmocka_unit_test(test_html_utf8),     cmocka_unit_test(test_url),
        cmocka_unit_test(test_json),          cmocka_unit_test(test_all_bytes),
        cmocka_unit_test(test_long),          cmocka_unit_test(test_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
