#!/usr/bin/env python3
"""check_metrics.py - the scrapes of one tapwatch run against its summary (test_metrics.sh).

    check_metrics.py SUMMARY FINAL [DURING...] [--flows-jsonl FILE] [--alerts-jsonl FILE]
                     [--min-during N]

DURING are the scrapes taken while the run went on, in order; FINAL the one taken after the
summary was printed (the run's final figures). Every counter must be non-decreasing from one
scrape to the next and to FINAL, no series may disappear, and FINAL must equal the summary:
packets received/parsed/dropped (each reason), losses below tapwatch, flows, nDPI results,
flows ended by reason, events, and the outputs' and the policy's figures when the summary has
them. Prints one FAIL line per difference; exit 1 when there was one.
"""
import argparse
import re
import sys

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\})? (\S+)$')
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def parse(path):
    """{(name, label, value): number} and {family: type} of one scrape."""
    types, samples = {}, {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ")
                types[name] = kind
                continue
            if not line or line.startswith("#"):
                continue
            m = SAMPLE.match(line)
            if not m:
                fail("%s: not a sample line: %r" % (path, line))
                continue
            name, label, value, number = m.groups()
            samples[(name, label or "", value or "")] = float(number)
    return types, samples


def summary_of(path):
    text = open(path).read()

    def num(pattern, default=None):
        m = re.search(pattern, text, re.M)
        return [int(g) for g in m.groups()] if m else default

    s = {
        "received": num(r"^  packets received +(\d+)$")[0],
        "parsed": num(r"^  packets parsed +(\d+)$")[0],
        "dropped": num(r"^  packets dropped +(\d+)$")[0],
        "drops": {m.group(1): int(m.group(2)) for m in re.finditer(r"^    (drop_\w+) +(\d+)$", text, re.M)},
        "lost": num(r"^  lost below us +imissed (\d+), ierrors (\d+), rx_nombuf (\d+)$"),
        "flows": num(r"^  flows +(\d+)$")[0],
        "ndpi": num(r"^  classified +(\d+) \([\d.]+%\), guessed (\d+) \([\d.]+%\), unknown (\d+)$"),
        "ended": num(r"^  flows ended +idle (\d+), tcp_close (\d+), evicted (\d+), eof (\d+), shutdown (\d+)$"),
        "events": num(r"^  events +classified (\d+), update (\d+), end (\d+), lost (\d+)$"),
        "flows_jsonl": num(r"^  flows-jsonl +(\d+) records"),
        "alerts_jsonl": num(r"^  alerts-jsonl +(\d+) alerts"),
        "redis": num(r"^  redis +written (\d+), not written (\d+), dropped \(buffer full\) (\d+), reconnects (\d+)$"),
        "redis_alerts": num(r"^  redis alerts +written (\d+), summaries (\d+), not written (\d+), dropped \(buffer full\) (\d+)$"),
        "alerts": num(r"^  alerts +(\d+)"),
        "alert_kinds": {},
        "reloads": num(r"^  policy reloads +(\d+) \(failed (\d+)\)$", [0, 0]),
    }
    m = re.search(r"^  alerts +\d+ \((.*)\)$", text, re.M)
    if m:
        for part in m.group(1).split(", "):
            kind, n = part.rsplit(" ", 1)
            s["alert_kinds"][kind] = int(n)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("summary")
    ap.add_argument("final")
    ap.add_argument("during", nargs="*")
    ap.add_argument("--flows-jsonl")
    ap.add_argument("--alerts-jsonl")
    ap.add_argument("--min-during", type=int, default=0)
    a = ap.parse_args()

    scrapes = [parse(p) for p in a.during] + [parse(a.final)]
    names = a.during + [a.final]
    if len(a.during) < a.min_during:
        fail("only %d scrapes during the run (expected at least %d)" % (len(a.during), a.min_during))

    # counters never go down, series never vanish
    for (t0, s0), (t1, s1), n0, n1 in zip(scrapes, scrapes[1:], names, names[1:]):
        for key, v0 in s0.items():
            if key not in s1:
                fail("%s: series %r is gone (it was in %s)" % (n1, key, n0))
            elif t0.get(key[0]) == "counter" and s1[key] < v0:
                fail("%s: counter %r went down from %s (%s) to %s" % (n1, key, v0, n0, s1[key]))
    if len(a.during) >= 2:
        first = scrapes[0][1].get(("tapwatch_packets_total", "stage", "received"), 0)
        last = scrapes[-1][1].get(("tapwatch_packets_total", "stage", "received"), 0)
        if not first < last:
            fail("received did not grow between the first scrape and the final one (%s, %s): "
                 "the scrapes were not taken during the run" % (first, last))

    types, f = scrapes[-1]
    s = summary_of(a.summary)

    def want(name, label, value, expected):
        got = f.get((name, label, value))
        if got is None:
            fail("final scrape has no %s{%s=%r}" % (name, label, value))
        elif got != expected:
            fail("%s{%s=%r} is %s, the summary says %s" % (name, label, value, got, expected))

    want("tapwatch_packets_total", "stage", "received", s["received"])
    want("tapwatch_packets_total", "stage", "parsed", s["parsed"])
    drop_series = {k[2]: v for k, v in f.items() if k[0] == "tapwatch_packets_dropped_total"}
    if sum(drop_series.values()) != s["dropped"]:
        fail("tapwatch_packets_dropped_total sums to %s, the summary says %s dropped"
             % (sum(drop_series.values()), s["dropped"]))
    for reason, v in drop_series.items():
        if v != s["drops"].get(reason, 0):
            fail("tapwatch_packets_dropped_total{reason=%r} is %s, the summary says %s"
                 % (reason, v, s["drops"].get(reason, 0)))
    for reason in s["drops"]:
        if reason not in drop_series:
            fail("the summary's drop reason %s has no series" % reason)
    for reason, v in zip(("imissed", "ierrors", "rx_nombuf"), s["lost"]):
        want("tapwatch_source_packets_lost_total", "reason", reason, v)
    want("tapwatch_flows_created_total", "", "", s["flows"])
    for result, v in zip(("classified", "guessed", "unknown"), s["ndpi"]):
        want("tapwatch_ndpi_flows_total", "result", result, v)
    for reason, v in zip(("idle", "tcp_close", "evicted", "eof", "shutdown"), s["ended"]):
        want("tapwatch_flows_ended_total", "reason", reason, v)
    for kind, v in zip(("classified", "update", "end"), s["events"]):
        want("tapwatch_flow_events_total", "kind", kind, v)
    want("tapwatch_events_ring_dropped_total", "", "", s["events"][3])
    want("tapwatch_flows_active", "", "", 0)  # a replay ends by flushing every flow
    want("tapwatch_event_ring_used_events", "", "", 0)

    if s["flows_jsonl"] is not None:
        want("tapwatch_records_written_total", "output", "flows-jsonl", s["flows_jsonl"][0])
        if a.flows_jsonl:
            lines = sum(1 for _ in open(a.flows_jsonl))
            if lines != s["flows_jsonl"][0]:
                fail("%s has %d lines, the summary says %d" % (a.flows_jsonl, lines, s["flows_jsonl"][0]))
    if s["alerts_jsonl"] is not None:
        want("tapwatch_alerts_written_total", "output", "alerts-jsonl", s["alerts_jsonl"][0])
        if a.alerts_jsonl:
            lines = sum(1 for _ in open(a.alerts_jsonl))
            if lines != s["alerts_jsonl"][0]:
                fail("%s has %d lines, the summary says %d" % (a.alerts_jsonl, lines, s["alerts_jsonl"][0]))
    if s["redis"] is not None:
        want("tapwatch_redis_up", "output", "redis-flows", 1)
        want("tapwatch_records_written_total", "output", "redis-flows", s["redis"][0])
        want("tapwatch_records_pending", "output", "redis-flows", s["redis"][1])
        want("tapwatch_records_dropped_total", "output", "redis-flows", s["redis"][2])
        want("tapwatch_redis_reconnects_total", "output", "redis-flows", s["redis"][3])
    if s["redis_alerts"] is not None:
        want("tapwatch_redis_up", "output", "redis-alerts", 1)
        want("tapwatch_alerts_written_total", "output", "redis-alerts", s["redis_alerts"][0])
        want("tapwatch_summaries_written_total", "output", "redis-alerts", s["redis_alerts"][1])
        want("tapwatch_alerts_pending", "output", "redis-alerts", s["redis_alerts"][2])
        want("tapwatch_alerts_dropped_total", "output", "redis-alerts", s["redis_alerts"][3])
    if s["alerts"] is not None:
        kinds = {k[2]: v for k, v in f.items() if k[0] == "tapwatch_alerts_total"}
        if sum(kinds.values()) != s["alerts"][0]:
            fail("tapwatch_alerts_total sums to %s, the summary says %s alerts"
                 % (sum(kinds.values()), s["alerts"][0]))
        for kind, v in kinds.items():
            if v != s["alert_kinds"].get(kind, 0):
                fail("tapwatch_alerts_total{kind=%r} is %s, the summary says %s"
                     % (kind, v, s["alert_kinds"].get(kind, 0)))
        want("tapwatch_policy_reloads_total", "result", "success", s["reloads"][0])
        want("tapwatch_policy_reloads_total", "result", "failure", s["reloads"][1])
        want("tapwatch_policy_last_reload_success", "", "", 1 if s["reloads"][1] == 0 else f.get(
            ("tapwatch_policy_last_reload_success", "", ""), -1))
    elif any(k[0] == "tapwatch_alerts_total" for k in f):
        fail("alerts in the scrape of a run without a policy")
    if f.get(("tapwatch_build_info", "version", "")) is not None or \
            not any(k[0] == "tapwatch_build_info" and v == 1 for k, v in f.items()):
        fail("tapwatch_build_info{version=...} 1 is missing")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
