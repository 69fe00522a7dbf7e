#!/usr/bin/env bash
# bench_live.sh BUILD_DIR - tapwatch on a live link, against ndpiReader: how fast can a mirror
# port be before a reader loses packets?
#
# In a network namespace of its own, a veth pair: tcpreplay plays the benchmark capture into
# sw0 (the switch's end) at rising rates, then at its top speed; on mir0 (the sensor's end)
# one reader at a time listens: tapwatch through af_packet with 1 and 2 workers, through
# AF_XDP (--xdp) with 1 and 2 workers, and ndpiReader -i mir0 (libpcap) as the peer. Every
# step starts the reader afresh, plays for BENCH_LIVE_SECONDS, waits a second for the reader
# to catch up, stops it with SIGINT and reads the counters:
#   sent      tcpreplay's own "Successful packets" (and its achieved packets/s)
#   received  tapwatch's summary "packets received" (and "lost below us" imissed, the kernel's
#             drops of its sockets); ndpiReader's "N packets total"
#   kernel    mir0's rx_packets and rx_dropped, sw0's tx_dropped (what the veth delivered or
#             dropped before any reader saw it)
#   loss      1 - received / sent
# and prints, per reader, the highest rate (packets/s tcpreplay achieved) with under 0.1% loss
# and the loss at tcpreplay's top speed.
#
# The capture: BENCH_LIVE_PCAP, else BENCH_DIR/bench-real.pcap (built by `make bench`, see
# scripts/bench.sh), else bench-real.pcap built the same way (../shared/bench/make-corpus.sh
# with one copy, in BENCH_DIR/live/), else, without ../shared, the project's generated capture
# with 20 copies. Frames larger than the veth's 1500-byte MTU (1514 with the Ethernet header)
# or shorter than an Ethernet header cannot be sent on it: they are left out, and counted.
# env: BENCH_LIVE_PCAP, BENCH_LIVE_RATES (packets/s, or NNmbps; default
#      "50000 100000 200000 400000 800000"; the top-speed step always follows),
#      BENCH_LIVE_SECONDS (each step's playing time, default 10),
#      BENCH_LIVE_READERS (default "af_packet-1 af_packet-2 af_xdp-1 af_xdp-2 ndpiReader"),
#      BENCH_DIR (default bench-data), BENCH_LIVE_KEEP=1 (keep the temporary directory)
# Needs root (namespace, veth, XDP); says so and does nothing otherwise.
set -uo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
RATES=${BENCH_LIVE_RATES:-50000 100000 200000 400000 800000}
STEP_S=${BENCH_LIVE_SECONDS:-10}
READERS=${BENCH_LIVE_READERS:-af_packet-1 af_packet-2 af_xdp-1 af_xdp-2 ndpiReader}
OUT=${BENCH_DIR:-bench-data}
SHARED=$(cd .. && pwd)/shared
MTU=1500

