#!/usr/bin/python3
"""gen_tunnel_captures.py - the same inner flows, unwrapped and inside every tunnel tapwatch opens.

    /usr/bin/python3 scripts/gen_tunnel_captures.py OUTDIR

Inner flows (one Ethernet link, as the monitored switch port carried them):
  - HTTP  10.1.1.10:40001 -> 10.2.2.20:80, GET with Host inner.example.com, then FIN;
  - DNS   10.1.1.10:53001 -> 10.2.2.53:53, query and answer for inner.example.com;
  - TCP over IPv6 [2001:db8:1::10]:40002 -> [2001:db8:2::20]:22, an SSH banner exchange.
plain.pcap holds them unwrapped; every other capture wraps each frame of plain.pcap, with the
same timestamps, in one tunnel (or two, nested). expected.json says, per capture, the tunnel
the records must name, its id, how each frame's bytes are counted ("inner": the Ethernet frame
the tunnel carried, so the bytes of plain.pcap; "outer": the frame as received), the extra
bytes per frame in the "outer" case, and the decap switch that turns it off.

Tunnel headers are built by scapy's layers (GRE, ERSPAN II/III, VXLAN, Geneve, GTP-U, MPLS,
PPPoE); the pcap files are written here with struct, so the output is byte-for-byte the same
on every run.
"""
import calendar
import json
import os
import struct
import sys
import time

from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III, ERSPAN_PlatformSpecific
from scapy.contrib.geneve import GENEVE, GeneveOptions
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer
from scapy.contrib.mpls import MPLS
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import GRE, Ether
from scapy.layers.ppp import PPPoE
from scapy.layers.vxlan import VXLAN

START_US = calendar.timegm(time.strptime("2026-03-02T09:00:00", "%Y-%m-%dT%H:%M:%S")) * 1_000_000
CLIENT_MAC, SERVER_MAC = "02:00:00:00:00:0a", "02:00:00:00:00:14"
SWITCH_MAC, SENSOR_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
SWITCH4, SENSOR4 = "192.0.2.1", "192.0.2.2"
SWITCH6, SENSOR6 = "2001:db8:ff::1", "2001:db8:ff::2"


