#!/usr/bin/python3
"""check_ipfix.py - what a collector received from --ipfix against --flows-jsonl of the same
run (test_ipfix.sh).

    check_ipfix.py FLOWS.jsonl NFDUMP.txt TSHARK.txt MIN_TEMPLATE_MESSAGES

NFDUMP.txt: `TZ=UTC nfdump -6 -N -q -o "fmt:%ts|%te|%pr|%sa|%sp|%da|%dp|%ipkt|%ibyt|%opkt|%obyt|%svln"`
            of nfcapd's file: one line per flow (biflow: in = client to server, out = back).
TSHARK.txt: `tshark -V -d udp.port==PORT,cflow -r` of the same datagrams (IE 96 and 95,
            flowEndReason, sequence numbers, template sets).
Prints what differs; exit 0 when nothing does, 1 otherwise.
"""
import calendar
import json
import re
import sys
import time
from collections import Counter
from decimal import Decimal

PROTO = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMP6": 58}
# RFC 7012 flowEndReason for each end_reason (control/store/ipfix_enc.c)
END_REASON = {"idle": 1, "tcp_close": 3, "evicted": 5, "eof": 4, "shutdown": 4}
# nDPI 4.2 protocol ids (ndpi_protocol_ids.h) of the protocols of sample.pcap
NDPI_ID = {"DNS": 5, "HTTP": 7, "NTP": 9, "TLS": 91, "SSH": 92}
PEN_NTOP = "00008b30"  # 35632

failures = []


def fail(msg):
    failures.append(msg)


def ms(text):
    """nfdump's "2026-03-02 09:00:01.179" (UTC) to milliseconds since the epoch."""
    day, frac = text.strip().split(".")
    return calendar.timegm(time.strptime(day, "%Y-%m-%d %H:%M:%S")) * 1000 + int(frac)


def port(text):
    """A port, or nfdump's ICMP "type.code" (our records carry 0 for ICMP)."""
    text = text.strip()
    if "." in text:
        t, c = text.split(".")
        return int(t) * 256 + int(c)
    return int(text)


def load_flows(path):
    flows = []
    with open(path) as f:
        for line in f:
            r = json.loads(line, parse_float=Decimal)
            if r["event"] == "end":
                flows.append(r)
    return flows


def key(proto, sa, sp, da, dp, vlan):
    return (proto, sa, sp, da, dp, vlan)


def check_nfdump(flows, path):
    want = Counter()
    for r in flows:
        want[key(r["ip_proto"], r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"],
                 r["vlan"]) + (int(r["first_seen"] * 1000), int(r["last_seen"] * 1000),
                               r["c2s_packets"], r["c2s_bytes"], r["s2c_packets"],
                               r["s2c_bytes"])] += 1
    got = Counter()
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            c = [x.strip() for x in line.split("|")]
            if len(c) != 12:
                fail("nfdump: unexpected line %r" % line)
                continue
            proto = PROTO.get(c[2], None)
            proto = proto if proto is not None else int(c[2])
            got[key(proto, c[3], port(c[4]), c[5], port(c[6]), int(c[11])) +
                (ms(c[0]), ms(c[1]), int(c[7]), int(c[8]), int(c[9]), int(c[10]))] += 1
    if sum(got.values()) != len(flows):
        fail("nfdump lists %d flows, --flows-jsonl %d" % (sum(got.values()), len(flows)))
    for k in sorted(want - got, key=str)[:10]:
        fail("in --flows-jsonl, not in nfdump: %s" % (k,))
    for k in sorted(got - want, key=str)[:10]:
        fail("in nfdump, not in --flows-jsonl: %s" % (k,))
    print("nfdump: %d flows (5-tuple, vlan, first/last ms, packets and bytes each way), "
          "--flows-jsonl: %d" % (sum(got.values()), len(flows)))


