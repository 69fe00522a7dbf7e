#!/usr/bin/env python3
"""check_flows.py - helpers for the integration tests (python3 stdlib only).

  check_flows.py flows EXPECTED_JSON CAPTURE JSONL [--upper-bound]
      compare the flow records tapwatch wrote (--flows-jsonl) with expected.json's flows
      for CAPTURE: 5-tuple, vlan, first/last seen, per-direction packets and bytes,
      app (where asserted), server_name, end_reason (where asserted). With
      --upper-bound (trunc_packets.pcap), each record must match an expected flow and
      carry at most its packets and bytes.
  check_flows.py summary SUMMARY_FILE [--drop REASON=N ...] [--updates N] [--merged N]
      check the summary's accounting: received = parsed + dropped + fragments merged, the named drop
      reasons add up to dropped; optional exact drop counts and update events.
  check_flows.py same JSONL QUERY_JSON
      the query output (one JSON object per line) holds exactly the records of JSONL.
  check_flows.py query JSONL QUERY_JSON [--ip A|CIDR] [--port N] [--app NAME]
                        [--since EPOCH] [--until EPOCH] [--limit N]
      the query output is exactly what these filters keep of JSONL (time ranges overlap:
      first_seen <= until and last_seen >= since), newest first by last_seen, cut to
      --limit; the filters must keep some but not all records.

Exit 0 when all is well, 1 with one line per difference otherwise.
"""
import ipaddress
import json
import re
import sys


def load_jsonl(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                sys.exit("%s:%d: not JSON (%s): %.120s" % (path, n, e, line))
    return rows


def us(x):
    return int(round(float(x) * 1e6))


def key_of(r):
    return (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["ip_proto"], r["vlan"])


def fmt_key(k):
    return "%s:%s -> %s:%s proto %s vlan %s" % k


def cmd_flows(args):
    upper = "--upper-bound" in args
    args = [a for a in args if a != "--upper-bound"]
    exp_path, capture, jsonl = args
    with open(exp_path, encoding="utf-8") as f:
        exp = json.load(f)["captures"][capture]
    got = load_jsonl(jsonl)
    errors = []
    # the same 5-tuple can be two flows (timeouts.pcap): pair them in first_seen order
    want = {}
    for e in exp["flows"]:
        want.setdefault(key_of(e), []).append(e)
    have = {}
    for r in got:
        for field in ("src_ip", "src_port", "dst_ip", "dst_port", "ip_proto", "vlan",
                      "first_seen", "last_seen", "c2s_packets", "c2s_bytes", "s2c_packets",
                      "s2c_bytes", "app", "server_name", "end_reason"):
            if field not in r:
                errors.append("%s: record without %s: %s" % (capture, field, json.dumps(r)))
                break
        else:
            have.setdefault(key_of(r), []).append(r)
    if errors:
        return errors
    for lst in list(want.values()) + list(have.values()):
        lst.sort(key=lambda x: x["first_seen_us"] if "first_seen_us" in x else us(x.get("first_seen", 0)))

    for k in sorted(set(want) | set(have), key=str):
        w, h = want.get(k, []), have.get(k, [])
        if upper:
            if not w:
                errors.append("%s: unexpected flow %s" % (capture, fmt_key(k)))
                continue
            fields = ("c2s_packets", "c2s_bytes", "s2c_packets", "s2c_bytes")
            for r in h:
                if not any(all(r[f] <= e[f] for f in fields) for e in w):
                    errors.append("%s: flow %s has more than the full capture gives: %s vs %s"
                                  % (capture, fmt_key(k), [r[f] for f in fields],
                                     [[e[f] for f in fields] for e in w]))
            continue
        if len(w) != len(h):
            errors.append("%s: flow %s: expected %d record(s), got %d%s"
                          % (capture, fmt_key(k), len(w), len(h),
                             "" if not h else " (first_seen %s)" % [r["first_seen"] for r in h]))
            continue
        for e, r in zip(w, h):
            diffs = []
            for fld in ("c2s_packets", "c2s_bytes", "s2c_packets", "s2c_bytes"):
                if e[fld] != r[fld]:
                    diffs.append("%s %s != expected %s" % (fld, r[fld], e[fld]))
            if "first_seen_us" in e and us(r["first_seen"]) != e["first_seen_us"]:
                diffs.append("first_seen %s != expected %.6f" % (r["first_seen"], e["first_seen_us"] / 1e6))
            if "last_seen_us" in e and us(r["last_seen"]) != e["last_seen_us"]:
                diffs.append("last_seen %s != expected %.6f" % (r["last_seen"], e["last_seen_us"] / 1e6))
            if e.get("app") and r["app"] != e["app"]:
                diffs.append("app %r != expected %r" % (r["app"], e["app"]))
            if r["server_name"] != e.get("server_name", ""):
                diffs.append("server_name %r != expected %r" % (r["server_name"], e.get("server_name", "")))
            if "end_reason" in e and r["end_reason"] != e["end_reason"]:
                diffs.append("end_reason %r != expected %r" % (r["end_reason"], e["end_reason"]))
            if diffs:
                errors.append("%s: flow %s (first_seen %.6f): %s"
                              % (capture, fmt_key(k), r["first_seen"], "; ".join(diffs)))
    return errors


def parse_summary(path):
    s = {"drops": {}}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"\s+packets (received|parsed|dropped)\s+(\d+)\s*$", line)
            if m:
                s[m.group(1)] = int(m.group(2))
                continue
            m = re.match(r"\s+fragments merged\s+(\d+)\s*$", line)
            if m:
                s["merged"] = int(m.group(1))
                continue
            m = re.match(r"\s+(drop_\w+)\s+(\d+)\s*$", line)
            if m:
                s["drops"][m.group(1)] = int(m.group(2))
                continue
            m = re.match(r"\s+events\s+.*\bupdate (\d+)", line)
            if m:
                s["updates"] = int(m.group(1))
    return s


