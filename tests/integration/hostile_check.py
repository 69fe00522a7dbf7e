#!/usr/bin/python3
"""hostile_check.py - checks tapwatch-query's output of hostile records (test_hostile_output.sh).

    hostile_check.py csv   JSONL OUT.csv     the CSV answer against the records of JSONL
    hostile_check.py table JSONL OUT.txt     the table answer
    hostile_check.py json  JSONL OUT.json    the JSON lines answer

JSONL is --flows-jsonl of the same run: the records as tapwatch made them. Prints what is
wrong, one line each, and exits 1; exits 0 when all is well. The escaping rules are written
again here from README's statement of them (not from the C code), so that either can catch
the other.
"""
import csv
import io
import json
import sys


def unsafe(ch):
    cp = ord(ch)
    return (cp < 0x20 or cp == 0x7F or ch == "\\" or 0x80 <= cp <= 0x9F
            or 0x202A <= cp <= 0x202E or 0x2066 <= cp <= 0x2069)


def escape(text):
    """Table and CSV text: each unsafe character as \\xNN per UTF-8 byte."""
    return "".join("".join("\\x%02x" % b for b in ch.encode()) if unsafe(ch) else ch
                   for ch in text)


def csv_value(text):
    """What a CSV reader must get back for a cell: escaped, formulas neutralised."""
    e = escape(text)
    return "'" + e if text[:1] in ("=", "+", "-", "@", "\t", "\r") else e


def controls(data, allowed=b"\n"):
    """Bytes below 0x20 (and 0x7f) that are not line ends."""
    return sorted({b for b in data if (b < 0x20 or b == 0x7F) and b not in allowed})


def main():
    mode, jsonl, out = sys.argv[1:4]
    records = {}
    with open(jsonl, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            records[r["flow_id"]] = r
    data = open(out, "rb").read()
    errors = []
    bad = controls(data)
    if bad:
        errors.append("%s output holds control bytes %s" % (mode, ["0x%02x" % b for b in bad]))
    text = data.decode("utf-8")
    # the capture must have been hostile enough for the test to mean something
    names = [r["server_name"] for r in records.values()]
    if not any("\x1b" in n for n in names) or not any(n[:1] == "=" for n in names):
        errors.append("the records hold no ESC or no formula: the capture is not hostile")

    if mode == "csv":
        rows = list(csv.reader(io.StringIO(text, newline="")))
        head, body = rows[0], rows[1:]
        if len(body) != len(records):
            errors.append("csv: %d rows for %d records" % (len(body), len(records)))
        col = {k: i for i, k in enumerate(head)}
        for row in body:
            for cell in row:
                if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                    errors.append("csv: a cell starts like a formula: %r" % cell)
            r = records.get(row[col["flow_id"]])
            if r is None:
                errors.append("csv: flow %s is not in the jsonl" % row[col["flow_id"]])
                continue
            for key in ("server_name", "app", "category"):
                want = csv_value(r[key])
                if row[col[key]] != want:
                    errors.append("csv: %s of %s: got %r, want %r" % (key, r["flow_id"],
                                                                      row[col[key]], want))
        # formula cells are quoted in the file itself, not only read back right
        for r in records.values():
            if r["server_name"][:1] in ("=", "+", "-", "@"):
                cell = '"' + csv_value(r["server_name"]).replace('"', '""') + '"'
                if cell not in text:
                    errors.append("csv: %r is not a quoted cell in the file" % cell)
    elif mode == "table":
        lines = text.split("\n")
        for r in records.values():
            name = r["server_name"] or "-"
            if not any(escape(name) in line for line in lines):
                errors.append("table: no line shows %r as %r" % (name, escape(name)))
        if len([ln for ln in lines if ln]) != len(records) + 1:
            errors.append("table: %d lines for %d records and a header"
                          % (len([ln for ln in lines if ln]), len(records)))
    elif mode == "json":
        got = {}
        for line in text.splitlines():
            r = json.loads(line)
            got[r["flow_id"]] = r
        for fid, r in records.items():
            if fid not in got:
                errors.append("json: flow %s missing" % fid)
            elif got[fid]["server_name"] != r["server_name"]:
                errors.append("json: server_name of %s: got %r, want %r"
                              % (fid, got[fid]["server_name"], r["server_name"]))
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
