#!/usr/bin/env bash
# test_alerts_syslog.sh BUILD_DIR - alerts to syslog (alerts_syslog.target): a UDP listener
# on 127.0.0.1 receives what tapwatch sends while it replays the policy captures
# (scripts/gen_policy_captures.py, tests/integration/policy.yaml) and a capture whose HTTP
# Host is hostile (quote, bracket, backslash, ESC, BEL, bytes above 0x7f, a fake syslog
# header). Every datagram must be one valid RFC 5424 message (strict parse below: header,
# one SD-ELEMENT tapwatch@32473 with escaped values, printable ASCII only), and the messages
# must be the alerts --alerts-jsonl holds: same count, kinds, severities, flows and fields.
# Then a UDP port nobody listens on (the run ends 0), a unix socket whose buffer is full
# (counted as "not sent", never waited for), and a tcp:// target (refused at start, exit 2).
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
/usr/bin/python3 -c 'import scapy' 2>/dev/null ||
    { echo "test_alerts_syslog: skipped: python3-scapy not installed"; exit 77; }
[ -x "$BUILD/tapwatch" ] || { echo "test_alerts_syslog: skipped: $BUILD/tapwatch not built"; exit 77; }
TMP=$(mktemp -d /tmp/tw-syslog.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

/usr/bin/python3 scripts/gen_policy_captures.py "$TMP/caps" >/dev/null || { echo "FAIL: generator"; exit 1; }
# the hostile one: atm-ctrl-01 to an undeclared peer, Host header of hostile bytes
/usr/bin/python3 - "$TMP/caps" <<'EOF' || { echo "FAIL: hostile capture"; exit 1; }
import random, sys
sys.path.insert(0, "scripts")
from gen_captures import LINKTYPE_ETHERNET, SEC, Capture, Flow, http_session, parse_start
start = parse_start("2026-03-02T09:00:00Z") * SEC
cap = Capture("hostile.pcap", LINKTYPE_ETHERNET)
host = 'evil"]\\x\x1b[41mred\x07\xff\xfe<13>1 - - ] [x@1 a="b"] \u00fc.example'
http_session(Flow(cap, 6, "10.40.1.11", 41000, "198.51.100.7", 8080), random.Random(7),
             start + SEC, host, "/")
cap.write(sys.argv[1])
EOF

/usr/bin/python3 - "$BUILD/tapwatch" "$TMP" tests/integration/policy.yaml <<'EOF'
import json, os, re, socket, subprocess, sys

tw, tmp, policy = sys.argv[1:4]
caps = os.path.join(tmp, "caps")
fails = []

def run(cfg_lines, cap, name):
    cfg = os.path.join(tmp, name + ".yaml")
    with open(cfg, "w") as f:
        f.write("sensor: s1\nalerts_syslog:\n" + "".join("  %s\n" % l for l in cfg_lines))
    alerts = os.path.join(tmp, name + ".jsonl")
    p = subprocess.run([tw, "--pcap", cap, "--config", cfg, "--policy", policy, "--quiet",
                        "--alerts-jsonl", alerts], capture_output=True, text=True,
                       errors="replace")
    return p, [json.loads(l) for l in open(alerts)] if os.path.exists(alerts) else []

# RFC 5424 section 6: the header, then STRUCTURED-DATA, then MSG.
HEADER = re.compile(r'<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z) ([!-~]{1,255}) '
                    r'([!-~]{1,48}) ([!-~]{1,128}) ([!-~]{1,32}) ')
SD_NAME = r'[!#-<>-\\^-~]{1,32}'  # PRINTUSASCII except = SP ] "
PARAM = re.compile(r' (%s)="((?:[^"\\\]]|\\["\\\]]|\\[^"\\\]])*)"' % SD_NAME)
SEVERITY = {"low": 5, "medium": 4, "high": 3, "critical": 2}

def unescape(v):
    """SD-PARAM value: \\" \\\\ \\] per RFC 5424; our \\xHH for other bytes. Returns bytes."""
    out, i = bytearray(), 0
    while i < len(v):
        if v[i] == "\\" and i + 1 < len(v) and v[i + 1] in '"\\]':
            out.append(ord(v[i + 1])); i += 2
        elif v[i] == "\\" and re.match(r"x[0-9A-F]{2}", v[i + 1:i + 4]):
            out.append(int(v[i + 2:i + 4], 16)); i += 4
        else:
            out.append(ord(v[i])); i += 1
    return bytes(out)

def parse(dgram):
    """One message: (pri, timestamp, host, app, procid, msgid, params, msg) or a reason."""
    if any(b < 0x20 or b > 0x7e for b in dgram):
        return "bytes outside printable ASCII: %r" % dgram[:200]
    text = dgram.decode("ascii")
    m = HEADER.match(text)
    if not m:
        return "bad header: %r" % text[:120]
    rest = text[m.end():]
    if not rest.startswith("[tapwatch@32473"):
        return "no SD-ELEMENT tapwatch@32473: %r" % rest[:80]
    pos, params = len("[tapwatch@32473"), {}
    while True:
        p = PARAM.match(rest, pos)
        if not p:
            break
        if p.group(1) in params:
            return "SD-PARAM %s twice" % p.group(1)
        params[p.group(1)] = unescape(p.group(2))
        pos = p.end()
    if rest[pos:pos + 1] != "]":
        return "SD-ELEMENT not closed at %r" % rest[pos:pos + 60]
    msg = rest[pos + 1:]
    if msg and not msg.startswith(" "):
        return "no space before MSG: %r" % msg[:40]
    return (int(m.group(1)),) + m.groups()[1:] + (params, msg[1:])

def printable(b):
    """What the JSON encoder writes for a string from the wire: non-printable bytes as '?'."""
    return "".join(chr(c) if 0x20 <= c < 0x7f else "?" for c in b)

rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
rx.bind(("127.0.0.1", 0))
port = rx.getsockname()[1]
rx.setblocking(False)

names = sorted(f for f in os.listdir(caps) if f.endswith(".pcap"))
total, kinds_seen = 0, set()
for cap in names:
    p, alerts = run(["target: udp://127.0.0.1:%d" % port, "facility: local0"],
                    os.path.join(caps, cap), cap)
    if p.returncode != 0:
        fails.append("%s: exit %d: %s" % (cap, p.returncode, p.stderr[-300:])); continue
    got = []
    while True:
        try:
            got.append(rx.recv(65536))
        except BlockingIOError:
            break
    if len(got) != len(alerts):
        fails.append("%s: %d syslog messages, %d alerts in --alerts-jsonl" % (cap, len(got), len(alerts)))
    if not re.search(r"alerts-syslog +sent %d, not sent 0 " % len(alerts), p.stdout):
        fails.append("%s: summary line: %s" % (cap, [l for l in p.stdout.splitlines() if "syslog" in l]))
    msgs = []
    for d in got:
        r = parse(d)
        if isinstance(r, str):
            fails.append("%s: %s" % (cap, r)); continue
        msgs.append(r)
    def key(kind, src, sport, dst, dport, flow):
        return (kind, src, int(sport), dst, int(dport), flow)
    want = {}
    for a in alerts:
        want[key(a["kind"], a["src_ip"], a["src_port"], a["dst_ip"], a["dst_port"], a["flow_id"])] = a
    for pri, ts, host, app, procid, msgid, params, msg in msgs:
        sd = {k: v.decode("latin-1") for k, v in params.items()}
        k = key(sd.get("kind"), sd.get("src"), sd.get("src_port", "0"), sd.get("dst"),
                sd.get("dst_port", "0"), sd.get("flow_id"))
        a = want.pop(k, None)
        if a is None:
            fails.append("%s: a message for no alert: %s" % (cap, sd)); continue
        kinds_seen.add(a["kind"])
        if app != "tapwatch" or msgid != a["kind"] or not procid.isdigit():
            fails.append("%s: APP-NAME %s PROCID %s MSGID %s" % (cap, app, procid, msgid))
        if pri != 16 * 8 + SEVERITY[a["severity"]]:
            fails.append("%s: PRI %d for a %s alert (local0)" % (cap, pri, a["severity"]))
        if ts[:19] != __import__("time").strftime("%Y-%m-%dT%H:%M:%S", __import__("time").gmtime(int(a["ts"]))):
            fails.append("%s: TIMESTAMP %s, alert ts %s" % (cap, ts, a["ts"]))
        for f in ("severity", "equipment", "vendor", "app", "server_name", "rule", "policy_sha256", "geoip_sha256"):
            if printable(params.get(f, b"")) != a[f]:
                fails.append("%s: %s %r, --alerts-jsonl %r" % (cap, f, params.get(f), a[f]))
        if sd.get("sensor") != "s1" or sd.get("ip_proto") != str(a["ip_proto"]):
            fails.append("%s: sensor/ip_proto %s %s" % (cap, sd.get("sensor"), sd.get("ip_proto")))
        if printable(unescape(msg)) != a["detail"]:
            fails.append("%s: MSG %r, detail %r" % (cap, msg, a["detail"]))
        if cap == "hostile.pcap":
            raw = params["server_name"]
            if not (b'"]\\x\x1b[41mred\x07' in raw and "\xff\xfe".encode() in raw):
                fails.append("hostile: server_name did not come through whole: %r" % raw)
            else:
                print("hostile: server_name arrives whole, escaped, in one line")
    for a in want.values():
        fails.append("%s: no message for alert %s %s" % (cap, a["kind"], a["flow_id"]))
    total += len(alerts)
    print("%-18s %2d alerts, %2d RFC 5424 messages" % (cap, len(alerts), len(msgs)))

if total < 10 or "hostile.pcap" not in names:
    fails.append("only %d alerts over %d captures: the test proves little" % (total, len(names)))
print("kinds: %s" % ", ".join(sorted(kinds_seen)))

# nobody listening: sendto to a closed UDP port succeeds or is refused, never waits, exit 0;
# a datagram socket that is full (a unix socket nobody reads: its queue holds
# net.unix.max_dgram_qlen, 10 by default, of reload.pcap's 20 alerts) counts "not sent"
p, alerts = run(["target: udp://127.0.0.1:9"], os.path.join(caps, "undeclared.pcap"), "closed")
if p.returncode != 0 or not alerts:
    fails.append("closed port: exit %d, %d alerts: %s" % (p.returncode, len(alerts), p.stderr[-300:]))
full = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
full.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
full.bind(os.path.join(tmp, "full.sock"))
p, alerts = run(["target: unix://%s/full.sock" % tmp], os.path.join(caps, "reload.pcap"), "full")
m = re.search(r"alerts-syslog +sent (\d+), not sent (\d+)", p.stdout)
if p.returncode != 0 or not m or int(m.group(1)) + int(m.group(2)) != len(alerts) or int(m.group(2)) == 0:
    fails.append("full socket: exit %d, %d alerts, summary %s" % (p.returncode, len(alerts),
                 m.group(0) if m else p.stdout[-300:]))
else:
    print("a full socket: %s of %d alerts (no wait)" % (m.group(0).split("  ")[-1].strip(), len(alerts)))
p, _ = run(["target: tcp://127.0.0.1:514"], os.path.join(caps, "undeclared.pcap"), "bad")
if p.returncode != 2 or "alerts_syslog.target" not in p.stderr:
    fails.append("tcp:// target: exit %d, %s" % (p.returncode, p.stderr[-200:]))

for f in fails:
    print("FAIL:", f)
print("test_alerts_syslog: %s" % ("PASS" if not fails else "%d failures" % len(fails)))
sys.exit(1 if fails else 0)
EOF
