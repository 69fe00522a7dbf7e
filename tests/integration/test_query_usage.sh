#!/usr/bin/env bash
# test_query_usage.sh - every bad tapwatch-query command line, for each subcommand and its
# options, is refused the same way: exit 2, nothing on stdout, one line on stderr that says
# what is wrong (the exact text below) and points to --help. No Redis is needed: the command
# line is checked before connecting (--redis names a socket that does not exist, so a line
# wrongly accepted exits 1). --help lists every subcommand of the table and its options.
#
#   bash tests/integration/test_query_usage.sh BUILD_DIR [PROGRAM]
set -u
build=${1:-${TW_BUILD:-build}}
query=${2:-$build/tapwatch-query}
[ -x "$query" ] || { echo "skip: $query not built"; exit 77; }
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# refused "ARGS" "MESSAGE": ARGS (shell words) must exit 2 with exactly
# "tapwatch-query: MESSAGE (see tapwatch-query --help)" on stderr and nothing on stdout
refused() {
    local out err rc want=$2
    eval "set -- $1"
    out=$(env -u TAPWATCH_REDIS "$query" --redis unix:///nonexistent/tw-query-usage.sock "$@" \
        2>"$tmp/err")
    rc=$?
    err=$(cat "$tmp/err")
    [ $rc -eq 2 ] || fail "$*: exit $rc, expected 2 ($err)"
    [ -z "$out" ] || fail "$*: printed on stdout: $out"
    [ "$(wc -l <"$tmp/err")" = 1 ] || fail "$*: expected one line on stderr, got: $err"
    [ "$err" = "tapwatch-query: $want (see tapwatch-query --help)" ] ||
        fail "$*: message: $err"
}
tmp=$(mktemp -d /tmp/tw-query-usage.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# ARGS <TAB> MESSAGE; an option another subcommand takes is still checked (bad value first)
while IFS=$'\t' read -r args msg; do
    refused "$args" "$msg"
done <<'CASES'
flows --since yesterday	--since: bad time "yesterday": expected epoch seconds, YYYY-MM-DD[Thh:mm[:ss]Z] or -N[smhd]
flows --until 2026-02-30	--until: bad time "2026-02-30": day 30 does not exist in 2026-02
flows --since 2026-03-03 --until 2026-03-02	--since is after --until
flows --cursor soon	--cursor: bad time "soon": expected epoch seconds, YYYY-MM-DD[Thh:mm[:ss]Z] or -N[smhd]
summary --equipment a --cursor 1772449214.765260	summary does not take one of the options given
flows --ip 10.0.0.0/33	bad --ip "10.0.0.0/33": prefix length must be 0 to 32
flows --ip 10.0.0.256	bad --ip "10.0.0.256": not an IPv4 or IPv6 address
flows --ip ""	bad --ip "": expected an address or a CIDR
flows --port 0	bad --port "0": expected 1 to 65535
flows --app ""	bad --app "": expected an application name
flows --limit 0	bad --limit "0": expected 1 to 10000000
flows --format xml	unknown format "xml": use table, json or csv
flows --country C	bad --country "C": expected a two-letter ISO 3166 country code, e.g. CN
flows --country C1	bad --country "C1": expected a two-letter ISO 3166 country code, e.g. CN
flows --country CHN	bad --country "CHN": expected a two-letter ISO 3166 country code, e.g. CN
flows --country ""	bad --country "": expected a two-letter ISO 3166 country code, e.g. CN
flows --asn 0	bad --asn "0": expected an AS number from 1 to 4294967295
flows --asn 4294967296	bad --asn "4294967296": expected an AS number from 1 to 4294967295
flows --asn AS	bad --asn "AS": expected an AS number from 1 to 4294967295
flows --asn -5	bad --asn "-5": expected an AS number from 1 to 4294967295
flows --equipment "a b"	bad --equipment "a b": expected an equipment name (letters, digits, '_', '.', '-')
equipment --equipment x	equipment does not take one of the options given
equipment --limit 5	equipment does not take one of the options given
flows --kind risky_flow	flows does not take one of the options given
flows --by day	flows does not take one of the options given
alerts --since -5x	--since: bad time "-5x": unknown unit "x" (use s, m, h or d)
alerts --until tomorrow	--until: bad time "tomorrow": expected epoch seconds, YYYY-MM-DD[Thh:mm[:ss]Z] or -N[smhd]
alerts --equipment "a b"	bad --equipment "a b": expected an equipment name (letters, digits, '_', '.', '-')
alerts --kind no_such_kind	unknown --kind "no_such_kind": use one of undeclared_destination, remote_access_unapproved_host, remote_access_outside_window, remote_access_protocol, upload_volume, unclassified_channel, risky_flow, cross_border, unknown_device, silent_equipment, equipment_back, mirror_silent, mirror_back, clock_step
alerts --rule TW-R99	unknown --rule "TW-R99": use one of TW-R01, TW-R02, TW-R03, TW-R04, TW-R05, TW-R06, TW-R07, TW-R08, TW-R09, TW-R10, TW-R11, TW-R12, TW-R13, TW-R14
alerts --rule upload_volume	unknown --rule "upload_volume": use one of TW-R01, TW-R02, TW-R03, TW-R04, TW-R05, TW-R06, TW-R07, TW-R08, TW-R09, TW-R10, TW-R11, TW-R12, TW-R13, TW-R14
alerts --limit 10000001	bad --limit "10000001": expected 1 to 10000000
alerts --format yaml	unknown format "yaml": use table, json or csv
alerts --ip 10.0.0.1	alerts does not take one of the options given
alerts --by hour	alerts does not take one of the options given
alerts --country CN	alerts does not take one of the options given
summary	summary needs --equipment NAME
summary --equipment a --since 2026-03-02T09:00:00	--since: bad time "2026-03-02T09:00:00": add a time zone: Z for UTC or an offset like +08:00
summary --equipment a --until 1e9	--until: bad time "1e9": expected epoch seconds, YYYY-MM-DD[Thh:mm[:ss]Z] or -N[smhd]
summary --equipment "a/b"	bad --equipment "a/b": expected an equipment name (letters, digits, '_', '.', '-')
summary --equipment a --by week	bad --by "week": use hour or day
summary --equipment a --format tsv	unknown format "tsv": use table, json or csv
summary --equipment a --limit 5	summary does not take one of the options given
summary --equipment a --port 80	summary does not take one of the options given
summary --equipment a --port 0	bad --port "0": expected 1 to 65535
summary --equipment a --kind nosuch	unknown --kind "nosuch": use one of undeclared_destination, remote_access_unapproved_host, remote_access_outside_window, remote_access_protocol, upload_volume, unclassified_channel, risky_flow, cross_border, unknown_device, silent_equipment, equipment_back, mirror_silent, mirror_back, clock_step
flows --verify	--verify needs --pubkey FILE.pub
alerts --verify	--verify needs --pubkey FILE.pub
alerts --pubkey x.pub	--pubkey goes with --verify
flows --verify --pubkey /nonexistent/k.pub	--pubkey: /nonexistent/k.pub: No such file or directory
flows --sensor a,b --verify --pubkey /nonexistent/k.pub	--verify checks one sensor at a time (--sensor NAME)
summary --equipment a --verify	summary does not take one of the options given
flows --bogus 1	unknown option "--bogus"
flows --port	option --port needs a value
flows extra	unexpected argument "extra"
-x flows	unknown option "-x"
nosuch	unknown subcommand "nosuch"
nosuch --port 0	bad --port "0": expected 1 to 65535
flows --sensor "a b"	bad --sensor "a b": expected letters, digits, '_', '.', '-'
flows --redis bad://x	redis: bad URL "bad://x": expected unix:///path, redis://host:port or rediss://host:port
CASES
refused "" "no subcommand: use flows"
out=$(env -u TAPWATCH_REDIS "$query" flows 2>&1 >/dev/null)
rc=$?
[ $rc -eq 2 ] && [ "$out" = "tapwatch-query: no Redis named: use --redis URL (see tapwatch-query --help)" ] ||
    fail "no --redis: exit $rc: $out"

# --help: exit 0, every subcommand listed and given its section
"$query" --help >"$tmp/help" 2>&1 || fail "--help exited $?"
for sub in flows alerts summary; do
    grep -q "^  $sub  " "$tmp/help" || fail "--help does not list $sub"
    grep -q "^$sub " "$tmp/help" || fail "--help has no section for $sub"
    "$query" "$sub" --help | cmp -s - "$tmp/help" || fail "$sub --help differs from --help"
done
for opt in --since --until --cursor --ip --port --app --country --asn --limit --format --equipment --kind --by --verify; do
    grep -q -- "$opt" "$tmp/help" || fail "--help does not mention $opt"
done

if [ $failures -gt 0 ]; then
    echo "test_query_usage: $failures failure(s)"
    exit 1
fi
echo "test_query_usage: pass"
