#!/usr/bin/python3
"""compare_builds.py - do two builds of tapwatch write the same things from the same captures?

    /usr/bin/python3 scripts/compare_builds.py OLD_BUILD NEW_BUILD [--out DIR] [--only N]
                                               [--ignore REGEX ...]

For a change that must not alter what tapwatch writes (a reshape, a speed-up), or to list what a
fix alters. Each capture (the 394 of ../shared/pcaps/ndpi when present, the generated ones of
scripts/gen_captures.py, scripts/gen_policy_captures.py and scripts/gen_malformed.py) runs
through both builds with a policy (tests/integration/policy.yaml for the policy captures, a
broad one built here for the others: every private address is equipment, so most flows are
evaluated) and a private redis-server per build. Compared, per capture:
  flows     the --flows-jsonl lines (sorted)
  alerts    the --alerts-jsonl lines (sorted)
  summary   the run summary, without the lines that measure time or memory (and those
            matching an --ignore REGEX: a line a change adds on purpose)
  redis     per key: the contents (TTLs left out) of the flow record hashes tw:{S}:f:*,
            the per-equipment summaries tw:{S}:sum:* (hashes and zsets), and the alert
            stream's fields (its entry IDs are write times)
Prints one line per capture that differs (which parts) and a last line
"compared N, differ M (flows A, alerts B, summary C, redis D)"; the outputs stay in DIR.
Exit 0 when nothing differs, 1 otherwise.
"""
import argparse
import glob
import os
import re
import socket
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "pcaps", "ndpi")

# every RFC 1918 network is equipment: most flows of the nDPI captures meet the rules
BROAD_POLICY = """timezone: UTC
domestic_networks: [10.0.0.0/8]
equipment:
  - {name: lan10, vendor: A, addresses: [10.0.0.0/8],
     declared: [{proto: udp, port: 53}, {app: TLS, server_name: "*.google.com"}]}
  - {name: lan192, vendor: B, addresses: [192.168.0.0/16], declared: [{proto: udp, port: 53}]}
  - {name: lan172, vendor: C, addresses: [172.16.0.0/12]}
maintenance: {hosts: [10.0.0.1], protocols: [SSH], windows: ["mon-fri 10:00-12:00"]}
limits: {upload_bytes_per_flow: 20000, upload_bytes_per_day: 200000}
rules: {risky_flow: {severity: high}}
"""

# summary lines that measure the machine, not the capture
VOLATILE = re.compile(r"^\s*(wall time|packets/s|peak memory)\b")


