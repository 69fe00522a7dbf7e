#!/usr/bin/python3
"""gen_captures.py - write tapwatch's test captures and what they must produce.

    /usr/bin/python3 scripts/gen_captures.py OUTDIR [--start 2026-03-02T09:00:00Z]

Writes every capture listed in tests/fixtures/README.md into OUTDIR, plus expected.json:
per capture, its link type, record count and the flows it holds (5-tuple, VLAN, packets
and bytes each way, the nDPI 4.2 application ndpiReader reports, the server name).

Everything is deterministic: timestamps count from --start, random bytes come from fixed
seeds, and the pcap/pcapng files are written here with struct (scapy only builds the IP
packets), so the same arguments give the same bytes on every machine.

Conventions of expected.json:
  - client = sender of the first packet of the flow; bytes = frame length on the wire
    (the record's orig_len), whatever the link header;
  - ICMP, ICMPv6 and protocols without ports are one flow per address pair, ports 0;
  - IP fragments are reassembled: a datagram is one packet of its flow, its bytes the
    fragments' frame lengths summed, at the time of the fragment that completed it; the
    fragments merged into it are counted in "fragments_merged";
  - "app" is ndpiReader 4.2's ndpi_proto ("TLS.Microsoft"), "" where it is not asserted;
  - times are microseconds since the epoch.
"""
import argparse
import calendar
import json
import os
import random
import struct
import sys
import time

from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_Router_Alert, IPOption_RR, fragment
from scapy.layers.inet6 import (ICMPv6EchoReply, ICMPv6EchoRequest, IPv6, IPv6ExtHdrDestOpt,
                                IPv6ExtHdrHopByHop, IPv6ExtHdrRouting)
from scapy.layers.sctp import SCTP, SCTPChunkInit

DEFAULT_START = "2026-03-02T09:00:00Z"
SEC = 1_000_000  # timestamps are integer microseconds: no float drift over a capture

LINKTYPE_NULL, LINKTYPE_ETHERNET, LINKTYPE_RAW = 0, 1, 101
LINKTYPE_LOOP, LINKTYPE_SLL, LINKTYPE_SLL2, LINKTYPE_USER0 = 108, 113, 276, 147

ETH_IPV4, ETH_IPV6, ETH_8021Q, ETH_8021AD = 0x0800, 0x86DD, 0x8100, 0x88A8


def mac_of(ip):
    """A locally administered MAC derived from the address, so frames are reproducible."""
    h = sum(ip.encode()) * 2654435761 & 0xFFFFFFFF
    return b"\x02\x00" + struct.pack(">I", h)


class Flow:
    """One bidirectional flow: builds its packets and counts what it puts on the wire."""

    def __init__(self, cap, proto, client, cport, server, sport, vlan_tags=(), app="",
                 server_name="", af6=24):
        self.cap, self.proto = cap, proto
        self.client, self.server, self.cport, self.sport = client, server, cport, sport
        self.v6 = ":" in client
        self.vlan_tags = list(vlan_tags)  # [(tpid, vid)], outermost first
        self.app, self.server_name, self.af6 = app, server_name, af6
        self.c2s = [0, 0]
        self.s2c = [0, 0]
        self.first = self.last = None
        self.ip_id = 1
        # TCP state: sequence numbers of each side, fixed per flow for determinism.
        self.cseq, self.sseq = 1000 + cport * 7, 5000 + sport * 13
        self.extra = {}
        cap.flows.append(self)

    def ip(self, from_client, l4, **kw):
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        if self.v6:
            return IPv6(src=src, dst=dst, hlim=64, **kw) / l4
        self.ip_id += 1
        return IP(src=src, dst=dst, ttl=64, id=self.ip_id, **kw) / l4

    def send(self, t, from_client, l4, count=True, **kw):
        self.emit(t, from_client, bytes(self.ip(from_client, l4, **kw)), count)

    def emit(self, t, from_client, l3, count=True):
        """Puts raw L3 bytes on the wire; count=False for packets no flow owns. Returns the
        frame's length."""
        wire = self.cap.add(t, self, from_client, l3)
        if count:
            self.count(t, from_client, wire)
        return wire

    def count(self, t, from_client, wire):
        """One packet of this flow (a reassembled datagram: its fragments' bytes)."""
        d = self.c2s if from_client else self.s2c
        d[0] += 1
        d[1] += wire
        self.first = t if self.first is None else self.first
        self.last = t

    # ---- TCP helpers: the sequence numbers follow the data so nDPI sees a sane stream.
    def tcp(self, t, from_client, flags, data=b""):
        if from_client:
            seg = TCP(sport=self.cport, dport=self.sport, flags=flags, seq=self.cseq,
                      ack=self.sseq if "A" in flags else 0, window=64240)
        else:
            seg = TCP(sport=self.sport, dport=self.cport, flags=flags, seq=self.sseq,
                      ack=self.cseq if "A" in flags else 0, window=65160)
        self.send(t, from_client, seg / data if data else seg)
        n = len(data) + (1 if ("S" in flags or "F" in flags) else 0)
        if from_client:
            self.cseq += n
        else:
            self.sseq += n

    def handshake(self, t, rtt=20_000):
        self.tcp(t, True, "S")
        self.tcp(t + rtt, False, "SA")
        self.tcp(t + rtt + 100, True, "A")
        return t + rtt + 100

    def data(self, t, from_client, payload, mss=1448, gap=300):
        """Sends payload in MSS-sized segments, the last with PSH. Returns the last time."""
        for i in range(0, len(payload), mss):
            chunk = payload[i:i + mss]
            self.tcp(t, from_client, "PA" if i + mss >= len(payload) else "A", chunk)
            t += gap
        return t - gap

    def fin(self, t, rtt=20_000):
        self.tcp(t, True, "FA")
        self.tcp(t + rtt, False, "FA")
        self.tcp(t + rtt + 100, True, "A")
        return t + rtt + 100

    def rst(self, t, from_client=False):
        self.tcp(t, from_client, "R")
        return t

    def udp(self, t, from_client, payload):
        sp, dp = (self.cport, self.sport) if from_client else (self.sport, self.cport)
        self.send(t, from_client, UDP(sport=sp, dport=dp) / payload)

    def record(self):
        r = {
            "src_ip": self.client, "src_port": self.cport, "dst_ip": self.server,
            "dst_port": self.sport, "ip_proto": self.proto,
            "vlan": self.vlan_tags[-1][1] if self.vlan_tags else 0,
            "c2s_packets": self.c2s[0], "c2s_bytes": self.c2s[1],
            "s2c_packets": self.s2c[0], "s2c_bytes": self.s2c[1],
            "app": self.app, "server_name": self.server_name,
            "first_seen_us": self.first, "last_seen_us": self.last,
        }
        r.update(self.extra)
        return r


