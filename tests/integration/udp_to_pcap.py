#!/usr/bin/python3
"""udp_to_pcap.py - receive UDP datagrams and write them to a pcap file, as IPv4/UDP packets
addressed to DPORT, so that tshark can decode what an exporter sent (test_ipfix.sh).

    udp_to_pcap.py LISTEN_PORT DPORT OUT.pcap READY_FILE

Listens on 127.0.0.1:LISTEN_PORT, touches READY_FILE once bound, and writes until SIGTERM.
"""
import os
import signal
import socket
import sys
import time

from scapy.all import IP, UDP, Ether, PcapWriter  # noqa: E402


def main():
    port, dport, out, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("127.0.0.1", port))
    sock.settimeout(0.2)
    writer = PcapWriter(out, linktype=1, sync=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    open(ready, "w").close()
    while not stop:
        try:
            data, peer = sock.recvfrom(65535)
        except socket.timeout:
            continue
        pkt = Ether() / IP(src=peer[0], dst="127.0.0.1") / UDP(sport=peer[1], dport=dport) / data
        pkt.time = time.time()
        writer.write(pkt)
    writer.close()
    os.sync()


if __name__ == "__main__":
    main()
