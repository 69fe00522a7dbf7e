"""inet_csum.py - the Internet checksum (RFC 1071), shared by the generators that build
packets by hand with the standard library only (gen_flood.py, gen_malformed.py)."""
import struct


def csum(data):
    """Ones' complement of the ones' complement sum of data's 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
