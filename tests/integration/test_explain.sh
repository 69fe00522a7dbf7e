#!/usr/bin/env bash
# test_explain.sh - `tapwatch --check-config --policy FILE --explain ADDR`: the exact lines
# for an equipment address, an address equipment is declared to reach, an approved
# maintenance host and an outsider (IPv4 and IPv6), in the policy's timezone with a window
# that crosses midnight; every equipment of config/policy.yaml explains itself; the policy's
# SHA-256 is sha256sum's; a bad address or a missing policy is a one-line error, exit 2.
#
#   bash tests/integration/test_explain.sh BUILD_DIR     (from the repo root)
# Exit 0 pass, 1 fail, 77 skip (binary not built).
set -uo pipefail

build=${1:-build}
tw=$build/tapwatch
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ -x "$tw" ] || { echo "skip: $tw not built"; exit 77; }
command -v sha256sum >/dev/null || { echo "skip: sha256sum not installed"; exit 77; }

tmp=$(mktemp -d /tmp/tw-explain.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The example policy's first-round rules, with a zone, an IPv6 equipment, a window over
# midnight, no per-flow limit and a rule switched off.
cat >"$tmp/policy.yaml" <<'YAML'
timezone: Asia/Shanghai
domestic_networks: [10.0.0.0/8, "2001:db8::/32"]
monitored_networks: [10.20.9.0/24]
equipment:
  - name: atm-01
    vendor: Vendor A
    addresses: [10.20.120.5]
    expect_traffic: "mon-fri 08:00-18:00"
    silent_after: 2h
    declared:
      - {peer: 10.20.0.53, proto: udp, port: 53}
      - {peer: 10.0.50.30, proto: tcp, port: 443, server_name: "*.hq.branchbank.cn"}
  - name: core-v6
    addresses: ["2001:db8:20::/64", 10.20.7.0/24]
    declared:
      - {peer: "2001:db8:99::1", proto: 132}
      - {app: TLS}
maintenance:
  hosts: [10.20.9.5, 10.20.9.6]
  protocols: [SSH, RDP]
  windows: ["mon-fri 10:00-12:00", "daily 22:00-02:00", "mon,wed,fri 09:00-10:00"]
limits:
  upload_bytes_per_day: 100000000
rules:
  risky_flow: {enabled: false, severity: low}
  upload_volume: {severity: critical}
cross_border:
  allowed_countries: [CN]
  first_contact: true
  first_contact_days: 14
  equipment:
    core-v6: {allowed_countries: [CN, HK], first_contact: false}
YAML
sha=$(sha256sum "$tmp/policy.yaml" | cut -d' ' -f1)

rules="rules:
  TW-R01 undeclared_destination         medium   on
  TW-R02 remote_access_unapproved_host  high     on
  TW-R03 remote_access_outside_window   high     on
  TW-R04 remote_access_protocol         medium   on
  TW-R05 upload_volume                  critical on
  TW-R06 unclassified_channel           medium   on
  TW-R07 risky_flow                     low      off
  TW-R08 cross_border                   high     on
  TW-R09 unknown_device                 high     on
  TW-R10 silent_equipment               medium   on
  TW-R11 equipment_back                 low      on
  TW-R12 mirror_silent                  high     on
  TW-R13 mirror_back                    low      on
  TW-R14 clock_step                     high     on"
common="maintenance (remote access to equipment; times in Asia/Shanghai):
  from hosts: 10.20.9.5, 10.20.9.6
  protocols: SSH, RDP
  windows: mon-fri 10:00-12:00, daily 22:00-02:00 (ends the next day), mon,wed,fri 09:00-10:00
limits (bytes the equipment sends):
  per flow: no limit
  per day (Asia/Shanghai) to peers outside the domestic networks: 100000000 bytes
  domestic networks: 10.0.0.0/8, 2001:db8::/32"
anyone="equipment that may reach any peer by protocol, name or application:
  core-v6: app TLS (any peer)"

expect() { # address, expected stdout (after the "policy OK" line)
    local out rc
    out=$("$tw" --check-config --policy "$tmp/policy.yaml" --explain "$1" 2>"$tmp/err")
    rc=$?
    [ "$rc" = 0 ] || fail "--explain $1: exit $rc ($(cat "$tmp/err"))"
    [ -s "$tmp/err" ] && fail "--explain $1: wrote to stderr: $(cat "$tmp/err")"
    if [ "$out" != "tapwatch: policy OK: 2 equipment, 12 rules
$2" ]; then
        fail "--explain $1: unexpected output"
        diff <(printf '%s\n' "$out") <(printf 'tapwatch: policy OK: 2 equipment, 12 rules\n%s\n' "$2") | head -20
    fi
}

expect 10.20.120.5 "address 10.20.120.5
policy sha256 $sha
equipment: atm-01
  vendor: Vendor A
  addresses: 10.20.120.5
may open connections to (declared; anything else raises undeclared_destination):
  peer 10.20.0.53, udp, port 53
  peer 10.0.50.30, tcp, port 443, server name *.hq.branchbank.cn
expected traffic (times in Asia/Shanghai): mon-fri 08:00-18:00
  silent after: 7200 s without a flow inside those hours
$common
countries:
  allowed: CN
  first contact: alerts on a country or ASN not reached in 14 days
$rules"

expect 2001:db8:20::7 "address 2001:db8:20::7
policy sha256 $sha
equipment: core-v6
  vendor: (not given)
  addresses: 2001:db8:20::/64, 10.20.7.0/24
may open connections to (declared; anything else raises undeclared_destination):
  peer 2001:db8:99::1, sctp
  app TLS (any peer)
expected traffic: not set (its silence raises nothing)
$common
countries:
  allowed: CN, HK
  first contact: off
$rules"

expect 10.20.0.53 "address 10.20.0.53
policy sha256 $sha
not equipment
equipment declared to reach it:
  atm-01: peer 10.20.0.53, udp, port 53
$anyone
approved maintenance host: no
inside the domestic networks: yes
inside the monitored networks: no
$common
$rules"

expect 10.20.9.6 "address 10.20.9.6
policy sha256 $sha
not equipment
equipment declared to reach it:
  none by address
$anyone
approved maintenance host: yes
inside the domestic networks: yes
inside the monitored networks: yes: sending traffic raises unknown_device (once a day)
$common
$rules"

expect 203.0.113.9 "address 203.0.113.9
policy sha256 $sha
not equipment
equipment declared to reach it:
  none by address
$anyone
approved maintenance host: no
inside the domestic networks: no
inside the monitored networks: no
$common
$rules"

expect 2001:db8:99::1 "address 2001:db8:99::1
policy sha256 $sha
not equipment
equipment declared to reach it:
  core-v6: peer 2001:db8:99::1, sctp
$anyone
approved maintenance host: no
inside the domestic networks: yes
inside the monitored networks: no
$common
$rules"

# every equipment of the example policy, by each of its addresses
ex_sha=$(sha256sum "$root/config/policy.yaml" | cut -d' ' -f1)
for pair in atm-01=10.20.120.5 branch-srv-01=10.20.0.21 teller-11=10.20.1.11; do
    out=$("$tw" --check-config --policy "$root/config/policy.yaml" --explain "${pair#*=}") ||
        fail "example policy --explain ${pair#*=}: exit $?"
    grep -qx "equipment: ${pair%%=*}" <<<"$out" || fail "example policy: ${pair#*=} is not ${pair%%=*}"
    grep -qx "policy sha256 $ex_sha" <<<"$out" || fail "example policy: sha256 is not sha256sum's"
done

# bad input: one line on stderr, exit 2, nothing on stdout
bad() { # expected stderr line, arguments...
    local want=$1 out rc
    shift
    out=$("$tw" "$@" 2>"$tmp/err")
    rc=$?
    [ "$rc" = 2 ] || fail "$*: exit $rc, expected 2"
    [ -z "$out" ] || fail "$*: wrote to stdout: $out"
    [ "$(wc -l <"$tmp/err")" = 1 ] || fail "$*: not one line on stderr: $(cat "$tmp/err")"
    grep -qF -- "$want" "$tmp/err" || fail "$*: stderr lacks '$want': $(cat "$tmp/err")"
}
bad "tapwatch: --explain: expected an IPv4 or IPv6 address, got '10.20.0.256'" \
    --check-config --policy "$tmp/policy.yaml" --explain 10.20.0.256
bad "tapwatch: --explain: expected an IPv4 or IPv6 address, got '10.20.0.0/16'" \
    --check-config --policy "$tmp/policy.yaml" --explain 10.20.0.0/16
bad "tapwatch: --explain: expected an IPv4 or IPv6 address, got 'atm-01'" \
    --check-config --policy "$tmp/policy.yaml" --explain atm-01
bad "tapwatch: --explain needs --check-config and a policy" --policy "$tmp/policy.yaml" \
    --explain 10.20.120.5
bad "--explain needs a policy: --policy FILE or policy: in the configuration" --check-config \
    --explain 10.20.120.5
bad "$tmp/nope.yaml: No such file or directory" --check-config --policy "$tmp/nope.yaml" \
    --explain 10.20.120.5

[ "$failures" = 0 ] || { echo "test_explain: $failures failure(s)"; exit 1; }
echo "test_explain: pass"
