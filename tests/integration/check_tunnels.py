#!/usr/bin/env python3
"""check_tunnels.py - records of tunnelled captures against those of the same flows unwrapped.

    check_tunnels.py TAPWATCH CAPDIR WORKDIR

CAPDIR is the output of scripts/gen_tunnel_captures.py. For each wrapped capture the records
must equal plain.pcap's field by field, except flow_id (the tunnel is part of the flow key),
`tunnel`/`tunnel_id` (the capture's, from expected.json) and the bytes: plain.pcap's when the
tunnel carries an Ethernet frame, else plain.pcap's plus each frame's encapsulation (computed
per frame by the generator), checked exactly. The two-session capture must give each inner
flow once per ERSPAN session. With the capture's decap switch off, the capture gives what it
gave before decapsulation existed: one outer flow (GRE or UDP), or nothing (Ethernet over
MPLS: drop_not_ip). src_mac, the client's MAC: plain.pcap's when the tunnel carries an
Ethernet frame, "" when it carries IP (the outer frame is the tunnel end's), and the frame's own
source when there is no tunnel (PPPoE). Prints what differs; exits 1 on any difference.
"""
import concurrent.futures
import json
import os
import subprocess
import sys

SKIP = {"flow_id", "tunnel", "tunnel_id", "c2s_bytes", "s2c_bytes", "seq", "worker", "src_mac"}
SUMMARY_DROPS = ("drop_tunnel_truncated", "drop_tunnel_bad_header", "drop_not_ip")


def run(tapwatch, pcap, workdir, tag, config=None, extra=()):
    out = os.path.join(workdir, tag + ".jsonl")
    cmd = [tapwatch, "--pcap", pcap, "--flows-jsonl", out, "--quiet"] + list(extra)
    if config:
        cmd += ["--config", config]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    if p.returncode != 0:
        return None, "exit %d: %s" % (p.returncode, p.stderr.strip()[-400:])
    recs = [json.loads(line) for line in open(out) if line.strip()]
    return (recs, p.stdout), None


def key(r):
    return (r["event"], r["ip_proto"], r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"],
            r.get("tunnel_id", 0))


def frame_flows(pcap):
    """Per frame of plain.pcap: (flow 5-tuple sorted, direction as sent) -- for the extra bytes."""
    from scapy.utils import rdpcap
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6
    out = []
    for p in rdpcap(pcap):
        ip = p[IP] if IP in p else p[IPv6]
        l4 = p[TCP] if TCP in p else p[UDP]
        out.append((ip.src, l4.sport, ip.dst, l4.dport))
    return out


def first_src_mac(pcap):
    """The source MAC of a capture's first frame (Ethernet), as records write it."""
    with open(pcap, "rb") as f:
        f.seek(24 + 16)
        return ":".join("%02x" % b for b in f.read(12)[6:12])


