#!/usr/bin/python3
"""evidence_tamper.py - what an attacker with Redis write access (or a sensor host's disk) does,
for tests/integration/test_evidence.sh and test_evidence_cluster.sh. Speaks RESP itself
(binary-safe), over a unix socket or, given HOST:PORT, to a Redis Cluster: each command goes to
the master of its key's slot (the first argument: a key, or KEYS's pattern, whose hash tag
names the slot), so a tamper lands on the node that owns what it changes. Record frames are
zstd (control/record/compact.h), re-packed with the zstd command.

  evidence_tamper.py SOCK|HOST:PORT SENSOR edit-seq SEQ   the record tagged seq SEQ: c2s_bytes set to 1
  evidence_tamper.py SOCK|HOST:PORT SENSOR edit-record | delete-record | insert-record | replay-older |
                                 edit-alert | delete-alert | delete-seal | delete-hour |
                                 hide-index | orphan-index | hide-address | edit-port |
                                 orphan-posting | misfile-slice | delete-alert-index |
                                 edit-statement |
                                 delete-statement | delete-newest | edit-summary |
                                 delete-summary-field | delete-summary-key |
                                 delete-summary-snapshot
  (the summary tampers act on the first sealed day bucket, README "Summaries": a value raised
  by one, a hash field removed, the bucket's hash deleted, one of its sealed snapshots removed)
  (delete-newest: a cut at the end, made consistent: the newest run's newer half of its seals
  removed with every item they cover, records, alerts, gap records and statements, and the
  index postings of the removed records, so that only what statements say can tell)
  (hide-address: one record's address posting removed from its slice; edit-port: one port
  posting's port changed; orphan-posting: one posting added to a slice, pointing at an
  ordinal its block does not have; misfile-slice: a slice of a bucket key tw:{S:H}:x:<k> moved
  to the next bucket's key, where flows does not look for its postings; delete-alert-index: one
  entry of an alerts:t:<hour> removed)
  evidence_tamper.py spool FILE    one spooled record's c2s_bytes set to 999999999, CRC redone
Prints what it did; exit 1 when there was nothing to tamper with.
"""
import json
import re
import socket
import struct
import subprocess
import sys
import zlib


class Redis:
    def __init__(self, path):
        if isinstance(path, tuple):
            self.s = socket.create_connection(path)
        else:
            self.s = socket.socket(socket.AF_UNIX)
            self.s.connect(path)
        self.f = self.s.makefile("rb")

    def __call__(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.reply()

    def reply(self):
        line = self.f.readline()[:-2]
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)[:-2]
            return data
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)


def slot_of(key):
    """The cluster slot of a key: CRC16-XMODEM of its hash tag, modulo 16384."""
    k = key if isinstance(key, bytes) else str(key).encode()
    o = k.find(b"{")
    if o >= 0:
        c = k.find(b"}", o + 1)
        if c > o + 1:
            k = k[o + 1:c]
    crc = 0
    for x in k:
        crc ^= x << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xffff if crc & 0x8000 else (crc << 1) & 0xffff
    return crc % 16384


class Cluster:
    """Commands to the master of their first argument's slot (CLUSTER SLOTS, asked once)."""

    def __init__(self, seed):
        host, port = seed.rsplit(":", 1)
        self.nodes = {}
        self.slots = []  # (first, last, (host, port))
        for lo, hi, master, *_ in self.node((host, int(port)))("CLUSTER", "SLOTS"):
            self.slots.append((lo, hi, (master[0].decode(), master[1])))

    def node(self, addr):
        if addr not in self.nodes:
            self.nodes[addr] = Redis(addr)
        return self.nodes[addr]

    def __call__(self, *args):
        slot = slot_of(args[1])
        for lo, hi, addr in self.slots:
            if lo <= slot <= hi:
                return self.node(addr)(*args)
        raise RuntimeError("no master owns slot %d" % slot)


