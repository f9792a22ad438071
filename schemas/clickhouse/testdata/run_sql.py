#!/usr/bin/env python3
"""Run ClickHouse SQL statements on chDB, the real ClickHouse engine in process.

Usage: run_sql.py SESSION_DIR

Reads statements from stdin. Each statement ends with a line holding only the
delimiter (DELIM below). After each statement the script prints exactly one
JSON line and flushes, so a caller can drive it interactively (write a
statement, read its answer):

    {"ok": true, "rows": [...]}                    rows of a query (JSON format), [] for DDL/INSERT
    {"ok": false, "error": "Code: ...", "statement": "..."}

All statements run in one chdb.session.Session(SESSION_DIR), so state persists
between statements and, on disk, between runs. The script itself never stops
on an error: the caller decides. Exit status 2 means chdb is not importable.
"""
import json
import sys

DELIM = "--@@mcptrail-end-of-statement@@"

try:
    from chdb import session as chs
except ImportError as e:  # pragma: no cover
    print(json.dumps({"ok": False, "error": "chdb not importable: %s" % e}), flush=True)
    sys.exit(2)


def run(sess, stmt):
    try:
        out = sess.query(stmt, "JSON")
    except Exception as e:  # chDB raises on any ClickHouse error
        return {"ok": False, "error": str(e).strip(), "statement": stmt}
    text = out.bytes().decode("utf-8", "replace") if hasattr(out, "bytes") else str(out)
    if not text.strip():
        return {"ok": True, "rows": []}
    try:
        return {"ok": True, "rows": json.loads(text).get("data", [])}
    except ValueError:
        return {"ok": True, "rows": [], "text": text}


def main():
    if len(sys.argv) != 2:
        print("usage: run_sql.py SESSION_DIR", file=sys.stderr)
        sys.exit(64)
    sess = chs.Session(sys.argv[1])
    buf = []
    try:
        for line in sys.stdin:
            if line.strip() == DELIM:
                stmt = "".join(buf).strip()
                buf = []
                if stmt:
                    print(json.dumps(run(sess, stmt)), flush=True)
                else:
                    print(json.dumps({"ok": True, "rows": []}), flush=True)
                continue
            buf.append(line)
        if "".join(buf).strip():
            print(json.dumps(run(sess, "".join(buf).strip())), flush=True)
    finally:
        sess.close()


if __name__ == "__main__":
    main()
