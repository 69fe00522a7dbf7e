#!/usr/bin/env bash
# test_service_unit.sh BUILD_DIR - `make install` and the systemd unit:
#  1. make install DESTDIR=tmp PREFIX=/usr lays out the programs, man pages, unit, sysusers
#     file and /etc/tapwatch (configuration and policy, with their .example copies); the
#     installed configuration keeps run_dir in /var/lib/tapwatch and reads the installed
#     policy;
#  2. a second install keeps a changed /etc/tapwatch/tapwatch.yaml and says so;
#  3. the installed tapwatch answers --help and replays a capture with the installed
#     configuration and policy (run_dir moved to a temporary folder);
#  4. systemd-analyze verify says nothing about the installed unit (a misspelled directive
#     is only a warning on stderr: any output fails), and systemd-analyze security
#     --offline=true rates its exposure below 3.0 (printed);
#  5. the man pages format without warnings; make uninstall removes what install copied and
#     leaves the operator's configuration.
# Skipped when systemd-analyze or scapy is absent.
set -u
BUILD=${1:-build}
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
MAX_EXPOSURE=3.0
for tool in systemd-analyze make; do
    command -v "$tool" >/dev/null ||
        { echo "test_service_unit: skipped: no $tool (make deps installs systemd)"; exit 77; }
done
/usr/bin/python3 -c 'import scapy' 2>/dev/null ||
    { echo "test_service_unit: skipped: python3-scapy not installed"; exit 77; }
[ -x "$BUILD/tapwatch" ] && [ -x "$BUILD/tapwatch-query" ] && [ -x "$BUILD/tapwatch-console" ] ||
    { echo "test_service_unit: skipped: $BUILD/tapwatch not built"; exit 77; }