def main():
    tapwatch, capdir, workdir = sys.argv[1:4]
    exp = json.load(open(os.path.join(capdir, "expected.json")))
    failures = []
    jobs = {"plain": (os.path.join(capdir, "plain.pcap"), None)}
    switches = set()
    for name, e in exp["captures"].items():
        jobs[name] = (os.path.join(capdir, name), None)
        if e["switch"] and e["switch"] not in switches: # each switch off once
            switches.add(e["switch"])
            cfg = os.path.join(workdir, "off-%s.yaml" % e["switch"])
            with open(cfg, "w") as f:
                f.write("decap:\n  %s: false\n" % e["switch"])
            jobs[name + ":off"] = (os.path.join(capdir, name), cfg)
    jobs["erspan_two_sessions.pcap"] = (os.path.join(capdir, "erspan_two_sessions.pcap"), None)
    # several workers: the software dispatch by inner address pair gives the same records
    jobs["erspan_two_sessions.pcap:w3"] = (os.path.join(capdir, "erspan_two_sessions.pcap"), None)
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        futs = {tag: ex.submit(run, tapwatch, pcap, workdir, tag.replace(":", "_"), cfg,
                               ("--workers", "3") if tag.endswith(":w3") else ())
                for tag, (pcap, cfg) in jobs.items()}
        results = {tag: f.result() for tag, f in futs.items()}
    for tag, (res, err) in results.items():
        if err:
            failures.append("%s: %s" % (tag, err))
    if failures:
        print("\n".join("FAIL: " + f for f in failures))
        return 1

    plain = {key(r): r for r in results["plain"][0][0]}
    frames = frame_flows(os.path.join(capdir, "plain.pcap"))
    if not plain or not any(r["server_name"] == "inner.example.com" and r["app"] == "HTTP"
                            for r in plain.values()):
        failures.append("plain.pcap: no HTTP record with inner.example.com: %s" % list(plain))

    def expected_bytes(r, extra):
        """plain's bytes plus, per frame of that flow and direction, its encapsulation."""
        c2s, s2c = r["c2s_bytes"], r["s2c_bytes"]
        if extra is None:
            return c2s, s2c
        for (src, sp, dst, dp), x in zip(frames, extra):
            if (src, sp, dst, dp) == (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"]):
                c2s += x
            elif (dst, dp, src, sp) == (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"]):
                s2c += x
        return c2s, s2c

    def compare(name, recs, tunnel, tid, extra, shift_us=0):
        # the client's MAC: the carried frame's, none behind a tunnel carrying IP, else the frame's
        mac = None if extra is None else "" if tunnel else first_src_mac(os.path.join(capdir, name))
        got = {}
        for r in recs:
            got[key(r)[:-1]] = r
            if r["tunnel"] != tunnel or r["tunnel_id"] != tid:
                failures.append("%s: %s tunnel %r id %d, want %r id %d" % (
                    name, key(r), r["tunnel"], r["tunnel_id"], tunnel, tid))
        want_keys = {k[:-1] for k in plain}
        if set(got) != want_keys:
            failures.append("%s: records %s, want %s" % (name, sorted(got), sorted(want_keys)))
            return
        for k, p in plain.items():
            g = got[k[:-1]]
            for f in p:
                if f in ("first_seen", "last_seen") and shift_us:
                    if round((g[f] - p[f]) * 1e6) != shift_us:
                        failures.append("%s: %s %s %r, want unwrapped %r + %d us" % (
                            name, k, f, g[f], p[f], shift_us))
                elif f not in SKIP and p[f] != g[f]:
                    failures.append("%s: %s field %s = %r, unwrapped %r" % (name, k, f, g[f], p[f]))
            want_mac = p["src_mac"] if mac is None else mac
            if g["src_mac"] != want_mac or (mac is None and not want_mac):
                failures.append("%s: %s src_mac %r, want %r" % (name, k, g["src_mac"], want_mac))
            wb = expected_bytes(p, extra)
            if (g["c2s_bytes"], g["s2c_bytes"]) != wb:
                failures.append("%s: %s bytes %d/%d, want %d/%d" % (
                    name, k, g["c2s_bytes"], g["s2c_bytes"], wb[0], wb[1]))

    for name, e in exp["captures"].items():
        recs = results[name][0][0]
        compare(name, recs, e["tunnel"], e["tunnel_id"], e["extra_bytes"])
        if name + ":off" not in results:
            continue
        off, summary = results[name + ":off"][0]
        ends = [r for r in off if r["event"] == "end"]
        total = exp["plain.pcap"]["frames"]
        if e["off_gives"] == "none":
            if ends or not any(l.split()[:1] == ["drop_not_ip"] for l in summary.splitlines()):
                failures.append("%s with decap.%s off: %d flows, want none (drop_not_ip)" % (
                    name, e["switch"], len(ends)))
            continue
        want_proto = 47 if e["off_gives"] == "gre" else 17
        if len(ends) != 1 or ends[0]["ip_proto"] != want_proto or ends[0]["tunnel"] != "" or \
                ends[0]["c2s_packets"] + ends[0]["s2c_packets"] != total:
            failures.append("%s with decap.%s off: %s, want one outer flow of protocol %d "
                            "with %d packets" % (name, e["switch"],
                                                 [(r["ip_proto"], r["src_ip"], r["dst_ip"],
                                                   r["c2s_packets"]) for r in ends],
                                                 want_proto, total))

    # two ERSPAN sessions: every inner flow once per session, each equal to plain's
    two = results["erspan_two_sessions.pcap"][0][0]
    for sid, shift in zip(exp["erspan_two_sessions.pcap"]["tunnel_ids"],
                          exp["erspan_two_sessions.pcap"]["shift_us"]):
        compare("erspan_two_sessions.pcap session %d" % sid,
                [r for r in two if r["tunnel_id"] == sid], "erspan2", sid, None, shift)
    if len(two) != 2 * len(plain):
        failures.append("erspan_two_sessions.pcap: %d records, want %d" % (len(two), 2 * len(plain)))
    strip = lambda rs: sorted(json.dumps({k: v for k, v in r.items() if k not in ("seq", "worker")},
                                         sort_keys=True) for r in rs)
    if strip(two) != strip(results["erspan_two_sessions.pcap:w3"][0][0]):
        failures.append("erspan_two_sessions.pcap: records differ with 3 workers")
    ids = {r["flow_id"] for r in two if r["event"] == "end"}
    if len(ids) != len([r for r in two if r["event"] == "end"]):
        failures.append("erspan_two_sessions.pcap: two sessions' flows share a flow_id")

    for f in failures:
        print("FAIL: " + f)
    n = len(exp["captures"])
    if not failures:
        print("ok: %d tunnelled captures equal the unwrapped one (%d records), %d decap switches "
              "off give the outer flow, two ERSPAN sessions give separate flows (the same with 3 "
              "workers)" % (
                  n, len(plain), len(switches)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