die() { echo "bench-live: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
    echo "bench-live: skipped: needs root (a network namespace, a veth pair, XDP)"
    exit 0
fi
for t in ip tcpreplay ndpiReader stdbuf "$PY"; do
    command -v "$t" >/dev/null || die "missing tool: $t (scripts/install-deps.sh installs it)"
done
[ -x "$BUILD/tapwatch" ] || die "no $BUILD/tapwatch: run make all (make bench-live does)"
[[ $STEP_S =~ ^[1-9][0-9]*$ ]] || die "BENCH_LIVE_SECONDS must be a whole number of seconds"
for r in $RATES; do
    [[ $r =~ ^[1-9][0-9]*(mbps)?$ ]] || die "BENCH_LIVE_RATES: '$r' is neither packets/s nor NNmbps"
done

# 1. the capture
mkdir -p "$OUT"
if [ -n "${BENCH_LIVE_PCAP:-}" ]; then
    CAP=$BENCH_LIVE_PCAP
    [ -s "$CAP" ] || die "BENCH_LIVE_PCAP: no such capture: $CAP"
elif [ -s "$OUT/bench-real.pcap" ]; then
    CAP=$OUT/bench-real.pcap
elif [ -f "$SHARED/bench/make-corpus.sh" ]; then
    # one copy: its bench-real.pcap is the same file as make bench's (COPIES only changes
    # bench-big.pcap); a directory of its own so that make bench does not take this
    # one-copy bench-big.pcap for its own
    CAP=$OUT/live/bench-real.pcap
    if [ ! -s "$CAP" ]; then
        echo "bench-live: building bench-real.pcap with ../shared/bench/make-corpus.sh"
        mkdir -p "$OUT/live"
        COPIES=1 bash "$SHARED/bench/make-corpus.sh" "$SHARED/pcaps/ndpi" "$OUT/live" \
            >"$OUT/live/make-corpus.log" 2>&1 || die "make-corpus.sh failed: see $OUT/live/make-corpus.log"
    fi
else
    echo "bench-live: ../shared is absent: using the project's generated capture"
    CAP=$OUT/bench-live-gen.pcap
    [ -s "$CAP" ] || "$PY" scripts/gen_bench_capture.py "$CAP" 20 || die "cannot generate $CAP"
fi

NS=tw-bench-live-$$
TMP=$(mktemp -d /tmp/tw-bench-live.XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$NS" 2>/dev/null
    [ -n "${BENCH_LIVE_KEEP:-}" ] && echo "bench-live: kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "bench-live: interrupted" >&2; exit 130' INT TERM

# The frames a veth of this MTU carries, in a pcap tcpreplay reads (pcapng and nanosecond
# pcap are read too); prints "kept too_big too_short fragments". IPv4 fragments are left out
# too: DPDK's net_af_packet joins its sockets in a PACKET_FANOUT group with the defrag flag,
# so the kernel reassembles them before tapwatch's af_packet reader sees them (k fragments
# arrive as one packet), which would read as loss there and not for the other readers.
read -r kept too_big too_short frags < <("$PY" - "$CAP" "$TMP/live.pcap" $((MTU + 14)) <<'PY'
import struct, subprocess, sys
src, dst, maxlen = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(src, "rb").read()
if data[:4] not in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
    # pcapng or another format: editcap writes it as pcap
    data = subprocess.run(["editcap", "-F", "pcap", src, "-"], check=True,
                          stdout=subprocess.PIPE).stdout
e = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
def ipv4_fragment(b):
    off, et = 14, b[12] << 8 | b[13]
    while et in (0x8100, 0x88a8, 0x9100) and len(b) >= off + 4:
        et, off = b[off + 2] << 8 | b[off + 3], off + 4
    return et == 0x0800 and len(b) >= off + 8 and (b[off + 6] << 8 | b[off + 7]) & 0x3fff != 0
kept = big = short = frag = 0
with open(dst, "wb") as w:
    w.write(data[:24])
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(e + "I", data[off + 8:off + 12])[0]
        rec = data[off:off + 16 + incl]
        off += 16 + incl
        if len(rec) < 16 + incl:
            break
        if incl > maxlen:
            big += 1
        elif incl < 14:
            short += 1
        elif ipv4_fragment(rec[16:]):
            frag += 1
        else:
            kept += 1
            w.write(rec)
print(kept, big, short, frag)
PY
) || die "cannot read the capture $CAP"
[ "${kept:-0}" -gt 0 ] || die "$CAP: no frame fits a $MTU-byte MTU"

# 2. the link: namespace, veth pair, no IPv6 (no router solicitations mixed in the counts)
ip netns add "$NS" 2>/dev/null || die "cannot create a network namespace"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
in_ns ip link add mir0 type veth peer name sw0 && in_ns ip link set mir0 mtu $MTU up &&
    in_ns ip link set sw0 mtu $MTU up || die "cannot create a veth pair"

echo "bench-live: $CAP: $kept frames played; left out: $too_big larger than the veth's $((MTU + 14))-byte frames, $too_short shorter than an Ethernet header, $frags IPv4 fragments"
echo "bench-live: steps of ${STEP_S} s at $RATES packets/s, then top speed; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench-live: tcpreplay $(tcpreplay --version 2>&1 | awk 'NR == 1 {print $3}'), $(ndpiReader -h 2>/dev/null | awk '/nDPI/ {print $3 " " $4; exit}' | tr -d '()'), kernel $(uname -r)"

kstat() { # iface counter
    in_ns cat "/sys/class/net/$1/statistics/$2"
}

# Starts reader $1, output in $TMP/r.out and $TMP/r.err; returns once it reads (or 1).
start_reader() {
    local what=$1 ready
    : >"$TMP/r.out"; : >"$TMP/r.err"
    case $what in
    af_packet-*|af_xdp-*)
        local args=(--iface mir0 --workers "${what#*-}" --stats-interval 0 --quiet)
        [[ $what == af_xdp-* ]] && args+=(--xdp)
        # ip netns exec execs the program: $! is the reader itself, which SIGINT must reach
        ip netns exec "$NS" "$BUILD/tapwatch" "${args[@]}" >"$TMP/r.out" 2>"$TMP/r.err" &
        ready="no Redis configured" ;;
    ndpiReader)
        ip netns exec "$NS" stdbuf -oL ndpiReader -i mir0 >"$TMP/r.out" 2>"$TMP/r.err" &
        ready="Running thread 0" ;;
    esac
    pid=$!
    for _ in $(seq 300); do
        grep -q "$ready" "$TMP/r.out" "$TMP/r.err" 2>/dev/null && { sleep 0.5; return 0; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "bench-live: $what did not start: $(tail -n 2 "$TMP/r.err" "$TMP/r.out" | tr '\n' ' ')" >&2
    kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
    return 1
}

# Stops the reader; sets got to "received imissed" from its own counters (or returns 1).
# Not in a subshell: the reader is this shell's child, to be waited for here.
stop_reader() {
    local what=$1
    kill -INT "$pid" 2>/dev/null
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { kill -9 "$pid"; echo "bench-live: $what did not end on SIGINT" >&2; }
    wait "$pid" 2>/dev/null; pid=
    got=$(case $what in
    ndpiReader)
        awk '/IP packets:/ {for (i = 1; i < NF; i++) if ($(i + 1) == "packets" && $(i + 2) == "total") n = $i}
             END {if (n == "") exit 1; print n, "-"}' "$TMP/r.out" ;;
    *)
        awk '/^  packets received/ {n = $3} /^  lost below us/ {m = $5; sub(/,/, "", m)}
             END {if (n == "") exit 1; print n, m}' "$TMP/r.out" ;;
    esac)
}

