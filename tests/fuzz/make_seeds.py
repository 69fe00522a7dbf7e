#!/usr/bin/env python3
"""make_seeds.py - seed corpora for the fuzz targets in tests/fuzz/ (never committed).

    python3 tests/fuzz/make_seeds.py OUTDIR

Writes OUTDIR/<target>/ for each target, deterministic:
  parse        valid frames of every link type fuzz_parse.c knows (byte 0 = its link-type
               index, byte 1 = snapped flag), built here, plus the frames of the
               scripts/gen_captures.py captures when scapy is there to build them, and one
               frame of each tunnel kind (GRE, ERSPAN II/III, VXLAN, Geneve, GTP-U, PW, nested);
  pcap         small pcap/pcapng files: one per link type built here, the
               scripts/gen_captures.py captures (when scapy is available) and the broken ones
               of scripts/gen_malformed.py;
  config       the fixtures of tests/fixtures/config and config/tapwatch.yaml;
  timeparse    time strings of every accepted form and some refused ones;
  record_json  flow records as tapwatch writes them, and near misses;
  policy       the policy fixtures (tests/fixtures/policy, config/*policy*.yaml) when present.
Only the standard library is needed; without scapy the gen_captures.py part is left out
(and said so on stderr).
"""
import glob
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import gen_malformed as gm  # noqa: E402  (the packet and file builders)

# Must match link_types[] in fuzz_parse.c (the index is byte 0 of a parse input).
PARSE_LINKS = [1, 113, 276, 101, 12, 14, 228, 229, 0, 108, 9, 104, 147]
MAX_PCAP_SEED = 128 * 1024