def cmd_summary(args):
    path, rest = args[0], args[1:]
    s = parse_summary(path)
    errors = []
    for k in ("received", "parsed", "dropped"):
        if k not in s:
            return ["%s: no 'packets %s' line in the summary" % (path, k)]
    if "merged" not in s:
        return ["%s: no 'fragments merged' line in the summary" % path]
    if s["received"] != s["parsed"] + s["dropped"] + s["merged"]:
        errors.append("summary: received %d != parsed %d + dropped %d + fragments merged %d"
                      % (s["received"], s["parsed"], s["dropped"], s["merged"]))
    if sum(s["drops"].values()) != s["dropped"]:
        errors.append("summary: drop reasons %s add up to %d, not dropped %d"
                      % (s["drops"], sum(s["drops"].values()), s["dropped"]))
    i = 0
    while i < len(rest):
        if rest[i] == "--drop":
            name, n = rest[i + 1].split("=")
            if s["drops"].get(name, 0) != int(n):
                errors.append("summary: %s %d, expected %s" % (name, s["drops"].get(name, 0), n))
            i += 2
        elif rest[i] == "--updates":
            if s.get("updates") != int(rest[i + 1]):
                errors.append("summary: update events %s, expected %s" % (s.get("updates"), rest[i + 1]))
            i += 2
        elif rest[i] == "--merged":
            if s["merged"] != int(rest[i + 1]):
                errors.append("summary: fragments merged %d, expected %s" % (s["merged"], rest[i + 1]))
            i += 2
        elif rest[i] == "--received":
            if s["received"] != int(rest[i + 1]):
                errors.append("summary: packets received %d, expected %s" % (s["received"], rest[i + 1]))
            i += 2
        else:
            sys.exit("summary: unknown argument %s" % rest[i])
    return errors