class Capture:
    """Records of one file, wrapped in its link header; written by write_pcap/write_pcapng."""

    def __init__(self, name, linktype, snaplen=262144, fmt="pcap"):
        self.name, self.linktype, self.snaplen, self.fmt = name, linktype, snaplen, fmt
        self.records = []  # (t_us, frame bytes as captured, orig_len)
        self.flows = []
        self.meta = {}

    def link(self, flow, from_client, l3):
        v6 = (l3[0] >> 4) == 6
        et = ETH_IPV6 if v6 else ETH_IPV4
        src, dst = (flow.client, flow.server) if from_client else (flow.server, flow.client)
        if self.linktype == LINKTYPE_ETHERNET:
            tags = b"".join(struct.pack(">HH", tpid, vid) for tpid, vid in flow.vlan_tags)
            return mac_of(dst) + mac_of(src) + tags + struct.pack(">H", et) + l3
        if self.linktype == LINKTYPE_SLL:
            # packet type 0 (to us) / 4 (sent by us), ARPHRD_ETHER, 6-byte address, 2 pad
            ptype = 4 if from_client else 0
            return struct.pack(">HHH", ptype, 1, 6) + mac_of(src) + b"\0\0" + \
                struct.pack(">H", et) + l3
        if self.linktype == LINKTYPE_SLL2:
            # protocol, reserved, ifindex, ARPHRD_ETHER, packet type, addr len, addr[8]
            ptype = 4 if from_client else 0
            return struct.pack(">HHIHBB", et, 0, 2, 1, ptype, 6) + mac_of(src) + b"\0\0" + l3
        if self.linktype == LINKTYPE_RAW:
            return l3
        if self.linktype == LINKTYPE_NULL:
            # Host byte order of the machine that captured: little-endian here.
            return struct.pack("<I", flow.af6 if v6 else 2) + l3
        if self.linktype == LINKTYPE_LOOP:
            return struct.pack(">I", 24 if v6 else 2) + l3
        return l3

    def add(self, t, flow, from_client, l3):
        frame = self.link(flow, from_client, l3)
        self.records.append((t, frame[:self.snaplen], len(frame)))
        return len(frame)

    def sort(self):
        # Sessions are generated one after the other; the file is in time order. Stable
        # sort keeps the order of packets sharing a timestamp.
        self.records.sort(key=lambda r: r[0])

    def pcap_bytes(self):
        out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, self.snaplen, self.linktype)]
        for t, frame, orig in self.records:
            out.append(struct.pack("<IIII", t // SEC, t % SEC, len(frame), orig) + frame)
        return b"".join(out)

    def pcapng_bytes(self):
        def block(btype, body):
            body += b"\0" * (-len(body) % 4)
            n = 12 + len(body)
            return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

        shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
        idb = block(0x00000001, struct.pack("<HHI", self.linktype, 0, self.snaplen))
        out = [shb, idb]
        for t, frame, orig in self.records:  # if_tsresol absent: microseconds
            out.append(block(0x00000006, struct.pack("<IIIII", 0, t >> 32, t & 0xFFFFFFFF,
                                                     len(frame), orig) + frame))
        return b"".join(out)

    def write(self, outdir):
        self.sort()
        data = self.pcapng_bytes() if self.fmt == "pcapng" else self.pcap_bytes()
        with open(os.path.join(outdir, self.name), "wb") as f:
            f.write(data)

    def expected(self):
        e = {"link_type": self.linktype, "format": self.fmt, "packets": len(self.records),
             "flows": [f.record() for f in self.flows if f.first is not None]}
        e.update(self.meta)
        return e


# ---- application payloads -------------------------------------------------------------

def dns_query(qid, name, qtype="A"):
    return DNS(id=qid, rd=1, qd=DNSQR(qname=name, qtype=qtype))


def dns_answer(qid, name, qtype, addr):
    return DNS(id=qid, qr=1, rd=1, ra=1, qd=DNSQR(qname=name, qtype=qtype),
               an=DNSRR(rrname=name, type=qtype, ttl=300, rdata=addr))


def tls_record(ctype, body, version=0x0303):
    return struct.pack(">BHH", ctype, version, len(body)) + body


def tls_handshake(htype, body):
    return struct.pack(">B", htype) + len(body).to_bytes(3, "big") + body


def ext(etype, body):
    return struct.pack(">HH", etype, len(body)) + body


def vec16(b):
    return struct.pack(">H", len(b)) + b


def client_hello(rng, sni, tls13):
    """A ClientHello as a browser sends it: SNI, groups, ALPN; TLS 1.3 adds
    supported_versions and a key share."""
    suites = ([0x1301, 0x1302, 0x1303] if tls13 else []) + \
        [0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014, 0x009C, 0x009D,
         0x002F, 0x0035]
    name = sni.encode()
    exts = ext(0, vec16(b"\0" + vec16(name)))
    exts += ext(23, b"") + ext(0xFF01, b"\0")
    exts += ext(10, vec16(struct.pack(">HHH", 29, 23, 24)))
    exts += ext(11, b"\x01\x00") + ext(35, b"")
    exts += ext(16, vec16(b"\x02h2\x08http/1.1"))
    exts += ext(13, vec16(struct.pack(">8H", 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501,
                                      0x0806, 0x0601)))
    if tls13:
        exts += ext(51, vec16(struct.pack(">HH", 29, 32) + rng.randbytes(32)))
        exts += ext(45, b"\x01\x01") + ext(43, b"\x04\x03\x04\x03\x03")
    body = b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32)
    body += vec16(b"".join(struct.pack(">H", s) for s in suites)) + b"\x01\x00" + vec16(exts)
    return tls_record(22, tls_handshake(1, body), 0x0301)


def server_hello(rng, tls13):
    suite = 0x1301 if tls13 else 0xC02F
    exts = ext(43, b"\x03\x04") + ext(51, struct.pack(">HH", 29, 32) + rng.randbytes(32)) \
        if tls13 else ext(0xFF01, b"\0") + ext(23, b"") + ext(16, vec16(b"\x02h2"))
    body = b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32) + \
        struct.pack(">HB", suite, 0) + vec16(exts)
    out = tls_record(22, tls_handshake(2, body))
    if not tls13:
        out += tls_record(22, tls_handshake(14, b""))  # ServerHelloDone
    return out + tls_record(20, b"\x01")


