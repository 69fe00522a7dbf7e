#!/usr/bin/python3
"""console_check.py - the checks of test_console.sh against a running tapwatch-console.

API answers against tapwatch-query's, errors, sessions, the audit trail, escaping in the raw
HTML, then (when Selenium and Chromium are there) the pages in headless Chromium with and
without the Content-Security-Policy. Prints one FAIL line per failure; exit 1 if any.
"""
import argparse
import html
import html.parser
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

FAILS = []



def settle(d, ready, seconds=20):
    """Waits until ready() (a click's navigation done: the machine may be busy) or seconds."""
    end = time.time() + seconds
    while time.time() < end:
        try:
            if ready():
                return True
        except Exception:  # the page is being replaced
            pass
        time.sleep(0.1)
    return False

def fail(msg):
    FAILS.append(msg)
    print("FAIL: " + msg)


CTX = ssl.create_default_context()
CTX.check_hostname = False
CTX.verify_mode = ssl.CERT_NONE  # the test's self-signed pair


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


OPENER = urllib.request.build_opener(urllib.request.HTTPSHandler(context=CTX), NoRedirect())


def http(base, path, cookie=None, data=None):
    """(status, headers, body bytes)"""
    req = urllib.request.Request(base + path, data=data)
    if cookie:
        req.add_header("Cookie", cookie)
    try:
        with OPENER.open(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def login(base, user, password):
    t0 = time.monotonic()
    st, h, _ = http(base, "/login", data=urllib.parse.urlencode(
        {"user": user, "password": password}).encode())
    dt = time.monotonic() - t0
    cookie = None
    for v in h.get_all("Set-Cookie") or []:
        if v.startswith("tw_session="):
            cookie = v.split(";")[0]
            flags = [x.strip() for x in v.split(";")]
            for need in ("HttpOnly", "Secure", "SameSite=Strict"):
                if need not in flags:
                    fail("session cookie without %s: %s" % (need, v))
    return st, cookie, dt


def tool(args, q, redis, sensor):
    out = subprocess.run([q, "--redis", redis, "--sensor", sensor] + args + ["--format", "json"],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        fail("tapwatch-query %s: exit %d %s" % (args, out.returncode, out.stderr[:300]))
        return []
    return [json.loads(l) for l in out.stdout.splitlines() if l.strip()]


def tool_table(args, q, redis, sensor):
    """tapwatch-query's table output: (header names, rows of cells); cells are parted by the
    two or more blanks the tool pads them with."""
    out = subprocess.run([q, "--redis", redis, "--sensor", sensor] + args, capture_output=True,
                         text=True, timeout=60)
    lines = out.stdout.splitlines()
    if out.returncode != 0 or not lines:
        fail("tapwatch-query %s (table): exit %d %s" % (args, out.returncode, out.stderr[:300]))
        return [], []
    return lines[0].split(), [re.split(r" {2,}", l.strip()) for l in lines[1:]]


class Table(html.parser.HTMLParser):
    """The headers and the cells' text of the page's <table id="rows">, and the flow ids its
    links name (/flow?id=...)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.inside, self.cell = False, None
        self.head, self.rows, self.ids = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.inside = a.get("id") == "rows"
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("th", "td"):
            self.cell = ""
        elif self.inside and tag == "a" and (a.get("href") or "").startswith("/flow?"):
            self.ids.append(urllib.parse.parse_qs(a["href"].split("?", 1)[1])["id"][0])

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("th", "td") and self.cell is not None:
            (self.head if tag == "th" else self.rows[-1]).append(self.cell)
            self.cell = None


def page_table(body):
    t = Table()
    t.feed(body.decode())
    return t.head, [r for r in t.rows if r], t.ids


def audit_len(redis):
    sock = redis[len("unix://"):]
    keys = subprocess.run(["redis-cli", "-s", sock, "--scan", "--pattern", "tw:{audit*}:trail"],
                          capture_output=True, text=True).stdout.split()
    n = 0
    for k in keys:
        n += int(subprocess.run(["redis-cli", "-s", sock, "XLEN", k], capture_output=True,
                                text=True).stdout.strip() or 0)
    return n


class Tags(html.parser.HTMLParser):
    """Every element and attribute of a page, and its text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.text = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend((tag, k, v or "") for k, v in attrs)

    def handle_data(self, data):
        self.text.append(data)


def check_escaped(page, strings, where):
    p = Tags()
    p.feed(page)
    for t in p.tags:
        if t in ("script", "img", "iframe", "object", "embed"):
            fail("%s: a <%s> element in the page" % (where, t))
    allowed_svg = {"svg", "g", "rect", "line", "text", "title"}
    for tag, k, v in p.attrs:
        if k.startswith("on"):
            fail("%s: attribute %s on <%s>" % (where, k, tag))
        if k in ("href", "src", "action") and not v.startswith("/"):
            fail("%s: %s=%r does not stay on the console" % (where, k, v))
    text = "".join(p.text)
    for s in strings:
        if s not in text:
            fail("%s: %r not shown as text" % (where, s))
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base")
    ap.add_argument("--base-nocsp")
    ap.add_argument("--query")
    ap.add_argument("--redis")
    ap.add_argument("--sensor")
    ap.add_argument("--root")
    ap.add_argument("--shots")
    ap.add_argument("--pubkey")
    a = ap.parse_args()
    sys.path.insert(0, os.path.join(a.root, "scripts"))
    import gen_html_captures as g
    # the names as the records hold them (an HTTP Host loses its ":port" part:
    # "javascript:..." is "javascript" there; the SNI keeps "javascript:alert(7)")
    hostile = sorted({r["server_name"] for r in tool(["flows", "--since", "2020-01-01", "--ip",
                                                      "10.77.0.0/16"], a.query, a.redis, a.sensor)})
    for s in g.HTTP_HOSTS + g.TLS_SNIS:
        if "<" in s and s not in hostile:
            fail("the store lacks the hostile name %r (records: %s)" % (s, hostile))
    if "javascript:alert(7)" not in hostile:
        fail("the store lacks the javascript: name")
    base = a.base

    # no session, wrong password, login
    st, _, body = http(base, "/api/v1/flows")
    if st != 401 or "error" not in json.loads(body):
        fail("no session: %d %r" % (st, body[:200]))
    st, h, _ = http(base, "/flows")
    if st != 303 or h.get("Location") != "/login":
        fail("no session page: %d %s, not a redirect to /login" % (st, h.get("Location")))
    st, cookie, t_ok = login(base, "alice", "correct horse battery")
    if st != 303 or not cookie:
        fail("login: %d, cookie %s" % (st, cookie))
        return 1
    st, bad_cookie, t_bad = login(base, "alice", "wrong password")
    if st != 401 or bad_cookie:
        fail("wrong password: %d (cookie %s)" % (st, bad_cookie))
    st2, _, t_bad2 = login(base, "alice", "wrong again")
    if not (t_bad > t_ok + 0.3 and t_bad2 > t_bad + 0.3):
        fail("failed logins not slowed: right %.2fs, wrong %.2fs then %.2fs" % (t_ok, t_bad, t_bad2))
    print("login: right %.2fs, wrong %.2fs then %.2fs" % (t_ok, t_bad, t_bad2))
    st, _, _ = http(base, "/api/v1/flows", cookie="tw_session=" + "0" * 64)
    if st != 401:
        fail("a made-up session: %d" % st)

    # the API equals the query tool
    since = "2020-01-01"
    cases = [
        ("flows", {"since": since, "limit": "1000"}, ["flows", "--since", since, "--limit", "1000"]),
        ("flows", {"since": since, "ip": "10.77.0.0/16", "app": "TLS"},
         ["flows", "--since", since, "--ip", "10.77.0.0/16", "--app", "TLS"]),
        ("flows", {"since": since, "equipment": "atm-ctrl-01", "limit": "1000"},
         ["flows", "--since", since, "--equipment", "atm-ctrl-01", "--limit", "1000"]),
        ("alerts", {"since": since, "limit": "1000"}, ["alerts", "--since", since, "--limit", "1000"]),
        ("summary", {"since": since, "equipment": "atm-ctrl-01", "by": "hour"},
         ["summary", "--since", since, "--equipment", "atm-ctrl-01", "--by", "hour"]),
        ("statements", {"limit": "1000"}, ["statements", "--limit", "1000"]),
    ]
    for ep, params, args in cases:
        before = audit_len(a.redis)
        st, h, body = http(base, "/api/v1/%s?%s" % (ep, urllib.parse.urlencode(params)), cookie)
        after = audit_len(a.redis)
        if st != 200:
            fail("API %s %s: %d %r" % (ep, params, st, body[:300]))
            continue
        obj = json.loads(body)
        if sorted(obj) != ["next", "rows"] or obj["next"] is not None or "Link" in h:
            fail("API %s %s: not {rows, next: null} (all rows fit): keys %s next %r Link %r"
                 % (ep, params, sorted(obj), obj.get("next"), h.get("Link")))
        got = obj.get("rows")
        want = tool(args, a.query, a.redis, a.sensor)
        if got != want:
            fail("API %s %s: %d rows, tapwatch-query %d rows, or they differ" % (ep, params, len(got), len(want)))
        elif not got:
            fail("API %s %s: no rows (the test's store should have some)" % (ep, params))
        else:
            print("API %s %s: %d rows = tapwatch-query" % (ep, params, len(got)))
        if after - before != 2:
            fail("API %s: %d audit entries written, expected 2 (query, done)" % (ep, after - before))
        if "Content-Security-Policy" not in h:
            fail("API answer without a Content-Security-Policy")
    # the audit entries name the console user and address
    au = tool(["audit", "--limit", "4"], a.query, a.redis, a.sensor)
    if not any("console:alice@127.0.0.1" in e.get("os_user", "") for e in au):
        fail("audit entries do not name console:alice@127.0.0.1: %s" % [e.get("os_user") for e in au])
    st, _, body = http(base, "/api/v1/audit?limit=5", cookie)
    if st != 200 or len(json.loads(body)["rows"]) != 5:
        fail("API audit: %d %r" % (st, body[:200]))

    # paging: every page by the body's next cursor (the Link header names the same) until
    # next is null = the whole answer, each row once (a flow overlapping a page's cursor time
    # is not given again: the cursor is on the order time, not --until)
    for ep, limit, key, args in (
            ("flows", 3, "flow_id", ["flows", "--since", since, "--limit", "1000"]),
            ("statements", 1, "id", ["statements", "--since", since, "--limit", "1000"])):
        full = [r[key] for r in tool(args, a.query, a.redis, a.sensor)]
        path, got, nexts = "/api/v1/%s?since=%s&limit=%d" % (ep, since, limit), [], []
        while path and len(nexts) <= len(full):
            st, h, body = http(base, path, cookie)
            if st != 200:
                fail("page %s: %d %r" % (path, st, body[:200]))
                break
            obj = json.loads(body)
            got += [r[key] for r in obj["rows"]]
            link = h.get("Link")
            if obj["next"] is None and link is not None:
                fail("%s: a Link header %r on the last page" % (path, link))
            if obj["next"] is not None and link != "<%s>; rel=\"next\"" % obj["next"]:
                fail("%s: next %r and Link %r differ" % (path, obj["next"], link))
            if obj["next"] is not None and not obj["next"].startswith("/api/v1/%s?" % ep):
                fail("%s: next is not the next page's relative URL: %r" % (path, obj["next"]))
            nexts.append(obj["next"])
            path = obj["next"]
        if got != full or len(full) <= limit:
            fail("API %s pages of %d by next: %s != tapwatch-query %s" % (ep, limit, got, full))
        else:
            print("API %s: %d pages of %d by next = tapwatch-query's %d rows"
                  % (ep, len(nexts), limit, len(full)))
    # alerts: the tool answers in the order they were written (the stream's), which a replay
    # of older captures makes other than ts order, so pages by ts are not the whole answer;
    # each page is still the tool's answer to its own URL's question
    path, pages = "/api/v1/alerts?since=%s&limit=3" % since, 0
    while path and pages < 20:
        st, h, body = http(base, path, cookie)
        q = urllib.parse.parse_qs(path.split("?", 1)[1])
        want = tool(["alerts"] + sum((["--" + k, v[0]] for k, v in q.items()), []),
                    a.query, a.redis, a.sensor)
        if st != 200 or json.loads(body)["rows"] != want:
            fail("API %s: %d, rows != tapwatch-query's" % (path, st))
            break
        path, pages = json.loads(body)["next"], pages + 1
    if path:
        fail("API alerts pages of 3: still a next page after 20")
    st, h, body = http(base, "/api/v1/alerts?since=%s&limit=100000" % since, cookie)
    if st != 400:  # the console's --max-limit (10000 by default)
        fail("limit above --max-limit: %d" % st)
    n_alerts = len(tool(["alerts", "--since", since, "--limit", "1000"], a.query, a.redis, a.sensor))
    st, h, body = http(base, "/api/v1/alerts?since=%s&limit=%d" % (since, n_alerts), cookie)
    if st != 200 or json.loads(body)["next"] is not None or "Link" in h:
        fail("a page holding the last row has a next cursor: %d %r" % (st, body[-200:]))

    # the Flows page's "Older" link: the API's next page, as a page
    st, _, body = http(base, "/flows?since=%s&limit=3" % since, cookie)
    older = re.search(r'<a id="next" href="([^"]*)"', body.decode())
    st2, _, body2 = http(base, "/api/v1/flows?since=%s&limit=3" % since, cookie)
    api_next = json.loads(body2)["next"]
    if not older or html.unescape(older.group(1)) != api_next.replace("/api/v1/flows", "/flows", 1):
        fail("the Flows page's Older link %r is not the API's next %r"
             % (older and older.group(1), api_next))
    else:
        st, _, body = http(base, html.unescape(older.group(1)), cookie)
        st2, _, body2 = http(base, api_next, cookie)
        if page_table(body)[2] != [r["flow_id"] for r in json.loads(body2)["rows"]]:
            fail("the Flows page's Older page != the API's next page")

    # the Flows and Alerts pages: the columns of tapwatch-query's table output, in its order,
    # and the same cells row by row (the tool's table has no flow id: the time links to it)
    for sub, params, args in (
            ("flows", "since=%s&limit=1000" % since, ["flows", "--since", since, "--limit", "1000"]),
            ("alerts", "since=%s&limit=1000" % since, ["alerts", "--since", since, "--limit", "1000"])):
        head, trows = tool_table(args, a.query, a.redis, a.sensor)
        st, _, body = http(base, "/%s?%s" % (sub, params), cookie)
        phead, prows, pids = page_table(body)
        if st != 200 or phead != head:
            fail("%s page columns %s != tapwatch-query %s columns %s" % (sub, phead, sub, head))
            continue
        want_ids = [r["flow_id"] for r in tool(args, a.query, a.redis, a.sensor) if r["flow_id"]]
        if pids != want_ids:
            fail("%s page: the time cells' flow links %s != the tool's flow ids %s" % (sub, pids, want_ids))
        # rows whose cells hold two blanks in a row cannot be parted: counted, not compared
        same = [p == t for p, t in zip(prows, trows) if len(t) == len(head)]
        if len(prows) != len(trows) or not same or not all(same):
            bad = [(p, t) for p, t in zip(prows, trows) if len(t) == len(head) and p != t][:2]
            fail("%s page cells != tapwatch-query %s table (%d vs %d rows): %s"
                 % (sub, sub, len(prows), len(trows), bad))
        else:
            print("%s page: columns %s, %d of %d rows cell by cell = tapwatch-query's table"
                  % (sub, " ".join(head), len(same), len(trows)))

    # bad parameters
    for path in ["/api/v1/flows?bogus=1", "/api/v1/flows?since=garbage", "/api/v1/flows?limit=0",
                 "/api/v1/flows?port=99999", "/api/v1/alerts?kind=nope", "/api/v1/summary",
                 "/api/v1/flows?ip=not-an-ip", "/api/v1/nothing"]:
        st, h, body = http(base, path, cookie)
        try:
            err = json.loads(body)["error"]
        except (ValueError, KeyError):
            err = None
        if st not in (400, 404) or not err or "json" not in h.get("Content-Type", ""):
            fail("%s: %d %r, expected 400 with a JSON error" % (path, st, body[:200]))

    # raw HTML: the hostile names escaped, the CSP there / not there
    q = "/flows?since=%s&ip=10.77.0.0%%2F16" % since
    for b, csp in ((a.base, True), (a.base_nocsp, False)):
        st, ck, _ = login(b, "alice", "correct horse battery")
        st, h, body = http(b, q, ck)
        if st != 200:
            fail("flows page: %d" % st)
            continue
        if ("Content-Security-Policy" in h) != csp:
            fail("Content-Security-Policy header %s" % ("missing" if csp else "present with --test-no-csp"))
        elif csp and ("script-src" in h["Content-Security-Policy"] or
                      "'none'" not in h["Content-Security-Policy"]):
            fail("CSP allows script: %s" % h["Content-Security-Policy"])
        check_escaped(body.decode(), hostile, "flows page (csp %s)" % csp)
        # and a record page, and the downloads
        ids = [l["flow_id"] for l in tool(["flows", "--since", since, "--ip", "10.77.0.0/16"],
                                          a.query, a.redis, a.sensor)]
        st, _, body = http(b, "/flow?id=" + ids[0], ck)
        check_escaped(body.decode(), [], "flow page")
        st, h, body = http(b, q + "&download=jsonl", ck)
        if st != 200 or [json.loads(l)["flow_id"] for l in body.decode().splitlines()] != ids:
            fail("JSON lines download differs from tapwatch-query")
        st, h, body = http(b, q + "&download=csv", ck)
        want = subprocess.run([a.query, "--redis", a.redis, "--sensor", a.sensor, "flows", "--since",
                               since, "--ip", "10.77.0.0/16", "--format", "csv"],
                              capture_output=True).stdout
        if st != 200 or body != want or "attachment" not in h.get("Content-Disposition", ""):
            fail("CSV download differs from tapwatch-query --format csv (%d, %d bytes vs %d)"
                 % (st, len(body), len(want)))

    browser(a, hostile)  # also after a failure above: it proves the escaping on its own
    return 1 if FAILS else 0


def browser(a, hostile):
    try:
        from selenium import webdriver
        from selenium.webdriver.common.by import By
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        print("skip browser tests: python3-selenium not installed (scripts/install-deps.sh)")
        return
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_bin = shutil.which("chromedriver")
    if not chrome or not driver_bin:
        print("skip browser tests: chromium or chromium-driver not installed (scripts/install-deps.sh)")
        return
    since = "2020-01-01"
    for base, csp in ((a.base, True), (a.base_nocsp, False)):
        tag = "csp" if csp else "nocsp"
        profile = tempfile.mkdtemp(prefix="tw-chromium-")
        o = webdriver.ChromeOptions()
        o.binary_location = chrome
        for f in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--ignore-certificate-errors", "--window-size=1400,1000",
                  "--user-data-dir=" + profile):
            o.add_argument(f)
        d = webdriver.Chrome(service=Service(driver_bin), options=o)
        try:
            shot = lambda name: d.save_screenshot(os.path.join(a.shots, "%s-%s.png" % (tag, name)))
            d.get(base + "/flows")
            if not d.current_url.endswith("/login"):
                fail("%s: no redirect to /login: %s" % (tag, d.current_url))
            d.find_element(By.ID, "user").send_keys("alice")
            d.find_element(By.ID, "password").send_keys("correct horse battery")
            shot("login")
            d.find_element(By.ID, "login").click()
            settle(d, lambda: "/flows" in d.current_url)
            if "/flows" not in d.current_url:
                fail("%s: login did not reach /flows: %s" % (tag, d.current_url))
            # filter by a CIDR and an application through the form
            for k, v in (("since", since), ("ip", "10.77.0.0/16"), ("app", "TLS")):
                e = d.find_element(By.ID, "f-" + k)
                e.clear()
                e.send_keys(v)
            d.find_element(By.ID, "apply").click()
            settle(d, lambda: "ip=" in d.current_url)
            shot("flows")
            rows = [urllib.parse.parse_qs(e.get_attribute("href").split("?", 1)[1])["id"][0]
                    for e in d.find_elements(By.CSS_SELECTOR, "#rows td[data-k=TIME_UTC] a.flow")]
            want = [r["flow_id"] for r in tool(["flows", "--since", since, "--ip", "10.77.0.0/16",
                                                "--app", "TLS"], a.query, a.redis, a.sensor)]
            if rows != want or not rows:
                fail("%s: flows page rows %s != tapwatch-query %s" % (tag, rows, want))
            if "ip=10.77.0.0%2F16" not in d.current_url or "app=TLS" not in d.current_url:
                fail("%s: filters not kept in the URL: %s" % (tag, d.current_url))
            # the hostile names: shown exactly, no script ran, nothing of them in the DOM
            d.get(base + "/flows?since=%s&ip=10.77.0.0%%2F16" % since)
            shot("hostile")
            names = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#rows td[data-k=SERVER_NAME]")]
            for s in hostile:
                if s not in names:
                    fail("%s: %r not shown exactly (cells: %s)" % (tag, s, names))
            if d.execute_script("return typeof window.twpwned") != "undefined":
                fail("%s: a script from the data ran" % tag)
            n = d.execute_script("return document.querySelectorAll('script,img,iframe,[onerror],"
                                 "[onload],[onmouseover]').length")
            if n:
                fail("%s: %d elements or attributes from the data in the DOM" % (tag, n))
            # an alert, then its flow
            d.get(base + "/alerts?since=%s" % since)
            shot("alerts")
            links = d.find_elements(By.CSS_SELECTOR, "#rows a.flow")
            if not links:
                fail("%s: no alert links to its flow" % tag)
            else:
                fid = urllib.parse.parse_qs(links[0].get_attribute("href").split("?", 1)[1])["id"][0]
                links[0].click()
                settle(d, lambda: d.find_elements(By.CSS_SELECTOR, "#record td[data-k=flow_id]"))
                shot("flow")
                cell = d.find_elements(By.CSS_SELECTOR, "#record td[data-k=flow_id]")
                if not cell or cell[0].text != fid:
                    fail("%s: the alert's link did not reach flow %s" % (tag, fid))
            # an equipment's chart: one bar pair per bucket
            d.get(base + "/equipment?equipment=atm-ctrl-01&since=%s&by=hour" % since)
            shot("equipment")
            buckets = len(d.find_elements(By.CSS_SELECTOR, "#chart g.bucket"))
            want = len(tool(["summary", "--since", since, "--equipment", "atm-ctrl-01", "--by", "hour"],
                            a.query, a.redis, a.sensor))
            if buckets != want or want < 2:
                fail("%s: chart has %d buckets, summary %d" % (tag, buckets, want))
            # the equipment list: its totals over the range are the summary's
            d.get(base + "/equipment?since=%s" % since)
            shot("equipment-list")
            cells = [c.text for c in d.find_elements(By.CSS_SELECTOR, "#equipment-list tbody tr")[0]
                     .find_elements(By.TAG_NAME, "td")]
            days = tool(["summary", "--since", since, "--equipment", "atm-ctrl-01"], a.query, a.redis, a.sensor)
            if cells[:4] != ["atm-ctrl-01", str(sum(r["flows"] for r in days)),
                             str(sum(r["bytes_out"] for r in days)), str(sum(r["bytes_in"] for r in days))]:
                fail("%s: equipment list row %s != summary %s" % (tag, cells, days))
            # coverage: the planted gap
            d.get(base + "/coverage?limit=1000")
            shot("coverage")
            gaps = d.find_elements(By.CSS_SELECTOR, "#gaps li.gap")
            if not gaps or not d.find_elements(By.CSS_SELECTOR, "#timeline rect.gap"):
                fail("%s: the coverage page shows no gap" % tag)
            elif not any(2.0 <= float(g.text.split("(")[-1].split(" ")[0]) < 30 for g in gaps):
                fail("%s: no gap of about 3 s: %s" % (tag, [g.text for g in gaps]))
            sig = d.find_element(By.ID, "signatures").text
            nst = len(tool(["statements", "--limit", "1000"], a.query, a.redis, a.sensor))
            want_sig = ("%d verified, 0 BAD, 0 unsigned" % nst) if csp else "(not checked"
            if want_sig not in sig:
                fail("%s: coverage signatures %r, expected %r" % (tag, sig, want_sig))
            if csp:
                # the signed log of the range, checked on request: the same answer as verify's
                d.find_element(By.ID, "check").click()
                shot("coverage-verify")
                got = d.find_element(By.ID, "verify").text
                v = subprocess.run([a.query, "--redis", a.redis, "--sensor", a.sensor, "verify",
                                    "--pubkey", a.pubkey], capture_output=True, text=True, timeout=120)
                want = {0: "verified", 3: "NOT VERIFIED"}.get(v.returncode, "not checked")
                if not got.endswith(": " + want):
                    fail("%s: coverage check says %r, verify exited %d (%r)" % (tag, got, v.returncode, want))
                lines = d.find_element(By.ID, "verify-lines").text.strip().splitlines()
                tool_last = v.stdout.strip().splitlines()[-1] if v.stdout.strip() else ""
                if not lines or lines[-1].split(":")[0:2] != tool_last.split(":")[0:2]:
                    fail("%s: coverage check's last line %r, verify's %r" % (tag, lines[-1:] , tool_last))
            else:
                if "no --pubkey" not in d.find_element(By.ID, "verify").text:
                    fail("%s: coverage without --pubkey does not say the log is not checked" % tag)
            d.get(base + "/audit")
            shot("audit")
            if "console:alice@127.0.0.1" not in d.page_source:
                fail("%s: the audit page does not show the console user" % tag)
            print("browser (%s): login, flows filter (%d rows), alert -> flow, chart %d buckets, "
                  "%d gap(s), audit" % (tag, len(rows), buckets, len(gaps)))
        finally:
            d.quit()
            shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