def inner_frames():
    """[(time_us, Ethernet frame bytes)] of the three inner flows, in time order."""
    out = []
    t = START_US

    def add(pkt, dt=1000):
        nonlocal t
        t += dt
        out.append((t, bytes(pkt)))

    def eth(c2s):
        return Ether(src=CLIENT_MAC, dst=SERVER_MAC) if c2s else Ether(src=SERVER_MAC, dst=CLIENT_MAC)

    def tcp_flow(l3c, l3s, sport, dport, c2s_data, s2c_data):
        cseq, sseq = 1000, 5000
        add(eth(1) / l3c / TCP(sport=sport, dport=dport, flags="S", seq=cseq))
        add(eth(0) / l3s / TCP(sport=dport, dport=sport, flags="SA", seq=sseq, ack=cseq + 1))
        cseq += 1
        sseq += 1
        add(eth(1) / l3c / TCP(sport=sport, dport=dport, flags="A", seq=cseq, ack=sseq))
        add(eth(1) / l3c / TCP(sport=sport, dport=dport, flags="PA", seq=cseq, ack=sseq) / c2s_data)
        cseq += len(c2s_data)
        add(eth(0) / l3s / TCP(sport=dport, dport=sport, flags="PA", seq=sseq, ack=cseq) / s2c_data)
        sseq += len(s2c_data)
        add(eth(1) / l3c / TCP(sport=sport, dport=dport, flags="FA", seq=cseq, ack=sseq))
        add(eth(0) / l3s / TCP(sport=dport, dport=sport, flags="FA", seq=sseq, ack=cseq + 1))
        add(eth(1) / l3c / TCP(sport=sport, dport=dport, flags="A", seq=cseq + 1, ack=sseq + 1))

    c4, s4 = IP(src="10.1.1.10", dst="10.2.2.20"), IP(src="10.2.2.20", dst="10.1.1.10")
    tcp_flow(c4, s4, 40001, 80,
             b"GET /index.html HTTP/1.1\r\nHost: inner.example.com\r\nUser-Agent: curl/7.88.1\r\n"
             b"Accept: */*\r\n\r\n",
             b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<html></html>")
    d4, r4 = IP(src="10.1.1.10", dst="10.2.2.53"), IP(src="10.2.2.53", dst="10.1.1.10")
    add(eth(1) / d4 / UDP(sport=53001, dport=53) / DNS(id=0x1234, rd=1, qd=DNSQR(qname="inner.example.com")))
    add(eth(0) / r4 / UDP(sport=53, dport=53001) /
        DNS(id=0x1234, qr=1, rd=1, ra=1, qd=DNSQR(qname="inner.example.com"),
            an=DNSRR(rrname="inner.example.com", rdata="10.2.2.20", ttl=300)))
    c6, s6 = IPv6(src="2001:db8:1::10", dst="2001:db8:2::20"), IPv6(src="2001:db8:2::20", dst="2001:db8:1::10")
    tcp_flow(c6, s6, 40002, 22, b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3\r\n")
    return out


def ip_of(frame):
    """The IP packet inside an inner Ethernet frame, and its ethertype."""
    return frame[14:], struct.unpack("!H", frame[12:14])[0]


def outer4(proto_layer):
    return Ether(src=SWITCH_MAC, dst=SENSOR_MAC) / IP(src=SWITCH4, dst=SENSOR4, ttl=62) / proto_layer


def outer6(proto_layer):
    return Ether(src=SWITCH_MAC, dst=SENSOR_MAC) / IPv6(src=SWITCH6, dst=SENSOR6, hlim=62) / proto_layer


# Each wrapper: (frame bytes, index) -> wrapped frame bytes.
def gre_ip(frame, i, key=None, seq=False, v6_outer=False):
    ip, et = ip_of(frame)
    g = GRE(proto=et)
    if key is not None:
        g.key_present, g.key = 1, key
    if seq:
        g.seqnum_present, g.sequence_number = 1, i
    return bytes((outer6 if v6_outer else outer4)(g / ip))


def gre_teb(frame, i):
    return bytes(outer4(GRE(proto=0x6558, key_present=1, key=7) / frame))


def erspan2(frame, i, session=300):
    return bytes(outer4(GRE(proto=0x88BE, seqnum_present=1, sequence_number=i) /
                        ERSPAN_II(ver=1, vlan=0, session_id=session, index=5) / frame))


def erspan3(frame, i, platform=False):
    e = ERSPAN_III(session_id=9, timestamp=i * 1000, ft=0, o=1 if platform else 0)
    if platform:
        e = e / ERSPAN_PlatformSpecific(platf_id=3, info1=0x12, info2=0x3456)
    return bytes(outer4(GRE(proto=0x22EB, seqnum_present=1, sequence_number=i) / e / frame))


def vxlan(frame, i, vni=5001, port=4789):
    return bytes(outer4(UDP(sport=49152, dport=port) / VXLAN(flags=0x08, vni=vni) / frame))


def geneve(frame, i):
    opts = [GeneveOptions(classid=0x0102, type=0x80, data=b"\xde\xad\xbe\xef"),
            GeneveOptions(classid=0x0103, type=0x01, data=b"\x00\x00\x00\x01\x00\x00\x00\x02")]
    return bytes(outer6(UDP(sport=49153, dport=6081) / GENEVE(vni=6001, proto=0x6558, options=opts) / frame))


def gtpu(frame, i):
    ip, _ = ip_of(frame)
    h = GTP_U_Header(teid=0x0BADCAFE, E=1, S=1, seq=i, next_ex=0x85)
    return bytes(outer4(UDP(sport=2152, dport=2152) / h / GTPPDUSessionContainer(type=1, QFI=9, NextExtHdr=0) / ip))


def eompls(frame, i):
    return bytes(Ether(src=SWITCH_MAC, dst=SENSOR_MAC, type=0x8847) / MPLS(label=1000, s=0, ttl=64) /
                 MPLS(label=2001, s=1, ttl=64)) + struct.pack("!I", i & 0xffff) + frame


def pppoe_short(frame, i):
    ip, et = ip_of(frame)
    ppp = b"\x21" if et == 0x0800 else b"\x57"
    return bytes(Ether(src=SWITCH_MAC, dst=SENSOR_MAC, type=0x8864) /
                 PPPoE(sessionid=0x4242, len=len(ppp) + len(ip))) + ppp + ip


def vxlan_in_gre(frame, i):
    inner = vxlan(frame, i, vni=5002)
    return gre_ip(inner, i, key=77)


def erspan_in_vxlan(frame, i):
    return vxlan(erspan2(frame, i, session=301), i, vni=5003)


# name: (wrapper, tunnel, tunnel_id, byte rule, switch that turns it off, what is left then)
CAPTURES = {
    "gre4.pcap": (lambda f, i: gre_ip(f, i), "gre", 0, "outer", "gre", "gre"),
    "gre6_outer.pcap": (lambda f, i: gre_ip(f, i, v6_outer=True), "gre", 0, "outer", "gre", "gre"),
    "gre_keyseq.pcap": (lambda f, i: gre_ip(f, i, key=1001, seq=True), "gre", 1001, "outer", "gre", "gre"),
    "gre_teb.pcap": (gre_teb, "gre", 7, "inner", "gre", "gre"),
    "erspan2.pcap": (erspan2, "erspan2", 300, "inner", "erspan", "gre"),
    "erspan3.pcap": (erspan3, "erspan3", 9, "inner", "erspan", "gre"),
    "erspan3_platform.pcap": (lambda f, i: erspan3(f, i, True), "erspan3", 9, "inner", "erspan", "gre"),
    "vxlan.pcap": (vxlan, "vxlan", 5001, "inner", "vxlan", "udp"),
    "geneve.pcap": (geneve, "geneve", 6001, "inner", "geneve", "udp"),
    "gtpu.pcap": (gtpu, "gtpu", 0x0BADCAFE, "outer", "gtpu", "udp"),
    "eompls.pcap": (eompls, "mpls-pw", 2001, "inner", "mpls_pw", "none"),
    "pppoe_short.pcap": (pppoe_short, "", 0, "outer", None, None),
    "vxlan_in_gre.pcap": (vxlan_in_gre, "gre", 77, "inner", "gre", "gre"),
    "erspan_in_vxlan.pcap": (erspan_in_vxlan, "vxlan", 5003, "inner", "vxlan", "udp"),
}


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for t, b in frames:
            f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(b), len(b)))
            f.write(b)


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: gen_tunnel_captures.py OUTDIR\n")
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    plain = inner_frames()
    write_pcap(os.path.join(out, "plain.pcap"), plain)
    exp = {"plain.pcap": {"frames": len(plain)}, "captures": {}}
    for name, (wrap, tunnel, tid, rule, switch, off) in CAPTURES.items():
        frames = [(t, wrap(b, i)) for i, (t, b) in enumerate(plain)]
        write_pcap(os.path.join(out, name), frames)
        # "outer": bytes as received, so the frame lengths differ from plain.pcap's by the
        # encapsulation, per frame; "inner": the Ethernet frame carried, plain.pcap's bytes
        extra = [len(w) - len(b) for (_, w), (_, b) in zip(frames, plain)]
        exp["captures"][name] = {"tunnel": tunnel, "tunnel_id": tid, "bytes": rule,
                                 "extra_bytes": extra if rule == "outer" else None,
                                 "switch": switch, "off_gives": off}
    # two ERSPAN sessions (two switches) mirroring the same inner flows: the second copy 50 us
    # after the first, so the flows overlap in time as well as in addresses
    two = []
    for i, (t, b) in enumerate(plain):
        two.append((t, erspan2(b, i, session=10)))
        two.append((t + 50, erspan2(b, i, session=20)))
    write_pcap(os.path.join(out, "erspan_two_sessions.pcap"), two)
    exp["erspan_two_sessions.pcap"] = {"tunnel": "erspan2", "tunnel_ids": [10, 20], "shift_us": [0, 50]}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(exp, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