class Redis:
    """Just enough RESP over a unix socket (no Python Redis client in Debian's base)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(path)
        self.f = self.s.makefile("rb")

    @staticmethod
    def encode(args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        return out

    def call(self, *args):
        self.s.sendall(self.encode(args))
        return self.read()

    def pipeline(self, commands):
        self.s.sendall(b"".join(self.encode(c) for c in commands))
        return [self.read() for _ in commands]

    def read(self):
        line = self.f.readline()[:-2]
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    def keys(self, pattern):
        cursor, found = b"0", []
        while True:
            cursor, batch = self.call("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
            found += batch
            if cursor == b"0":
                return sorted(set(found))


def redis_view(r, sensor):
    """What the sensor left in Redis, as comparable text lines."""
    lines = []
    for pattern in ("tw:{%s}:f:*" % sensor, "tw:{%s}:sum:*" % sensor):
        keys = r.keys(pattern)
        types = r.pipeline([("TYPE", k) for k in keys])
        reads = {b"hash": ("HGETALL",), b"zset": ("ZRANGE", 0, -1, "WITHSCORES"),
                 b"set": ("SMEMBERS",), b"string": ("GET",)}
        values = r.pipeline([(reads[t][0], k) + reads[t][1:] for k, t in zip(keys, types)])
        for k, t, v in zip(keys, types, values):
            if t == b"hash":
                v = sorted("%s=%s" % (v[i].decode(errors="replace"), v[i + 1].decode(errors="replace"))
                           for i in range(0, len(v), 2))
            elif isinstance(v, list):
                v = sorted(x.decode(errors="replace") for x in v) if t == b"set" else \
                    [x.decode(errors="replace") for x in v]
            else:
                v = v.hex() if v else ""
            lines.append("%s %s" % (k.decode().split("}", 1)[1], " ".join(v) if isinstance(v, list) else v))
    entries = r.call("XRANGE", "tw:{%s}:alerts" % sensor, "-", "+") or []
    for _id, fields in entries:
        pairs = [(fields[i].decode(), fields[i + 1].decode()) for i in range(0, len(fields), 2)]
        lines.append("alert " + " ".join("%s=%s" % (k, v.replace(sensor, "S"))
                                         for k, v in sorted(pairs)))
    return sorted(lines)


def run(build, cap, policy, sock, sensor, outdir, ignore):
    flows, alerts = os.path.join(outdir, "flows.jsonl"), os.path.join(outdir, "alerts.jsonl")
    cmd = [os.path.join(build, "tapwatch"), "--pcap", cap, "--policy", policy,
           "--redis", "unix://" + sock, "--sensor", sensor, "--flows-jsonl", flows,
           "--alerts-jsonl", alerts, "--quiet"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    summary = [l for l in p.stdout.splitlines()
               if not VOLATILE.match(l) and not any(r.search(l) for r in ignore)]
    summary.append("exit %d" % p.returncode)

    def lines(path):
        try:
            with open(path, errors="replace") as f:
                return sorted(f.read().splitlines())
        except OSError:
            return []
    return {"flows": lines(flows), "alerts": lines(alerts), "summary": summary}


def captures(tmp):
    found = []
    gen = os.path.join(tmp, "gen")
    pol = os.path.join(tmp, "policy-caps")
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "gen_captures.py"), gen],
                   check=True, capture_output=True)
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "gen_policy_captures.py"), pol],
                   check=True, capture_output=True)
    for c in sorted(glob.glob(os.path.join(gen, "*.pcap*"))):
        found.append((c, None))
    for c in sorted(glob.glob(os.path.join(pol, "*.pcap*"))):
        found.append((c, os.path.join(ROOT, "tests", "integration", "policy.yaml")))
    bad = os.path.join(tmp, "malformed")
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "gen_malformed.py"), bad],
                   check=True, capture_output=True)
    for c in sorted(glob.glob(os.path.join(bad, "*.pcap*"))):
        found.append((c, None))
    if os.path.isdir(SHARED):
        for c in sorted(glob.glob(os.path.join(SHARED, "*"))):
            found.append((c, None))
    else:
        print("note: %s absent, generated captures only" % SHARED)
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", type=int, default=0, help="first N captures (a quick look)")
    ap.add_argument("--ignore", action="append", default=[], metavar="REGEX",
                    help="summary lines to leave out of the comparison")
    a = ap.parse_args()
    ignore = [re.compile(r) for r in a.ignore]
    out = a.out or tempfile.mkdtemp(prefix="tw-compare.")
    os.makedirs(out, exist_ok=True)
    broad = os.path.join(out, "broad-policy.yaml")
    with open(broad, "w") as f:
        f.write(BROAD_POLICY)
    caps = captures(out)
    if a.only:
        caps = caps[:a.only]
    local = os.path.join(ROOT, "scripts", "redis-local.sh")
    socks, conns = {}, {}
    for side in ("old", "new"):
        d = os.path.join(out, "redis-" + side)
        socks[side] = subprocess.run(["bash", local, "start", d], check=True, capture_output=True,
                                     text=True).stdout.strip()
        conns[side] = Redis(socks[side])
    differ, parts = 0, {"flows": 0, "alerts": 0, "summary": 0, "redis": 0}
    try:
        for i, (cap, policy) in enumerate(caps):
            got = {}
            for side, build in (("old", a.old), ("new", a.new)):
                d = os.path.join(out, side, "%03d" % i)
                os.makedirs(d, exist_ok=True)
                sensor = "cmp%03d" % i
                got[side] = run(build, cap, policy or broad, socks[side], sensor, d, ignore)
                got[side]["redis"] = redis_view(conns[side], sensor)
            bad = [k for k in parts if got["old"][k] != got["new"][k]]
            if bad:
                differ += 1
                for k in bad:
                    parts[k] += 1
                print("%03d %s: %s" % (i, os.path.basename(cap), ", ".join(bad)))
                for k in bad:
                    with open(os.path.join(out, "%03d.%s.diff" % (i, k)), "w") as f:
                        old, new = set(got["old"][k]), set(got["new"][k])
                        f.writelines("- %s\n" % l for l in sorted(old - new))
                        f.writelines("+ %s\n" % l for l in sorted(new - old))
    finally:
        for side in socks:
            subprocess.run(["bash", local, "stop", os.path.join(out, "redis-" + side)],
                           capture_output=True)
    print("outputs in %s" % out)
    print("compared %d, differ %d (%s)" % (len(caps), differ,
                                           ", ".join("%s %d" % kv for kv in parts.items())))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