def parse_tshark(path):
    """Messages: [{"seq": N, "records": [dict], "templates": [tid]}]."""
    msgs, rec = [], None
    with open(path) as f:
        for line in f:
            s = line.strip()
            if line.startswith("Frame "):
                msgs.append({"seq": None, "records": [], "templates": []})
                rec = None
            elif s.startswith("FlowSequence:"):
                msgs[-1]["seq"] = int(s.split(":")[1])
            elif s.startswith("Template Id:"):
                msgs[-1]["templates"].append(int(s.split(":")[1]))
            elif re.fullmatch(r"Flow \d+", s):
                rec = {}
                msgs[-1]["records"].append(rec)
            elif rec is not None and ":" in s:
                name, _, value = s.partition(":")
                rec.setdefault(name.strip(), value.strip())
    return msgs


def check_tshark(flows, path, min_templates):
    msgs = parse_tshark(path)
    by_key = {}
    for r in flows:
        by_key[(r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"])] = r
    template_msgs = sum(1 for m in msgs if 256 in m["templates"] and 257 in m["templates"])
    if template_msgs < min_templates:
        fail("tshark: %d messages carry both templates, expected at least %d (re-sent on the "
             "timer)" % (template_msgs, min_templates))
    # RFC 7011: the sequence number counts the data records sent before the message
    seq, n = None, 0
    for m in msgs:
        if seq is not None and m["seq"] != seq:
            fail("tshark: message sequence %s, expected %d" % (m["seq"], seq))
        seq = (m["seq"] or 0) + len(m["records"])
        n += len(m["records"])
    if n != len(flows):
        fail("tshark: %d data records, --flows-jsonl %d flows" % (n, len(flows)))
    ids = {}
    for m in msgs:
        for rec in m["records"]:
            k = (rec.get("SrcAddr"), int(rec.get("SrcPort", 0)), rec.get("DstAddr"),
                 int(rec.get("DstPort", 0)))
            r = by_key.get(k)
            if r is None:
                fail("tshark: record %s is no flow of --flows-jsonl" % (k,))
                continue
            if rec.get("ApplicationName") != r["app"]:
                fail("tshark: %s applicationName %r, --flows-jsonl app %r" %
                     (k, rec.get("ApplicationName"), r["app"]))
            if rec.get("Classification Engine ID") != "PANA-L7-PEN (20)":
                fail("tshark: %s classification engine %r" %
                     (k, rec.get("Classification Engine ID")))
            sel = rec.get("Selector ID", "")
            if not sel.startswith(PEN_NTOP) or len(sel) != 14:
                fail("tshark: %s selector %r: expected PEN %s and 3 bytes" % (k, sel, PEN_NTOP))
                continue
            app_id = int(sel[8:], 16)
            specific = r["app"].split(".")[-1]
            if ids.setdefault(specific, app_id) != app_id:
                fail("tshark: %s: %s has ids %d and %d" % (k, specific, ids[specific], app_id))
            if specific in NDPI_ID and NDPI_ID[specific] != app_id:
                fail("tshark: %s: %s has id %d, nDPI's is %d" % (k, specific, app_id,
                                                                 NDPI_ID[specific]))
            m_end = re.search(r"\((\d+)\)$", rec.get("Flow End Reason", ""))
            if not m_end or int(m_end.group(1)) != END_REASON[r["end_reason"]]:
                fail("tshark: %s flowEndReason %r, end_reason %s" %
                     (k, rec.get("Flow End Reason"), r["end_reason"]))
    print("tshark: %d messages, %d with the templates, %d data records; applicationName, "
          "applicationId (engine 20, PEN 35632) and flowEndReason checked" %
          (len(msgs), template_msgs, n))


def main():
    flows = load_flows(sys.argv[1])
    if not flows:
        fail("no END records in %s" % sys.argv[1])
    check_nfdump(flows, sys.argv[2])
    check_tshark(flows, sys.argv[3], int(sys.argv[4]))
    for f in failures[:30]:
        print("FAIL: " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