def ip_packets():
    """(name, IP packet) pairs covering what the decoder follows."""
    c4, s4, c6, s6 = gm.CLIENT4, gm.SERVER4, gm.CLIENT6, gm.SERVER6
    return [
        ("tcp4_syn", gm.ipv4(6, gm.tcp(40000, 443, 0x02))),
        ("tcp4_data", gm.ipv4(6, gm.tcp(40000, 80, 0x18, payload=b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"))),
        ("tcp4_opts", gm.ipv4(6, gm.tcp(40000, 22, 0x02, doff=8, opts=b"\x02\x04\x05\xb4\x01\x03\x03\x07\x04\x02\x00\x00"))),
        ("udp4_dns", gm.ipv4(17, gm.udp(5353, 53, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01"))),
        ("icmp4", gm.ipv4(1, gm.icmp())),
        ("ip4_opts", gm.ipv4(17, gm.udp(1, 2, b"x"), opts=b"\x94\x04\x00\x00")),
        ("ip4_frag_first", gm.ipv4(17, gm.udp(1, 2, b"x" * 16), frag=0x2000)),
        ("ip4_frag_next", gm.ipv4(17, b"y" * 16, frag=0x0002)),
        ("gre4", gm.ipv4(47, b"\x00\x00\x08\x00")),
        ("tcp6", gm.ipv6(6, gm.tcp(40000, 443, 0x02))),
        ("udp6", gm.ipv6(17, gm.udp(40000, 443, b"q" * 20))),
        ("icmp6", gm.ipv6(58, b"\x80\x00\x00\x00\x00\x01\x00\x01")),
        ("ip6_ext", gm.ipv6(0, gm.ext6(60) + gm.ext6(43, 0) + gm.ext6(6) + gm.tcp())),
        ("ip6_ah", gm.ipv6(51, struct.pack("!BBHII", 17, 1, 0, 1, 1) + b"\0" * 4 + gm.udp())),
        ("ip6_frag_first", gm.ipv6(44, gm.frag6(17, 0, True) + gm.udp(1, 2, b"z" * 8))),
        ("ip4_in_ip6", gm.ipv6(4, gm.ipv4(6, gm.tcp()))),
        ("ip6_in_ip4", gm.ipv4(41, gm.ipv6(17, gm.udp()))),
        ("ip4_in_ip4", gm.ipv4(4, gm.ipv4(17, gm.udp()))),
    ]


def link_frames(ip):
    """(link type, frame) pairs: the IP packet under every link header tapwatch decodes."""
    v6 = ip[0] >> 4 == 6
    et = gm.ETH_IPV6 if v6 else gm.ETH_IPV4
    ppp = 0x0057 if v6 else 0x0021
    out = [
        (1, gm.eth(et, ip)),
        (1, gm.eth_vlan([(gm.ETH_VLAN, 10)], et, ip)),
        (1, gm.eth_vlan([(gm.ETH_QINQ, 10), (gm.ETH_VLAN, 20)], et, ip)),
        (1, gm.eth(gm.ETH_MPLS, gm.mpls([16, 17]) + ip)),
        (1, gm.eth(gm.ETH_PPPOE_SESSION, gm.pppoe(ppp, ip))),
        (1, gm.eth(len(ip) + 8, b"\xaa\xaa\x03\0\0\0" + struct.pack("!H", et) + ip)),
        (113, gm.sll(et, ip)),
        (276, gm.sll2(et, ip)),
        (101, ip), (12, ip), (14, ip),
        (229 if v6 else 228, ip),
        (0, struct.pack("<I", 24 if v6 else 2) + ip),
        (0, struct.pack(">I", 30 if v6 else 2) + ip),
        (108, struct.pack(">I", 28 if v6 else 2) + ip),
        (9, b"\xff\x03" + struct.pack("!H", ppp) + ip),
        (9, struct.pack("!H", ppp) + ip),
        (104, b"\x0f\x00" + struct.pack("!H", et) + ip),
    ]
    return out


def tunnel_frames():
    """(name, Ethernet frame) of every tunnel kind the decoder opens, around one TCP packet."""
    inner_ip = gm.ipv4(6, gm.tcp(40001, 80, 0x18, payload=b"GET / HTTP/1.1\r\nHost: inner\r\n\r\n"))
    inner_eth = gm.eth(gm.ETH_IPV4, inner_ip)
    seq = struct.pack("!I", 1)
    gre = lambda flags, proto, opts=b"": struct.pack("!HH", flags, proto) + opts
    erspan2 = struct.pack("!HHI", 0x1000 | 100, 300, 0)
    erspan3 = struct.pack("!HHIHH", 0x2000 | 100, 7, 0x12345678, 0, 0)
    erspan3o = struct.pack("!HHIHH", 0x2000 | 100, 7, 0x12345678, 0, 1) + b"\x18" + b"\0" * 7
    vxlan = struct.pack("!II", 0x08000000, 12345 << 8)
    geneve = struct.pack("!BBHI", 2, 0, 0x6558, 42 << 8) + struct.pack("!HBB", 0x0102, 0x80, 1) + b"\xde\xad\xbe\xef"
    gtpu = struct.pack("!BBHI", 0x34, 255, 0, 0x11223344) + b"\0\0\0\x85" + b"\x01\x00\x09\x40" + b"\x01\x08\x68\x00"
    udp = lambda port, payload: gm.udp(50000, port, payload)
    out = [
        ("gre_ip4", gm.eth4(gm.ipv4(47, gre(0, 0x0800) + inner_ip))),
        ("gre_key_seq", gm.eth4(gm.ipv4(47, gre(0x3000, 0x0800, struct.pack("!I", 1234) + seq) + inner_ip))),
        ("gre_csum_ip6", gm.eth4(gm.ipv4(47, gre(0x8000, 0x86dd, b"\0" * 4) + gm.ipv6(6, gm.tcp())))),
        ("gre_teb", gm.eth6(gm.ipv6(47, gre(0x2000, 0x6558, struct.pack("!I", 7)) + inner_eth))),
        ("erspan2", gm.eth4(gm.ipv4(47, gre(0x1000, 0x88be, seq) + erspan2 + inner_eth))),
        ("erspan3", gm.eth4(gm.ipv4(47, gre(0x1000, 0x22eb, seq) + erspan3 + inner_eth))),
        ("erspan3_platform", gm.eth4(gm.ipv4(47, gre(0x1000, 0x22eb, seq) + erspan3o + inner_eth))),
        ("vxlan", gm.eth4(gm.ipv4(17, udp(4789, vxlan + inner_eth)))),
        ("geneve", gm.eth6(gm.ipv6(17, udp(6081, geneve + inner_eth)))),
        ("gtpu_ext", gm.eth4(gm.ipv4(17, udp(2152, gtpu + inner_ip)))),
        ("mpls_pw", gm.eth(gm.ETH_MPLS, gm.mpls([16]) + b"\0\0\0\0" + inner_eth)),
        ("pppoe_short", gm.eth(gm.ETH_PPPOE_SESSION, bytes([0x11, 0, 0x12, 0x34]) +
                               struct.pack("!H", len(inner_ip) + 1) + b"\x21" + inner_ip)),
        ("vxlan_in_gre", gm.eth4(gm.ipv4(47, gre(0, 0x0800) + gm.ipv4(17, udp(4789, vxlan + inner_eth))))),
        ("erspan_in_vxlan", gm.eth4(gm.ipv4(17, udp(4789, vxlan + gm.eth4(
            gm.ipv4(47, gre(0x1000, 0x88be, seq) + erspan2 + inner_eth)))))),
    ]
    return out


def write(d, name, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read_pcap(path):
    """(link type, [frame]) of a little- or big-endian classic pcap; None for anything else."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return None
    for e in ("<", ">"):
        magic, = struct.unpack(e + "I", data[:4])
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            break
    else:
        return None
    linktype, = struct.unpack(e + "I", data[20:24])
    frames, off = [], 24
    while off + 16 <= len(data):
        caplen, = struct.unpack(e + "I", data[off + 8:off + 12])
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return linktype, frames


def gen_captures(tmp):
    """Runs scripts/gen_captures.py (needs scapy) into tmp; returns the folder or None."""
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    out = os.path.join(tmp, "captures")
    r = subprocess.run([py, os.path.join(ROOT, "scripts", "gen_captures.py"), out],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["failed"])[-1]
        sys.stderr.write("make_seeds: scripts/gen_captures.py left out (%s)\n" % last)
        return None
    return out


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: make_seeds.py OUTDIR\n")
        return 2
    out = sys.argv[1]
    for t in ("parse", "pcap", "config", "timeparse", "record_json", "policy", "reassembly",
              "evidence"):
        shutil.rmtree(os.path.join(out, t), ignore_errors=True)
    tmp = tempfile.mkdtemp(prefix="tw-seeds.")
    try:
        counts = build(out, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("make_seeds: " + ", ".join("%s %d" % kv for kv in counts.items()) + " in " + out)
    return 0


def build(out, tmp):
    counts = {}

    # parse: every IP packet under every link header; one pcap per link type for "pcap"
    d = os.path.join(out, "parse")
    per_link = {}
    n = 0
    for name, ip in ip_packets():
        for lt, frame in link_frames(ip):
            idx = PARSE_LINKS.index(lt)
            write(d, "%s_lt%d_%d" % (name, lt, n), bytes([idx, 0]) + frame)
            per_link.setdefault(lt, []).append(frame)
            n += 1
    for name, frame in tunnel_frames():
        write(d, "tunnel_" + name, bytes([0, 0]) + frame)
        write(d, "tunnel_" + name + "_snapped", bytes([0, 1]) + frame[:60])
    write(d, "user0", bytes([PARSE_LINKS.index(147), 0]) + b"\0" * 20)
    write(d, "snapped_tcp4", bytes([0, 1]) + gm.eth(gm.ETH_IPV4, ip_packets()[1][1])[:40])
    caps = gen_captures(tmp)
    if caps:
        for p in sorted(glob.glob(os.path.join(caps, "*.pcap"))):
            got = read_pcap(p)
            if not got or got[0] not in PARSE_LINKS:
                continue
            for i, frame in enumerate(got[1][:40]):
                write(d, "%s_%d" % (os.path.basename(p), i), bytes([PARSE_LINKS.index(got[0]), 0]) + frame)
    counts["parse"] = len(os.listdir(d))

    # reassembly: fragment records (tests/fuzz/fuzz_reassembly.c): flags, id, offset, length
    d = os.path.join(out, "reassembly")
    def frag(v6, more, ident, units, payload, step=1):
        return bytes([(1 if v6 else 0) | (2 if more else 0) | step << 3, ident]) + \
            struct.pack(">HB", units, len(payload)) + payload
    udp = struct.pack(">HHHH", 5000, 5001, 48, 0) + bytes(range(40))
    for v6 in (False, True):
        tag = "v6" if v6 else "v4"
        write(d, "in_order_" + tag, frag(v6, 1, 1, 0, udp[:16]) + frag(v6, 1, 1, 2, udp[16:32]) +
              frag(v6, 0, 1, 4, udp[32:]))
        write(d, "reversed_" + tag, frag(v6, 0, 2, 4, udp[32:]) + frag(v6, 1, 2, 2, udp[16:32]) +
              frag(v6, 1, 2, 0, udp[:16]))
        write(d, "overlap_" + tag, frag(v6, 1, 3, 0, udp[:24]) + frag(v6, 1, 3, 2, b"X" * 16) +
              frag(v6, 0, 3, 4, udp[32:]))
        write(d, "teardrop_" + tag, frag(v6, 1, 4, 0, udp[:40]) + frag(v6, 0, 4, 1, b"y" * 4))
        write(d, "beyond_" + tag, frag(v6, 1, 5, 0, udp[:16]) + frag(v6, 0, 5, 8190, b"L" * 64))
    write(d, "many", b"".join(frag(False, i < 19, 6, i, b"m" * 8) for i in range(20)))
    write(d, "flood", b"".join(frag(False, 1, i, 0, udp[:16], 0) for i in range(12)) +
          frag(False, 0, 0, 2, udp[16:], 7))
    write(d, "raw", bytes([4, 0, 28]) + bytes.fromhex("4500001c0001200040110000") +
          bytes([10, 0, 0, 1, 10, 0, 0, 2]) + udp[:8])
    counts["reassembly"] = len(os.listdir(d))

    # pcap
    d = os.path.join(out, "pcap")
    for lt, frames in sorted(per_link.items()):
        write(d, "lt%d.pcap" % lt, gm.pcap_of(frames[:8], lt))
        ng = gm.shb() + gm.idb(lt) + b"".join(gm.epb(f) for f in frames[:8])
        write(d, "lt%d.pcapng" % lt, ng)
    if caps:
        for p in sorted(glob.glob(os.path.join(caps, "*.pcap*"))):
            if os.path.getsize(p) <= MAX_PCAP_SEED:
                shutil.copy(p, os.path.join(d, "gen_" + os.path.basename(p)))
    gm.CASES.clear()
    gm.build()
    for name, _expect, data in gm.CASES:
        if len(data) <= MAX_PCAP_SEED:
            write(d, "malformed_" + name, data)
    counts["pcap"] = len(os.listdir(d))

    # config
    d = os.path.join(out, "config")
    os.makedirs(d, exist_ok=True)
    for p in sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "config", "*.yaml")) +
                    [os.path.join(ROOT, "config", "tapwatch.yaml")]):
        if os.path.isfile(p):
            shutil.copy(p, os.path.join(d, os.path.basename(p)))
    counts["config"] = len(os.listdir(d))

    # timeparse
    d = os.path.join(out, "timeparse")
    times = ["2026-03-02", "2026-03-02T09:00:00Z", "2026-03-02T09:00Z", "2026-03-02 09:00:00Z",
             "2026-03-02T09:00:00.250+08:00", "2026-03-02T09:00:00,5-0530", "2024-02-29T23:59:59.999999999Z",
             "1970-01-01T00:00:00+00:01", "9999-12-31T23:59:59-14:00", "2026-13-01", "2026-02-30",
             "2026-03-02T09:00:00", "1654385142", "1654385142.293", "999999999999.999999",
             "9999999999999", "-45s", "-30m", "-2h", "-7d", "-999999999d", "-213503983d", "-0s",
             "now", "", "-", "-5", "-5x", "2026-03-02T24:00:00Z", "20260302", "1.", ".5"]
    for i, t in enumerate(times):
        write(d, "t%02d" % i, t.encode())
    counts["timeparse"] = len(os.listdir(d))

    # evidence: a seal line, tagged texts, alert fields (control/evidence/)
    d = os.path.join(out, "evidence")
    seal = ("tws1 sensor=s1 run=000661a8049aa9c0 no=1 first=1 last=306 prev_chain=" + "a5" * 32 +
            " chain=" + "4f" * 32 + " prev_seal=" + "00" * 32 + " time=1796224119981231 ttl=604800"
            " keep=15552000 long=3,7 key=a32c37c1ec7812ee sig=" + "a5" * 64)
    for i, t in enumerate([seal, seal.replace("no=1", "no=01"), seal[:200],
                           '{"flow_id":"00ff","c2s_bytes":12,"seq":42,"run":"000661a8049aa9c0"}',
                           '{"seq":1,"run":"0000000000000001"}', '{"seq":,"run":""}',
                           "kind\0risky_flow\0detail\0\0seq\0" + "7"]):
        write(d, "e%02d" % i, t.encode())
    counts["evidence"] = len(os.listdir(d))

    # record_json
    d = os.path.join(out, "record_json")
    rec4 = ('{"flow_id":"0123456789abcdef","event":"end","ip_version":4,"src_ip":"10.1.0.1",'
            '"src_port":40000,"dst_ip":"10.1.0.2","dst_port":443,"ip_proto":6,"vlan":12,'
            '"first_seen":1772442000.000001,"last_seen":1772442060.250000,"c2s_packets":10,'
            '"c2s_bytes":1200,"s2c_packets":8,"s2c_bytes":9000,"app":"TLS.Google","category":"Web",'
            '"server_name":"www.google.com","risks":["Known Protocol on Non Standard Port","63"],'
            '"end_reason":"tcp_close","tls_version":771,"ja3c":"0123456789abcdef0123456789abcdef"}')
    recs = [
        rec4,
        rec4.replace('"ip_version":4', '"ip_version":6').replace('10.1.0.1', '2001:db8::1')
            .replace('10.1.0.2', 'fe80::1%eth0'),
        rec4.replace('"ip_version":4', '"ip_version":6').replace('10.1.0.1', '2001:db8::1')
            .replace('10.1.0.2', '::ffff:10.1.0.2'),
        rec4.replace('1772442000.000001', '1.772442e9').replace('1772442060.250000', '1772442060'),
        rec4.replace('1772442000.000001', '1e13'),
        rec4.replace('"www.google.com"', '"\\u00e9\\ud83d\\ude00\\u0000x\\ufffd' + 'y' * 90 + '"'),
        rec4.replace('"c2s_bytes":1200', '"c2s_bytes":18446744073709551615'),
        rec4.replace('"vlan":12', '"vlan":-1'),
        rec4.replace('"event":"end"', '"event":"update"').replace('"end_reason":"tcp_close"', '"end_reason":"none"'),
        rec4[:-1] + ',"src_mac":"02:42:AC:11:00:07"}',
        rec4[:-1] + ',"src_mac":""}',
        rec4[:-1] + ',"src_mac":"02:42:ac:11:00"}',
        '{}', '[]', '"x"', '{"flow_id":"0123456789abcdef"}',
    ]
    for i, r in enumerate(recs):
        write(d, "r%02d.json" % i, r.encode())
    counts["record_json"] = len(os.listdir(d))

    # policy (when the loader and its fixtures exist)
    d = os.path.join(out, "policy")
    os.makedirs(d, exist_ok=True)
    for p in sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "policy", "*.yaml")) +
                    glob.glob(os.path.join(ROOT, "config", "*policy*.yaml")) +
                    [os.path.join(ROOT, "tests", "integration", "silence.yaml")]):  # silence keys
        if not os.path.exists(p):
            continue
        shutil.copy(p, os.path.join(d, os.path.basename(p)))
    if not os.listdir(d):
        write(d, "minimal.yaml", b"equipment: []\n")
    # monitored_networks (unknown_device): segments holding the target's flow ends, one of them
    # equipment, so that a loaded policy walks the rule
    write(d, "monitored_networks.yaml",
          b"timezone: \"+08:00\"\n"
          b"monitored_networks: [10.0.0.0/24, \"2001:db8::/64\", 10.0.0.2]\n"
          b"equipment:\n"
          b"  - {name: atm-01, addresses: [10.0.0.1, \"2001:db8::1\"]}\n"
          b"rules:\n"
          b"  unknown_device: {severity: critical}\n")
    counts["policy"] = len(os.listdir(d))
    return counts


if __name__ == "__main__":
    sys.exit(main())
