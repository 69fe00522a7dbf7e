#!/usr/bin/env bash
# test_fragments.sh - IP reassembly: the fragmented capture gives the records of the whole
# one (same app, server_name and packets: a datagram is one packet), with bytes the frames'
# lengths summed, checked against the capture itself; every packet is accounted for
# (received = parsed + dropped + fragments merged). The hostile cases (teardrop, tiny first
# fragment, overlaps with other bytes, 40 fragments, too many, beyond 65535, a flood of
# never-completed datagrams, duplicates) end cleanly with the counters hostile.json names.
# With reassembly.enabled false, fragments are counted as before (drop_ip_fragment).
#
#   bash tests/integration/test_fragments.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail (what differed is printed), 77 skip (no binary or scapy).
set -uo pipefail

build=${1:-build}
tapwatch=$build/tapwatch
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

[ -x "$tapwatch" ] || { echo "skip: $tapwatch not built"; exit 77; }
/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "skip: python3-scapy not installed"; exit 77; }

tmp=$(mktemp -d /tmp/tw-frag.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

if ! /usr/bin/python3 "$root/scripts/gen_frag_captures.py" "$tmp" >"$tmp/gen.log" 2>&1; then
    echo "FAIL: scripts/gen_frag_captures.py failed:"; cat "$tmp/gen.log"; exit 1
fi

run() { # NAME PCAP [CONFIG]: records in $tmp/NAME.jsonl, summary in $tmp/NAME.sum
    local name=$1 pcap=$2 cfg=${3:-}
    local args=(--pcap "$pcap" --quiet --flows-jsonl "$tmp/$name.jsonl")
    [ -n "$cfg" ] && args+=(--config "$cfg")
    timeout 60 "$tapwatch" "${args[@]}" >"$tmp/$name.sum" 2>"$tmp/$name.err"
    local rc=$?
    [ $rc -eq 0 ] || { fail "$name: tapwatch exited $rc: $(head -c 600 "$tmp/$name.err")"; return 1; }
    python3 "$here/summary_check.py" "$tmp/$name.sum" >"$tmp/$name.chk" ||
        { fail "$name: accounting: $(cat "$tmp/$name.chk")"; return 1; }
}

run whole "$tmp/whole.pcap"
run frag "$tmp/frag.pcap"
python3 - "$tmp" <<'PY' || failures=$((failures + 1))
import json, socket, struct, sys
tmp = sys.argv[1]

def records(name):
    out = {}
    for line in open(f"{tmp}/{name}.jsonl"):
        r = json.loads(line)
        key = (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["ip_proto"])
        out[key] = r
    return out

def frame_bytes(path):
    """Bytes per (source, destination) address, summed over the Ethernet frames."""
    data = open(path, "rb").read()
    off, sums = 24, {}
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack_from("<IIII", data, off)
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        et = struct.unpack_from(">H", frame, 12)[0]
        if et == 0x0800:
            src, dst = socket.inet_ntop(socket.AF_INET, frame[26:30]), socket.inet_ntop(socket.AF_INET, frame[30:34])
        elif et == 0x86DD:
            src, dst = socket.inet_ntop(socket.AF_INET6, frame[22:38]), socket.inet_ntop(socket.AF_INET6, frame[38:54])
        else:
            continue
        sums[(src, dst)] = sums.get((src, dst), 0) + orig
    return sums

ok = True
def bad(msg):
    global ok
    print("FAIL: " + msg)
    ok = False

whole, frag = records("whole"), records("frag")
if set(whole) != set(frag):
    bad(f"flows differ: whole only {set(whole) - set(frag)}, fragmented only {set(frag) - set(whole)}")
sums = frame_bytes(f"{tmp}/frag.pcap")
changed = 0
for key in sorted(set(whole) & set(frag), key=str):
    w, f = whole[key], frag[key]
    for field in ("app", "server_name", "c2s_packets", "s2c_packets"):
        if w[field] != f[field]:
            bad(f"{key}: {field} {f[field]!r} fragmented, {w[field]!r} whole")
    for d, a, b in (("c2s", f["src_ip"], f["dst_ip"]), ("s2c", f["dst_ip"], f["src_ip"])):
        want = sums.get((a, b), 0)
        if f[d + "_bytes"] != want:
            bad(f"{key}: {d}_bytes {f[d + '_bytes']}, the capture's frames {a} -> {b} sum to {want}")
        changed += f[d + "_bytes"] != w[d + "_bytes"]
for key, name in ((("10.9.2.10", 41000, "10.9.2.80", 80, 6), "frag.example.com"),
                  (("2001:db8:9:6::10", 42000, "2001:db8:9:6::80", 80, 6), "frag.example.com"),
                  (("10.9.1.10", 53000, "10.9.1.53", 53, 17), "files.frag.example.com"),
                  (("2001:db8:9:5::10", 53001, "2001:db8:9:5::53", 53, 17), "v6.frag.example.com")):
    if key in frag and frag[key]["server_name"] != name:
        bad(f"{key}: server_name {frag[key]['server_name']!r}, expected {name!r}")
if changed < 5:
    bad(f"only {changed} directions have fragment headers in their bytes: the capture is not fragmented as meant")
print(f"fragments: {len(frag)} flows equal to the whole capture's, bytes = frames summed")
sys.exit(0 if ok else 1)
PY
grep -q "^  reassembled  *9 datagrams" "$tmp/frag.sum" || fail "frag.pcap: expected 9 datagrams reassembled: $(grep reassembled "$tmp/frag.sum")"

# reassembly off: fragments are counted as before, the later ones dropped
printf 'reassembly:\n  enabled: false\n' >"$tmp/off.yaml"
if run off "$tmp/frag.pcap" "$tmp/off.yaml"; then
    grep -q "drop_ip_fragment  *28$" "$tmp/off.sum" ||
        fail "reassembly off: expected drop_ip_fragment 28 (the fragments after the first): $(grep -E 'drop_|merged' "$tmp/off.sum" | tr -s ' ')"
fi

# the hostile cases
python3 - "$tmp/hostile.json" >"$tmp/cases.txt" <<'PY'
import json, sys
for name, c in sorted(json.load(open(sys.argv[1])).items()):
    yaml = "".join(f"{sec}:\n" + "".join(f"  {k}: {v}\n" for k, v in keys.items())
                   for sec, keys in c["config"].items())
    print(name, json.dumps(c["counters"]), json.dumps(yaml), c["packets"], sep="\t")
PY
while IFS=$'\t' read -r name counters yaml packets; do
    cfg=""
    if [ "$yaml" != '""' ]; then
        cfg=$tmp/$name.yaml
        python3 -c 'import json,sys; open(sys.argv[1], "w").write(json.loads(sys.argv[2]))' "$cfg" "$yaml"
    fi
    run "$name" "$tmp/$name" "$cfg" || continue
    python3 - "$tmp/$name.sum" "$counters" "$packets" "$name" <<'PY' || failures=$((failures + 1))
import json, re, sys
text, want, packets, name = open(sys.argv[1]).read(), json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
got = {m.group(1): int(m.group(2)) for m in re.finditer(r"^    (drop_\w+)\s+(\d+)$", text, re.M)}
got["fragments_merged"] = int(re.search(r"^  fragments merged\s+(\d+)$", text, re.M).group(1))
got["received"] = int(re.search(r"^  packets received\s+(\d+)$", text, re.M).group(1))
m = re.search(r"^  reassembled\s+(\d+) datagrams, overlaps (\d+) \((\d+) with different", text, re.M)
got["reassembled"], got["overlaps"], got["overlaps_differ"] = map(int, m.groups()) if m else (0, 0, 0)
diff = {k: (got.get(k, 0), v) for k, v in want.items() if got.get(k, 0) != v}
if got["received"] != packets:
    diff["received"] = (got["received"], packets)
if diff:
    print(f"FAIL: {name}: counters (got, expected): {diff}")
    sys.exit(1)
print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(want.items())))
PY
done <"$tmp/cases.txt"
# after the flood, the table works again: the DNS query is a flow
grep -q '"server_name":"after.frag.example.com"' "$tmp/hostile_flood.pcap.jsonl" ||
    fail "hostile_flood.pcap: the DNS query after the flood is not recorded"

if [ $failures -ne 0 ]; then
    echo "test_fragments: $failures failure(s)"
    exit 1
fi
echo "test_fragments: reassembled captures match the whole ones; hostile cases counted"