# 3. the steps: one line each, kept in $TMP/steps (reader target sent pps received loss)
printf '\n%-12s %9s %10s %10s %10s %9s %10s %9s %9s %8s\n' reader target sent "sent/s" received \
    imissed kern_rx rx_drop tx_drop loss%
for what in $READERS; do
    case $what in af_packet-[12]|af_xdp-[12]|ndpiReader) ;; *) die "unknown reader: $what" ;; esac
    note=
    for rate in $RATES top; do
        start_reader "$what" || { echo "$what $rate - - - -" >>"$TMP/steps"; continue; }
        grep -q "instead" "$TMP/r.err" && note="fell back: $(grep -m1 -o 'reading it through.*' "$TMP/r.err")"
        rx0=$(kstat mir0 rx_packets); rd0=$(kstat mir0 rx_dropped); td0=$(kstat sw0 tx_dropped)
        case $rate in
        top) opt=--topspeed ;;
        *mbps) opt=--mbps=${rate%mbps} ;;
        *) opt=--pps=$rate ;;
        esac
        # in the background: a signal to this script is handled while wait waits
        in_ns tcpreplay -i sw0 -K --loop=0 --duration="$STEP_S" "$opt" "$TMP/live.pcap" \
            >"$TMP/tr.out" 2>&1 &
        wait $! || echo "bench-live: tcpreplay failed: $(tail -n 1 "$TMP/tr.out")" >&2
        sleep 1 # the reader catches up with what is queued for it
        rx1=$(kstat mir0 rx_packets); rd1=$(kstat mir0 rx_dropped); td1=$(kstat sw0 tx_dropped)
        sent=$(awk '/Successful packets:/ {print $3}' "$TMP/tr.out")
        pps=$(awk '/^Rated:/ {for (i = 1; i <= NF; i++) if ($i ~ /^pps/) print int($(i - 1))}' "$TMP/tr.out")
        stop_reader "$what" || { echo "bench-live: $what printed no counters: $(tail -n 2 "$TMP/r.err" | tr '\n' ' ')" >&2; got="- -"; }
        read -r recv missed <<<"$got"
        loss=$(awk -v s="${sent:-0}" -v r="$recv" 'BEGIN {if (s > 0 && r != "-") printf "%.3f", 100 * (1 - r / s); else print "-"}')
        printf '%-12s %9s %10s %10s %10s %9s %10s %9s %9s %8s\n' "$what" "$rate" "${sent:--}" "${pps:--}" \
            "$recv" "$missed" $((rx1 - rx0)) $((rd1 - rd0)) $((td1 - td0)) "$loss"
        echo "$what $rate ${pps:--} $loss" >>"$TMP/steps"
    done
    [ -n "$note" ] && echo "  $what: $note"
done

# 4. the table
label() {
    case $1 in
    af_packet-1) echo "tapwatch af_packet, 1 worker" ;;
    af_packet-2) echo "tapwatch af_packet, 2 workers" ;;
    af_xdp-1) echo "tapwatch AF_XDP, 1 worker" ;;
    af_xdp-2) echo "tapwatch AF_XDP, 2 workers" ;;
    ndpiReader) echo "ndpiReader 4.2 (libpcap)" ;;
    esac
}
printf '\n%-31s %24s %14s %12s\n' reader "highest pps, loss <0.1%" "top speed pps" "loss at top"
for what in $READERS; do
    awk -v w="$what" -v l="$(label "$what")" '
        $1 == w && $4 != "-" && $4 + 0 < 0.1 && $3 + 0 > best {best = $3 + 0}
        $1 == w && $2 == "top" {top = $3; tl = ($4 == "-" ? "-" : $4 "%")}
        END {printf "%-31s %24s %14s %12s\n", l, (best ? best : "none"), top, tl}' "$TMP/steps"
done
echo "bench-live: packets/s are those tcpreplay achieved; loss = 1 - received / sent"
