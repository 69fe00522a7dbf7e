#!/usr/bin/env bash
# test_silence.sh - the silence rules on replays (control/policy/silence.h): generated
# captures (scripts/gen_silence_captures.py) through tapwatch with
# tests/integration/silence.yaml; --alerts-jsonl must hold exactly the expected
# silent_equipment, equipment_back, mirror_silent and mirror_back alerts (kind, equipment,
# time): an equipment silent inside its expected hours (once, and back once), one silent
# outside them (nothing), one never heard of (silent from the capture's start), a 5-minute
# hole in the packet times (the mirror and the equipment); a second replay, and one with 2
# workers, give the same alerts; with mirror_silent disabled the hole raises no mirror alert.
#
#   bash tests/integration/test_silence.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (no scapy or binaries).
set -uo pipefail

build=${1:-build}
tw=$build/tapwatch
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
policy=$here/silence.yaml

/usr/bin/python3 -c 'import scapy' 2>/dev/null || { echo "skip: python3-scapy not installed"; exit 77; }
[ -x "$tw" ] || { echo "skip: $tw not built"; exit 77; }

tmp=$(mktemp -d /tmp/tw-silence.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

/usr/bin/python3 "$root/scripts/gen_silence_captures.py" "$tmp/caps" || { echo "FAIL: generator"; exit 1; }

out=$("$tw" --check-config --policy "$policy" 2>&1)
echo "$out" | grep -qx 'tapwatch: policy OK: 3 equipment, 9 rules' || fail "check-config: $out"

# check CAPTURE RUN [kinds to leave out]: RUN's alerts of the silence kinds = the expected ones
check() {
    /usr/bin/python3 - "$tmp/caps/expected.json" "$1" "$tmp/$2.alerts.jsonl" "${3:-}" <<'PY'
import json, sys
exp_file, cap, got_file, skip = sys.argv[1:]
skip = set(skip.split(",")) - {""}
kinds = {"silent_equipment", "equipment_back", "mirror_silent", "mirror_back"}
key = lambda a: (a["kind"], a["equipment"], round(float(a["ts"]), 6))
want = sorted(key(a) for a in json.load(open(exp_file))[cap] if a["kind"] not in skip)
alerts = [json.loads(l) for l in open(got_file)]
got = sorted(key(a) for a in alerts if a["kind"] in kinds)
ok = got == want
for a in alerts:
    if a["kind"] in kinds and (a["flow_id"] != "" or a["src_port"] or a["app"]):
        print("  a silence alert with flow fields:", a); ok = False
if not ok:
    print(f"  {cap}: want {want}\n  {' ' * len(cap)}  got  {got}")
sys.exit(0 if ok else 1)
PY
}

run() { # name capture [tapwatch args...]
    local name=$1 cap=$2
    shift 2
    "$tw" --pcap "$tmp/caps/$cap" --policy "$policy" --alerts-jsonl "$tmp/$name.alerts.jsonl" \
        --quiet "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || fail "$name: tapwatch failed: $(cat "$tmp/$name.err")"
}

for cap in hours hole; do
    run "$cap" "$cap.pcap"
    check "$cap.pcap" "$cap" || fail "$cap: silence alerts differ (above)"
    # the same capture again, and spread over 2 workers: the same alerts
    run "$cap.again" "$cap.pcap"
    check "$cap.pcap" "$cap.again" || fail "$cap: second replay differs (above)"
    run "$cap.w2" "$cap.pcap" --workers 2
    check "$cap.pcap" "$cap.w2" || fail "$cap: 2 workers differ (above)"
done

# mirror_silent disabled: the hole still silences eq-hole, the mirror says nothing
sed 's/^rules:$/rules:\n  mirror_silent: {enabled: false}\n  mirror_back: {enabled: false}/' "$policy" >"$tmp/nomirror.yaml"
"$tw" --pcap "$tmp/caps/hole.pcap" --policy "$tmp/nomirror.yaml" --alerts-jsonl "$tmp/nomirror.alerts.jsonl" \
    --quiet >/dev/null 2>"$tmp/nomirror.err" || fail "nomirror: tapwatch failed: $(cat "$tmp/nomirror.err")"
check hole.pcap nomirror mirror_silent,mirror_back || fail "nomirror: alerts differ (above)"

# the end-of-run summary counts them
grep -Eq '^  alerts +[0-9]+ \(.*silent_equipment 1, equipment_back 1, mirror_silent 1, mirror_back 1\)$' "$tmp/hole.out" ||
    fail "hole: summary: $(grep alerts "$tmp/hole.out")"

if [ "$failures" -gt 0 ]; then
    echo "test_silence: $failures failure(s)"
    exit 1
fi
echo "test_silence: ok"
