#!/usr/bin/env python3
"""gen_malformed.py - write deliberately broken captures and what tapwatch must do with each.

    python3 scripts/gen_malformed.py OUTDIR

Standard library only (struct), deterministic: the same bytes on every run and machine. The
files are never committed; tests/integration/test_malformed.sh generates them into a temporary
folder, and tests/fuzz/make_seeds.py uses them as seeds for the capture-file fuzzer.

OUTDIR/index.json says, for each capture:
  "expect": "exit0"   tapwatch runs to the end (exit 0); every frame it cannot use is counted
                      under a named drop counter, so received = parsed + the sum of the drops;
            "error"   the file itself is refused: exit status 1..127 and exactly one line on
                      stderr that contains "error" (a substring, e.g. "not a pcap");
  "nonzero":          (exit0, optional) drop counters that must be non-zero; an entry that is a
                      list means "at least one of these";
  "received":         (exit0, optional) how many frames libpcap must hand over;
  "cut":              (exit0, optional) true when the file ends inside a record or block, so
                      tapwatch must print one line saying where it was cut;
  "why":              what is wrong with the file.
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inet_csum import csum  # noqa: E402

BASE_TS = 1772442000  # 2026-03-02T09:00:00Z: fixed, so the files never change

LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_PPP, LINKTYPE_RAW = 0, 1, 9, 101
LINKTYPE_C_HDLC, LINKTYPE_LOOP, LINKTYPE_SLL, LINKTYPE_SLL2 = 104, 108, 113, 276
LINKTYPE_USER0 = 147

ETH_IPV4, ETH_IPV6, ETH_ARP, ETH_VLAN, ETH_QINQ = 0x0800, 0x86DD, 0x0806, 0x8100, 0x88A8
ETH_MPLS, ETH_PPPOE_SESSION = 0x8847, 0x8864

CLIENT4, SERVER4 = bytes([10, 1, 0, 1]), bytes([10, 1, 0, 2])
CLIENT6 = bytes.fromhex("20010db8000000000000000000000001")
SERVER6 = bytes.fromhex("20010db8000000000000000000000002")


# ---- packet builders -----------------------------------------------------------------------



def ipv4(proto, payload, src=CLIENT4, dst=SERVER4, ihl=None, total=None, frag=0, ver=4,
         opts=b"", ident=1):
    """IPv4 header + payload. ihl/total/ver may lie; the bytes written are always 20 + opts."""
    if ihl is None:
        ihl = (20 + len(opts)) // 4
    if total is None:
        total = 20 + len(opts) + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", (ver << 4) | (ihl & 15), 0, total & 0xFFFF, ident, frag,
                      64, proto, 0, src, dst) + opts
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(nh, payload, src=CLIENT6, dst=SERVER6, plen=None, ver=6):
    if plen is None:
        plen = len(payload)
    return struct.pack("!IHBB16s16s", ver << 28, plen & 0xFFFF, nh, 64, src, dst) + payload


def ext6(nh, length_units=0, body=None):
    """A generic IPv6 extension header (hop-by-hop, routing, destination options)."""
    size = (length_units + 1) * 8
    if body is None:
        body = b"\x01" + bytes([size - 4]) + b"\0" * (size - 4)  # one PadN option
    return struct.pack("!BB", nh, length_units) + body[:size - 2]


def frag6(nh, offset_units, more, ident=7):
    return struct.pack("!BBHI", nh, 0, (offset_units << 3) | (1 if more else 0), ident)


def tcp(sport=40000, dport=443, flags=0x02, doff=5, payload=b"", seq=1, ack=0, opts=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (doff & 15) << 4, flags, 65535, 0,
                       0) + opts + payload


def udp(sport=40000, dport=53, payload=b"", length=None):
    if length is None:
        length = 8 + len(payload)
    return struct.pack("!HHHH", sport, dport, length & 0xFFFF, 0) + payload


def icmp(payload=b"abcdefgh", type_=8):
    return struct.pack("!BBHHH", type_, 0, 0, 1, 1) + payload


def eth(ethertype, payload, dst=b"\x02\x00\x00\x00\x00\x02", src=b"\x02\x00\x00\x00\x00\x01"):
    return dst + src + struct.pack("!H", ethertype) + payload


def vlan_tags(tags, inner):
    """tags: [(tpid, vid)] outermost first, each tag carrying the next tag's tpid."""
    out = b""
    for i, (_tpid, vid) in enumerate(tags):
        nxt = tags[i + 1][0] if i + 1 < len(tags) else inner
        out += struct.pack("!HH", vid & 0x0FFF, nxt)
    return out