def tls_session(flow, rng, t, sni, tls13, exchanges, end):
    """TCP handshake, hello exchange, encrypted records; end is "fin", "rst" or "open"."""
    t = flow.handshake(t)
    t = flow.data(t + 200, True, client_hello(rng, sni, tls13))
    t = flow.data(t + 25_000, False, server_hello(rng, tls13))
    t = flow.data(t + 300, True, tls_record(20, b"\x01") + tls_record(23, rng.randbytes(53)))
    for _ in range(exchanges):
        t = flow.data(t + rng.randint(2_000, 400_000), True,
                      tls_record(23, rng.randbytes(rng.randint(80, 900))))
        t = flow.data(t + rng.randint(15_000, 60_000), False,
                      tls_record(23, rng.randbytes(rng.randint(200, 6000))))
    return close(flow, t, end)


def close(flow, t, end):
    if end == "fin":
        return flow.fin(t + 50_000)
    if end == "rst":
        return flow.rst(t + 50_000)
    return t


def http_session(flow, rng, t, host, path, end="fin", size=None):
    t = flow.handshake(t)
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Microsoft-CryptoAPI/10.0\r\n"
           "Accept: */*\r\nConnection: keep-alive\r\n\r\n" % (path, host)).encode()
    t = flow.data(t + 200, True, req)
    body = rng.randbytes(size if size is not None else rng.randint(300, 9000))
    resp = ("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            "Content-Length: %d\r\nServer: nginx\r\n\r\n" % len(body)).encode() + body
    t = flow.data(t + 30_000, False, resp)
    flow.tcp(t + 500, True, "A")
    return close(flow, t + 500, end)


def dns_exchange(flow, t, qid, name, qtype, addr):
    flow.udp(t, True, dns_query(qid, name, qtype))
    flow.udp(t + 1_800, False, dns_answer(qid, name, qtype, addr))
    return t + 1_800


def ping(flow, t, count, ident, v6=False, interval=SEC):
    for seq in range(count):
        data = bytes(range(56))
        if v6:
            flow.send(t, True, ICMPv6EchoRequest(id=ident, seq=seq, data=data))
            flow.send(t + 700, False, ICMPv6EchoReply(id=ident, seq=seq, data=data))
        else:
            flow.send(t, True, ICMP(type=8, id=ident, seq=seq) / data)
            flow.send(t + 700, False, ICMP(type=0, id=ident, seq=seq) / data)
        t += interval
    return t


def ssh_session(flow, rng, t, packets, end="fin"):
    t = flow.handshake(t)
    t = flow.data(t + 5_000, False, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n")
    t = flow.data(t + 300, True, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u2\r\n")
    kex = lambda: struct.pack(">IB", 1076, 6) + b"\x14" + rng.randbytes(1075)  # KEXINIT
    t = flow.data(t + 300, True, kex())
    t = flow.data(t + 300, False, kex())
    for _ in range(packets):
        t = flow.data(t + rng.randint(100_000, 3 * SEC), rng.random() < 0.5,
                      rng.randbytes(rng.choice([36, 52, 68, 100, 420])))
    return close(flow, t, end)


def ntp_packet(t, server):
    secs = t // SEC + 2208988800  # NTP era 0 counts from 1900
    first = 0x24 if server else 0x23  # version 4, mode 4 (server) / 3 (client)
    hdr = struct.pack(">BBbb", first, 2 if server else 0, 6, -23)
    return hdr + bytes(36) + struct.pack(">II", secs & 0xFFFFFFFF, t % SEC * 4294)


# ---- the captures -----------------------------------------------------------------------

# Names a branch resolves, where they point, and what ndpiReader 4.2 says of the TLS/HTTP
# flow that follows (checked with ndpiReader -i sample.pcap -C).
SITES = [
    # (name, IPv4, kind, path or "", app of the TCP flow, app of the DNS flow)
    ("core.hq.branchbank.cn", "10.0.50.10", "tls12", "", "TLS", "DNS"),
    ("mail.branchbank.cn", "10.0.50.25", "tls13", "", "TLS", "DNS"),
    ("login.microsoftonline.com", "20.190.151.68", "tls13", "", "TLS.Microsoft365",
     "DNS.Microsoft365"),
    ("www.baidu.com", "110.242.68.66", "tls12", "", "TLS", "DNS"),  # no Baidu rule in 4.2
    ("ctldl.windowsupdate.com", "93.184.221.240", "http", "/msdownload/update/v3/static/"
     "trustedr/en/authrootstl.cab", "HTTP.WindowsUpdate", "DNS.WindowsUpdate"),
    ("ocsp.digicert.com", "72.21.91.29", "http", "/MFEwTzBNMEswSTAJBgUrDgMCGgUABBQ",
     "HTTP", "DNS"),
]
RESOLVER, GATEWAY, NTP_CLIENT = "10.20.0.53", "10.20.0.1", "10.20.0.2"
TELLERS = ["10.20.1.%d" % i for i in range(11, 19)]


def gen_sample(start):
    """A bank branch over 10 minutes: tellers resolve and open TLS/HTTP sessions, an admin
    uses SSH, the NTP client keeps time, a monitor pings, an ATM on VLAN 120 talks TLS,
    and one workstation uses IPv6."""
    rng = random.Random(20260302)
    cap = Capture("sample.pcap", LINKTYPE_ETHERNET)
    end_t = start + 600 * SEC
    port = {h: 49152 + 97 * i for i, h in enumerate(TELLERS)}
    qid = 0x1000
    ends = ["fin", "fin", "fin", "rst", "open"]

    for host in TELLERS:
        t = start + rng.randint(0, 20 * SEC)
        while t < end_t - 40 * SEC:
            name, addr, kind, path, app, dns_app = rng.choice(SITES)
            port[host] += 1
            qid += 1
            f = Flow(cap, 17, host, port[host], RESOLVER, 53, app=dns_app, server_name=name)
            t = dns_exchange(f, t, qid, name, "A", addr)
            port[host] += 1
            sport = 80 if kind == "http" else 443
            f = Flow(cap, 6, host, port[host], addr, sport, app=app, server_name=name)
            if kind == "http":
                http_session(f, rng, t + 500, name, path, end=rng.choice(ends))
            else:
                tls_session(f, rng, t + 500, name, kind == "tls13", rng.randint(2, 12),
                            rng.choice(ends))
            t += rng.randint(15 * SEC, 45 * SEC)

    # Admin SSH to the branch server: long interactive session closed with FIN.
    f = Flow(cap, 6, "10.20.1.50", 51022, "10.20.0.20", 22, app="SSH")
    ssh_session(f, rng, start + 100 * SEC, 120)
    # A second SSH session the admin leaves open when the capture ends.
    f = Flow(cap, 6, "10.20.1.50", 51023, "10.20.0.21", 22, app="SSH")
    ssh_session(f, rng, start + 500 * SEC, 30, end="open")

    # NTP every 64 s from a fixed port: one flow (the gaps are shorter than idle timeout).
    f = Flow(cap, 17, NTP_CLIENT, 123, GATEWAY, 123, app="NTP")
    for t in range(start, end_t, 64 * SEC):
        f.udp(t, True, ntp_packet(t, False))
        f.udp(t + 900, False, ntp_packet(t + 900, True))

    # Link monitor pinging the core server and the gateway.
    ping(Flow(cap, 1, NTP_CLIENT, 0, "10.0.50.10", 0, app="ICMP"), start + 30 * SEC, 20, 0x4d2)
    ping(Flow(cap, 1, NTP_CLIENT, 0, GATEWAY, 0, app="ICMP"), start + 400 * SEC, 10, 0x4d3)

    # ATM on VLAN 120: DNS and TLS to the card processor.
    atm, tag = "10.20.120.5", [(ETH_8021Q, 120)]
    f = Flow(cap, 17, atm, 40001, RESOLVER, 53, vlan_tags=tag, app="DNS",
             server_name="atm.hq.branchbank.cn")
    dns_exchange(f, start + 60 * SEC, 0x7001, "atm.hq.branchbank.cn", "A", "10.0.50.30")
    f = Flow(cap, 6, atm, 40002, "10.0.50.30", 443, vlan_tags=tag, app="TLS",
             server_name="atm.hq.branchbank.cn")
    tls_session(f, rng, start + 61 * SEC, "atm.hq.branchbank.cn", False, 6, "fin")

    # IPv6 workstation: DNS (UDP) and TLS 1.3 (TCP) over IPv6.
    ws6, dns6, srv6 = "2001:db8:20:1::31", "2001:db8:20::53", "2001:db8:50::10"
    f = Flow(cap, 17, ws6, 50001, dns6, 53, app="DNS", server_name="core.hq.branchbank.cn")
    dns_exchange(f, start + 200 * SEC, 0x6001, "core.hq.branchbank.cn", "AAAA", srv6)
    f = Flow(cap, 6, ws6, 50002, srv6, 443, app="TLS", server_name="core.hq.branchbank.cn")
    tls_session(f, rng, start + 200 * SEC + 3_000, "core.hq.branchbank.cn", True, 8, "fin")
    return cap


def link_flows(cap, start, v4=True, v6=1, af6s=(24,)):
    """The same small set in every link-type capture: DNS, HTTP closed by FIN, ICMP echo
    over IPv4; with v6, the same over IPv6 (v6=1: HTTP only; v6=3: all three)."""
    rng = random.Random(4242)
    t = start
    if v4:
        f = Flow(cap, 17, "192.168.7.10", 53001, "192.168.7.1", 53, app="DNS",
                 server_name="www.branchbank.cn")
        dns_exchange(f, t, 0x0101, "www.branchbank.cn", "A", "203.0.113.80")
        f = Flow(cap, 6, "192.168.7.10", 53002, "203.0.113.80", 80, app="HTTP",
                 server_name="www.branchbank.cn")
        http_session(f, rng, t + 10_000, "www.branchbank.cn", "/index.html", size=3000)
        ping(Flow(cap, 1, "192.168.7.10", 0, "192.168.7.1", 0, app="ICMP"), t + 2 * SEC, 3, 7)
    if v6:
        afs = list(af6s) * 3
        f = Flow(cap, 6, "2001:db8:7::10", 53003, "2001:db8:113::80", 80, app="HTTP",
                 server_name="www.branchbank.cn", af6=afs[0])
        http_session(f, rng, t + 6 * SEC, "www.branchbank.cn", "/index.html", size=3000)
    if v6 == 3:
        f = Flow(cap, 17, "2001:db8:7::10", 53004, "2001:db8:7::1", 53, app="DNS",
                 server_name="www.branchbank.cn", af6=afs[1])
        dns_exchange(f, t + 8 * SEC, 0x0102, "www.branchbank.cn", "AAAA", "2001:db8:113::80")
        ping(Flow(cap, 58, "2001:db8:7::10", 0, "2001:db8:7::1", 0, app="ICMPV6", af6=afs[2]),
             t + 9 * SEC, 3, 8, v6=True)
    return cap


def gen_link_captures(start):
    caps = [
        link_flows(Capture("eth.pcap", LINKTYPE_ETHERNET), start),
        link_flows(Capture("eth.pcapng", LINKTYPE_ETHERNET, fmt="pcapng"), start),
        link_flows(Capture("sll.pcap", LINKTYPE_SLL), start),
        link_flows(Capture("sll2.pcap", LINKTYPE_SLL2), start),
        link_flows(Capture("raw4.pcap", LINKTYPE_RAW), start, v6=0),
        link_flows(Capture("raw6.pcap", LINKTYPE_RAW), start, v4=False, v6=3),
        # BSD loopback: IPv6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD) or 30 (macOS): one of each.
        link_flows(Capture("null.pcap", LINKTYPE_NULL), start, v6=3, af6s=(24, 28, 30)),
        link_flows(Capture("loop.pcap", LINKTYPE_LOOP), start),
    ]
    return caps


def gen_vlan(start):
    """802.1Q, QinQ (802.1ad outer + 802.1Q inner) and double 802.1Q; vlan = innermost."""
    rng = random.Random(7)
    cap = Capture("vlan.pcap", LINKTYPE_ETHERNET)
    f = Flow(cap, 17, "10.30.100.10", 41001, "10.30.100.1", 53, vlan_tags=[(ETH_8021Q, 100)],
             app="DNS", server_name="teller.branchbank.cn")
    dns_exchange(f, start, 0x2001, "teller.branchbank.cn", "A", "10.0.50.40")
    f = Flow(cap, 6, "10.30.101.10", 41002, "10.0.50.40", 80,
             vlan_tags=[(ETH_8021AD, 2000), (ETH_8021Q, 300)], app="HTTP",
             server_name="teller.branchbank.cn")
    http_session(f, rng, start + SEC, "teller.branchbank.cn", "/api/status", size=1200)
    f = Flow(cap, 6, "10.30.102.10", 41003, "10.0.50.41", 443,
             vlan_tags=[(ETH_8021Q, 10), (ETH_8021Q, 20)], app="TLS",
             server_name="vault.branchbank.cn")
    tls_session(f, rng, start + 2 * SEC, "vault.branchbank.cn", True, 2, "fin")
    ping(Flow(cap, 1, "10.30.103.10", 0, "10.30.103.1", 0,
              vlan_tags=[(ETH_8021AD, 2001), (ETH_8021Q, 4094)], app="ICMP"),
         start + 3 * SEC, 2, 9)
    f = Flow(cap, 17, "10.30.0.10", 41004, "10.30.0.1", 53, app="DNS",
             server_name="teller.branchbank.cn")  # untagged, for contrast
    dns_exchange(f, start + 4 * SEC, 0x2002, "teller.branchbank.cn", "A", "10.0.50.40")
    return cap


def gen_ipv4opts_frag(start):
    cap = Capture("ipv4opts_frag.pcap", LINKTYPE_ETHERNET)
    rng = random.Random(11)
    # TCP with IP options (Router Alert, Record Route) on every packet of the flow.
    f = Flow(cap, 6, "10.40.0.10", 42001, "10.40.0.20", 80, app="HTTP",
             server_name="opts.branchbank.cn")
    real_send = f.send
    f.send = lambda t, c, l4, count=True, **kw: real_send(
        t, c, l4, count, options=[IPOption_Router_Alert(), IPOption_RR(routers=["10.40.0.1"])])
    http_session(f, rng, start, "opts.branchbank.cn", "/", size=800)

    # A 4000-byte UDP datagram in 3 fragments (the first carries the UDP header), then a
    # 2-fragment reply sent last fragment first: each reassembled into one packet.
    f = Flow(cap, 17, "10.40.0.10", 42002, "10.40.0.30", 5004)
    merged = 0
    for i, (from_client, size) in enumerate([(True, 4000), (False, 2000)]):
        whole = f.ip(from_client, UDP(sport=42002 if from_client else 5004,
                                      dport=5004 if from_client else 42002) /
                     rng.randbytes(size))
        frags = fragment(whole, fragsize=1480)
        if i == 1:
            frags = frags[::-1]
        wire = 0
        for j, fr in enumerate(frags):
            t = start + 2 * SEC + i * 10_000 + j * 100
            wire += f.emit(t, from_client, bytes(fr), count=False)
        f.count(t, from_client, wire)
        merged += len(frags) - 1
    cap.meta["fragments_merged"] = merged

    ping(Flow(cap, 1, "10.40.0.10", 0, "10.40.0.1", 0, app="ICMP"), start + 3 * SEC, 2, 11)
    # SCTP (132): a flow on addresses and protocol, ports 0, although SCTP has ports.
    f = Flow(cap, 132, "10.40.0.10", 0, "10.40.0.40", 0, app="SCTP")
    f.send(start + 4 * SEC, True, SCTP(sport=2905, dport=2905) / SCTPChunkInit(
        init_tag=0x11223344, a_rwnd=65535, n_out_streams=10, n_in_streams=10, init_tsn=1))
    f.send(start + 4 * SEC + 500, False, SCTP(sport=2905, dport=2905, tag=0x11223344) /
           SCTPChunkInit(init_tag=0x55667788, a_rwnd=65535, n_out_streams=10,
                         n_in_streams=10, init_tsn=1))
    return cap


def gen_ipv6ext(start):
    cap = Capture("ipv6ext.pcap", LINKTYPE_ETHERNET)
    rng = random.Random(13)
    hdrs = lambda: (IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() /
                    IPv6ExtHdrRouting(addresses=["2001:db8:60::1"], segleft=0))
    f = Flow(cap, 6, "2001:db8:60::10", 43001, "2001:db8:60::20", 80, app="HTTP",
             server_name="v6.branchbank.cn")
    real_send = f.send
    f.send = lambda t, c, l4, count=True, **kw: real_send(t, c, hdrs() / l4, count)
    http_session(f, rng, start, "v6.branchbank.cn", "/", size=1000)
    f = Flow(cap, 17, "2001:db8:60::10", 43002, "2001:db8:60::53", 53, app="DNS",
             server_name="v6.branchbank.cn")
    for i, from_client in enumerate([True, False]):
        msg = dns_query(0x3001, "v6.branchbank.cn", "AAAA") if from_client else \
            dns_answer(0x3001, "v6.branchbank.cn", "AAAA", "2001:db8:60::20")
        sp, dp = (43002, 53) if from_client else (53, 43002)
        f.send(start + SEC + i * 2_000, from_client,
               IPv6ExtHdrHopByHop() / IPv6ExtHdrDestOpt() / UDP(sport=sp, dport=dp) / msg)
    ping(Flow(cap, 58, "2001:db8:60::10", 0, "2001:db8:60::1", 0, app="ICMPV6"),
         start + 2 * SEC, 3, 12, v6=True)
    return cap


def gen_timeouts(start):
    """Assumes the default timeouts: idle 120 s, active 300 s, tcp_close 10 s."""
    cap = Capture("timeouts.pcap", LINKTYPE_ETHERNET)
    cap.meta["assumes"] = {"idle_timeout_s": 120, "active_timeout_s": 300,
                           "tcp_close_timeout_s": 10}
    rng = random.Random(17)
    # UDP with a 200 s silence: two flows on the same 5-tuple, the first ends idle.
    a = Flow(cap, 17, "10.50.0.10", 44001, "10.50.0.20", 9000)
    b = None
    for i in range(7):
        a.udp(start + i * 5 * SEC, True, rng.randbytes(100))
        a.udp(start + i * 5 * SEC + 1_000, False, rng.randbytes(60))
    a.extra = {"end_reason": "idle"}
    b = Flow(cap, 17, "10.50.0.10", 44001, "10.50.0.20", 9000)
    for i in range(7):
        t = start + 230 * SEC + i * 5 * SEC
        b.udp(t, True, rng.randbytes(100))
        b.udp(t + 1_000, False, rng.randbytes(60))
    # it goes quiet at +260 s while the TCP flow below runs to +700 s: it idles out too
    b.extra = {"end_reason": "idle"}

    # 700 s TCP flow, a packet every 10 s: periodic updates at 300 s and 600 s.
    f = Flow(cap, 6, "10.50.0.10", 44002, "10.50.0.30", 5000)
    t = f.handshake(start)
    for i in range(1, 70):
        f.data(start + i * 10 * SEC, i % 2 == 1, rng.randbytes(40))
    f.fin(start + 700 * SEC)
    f.extra = {"end_reason": "tcp_close", "updates": 2}

    # FIN close, then late ACKs within 2 s: still the same flow (tcp_close linger 10 s).
    f = Flow(cap, 6, "10.50.0.10", 44003, "10.50.0.40", 5011)  # 5001 is Targus by port
    t = f.handshake(start + 20 * SEC)
    t = f.data(t + 1_000, True, rng.randbytes(200))
    t = f.data(t + 10_000, False, rng.randbytes(500))
    t = f.fin(t + 10_000)
    for dt in (500_000, 1_200_000, 1_900_000):
        f.tcp(t + dt, False, "A")
    f.extra = {"end_reason": "tcp_close"}

    # Closed by RST from the server.
    f = Flow(cap, 6, "10.50.0.10", 44004, "10.50.0.50", 5002)
    t = f.handshake(start + 30 * SEC)
    t = f.data(t + 1_000, True, rng.randbytes(120))
    f.rst(t + 5_000)
    f.extra = {"end_reason": "tcp_close"}
    return cap


def gen_bad(outdir, start):
    """Broken files: the reader must refuse them with a message or count what it can."""
    exp = {}
    with open(os.path.join(outdir, "empty.pcap"), "wb"):
        pass
    exp["empty.pcap"] = {"error": "empty file", "packets": 0, "flows": []}
    with open(os.path.join(outdir, "notpcap.pcap"), "wb") as f:
        f.write(b"This is not a capture file.\nIt is a text file named .pcap.\n")
    exp["notpcap.pcap"] = {"error": "not a pcap or pcapng file", "packets": 0, "flows": []}

    unk = Capture("unknown_link.pcap", LINKTYPE_USER0)
    Flow(unk, 17, "10.60.0.1", 1, "10.60.0.2", 2).udp(start, True, b"user0")
    unk.flows = []
    unk.write(outdir)
    exp["unknown_link.pcap"] = {"error": "unsupported link type 147", "link_type": 147,
                                "format": "pcap", "packets": 1, "flows": []}

    # Ten Ethernet packets of one UDP flow; the files are then cut short.
    ten = Capture("cut.pcap", LINKTYPE_ETHERNET)
    f = Flow(ten, 17, "10.60.0.10", 45001, "10.60.0.20", 9001)
    for i in range(10):
        f.udp(start + i * 100_000, i % 2 == 0, bytes([i]) * 200)
    data = ten.pcap_bytes()
    rec = 16 + len(ten.records[0][1])  # every record has the same size
    with open(os.path.join(outdir, "cut.pcap"), "wb") as fh:
        fh.write(data[:24 + 7 * rec + 16 + 100])  # 7 records, 8th header, half its data
    with open(os.path.join(outdir, "cut_header.pcap"), "wb") as fh:
        fh.write(data[:24 + 3 * rec + 9])  # 3 records, then 9 bytes of a header
    one = lambda n, c: {"src_ip": "10.60.0.10", "src_port": 45001, "dst_ip": "10.60.0.20",
                        "dst_port": 9001, "ip_proto": 17, "vlan": 0,
                        "c2s_packets": c, "c2s_bytes": c * 242, "s2c_packets": n - c,
                        "s2c_bytes": (n - c) * 242, "app": "", "server_name": ""}
    exp["cut.pcap"] = {"link_type": 1, "format": "pcap", "complete_packets": 7,
                       "packets": 7, "flows": [one(7, 4)]}
    exp["cut_header.pcap"] = {"link_type": 1, "format": "pcap", "complete_packets": 3,
                              "packets": 3, "flows": [one(3, 2)]}

    # Snap length 60: most frames are cut (caplen < len). The parser must count each as
    # parsed or as a named drop; flows are listed as if everything were parsed, so they
    # are an upper bound ("flows_exact": false).
    tr = Capture("trunc_packets.pcap", LINKTYPE_ETHERNET, snaplen=60)
    link_flows(tr, start, v6=3)
    f = Flow(tr, 6, "10.60.1.10", 45002, "10.60.1.20", 443, vlan_tags=[(ETH_8021Q, 5)])
    tls_session(f, random.Random(19), start + 20 * SEC, "snap.branchbank.cn", True, 2, "rst")
    tr.write(outdir)
    e = tr.expected()
    e.update({"snaplen": 60, "flows_exact": False,
              "cut_packets": sum(1 for r in tr.records if len(r[1]) < r[2])})
    for fl in e["flows"]:
        fl["app"] = fl["server_name"] = ""
    exp["trunc_packets.pcap"] = e
    return exp


def parse_start(text):
    if text.isdigit():
        return int(text)
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def main():
    ap = argparse.ArgumentParser(description="Write tapwatch's test captures and expected.json.")
    ap.add_argument("outdir")
    ap.add_argument("--start", default=DEFAULT_START,
                    help="first timestamp, YYYY-MM-DDTHH:MM:SSZ or epoch seconds "
                         "(default %(default)s)")
    args = ap.parse_args()
    try:
        start_s = parse_start(args.start)
    except ValueError:
        sys.exit("gen_captures: --start: expected YYYY-MM-DDTHH:MM:SSZ or epoch seconds")
    start = start_s * SEC
    os.makedirs(args.outdir, exist_ok=True)

    caps = [gen_sample(start)] + gen_link_captures(start) + \
        [gen_vlan(start), gen_ipv4opts_frag(start), gen_ipv6ext(start), gen_timeouts(start)]
    expected = {}
    for c in caps:
        c.write(args.outdir)
        expected[c.name] = c.expected()
    expected.update(gen_bad(args.outdir, start))

    doc = {"generator": "scripts/gen_captures.py", "start": start_s,
           "conventions": "client = sender of the first packet; bytes = orig_len; "
                          "times in microseconds; app = ndpiReader 4.2 ndpi_proto",
           "captures": expected}
    with open(os.path.join(args.outdir, "expected.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