def unpack_frame(val):
    assert val[:3] == b"TWR", val[:4]
    raw = subprocess.run(["zstd", "-d", "-c", "-q"], input=val[4:], capture_output=True,
                         check=True).stdout
    (n,) = struct.unpack(">H", raw[:2])
    recs, at = [], 2
    for _ in range(n):
        (l,) = struct.unpack(">H", raw[at:at + 2])
        recs.append(raw[at + 2:at + 2 + l])
        at += 2 + l
    return val[:4], recs


def pack_frame(prefix, recs):
    raw = struct.pack(">H", len(recs)) + b"".join(struct.pack(">H", len(r)) + r for r in recs)
    # the reader needs the content size in the frame header: --stream-size gives it from stdin
    return prefix + subprocess.run(["zstd", "-q", "-c", "-3", "--stream-size=%d" % len(raw)], input=raw,
                                   capture_output=True,
                                   check=True).stdout


def pairs(flat):
    return list(zip(flat[0::2], flat[1::2]))


def block_keys(r, sensor):
    hours = r("ZRANGE", "tw:{%s}:hours" % sensor, 0, -1)
    return [(h, "tw:{%s:%s}:b" % (sensor, h.decode())) for h in hours]


def first_frame(r, sensor):
    for _, key in block_keys(r, sensor):
        fields = pairs(r("HGETALL", key))
        if fields:
            fields.sort()
            return key, fields
    sys.exit("no record frame")


def unpack_slice(val):
    assert val[:3] == b"TWX", val[:4]
    raw = subprocess.run(["zstd", "-d", "-c", "-q"], input=val[4:], capture_output=True,
                         check=True).stdout
    groups, at = [], 0
    while at < len(raw):
        kind, vlen = raw[at], raw[at + 1]
        value = raw[at + 2:at + 2 + vlen]
        at += 2 + vlen
        (n,) = struct.unpack(">H", raw[at:at + 2])
        at += 2
        d = {1: 1, 2: 8, 3: 2}.get(kind, 0)  # compact.h: detail bytes of n4, n6, p
        posts = []
        for _ in range(n):
            posts.append(raw[at:at + 12 + d])
            at += 12 + d
        groups.append((kind, value, posts))
    return val[:4], groups


def pack_slice(prefix, groups):
    raw = b"".join(bytes([k, len(v)]) + v + struct.pack(">H", len(p)) + b"".join(p)
                   for k, v, p in groups if p)
    return prefix + subprocess.run(["zstd", "-q", "-c", "-3", "--stream-size=%d" % len(raw)],
                                   input=raw, capture_output=True, check=True).stdout


def tag_of(js):
    """(run, seq) of a stored JSON text (chain.h's tag), or (None, 0)."""
    m = re.search(rb'"seq":(\d+),"run":"([0-9a-f]{16})"\}$', js)
    return (m.group(2).decode(), int(m.group(1))) if m else (None, 0)