def eth_vlan(tags, inner_type, payload):
    return eth(tags[0][0], vlan_tags(tags, inner_type) + payload)


def mpls(labels, bottom_last=True):
    out = b""
    for i, label in enumerate(labels):
        s = 1 if (bottom_last and i == len(labels) - 1) else 0
        out += struct.pack("!I", (label << 12) | (s << 8) | 64)
    return out


def pppoe(proto, payload, length=None):
    if length is None:
        length = 2 + len(payload)
    return struct.pack("!BBHHH", 0x11, 0, 0x1234, length, proto) + payload


def sll(proto, payload):
    return struct.pack("!HHH8sH", 0, 1, 6, b"\x02\0\0\0\0\x01\0\0", proto) + payload


def sll2(proto, payload):
    return struct.pack("!HHIHBB8s", proto, 0, 2, 1, 0, 6, b"\x02\0\0\0\0\x01\0\0") + payload


def good_tcp4(sport=40000, flags=0x02, payload=b"", src=CLIENT4, dst=SERVER4, dport=443):
    return ipv4(6, tcp(sport, dport, flags, payload=payload), src=src, dst=dst)


def handshake4(sport=40000):
    """A SYN and its SYN-ACK: a flow that must come out with last_seen >= first_seen."""
    return [good_tcp4(sport, 0x02),
            ipv4(6, tcp(443, sport, 0x12, seq=9, ack=2), src=SERVER4, dst=CLIENT4)]


# ---- file writers --------------------------------------------------------------------------

class Pcap:
    """Classic pcap, little endian, microseconds unless magic says otherwise."""

    def __init__(self, linktype=LINKTYPE_ETHERNET, snaplen=65535, magic=0xA1B2C3D4,
                 endian="<", version=(2, 4)):
        self.endian = endian
        self.head = struct.pack(endian + "IHHiIII", magic, version[0], version[1], 0, 0, snaplen,
                                linktype)
        self.body = b""
        self.t = 0

    def add(self, data, ts=None, usec=None, caplen=None, wirelen=None, keep=None):
        """One record: caplen/wirelen may lie; keep cuts the data bytes actually written."""
        if ts is None:
            self.t += 1
            ts = BASE_TS + self.t // 1000
            usec = (self.t % 1000) * 1000
        caplen = len(data) if caplen is None else caplen
        wirelen = len(data) if wirelen is None else wirelen
        body = data if keep is None else data[:keep]
        self.body += struct.pack(self.endian + "IIII", ts, usec or 0, caplen & 0xFFFFFFFF,
                                 wirelen & 0xFFFFFFFF) + body
        return self

    def raw(self, data):
        self.body += data
        return self

    def bytes(self):
        return self.head + self.body


def pcap_of(frames, linktype=LINKTYPE_ETHERNET, **kw):
    p = Pcap(linktype, **kw)
    for f in frames:
        p.add(f)
    return p.bytes()


def block(btype, body, total=None, trailer=None):
    """A pcapng block; total/trailer may lie about the length."""
    pad = (-len(body)) % 4
    length = 12 + len(body) + pad
    return struct.pack("<II", btype, length if total is None else total) + body + b"\0" * pad + \
        struct.pack("<I", length if trailer is None else trailer)


def shb(bom=0x1A2B3C4D, major=1):
    return block(0x0A0D0D0A, struct.pack("<IHHq", bom, major, 0, -1))


def option(code, value):
    return struct.pack("<HH", code, len(value)) + value + b"\0" * ((-len(value)) % 4)


def idb(linktype=LINKTYPE_ETHERNET, snaplen=65535, opts=b""):
    if opts:
        opts += option(0, b"")
    return block(1, struct.pack("<HHI", linktype, 0, snaplen) + opts)