TMP=$(mktemp -d /tmp/tw-unit.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
D=$TMP/root
fail=0
bad() { echo "FAIL: $*"; fail=1; }
# the test's own make, not the one that may have started it
inst() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$ROOT" BUILD="$BUILD" INSTALL_DEPS= \
             DESTDIR="$D" PREFIX=/usr "$@"; }

# 1. the layout
inst install >"$TMP/install1.log" 2>&1 || { bad "make install: $(tail -5 "$TMP/install1.log")"; exit 1; }
while read -r mode path; do
    [ -f "$D$path" ] || { bad "make install did not create $path"; continue; }
    got=$(stat -c %a "$D$path")
    [ "$got" = "$mode" ] || bad "$path: mode $got, expected $mode"
done <<'EOF'
755 /usr/bin/tapwatch
755 /usr/bin/tapwatch-query
755 /usr/bin/tapwatch-console
644 /usr/share/man/man8/tapwatch.8
644 /usr/share/man/man1/tapwatch-query.1
644 /usr/share/man/man8/tapwatch-console.8
644 /usr/lib/systemd/system/tapwatch@.service
644 /usr/lib/sysusers.d/tapwatch.conf
644 /etc/tapwatch/tapwatch.yaml
644 /etc/tapwatch/tapwatch.yaml.example
644 /etc/tapwatch/policy.yaml
644 /etc/tapwatch/policy.yaml.example
EOF
etc=$D/etc/tapwatch
grep -qx 'run_dir: /var/lib/tapwatch' "$etc/tapwatch.yaml" || bad "installed run_dir: $(grep '^run_dir' "$etc/tapwatch.yaml")"
grep -qx 'policy: /etc/tapwatch/policy.yaml' "$etc/tapwatch.yaml" || bad "installed policy: $(grep '^policy' "$etc/tapwatch.yaml")"
grep -qx 'run_dir: run' config/tapwatch.yaml || bad "the checkout's config/tapwatch.yaml no longer keeps run_dir: run (make demo)"
unit=$D/usr/lib/systemd/system/tapwatch@.service
grep -q '^ExecStart=/usr/bin/tapwatch --config /etc/tapwatch/tapwatch.yaml --iface %i ' "$unit" ||
    bad "installed unit: $(grep '^ExecStart' "$unit")"
grep -q '@[A-Z]*@' "$unit" && bad "installed unit still has placeholders: $(grep '@[A-Z]*@' "$unit")"
grep -q '^u tapwatch ' "$D/usr/lib/sysusers.d/tapwatch.conf" || bad "sysusers file does not create user tapwatch"
echo "ok   make install DESTDIR=... PREFIX=/usr: $(find "$D" -type f | wc -l) files"

# 2. a changed configuration survives a second install
echo "# changed by the operator" >>"$etc/tapwatch.yaml"
before=$(sha256sum <"$etc/tapwatch.yaml")
inst install >"$TMP/install2.log" 2>&1 || bad "second make install: $(tail -5 "$TMP/install2.log")"
[ "$(sha256sum <"$etc/tapwatch.yaml")" = "$before" ] || bad "a second install overwrote the changed tapwatch.yaml"
grep -q "kept $etc/tapwatch.yaml" "$TMP/install2.log" || bad "a second install did not say it kept tapwatch.yaml: $(cat "$TMP/install2.log")"
grep -q 'changed by the operator' "$etc/tapwatch.yaml.example" && bad "the .example copy holds the operator's change"
echo "ok   a second install kept the changed /etc/tapwatch/tapwatch.yaml"

# 3. the installed program: --help, --check-config and a replay with the installed files
tw=$D/usr/bin/tapwatch
"$tw" --help >"$TMP/help" 2>&1 || bad "installed tapwatch --help exited $?"
for word in --iface --log --log-level --run-dir SIGHUP "exit status" /etc/tapwatch/tapwatch.yaml; do
    grep -qF -- "$word" "$TMP/help" || bad "--help does not mention $word"
done
/usr/bin/python3 scripts/gen_captures.py "$TMP/caps" >/dev/null || { bad "capture generator"; exit 1; }
args=(--config "$etc/tapwatch.yaml" --policy "$etc/policy.yaml" --run-dir "$TMP/run")
"$tw" "${args[@]}" --check-config >"$TMP/check" 2>&1 || bad "installed --check-config: $(cat "$TMP/check")"
"$tw" "${args[@]}" --pcap "$TMP/caps/sample.pcap" --flows-jsonl "$TMP/flows.jsonl" \
    --alerts-jsonl "$TMP/alerts.jsonl" >"$TMP/sum" 2>"$TMP/err"
rc=$?
if [ $rc -ne 0 ]; then
    bad "installed tapwatch --pcap exited $rc: $(tail -3 "$TMP/err")"
else
    python3 tests/integration/check_flows.py summary "$TMP/sum" >/dev/null ||
        bad "installed replay: packet accounting: $(cat "$TMP/sum")"
    flows=$(wc -l <"$TMP/flows.jsonl")
    [ "$flows" -gt 0 ] || bad "installed replay wrote no flow records"
    # every stderr line is a log line: ISO timestamp, level, program name
    grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+[+-][0-9]{2}:[0-9]{2} (error|warning|notice|info|debug) tapwatch: ' \
        "$TMP/err" | grep -q . && bad "stderr lines that are not log lines: $(head -3 "$TMP/err")"
    echo "ok   installed tapwatch replayed sample.pcap with the installed configuration: $flows flows, $(wc -l <"$TMP/alerts.jsonl") alerts"
fi

# 4. the unit: verify says nothing; the exposure score. ExecStart must name a program that
# exists: a copy of the unit points it at the installed one in DESTDIR.
mkdir -p "$TMP/units"
sed "s|^ExecStart=/usr/bin/tapwatch|ExecStart=$tw|" "$unit" >"$TMP/units/tapwatch@.service"
(cd "$TMP/units" && MANPATH=$D/usr/share/man systemd-analyze verify "$TMP/units/tapwatch@lo.service") \
    >"$TMP/verify.out" 2>"$TMP/verify.err"
rc=$?
if [ $rc -ne 0 ] || [ -s "$TMP/verify.err" ] || [ -s "$TMP/verify.out" ]; then
    bad "systemd-analyze verify tapwatch@lo.service (exit $rc): $(cat "$TMP/verify.out" "$TMP/verify.err")"
else
    echo "ok   systemd-analyze verify tapwatch@lo.service: no output"
fi
(cd "$TMP/units" && systemd-analyze security --offline=true "$TMP/units/tapwatch@lo.service") \
    >"$TMP/security" 2>&1
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$TMP/security")
if [ -z "$score" ]; then
    bad "systemd-analyze security printed no score: $(tail -3 "$TMP/security")"
elif awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s < m) }'; then
    echo "ok   systemd-analyze security --offline=true: exposure $score (below $MAX_EXPOSURE)"
else
    bad "exposure $score, expected below $MAX_EXPOSURE:"; grep '✗' "$TMP/security"
fi

# 5. man pages, uninstall
if command -v man >/dev/null; then
    for page in man8/tapwatch.8 man1/tapwatch-query.1 man8/tapwatch-console.8; do
        warn=$(MANWIDTH=80 man --warnings -l "$D/usr/share/man/$page" 2>&1 >"$TMP/page")
        [ -z "$warn" ] || bad "$page: $warn"
        grep -q 'NAME' "$TMP/page" || bad "$page does not format"
    done
    echo "ok   man pages format without warnings"
fi
inst uninstall >"$TMP/uninstall.log" 2>&1 || bad "make uninstall: $(tail -5 "$TMP/uninstall.log")"
left=$(cd "$D" && find . -type f | sort | xargs)
[ "$left" = "./etc/tapwatch/policy.yaml ./etc/tapwatch/tapwatch.yaml" ] ||
    bad "after make uninstall, expected the two configuration files left, found: $left"
echo "ok   make uninstall left the operator's configuration only"

[ $fail -eq 0 ] && echo "test_service_unit: PASS"
exit $fail