def delete_newest(r, sensor):
    seals_key = "tw:{%s}:seals" % sensor
    seals = []
    for f, v in pairs(r("HGETALL", seals_key)):
        kv = dict(x.split(b"=", 1) for x in v.split(b" ")[1:] if b"=" in x)
        seals.append((int(kv[b"time"]), kv[b"run"].decode(), int(kv[b"no"]), int(kv[b"last"]), f))
    run = max(seals)[1]
    mine = sorted((no, last, f) for _, rn, no, last, f in seals if rn == run)
    if len(mine) < 2:
        sys.exit("run %s has %d seal(s): nothing to cut at the end" % (run, len(mine)))
    keep = len(mine) // 2
    cut = mine[keep - 1][1]  # items after this number go
    for _, _, f in mine[keep:]:
        r("HDEL", seals_key, f)
    gone = {"records": 0, "alerts": 0, "statements": 0, "gaps": 0}
    for key, what in (("tw:{%s}:alerts" % sensor, "alerts"),
                      ("tw:{%s}:statements" % sensor, "statements")):
        for eid, fv in r("XRANGE", key, "-", "+"):
            d = dict(pairs(fv))
            if what == "statements":
                st = json.loads(d[b"statement"])
                rn, sq = st.get("run"), st.get("seq") or 0
            else:
                rn, sq = d.get(b"run", b"").decode(), int(d.get(b"seq", b"0"))
            if rn == run and sq > cut:
                r("XDEL", key, eid)
                gone[what] += 1
    for f, v in pairs(r("HGETALL", "tw:{%s}:gaps" % sensor)):
        rn, sq = tag_of(v)
        if rn == run and sq > cut:
            r("HDEL", "tw:{%s}:gaps" % sensor, f)
            gone["gaps"] += 1
    removed = set()  # (hour, block id, ordinal) of the records removed
    for h, key in block_keys(r, sensor):
        for f, v in sorted(pairs(r("HGETALL", key))):
            block, frame = f[:24], int(f[25:], 16)
            prefix, recs = unpack_frame(v)
            keep_recs = []
            for i, js in enumerate(recs):
                rn, sq = tag_of(js)
                if rn == run and sq > cut:
                    removed.add((int(h), block, frame * 64 + i))
                else:
                    if len(keep_recs) != i:
                        sys.exit("records to keep after one removed in %s %s" % (key, f))
                    keep_recs.append(js)
            if len(keep_recs) == len(recs):
                continue
            gone["records"] += len(recs) - len(keep_recs)
            if keep_recs:
                r("HSET", key, f, pack_frame(prefix, keep_recs))
            else:
                r("HDEL", key, f)
    # the postings of the records removed (a posting in hour H points at hour H - back)
    for h, _ in block_keys(r, sensor):
        for key in r("KEYS", "tw:{%s:%s}:x:*" % (sensor, h.decode())):
            for f, v in pairs(r("HGETALL", key)):
                prefix, groups = unpack_slice(v)
                out = [(k, val, [p for p in posts
                                 if (int(h) - struct.unpack(">H", p[2:4])[0], f,
                                     struct.unpack(">H", p[0:2])[0]) not in removed])
                       for k, val, posts in groups]
                if sum(len(p) for _, _, p in out) == sum(len(p) for _, _, p in groups):
                    continue
                if any(p for _, _, p in out):
                    r("HSET", key, f, pack_slice(prefix, out))
                else:
                    r("HDEL", key, f)
    print("delete-newest: run %s after seq %d: %d seals, %s" % (
        run, cut, len(mine) - keep, ", ".join("%d %s" % (n, w) for w, n in gone.items())))


def slice_tamper(r, sensor, what):
    """One posting of the first index slice that has one of the kind wanted changed."""
    kind = {"hide-address": 1, "edit-port": 3, "orphan-posting": 0}[what]
    for h, _ in block_keys(r, sensor):
        for key in sorted(r("KEYS", "tw:{%s:%s}:x:*" % (sensor, h.decode()))):
            for f, v in sorted(pairs(r("HGETALL", key))):
                prefix, groups = unpack_slice(v)
                for gi, (k, val, posts) in enumerate(groups):
                    if k != kind or not posts:
                        continue
                    p = posts[0]
                    if what == "hide-address":
                        posts = posts[1:]
                        said = "removed address posting %s" % ".".join(str(b) for b in val + p[12:13])
                    elif what == "edit-port":
                        (port,) = struct.unpack(">H", p[12:14])
                        # another port of the same bucket: the posting stays where flows looks
                        other = port ^ 1 if port ^ 1 else 2
                        posts = [p[:12] + struct.pack(">H", other)] + posts[1:]
                        said = "port posting %d -> %d" % (port, other)
                    else:
                        posts = posts + [struct.pack(">HH", 65000, 0) + p[4:]]
                        said = "a time posting added for ordinal 65000"
                    groups[gi] = (k, val, posts)
                    r("HSET", key, f, pack_slice(prefix, groups))
                    print("%s: %s %s: %s" % (what, key.decode(), f.decode(), said))
                    return
    sys.exit("no posting of kind %d" % kind)