def cmd_same(args):
    a, b = load_jsonl(args[0]), load_jsonl(args[1])
    errors = []
    ia, ib = {}, {}
    for name, rows, idx in (("jsonl", a, ia), ("query", b, ib)):
        for r in rows:
            if r.get("flow_id") in idx:
                errors.append("%s: flow_id %s appears twice" % (name, r.get("flow_id")))
            idx[r.get("flow_id")] = r
    if len(a) != len(b):
        errors.append("jsonl has %d records, the query returned %d" % (len(a), len(b)))
    for fid in sorted(set(ia) - set(ib)):
        errors.append("missing from the query: %s" % json.dumps(ia[fid]))
    for fid in sorted(set(ib) - set(ia)):
        errors.append("only in the query: %s" % json.dumps(ib[fid]))
    for fid in sorted(set(ia) & set(ib)):
        if ia[fid] != ib[fid]:
            d = {k: (ia[fid].get(k), ib[fid].get(k)) for k in set(ia[fid]) | set(ib[fid])
                 if ia[fid].get(k) != ib[fid].get(k)}
            errors.append("flow %s differs (jsonl, query): %s" % (fid, d))
    return errors[:30] + (["... %d more" % (len(errors) - 30)] if len(errors) > 30 else [])


def cmd_query(args):
    """query JSONL QUERY_OUT [filters]: the query output is exactly the filtered jsonl,
    newest first by last_seen (ties at a --limit boundary may pick either record)."""
    rows, got = load_jsonl(args[0]), load_jsonl(args[1])
    opts = dict(zip(args[2::2], args[3::2]))
    want = []
    for r in rows:
        if "--ip" in opts:
            net = ipaddress.ip_network(opts["--ip"], strict=False)
            ends = [ipaddress.ip_address(r["src_ip"]), ipaddress.ip_address(r["dst_ip"])]
            if not any(a.version == net.version and a in net for a in ends):
                continue
        if "--port" in opts and int(opts["--port"]) not in (r["src_port"], r["dst_port"]):
            continue
        if "--app" in opts:
            w = opts["--app"].lower()
            if r["app"].lower() != w and w not in r["app"].lower().split("."):
                continue
        if "--since" in opts and us(r["last_seen"]) < us(opts["--since"]):
            continue
        if "--until" in opts and us(r["first_seen"]) > us(opts["--until"]):
            continue
        want.append(r)
    want.sort(key=lambda r: -us(r["last_seen"]))
    errors = []
    limit = int(opts.get("--limit", 10 ** 9))
    if not 0 < min(len(want), limit) < len(rows):
        errors.append("test problem: the filters keep %d of %d records; pick ones that keep "
                      "some but not all" % (min(len(want), limit), len(rows)))
    cut = want[limit - 1] if 0 < limit <= len(want) else None
    full = want
    want = want[:limit]
    last = [us(r["last_seen"]) for r in got]
    if last != sorted(last, reverse=True):
        errors.append("not newest first by last_seen: %s" % [r["last_seen"] for r in got][:20])
    if len(got) != len(want):
        errors.append("%d records, expected %d" % (len(got), len(want)))
    byid = {r["flow_id"]: r for r in full}
    gid = [r.get("flow_id") for r in got]
    if len(set(gid)) != len(gid):
        errors.append("duplicate flow_ids in the answer")
    wid = {r["flow_id"] for r in want}
    for r in got:
        fid = r.get("flow_id")
        if fid not in byid:
            errors.append("record not matching the filter: %s" % json.dumps(r))
        elif r != byid[fid]:
            errors.append("record %s differs from the jsonl one" % fid)
        elif fid not in wid and not (cut and us(r["last_seen"]) == us(cut["last_seen"])):
            errors.append("record %s (last_seen %s) is not among the expected newest %d"
                          % (fid, r["last_seen"], limit))
    gset = set(gid)
    for r in want:
        if r["flow_id"] not in gset and not (cut and us(r["last_seen"]) == us(cut["last_seen"])):
            errors.append("missing: %s" % json.dumps(r))
    return errors[:20] + (["... %d more" % (len(errors) - 20)] if len(errors) > 20 else [])


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmds = {"flows": cmd_flows, "summary": cmd_summary, "same": cmd_same,
            "query": cmd_query}
    if sys.argv[1] not in cmds:
        sys.exit(__doc__)
    errors = cmds[sys.argv[1]](sys.argv[2:])
    for e in errors:
        print(e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