def epb(data, if_id=0, ts_us=None, caplen=None, wirelen=None, seq=[0]):
    if ts_us is None:
        seq[0] += 1
        ts_us = BASE_TS * 1000000 + seq[0] * 1000
    caplen = len(data) if caplen is None else caplen
    wirelen = len(data) if wirelen is None else wirelen
    return block(6, struct.pack("<IIIII", if_id, ts_us >> 32, ts_us & 0xFFFFFFFF,
                                caplen & 0xFFFFFFFF, wirelen & 0xFFFFFFFF) + data)


def spb(data, wirelen=None):
    return block(3, struct.pack("<I", len(data) if wirelen is None else wirelen) + data)


# ---- the cases -----------------------------------------------------------------------------

CASES = []  # (file name, expectation dict, bytes)


def case(name, data, expect="exit0", why="", **kw):
    e = {"expect": expect, "why": why}
    e.update(kw)
    CASES.append((name, e, data))


def eth4(payload_ip):
    return eth(ETH_IPV4, payload_ip)


def eth6(payload_ip):
    return eth(ETH_IPV6, payload_ip)


def build():
    hs = [eth4(p) for p in handshake4()]
    good = hs[0]

    # -- the file itself ------------------------------------------------------------------
    case("bad_magic.pcap", b"\xde\xad\xbe\xef" + b"\0" * 60, "error",
         "magic is neither pcap nor pcapng", error="not a pcap or pcapng")
    case("text_file.pcap", b"this is not a capture, it is a text file\n" * 3, "error",
         "a text file named .pcap", error="not a pcap or pcapng")
    case("empty.pcap", b"", "error", "zero bytes", error="empty")
    case("global_header_cut.pcap", Pcap().bytes()[:20], "error",
         "pcap global header cut at 20 of 24 bytes", error="too short")
    case("pcapng_shb_cut.pcapng", shb()[:16], "error",
         "pcapng section header block cut at 16 bytes", error="too short")
    case("bad_version.pcap", Pcap(version=(9, 4)).add(good).bytes(), "error",
         "pcap version 9.4", error="bad_version.pcap")
    case("unknown_linktype.pcap", pcap_of([good], LINKTYPE_USER0), "error",
         "link type 147 (USER0) is not decoded", error="147")
    case("linktype_huge.pcap", pcap_of([good], 0x0FFFFFFF), "error",
         "link type 0x0fffffff", error="linktype_huge.pcap")
    case("header_only.pcap", Pcap().bytes(), why="a valid header and no records", received=0)
    case("record_header_cut.pcap", Pcap().add(good).raw(b"\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a").bytes(),
         why="a good record, then 10 bytes of a 16-byte record header", received=1, cut=True)
    case("record_data_cut.pcap", Pcap().add(good).add(good, keep=30).bytes(),
         why="second record says 54 bytes, file ends after 30", received=1, cut=True)
    case("caplen_zero.pcap", Pcap().add(good).add(b"", wirelen=60).add(good).bytes(),
         why="a record with caplen 0 and len 60", nonzero=["drop_too_short"])
    p = Pcap(snaplen=64)
    p.add(good)
    p.add(eth4(good_tcp4(40001, 0x18, b"x" * 100)))
    case("caplen_over_snaplen.pcap", p.bytes(),
         why="snaplen 64 in the header, a record with caplen 154")
    case("caplen_over_len.pcap", Pcap().add(good).add(good, wirelen=20).bytes(),
         why="caplen 54 > len 20 (wire length shorter than what was captured)")
    case("caplen_ffffffff.pcap", Pcap().add(good).add(good, caplen=0xFFFFFFFF).bytes(),
         why="caplen 0xffffffff, 54 bytes follow", received=1, cut=True)
    case("caplen_2g.pcap", Pcap().add(good).add(good, caplen=1 << 31).bytes(),
         why="caplen 2^31", received=1, cut=True)
    case("caplen_256k_plus_one.pcap", Pcap(snaplen=262144).add(good).add(good, caplen=262145).bytes(),
         why="caplen one above libpcap's largest snap length", received=1, cut=True)
    case("len_ffffffff.pcap", Pcap().add(good).add(hs[1], wirelen=0xFFFFFFFF).bytes(),
         why="wire length 0xffffffff: counted as bytes, must not wrap", received=2)
    big = eth4(ipv4(17, udp(5000, 5001, b"\xab" * 100000), total=0xFFFF))
    case("frame_100k.pcap", Pcap(snaplen=262144).add(good).add(big).bytes(),
         why="a 100 KB frame (beyond the largest mbuf, kept snapped)", received=2)
    p = Pcap()
    for i, f in enumerate(hs * 3):
        p.add(f, ts=BASE_TS + 100 - i * 10, usec=0)
    case("ts_backwards.pcap", p.bytes(), why="every timestamp 10 s before the previous one",
         received=6)
    p = Pcap()
    p.add(hs[0], ts=BASE_TS, usec=999999)
    p.add(hs[1], ts=BASE_TS, usec=0xFFFFFFFF)
    p.add(hs[0], ts=0, usec=0)
    p.add(hs[1], ts=0xFFFFFFFF, usec=0)
    p.add(hs[0], ts=1, usec=0)
    case("ts_bad_usec.pcap", p.bytes(), why="usec 0xffffffff, time 0, time 2^32-1, then back",
         received=5)
    p = Pcap(magic=0xA1B23C4D)
    p.add(hs[0], ts=BASE_TS, usec=1999999999)
    p.add(hs[1], ts=BASE_TS, usec=5)
    case("ns_over_1e9.pcap", p.bytes(), why="nanosecond pcap, nanoseconds >= 10^9", received=2)
    case("big_endian.pcap", pcap_of(hs, endian=">"), why="a big-endian file (sanity)", received=2)
    case("snaplen_zero.pcap", pcap_of(hs, snaplen=0), why="snaplen 0 in the header")

    # -- pcapng -----------------------------------------------------------------------------
    ok = shb() + idb()
    case("pcapng_unknown_block.pcapng",
         ok + epb(hs[0]) + block(0x0BADBEEF, b"hello unknown block") + block(0x40000BAD, b"") +
         epb(hs[1]), why="unknown block types between packets", received=2)
    case("pcapng_block_len_odd.pcapng", ok + epb(hs[0]) + block(6, b"\0" * 20, total=33),
         why="block total length 33, not a multiple of 4", received=1, cut=True)
    case("pcapng_block_len_small.pcapng", ok + epb(hs[0]) + block(6, b"\0" * 20, total=8),
         why="block total length 8, below the 12-byte minimum", received=1, cut=True)
    case("pcapng_block_len_huge.pcapng", ok + epb(hs[0]) + block(6, b"\0" * 20, total=0x7FFFFFF0),
         why="block total length 2 GB", received=1, cut=True)
    case("pcapng_trailer_mismatch.pcapng", ok + epb(hs[0]) + block(6, epb(hs[1])[8:-4], trailer=1000) + epb(hs[0]),
         why="block trailer length differs from its header", received=1, cut=True)
    case("pcapng_epb_caplen_over_block.pcapng", ok + epb(hs[0]) + epb(hs[1], caplen=5000),
         why="EPB caplen 5000 in a 100-byte block", received=1, cut=True)
    case("pcapng_bad_interface.pcapng", ok + epb(hs[0]) + epb(hs[1], if_id=5),
         why="EPB on interface 5, only interface 0 exists", received=1, cut=True)
    case("pcapng_no_idb.pcapng", shb() + epb(hs[0]), "error",
         "an EPB before any interface block", error="pcapng_no_idb.pcapng")
    case("pcapng_bad_bom.pcapng", shb(bom=0x11223344) + idb() + epb(good), "error",
         "section header with an unknown byte-order magic", error="bad_bom")
    case("pcapng_bad_major.pcapng", shb(major=7) + idb() + epb(good), "error",
         "section header version 7.0", error="bad_major")
    case("pcapng_multi_section.pcapng",
         ok + epb(hs[0]) + shb() + idb() + epb(hs[1]) + shb() + idb() + epb(hs[0]),
         why="three sections, each with its own interface")
    case("pcapng_multi_section_linktype.pcapng",
         ok + epb(hs[0]) + shb() + idb(LINKTYPE_RAW) + epb(handshake4()[1]),
         why="a second section whose interface is raw IP, not Ethernet (libpcap stops there)",
         received=1, cut=True)
    case("pcapng_spb.pcapng", ok + spb(hs[0]) + spb(hs[1], wirelen=9999) + spb(b""),
         why="simple packet blocks: a good one, one with a wire length beyond its data",
         received=1, cut=True)
    case("pcapng_tsresol_extreme.pcapng",
         shb() + idb(opts=option(9, b"\x3f")) + epb(hs[0]) + epb(hs[1]), "error",
         "if_tsresol 10^-63", error="pcapng_tsresol_extreme.pcapng")
    case("pcapng_tsresol_pow2.pcapng",
         shb() + idb(opts=option(9, b"\xff")) + epb(hs[0]) + epb(hs[1]), "error",
         "if_tsresol 2^-127", error="pcapng_tsresol_pow2.pcapng")
    case("pcapng_tsresol_ms.pcapng",
         shb() + idb(opts=option(9, b"\x03")) + epb(hs[0]) + epb(hs[1]),
         why="if_tsresol 10^-3 (milliseconds): valid", received=2)
    case("pcapng_option_overrun.pcapng",
         shb() + block(1, struct.pack("<HHI", 1, 0, 65535) + struct.pack("<HH", 2, 500) + b"eth0"),
         "error", "an interface option longer than its block", error="pcapng_option_overrun.pcapng")
    case("pcapng_idb_snaplen_zero.pcapng", shb() + idb(snaplen=0) + epb(hs[0]) + epb(hs[1]),
         why="interface snaplen 0")

    # -- L2 -----------------------------------------------------------------------------------
    case("eth_too_short.pcap", pcap_of([good, good[:10], b"\x00"]),
         why="Ethernet frames of 10 and 1 bytes", nonzero=["drop_too_short"], received=3)
    case("eth_arp_stp.pcap", pcap_of([good, eth(ETH_ARP, b"\0" * 28),
                                      eth(40, b"\x42\x42\x03" + b"\0" * 37)]),
         why="ARP, and 802.3 STP (LLC 42 42 03)", nonzero=["drop_not_ip"])
    case("vlan_20_tags.pcap", pcap_of([good, eth_vlan([(ETH_VLAN, i) for i in range(20)],
                                                     ETH_IPV4, good_tcp4())]),
         why="20 stacked 802.1Q tags", nonzero=["drop_l2_too_deep"])
    case("vlan_8_tags_ok.pcap", pcap_of([eth_vlan([(ETH_QINQ, 100)] + [(ETH_VLAN, i) for i in range(7)],
                                                  ETH_IPV4, p) for p in handshake4()]),
         why="8 tags, the most allowed: parsed", received=2)
    case("vlan_cut.pcap", pcap_of([good, eth_vlan([(ETH_VLAN, 1), (ETH_VLAN, 2)], ETH_IPV4, b"")[:16]]),
         why="frame ends inside a VLAN tag", nonzero=["drop_l2_truncated"])
    case("mpls_no_bottom.pcap", pcap_of([good, eth(ETH_MPLS, mpls(range(20), bottom_last=False) + good_tcp4())]),
         why="20 MPLS labels, none with the bottom-of-stack bit", nonzero=["drop_l2_too_deep"])
    case("mpls_no_bottom_cut.pcap", pcap_of([good, eth(ETH_MPLS, mpls([1, 2, 3], bottom_last=False))]),
         why="3 MPLS labels without bottom of stack, then the frame ends",
         nonzero=["drop_l2_truncated"])
    case("mpls_not_ip.pcap", pcap_of([good, eth(ETH_MPLS, mpls([5]) + b"\x00" * 40)]),
         why="MPLS bottom of stack followed by neither IPv4 nor IPv6", nonzero=["drop_not_ip"])
    case("pppoe_bad_proto.pcap", pcap_of([good, eth(ETH_PPPOE_SESSION, pppoe(0xC021, b"\x01" * 20)),
                                          eth(ETH_PPPOE_SESSION, pppoe(0x1234, good_tcp4()))]),
         why="PPPoE session carrying LCP and protocol 0x1234", nonzero=["drop_not_ip"])
    case("pppoe_cut.pcap", pcap_of([good, eth(ETH_PPPOE_SESSION, b"\x11\x00\x12")]),
         why="PPPoE header cut after 3 bytes", nonzero=["drop_l2_truncated"])
    case("pppoe_bad_length.pcap", pcap_of([eth(ETH_PPPOE_SESSION, pppoe(0x0021, p, length=0xFFFF))
                                           for p in handshake4()]),
         why="PPPoE length field 65535 (ignored: the IP length rules)")
    case("llc_snap_ipv4.pcap", pcap_of([eth(len(p) + 8, b"\xaa\xaa\x03\0\0\0\x08\x00" + p)
                                        for p in handshake4()] +
                                       [eth(30, b"\xaa\xaa\x03\0\0")]),
         why="802.3 + LLC/SNAP carrying IPv4, and one SNAP header cut",
         nonzero=["drop_l2_truncated"])
    case("sll_unknown_proto.pcap", pcap_of([sll(ETH_IPV4, p) for p in handshake4()] +
                                           [sll(0x1234, good_tcp4()), sll(0x0004, b"\0" * 30)], LINKTYPE_SLL),
         why="Linux cooked v1 with protocols 0x1234 and 4 (802.2)", nonzero=["drop_not_ip"])
    case("sll_too_short.pcap", pcap_of([sll(ETH_IPV4, good_tcp4()), b"\0" * 10], LINKTYPE_SLL),
         why="a 10-byte cooked header", nonzero=["drop_too_short"])
    case("sll2_unknown_proto.pcap", pcap_of([sll2(ETH_IPV6, ipv6(6, tcp())), sll2(0xBEEF, b"\0" * 40),
                                             b"\0" * 19], LINKTYPE_SLL2),
         why="Linux cooked v2, protocol 0xbeef and a 19-byte frame",
         nonzero=["drop_not_ip", "drop_too_short"])
    case("null_odd_family.pcap", pcap_of([struct.pack("<I", 2) + good_tcp4(),
                                          struct.pack(">I", 2) + good_tcp4(40002),
                                          struct.pack("<I", 99) + good_tcp4(),
                                          struct.pack("<I", 0xFFFFFFFF) + good_tcp4(),
                                          b"\x02\0"], LINKTYPE_NULL),
         why="DLT_NULL families 2 (both byte orders), 99, 0xffffffff, and a 2-byte frame",
         nonzero=["drop_not_ip", "drop_too_short"])
    case("loop_odd_family.pcap", pcap_of([struct.pack(">I", 24) + ipv6(17, udp()),
                                          struct.pack(">I", 7) + good_tcp4()], LINKTYPE_LOOP),
         why="DLT_LOOP family 7", nonzero=["drop_not_ip"])
    case("raw_bad_nibble.pcap", pcap_of([good_tcp4(), b"\x75" + b"\0" * 40, b""], LINKTYPE_RAW),
         why="raw IP with version nibble 7, and a 0-byte frame",
         nonzero=["drop_not_ip", "drop_too_short"])
    case("ppp_lcp.pcap", pcap_of([b"\xff\x03\x00\x21" + good_tcp4(), b"\xff\x03\xc0\x21\x01\x01\x00\x04",
                                  b"\x00\x57" + ipv6(17, udp()), b"\xff"], LINKTYPE_PPP),
         why="PPP: IPv4, LCP, IPv6 without address/control, a 1-byte frame",
         nonzero=["drop_not_ip", "drop_too_short"])
    case("chdlc_unknown.pcap", pcap_of([b"\x0f\x00\x08\x00" + good_tcp4(), b"\x8f\x00\x80\x35" + b"\0" * 30],
                                       LINKTYPE_C_HDLC),
         why="Cisco HDLC with ethertype 0x8035", nonzero=["drop_not_ip"])

    # -- IPv4 ---------------------------------------------------------------------------------
    case("ip_ihl_lt5.pcap", pcap_of([good] + [eth4(ipv4(6, tcp(), ihl=i)) for i in range(5)]),
         why="IHL 0 to 4", nonzero=["drop_ip_bad_header_len"])
    case("ip_ihl_beyond_frame.pcap", pcap_of([good, eth4(ipv4(6, b"", ihl=15))]),
         why="IHL 15 (60 bytes) in a 20-byte IP packet",
         nonzero=[["drop_ip_bad_header_len", "drop_ip_truncated"]])
    case("ip_total_beyond_frame.pcap", pcap_of([good, eth4(ipv4(6, tcp(), total=1500))]),
         why="IP total length 1500 in a 40-byte packet, not snapped", nonzero=["drop_ip_bad_total_len"])
    case("ip_total_lt_ihl.pcap", pcap_of([good, eth4(ipv4(6, tcp(), total=10)), eth4(ipv4(6, tcp(), total=0))]),
         why="IP total length 10 and 0 (below the header)", nonzero=["drop_ip_bad_total_len"])
    case("ip_bad_version.pcap", pcap_of([good, eth4(ipv4(6, tcp(), ver=5)), eth6(ipv4(6, tcp())),
                                         eth4(ipv6(6, tcp()))]),
         why="version 5 under 0x0800, IPv4 under 0x86dd, IPv6 under 0x0800",
         nonzero=["drop_ip_bad_version"])
    case("ip_header_cut.pcap", pcap_of([good, eth4(good_tcp4()[:12]), eth6(ipv6(6, tcp())[:30])]),
         why="IPv4 header cut at 12 bytes, IPv6 at 30", nonzero=["drop_ip_truncated"])
    case("ip_snapped.pcap", Pcap(snaplen=60).add(good).add(eth4(good_tcp4(40001, 0x18, b"y" * 200))[:60],
                                                           wirelen=254).bytes(),
         why="a packet cut by the snap length inside the TCP payload: parsed")
    frags = [eth4(ipv4(17, udp(5353, 5353, b"A" * 32), frag=0x2000, ident=9)),
             eth4(ipv4(17, b"B" * 32, frag=0x2000 | 2, ident=9)),
             eth4(ipv4(17, b"C" * 32, frag=1, ident=9)),
             eth4(ipv4(17, udp(5353, 5353, b"D" * 32), frag=0x2000, ident=9)),
             eth4(ipv4(17, b"E" * 8, frag=0x1FFF, ident=9))]
    case("ip_frag_overlap.pcap", pcap_of(frags),
         why="overlapping IPv4 fragments: offset 0 twice, 16 and 8 overlapping, one at the end",
         nonzero=["drop_frag_inconsistent"])  # the last fragment ends before held bytes
    case("ip_options_garbage.pcap", pcap_of([eth4(ipv4(6, tcp(), opts=b"\x07\xff\x00\x01" * 10))]),
         why="40 bytes of IP options with impossible lengths: options are not decoded")
    nest = good_tcp4()
    for _ in range(5):
        nest = ipv4(4, nest)
    case("ipip_5_deep.pcap", pcap_of([good, eth4(nest)]),
         why="IPv4 in IPv4, 5 deep", nonzero=["drop_tunnel_too_deep"])
    nest, inner_v6 = ipv6(6, tcp()), True
    for _ in range(4):  # IPv6 in IPv4 in IPv6 in IPv4 in IPv6
        nest = ipv4(41, nest) if inner_v6 else ipv6(4, nest)
        inner_v6 = not inner_v6
    case("ip46_mixed_deep.pcap", pcap_of([good, eth6(nest)]),
         why="IPv6 in IPv4 in IPv6 ..., 5 headers", nonzero=["drop_tunnel_too_deep"])
    case("ipip_inner_cut.pcap", pcap_of([good, eth4(ipv4(4, good_tcp4()[:8]))]),
         why="IPv4 in IPv4, the inner header cut at 8 bytes", nonzero=["drop_ip_truncated"])

    # -- IPv6 ---------------------------------------------------------------------------------
    loop = b"".join(ext6(0) for _ in range(19)) + ext6(6) + tcp()
    case("ipv6_ext_loop.pcap", pcap_of([eth6(ipv6(0, loop))]),
         why="20 hop-by-hop headers, each naming another", nonzero=["drop_ipv6_bad_ext"])
    loop = b""
    for _ in range(40):
        loop += ext6(43, 0)
    case("ipv6_routing_self.pcap", pcap_of([eth6(ipv6(43, loop))]),
         why="routing headers naming a routing header, 40 deep", nonzero=["drop_ipv6_bad_ext"])
    case("ipv6_ext_beyond.pcap", pcap_of([eth6(ipv6(60, ext6(6, 200, b"\0" * 16) + tcp(), plen=24))]),
         why="a destination-options header of 1608 bytes in a 24-byte payload",
         nonzero=["drop_ipv6_bad_ext"])
    case("ipv6_ext_cut.pcap", pcap_of([eth6(ipv6(0, b"\x06\x00\x01", plen=3))]),
         why="a hop-by-hop header cut at 3 bytes", nonzero=["drop_ipv6_bad_ext"])
    case("ipv6_frag.pcap", pcap_of([eth6(ipv6(44, frag6(17, 0, True) + udp(1, 2, b"x" * 16))),
                                    eth6(ipv6(44, frag6(17, 3, False) + b"y" * 8)),
                                    eth6(ipv6(44, frag6(44, 0, True) + frag6(44, 0, True) + frag6(17, 5, False)))]),
         why="IPv6 first fragment, non-first fragment, nested fragment headers",
         nonzero=["drop_frag_unfinished"])  # the first two reassemble; the third never ends
    case("ipv6_plen_beyond.pcap", pcap_of([eth6(ipv6(6, tcp(), plen=9000))]),
         why="payload length 9000 in a 20-byte payload", nonzero=["drop_ip_bad_total_len"])
    case("ipv6_jumbo_plen0.pcap", pcap_of([eth6(ipv6(0, b"\x06\x00\xc2\x04\x00\x01\x00\x00" + tcp(), plen=0))]),
         why="jumbogram: payload length 0 with a hop-by-hop jumbo option",
         nonzero=[["drop_ipv6_bad_ext", "drop_l4_truncated"]])

    # -- L4 -----------------------------------------------------------------------------------
    case("tcp_bad_offset.pcap", pcap_of([good] + [eth4(ipv4(6, tcp(doff=d))) for d in (0, 1, 4, 15)]),
         why="TCP data offset 0, 1, 4 and 15 (beyond the IP payload)",
         nonzero=["drop_tcp_bad_offset"])
    case("tcp_cut.pcap", pcap_of([good, eth4(ipv4(6, tcp()[:10])), eth6(ipv6(6, tcp()[:19]))]),
         why="TCP headers of 10 and 19 bytes", nonzero=["drop_l4_truncated"])
    case("tcp_all_flags.pcap", pcap_of([eth4(good_tcp4(40000, f)) for f in (0xFF, 0x07, 0x00, 0x03, 0x01, 0x04)]),
         why="TCP with every flag, SYN+FIN+RST, none, SYN+FIN, FIN, RST")
    case("udp_zero_length.pcap", pcap_of([eth4(ipv4(17, udp(1000, 53, b"q" * 12, length=0))),
                                          eth4(ipv4(17, udp(1000, 53, b"", length=8))),
                                          eth4(ipv4(17, udp(53, 1000, b"r" * 4, length=0xFFFF), src=SERVER4, dst=CLIENT4))]),
         why="UDP length 0, an empty datagram, UDP length 65535 in 12 bytes")
    case("udp_cut.pcap", pcap_of([good, eth4(ipv4(17, b"\x00\x35\x00")), eth6(ipv6(17, b""))]),
         why="UDP headers of 3 and 0 bytes", nonzero=["drop_l4_truncated"])
    case("icmp_empty.pcap", pcap_of([eth4(ipv4(1, b"")), eth6(ipv6(58, b"\x80")), eth4(ipv4(1, icmp()))]),
         why="ICMP with no header, ICMPv6 of 1 byte: flows on addresses")
    case("unknown_l4.pcap", pcap_of([eth4(ipv4(253, b"")), eth4(ipv4(47, b"\0" * 4)), eth6(ipv6(59, b""))]),
         why="IP protocols 253, GRE (4 bytes), IPv6 no-next-header")

    # -- many flows, one port pair reused, zero-address flows ---------------------------------
    p = Pcap()
    for i in range(3000):
        src = bytes([10, 2, i >> 8, i & 255])
        p.add(eth4(good_tcp4(1024 + i % 60000, 0x02, src=src)))
    case("many_flows.pcap", p.bytes(), why="3000 one-packet flows", received=3000)
    case("zero_addresses.pcap", pcap_of([eth4(ipv4(6, tcp(0, 0), src=b"\0" * 4, dst=b"\0" * 4)),
                                         eth6(ipv6(17, udp(0, 0), src=b"\0" * 16, dst=b"\xff" * 16))]),
         why="addresses 0.0.0.0, :: and ffff::ffff, ports 0")


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: gen_malformed.py OUTDIR\n")
        return 2
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    build()
    index = {}
    for name, expect, data in CASES:
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        index[name] = expect
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"captures": index}, f, indent=1, sort_keys=True)
        f.write("\n")
    print("gen_malformed: %d captures in %s" % (len(CASES), out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