def main():
    if sys.argv[1] == "spool":
        data = bytearray(open(sys.argv[2], "rb").read())
        item = struct.unpack("<I", data[12:16])[0]
        slot = 64  # the first slot: its record's c2s_bytes is at offset 32 of the item
        assert data[slot:slot + 4] == b"TWSI", "no spooled record"
        data[slot + 16 + 32:slot + 16 + 40] = struct.pack("<Q", 999999999)
        struct.pack_into("<I", data, slot + 4, zlib.crc32(bytes(data[slot + 16:slot + 16 + item])))
        open(sys.argv[2], "wb").write(bytes(data))
        print("spool: first record's c2s_bytes set to 999999999, CRC recomputed")
        return
    where = sys.argv[1]
    r = Cluster(where) if not where.startswith("/") and ":" in where else Redis(where)
    sensor, what = sys.argv[2], sys.argv[3]
    alerts = "tw:{%s}:alerts" % sensor
    if what == "edit-record":
        key, fields = first_frame(r, sensor)
        field, val = fields[0]
        prefix, recs = unpack_frame(val)
        old = recs[0]
        i = old.index(b'"c2s_bytes":') + len(b'"c2s_bytes":')
        j = i
        while old[j:j + 1].isdigit():
            j += 1
        recs[0] = old[:i] + b"1" + old[j:]
        r("HSET", key, field, pack_frame(prefix, recs))
        print("edit-record: %s %s: c2s_bytes %s -> 1" % (key, field.decode(), old[i:j].decode()))
    elif what == "edit-seq":  # a record a query prints (flows --verify marks it)
        want = int(sys.argv[4])
        for _, key in block_keys(r, sensor):
            for field, val in pairs(r("HGETALL", key)):
                prefix, recs = unpack_frame(val)
                for k, js in enumerate(recs):
                    if tag_of(js)[1] != want:
                        continue
                    recs[k] = re.sub(rb'"c2s_bytes":\d+', b'"c2s_bytes":1', js, 1)
                    r("HSET", key, field, pack_frame(prefix, recs))
                    print("edit-seq: %s %s: seq %d c2s_bytes -> 1" % (key, field.decode(), want))
                    return
        sys.exit("no record tagged seq %d" % want)
    elif what == "delete-record":
        key, fields = first_frame(r, sensor)
        r("HDEL", key, fields[-1][0])
        print("delete-record: HDEL %s %s" % (key, fields[-1][0].decode()))
    elif what == "insert-record":
        key, fields = first_frame(r, sensor)
        prefix, recs = unpack_frame(fields[0][1])
        forged = recs[0].replace(b'"c2s_bytes":', b'"c2s_bytes":7', 1)
        r("HSET", key, b"ffffffffffffffffffffffff:0000", pack_frame(prefix, [forged]))
        print("insert-record: a forged frame in %s" % key)
    elif what == "replay-older":
        key, fields = first_frame(r, sensor)
        # an older frame stored again under a newer block id: a query would take its
        # records as the newest versions
        r("HSET", key, b"fffffffffffffffffffffffe:0000", fields[0][1])
        print("replay-older: %s %s stored again as a newer block" % (key, fields[0][0].decode()))
    elif what in ("edit-alert", "delete-alert"):
        entries = r("XRANGE", alerts, "-", "+")
        if not entries:
            sys.exit("no alert")
        eid, fv = entries[0]
        r("XDEL", alerts, eid)
        if what == "edit-alert":
            flat = []
            for k, v in pairs(fv):
                flat += [k, b"low" if k == b"severity" else v]
            r("XADD", alerts, "*", *flat)
        print("%s: %s" % (what, eid.decode()))
    elif what in ("edit-statement", "delete-statement"):
        key = "tw:{%s}:statements" % sensor
        entries = r("XRANGE", key, "-", "+")
        if not entries:
            sys.exit("no statement")
        eid, fv = entries[0]
        r("XDEL", key, eid)
        if what == "edit-statement":  # one more packet received, the signature left as it was
            flat = []
            for k, v in pairs(fv):
                if k == b"statement":
                    v = re.sub(rb'"packets_received":(\d+)',
                               lambda m: b'"packets_received":%d' % (int(m.group(1)) + 1), v, 1)
                flat += [k, v]
            eid = r("XADD", key, "*", *flat)
        print("%s: %s" % (what, eid.decode()))
    elif what in ("edit-summary", "delete-summary-field", "delete-summary-key",
                  "delete-summary-snapshot"):
        sealed = sorted(m.decode() for m in r("ZRANGE", "tw:{%s}:sum-sealed" % sensor, 0, -1))
        days = [m for m in sealed if re.search(r":d:[0-9]+$", m)]
        if not days:
            sys.exit("no sealed summary bucket")
        key = "tw:{%s}:sum:%s" % (sensor, days[0])
        fields = sorted(r("HKEYS", key))
        if what == "edit-summary":
            r("HINCRBY", key, b"bytes_out", 1)
        elif what == "delete-summary-field":
            r("HDEL", key, b"flows")
        elif what == "delete-summary-key":
            r("DEL", key)
        else:
            snaps = sorted(r("HKEYS", key + ":seals"))
            if not snaps:
                sys.exit("no snapshot in %s:seals" % key)
            r("HDEL", key + ":seals", snaps[0])
            key += ":seals " + snaps[0].decode()
        print("%s: %s (%d fields)" % (what, key, len(fields)))
    elif what == "delete-newest":
        delete_newest(r, sensor)
    elif what == "delete-seal":
        fields = sorted(pairs(r("HGETALL", "tw:{%s}:seals" % sensor)))
        if not fields:
            sys.exit("no seal")
        r("HDEL", "tw:{%s}:seals" % sensor, fields[0][0])
        print("delete-seal: %s" % fields[0][0].decode())
    elif what == "delete-hour":
        h, key = block_keys(r, sensor)[0]
        r("DEL", key)
        r("ZREM", "tw:{%s}:hours" % sensor, h)
        for k in r("KEYS", "tw:{%s:%s}:*" % (sensor, h.decode())):
            r("DEL", k)
        print("delete-hour: %s" % h.decode())
    elif what in ("hide-index", "orphan-index"):
        # the quiet-hour slices (compact.h: tw:{S:H}:x:a) of the first hour
        h, _ = block_keys(r, sensor)[0]
        key = "tw:{%s:%s}:x:a" % (sensor, h.decode())
        fields = sorted(pairs(r("HGETALL", key)))
        if not fields:
            sys.exit("no index slice in %s" % key)
        if what == "hide-index":  # a block's postings gone: flows no longer finds its records
            r("HDEL", key, fields[0][0])
        else:  # a block's postings again under a block id that has no records
            r("HSET", key, b"ffffffffffffffffffffffff", fields[0][1])
        print("%s: %s %s" % (what, key, fields[0][0].decode()))
    elif what in ("hide-address", "edit-port", "orphan-posting"):
        slice_tamper(r, sensor, what)
    elif what == "misfile-slice":
        for h, _ in block_keys(r, sensor):
            keys = sorted(k for k in r("KEYS", "tw:{%s:%s}:x:*" % (sensor, h.decode()))
                          if not k.endswith(b":a"))
            if keys:
                k = keys[0]
                f, v = sorted(pairs(r("HGETALL", k)))[0]
                other = b"%s:%d" % (k.rsplit(b":", 1)[0], (int(k.rsplit(b":", 1)[1]) + 1) % 64)
                r("HDEL", k, f)
                r("HSET", other, f, v)
                print("misfile-slice: %s %s moved to %s" % (k.decode(), f.decode(), other.decode()))
                return
        sys.exit("no bucket slice")
    elif what == "delete-alert-index":
        keys = sorted(r("KEYS", "tw:{%s}:alerts:t:*" % sensor))
        if not keys:
            sys.exit("no alert time index")
        members = r("ZRANGE", keys[0], 0, -1)
        r("ZREM", keys[0], members[0])
        print("delete-alert-index: ZREM %s %s" % (keys[0].decode(), members[0].decode()))
    else:
        sys.exit("unknown tamper %s" % what)


if __name__ == "__main__":
    main()
